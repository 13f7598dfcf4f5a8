//! Distinguished names (RFC 4514): splitting into RDNs, comparing, and telling what a
//! member DN points at without asking the server.

/// One attribute-value pair of an RDN, value unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ava {
    /// Attribute type as written.
    pub attr: String,
    /// Unescaped value.
    pub value: String,
}

/// Splits `dn` into RDNs (each a list of AVAs; more than one for multi-valued RDNs).
/// Returns `None` for a malformed DN.
pub fn parse(dn: &str) -> Option<Vec<Vec<Ava>>> {
    let mut rdns = Vec::new();
    let mut avas = Vec::new();
    let mut attr = String::new();
    let mut value: Vec<u8> = Vec::new();
    let mut in_value = false;
    let bytes = dn.as_bytes();
    let mut i = 0;
    if dn.trim().is_empty() {
        return Some(rdns);
    }
    let finish = |attr: &mut String, value: &mut Vec<u8>| -> Option<Ava> {
        let a = attr.trim().to_string();
        if a.is_empty() {
            return None;
        }
        // Unescaped trailing spaces are insignificant.
        while value.last() == Some(&b' ') {
            value.pop();
        }
        let v = String::from_utf8(std::mem::take(value)).ok()?;
        attr.clear();
        Some(Ava { attr: a, value: v })
    };
    while i < bytes.len() {
        let b = bytes[i];
        if !in_value {
            match b {
                b'=' => in_value = true,
                b',' | b'+' => return None,
                _ => attr.push(b as char),
            }
            i += 1;
            continue;
        }
        match b {
            b'\\' => {
                let next = *bytes.get(i + 1)?;
                if next.is_ascii_hexdigit() {
                    let hex = dn.get(i + 1..i + 3)?;
                    value.push(u8::from_str_radix(hex, 16).ok()?);
                    i += 3;
                } else {
                    value.push(next);
                    i += 2;
                }
                continue;
            }
            b',' | b';' | b'+' => {
                avas.push(finish(&mut attr, &mut value)?);
                in_value = false;
                if b != b'+' {
                    rdns.push(std::mem::take(&mut avas));
                }
            }
            b' ' if value.is_empty() => {}
            _ => value.push(b),
        }
        i += 1;
    }
    if !in_value {
        return None;
    }
    avas.push(finish(&mut attr, &mut value)?);
    rdns.push(avas);
    Some(rdns)
}

/// A canonical form for comparing DNs: attribute types and values lowercased, insignificant
/// spaces removed, special characters re-escaped. Malformed DNs are lowercased as they are.
pub fn normalize(dn: &str) -> String {
    match parse(dn) {
        Some(rdns) => rdns
            .iter()
            .map(|rdn| {
                rdn.iter()
                    .map(|a| {
                        format!(
                            "{}={}",
                            a.attr.to_ascii_lowercase(),
                            escape_value(&a.value.to_lowercase())
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("+")
            })
            .collect::<Vec<_>>()
            .join(","),
        None => dn.to_lowercase(),
    }
}

/// Escapes an attribute value for use in a DN.
pub fn escape_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for (i, c) in v.chars().enumerate() {
        match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=' => {
                out.push('\\');
                out.push(c);
            }
            '#' | ' ' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            '\0' => out.push_str("\\00"),
            c => out.push(c),
        }
    }
    out
}

/// True when `dn` is `base` or below it (both compared in normal form). An empty base
/// contains everything.
pub fn is_under(dn_norm: &str, base_norm: &str) -> bool {
    base_norm.is_empty()
        || dn_norm == base_norm
        || dn_norm
            .strip_suffix(base_norm)
            .is_some_and(|head| head.ends_with(','))
}

/// The single-valued first RDN of `dn` as (attribute, value), if it has that shape.
pub fn first_rdn(dn: &str) -> Option<Ava> {
    let mut rdns = parse(dn)?;
    if rdns.is_empty() {
        return None;
    }
    let mut first = rdns.swap_remove(0);
    (first.len() == 1).then(|| first.swap_remove(0))
}

/// What a member DN refers to, decided from its shape alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberKind {
    /// A user whose login name is the RDN value.
    User(String),
    /// Probably a (nested) group: RDN attribute is the group name attribute.
    Group,
    /// Cannot tell without reading the entry.
    Unknown,
}

/// Classifies a member DN. `user_name_attr` and `group_name_attr` are the configured
/// attribute names; `group_bases` the normalised group search bases. A DN whose RDN is the
/// user name attribute is a user unless it lies under a group base while not under a user
/// base; a DN whose RDN is the group name attribute under a group base is a group.
pub fn classify(
    dn: &str,
    user_name_attr: &str,
    group_name_attr: &str,
    user_bases: &[String],
    group_bases: &[String],
) -> MemberKind {
    let Some(rdn) = first_rdn(dn) else {
        return MemberKind::Unknown;
    };
    let norm = normalize(dn);
    let under_users = user_bases.iter().any(|b| is_under(&norm, b));
    let under_groups = group_bases.iter().any(|b| is_under(&norm, b));
    if rdn.attr.eq_ignore_ascii_case(user_name_attr) && (under_users || !under_groups) {
        return MemberKind::User(rdn.value);
    }
    if rdn.attr.eq_ignore_ascii_case(group_name_attr) && under_groups {
        return MemberKind::Group;
    }
    MemberKind::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_unescapes() {
        let r = parse("uid=a\\,b ,ou=People, dc=example,dc=com").unwrap_or_default();
        assert_eq!(r.len(), 4);
        assert_eq!(r[0][0].attr, "uid");
        assert_eq!(r[0][0].value, "a,b");
        assert_eq!(r[2][0].attr, "dc");
        let r = parse("cn=x\\2By+sn=z,dc=e").unwrap_or_default();
        assert_eq!(r[0].len(), 2);
        assert_eq!(r[0][0].value, "x+y");
        assert_eq!(parse("garbage"), None);
        assert_eq!(parse("=x"), None);
        assert_eq!(parse("a=b\\"), None);
        assert_eq!(parse(""), Some(vec![]));
    }

    #[test]
    fn normalizes_for_comparison() {
        assert_eq!(
            normalize("UID=Alice, OU=People,DC=Example"),
            "uid=alice,ou=people,dc=example"
        );
        assert_eq!(normalize("cn=a\\2cb,dc=x"), "cn=a\\,b,dc=x");
        assert!(is_under("uid=a,ou=people,dc=x", "dc=x"));
        assert!(is_under("dc=x", "dc=x"));
        assert!(!is_under("uid=a,ou=people,dc=xx", "dc=x"));
        assert!(is_under("dc=anything", ""));
    }

    #[test]
    fn classifies_member_dns() {
        let ub = vec![normalize("ou=People,dc=x")];
        let gb = vec![normalize("ou=Groups,dc=x")];
        let c = |dn| classify(dn, "uid", "cn", &ub, &gb);
        assert_eq!(
            c("uid=alice,ou=People,dc=x"),
            MemberKind::User("alice".into())
        );
        assert_eq!(c("uid=svc,ou=Other,dc=x"), MemberKind::User("svc".into()));
        assert_eq!(c("cn=admins,ou=Groups,dc=x"), MemberKind::Group);
        assert_eq!(c("cn=John Doe,ou=People,dc=x"), MemberKind::Unknown);
        assert_eq!(c("uid=a+sn=b,ou=People,dc=x"), MemberKind::Unknown);
        assert_eq!(c("not a dn"), MemberKind::Unknown);
        // Same base for users and groups: uid= is a user, cn= a group candidate.
        let all = vec![normalize("dc=x")];
        assert_eq!(
            classify("uid=bob,dc=x", "uid", "cn", &all, &all),
            MemberKind::User("bob".into())
        );
        assert_eq!(
            classify("cn=g,dc=x", "uid", "cn", &all, &all),
            MemberKind::Group
        );
    }
}
