//! Tests of the cache: behaviour of the public API against real LMDB environments.

use super::codec::{self, StampKind};
use super::*;
use std::os::unix::fs::PermissionsExt;
use tempfile::TempDir;

fn user(name: &str, uid: u32) -> User {
    User {
        name: name.into(),
        uid,
        gid: uid + 100_000,
        gecos: format!("User {name}"),
        home: format!("/home/{name}"),
        shell: "/bin/sh".into(),
        dn: format!("uid={name},ou=people,dc=example,dc=com"),
        upn: None,
        modify_timestamp: Some("20240101000000Z".into()),
        emails: Vec::new(),
    }
}

fn group(name: &str, gid: u32, members: &[&str]) -> Group {
    Group {
        name: name.into(),
        gid,
        members: members.iter().map(|m| (*m).to_owned()).collect(),
        dn: format!("cn={name},ou=groups,dc=example,dc=com"),
        modify_timestamp: None,
    }
}

fn open() -> (TempDir, Cache) {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path(), "example.com").unwrap();
    (dir, cache)
}

/// The raw stamp bytes of a record, if any (looked up below the public API).
fn raw_stamp(cache: &Cache, kind: StampKind, name: &str) -> Option<Vec<u8>> {
    let txn = cache.shared.env().read_txn().unwrap();
    cache
        .shared
        .dbs
        .stamps
        .get(&txn, &codec::stamp_key(kind, name))
        .unwrap()
        .map(<[u8]>::to_vec)
}

/// The raw value of `key` in `db`.
fn raw_get(cache: &Cache, db: super::env::Db, key: &[u8]) -> Option<Vec<u8>> {
    let txn = cache.shared.env().read_txn().unwrap();
    db.get(&txn, key).unwrap().map(<[u8]>::to_vec)
}

/// Writes `value` under `key` in `db`, bypassing the codec.
fn raw_put(cache: &Cache, db: super::env::Db, key: &[u8], value: &[u8]) {
    let mut txn = cache.shared.env().write_txn().unwrap();
    db.put(&mut txn, key, value).unwrap();
    txn.commit().unwrap();
}

#[test]
fn cache_is_send_and_sync() {
    fn check<T: Send + Sync + Clone>() {}
    check::<Cache>();
}

#[test]
fn user_round_trip_by_name_and_uid() {
    let (_d, cache) = open();
    assert_eq!(cache.user_by_name("alice").unwrap(), None);
    assert_eq!(cache.user_by_uid(1000).unwrap(), None);
    let mut alice = user("alice", 1000);
    alice.upn = Some("alice@EXAMPLE.COM".into());
    let mut w = cache.writer().unwrap();
    w.put_user(&alice, 100, 5500).unwrap();
    w.commit().unwrap();
    let want = Cached {
        value: alice.clone(),
        last_update: 100,
        expire: 5500,
    };
    assert_eq!(cache.user_by_name("alice").unwrap(), Some(want.clone()));
    assert_eq!(cache.user_by_uid(1000).unwrap(), Some(want));
    assert_eq!(
        cache.user_by_name("Alice").unwrap(),
        None,
        "names are exact keys"
    );
    assert_eq!(cache.all_users().unwrap(), vec![alice]);
}

#[test]
fn group_round_trip_by_name_and_gid() {
    let (_d, cache) = open();
    let g = group("staff", 5000, &["alice", "bob"]);
    let mut w = cache.writer().unwrap();
    w.put_group(&g, 7, 8).unwrap();
    w.commit().unwrap();
    let got = cache.group_by_gid(5000).unwrap().unwrap();
    assert_eq!(
        (got.value.clone(), got.last_update, got.expire),
        (g.clone(), 7, 8)
    );
    assert_eq!(cache.group_by_name("staff").unwrap(), Some(got));
    assert_eq!(cache.group_by_gid(5001).unwrap(), None);
    assert_eq!(cache.all_groups().unwrap(), vec![g]);
}

#[test]
fn group_gids_resolves_cached_names_only() {
    let (_d, cache) = open();
    let mut w = cache.writer().unwrap();
    w.put_group(&group("staff", 5000, &["alice", "bob"]), 7, 8)
        .unwrap();
    w.put_group(&group("root", 5001, &[]), 7, 0).unwrap();
    w.commit().unwrap();
    let names = ["root", "nobody", "staff", ""].map(String::from);
    assert_eq!(cache.group_gids(&names).unwrap(), vec![5001, 5000]);
    assert_eq!(cache.group_gids(&[]).unwrap(), Vec::<u32>::new());
}

#[test]
fn changed_user_is_replaced_and_uid_change_fixes_the_index() {
    let (_d, cache) = open();
    let mut w = cache.writer().unwrap();
    w.put_user(&user("alice", 1000), 1, 2).unwrap();
    let mut moved = user("alice", 1001);
    moved.shell = "/bin/zsh".into();
    w.put_user(&moved, 3, 4).unwrap();
    assert_eq!(w.records_written(), 2);
    w.commit().unwrap();
    assert_eq!(cache.user_by_uid(1000).unwrap(), None);
    assert_eq!(cache.user_by_uid(1001).unwrap().unwrap().value, moved);
    assert_eq!(cache.user_by_name("alice").unwrap().unwrap().value, moved);
    assert_eq!(
        raw_get(&cache, cache.shared.dbs.uids, &1000u32.to_be_bytes()),
        None
    );
}

#[test]
fn renamed_user_replaces_the_old_name() {
    let (_d, cache) = open();
    let mut w = cache.writer().unwrap();
    w.put_user(&user("alice", 1000), 1, 2).unwrap();
    w.set_initgroups("alice", &[5000], 1, 2).unwrap();
    w.put_user(&user("bob", 1001), 1, 2).unwrap();
    w.commit().unwrap();
    let mut w = cache.writer().unwrap();
    w.put_user(&user("alicia", 1000), 3, 4).unwrap();
    w.commit().unwrap();
    assert_eq!(cache.user_by_name("alice").unwrap(), None);
    assert_eq!(cache.initgroups("alice").unwrap(), None);
    assert_eq!(raw_stamp(&cache, StampKind::User, "alice"), None);
    assert_eq!(
        cache.user_by_uid(1000).unwrap().unwrap().value.name,
        "alicia"
    );
    assert_eq!(cache.user_by_uid(1001).unwrap().unwrap().value.name, "bob");
    let names: Vec<_> = cache
        .all_users()
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(names, ["alicia", "bob"]);
}

#[test]
fn swapped_uids_keep_both_indexes_right() {
    let (_d, cache) = open();
    let mut w = cache.writer().unwrap();
    w.put_user(&user("a", 1), 1, 2).unwrap();
    w.put_user(&user("b", 2), 1, 2).unwrap();
    w.commit().unwrap();
    // b moves to uid 3, then a takes uid 2: a's old index entry goes, b is untouched.
    let mut w = cache.writer().unwrap();
    w.put_user(&user("b", 3), 1, 2).unwrap();
    w.put_user(&user("a", 2), 1, 2).unwrap();
    w.commit().unwrap();
    assert_eq!(cache.user_by_uid(1).unwrap(), None);
    assert_eq!(cache.user_by_uid(2).unwrap().unwrap().value.name, "a");
    assert_eq!(cache.user_by_uid(3).unwrap().unwrap().value.name, "b");
    assert_eq!(cache.all_users().unwrap().len(), 2);
}

#[test]
fn renamed_group_and_gid_change() {
    let (_d, cache) = open();
    let mut w = cache.writer().unwrap();
    w.put_group(&group("devs", 500, &["a"]), 1, 2).unwrap();
    w.put_group(&group("ops", 600, &[]), 1, 2).unwrap();
    w.commit().unwrap();
    let mut w = cache.writer().unwrap();
    w.put_group(&group("developers", 500, &["a"]), 1, 2)
        .unwrap();
    w.put_group(&group("ops", 601, &[]), 1, 2).unwrap();
    w.commit().unwrap();
    assert_eq!(cache.group_by_name("devs").unwrap(), None);
    assert_eq!(raw_stamp(&cache, StampKind::Group, "devs"), None);
    assert_eq!(
        cache.group_by_gid(500).unwrap().unwrap().value.name,
        "developers"
    );
    assert_eq!(cache.group_by_gid(600).unwrap(), None);
    assert_eq!(cache.group_by_gid(601).unwrap().unwrap().value.name, "ops");
    assert_eq!(cache.all_groups().unwrap().len(), 2);
}

#[test]
fn unchanged_group_only_rewrites_its_stamp() {
    let (_d, cache) = open();
    let members: Vec<String> = (0..5000).map(|i| format!("member{i:05}")).collect();
    let refs: Vec<&str> = members.iter().map(String::as_str).collect();
    let g = group("big", 9000, &refs);
    let mut w = cache.writer().unwrap();
    w.put_group(&g, 10, 20).unwrap();
    assert_eq!(w.records_written(), 1);
    w.commit().unwrap();
    let before = raw_get(&cache, cache.shared.dbs.groups, b"big").unwrap();

    let mut w = cache.writer().unwrap();
    w.put_group(&g, 30, 40).unwrap();
    assert_eq!(
        w.records_written(),
        0,
        "unchanged group must not be rewritten"
    );
    w.commit().unwrap();
    assert_eq!(
        raw_get(&cache, cache.shared.dbs.groups, b"big").unwrap(),
        before
    );
    let got = cache.group_by_name("big").unwrap().unwrap();
    assert_eq!((got.last_update, got.expire), (30, 40));

    let mut changed = g.clone();
    changed.members.pop();
    let mut w = cache.writer().unwrap();
    w.put_group(&changed, 50, 60).unwrap();
    assert_eq!(w.records_written(), 1);
    w.commit().unwrap();
    assert_eq!(cache.group_by_gid(9000).unwrap().unwrap().value, changed);
}

#[test]
fn unchanged_user_only_rewrites_its_stamp() {
    let (_d, cache) = open();
    let mut w = cache.writer().unwrap();
    w.put_user(&user("alice", 1000), 1, 2).unwrap();
    w.put_user(&user("alice", 1000), 3, 4).unwrap();
    assert_eq!(w.records_written(), 1);
    w.commit().unwrap();
    let got = cache.user_by_name("alice").unwrap().unwrap();
    assert_eq!((got.last_update, got.expire), (3, 4));
}

#[test]
fn initgroups_round_trip_and_stamps() {
    let (_d, cache) = open();
    assert_eq!(cache.initgroups("alice").unwrap(), None);
    let mut w = cache.writer().unwrap();
    w.set_initgroups("alice", &[10, 20, 30], 5, 6).unwrap();
    w.set_initgroups("bob", &[], 5, 6).unwrap();
    w.commit().unwrap();
    let want = Cached {
        value: vec![10, 20, 30],
        last_update: 5,
        expire: 6,
    };
    assert_eq!(cache.initgroups("alice").unwrap(), Some(want));
    assert_eq!(
        cache.initgroups("bob").unwrap().unwrap().value,
        Vec::<u32>::new()
    );
    let mut w = cache.writer().unwrap();
    w.set_initgroups("alice", &[10, 20, 30], 7, 8).unwrap();
    assert_eq!(w.records_written(), 0);
    w.set_initgroups("alice", &[10], 9, 10).unwrap();
    assert_eq!(w.records_written(), 1);
    w.commit().unwrap();
    let got = cache.initgroups("alice").unwrap().unwrap();
    assert_eq!((got.value, got.last_update, got.expire), (vec![10], 9, 10));
}

#[test]
fn delete_user_removes_record_index_initgroups_and_stamps() {
    let (_d, cache) = open();
    let mut w = cache.writer().unwrap();
    w.put_user(&user("alice", 1000), 1, 2).unwrap();
    w.put_user(&user("bob", 1001), 1, 2).unwrap();
    w.set_initgroups("alice", &[1], 1, 2).unwrap();
    w.commit().unwrap();
    let mut w = cache.writer().unwrap();
    w.delete_user("alice").unwrap();
    w.delete_user("nobody").unwrap();
    w.commit().unwrap();
    assert_eq!(cache.user_by_name("alice").unwrap(), None);
    assert_eq!(cache.user_by_uid(1000).unwrap(), None);
    assert_eq!(cache.initgroups("alice").unwrap(), None);
    assert_eq!(raw_stamp(&cache, StampKind::User, "alice"), None);
    assert_eq!(raw_stamp(&cache, StampKind::Initgroups, "alice"), None);
    assert_eq!(
        raw_get(&cache, cache.shared.dbs.uids, &1000u32.to_be_bytes()),
        None
    );
    assert!(cache.user_by_name("bob").unwrap().is_some());
}

#[test]
fn delete_group_removes_record_index_and_stamp() {
    let (_d, cache) = open();
    let mut w = cache.writer().unwrap();
    w.put_group(&group("g", 7, &["x"]), 1, 2).unwrap();
    w.commit().unwrap();
    let mut w = cache.writer().unwrap();
    w.delete_group("g").unwrap();
    w.delete_group("absent").unwrap();
    w.commit().unwrap();
    assert_eq!(cache.group_by_name("g").unwrap(), None);
    assert_eq!(cache.group_by_gid(7).unwrap(), None);
    assert_eq!(raw_stamp(&cache, StampKind::Group, "g"), None);
    assert!(cache.all_groups().unwrap().is_empty());
}

#[test]
fn expire_all_zeroes_every_expire_stamp() {
    let (_d, cache) = open();
    let mut w = cache.writer().unwrap();
    w.put_user(&user("alice", 1000), 100, 200).unwrap();
    w.put_group(&group("g", 7, &["alice"]), 101, 201).unwrap();
    w.set_initgroups("alice", &[7], 102, 202).unwrap();
    w.commit().unwrap();
    let mut w = cache.writer().unwrap();
    w.expire_all().unwrap();
    w.commit().unwrap();
    let u = cache.user_by_name("alice").unwrap().unwrap();
    let g = cache.group_by_gid(7).unwrap().unwrap();
    let i = cache.initgroups("alice").unwrap().unwrap();
    assert_eq!((u.last_update, u.expire), (100, 0));
    assert_eq!((g.last_update, g.expire), (101, 0));
    assert_eq!((i.last_update, i.expire), (102, 0));
    assert_eq!(u.value, user("alice", 1000), "records are untouched");
}

#[test]
fn dropped_writer_aborts_and_uncommitted_writes_are_invisible() {
    let (_d, cache) = open();
    let mut w = cache.writer().unwrap();
    w.put_user(&user("alice", 1000), 1, 2).unwrap();
    // A reader on another thread (the writer holds this thread's transaction slot).
    let other = cache.clone();
    let seen = std::thread::spawn(move || other.user_by_name("alice").unwrap())
        .join()
        .unwrap();
    assert_eq!(seen, None, "uncommitted write visible");
    drop(w);
    assert_eq!(cache.user_by_name("alice").unwrap(), None);
    assert_eq!(cache.user_by_uid(1000).unwrap(), None);
    // The environment is still writable after the abort.
    let mut w = cache.writer().unwrap();
    w.put_user(&user("bob", 1001), 1, 2).unwrap();
    w.commit().unwrap();
    assert!(cache.user_by_name("bob").unwrap().is_some());
}

#[test]
fn open_creates_private_directories() {
    let dir = tempfile::tempdir().unwrap();
    let db_dir = dir.path().join("db");
    let _cache = Cache::open(&db_dir, "example.com").unwrap();
    for d in [db_dir.clone(), db_dir.join("cache_example.com")] {
        let mode = std::fs::metadata(&d).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", d.display());
    }
    assert!(db_dir.join("cache_example.com/data.mdb").exists());
}

#[test]
fn domains_are_separate_and_bad_domain_names_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let a = Cache::open(dir.path(), "a.example").unwrap();
    let b = Cache::open(dir.path(), "b.example").unwrap();
    let mut w = a.writer().unwrap();
    w.put_user(&user("alice", 1000), 1, 2).unwrap();
    w.commit().unwrap();
    assert!(a.user_by_name("alice").unwrap().is_some());
    assert_eq!(b.user_by_name("alice").unwrap(), None);
    for bad in ["", "..", "a/b", "a\0b"] {
        assert!(
            matches!(Cache::open(dir.path(), bad), Err(CacheError::Io { .. })),
            "{bad:?}"
        );
    }
}

#[test]
fn opening_twice_in_one_process_shares_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let first = Cache::open(dir.path(), "d").unwrap();
    let second = Cache::open(dir.path(), "d").unwrap();
    let mut w = first.writer().unwrap();
    w.put_user(&user("alice", 1000), 1, 2).unwrap();
    w.commit().unwrap();
    assert!(second.user_by_uid(1000).unwrap().is_some());
    drop(first);
    drop(second);
    // Reopening after every handle is gone opens it afresh and sees the data.
    let third = Cache::open(dir.path(), "d").unwrap();
    assert!(third.user_by_name("alice").unwrap().is_some());
}

#[test]
fn concurrent_open_and_close_from_threads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let path = path.clone();
            std::thread::spawn(move || {
                for i in 0..25u32 {
                    let cache = Cache::open(&path, "d").unwrap();
                    let mut w = cache.writer().unwrap();
                    w.put_user(&user(&format!("u{t}_{i}"), t * 100 + i), 1, 2)
                        .unwrap();
                    w.commit().unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let cache = Cache::open(&path, "d").unwrap();
    assert_eq!(cache.all_users().unwrap().len(), 100);
}

#[test]
fn unknown_schema_version_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    {
        let cache = Cache::open(dir.path(), "d").unwrap();
        super::env::write_version(&cache.shared, 99).unwrap();
    }
    match Cache::open(dir.path(), "d") {
        Err(CacheError::Version {
            found: 99,
            expected: SCHEMA_VERSION,
            path,
        }) => assert!(path.ends_with("cache_d"), "{path}"),
        Err(e) => panic!("wrong error {e}"),
        Ok(_) => panic!("opened a cache with an unknown schema"),
    }
}

#[test]
fn corrupt_records_are_errors_naming_the_key() {
    let (_d, cache) = open();
    let mut w = cache.writer().unwrap();
    w.put_user(&user("alice", 1000), 1, 2).unwrap();
    w.put_group(&group("g", 7, &[]), 1, 2).unwrap();
    w.commit().unwrap();
    let dbs = cache.shared.dbs;
    raw_put(&cache, dbs.users, b"alice", b"\x01garbage");
    raw_put(&cache, dbs.groups, b"g", b"");
    raw_put(&cache, dbs.initgroups, b"alice", b"\x01\x05\x00");
    let check = |r: Result<(), CacheError>, key: &str| match r {
        Err(CacheError::Corrupt { key: k, .. }) => assert_eq!(k, key),
        other => panic!("expected corrupt {key}, got {other:?}"),
    };
    check(cache.user_by_name("alice").map(drop), "users:alice");
    check(cache.user_by_uid(1000).map(drop), "users:alice");
    check(cache.all_users().map(drop), "users:alice");
    check(cache.group_by_gid(7).map(drop), "groups:g");
    check(cache.all_groups().map(drop), "groups:g");
    check(cache.group_gids(&["g".into()]).map(drop), "groups:g");
    check(cache.initgroups("alice").map(drop), "initgroups:alice");
    raw_put(&cache, dbs.stamps, b"u:bob", b"short");
    let mut w = cache.writer().unwrap();
    w.put_user(&user("bob", 1001), 1, 2).unwrap();
    w.commit().unwrap();
    raw_put(&cache, dbs.stamps, b"u:bob", b"short");
    check(cache.user_by_name("bob").map(drop), "stamps:u:bob");

    // Overwriting a corrupt record repairs it and its index.
    let mut w = cache.writer().unwrap();
    w.put_user(&user("alice", 2000), 3, 4).unwrap();
    w.delete_group("g").unwrap();
    w.commit().unwrap();
    assert_eq!(cache.user_by_uid(1000).unwrap(), None);
    assert_eq!(
        cache.user_by_uid(2000).unwrap().unwrap().value.name,
        "alice"
    );
    assert_eq!(cache.group_by_gid(7).unwrap(), None);
}

#[test]
fn stale_index_entry_reads_as_absent() {
    let (_d, cache) = open();
    let mut w = cache.writer().unwrap();
    w.put_user(&user("alice", 1000), 1, 2).unwrap();
    w.commit().unwrap();
    raw_put(&cache, cache.shared.dbs.uids, &5u32.to_be_bytes(), b"alice");
    raw_put(&cache, cache.shared.dbs.uids, &6u32.to_be_bytes(), b"ghost");
    assert_eq!(cache.user_by_uid(5).unwrap(), None);
    assert_eq!(cache.user_by_uid(6).unwrap(), None);
}

#[test]
fn expire_all_repairs_unreadable_stamps() {
    let (_d, cache) = open();
    let mut w = cache.writer().unwrap();
    w.put_user(&user("alice", 1000), 1, 2).unwrap();
    w.commit().unwrap();
    raw_put(&cache, cache.shared.dbs.stamps, b"u:alice", b"bad");
    let mut w = cache.writer().unwrap();
    w.expire_all().unwrap();
    w.commit().unwrap();
    let u = cache.user_by_name("alice").unwrap().unwrap();
    assert_eq!((u.last_update, u.expire), (0, 0));
}

#[test]
fn unstorable_names_are_rejected_on_write_and_absent_on_read() {
    let (_d, cache) = open();
    let long = "x".repeat(600);
    let mut w = cache.writer().unwrap();
    for name in ["", long.as_str()] {
        let err = w.put_user(&user(name, 1), 1, 2).unwrap_err();
        assert!(matches!(err, CacheError::Invalid { .. }), "{err}");
        assert!(err.to_string().contains("user name"), "{err}");
        assert!(matches!(
            w.put_group(&group(name, 1, &[]), 1, 2),
            Err(CacheError::Invalid { .. })
        ));
        assert!(matches!(
            w.set_initgroups(name, &[1], 1, 2),
            Err(CacheError::Invalid { .. })
        ));
        w.delete_user(name).unwrap();
        w.delete_group(name).unwrap();
    }
    // The transaction is still usable after the rejections.
    w.put_user(&user("ok", 2), 1, 2).unwrap();
    w.commit().unwrap();
    for name in ["", long.as_str()] {
        assert_eq!(cache.user_by_name(name).unwrap(), None);
        assert_eq!(cache.group_by_name(name).unwrap(), None);
        assert_eq!(cache.initgroups(name).unwrap(), None);
    }
    assert!(cache.user_by_name("ok").unwrap().is_some());
    // The longest storable name works.
    let max = "m".repeat(cache.shared.max_name);
    let mut w = cache.writer().unwrap();
    w.put_user(&user(&max, 3), 1, 2).unwrap();
    w.set_initgroups(&max, &[1], 1, 2).unwrap();
    w.commit().unwrap();
    assert_eq!(cache.user_by_uid(3).unwrap().unwrap().value.name, max);
}

#[test]
fn writer_reads_its_own_writes_and_cache_reads_committed_state_meanwhile() {
    let (_d, cache) = open();
    let mut w = cache.writer().unwrap();
    w.put_user(&user("alice", 1000), 1, 2).unwrap();
    w.put_group(&group("g", 7, &["alice"]), 1, 2).unwrap();
    w.set_initgroups("alice", &[7], 1, 2).unwrap();
    assert_eq!(w.user_by_uid(1000).unwrap().unwrap().value.name, "alice");
    assert!(w.user_by_name("alice").unwrap().is_some());
    assert_eq!(w.group_by_gid(7).unwrap().unwrap().value.name, "g");
    assert!(w.group_by_name("g").unwrap().is_some());
    assert_eq!(w.initgroups("alice").unwrap().unwrap().value, vec![7]);
    assert_eq!(w.all_users().unwrap().len(), 1);
    assert_eq!(w.all_groups().unwrap().len(), 1);
    // A read transaction on the same thread as the open write transaction (MDB_NOTLS).
    assert_eq!(cache.user_by_uid(1000).unwrap(), None);
    assert!(cache.all_groups().unwrap().is_empty());
    w.commit().unwrap();
    assert!(cache.user_by_uid(1000).unwrap().is_some());
}

#[test]
fn taking_another_users_uid_replaces_that_user() {
    let (_d, cache) = open();
    let mut w = cache.writer().unwrap();
    w.put_user(&user("a", 1), 1, 2).unwrap();
    w.put_user(&user("b", 2), 1, 2).unwrap();
    w.commit().unwrap();
    let mut w = cache.writer().unwrap();
    w.put_user(&user("a", 2), 1, 2).unwrap();
    w.commit().unwrap();
    assert_eq!(cache.user_by_name("b").unwrap(), None);
    assert_eq!(cache.user_by_uid(1).unwrap(), None);
    assert_eq!(cache.user_by_uid(2).unwrap().unwrap().value.name, "a");
    assert_eq!(cache.all_users().unwrap().len(), 1);
}

#[test]
fn identical_record_with_a_lost_index_entry_is_reindexed() {
    let (_d, cache) = open();
    let mut w = cache.writer().unwrap();
    w.put_user(&user("alice", 1000), 1, 2).unwrap();
    w.commit().unwrap();
    let mut txn = cache.shared.env().write_txn().unwrap();
    cache
        .shared
        .dbs
        .uids
        .delete(&mut txn, &1000u32.to_be_bytes())
        .unwrap();
    txn.commit().unwrap();
    assert_eq!(cache.user_by_uid(1000).unwrap(), None);
    let mut w = cache.writer().unwrap();
    w.put_user(&user("alice", 1000), 3, 4).unwrap();
    w.commit().unwrap();
    assert_eq!(cache.user_by_uid(1000).unwrap().unwrap().last_update, 3);
}

#[test]
fn access_records_are_kept_apart_and_go_with_the_user() {
    let (_d, cache) = open();
    let rec = crate::cache::AccessRecord {
        filter_matched: Some(false),
        lockout_allowed: Some(true),
        entry: Some(vec![("shadowexpire".into(), vec![b"19000".to_vec()])]),
    };
    let mut w = cache.writer().unwrap();
    w.put_user(&user("alice", 1000), 1, 2).unwrap();
    w.put_access_record("alice", &rec).unwrap();
    assert!(w.put_access_record("", &rec).is_err());
    w.commit().unwrap();
    assert_eq!(cache.access_record("alice").unwrap(), Some(rec));
    assert_eq!(cache.access_record("bob").unwrap(), None);
    let mut w = cache.writer().unwrap();
    w.delete_user("alice").unwrap();
    w.commit().unwrap();
    assert_eq!(cache.access_record("alice").unwrap(), None);
}

#[test]
fn credentials_are_kept_apart_and_go_with_the_user() {
    let (_d, cache) = open();
    let creds = Credentials {
        hash: zeroize::Zeroizing::new("$6$0123456789abcdef$xyz".into()),
        last_online_auth: 5,
        failed_attempts: 2,
        ..Credentials::default()
    };
    let mut w = cache.writer().unwrap();
    w.put_user(&user("alice", 1000), 1, 2).unwrap();
    w.put_credentials("alice", &creds).unwrap();
    assert_eq!(w.credentials("alice").unwrap(), Some(creds.clone()));
    assert!(w.put_credentials("", &creds).is_err());
    w.commit().unwrap();
    assert_eq!(cache.credentials("alice").unwrap(), Some(creds.clone()));
    assert_eq!(cache.credentials("bob").unwrap(), None);
    assert_eq!(cache.credentials("").unwrap(), None);
    // The NSS-facing record never carries the hash.
    let raw = raw_get(&cache, cache.shared.dbs.users, b"alice").unwrap();
    assert!(!raw.windows(3).any(|w| w == b"$6$"));
    // A changed user record keeps its credentials; deleting the user drops them.
    let mut changed = user("alice", 1000);
    changed.gecos = "Alice Changed".into();
    let mut w = cache.writer().unwrap();
    w.put_user(&changed, 3, 4).unwrap();
    w.commit().unwrap();
    assert_eq!(cache.credentials("alice").unwrap(), Some(creds));
    let mut w = cache.writer().unwrap();
    w.delete_user("alice").unwrap();
    w.commit().unwrap();
    assert_eq!(cache.credentials("alice").unwrap(), None);
    // delete_credentials alone.
    let mut w = cache.writer().unwrap();
    w.put_credentials("bob", &Credentials::default()).unwrap();
    w.delete_credentials("bob").unwrap();
    w.delete_credentials("").unwrap();
    w.commit().unwrap();
    assert_eq!(cache.credentials("bob").unwrap(), None);
}

#[test]
fn expire_user_expires_it_and_its_initgroups_only() {
    let (_d, cache) = open();
    let mut w = cache.writer().unwrap();
    w.put_user(&user("alice", 1000), 100, 200).unwrap();
    w.put_user(&user("bob", 1001), 110, 210).unwrap();
    w.put_group(&group("g", 7, &["alice"]), 101, 201).unwrap();
    w.set_initgroups("alice", &[7], 102, 202).unwrap();
    w.set_initgroups("bob", &[7], 112, 212).unwrap();
    w.commit().unwrap();
    let mut w = cache.writer().unwrap();
    assert!(w.expire_user("alice").unwrap());
    assert!(!w.expire_user("nobody").unwrap());
    assert!(!w.expire_user("Alice").unwrap(), "keys are exact");
    assert!(!w.expire_user("").unwrap());
    w.commit().unwrap();
    let a = cache.user_by_name("alice").unwrap().unwrap();
    assert_eq!((a.last_update, a.expire), (100, 0));
    assert_eq!(a.value, user("alice", 1000), "the record is untouched");
    let ai = cache.initgroups("alice").unwrap().unwrap();
    assert_eq!((ai.last_update, ai.expire), (102, 0));
    let b = cache.user_by_name("bob").unwrap().unwrap();
    assert_eq!((b.last_update, b.expire), (110, 210));
    let bi = cache.initgroups("bob").unwrap().unwrap();
    assert_eq!(bi.expire, 212);
    let g = cache.group_by_name("g").unwrap().unwrap();
    assert_eq!(g.expire, 201);
    // Nothing was created for the unknown name.
    assert_eq!(raw_stamp(&cache, StampKind::User, "nobody"), None);
    assert_eq!(raw_stamp(&cache, StampKind::Initgroups, "nobody"), None);
}

#[test]
fn expire_group_expires_that_group_and_its_members_group_lists() {
    let (_d, cache) = open();
    let mut w = cache.writer().unwrap();
    w.put_user(&user("alice", 1000), 100, 200).unwrap();
    w.put_group(&group("g", 7, &["alice"]), 101, 201).unwrap();
    w.put_group(&group("h", 8, &[]), 103, 203).unwrap();
    w.set_initgroups("alice", &[7], 102, 202).unwrap();
    w.commit().unwrap();
    let mut w = cache.writer().unwrap();
    assert!(w.expire_group("g").unwrap());
    assert!(!w.expire_group("alice").unwrap(), "a user is not a group");
    w.commit().unwrap();
    assert_eq!(cache.group_by_gid(7).unwrap().unwrap().expire, 0);
    assert_eq!(cache.group_by_gid(8).unwrap().unwrap().expire, 203);
    assert_eq!(cache.user_by_name("alice").unwrap().unwrap().expire, 200);
    // alice is a member of g: her group list is refetched at the next lookup.
    assert_eq!(cache.initgroups("alice").unwrap().unwrap().expire, 0);
    let mut w = cache.writer().unwrap();
    w.set_initgroups("alice", &[7], 104, 204).unwrap();
    assert!(w.expire_group("h").unwrap());
    w.commit().unwrap();
    assert_eq!(cache.initgroups("alice").unwrap().unwrap().expire, 204);
}

#[test]
fn expire_all_users_or_groups_leaves_the_other_kind() {
    let (_d, cache) = open();
    let mut w = cache.writer().unwrap();
    w.put_user(&user("alice", 1000), 100, 200).unwrap();
    w.put_user(&user("bob", 1001), 110, 210).unwrap();
    w.put_group(&group("g", 7, &["alice"]), 101, 201).unwrap();
    w.set_initgroups("alice", &[7], 102, 202).unwrap();
    w.commit().unwrap();
    let mut w = cache.writer().unwrap();
    assert_eq!(w.expire_all_users().unwrap(), 2);
    w.commit().unwrap();
    assert_eq!(cache.user_by_name("alice").unwrap().unwrap().expire, 0);
    assert_eq!(cache.user_by_name("bob").unwrap().unwrap().expire, 0);
    assert_eq!(cache.initgroups("alice").unwrap().unwrap().expire, 0);
    assert_eq!(cache.group_by_name("g").unwrap().unwrap().expire, 201);
    let mut w = cache.writer().unwrap();
    assert_eq!(w.expire_all_groups().unwrap(), 1);
    w.commit().unwrap();
    let g = cache.group_by_name("g").unwrap().unwrap();
    assert_eq!((g.last_update, g.expire), (101, 0));
    // Memberships are the groups' data: the users' group lists expire with them.
    let mut w = cache.writer().unwrap();
    w.set_initgroups("alice", &[7], 105, 205).unwrap();
    w.commit().unwrap();
    let mut w = cache.writer().unwrap();
    w.expire_all_groups().unwrap();
    w.commit().unwrap();
    assert_eq!(cache.initgroups("alice").unwrap().unwrap().expire, 0);
    assert_eq!(cache.user_by_name("alice").unwrap().unwrap().expire, 0);
    // An empty cache has nothing to expire.
    let (_d2, empty) = open();
    let mut w = empty.writer().unwrap();
    assert_eq!(w.expire_all_users().unwrap(), 0);
    assert_eq!(w.expire_all_groups().unwrap(), 0);
}

#[test]
fn expiring_repairs_an_unreadable_stamp() {
    let (_d, cache) = open();
    let mut w = cache.writer().unwrap();
    w.put_user(&user("alice", 1000), 100, 200).unwrap();
    w.commit().unwrap();
    let key = codec::stamp_key(StampKind::User, "alice");
    raw_put(&cache, cache.shared.dbs.stamps, &key, b"junk");
    let mut w = cache.writer().unwrap();
    assert!(w.expire_user("alice").unwrap());
    w.commit().unwrap();
    let a = cache.user_by_name("alice").unwrap().unwrap();
    assert_eq!((a.last_update, a.expire), (0, 0));
}

#[test]
fn open_existing_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        Cache::open_existing(dir.path(), "example.com")
            .unwrap()
            .is_none()
    );
    assert!(!dir.path().join("cache_example.com").exists());
    let c = Cache::open(dir.path(), "example.com").unwrap();
    let mut w = c.writer().unwrap();
    w.put_user(&user("alice", 1000), 1, 2).unwrap();
    w.commit().unwrap();
    let again = Cache::open_existing(dir.path(), "example.com")
        .unwrap()
        .unwrap();
    assert!(again.user_by_name("alice").unwrap().is_some());
}

#[test]
fn group_members_keep_users_initgroups_in_step() {
    let (_d, cache) = open();
    let mut w = cache.writer().unwrap();
    w.set_initgroups("al", &[5], 100, 200).unwrap();
    w.set_initgroups("bo", &[], 100, 200).unwrap();
    w.put_group(&group("devs", 7, &[]), 100, 200).unwrap();
    w.commit().unwrap();
    let gids = |n: &str| {
        cache
            .initgroups(n)
            .unwrap()
            .map(|c| (c.value, c.last_update, c.expire))
    };
    assert_eq!(gids("al"), Some((vec![5], 100, 200)));
    // al joins devs: his list gains 7, with its stamps kept; cy has no list to update.
    let mut w = cache.writer().unwrap();
    w.put_group(&group("devs", 7, &["al", "cy"]), 150, 250)
        .unwrap();
    w.commit().unwrap();
    assert_eq!(gids("al"), Some((vec![5, 7], 100, 200)));
    assert_eq!(gids("cy"), None);
    // al leaves, bo joins.
    let mut w = cache.writer().unwrap();
    w.put_group(&group("devs", 7, &["bo"]), 160, 260).unwrap();
    w.commit().unwrap();
    assert_eq!(gids("al").unwrap().0, vec![5]);
    assert_eq!(gids("bo").unwrap().0, vec![7]);
    // The group is deleted: bo loses it.
    let mut w = cache.writer().unwrap();
    w.delete_group("devs").unwrap();
    w.commit().unwrap();
    assert_eq!(gids("bo").unwrap().0, Vec::<u32>::new());
}

#[test]
fn expiring_lists_records_due_by_a_time_per_kind() {
    let (_dir, cache) = open();
    let mut w = cache.writer().unwrap();
    w.put_user(&user("early", 1), 0, 100).unwrap();
    w.put_user(&user("late", 2), 0, 500).unwrap();
    w.put_user(&user("gone", 3), 0, 0).unwrap();
    w.put_group(&group("g1", 10, &[]), 0, 150).unwrap();
    w.put_group(&group("g2", 11, &[]), 0, 900).unwrap();
    w.set_initgroups("late", &[10], 0, 120).unwrap();
    w.commit().unwrap();
    cache
        .apply_netgroup_ops(
            &[
                NetgroupOp::Put(netgroup("ng-old"), 50),
                NetgroupOp::Put(netgroup("ng-new"), 5000),
            ],
            0,
        )
        .unwrap();
    assert_eq!(
        cache.expiring(RefreshKind::User, 200).unwrap(),
        ["early", "gone"]
    );
    assert_eq!(
        cache.expiring(RefreshKind::User, 500).unwrap(),
        ["early", "gone", "late"],
        "an expiry at the limit is included"
    );
    assert_eq!(cache.expiring(RefreshKind::Group, 200).unwrap(), ["g1"]);
    assert_eq!(
        cache.expiring(RefreshKind::Initgroups, 200).unwrap(),
        ["late"]
    );
    assert_eq!(
        cache.expiring(RefreshKind::Netgroup, 200).unwrap(),
        ["ng-old"]
    );
    assert!(cache.expiring(RefreshKind::User, -1).unwrap().is_empty());
}

fn netgroup(name: &str) -> Netgroup {
    Netgroup {
        name: name.into(),
        triples: Vec::new(),
        members: Vec::new(),
        dn: format!("cn={name},ou=netgroup,dc=example,dc=com"),
        modify_timestamp: None,
    }
}
