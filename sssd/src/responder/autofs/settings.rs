//! The options the autofs responder uses: the domains (from `[sssd] domains`),
//! `[autofs] autofs_negative_timeout` and `client_idle_timeout`.

use crate::config::{Config, ConfigError, schema};
use crate::responder::common::settings::NssSettings;
use std::time::Duration;

/// Largest autofs request accepted, header included: a map name (`NAME_MAX`) and a key
/// (`PATH_MAX`) with their lengths.
pub const AUTOFS_MAX_REQUEST_LEN: u32 = 16 + 8 + 256 + 4097 + 64;

/// Everything the autofs responder is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutofsSettings {
    /// Domain names, in `[sssd] domains` order.
    pub domains: Vec<String>,
    /// `autofs_negative_timeout` seconds: how long a map found missing is remembered for
    /// enumeration (default 15).
    pub negative_timeout: u32,
    /// `client_idle_timeout` seconds (at least 10).
    pub client_idle_timeout: u32,
    /// Longest wait for a backend refresh.
    pub dp_timeout: Duration,
}

impl AutofsSettings {
    /// SSSD's defaults for `domains`.
    pub fn new(domains: Vec<String>) -> AutofsSettings {
        AutofsSettings {
            domains,
            negative_timeout: schema::AUTOFS_NEGATIVE_TIMEOUT.default,
            client_idle_timeout: schema::CLIENT_IDLE_TIMEOUT.default,
            dp_timeout: Duration::from_secs(60),
        }
    }

    /// Reads `[autofs]` and the domain list.
    pub fn from_config(cfg: &Config) -> Result<AutofsSettings, ConfigError> {
        let lookup = NssSettings::from_config(cfg, "")?;
        let mut s = AutofsSettings::new(lookup.domains.iter().map(|d| d.name.clone()).collect());
        s.dp_timeout = lookup.dp_timeout;
        s.negative_timeout = schema::AUTOFS_NEGATIVE_TIMEOUT.read(cfg, "autofs")?;
        s.client_idle_timeout = schema::CLIENT_IDLE_TIMEOUT.read(cfg, "autofs")?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_autofs_section() {
        let c = Config::parse(
            "[sssd]\ndomains = a, b\nservices = autofs\n[autofs]\nautofs_negative_timeout = 3\n\
             client_idle_timeout = 2\n[domain/a]\nid_provider = ldap\n[domain/b]\nid_provider = ldap\n",
            "t",
        )
        .unwrap();
        let s = AutofsSettings::from_config(&c).unwrap();
        assert_eq!(s.domains, vec!["a".to_string(), "b".to_string()]);
        assert_eq!(s.negative_timeout, 3);
        assert_eq!(s.client_idle_timeout, 10);
        let c =
            Config::parse("[sssd]\ndomains = a\n[domain/a]\nid_provider = ldap\n", "t").unwrap();
        assert_eq!(
            AutofsSettings::from_config(&c).unwrap().negative_timeout,
            15
        );
    }
}
