//! `[sssd] enable_files_domain` (SSSD 2.8): when true and no configured domain serves the
//! local files already (`id_provider = files`, or `id_provider = proxy` with
//! `proxy_lib_name = files`), a domain `implicit_files` with `id_provider = files` is put in
//! front of the domain list, so local users are looked up first. Default: false (SSSD's
//! default unless built with `--enable-files-domain`).

use super::{Config, ConfigError, DOMAIN_PREFIX};

/// The name of the domain added.
pub const IMPLICIT_FILES_DOMAIN: &str = "implicit_files";

/// Whether domain section `section` serves the local files.
fn serves_files(cfg: &Config, section: &str) -> bool {
    match cfg.get(section, "id_provider") {
        Some("files") => true,
        Some("proxy") => cfg.get(section, "proxy_lib_name") == Some("files"),
        _ => false,
    }
}

/// Adds the implicit files domain to `cfg` when `enable_files_domain` asks for it; a value
/// that is not a boolean is refused, naming the option.
pub fn apply(cfg: &mut Config) -> Result<(), ConfigError> {
    if !cfg.get_bool("sssd", "enable_files_domain", false)? {
        return Ok(());
    }
    let has_files = cfg
        .sections()
        .iter()
        .filter(|s| s.starts_with(DOMAIN_PREFIX))
        .any(|s| serves_files(cfg, s));
    if has_files {
        return Ok(());
    }
    let section = format!("{DOMAIN_PREFIX}{IMPLICIT_FILES_DOMAIN}");
    cfg.set(&section, "id_provider", "files");
    let mut list = vec![IMPLICIT_FILES_DOMAIN.to_string()];
    list.extend(cfg.get_list("sssd", "domains"));
    cfg.set("sssd", "domains", &list.join(", "));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(text: &str) -> Result<Config, ConfigError> {
        let mut cfg = Config::parse(text, "t.conf").expect("parses");
        apply(&mut cfg)?;
        Ok(cfg)
    }

    #[test]
    fn added_in_front_only_when_asked_and_missing() {
        let base = "[sssd]\ndomains = LDAP\n[domain/LDAP]\nid_provider = ldap\n";
        let c = applied(base).expect("ok");
        assert_eq!(c.domains().expect("domains"), ["LDAP"]);
        let c =
            applied(&base.replace("[sssd]\n", "[sssd]\nenable_files_domain = true\n")).expect("ok");
        assert_eq!(c.domains().expect("domains"), ["implicit_files", "LDAP"]);
        assert_eq!(c.get("domain/implicit_files", "id_provider"), Some("files"));
        let with_files = "[sssd]\nenable_files_domain = true\ndomains = F\n\
            [domain/F]\nid_provider = files\n";
        assert_eq!(
            applied(with_files).expect("ok").domains().expect("d"),
            ["F"]
        );
        let with_proxy = "[sssd]\nenable_files_domain = true\ndomains = P\n\
            [domain/P]\nid_provider = proxy\nproxy_lib_name = files\n";
        assert_eq!(
            applied(with_proxy).expect("ok").domains().expect("d"),
            ["P"]
        );
        let e = applied("[sssd]\nenable_files_domain = sure\n").expect_err("bad");
        assert!(e.to_string().contains("enable_files_domain"), "{e}");
    }
}
