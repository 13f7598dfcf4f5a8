//! A private slapd that accepts SASL GSSAPI binds from a private MIT KDC's realm.
//!
//! The server runs on `127.0.0.1:<free port>` as `ldap/localhost@EXAMPLE.COM` (its keytab is
//! handed over with `KRB5_KTNAME`, `sasl-host localhost`, `sasl-realm EXAMPLE.COM`); clients
//! must connect to `ldap://localhost:PORT` so their service ticket names that principal.
//! `authz-regexp` maps one client principal (e.g. `host/client.example.com`) to the reader
//! DN [`SaslSlapd::reader_dn`], the only identity besides the rootdn allowed to read the tree:
//! anonymous searches find nothing, so a lookup that works proves the GSSAPI bind. slapd
//! logs at `stats` level, so each bind appears in [`SaslSlapd::log`] with its `mech=`.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;

use crate::error::Result;
use crate::kdc::{Kdc, REALM};
use crate::ldif::Directory;
use crate::proc::{self, COMMAND_TIMEOUT, Output};
use crate::slapd::{Slapd, SlapdConfig, SlapdOptions};

/// The host name in the server's principal (`ldap/localhost@EXAMPLE.COM`).
pub const SERVER_HOST: &str = "localhost";

/// A running slapd accepting GSSAPI binds: a [`Slapd`] with SASL configuration.
#[derive(Debug)]
pub struct SaslSlapd {
    slapd: Slapd,
}

impl SaslSlapd {
    /// Starts a server holding `data` whose keytab (for `ldap/localhost`) comes from `kdc`;
    /// `reader` (a principal without realm, e.g. `host/client.example.com`) may read it.
    /// With `starttls`, a test CA and a `localhost` certificate enable StartTLS.
    pub fn new(data: &Directory, kdc: &Kdc, reader: &str, starttls: bool) -> Result<SaslSlapd> {
        let options = SlapdOptions { tls: starttls };
        let slapd = Slapd::with_config(data, options, |dir| {
            let keytab = dir.join("ldap.keytab");
            kdc.add_keytab_principal(&format!("ldap/{SERVER_HOST}"), &keytab)?;
            Ok(sasl_config(&data.base, reader, &keytab, &kdc.krb5_conf()))
        })?;
        Ok(SaslSlapd { slapd })
    }

    /// `ldap://localhost:PORT` (the name in the server's principal).
    pub fn uri(&self) -> String {
        format!("ldap://{SERVER_HOST}:{}", self.slapd.port())
    }

    /// `ldap://127.0.0.1:PORT`, for anonymous checks.
    pub fn uri_ip(&self) -> String {
        self.slapd.uri()
    }

    /// The test CA, when started with StartTLS.
    pub fn ca_cert(&self) -> Option<&Path> {
        self.slapd.ca_cert()
    }

    /// The base DN.
    pub fn base(&self) -> &str {
        self.slapd.base()
    }

    /// The DN the reader principal is mapped to.
    pub fn reader_dn(&self) -> String {
        reader_dn(self.base())
    }

    /// The server's log (stats level: connections, binds with their mechanism, searches).
    pub fn log(&self) -> String {
        fs::read_to_string(self.slapd.log_path()).unwrap_or_default()
    }

    /// Runs `ldapsearch -x` anonymously (the ACLs show it nothing but the root DSE).
    pub fn anonymous_search(&self, filter: &str) -> Result<Output> {
        self.slapd.search(filter, &[])
    }

    /// `ldapwhoami -Y GSSAPI` with the TGT in `ccache` (a `FILE:` path): the server's view of
    /// a GSSAPI client, independent of our daemon.
    pub fn whoami_gssapi(&self, kdc: &Kdc, ccache: &Path) -> Result<Output> {
        let mut cmd = Command::new("ldapwhoami");
        cmd.args(["-N", "-Y", "GSSAPI", "-Q", "-H", &self.uri()])
            .env("KRB5_CONFIG", kdc.krb5_conf())
            .env("KRB5CCNAME", format!("FILE:{}", ccache.display()));
        proc::run(&mut cmd, None, COMMAND_TIMEOUT)
    }
}

/// The DN GSSAPI clients of the reader principal are mapped to.
pub fn reader_dn(base: &str) -> String {
    format!("cn=sssd-reader,{base}")
}

/// SASL as `ldap/localhost@REALM` (keys in `keytab`, KDC from `krb5_conf`), `reader` mapped
/// to [`reader_dn`], and ACLs that let only that DN (and the rootdn) read the tree; slapd
/// logs at `stats` level.
fn sasl_config(base: &str, reader: &str, keytab: &Path, krb5_conf: &Path) -> SlapdConfig {
    let mut global = String::new();
    let _ = writeln!(global, "sasl-host {SERVER_HOST}");
    let _ = writeln!(global, "sasl-realm {REALM}");
    // The authcid DN is uid=<principal>[,cn=<realm>],cn=gssapi,cn=auth.
    let escaped = reader.replace('.', "\\.");
    let _ = writeln!(
        global,
        "authz-regexp \"^uid={escaped}(@{realm})?(,cn={realm_lc})?,cn=gssapi,cn=auth$\" \"{dn}\"",
        realm = REALM.replace('.', "\\."),
        realm_lc = REALM.to_ascii_lowercase().replace('.', "\\."),
        dn = reader_dn(base)
    );
    // The root DSE and schema are outside the database: global ACLs.
    global.push_str("access to dn.base=\"\" by * read\n");
    global.push_str("access to dn.base=\"cn=Subschema\" by * read\n");
    let access = format!(
        "access to * by dn.exact=\"{}\" read by * none\n",
        reader_dn(base)
    );
    SlapdConfig {
        global,
        access: Some(access),
        env: vec![
            (
                "KRB5_KTNAME".into(),
                OsString::from(format!("FILE:{}", keytab.display())),
            ),
            ("KRB5_CONFIG".into(), krb5_conf.as_os_str().to_owned()),
            ("KRB5RCACHETYPE".into(), OsString::from("none")),
        ],
        debug: Some("stats".into()),
        ldapi: false,
        database: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conf_maps_the_reader_and_locks_out_others() {
        let c = sasl_config(
            "dc=example,dc=com",
            "host/client.example.com",
            Path::new("/d/ldap.keytab"),
            Path::new("/k/krb5.conf"),
        );
        assert!(
            c.global
                .contains("sasl-host localhost\nsasl-realm EXAMPLE.COM\n")
        );
        assert!(c.global.contains(
            "authz-regexp \"^uid=host/client\\.example\\.com(@EXAMPLE\\.COM)?(,cn=example\\.com)?,cn=gssapi,cn=auth$\" \"cn=sssd-reader,dc=example,dc=com\""
        ), "{}", c.global);
        assert_eq!(
            c.access.as_deref(),
            Some("access to * by dn.exact=\"cn=sssd-reader,dc=example,dc=com\" read by * none\n")
        );
        assert!(
            c.env
                .contains(&("KRB5_KTNAME".into(), "FILE:/d/ldap.keytab".into()))
        );
        assert!(
            c.env
                .contains(&("KRB5_CONFIG".into(), "/k/krb5.conf".into()))
        );
        assert_eq!(c.debug.as_deref(), Some("stats"));
    }
}
