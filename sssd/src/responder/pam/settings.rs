//! The options the PAM responder uses: `[pam]` (through [`PamOptions`]) plus the lookup
//! settings it shares with NSS (domains, filters, negative cache).

pub use crate::config::auth_options::InitgroupsScheme;
use crate::config::{Config, ConfigError, PamOptions, schema};
use crate::responder::common::settings::NssSettings;
use std::path::PathBuf;
use std::time::Duration;

/// Longest wait for a backend's `pamHandler` answer. The backend bounds its own work
/// (`krb5_auth_timeout`, LDAP timeouts), so this only catches a backend that hangs.
pub const PAM_HANDLER_TIMEOUT: Duration = Duration::from_secs(60);

/// Largest PAM request accepted, header included. SSSD's pam_sss caps a password at 512
/// bytes; 16 KiB leaves room for long names and JSON items while a 64 KiB token is
/// refused (the connection is closed, as SSSD does for an oversized packet).
pub const PAM_MAX_REQUEST_LEN: u32 = 16 * 1024;

/// `pam_trusted_users`: uids resolved at startup plus names looked up per request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedUsers {
    /// Numeric entries and names the system resolved at startup.
    pub uids: Vec<u32>,
    /// Names not known to the system at startup (directory users): matched against the
    /// cache by the client's uid when a request arrives.
    pub names: Vec<String>,
}

/// Everything the PAM responder is configured with.
#[derive(Debug, Clone)]
pub struct PamSettings {
    /// Domains, filters and lookup options (shared with NSS).
    pub lookup: NssSettings,
    /// `[pam]`.
    pub pam: PamOptions,
    /// `pam_trusted_users` resolved; `None` = every uid is trusted.
    pub trusted: Option<TrustedUsers>,
    /// Where logind keeps one file per user (`/run/systemd/users`); `None` = skip.
    pub session_dir: Option<PathBuf>,
    /// Where to look for a user's processes when logind has no session (`/proc`);
    /// `None` = skip.
    pub proc_dir: Option<PathBuf>,
    /// Wait for the backend's `pamHandler` answer.
    pub pam_timeout: Duration,
}

impl PamSettings {
    /// SSSD's defaults over `lookup`.
    pub fn new(lookup: NssSettings) -> PamSettings {
        PamSettings {
            lookup,
            pam: PamOptions::defaults(),
            trusted: None,
            session_dir: Some(PathBuf::from("/run/systemd/users")),
            proc_dir: Some(PathBuf::from("/proc")),
            pam_timeout: PAM_HANDLER_TIMEOUT,
        }
    }

    /// Builds the settings from a loaded configuration. `pam_trusted_users` names are
    /// resolved with `resolve` (the system's user database); the rest are kept for the
    /// per-request cache match.
    pub fn from_config(
        cfg: &Config,
        resolve: impl Fn(&str) -> Option<u32>,
    ) -> Result<PamSettings, ConfigError> {
        let mut s = PamSettings::new(NssSettings::from_config(cfg, "")?);
        s.pam = PamOptions::from_config(cfg)?;
        s.lookup.cache_first = schema::CACHE_FIRST.read(cfg, "pam")?;
        s.trusted = s.pam.pam_trusted_users.as_ref().map(|list| {
            let mut t = TrustedUsers::default();
            for e in list {
                match e.parse::<u32>().ok().or_else(|| resolve(e)) {
                    Some(uid) => t.uids.push(uid),
                    None => t.names.push(e.clone()),
                }
            }
            t
        });
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_config_reads_pam_section() {
        let text = "[sssd]\ndomains = LDAP, OTHER\nservices = nss, pam\n\n\
[pam]\npam_verbosity = 2\npam_id_timeout = 9\npam_trusted_users = 0, 1234, alice, bob\n\
pam_public_domains = OTHER\npam_response_filter = ENV:FOO\npam_initgroups_scheme = always\n\
client_idle_timeout = 30\n\n\
[domain/LDAP]\nid_provider = ldap\n\n[domain/OTHER]\nid_provider = ldap\n";
        let cfg = Config::parse(text, "test.conf").unwrap();
        let s = PamSettings::from_config(&cfg, |n| (n == "alice").then_some(42)).unwrap();
        assert_eq!(s.lookup.domains.len(), 2);
        assert_eq!(s.pam.pam_verbosity, 2);
        assert_eq!(s.pam.pam_id_timeout, 9);
        let t = s.trusted.unwrap();
        assert_eq!(t.uids, vec![0, 1234, 42]);
        assert_eq!(t.names, vec!["bob"]);
        assert_eq!(s.pam.pam_public_domains, vec!["OTHER"]);
        assert_eq!(s.pam.pam_response_filter, vec!["ENV:FOO"]);
        assert_eq!(s.pam.pam_initgroups_scheme, InitgroupsScheme::Always);
        assert_eq!(s.pam.client_idle_timeout, 30);
    }

    #[test]
    fn defaults() {
        let cfg = Config::parse(
            "[sssd]\ndomains = LDAP\n\n[domain/LDAP]\nid_provider = ldap\n",
            "t.conf",
        )
        .unwrap();
        let s = PamSettings::from_config(&cfg, |_| None).unwrap();
        assert_eq!(s.pam.pam_verbosity, 1);
        assert_eq!(s.pam.pam_id_timeout, 5);
        assert!(s.trusted.is_none());
        assert!(s.pam.pam_public_domains.is_empty());
        assert_eq!(
            s.pam.pam_response_filter,
            vec!["ENV:KRB5CCNAME:sudo", "ENV:KRB5CCNAME:sudo-i"]
        );
        assert_eq!(s.pam.pam_initgroups_scheme, InitgroupsScheme::NoSession);
        assert!(s.lookup.nss.filter_users.contains(&"root".to_string()));
    }
}
