//! `access_provider = simple`: allow and deny lists of user and group names
//! (`simple_allow_users`, `simple_deny_users`, `simple_allow_groups`, `simple_deny_groups`).
//!
//! Rules (sssd-simple(5)): with every list empty everyone is allowed; a match in a deny list
//! denies, whatever the allow lists say; when an allow list is set, only the users it names
//! and the members of the groups it names are allowed; with only deny lists set, everyone
//! they do not name is allowed.
//!
//! Names may be written fully qualified (`name@domain`). A qualified entry matches only a
//! user or group of that domain (domains compare case-insensitively); an unqualified entry
//! matches by short name. Short names compare case-insensitively unless the domain is
//! `case_sensitive`.

use crate::config::SimpleAccessOptions;
use sss_proto::pam::status;

/// `name` split into its short name and, when written `name@domain`, its domain.
/// A name starting with `@` or ending with `@` is not qualified.
pub fn split_name(name: &str) -> (&str, Option<&str>) {
    match name.split_once('@') {
        Some((short, dom)) if !short.is_empty() && !dom.is_empty() => (short, Some(dom)),
        _ => (name, None),
    }
}

/// Whether two short names are the same under the domain's case rule.
fn same_short(a: &str, b: &str, case_sensitive: bool) -> bool {
    if case_sensitive {
        a == b
    } else {
        a == b || a.to_lowercase() == b.to_lowercase()
    }
}

/// Whether list entry `entry` names `name` (a user or group of `domain`, when known).
///
/// The domain of `name` is its own qualification if it has one, else `domain`. When an
/// entry and the name both have a domain, the domains must be equal; when the name's domain
/// is unknown, only the short names are compared.
pub fn entry_matches(entry: &str, name: &str, domain: Option<&str>, case_sensitive: bool) -> bool {
    let entry = entry.trim();
    if entry.is_empty() {
        return false;
    }
    let (entry_short, entry_dom) = split_name(entry);
    let (short, own_dom) = split_name(name);
    if let (Some(a), Some(b)) = (entry_dom, own_dom.or(domain))
        && a.to_lowercase() != b.to_lowercase()
    {
        return false;
    }
    same_short(entry_short, short, case_sensitive)
}

/// The first entry of `list` naming `name`, if any.
fn find<'a>(
    list: &'a [String],
    name: &str,
    domain: Option<&str>,
    case_sensitive: bool,
) -> Option<&'a str> {
    list.iter()
        .map(String::as_str)
        .find(|e| entry_matches(e, name, domain, case_sensitive))
}

/// Whether any entry of `list` is set (blank entries do not count).
fn is_set(list: &[String]) -> bool {
    list.iter().any(|e| !e.trim().is_empty())
}

/// Decides access for `user` (member of `groups`, primary group included) of `domain`
/// (`None` when the caller does not know it): a Linux-PAM status, SUCCESS or PERM_DENIED.
pub fn check(
    opts: &SimpleAccessOptions,
    domain: Option<&str>,
    user: &str,
    groups: &[String],
    case_sensitive: bool,
) -> i32 {
    if let Some(e) = find(&opts.deny_users, user, domain, case_sensitive) {
        tracing::info!("simple access: {user:?} denied by simple_deny_users entry {e:?}");
        return status::PERM_DENIED;
    }
    for g in groups {
        if let Some(e) = find(&opts.deny_groups, g, domain, case_sensitive) {
            tracing::info!(
                "simple access: {user:?} denied: group {g:?} is in simple_deny_groups ({e:?})"
            );
            return status::PERM_DENIED;
        }
    }
    if !is_set(&opts.allow_users) && !is_set(&opts.allow_groups) {
        tracing::debug!("simple access: no allow list set, {user:?} allowed");
        return status::SUCCESS;
    }
    if let Some(e) = find(&opts.allow_users, user, domain, case_sensitive) {
        tracing::debug!("simple access: {user:?} allowed by simple_allow_users entry {e:?}");
        return status::SUCCESS;
    }
    for g in groups {
        if let Some(e) = find(&opts.allow_groups, g, domain, case_sensitive) {
            tracing::debug!(
                "simple access: {user:?} allowed: group {g:?} is in simple_allow_groups ({e:?})"
            );
            return status::SUCCESS;
        }
    }
    tracing::info!(
        "simple access: {user:?} denied: not in simple_allow_users nor a member of a \
         simple_allow_groups group"
    );
    status::PERM_DENIED
}

#[cfg(test)]
mod tests {
    use super::*;
    use status::{PERM_DENIED as NO, SUCCESS as OK};

    fn v(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn opts(au: &[&str], du: &[&str], ag: &[&str], dg: &[&str]) -> SimpleAccessOptions {
        SimpleAccessOptions {
            allow_users: v(au),
            deny_users: v(du),
            allow_groups: v(ag),
            deny_groups: v(dg),
        }
    }

    struct Case {
        what: &'static str,
        opts: SimpleAccessOptions,
        domain: Option<&'static str>,
        user: &'static str,
        groups: &'static [&'static str],
        case_sensitive: bool,
        want: i32,
    }

    fn case(
        what: &'static str,
        opts: SimpleAccessOptions,
        user: &'static str,
        groups: &'static [&'static str],
        want: i32,
    ) -> Case {
        Case {
            what,
            opts,
            domain: Some("LDAP"),
            user,
            groups,
            case_sensitive: true,
            want,
        }
    }

    fn insensitive(mut c: Case) -> Case {
        c.case_sensitive = false;
        c
    }

    fn no_domain(mut c: Case) -> Case {
        c.domain = None;
        c
    }

    #[test]
    fn table() {
        let e: &[&str] = &[];
        let cases = [
            // Empty lists: everyone.
            case("all empty", opts(e, e, e, e), "alice", &["devs"], OK),
            case("all empty, no groups", opts(e, e, e, e), "zed", &[], OK),
            case(
                "blank entries only",
                opts(&[" "], e, &[""], e),
                "zed",
                &[],
                OK,
            ),
            // Allow users.
            case(
                "allowed user",
                opts(&["alice", "bob"], e, e, e),
                "bob",
                &[],
                OK,
            ),
            case(
                "other user",
                opts(&["alice"], e, e, e),
                "carol",
                &["devs"],
                NO,
            ),
            // Allow groups.
            case(
                "allowed group",
                opts(e, e, &["ops"], e),
                "carol",
                &["x", "ops"],
                OK,
            ),
            case(
                "no allowed group",
                opts(e, e, &["ops"], e),
                "alice",
                &["devs"],
                NO,
            ),
            case(
                "allowed group, no groups",
                opts(e, e, &["ops"], e),
                "a",
                &[],
                NO,
            ),
            case(
                "user or group",
                opts(&["bob"], e, &["ops"], e),
                "carol",
                &["ops"],
                OK,
            ),
            case(
                "user or group 2",
                opts(&["bob"], e, &["ops"], e),
                "bob",
                &[],
                OK,
            ),
            case(
                "neither",
                opts(&["bob"], e, &["ops"], e),
                "dave",
                &["all"],
                NO,
            ),
            // Deny lists alone: everyone else.
            case("denied user", opts(e, &["eve"], e, e), "eve", &[], NO),
            case(
                "not denied",
                opts(e, &["eve"], e, e),
                "alice",
                &["devs"],
                OK,
            ),
            case(
                "denied group",
                opts(e, e, e, &["devs"]),
                "alice",
                &["devs"],
                NO,
            ),
            case(
                "denied group other",
                opts(e, e, e, &["devs"]),
                "carol",
                &["ops"],
                OK,
            ),
            // Deny wins over allow.
            case(
                "deny user > allow user",
                opts(&["a"], &["a"], e, e),
                "a",
                &[],
                NO,
            ),
            case(
                "deny user > allow grp",
                opts(e, &["a"], &["g"], e),
                "a",
                &["g"],
                NO,
            ),
            case(
                "deny grp > allow user",
                opts(&["a"], e, e, &["g"]),
                "a",
                &["g"],
                NO,
            ),
            case(
                "deny grp > allow grp",
                opts(e, e, &["g"], &["h"]),
                "a",
                &["g", "h"],
                NO,
            ),
            case(
                "allow with deny other",
                opts(&["a"], &["b"], e, e),
                "a",
                &[],
                OK,
            ),
            // Case sensitivity.
            case(
                "case-sensitive user",
                opts(&["Alice"], e, e, e),
                "alice",
                &[],
                NO,
            ),
            case(
                "case-sensitive group",
                opts(e, e, &["Devs"], e),
                "a",
                &["devs"],
                NO,
            ),
            case(
                "case-sensitive deny",
                opts(e, &["EVE"], e, e),
                "eve",
                &[],
                OK,
            ),
            insensitive(case(
                "insensitive user",
                opts(&["Alice"], e, e, e),
                "alice",
                &[],
                OK,
            )),
            insensitive(case(
                "insensitive grp",
                opts(e, e, &["DEVS"], e),
                "a",
                &["devs"],
                OK,
            )),
            insensitive(case(
                "insensitive deny",
                opts(e, &["EVE"], e, e),
                "Eve",
                &[],
                NO,
            )),
            insensitive(case(
                "unicode case",
                opts(&["ÉMILE"], e, e, e),
                "émile",
                &[],
                OK,
            )),
            // Fully qualified names, in the lists and in the request.
            case("fq entry", opts(&["alice@LDAP"], e, e, e), "alice", &[], OK),
            case(
                "fq entry, domain case",
                opts(&["alice@ldap"], e, e, e),
                "alice",
                &[],
                OK,
            ),
            case(
                "fq entry other domain",
                opts(&["alice@AD"], e, e, e),
                "alice",
                &[],
                NO,
            ),
            case("fq user", opts(&["alice"], e, e, e), "alice@LDAP", &[], OK),
            case(
                "fq both",
                opts(&["alice@LDAP"], e, e, e),
                "alice@LDAP",
                &[],
                OK,
            ),
            case(
                "fq user other domain",
                opts(&["alice@LDAP"], e, e, e),
                "alice@AD",
                &[],
                NO,
            ),
            case(
                "fq group",
                opts(e, e, &["ops@LDAP"], e),
                "carol",
                &["ops"],
                OK,
            ),
            case(
                "fq member group",
                opts(e, e, &["ops"], e),
                "c",
                &["ops@LDAP"],
                OK,
            ),
            case(
                "fq deny other domain",
                opts(e, &["eve@AD"], e, e),
                "eve",
                &[],
                OK,
            ),
            case("fq deny", opts(e, &["eve@LDAP"], e, e), "eve", &[], NO),
            case(
                "fq deny group",
                opts(e, e, e, &["devs@LDAP"]),
                "a",
                &["devs"],
                NO,
            ),
            insensitive(case(
                "fq insensitive",
                opts(&["ALICE@LDAP"], e, e, e),
                "alice",
                &[],
                OK,
            )),
            // Unknown domain: the user's own qualification, else the short name decides.
            no_domain(case(
                "own domain",
                opts(&["alice@AD"], e, e, e),
                "alice@LDAP",
                &[],
                NO,
            )),
            no_domain(case(
                "own domain ok",
                opts(&["alice@AD"], e, e, e),
                "alice@AD",
                &[],
                OK,
            )),
            no_domain(case(
                "short only",
                opts(&["alice@LDAP"], e, e, e),
                "alice",
                &[],
                OK,
            )),
            // Names that only look qualified, and filter metacharacters, are literal.
            case("leading @", opts(&["@x"], e, e, e), "@x", &[], OK),
            case("trailing @", opts(&["x@"], e, e, e), "x@", &[], OK),
            case(
                "metachars",
                opts(&["x*(y)\\z"], e, e, e),
                "x*(y)\\z",
                &[],
                OK,
            ),
            case("no wildcard", opts(&["*"], e, e, e), "alice", &[], NO),
            case(
                "spaces trimmed",
                opts(&[" alice "], e, e, e),
                "alice",
                &[],
                OK,
            ),
        ];
        for c in &cases {
            let got = check(&c.opts, c.domain, c.user, &v(c.groups), c.case_sensitive);
            assert_eq!(got, c.want, "{}", c.what);
        }
    }

    #[test]
    fn names_split_on_the_first_at() {
        assert_eq!(split_name("alice@LDAP"), ("alice", Some("LDAP")));
        assert_eq!(split_name("a@b@c"), ("a", Some("b@c")));
        assert_eq!(split_name("alice"), ("alice", None));
        assert_eq!(split_name("@x"), ("@x", None));
        assert_eq!(split_name("x@"), ("x@", None));
    }
}
