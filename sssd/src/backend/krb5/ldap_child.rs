//! Getting a TGT from a keytab through `ldap_child`, for `ldap_sasl_mech = GSSAPI` binds.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sss_proto::child::{LdapChildRequest, decode_ldap_reply, encode_ldap_request};
use thiserror::Error;

use super::child;

/// Why no TGT was obtained.
#[derive(Debug, Error)]
pub enum LdapChildError {
    /// Running the helper failed.
    #[error(transparent)]
    Child(#[from] child::ChildError),
    /// The helper's reply is malformed.
    #[error("bad reply from {program}: {source}")]
    BadReply {
        /// The program.
        program: String,
        /// The decoding error.
        source: sss_proto::ProtoError,
    },
    /// The helper reported a failure.
    #[error(
        "ldap_child failed for principal {principal:?} with keytab {keytab:?}: result {result}, krb5 error {krb5_error}"
    )]
    Failed {
        /// The principal asked for.
        principal: String,
        /// The keytab used.
        keytab: String,
        /// The helper's result code.
        result: u32,
        /// libkrb5's error code.
        krb5_error: i32,
    },
}

/// A TGT obtained by ldap_child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeytabTgt {
    /// The ccache holding it (`FILE:...`).
    pub ccache: String,
    /// When it expires (seconds since the epoch).
    pub expire_time: i64,
}

/// The `ldap_child` program in the libexec directory (`$SSSD_LIBEXEC_DIR` when set).
pub fn ldap_child_path() -> PathBuf {
    crate::service::paths_from_env().libexec.join("ldap_child")
}

/// The default ccache for `realm`'s keytab TGT: `<db>/ccache_<REALM>`.
pub fn default_ccache(db: &Path, realm: &str) -> String {
    format!("FILE:{}/ccache_{realm}", db.display())
}

/// Asks `program` (normally [`ldap_child_path`]) for a TGT; kills it after `timeout`.
pub async fn get_keytab_tgt(
    program: &Path,
    req: &LdapChildRequest,
    timeout: Duration,
) -> Result<KeytabTgt, LdapChildError> {
    let out = child::run(program, &encode_ldap_request(req), timeout).await?;
    let reply = decode_ldap_reply(&out).map_err(|source| LdapChildError::BadReply {
        program: program.display().to_string(),
        source,
    })?;
    if reply.result != 0 {
        return Err(LdapChildError::Failed {
            principal: req.principal.clone(),
            keytab: req.keytab.clone(),
            result: reply.result,
            krb5_error: reply.krb5_error,
        });
    }
    Ok(KeytabTgt {
        ccache: reply.ccache,
        expire_time: reply.expire_time,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_ccache_is_under_db() {
        assert_eq!(
            default_ccache(Path::new("/var/lib/sss/db"), "EXAMPLE.COM"),
            "FILE:/var/lib/sss/db/ccache_EXAMPLE.COM"
        );
    }
}
