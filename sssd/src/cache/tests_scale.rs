//! Tests at scale and across processes: 10,000 users, a 5,000-member group, and a child
//! process writing while this one reads.

use super::*;
use std::process::Command;
use std::time::{Duration, Instant};

/// Environment variable telling the child-writer test which `db_dir` to write to.
const CHILD_DIR_VAR: &str = "SSSD_CACHE_TEST_CHILD_DIR";
/// Transactions the child commits, and users per transaction.
const CHILD_TXNS: u32 = 40;
const CHILD_BATCH: u32 = 100;

/// A child process killed (by PID) and reaped when the guard drops, even if the test panics.
struct ChildGuard(std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn user(i: u32) -> User {
    User {
        name: format!("user{i:05}"),
        uid: 100_000 + i,
        gid: 100_000 + i,
        gecos: format!("Test User {i}"),
        home: format!("/home/user{i:05}"),
        shell: "/bin/bash".into(),
        dn: format!("uid=user{i:05},ou=people,dc=example,dc=com"),
        upn: Some(format!("user{i:05}@EXAMPLE.COM")),
        modify_timestamp: Some("20240101000000Z".into()),
        emails: Vec::new(),
    }
}

#[test]
fn ten_thousand_users_and_a_5000_member_group_fit_and_are_fast() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path(), "example.com").unwrap();
    let n = 10_000u32;

    let t = Instant::now();
    let mut w = cache.writer().unwrap();
    for i in 0..n {
        w.put_user(&user(i), 1, 2).unwrap();
    }
    w.commit().unwrap();
    let store_users = t.elapsed();

    let group = Group {
        name: "everyone".into(),
        gid: 9000,
        members: (0..5000).map(|i| user(i).name).collect(),
        dn: "cn=everyone,ou=groups,dc=example,dc=com".into(),
        modify_timestamp: None,
    };
    let t = Instant::now();
    let mut w = cache.writer().unwrap();
    w.put_group(&group, 1, 2).unwrap();
    assert_eq!(w.records_written(), 1);
    w.commit().unwrap();
    let store_group = t.elapsed();

    let info_before = cache.shared.env().info();
    let t = Instant::now();
    let mut w = cache.writer().unwrap();
    w.put_group(&group, 3, 4).unwrap();
    assert_eq!(w.records_written(), 0, "unchanged group rewritten");
    w.commit().unwrap();
    let restore_group = t.elapsed();
    let info_after = cache.shared.env().info();

    let t = Instant::now();
    for i in 0..n {
        let u = cache.user_by_name(&user(i).name).unwrap().unwrap();
        assert_eq!(u.value.uid, 100_000 + i);
    }
    let by_name = t.elapsed();
    let t = Instant::now();
    for i in 0..n {
        assert!(cache.user_by_uid(100_000 + i).unwrap().is_some());
    }
    let by_uid = t.elapsed();
    let t = Instant::now();
    for _ in 0..100 {
        assert_eq!(
            cache
                .group_by_gid(9000)
                .unwrap()
                .unwrap()
                .value
                .members
                .len(),
            5000
        );
    }
    let big_group = t.elapsed();

    let per = |d: Duration, k: u32| d.as_secs_f64() * 1e6 / f64::from(k);
    let used = info_after.last_page_number * 4096;
    println!(
        "cache bench: store {n} users {:?}; store 5000-member group {:?}; re-store unchanged \
         {:?}; lookup by name {:.2} µs, by uid {:.2} µs, 5000-member group {:.1} µs; \
         ~{} KiB of pages used (last page {} -> {})",
        store_users,
        store_group,
        restore_group,
        per(by_name, n),
        per(by_uid, n),
        per(big_group, 100),
        used / 1024,
        info_before.last_page_number,
        info_after.last_page_number,
    );
    assert!(
        used < info_after.map_size / 16,
        "map filling up: {used} bytes"
    );
    // Re-storing the ~70 KiB group would need ~18 new overflow pages; the stamp needs a few.
    assert!(
        info_after.last_page_number <= info_before.last_page_number + 6,
        "re-storing an unchanged group grew the file by {} pages",
        info_after.last_page_number - info_before.last_page_number
    );
    assert_eq!(cache.all_users().unwrap().len(), n as usize);
}

/// Writes `CHILD_TXNS` batches of users (one transaction each) when started as the child of
/// `another_process_writes_while_this_one_reads`; does nothing in a normal test run.
#[test]
fn child_writer() {
    let Some(dir) = std::env::var_os(CHILD_DIR_VAR) else {
        return;
    };
    let cache = Cache::open(std::path::Path::new(&dir), "shared").unwrap();
    for t in 0..CHILD_TXNS {
        let mut w = cache.writer().unwrap();
        for i in 0..CHILD_BATCH {
            w.put_user(&user(t * CHILD_BATCH + i), i64::from(t), 100)
                .unwrap();
        }
        w.commit().unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn another_process_writes_while_this_one_reads() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path(), "shared").unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "cache::tests_scale::child_writer",
            "--test-threads=1",
        ])
        .env(CHILD_DIR_VAR, dir.path())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let total = CHILD_TXNS * CHILD_BATCH;
    let mut last = 0usize;
    let mut intermediate = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        let exited = child.try_wait().unwrap();
        let users = cache.all_users().unwrap();
        let seen = users.len();
        assert_eq!(
            seen % CHILD_BATCH as usize,
            0,
            "saw a partial transaction: {seen}"
        );
        assert!(seen >= last, "went back from {last} to {seen}");
        if seen > 0 && seen < total as usize {
            intermediate += 1;
            // The last user of the newest batch is complete and indexed.
            let newest = user(u32::try_from(seen).unwrap() - 1);
            let got = cache.user_by_uid(newest.uid).unwrap().unwrap();
            assert_eq!(got.value, newest);
        }
        last = seen;
        if let Some(status) = exited {
            break status;
        }
        assert!(Instant::now() < deadline, "child writer did not finish");
    };
    assert!(status.success(), "child writer failed: {status}");
    assert_eq!(cache.all_users().unwrap().len(), total as usize);
    let last_user = user(total - 1);
    let got = cache.user_by_name(&last_user.name).unwrap().unwrap();
    assert_eq!((got.value, got.expire), (last_user, 100));
    assert!(intermediate > 0, "never observed the child mid-way");
}

/// Environment variable telling the crashing-writer child which `db_dir` to use.
const CRASH_DIR_VAR: &str = "SSSD_CACHE_TEST_CRASH_DIR";

/// Opens a write transaction, writes, announces it and waits to be killed, when started as
/// the child of `a_writer_killed_mid_transaction_leaves_the_cache_usable`.
#[test]
fn child_crashing_writer() {
    let Some(dir) = std::env::var_os(CRASH_DIR_VAR) else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let cache = Cache::open(&dir, "shared").unwrap();
    let mut w = cache.writer().unwrap();
    w.put_user(&user(1), 1, 2).unwrap();
    std::fs::write(dir.join("child-ready"), b"").unwrap();
    std::thread::sleep(Duration::from_secs(120));
    w.commit().unwrap();
}

#[test]
fn a_writer_killed_mid_transaction_leaves_the_cache_usable() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path(), "shared").unwrap();
    let mut guard = ChildGuard(
        Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "cache::tests_scale::child_crashing_writer",
                "--test-threads=1",
            ])
            .env(CRASH_DIR_VAR, dir.path())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let child = &mut guard.0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !dir.path().join("child-ready").exists() {
        assert!(
            Instant::now() < deadline && child.try_wait().unwrap().is_none(),
            "child never opened its write transaction"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // SIGKILL, by PID, while the child holds LMDB's writer lock.
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(cache.user_by_uid(user(1).uid).unwrap(), None);

    // A new writer must get the lock (LMDB's robust mutex) rather than hang.
    let (tx, rx) = std::sync::mpsc::channel();
    let writer_cache = cache.clone();
    std::thread::spawn(move || {
        let r = (|| {
            let mut w = writer_cache.writer()?;
            w.put_user(&user(2), 1, 2)?;
            w.commit()
        })();
        let _ = tx.send(r.map_err(|e| e.to_string()));
    });
    let result = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("writer hung after the previous writer was killed");
    result.unwrap();
    assert!(cache.user_by_uid(user(2).uid).unwrap().is_some());
    assert_eq!(cache.user_by_uid(user(1).uid).unwrap(), None);

    // A second opening in a fresh process state also works (stale reader check included).
    drop(cache);
    let cache = Cache::open(dir.path(), "shared").unwrap();
    assert_eq!(cache.all_users().unwrap().len(), 1);
}
