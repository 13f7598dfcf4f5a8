//! Reading the rootDSE to find the search base when `ldap_search_base` is unset.

use super::search::{Entry, SearchError, SearchSpec, search};
use ldap3::{Ldap, Scope};
use std::time::Duration;

/// Reads `defaultNamingContext` / `namingContexts` from the rootDSE of the server.
pub async fn discover_base(
    ldap: &Ldap,
    uri: &str,
    timeout: Duration,
) -> Result<String, SearchError> {
    let attrs = vec!["defaultNamingContext".into(), "namingContexts".into()];
    let spec = SearchSpec::unpaged("", Scope::Base, "(objectClass=*)", attrs, timeout);
    let entries = search(ldap, uri, spec).await?;
    entries
        .first()
        .and_then(pick_base)
        .ok_or_else(|| SearchError::Server {
            uri: uri.to_string(),
            base: String::new(),
            rc: 32,
            text: "rootDSE names no naming context; set ldap_search_base".into(),
        })
}

/// Chooses the base from a rootDSE entry: `defaultNamingContext` if present, else the
/// only (or first non-configuration) `namingContexts` value.
pub fn pick_base(root: &Entry) -> Option<String> {
    if let Some(d) = root.first("defaultNamingContext").filter(|s| !s.is_empty()) {
        return Some(d.to_string());
    }
    let ctxs = root.values("namingContexts");
    ctxs.iter()
        .find(|c| !c.is_empty() && !c.to_ascii_lowercase().starts_with("cn=config"))
        .or_else(|| ctxs.first())
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_default_then_naming_contexts() {
        let e = Entry::new(
            "",
            &[
                ("namingContexts", &["dc=a"]),
                ("defaultNamingContext", &["dc=b"]),
            ],
        );
        assert_eq!(pick_base(&e).as_deref(), Some("dc=b"));
        let e = Entry::new(
            "",
            &[("namingContexts", &["cn=config", "dc=example,dc=com"])],
        );
        assert_eq!(pick_base(&e).as_deref(), Some("dc=example,dc=com"));
        assert_eq!(pick_base(&Entry::new("", &[])), None);
    }
}
