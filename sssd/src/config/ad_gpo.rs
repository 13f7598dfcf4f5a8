//! The `ad_gpo_*` options of an AD domain with `access_provider = ad`: GPO-based access
//! control mode, the PAM service → logon right maps and the rest, as SSSD reads them.

use std::collections::BTreeMap;

use super::{Config, ConfigError, DOMAIN_PREFIX};

/// What `ad_gpo_access_control` does with a GPO verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GpoMode {
    /// Evaluate and deny what the policy denies.
    Enforcing,
    /// Evaluate and only log what would have been denied.
    Permissive,
}

/// The logon right a PAM service is checked against (an `ad_gpo_map_*` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogonRight {
    /// `ad_gpo_map_interactive`: SeInteractiveLogonRight / SeDenyInteractiveLogonRight.
    Interactive,
    /// `ad_gpo_map_remote_interactive`: Se(Deny)RemoteInteractiveLogonRight.
    RemoteInteractive,
    /// `ad_gpo_map_network`: Se(Deny)NetworkLogonRight.
    Network,
    /// `ad_gpo_map_batch`: Se(Deny)BatchLogonRight.
    Batch,
    /// `ad_gpo_map_service`: Se(Deny)ServiceLogonRight.
    Service,
    /// `ad_gpo_map_permit`: always allowed.
    Permit,
    /// `ad_gpo_map_deny`: always denied.
    Deny,
}

impl LogonRight {
    /// The `[Privilege Rights]` keys granting and denying this right (none for permit/deny).
    pub fn keys(self) -> Option<(&'static str, &'static str)> {
        Some(match self {
            LogonRight::Interactive => ("SeInteractiveLogonRight", "SeDenyInteractiveLogonRight"),
            LogonRight::RemoteInteractive => (
                "SeRemoteInteractiveLogonRight",
                "SeDenyRemoteInteractiveLogonRight",
            ),
            LogonRight::Network => ("SeNetworkLogonRight", "SeDenyNetworkLogonRight"),
            LogonRight::Batch => ("SeBatchLogonRight", "SeDenyBatchLogonRight"),
            LogonRight::Service => ("SeServiceLogonRight", "SeDenyServiceLogonRight"),
            LogonRight::Permit | LogonRight::Deny => return None,
        })
    }

    /// Every `[Privilege Rights]` key SSSD evaluates.
    pub fn all_keys() -> Vec<&'static str> {
        MAPS.iter()
            .filter_map(|(_, r, _)| r.keys())
            .flat_map(|(a, d)| [a, d])
            .collect()
    }
}

/// Each map option, its right and SSSD's default services (Debian's build: `cron`).
const MAPS: &[(&str, LogonRight, &[&str])] = &[
    (
        "ad_gpo_map_interactive",
        LogonRight::Interactive,
        &[
            "login",
            "su",
            "su-l",
            "gdm-fingerprint",
            "gdm-password",
            "gdm-smartcard",
            "kdm",
            "lightdm",
            "lxdm",
            "sddm",
            "unity",
            "xdm",
        ],
    ),
    (
        "ad_gpo_map_remote_interactive",
        LogonRight::RemoteInteractive,
        &["sshd", "cockpit"],
    ),
    ("ad_gpo_map_network", LogonRight::Network, &["ftp", "samba"]),
    ("ad_gpo_map_batch", LogonRight::Batch, &["cron"]),
    ("ad_gpo_map_service", LogonRight::Service, &[]),
    (
        "ad_gpo_map_permit",
        LogonRight::Permit,
        &["polkit-1", "sudo", "sudo-i", "systemd-user"],
    ),
    ("ad_gpo_map_deny", LogonRight::Deny, &[]),
];

/// GPO-based access control of one domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpoOptions {
    /// Enforcing or permissive.
    pub mode: GpoMode,
    /// PAM service → logon right.
    pub services: BTreeMap<String, LogonRight>,
    /// `ad_gpo_default_right` (deny): the right of an unmapped service.
    pub default_right: LogonRight,
    /// `ad_gpo_implicit_deny` (false).
    pub implicit_deny: bool,
    /// `ad_gpo_ignore_unreadable` (false).
    pub ignore_unreadable: bool,
    /// `ad_gpo_cache_timeout` seconds (5): how long downloaded policy files are used
    /// without asking the DC.
    pub cache_timeout: u32,
    /// The AD domain (`ad_domain`), whose DN is the search base for the computer.
    pub ad_domain: String,
    /// The computer's `sAMAccountName` (`ldap_sasl_authid`, `SHORT$`).
    pub host_account: String,
    /// `ad_site`: the site whose GPOs apply, instead of the one the DC reports.
    pub site: Option<String>,
}

impl GpoOptions {
    /// The GPO options of `[domain/<name>]`; `None` when GPOs are not evaluated
    /// (`ad_gpo_access_control = disabled`, or access control is not `ad`).
    pub fn from_config(cfg: &Config, name: &str) -> Result<Option<GpoOptions>, ConfigError> {
        let s = format!("{DOMAIN_PREFIX}{name}");
        let Some(mode) = cfg.get(&s, "ad_gpo_access_control") else {
            return Ok(None);
        };
        let mode = match mode.trim().to_ascii_lowercase().as_str() {
            "disabled" => return Ok(None),
            "enforcing" => GpoMode::Enforcing,
            "permissive" => GpoMode::Permissive,
            _ => {
                return Err(ConfigError::bad_value(
                    &s,
                    "ad_gpo_access_control",
                    mode,
                    "expected disabled, permissive or enforcing",
                ));
            }
        };
        let mut services = BTreeMap::new();
        for (option, right, defaults) in MAPS {
            map_option(cfg, &s, option, *right, defaults, &mut services)?;
        }
        let default_right = match cfg.get(&s, "ad_gpo_default_right") {
            None => LogonRight::Deny,
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "interactive" => LogonRight::Interactive,
                "remote_interactive" => LogonRight::RemoteInteractive,
                "network" => LogonRight::Network,
                "batch" => LogonRight::Batch,
                "service" => LogonRight::Service,
                "permit" => LogonRight::Permit,
                "deny" => LogonRight::Deny,
                _ => {
                    return Err(ConfigError::bad_value(
                        &s,
                        "ad_gpo_default_right",
                        v,
                        "expected interactive, remote_interactive, network, batch, service, \
                         permit or deny",
                    ));
                }
            },
        };
        let timeout = cfg.get_int(&s, "ad_gpo_cache_timeout", 5)?;
        let cache_timeout = u32::try_from(timeout).map_err(|_| {
            ConfigError::bad_value(
                &s,
                "ad_gpo_cache_timeout",
                &timeout.to_string(),
                "expected a number of seconds",
            )
        })?;
        Ok(Some(GpoOptions {
            mode,
            services,
            default_right,
            implicit_deny: cfg.get_bool(&s, "ad_gpo_implicit_deny", false)?,
            ignore_unreadable: cfg.get_bool(&s, "ad_gpo_ignore_unreadable", false)?,
            cache_timeout,
            ad_domain: super::ad::ad_domain(cfg, &s),
            host_account: cfg
                .get(&s, "ldap_sasl_authid")
                .map(|a| a.trim().to_string())
                .unwrap_or_else(|| super::ad::machine_account(&super::ad::ad_hostname(cfg, &s))),
            site: cfg
                .get(&s, "ad_site")
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string),
        }))
    }

    /// The logon right PAM service `service` is checked against.
    pub fn right_of(&self, service: &str) -> LogonRight {
        self.services
            .get(service)
            .copied()
            .unwrap_or(self.default_right)
    }
}

/// One `ad_gpo_map_*` option: `+service` adds, `-service` removes (from the additions and
/// the defaults); a service in two maps is an error.
fn map_option(
    cfg: &Config,
    s: &str,
    option: &str,
    right: LogonRight,
    defaults: &[&str],
    services: &mut BTreeMap<String, LogonRight>,
) -> Result<(), ConfigError> {
    let value = cfg.get(s, option).unwrap_or_default();
    let (mut add, mut remove) = (Vec::new(), Vec::new());
    for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        if let Some(n) = item.strip_prefix('+') {
            add.push(n.to_string());
        } else if let Some(n) = item.strip_prefix('-') {
            remove.push(n.to_string());
        } else {
            return Err(ConfigError::bad_value(
                s,
                option,
                value,
                format!("{item:?} must start with + (add a PAM service) or - (remove one)"),
            ));
        }
    }
    let wanted = add
        .into_iter()
        .chain(defaults.iter().map(|d| d.to_string()))
        .filter(|n| !remove.contains(n));
    for name in wanted {
        match services.get(&name) {
            Some(r) if *r != right => {
                return Err(ConfigError::bad_value(
                    s,
                    option,
                    value,
                    format!(
                        "PAM service {name} is mapped to two logon rights ({r:?} and {right:?}); \
                         remove it from the other map with -{name}"
                    ),
                ));
            }
            _ => {
                services.insert(name, right);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn opts(extra: &str) -> Result<Option<GpoOptions>, ConfigError> {
        let c = Config::parse(&format!("[domain/A]\nid_provider = ad\n{extra}"), "t").unwrap();
        GpoOptions::from_config(&c, "A")
    }

    #[test]
    fn defaults_and_maps() {
        assert_eq!(opts("").unwrap(), None);
        assert_eq!(opts("ad_gpo_access_control = disabled\n").unwrap(), None);
        let o = opts("ad_gpo_access_control = Enforcing\n")
            .unwrap()
            .unwrap();
        assert_eq!(o.mode, GpoMode::Enforcing);
        assert_eq!(o.right_of("login"), LogonRight::Interactive);
        assert_eq!(o.right_of("sshd"), LogonRight::RemoteInteractive);
        assert_eq!(o.right_of("sudo"), LogonRight::Permit);
        assert_eq!(o.right_of("cron"), LogonRight::Batch);
        assert_eq!(o.right_of("other"), LogonRight::Deny);
        assert_eq!(o.cache_timeout, 5);
        let o = opts(
            "ad_gpo_access_control = permissive\nad_gpo_map_interactive = +myapp, -su\n\
             ad_gpo_default_right = permit\nad_gpo_map_remote_interactive = -sshd\n\
             ad_gpo_map_network = +sshd\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(o.right_of("myapp"), LogonRight::Interactive);
        assert_eq!(o.right_of("su"), LogonRight::Permit);
        assert_eq!(o.right_of("sshd"), LogonRight::Network);
    }

    #[test]
    fn bad_values_are_refused_by_name() {
        let e = |x: &str| opts(&format!("ad_gpo_access_control = enforcing\n{x}")).unwrap_err();
        assert!(
            e("ad_gpo_map_deny = sshd\n")
                .to_string()
                .contains("ad_gpo_map_deny")
        );
        assert!(
            e("ad_gpo_map_deny = +sshd\n")
                .to_string()
                .contains("ad_gpo_map_deny")
        );
        assert!(
            e("ad_gpo_default_right = everyone\n")
                .to_string()
                .contains("ad_gpo_default_right")
        );
        assert!(
            e("ad_gpo_implicit_deny = maybe\n")
                .to_string()
                .contains("ad_gpo_implicit_deny")
        );
        assert!(opts("ad_gpo_access_control = strict\n").is_err());
    }
}
