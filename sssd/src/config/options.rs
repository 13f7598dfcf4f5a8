//! Typed options with SSSD's names and defaults.

use super::{Config, ConfigError};

/// `[sssd]` options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SssdOptions {
    /// `domains`, in order.
    pub domains: Vec<String>,
    /// `services`.
    pub services: Vec<String>,
    /// `re_expression` (default: `^((?P<name>.+)@(?P<domain>[^@]+)|(?P<name>[^@]+))$`).
    pub re_expression: Option<String>,
    /// `full_name_format` (default `%1$s@%2$s`).
    pub full_name_format: String,
    /// `debug_level` (default 0).
    pub debug_level: u32,
}

/// `[nss]` options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NssOptions {
    /// `enum_cache_timeout` seconds (120).
    pub enum_cache_timeout: u32,
    /// `entry_cache_nowait_percentage` (50; 0 disables).
    pub entry_cache_nowait_percentage: u32,
    /// `entry_negative_timeout` seconds (15; 0 disables).
    pub entry_negative_timeout: u32,
    /// `filter_users` (root is always filtered in addition).
    pub filter_users: Vec<String>,
    /// `filter_groups` (root is always filtered in addition).
    pub filter_groups: Vec<String>,
    /// `filter_users_in_groups` (true).
    pub filter_users_in_groups: bool,
    /// `pwfield` (`*`).
    pub pwfield: String,
    /// `override_homedir`.
    pub override_homedir: Option<String>,
    /// `fallback_homedir`.
    pub fallback_homedir: Option<String>,
    /// `homedir_substring` (`/home`).
    pub homedir_substring: String,
    /// `override_shell`.
    pub override_shell: Option<String>,
    /// `allowed_shells`.
    pub allowed_shells: Vec<String>,
    /// `vetoed_shells`.
    pub vetoed_shells: Vec<String>,
    /// `shell_fallback` (`/bin/sh`).
    pub shell_fallback: String,
    /// `default_shell`.
    pub default_shell: Option<String>,
    /// `memcache_timeout` seconds (300).
    pub memcache_timeout: u32,
    /// `client_idle_timeout` seconds (60, at least 10).
    pub client_idle_timeout: u32,
}

/// `[domain/NAME]` options common to every provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainOptions {
    /// The domain name (after `domain/`).
    pub name: String,
    /// `id_provider` (required).
    pub id_provider: String,
    /// `auth_provider` (defaults to id_provider).
    pub auth_provider: String,
    /// `access_provider` (`permit`).
    pub access_provider: String,
    /// `enumerate` (false).
    pub enumerate: bool,
    /// `min_id` (1).
    pub min_id: u32,
    /// `max_id` (0 = unbounded).
    pub max_id: u32,
    /// `case_sensitive` (true); `preserving` counts as false for lookups.
    pub case_sensitive: bool,
    /// `use_fully_qualified_names` (false).
    pub use_fully_qualified_names: bool,
    /// `full_name_format` (inherits `[sssd]`, default `%1$s@%2$s`).
    pub full_name_format: String,
    /// `entry_cache_timeout` seconds (5400).
    pub entry_cache_timeout: u32,
    /// `entry_cache_user_timeout` (defaults to entry_cache_timeout).
    pub entry_cache_user_timeout: u32,
    /// `entry_cache_group_timeout` (defaults to entry_cache_timeout).
    pub entry_cache_group_timeout: u32,
    /// `cache_credentials` (false).
    pub cache_credentials: bool,
    /// Per-domain `filter_users`.
    pub filter_users: Vec<String>,
    /// Per-domain `filter_groups`.
    pub filter_groups: Vec<String>,
    /// Per-domain `override_homedir`.
    pub override_homedir: Option<String>,
    /// Per-domain `fallback_homedir`.
    pub fallback_homedir: Option<String>,
    /// Per-domain `override_shell`.
    pub override_shell: Option<String>,
    /// Per-domain `default_shell`.
    pub default_shell: Option<String>,
    /// `ignore_group_members` (false).
    pub ignore_group_members: bool,
    /// `offline_timeout` seconds (60).
    pub offline_timeout: u32,
}

/// LDAP provider options of a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapOptions {
    /// `ldap_uri`, in order.
    pub uris: Vec<String>,
    /// `ldap_search_base` (discovered from the rootDSE when unset).
    pub search_base: Option<String>,
    /// `ldap_user_search_base` (defaults to search_base).
    pub user_search_base: Option<String>,
    /// `ldap_group_search_base` (defaults to search_base).
    pub group_search_base: Option<String>,
    /// `ldap_schema`: true for rfc2307bis, false for rfc2307 (default).
    pub rfc2307bis: bool,
    /// `ldap_group_nesting_level` (2).
    pub group_nesting_level: u32,
    /// `ldap_default_bind_dn`.
    pub default_bind_dn: Option<String>,
    /// `ldap_default_authtok` (password). Never logged.
    pub default_authtok: Option<String>,
    /// `ldap_id_use_start_tls` (true).
    pub id_use_start_tls: bool,
    /// `ldap_tls_reqcert`: never/allow/try/demand/hard (hard).
    pub tls_reqcert: String,
    /// `ldap_tls_cacert`.
    pub tls_cacert: Option<String>,
    /// `ldap_page_size` (1000).
    pub page_size: u32,
    /// `ldap_search_timeout` seconds (6).
    pub search_timeout: u32,
    /// `ldap_network_timeout` seconds (6).
    pub network_timeout: u32,
    /// `ldap_opt_timeout` seconds (8).
    pub opt_timeout: u32,
    /// `ldap_enumeration_refresh_timeout` seconds (300).
    pub enumeration_refresh_timeout: u32,
    /// `ldap_enumeration_search_timeout` seconds (60).
    pub enumeration_search_timeout: u32,
    /// `ldap_user_object_class` (posixAccount).
    pub user_object_class: String,
    /// `ldap_user_name` (uid).
    pub user_name: String,
    /// `ldap_user_uid_number` (uidNumber).
    pub user_uid_number: String,
    /// `ldap_user_gid_number` (gidNumber).
    pub user_gid_number: String,
    /// `ldap_user_gecos` (gecos).
    pub user_gecos: String,
    /// `ldap_user_fullname` (cn), the gecos fallback.
    pub user_fullname: String,
    /// `ldap_user_home_directory` (homeDirectory).
    pub user_home_directory: String,
    /// `ldap_user_shell` (loginShell).
    pub user_shell: String,
    /// `ldap_user_principal` (krbPrincipalName).
    pub user_principal: String,
    /// `ldap_user_search_filter` extra filter, if any.
    pub user_extra_filter: Option<String>,
    /// `ldap_group_object_class` (posixGroup; groupOfNames is common with rfc2307bis).
    pub group_object_class: String,
    /// `ldap_group_name` (cn).
    pub group_name: String,
    /// `ldap_group_gid_number` (gidNumber).
    pub group_gid_number: String,
    /// `ldap_group_member` (memberUid for rfc2307, member for rfc2307bis).
    pub group_member: String,
    /// `ldap_group_search_filter` extra filter, if any.
    pub group_extra_filter: Option<String>,
}

impl SssdOptions {
    /// Reads `[sssd]`.
    pub fn from_config(cfg: &Config) -> Result<SssdOptions, ConfigError> {
        let _ = cfg;
        todo!()
    }
}

impl NssOptions {
    /// Reads `[nss]`.
    pub fn from_config(cfg: &Config) -> Result<NssOptions, ConfigError> {
        let _ = cfg;
        todo!()
    }
}

impl DomainOptions {
    /// Reads `[domain/<name>]`, inheriting `[sssd]` values where SSSD does.
    pub fn from_config(cfg: &Config, name: &str) -> Result<DomainOptions, ConfigError> {
        let _ = (cfg, name);
        todo!()
    }
}

impl LdapOptions {
    /// Reads the `ldap_*` options of `[domain/<name>]`.
    pub fn from_config(cfg: &Config, name: &str) -> Result<LdapOptions, ConfigError> {
        let _ = (cfg, name);
        todo!()
    }
}
