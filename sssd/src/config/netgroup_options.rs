//! Netgroup options of an LDAP domain, with SSSD 2.8's names and defaults
//! (`src/providers/ldap/ldap_opts.c`: one attribute map for every schema, so rfc2307 and
//! rfc2307bis read the same `nisNetgroup` attributes).

use super::options::{domain_section, number, optional, string};
use super::{Config, ConfigError};

/// `ldap_netgroup_*` and `entry_cache_netgroup_timeout` of one domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetgroupOptions {
    /// `ldap_netgroup_search_base` (defaults to `ldap_search_base`, or the base found in the
    /// rootDSE).
    pub search_base: Option<String>,
    /// `ldap_netgroup_object_class` (nisNetgroup).
    pub object_class: String,
    /// `ldap_netgroup_name` (cn).
    pub name: String,
    /// `ldap_netgroup_member` (memberNisNetgroup): member netgroups, by name or by DN.
    pub member: String,
    /// `ldap_netgroup_triple` (nisNetgroupTriple): `(host,user,domain)` values.
    pub triple: String,
    /// `ldap_netgroup_modify_timestamp` (modifyTimestamp).
    pub modify_timestamp: String,
    /// `entry_cache_netgroup_timeout` seconds (defaults to `entry_cache_timeout`, 5400).
    pub cache_timeout: u32,
}

impl Default for NetgroupOptions {
    fn default() -> Self {
        NetgroupOptions {
            search_base: None,
            object_class: "nisNetgroup".into(),
            name: "cn".into(),
            member: "memberNisNetgroup".into(),
            triple: "nisNetgroupTriple".into(),
            modify_timestamp: "modifyTimestamp".into(),
            cache_timeout: 5400,
        }
    }
}

impl NetgroupOptions {
    /// Reads the netgroup options of `[domain/<name>]`.
    pub fn from_config(cfg: &Config, name: &str) -> Result<NetgroupOptions, ConfigError> {
        let s = domain_section(cfg, name)?;
        let s = s.as_str();
        let d = NetgroupOptions::default();
        let entry_cache_timeout = super::schema::ENTRY_CACHE_TIMEOUT.read(cfg, s)?;
        Ok(NetgroupOptions {
            search_base: optional(cfg, s, "ldap_netgroup_search_base")
                .or_else(|| optional(cfg, s, "ldap_search_base")),
            object_class: string(cfg, s, "ldap_netgroup_object_class", &d.object_class),
            name: string(cfg, s, "ldap_netgroup_name", &d.name),
            member: string(cfg, s, "ldap_netgroup_member", &d.member),
            triple: string(cfg, s, "ldap_netgroup_triple", &d.triple),
            modify_timestamp: string(
                cfg,
                s,
                "ldap_netgroup_modify_timestamp",
                &d.modify_timestamp,
            ),
            cache_timeout: number(cfg, s, "entry_cache_netgroup_timeout", entry_cache_timeout)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> Config {
        Config::parse(text, "sssd.conf").unwrap()
    }

    const HEAD: &str = "[sssd]\ndomains = LDAP\n[domain/LDAP]\nid_provider = ldap\n";

    #[test]
    fn defaults_follow_sssd() {
        let o = NetgroupOptions::from_config(&cfg(HEAD), "LDAP").unwrap();
        assert_eq!(o, NetgroupOptions::default());
        let bis = format!("{HEAD}ldap_schema = rfc2307bis\n");
        let o = NetgroupOptions::from_config(&cfg(&bis), "LDAP").unwrap();
        assert_eq!(o.member, "memberNisNetgroup", "same map for rfc2307bis");
        assert_eq!(o.triple, "nisNetgroupTriple");
    }

    #[test]
    fn options_and_timeouts_are_read() {
        let text = format!(
            "{HEAD}ldap_search_base = dc=x\nentry_cache_timeout = 100\n\
             ldap_netgroup_object_class = myNg\nldap_netgroup_name = ngName\n\
             ldap_netgroup_member = ngMember\nldap_netgroup_triple = ngTriple\n\
             ldap_netgroup_modify_timestamp = ts\n"
        );
        let o = NetgroupOptions::from_config(&cfg(&text), "LDAP").unwrap();
        assert_eq!(o.search_base.as_deref(), Some("dc=x"));
        assert_eq!(o.cache_timeout, 100, "defaults to entry_cache_timeout");
        assert_eq!(
            (
                o.object_class.as_str(),
                o.name.as_str(),
                o.member.as_str(),
                o.triple.as_str(),
                o.modify_timestamp.as_str()
            ),
            ("myNg", "ngName", "ngMember", "ngTriple", "ts")
        );
        let text = format!(
            "{HEAD}ldap_search_base = dc=x\nldap_netgroup_search_base = ou=ng,dc=x?one?\n\
             entry_cache_netgroup_timeout = 7\n"
        );
        let o = NetgroupOptions::from_config(&cfg(&text), "LDAP").unwrap();
        assert_eq!(o.search_base.as_deref(), Some("ou=ng,dc=x?one?"));
        assert_eq!(o.cache_timeout, 7);
        let bad = format!("{HEAD}entry_cache_netgroup_timeout = soon\n");
        assert!(NetgroupOptions::from_config(&cfg(&bad), "LDAP").is_err());
    }
}
