//! Options of `access_provider = ldap` beyond the filter: the account expiry and password
//! expiry policies, the password-policy (ppolicy) entry, and the user attributes each
//! `ldap_access_order` rule reads, with SSSD's names and defaults. Unknown policy values are
//! refused here, naming the option, so that no rule ever denies for a configuration reason
//! that could have been reported at start.

use super::options::{optional, string};
use super::{Config, ConfigError};

/// The `ldap_access_order` rules SSSD 2.8 knows.
pub const ACCESS_RULES: &[&str] = &[
    "filter",
    "expire",
    "lockout",
    "ppolicy",
    "pwd_expire_policy_reject",
    "pwd_expire_policy_warn",
    "pwd_expire_policy_renew",
    "authorized_service",
    "host",
    "rhost",
];

/// `ldap_account_expire_policy` values.
pub const EXPIRE_POLICIES: &[&str] = &["shadow", "ad", "rhds", "ipa", "389ds", "nds"];

/// `ldap_pwd_policy` values.
pub const PWD_POLICIES: &[&str] = &["none", "shadow", "mit_kerberos"];

/// The user attributes the access rules read (`ldap_user_*`, `ldap_ns_account_lock`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessAttrs {
    /// `ldap_user_shadow_expire` (`shadowExpire`).
    pub shadow_expire: String,
    /// `ldap_user_shadow_last_change` (`shadowLastChange`).
    pub shadow_last_change: String,
    /// `ldap_user_shadow_min` (`shadowMin`).
    pub shadow_min: String,
    /// `ldap_user_shadow_max` (`shadowMax`).
    pub shadow_max: String,
    /// `ldap_user_shadow_warning` (`shadowWarning`).
    pub shadow_warning: String,
    /// `ldap_user_shadow_inactive` (`shadowInactive`).
    pub shadow_inactive: String,
    /// `ldap_user_krb_last_pwd_change` (`krbLastPwdChange`).
    pub krb_last_pwd_change: String,
    /// `ldap_user_krb_password_expiration` (`krbPasswordExpiration`).
    pub krb_password_expiration: String,
    /// `ldap_user_ad_account_expires` (`accountExpires`).
    pub ad_account_expires: String,
    /// `ldap_user_ad_user_account_control` (`userAccountControl`).
    pub ad_user_account_control: String,
    /// `ldap_ns_account_lock` (`nsAccountLock`).
    pub ns_account_lock: String,
    /// `ldap_user_nds_login_disabled` (`loginDisabled`).
    pub nds_login_disabled: String,
    /// `ldap_user_nds_login_expiration_time` (`loginExpirationTime`).
    pub nds_login_expiration_time: String,
    /// `ldap_user_nds_login_allowed_time_map` (`loginAllowedTimeMap`).
    pub nds_login_allowed_time_map: String,
    /// `ldap_user_authorized_service` (`authorizedService`).
    pub authorized_service: String,
    /// `ldap_user_authorized_host` (`host`).
    pub authorized_host: String,
    /// `ldap_user_authorized_rhost` (`rhost`).
    pub authorized_rhost: String,
}

/// The access-control options of `[domain/NAME]` that are not the filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapAccessOptions {
    /// `ldap_pwd_policy` (`none`, `shadow`, `mit_kerberos`), lowercased.
    pub pwd_policy: String,
    /// `ldap_pwdlockout_dn`: the ppolicy entry; unset = `cn=ppolicy,ou=policies,<base>`.
    pub pwdlockout_dn: Option<String>,
    /// The password expiry warning in seconds: `pwd_expiration_warning` of the domain, else
    /// `pam_pwd_expiration_warning` of `[pam]` (days, converted); `None` when neither is set
    /// (the provider's default applies).
    pub pwd_expiration_warning: Option<i64>,
    /// The attributes the rules read.
    pub attrs: AccessAttrs,
}

impl LdapAccessOptions {
    /// Reads the options of domain section `s`, refusing unknown policies.
    pub fn from_config(cfg: &Config, s: &str) -> Result<LdapAccessOptions, ConfigError> {
        let pwd_policy = string(cfg, s, "ldap_pwd_policy", "none").to_ascii_lowercase();
        if !PWD_POLICIES.contains(&pwd_policy.as_str()) {
            return Err(ConfigError::bad_value(
                s,
                "ldap_pwd_policy",
                &pwd_policy,
                format!("supported values: {}", PWD_POLICIES.join(", ")),
            ));
        }
        let warning_days = |section: &str, option: &str| -> Result<Option<i64>, ConfigError> {
            match cfg.get(section, option).map(str::trim) {
                None | Some("") => Ok(None),
                Some(v) => match v.parse::<i64>() {
                    Ok(d) if d < 0 => Ok(None),
                    Ok(d) if d <= i64::from(u32::MAX) / 86_400 => Ok(Some(d * 86_400)),
                    _ => Err(ConfigError::bad_value(
                        section,
                        option,
                        v,
                        "expected a number of days",
                    )),
                },
            }
        };
        let pwd_expiration_warning = match warning_days(s, "pwd_expiration_warning")? {
            Some(w) => Some(w),
            None => match super::schema::PAM_PWD_EXPIRATION_WARNING.read(cfg, "pam")? {
                0 if cfg.get("pam", "pam_pwd_expiration_warning").is_none() => None,
                d => Some(i64::from(d) * 86_400),
            },
        };
        let a = |option: &str, default: &str| string(cfg, s, option, default);
        Ok(LdapAccessOptions {
            pwd_policy,
            pwdlockout_dn: optional(cfg, s, "ldap_pwdlockout_dn"),
            pwd_expiration_warning,
            attrs: AccessAttrs {
                shadow_expire: a("ldap_user_shadow_expire", "shadowExpire"),
                shadow_last_change: a("ldap_user_shadow_last_change", "shadowLastChange"),
                shadow_min: a("ldap_user_shadow_min", "shadowMin"),
                shadow_max: a("ldap_user_shadow_max", "shadowMax"),
                shadow_warning: a("ldap_user_shadow_warning", "shadowWarning"),
                shadow_inactive: a("ldap_user_shadow_inactive", "shadowInactive"),
                krb_last_pwd_change: a("ldap_user_krb_last_pwd_change", "krbLastPwdChange"),
                krb_password_expiration: a(
                    "ldap_user_krb_password_expiration",
                    "krbPasswordExpiration",
                ),
                ad_account_expires: a("ldap_user_ad_account_expires", "accountExpires"),
                ad_user_account_control: a(
                    "ldap_user_ad_user_account_control",
                    "userAccountControl",
                ),
                ns_account_lock: a("ldap_ns_account_lock", "nsAccountLock"),
                nds_login_disabled: a("ldap_user_nds_login_disabled", "loginDisabled"),
                nds_login_expiration_time: a(
                    "ldap_user_nds_login_expiration_time",
                    "loginExpirationTime",
                ),
                nds_login_allowed_time_map: a(
                    "ldap_user_nds_login_allowed_time_map",
                    "loginAllowedTimeMap",
                ),
                authorized_service: a("ldap_user_authorized_service", "authorizedService"),
                authorized_host: a("ldap_user_authorized_host", "host"),
                authorized_rhost: a("ldap_user_authorized_rhost", "rhost"),
            },
        })
    }
}

/// Validates `ldap_access_order` (already lowercased) of section `s`: every rule known,
/// none twice (SSSD refuses both at start).
pub fn check_access_order(cfg: &Config, s: &str, order: &[String]) -> Result<(), ConfigError> {
    let raw = || cfg.get(s, "ldap_access_order").unwrap_or_default();
    for (i, o) in order.iter().enumerate() {
        if !ACCESS_RULES.contains(&o.as_str()) {
            return Err(ConfigError::bad_value(
                s,
                "ldap_access_order",
                raw(),
                format!(
                    "unknown access control {o:?} (supported: {})",
                    ACCESS_RULES.join(", ")
                ),
            ));
        }
        if order[..i].contains(o) {
            return Err(ConfigError::bad_value(
                s,
                "ldap_access_order",
                raw(),
                format!("access control {o:?} is listed twice"),
            ));
        }
    }
    Ok(())
}

/// Validates `ldap_account_expire_policy` of section `s`: unset, or one SSSD knows
/// (case-insensitive); returns it lowercased.
pub fn expire_policy(cfg: &Config, s: &str) -> Result<Option<String>, ConfigError> {
    let Some(p) = optional(cfg, s, "ldap_account_expire_policy") else {
        return Ok(None);
    };
    let lower = p.trim().to_ascii_lowercase();
    if !EXPIRE_POLICIES.contains(&lower.as_str()) {
        return Err(ConfigError::bad_value(
            s,
            "ldap_account_expire_policy",
            &p,
            format!("supported values: {}", EXPIRE_POLICIES.join(", ")),
        ));
    }
    Ok(Some(lower))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(extra: &str) -> Config {
        Config::parse(
            &format!("[sssd]\ndomains = D\n[domain/D]\nid_provider = ldap\n{extra}"),
            "test.conf",
        )
        .expect("parses")
    }

    #[test]
    fn defaults_are_sssds() {
        let o = LdapAccessOptions::from_config(&cfg(""), "domain/D").expect("options");
        assert_eq!(o.pwd_policy, "none");
        assert_eq!(o.pwdlockout_dn, None);
        assert_eq!(o.pwd_expiration_warning, None);
        assert_eq!(o.attrs.authorized_service, "authorizedService");
        assert_eq!(o.attrs.authorized_host, "host");
        assert_eq!(o.attrs.authorized_rhost, "rhost");
        assert_eq!(o.attrs.ns_account_lock, "nsAccountLock");
        assert_eq!(o.attrs.krb_password_expiration, "krbPasswordExpiration");
    }

    #[test]
    fn warning_days_come_from_the_domain_then_pam() {
        let o = LdapAccessOptions::from_config(
            &cfg("pwd_expiration_warning = 3\n[pam]\npam_pwd_expiration_warning = 9\n"),
            "domain/D",
        )
        .expect("options");
        assert_eq!(o.pwd_expiration_warning, Some(3 * 86_400));
        let o = LdapAccessOptions::from_config(
            &cfg("[pam]\npam_pwd_expiration_warning = 0\n"),
            "domain/D",
        )
        .expect("options");
        assert_eq!(o.pwd_expiration_warning, Some(0));
        let e = LdapAccessOptions::from_config(&cfg("pwd_expiration_warning = soon\n"), "domain/D")
            .expect_err("refused");
        assert!(e.to_string().contains("pwd_expiration_warning"), "{e}");
    }

    #[test]
    fn unknown_policies_and_rules_are_refused_by_name() {
        let e = LdapAccessOptions::from_config(&cfg("ldap_pwd_policy = ppolicy\n"), "domain/D")
            .expect_err("refused");
        assert!(e.to_string().contains("ldap_pwd_policy"), "{e}");
        let ok =
            LdapAccessOptions::from_config(&cfg("ldap_pwd_policy = MIT_Kerberos\n"), "domain/D")
                .expect("accepted");
        assert_eq!(ok.pwd_policy, "mit_kerberos");
        let c = cfg("ldap_account_expire_policy = novell\n");
        let e = expire_policy(&c, "domain/D").expect_err("refused");
        assert!(e.to_string().contains("ldap_account_expire_policy"), "{e}");
        let c = cfg("ldap_account_expire_policy = 389DS\n");
        assert_eq!(
            expire_policy(&c, "domain/D").ok(),
            Some(Some("389ds".into()))
        );
        let c = cfg("");
        let order = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let e =
            check_access_order(&c, "domain/D", &order(&["filter", "hbac"])).expect_err("refused");
        assert!(e.to_string().contains("ldap_access_order"), "{e}");
        assert!(e.to_string().contains("hbac"), "{e}");
        assert!(check_access_order(&c, "domain/D", &order(&["host", "host"])).is_err());
        assert!(check_access_order(&c, "domain/D", &order(ACCESS_RULES)).is_ok());
    }
}
