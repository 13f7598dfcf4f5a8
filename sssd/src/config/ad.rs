//! `id_provider = ad`: the AD provider is the LDAP and Kerberos providers with SSSD's AD
//! defaults. [`apply_defaults`] writes those defaults into each AD domain's section when the
//! configuration is loaded, so every reader (domain, LDAP, Kerberos, access and SASL
//! options, in the backend and the responders alike) sees one consistent domain. A value the
//! administrator wrote wins, except where SSSD overrides it too (the schema and the realm).
//! [`check`] validates the `ad_*` options themselves, naming the option at fault.

use super::{Config, ConfigError, DOMAIN_PREFIX};

/// How an AD domain finds its domain controllers for `_srv_` (an unset `ad_server`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdDiscovery {
    /// `ad_enable_dns_sites` (true): ping the DCs (CLDAP) for this host's site and try that
    /// site's DCs first; false: the domain's DCs from DNS as they come.
    pub sites: bool,
    /// `ad_site`: the site to use whatever the DCs say.
    pub site: Option<String>,
    /// `ad_use_ldaps`: connect to the DCs found on port 636 with LDAPS.
    pub ldaps: bool,
    /// The AD domain's DNS name (`ad_domain`, else the SSSD domain name).
    pub domain: String,
    /// `ad_enable_gc` (true): group lookups ask the Global Catalog of the DC in use first.
    pub global_catalog: bool,
}

impl AdDiscovery {
    /// The discovery settings of `[section]`; `None` unless it is an AD domain.
    pub fn from_config(cfg: &Config, section: &str) -> Result<Option<AdDiscovery>, ConfigError> {
        if !is_ad_domain(cfg, section) {
            return Ok(None);
        }
        Ok(Some(AdDiscovery {
            sites: cfg.get_bool(section, "ad_enable_dns_sites", true)?,
            site: cfg
                .get(section, "ad_site")
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string),
            ldaps: cfg.get_bool(section, "ad_use_ldaps", false)?,
            domain: ad_domain(cfg, section),
            global_catalog: cfg.get_bool(section, "ad_enable_gc", true)?,
        }))
    }
}

/// `ad_gpo_access_control` values SSSD accepts.
pub const GPO_MODES: &[&str] = &["disabled", "permissive", "enforcing"];

/// `ad_gpo_access_control` when the file does not set it (SSSD's default).
pub const GPO_DEFAULT_MODE: &str = "enforcing";

/// Whether `[section]` is a domain served by the AD provider.
pub fn is_ad_domain(cfg: &Config, section: &str) -> bool {
    cfg.get(section, "id_provider")
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("ad"))
}

/// The AD domain of `[section]`: `ad_domain`, else the SSSD domain name.
pub fn ad_domain(cfg: &Config, section: &str) -> String {
    cfg.get(section, "ad_domain")
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| section.trim_start_matches(DOMAIN_PREFIX).to_string())
}

/// This host's name as the AD provider uses it: `ad_hostname`, else the system host name.
pub fn ad_hostname(cfg: &Config, section: &str) -> String {
    cfg.get(section, "ad_hostname")
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .unwrap_or_else(system_hostname)
}

fn system_hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_default()
}

/// The machine account's principal name for `hostname`: its first label, upper-cased,
/// with `$` (`client1.corp.example.com` → `CLIENT1$`), as AD join tools create it.
pub fn machine_account(hostname: &str) -> String {
    let short = hostname.split('.').next().unwrap_or(hostname);
    format!("{}$", short.to_uppercase())
}

/// `ad_server` / `ad_backup_server` (`option`): a comma list of host names (with an
/// optional `:port`) and `_srv_`.
fn servers(cfg: &Config, section: &str, option: &str) -> Vec<String> {
    cfg.get_list(section, option)
}

/// The LDAP URI of an `ad_server` entry (`_srv_` stays as it is).
fn ldap_uri(server: &str, ldaps: bool) -> String {
    if super::dns_options::is_srv_keyword(server) {
        server.to_string()
    } else if ldaps {
        format!("ldaps://{server}")
    } else {
        format!("ldap://{server}")
    }
}

/// The automount attribute names of SSSD's AD provider (AD's RFC 2307 schema).
const AD_AUTOFS_DEFAULTS: &[(&str, &str)] = &[
    ("ldap_autofs_map_object_class", "nisMap"),
    ("ldap_autofs_map_name", "nisMapName"),
    ("ldap_autofs_entry_object_class", "nisObject"),
    ("ldap_autofs_entry_key", "cn"),
    ("ldap_autofs_entry_value", "nisMapEntry"),
];

/// Writes SSSD's AD provider defaults into every `id_provider = ad` domain section.
pub fn apply_defaults(cfg: &mut Config) {
    let sections: Vec<String> = cfg
        .sections()
        .into_iter()
        .filter(|s| s.starts_with(DOMAIN_PREFIX))
        .map(str::to_string)
        .collect();
    for s in sections {
        if is_ad_domain(cfg, &s) {
            apply_to(cfg, &s);
        }
    }
}

fn apply_to(cfg: &mut Config, s: &str) {
    let domain = ad_domain(cfg, s);
    let realm = domain.to_uppercase();
    let hostname = ad_hostname(cfg, s);
    let ldaps = cfg
        .get(s, "ad_use_ldaps")
        .and_then(super::parse_bool)
        .unwrap_or(false);
    let primary = servers(cfg, s, "ad_server");
    let backup = servers(cfg, s, "ad_backup_server");
    let mut defaults: Vec<(&str, String)> = vec![
        ("ldap_id_mapping", "true".into()),
        ("ldap_referrals", "false".into()),
        ("ldap_force_upper_case_realm", "true".into()),
        ("ldap_id_use_start_tls", "false".into()),
        ("ldap_sasl_mech", "GSSAPI".into()),
        ("ldap_sasl_authid", machine_account(&hostname)),
        ("ldap_account_expire_policy", "ad".into()),
        ("ldap_use_tokengroups", "true".into()),
        ("krb5_use_enterprise_principal", "true".into()),
        ("krb5_canonicalize", "false".into()),
        ("krb5_validate", "true".into()),
        ("dns_discovery_domain", domain.clone()),
        // SSSD's AD home directory when neither the domain nor [nss] sets one.
        ("fallback_homedir", "/home/%d/%u".into()),
        // Sudo rules are found by the indexed objectCategory, as SSSD's AD provider does.
        ("ldap_sudorule_object_class_attr", "objectCategory".into()),
    ];
    if !primary.is_empty() {
        let uris: Vec<String> = primary.iter().map(|h| ldap_uri(h, ldaps)).collect();
        defaults.push(("ldap_uri", uris.join(", ")));
        defaults.push(("krb5_server", primary.join(", ")));
    }
    if !backup.is_empty() {
        let uris: Vec<String> = backup.iter().map(|h| ldap_uri(h, ldaps)).collect();
        defaults.push(("ldap_backup_uri", uris.join(", ")));
        defaults.push(("krb5_backup_server", backup.join(", ")));
    }
    // The maps SSSD's AD provider also serves go through the LDAP provider. Sudo rules and
    // automount maps are also served when unset (their providers default to `id_provider`,
    // so to `ad`), the maps with the AD provider's `nisMap`/`nisObject` attribute names.
    for (option, when_unset) in [
        ("sudo_provider", true),
        ("autofs_provider", true),
        ("resolver_provider", false),
        ("hostid_provider", false),
    ] {
        let by_ad = cfg
            .get(s, option)
            .map_or(when_unset, |v| v.trim().eq_ignore_ascii_case("ad"));
        if by_ad {
            cfg.set(s, option, "ldap");
        }
    }
    defaults.extend(
        AD_AUTOFS_DEFAULTS
            .iter()
            .map(|(o, v)| (*o, (*v).to_string())),
    );
    if let Some(keytab) = cfg.get(s, "krb5_keytab").map(str::to_string) {
        defaults.push(("ldap_krb5_keytab", keytab));
    }
    for (option, value) in defaults {
        if cfg.get(s, option).is_none() {
            cfg.set(s, option, &value);
        }
    }
    // What SSSD's AD provider sets whatever the file says.
    cfg.set(s, "ldap_schema", "ad");
    cfg.set(s, "krb5_realm", &realm);
    cfg.set(s, "ldap_sasl_realm", &realm);
    cfg.set(s, "ldap_pwd_policy", "mit_kerberos");
    providers(cfg, s);
}

/// `auth_provider`, `chpass_provider` and `access_provider = ad` in terms of the providers
/// that do the work: Kerberos for logins and password changes, the LDAP access rules
/// (account expiry as AD has it, then `ad_access_filter`) for access.
fn providers(cfg: &mut Config, s: &str) {
    let is_ad = |cfg: &Config, o: &str| {
        cfg.get(s, o)
            .is_none_or(|v| v.trim().eq_ignore_ascii_case("ad"))
    };
    if is_ad(cfg, "auth_provider") {
        cfg.set(s, "auth_provider", "krb5");
    }
    if cfg
        .get(s, "chpass_provider")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("ad"))
    {
        cfg.set(s, "chpass_provider", "krb5");
    }
    let access_ad = cfg
        .get(s, "access_provider")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("ad"));
    // GPO-based access control is part of `access_provider = ad` only (SSSD ignores the
    // ad_gpo_* options otherwise); enforcing unless the file says otherwise, as SSSD.
    let gpo_mode = if access_ad {
        cfg.get(s, "ad_gpo_access_control")
            .map(str::to_string)
            .unwrap_or_else(|| GPO_DEFAULT_MODE.to_string())
    } else {
        "disabled".to_string()
    };
    cfg.set(s, "ad_gpo_access_control", &gpo_mode);
    if access_ad {
        let domain = s.trim_start_matches(DOMAIN_PREFIX).to_string();
        let filter = cfg
            .get(s, "ad_access_filter")
            .and_then(|f| access_filter(f, &domain, &ad_domain(cfg, s)));
        cfg.set(s, "access_provider", "ldap");
        match filter {
            Some(f) => {
                cfg.set(s, "ldap_access_order", "expire, filter");
                cfg.set(s, "ldap_access_filter", &f);
            }
            None => cfg.set(s, "ldap_access_order", "expire"),
        }
    }
}

/// The filter of `ad_access_filter` that applies to domain `domain` of forest `forest`:
/// the value is a `?`-separated list of `FILTER`, `NAME:FILTER`, `DOM:NAME:FILTER` or
/// `FOREST:NAME:FILTER`, and the most specific entry matching wins (domain over forest over
/// plain). A filter without parentheses gets them. An entry that starts with `(` is a plain
/// filter even when it contains colons (extensible matches such as
/// `(memberOf:1.2.840.113556.1.4.1941:=...)`).
pub fn access_filter(value: &str, domain: &str, forest: &str) -> Option<String> {
    let mut best: Option<(u8, &str)> = None;
    for entry in value.split('?').map(str::trim).filter(|e| !e.is_empty()) {
        let Some((rank, filter)) = classify(entry, domain, forest) else {
            continue;
        };
        if best.is_none_or(|(r, _)| rank > r) {
            best = Some((rank, filter));
        }
    }
    best.map(|(_, f)| {
        if f.starts_with('(') {
            f.to_string()
        } else {
            format!("({f})")
        }
    })
}

/// The rank (1 plain, 2 forest, 4 domain) and filter of one `ad_access_filter` entry, or
/// `None` when it names another domain or forest or is malformed.
fn classify<'a>(entry: &'a str, domain: &str, forest: &str) -> Option<(u8, &'a str)> {
    let Some((first, rest)) = entry.split_once(':').filter(|_| !entry.starts_with('(')) else {
        return Some((1, entry));
    };
    let (kind, name, filter) = match rest.split_once(':') {
        Some((name, filter)) if first == "DOM" || first == "FOREST" => (first, name, filter),
        Some(_) => return None,
        None => ("DOM", first, rest),
    };
    if name.is_empty() || filter.is_empty() {
        return None;
    }
    let (rank, wanted) = if kind == "FOREST" {
        (2, forest)
    } else {
        (4, domain)
    };
    name.eq_ignore_ascii_case(wanted).then_some((rank, filter))
}

/// Validates the `ad_*` options of `[domain/<name>]` (an AD domain), naming the option at
/// fault: values of the wrong type, and settings whose behaviour is not implemented here.
pub fn check(cfg: &Config, name: &str) -> Result<(), ConfigError> {
    let s = format!("{DOMAIN_PREFIX}{name}");
    if !is_ad_domain(cfg, &s) {
        return Ok(());
    }
    for option in ["ad_use_ldaps", "ad_enable_dns_sites", "ad_enable_gc"] {
        cfg.get_bool(&s, option, false)?;
    }
    if let Some(v) = cfg.get(&s, "ad_gpo_access_control") {
        let mode = v.trim().to_ascii_lowercase();
        if !GPO_MODES.contains(&mode.as_str()) {
            return Err(ConfigError::bad_value(
                &s,
                "ad_gpo_access_control",
                v,
                "expected disabled, permissive or enforcing",
            ));
        }
    }
    // The ad_gpo_* maps, default right and flags, validated as the backend reads them.
    super::ad_gpo::GpoOptions::from_config(cfg, name)?;
    // Machine account password renewal (adcli): its options are validated here.
    crate::backend::ad::renewal::RenewalOptions::from_config(cfg, name)?;
    for option in unsupported_options() {
        if cfg.get(&s, option).is_some() {
            return Err(ConfigError::bad_value(
                &s,
                option,
                cfg.get(&s, option).unwrap_or_default(),
                "an SSSD option this implementation does not support yet; it would have no \
                 effect",
            ));
        }
    }
    Ok(())
}

/// `ad_*` options SSSD has whose behaviour we do not implement: refused rather than ignored.
fn unsupported_options() -> &'static [&'static str] {
    &["ad_enabled_domains", "ad_allow_remote_domain_local_groups"]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn loaded(text: &str) -> Config {
        let mut c = Config::parse(text, "t").unwrap();
        apply_defaults(&mut c);
        c
    }

    #[test]
    fn ad_domains_get_sssd_ad_defaults() {
        let c = loaded(
            "[sssd]\ndomains = corp.example.com\n[domain/corp.example.com]\nid_provider = ad\n\
             ad_server = dc1.corp.example.com, _srv_\nad_hostname = client1.corp.example.com\n\
             krb5_realm = WRONG\naccess_provider = ad\n",
        );
        let s = "domain/corp.example.com";
        assert_eq!(c.get(s, "ldap_schema"), Some("ad"));
        assert_eq!(c.get(s, "krb5_realm"), Some("CORP.EXAMPLE.COM"));
        assert_eq!(
            c.get(s, "ldap_uri"),
            Some("ldap://dc1.corp.example.com, _srv_")
        );
        assert_eq!(c.get(s, "krb5_server"), Some("dc1.corp.example.com, _srv_"));
        assert_eq!(c.get(s, "ldap_sasl_authid"), Some("CLIENT1$"));
        assert_eq!(c.get(s, "ldap_id_mapping"), Some("true"));
        assert_eq!(c.get(s, "auth_provider"), Some("krb5"));
        assert_eq!(c.get(s, "access_provider"), Some("ldap"));
        assert_eq!(c.get(s, "ldap_access_order"), Some("expire"));
        assert_eq!(c.get(s, "fallback_homedir"), Some("/home/%d/%u"));
        assert_eq!(c.get(s, "dns_discovery_domain"), Some("corp.example.com"));
        // Sudo rules and automount maps come from AD unless turned off.
        assert_eq!(c.get(s, "sudo_provider"), Some("ldap"));
        assert_eq!(
            c.get(s, "ldap_sudorule_object_class_attr"),
            Some("objectCategory")
        );
        assert_eq!(c.get(s, "autofs_provider"), Some("ldap"));
        assert_eq!(c.get(s, "ldap_autofs_map_object_class"), Some("nisMap"));
        assert_eq!(c.get(s, "ldap_autofs_entry_value"), Some("nisMapEntry"));
        let c =
            loaded("[domain/A]\nid_provider = ad\nsudo_provider = none\nautofs_provider = none\n");
        assert_eq!(c.get("domain/A", "sudo_provider"), Some("none"));
        assert_eq!(c.get("domain/A", "autofs_provider"), Some("none"));
    }

    #[test]
    fn written_values_win_and_ldap_domains_are_untouched() {
        let c = loaded(
            "[domain/A]\nid_provider = ad\nad_domain = corp.example.com\nldap_id_mapping = false\n\
             ad_use_ldaps = true\nad_server = dc1\nfallback_homedir = /home/%u\n\
             [domain/L]\nid_provider = ldap\n",
        );
        assert_eq!(c.get("domain/A", "ldap_id_mapping"), Some("false"));
        assert_eq!(c.get("domain/A", "ldap_uri"), Some("ldaps://dc1"));
        assert_eq!(c.get("domain/A", "fallback_homedir"), Some("/home/%u"));
        assert_eq!(c.get("domain/A", "krb5_realm"), Some("CORP.EXAMPLE.COM"));
        assert_eq!(c.get("domain/L", "ldap_schema"), None);
        assert_eq!(c.get("domain/L", "fallback_homedir"), None);
    }

    #[test]
    fn access_provider_ad_is_expiry_then_the_most_specific_filter() {
        let c = loaded(
            "[domain/corp]\nid_provider = ad\nad_domain = corp.example.com\naccess_provider = ad\n\
             ad_access_filter = (cn=any)?FOREST:CORP.EXAMPLE.COM:(cn=forest)?corp:(cn=dom)\n",
        );
        assert_eq!(
            c.get("domain/corp", "ldap_access_order"),
            Some("expire, filter")
        );
        assert_eq!(c.get("domain/corp", "ldap_access_filter"), Some("(cn=dom)"));
    }

    #[test]
    fn access_filter_forms() {
        let f = |v| access_filter(v, "corp", "corp.example.com");
        assert_eq!(f("memberOf=cn=a"), Some("(memberOf=cn=a)".into()));
        assert_eq!(
            f("(memberOf:1.2.840.113556.1.4.1941:=cn=a)"),
            Some("(memberOf:1.2.840.113556.1.4.1941:=cn=a)".into())
        );
        assert_eq!(f("other:(cn=x)"), None);
        assert_eq!(f("DOM:corp:(cn=x)"), Some("(cn=x)".into()));
        assert_eq!(
            f("FOREST:corp.example.com:(cn=f)?(cn=p)"),
            Some("(cn=f)".into())
        );
        assert_eq!(f("BAD:corp:(cn=x)"), None);
        assert_eq!(f("DOM::(cn=x)"), None);
    }

    #[test]
    fn gpo_modes_and_bad_gpo_options_are_refused_by_name() {
        let c = loaded(
            "[domain/A]\nid_provider = ad\naccess_provider = ad\nad_gpo_access_control = strict\n",
        );
        let e = check(&c, "A").unwrap_err().to_string();
        assert!(e.contains("ad_gpo_access_control"), "{e}");
        let c = loaded("[domain/A]\nid_provider = ad\naccess_provider = ad\n");
        assert_eq!(
            c.get("domain/A", "ad_gpo_access_control"),
            Some("enforcing")
        );
        check(&c, "A").unwrap();
        // Without access_provider = ad, GPOs are not evaluated (SSSD ignores the options).
        let c = loaded("[domain/A]\nid_provider = ad\nad_gpo_access_control = enforcing\n");
        assert_eq!(c.get("domain/A", "ad_gpo_access_control"), Some("disabled"));
        let c =
            loaded("[domain/A]\nid_provider = ad\naccess_provider = ad\nad_gpo_map_deny = sshd\n");
        assert!(
            check(&c, "A")
                .unwrap_err()
                .to_string()
                .contains("ad_gpo_map_deny")
        );
        let c = loaded("[domain/A]\nid_provider = ad\nad_enable_gc = true\n");
        check(&c, "A").unwrap();
        let c = loaded("[domain/A]\nid_provider = ad\nad_enable_gc = false\n");
        check(&c, "A").unwrap();
        let c = loaded("[domain/A]\nid_provider = ad\nad_enable_gc = maybe\n");
        assert!(
            check(&c, "A")
                .unwrap_err()
                .to_string()
                .contains("ad_enable_gc")
        );
    }

    #[test]
    fn machine_account_is_the_upper_short_name_with_a_dollar() {
        assert_eq!(machine_account("client1.corp.example.com"), "CLIENT1$");
        assert_eq!(machine_account("web"), "WEB$");
    }
}
