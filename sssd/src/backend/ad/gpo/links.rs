//! Which GPOs are linked to the computer, in SSSD's order: the scopes of management (each
//! OU above the computer, the domain, the site), their `gPLink` values, inheritance blocking
//! (`gPOptions = 1`) and enforced links.

use thiserror::Error;

use crate::backend::ldap::dn;

/// A malformed `gPLink` or `gPOptions` value.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum LinkError {
    /// The value of `attr` on `som` cannot be read.
    #[error("{som}: malformed {attr} value {value:?}")]
    Malformed {
        /// The container holding it.
        som: String,
        /// `gPLink` or `gPOptions`.
        attr: &'static str,
        /// The value.
        value: String,
    },
}

/// One link of a `gPLink` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The linked GPO's DN.
    pub dn: String,
    /// Whether the link is enforced.
    pub enforced: bool,
}

/// The OU and domain scopes above `target_dn`, nearest first, ending with the domain (the
/// first `DC=` parent); containers (`CN=`) are skipped.
pub fn scopes(target_dn: &str) -> Vec<String> {
    let Some(rdns) = dn::parse(target_dn) else {
        return Vec::new();
    };
    // The parents as suffixes of the original text: split at unescaped commas.
    let mut cuts = Vec::new();
    let mut escaped = false;
    for (i, c) in target_dn.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            ',' if !escaped => cuts.push(i + 1),
            _ => escaped = false,
        }
    }
    let mut out = Vec::new();
    for (k, at) in cuts.iter().enumerate() {
        let Some(first) = rdns.get(k + 1).and_then(|r| r.first()) else {
            break;
        };
        let parent = target_dn[*at..].trim_start().to_string();
        let kind = first.attr.to_ascii_uppercase();
        if kind == "OU" || kind == "DC" {
            out.push(parent);
        }
        if kind == "DC" {
            break;
        }
    }
    out
}

/// The links of `raw` (`[LDAP://dn;options]...`) on `som`: options 1 and 3 (disabled) are
/// dropped, and so are unenforced links when `enforced_only` (a nearer scope blocks
/// inheritance).
pub fn parse_gplink(som: &str, raw: &str, enforced_only: bool) -> Result<Vec<Link>, LinkError> {
    let bad = || LinkError::Malformed {
        som: som.to_string(),
        attr: "gPLink",
        value: raw.to_string(),
    };
    let mut out = Vec::new();
    let mut rest = raw.trim();
    while !rest.is_empty() {
        let body = rest.strip_prefix('[').ok_or_else(bad)?;
        let end = body.find(']').ok_or_else(bad)?;
        let link = &body[..end];
        rest = body[end + 1..].trim_start();
        let (dn, options) = link.rsplit_once(';').ok_or_else(bad)?;
        let dn = match dn.get(..7) {
            Some(p) if p.eq_ignore_ascii_case("LDAP://") => &dn[7..],
            _ => dn,
        };
        let options: u32 = options.trim().parse().map_err(|_| bad())?;
        match options {
            1 | 3 => {}
            0 if enforced_only => {}
            0 | 2 => out.push(Link {
                dn: dn.to_string(),
                enforced: options == 2,
            }),
            _ => return Err(bad()),
        }
    }
    Ok(out)
}

/// Whether a `gPOptions` value blocks inheritance (1); absent is 0.
pub fn blocks_inheritance(som: &str, raw: Option<&str>) -> Result<bool, LinkError> {
    match raw.map(str::trim) {
        None => Ok(false),
        Some(v) => v
            .parse::<u32>()
            .map(|n| n != 0)
            .map_err(|_| LinkError::Malformed {
                som: som.to_string(),
                attr: "gPOptions",
                value: v.to_string(),
            }),
    }
}

/// The GPO DNs to process, in order, from each scope's links (scopes nearest first:
/// OUs, the domain, the site): the unenforced links from the farthest scope to the
/// nearest, then the enforced ones from the nearest to the farthest, so that later GPOs
/// win and enforced ones from higher up win over all.
pub fn candidates(links: &[Vec<Link>]) -> Vec<String> {
    let unenforced = links
        .iter()
        .rev()
        .flat_map(|l| l.iter().filter(|k| !k.enforced));
    let enforced = links.iter().flat_map(|l| l.iter().filter(|k| k.enforced));
    unenforced.chain(enforced).map(|k| k.dn.clone()).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn scopes_skip_containers_and_stop_at_the_domain() {
        assert_eq!(
            scopes("CN=client1,CN=Computers,DC=corp,DC=example,DC=com"),
            ["DC=corp,DC=example,DC=com"]
        );
        assert_eq!(
            scopes("CN=c\\,1,OU=Linux,OU=Hosts,DC=corp,DC=com"),
            [
                "OU=Linux,OU=Hosts,DC=corp,DC=com",
                "OU=Hosts,DC=corp,DC=com",
                "DC=corp,DC=com"
            ]
        );
    }

    #[test]
    fn gplink_values() {
        let raw = "[LDAP://cn={A},cn=policies,cn=system,DC=x;0][LDAP://cn={B},DC=x;2][ldap://cn={C},DC=x;1]";
        let l = parse_gplink("DC=x", raw, false).unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].dn, "cn={A},cn=policies,cn=system,DC=x");
        assert!(l[1].enforced);
        assert_eq!(parse_gplink("DC=x", raw, true).unwrap().len(), 1);
        assert!(parse_gplink("DC=x", "[LDAP://cn=a;9]", false).is_err());
        assert!(parse_gplink("DC=x", "[LDAP://cn=a;x]", false).is_err());
        assert!(parse_gplink("DC=x", "[LDAP://cn=a", false).is_err());
        assert!(parse_gplink("DC=x", " ", false).unwrap().is_empty());
        assert!(blocks_inheritance("DC=x", Some("1")).unwrap());
        assert!(!blocks_inheritance("DC=x", None).unwrap());
        assert!(blocks_inheritance("DC=x", Some("z")).is_err());
    }

    #[test]
    fn order_is_unenforced_from_the_top_then_enforced_from_the_bottom() {
        let l = |dn: &str, enforced| Link {
            dn: dn.into(),
            enforced,
        };
        let links = vec![
            vec![l("ou1", false), l("ou1e", true)],
            vec![l("dom", false), l("dome", true)],
            vec![l("site", false)],
        ];
        assert_eq!(candidates(&links), ["site", "dom", "ou1", "ou1e", "dome"]);
    }
}
