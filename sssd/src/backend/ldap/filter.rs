//! LDAP search filters (RFC 4515): value escaping and the filters the provider sends.

use super::ids::{OBJECT_SID, PRIMARY_GROUP_ID};
use crate::config::LdapOptions;

/// Escapes `value` for use inside a filter assertion: `*`, `(`, `)`, `\` and NUL become
/// `\2a`, `\28`, `\29`, `\5c`, `\00`, so a name can never change the filter's structure.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '*' => out.push_str("\\2a"),
            '(' => out.push_str("\\28"),
            ')' => out.push_str("\\29"),
            '\\' => out.push_str("\\5c"),
            '\0' => out.push_str("\\00"),
            c => out.push(c),
        }
    }
    out
}

/// `(attr=value)` with `value` escaped.
pub fn eq(attr: &str, value: &str) -> String {
    format!("({attr}={})", escape(value))
}

/// `(|a b c)` of the given sub-filters; a single one is returned as is.
pub fn or(parts: &[String]) -> String {
    match parts {
        [one] => one.clone(),
        _ => format!("(|{})", parts.concat()),
    }
}

/// Wraps an extra filter from the configuration in parentheses when it lacks them.
fn extra(extra: &Option<String>) -> String {
    match extra.as_deref().map(str::trim) {
        None | Some("") => String::new(),
        Some(f) if f.starts_with('(') => f.to_string(),
        Some(f) => format!("({f})"),
    }
}

/// The filter selecting POSIX users, with `inner` (already escaped) and-ed in. `inner` comes
/// first, as in SSSD: it is the selective, indexed part, so the server narrows the candidates
/// with it before the broad objectClass and presence terms.
/// With `ldap_id_mapping` an objectSid takes the place of uidNumber.
pub fn user(opts: &LdapOptions, inner: &str) -> String {
    let id_attr = if opts.id_mapping.is_some() {
        OBJECT_SID
    } else {
        &opts.user_uid_number
    };
    format!(
        "(&{}(objectClass={})({}=*)({}=*){})",
        inner,
        opts.user_object_class,
        opts.user_name,
        id_attr,
        extra(&opts.user_extra_filter)
    )
}

/// The filter selecting groups of the configured object class, with `inner` and-ed in.
/// `posix` additionally requires a non-zero gidNumber (an objectSid with
/// `ldap_id_mapping`). `inner` comes first, as for users.
pub fn group(opts: &LdapOptions, inner: &str, posix: bool) -> String {
    let gid = if posix && opts.id_mapping.is_some() {
        format!("({OBJECT_SID}=*)")
    } else if posix {
        format!("(&({g}=*)(!({g}=0)))", g = opts.group_gid_number)
    } else {
        String::new()
    };
    format!(
        "(&{}(objectClass={})({}=*){}{})",
        inner,
        opts.group_object_class,
        opts.group_name,
        gid,
        extra(&opts.group_extra_filter)
    )
}

/// Attributes requested for user entries.
pub fn user_attrs(opts: &LdapOptions) -> Vec<String> {
    let mut attrs = vec![
        "objectClass".into(),
        opts.user_name.clone(),
        opts.user_uid_number.clone(),
        opts.user_gid_number.clone(),
        opts.user_gecos.clone(),
        opts.user_fullname.clone(),
        opts.user_home_directory.clone(),
        opts.user_shell.clone(),
        opts.user_principal.clone(),
        opts.user_email.clone(),
        opts.user_ssh_public_key.clone(),
        "modifyTimestamp".into(),
    ];
    if opts.id_mapping.is_some() {
        attrs.extend([OBJECT_SID.into(), PRIMARY_GROUP_ID.into()]);
    }
    attrs
}

/// Attributes requested for group entries.
pub fn group_attrs(opts: &LdapOptions) -> Vec<String> {
    let mut attrs = vec![
        "objectClass".into(),
        opts.group_name.clone(),
        opts.group_gid_number.clone(),
        opts.group_member.clone(),
        "modifyTimestamp".into(),
    ];
    if opts.id_mapping.is_some() {
        attrs.push(OBJECT_SID.into());
    }
    attrs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::ldap::test_options;

    #[test]
    fn special_characters_are_escaped() {
        assert_eq!(escape("a*b(c)d\\e\0"), "a\\2ab\\28c\\29d\\5ce\\00");
        assert_eq!(escape("plain.name-1"), "plain.name-1");
        assert_eq!(eq("uid", "*)(uid=*"), "(uid=\\2a\\29\\28uid=\\2a)");
    }

    #[test]
    fn injection_cannot_add_parentheses() {
        let f = eq("uid", "x)(|(objectClass=*)");
        // Only the two structural parentheses remain.
        assert_eq!(f.matches('(').count(), 1);
        assert_eq!(f.matches(')').count(), 1);
        assert!(ldap3::parse_filter(&f).is_ok());
    }

    #[test]
    fn user_and_group_filters_parse() {
        let mut o = test_options();
        o.user_extra_filter = Some("loginShell=/bin/bash".into());
        let f = user(&o, &eq("uid", "al*ce"));
        assert_eq!(
            f,
            "(&(uid=al\\2ace)(objectClass=posixAccount)(uid=*)(uidNumber=*)(loginShell=/bin/bash))"
        );
        assert!(ldap3::parse_filter(&f).is_ok());
        let g = group(&o, &or(&[eq("cn", "a"), eq("cn", "b")]), true);
        assert!(g.contains("(|(cn=a)(cn=b))"));
        assert!(g.contains("(!(gidNumber=0))"));
        assert!(ldap3::parse_filter(&g).is_ok());
        assert_eq!(or(&[eq("cn", "a")]), "(cn=a)");
    }
}
