//! PAM dispatch tests: decisions without a server, and LDAP authentication, password change
//! and cached credentials against a private slapd.

use super::offline::hash_password;
use super::{PAM_MODULE_UNKNOWN, user_info};
use crate::backend::Backend;
use crate::backend::slapd::{self, BASE};
use crate::backend::store::{CacheOp, CacheStore, MemStore, Store};
use crate::backend::tests::{auth_opts, domain, ldap_opts, pam_opts, req};
use crate::cache::{Cache, Credentials};
use crate::config::LdapOptions;
use crate::model::{Group, User};
use crate::sbus::{DP_ERR_OK, EntryType, Filter, PamForward, PamResult};
use sss_proto::Command;
use sss_proto::pam::{authtok, response, status};
use std::sync::Arc;
use zeroize::Zeroizing;

fn fwd(cmd: Command, user: &str, pw: &str, new: &str) -> PamForward {
    let tok = |s: &str| {
        if s.is_empty() {
            (authtok::EMPTY, Zeroizing::new(Vec::new()))
        } else {
            (authtok::PASSWORD, Zeroizing::new(s.as_bytes().to_vec()))
        }
    };
    let (t, a) = tok(pw);
    let (nt, n) = tok(new);
    PamForward {
        cmd: cmd as u16,
        domain: "LDAP".into(),
        user: user.into(),
        service: "login".into(),
        authtok_type: t,
        authtok: a,
        new_authtok_type: nt,
        new_authtok: n,
        cli_pid: 1,
        ..PamForward::default()
    }
}

fn backend_with(o: LdapOptions, auth: &str, pam: &str, store: Arc<dyn Store>) -> Backend {
    Backend::new(&domain(), o, auth_opts(auth), pam_opts(pam), store)
}

/// A store holding user alice (uid 1001, primary group devs 2001, member of ops 2002).
fn mem_store() -> Arc<MemStore> {
    let s = Arc::new(MemStore::default());
    let alice = User {
        name: "alice".into(),
        uid: 1001,
        gid: 2001,
        dn: format!("uid=alice,ou=People,{BASE}"),
        ..User::default()
    };
    let g = |name: &str, gid| Group {
        name: name.into(),
        gid,
        ..Group::default()
    };
    s.apply(
        &[
            CacheOp::PutUser(alice, i64::MAX),
            CacheOp::PutGroup(g("devs", 2001), i64::MAX),
            CacheOp::PutGroup(g("ops", 2002), i64::MAX),
            CacheOp::SetInitgroups {
                name: "alice".into(),
                gids: vec![2002],
                expire: i64::MAX,
            },
        ],
        0,
    )
    .unwrap();
    s
}

async fn st(b: &Backend, f: PamForward) -> i32 {
    b.pam(f).await.pam_status
}

fn user_info(r: &PamResult, subtype: u32) -> Option<Vec<u8>> {
    r.items.iter().find_map(|(t, d)| {
        (*t == response::USER_INFO && d.get(..4) == Some(&subtype.to_ne_bytes()[..]))
            .then(|| d[4..].to_vec())
    })
}

#[tokio::test]
async fn session_access_and_misrouted_requests() {
    // No server: nothing here may contact one.
    let closed = ldap_opts("ldap://127.0.0.1:1");
    let b = backend_with(closed.clone(), "", "", mem_store());
    for c in [
        Command::PamSetCred,
        Command::PamOpenSession,
        Command::PamCloseSession,
        Command::PamAcctMgmt,
    ] {
        assert_eq!(
            st(&b, fwd(c, "alice", "", "")).await,
            status::SUCCESS,
            "{c:?}"
        );
    }
    let mut unknown = fwd(Command::PamAuthenticate, "alice", "x", "");
    unknown.cmd = 0xF8;
    assert_eq!(st(&b, unknown).await, status::SYSTEM_ERR);
    let mut other = fwd(Command::PamAuthenticate, "alice", "x", "");
    other.domain = "OTHER".into();
    assert_eq!(st(&b, other).await, status::SYSTEM_ERR);
    let nobody = fwd(Command::PamAuthenticate, "nobody", "x", "");
    assert_eq!(st(&b, nobody).await, status::USER_UNKNOWN);
    // access_provider = deny.
    let deny = backend_with(closed.clone(), "access_provider = deny", "", mem_store());
    let acct = fwd(Command::PamAcctMgmt, "alice", "", "");
    assert_eq!(st(&deny, acct.clone()).await, status::PERM_DENIED);
    // access_provider = simple: the primary group counts, deny lists win.
    for (lists, want) in [
        ("simple_allow_groups = devs", status::SUCCESS),
        ("simple_allow_groups = ops", status::SUCCESS),
        ("simple_allow_users = bob", status::PERM_DENIED),
        (
            "simple_allow_users = alice\nsimple_deny_groups = devs",
            status::PERM_DENIED,
        ),
    ] {
        let auth = format!("access_provider = simple\n{lists}");
        let b = backend_with(closed.clone(), &auth, "", mem_store());
        assert_eq!(st(&b, acct.clone()).await, want, "{lists}");
    }
    // Providers set to none.
    let none = backend_with(
        closed.clone(),
        "auth_provider = none\nchpass_provider = none",
        "",
        mem_store(),
    );
    let auth = fwd(Command::PamAuthenticate, "alice", "pw", "");
    assert_eq!(st(&none, auth.clone()).await, PAM_MODULE_UNKNOWN);
    let chpass = fwd(Command::PamChAuthTokPrelim, "alice", "pw", "");
    assert_eq!(st(&none, chpass).await, PAM_MODULE_UNKNOWN);
    // Offline without cached credentials: AUTHINFO_UNAVAIL; no old password: refused.
    let ldap = backend_with(closed, "", "", mem_store());
    assert_eq!(st(&ldap, auth).await, status::AUTHINFO_UNAVAIL);
    assert!(ldap.is_offline());
    let reset = fwd(Command::PamChAuthTokPrelim, "alice", "", "");
    assert_eq!(st(&ldap, reset).await, status::PERM_DENIED);
    // Offline password change: AUTHTOK_ERR + OFFLINE_CHPASS.
    let r = ldap
        .pam(fwd(Command::PamChAuthTok, "alice", "old", "new"))
        .await;
    assert_eq!(r.pam_status, status::AUTHTOK_ERR);
    assert!(user_info(&r, user_info::OFFLINE_CHPASS).is_some());
}

#[tokio::test]
async fn offline_auth_uses_the_cached_hash() {
    let store = mem_store();
    let creds = Credentials {
        hash: hash_password(b"cached-pw").unwrap(),
        last_online_auth: crate::backend::ldap::now(),
        ..Credentials::default()
    };
    store.put_credentials("alice", Some(&creds)).unwrap();
    let b = backend_with(
        ldap_opts("ldap://127.0.0.1:1"),
        "cache_credentials = true",
        "offline_failed_login_attempts = 2\noffline_failed_login_delay = 5",
        store.clone(),
    );
    let auth = |pw: &str| fwd(Command::PamAuthenticate, "alice", pw, "");
    let r = b.pam(auth("cached-pw")).await;
    assert_eq!(r.pam_status, status::SUCCESS);
    assert_eq!(
        user_info(&r, user_info::OFFLINE_AUTH),
        Some(0i64.to_ne_bytes().to_vec())
    );
    assert_eq!(st(&b, auth("wrong")).await, status::AUTH_ERR);
    assert_eq!(st(&b, auth("wrong")).await, status::AUTH_ERR);
    assert_eq!(store.snapshot().credentials["alice"].failed_attempts, 2);
    // Two failures: delayed, even with the right password.
    let r = b.pam(auth("cached-pw")).await;
    assert_eq!(r.pam_status, status::PERM_DENIED);
    let until = user_info(&r, user_info::OFFLINE_AUTH_DELAYED).unwrap();
    let until = i64::from_ne_bytes(until.try_into().unwrap());
    assert!(until > crate::backend::ldap::now() + 200);
    // An empty password never authenticates, online or not.
    assert_eq!(st(&b, auth("")).await, status::AUTH_ERR);
}

/// A backend over `uri` with the user bind allowed in clear text, and its cache filled.
async fn online(uri: &str, auth: &str, pam: &str, store: Arc<dyn Store>) -> Backend {
    let auth = format!("ldap_auth_disable_tls_never_use_in_production = true\n{auth}");
    let b = backend_with(ldap_opts(uri), &auth, pam, store);
    for u in ["alice", "bob", "carol", "dave"] {
        let r = b
            .handle(req(EntryType::Initgroups, Filter::Name(u.into())))
            .await;
        assert_eq!(r.dp_error, DP_ERR_OK, "{}", r.message);
    }
    b
}

#[tokio::test]
async fn pam_against_private_slapd() {
    let Some(mut server) = slapd::start() else {
        return;
    };
    let uri = server.uri.clone();
    ldap_auth_results(&uri).await;
    tls_is_required(&server).await;
    password_change(&uri).await;
    let dir = tempfile::tempdir().unwrap();
    let cache = Arc::new(Cache::open(dir.path(), "LDAP").unwrap());
    cached_credentials(&mut server, &cache).await;
}

async fn ldap_auth_results(uri: &str) {
    let store = Arc::new(MemStore::default());
    let b = online(uri, "", "", store.clone()).await;
    let auth = |u: &str, pw: &str| fwd(Command::PamAuthenticate, u, pw, "");
    assert_eq!(st(&b, auth("alice", "alice-pw")).await, status::SUCCESS);
    assert_eq!(st(&b, auth("alice", "bob-pw")).await, status::AUTH_ERR);
    assert_eq!(st(&b, auth("alice", "")).await, status::AUTH_ERR);
    assert_eq!(st(&b, auth("nobody", "x")).await, status::USER_UNKNOWN);
    // A cached DN the directory does not have.
    let ghost = User {
        name: "ghost".into(),
        uid: 4242,
        gid: 4242,
        dn: format!("uid=ghost,ou=People,{BASE}"),
        ..User::default()
    };
    store
        .apply(&[CacheOp::PutUser(ghost, i64::MAX)], 0)
        .unwrap();
    assert_eq!(st(&b, auth("ghost", "x")).await, status::AUTH_ERR);
    // Without cache_credentials nothing is stored.
    assert!(store.snapshot().credentials.is_empty());
    // PRELIM checks the old password.
    let prelim = |pw: &str| fwd(Command::PamChAuthTokPrelim, "alice", pw, "");
    assert_eq!(st(&b, prelim("alice-pw")).await, status::SUCCESS);
    assert_eq!(st(&b, prelim("nope")).await, status::AUTH_ERR);
    // access_provider = ldap on the identity connection.
    let access = online(
        uri,
        "access_provider = ldap\nldap_access_filter = (uid=alice)",
        "",
        store,
    )
    .await;
    let acct = |u: &str| fwd(Command::PamAcctMgmt, u, "", "");
    assert_eq!(st(&access, acct("alice")).await, status::SUCCESS);
    assert_eq!(st(&access, acct("bob")).await, status::PERM_DENIED);
}

async fn tls_is_required(server: &slapd::Slapd) {
    let store = Arc::new(MemStore::default());
    drop(online(&server.uri, "", "", store.clone()).await);
    let auth = fwd(Command::PamAuthenticate, "alice", "alice-pw", "");
    let Some(ca) = &server.ca else {
        return;
    };
    // Without the override the user bind always uses StartTLS, even on a plain ldap://
    // identity setup: with the right CA it works.
    let mut o = ldap_opts(&server.uri);
    assert!(!o.id_use_start_tls);
    o.tls_reqcert = "demand".into();
    o.tls_cacert = Some(ca.display().to_string());
    let b = backend_with(o.clone(), "", "", store.clone());
    assert_eq!(st(&b, auth.clone()).await, status::SUCCESS);
    let wrong = fwd(Command::PamAuthenticate, "alice", "x", "");
    assert_eq!(st(&b, wrong).await, status::AUTH_ERR);
    // A server certificate that cannot be verified: no password is sent, the server counts
    // as unreachable for authentication (no cached password here: AUTHINFO_UNAVAIL).
    if let Some(other) = &server.other_ca {
        o.tls_cacert = Some(other.display().to_string());
        let b = backend_with(o, "", "", store.clone());
        assert_eq!(st(&b, auth.clone()).await, status::AUTHINFO_UNAVAIL);
        assert!(b.is_offline());
    }
}

async fn password_change(uri: &str) {
    let store = Arc::new(MemStore::default());
    let b = online(uri, "cache_credentials = true", "", store.clone()).await;
    let chpass = |old: &str, new: &str| fwd(Command::PamChAuthTok, "dave", old, new);
    // Wrong old password: refused, nothing changes.
    assert_eq!(st(&b, chpass("bad", "N3w-pw")).await, status::AUTH_ERR);
    let r = b.pam(chpass("dave-pw", "N3w-pw")).await;
    assert_eq!(r.pam_status, status::SUCCESS, "{r:?}");
    let auth = |pw: &str| fwd(Command::PamAuthenticate, "dave", pw, "");
    assert_eq!(st(&b, auth("N3w-pw")).await, status::SUCCESS);
    assert_eq!(st(&b, auth("dave-pw")).await, status::AUTH_ERR);
    // The cached hash follows the change.
    let c = store.snapshot().credentials["dave"].clone();
    assert!(super::offline::verify_password(b"N3w-pw", &c.hash));
    // An empty new password is refused with a message.
    let r = b.pam(chpass("N3w-pw", "")).await;
    assert_eq!(r.pam_status, status::AUTHTOK_ERR);
    assert!(user_info(&r, user_info::CHPASS_ERROR).is_some());
    // ldap_pwmodify_mode = ldap_modify: a modify of userPassword as the user.
    let m = online(uri, "ldap_pwmodify_mode = ldap_modify", "", store).await;
    let chpass = |old: &str, new: &str| fwd(Command::PamChAuthTok, "carol", old, new);
    assert_eq!(st(&m, chpass("carol-pw", "M0d-pw")).await, status::SUCCESS);
    let auth = |pw: &str| fwd(Command::PamAuthenticate, "carol", pw, "");
    assert_eq!(st(&m, auth("M0d-pw")).await, status::SUCCESS);
    assert_eq!(st(&m, auth("carol-pw")).await, status::AUTH_ERR);
    assert_eq!(st(&m, chpass("M0d-pw", "carol-pw")).await, status::SUCCESS);
}

async fn cached_credentials(server: &mut slapd::Slapd, cache: &Arc<Cache>) {
    let store: Arc<dyn Store> = Arc::new(CacheStore(cache.clone()));
    let b = online(&server.uri, "cache_credentials = true", "", store.clone()).await;
    let fresh = online(
        &server.uri,
        "cache_credentials = true\ncached_auth_timeout = 600",
        "",
        store.clone(),
    )
    .await;
    let auth = |u: &str, pw: &str| fwd(Command::PamAuthenticate, u, pw, "");
    let r = b.pam(auth("bob", "bob-pw")).await;
    assert_eq!(r, PamResult::status(status::SUCCESS));
    assert_eq!(st(&fresh, auth("carol", "carol-pw")).await, status::SUCCESS);
    // A failed online login stores nothing.
    assert_eq!(st(&b, auth("alice", "wrong")).await, status::AUTH_ERR);
    assert!(cache.credentials("alice").unwrap().is_none());
    let c = cache.credentials("bob").unwrap().unwrap();
    assert!(c.hash.starts_with("$6$"));
    assert_eq!(c.failed_attempts, 0);
    assert!(c.last_online_auth > 0);
    // The hash is in no NSS-visible record.
    let users = format!("{:?}", cache.all_users().unwrap());
    assert!(users.contains("bob") && !users.contains("$6$"));
    assert!(!format!("{c:?}").contains("$6$"));

    server.stop();
    // Offline: the cached password works, a wrong one does not, a cached user without a
    // cached password is refused (PERM_DENIED, as SSSD).
    let r = b.pam(auth("bob", "bob-pw")).await;
    assert_eq!(r.pam_status, status::SUCCESS);
    assert!(user_info(&r, user_info::OFFLINE_AUTH).is_some());
    assert!(b.is_offline());
    assert_eq!(st(&b, auth("bob", "alice-pw")).await, status::AUTH_ERR);
    assert_eq!(
        cache.credentials("bob").unwrap().unwrap().failed_attempts,
        1
    );
    assert_eq!(st(&b, auth("dave", "dave-pw")).await, status::PERM_DENIED);
    // cached_auth_timeout: answered from the cache without trying the server (no offline
    // notice), then a wrong password falls back to the (unreachable) server.
    let r = fresh.pam(auth("carol", "carol-pw")).await;
    assert_eq!(r, PamResult::status(status::SUCCESS));
    assert!(!fresh.is_offline());
    assert_eq!(st(&fresh, auth("carol", "x")).await, status::AUTH_ERR);
    assert!(fresh.is_offline());
    // Password change while offline.
    let r = b
        .pam(fwd(Command::PamChAuthTokPrelim, "bob", "bob-pw", ""))
        .await;
    assert_eq!(r.pam_status, status::AUTHTOK_ERR);
    assert!(user_info(&r, user_info::OFFLINE_CHPASS).is_some());
}

#[tokio::test]
async fn krb5_principal_is_upn_else_name_at_realm() {
    let closed = ldap_opts("ldap://127.0.0.1:1");
    let b = backend_with(
        closed.clone(),
        "auth_provider = krb5\nkrb5_realm = EXAMPLE.COM",
        "",
        mem_store(),
    );
    let mut u = User {
        name: "alice".into(),
        ..User::default()
    };
    assert_eq!(b.krb5_principal(&u).as_deref(), Some("alice@EXAMPLE.COM"));
    u.upn = Some("Alice@OTHER.ORG".into());
    assert_eq!(b.krb5_principal(&u).as_deref(), Some("Alice@OTHER.ORG"));
    // No realm and no principal in the entry: a configuration error, not a wrong password.
    let none = backend_with(closed, "auth_provider = krb5", "", mem_store());
    u.upn = None;
    assert_eq!(none.krb5_principal(&u), None);
    let auth = fwd(Command::PamAuthenticate, "alice", "pw", "");
    assert_eq!(st(&none, auth).await, status::SYSTEM_ERR);
    let chpass = fwd(Command::PamChAuthTok, "alice", "pw", "new");
    let chpass_b = backend_with(
        ldap_opts("ldap://127.0.0.1:1"),
        "auth_provider = krb5\nchpass_provider = krb5",
        "",
        mem_store(),
    );
    assert_eq!(st(&chpass_b, chpass).await, status::SYSTEM_ERR);
}
