//! The entries: every option of the table with its sections, default and limits, and
//! [`TABLE`], the list the checker and the man-page test walk.

use super::{Choice, Entry, Flag, List, Number, RESPONDERS, Sections, Text};

const NSS: Sections = &["nss"];
const PAM: Sections = &["pam"];
const DOMAIN: Sections = &["domain"];
const SSSD_AND_DOMAIN: Sections = &["sssd", "domain"];

/// SSSD's default `re_expression` for non-AD/IPA domains.
pub const DEFAULT_RE_EXPRESSION: &str = "^((?P<name>.+)@(?P<domain>[^@]+)|(?P<name>[^@]+))$";

/// SSSD's default `re_expression` for `id_provider = ad` and `ipa` domains: also accepts
/// `DOMAIN\\name`.
pub const DEFAULT_AD_RE_EXPRESSION: &str =
    r"^(((?P<domain>[^\\]+)\\(?P<name>.+))|((?P<name>.+)@(?P<domain>[^@]+))|((?P<name>[^@\\]+)))$";

/// SSSD's default `full_name_format`.
pub const DEFAULT_FULL_NAME_FORMAT: &str = "%1$s@%2$s";

/// The largest `memcache_size_*` whose file offsets fit in 32 bits.
pub const MAX_MEMCACHE_MIB: u32 = 3713;

/// The smallest `client_idle_timeout` SSSD accepts; smaller values are raised to it.
pub const MIN_CLIENT_IDLE_TIMEOUT: u32 = 10;

// [sssd]

/// `re_expression` (`[sssd]`, and per domain). A domain without one uses `[sssd]`'s,
/// else its provider's default ([`DEFAULT_AD_RE_EXPRESSION`] for `ad` and `ipa`), else
/// [`DEFAULT_RE_EXPRESSION`].
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
/// `[sssd] default_domain_suffix`: the domain of names given without one.
pub static DEFAULT_DOMAIN_SUFFIX: Text = Text {
    name: "default_domain_suffix",
    sections: &["sssd"],
    default: None,
};
/// `cache_first` of a responder: every domain's cache is read before any backend is asked.
pub static CACHE_FIRST: Flag = Flag {
    name: "cache_first",
    // The autofs responder reads no domain cache through the lookup path.
    sections: &["nss", "pam", "sudo", "ssh"],
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
    Entry::Text(&DEFAULT_DOMAIN_SUFFIX),
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
