//! Learning an AD domain's flat (NetBIOS) name from its domain controller, as SSSD does
//! rather than guess it from the DNS name: the rootDSE's `netlogon` attribute read over the
//! identity connection (the LDAP form of the CLDAP ping), decoded as a ping reply, and
//! recorded in the domain's cache, where the responders take it from (see
//! [`crate::config::learned`]). Domains whose NetBIOS name is not the first label of their
//! DNS name (`ad.example.com` named `EXAMPLE`) then accept `EXAMPLE\user` and show
//! `%3$s` right.

use super::cldap::{NT_VERSION_REQUESTED, netlogon};
use crate::backend::ldap::connection::Connection;
use crate::backend::ldap::filter;
use crate::backend::ldap::search::{self, SearchSpec};
use crate::backend::store::Store;
use ldap3::Scope;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The attribute a DC answers a netlogon search with.
const NETLOGON: &str = "netlogon";

/// The rootDSE filter of a netlogon search for `domain`:
/// `(&(DnsDomain=<domain>)(NtVer=<SSSD's NtVer, little endian>))`.
pub fn netlogon_filter(domain: &str) -> String {
    let nt_ver: String = NT_VERSION_REQUESTED
        .to_le_bytes()
        .iter()
        .map(|b| format!("\\{b:02x}"))
        .collect();
    format!("(&{}(NtVer={nt_ver}))", filter::eq("DnsDomain", domain))
}

/// The flat name in a netlogon reply, when it is one we can use.
pub fn flat_name_of(reply: &[u8]) -> Result<String, String> {
    let r = netlogon::decode(reply).map_err(|e| e.to_string())?;
    let flat = r.netbios_domain.trim().to_uppercase();
    if crate::cache::valid_flat_name(&flat) {
        Ok(flat)
    } else {
        Err(format!(
            "unusable NetBIOS domain name {:?}",
            r.netbios_domain
        ))
    }
}

/// Reads the flat name once per new identity connection and records it in the cache.
pub struct FlatNameLearner {
    domain: String,
    store: OnceLock<Arc<dyn Store>>,
}

impl std::fmt::Debug for FlatNameLearner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlatNameLearner")
            .field("domain", &self.domain)
            .finish()
    }
}

impl FlatNameLearner {
    /// A learner for the AD domain with DNS name `domain`.
    pub fn new(domain: &str) -> FlatNameLearner {
        FlatNameLearner {
            domain: domain.to_string(),
            store: OnceLock::new(),
        }
    }

    /// Records what is learned in `store` from now on (only the first call counts).
    pub fn set_store(&self, store: Arc<dyn Store>) {
        let _ = self.store.set(store);
    }

    /// Asks the DC behind `conn` for the domain's flat name and records a new one. A
    /// failure is logged and changes nothing (the name known before stays in use).
    pub async fn learn(&self, conn: &Connection, timeout: Duration) {
        let f = netlogon_filter(&self.domain);
        let spec = SearchSpec::unpaged("", Scope::Base, &f, vec![NETLOGON.into()], timeout);
        let reply = match search::search(&conn.ldap, &conn.uri, spec).await {
            Ok(entries) => entries
                .first()
                .and_then(|e| e.raw_values(NETLOGON).first().map(|v| v.to_vec())),
            Err(e) => {
                tracing::warn!("domain {}: netlogon search failed: {e}", self.domain);
                return;
            }
        };
        let Some(reply) = reply else {
            tracing::warn!(
                "domain {}: {} sent no netlogon answer; the flat name stays as it was",
                self.domain,
                conn.uri
            );
            return;
        };
        let flat = match flat_name_of(&reply) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(
                    "domain {}: netlogon answer of {}: {e}",
                    self.domain,
                    conn.uri
                );
                return;
            }
        };
        let Some(store) = self.store.get().cloned() else {
            return;
        };
        let to_store = flat.clone();
        match tokio::task::spawn_blocking(move || store.put_flat_name(&to_store)).await {
            Ok(Ok(true)) => {
                tracing::info!(
                    "domain {}: flat name {flat} (from {})",
                    self.domain,
                    conn.uri
                );
            }
            Ok(Ok(false)) => {}
            Ok(Err(e)) => tracing::warn!("domain {}: recording flat name {flat}: {e}", self.domain),
            Err(e) => tracing::warn!("domain {}: recording flat name {flat}: {e}", self.domain),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The netlogon answer of a Samba 4.17 DC of `corp.example.com` (NetBIOS `CORP`).
    const SAMBA_REPLY: [u8; 97] = [
        0x17, 0x00, 0x00, 0x00, 0xfd, 0x13, 0x00, 0x00, 0x05, 0x0e, 0xde, 0x5c, 0x81, 0x96, 0x7c,
        0x4f, 0xb4, 0x7e, 0x0e, 0x7e, 0x16, 0x3e, 0xc9, 0xdb, 0x04, 0x63, 0x6f, 0x72, 0x70, 0x07,
        0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00, 0xc0, 0x18, 0x03,
        0x64, 0x63, 0x31, 0xc0, 0x18, 0x04, 0x43, 0x4f, 0x52, 0x50, 0x00, 0x03, 0x44, 0x43, 0x31,
        0x00, 0x00, 0x17, 0x44, 0x65, 0x66, 0x61, 0x75, 0x6c, 0x74, 0x2d, 0x46, 0x69, 0x72, 0x73,
        0x74, 0x2d, 0x53, 0x69, 0x74, 0x65, 0x2d, 0x4e, 0x61, 0x6d, 0x65, 0x00, 0xc0, 0x3e, 0x05,
        0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
    ];

    #[test]
    fn the_filter_asks_for_the_domain_with_sssds_nt_version() {
        assert_eq!(
            netlogon_filter("corp.example.com"),
            "(&(DnsDomain=corp.example.com)(NtVer=\\14\\00\\00\\00))"
        );
        assert!(netlogon_filter("a(b").contains("DnsDomain=a\\28b"));
    }

    #[test]
    fn the_flat_name_comes_from_a_dcs_reply() {
        assert_eq!(flat_name_of(&SAMBA_REPLY).unwrap(), "CORP");
    }

    #[test]
    fn garbage_replies_give_no_flat_name() {
        assert!(flat_name_of(b"").is_err());
        assert!(flat_name_of(&[0xff; 40]).is_err());
        assert!(flat_name_of(&SAMBA_REPLY[..60]).is_err());
    }
}
