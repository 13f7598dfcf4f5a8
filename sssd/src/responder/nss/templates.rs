//! Home directory and shell rewriting (`override_homedir`, `fallback_homedir`,
//! `homedir_substring`, `override_shell`, `default_shell`, `allowed_shells`,
//! `vetoed_shells`, `shell_fallback`). A domain's value wins over `[nss]`.
//!
//! Shell rules, from sssd.conf(5):
//! 1. `override_shell` replaces every shell.
//! 2. An empty shell becomes `default_shell` when set, else stays empty (passed to libc).
//! 3. With neither `allowed_shells` nor `vetoed_shells` set, the shell is used as is.
//! 4. A shell in `vetoed_shells` becomes `shell_fallback`.
//! 5. A shell listed in `/etc/shells` is used.
//! 6. A shell in `allowed_shells` (or any shell when it contains `*`) that is not in
//!    `/etc/shells` becomes `shell_fallback` (the allowed shell is not installed here).
//! 7. Any other shell becomes the nologin shell [`NOLOGIN_SHELL`].

use super::settings::NssSettings;
use crate::config::DomainOptions;

/// The shell given to users whose shell is neither installed nor allowed.
pub const NOLOGIN_SHELL: &str = "/sbin/nologin";

/// Values a home directory template can refer to.
#[derive(Debug, Clone, Copy)]
pub struct TemplateVars<'a> {
    /// `%u`: login name (short, as shown).
    pub name: &'a str,
    /// `%U`: uid.
    pub uid: u32,
    /// `%d`, `%F`: domain name.
    pub domain: &'a str,
    /// `%f`: `name@domain`.
    pub fq_name: &'a str,
    /// `%P`: user principal name (empty when unknown).
    pub upn: &'a str,
    /// `%o`, `%h`: home directory from the directory.
    pub orig_home: &'a str,
    /// `%H`: `homedir_substring`.
    pub homedir_substring: &'a str,
}

/// Expands `%u %U %d %f %l %P %o %h %H %F %%` in `template`; unknown sequences are copied.
pub fn expand(template: &str, v: &TemplateVars<'_>) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut chars = template.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('u') => out.push_str(v.name),
            Some('U') => out.push_str(&v.uid.to_string()),
            Some('d') | Some('F') => out.push_str(v.domain),
            Some('f') => out.push_str(v.fq_name),
            Some('l') => out.extend(v.name.chars().next()),
            Some('P') => out.push_str(v.upn),
            Some('o') => out.push_str(v.orig_home),
            Some('h') => out.push_str(&v.orig_home.to_lowercase()),
            Some('H') => out.push_str(v.homedir_substring),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

/// The `id_provider` whose domains show their entries as the files have them.
const FILES: &str = "files";

/// The password field shown for entries of `dom`: `x` for a files domain (as SSSD, so
/// that pam_unix looks in the shadow file), else `[nss] pwfield`.
pub fn pwfield(nss: &NssSettings, dom: &DomainOptions) -> String {
    if dom.id_provider == FILES {
        "x".to_string()
    } else {
        nss.nss.pwfield.clone()
    }
}

/// The `homedir_substring` in effect for `dom`.
pub fn homedir_substring<'a>(nss: &'a NssSettings, dom: &'a DomainOptions) -> &'a str {
    dom.homedir_substring
        .as_deref()
        .unwrap_or(&nss.nss.homedir_substring)
}

/// The home directory to report: `override_homedir` if set; else, when the stored one is
/// empty, `fallback_homedir` or `/` (as SSSD for a user without a home); else the stored
/// one, itself expanded as a template (a provider may store `%H/name`).
pub fn home_dir(nss: &NssSettings, dom: &DomainOptions, v: &TemplateVars<'_>) -> String {
    // As SSSD: a files domain shows only what the files say (no override applies).
    if dom.id_provider != FILES
        && let Some(t) = dom
            .override_homedir
            .as_ref()
            .or(nss.nss.override_homedir.as_ref())
    {
        return expand(t, v);
    }
    if v.orig_home.is_empty() {
        return match dom
            .fallback_homedir
            .as_ref()
            .or(nss.nss.fallback_homedir.as_ref())
        {
            Some(t) => expand(t, v),
            None => "/".to_string(),
        };
    }
    expand(v.orig_home, v)
}

/// The login shell to report for a stored `shell` (see the module rules).
pub fn shell(nss: &NssSettings, dom: &DomainOptions, shell: &str) -> String {
    if dom.id_provider != FILES
        && let Some(s) = dom
            .override_shell
            .as_ref()
            .or(nss.nss.override_shell.as_ref())
    {
        return s.clone();
    }
    if shell.is_empty() {
        return dom
            .default_shell
            .as_ref()
            .or(nss.nss.default_shell.as_ref())
            .cloned()
            .unwrap_or_default();
    }
    if nss.nss.allowed_shells.is_empty() && nss.nss.vetoed_shells.is_empty() {
        return shell.to_string();
    }
    if nss.nss.vetoed_shells.iter().any(|s| s == shell) {
        return nss.nss.shell_fallback.clone();
    }
    if nss.etc_shells.iter().any(|s| s == shell) {
        return shell.to_string();
    }
    if nss
        .nss
        .allowed_shells
        .iter()
        .any(|s| s == shell || s == "*")
    {
        return nss.nss.shell_fallback.clone();
    }
    NOLOGIN_SHELL.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars<'a>(orig_home: &'a str) -> TemplateVars<'a> {
        TemplateVars {
            name: "User1",
            uid: 1001,
            domain: "LDAP",
            fq_name: "User1@LDAP",
            upn: "",
            orig_home,
            homedir_substring: "/home",
        }
    }

    #[test]
    fn template_expansion() {
        let v = vars("/Export/User1");
        assert_eq!(
            expand("%H/%d/%l/%u-%U %f %o %h %P%% %q %", &v),
            "/home/LDAP/U/User1-1001 User1@LDAP /Export/User1 /export/user1 % %q %"
        );
        assert_eq!(expand("/x/%F", &v), "/x/LDAP");
    }

    #[test]
    fn homedir_precedence() {
        let mut nss = NssSettings::new(vec![]);
        let mut dom = DomainOptions::defaults("LDAP", "ldap");
        assert_eq!(home_dir(&nss, &dom, &vars("/home/u")), "/home/u");
        assert_eq!(home_dir(&nss, &dom, &vars("")), "/");
        nss.nss.fallback_homedir = Some("/fb/%u".into());
        assert_eq!(home_dir(&nss, &dom, &vars("")), "/fb/User1");
        assert_eq!(home_dir(&nss, &dom, &vars("/home/u")), "/home/u");
        dom.fallback_homedir = Some("/dfb/%U".into());
        assert_eq!(home_dir(&nss, &dom, &vars("")), "/dfb/1001");
        assert_eq!(home_dir(&nss, &dom, &vars("%H/u")), "/home/u");
        assert_eq!(home_dir(&nss, &dom, &vars("/h/100%%")), "/h/100%");
        nss.nss.override_homedir = Some("/o/%u".into());
        assert_eq!(home_dir(&nss, &dom, &vars("/home/u")), "/o/User1");
        dom.override_homedir = Some("/do/%d/%u".into());
        assert_eq!(home_dir(&nss, &dom, &vars("")), "/do/LDAP/User1");
    }

    #[test]
    fn shell_rules() {
        let mut nss = NssSettings::new(vec![]);
        let mut dom = DomainOptions::defaults("LDAP", "ldap");
        nss.etc_shells = vec!["/bin/sh".into(), "/bin/bash".into()];
        // No lists: anything goes, empty stays empty.
        assert_eq!(shell(&nss, &dom, "/bin/odd"), "/bin/odd");
        assert_eq!(shell(&nss, &dom, ""), "");
        nss.nss.default_shell = Some("/bin/sh".into());
        assert_eq!(shell(&nss, &dom, ""), "/bin/sh");
        dom.default_shell = Some("/bin/bash".into());
        assert_eq!(shell(&nss, &dom, ""), "/bin/bash");
        assert_eq!(shell(&nss, &dom, "/bin/zsh"), "/bin/zsh");
        // Lists active.
        nss.nss.allowed_shells = vec!["/bin/zsh".into()];
        nss.nss.vetoed_shells = vec!["/bin/bash".into()];
        assert_eq!(shell(&nss, &dom, "/bin/bash"), "/bin/sh"); // vetoed -> fallback
        assert_eq!(shell(&nss, &dom, "/bin/sh"), "/bin/sh"); // installed
        assert_eq!(shell(&nss, &dom, "/bin/zsh"), "/bin/sh"); // allowed, not installed
        assert_eq!(shell(&nss, &dom, "/bin/ksh"), NOLOGIN_SHELL);
        nss.nss.allowed_shells = vec!["*".into()];
        nss.nss.shell_fallback = "/bin/fb".into();
        assert_eq!(shell(&nss, &dom, "/bin/ksh"), "/bin/fb");
        nss.nss.override_shell = Some("/bin/o".into());
        assert_eq!(shell(&nss, &dom, "/bin/ksh"), "/bin/o");
        dom.override_shell = Some("/bin/do".into());
        assert_eq!(shell(&nss, &dom, ""), "/bin/do");
    }
}
