//! Backend tests: offline behaviour without a server, and every request type against a
//! private slapd (skipped with a note when slapd is not installed).

use super::Backend;
use super::ldap::test_options;
use super::slapd::{self, ADMIN, ADMIN_PW, BASE, BIG};
use super::store::{CacheOp, MemStore, Store};
use crate::config::{DomainOptions, LdapOptions};
use crate::model::User;
use crate::sbus::{AccountRequest, DP_ERR_OFFLINE, DP_ERR_OK, DpReply, EntryType, Filter};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(super) fn domain() -> DomainOptions {
    DomainOptions {
        min_id: 1000,
        entry_cache_group_timeout: 3600,
        offline_timeout_random_offset: 0,
        ..DomainOptions::defaults("LDAP", "ldap")
    }
}

pub(super) fn ldap_opts(uri: &str) -> LdapOptions {
    let mut o = test_options();
    o.uris = vec![uri.to_string()];
    o.id_use_start_tls = false;
    o.network_timeout = 2;
    o
}

fn bis(mut o: LdapOptions, level: u32) -> LdapOptions {
    o.rfc2307bis = true;
    o.group_member = "member".into();
    o.group_nesting_level = level;
    o
}

pub(super) fn req(t: EntryType, f: Filter) -> AccountRequest {
    AccountRequest {
        dp_flags: 0,
        entry_type: t,
        filter: f,
        domain: "LDAP".into(),
        extra: String::new(),
        cli_id: 1,
    }
}

fn name(s: &str) -> Filter {
    Filter::Name(s.into())
}

fn backend(dom: DomainOptions, o: LdapOptions) -> (Backend, Arc<MemStore>) {
    let store = Arc::new(MemStore::default());
    (
        Backend::new(&dom, o, auth_opts(""), pam_opts(""), store.clone()),
        store,
    )
}

/// Auth options of `[domain/LDAP]` (id_provider = ldap) plus the `extra` lines.
pub(super) fn auth_opts(extra: &str) -> crate::config::AuthOptions {
    let text = format!("[domain/LDAP]\nid_provider = ldap\n{extra}\n");
    let cfg = crate::config::Config::parse(&text, "test").unwrap();
    crate::config::AuthOptions::from_config(&cfg, "LDAP").unwrap()
}

/// `[pam]` options with the `extra` lines.
pub(super) fn pam_opts(extra: &str) -> crate::config::PamOptions {
    let cfg = crate::config::Config::parse(&format!("[pam]\n{extra}\n"), "test").unwrap();
    crate::config::PamOptions::from_config(&cfg).unwrap()
}

async fn ok(b: &Backend, t: EntryType, f: Filter) {
    let r: DpReply = b.handle(req(t, f.clone())).await;
    assert_eq!(r.dp_error, DP_ERR_OK, "{t:?} {f:?}: {}", r.message);
}

fn members(s: &MemStore, g: &str) -> Vec<String> {
    s.snapshot()
        .groups
        .get(g)
        .map(|(g, _)| g.members.clone())
        .unwrap_or_default()
}

fn initgroups(s: &MemStore, u: &str) -> Vec<u32> {
    let mut v = s
        .snapshot()
        .initgroups
        .get(u)
        .map(|(g, _)| g.clone())
        .unwrap_or_default();
    v.sort_unstable();
    v
}

#[tokio::test]
async fn unreachable_server_replies_offline_quickly() {
    // A closed port, then a server that accepts but never answers (StartTLS hangs).
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_uri = format!("ldap://{}", silent.local_addr().unwrap());
    let keep = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let mut o = ldap_opts("ldap://127.0.0.1:1");
    o.uris.push(silent_uri);
    o.id_use_start_tls = true;
    o.network_timeout = 1;
    let (b, _) = backend(domain(), o);
    let t0 = Instant::now();
    let r = b.handle(req(EntryType::User, name("alice"))).await;
    assert_eq!(r.dp_error, DP_ERR_OFFLINE, "{}", r.message);
    assert!(
        t0.elapsed() < Duration::from_millis(2500),
        "took {:?}",
        t0.elapsed()
    );
    assert!(b.is_offline());
    // While offline, requests are answered at once without trying the servers.
    let t1 = Instant::now();
    let r = b.handle(req(EntryType::Group, name("devs"))).await;
    assert_eq!(r.dp_error, DP_ERR_OFFLINE);
    assert!(t1.elapsed() < Duration::from_millis(100));
    keep.abort();
}

#[tokio::test]
async fn against_private_slapd() {
    let Some(mut server) = slapd::start() else {
        return;
    };
    let uri = server.uri.clone();
    users_and_groups_rfc2307(&uri).await;
    real_cache_is_written(&uri).await;
    rfc2307bis_nesting(&uri).await;
    big_group_is_one_search(&uri).await;
    failover_offline_and_reset(&uri).await;
    coalescing_shares_one_search(&uri).await;
    enumeration_stores_all_and_prunes(&uri).await;
    enumeration_survives_overlapping_lookups(&uri).await;
    deleted_entries_leave_the_cache(&uri).await;
    tls_policies(&server).await;
    server_restart_and_outage(&mut server).await;
    hung_server_times_out(&server).await;
    eprintln!("LDAP scenarios passed against {uri}");
    drop(server);
}

async fn users_and_groups_rfc2307(uri: &str) {
    let (b, s) = backend(domain(), ldap_opts(uri));
    ok(&b, EntryType::User, name("alice")).await;
    ok(&b, EntryType::User, Filter::IdNumber(1002)).await;
    // A fully qualified name of this domain is looked up by its short name.
    ok(&b, EntryType::User, name("carol@ldap")).await;
    assert!(s.snapshot().users.contains_key("carol"));
    let d = s.snapshot();
    let alice = &d.users["alice"].0;
    assert_eq!((alice.uid, alice.gid), (1001, 1001));
    assert_eq!(alice.gecos, "alice Person", "gecos falls back to cn");
    assert_eq!(alice.dn, format!("uid=alice,ou=People,{BASE}"));
    assert_eq!(d.users["bob"].0.gecos, "Bob the Builder");
    assert!(d.users["alice"].1 > super::ldap::now() + 5000);
    // Filter metacharacters in a name are matched literally.
    ok(&b, EntryType::User, name("x*(y)\\z")).await;
    assert_eq!(s.snapshot().users["x*(y)\\z"].0.uid, 1006);
    ok(&b, EntryType::User, name("*")).await;
    ok(&b, EntryType::User, name("al*")).await;
    assert_eq!(s.snapshot().users.len(), 4);
    // Outside min_id: ignored, i.e. not found.
    ok(&b, EntryType::User, name("lowid")).await;
    assert!(!s.snapshot().users.contains_key("lowid"));
    // Groups by name and gid, members from memberUid.
    ok(&b, EntryType::Group, name("devs")).await;
    ok(&b, EntryType::Group, Filter::IdNumber(2002)).await;
    assert_eq!(members(&s, "devs"), ["alice", "bob"]);
    assert_eq!(members(&s, "ops"), ["carol"]);
    assert_eq!(
        s.snapshot().groups["ops"].1 / 10,
        (super::ldap::now() + 3600) / 10
    );
    // Initgroups.
    ok(&b, EntryType::Initgroups, name("alice")).await;
    assert_eq!(initgroups(&s, "alice"), [2001]);
    ok(&b, EntryType::Initgroups, name("carol")).await;
    assert_eq!(initgroups(&s, "carol"), [2002, 2006]);
    // Unknown user and group: OK, and nothing cached.
    ok(&b, EntryType::User, name("nobody")).await;
    ok(&b, EntryType::Group, Filter::IdNumber(4242)).await;
    ok(&b, EntryType::Initgroups, name("nobody")).await;
    assert!(!s.snapshot().users.contains_key("nobody"));

    // Authenticated bind; a wrong password makes the server unusable (offline).
    let mut o = ldap_opts(uri);
    o.default_bind_dn = Some(ADMIN.into());
    o.default_authtok = Some(ADMIN_PW.into());
    let (b, _) = backend(domain(), o);
    ok(&b, EntryType::User, name("alice")).await;
    let mut o = ldap_opts(uri);
    o.default_bind_dn = Some(ADMIN.into());
    o.default_authtok = Some("wrong".into());
    let (b, _) = backend(domain(), o);
    let r = b.handle(req(EntryType::User, name("alice"))).await;
    assert_eq!(r.dp_error, DP_ERR_OFFLINE, "{}", r.message);
    assert!(r.message.contains("rc=49"), "{}", r.message);
    assert!(
        !r.message.contains("wrong"),
        "the password never appears in messages"
    );

    // Small pages: every page is collected.
    let mut o = ldap_opts(uri);
    o.page_size = 2;
    o.user_gecos = "sn".into();
    let mut dom = domain();
    dom.enumerate = true;
    let (b, s) = backend(dom, o);
    assert_eq!(b.enumerate().await.dp_error, DP_ERR_OK);
    let d = s.snapshot();
    assert_eq!(d.users.len(), 7);
    assert_eq!(
        d.users["alice"].0.gecos, "Person",
        "ldap_user_gecos remapped to sn"
    );

    // SSSD's base?scope?filter form of a search base.
    let mut o = ldap_opts(uri);
    o.user_search_base = Some(format!("ou=People,{BASE}?onelevel?(!(uid=bob))"));
    o.group_search_base = Some(format!("{BASE}?base?"));
    let (b, s) = backend(domain(), o);
    ok(&b, EntryType::User, name("alice")).await;
    ok(&b, EntryType::User, name("bob")).await;
    ok(&b, EntryType::Group, name("devs")).await;
    let d = s.snapshot();
    assert!(d.users.contains_key("alice"));
    assert!(!d.users.contains_key("bob"), "excluded by the base filter");
    assert!(
        d.groups.is_empty(),
        "base scope finds no group below the suffix"
    );

    // Case-insensitive domain: names stored lowercased.
    let mut dom = domain();
    dom.case_sensitive = false;
    let (b, s) = backend(dom, ldap_opts(uri));
    ok(&b, EntryType::User, name("ALICE")).await;
    ok(&b, EntryType::Group, name("DEVS")).await;
    assert!(s.snapshot().users.contains_key("alice"));
    assert!(s.snapshot().groups.contains_key("devs"));
    // memberUid matches case-exactly: the directory's spelling of the name is searched.
    ok(&b, EntryType::Initgroups, name("FRANK")).await;
    assert_eq!(initgroups(&s, "frank"), [2005]);
    assert_eq!(members(&s, "mixed"), ["frank"]);
}

async fn rfc2307bis_nesting(uri: &str) {
    let expect_all = [
        vec!["dave"],
        vec!["dave", "carol"],
        vec!["dave", "carol", "alice", "bob"],
    ];
    let expect_init = [vec![2001], vec![2001, 2002], vec![2001, 2002, 2003]];
    for level in 0..3u32 {
        let (b, s) = backend(domain(), bis(ldap_opts(uri), level));
        ok(&b, EntryType::Group, name("all")).await;
        assert_eq!(
            members(&s, "all"),
            expect_all[level as usize],
            "level {level}"
        );
        ok(&b, EntryType::Initgroups, name("alice")).await;
        assert_eq!(
            initgroups(&s, "alice"),
            expect_init[level as usize],
            "level {level}"
        );
        // Stored groups carry the members their entries name directly.
        assert_eq!(members(&s, "devs"), ["alice", "bob"]);
    }
    // A member DN whose RDN differs in case from the login name: one batched user search.
    let (b, s) = backend(domain(), bis(ldap_opts(uri), 2));
    ok(&b, EntryType::User, name("alice")).await;
    let before = b.searches();
    ok(&b, EntryType::Group, name("casedn")).await;
    assert_eq!(members(&s, "casedn"), ["carol"]);
    assert_eq!(b.searches() - before, 2);
    // Initgroups does not overwrite a complete cached group with a partial one, and stores
    // a group it cannot complete cheaply as expired.
    ok(&b, EntryType::Initgroups, name("carol")).await;
    assert_eq!(initgroups(&s, "carol"), [2002, 2003, 2006]);
    assert_eq!(members(&s, "casedn"), ["carol"]);
    assert_eq!(
        s.snapshot().groups["ops"].1,
        0,
        "ops has a nested member: stored expired"
    );
    assert!(
        s.snapshot().groups["ops"]
            .0
            .members
            .contains(&"carol".to_string())
    );
    // Nested groups the cache holds fresh are not searched again (all > ops > devs): their
    // cached members count; once expired, they are read from the directory again.
    let (b, s) = backend(domain(), bis(ldap_opts(uri), 2));
    ok(&b, EntryType::Group, name("ops")).await;
    let before = b.searches();
    ok(&b, EntryType::Group, name("all")).await;
    assert_eq!(b.searches() - before, 1, "ops comes from the cache");
    assert_eq!(members(&s, "all"), expect_all[2]);
    let ops = s.snapshot().groups["ops"].0.clone();
    s.apply(&[CacheOp::PutGroup(ops, 0)], 0).unwrap();
    let before = b.searches();
    ok(&b, EntryType::Group, name("all")).await;
    assert!(b.searches() - before > 1, "expired ops is searched");
    assert_eq!(members(&s, "all"), expect_all[2]);
    // A member DN of unknown shape (cn=Eve Odd) is read once and resolved.
    let (b, s) = backend(domain(), bis(ldap_opts(uri), 2));
    ok(&b, EntryType::Group, name("odd")).await;
    assert_eq!(members(&s, "odd"), ["eve"]);
    // Search base discovered from the rootDSE when unset; explicit bases work too.
    let mut o = bis(ldap_opts(uri), 2);
    o.user_search_base = Some(format!("ou=People,{BASE}"));
    o.group_search_base = Some(format!("ou=Groups,{BASE}"));
    let (b, s) = backend(domain(), o);
    ok(&b, EntryType::Group, name("all")).await;
    assert_eq!(members(&s, "all").len(), 4);
}

async fn big_group_is_one_search(uri: &str) {
    for o in [ldap_opts(uri), bis(ldap_opts(uri), 2)] {
        let (b, s) = backend(domain(), o);
        // Connect first so that only the group lookup is counted.
        ok(&b, EntryType::User, name("alice")).await;
        let before = b.searches();
        let t0 = Instant::now();
        ok(&b, EntryType::Group, name("big")).await;
        assert_eq!(
            b.searches() - before,
            1,
            "one search for a {BIG}-member group"
        );
        assert_eq!(members(&s, "big").len(), BIG);
        assert!(t0.elapsed() < Duration::from_secs(5));
    }
}

async fn failover_offline_and_reset(uri: &str) {
    let mut o = ldap_opts("ldap://127.0.0.1:1");
    o.uris.push(uri.to_string());
    let (b, s) = backend(domain(), o);
    ok(&b, EntryType::User, name("alice")).await;
    assert_eq!(b.active_uri(), 1, "the working server is remembered");
    assert!(s.snapshot().users.contains_key("alice"));
    // goOffline forces offline; resetOffline lets the next request reconnect.
    b.go_offline().await;
    let r = b.handle(req(EntryType::User, name("bob"))).await;
    assert_eq!(r.dp_error, DP_ERR_OFFLINE);
    b.reset_offline();
    ok(&b, EntryType::User, name("bob")).await;
    assert!(!b.is_offline());
}

async fn coalescing_shares_one_search(uri: &str) {
    let (b, _) = backend(domain(), ldap_opts(uri));
    ok(&b, EntryType::User, name("alice")).await;
    let before = b.searches();
    let mut hs = Vec::new();
    for _ in 0..20 {
        let b = b.clone();
        hs.push(tokio::spawn(async move {
            b.handle(req(EntryType::Initgroups, name("bob"))).await
        }));
    }
    for h in hs {
        assert_eq!(h.await.unwrap().dp_error, DP_ERR_OK);
    }
    // One initgroups = user search + group search, shared by all 20 callers (allow one
    // straggler that arrived after the first finished).
    let n = b.searches() - before;
    assert!(n == 2 || n == 4, "{n} searches for 20 identical requests");
}

async fn enumeration_stores_all_and_prunes(uri: &str) {
    let mut dom = domain();
    dom.enumerate = true;
    for o in [ldap_opts(uri), bis(ldap_opts(uri), 2)] {
        let (b, s) = backend(dom.clone(), o);
        let stale = User {
            name: "gone".into(),
            uid: 7777,
            ..User::default()
        };
        s.apply(&[CacheOp::PutUser(stale, 1)], 0).unwrap();
        let before = b.searches();
        let r = b.enumerate().await;
        assert_eq!(r.dp_error, DP_ERR_OK, "{}", r.message);
        // Users, groups, services, hosts and networks (resolver_provider defaults to ldap):
        // one search each, plus at most one more.
        let n = b.searches() - before;
        assert!(n <= 6, "{n} searches for one enumeration");
        let d = s.snapshot();
        assert!(!d.users.contains_key("gone"));
        assert!(!d.users.contains_key("lowid"));
        assert_eq!(d.users.len(), 7, "{:?}", d.users.keys().collect::<Vec<_>>());
        assert_eq!(d.groups.len(), 7);
        assert_eq!(d.groups["casedn"].0.members, ["carol"]);
        assert_eq!(d.groups["big"].0.members.len(), BIG);
        assert_eq!(d.groups["odd"].0.members, ["eve"]);
    }
    // Enumeration requests from the responder are answered without searching: the
    // periodic task does the work.
    let (b, s) = backend(dom, ldap_opts(uri));
    ok(&b, EntryType::User, Filter::Enumerate).await;
    assert!(s.snapshot().users.is_empty());
    assert_eq!(b.searches(), 0);
    // The periodic task refreshes at once and then every refresh timeout.
    let mut o = ldap_opts(uri);
    o.enumeration_refresh_timeout = 1;
    let mut dom = domain();
    dom.enumerate = true;
    let (b, s) = backend(dom, o);
    let task = tokio::spawn(b.clone().run_enumeration());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    task.abort();
    assert_eq!(s.snapshot().users.len(), 7);
    assert!(s.snapshot().batches >= 2, "refreshed again after 1 s");
}

/// slapd keeps one paged search per connection: lookups running while an enumeration pages
/// through the directory must not invalidate its paging cookie.
async fn enumeration_survives_overlapping_lookups(uri: &str) {
    let mut dom = domain();
    dom.enumerate = true;
    let mut o = ldap_opts(uri);
    o.page_size = 2;
    let (b, s) = backend(dom, o);
    let lookups = async {
        for n in 0..40 {
            let who = ["alice", "bob", "carol", "dave"][n % 4];
            ok(&b, EntryType::User, name(who)).await;
        }
    };
    let (r, ()) = tokio::join!(b.enumerate(), lookups);
    assert_eq!(r.dp_error, DP_ERR_OK, "{}", r.message);
    assert_eq!(s.snapshot().users.len(), 7);
}

async fn deleted_entries_leave_the_cache(uri: &str) {
    let (b, s) = backend(domain(), ldap_opts(uri));
    ok(&b, EntryType::User, name("dave")).await;
    ok(&b, EntryType::User, Filter::IdNumber(1003)).await;
    ok(&b, EntryType::Group, name("all")).await;
    assert!(s.snapshot().users.contains_key("dave"));
    let (conn, mut ldap) = ldap3::LdapConnAsync::new(uri).await.unwrap();
    ldap3::drive!(conn);
    ldap.simple_bind(ADMIN, ADMIN_PW)
        .await
        .unwrap()
        .success()
        .unwrap();
    for dn in [
        format!("uid=dave,ou=People,{BASE}"),
        format!("uid=carol,ou=People,{BASE}"),
        format!("cn=all,ou=Groups,{BASE}"),
    ] {
        ldap.delete(&dn).await.unwrap().success().unwrap();
    }
    let _ = ldap.unbind().await;
    ok(&b, EntryType::User, name("dave")).await;
    ok(&b, EntryType::User, Filter::IdNumber(1003)).await;
    ok(&b, EntryType::Group, name("all")).await;
    let d = s.snapshot();
    assert!(!d.users.contains_key("dave"));
    assert!(!d.users.contains_key("carol"));
    assert!(!d.groups.contains_key("all"));
}

async fn server_restart_and_outage(server: &mut slapd::Slapd) {
    let uri = server.uri.clone();
    let (b, s) = backend(domain(), ldap_opts(&uri));
    ok(&b, EntryType::User, name("alice")).await;
    // The established connection breaks: the next request reconnects once and succeeds.
    server.restart();
    ok(&b, EntryType::User, name("bob")).await;
    assert!(s.snapshot().users.contains_key("bob"));
    assert!(!b.is_offline());
    // The server goes away: offline, answered at once afterwards.
    server.stop();
    let r = b.handle(req(EntryType::User, name("eve"))).await;
    assert_eq!(r.dp_error, DP_ERR_OFFLINE, "{}", r.message);
    assert!(b.is_offline());
    // Back again: resetOffline (SIGUSR2) reconnects without waiting offline_timeout.
    server.restart();
    let r = b.handle(req(EntryType::User, name("eve"))).await;
    assert_eq!(
        r.dp_error, DP_ERR_OFFLINE,
        "still waiting for the retry time"
    );
    b.reset_offline();
    ok(&b, EntryType::User, name("eve")).await;
    assert!(s.snapshot().users.contains_key("eve"));
}

async fn tls_policies(server: &slapd::Slapd) {
    let (Some(ca), Some(other)) = (&server.ca, &server.other_ca) else {
        return;
    };
    let ca = ca.display().to_string();
    let other = other.display().to_string();
    let tls = |reqcert: &str, cacert: Option<&str>| {
        let mut o = ldap_opts(&server.uri);
        o.id_use_start_tls = true;
        o.tls_reqcert = reqcert.into();
        o.tls_cacert = cacert.map(str::to_string);
        o
    };
    // StartTLS verified against the right CA works; `never` works without any CA.
    for o in [
        tls("demand", Some(&ca)),
        tls("hard", Some(&ca)),
        tls("never", None),
    ] {
        let (b, s) = backend(domain(), o);
        ok(&b, EntryType::User, name("alice")).await;
        assert!(s.snapshot().users.contains_key("alice"));
    }
    // A certificate from an untrusted CA is refused: the server counts as unreachable.
    for o in [tls("demand", Some(&other)), tls("hard", None)] {
        let (b, _) = backend(domain(), o);
        let r = b.handle(req(EntryType::User, name("alice"))).await;
        assert_eq!(r.dp_error, DP_ERR_OFFLINE, "{}", r.message);
    }
    // A bad CA file is named in the error.
    let (b, _) = backend(domain(), tls("demand", Some("/nonexistent/ca.pem")));
    let r = b.handle(req(EntryType::User, name("alice"))).await;
    assert!(r.message.contains("/nonexistent/ca.pem"), "{}", r.message);
}

async fn real_cache_is_written(uri: &str) {
    use super::store::CacheStore;
    use crate::cache::Cache;
    let dir = tempfile::tempdir().unwrap();
    let cache = Arc::new(Cache::open(dir.path(), "LDAP").unwrap());
    let b = Backend::new(
        &domain(),
        ldap_opts(uri),
        auth_opts(""),
        pam_opts(""),
        Arc::new(CacheStore(cache.clone())),
    );
    ok(&b, EntryType::Initgroups, name("alice")).await;
    ok(&b, EntryType::Group, name("devs")).await;
    let u = cache.user_by_name("alice").unwrap().unwrap();
    assert_eq!(u.value.uid, 1001);
    assert!(u.expire >= u.last_update + 5400);
    assert_eq!(cache.initgroups("alice").unwrap().unwrap().value, [2001]);
    assert_eq!(
        cache.group_by_name("devs").unwrap().unwrap().value.members,
        ["alice", "bob"]
    );
    // Not in the directory: removed from the cache.
    ok(&b, EntryType::User, name("nobody")).await;
    assert!(cache.user_by_name("nobody").unwrap().is_none());
}

async fn hung_server_times_out(server: &slapd::Slapd) {
    let mut o = ldap_opts(&server.uri);
    o.search_base = Some(BASE.into());
    o.search_timeout = 1;
    o.opt_timeout = 1;
    let (b, s) = backend(domain(), o);
    ok(&b, EntryType::User, name("alice")).await;
    server.freeze(true);
    // The search on the established connection times out, the reconnection's search does
    // too: offline, after about two search timeouts.
    let t0 = Instant::now();
    let r = b.handle(req(EntryType::User, name("bob"))).await;
    let took = t0.elapsed();
    server.freeze(false);
    assert_eq!(r.dp_error, DP_ERR_OFFLINE, "{}", r.message);
    assert!(took < Duration::from_secs(4), "took {took:?}");
    b.reset_offline();
    ok(&b, EntryType::User, name("bob")).await;
    assert!(s.snapshot().users.contains_key("bob"));
}
