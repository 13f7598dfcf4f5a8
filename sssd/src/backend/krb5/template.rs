//! Expansion of `krb5_ccname_template` (`FILE:%d/krb5cc_%U_XXXXXX`).

use thiserror::Error;

/// Why a template cannot be expanded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TemplateError {
    /// `%<c>` is not a known expansion.
    #[error("krb5_ccname_template {template:?}: unknown expansion %{found}")]
    Unknown {
        /// The template.
        template: String,
        /// The character after `%`.
        found: char,
    },
    /// `%h` was used but the home directory is not known.
    #[error("krb5_ccname_template {0:?}: %h needs the user's home directory")]
    NoHome(String),
    /// `%P` was used but the client's process id is not known.
    #[error("krb5_ccname_template {0:?}: %P needs the PAM client's process id")]
    NoPid(String),
    /// The template ends in a lone `%`.
    #[error("krb5_ccname_template {0:?} ends with a lone %")]
    Trailing(String),
}

/// The values a template may refer to.
#[derive(Debug, Clone, Copy)]
pub struct TemplateVars<'a> {
    /// `%u`: login name.
    pub login: &'a str,
    /// `%U`: uid.
    pub uid: u32,
    /// `%p`: principal.
    pub principal: &'a str,
    /// `%r`: realm.
    pub realm: &'a str,
    /// `%h`: home directory, when known.
    pub home: Option<&'a str>,
    /// `%d`: `krb5_ccachedir`.
    pub ccachedir: &'a str,
    /// `%P`: the process id of the PAM client (0: unknown).
    pub pid: u32,
}

/// Expands `template`; a trailing `XXXXXX` is kept for the child to make unique.
pub fn expand(template: &str, v: &TemplateVars<'_>) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len() + 32);
    let mut chars = template.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('u') => out.push_str(v.login),
            Some('U') => out.push_str(&v.uid.to_string()),
            Some('p') => out.push_str(v.principal),
            Some('r') => out.push_str(v.realm),
            Some('d') => out.push_str(v.ccachedir.trim_end_matches('/')),
            Some('h') => match v.home {
                Some(h) => out.push_str(h.trim_end_matches('/')),
                None => return Err(TemplateError::NoHome(template.to_string())),
            },
            Some('P') if v.pid != 0 => out.push_str(&v.pid.to_string()),
            Some('P') => return Err(TemplateError::NoPid(template.to_string())),
            Some('%') => out.push('%'),
            Some(found) => {
                return Err(TemplateError::Unknown {
                    template: template.to_string(),
                    found,
                });
            }
            None => return Err(TemplateError::Trailing(template.to_string())),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> TemplateVars<'static> {
        TemplateVars {
            login: "alice",
            uid: 10001,
            principal: "alice@EXAMPLE.COM",
            realm: "EXAMPLE.COM",
            home: Some("/home/alice"),
            ccachedir: "/tmp/",
            pid: 4242,
        }
    }

    #[test]
    fn default_template() {
        assert_eq!(
            expand("FILE:%d/krb5cc_%U_XXXXXX", &vars()),
            Ok("FILE:/tmp/krb5cc_10001_XXXXXX".into())
        );
    }

    #[test]
    fn every_expansion() {
        assert_eq!(
            expand("DIR:%h/%u/%p/%r/100%%/%P", &vars()),
            Ok("DIR:/home/alice/alice/alice@EXAMPLE.COM/EXAMPLE.COM/100%/4242".into())
        );
    }

    #[test]
    fn errors() {
        assert!(matches!(
            expand("FILE:/tmp/%x", &vars()),
            Err(TemplateError::Unknown { found: 'x', .. })
        ));
        assert!(matches!(
            expand("FILE:/tmp/a%", &vars()),
            Err(TemplateError::Trailing(_))
        ));
        let mut v = vars();
        v.pid = 0;
        assert!(matches!(
            expand("FILE:/tmp/%P", &v),
            Err(TemplateError::NoPid(_))
        ));
        v.home = None;
        assert!(matches!(
            expand("FILE:%h/cc", &v),
            Err(TemplateError::NoHome(_))
        ));
    }
}
