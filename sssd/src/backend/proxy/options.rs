//! The options of an `id_provider = proxy` domain, read and checked once.

use crate::config::{Config, ConfigError, DOMAIN_PREFIX};

/// SSSD's default `proxy_max_children`.
pub const DEFAULT_MAX_CHILDREN: u32 = 10;

/// What a proxy domain is configured to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyOptions {
    /// `proxy_lib_name`: the NSS module `libnss_<name>.so.2` (required).
    pub lib_name: String,
    /// `proxy_pam_target`: the PAM service authentication goes through (required when a
    /// PAM role is `proxy`).
    pub pam_target: Option<String>,
    /// `proxy_fast_alias`: canonicalise a name found by name from the cache by its id
    /// instead of asking the module again.
    pub fast_alias: bool,
    /// `proxy_max_children`: most PAM transactions at once.
    pub max_children: u32,
    /// `auth_provider` (`proxy` or `none`; default: id_provider).
    pub auth_provider: String,
    /// `chpass_provider` (`proxy` or `none`; default: auth_provider).
    pub chpass_provider: String,
    /// `access_provider` (`permit`, `deny` or `proxy`; default `permit`).
    pub access_provider: String,
}

fn provider(
    cfg: &Config,
    s: &str,
    option: &str,
    default: &str,
    allowed: &[&str],
) -> Result<String, ConfigError> {
    let v = cfg.get(s, option).unwrap_or(default).to_string();
    if allowed.contains(&v.as_str()) {
        return Ok(v);
    }
    Err(ConfigError::bad_value(
        s,
        option,
        &v,
        format!(
            "not supported in a proxy domain; supported values: {}",
            allowed.join(", ")
        ),
    ))
}

impl ProxyOptions {
    /// Whether any PAM role (auth, chpass, access) runs `proxy_pam_target`.
    pub fn runs_pam(&self) -> bool {
        [
            &self.auth_provider,
            &self.chpass_provider,
            &self.access_provider,
        ]
        .iter()
        .any(|p| p.as_str() == "proxy")
    }

    /// Reads `[domain/<name>]`; an error names the option at fault.
    pub fn from_config(cfg: &Config, name: &str) -> Result<ProxyOptions, ConfigError> {
        let s = format!("{DOMAIN_PREFIX}{name}");
        let s = s.as_str();
        let lib_name = match cfg.get(s, "proxy_lib_name") {
            Some(v) if module_name_ok(v) => v.to_string(),
            Some(v) => {
                return Err(ConfigError::bad_value(
                    s,
                    "proxy_lib_name",
                    v,
                    "expected the NSS module's short name (letters, digits, _ - .), \
                     as in libnss_<name>.so.2",
                ));
            }
            None => {
                return Err(ConfigError::Missing(format!(
                    "[{s}]: proxy_lib_name is required with id_provider = proxy"
                )));
            }
        };
        let auth_provider = provider(cfg, s, "auth_provider", "proxy", &["proxy", "none"])?;
        let chpass_provider = provider(
            cfg,
            s,
            "chpass_provider",
            &auth_provider,
            &["proxy", "none"],
        )?;
        let access_provider = provider(
            cfg,
            s,
            "access_provider",
            "permit",
            &["permit", "deny", "proxy"],
        )?;
        let needs_target = [&auth_provider, &chpass_provider, &access_provider]
            .iter()
            .any(|p| p.as_str() == "proxy");
        // (the same test as `runs_pam`, before the options exist)
        let (pam_target, max_children) = pam_target_options(cfg, s, needs_target)?;
        Ok(ProxyOptions {
            lib_name,
            pam_target,
            fast_alias: cfg.get_bool(s, "proxy_fast_alias", false)?,
            max_children,
            auth_provider,
            chpass_provider,
            access_provider,
        })
    }
}

/// `proxy_pam_target` and `proxy_max_children` of domain section `s`; the target is
/// required when `needed` (a PAM role of the domain is `proxy`).
pub fn pam_target_options(
    cfg: &Config,
    s: &str,
    needed: bool,
) -> Result<(Option<String>, u32), ConfigError> {
    let pam_target = cfg.get(s, "proxy_pam_target").map(str::to_string);
    match &pam_target {
        None if needed => {
            return Err(ConfigError::Missing(format!(
                "[{s}]: proxy_pam_target is required when auth_provider, \
                 chpass_provider or access_provider is proxy"
            )));
        }
        Some(t) if t.is_empty() || t.contains('/') || t.contains('\0') => {
            return Err(ConfigError::bad_value(
                s,
                "proxy_pam_target",
                t,
                "expected a PAM service name (a file of /etc/pam.d)",
            ));
        }
        _ => {}
    }
    let max_children = match cfg.get(s, "proxy_max_children") {
        None => DEFAULT_MAX_CHILDREN,
        Some(v) => match v.trim().parse::<u32>() {
            Ok(n) if n > 0 => n,
            _ => {
                return Err(ConfigError::bad_value(
                    s,
                    "proxy_max_children",
                    v,
                    "expected a positive number",
                ));
            }
        },
    };
    Ok((pam_target, max_children))
}

/// Validates every option the backend of proxy domain `name` reads (see
/// [`crate::domains::check`]).
pub fn check(cfg: &Config, name: &str) -> Result<(), crate::domains::DomainError> {
    let section = format!("{DOMAIN_PREFIX}{name}");
    ProxyOptions::from_config(cfg, name)?;
    crate::config::DomainOptions::from_config(cfg, name)?;
    crate::config::options::debug_level(cfg, &section)?;
    crate::watchdog::period_from_config(cfg, &section)?;
    Ok(())
}

/// Whether `name` can be a `proxy_lib_name` (no path, no empty name).
pub fn module_name_ok(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(extra: &str) -> Result<ProxyOptions, ConfigError> {
        let text = format!("[sssd]\ndomains = P\n[domain/P]\nid_provider = proxy\n{extra}");
        let cfg = Config::parse(&text, "test.conf").expect("parses");
        ProxyOptions::from_config(&cfg, "P")
    }

    #[test]
    fn defaults_and_requirements() {
        let o = read("proxy_lib_name = files\nproxy_pam_target = login\n").expect("ok");
        assert_eq!(o.lib_name, "files");
        assert_eq!(o.max_children, 10);
        assert!(!o.fast_alias);
        assert_eq!(
            (o.auth_provider.as_str(), o.chpass_provider.as_str()),
            ("proxy", "proxy")
        );
        assert_eq!(o.access_provider, "permit");
        let e = read("proxy_pam_target = login\n")
            .expect_err("no lib")
            .to_string();
        assert!(e.contains("proxy_lib_name"), "{e}");
        let e = read("proxy_lib_name = files\n")
            .expect_err("no target")
            .to_string();
        assert!(e.contains("proxy_pam_target"), "{e}");
        let o = read("proxy_lib_name = files\nauth_provider = none\n").expect("id only");
        assert_eq!(o.pam_target, None);
        for bad in [
            "proxy_lib_name = ../x\nauth_provider = none\n",
            "proxy_lib_name = files\nauth_provider = ldap\n",
            "proxy_lib_name = files\nauth_provider = none\nproxy_max_children = 0\n",
            "proxy_lib_name = files\nauth_provider = none\nproxy_fast_alias = maybe\n",
            "proxy_lib_name = files\nproxy_pam_target = a/b\n",
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }
}
