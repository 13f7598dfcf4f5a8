//! Service discovery and resolver options of `[domain/NAME]`: `dns_discovery_domain` and the
//! `dns_resolver_*` timeouts, with SSSD's defaults.

use super::options::{domain_section, number, optional};
use super::{Config, ConfigError};
use std::time::Duration;

/// The keyword that stands for "servers found by DNS SRV lookup" in a server list.
pub const SRV_KEYWORD: &str = "_srv_";

/// Whether a server list entry is the discovery keyword (as SSSD, any case).
pub fn is_srv_keyword(entry: &str) -> bool {
    entry.eq_ignore_ascii_case(SRV_KEYWORD)
}

/// How servers are discovered in DNS for one domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsOptions {
    /// `dns_discovery_domain`; unset: the domain of the host's name, then the domain's name.
    pub discovery_domain: Option<String>,
    /// The `[domain/NAME]` name (the last domain tried when `discovery_domain` is unset).
    pub sssd_domain: String,
    /// `dns_resolver_timeout` (6 s): a whole discovery.
    pub resolver_timeout: Duration,
    /// `dns_resolver_op_timeout` (3 s): one query, over every name server.
    pub op_timeout: Duration,
    /// `dns_resolver_server_timeout` (1000 ms): one name server.
    pub server_timeout: Duration,
}

impl DnsOptions {
    /// Reads the options of `[domain/<name>]`.
    pub fn from_config(cfg: &Config, name: &str) -> Result<DnsOptions, ConfigError> {
        let s = domain_section(cfg, name)?;
        let s = s.as_str();
        let secs = |option: &str, default: u32| -> Result<Duration, ConfigError> {
            Ok(Duration::from_secs(u64::from(
                number(cfg, s, option, default)?.max(1),
            )))
        };
        Ok(DnsOptions {
            discovery_domain: optional(cfg, s, "dns_discovery_domain")
                .map(|d| d.trim_end_matches('.').to_string())
                .filter(|d| !d.is_empty()),
            sssd_domain: name.to_string(),
            resolver_timeout: secs("dns_resolver_timeout", 6)?,
            op_timeout: secs("dns_resolver_op_timeout", 3)?,
            server_timeout: Duration::from_millis(u64::from(
                number(cfg, s, "dns_resolver_server_timeout", 1000)?.max(1),
            )),
        })
    }

    /// Defaults for the domain `name` (tests, and providers built without a config).
    pub fn defaults(name: &str) -> DnsOptions {
        DnsOptions {
            discovery_domain: None,
            sssd_domain: name.to_string(),
            resolver_timeout: Duration::from_secs(6),
            op_timeout: Duration::from_secs(3),
            server_timeout: Duration::from_millis(1000),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, "test.conf")
    }

    #[test]
    fn defaults_and_values() {
        let cfg = parse("[domain/corp.test]\nid_provider = ldap\n").unwrap();
        assert_eq!(
            DnsOptions::from_config(&cfg, "corp.test").unwrap(),
            DnsOptions::defaults("corp.test")
        );
        let cfg = parse(
            "[domain/D]\nid_provider = ldap\ndns_discovery_domain = example.test.\n\
             dns_resolver_timeout = 9\ndns_resolver_op_timeout = 2\n\
             dns_resolver_server_timeout = 250\n",
        )
        .unwrap();
        let o = DnsOptions::from_config(&cfg, "D").unwrap();
        assert_eq!(o.discovery_domain.as_deref(), Some("example.test"));
        assert_eq!(o.resolver_timeout, Duration::from_secs(9));
        assert_eq!(o.op_timeout, Duration::from_secs(2));
        assert_eq!(o.server_timeout, Duration::from_millis(250));
        let cfg = parse("[domain/D]\nid_provider = ldap\ndns_resolver_timeout = soon\n").unwrap();
        assert!(DnsOptions::from_config(&cfg, "D").is_err());
        assert!(is_srv_keyword("_SRV_") && !is_srv_keyword("ldap://_srv_"));
    }
}
