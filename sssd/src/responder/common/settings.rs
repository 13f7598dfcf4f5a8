//! The options the NSS responder uses: `[nss]` and each `[domain/NAME]` as the config
//! module reads them, plus `cache_first` and `/etc/shells`.

use crate::config::schema;
use crate::config::{Config, ConfigError, DomainOptions, NssOptions, PrivateGroups, SssdOptions};
use std::time::Duration;

impl DomainOptions {
    /// The primary gid reported for user `u`: its uid with `auto_private_groups = true`,
    /// else `override_gid` or the stored gid.
    pub fn user_gid(&self, u: &crate::model::User) -> u32 {
        if self.auto_private_groups == PrivateGroups::On {
            return u.uid;
        }
        self.override_gid.unwrap_or(u.gid)
    }

    /// Whether user `u` may have a private group in this domain (`true`: every user;
    /// `hybrid`: users whose gid equals their uid, provided no real group has that gid,
    /// which the caller checks).
    pub fn private_group_candidate(&self, u: &crate::model::User) -> bool {
        match self.auto_private_groups {
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
    pub domains: Vec<DomainOptions>,
    /// `[nss]`.
    pub nss: NssOptions,
    /// Shells listed in `/etc/shells` (read once at startup, as SSSD).
    pub etc_shells: Vec<String>,
    /// `cache_first` (of `[nss]`; the other responders set their own): read every domain's
    /// cache before asking any backend.
    pub cache_first: bool,
    /// How long to wait for a backend refresh.
    pub dp_timeout: Duration,
}

impl NssSettings {
    /// SSSD's defaults for `domains`.
    pub fn new(domains: Vec<DomainOptions>) -> NssSettings {
        NssSettings {
            domains,
            nss: NssOptions::defaults(),
            etc_shells: Vec::new(),
            cache_first: schema::CACHE_FIRST.default,
            dp_timeout: Duration::from_secs(60),
        }
    }

    /// Builds the settings from a loaded configuration. `etc_shells` is the content of
    /// `/etc/shells`.
    pub fn from_config(cfg: &Config, etc_shells: &str) -> Result<NssSettings, ConfigError> {
        // Refuses a bad `[sssd] re_expression` or `full_name_format`.
        SssdOptions::from_config(cfg)?;
        let mut domains = Vec::new();
        // Only the domains whose backend can start (see `crate::domains`).
        for name in crate::domains::usable(cfg)? {
            domains.push(DomainOptions::from_config(cfg, &name)?);
        }
        Ok(NssSettings {
            domains,
            nss: NssOptions::from_config(cfg)?,
            etc_shells: parse_etc_shells(etc_shells),
            cache_first: schema::CACHE_FIRST.read(cfg, "nss")?,
            dp_timeout: Duration::from_secs(60),
        })
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
        assert!(a.enumerate && a.use_fully_qualified_names && !a.case_sensitive);
        assert_eq!(a.fallback_homedir.as_deref(), Some("/dom/%u"));
        assert_eq!(a.homedir_substring.as_deref(), Some("/export"));
        assert_eq!(a.override_gid, Some(500));
        assert_eq!(b.fallback_homedir, None);
        assert_eq!(b.min_id, 1000);
        assert_eq!(s.nss.fallback_homedir.as_deref(), Some("/fb/%u"));
        assert!(s.nss.filter_users.contains(&"root".to_string()));
        assert!(s.nss.filter_users.contains(&"user2".to_string()));
        assert_eq!(s.nss.entry_negative_timeout, 7);
        assert_eq!(s.nss.allowed_shells, vec!["/bin/zsh"]);
        assert_eq!(s.etc_shells, vec!["/bin/sh"]);
        assert_eq!(s.nss.client_idle_timeout, 10, "minimum 10 s");
        assert_eq!(s.nss.allowed_uids, vec!["0"]);
        assert!(!s.cache_first, "SSSD's default");
    }

    #[test]
    fn id_range() {
        let mut d = DomainOptions::defaults("LDAP", "ldap");
        assert!(d.id_in_range(1));
        assert!(!d.id_in_range(0));
        d.min_id = 1000;
        d.max_id = 2000;
        assert!(d.id_in_range(1000) && d.id_in_range(2000));
        assert!(!d.id_in_range(999) && !d.id_in_range(2001));
    }
}
