//! One typed entry per option of sssd.conf(5)'s `[sssd]`, `[nss]` and `[pam]` sections and
//! of the options every domain has: its name, the sections it belongs to, its type, its
//! default and its limits. The option structs ([`super::NssOptions`],
//! [`super::DomainOptions`], [`super::PamOptions`]) read through these entries, so each
//! default and each rule is written once; `sssctl config-check` validates every section
//! against [`TABLE`]; and a test keeps sssd.conf(5) in step with it (name, type, default).

use super::{Config, ConfigError, DOMAIN_PREFIX, parse_int, split_list};

/// The sections an option belongs to: plain section names, `"domain"` for every
/// `[domain/NAME]`, or [`RESPONDERS`].
pub type Sections = &'static [&'static str];

/// Every responder section (for options such as `client_idle_timeout`).
pub const RESPONDERS: Sections = &["nss", "pam", "sudo", "ssh", "autofs", "pac", "ifp"];

const NSS: Sections = &["nss"];
const PAM: Sections = &["pam"];
const DOMAIN: Sections = &["domain"];
const SSSD_AND_DOMAIN: Sections = &["sssd", "domain"];

/// Whether `section` (a section name as written, such as `domain/LDAP`) is one of `sections`.
fn belongs(sections: Sections, section: &str) -> bool {
    let kind = if section.starts_with(DOMAIN_PREFIX) {
        "domain"
    } else {
        section
    };
    sections.iter().any(|s| s.eq_ignore_ascii_case(kind))
}

/// A non-negative integer option (C `strtol` syntax: decimal, `0x` hex or `0` octal).
#[derive(Debug)]
pub struct Number {
    /// The option name.
    pub name: &'static str,
    /// Where it belongs.
    pub sections: Sections,
    /// The value when unset.
    pub default: u32,
    /// The smallest value accepted.
    pub min: u32,
    /// The largest value accepted.
    pub max: u32,
    /// Values below `min` (even negative ones) are raised to it instead of refused, as
    /// SSSD does for `client_idle_timeout`.
    pub raise_to_min: bool,
    /// How the man page states a default that is not `default` itself: the option whose
    /// value it takes (`entry_cache_timeout` for `entry_cache_user_timeout`, which the
    /// caller passes to [`Number::read_or`]), or what applies when it is unset.
    pub stated_default: Option<&'static str>,
}

impl Number {
    const fn new(name: &'static str, sections: Sections, default: u32) -> Number {
        Number {
            name,
            sections,
            default,
            min: 0,
            max: u32::MAX,
            raise_to_min: false,
            stated_default: None,
        }
    }

    const fn max(self, max: u32) -> Number {
        Number { max, ..self }
    }

    const fn at_least(self, min: u32) -> Number {
        Number {
            min,
            raise_to_min: true,
            ..self
        }
    }

    const fn stated(self, default: &'static str) -> Number {
        Number {
            stated_default: Some(default),
            ..self
        }
    }

    /// The value in `section`, or the default.
    pub fn read(&self, cfg: &Config, section: &str) -> Result<u32, ConfigError> {
        self.read_or(cfg, section, self.default)
    }

    /// The value in `section`, or `default` (for options that inherit another's value).
    pub fn read_or(&self, cfg: &Config, section: &str, default: u32) -> Result<u32, ConfigError> {
        let Some(raw) = cfg.get(section, self.name) else {
            return Ok(default);
        };
        let refuse = || {
            ConfigError::bad_value(
                section,
                self.name,
                raw,
                format!("expected a number from {} to {}", self.min, self.max),
            )
        };
        let v = parse_int(raw).ok_or_else(refuse)?;
        if self.raise_to_min && v < i64::from(self.min) {
            return Ok(self.min);
        }
        u32::try_from(v)
            .ok()
            .filter(|v| (self.min..=self.max).contains(v))
            .ok_or_else(refuse)
    }
}

/// A boolean option (`true` or `false`, any case).
#[derive(Debug)]
pub struct Flag {
    /// The option name.
    pub name: &'static str,
    /// Where it belongs.
    pub sections: Sections,
    /// The value when unset.
    pub default: bool,
}

impl Flag {
    /// The value in `section`, or the default.
    pub fn read(&self, cfg: &Config, section: &str) -> Result<bool, ConfigError> {
        cfg.get_bool(section, self.name, self.default)
    }
}

/// A string option; an empty value counts as unset.
#[derive(Debug)]
pub struct Text {
    /// The option name.
    pub name: &'static str,
    /// Where it belongs.
    pub sections: Sections,
    /// The value when unset (`None`: unset means "not set").
    pub default: Option<&'static str>,
}

impl Text {
    /// The value set in `section`, if any (the default is not applied).
    pub fn set(&self, cfg: &Config, section: &str) -> Option<String> {
        cfg.get(section, self.name).map(str::to_string)
    }

    /// The value in `section`, or the default.
    pub fn read(&self, cfg: &Config, section: &str) -> Option<String> {
        self.set(cfg, section)
            .or_else(|| self.default.map(str::to_string))
    }

    /// The value in `section`, or the default, or the empty string.
    pub fn read_string(&self, cfg: &Config, section: &str) -> String {
        self.read(cfg, section).unwrap_or_default()
    }
}

/// A comma-separated list option (items trimmed, empty items dropped).
#[derive(Debug)]
pub struct List {
    /// The option name.
    pub name: &'static str,
    /// Where it belongs.
    pub sections: Sections,
    /// The items when unset.
    pub default: &'static [&'static str],
}

impl List {
    /// The items set in `section`, if the option is set.
    pub fn set(&self, cfg: &Config, section: &str) -> Option<Vec<String>> {
        cfg.get(section, self.name).map(split_list)
    }

    /// The items in `section`, or the default.
    pub fn read(&self, cfg: &Config, section: &str) -> Vec<String> {
        self.set(cfg, section)
            .unwrap_or_else(|| self.default.iter().map(|s| s.to_string()).collect())
    }
}

/// An option with a fixed set of values (matched case-insensitively).
#[derive(Debug)]
pub struct Choice {
    /// The option name.
    pub name: &'static str,
    /// Where it belongs.
    pub sections: Sections,
    /// The values accepted, in lowercase.
    pub values: &'static [&'static str],
    /// The value when unset.
    pub default: &'static str,
}

impl Choice {
    /// The value in `section` (one of `values`), or the default.
    pub fn read(&self, cfg: &Config, section: &str) -> Result<&'static str, ConfigError> {
        self.read_or(cfg, section, self.default)
    }

    /// The value in `section`, or `default` (for defaults that depend on other options).
    pub fn read_or(
        &self,
        cfg: &Config,
        section: &str,
        default: &'static str,
    ) -> Result<&'static str, ConfigError> {
        let Some(raw) = cfg.get(section, self.name) else {
            return Ok(default);
        };
        self.values
            .iter()
            .find(|v| v.eq_ignore_ascii_case(raw))
            .copied()
            .ok_or_else(|| {
                ConfigError::bad_value(
                    section,
                    self.name,
                    raw,
                    format!("expected {}", or_list(self.values)),
                )
            })
    }
}

/// `a, b or c`.
fn or_list(values: &[&str]) -> String {
    match values.split_last() {
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// Any entry of [`TABLE`].
#[derive(Debug, Clone, Copy)]
pub enum Entry {
    /// An integer.
    Number(&'static Number),
    /// A boolean.
    Flag(&'static Flag),
    /// A string.
    Text(&'static Text),
    /// A list.
    List(&'static List),
    /// One of fixed values.
    Choice(&'static Choice),
}

impl Entry {
    /// The option name.
    pub fn name(&self) -> &'static str {
        match self {
            Entry::Number(o) => o.name,
            Entry::Flag(o) => o.name,
            Entry::Text(o) => o.name,
            Entry::List(o) => o.name,
            Entry::Choice(o) => o.name,
        }
    }

    /// Where it belongs.
    pub fn sections(&self) -> Sections {
        match self {
            Entry::Number(o) => o.sections,
            Entry::Flag(o) => o.sections,
            Entry::Text(o) => o.sections,
            Entry::List(o) => o.sections,
            Entry::Choice(o) => o.sections,
        }
    }

    /// Whether the option belongs in `section` (a section name as written).
    pub fn belongs_in(&self, section: &str) -> bool {
        belongs(self.sections(), section)
    }

    /// Refuses a value in `section` that the daemons would refuse.
    pub fn validate(&self, cfg: &Config, section: &str) -> Result<(), ConfigError> {
        match self {
            Entry::Number(o) => o.read(cfg, section).map(drop),
            Entry::Flag(o) => o.read(cfg, section).map(drop),
            Entry::Choice(o) => o.read(cfg, section).map(drop),
            Entry::Text(_) | Entry::List(_) => Ok(()),
        }
    }

    /// The type as sssd.conf(5) names it.
    pub fn man_type(&self) -> &'static str {
        match self {
            Entry::Number(_) => "integer",
            Entry::Flag(_) => "boolean",
            Entry::Text(_) | Entry::Choice(_) => "string",
            Entry::List(_) => "list",
        }
    }

    /// The default as sssd.conf(5) states it; `None` when there is none to state (unset,
    /// or inherited from another option).
    pub fn man_default(&self) -> Option<String> {
        match self {
            Entry::Number(o) => Some(
                o.stated_default
                    .map_or_else(|| o.default.to_string(), str::to_string),
            ),
            Entry::Flag(o) => Some(o.default.to_string()),
            Entry::Text(o) => o.default.map(str::to_string),
            Entry::List(o) if o.default.is_empty() => None,
            Entry::List(o) => Some(o.default.join(", ")),
            Entry::Choice(o) => Some(o.default.to_string()),
        }
    }
}

/// Reads the options of one section into a struct: each read gives a value (the default
/// when the option is refused) and the first refusal is kept, so a whole struct is built in
/// one expression and [`Reader::finish`] returns it or the error. Reading an empty
/// configuration therefore gives the defaults without any error path.
pub struct Reader<'a> {
    cfg: &'a Config,
    section: &'a str,
    error: Option<ConfigError>,
}

impl<'a> Reader<'a> {
    /// A reader of `section` in `cfg`.
    pub fn new(cfg: &'a Config, section: &'a str) -> Reader<'a> {
        Reader {
            cfg,
            section,
            error: None,
        }
    }

    fn keep<T>(&mut self, r: Result<T, ConfigError>, fallback: T) -> T {
        r.unwrap_or_else(|e| {
            self.error.get_or_insert(e);
            fallback
        })
    }

    /// A number, or its default.
    pub fn number(&mut self, o: &Number) -> u32 {
        self.number_or(o, o.default)
    }

    /// A number, or `default`.
    pub fn number_or(&mut self, o: &Number, default: u32) -> u32 {
        let r = o.read_or(self.cfg, self.section, default);
        self.keep(r, default)
    }

    /// A boolean, or its default.
    pub fn flag(&mut self, o: &Flag) -> bool {
        let r = o.read(self.cfg, self.section);
        self.keep(r, o.default)
    }

    /// A choice, or `default`.
    pub fn choice_or(&mut self, o: &Choice, default: &'static str) -> &'static str {
        let r = o.read_or(self.cfg, self.section, default);
        self.keep(r, default)
    }

    /// A choice, or its default.
    pub fn choice(&mut self, o: &Choice) -> &'static str {
        self.choice_or(o, o.default)
    }

    /// A string, or its default.
    pub fn text(&self, o: &Text) -> Option<String> {
        o.read(self.cfg, self.section)
    }

    /// A string, or its default, or empty.
    pub fn text_string(&self, o: &Text) -> String {
        o.read_string(self.cfg, self.section)
    }

    /// A list, or its default.
    pub fn list(&self, o: &List) -> Vec<String> {
        o.read(self.cfg, self.section)
    }

    /// A list if it is set.
    pub fn list_set(&self, o: &List) -> Option<Vec<String>> {
        o.set(self.cfg, self.section)
    }

    /// The section read.
    pub fn section(&self) -> &str {
        self.section
    }

    /// Records `e` unless an earlier refusal is kept.
    pub fn refuse(&mut self, e: ConfigError) {
        self.error.get_or_insert(e);
    }

    /// `value`, or the first refusal.
    pub fn finish<T>(self, value: T) -> Result<T, ConfigError> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(value),
        }
    }
}

/// The entry for `option` in `section`, if the table has one.
pub fn lookup(section: &str, option: &str) -> Option<Entry> {
    TABLE
        .iter()
        .copied()
        .find(|e| e.name().eq_ignore_ascii_case(option) && e.belongs_in(section))
}

/// SSSD's default `re_expression` for non-AD/IPA domains.
pub const DEFAULT_RE_EXPRESSION: &str = "^((?P<name>.+)@(?P<domain>[^@]+)|(?P<name>[^@]+))$";

/// SSSD's default `full_name_format`.
pub const DEFAULT_FULL_NAME_FORMAT: &str = "%1$s@%2$s";

/// The largest `memcache_size_*` whose file offsets fit in 32 bits.
pub const MAX_MEMCACHE_MIB: u32 = 3713;

/// The smallest `client_idle_timeout` SSSD accepts; smaller values are raised to it.
pub const MIN_CLIENT_IDLE_TIMEOUT: u32 = 10;

// [sssd]

/// `[sssd] re_expression`.
pub static RE_EXPRESSION: Text = Text {
    name: "re_expression",
    sections: SSSD_AND_DOMAIN,
    default: Some(DEFAULT_RE_EXPRESSION),
};
/// `full_name_format` (`[sssd]`, and per domain).
pub static FULL_NAME_FORMAT: Text = Text {
    name: "full_name_format",
    sections: SSSD_AND_DOMAIN,
    default: Some(DEFAULT_FULL_NAME_FORMAT),
};
/// `cache_first` of a responder: every domain's cache is read before any backend is asked.
pub static CACHE_FIRST: Flag = Flag {
    name: "cache_first",
    sections: RESPONDERS,
    default: false,
};

// Every responder

/// `client_idle_timeout` (seconds, at least 10).
pub static CLIENT_IDLE_TIMEOUT: Number =
    Number::new("client_idle_timeout", RESPONDERS, 60).at_least(MIN_CLIENT_IDLE_TIMEOUT);
/// `allowed_uids` of a responder: names or uids; empty means everyone.
pub static ALLOWED_UIDS: List = List {
    name: "allowed_uids",
    sections: &["nss", "pam", "sudo", "ssh"],
    default: &[],
};

// [nss]

/// `[nss] enum_cache_timeout` (seconds).
pub static ENUM_CACHE_TIMEOUT: Number = Number::new("enum_cache_timeout", NSS, 120);
/// `[nss] entry_cache_nowait_percentage` (0 disables the midpoint refresh).
pub static ENTRY_CACHE_NOWAIT_PERCENTAGE: Number =
    Number::new("entry_cache_nowait_percentage", NSS, 50).max(99);
/// `[nss] entry_negative_timeout` (seconds; 0 disables the negative cache).
pub static ENTRY_NEGATIVE_TIMEOUT: Number = Number::new("entry_negative_timeout", NSS, 15);
/// `[nss] filter_users`.
pub static NSS_FILTER_USERS: List = List {
    name: "filter_users",
    sections: NSS,
    default: &["root"],
};
/// `[nss] filter_groups`.
pub static NSS_FILTER_GROUPS: List = List {
    name: "filter_groups",
    sections: NSS,
    default: &["root"],
};
/// `[nss] filter_users_in_groups`.
pub static FILTER_USERS_IN_GROUPS: Flag = Flag {
    name: "filter_users_in_groups",
    sections: NSS,
    default: true,
};
/// `[nss] pwfield`.
pub static PWFIELD: Text = Text {
    name: "pwfield",
    sections: NSS,
    default: Some("*"),
};
/// `override_homedir` (`[nss]` and per domain).
pub static OVERRIDE_HOMEDIR: Text = Text {
    name: "override_homedir",
    sections: &["nss", "domain"],
    default: None,
};
/// `fallback_homedir` (`[nss]` and per domain).
pub static FALLBACK_HOMEDIR: Text = Text {
    name: "fallback_homedir",
    sections: &["nss", "domain"],
    default: None,
};
/// `[nss] homedir_substring`.
pub static NSS_HOMEDIR_SUBSTRING: Text = Text {
    name: "homedir_substring",
    sections: NSS,
    default: Some("/home"),
};
/// A domain's `homedir_substring` (the `[nss]` value when unset).
pub static DOMAIN_HOMEDIR_SUBSTRING: Text = Text {
    name: "homedir_substring",
    sections: DOMAIN,
    default: None,
};
/// `override_shell` (`[nss]` and per domain).
pub static OVERRIDE_SHELL: Text = Text {
    name: "override_shell",
    sections: &["nss", "domain"],
    default: None,
};
/// `default_shell` (`[nss]` and per domain).
pub static DEFAULT_SHELL: Text = Text {
    name: "default_shell",
    sections: &["nss", "domain"],
    default: None,
};
/// `[nss] allowed_shells`.
pub static ALLOWED_SHELLS: List = List {
    name: "allowed_shells",
    sections: NSS,
    default: &[],
};
/// `[nss] vetoed_shells`.
pub static VETOED_SHELLS: List = List {
    name: "vetoed_shells",
    sections: NSS,
    default: &[],
};
/// `[nss] shell_fallback`.
pub static SHELL_FALLBACK: Text = Text {
    name: "shell_fallback",
    sections: NSS,
    default: Some("/bin/sh"),
};
/// `[nss] memcache_timeout` (seconds; 0 disables the memory cache).
pub static MEMCACHE_TIMEOUT: Number = Number::new("memcache_timeout", NSS, 300);
/// `[nss] memcache_size_passwd` (MiB; 0 disables the map).
pub static MEMCACHE_SIZE_PASSWD: Number =
    Number::new("memcache_size_passwd", NSS, 8).max(MAX_MEMCACHE_MIB);
/// `[nss] memcache_size_group` (MiB; 0 disables the map).
pub static MEMCACHE_SIZE_GROUP: Number =
    Number::new("memcache_size_group", NSS, 6).max(MAX_MEMCACHE_MIB);
/// `[nss] memcache_size_initgroups` (MiB; 0 disables the map).
pub static MEMCACHE_SIZE_INITGROUPS: Number =
    Number::new("memcache_size_initgroups", NSS, 10).max(MAX_MEMCACHE_MIB);
/// `[nss] memcache_size_sid` (MiB): validated only, no SID map is created.
pub static MEMCACHE_SIZE_SID: Number =
    Number::new("memcache_size_sid", NSS, 6).max(MAX_MEMCACHE_MIB);

// [pam]

/// `[pam] offline_credentials_expiration` (days; 0 = never).
pub static OFFLINE_CREDENTIALS_EXPIRATION: Number =
    Number::new("offline_credentials_expiration", PAM, 0);
/// `[pam] offline_failed_login_attempts` (0 = unlimited).
pub static OFFLINE_FAILED_LOGIN_ATTEMPTS: Number =
    Number::new("offline_failed_login_attempts", PAM, 0);
/// `[pam] offline_failed_login_delay` (minutes).
pub static OFFLINE_FAILED_LOGIN_DELAY: Number = Number::new("offline_failed_login_delay", PAM, 5);
/// `[pam] pam_verbosity`.
pub static PAM_VERBOSITY: Number = Number::new("pam_verbosity", PAM, 1);
/// `[pam] pam_id_timeout` (seconds).
pub static PAM_ID_TIMEOUT: Number = Number::new("pam_id_timeout", PAM, 5);
/// `[pam] pam_pwd_expiration_warning` (days), for domains without `pwd_expiration_warning`
/// (read by the backend's access check).
pub static PAM_PWD_EXPIRATION_WARNING: Number = Number::new("pam_pwd_expiration_warning", PAM, 0)
    .max(u32::MAX / 86_400)
    .stated("not set");
/// `[pam] pam_trusted_users` (unset: every uid is trusted).
pub static PAM_TRUSTED_USERS: List = List {
    name: "pam_trusted_users",
    sections: PAM,
    default: &[],
};
/// `[pam] pam_public_domains`.
pub static PAM_PUBLIC_DOMAINS: List = List {
    name: "pam_public_domains",
    sections: PAM,
    default: &[],
};
/// `[pam] pam_account_expired_message`.
pub static PAM_ACCOUNT_EXPIRED_MESSAGE: Text = Text {
    name: "pam_account_expired_message",
    sections: PAM,
    default: None,
};
/// `pam_response_filter` entries SSSD applies when the option is unset.
pub const DEFAULT_RESPONSE_FILTER: &[&str] = &["ENV:KRB5CCNAME:sudo", "ENV:KRB5CCNAME:sudo-i"];

/// `[pam] pam_response_filter` (`+X`/`-X` entries edit the default list).
pub static PAM_RESPONSE_FILTER: List = List {
    name: "pam_response_filter",
    sections: PAM,
    default: DEFAULT_RESPONSE_FILTER,
};
/// `[pam] pam_initgroups_scheme`.
pub static PAM_INITGROUPS_SCHEME: Choice = Choice {
    name: "pam_initgroups_scheme",
    sections: PAM,
    values: &["no_session", "never", "always"],
    default: "no_session",
};

// [sudo], [ssh], [autofs]

/// `[sudo] sudo_timed`: drop rules outside `sudoNotBefore`/`sudoNotAfter`.
pub static SUDO_TIMED: Flag = Flag {
    name: "sudo_timed",
    sections: &["sudo"],
    default: false,
};
/// `[sudo] sudo_threshold`: more expired rules than this ask for a full refresh.
pub static SUDO_THRESHOLD: Number = Number::new("sudo_threshold", &["sudo"], 50);
/// `[sudo] sudo_inverse_order`: the lowest `sudoOrder` first.
pub static SUDO_INVERSE_ORDER: Flag = Flag {
    name: "sudo_inverse_order",
    sections: &["sudo"],
    default: false,
};
/// `[ssh] ssh_hash_known_hosts`: host names hashed in the known hosts file.
pub static SSH_HASH_KNOWN_HOSTS: Flag = Flag {
    name: "ssh_hash_known_hosts",
    sections: &["ssh"],
    default: false,
};
/// `[ssh] ssh_known_hosts_timeout` (seconds a looked-up host stays in the known hosts file).
pub static SSH_KNOWN_HOSTS_TIMEOUT: Number = Number::new("ssh_known_hosts_timeout", &["ssh"], 180);
/// `[autofs] autofs_negative_timeout` (seconds a missing map is remembered).
pub static AUTOFS_NEGATIVE_TIMEOUT: Number =
    Number::new("autofs_negative_timeout", &["autofs"], 15);

// Every domain

/// `id_provider` (required).
pub static ID_PROVIDER: Text = Text {
    name: "id_provider",
    sections: DOMAIN,
    default: None,
};
/// `auth_provider` (the `id_provider` when unset).
pub static AUTH_PROVIDER: Text = Text {
    name: "auth_provider",
    sections: DOMAIN,
    default: None,
};
/// `access_provider`.
pub static ACCESS_PROVIDER: Text = Text {
    name: "access_provider",
    sections: DOMAIN,
    default: Some("permit"),
};
/// `enumerate`.
pub static ENUMERATE: Flag = Flag {
    name: "enumerate",
    sections: DOMAIN,
    default: false,
};
/// `min_id`.
pub static MIN_ID: Number = Number::new("min_id", DOMAIN, 1);
/// `max_id` (0 = unbounded).
pub static MAX_ID: Number = Number::new("max_id", DOMAIN, 0);
/// `case_sensitive` (`false` by default for AD domains).
pub static CASE_SENSITIVE: Choice = Choice {
    name: "case_sensitive",
    sections: DOMAIN,
    values: &["true", "false", "preserving"],
    default: "true",
};
/// `use_fully_qualified_names`.
pub static USE_FULLY_QUALIFIED_NAMES: Flag = Flag {
    name: "use_fully_qualified_names",
    sections: DOMAIN,
    default: false,
};
/// `entry_cache_timeout` (seconds).
pub static ENTRY_CACHE_TIMEOUT: Number = Number::new("entry_cache_timeout", DOMAIN, 5400);
/// `entry_cache_user_timeout` (seconds; `entry_cache_timeout` when unset).
pub static ENTRY_CACHE_USER_TIMEOUT: Number =
    Number::new("entry_cache_user_timeout", DOMAIN, 5400).stated("entry_cache_timeout");
/// `entry_cache_group_timeout` (seconds; `entry_cache_timeout` when unset).
pub static ENTRY_CACHE_GROUP_TIMEOUT: Number =
    Number::new("entry_cache_group_timeout", DOMAIN, 5400).stated("entry_cache_timeout");
/// `cache_credentials`.
pub static CACHE_CREDENTIALS: Flag = Flag {
    name: "cache_credentials",
    sections: DOMAIN,
    default: false,
};
/// A domain's `filter_users` (added to `[nss]`'s).
pub static DOMAIN_FILTER_USERS: List = List {
    name: "filter_users",
    sections: DOMAIN,
    default: &[],
};
/// A domain's `filter_groups` (added to `[nss]`'s).
pub static DOMAIN_FILTER_GROUPS: List = List {
    name: "filter_groups",
    sections: DOMAIN,
    default: &[],
};
/// `ignore_group_members`.
pub static IGNORE_GROUP_MEMBERS: Flag = Flag {
    name: "ignore_group_members",
    sections: DOMAIN,
    default: false,
};
/// `offline_timeout` (seconds).
pub static OFFLINE_TIMEOUT: Number = Number::new("offline_timeout", DOMAIN, 60);
/// `offline_timeout_max` (seconds; 0: the retry interval does not grow).
pub static OFFLINE_TIMEOUT_MAX: Number = Number::new("offline_timeout_max", DOMAIN, 3600);
/// `offline_timeout_random_offset` (seconds).
pub static OFFLINE_TIMEOUT_RANDOM_OFFSET: Number =
    Number::new("offline_timeout_random_offset", DOMAIN, 30);
/// `refresh_expired_interval` (seconds; 0: no background refresh).
pub static REFRESH_EXPIRED_INTERVAL: Number = Number::new("refresh_expired_interval", DOMAIN, 0);
/// `refresh_expired_interval_offset` (seconds).
pub static REFRESH_EXPIRED_INTERVAL_OFFSET: Number =
    Number::new("refresh_expired_interval_offset", DOMAIN, 0);
/// `override_gid` (0: not set).
pub static OVERRIDE_GID: Number = Number::new("override_gid", DOMAIN, 0);
/// `auto_private_groups`.
pub static AUTO_PRIVATE_GROUPS: Choice = Choice {
    name: "auto_private_groups",
    sections: DOMAIN,
    values: &["true", "false", "hybrid"],
    default: "false",
};

/// Every entry, in sssd.conf(5) order.
pub static TABLE: &[Entry] = &[
    Entry::Text(&RE_EXPRESSION),
    Entry::Text(&FULL_NAME_FORMAT),
    Entry::Flag(&CACHE_FIRST),
    Entry::Number(&CLIENT_IDLE_TIMEOUT),
    Entry::List(&ALLOWED_UIDS),
    Entry::Number(&ENUM_CACHE_TIMEOUT),
    Entry::Number(&ENTRY_CACHE_NOWAIT_PERCENTAGE),
    Entry::Number(&ENTRY_NEGATIVE_TIMEOUT),
    Entry::List(&NSS_FILTER_USERS),
    Entry::List(&NSS_FILTER_GROUPS),
    Entry::Flag(&FILTER_USERS_IN_GROUPS),
    Entry::Text(&PWFIELD),
    Entry::Text(&OVERRIDE_HOMEDIR),
    Entry::Text(&FALLBACK_HOMEDIR),
    Entry::Text(&NSS_HOMEDIR_SUBSTRING),
    Entry::Text(&OVERRIDE_SHELL),
    Entry::Text(&DEFAULT_SHELL),
    Entry::List(&ALLOWED_SHELLS),
    Entry::List(&VETOED_SHELLS),
    Entry::Text(&SHELL_FALLBACK),
    Entry::Number(&MEMCACHE_TIMEOUT),
    Entry::Number(&MEMCACHE_SIZE_PASSWD),
    Entry::Number(&MEMCACHE_SIZE_GROUP),
    Entry::Number(&MEMCACHE_SIZE_INITGROUPS),
    Entry::Number(&MEMCACHE_SIZE_SID),
    Entry::Number(&PAM_VERBOSITY),
    Entry::Number(&PAM_ID_TIMEOUT),
    Entry::List(&PAM_TRUSTED_USERS),
    Entry::List(&PAM_PUBLIC_DOMAINS),
    Entry::List(&PAM_RESPONSE_FILTER),
    Entry::Number(&OFFLINE_CREDENTIALS_EXPIRATION),
    Entry::Number(&OFFLINE_FAILED_LOGIN_ATTEMPTS),
    Entry::Number(&OFFLINE_FAILED_LOGIN_DELAY),
    Entry::Number(&PAM_PWD_EXPIRATION_WARNING),
    Entry::Text(&PAM_ACCOUNT_EXPIRED_MESSAGE),
    Entry::Choice(&PAM_INITGROUPS_SCHEME),
    Entry::Flag(&SUDO_TIMED),
    Entry::Number(&SUDO_THRESHOLD),
    Entry::Flag(&SUDO_INVERSE_ORDER),
    Entry::Flag(&SSH_HASH_KNOWN_HOSTS),
    Entry::Number(&SSH_KNOWN_HOSTS_TIMEOUT),
    Entry::Number(&AUTOFS_NEGATIVE_TIMEOUT),
    Entry::Text(&ID_PROVIDER),
    Entry::Text(&AUTH_PROVIDER),
    Entry::Text(&ACCESS_PROVIDER),
    Entry::Flag(&CACHE_CREDENTIALS),
    Entry::Flag(&ENUMERATE),
    Entry::Number(&MIN_ID),
    Entry::Number(&MAX_ID),
    Entry::Choice(&CASE_SENSITIVE),
    Entry::Flag(&USE_FULLY_QUALIFIED_NAMES),
    Entry::Number(&ENTRY_CACHE_TIMEOUT),
    Entry::Number(&ENTRY_CACHE_USER_TIMEOUT),
    Entry::Number(&ENTRY_CACHE_GROUP_TIMEOUT),
    Entry::List(&DOMAIN_FILTER_USERS),
    Entry::List(&DOMAIN_FILTER_GROUPS),
    Entry::Text(&DOMAIN_HOMEDIR_SUBSTRING),
    Entry::Flag(&IGNORE_GROUP_MEMBERS),
    Entry::Number(&OVERRIDE_GID),
    Entry::Choice(&AUTO_PRIVATE_GROUPS),
    Entry::Number(&OFFLINE_TIMEOUT),
    Entry::Number(&OFFLINE_TIMEOUT_MAX),
    Entry::Number(&OFFLINE_TIMEOUT_RANDOM_OFFSET),
    Entry::Number(&REFRESH_EXPIRED_INTERVAL),
    Entry::Number(&REFRESH_EXPIRED_INTERVAL_OFFSET),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_is_accepted_by_its_own_rules() {
        for e in TABLE {
            match e {
                Entry::Number(o) => assert!(
                    (o.min..=o.max).contains(&o.default),
                    "{}: default {} outside {}..={}",
                    o.name,
                    o.default,
                    o.min,
                    o.max
                ),
                Entry::Choice(o) => assert!(o.values.contains(&o.default), "{}", o.name),
                _ => {}
            }
        }
    }

    #[test]
    fn names_are_unique_per_section() {
        for (i, a) in TABLE.iter().enumerate() {
            for b in &TABLE[i + 1..] {
                let shared = a.sections().iter().any(|s| b.sections().contains(s));
                assert!(
                    !(a.name() == b.name() && shared),
                    "{} twice in one section",
                    a.name()
                );
            }
        }
    }

    #[test]
    fn reader_keeps_the_first_refusal_and_gives_defaults() {
        let cfg = Config::parse(
            "[nss]\nenum_cache_timeout = soon\nentry_cache_nowait_percentage = 100\n\
             client_idle_timeout = -5\n",
            "t",
        )
        .unwrap();
        let mut r = Reader::new(&cfg, "nss");
        assert_eq!(r.number(&ENUM_CACHE_TIMEOUT), 120, "the default stands in");
        assert_eq!(r.number(&ENTRY_CACHE_NOWAIT_PERCENTAGE), 50);
        assert_eq!(r.number(&CLIENT_IDLE_TIMEOUT), 10, "raised to the minimum");
        let e = r.finish(()).unwrap_err().to_string();
        assert!(e.contains("enum_cache_timeout"), "{e}");
    }

    #[test]
    fn choices_and_ranges_name_what_is_accepted() {
        let cfg = Config::parse(
            "[domain/D]\nauto_private_groups = maybe\n[nss]\nmemcache_size_sid = 5000\n",
            "t",
        )
        .unwrap();
        let e = AUTO_PRIVATE_GROUPS.read(&cfg, "domain/D").unwrap_err();
        assert!(
            e.to_string().contains("expected true, false or hybrid"),
            "{e}"
        );
        let e = MEMCACHE_SIZE_SID.read(&cfg, "nss").unwrap_err();
        assert!(e.to_string().contains("from 0 to 3713"), "{e}");
        assert!(lookup("domain/D", "AUTO_private_groups").is_some());
        assert!(lookup("nss", "auto_private_groups").is_none());
    }

    /// The `.TP` paragraph of the man pages that documents `name`: its header line and
    /// the text up to the next paragraph.
    fn man_paragraphs<'m>(man: &'m str, name: &str) -> Vec<(&'m str, String)> {
        let mut out = Vec::new();
        let lines: Vec<&str> = man.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            let documents = l.starts_with(".BR ")
                && l.split(['"', ' ', ','])
                    .any(|w| w == name || w == format!("\\fB{name}\\fR"));
            if documents && i > 0 && lines[i - 1] == ".TP" {
                let body: Vec<&str> = lines[i + 1..]
                    .iter()
                    .take_while(|b| !b.starts_with(".TP") && !b.starts_with(".SH"))
                    .copied()
                    .collect();
                out.push((*l, body.join(" ")));
            }
        }
        out
    }

    #[test]
    fn the_man_pages_document_every_option_with_its_type_and_default() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../man/");
        let man: String = ["sssd.conf.5", "sssd-sudo.5", "sssd-autofs.5"]
            .iter()
            .map(|f| std::fs::read_to_string(format!("{dir}{f}")).unwrap())
            .collect();
        let mut wrong = Vec::new();
        for e in TABLE {
            let paragraphs = man_paragraphs(&man, e.name());
            if paragraphs.is_empty() {
                wrong.push(format!("{}: not documented", e.name()));
                continue;
            }
            let typed = paragraphs.iter().any(|(h, _)| {
                h.contains(&format!("({}", e.man_type()))
                    || (e.man_type() == "list" && h.contains("list)"))
                    || (e.man_type() == "boolean" && h.contains("(bool)"))
                    || (matches!(e, Entry::Choice(_)) && h.contains(" or "))
            });
            if !typed {
                wrong.push(format!("{}: type is not {}", e.name(), e.man_type()));
            }
            if let Some(d) = e.man_default() {
                let stated = paragraphs.iter().any(|(_, body)| {
                    body.split("Default:")
                        .skip(1)
                        .any(|after| after.replace("\\fB", "").replace("\\fR", "").contains(&d))
                });
                if !stated {
                    wrong.push(format!("{}: default {d:?} not stated", e.name()));
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}
