//! Typed options with SSSD's names and defaults.

use super::name_regex::NameRegex;
use super::schema as opt;
use super::{Config, ConfigError, DOMAIN_PREFIX, TlsOptions};

pub use super::schema::{
    DEFAULT_AD_RE_EXPRESSION, DEFAULT_FULL_NAME_FORMAT, DEFAULT_RE_EXPRESSION, MAX_MEMCACHE_MIB,
    MIN_CLIENT_IDLE_TIMEOUT,
};

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
    /// `default_domain_suffix`: the domain of names given without one.
    pub default_domain_suffix: Option<String>,
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
    /// `filter_users`, always with root.
    pub filter_users: Vec<String>,
    /// `filter_groups`, always with root.
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
    /// `memcache_timeout` seconds (300; 0 disables the memory cache).
    pub memcache_timeout: u32,
    /// `memcache_size_passwd` MiB (8; 0 disables the passwd map).
    pub memcache_size_passwd: u32,
    /// `memcache_size_group` MiB (6; 0 disables the group map).
    pub memcache_size_group: u32,
    /// `memcache_size_initgroups` MiB (10; 0 disables the initgroups map).
    pub memcache_size_initgroups: u32,
    /// `memcache_size_sid` MiB (6): validated only; no SID map is created (SID lookups
    /// are not served).
    pub memcache_size_sid: u32,
    /// `client_idle_timeout` seconds (60, at least 10).
    pub client_idle_timeout: u32,
    /// `allowed_uids` (names or numbers); empty = everyone.
    pub allowed_uids: Vec<String>,
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
    /// `use_fully_qualified_names` (false; true when `[sssd] default_domain_suffix` is
    /// set, which refuses an explicit false as SSSD does).
    pub use_fully_qualified_names: bool,
    /// `full_name_format` (inherits `[sssd]`, default `%1$s@%2$s`).
    pub full_name_format: String,
    /// The `re_expression` that applies to this domain: its own, else `[sssd]`'s, else
    /// SSSD's default for its provider. `None` only when that expression is refused (the
    /// options are then refused as a whole).
    pub re_expression: Option<NameRegex>,
    /// The flat (NetBIOS) name as configured: for `id_provider = ad`, the upper-cased first
    /// label of `ad_domain` (else of the domain name), used until the backend has learned
    /// the real one from a domain controller (see [`crate::config::learned`] and
    /// `DomainOptions::with_flat_name`, which `%3$s` of `full_name_format` and the
    /// domain part of `DOMAIN\name` use). `None` for other providers (`%3$s` gives the
    /// domain name then, as SSSD).
    pub flat_name: Option<String>,
    /// `[sssd] default_domain_suffix`, copied into every domain so that name parsing
    /// needs only the domain list.
    pub default_domain_suffix: Option<String>,
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
    /// `offline_timeout_max` seconds (3600; 0: the retry interval does not grow).
    pub offline_timeout_max: u32,
    /// `offline_timeout_random_offset` seconds (30; 0: none).
    pub offline_timeout_random_offset: u32,
    /// `refresh_expired_interval` seconds (0: no background refresh), after SSSD's
    /// correction (see [`refresh_interval`]).
    pub refresh_expired_interval: u32,
    /// `refresh_expired_interval_offset` seconds (0), after the same correction.
    pub refresh_expired_interval_offset: u32,
    /// `homedir_substring` (the `[nss]` value when unset).
    pub homedir_substring: Option<String>,
    /// `override_gid`: reported instead of every user's primary gid.
    pub override_gid: Option<u32>,
    /// `auto_private_groups`: user private groups synthesized from uids.
    pub auto_private_groups: PrivateGroups,
}

/// `auto_private_groups`: whether each user gets a private group named after them with
/// gid = uid, synthesized by the responder (nothing is stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PrivateGroups {
    /// `false`: primary gids refer to real groups.
    #[default]
    Off,
    /// `true`: every user has a private group; the primary gid reported is the uid.
    On,
    /// `hybrid`: a private group exists for users whose gid equals their uid when no real
    /// group has that gid.
    Hybrid,
}

/// LDAP provider options of a domain. Its `Debug` output hides the bind password.
#[derive(Clone, PartialEq, Eq)]
pub struct LdapOptions {
    /// `ldap_uri`, in order.
    pub uris: Vec<String>,
    /// `ldap_backup_uri`, in order: used only when no `ldap_uri` server answers.
    /// Either list may hold `_srv_` (servers found by DNS); an unset `ldap_uri` is `_srv_`.
    pub backup_uris: Vec<String>,
    /// Service discovery (`dns_discovery_domain`, `dns_resolver_*`).
    pub dns: super::dns_options::DnsOptions,
    /// `failover_primary_timeout` seconds (31): while on a backup server, how often a primary
    /// is tried again.
    pub failover_primary_timeout: u32,
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
    /// `ldap_tls_cacert` (or `TLS_CACERT` of ldap.conf, see [`TlsOptions::cacert_from`]).
    pub tls_cacert: Option<String>,
    /// The other TLS settings.
    pub tls: TlsOptions,
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
    /// `ldap_user_email` (mail): addresses by which a user can also be looked up.
    pub user_email: String,
    /// `ldap_force_upper_case_realm` (false): upper-case the realm part of the principal.
    pub force_upper_case_realm: bool,
    /// `ldap_user_ssh_public_key` (sshPublicKey): the user's SSH public keys.
    pub user_ssh_public_key: String,
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
    /// `ldap_netgroup_*` and `entry_cache_netgroup_timeout`.
    pub netgroup: super::netgroup_options::NetgroupOptions,
    /// The services, hosts and networks maps.
    pub maps: super::MapOptions,
    /// `ldap_id_mapping` (false; true for the AD provider): ids computed from objectSid
    /// with these `ldap_idmap_*` options instead of read from uidNumber/gidNumber.
    pub id_mapping: Option<crate::backend::ldap::idmap::IdmapOptions>,
    /// `ldap_schema = ad`.
    pub ad_schema: bool,
    /// With `id_provider = ad`: how `_srv_` finds the domain controllers.
    pub ad_discovery: Option<super::ad::AdDiscovery>,
    /// `ldap_use_tokengroups` (true): with `ldap_schema = ad`, initgroups reads the user's
    /// tokenGroups (every group, nested ones included, in one read).
    pub use_tokengroups: bool,
    /// `ldap_disable_range_retrieval` (false): multi-valued attributes the server returns in
    /// ranges (`member;range=0-1499`) are not fetched further.
    pub disable_range_retrieval: bool,
    /// `ldap_deref_threshold` (10): a group with more members missing from the cache than
    /// this has them read in one dereferencing search (AD's ASQ control) where the server
    /// offers it; 0 never dereferences.
    pub deref_threshold: u32,
}

impl std::fmt::Debug for LdapOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapOptions")
            .field("uris", &self.uris)
            .field("backup_uris", &self.backup_uris)
            .field("failover_primary_timeout", &self.failover_primary_timeout)
            .field("search_base", &self.search_base)
            .field("user_search_base", &self.user_search_base)
            .field("group_search_base", &self.group_search_base)
            .field("rfc2307bis", &self.rfc2307bis)
            .field("group_nesting_level", &self.group_nesting_level)
            .field("default_bind_dn", &self.default_bind_dn)
            .field(
                "default_authtok",
                &self.default_authtok.as_ref().map(|_| "<redacted>"),
            )
            .field("id_use_start_tls", &self.id_use_start_tls)
            .field("tls_reqcert", &self.tls_reqcert)
            .field("tls_cacert", &self.tls_cacert)
            .field("tls", &self.tls)
            .field("page_size", &self.page_size)
            .field("search_timeout", &self.search_timeout)
            .field("network_timeout", &self.network_timeout)
            .field("opt_timeout", &self.opt_timeout)
            .field(
                "enumeration_refresh_timeout",
                &self.enumeration_refresh_timeout,
            )
            .field(
                "enumeration_search_timeout",
                &self.enumeration_search_timeout,
            )
            .field("user_object_class", &self.user_object_class)
            .field("user_name", &self.user_name)
            .field("user_uid_number", &self.user_uid_number)
            .field("user_gid_number", &self.user_gid_number)
            .field("user_gecos", &self.user_gecos)
            .field("user_fullname", &self.user_fullname)
            .field("user_home_directory", &self.user_home_directory)
            .field("user_shell", &self.user_shell)
            .field("user_principal", &self.user_principal)
            .field("user_email", &self.user_email)
            .field("user_ssh_public_key", &self.user_ssh_public_key)
            .field("user_extra_filter", &self.user_extra_filter)
            .field("maps", &self.maps)
            .field("group_object_class", &self.group_object_class)
            .field("group_name", &self.group_name)
            .field("group_gid_number", &self.group_gid_number)
            .field("group_member", &self.group_member)
            .field("group_extra_filter", &self.group_extra_filter)
            .field("netgroup", &self.netgroup)
            .field("id_mapping", &self.id_mapping)
            .field("ad_schema", &self.ad_schema)
            .field("ad_discovery", &self.ad_discovery)
            .field("use_tokengroups", &self.use_tokengroups)
            .field("disable_range_retrieval", &self.disable_range_retrieval)
            .field("deref_threshold", &self.deref_threshold)
            .finish()
    }
}

/// A string option, or `default` when absent.
pub(crate) fn string(cfg: &Config, section: &str, option: &str, default: &str) -> String {
    cfg.get(section, option).unwrap_or(default).to_string()
}

/// An optional string option; an empty value counts as unset.
pub(crate) fn optional(cfg: &Config, section: &str, option: &str) -> Option<String> {
    cfg.get(section, option)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// A non-negative integer option that fits in 32 bits, or `default` when absent.
pub(crate) fn number(
    cfg: &Config,
    section: &str,
    option: &str,
    default: u32,
) -> Result<u32, ConfigError> {
    let v = cfg.get_int(section, option, i64::from(default))?;
    u32::try_from(v).map_err(|_| {
        ConfigError::bad_value(
            section,
            option,
            cfg.get(section, option).unwrap_or_default(),
            format!("expected a number from 0 to {}", u32::MAX),
        )
    })
}

/// The debug level of `section`: `debug_level`, or its alias `debug`, in decimal (0-9) or
/// as a `0x` bitmask; 0 when unset.
pub fn debug_level(cfg: &Config, section: &str) -> Result<u32, ConfigError> {
    let (option, raw) = match (cfg.get(section, "debug_level"), cfg.get(section, "debug")) {
        (Some(v), _) => ("debug_level", v),
        (None, Some(v)) => ("debug", v),
        (None, None) => return Ok(0),
    };
    super::parse_int(raw)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| {
            ConfigError::bad_value(section, option, raw, "expected a level 0-9 or a 0x bitmask")
        })
}

/// The section name of domain `name`.
pub(crate) fn domain_section(cfg: &Config, name: &str) -> Result<String, ConfigError> {
    let section = format!("{DOMAIN_PREFIX}{name}");
    if cfg.has_section(&section) {
        Ok(section)
    } else {
        Err(ConfigError::Missing(format!(
            "domain {name:?} has no [{section}] section"
        )))
    }
}

impl SssdOptions {
    /// Reads `[sssd]`.
    pub fn from_config(cfg: &Config) -> Result<SssdOptions, ConfigError> {
        const S: &str = "sssd";
        let re_expression = opt::RE_EXPRESSION.read(cfg, S);
        if let Some(re) = &re_expression {
            compile_re_expression(S, re)?;
        }
        let full_name_format = opt::FULL_NAME_FORMAT.read_string(cfg, S);
        check_full_name_format(S, &full_name_format)?;
        Ok(SssdOptions {
            domains: cfg.domains()?,
            services: cfg.services(),
            re_expression,
            full_name_format,
            default_domain_suffix: default_domain_suffix(cfg),
            debug_level: debug_level(cfg, S)?,
        })
    }
}

/// `re_expression` of `section` compiled, or refused naming the option.
fn compile_re_expression(section: &str, pattern: &str) -> Result<NameRegex, ConfigError> {
    NameRegex::new(pattern).map_err(|e| {
        ConfigError::bad_value(section, opt::RE_EXPRESSION.name, pattern, e.to_string())
    })
}

/// Refuses a `full_name_format` that leaves the user name out, as SSSD does.
fn check_full_name_format(section: &str, format: &str) -> Result<(), ConfigError> {
    const PROBE: &str = "the-test-user";
    let out = crate::responder::common::names::format_full_name(format, PROBE, "d", "f");
    if out.contains(PROBE) {
        Ok(())
    } else {
        Err(ConfigError::bad_value(
            section,
            opt::FULL_NAME_FORMAT.name,
            format,
            "it must contain the user name (%1$s)",
        ))
    }
}

/// `[sssd] default_domain_suffix`, trimmed; empty counts as unset.
fn default_domain_suffix(cfg: &Config) -> Option<String> {
    opt::DEFAULT_DOMAIN_SUFFIX
        .set(cfg, "sssd")
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// The flat (NetBIOS) name used for an `id_provider = ad` domain (see
/// [`DomainOptions::flat_name`]).
fn ad_flat_name(cfg: &Config, section: &str) -> String {
    let domain = super::ad::ad_domain(cfg, section);
    domain.split('.').next().unwrap_or(&domain).to_uppercase()
}

/// `list` with `always` added in front when it is missing.
fn with(always: &str, mut list: Vec<String>) -> Vec<String> {
    if !list.iter().any(|x| x == always) {
        list.insert(0, always.to_string());
    }
    list
}

impl NssOptions {
    /// Reads `[nss]`.
    pub fn from_config(cfg: &Config) -> Result<NssOptions, ConfigError> {
        let mut r = opt::Reader::new(cfg, "nss");
        let nss = NssOptions::read(&mut r);
        r.finish(nss)
    }

    /// SSSD's defaults (an empty `[nss]`).
    pub fn defaults() -> NssOptions {
        NssOptions::read(&mut opt::Reader::new(&Config::default(), "nss"))
    }

    fn read(r: &mut opt::Reader) -> NssOptions {
        NssOptions {
            enum_cache_timeout: r.number(&opt::ENUM_CACHE_TIMEOUT),
            entry_cache_nowait_percentage: r.number(&opt::ENTRY_CACHE_NOWAIT_PERCENTAGE),
            entry_negative_timeout: r.number(&opt::ENTRY_NEGATIVE_TIMEOUT),
            // SSSD never serves root, whatever the lists say.
            filter_users: with("root", r.list(&opt::NSS_FILTER_USERS)),
            filter_groups: with("root", r.list(&opt::NSS_FILTER_GROUPS)),
            filter_users_in_groups: r.flag(&opt::FILTER_USERS_IN_GROUPS),
            pwfield: r.text_string(&opt::PWFIELD),
            override_homedir: r.text(&opt::OVERRIDE_HOMEDIR),
            fallback_homedir: r.text(&opt::FALLBACK_HOMEDIR),
            homedir_substring: r.text_string(&opt::NSS_HOMEDIR_SUBSTRING),
            override_shell: r.text(&opt::OVERRIDE_SHELL),
            allowed_shells: r.list(&opt::ALLOWED_SHELLS),
            vetoed_shells: r.list(&opt::VETOED_SHELLS),
            shell_fallback: r.text_string(&opt::SHELL_FALLBACK),
            default_shell: r.text(&opt::DEFAULT_SHELL),
            memcache_timeout: r.number(&opt::MEMCACHE_TIMEOUT),
            memcache_size_passwd: r.number(&opt::MEMCACHE_SIZE_PASSWD),
            memcache_size_group: r.number(&opt::MEMCACHE_SIZE_GROUP),
            memcache_size_initgroups: r.number(&opt::MEMCACHE_SIZE_INITGROUPS),
            memcache_size_sid: r.number(&opt::MEMCACHE_SIZE_SID),
            client_idle_timeout: r.number(&opt::CLIENT_IDLE_TIMEOUT),
            allowed_uids: r.list(&opt::ALLOWED_UIDS),
        }
    }
}

impl DomainOptions {
    /// Reads `[domain/<name>]`, inheriting `[sssd]` values where SSSD does.
    pub fn from_config(cfg: &Config, name: &str) -> Result<DomainOptions, ConfigError> {
        let s = domain_section(cfg, name)?;
        let id_provider = opt::ID_PROVIDER
            .read(cfg, &s)
            .ok_or_else(|| ConfigError::Missing(format!("[{s}]: id_provider is required")))?;
        let mut r = opt::Reader::new(cfg, &s);
        let d = DomainOptions::read(&mut r, cfg, name, id_provider);
        if d.max_id != 0 && d.min_id > d.max_id {
            r.refuse(ConfigError::bad_value(
                &s,
                "min_id",
                &d.min_id.to_string(),
                format!("must not be greater than max_id ({})", d.max_id),
            ));
        }
        r.finish(d)
    }

    /// SSSD's defaults for a domain `name` served by `id_provider`.
    pub fn defaults(name: &str, id_provider: &str) -> DomainOptions {
        let cfg = Config::default();
        let mut r = opt::Reader::new(&cfg, "domain/");
        DomainOptions::read(&mut r, &cfg, name, id_provider.to_string())
    }

    fn read(r: &mut opt::Reader, cfg: &Config, name: &str, id_provider: String) -> DomainOptions {
        let entry_cache_timeout = r.number(&opt::ENTRY_CACHE_TIMEOUT);
        let (refresh_expired_interval, refresh_expired_interval_offset) = refresh_interval(
            &format!("{DOMAIN_PREFIX}{name}"),
            r.number(&opt::REFRESH_EXPIRED_INTERVAL),
            r.number(&opt::REFRESH_EXPIRED_INTERVAL_OFFSET),
            entry_cache_timeout,
        );
        // AD compares names case-insensitively unless told otherwise.
        let case_default = if id_provider == "ad" { "false" } else { "true" };
        let section = format!("{DOMAIN_PREFIX}{name}");
        let suffix = default_domain_suffix(cfg);
        // SSSD: a default domain suffix makes every domain but `files` fully qualified, and
        // refuses one that says otherwise.
        let forced_fq = suffix.is_some() && id_provider != "files";
        let use_fully_qualified_names = r.flag_or(&opt::USE_FULLY_QUALIFIED_NAMES, forced_fq);
        if forced_fq && !use_fully_qualified_names {
            r.refuse(ConfigError::bad_value(
                &section,
                opt::USE_FULLY_QUALIFIED_NAMES.name,
                "false",
                "must be true when [sssd] default_domain_suffix is set",
            ));
        }
        let (re_section, re_pattern) = match opt::RE_EXPRESSION.set(cfg, &section) {
            Some(p) => (section.as_str(), p),
            None => match opt::RE_EXPRESSION.set(cfg, "sssd") {
                Some(p) => ("sssd", p),
                None if matches!(id_provider.as_str(), "ad" | "ipa") => {
                    (section.as_str(), DEFAULT_AD_RE_EXPRESSION.to_string())
                }
                None => (section.as_str(), DEFAULT_RE_EXPRESSION.to_string()),
            },
        };
        let re_expression = match compile_re_expression(re_section, &re_pattern) {
            Ok(re) => Some(re),
            Err(e) => {
                r.refuse(e);
                None
            }
        };
        let full_name_format = opt::FULL_NAME_FORMAT
            .set(cfg, &section)
            .unwrap_or_else(|| opt::FULL_NAME_FORMAT.read_string(cfg, "sssd"));
        if let Err(e) = check_full_name_format(&section, &full_name_format) {
            r.refuse(e);
        }
        let flat_name = (id_provider == "ad").then(|| ad_flat_name(cfg, &section));
        DomainOptions {
            name: name.to_string(),
            auth_provider: r
                .text(&opt::AUTH_PROVIDER)
                .unwrap_or_else(|| id_provider.clone()),
            access_provider: r.text_string(&opt::ACCESS_PROVIDER),
            enumerate: r.flag(&opt::ENUMERATE),
            min_id: r.number(&opt::MIN_ID),
            max_id: r.number(&opt::MAX_ID),
            case_sensitive: r.choice_or(&opt::CASE_SENSITIVE, case_default) == "true",
            use_fully_qualified_names,
            // The domain's own, else `[sssd]`'s, else SSSD's default.
            full_name_format,
            re_expression,
            flat_name,
            default_domain_suffix: suffix,
            entry_cache_timeout,
            entry_cache_user_timeout: r
                .number_or(&opt::ENTRY_CACHE_USER_TIMEOUT, entry_cache_timeout),
            entry_cache_group_timeout: r
                .number_or(&opt::ENTRY_CACHE_GROUP_TIMEOUT, entry_cache_timeout),
            cache_credentials: r.flag(&opt::CACHE_CREDENTIALS),
            filter_users: r.list(&opt::DOMAIN_FILTER_USERS),
            filter_groups: r.list(&opt::DOMAIN_FILTER_GROUPS),
            override_homedir: r.text(&opt::OVERRIDE_HOMEDIR),
            fallback_homedir: r.text(&opt::FALLBACK_HOMEDIR),
            override_shell: r.text(&opt::OVERRIDE_SHELL),
            default_shell: r.text(&opt::DEFAULT_SHELL),
            ignore_group_members: r.flag(&opt::IGNORE_GROUP_MEMBERS),
            offline_timeout: r.number(&opt::OFFLINE_TIMEOUT),
            offline_timeout_max: r.number(&opt::OFFLINE_TIMEOUT_MAX),
            offline_timeout_random_offset: r.number(&opt::OFFLINE_TIMEOUT_RANDOM_OFFSET),
            refresh_expired_interval,
            refresh_expired_interval_offset,
            homedir_substring: r.text(&opt::DOMAIN_HOMEDIR_SUBSTRING),
            override_gid: Some(r.number(&opt::OVERRIDE_GID)).filter(|g| *g != 0),
            auto_private_groups: match r.choice(&opt::AUTO_PRIVATE_GROUPS) {
                "true" => PrivateGroups::On,
                "hybrid" => PrivateGroups::Hybrid,
                _ => PrivateGroups::Off,
            },
            id_provider,
        }
    }
}

/// `refresh_expired_interval` and its offset as SSSD uses them: when together they exceed
/// `entry_cache_timeout`, SSSD replaces them with 70% of `entry_cache_timeout` and 10% of
/// that (and says so in its log); so do we.
pub fn refresh_interval(
    section: &str,
    interval: u32,
    offset: u32,
    entry_cache_timeout: u32,
) -> (u32, u32) {
    if u64::from(interval) + u64::from(offset) <= u64::from(entry_cache_timeout) {
        return (interval, offset);
    }
    let interval_fixed = u32::try_from(u64::from(entry_cache_timeout) * 7 / 10).unwrap_or(0);
    let offset_fixed = interval_fixed / 10;
    tracing::warn!(
        "[{section}] refresh_expired_interval ({interval}) + refresh_expired_interval_offset \
         ({offset}) exceed entry_cache_timeout ({entry_cache_timeout}); using \
         {interval_fixed} and {offset_fixed} instead"
    );
    (interval_fixed, offset_fixed)
}

/// `ldap_uri`: as [`ldap_uris`]; unset or empty, the servers are discovered in DNS (`_srv_`).
fn primary_uris(cfg: &Config, section: &str) -> Result<Vec<String>, ConfigError> {
    let uris = ldap_uris(cfg, section, "ldap_uri")?;
    if uris.is_empty() {
        Ok(vec![super::dns_options::SRV_KEYWORD.to_string()])
    } else {
        Ok(uris)
    }
}

/// `ldap_uri` or `ldap_backup_uri` (`option`): a comma list of `ldap://`, `ldaps://` or
/// `ldapi://` URIs and `_srv_` (servers found by DNS SRV lookup).
fn ldap_uris(cfg: &Config, section: &str, option: &str) -> Result<Vec<String>, ConfigError> {
    let uris = cfg.get_list(section, option);
    for uri in &uris {
        if super::dns_options::is_srv_keyword(uri) {
            continue;
        }
        let lower = uri.to_ascii_lowercase();
        let ok = ["ldap://", "ldaps://", "ldapi://"]
            .iter()
            .any(|p| lower.starts_with(p));
        if !ok {
            return Err(ConfigError::bad_value(
                section,
                option,
                cfg.get(section, option).unwrap_or_default(),
                format!("{uri:?} is not an ldap://, ldaps:// or ldapi:// URI, nor _srv_"),
            ));
        }
    }
    Ok(uris)
}

/// `ldap_schema`: `rfc2307` (default), `rfc2307bis`, `ipa` or `ad`, in lowercase.
fn ldap_schema(cfg: &Config, section: &str) -> Result<&'static str, ConfigError> {
    let Some(v) = cfg.get(section, "ldap_schema") else {
        return Ok("rfc2307");
    };
    ["rfc2307", "rfc2307bis", "ipa", "ad"]
        .into_iter()
        .find(|k| k.eq_ignore_ascii_case(v))
        .ok_or_else(|| {
            ConfigError::bad_value(
                section,
                "ldap_schema",
                v,
                "expected rfc2307, rfc2307bis, ipa or ad",
            )
        })
}

/// `ldap_default_authtok_type`: only `password` is supported.
fn check_authtok_type(cfg: &Config, section: &str) -> Result<(), ConfigError> {
    const O: &str = "ldap_default_authtok_type";
    let Some(v) = cfg.get(section, O) else {
        return Ok(());
    };
    if v.eq_ignore_ascii_case("password") {
        Ok(())
    } else if v.eq_ignore_ascii_case("obfuscated_password") {
        Err(ConfigError::bad_value(
            section,
            O,
            v,
            "obfuscated passwords are not supported yet; use `password` with the clear-text \
             password in ldap_default_authtok (the file is readable by root only)",
        ))
    } else {
        Err(ConfigError::bad_value(
            section,
            O,
            v,
            "expected password or obfuscated_password",
        ))
    }
}

/// `ldap_tls_reqcert`: never, allow, try, demand or hard (lowercased).
fn tls_reqcert(cfg: &Config, section: &str) -> Result<String, ConfigError> {
    let v = cfg.get(section, "ldap_tls_reqcert").unwrap_or("hard");
    let lower = v.to_ascii_lowercase();
    if ["never", "allow", "try", "demand", "hard"].contains(&lower.as_str()) {
        Ok(lower)
    } else {
        Err(ConfigError::bad_value(
            section,
            "ldap_tls_reqcert",
            v,
            "expected never, allow, try, demand or hard",
        ))
    }
}

impl LdapOptions {
    /// Every server, primaries (`ldap_uri`) first, then backups (`ldap_backup_uri`).
    pub fn servers(&self) -> Vec<String> {
        self.uris.iter().chain(&self.backup_uris).cloned().collect()
    }

    /// Reads the `ldap_*` options of `[domain/<name>]`.
    pub fn from_config(cfg: &Config, name: &str) -> Result<LdapOptions, ConfigError> {
        let s = domain_section(cfg, name)?;
        let s = s.as_str();
        check_authtok_type(cfg, s)?;
        if cfg.get_bool(s, "ldap_referrals", false)? {
            return Err(ConfigError::bad_value(
                s,
                "ldap_referrals",
                cfg.get(s, "ldap_referrals").unwrap_or_default(),
                "following referrals is not implemented: continuation references are \
                 ignored, as with ldap_referrals = false",
            ));
        }
        let schema = ldap_schema(cfg, s)?;
        // rfc2307bis-style membership (`member` DNs) for every schema but rfc2307.
        let rfc2307bis = schema != "rfc2307";
        let search_base = optional(cfg, s, "ldap_search_base");
        let default_member = if rfc2307bis { "member" } else { "memberUid" };
        // SSSD's attribute map for `ldap_schema = ad` (AD 2008 R2 and later).
        let ad = schema == "ad";
        let pick = |posix: &'static str, active_directory: &'static str| {
            if ad { active_directory } else { posix }
        };
        Ok(LdapOptions {
            uris: primary_uris(cfg, s)?,
            backup_uris: ldap_uris(cfg, s, "ldap_backup_uri")?,
            dns: super::dns_options::DnsOptions::from_config(cfg, name)?,
            failover_primary_timeout: number(cfg, s, "failover_primary_timeout", 31)?,
            user_search_base: optional(cfg, s, "ldap_user_search_base")
                .or_else(|| search_base.clone()),
            group_search_base: optional(cfg, s, "ldap_group_search_base")
                .or_else(|| search_base.clone()),
            search_base,
            rfc2307bis,
            group_nesting_level: number(cfg, s, "ldap_group_nesting_level", 2)?,
            default_bind_dn: optional(cfg, s, "ldap_default_bind_dn"),
            default_authtok: optional(cfg, s, "ldap_default_authtok"),
            id_use_start_tls: cfg.get_bool(s, "ldap_id_use_start_tls", true)?,
            tls_reqcert: tls_reqcert(cfg, s)?,
            tls_cacert: optional(cfg, s, "ldap_tls_cacert"),
            tls: TlsOptions::from_config(cfg, s)?,
            page_size: number(cfg, s, "ldap_page_size", 1000)?,
            search_timeout: number(cfg, s, "ldap_search_timeout", 6)?,
            network_timeout: number(cfg, s, "ldap_network_timeout", 6)?,
            opt_timeout: number(cfg, s, "ldap_opt_timeout", 8)?,
            enumeration_refresh_timeout: number(cfg, s, "ldap_enumeration_refresh_timeout", 300)?,
            enumeration_search_timeout: number(cfg, s, "ldap_enumeration_search_timeout", 60)?,
            user_object_class: string(
                cfg,
                s,
                "ldap_user_object_class",
                pick("posixAccount", "user"),
            ),
            user_name: string(cfg, s, "ldap_user_name", pick("uid", "sAMAccountName")),
            user_uid_number: string(cfg, s, "ldap_user_uid_number", "uidNumber"),
            user_gid_number: string(cfg, s, "ldap_user_gid_number", "gidNumber"),
            user_gecos: string(cfg, s, "ldap_user_gecos", "gecos"),
            user_fullname: string(cfg, s, "ldap_user_fullname", pick("cn", "name")),
            user_home_directory: string(
                cfg,
                s,
                "ldap_user_home_directory",
                pick("homeDirectory", "unixHomeDirectory"),
            ),
            user_shell: string(cfg, s, "ldap_user_shell", "loginShell"),
            user_principal: string(
                cfg,
                s,
                "ldap_user_principal",
                pick("krbPrincipalName", "userPrincipalName"),
            ),
            user_email: string(cfg, s, "ldap_user_email", "mail"),
            force_upper_case_realm: cfg.get_bool(s, "ldap_force_upper_case_realm", false)?,
            user_ssh_public_key: string(cfg, s, "ldap_user_ssh_public_key", "sshPublicKey"),
            user_extra_filter: optional(cfg, s, "ldap_user_search_filter"),
            group_object_class: string(
                cfg,
                s,
                "ldap_group_object_class",
                pick("posixGroup", "group"),
            ),
            group_name: string(cfg, s, "ldap_group_name", pick("cn", "sAMAccountName")),
            group_gid_number: string(cfg, s, "ldap_group_gid_number", "gidNumber"),
            group_member: string(cfg, s, "ldap_group_member", default_member),
            group_extra_filter: optional(cfg, s, "ldap_group_search_filter"),
            netgroup: super::netgroup_options::NetgroupOptions::from_config(cfg, name)?,
            maps: super::MapOptions::from_config(cfg, name)?,
            id_mapping: if cfg.get_bool(s, "ldap_id_mapping", false)? {
                Some(crate::backend::ldap::idmap::IdmapOptions::from_config(
                    cfg, s,
                )?)
            } else {
                None
            },
            ad_schema: ad,
            ad_discovery: super::ad::AdDiscovery::from_config(cfg, s)?,
            use_tokengroups: cfg.get_bool(s, "ldap_use_tokengroups", true)?,
            disable_range_retrieval: cfg.get_bool(s, "ldap_disable_range_retrieval", false)?,
            deref_threshold: number(cfg, s, "ldap_deref_threshold", 10)?,
        })
    }
}
