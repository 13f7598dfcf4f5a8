//! Which configured domains can be served: every option a domain's backend reads is
//! validated up front, so that one broken domain (an unsupported `id_provider`, a bad
//! value) is disabled alone while the other domains and the responders keep serving.
//!
//! The monitor uses [`plan`] to decide which backends to start (and logs why the others are
//! disabled); the responders use the same [`plan`] so they never wait on, or route requests
//! to, a domain without a backend; `sssd_be` runs [`check`] first thing.

use crate::backend::ldap::autofs::AutofsOptions;
use crate::backend::ldap::sasl::{GssapiOptions, SaslConfigError};
use crate::backend::ldap::sudo::SudoOptions;
use crate::config::{
    AuthOptions, Config, ConfigError, DOMAIN_PREFIX, DomainOptions, LdapOptions, options,
};
use std::path::Path;
use thiserror::Error;

/// The identity providers this implementation serves.
pub const SUPPORTED_ID_PROVIDERS: &[&str] = &["ldap", "ad", "files", "proxy"];

/// Why a domain cannot be served.
#[derive(Debug, Error)]
pub enum DomainError {
    /// An option is missing or has a value we do not accept (the error names it).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The SASL options of the identity connection are unusable.
    #[error(transparent)]
    Sasl(#[from] SaslConfigError),
}

/// A domain left out, and why.
#[derive(Debug)]
pub struct DisabledDomain {
    /// The domain name.
    pub name: String,
    /// What is wrong with its configuration.
    pub error: DomainError,
}

/// The configured domains split into those that can be served and those that cannot.
#[derive(Debug, Default)]
pub struct DomainPlan {
    /// Domains to serve, in lookup order.
    pub usable: Vec<String>,
    /// Domains left out, in configuration order.
    pub disabled: Vec<DisabledDomain>,
}

/// `id_provider` of `[domain/NAME]`: present and one we serve.
fn check_id_provider(cfg: &Config, name: &str) -> Result<(), ConfigError> {
    let section = format!("{DOMAIN_PREFIX}{name}");
    let Some(v) = cfg.get(&section, "id_provider") else {
        return Err(ConfigError::Missing(format!(
            "[{section}]: id_provider is required"
        )));
    };
    if SUPPORTED_ID_PROVIDERS.contains(&v) {
        return Ok(());
    }
    Err(ConfigError::bad_value(
        &section,
        "id_provider",
        v,
        format!(
            "this provider is not supported by this implementation (supported: {})",
            SUPPORTED_ID_PROVIDERS.join(", ")
        ),
    ))
}

/// Validates every option the backend of domain `name` reads, `id_provider` first, so the
/// first error names the option at fault.
pub fn check(cfg: &Config, name: &str) -> Result<(), DomainError> {
    check_id_provider(cfg, name)?;
    let section = format!("{DOMAIN_PREFIX}{name}");
    if cfg.get(&section, "id_provider") == Some("files") {
        return crate::backend::files::options::check(cfg, name).map_err(DomainError::from);
    }
    if cfg.get(&section, "id_provider") == Some("proxy") {
        return crate::backend::proxy::options::check(cfg, name);
    }
    crate::config::ad::check(cfg, name)?;
    DomainOptions::from_config(cfg, name)?;
    LdapOptions::from_config(cfg, name)?;
    let auth = AuthOptions::from_config(cfg, name)?;
    // The cache directory only names files here; validation does not touch them.
    GssapiOptions::from_auth(&auth, name, Path::new("/"))?;
    SudoOptions::from_config(cfg, name)?;
    AutofsOptions::from_config(cfg, name)?;
    options::debug_level(cfg, &section)?;
    crate::watchdog::period_from_config(cfg, &section)?;
    Ok(())
}

/// Splits the configured domains into usable and disabled ones. Errors only when the domain
/// list itself is unusable (none configured, a listed domain without a section).
pub fn plan(cfg: &Config) -> Result<DomainPlan, ConfigError> {
    let mut out = DomainPlan::default();
    for name in cfg.domains()? {
        match check(cfg, &name) {
            Ok(()) => out.usable.push(name),
            Err(error) => out.disabled.push(DisabledDomain { name, error }),
        }
    }
    Ok(out)
}

/// The domains responders serve: those of [`plan`]; when none is usable (the monitor
/// refuses to start then) the first error is returned.
pub fn usable(cfg: &Config) -> Result<Vec<String>, ConfigError> {
    let plan = plan(cfg)?;
    if plan.usable.is_empty()
        && let Some(first) = plan.disabled.into_iter().next()
    {
        return Err(match first.error {
            DomainError::Config(e) => e,
            DomainError::Sasl(e) => ConfigError::Missing(e.to_string()),
        });
    }
    Ok(plan.usable)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> Config {
        Config::parse(text, "test.conf").expect("parses")
    }

    const TWO: &str = "[sssd]\ndomains = LDAP, IPA\n\
        [domain/LDAP]\nid_provider = ldap\nldap_uri = ldap://127.0.0.1\n\
        [domain/IPA]\nid_provider = ipa\n";

    #[test]
    fn unsupported_id_provider_disables_only_its_domain() {
        let p = plan(&cfg(TWO)).expect("plan");
        assert_eq!(p.usable, vec!["LDAP".to_string()]);
        assert_eq!(p.disabled.len(), 1);
        assert_eq!(p.disabled[0].name, "IPA");
        let e = p.disabled[0].error.to_string();
        assert!(e.contains("[domain/IPA] id_provider = \"ipa\""), "{e}");
        assert!(!e.contains("auth_provider"), "{e}");
    }

    #[test]
    fn a_files_domain_is_served_and_its_refusals_name_the_option() {
        let c = cfg("[sssd]\ndomains = F, G\n[domain/F]\nid_provider = files\n\
            [domain/G]\nid_provider = files\nauth_provider = krb5\n");
        let p = plan(&c).expect("plan");
        assert_eq!(p.usable, vec!["F".to_string()]);
        let e = p.disabled[0].error.to_string();
        assert!(e.contains("[domain/G] auth_provider = \"krb5\""), "{e}");
    }

    #[test]
    fn a_bad_value_disables_its_domain() {
        let c = cfg("[sssd]\ndomains = A, B\n[domain/A]\nid_provider = ldap\n\
            ldap_schema = nis\n[domain/B]\nid_provider = ldap\n");
        let p = plan(&c).expect("plan");
        assert_eq!(p.usable, vec!["B".to_string()]);
        assert!(p.disabled[0].error.to_string().contains("ldap_schema"));
    }

    #[test]
    fn no_usable_domain_is_an_error_for_responders() {
        let c = cfg("[sssd]\ndomains = A\n[domain/A]\nid_provider = ipa\n");
        let e = usable(&c).expect_err("none usable").to_string();
        assert!(e.contains("id_provider"), "{e}");
        assert_eq!(usable(&cfg(TWO)).expect("usable"), vec!["LDAP".to_string()]);
    }
}
