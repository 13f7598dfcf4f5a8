//! Typed options for authentication: `[pam]`, and the auth, access, password-change,
//! Kerberos and SASL options of `[domain/NAME]`, with SSSD's names and defaults.

use super::options::{domain_section, number, optional, string};
use super::schema as opt;
use super::{Config, ConfigError};

pub use super::schema::DEFAULT_RESPONSE_FILTER;

/// `[pam]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PamOptions {
    /// `offline_credentials_expiration` days (0 = never).
    pub offline_credentials_expiration: u32,
    /// `offline_failed_login_attempts` (0 = unlimited).
    pub offline_failed_login_attempts: u32,
    /// `offline_failed_login_delay` minutes (5).
    pub offline_failed_login_delay: u32,
    /// `pam_verbosity` (1).
    pub pam_verbosity: u32,
    /// `pam_id_timeout` seconds (5).
    pub pam_id_timeout: u32,
    /// `pam_trusted_users`: names or uids; `None` = every uid is trusted.
    pub pam_trusted_users: Option<Vec<String>>,
    /// `pam_public_domains`: domains untrusted uids may use; `["all"]`, or empty = none.
    pub pam_public_domains: Vec<String>,
    /// `pam_account_expired_message`.
    pub pam_account_expired_message: Option<String>,
    /// `pam_response_filter`, merged with the defaults (`+X` adds, `-X` removes, a plain
    /// list replaces): entries `ENV`, `ENV:NAME` or `ENV:NAME:SERVICE`.
    pub pam_response_filter: Vec<String>,
    /// `pam_initgroups_scheme`.
    pub pam_initgroups_scheme: InitgroupsScheme,
    /// `client_idle_timeout` seconds (60, at least 10).
    pub client_idle_timeout: u32,
    /// `allowed_uids` (names or numbers); empty = everyone.
    pub allowed_uids: Vec<String>,
}

/// `pam_initgroups_scheme`: when a PAM request refreshes the user's groups online.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitgroupsScheme {
    /// Refresh online unless the user already has a session (default).
    NoSession,
    /// Never refresh online when the user is cached.
    Never,
    /// Refresh online whenever the `pam_id_timeout` window has passed.
    Always,
}

impl PamOptions {
    /// SSSD's defaults (an empty `[pam]`).
    pub fn defaults() -> PamOptions {
        PamOptions::read(&mut opt::Reader::new(&Config::default(), "pam"))
    }

    /// Reads `[pam]` (a missing section gives the defaults).
    pub fn from_config(cfg: &Config) -> Result<PamOptions, ConfigError> {
        let mut r = opt::Reader::new(cfg, "pam");
        let pam = PamOptions::read(&mut r);
        r.finish(pam)
    }

    fn read(r: &mut opt::Reader) -> PamOptions {
        PamOptions {
            offline_credentials_expiration: r.number(&opt::OFFLINE_CREDENTIALS_EXPIRATION),
            offline_failed_login_attempts: r.number(&opt::OFFLINE_FAILED_LOGIN_ATTEMPTS),
            offline_failed_login_delay: r.number(&opt::OFFLINE_FAILED_LOGIN_DELAY),
            pam_verbosity: r.number(&opt::PAM_VERBOSITY),
            pam_id_timeout: r.number(&opt::PAM_ID_TIMEOUT),
            pam_trusted_users: r.list_set(&opt::PAM_TRUSTED_USERS),
            pam_public_domains: r.list(&opt::PAM_PUBLIC_DOMAINS),
            pam_account_expired_message: r.text(&opt::PAM_ACCOUNT_EXPIRED_MESSAGE),
            pam_response_filter: response_filter(&r.list(&opt::PAM_RESPONSE_FILTER)),
            pam_initgroups_scheme: match r.choice(&opt::PAM_INITGROUPS_SCHEME) {
                "never" => InitgroupsScheme::Never,
                "always" => InitgroupsScheme::Always,
                _ => InitgroupsScheme::NoSession,
            },
            client_idle_timeout: r.number(&opt::CLIENT_IDLE_TIMEOUT),
            allowed_uids: r.list(&opt::ALLOWED_UIDS),
        }
    }
}

/// Applies SSSD's merge rule for `pam_response_filter` to `configured`.
fn response_filter(configured: &[String]) -> Vec<String> {
    let mut out: Vec<String> = DEFAULT_RESPONSE_FILTER
        .iter()
        .map(|s| s.to_string())
        .collect();
    if configured
        .iter()
        .any(|e| !e.starts_with('+') && !e.starts_with('-'))
    {
        out.clear();
    }
    for e in configured {
        if let Some(rest) = e.strip_prefix('-') {
            out.retain(|x| x != rest);
        } else {
            let item = e.strip_prefix('+').unwrap_or(e);
            if !out.iter().any(|x| x == item) {
                out.push(item.to_string());
            }
        }
    }
    out
}

/// `simple_*` access options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimpleAccessOptions {
    /// `simple_allow_users`.
    pub allow_users: Vec<String>,
    /// `simple_deny_users`.
    pub deny_users: Vec<String>,
    /// `simple_allow_groups`.
    pub allow_groups: Vec<String>,
    /// `simple_deny_groups`.
    pub deny_groups: Vec<String>,
}

/// `krb5_*` options (used when auth or chpass provider is `krb5`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Krb5Options {
    /// `krb5_server` then `krb5_backup_server` (empty: use krb5.conf / DNS).
    pub servers: Vec<String>,
    /// `krb5_kpasswd` then `krb5_backup_kpasswd` (empty: the KDCs / krb5.conf).
    pub kpasswd: Vec<String>,
    /// `krb5_realm` (required by the krb5 provider).
    pub realm: Option<String>,
    /// `krb5_auth_timeout` seconds (6): the child is killed after this.
    pub auth_timeout: u32,
    /// `krb5_validate` (false): verify the TGT against a keytab.
    pub validate: bool,
    /// `krb5_keytab` (/etc/krb5.keytab).
    pub keytab: String,
    /// `krb5_ccachedir` (/tmp).
    pub ccachedir: String,
    /// `krb5_ccname_template` (`FILE:%d/krb5cc_%U_XXXXXX`).
    pub ccname_template: String,
    /// `krb5_lifetime`, as written (e.g. `10h`).
    pub lifetime: Option<String>,
    /// `krb5_renewable_lifetime`, as written.
    pub renewable_lifetime: Option<String>,
    /// `krb5_canonicalize` (false).
    pub canonicalize: bool,
    /// `krb5_use_enterprise_principal` (false).
    pub use_enterprise_principal: bool,
    /// `krb5_store_password_if_offline` (false).
    pub store_password_if_offline: bool,
    /// `krb5_renew_interval` in seconds (0: no automatic renewal).
    pub renew_interval: u32,
}

/// Parses a time as `krb5_renew_interval` takes it: seconds, or numbers each followed by
/// `s`, `m`, `h` or `d` (`1h30m`); None when malformed or too large.
pub fn parse_interval(v: &str) -> Option<u32> {
    let v = v.trim();
    if v.is_empty() {
        return None;
    }
    if let Ok(n) = v.parse::<u32>() {
        return Some(n);
    }
    let mut total: u64 = 0;
    let mut num: Option<u64> = None;
    for c in v.chars() {
        if let Some(d) = c.to_digit(10) {
            num = Some(
                num.unwrap_or(0)
                    .checked_mul(10)?
                    .checked_add(u64::from(d))?,
            );
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            _ => return None,
        };
        total = total.checked_add(num.take()?.checked_mul(unit)?)?;
    }
    if num.is_some() {
        return None;
    }
    u32::try_from(total).ok()
}

/// SASL options for the identity connection (`ldap_sasl_mech = GSSAPI`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaslOptions {
    /// `ldap_sasl_mech` (only GSSAPI is supported).
    pub mech: Option<String>,
    /// `ldap_sasl_authid` (principal; default `host/<hostname>`).
    pub authid: Option<String>,
    /// `ldap_sasl_realm` (default `krb5_realm`).
    pub realm: Option<String>,
    /// `ldap_krb5_keytab` (default `krb5_keytab`, then /etc/krb5.keytab).
    pub keytab: String,
    /// `ldap_krb5_init_creds` (true): ldap_child gets a TGT from the keytab.
    pub init_creds: bool,
    /// `ldap_krb5_ticket_lifetime` seconds (86400).
    pub ticket_lifetime: u32,
}

/// What a domain does for PAM: providers and their options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthOptions {
    /// `auth_provider` (default: id_provider): `ldap`, `krb5` or `none`.
    pub auth_provider: String,
    /// `access_provider` (default `permit`): `permit`, `deny`, `simple`, `ldap`.
    pub access_provider: String,
    /// `chpass_provider` (default: auth_provider): `ldap`, `krb5`, `none`.
    pub chpass_provider: String,
    /// `cache_credentials` (false).
    pub cache_credentials: bool,
    /// `cached_auth_timeout` seconds (0 = off).
    pub cached_auth_timeout: u32,
    /// `ldap_auth_disable_tls_never_use_in_production` (false).
    pub ldap_auth_disable_tls: bool,
    /// `ldap_access_filter`.
    pub ldap_access_filter: Option<String>,
    /// `ldap_access_order` (default `filter`), lowercased.
    pub ldap_access_order: Vec<String>,
    /// `ldap_account_expire_policy` (`shadow`, `ad`, `rhds`, `ipa`, `389ds`, `nds`),
    /// lowercased; unset = none.
    pub ldap_account_expire_policy: Option<String>,
    /// The other access-control options (password policy, ppolicy entry, attributes).
    pub ldap_access: super::access_options::LdapAccessOptions,
    /// `ldap_user_shadow_expire` attribute (`shadowExpire`).
    pub ldap_user_shadow_expire: String,
    /// `ldap_pwmodify_mode` (`exop`, default; `ldap_modify`).
    pub ldap_pwmodify_mode: String,
    /// Simple access lists.
    pub simple: SimpleAccessOptions,
    /// Kerberos options.
    pub krb5: Krb5Options,
    /// SASL options of the identity connection.
    pub sasl: SaslOptions,
    /// GPO-based access control (`access_provider = ad` with `ad_gpo_access_control`
    /// enforcing or permissive), run after the access rules allowed.
    pub gpo: Option<super::ad_gpo::GpoOptions>,
}

impl AuthOptions {
    /// Reads the auth-related options of `[domain/<name>]`.
    pub fn from_config(cfg: &Config, name: &str) -> Result<AuthOptions, ConfigError> {
        let s = domain_section(cfg, name)?;
        let s = s.as_str();
        let id_provider = optional(cfg, s, "id_provider").unwrap_or_default();
        // Where each provider's value comes from: an unset auth_provider inherits
        // id_provider, an unset chpass_provider inherits auth_provider; an error names the
        // option actually written in the file.
        let auth_origin = if cfg.get(s, "auth_provider").is_some() {
            "auth_provider"
        } else {
            "id_provider"
        };
        let auth_provider = opt::AUTH_PROVIDER.read(cfg, s).unwrap_or(id_provider);
        let chpass_origin = if cfg.get(s, "chpass_provider").is_some() {
            "chpass_provider"
        } else {
            auth_origin
        };
        let chpass_provider =
            optional(cfg, s, "chpass_provider").unwrap_or_else(|| auth_provider.clone());
        let access_provider = opt::ACCESS_PROVIDER.read_string(cfg, s);
        for (role, origin, v, allowed) in [
            (
                "auth_provider",
                auth_origin,
                &auth_provider,
                &["ldap", "krb5", "none"][..],
            ),
            (
                "chpass_provider",
                chpass_origin,
                &chpass_provider,
                &["ldap", "krb5", "none"],
            ),
            (
                "access_provider",
                "access_provider",
                &access_provider,
                &["permit", "deny", "simple", "ldap"],
            ),
        ] {
            if !allowed.contains(&v.as_str()) {
                let inherited = if role == origin {
                    String::new()
                } else {
                    format!(" ({role} is not set and defaults to {origin})")
                };
                return Err(ConfigError::bad_value(
                    s,
                    origin,
                    v,
                    format!(
                        "not supported as {role}{inherited}; supported values: {}",
                        allowed.join(", ")
                    ),
                ));
            }
        }
        let mut order: Vec<String> = cfg
            .get_list(s, "ldap_access_order")
            .into_iter()
            .map(|v| v.to_ascii_lowercase())
            .collect();
        if order.is_empty() {
            order.push("filter".to_string());
        }
        super::access_options::check_access_order(cfg, s, &order)?;
        let ldap_account_expire_policy = super::access_options::expire_policy(cfg, s)?;
        let ldap_access = super::access_options::LdapAccessOptions::from_config(cfg, s)?;
        let krb5_keytab = string(cfg, s, "krb5_keytab", "/etc/krb5.keytab");
        let mut servers = cfg.get_list(s, "krb5_server");
        servers.extend(cfg.get_list(s, "krb5_backup_server"));
        let mut kpasswd = cfg.get_list(s, "krb5_kpasswd");
        kpasswd.extend(cfg.get_list(s, "krb5_backup_kpasswd"));
        let realm = optional(cfg, s, "krb5_realm");
        Ok(AuthOptions {
            cache_credentials: opt::CACHE_CREDENTIALS.read(cfg, s)?,
            cached_auth_timeout: number(cfg, s, "cached_auth_timeout", 0)?,
            ldap_auth_disable_tls: cfg.get_bool(
                s,
                "ldap_auth_disable_tls_never_use_in_production",
                false,
            )?,
            ldap_access_filter: optional(cfg, s, "ldap_access_filter"),
            ldap_access_order: order,
            ldap_account_expire_policy,
            ldap_access,
            ldap_user_shadow_expire: string(cfg, s, "ldap_user_shadow_expire", "shadowExpire"),
            ldap_pwmodify_mode: string(cfg, s, "ldap_pwmodify_mode", "exop").to_ascii_lowercase(),
            simple: SimpleAccessOptions {
                allow_users: cfg.get_list(s, "simple_allow_users"),
                deny_users: cfg.get_list(s, "simple_deny_users"),
                allow_groups: cfg.get_list(s, "simple_allow_groups"),
                deny_groups: cfg.get_list(s, "simple_deny_groups"),
            },
            krb5: Krb5Options {
                servers,
                kpasswd,
                realm: realm.clone(),
                auth_timeout: number(cfg, s, "krb5_auth_timeout", 6)?,
                validate: cfg.get_bool(s, "krb5_validate", false)?,
                keytab: krb5_keytab.clone(),
                ccachedir: string(cfg, s, "krb5_ccachedir", "/tmp"),
                ccname_template: string(cfg, s, "krb5_ccname_template", "FILE:%d/krb5cc_%U_XXXXXX"),
                lifetime: optional(cfg, s, "krb5_lifetime"),
                renewable_lifetime: optional(cfg, s, "krb5_renewable_lifetime"),
                canonicalize: cfg.get_bool(s, "krb5_canonicalize", false)?,
                use_enterprise_principal: cfg.get_bool(
                    s,
                    "krb5_use_enterprise_principal",
                    false,
                )?,
                store_password_if_offline: cfg.get_bool(
                    s,
                    "krb5_store_password_if_offline",
                    false,
                )?,
                renew_interval: match optional(cfg, s, "krb5_renew_interval") {
                    None => 0,
                    Some(v) => parse_interval(&v).ok_or_else(|| {
                        ConfigError::bad_value(
                            s,
                            "krb5_renew_interval",
                            &v,
                            "expected seconds or a time such as 1h30m",
                        )
                    })?,
                },
            },
            sasl: SaslOptions {
                mech: optional(cfg, s, "ldap_sasl_mech"),
                authid: optional(cfg, s, "ldap_sasl_authid"),
                realm: optional(cfg, s, "ldap_sasl_realm").or(realm),
                keytab: optional(cfg, s, "ldap_krb5_keytab").unwrap_or(krb5_keytab),
                init_creds: cfg.get_bool(s, "ldap_krb5_init_creds", true)?,
                ticket_lifetime: number(cfg, s, "ldap_krb5_ticket_lifetime", 86400)?,
            },
            chpass_provider,
            access_provider,
            auth_provider,
            gpo: super::ad_gpo::GpoOptions::from_config(cfg, name)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> Config {
        Config::parse(text, "test.conf").expect("parses")
    }

    #[test]
    fn pam_defaults() {
        let c = cfg("[sssd]\ndomains = D\n[domain/D]\nid_provider = ldap\n");
        let p = PamOptions::from_config(&c).expect("pam");
        assert_eq!(p.pam_id_timeout, 5);
        assert_eq!(p.pam_verbosity, 1);
        assert_eq!(p.offline_failed_login_delay, 5);
        assert_eq!(p.pam_trusted_users, None);
        assert_eq!(p.pam_response_filter, DEFAULT_RESPONSE_FILTER);
        assert_eq!(p.pam_initgroups_scheme, InitgroupsScheme::NoSession);
    }

    #[test]
    fn response_filter_merges() {
        assert_eq!(
            response_filter(&["+ENV:FOO".into(), "-ENV:KRB5CCNAME:sudo".into()]),
            vec!["ENV:KRB5CCNAME:sudo-i".to_string(), "ENV:FOO".to_string()]
        );
        assert_eq!(response_filter(&["ENV".into()]), vec!["ENV".to_string()]);
    }

    #[test]
    fn auth_defaults_follow_id_provider() {
        let c = cfg("[sssd]\ndomains = D\n[domain/D]\nid_provider = ldap\n");
        let a = AuthOptions::from_config(&c, "D").expect("auth");
        assert_eq!(a.auth_provider, "ldap");
        assert_eq!(a.chpass_provider, "ldap");
        assert_eq!(a.access_provider, "permit");
        assert_eq!(a.ldap_access_order, vec!["filter".to_string()]);
        assert_eq!(a.krb5.auth_timeout, 6);
        assert_eq!(a.krb5.ccname_template, "FILE:%d/krb5cc_%U_XXXXXX");
    }

    #[test]
    fn renew_intervals_parse() {
        assert_eq!(parse_interval("60"), Some(60));
        assert_eq!(parse_interval("1h30m"), Some(5400));
        assert_eq!(parse_interval("2d"), Some(172_800));
        assert_eq!(parse_interval("5s"), Some(5));
        assert_eq!(parse_interval("10x"), None);
        assert_eq!(parse_interval("h"), None);
        assert_eq!(parse_interval("10m5"), None);
        assert_eq!(parse_interval(""), None);
    }

    #[test]
    fn krb5_and_simple_options() {
        let c = cfg(
            "[sssd]\ndomains = D\n[domain/D]\nid_provider = ldap\nauth_provider = krb5\n\
             krb5_server = 127.0.0.1:8888\nkrb5_realm = EXAMPLE.TEST\naccess_provider = simple\n\
             simple_deny_users = bob, carol\n",
        );
        let a = AuthOptions::from_config(&c, "D").expect("auth");
        assert_eq!(a.chpass_provider, "krb5");
        assert_eq!(a.krb5.servers, vec!["127.0.0.1:8888".to_string()]);
        assert_eq!(a.krb5.realm.as_deref(), Some("EXAMPLE.TEST"));
        assert_eq!(
            a.simple.deny_users,
            vec!["bob".to_string(), "carol".to_string()]
        );
    }

    #[test]
    fn unknown_provider_is_named() {
        let c = cfg("[sssd]\ndomains = D\n[domain/D]\nid_provider = ldap\naccess_provider = ad\n");
        let e = AuthOptions::from_config(&c, "D").expect_err("refused");
        assert!(e.to_string().contains("access_provider"), "{e}");
    }

    #[test]
    fn inherited_provider_error_names_the_option_in_the_file() {
        let c = cfg("[sssd]\ndomains = D\n[domain/D]\nid_provider = files\n");
        let e = AuthOptions::from_config(&c, "D")
            .expect_err("refused")
            .to_string();
        assert!(e.contains("id_provider = \"files\""), "{e}");
        let c = cfg("[sssd]\ndomains = D\n[domain/D]\nid_provider = ldap\nauth_provider = ad\n");
        let e = AuthOptions::from_config(&c, "D")
            .expect_err("refused")
            .to_string();
        assert!(e.contains("auth_provider = \"ad\""), "{e}");
    }
}
