//! `access_provider = ldap` against the private test slapd (skipped with a note when slapd is
//! not installed). Entries with shadow expiry dates and an `employeeType` are added at test
//! time, as the directory manager.

use super::ldap::{AccessRequest, check, check_offline};
use crate::backend::ldap::connection::{Connection, Connector};
use crate::backend::ldap::search::SearchError;
use crate::backend::ldap::{MapCtx, now, test_ctx, test_options, users};
use crate::backend::slapd::{self, ADMIN, ADMIN_PW, BASE};
use crate::config::{AuthOptions, Config};
use crate::model::User;
use ldap3::Mod;
use sss_proto::pam::status::{ACCT_EXPIRED, PERM_DENIED, SUCCESS, SYSTEM_ERR};
use std::collections::HashSet;

fn auth(filter: Option<&str>, order: &[&str], policy: Option<&str>) -> AuthOptions {
    let c = Config::parse(
        "[sssd]\ndomains = D\n[domain/D]\nid_provider = ldap\naccess_provider = ldap\n",
        "test.conf",
    )
    .expect("parses");
    let mut a = AuthOptions::from_config(&c, "D").expect("auth options");
    a.ldap_access_filter = filter.map(str::to_string);
    a.ldap_access_order = order.iter().map(|s| s.to_string()).collect();
    a.ldap_account_expire_policy = policy.map(str::to_string);
    a
}

/// Adds `uid` (uidNumber `number`) with the extra attributes `extra`.
async fn add_user(ldap: &mut ldap3::Ldap, uid: &str, number: u32, extra: &[(&str, &str)]) {
    let n = number.to_string();
    let home = format!("/home/{uid}");
    let mut attrs: Vec<(&str, HashSet<&str>)> = vec![
        (
            "objectClass",
            HashSet::from(["inetOrgPerson", "posixAccount", "shadowAccount"]),
        ),
        ("uid", HashSet::from([uid])),
        ("cn", HashSet::from([uid])),
        ("sn", HashSet::from(["Person"])),
        ("uidNumber", HashSet::from([n.as_str()])),
        ("gidNumber", HashSet::from([n.as_str()])),
        ("homeDirectory", HashSet::from([home.as_str()])),
    ];
    for (a, v) in extra {
        attrs.push((a, HashSet::from([*v])));
    }
    ldap.add(&format!("uid={uid},ou=People,{BASE}"), attrs)
        .await
        .expect("add")
        .success()
        .expect("added");
}

async fn populate(uri: &str) {
    let (conn, mut ldap) = ldap3::LdapConnAsync::new(uri).await.expect("connect");
    ldap3::drive!(conn);
    ldap.simple_bind(ADMIN, ADMIN_PW)
        .await
        .expect("bind")
        .success()
        .expect("bound");
    let today = now() / 86_400;
    let past = (today - 30).to_string();
    let future = (today + 30).to_string();
    add_user(&mut ldap, "expired", 1101, &[("shadowExpire", &past)]).await;
    add_user(
        &mut ldap,
        "expiredadmin",
        1102,
        &[("shadowExpire", &past), ("employeeType", "admin")],
    )
    .await;
    add_user(&mut ldap, "current", 1103, &[("shadowExpire", &future)]).await;
    add_user(&mut ldap, "never", 1104, &[("shadowExpire", "0")]).await;
    add_user(&mut ldap, "noexpiry", 1105, &[]).await;
    ldap.modify(
        &format!("uid=alice,ou=People,{BASE}"),
        vec![Mod::Add("employeeType", HashSet::from(["admin"]))],
    )
    .await
    .expect("modify")
    .success()
    .expect("modified");
    let _ = ldap.unbind().await;
}

struct Env {
    ctx: MapCtx,
    conn: Connection,
}

impl Env {
    async fn user(&self, name: &str) -> User {
        let mut ops = Vec::new();
        users::by_name(&self.ctx, &self.conn, name, &mut ops)
            .await
            .expect("user search")
            .map(|(u, _)| u)
            .unwrap_or_else(|| panic!("no user {name}"))
    }

    async fn decide(&self, opts: &AuthOptions, name: &str) -> i32 {
        let u = self.user(name).await;
        self.decide_for(opts, &u).await
    }

    /// The online decision; also checks that the offline rules, applied to what the online
    /// check learned, decide the same.
    async fn decide_for(&self, opts: &AuthOptions, u: &User) -> i32 {
        let req = AccessRequest::default();
        let (d, learned) = check(&self.ctx, &self.conn, opts, u, &req)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", u.name));
        let st = d.status;
        assert_eq!(
            check_offline(opts, &u.name, &req, Some(&learned), now()),
            d,
            "offline decision for {} from {learned:?}",
            u.name
        );
        st
    }
}

#[tokio::test]
async fn ldap_access_against_private_slapd() {
    let Some(server) = slapd::start() else {
        return;
    };
    populate(&server.uri).await;
    let mut o = test_options();
    o.uris = vec![server.uri.clone()];
    o.id_use_start_tls = false;
    o.network_timeout = 2;
    let (connector, _) = Connector::new(o.clone());
    let conn = connector.connect().await.expect("connected");
    let mut ctx = test_ctx(true);
    ctx.opts = std::sync::Arc::new(o);
    let env = Env { ctx, conn };

    filter_rule(&env).await;
    expire_rule(&env).await;
    orders(&env).await;
    errors(&env).await;
    eprintln!("ldap access scenarios passed against {}", server.uri);
    drop(server);
}

async fn filter_rule(env: &Env) {
    let admin = auth(Some("(employeeType=admin)"), &["filter"], None);
    assert_eq!(env.decide(&admin, "alice").await, SUCCESS);
    assert_eq!(env.decide(&admin, "bob").await, PERM_DENIED);
    assert_eq!(env.decide(&admin, "expiredadmin").await, SUCCESS);
    // Written without parentheses.
    let bare = auth(Some("employeeType=admin"), &["filter"], None);
    assert_eq!(env.decide(&bare, "alice").await, SUCCESS);
    assert_eq!(env.decide(&bare, "carol").await, PERM_DENIED);
    // Other attributes and boolean filters.
    let uid = auth(Some("(uidNumber=1002)"), &["filter"], None);
    assert_eq!(env.decide(&uid, "bob").await, SUCCESS);
    assert_eq!(env.decide(&uid, "alice").await, PERM_DENIED);
    let or = auth(Some("(|(uid=bob)(employeeType=admin))"), &["filter"], None);
    assert_eq!(env.decide(&or, "bob").await, SUCCESS);
    assert_eq!(env.decide(&or, "alice").await, SUCCESS);
    assert_eq!(env.decide(&or, "carol").await, PERM_DENIED);
    let not = auth(Some("(!(employeeType=admin))"), &["filter"], None);
    assert_eq!(env.decide(&not, "alice").await, PERM_DENIED);
    assert_eq!(env.decide(&not, "carol").await, SUCCESS);
    // An attribute the schema does not know is undefined: no match, denied (not an error).
    let unknown = auth(Some("(noSuchAttribute=1)"), &["filter"], None);
    assert_eq!(env.decide(&unknown, "alice").await, PERM_DENIED);
    // The user's name is escaped: a name with filter metacharacters matches literally...
    let any = auth(Some("(objectClass=*)"), &["filter"], None);
    assert_eq!(env.decide(&any, "x*(y)\\z").await, SUCCESS);
    // ...and a forged name cannot widen the filter to match another entry.
    let alice = env.user("alice").await;
    for forged in ["*", "al*", "*)(uid=*", "x)(|(uid=*"] {
        let u = User {
            name: forged.into(),
            ..alice.clone()
        };
        assert_eq!(env.decide_for(&any, &u).await, PERM_DENIED, "{forged}");
    }
    // LDAP compares uid case-insensitively, as the directory defines it.
    let upper = User {
        name: "ALICE".into(),
        ..alice.clone()
    };
    assert_eq!(env.decide_for(&admin, &upper).await, SUCCESS);
    // Without a DN the user is searched under the user base.
    let no_dn = User {
        dn: String::new(),
        ..alice.clone()
    };
    assert_eq!(env.decide_for(&admin, &no_dn).await, SUCCESS);
    let bob_no_dn = User {
        dn: String::new(),
        ..env.user("bob").await
    };
    assert_eq!(env.decide_for(&admin, &bob_no_dn).await, PERM_DENIED);
    // A DN that no longer exists: denied.
    let gone = User {
        dn: format!("uid=gone,ou=People,{BASE}"),
        ..alice.clone()
    };
    assert_eq!(env.decide_for(&admin, &gone).await, PERM_DENIED);
    // The name must be the entry's: alice's entry does not match bob's name.
    let mismatch = User {
        name: "bob".into(),
        ..alice
    };
    assert_eq!(env.decide_for(&admin, &mismatch).await, PERM_DENIED);
}

async fn expire_rule(env: &Env) {
    let shadow = auth(None, &["expire"], Some("shadow"));
    assert_eq!(env.decide(&shadow, "expired").await, ACCT_EXPIRED);
    assert_eq!(env.decide(&shadow, "current").await, SUCCESS);
    assert_eq!(
        env.decide(&shadow, "never").await,
        SUCCESS,
        "0 never expires"
    );
    assert_eq!(env.decide(&shadow, "noexpiry").await, SUCCESS);
    assert_eq!(env.decide(&shadow, "alice").await, SUCCESS);
    // (The policy's case is folded by the configuration: config::access_options tests.)
    // ldap_user_shadow_expire remapped: the attribute named is the one read.
    let mut remapped = auth(None, &["expire"], Some("shadow"));
    remapped.ldap_access.attrs.shadow_expire = "uidNumber".into();
    assert_eq!(
        env.decide(&remapped, "current").await,
        ACCT_EXPIRED,
        "uidNumber 1103 as a day is long past"
    );
    remapped.ldap_access.attrs.shadow_expire = "cn".into();
    assert_eq!(
        env.decide(&remapped, "current").await,
        SYSTEM_ERR,
        "a value that is not a number of days"
    );
    // No policy: denied.
    assert_eq!(
        env.decide(&auth(None, &["expire"], None), "current").await,
        PERM_DENIED
    );
    // The other policies find none of their attributes: allowed.
    for p in ["ad", "rhds", "ipa", "389ds", "nds"] {
        let a = auth(None, &["expire"], Some(p));
        assert_eq!(env.decide(&a, "current").await, SUCCESS, "{p}");
    }
}

async fn orders(env: &Env) {
    let f = Some("(employeeType=admin)");
    let both = auth(f, &["filter", "expire"], Some("shadow"));
    assert_eq!(env.decide(&both, "alice").await, SUCCESS);
    assert_eq!(env.decide(&both, "expiredadmin").await, ACCT_EXPIRED);
    // The first failing rule decides.
    assert_eq!(env.decide(&both, "expired").await, PERM_DENIED);
    let reversed = auth(f, &["expire", "filter"], Some("shadow"));
    assert_eq!(env.decide(&reversed, "expired").await, ACCT_EXPIRED);
    assert_eq!(env.decide(&reversed, "current").await, PERM_DENIED);
    // The other rules after the filter: no policy entry, `ldap_pwd_policy = none` and no
    // remote host allow; no authorizedService / host values deny.
    for (rule, want) in [
        ("lockout", SUCCESS),
        ("ppolicy", SUCCESS),
        ("pwd_expire_policy_reject", SUCCESS),
        ("pwd_expire_policy_warn", SUCCESS),
        ("pwd_expire_policy_renew", SUCCESS),
        ("authorized_service", PERM_DENIED),
        ("host", PERM_DENIED),
        ("rhost", SUCCESS),
    ] {
        let a = auth(f, &["filter", rule], Some("shadow"));
        assert_eq!(env.decide(&a, "alice").await, want, "{rule}");
    }
    // An empty order denies everyone; the default order is "filter".
    assert_eq!(env.decide(&auth(f, &[], None), "alice").await, PERM_DENIED);
    let mut default = auth(f, &[], None);
    default.ldap_access_order = auth(None, &["filter"], None).ldap_access_order;
    assert_eq!(env.decide(&default, "alice").await, SUCCESS);
}

async fn errors(env: &Env) {
    // No filter configured: everyone denied.
    for missing in [None, Some(""), Some("  ")] {
        let a = auth(missing, &["filter"], None);
        assert_eq!(env.decide(&a, "alice").await, PERM_DENIED, "{missing:?}");
    }
    // Bad syntax: denied with an error, no panic, nothing sent.
    let before = env.ctx.searches.load(std::sync::atomic::Ordering::Relaxed);
    for bad in ["(employeeType=admin", "(&(a=1)", "(a=1))(|(b=2)", "(=x)"] {
        let a = auth(Some(bad), &["filter"], None);
        let u = env.user("alice").await;
        assert_eq!(env.decide_for(&a, &u).await, PERM_DENIED, "{bad}");
    }
    let after = env.ctx.searches.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(
        after - before,
        4,
        "only the 4 user lookups reached the server"
    );
    // A DN the server refuses is a server error, returned to the caller.
    let bad_dn = User {
        dn: "this is not a DN".into(),
        ..env.user("alice").await
    };
    let a = auth(Some("(employeeType=admin)"), &["filter"], None);
    match check(&env.ctx, &env.conn, &a, &bad_dn, &AccessRequest::default()).await {
        Err(SearchError::Server { rc, .. }) => assert_eq!(rc, 34, "invalidDNSyntax"),
        other => panic!("expected a server error, got {other:?}"),
    }
}
