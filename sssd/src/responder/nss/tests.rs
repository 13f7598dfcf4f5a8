//! Rule tests for the NSS responder against the in-memory source.

use super::NssResponder;
use super::cache_req::Mode;
use super::commands::{NssConn, dispatch};
use super::fake::{FakeClock, FakeSource};
use super::settings::NssSettings;
use super::source::{DomainSource, DpStatus, Query};
use crate::config::DomainOptions;
use crate::model::{Cached, Group, User};
use crate::responder::common::Action;
use sss_proto::nss::{
    EX_FLAG_INVALIDATE_CACHE, EX_FLAG_NO_CACHE, decode_group_reply, decode_initgr_reply,
    decode_passwd_reply, encode_id_request, encode_name_request,
};
use std::sync::Arc;
use std::time::Duration;

const T0: i64 = 1_000_000;

fn user(name: &str, uid: u32, gid: u32) -> User {
    User {
        name: name.into(),
        uid,
        gid,
        gecos: format!("User {name}"),
        home: format!("/home/{name}"),
        shell: "/bin/bash".into(),
        ..User::default()
    }
}

/// A group fixture (shared with the memory-cache tests).
pub(super) fn group(name: &str, gid: u32, members: &[&str]) -> Group {
    Group {
        name: name.into(),
        gid,
        members: members.iter().map(|m| m.to_string()).collect(),
        ..Group::default()
    }
}

struct Env {
    resp: NssResponder,
    clock: Arc<FakeClock>,
    src: Vec<FakeSource>,
}

fn env_with(doms: Vec<DomainOptions>, tweak: impl FnOnce(&mut NssSettings)) -> Env {
    let clock = FakeClock::at(T0);
    let src: Vec<FakeSource> = doms
        .iter()
        .map(|_| FakeSource::new(clock.clone(), 100))
        .collect();
    let mut s = NssSettings::new(doms);
    tweak(&mut s);
    let sources: Vec<Arc<dyn DomainSource>> =
        src.iter().map(|s| Arc::new(s.clone()) as _).collect();
    let resp = NssResponder::new(s, sources, clock.clone());
    Env { resp, clock, src }
}

fn env() -> Env {
    env_with(vec![DomainOptions::defaults("LDAP", "ldap")], |_| {})
}

impl Env {
    async fn call(&self, conn: &mut NssConn, cmd: u32, body: &[u8]) -> Action {
        dispatch(self.resp.ctx(), conn, 0, cmd, body).await
    }

    async fn pw(&self, name: &str) -> Option<(String, u32, String, String)> {
        let mut c = NssConn::default();
        let Action::Reply { status: 0, body } = self
            .call(&mut c, 0x11, &encode_name_request(name.as_bytes(), None))
            .await
        else {
            panic!("bad reply")
        };
        let e = decode_passwd_reply(&body).unwrap();
        e.first().map(|p| {
            (
                String::from_utf8_lossy(p.name).into_owned(),
                p.uid,
                String::from_utf8_lossy(p.dir).into_owned(),
                String::from_utf8_lossy(p.shell).into_owned(),
            )
        })
    }

    fn refreshes(&self, d: usize) -> usize {
        self.src[d].refresh_count()
    }
}

fn body_of(a: Action) -> Vec<u8> {
    match a {
        Action::Reply { status: 0, body } => body,
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn fresh_entry_is_served_without_backend() {
    let e = env();
    e.src[0].add_user(user("user1", 1001, 2001), T0, T0 + 100);
    let r = e.pw("user1").await.unwrap();
    assert_eq!(r.0, "user1");
    assert_eq!(r.1, 1001);
    assert_eq!(e.refreshes(0), 0);
}

#[tokio::test]
async fn missing_entry_asks_backend_then_rereads_cache() {
    let e = env();
    e.src[0].with(|s| {
        s.directory.users.push(Cached {
            value: user("user1", 1001, 2001),
            last_update: 0,
            expire: 0,
        })
    });
    assert_eq!(e.pw("user1").await.unwrap().1, 1001);
    assert_eq!(e.refreshes(0), 1);
    assert_eq!(
        e.src[0].with(|s| s.refreshes[0].clone()),
        Query::UserByName("user1".into())
    );
    // Now cached and fresh.
    assert!(e.pw("user1").await.is_some());
    assert_eq!(e.refreshes(0), 1);
}

#[tokio::test]
async fn a_name_with_an_at_sign_falls_back_to_the_e_mail_lookup() {
    let e = env();
    e.src[0].with(|s| {
        s.directory.users.push(Cached {
            value: User {
                emails: vec!["Alice.Liddell@Example.com".into()],
                ..user("alice", 1001, 2001)
            },
            last_update: 0,
            expire: 0,
        })
    });
    let (name, uid, ..) = e.pw("alice.liddell@example.com").await.unwrap();
    assert_eq!((name.as_str(), uid), ("alice", 1001));
    // As SSSD: `example.com` names no domain, so no name lookup; straight to the
    // e-mail/principal lookup.
    assert_eq!(
        e.src[0].with(|s| s.refreshes.clone()),
        [Query::UserByAlias("alice.liddell@example.com".into())]
    );
    // A name without an `@` is never taken for an address; a missing address is
    // negative-cached like a name.
    assert!(e.pw("nobody").await.is_none());
    assert!(e.pw("nobody@example.com").await.is_none());
    let before = e.refreshes(0);
    assert!(e.pw("nobody@example.com").await.is_none());
    assert_eq!(e.refreshes(0), before, "both misses are negative-cached");
    assert!(!e.src[0].with(|s| s.refreshes.contains(&Query::UserByAlias("nobody".into()))));
}

#[tokio::test]
async fn negative_cache_ttl() {
    let e = env();
    assert!(e.pw("ghost").await.is_none());
    assert_eq!(e.refreshes(0), 1);
    e.clock.advance(14);
    assert!(e.pw("ghost").await.is_none());
    assert_eq!(e.refreshes(0), 1, "negative cache hit within 15 s");
    e.clock.advance(1);
    assert!(e.pw("ghost").await.is_none());
    assert_eq!(e.refreshes(0), 2, "negative entry expired after 15 s");
    // clearNegcache drops it.
    e.resp.service_handler().clear_negcache();
    assert!(e.pw("ghost").await.is_none());
    assert_eq!(e.refreshes(0), 3);
    // By uid too.
    let mut c = NssConn::default();
    let b = body_of(e.call(&mut c, 0x12, &encode_id_request(4242, None)).await);
    assert!(decode_passwd_reply(&b).unwrap().is_empty());
    let _ = e.call(&mut c, 0x12, &encode_id_request(4242, None)).await;
    assert_eq!(e.refreshes(0), 4);
}

#[tokio::test]
async fn zero_negative_timeout_disables_negcache() {
    let e = env_with(vec![DomainOptions::defaults("LDAP", "ldap")], |s| {
        s.nss.entry_negative_timeout = 0
    });
    assert!(e.pw("ghost").await.is_none());
    assert!(e.pw("ghost").await.is_none());
    assert_eq!(e.refreshes(0), 2);
}

#[tokio::test]
async fn midpoint_refresh_fires_once() {
    let e = env();
    e.src[0].add_user(user("user1", 1001, 2001), T0, T0 + 100);
    e.src[0].with(|s| s.delay = Duration::from_millis(200));
    e.clock.set(T0 + 50);
    assert!(e.pw("user1").await.is_some());
    tokio::task::yield_now().await;
    assert_eq!(
        e.refreshes(0),
        0,
        "at the midpoint (refresh only once past it)"
    );
    e.clock.set(T0 + 51);
    assert!(e.pw("user1").await.is_some());
    assert!(e.pw("user1").await.is_some());
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(e.refreshes(0), 1, "one background refresh while in flight");
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The refresh restamped the entry: fresh again, no new refresh.
    let lu = e.src[0].with(|s| s.cache.users[0].last_update);
    assert_eq!(lu, T0 + 51);
    assert!(e.pw("user1").await.is_some());
    assert_eq!(e.refreshes(0), 1);
}

#[tokio::test]
async fn midpoint_is_at_least_ten_seconds_and_zero_disables() {
    let e = env();
    e.src[0].add_user(user("user1", 1001, 2001), T0, T0 + 12);
    e.clock.set(T0 + 10);
    assert!(e.pw("user1").await.is_some());
    tokio::task::yield_now().await;
    assert_eq!(e.refreshes(0), 0);
    e.clock.set(T0 + 11);
    assert!(e.pw("user1").await.is_some());
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(e.refreshes(0), 1);

    let e = env_with(vec![DomainOptions::defaults("LDAP", "ldap")], |s| {
        s.nss.entry_cache_nowait_percentage = 0
    });
    e.src[0].add_user(user("user1", 1001, 2001), T0, T0 + 100);
    e.clock.set(T0 + 99);
    assert!(e.pw("user1").await.is_some());
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(e.refreshes(0), 0);
}

#[tokio::test]
async fn expired_entry_is_refreshed() {
    let e = env();
    e.src[0].add_user(user("user1", 1001, 2001), T0 - 200, T0 - 100);
    e.src[0].with(|s| s.directory.users[0].value.gecos = "New".into());
    let mut c = NssConn::default();
    let b = body_of(e.call(&mut c, 0x11, b"user1\0").await);
    assert_eq!(decode_passwd_reply(&b).unwrap()[0].gecos, b"New");
    assert_eq!(e.refreshes(0), 1);
}

#[tokio::test]
async fn offline_serves_expired_and_does_not_negcache() {
    let e = env();
    e.src[0].add_user(user("user1", 1001, 2001), T0 - 200, T0 - 100);
    e.src[0].with(|s| s.status = DpStatus::Offline);
    assert_eq!(e.pw("user1").await.unwrap().1, 1001);
    assert!(e.pw("nobody").await.is_none());
    assert!(e.pw("nobody").await.is_none());
    assert_eq!(e.refreshes(0), 3, "offline misses are not negative-cached");
    e.src[0].with(|s| s.status = DpStatus::Failed("boom".into()));
    assert_eq!(e.pw("user1").await.unwrap().1, 1001);
}

#[tokio::test]
async fn identical_requests_are_coalesced() {
    let e = env();
    e.src[0].with(|s| {
        s.delay = Duration::from_millis(100);
        s.directory.users.push(Cached {
            value: user("user1", 1001, 2001),
            last_update: 0,
            expire: 0,
        });
    });
    let (a, b, c) = tokio::join!(e.pw("user1"), e.pw("user1"), e.pw("user1"));
    assert!(a.is_some() && b.is_some() && c.is_some());
    assert_eq!(e.refreshes(0), 1);
}

#[tokio::test]
async fn backend_timeout_counts_as_offline() {
    let e = env_with(vec![DomainOptions::defaults("LDAP", "ldap")], |s| {
        s.dp_timeout = Duration::from_millis(50)
    });
    e.src[0].add_user(user("user1", 1001, 2001), T0 - 200, T0 - 100);
    e.src[0].with(|s| s.delay = Duration::from_secs(5));
    assert_eq!(e.pw("user1").await.unwrap().1, 1001);
}

#[tokio::test]
async fn domains_in_order_and_by_id_everywhere() {
    let e = env_with(
        vec![
            DomainOptions::defaults("A", "ldap"),
            DomainOptions::defaults("B", "ldap"),
        ],
        |s| s.cache_first = true,
    );
    e.src[1].add_user(user("bob", 5000, 5000), T0, T0 + 100);
    e.src[0].add_user(user("alice", 4000, 4000), T0, T0 + 100);
    assert_eq!(e.pw("bob").await.unwrap().1, 5000);
    // cache_first: B's fresh cache answered before asking A's backend.
    assert_eq!(e.refreshes(0), 0);
    let ctx = e.resp.ctx();
    let (d, u) = ctx
        .cr
        .user_by_uid(5000, Mode::Normal)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((d, u.name.as_str()), (1, "bob"));
    // Without cache_first, A's backend is asked first (and the miss negative-cached).
    let e = env_with(
        vec![
            DomainOptions::defaults("A", "ldap"),
            DomainOptions::defaults("B", "ldap"),
        ],
        |s| s.cache_first = false,
    );
    e.src[1].add_user(user("bob", 5000, 5000), T0, T0 + 100);
    assert!(e.pw("bob").await.is_some());
    assert!(e.pw("bob").await.is_some());
    assert_eq!(e.refreshes(0), 1);
    // Qualified name searches only that domain.
    assert!(e.pw("bob@A").await.is_none());
    assert!(e.pw("bob@b").await.is_some());
}

#[tokio::test]
async fn fully_qualified_names() {
    let mut d = DomainOptions::defaults("LDAP", "ldap");
    d.use_fully_qualified_names = true;
    let e = env_with(vec![d], |_| {});
    e.src[0].add_user(user("user1", 1001, 2001), T0, T0 + 100);
    e.src[0].add_group(group("grp", 2001, &["user1"]), T0, T0 + 100);
    assert!(e.pw("user1").await.is_none());
    assert_eq!(e.refreshes(0), 0, "FQ domains are skipped for short names");
    assert_eq!(e.pw("user1@LDAP").await.unwrap().0, "user1@LDAP");
    let mut c = NssConn::default();
    let b = body_of(e.call(&mut c, 0x12, &encode_id_request(1001, None)).await);
    assert_eq!(decode_passwd_reply(&b).unwrap()[0].name, b"user1@LDAP");
    let b = body_of(e.call(&mut c, 0x22, &encode_id_request(2001, None)).await);
    let g = decode_group_reply(&b).unwrap();
    assert_eq!(g[0].name, b"grp@LDAP");
    assert_eq!(g[0].members, vec![&b"user1@LDAP"[..]]);
}

#[tokio::test]
async fn case_insensitive_domain() {
    let mut d = DomainOptions::defaults("LDAP", "ldap");
    d.case_sensitive = false;
    let e = env_with(vec![d], |_| {});
    e.src[0].add_user(user("user1", 1001, 2001), T0, T0 + 100);
    assert_eq!(e.pw("USER1").await.unwrap().0, "user1");
    assert_eq!(e.pw("User1@ldap").await.unwrap().0, "user1");
}

#[tokio::test]
async fn filters_root_and_id_zero() {
    let e = env_with(vec![DomainOptions::defaults("LDAP", "ldap")], |s| {
        s.nss.filter_users.push("user2".into());
        s.nss.filter_groups.push("secret".into());
    });
    let s = &e.src[0];
    s.add_user(user("user1", 1001, 2001), T0, T0 + 100);
    s.add_user(user("user2", 1002, 2002), T0, T0 + 100);
    s.add_user(user("zero", 0, 5), T0, T0 + 100);
    s.add_user(user("gzero", 7, 0), T0, T0 + 100);
    s.add_group(group("g", 3000, &["user1", "user2"]), T0, T0 + 100);
    s.add_group(group("secret", 3001, &["user1"]), T0, T0 + 100);
    s.set_initgroups("user1", vec![3000, 3001, 0], T0, T0 + 100);
    assert!(e.pw("user2").await.is_none());
    assert!(e.pw("root").await.is_none());
    assert!(e.pw("zero").await.is_none());
    assert!(e.pw("gzero").await.is_none());
    let mut c = NssConn::default();
    for uid in [1002, 0] {
        let b = body_of(e.call(&mut c, 0x12, &encode_id_request(uid, None)).await);
        assert!(decode_passwd_reply(&b).unwrap().is_empty(), "uid {uid}");
    }
    let b = body_of(e.call(&mut c, 0x22, &encode_id_request(0, None)).await);
    assert!(decode_group_reply(&b).unwrap().is_empty());
    let b = body_of(e.call(&mut c, 0x21, b"secret\0").await);
    assert!(decode_group_reply(&b).unwrap().is_empty());
    let b = body_of(e.call(&mut c, 0x22, &encode_id_request(3001, None)).await);
    assert!(decode_group_reply(&b).unwrap().is_empty());
    let b = body_of(e.call(&mut c, 0x21, b"g\0").await);
    assert_eq!(
        decode_group_reply(&b).unwrap()[0].members,
        vec![&b"user1"[..]]
    );
    let b = body_of(e.call(&mut c, 0x26, b"user1\0").await);
    assert_eq!(decode_initgr_reply(&b).unwrap(), vec![3000]);
    assert_eq!(e.refreshes(0), 0, "filtered names never reach the backend");
}

#[tokio::test]
async fn initgroups_keeps_order_and_drops_duplicates_out_of_range_and_filtered_groups() {
    let mut d = DomainOptions::defaults("LDAP", "ldap");
    d.case_sensitive = false;
    d.min_id = 100;
    d.max_id = 9000;
    d.filter_groups = vec!["Secret".into()];
    let e = env_with(vec![d], |s| {
        s.nss.filter_groups.push("hidden@LDAP".into());
        s.nss.filter_groups.push("notcached".into());
    });
    let s = &e.src[0];
    s.add_user(user("user1", 1001, 2001), T0, T0 + 100);
    s.add_group(group("secret", 3001, &["user1"]), T0, T0 + 100);
    // Expired: a filter applies whatever the freshness of the group.
    s.add_group(group("hidden", 3002, &["user1"]), T0 - 10, T0 - 1);
    s.add_group(group("shown", 3003, &["user1"]), T0, T0 + 100);
    let gids = vec![3003, 5, 3001, 0, 4000, 3003, 3002, 9001, 42, 4000];
    s.set_initgroups("user1", gids, T0, T0 + 100);
    let mut c = NssConn::default();
    let b = body_of(e.call(&mut c, 0x26, b"USER1\0").await);
    assert_eq!(decode_initgr_reply(&b).unwrap(), vec![3003, 4000]);
}

#[tokio::test]
async fn filter_users_in_groups_can_be_disabled_and_domain_filters() {
    let mut d = DomainOptions::defaults("LDAP", "ldap");
    d.filter_users = vec!["user3".into()];
    let e = env_with(vec![d], |s| {
        s.nss.filter_users.push("user2".into());
        s.nss.filter_users_in_groups = false;
    });
    e.src[0].add_user(user("user3", 1003, 2003), T0, T0 + 100);
    e.src[0].add_group(group("g", 3000, &["user1", "user2"]), T0, T0 + 100);
    assert!(e.pw("user3").await.is_none());
    let mut c = NssConn::default();
    let b = body_of(e.call(&mut c, 0x21, b"g\0").await);
    assert_eq!(decode_group_reply(&b).unwrap()[0].members.len(), 2);
}

#[tokio::test]
async fn min_max_id_and_ignore_group_members() {
    let mut d = DomainOptions::defaults("LDAP", "ldap");
    d.min_id = 1000;
    d.max_id = 2000;
    d.ignore_group_members = true;
    let e = env_with(vec![d], |_| {});
    e.src[0].add_user(user("low", 999, 1500), T0, T0 + 100);
    e.src[0].add_user(user("ok", 1500, 1500), T0, T0 + 100);
    e.src[0].add_group(group("g", 1500, &["ok"]), T0, T0 + 100);
    assert!(e.pw("low").await.is_none());
    assert!(e.pw("ok").await.is_some());
    let mut c = NssConn::default();
    let b = body_of(e.call(&mut c, 0x21, b"g\0").await);
    assert!(decode_group_reply(&b).unwrap()[0].members.is_empty());
}

#[tokio::test]
async fn templates_and_pwfield_in_replies() {
    let mut d = DomainOptions::defaults("LDAP", "ldap");
    d.override_homedir = Some("/srv/%d/%u".into());
    let e = env_with(vec![d], |s| {
        s.nss.override_homedir = Some("/nss/%u".into());
        s.nss.default_shell = Some("/bin/zsh".into());
        s.nss.pwfield = "x".into();
    });
    let mut u = user("user1", 1001, 2001);
    u.shell = String::new();
    e.src[0].add_user(u, T0, T0 + 100);
    let mut c = NssConn::default();
    let b = body_of(e.call(&mut c, 0x11, b"user1\0").await);
    let p = &decode_passwd_reply(&b).unwrap()[0];
    assert_eq!(p.dir, b"/srv/LDAP/user1");
    assert_eq!(p.shell, b"/bin/zsh");
    assert_eq!(p.passwd, b"x");
}

#[tokio::test]
async fn override_gid_and_missing_home() {
    let mut d = DomainOptions::defaults("LDAP", "ldap");
    d.override_gid = Some(777);
    let e = env_with(vec![d], |_| {});
    let mut u = user("user1", 1001, 0);
    u.home = String::new();
    e.src[0].add_user(u, T0, T0 + 100);
    let mut c = NssConn::default();
    let b = body_of(e.call(&mut c, 0x11, b"user1\0").await);
    let p = &decode_passwd_reply(&b).unwrap()[0];
    assert_eq!((p.gid, p.dir), (777, &b"/"[..]));
}

#[tokio::test]
async fn initgroups_rules() {
    let e = env();
    e.src[0].add_user(user("user1", 1001, 2001), T0, T0 + 100);
    e.src[0].set_initgroups("user1", vec![2012, 2015, 2017], T0, T0 + 100);
    let mut c = NssConn::default();
    let b = body_of(e.call(&mut c, 0x26, b"user1\0").await);
    assert_eq!(decode_initgr_reply(&b).unwrap(), vec![2012, 2015, 2017]);
    assert_eq!(e.refreshes(0), 0);
    // Unknown user: not found.
    let b = body_of(e.call(&mut c, 0x26, b"nobody\0").await);
    assert!(decode_initgr_reply(&b).unwrap().is_empty());
    // Expired initgroups record: refreshed from the directory.
    e.src[0].with(|s| {
        s.cache.initgroups.get_mut("user1").unwrap().expire = T0 - 1;
        s.directory.initgroups.get_mut("user1").unwrap().value = vec![2020];
    });
    let b = body_of(e.call(&mut c, 0x26, b"user1\0").await);
    assert_eq!(decode_initgr_reply(&b).unwrap(), vec![2020]);
    assert!(e.src[0].with(|s| s.refreshes.contains(&Query::Initgroups("user1".into()))));
}

#[tokio::test]
async fn ex_flags() {
    let e = env();
    e.src[0].add_user(user("user1", 1001, 2001), T0, T0 + 100);
    let mut c = NssConn::default();
    let b = body_of(
        e.call(
            &mut c,
            0x19,
            &encode_name_request(b"user1", Some(EX_FLAG_NO_CACHE)),
        )
        .await,
    );
    assert_eq!(decode_passwd_reply(&b).unwrap().len(), 1);
    assert_eq!(
        e.refreshes(0),
        1,
        "NO_CACHE asks the backend even when fresh"
    );
    e.src[0].with(|s| s.cache.users[0].expire = T0 - 1);
    let b = body_of(
        e.call(
            &mut c,
            0x1A,
            &encode_id_request(1001, Some(EX_FLAG_INVALIDATE_CACHE)),
        )
        .await,
    );
    assert_eq!(decode_passwd_reply(&b).unwrap().len(), 1);
    let b = body_of(
        e.call(
            &mut c,
            0x19,
            &encode_name_request(b"nobody", Some(EX_FLAG_INVALIDATE_CACHE)),
        )
        .await,
    );
    assert!(decode_passwd_reply(&b).unwrap().is_empty());
    assert_eq!(
        e.refreshes(0),
        1,
        "INVALIDATE_CACHE never contacts the backend"
    );
    assert_eq!(
        e.call(&mut c, 0x19, &encode_name_request(b"user1", Some(3)))
            .await,
        Action::error(22)
    );
}

#[tokio::test]
async fn bad_bodies_and_unknown_commands() {
    let e = env();
    let mut c = NssConn::default();
    assert_eq!(e.call(&mut c, 0x11, b"us\xffer\0").await, Action::error(22));
    assert_eq!(e.call(&mut c, 0x11, b"\0").await, Action::error(22));
    assert_eq!(e.call(&mut c, 0x11, b"user1").await, Action::error(22));
    assert_eq!(e.call(&mut c, 0x12, b"\x01\x02").await, Action::error(22));
    assert_eq!(e.call(&mut c, 0x14, b"").await, Action::error(22));
    assert_eq!(e.call(&mut c, 0x999, b"").await, Action::Close);
    assert_eq!(e.call(&mut c, 0xF1, b"").await, Action::Close);
}

fn names_of(body: &[u8]) -> Vec<String> {
    decode_passwd_reply(body)
        .unwrap()
        .iter()
        .map(|p| String::from_utf8_lossy(p.name).into_owned())
        .collect()
}

#[tokio::test]
async fn enumeration_batches_and_snapshot_expiry() {
    let mut a = DomainOptions::defaults("A", "ldap");
    a.enumerate = true;
    let e = env_with(vec![a, DomainOptions::defaults("B", "ldap")], |s| {
        s.nss.enum_cache_timeout = 120
    });
    for (i, n) in ["u1", "u2", "u3"].iter().enumerate() {
        e.src[0].add_user(user(n, 1001 + i as u32, 2001), T0, T0 + 100);
    }
    e.src[0].add_user(user("rootish", 0, 0), T0, T0 + 100);
    e.src[1].add_user(user("hidden", 3001, 3001), T0, T0 + 100);
    e.src[0].add_group(group("g1", 2001, &["u1"]), T0, T0 + 100);
    let two = 2u32.to_ne_bytes();
    let mut c = NssConn::default();
    body_of(e.call(&mut c, 0x13, b"").await);
    assert_eq!(
        names_of(&body_of(e.call(&mut c, 0x14, &two).await)),
        vec!["u1", "u2"]
    );
    assert_eq!(
        names_of(&body_of(e.call(&mut c, 0x14, &two).await)),
        vec!["u3"]
    );
    assert!(names_of(&body_of(e.call(&mut c, 0x14, &two).await)).is_empty());
    body_of(e.call(&mut c, 0x15, b"").await);
    // A user added after the snapshot is not visible until the snapshot expires.
    e.src[0].add_user(user("u4", 1004, 2001), T0, T0 + 100);
    let mut c2 = NssConn::default();
    body_of(e.call(&mut c2, 0x13, b"").await);
    assert_eq!(
        names_of(&body_of(e.call(&mut c2, 0x14, &256u32.to_ne_bytes()).await)).len(),
        3
    );
    e.clock.advance(120);
    body_of(e.call(&mut c2, 0x13, b"").await);
    assert_eq!(
        names_of(&body_of(e.call(&mut c2, 0x14, &256u32.to_ne_bytes()).await)).len(),
        4
    );
    // clearEnumCache forces a rebuild.
    e.src[0].add_user(user("u5", 1005, 2001), T0, T0 + 100);
    e.resp.service_handler().clear_enum_cache();
    body_of(e.call(&mut c2, 0x13, b"").await);
    assert_eq!(
        names_of(&body_of(e.call(&mut c2, 0x14, &256u32.to_ne_bytes()).await)).len(),
        5
    );
    // getpwent without setpwent starts implicitly; groups enumerate too.
    let mut c3 = NssConn::default();
    assert_eq!(
        names_of(&body_of(e.call(&mut c3, 0x14, &two).await)).len(),
        2
    );
    let g = body_of(e.call(&mut c3, 0x24, &256u32.to_ne_bytes()).await);
    assert_eq!(decode_group_reply(&g).unwrap().len(), 1);
    assert_eq!(e.refreshes(0) + e.refreshes(1), 0);
}

#[tokio::test]
async fn enumeration_disabled_yields_nothing() {
    let e = env();
    e.src[0].add_user(user("u1", 1001, 2001), T0, T0 + 100);
    let mut c = NssConn::default();
    body_of(e.call(&mut c, 0x13, b"").await);
    assert!(names_of(&body_of(e.call(&mut c, 0x14, &256u32.to_ne_bytes()).await)).is_empty());
}

#[tokio::test]
async fn extreme_stamps_do_not_panic() {
    let e = env();
    e.src[0].add_user(user("a", 1001, 2001), i64::MIN, i64::MAX);
    e.src[0].add_user(user("b", 1002, 2001), i64::MAX, i64::MIN);
    assert!(e.pw("a").await.is_some());
    e.src[0].with(|s| s.status = DpStatus::Offline);
    assert!(e.pw("b").await.is_some());
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn dispatch_never_panics(
            cmd in prop_oneof![0x11u32..=0x2E, any::<u32>()],
            body in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let e = env();
                e.src[0].add_user(user("user1", 1001, 2001), T0, T0 + 100);
                let mut c = NssConn::default();
                let a = e.call(&mut c, cmd, &body).await;
                if let Action::Reply { status: 0, body } = a {
                    prop_assert!(body.len() >= 8);
                }
                Ok(())
            })?;
        }
    }
}

/// A domain with `auto_private_groups = apg` holding user1 (1001/2001, group1 2001),
/// upg (3000/3000, no group 3000) and many (4000/4000, real group 4000).
fn private_groups_env(apg: crate::config::PrivateGroups) -> Env {
    let mut d = DomainOptions::defaults("LDAP", "ldap");
    d.auto_private_groups = apg;
    let e = env_with(vec![d], |_| {});
    e.src[0].add_user(user("user1", 1001, 2001), T0, T0 + 100);
    e.src[0].add_user(user("upg", 3000, 3000), T0, T0 + 100);
    e.src[0].add_user(user("many", 4000, 4000), T0, T0 + 100);
    e.src[0].add_group(group("group1", 2001, &["user1"]), T0, T0 + 100);
    e.src[0].add_group(group("many", 4000, &[]), T0, T0 + 100);
    e
}

async fn group_of(e: &Env, by: Result<&str, u32>) -> Option<(String, u32, usize)> {
    let cr = &e.resp.ctx().cr;
    let found = match by {
        Ok(name) => cr.group_by_name(name, Mode::Normal).await,
        Err(gid) => cr.group_by_gid(gid, Mode::Normal).await,
    };
    found
        .unwrap()
        .map(|(_, g)| (g.name, g.gid, g.members.len()))
}

#[tokio::test]
async fn auto_private_groups_true_gives_every_user_a_group() {
    use crate::config::PrivateGroups;
    let e = private_groups_env(PrivateGroups::On);
    let private = Some(("user1".to_string(), 1001, 0));
    assert_eq!(group_of(&e, Ok("user1")).await, private);
    assert_eq!(group_of(&e, Err(1001)).await, private);
    assert_eq!(
        group_of(&e, Ok("group1")).await,
        Some(("group1".into(), 2001, 1))
    );
    let (_, u) = e
        .resp
        .ctx()
        .cr
        .user_by_name("user1", Mode::Normal)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e.resp.ctx().format_user(0, &u).gid, 1001);
    let (_, _, gids) = e
        .resp
        .ctx()
        .cr
        .initgroups("user1", Mode::Normal)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(gids.first(), Some(&1001));
}

#[tokio::test]
async fn auto_private_groups_hybrid_only_where_gid_is_uid_without_group() {
    use crate::config::PrivateGroups;
    let e = private_groups_env(PrivateGroups::Hybrid);
    let upg = Some(("upg".to_string(), 3000, 0));
    assert_eq!(group_of(&e, Ok("upg")).await, upg);
    assert_eq!(group_of(&e, Err(3000)).await, upg);
    assert_eq!(
        group_of(&e, Err(4000)).await,
        Some(("many".into(), 4000, 0))
    );
    assert_eq!(group_of(&e, Ok("user1")).await, None);
    assert_eq!(group_of(&e, Err(1001)).await, None);
    let (_, u) = e
        .resp
        .ctx()
        .cr
        .user_by_name("user1", Mode::Normal)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e.resp.ctx().format_user(0, &u).gid, 2001);
    let e = private_groups_env(PrivateGroups::Off);
    assert_eq!(group_of(&e, Ok("upg")).await, None);
}
