//! The options of an `id_provider = files` domain, as SSSD 2.8 reads them: `passwd_files`
//! and `group_files` (comma-separated, defaults `/etc/passwd` and `/etc/group`),
//! `fallback_to_nss`, and the auth, chpass and access providers a files domain can have
//! (`proxy` among them, with `proxy_pam_target` and `proxy_max_children`).

use crate::config::auth_options::SimpleAccessOptions;
use crate::config::{Config, ConfigError, DOMAIN_PREFIX};
use std::path::PathBuf;

/// `passwd_files` default.
pub const DEFAULT_PASSWD_FILE: &str = "/etc/passwd";
/// `group_files` default.
pub const DEFAULT_GROUP_FILE: &str = "/etc/group";

/// What a PAM authentication of a files user gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilesAuth {
    /// `auth_provider = files` (the default): as SSSD 2.8's files auth module, every
    /// attempt is answered `PAM_AUTHINFO_UNAVAIL`, so the PAM stack goes on to pam_unix.
    Files,
    /// `auth_provider = none`: `PAM_MODULE_UNKNOWN`.
    None,
    /// `auth_provider = proxy`: the password is checked by `proxy_pam_target` (SSSD's
    /// documented set-up for local users: `proxy_pam_target = sssd-shadowutils`).
    Proxy,
}

/// What `access_provider` decides for a files user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilesAccess {
    /// `permit` (the default).
    Permit,
    /// `deny`.
    Deny,
    /// `simple`, with its lists.
    Simple(SimpleAccessOptions),
    /// `proxy`: the account management of `proxy_pam_target`.
    Proxy,
}

/// The options of one files domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilesOptions {
    /// `passwd_files`, in order (the first file naming a user wins).
    pub passwd_files: Vec<PathBuf>,
    /// `group_files`, in order.
    pub group_files: Vec<PathBuf>,
    /// `fallback_to_nss` (true). SSSD answers "unavailable" while it rewrites the cache
    /// so that clients fall back to the next NSS module; here a reload is one cache
    /// transaction, lookups never see a half-written state, and there is nothing to fall
    /// back from: the value is accepted and has no other effect.
    pub fallback_to_nss: bool,
    /// `auth_provider` (files, none or proxy).
    pub auth: FilesAuth,
    /// `chpass_provider = proxy` (default: as auth_provider): password changes go through
    /// `proxy_pam_target`; otherwise they are not this domain's (`PAM_MODULE_UNKNOWN`).
    pub chpass_proxy: bool,
    /// `access_provider`.
    pub access: FilesAccess,
    /// `proxy_pam_target`, set when a PAM role is `proxy`.
    pub pam_target: Option<String>,
    /// `proxy_max_children`: most PAM transactions through the target at once.
    pub max_children: u32,
}

/// The files of a comma-separated `option` in `section`, `default` when unset. Each must
/// be an absolute path (the backend runs with `/` as its working directory).
fn file_list(
    cfg: &Config,
    section: &str,
    option: &str,
    default: &str,
) -> Result<Vec<PathBuf>, ConfigError> {
    let Some(raw) = cfg.get(section, option) else {
        return Ok(vec![PathBuf::from(default)]);
    };
    let list: Vec<PathBuf> = raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .collect();
    if list.is_empty() {
        return Err(ConfigError::bad_value(
            section,
            option,
            raw,
            "names no file (a comma-separated list of absolute paths)",
        ));
    }
    if let Some(rel) = list.iter().find(|p| !p.is_absolute()) {
        return Err(ConfigError::bad_value(
            section,
            option,
            raw,
            format!("{} is not an absolute path", rel.display()),
        ));
    }
    Ok(list)
}

impl FilesOptions {
    /// Reads `[domain/<name>]`; an unsupported provider or a bad value is refused with the
    /// option named.
    pub fn from_config(cfg: &Config, name: &str) -> Result<FilesOptions, ConfigError> {
        let s = format!("{DOMAIN_PREFIX}{name}");
        let passwd_files = file_list(cfg, &s, "passwd_files", DEFAULT_PASSWD_FILE)?;
        let group_files = file_list(cfg, &s, "group_files", DEFAULT_GROUP_FILE)?;
        let fallback_to_nss = cfg.get_bool(&s, "fallback_to_nss", true)?;
        let auth_set = cfg.get(&s, "auth_provider");
        let auth = match auth_set.unwrap_or("files") {
            "files" => FilesAuth::Files,
            "none" => FilesAuth::None,
            "proxy" => FilesAuth::Proxy,
            other => {
                return Err(ConfigError::bad_value(
                    &s,
                    "auth_provider",
                    other,
                    "not supported with id_provider = files; supported values: files, none, proxy",
                ));
            }
        };
        // As SSSD: chpass_provider defaults to auth_provider; neither files nor none can
        // change a password.
        let chpass_proxy = match cfg.get(&s, "chpass_provider") {
            None => auth == FilesAuth::Proxy,
            Some("files" | "none") => false,
            Some("proxy") => true,
            Some(v) => {
                return Err(ConfigError::bad_value(
                    &s,
                    "chpass_provider",
                    v,
                    "not supported with id_provider = files; supported values: files, none, proxy",
                ));
            }
        };
        let access = match cfg.get(&s, "access_provider").unwrap_or("permit") {
            "permit" => FilesAccess::Permit,
            "deny" => FilesAccess::Deny,
            "simple" => FilesAccess::Simple(SimpleAccessOptions {
                allow_users: cfg.get_list(&s, "simple_allow_users"),
                deny_users: cfg.get_list(&s, "simple_deny_users"),
                allow_groups: cfg.get_list(&s, "simple_allow_groups"),
                deny_groups: cfg.get_list(&s, "simple_deny_groups"),
            }),
            "proxy" => FilesAccess::Proxy,
            other => {
                return Err(ConfigError::bad_value(
                    &s,
                    "access_provider",
                    other,
                    "not supported with id_provider = files; \
                     supported values: permit, deny, simple, proxy",
                ));
            }
        };
        let needs_target = auth == FilesAuth::Proxy || chpass_proxy || access == FilesAccess::Proxy;
        let (pam_target, max_children) =
            crate::backend::proxy::options::pam_target_options(cfg, &s, needs_target)?;
        Ok(FilesOptions {
            passwd_files,
            group_files,
            fallback_to_nss,
            auth,
            chpass_proxy,
            access,
            pam_target: pam_target.filter(|_| needs_target),
            max_children,
        })
    }

    /// Every file read, passwd files first.
    pub fn all_files(&self) -> impl Iterator<Item = &PathBuf> {
        self.passwd_files.iter().chain(&self.group_files)
    }
}

/// Validates every option the backend of files domain `name` reads (`sssd_be` and the
/// monitor's plan run this): the files options, the generic domain options, the debug
/// level and the watchdog.
pub fn check(cfg: &Config, name: &str) -> Result<(), ConfigError> {
    let section = format!("{DOMAIN_PREFIX}{name}");
    FilesOptions::from_config(cfg, name)?;
    crate::config::DomainOptions::from_config(cfg, name)?;
    crate::config::options::debug_level(cfg, &section)?;
    crate::watchdog::period_from_config(cfg, &section)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(extra: &str) -> Result<FilesOptions, ConfigError> {
        let text = format!("[sssd]\ndomains = F\n[domain/F]\nid_provider = files\n{extra}");
        let cfg = Config::parse(&text, "t.conf").expect("parses");
        FilesOptions::from_config(&cfg, "F")
    }

    #[test]
    fn defaults_are_sssd_ones() {
        let o = opts("").expect("ok");
        assert_eq!(o.passwd_files, vec![PathBuf::from("/etc/passwd")]);
        assert_eq!(o.group_files, vec![PathBuf::from("/etc/group")]);
        assert!(o.fallback_to_nss);
        assert_eq!(o.auth, FilesAuth::Files);
        assert_eq!(o.access, FilesAccess::Permit);
    }

    #[test]
    fn lists_are_split_on_commas() {
        let o = opts("passwd_files = /a/p, /b/p\ngroup_files = /a/g\n").expect("ok");
        assert_eq!(
            o.passwd_files,
            vec![PathBuf::from("/a/p"), PathBuf::from("/b/p")]
        );
        assert_eq!(o.group_files, vec![PathBuf::from("/a/g")]);
    }

    #[test]
    fn refusals_name_the_option() {
        let e = opts("passwd_files = etc/passwd\n").expect_err("relative");
        assert!(e.to_string().contains("passwd_files"), "{e}");
        let e = opts("group_files = ,\n").expect_err("empty");
        assert!(e.to_string().contains("group_files"), "{e}");
        let e = opts("auth_provider = krb5\n").expect_err("krb5");
        assert!(e.to_string().contains("auth_provider"), "{e}");
        let e = opts("auth_provider = proxy\n").expect_err("no target");
        assert!(e.to_string().contains("proxy_pam_target"), "{e}");
        let e = opts("access_provider = ldap\n").expect_err("ldap");
        assert!(e.to_string().contains("access_provider"), "{e}");
        let e = opts("chpass_provider = ldap\n").expect_err("ldap");
        assert!(e.to_string().contains("chpass_provider"), "{e}");
        let e = opts("fallback_to_nss = maybe\n").expect_err("bool");
        assert!(e.to_string().contains("fallback_to_nss"), "{e}");
    }

    #[test]
    fn proxy_auth_goes_through_the_pam_target() {
        let o = opts("auth_provider = proxy\nproxy_pam_target = sssd-shadowutils\n").expect("ok");
        assert_eq!(o.auth, FilesAuth::Proxy);
        assert!(o.chpass_proxy, "chpass_provider defaults to auth_provider");
        assert_eq!(o.pam_target.as_deref(), Some("sssd-shadowutils"));
        assert_eq!(o.max_children, 10);
        let o = opts("proxy_pam_target = login\n").expect("ok");
        assert_eq!(o.pam_target, None, "no PAM role uses it");
        assert!(!o.chpass_proxy);
        let o = opts(
            "auth_provider = proxy\nchpass_provider = none\naccess_provider = proxy\n\
             proxy_pam_target = login\nproxy_max_children = 2\n",
        )
        .expect("ok");
        assert!(!o.chpass_proxy);
        assert_eq!(o.access, FilesAccess::Proxy);
        assert_eq!(o.max_children, 2);
    }

    #[test]
    fn none_and_simple_are_accepted() {
        let o = opts("auth_provider = none\naccess_provider = simple\nsimple_allow_users = a\n")
            .expect("ok");
        assert_eq!(o.auth, FilesAuth::None);
        let FilesAccess::Simple(s) = o.access else {
            panic!("simple expected");
        };
        assert_eq!(s.allow_users, vec!["a".to_string()]);
    }
}
