//! Unit tests of the ldap access orchestration (no server).

use super::*;
use crate::backend::ldap::test_ctx;
use crate::config::Config;

fn auth(filter: Option<&str>, order: &[&str], policy: Option<&str>) -> AuthOptions {
    let c = Config::parse(
        "[sssd]\ndomains = D\n[domain/D]\nid_provider = ldap\n",
        "test.conf",
    )
    .expect("parses");
    let mut a = AuthOptions::from_config(&c, "D").expect("auth options");
    a.access_provider = "ldap".into();
    a.ldap_access_filter = filter.map(str::to_string);
    a.ldap_access_order = order.iter().map(|s| s.to_string()).collect();
    a.ldap_account_expire_policy = policy.map(str::to_string);
    a
}

#[test]
fn filters_are_wrapped_escaped_and_validated() {
    let ctx = test_ctx(true);
    let a = auth(Some("employeeType=admin"), &["filter"], None);
    assert_eq!(
        access_filter(&ctx, &a, "alice").as_deref(),
        Ok("(&(uid=alice)(objectClass=posixAccount)(employeeType=admin))")
    );
    let a = auth(Some(" (|(a=1)(b=2)) "), &["filter"], None);
    assert_eq!(
        access_filter(&ctx, &a, "x*(y)\\z").as_deref(),
        Ok("(&(uid=x\\2a\\28y\\29\\5cz)(objectClass=posixAccount)(|(a=1)(b=2)))")
    );
    for missing in [None, Some(""), Some("   ")] {
        let a = auth(missing, &["filter"], None);
        assert_eq!(
            access_filter(&ctx, &a, "alice"),
            Err(AccessConfigError::NoFilter)
        );
    }
    for bad in [
        "(employeeType=admin",
        "(&(a=1)",
        "((a=1))",
        "(a=1))(|(b=2)",
        "(a=1)junk",
        "(=x)",
    ] {
        let a = auth(Some(bad), &["filter"], None);
        let e = access_filter(&ctx, &a, "alice").expect_err(bad);
        assert_eq!(e, AccessConfigError::BadFilter(bad.to_string()));
        assert!(e.to_string().contains("ldap_access_filter"), "{e}");
    }
}

#[test]
fn offline_decisions_use_what_the_online_check_learned() {
    let now = 20_000 * 86_400 + 3600;
    let entry = |v: &str| {
        Some(vec![(
            "shadowexpire".to_owned(),
            vec![v.as_bytes().to_vec()],
        )])
    };
    let rec = |filter_matched, entry: Option<Vec<crate::cache::AccessAttr>>| AccessRecord {
        filter_matched,
        lockout_allowed: None,
        entry,
    };
    let filter = auth(Some("(a=1)"), &["filter"], None);
    let both = auth(Some("(a=1)"), &["filter", "expire"], Some("shadow"));
    let req = AccessRequest::default();
    let d = |o: &AuthOptions, r: Option<&AccessRecord>| check_offline(o, "u", &req, r, now).status;
    // Never checked online: denied.
    assert_eq!(d(&filter, None), status::PERM_DENIED);
    assert_eq!(d(&filter, Some(&rec(Some(true), None))), status::SUCCESS);
    assert_eq!(
        d(&filter, Some(&rec(Some(false), None))),
        status::PERM_DENIED
    );
    // The expire rule compares the value read online with today.
    let at = |v: &str| rec(Some(true), entry(v));
    assert_eq!(d(&both, Some(&at("20001"))), status::SUCCESS);
    assert_eq!(d(&both, Some(&at("20000"))), status::ACCT_EXPIRED);
    assert_eq!(d(&both, Some(&at("garbage"))), status::SYSTEM_ERR);
    assert_eq!(
        d(&both, Some(&rec(Some(true), Some(vec![])))),
        status::SUCCESS
    );
    // A rule the online check did not reach (the order changed since): denied.
    assert_eq!(d(&both, Some(&rec(Some(true), None))), status::PERM_DENIED);
    let expire_first = auth(Some("(a=1)"), &["expire", "filter"], Some("shadow"));
    assert_eq!(
        d(&expire_first, Some(&rec(None, entry("1")))),
        status::ACCT_EXPIRED
    );
    // The lockout result is cached as allowed / denied; never checked: denied.
    let pp = auth(None, &["ppolicy"], None);
    let locked = |v| AccessRecord {
        lockout_allowed: v,
        ..AccessRecord::default()
    };
    assert_eq!(d(&pp, Some(&locked(Some(true)))), status::SUCCESS);
    assert_eq!(d(&pp, Some(&locked(Some(false)))), status::PERM_DENIED);
    assert_eq!(d(&pp, Some(&locked(None))), status::PERM_DENIED);
    // Configuration that denies online denies offline too.
    let no_policy = auth(Some("(a=1)"), &["filter", "expire"], None);
    assert_eq!(d(&no_policy, Some(&at("20001"))), status::PERM_DENIED);
    assert_eq!(
        d(&auth(Some("(a=1)"), &[], None), Some(&at("1"))),
        status::PERM_DENIED
    );
    // Entry rules use the request offline too.
    let mut svc = auth(None, &["authorized_service"], None);
    svc.ldap_access.attrs.authorized_service = "authorizedService".into();
    let r = rec(
        None,
        Some(vec![("authorizedservice".into(), vec![b"sshd".to_vec()])]),
    );
    let sshd = AccessRequest {
        service: "sshd",
        ..AccessRequest::default()
    };
    assert_eq!(
        check_offline(&svc, "u", &sshd, Some(&r), now).status,
        status::SUCCESS
    );
    let login = AccessRequest {
        service: "login",
        ..AccessRequest::default()
    };
    let out = check_offline(&svc, "u", &login, Some(&r), now);
    assert_eq!(out.status, status::PERM_DENIED);
    assert_eq!(out.items.len(), 1, "the message for the user");
}

#[test]
fn only_the_attributes_of_configured_rules_are_fetched() {
    let mut a = auth(None, &["filter"], None);
    assert!(entry_attrs(&a).is_empty());
    a.ldap_access_order = [
        "expire",
        "host",
        "rhost",
        "authorized_service",
        "pwd_expire_policy_warn",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    a.ldap_account_expire_policy = Some("ipa".into());
    a.ldap_access.pwd_policy = "mit_kerberos".into();
    assert_eq!(
        entry_attrs(&a),
        [
            "nsAccountLock",
            "userAccountControl",
            "accountExpires",
            "host",
            "rhost",
            "authorizedService",
            "krbLastPwdChange",
            "krbPasswordExpiration"
        ]
    );
}
