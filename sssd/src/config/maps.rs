//! Options of the services, hosts and networks maps of an LDAP domain, with SSSD 2.8's
//! names and defaults (`src/providers/ldap/ldap_opts.c`: `service_map`, `iphost_map`,
//! `ipnetwork_map`; `src/man/sssd.conf.5.xml`: `entry_cache_*_timeout`,
//! `resolver_provider`; `host_map` and `hostid_provider` for SSH host keys).

use super::options::{domain_section, number, optional, string};
use super::{Config, ConfigError};

/// How the services, hosts and networks maps are searched and cached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapOptions {
    /// `ldap_service_search_base` (defaults to `ldap_search_base`).
    pub service_search_base: Option<String>,
    /// `ldap_service_object_class` (ipService).
    pub service_object_class: String,
    /// `ldap_service_name` (cn): the primary name and the aliases.
    pub service_name: String,
    /// `ldap_service_port` (ipServicePort).
    pub service_port: String,
    /// `ldap_service_proto` (ipServiceProtocol).
    pub service_proto: String,
    /// `entry_cache_service_timeout` seconds (defaults to `entry_cache_timeout`).
    pub service_timeout: u32,
    /// Whether hosts and networks come from LDAP: `resolver_provider` (defaults to
    /// `id_provider`) is `ldap`.
    pub resolver_ldap: bool,
    /// `ldap_iphost_search_base` (defaults to `ldap_search_base`).
    pub iphost_search_base: Option<String>,
    /// `ldap_iphost_object_class` (ipHost).
    pub iphost_object_class: String,
    /// `ldap_iphost_name` (cn).
    pub iphost_name: String,
    /// `ldap_iphost_number` (ipHostNumber).
    pub iphost_number: String,
    /// `ldap_ipnetwork_search_base` (defaults to `ldap_search_base`).
    pub ipnetwork_search_base: Option<String>,
    /// `ldap_ipnetwork_object_class` (ipNetwork).
    pub ipnetwork_object_class: String,
    /// `ldap_ipnetwork_name` (cn).
    pub ipnetwork_name: String,
    /// `ldap_ipnetwork_number` (ipNetworkNumber).
    pub ipnetwork_number: String,
    /// `entry_cache_resolver_timeout` seconds (defaults to `entry_cache_timeout`).
    pub resolver_timeout: u32,
    /// Whether SSH host keys come from LDAP: `hostid_provider` (defaults to `id_provider`)
    /// is `ldap`.
    pub hostid_ldap: bool,
    /// `ldap_host_search_base` (defaults to `ldap_search_base`).
    pub host_search_base: Option<String>,
    /// `ldap_host_object_class` (ipHost).
    pub host_object_class: String,
    /// `ldap_host_name` (cn).
    pub host_name: String,
    /// `ldap_host_fqdn` (fqdn): the attribute a host is searched by.
    pub host_fqdn: String,
    /// `ldap_host_ssh_public_key` (sshPublicKey).
    pub host_ssh_public_key: String,
    /// `entry_cache_ssh_host_timeout` seconds (defaults to `entry_cache_timeout`).
    pub ssh_host_timeout: u32,
}

impl Default for MapOptions {
    fn default() -> Self {
        MapOptions {
            service_search_base: None,
            service_object_class: "ipService".into(),
            service_name: "cn".into(),
            service_port: "ipServicePort".into(),
            service_proto: "ipServiceProtocol".into(),
            service_timeout: 5400,
            resolver_ldap: true,
            iphost_search_base: None,
            iphost_object_class: "ipHost".into(),
            iphost_name: "cn".into(),
            iphost_number: "ipHostNumber".into(),
            ipnetwork_search_base: None,
            ipnetwork_object_class: "ipNetwork".into(),
            ipnetwork_name: "cn".into(),
            ipnetwork_number: "ipNetworkNumber".into(),
            resolver_timeout: 5400,
            hostid_ldap: true,
            host_search_base: None,
            host_object_class: "ipHost".into(),
            host_name: "cn".into(),
            host_fqdn: "fqdn".into(),
            host_ssh_public_key: "sshPublicKey".into(),
            ssh_host_timeout: 5400,
        }
    }
}

impl MapOptions {
    /// Reads the options of `[domain/<name>]`.
    pub fn from_config(cfg: &Config, name: &str) -> Result<MapOptions, ConfigError> {
        let s = domain_section(cfg, name)?;
        let s = s.as_str();
        let entry = super::schema::ENTRY_CACHE_TIMEOUT.read(cfg, s)?;
        let id_provider = cfg.get(s, "id_provider").unwrap_or_default();
        let resolver = cfg.get(s, "resolver_provider").unwrap_or(id_provider);
        let hostid = cfg.get(s, "hostid_provider").unwrap_or(id_provider);
        // SSSD 2.8 also has `ipa` and `ad` here; this build's only provider is ldap, so any
        // other value would promise host keys nobody fetches.
        let hostid_ldap = if hostid.eq_ignore_ascii_case("ldap") {
            true
        } else if hostid.eq_ignore_ascii_case("none") || cfg.get(s, "hostid_provider").is_none() {
            false
        } else {
            return Err(ConfigError::bad_value(
                s,
                "hostid_provider",
                hostid,
                "only \"ldap\" and \"none\" are supported",
            ));
        };
        Ok(MapOptions {
            service_search_base: optional(cfg, s, "ldap_service_search_base"),
            service_object_class: string(cfg, s, "ldap_service_object_class", "ipService"),
            service_name: string(cfg, s, "ldap_service_name", "cn"),
            service_port: string(cfg, s, "ldap_service_port", "ipServicePort"),
            service_proto: string(cfg, s, "ldap_service_proto", "ipServiceProtocol"),
            service_timeout: number(cfg, s, "entry_cache_service_timeout", entry)?,
            resolver_ldap: resolver.eq_ignore_ascii_case("ldap"),
            iphost_search_base: optional(cfg, s, "ldap_iphost_search_base"),
            iphost_object_class: string(cfg, s, "ldap_iphost_object_class", "ipHost"),
            iphost_name: string(cfg, s, "ldap_iphost_name", "cn"),
            iphost_number: string(cfg, s, "ldap_iphost_number", "ipHostNumber"),
            ipnetwork_search_base: optional(cfg, s, "ldap_ipnetwork_search_base"),
            ipnetwork_object_class: string(cfg, s, "ldap_ipnetwork_object_class", "ipNetwork"),
            ipnetwork_name: string(cfg, s, "ldap_ipnetwork_name", "cn"),
            ipnetwork_number: string(cfg, s, "ldap_ipnetwork_number", "ipNetworkNumber"),
            resolver_timeout: number(cfg, s, "entry_cache_resolver_timeout", entry)?,
            hostid_ldap,
            host_search_base: optional(cfg, s, "ldap_host_search_base"),
            host_object_class: string(cfg, s, "ldap_host_object_class", "ipHost"),
            host_name: string(cfg, s, "ldap_host_name", "cn"),
            host_fqdn: string(cfg, s, "ldap_host_fqdn", "fqdn"),
            host_ssh_public_key: string(cfg, s, "ldap_host_ssh_public_key", "sshPublicKey"),
            ssh_host_timeout: number(cfg, s, "entry_cache_ssh_host_timeout", entry)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> Config {
        Config::parse(text, "test").unwrap()
    }

    #[test]
    fn defaults_are_sssds() {
        let c = cfg("[sssd]\ndomains = D\n[domain/D]\nid_provider = ldap\n");
        let o = MapOptions::from_config(&c, "D").unwrap();
        assert_eq!(o, MapOptions::default());
    }

    #[test]
    fn options_and_timeouts_are_read() {
        let c = cfg(
            "[sssd]\ndomains = D\n[domain/D]\nid_provider = ldap\nentry_cache_timeout = 60\n\
             entry_cache_service_timeout = 7\nresolver_provider = none\n\
             ldap_service_search_base = ou=s,dc=x\nldap_service_port = p\n",
        );
        let o = MapOptions::from_config(&c, "D").unwrap();
        assert_eq!(o.service_timeout, 7);
        assert_eq!(o.resolver_timeout, 60);
        assert!(!o.resolver_ldap);
        assert_eq!(o.service_search_base.as_deref(), Some("ou=s,dc=x"));
        assert_eq!(o.service_port, "p");
        assert_eq!(o.ssh_host_timeout, 60);
        assert!(o.hostid_ldap, "hostid_provider follows id_provider");
    }

    #[test]
    fn host_options_are_read_and_unknown_providers_refused() {
        let c = cfg("[sssd]\ndomains = D\n[domain/D]\nid_provider = ldap\n\
             entry_cache_ssh_host_timeout = 9\nldap_host_search_base = ou=h,dc=x\n\
             ldap_host_fqdn = dNSName\nldap_host_ssh_public_key = k\n");
        let o = MapOptions::from_config(&c, "D").unwrap();
        assert_eq!(o.ssh_host_timeout, 9);
        assert_eq!(o.host_search_base.as_deref(), Some("ou=h,dc=x"));
        assert_eq!(o.host_fqdn, "dNSName");
        assert_eq!(o.host_ssh_public_key, "k");
        let none =
            cfg("[sssd]\ndomains = D\n[domain/D]\nid_provider = ldap\nhostid_provider = none\n");
        assert!(!MapOptions::from_config(&none, "D").unwrap().hostid_ldap);
        let ipa =
            cfg("[sssd]\ndomains = D\n[domain/D]\nid_provider = ldap\nhostid_provider = ipa\n");
        let e = MapOptions::from_config(&ipa, "D").unwrap_err().to_string();
        assert!(e.contains("hostid_provider"), "{e}");
    }
}
