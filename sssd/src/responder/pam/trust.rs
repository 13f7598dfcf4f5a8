//! Who may ask about which domain: `pam_trusted_users`, `pam_public_domains` and the
//! client's `domains=` list (REQUESTED_DOMAINS).
//!
//! SSSD's rules: root is always trusted; without `pam_trusted_users` every uid is
//! trusted; an untrusted uid may only use public domains (else PAM_PERM_DENIED); a
//! trusted uid's lookup is limited to the requested domains. Our addition (issue 3): a
//! non-root client that is not listed in `pam_trusted_users` and names a non-public
//! domain in `domains=` is refused with PAM_PERM_DENIED, even when `pam_trusted_users`
//! is unset.

use super::settings::TrustedUsers;
use crate::config::DomainOptions;
use crate::responder::common::names::parse_name;

/// How far a client is trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trust {
    /// SSSD's notion: may use non-public domains.
    pub trusted: bool,
    /// Root, or listed in a configured `pam_trusted_users`: may also choose domains.
    pub explicit: bool,
}

/// The trust of `uid` from the numbers alone; `None` when only a name in
/// `pam_trusted_users` could still match (the caller then asks the cache).
pub fn trust_by_uid(uid: u32, trusted: Option<&TrustedUsers>) -> Option<Trust> {
    if uid == 0 {
        return Some(Trust {
            trusted: true,
            explicit: true,
        });
    }
    let Some(t) = trusted else {
        return Some(Trust {
            trusted: true,
            explicit: false,
        });
    };
    if t.uids.contains(&uid) {
        return Some(Trust {
            trusted: true,
            explicit: true,
        });
    }
    if t.names.is_empty() {
        return Some(Trust {
            trusted: false,
            explicit: false,
        });
    }
    None
}

/// Whether `user` (found in `domains[d]`) is one of the `pam_trusted_users` names; an
/// entry written `name@domain` only matches in that domain.
pub fn name_listed(names: &[String], user: &str, d: usize, domains: &[DomainOptions]) -> bool {
    let Some(dom) = domains.get(d) else {
        return false;
    };
    let key = dom.lookup_key(user);
    names.iter().any(|e| match parse_name(e, domains) {
        (n, Some(i)) => i == d && dom.lookup_key(n) == key,
        (n, None) => dom.lookup_key(n) == key,
    })
}

/// Whether `domain` is in `pam_public_domains` (`all` = every domain, `none` = none).
pub fn is_public(domain: &str, public: &[String]) -> bool {
    public
        .iter()
        .any(|p| p.eq_ignore_ascii_case("all") || p.eq_ignore_ascii_case(domain))
}

/// The REQUESTED_DOMAINS item as a list (comma-separated, blanks trimmed, empty
/// entries dropped); `None` when the client sent none.
pub fn requested_domains(item: Option<&str>) -> Option<Vec<String>> {
    item.map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_string)
            .collect()
    })
}

/// Whether a client may send this `domains=` list at all: root and explicitly trusted
/// uids may name any domain, everyone else only public ones.
pub fn may_request(trust: Trust, requested: &[String], public: &[String]) -> bool {
    trust.explicit || requested.iter().all(|d| is_public(d, public))
}

/// What to do once the user was found in `domain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainCheck {
    /// Forward to the backend.
    Forward,
    /// Untrusted client, non-public domain: PAM_PERM_DENIED.
    PermDenied,
    /// The domain was not requested: PAM_USER_UNKNOWN.
    NotRequested,
}

/// SSSD's check before forwarding a request for a user of `domain`.
pub fn check_domain(
    trust: Trust,
    domain: &str,
    requested: Option<&[String]>,
    public: &[String],
) -> DomainCheck {
    if !trust.trusted && !is_public(domain, public) {
        return DomainCheck::PermDenied;
    }
    if let Some(r) = requested
        && trust.trusted
        && !r.iter().any(|x| x.eq_ignore_ascii_case(domain))
    {
        return DomainCheck::NotRequested;
    }
    DomainCheck::Forward
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    const ROOT: Trust = Trust {
        trusted: true,
        explicit: true,
    };
    const DEFAULT: Trust = Trust {
        trusted: true,
        explicit: false,
    };
    const UNTRUSTED: Trust = Trust {
        trusted: false,
        explicit: false,
    };

    #[test]
    fn uid_trust() {
        let listed = TrustedUsers {
            uids: vec![1000],
            names: vec![],
        };
        assert_eq!(trust_by_uid(0, Some(&listed)), Some(ROOT));
        assert_eq!(trust_by_uid(1000, Some(&listed)), Some(ROOT));
        assert_eq!(trust_by_uid(1001, Some(&listed)), Some(UNTRUSTED));
        assert_eq!(trust_by_uid(1001, None), Some(DEFAULT));
        let named = TrustedUsers {
            uids: vec![],
            names: vec!["alice".into()],
        };
        assert_eq!(trust_by_uid(1001, Some(&named)), None);
        assert_eq!(trust_by_uid(0, Some(&named)), Some(ROOT));
    }

    #[test]
    fn names_match_by_domain_rules() {
        let mut doms = vec![
            DomainOptions::defaults("LDAP", "ldap"),
            DomainOptions::defaults("B", "ldap"),
        ];
        doms[1].case_sensitive = false;
        let names = s(&["alice", "bob@B"]);
        assert!(name_listed(&names, "alice", 0, &doms));
        assert!(!name_listed(&names, "Alice", 0, &doms));
        assert!(name_listed(&names, "Alice", 1, &doms));
        assert!(name_listed(&names, "BOB", 1, &doms));
        assert!(!name_listed(&names, "bob", 0, &doms));
        assert!(!name_listed(&names, "alice", 7, &doms));
    }

    #[test]
    fn public_domains_and_requests() {
        let public = s(&["PUB"]);
        assert!(is_public("pub", &public));
        assert!(!is_public("LDAP", &public));
        assert!(is_public("LDAP", &s(&["all"])));
        assert!(!is_public("LDAP", &s(&["none"])));
        assert_eq!(requested_domains(None), None);
        assert_eq!(
            requested_domains(Some(" LDAP, ,PUB ")),
            Some(s(&["LDAP", "PUB"]))
        );
        assert!(may_request(ROOT, &s(&["LDAP"]), &public));
        assert!(!may_request(DEFAULT, &s(&["LDAP"]), &public));
        assert!(!may_request(DEFAULT, &s(&["PUB", "LDAP"]), &public));
        assert!(may_request(DEFAULT, &s(&["PUB"]), &public));
        assert!(may_request(UNTRUSTED, &[], &public));
    }

    #[test]
    fn domain_checks_follow_sssd() {
        let public = s(&["PUB"]);
        assert_eq!(
            check_domain(UNTRUSTED, "LDAP", None, &public),
            DomainCheck::PermDenied
        );
        assert_eq!(
            check_domain(UNTRUSTED, "PUB", None, &public),
            DomainCheck::Forward
        );
        assert_eq!(
            check_domain(DEFAULT, "LDAP", None, &public),
            DomainCheck::Forward
        );
        let req = s(&["ldap"]);
        assert_eq!(
            check_domain(ROOT, "LDAP", Some(&req), &public),
            DomainCheck::Forward
        );
        assert_eq!(
            check_domain(ROOT, "PUB", Some(&req), &public),
            DomainCheck::NotRequested
        );
        // Untrusted users cannot choose a domain: the request list is not applied.
        assert_eq!(
            check_domain(UNTRUSTED, "PUB", Some(&req), &public),
            DomainCheck::Forward
        );
    }
}
