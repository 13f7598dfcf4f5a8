//! The options the NSS responder uses, flattened from `[sssd]`, `[nss]` and each
//! `[domain/NAME]` into plain structs that tests can build directly.

use super::names::DEFAULT_RE_EXPRESSION;
use crate::config::{Config, ConfigError, DomainOptions, NssOptions, SssdOptions};
use std::time::Duration;

/// Per-domain settings. `Option` fields left `None` fall back to the `[nss]` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainSettings {
    /// Domain name as configured.
    pub name: String,
    /// `enumerate`.
    pub enumerate: bool,
    /// `min_id`.
    pub min_id: u32,
    /// `max_id` (0 = unbounded).
    pub max_id: u32,
    /// `case_sensitive` (false also for `preserving`).
    pub case_sensitive: bool,
    /// `use_fully_qualified_names`.
    pub fully_qualified: bool,
    /// `full_name_format`.
    pub full_name_format: String,
    /// Domain `filter_users`.
    pub filter_users: Vec<String>,
    /// Domain `filter_groups`.
    pub filter_groups: Vec<String>,
    /// Domain `override_homedir`.
    pub override_homedir: Option<String>,
    /// Domain `fallback_homedir`.
    pub fallback_homedir: Option<String>,
    /// Domain `homedir_substring`.
    pub homedir_substring: Option<String>,
    /// Domain `override_shell`.
    pub override_shell: Option<String>,
    /// Domain `default_shell`.
    pub default_shell: Option<String>,
    /// `ignore_group_members`.
    pub ignore_group_members: bool,
    /// `override_gid`: reported instead of every user's primary gid.
    pub override_gid: Option<u32>,
    /// `auto_private_groups`: user private groups synthesized from uids.
    pub private_groups: PrivateGroups,
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

impl PrivateGroups {
    /// Parses `true`, `false` or `hybrid` (case-insensitive).
    pub fn parse(v: &str) -> Option<PrivateGroups> {
        match v.to_ascii_lowercase().as_str() {
            "true" => Some(PrivateGroups::On),
            "false" => Some(PrivateGroups::Off),
            "hybrid" => Some(PrivateGroups::Hybrid),
            _ => None,
        }
    }

    /// `[section] auto_private_groups` (false when unset).
    pub fn from_config(cfg: &Config, section: &str) -> Result<PrivateGroups, ConfigError> {
        match cfg.get(section, "auto_private_groups") {
            None => Ok(PrivateGroups::Off),
            Some(v) => PrivateGroups::parse(v).ok_or_else(|| {
                ConfigError::bad_value(
                    section,
                    "auto_private_groups",
                    v,
                    "expected true, false or hybrid",
                )
            }),
        }
    }
}

impl DomainSettings {
    /// SSSD's defaults for a domain called `name`.
    pub fn new(name: &str) -> DomainSettings {
        DomainSettings {
            name: name.to_string(),
            enumerate: false,
            min_id: 1,
            max_id: 0,
            case_sensitive: true,
            fully_qualified: false,
            full_name_format: "%1$s@%2$s".to_string(),
            filter_users: Vec::new(),
            filter_groups: Vec::new(),
            override_homedir: None,
            fallback_homedir: None,
            homedir_substring: None,
            override_shell: None,
            default_shell: None,
            ignore_group_members: false,
            override_gid: None,
            private_groups: PrivateGroups::Off,
        }
    }

    /// The primary gid reported for user `u`: its uid with `auto_private_groups = true`,
    /// else `override_gid` or the stored gid.
    pub fn user_gid(&self, u: &crate::model::User) -> u32 {
        if self.private_groups == PrivateGroups::On {
            return u.uid;
        }
        self.override_gid.unwrap_or(u.gid)
    }

    /// Whether user `u` may have a private group in this domain (`true`: every user;
    /// `hybrid`: users whose gid equals their uid, provided no real group has that gid,
    /// which the caller checks).
    pub fn private_group_candidate(&self, u: &crate::model::User) -> bool {
        match self.private_groups {
            PrivateGroups::Off => false,
            PrivateGroups::On => true,
            PrivateGroups::Hybrid => u.uid == u.gid,
        }
    }

    /// Whether `id` is inside `[min_id, max_id]`.
    pub fn id_in_range(&self, id: u32) -> bool {
        id >= self.min_id && (self.max_id == 0 || id <= self.max_id)
    }
}

/// Everything the NSS responder is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NssSettings {
    /// Domains in lookup order.
    pub domains: Vec<DomainSettings>,
    /// `enum_cache_timeout` seconds.
    pub enum_cache_timeout: i64,
    /// `entry_cache_nowait_percentage` (0 disables midpoint refresh).
    pub nowait_percentage: u32,
    /// `entry_negative_timeout` seconds.
    pub negative_timeout: u32,
    /// `[nss] filter_users`.
    pub filter_users: Vec<String>,
    /// `[nss] filter_groups`.
    pub filter_groups: Vec<String>,
    /// `filter_users_in_groups`.
    pub filter_users_in_groups: bool,
    /// `pwfield`.
    pub pwfield: String,
    /// `[nss] override_homedir`.
    pub override_homedir: Option<String>,
    /// `[nss] fallback_homedir`.
    pub fallback_homedir: Option<String>,
    /// `[nss] homedir_substring`.
    pub homedir_substring: String,
    /// `[nss] override_shell`.
    pub override_shell: Option<String>,
    /// `[nss] default_shell`.
    pub default_shell: Option<String>,
    /// `allowed_shells`.
    pub allowed_shells: Vec<String>,
    /// `vetoed_shells`.
    pub vetoed_shells: Vec<String>,
    /// `shell_fallback`.
    pub shell_fallback: String,
    /// Shells listed in `/etc/shells` (read once at startup, as SSSD).
    pub etc_shells: Vec<String>,
    /// `cache_first`: consult every domain's cache before any backend.
    pub cache_first: bool,
    /// `client_idle_timeout` seconds.
    pub client_idle_timeout: u32,
    /// How long to wait for a backend refresh.
    pub dp_timeout: Duration,
    /// `[nss] allowed_uids` (names or numbers); empty = everyone.
    pub allowed_uids: Vec<String>,
}

impl NssSettings {
    /// SSSD's defaults for `domains`.
    pub fn new(domains: Vec<DomainSettings>) -> NssSettings {
        NssSettings {
            domains,
            enum_cache_timeout: 120,
            nowait_percentage: 50,
            negative_timeout: 15,
            filter_users: vec!["root".into()],
            filter_groups: vec!["root".into()],
            filter_users_in_groups: true,
            pwfield: "*".into(),
            override_homedir: None,
            fallback_homedir: None,
            homedir_substring: "/home".into(),
            override_shell: None,
            default_shell: None,
            allowed_shells: Vec::new(),
            vetoed_shells: Vec::new(),
            shell_fallback: "/bin/sh".into(),
            etc_shells: Vec::new(),
            cache_first: true,
            client_idle_timeout: 60,
            dp_timeout: Duration::from_secs(60),
            allowed_uids: Vec::new(),
        }
    }

    /// Builds the settings from a loaded configuration. `etc_shells` is the content of
    /// `/etc/shells`. A custom `re_expression` is not supported: it is reported with a
    /// warning and the default `name@domain` parsing is used.
    pub fn from_config(cfg: &Config, etc_shells: &str) -> Result<NssSettings, ConfigError> {
        let sssd = SssdOptions::from_config(cfg)?;
        let nss = NssOptions::from_config(cfg)?;
        warn_re_expression("sssd", sssd.re_expression.as_deref());
        let mut domains = Vec::new();
        // Only the domains whose backend can start (see `crate::domains`).
        for name in crate::domains::usable(cfg)? {
            let d = DomainOptions::from_config(cfg, &name)?;
            let section = format!("domain/{name}");
            warn_re_expression(&section, cfg.get(&section, "re_expression"));
            domains.push(DomainSettings {
                name: d.name,
                enumerate: d.enumerate,
                min_id: d.min_id,
                max_id: d.max_id,
                case_sensitive: d.case_sensitive,
                fully_qualified: d.use_fully_qualified_names,
                full_name_format: d.full_name_format,
                filter_users: d.filter_users,
                filter_groups: d.filter_groups,
                override_homedir: d.override_homedir,
                fallback_homedir: d.fallback_homedir,
                homedir_substring: cfg.get(&section, "homedir_substring").map(str::to_string),
                override_shell: d.override_shell,
                default_shell: d.default_shell,
                ignore_group_members: d.ignore_group_members,
                override_gid: match cfg.get_int(&section, "override_gid", 0)? {
                    0 => None,
                    g => Some(u32::try_from(g).map_err(|_| ConfigError::BadValue {
                        section: section.clone(),
                        option: "override_gid".into(),
                        value: g.to_string(),
                        message: "expected a gid between 1 and 4294967295".into(),
                    })?),
                },
                private_groups: PrivateGroups::from_config(cfg, &section)?,
            });
        }
        let mut s = NssSettings::new(domains);
        s.enum_cache_timeout = i64::from(nss.enum_cache_timeout);
        s.nowait_percentage = nss.entry_cache_nowait_percentage;
        s.negative_timeout = nss.entry_negative_timeout;
        s.filter_users.extend(nss.filter_users);
        s.filter_groups.extend(nss.filter_groups);
        s.filter_users_in_groups = nss.filter_users_in_groups;
        s.pwfield = nss.pwfield;
        s.override_homedir = nss.override_homedir;
        s.fallback_homedir = nss.fallback_homedir;
        s.homedir_substring = nss.homedir_substring;
        s.override_shell = nss.override_shell;
        s.default_shell = nss.default_shell;
        s.allowed_shells = nss.allowed_shells;
        s.vetoed_shells = nss.vetoed_shells;
        s.shell_fallback = nss.shell_fallback;
        s.etc_shells = parse_etc_shells(etc_shells);
        s.cache_first = cfg.get_bool("sssd", "cache_first", true)?;
        s.client_idle_timeout = nss.client_idle_timeout.max(10);
        s.allowed_uids = cfg.get_list("nss", "allowed_uids");
        Ok(s)
    }
}

fn warn_re_expression(section: &str, re: Option<&str>) {
    if let Some(re) = re
        && re != DEFAULT_RE_EXPRESSION
    {
        tracing::warn!(
            "[{section}] re_expression = {re:?} is not supported; \
             using the default name@domain parsing"
        );
    }
}

/// The shells of an `/etc/shells` text: non-empty lines not starting with `#`.
pub fn parse_etc_shells(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etc_shells_parsing() {
        let s = parse_etc_shells("# /etc/shells\n/bin/sh\n\n  /bin/bash \n#/bin/zsh\n");
        assert_eq!(s, vec!["/bin/sh", "/bin/bash"]);
    }

    #[test]
    fn from_config_merges_sections() {
        let text = "[sssd]\ndomains = A, B\nservices = nss\nre_expression = (?P<name>.+)\n\n\
[nss]\nfilter_users = user2\nfallback_homedir = /fb/%u\nentry_negative_timeout = 7\n\
allowed_shells = /bin/zsh\nclient_idle_timeout = 3\nallowed_uids = 0\n\n\
[domain/A]\nid_provider = ldap\nenumerate = true\nuse_fully_qualified_names = true\n\
fallback_homedir = /dom/%u\nhomedir_substring = /export\noverride_gid = 500\n\
case_sensitive = false\n\n\
[domain/B]\nid_provider = ldap\nmin_id = 1000\n";
        let cfg = Config::parse(text, "test.conf").unwrap();
        let s = NssSettings::from_config(&cfg, "/bin/sh\n").unwrap();
        assert_eq!(s.domains.len(), 2);
        let (a, b) = (&s.domains[0], &s.domains[1]);
        assert_eq!((a.name.as_str(), b.name.as_str()), ("A", "B"));
        assert!(a.enumerate && a.fully_qualified && !a.case_sensitive);
        assert_eq!(a.fallback_homedir.as_deref(), Some("/dom/%u"));
        assert_eq!(a.homedir_substring.as_deref(), Some("/export"));
        assert_eq!(a.override_gid, Some(500));
        assert_eq!(b.fallback_homedir, None);
        assert_eq!(b.min_id, 1000);
        assert_eq!(s.fallback_homedir.as_deref(), Some("/fb/%u"));
        assert!(s.filter_users.contains(&"root".to_string()));
        assert!(s.filter_users.contains(&"user2".to_string()));
        assert_eq!(s.negative_timeout, 7);
        assert_eq!(s.allowed_shells, vec!["/bin/zsh"]);
        assert_eq!(s.etc_shells, vec!["/bin/sh"]);
        assert_eq!(s.client_idle_timeout, 10, "minimum 10 s");
        assert_eq!(s.allowed_uids, vec!["0"]);
        assert!(s.cache_first);
    }

    #[test]
    fn id_range() {
        let mut d = DomainSettings::new("LDAP");
        assert!(d.id_in_range(1));
        assert!(!d.id_in_range(0));
        d.min_id = 1000;
        d.max_id = 2000;
        assert!(d.id_in_range(1000) && d.id_in_range(2000));
        assert!(!d.id_in_range(999) && !d.id_in_range(2001));
    }
}
