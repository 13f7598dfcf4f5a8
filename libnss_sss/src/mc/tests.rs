//! The memory-cache reader against files built in a temporary directory by
//! [`super::testwriter`], with the fake responder behind it for everything the cache does
//! not answer.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sss_proto::memcache::{Geometry, Header, MapKind, RegionMut, STATUS_RECYCLED, STATUS_UNINIT};

use super::testwriter::McWriter;
use super::*;
use crate::client::Client;
use crate::fill::tests::{read_group, read_passwd, zero_group, zero_passwd};
use crate::initgr::tests::CArray;
use crate::lookup::{getgrgid, getgrnam, getpwnam, getpwuid};
use crate::nss::Nss;
use crate::testutil::{Fake, directory};

const SEED: u32 = 0x0bad_cafe;

fn now() -> u64 {
    sys::wall_seconds() as u64
}

fn fresh() -> u64 {
    now() + 3600
}

/// A temporary cache directory, a reader on it and the fake responder.
struct Setup {
    dir: tempfile::TempDir,
    mc: MemCache,
    fake: Fake,
    client: Client,
}

impl Setup {
    fn new() -> Setup {
        Setup::with_period(Duration::ZERO)
    }

    fn with_period(period: Duration) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let mc = MemCache::in_dir(dir.path(), period);
        let fake = Fake::start(directory);
        let client = Client::new(&fake.path);
        Setup {
            dir,
            mc,
            fake,
            client,
        }
    }

    fn nss(&self) -> Nss<'_> {
        Nss::new(Some(&self.mc), &self.client)
    }

    fn path(&self, kind: MapKind) -> PathBuf {
        self.dir.path().join(kind.file_name())
    }

    /// Requests the responder received, GET_VERSION excluded.
    fn requests(&self) -> usize {
        self.fake.log().iter().filter(|(c, _)| *c != 1).count()
    }

    /// A passwd file with alice (uid 10001) as the cache knows her: gecos "cached".
    fn passwd_file(&self) -> McWriter {
        let mut w = McWriter::create(&self.path(MapKind::Passwd), 256, SEED).unwrap();
        w.passwd(
            "alice",
            10001,
            10000,
            "cached",
            "/home/alice",
            "/bin/zsh",
            fresh(),
        )
        .unwrap();
        w
    }

    fn pw(&self, name: &str) -> Result<(String, u32, String), NssError> {
        let mut pwd = zero_passwd();
        let mut buf = vec![0u8; 1024];
        getpwnam(&self.nss(), name.as_bytes(), &mut pwd, &mut buf)?;
        let p = read_passwd(&pwd);
        Ok((p.0, p.2, p.4))
    }
}

/// Waits past the period between two fstat checks of a mapped file (`sys::CHECK_TICKS`,
/// at most ~130 µs on x86-64): changes only fstat can see (an unlink without the RECYCLED
/// mark, a replacement, a shrink) are noticed by the next call after it.
fn after_the_file_check_period() {
    std::thread::sleep(Duration::from_millis(2));
}

#[test]
fn passwd_hits_by_name_and_uid_never_ask_the_responder() {
    let s = Setup::new();
    let _w = s.passwd_file();
    let mut pwd = zero_passwd();
    let mut buf = vec![0u8; 200];
    getpwnam(&s.nss(), b"alice", &mut pwd, &mut buf).unwrap();
    assert_eq!(
        read_passwd(&pwd),
        (
            "alice".into(),
            "*".into(),
            10001,
            10000,
            "cached".into(),
            "/home/alice".into(),
            "/bin/zsh".into()
        )
    );
    // Strings sit at the start of the caller's buffer.
    assert_eq!(pwd.pw_name as usize, buf.as_ptr() as usize);
    let mut pwd = zero_passwd();
    getpwuid(&s.nss(), 10001, &mut pwd, &mut buf).unwrap();
    assert_eq!(read_passwd(&pwd).4, "cached");
    assert_eq!(s.fake.accepts(), 0, "no connection for cache hits");
}

#[test]
fn group_hits_fill_strings_then_an_aligned_member_array() {
    let s = Setup::new();
    let mut w = McWriter::create(&s.path(MapKind::Group), 256, SEED).unwrap();
    w.group("devs", 20001, &["alice", "bob", "zed"], fresh())
        .unwrap();
    w.group("empty", 20009, &[], fresh()).unwrap();
    // An odd buffer start: the array is still aligned, after the strings.
    let mut backing = vec![0u8; 300];
    let buf = &mut backing[3..];
    let mut grp = zero_group();
    getgrnam(&s.nss(), b"devs", &mut grp, buf).unwrap();
    assert_eq!(
        read_group(&grp),
        (
            "devs".into(),
            "*".into(),
            20001,
            vec!["alice".into(), "bob".into(), "zed".into()]
        )
    );
    let strs_len = b"devs\0*\0alice\0bob\0zed\0".len();
    assert_eq!(grp.gr_name as usize, buf.as_ptr() as usize);
    assert!(grp.gr_mem as usize >= buf.as_ptr() as usize + strs_len);
    assert_eq!(
        grp.gr_mem as usize % std::mem::align_of::<*mut libc::c_char>(),
        0
    );
    let mut grp = zero_group();
    getgrgid(&s.nss(), 20009, &mut grp, buf).unwrap();
    assert_eq!(
        read_group(&grp),
        ("empty".into(), "*".into(), 20009, vec![])
    );
    assert_eq!(s.fake.accepts(), 0);
}

#[test]
fn initgroups_hit_appends_as_sssd() {
    let s = Setup::new();
    let mut w = McWriter::create(&s.path(MapKind::Initgroups), 256, SEED).unwrap();
    w.initgroups("Al", "al@LDAP", &[10000, 20001, 20002], fresh())
        .unwrap();
    w.initgroups("solo", "solo@LDAP", &[], fresh()).unwrap();
    let mut a = CArray::new(&[10000], 1);
    a.dyn_call(&s.nss(), b"Al", -1).unwrap();
    // Primary gid included, array grown to size + num.
    assert_eq!(a.contents(), [10000, 10000, 20001, 20002]);
    assert_eq!(a.size, 4);
    // A record with no gids: SUCCESS, nothing appended, nothing allocated.
    let mut b = CArray::new(&[7], 1);
    b.dyn_call(&s.nss(), b"solo", -1).unwrap();
    assert_eq!((b.contents(), b.size), (vec![7], 1));
    // Limit clamps.
    let mut c = CArray::new(&[10000], 1);
    c.dyn_call(&s.nss(), b"Al", 2).unwrap();
    assert_eq!((c.contents(), c.size), (vec![10000, 10000], 2));
    assert_eq!(s.fake.accepts(), 0);
    // The unique name is not a lookup key: that goes to the responder (which says NOTFOUND).
    let mut d = CArray::new(&[], 0);
    assert_eq!(
        d.dyn_call(&s.nss(), b"al@LDAP", -1),
        Err(NssError::NotFound)
    );
    // A user the cache does not have: the responder's answer, every gid kept.
    let mut e = CArray::new(&[10000], 1);
    e.dyn_call(&s.nss(), b"alice", -1).unwrap();
    assert_eq!(e.contents(), [10000, 20001, 10000, 20002, 20003]);
}

#[test]
fn misses_and_expired_records_go_to_the_responder() {
    let s = Setup::new();
    let mut w = s.passwd_file();
    w.passwd("bob", 10002, 10000, "stale", "/h", "/s", now() - 10)
        .unwrap();
    assert_eq!(s.pw("alice").unwrap().2, "cached");
    assert_eq!(s.requests(), 0);
    // bob's record has expired: the responder's bob.
    assert_eq!(s.pw("bob").unwrap().2, "Bob");
    assert_eq!(s.requests(), 1);
    // carol is not in the file at all.
    assert_eq!(s.pw("carol").unwrap().2, "Carol");
    // Nobody anywhere: NOTFOUND from the responder.
    assert_eq!(s.pw("nobody"), Err(NssError::NotFound));
    assert_eq!(s.requests(), 3);
    // Expired by id too.
    let mut pwd = zero_passwd();
    let mut buf = vec![0u8; 512];
    getpwuid(&s.nss(), 10002, &mut pwd, &mut buf).unwrap();
    assert_eq!(read_passwd(&pwd).4, "Bob");
    // Directly: the reasons.
    let mut pwd = zero_passwd();
    assert_eq!(
        s.mc.passwd_by_name(b"bob", &mut pwd, &mut buf),
        Err(Miss::Lookup(McError::Expired))
    );
    assert_eq!(
        s.mc.passwd_by_name(b"carol", &mut pwd, &mut buf),
        Err(Miss::Lookup(McError::NotFound))
    );
}

#[test]
fn range_then_success_with_a_bigger_buffer() {
    let s = Setup::new();
    let _w = s.passwd_file();
    let mut pwd = zero_passwd();
    let mut small = vec![0u8; 10];
    assert_eq!(
        getpwnam(&s.nss(), b"alice", &mut pwd, &mut small),
        Err(NssError::Range)
    );
    assert!(pwd.pw_name.is_null(), "struct untouched on ERANGE");
    let mut big = vec![0u8; 100];
    getpwnam(&s.nss(), b"alice", &mut pwd, &mut big).unwrap();
    assert_eq!(read_passwd(&pwd).0, "alice");

    // Group: the strings fit but not the member array.
    let mut g = McWriter::create(&s.path(MapKind::Group), 256, SEED).unwrap();
    g.group("devs", 20001, &["alice", "bob"], fresh()).unwrap();
    let strs_len = b"devs\0*\0alice\0bob\0".len();
    let mut backing = vec![0u64; 8];
    // SAFETY: viewing the u64 vector's bytes (aligned, so the padding is predictable).
    let bytes = unsafe { std::slice::from_raw_parts_mut(backing.as_mut_ptr().cast::<u8>(), 64) };
    let mut grp = zero_group();
    let need = strs_len.next_multiple_of(8) + 3 * 8;
    assert_eq!(
        getgrnam(&s.nss(), b"devs", &mut grp, &mut bytes[..need - 1]),
        Err(NssError::Range)
    );
    assert!(grp.gr_name.is_null());
    getgrnam(&s.nss(), b"devs", &mut grp, &mut bytes[..need]).unwrap();
    assert_eq!(read_group(&grp).3, vec!["alice".to_string(), "bob".into()]);
    assert_eq!(s.requests(), 0, "ERANGE never asks the responder");
}

#[test]
fn recycled_file_falls_back_then_the_new_file_is_used() {
    let s = Setup::new();
    let mut w = s.passwd_file();
    assert_eq!(s.pw("alice").unwrap().2, "cached");
    // sssd_nss restarting: RECYCLED, unlink, a new file.
    w.set_status(STATUS_RECYCLED);
    let mut pwd = zero_passwd();
    let mut buf = vec![0u8; 512];
    assert_eq!(
        s.mc.passwd_by_name(b"alice", &mut pwd, &mut buf),
        Err(Miss::Unusable(Unusable::Stale))
    );
    assert_eq!(
        s.pw("alice").unwrap().2,
        "Alice Liddell",
        "socket meanwhile"
    );
    std::fs::remove_file(s.path(MapKind::Passwd)).unwrap();
    let mut n = McWriter::create(&s.path(MapKind::Passwd), 256, SEED + 1).unwrap();
    after_the_file_check_period();
    n.passwd("alice", 10001, 10000, "new file", "/h", "/s", fresh())
        .unwrap();
    assert_eq!(s.pw("alice").unwrap().2, "new file");
    // The old mapping was unmapped (its slot is free again).
    let states = s.mc.map(MapKind::Passwd).slot_states();
    assert_eq!(
        states.iter().filter(|(p, _)| *p != 0).count(),
        1,
        "{states:?}"
    );
}

#[test]
fn unmarked_unlink_is_seen_within_the_check_period_recycling_at_once() {
    let s = Setup::new();
    let w = s.passwd_file();
    assert_eq!(s.pw("alice").unwrap().2, "cached");
    // Unlinked without the RECYCLED mark (no writer does that; an administrator's rm):
    // noticed by the fstat check, which runs at most once per period.
    std::fs::remove_file(s.path(MapKind::Passwd)).unwrap();
    after_the_file_check_period();
    assert_eq!(
        s.mc.map(MapKind::Passwd).enter().err(),
        Some(Unusable::Stale)
    );
    drop(w);
    // Marked RECYCLED (what sssd_nss and sss_cache do): the very next call drops it.
    let mut w = s.passwd_file();
    after_the_file_check_period();
    assert_eq!(s.pw("alice").unwrap().2, "cached");
    w.set_status(sss_proto::memcache::STATUS_RECYCLED);
    assert_eq!(
        s.mc.map(MapKind::Passwd).enter().err(),
        Some(Unusable::Stale)
    );
}

#[test]
fn unlinked_file_falls_back() {
    let s = Setup::new();
    let _w = s.passwd_file();
    assert_eq!(s.pw("alice").unwrap().2, "cached");
    std::fs::remove_file(s.path(MapKind::Passwd)).unwrap();
    after_the_file_check_period();
    assert_eq!(s.pw("alice").unwrap().2, "Alice Liddell");
    assert_eq!(s.pw("alice").unwrap().2, "Alice Liddell");
    let states = s.mc.map(MapKind::Passwd).slot_states();
    assert!(states.iter().all(|(p, _)| *p == 0), "unmapped: {states:?}");
}

#[test]
fn replaced_inode_is_picked_up() {
    let s = Setup::new();
    let _w = s.passwd_file();
    assert_eq!(s.pw("alice").unwrap().2, "cached");
    let tmp = s.dir.path().join("passwd.new");
    let mut n = McWriter::create(&tmp, 256, SEED).unwrap();
    n.passwd("alice", 10001, 10000, "replaced", "/h", "/s", fresh())
        .unwrap();
    std::fs::rename(&tmp, s.path(MapKind::Passwd)).unwrap();
    after_the_file_check_period();
    // The first call notices (old inode unlinked) and falls back; the next maps the new one.
    assert_eq!(s.pw("alice").unwrap().2, "Alice Liddell");
    assert_eq!(s.pw("alice").unwrap().2, "replaced");
    // Same inode numbers elsewhere (a new inode on the same path with the same size): the
    // check is by dev/ino, not by path.
    assert_eq!(s.pw("alice").unwrap().2, "replaced");
}

#[test]
fn truncated_tiny_and_random_files_fall_back_without_crashing() {
    let s = Setup::new();
    let p = s.path(MapKind::Passwd);
    let geo = Geometry::for_slots(256).unwrap();
    // A header whose tables need more than the file has: refused before any access past it.
    {
        let w = s.passwd_file();
        drop(w);
        let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
        f.set_len(u64::from(geo.hash_table) + 4).unwrap();
    }
    let mut pwd = zero_passwd();
    let mut buf = vec![0u8; 512];
    assert_eq!(
        s.mc.passwd_by_name(b"alice", &mut pwd, &mut buf),
        Err(Miss::Unusable(Unusable::Invalid(
            "header tables outside the file"
        )))
    );
    assert_eq!(s.pw("alice").unwrap().2, "Alice Liddell");
    for bytes in [vec![], vec![0xf0u8; 55], vec![0u8; 4096]] {
        std::fs::write(&p, &bytes).unwrap();
        assert!(matches!(
            s.mc.passwd_by_name(b"alice", &mut pwd, &mut buf),
            Err(Miss::Unusable(Unusable::Invalid(_)))
        ));
    }
    // Random bytes, and random tables behind a valid header: any answer but a crash.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..40 {
        let mut bytes: Vec<u8> = (0..geo.file_size).map(|_| rnd() as u8).collect();
        if round % 2 == 1 {
            bytes[..52].copy_from_slice(&Header::alive(&geo, SEED, 0xf000_0001).encode());
        }
        std::fs::write(&p, &bytes).unwrap();
        for i in 0..50u32 {
            let name = format!("user{i}");
            let _ = s.mc.passwd_by_name(name.as_bytes(), &mut pwd, &mut buf);
            let _ = s.mc.passwd_by_uid(rnd() as u32 % 64, &mut pwd, &mut buf);
        }
        // The directory's answer is still reachable.
        if round == 0 {
            assert_eq!(s.pw("bob").unwrap().2, "Bob");
        }
    }
    // A directory in place of the file.
    std::fs::remove_file(&p).unwrap();
    std::fs::create_dir(&p).unwrap();
    assert!(s.mc.passwd_by_name(b"alice", &mut pwd, &mut buf).is_err());
}

#[test]
fn shrunk_after_mapping_is_noticed_before_any_read() {
    let s = Setup::new();
    let _w = s.passwd_file();
    assert_eq!(s.pw("alice").unwrap().2, "cached");
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(s.path(MapKind::Passwd))
        .unwrap();
    // Down to one page: the data and hash tables are gone; touching them would SIGBUS.
    f.set_len(4096).unwrap();
    after_the_file_check_period();
    let mut pwd = zero_passwd();
    let mut buf = vec![0u8; 512];
    assert_eq!(
        s.mc.passwd_by_name(b"alice", &mut pwd, &mut buf),
        Err(Miss::Unusable(Unusable::Stale))
    );
    // Reopened: refused by size before anything past the header is read.
    assert!(matches!(
        s.mc.passwd_by_name(b"alice", &mut pwd, &mut buf),
        Err(Miss::Unusable(Unusable::Invalid(_)))
    ));
    assert_eq!(s.pw("alice").unwrap().2, "Alice Liddell");
}

#[test]
fn header_changes_retire_the_mapping() {
    let s = Setup::new();
    let mut w = s.passwd_file();
    let mut pwd = zero_passwd();
    let mut buf = vec![0u8; 512];
    let h = Header::read(w.region()).unwrap();
    s.mc.passwd_by_name(b"alice", &mut pwd, &mut buf).unwrap();
    // The status is checked on every call; the rest with the periodic file check (no
    // writer changes them in place).
    for (changed, every_call) in [
        (
            Header {
                seed: h.seed + 1,
                ..h
            },
            false,
        ),
        (
            Header {
                status: STATUS_UNINIT,
                ..h
            },
            true,
        ),
        (Header { minor_vno: 2, ..h }, false),
        (
            Header {
                ht_size: h.ht_size - 4,
                ..h
            },
            false,
        ),
    ] {
        w.store_header(&changed);
        if !every_call {
            after_the_file_check_period();
        }
        assert_eq!(
            s.mc.passwd_by_name(b"alice", &mut pwd, &mut buf),
            Err(Miss::Unusable(Unusable::Stale)),
            "{changed:?}"
        );
        w.store_header(&h);
        s.mc.passwd_by_name(b"alice", &mut pwd, &mut buf).unwrap();
    }
    // A torn header (barriers disagree) is not trusted either.
    w.region().store_u32(48, 0xf000_0999);
    assert_eq!(
        s.mc.passwd_by_name(b"alice", &mut pwd, &mut buf),
        Err(Miss::Unusable(Unusable::Stale))
    );
}

#[test]
fn missing_file_is_looked_for_once_per_period() {
    let s = Setup::with_period(Duration::from_millis(300));
    let mut pwd = zero_passwd();
    let mut buf = vec![0u8; 512];
    let miss = |e| Err(Miss::Unusable(e));
    assert_eq!(
        s.mc.passwd_by_name(b"alice", &mut pwd, &mut buf),
        miss(Unusable::Os(libc::ENOENT))
    );
    let t0 = Instant::now();
    let _w = s.passwd_file();
    // Within the period: not even an open().
    assert_eq!(
        s.mc.passwd_by_name(b"alice", &mut pwd, &mut buf),
        miss(Unusable::Pacing)
    );
    // The file appeared: picked up once the period has passed.
    loop {
        match s.mc.passwd_by_name(b"alice", &mut pwd, &mut buf) {
            Ok(()) => break,
            Err(e) => assert_eq!(e, Miss::Unusable(Unusable::Pacing)),
        }
        assert!(t0.elapsed() < Duration::from_secs(2), "not picked up");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(t0.elapsed() >= Duration::from_millis(200));
    // A miss with no file costs no syscall but a clock read: well under a microsecond.
    let s2 = Setup::with_period(Duration::from_secs(3600));
    let _ = s2.mc.passwd_by_name(b"x", &mut pwd, &mut buf);
    let t = Instant::now();
    for _ in 0..10_000 {
        assert_eq!(
            s2.mc.passwd_by_name(b"x", &mut pwd, &mut buf),
            miss(Unusable::Pacing)
        );
    }
    let per = t.elapsed() / 10_000;
    assert!(per < Duration::from_micros(5), "{per:?} per miss");
}

/// Runs `f` in a forked child and returns its exit code (the child must `_exit`).
fn in_child(f: impl FnOnce() -> i32) -> i32 {
    // SAFETY: the child runs `f` (no locks held by other threads are needed: the reader takes
    // none, malloc is fork-safe in glibc) and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(99);
        // SAFETY: leave the forked test process without running destructors.
        unsafe { libc::_exit(code) };
    }
    let mut st = 0;
    // SAFETY: waiting for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut st, 0) }, pid);
    assert!(libc::WIFEXITED(st), "child died: {st:#x}");
    libc::WEXITSTATUS(st)
}

#[test]
fn memcache_switch_off_in_the_environment() {
    let s = Setup::new();
    let _w = s.passwd_file();
    let code = in_child(|| {
        // SAFETY: the forked child is single-threaded.
        unsafe { std::env::set_var("SSS_NSS_USE_MEMCACHE", "no") };
        let mut pwd = zero_passwd();
        let mut buf = vec![0u8; 512];
        let off = s.mc.passwd_by_name(b"alice", &mut pwd, &mut buf)
            == Err(Miss::Unusable(Unusable::Disabled));
        let via_socket = s.pw("alice").map(|p| p.2) == Ok("Alice Liddell".into());
        // SAFETY: as above.
        unsafe { std::env::set_var("SSS_NSS_USE_MEMCACHE", "yes") };
        let on = s.pw("alice").map(|p| p.2) == Ok("cached".into());
        i32::from(!off) | i32::from(!via_socket) << 1 | i32::from(!on) << 2
    });
    assert_eq!(code, 0);
}

#[test]
fn loops_switch_still_lets_the_cache_answer() {
    // SSSD checks _SSS_LOOPS only before the socket: a cache hit is still a hit.
    let s = Setup::new();
    let _w = s.passwd_file();
    let code = in_child(|| {
        // SAFETY: the forked child is single-threaded.
        unsafe { std::env::set_var("_SSS_LOOPS", "NO") };
        let hit = s.pw("alice").map(|p| p.2) == Ok("cached".into());
        let miss = s.pw("bob") == Err(NssError::LoopsDisabled);
        i32::from(!hit) | i32::from(!miss) << 1
    });
    assert_eq!(code, 0);
    assert_eq!(s.requests(), 0, "nothing asked of the responder");
}

#[test]
fn forked_child_answers_from_the_cache() {
    let s = Setup::new();
    let _w = s.passwd_file();
    assert_eq!(s.pw("alice").unwrap().2, "cached");
    // A reference held across fork, as a thread inside the mapping at fork time leaves one.
    let held = s.mc.map(MapKind::Passwd).enter().unwrap();
    let code = in_child(|| {
        if s.pw("alice").map(|p| p.2) != Ok("cached".into()) {
            return 1;
        }
        // Replace the file in the child: the stuck slot cannot be unmapped here, the new file
        // goes to another slot and is used.
        let tmp = s.dir.path().join("child.new");
        let Ok(mut n) = McWriter::create(&tmp, 256, SEED) else {
            return 2;
        };
        if n.passwd("alice", 10001, 10000, "child", "/h", "/s", fresh())
            .is_err()
            || std::fs::rename(&tmp, s.path(MapKind::Passwd)).is_err()
        {
            return 3;
        }
        after_the_file_check_period();
        let _ = s.pw("alice");
        if s.pw("alice").map(|p| p.2) != Ok("child".into()) {
            return 4;
        }
        let states = s.mc.map(MapKind::Passwd).slot_states();
        // The old slot: retired with the phantom reader; the new one live.
        if !states.contains(&(3, 1)) || !states.contains(&(2, 0)) {
            return 5;
        }
        0
    });
    assert_eq!(code, 0);
    drop(held);
    // The parent still has its own mapping of the (now replaced) file: it notices and moves
    // on, unmapping its old mapping normally.
    assert_eq!(s.pw("alice").unwrap().2, "Alice Liddell");
    assert_eq!(s.pw("alice").unwrap().2, "child");
}

#[test]
fn readers_never_see_a_torn_record_while_it_is_rewritten() {
    let s = Arc::new(Setup::new());
    let path = s.path(MapKind::Passwd);
    let mut w = McWriter::create(&path, 1024, SEED).unwrap();
    // Two versions of the same user, same length, every field different.
    let a = McWriter::passwd_payload("alice", 10001, 10000, "AAAAAAAA", "/home/aaaa", "/bin/a")
        .unwrap();
    let b = McWriter::passwd_payload("alice", 10001, 10000, "BBBBBBBB", "/home/bbbb", "/bin/b")
        .unwrap();
    assert_eq!(a.len(), b.len());
    let slot = w
        .passwd(
            "alice",
            10001,
            10000,
            "AAAAAAAA",
            "/home/aaaa",
            "/bin/a",
            fresh(),
        )
        .unwrap();
    for i in 0..50u32 {
        w.passwd(&format!("u{i}"), 20000 + i, 1, "x", "/", "/", fresh())
            .unwrap();
    }
    drop(w);
    let gpath = s.path(MapKind::Group);
    let mut g = McWriter::create(&gpath, 1024, SEED).unwrap();
    let ga = McWriter::group_payload("devs", 20001, &["aa1", "aa2", "aa3"]).unwrap();
    let gb = McWriter::group_payload("devs", 20001, &["bb1", "bb2", "bb3"]).unwrap();
    let gslot = g
        .group("devs", 20001, &["aa1", "aa2", "aa3"], fresh())
        .unwrap();
    drop(g);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let path = path.clone();
        std::thread::spawn(move || {
            let mut w = McWriter::open(&path).unwrap();
            let mut g = McWriter::open(&gpath).unwrap();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let (p, q) = if n.is_multiple_of(2) {
                    (&b, &gb)
                } else {
                    (&a, &ga)
                };
                w.rewrite(slot, p, fresh());
                g.rewrite(gslot, q, fresh());
                n += 1;
                // A little time outside the write window, or readers find the record
                // mid-write nearly always (sssd_nss never rewrites one record nonstop).
                for _ in 0..200 {
                    std::hint::spin_loop();
                }
            }
            n
        })
    };
    let readers: Vec<_> = (0..8)
        .map(|t| {
            let s = s.clone();
            std::thread::spawn(move || {
                let nss = s.nss();
                let mut buf = vec![0u8; 256];
                let mut seen = [0usize; 3];
                for i in 0..100_000u32 {
                    if i % 3 == 2 {
                        let mut grp = zero_group();
                        let res = getgrnam(&nss, b"devs", &mut grp, &mut buf);
                        assert_eq!(res, Ok(()), "thread {t} lookup {i}");
                        let (name, _, gid, members) = read_group(&grp);
                        assert_eq!((name.as_str(), gid), ("devs", 20001));
                        let v = match members.join(",").as_str() {
                            "aa1,aa2,aa3" => 0,
                            "bb1,bb2,bb3" => 1,
                            "alice,bob" => 2,
                            other => panic!("torn group {other:?}"),
                        };
                        seen[v] += 1;
                        continue;
                    }
                    let mut pwd = zero_passwd();
                    let res = if i % 3 == 0 {
                        getpwnam(&nss, b"alice", &mut pwd, &mut buf)
                    } else {
                        getpwuid(&nss, 10001, &mut pwd, &mut buf)
                    };
                    assert_eq!(res, Ok(()), "thread {t} lookup {i}");
                    let p = read_passwd(&pwd);
                    let v = match (p.4.as_str(), p.5.as_str(), p.6.as_str()) {
                        ("AAAAAAAA", "/home/aaaa", "/bin/a") => 0,
                        ("BBBBBBBB", "/home/bbbb", "/bin/b") => 1,
                        ("Alice Liddell", "/home/alice", "/bin/bash") => 2,
                        other => panic!("torn answer {other:?}"),
                    };
                    assert_eq!((p.0.as_str(), p.2, p.3), ("alice", 10001, 10000));
                    seen[v] += 1;
                }
                seen
            })
        })
        .collect();
    let mut total = [0usize; 3];
    for r in readers {
        let seen = r.join().unwrap();
        for (t, n) in total.iter_mut().zip(seen) {
            *t += n;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let rewrites = writer.join().unwrap();
    eprintln!("versions seen (A, B, socket): {total:?}; {rewrites} rewrites");
    assert_eq!(total.iter().sum::<usize>(), 800_000);
    assert!(
        total[0] > 0 && total[1] > 0,
        "both versions seen: {total:?}"
    );
    assert!(rewrites > 1000);
    // Busy records (caught mid-write five times in a row) go to the responder.
    assert!(
        total[2] < 400_000,
        "mostly answered from the cache: {total:?}"
    );
    let states = s.mc.map(MapKind::Passwd).slot_states();
    assert_eq!(
        states.iter().filter(|(p, _)| *p != 0).count(),
        1,
        "{states:?}"
    );
    assert!(
        states.iter().all(|(_, n)| *n == 0),
        "no reader left: {states:?}"
    );
}

#[test]
fn retire_and_reinstall_under_concurrent_readers() {
    // Threads hammer lookups while the file is replaced over and over: every answer is
    // complete, mappings are unmapped once their readers left.
    let s = Arc::new(Setup::new());
    let path = s.path(MapKind::Passwd);
    let mk = |dir: &Path, n: u32| {
        let tmp = dir.join(format!("p{n}"));
        let mut w = McWriter::create(&tmp, 256, SEED + n).unwrap();
        w.passwd(
            "alice",
            10001,
            10000,
            &format!("gen{n}"),
            "/h",
            "/s",
            fresh(),
        )
        .unwrap();
        drop(w);
        tmp
    };
    std::fs::rename(mk(s.dir.path(), 0), &path).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (s, stop) = (s.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 256];
                let mut hits = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let mut pwd = zero_passwd();
                    match s.mc.passwd_by_name(b"alice", &mut pwd, &mut buf) {
                        Ok(()) => {
                            let p = read_passwd(&pwd);
                            assert!(p.4.starts_with("gen") && p.5 == "/h", "{p:?}");
                            hits += 1;
                        }
                        // Replaced under us, another thread mapping the new file, two threads'
                        // clock readings a tick apart (Pacing even with a zero period), or
                        // every slot momentarily held by readers of retired mappings.
                        Err(Miss::Unusable(
                            Unusable::Stale
                            | Unusable::Busy
                            | Unusable::Pacing
                            | Unusable::NoSlot
                            | Unusable::Os(libc::ENOENT),
                        )) => {}
                        Err(e) => panic!("{e:?}"),
                    }
                }
                hits
            })
        })
        .collect();
    for n in 1..200 {
        std::fs::rename(mk(s.dir.path(), n), &path).unwrap();
        std::thread::sleep(Duration::from_micros(200));
    }
    stop.store(true, Ordering::Relaxed);
    let hits: usize = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(hits > 100, "{hits}");
    let mut pwd = zero_passwd();
    let mut buf = vec![0u8; 256];
    let _ = s.mc.passwd_by_name(b"alice", &mut pwd, &mut buf);
    s.mc.passwd_by_name(b"alice", &mut pwd, &mut buf).unwrap();
    assert_eq!(read_passwd(&pwd).4, "gen199");
    let states = s.mc.map(MapKind::Passwd).slot_states();
    assert_eq!(
        states.iter().filter(|st| **st == (2, 0)).count(),
        1,
        "{states:?}"
    );
    assert!(
        states.iter().all(|st| *st == (2, 0) || *st == (0, 0)),
        "one live slot, the rest freed: {states:?}"
    );
    // Every old mapping was unmapped: only one mapping of a cache file remains.
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let dir = s.dir.path().to_string_lossy().into_owned();
    let ours = maps.lines().filter(|l| l.contains(&dir)).count();
    assert_eq!(ours, 1, "{maps}");
}

#[test]
fn a_corrupt_region_under_a_live_mapping_never_crashes() {
    let s = Setup::new();
    let mut w = s.passwd_file();
    let geo = w.geometry();
    assert_eq!(s.pw("alice").unwrap().2, "cached");
    // Scribble over the data and hash tables (the header stays valid).
    let mut x: u32 = 12345;
    for off in (geo.data_table as usize..geo.file_size as usize).step_by(4) {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        w.region().store_u32(off, x);
    }
    let mut pwd = zero_passwd();
    let mut buf = vec![0u8; 512];
    for i in 0..2000u32 {
        let _ = s.mc.passwd_by_uid(i, &mut pwd, &mut buf);
        let _ =
            s.mc.passwd_by_name(format!("u{i}").as_bytes(), &mut pwd, &mut buf);
    }
    // The responder still answers.
    assert_eq!(s.pw("bob").unwrap().2, "Bob");
}
