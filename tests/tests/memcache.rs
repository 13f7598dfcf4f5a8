//! End-to-end tests of the memory cache (`/var/lib/sss/mc`) and `sss_cache` (issue 8): a
//! private slapd, the daemon in a private mount namespace, real `getent`/`id` through
//! nsswitch.conf (`files sss`), and helper programs: `nss-call` (raw NSS statuses),
//! `nss-threads` (glibc lookups from many threads, or a reader that keeps its mappings) and
//! `nss-proxy` (a relay in front of the NSS socket that lists every request reaching it).
//!
//! Written against Debian's sssd 2.8 (the reference):
//! `SSSD_TESTS_STAGE_ROOT=$(scripts/debian-sssd.sh) cargo test --release -p sssd-tests --test memcache`.
//! Where the reference behaves differently from what we require (it maps files without
//! re-checking their size, so a shrunk or truncated file crashes its callers), the test says
//! so and checks each implementation for its own behaviour; see [`reference_stage`].
//!
//! All tests share one slapd (2,000 bulk users plus a few groups); tests that change the
//! directory each change their own entries.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sssd_tests::expected::{self, GroupEntry, NssCall, nss_status};
use sssd_tests::ldif::{self, Directory, Group, Schema};
use sssd_tests::memcache::{HoldReader, MC_FILES, McFile, NssProxy, mc_path, reference_stage};
use sssd_tests::namespace::Namespace;
use sssd_tests::proc::{self, Output};
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{NSS_SOCKET, Sssd, SssdConf};
use sssd_tests::stage;

const NSS_CALL: &str = env!("CARGO_BIN_EXE_nss-call");
const NSS_THREADS: &str = env!("CARGO_BIN_EXE_nss-threads");
const NSS_PROXY: &str = env!("CARGO_BIN_EXE_nss-proxy");
const NO_MC: (&str, &str) = ("SSS_NSS_USE_MEMCACHE", "NO");

/// Bulk users in the shared tree (enough for hash collisions in a 1 MiB passwd map).
const BULK: u32 = 2000;

/// Bulk users whose entries some tests change in LDAP (`user0101`..`user0199`); tests
/// that compare many users with the model leave them out.
const CHANGED_USERS: std::ops::RangeInclusive<u32> = 101..=199;

/// Groups some tests change (one per test), none with members the others read.
const GROUPS: &[(&str, u32, &[&str])] = &[
    ("mc_g_user", 30001, &["user0111"]),
    ("mc_g_every", 30002, &["user0121"]),
    ("mc_g_id", 30003, &[]),
    ("mc_g_stopped", 30004, &["user0131"]),
];

fn tree() -> &'static Directory {
    static D: OnceLock<Directory> = OnceLock::new();
    D.get_or_init(|| {
        let mut d = ldif::rfc2307_with_bulk(BULK);
        for (name, gid, users) in GROUPS {
            d.groups.push(Group::new(name, *gid, users));
        }
        d
    })
}

/// The slapd every test of this binary shares.
fn server() -> &'static Slapd {
    static S: OnceLock<Slapd> = OnceLock::new();
    S.get_or_init(|| Slapd::new(tree()).expect("start slapd"))
}

fn namespace() -> Namespace {
    let root = stage::shared_stage().expect("stage the product with install.sh");
    Namespace::new(Some(root)).expect("create the mount namespace")
}

fn conf() -> SssdConf {
    SssdConf::ldap(server(), Schema::Rfc2307)
}

fn start<'ns>(ns: &'ns Namespace, conf: &SssdConf) -> Sssd<'ns> {
    Sssd::start(ns, conf).unwrap_or_else(|e| panic!("sssd did not start: {e}"))
}

fn run(ns: &Namespace, env: &[(&str, &str)], argv: &[&str]) -> Output {
    ns.run_env(env, argv).unwrap()
}

/// `getent ARGS` output; fails the test if getent was killed by a signal.
#[track_caller]
fn getent(ns: &Namespace, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut argv = vec!["getent"];
    argv.extend_from_slice(args);
    let out = run(ns, env, &argv);
    assert!(
        out.status.signal().is_none(),
        "getent {args:?} crashed: {:?}",
        out.status
    );
    out
}

/// Asserts `getent ARGS` prints exactly `line`.
#[track_caller]
fn assert_getent(ns: &Namespace, env: &[(&str, &str)], args: &[&str], line: &str) {
    let out = getent(ns, env, args);
    assert_eq!(
        (out.code(), out.stdout.as_str()),
        (0, format!("{line}\n").as_str()),
        "getent {args:?} (env {env:?}): {out:?}\n{}",
        sssd_tests::sssd::logs(ns)
    );
}

/// `getent group NAME` parsed (members as a set).
#[track_caller]
fn group(ns: &Namespace, env: &[(&str, &str)], name: &str) -> GroupEntry {
    let out = getent(ns, env, &["group", name]);
    assert!(out.success(), "getent group {name}: {out:?}");
    GroupEntry::parse(&out.stdout).unwrap_or_else(|| panic!("bad group line {:?}", out.stdout))
}

/// `getent initgroups NAME`: the gids.
#[track_caller]
fn initgroups(ns: &Namespace, env: &[(&str, &str)], name: &str) -> BTreeSet<u32> {
    let out = getent(ns, env, &["initgroups", name]);
    assert!(out.success(), "getent initgroups {name}: {out:?}");
    let (user, gids) = expected::parse_initgroups(&out.stdout).unwrap();
    assert_eq!(user, name);
    gids
}

fn nss_call(ns: &Namespace, env: &[(&str, &str)], args: &[&str]) -> NssCall {
    let mut argv = vec![NSS_CALL];
    argv.extend_from_slice(args);
    let out = run(ns, env, &argv);
    assert!(out.success(), "nss-call {args:?}: {out:?}");
    NssCall::parse(&out.stdout).unwrap()
}

fn passwd_line(name: &str) -> String {
    expected::passwd_line(tree(), name).unwrap()
}

fn id_line(name: &str) -> String {
    expected::id_line(tree(), name, None).unwrap()
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// Sets a user's gecos in LDAP.
fn set_gecos(user: &str, gecos: &str) {
    let dn = tree().user_dn(user);
    server()
        .modify(&format!(
            "dn: {dn}\nchangetype: modify\nreplace: gecos\ngecos: {gecos}\n"
        ))
        .unwrap();
}

/// Adds `user` as a memberUid of `group` in LDAP.
fn add_member(group: &str, user: &str) {
    let dn = tree().group_dn(group);
    server()
        .modify(&format!(
            "dn: {dn}\nchangetype: modify\nadd: memberUid\nmemberUid: {user}\n"
        ))
        .unwrap();
}

/// Runs `sss_cache ARGS` inside the namespace; its output.
fn sss_cache(ns: &Namespace, args: &[&str]) -> Output {
    let mut argv = vec!["/usr/sbin/sss_cache"];
    argv.extend_from_slice(args);
    run(ns, &[], &argv)
}

#[track_caller]
fn sss_cache_ok(ns: &Namespace, args: &[&str]) {
    let out = sss_cache(ns, args);
    assert!(
        out.success(),
        "sss_cache {args:?}: {out:?}\n{}",
        sssd_tests::sssd::logs(ns)
    );
    assert!(
        !ns.exists(&mc_path("clear_mc_flag")),
        "sss_cache {args:?} returned before the responder removed clear_mc_flag"
    );
}

/// Inode of a memory-cache file inside the namespace, if it exists.
fn inode(ns: &Namespace, name: &str) -> Option<u64> {
    std::fs::metadata(ns.host_path(&mc_path(name)))
        .ok()
        .map(|m| m.ino())
}

/// Whether a client can still connect to the NSS socket.
fn socket_answers(ns: &Namespace) -> bool {
    std::os::unix::net::UnixStream::connect(ns.host_path(NSS_SOCKET)).is_ok()
}

/// Stops the daemon (SIGTERM to the monitor) and waits until nobody listens on its NSS
/// socket. (Debian's sssd 2.8 leaves the socket file behind, connecting to it is refused;
/// only "nobody answers" is asserted.)
fn stop(ns: &Namespace, sssd: &mut Sssd<'_>) {
    sssd.daemon.stop();
    let gone = proc::wait_until("the NSS socket to close", Duration::from_secs(10), || {
        !socket_answers(ns)
    });
    assert!(
        gone.is_ok(),
        "{NSS_SOCKET} still accepts after the daemon stopped"
    );
    // Every process of the daemon is gone (a responder left behind would still answer).
    let left: Vec<String> = ns
        .processes()
        .iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/comm")).ok())
        .filter(|c| c.starts_with("sssd"))
        .collect();
    assert!(left.is_empty(), "still running: {left:?}");
}

// ---------------------------------------------------------------------------------------
// Lookups after the first never reach the socket.
// ---------------------------------------------------------------------------------------

/// Proof (b): a relay in front of the NSS socket lists the requests that reach the
/// responder. After the first lookup of a user, group or initgroups, the same lookups (by
/// name and by id, through getent and id) add none.
#[test]
fn cached_lookups_never_reach_the_socket() {
    let ns = namespace();
    let sssd = start(&ns, &conf());
    let proxy = NssProxy::start(&ns, NSS_PROXY).unwrap();
    let user1 = passwd_line("user1");
    let two = expected::group_line(tree(), "two_user_group", None).unwrap();
    let check_all = |ns: &Namespace| {
        assert_getent(ns, &[], &["passwd", "user1"], &user1);
        assert_getent(ns, &[], &["passwd", "1001"], &user1);
        let g = group(ns, &[], "two_user_group");
        assert_eq!(g, GroupEntry::parse(&two).unwrap());
        assert_eq!(group(ns, &[], "2012"), g);
        assert_eq!(initgroups(ns, &[], "user1"), BTreeSet::from([2012]));
        let out = run(ns, &[], &["id", "user1"]);
        assert_eq!(out.stdout, format!("{}\n", id_line("user1")), "{out:?}");
    };

    // The first lookup by name reaches the responder; the one by id is already cached.
    assert_getent(&ns, &[], &["passwd", "user1"], &user1);
    let after_name = proxy.requests();
    assert_eq!(after_name.len(), 1, "{after_name:?}\n{}", proxy.stderr());
    assert!(after_name[0].starts_with("0x0011 user1"), "{after_name:?}");
    assert_getent(&ns, &[], &["passwd", "1001"], &user1);
    assert_eq!(proxy.requests(), after_name, "getpwuid after getpwnam");

    check_all(&ns);
    let first = proxy.requests();
    for _ in 0..3 {
        check_all(&ns);
    }
    assert_eq!(
        proxy.requests(),
        first,
        "cached lookups reached the socket\n{}",
        sssd.logs()
    );
    // The relay does see what is not cached.
    assert_getent(&ns, &[], &["passwd", "user2"], &passwd_line("user2"));
    assert_eq!(proxy.requests().len(), first.len() + 1);
    // And bypassing the cache goes to the socket every time.
    for _ in 0..3 {
        assert_getent(&ns, &[NO_MC], &["passwd", "user1"], &user1);
    }
    assert_eq!(proxy.requests().len(), first.len() + 4);
}

/// Proof (a): with the daemon stopped (no socket), cached entries keep answering until
/// `memcache_timeout` passes, then the module answers UNAVAIL; with the memory cache
/// disabled by SSS_NSS_USE_MEMCACHE=NO they are UNAVAIL at once.
#[test]
fn daemon_stopped_answers_from_files_until_memcache_timeout() {
    use nss_status::{SUCCESS, UNAVAIL};
    const TIMEOUT: u64 = 10;
    let ns = namespace();
    let mut sssd = start(
        &ns,
        &conf().set("nss", "memcache_timeout", &TIMEOUT.to_string()),
    );
    let user1 = passwd_line("user1");
    let warmed = Instant::now();
    assert_getent(&ns, &[], &["passwd", "user1"], &user1);
    let two = group(&ns, &[], "two_user_group");
    assert_eq!(initgroups(&ns, &[], "user1"), BTreeSet::from([2012]));
    let id = run(&ns, &[], &["id", "user1"]);
    assert_eq!(id.stdout, format!("{}\n", id_line("user1")));
    stop(&ns, &mut sssd);

    let calls: [&[&str]; 5] = [
        &["getpwnam", "user1"],
        &["getpwuid", "1001"],
        &["getgrnam", "two_user_group"],
        &["getgrgid", "2012"],
        &["initgroups", "user1", "2001"],
    ];
    for c in calls {
        let r = nss_call(&ns, &[], c);
        assert_eq!(r.status, SUCCESS, "{c:?} from the files: {r:?}");
    }
    assert_eq!(
        nss_call(&ns, &[], &["getpwuid", "1001"]).line.as_deref(),
        Some(user1.as_str())
    );
    assert_eq!(
        nss_call(&ns, &[], &["initgroups", "user1", "2001"])
            .line
            .as_deref(),
        Some("2012")
    );
    assert_getent(&ns, &[], &["passwd", "user1"], &user1);
    assert_eq!(group(&ns, &[], "2012"), two);
    assert_eq!(run(&ns, &[], &["id", "user1"]).stdout, id.stdout);
    // Not from anywhere else: without the memory cache there is no answer.
    for c in calls {
        let t = Instant::now();
        let r = nss_call(&ns, &[NO_MC], c);
        assert_eq!(r.status, UNAVAIL, "{c:?} without the memory cache: {r:?}");
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "{c:?} took {:?}",
            t.elapsed()
        );
    }
    let checked = warmed.elapsed();
    assert!(
        checked < Duration::from_secs(TIMEOUT - 1),
        "the checks took {checked:?}, too long to tell memory-cache expiry apart"
    );
    // Records expire memcache_timeout after they were stored.
    let mut last = None;
    let expired = proc::wait_until(
        "the records to expire",
        Duration::from_secs(3 * TIMEOUT),
        || {
            let r = nss_call(&ns, &[], &["getpwnam", "user1"]);
            let done = r.status != SUCCESS;
            last = Some(r);
            done
        },
    );
    assert!(expired.is_ok(), "still answered: {last:?}");
    let at = warmed.elapsed();
    assert!(
        at >= Duration::from_secs(TIMEOUT - 1),
        "expired after {at:?}, before memcache_timeout = {TIMEOUT} s"
    );
    assert_eq!(last.unwrap().status, UNAVAIL);
    for c in calls {
        let r = nss_call(&ns, &[], c);
        assert_eq!(r.status, UNAVAIL, "{c:?} after expiry: {r:?}");
    }
}

// ---------------------------------------------------------------------------------------
// sss_cache
// ---------------------------------------------------------------------------------------

/// With the daemon running, `sss_cache -u`, `-g`, `-E`, `-U` and `-d DOMAIN -u` make changes
/// made in LDAP show on the next lookup: the entry is expired in the cache and the memory
/// cache is cleared through the clear_mc_flag + SIGHUP handshake (the responder re-creates
/// the files). Nothing matched or an unknown domain: exit 2 (ENOENT).
#[test]
fn sss_cache_with_the_daemon_running() {
    let ns = namespace();
    let sssd = start(&ns, &conf());
    let old_user = passwd_line("user0101");
    assert_getent(&ns, &[], &["passwd", "user0101"], &old_user);
    assert_eq!(group(&ns, &[], "mc_g_user").members, names(&["user0111"]));
    set_gecos("user0101", "Changed By Test");
    add_member("mc_g_user", "user0112");
    // Still the cached answers.
    assert_getent(&ns, &[], &["passwd", "user0101"], &old_user);
    assert_eq!(group(&ns, &[], "mc_g_user").members, names(&["user0111"]));
    let before: Vec<_> = MC_FILES.iter().map(|f| inode(&ns, f)).collect();
    assert!(before.iter().all(Option::is_some), "{before:?}");

    sss_cache_ok(&ns, &["-u", "user0101"]);
    let new_user = old_user.replace("User 0101", "Changed By Test");
    assert_getent(&ns, &[], &["passwd", "user0101"], &new_user);
    // The whole memory cache was re-created (every file, whatever object was named).
    let after: Vec<_> = MC_FILES.iter().map(|f| inode(&ns, f)).collect();
    for ((f, b), a) in MC_FILES.iter().zip(&before).zip(&after) {
        assert!(a.is_some() && a != b, "{f}: inode {b:?} -> {a:?}");
    }
    let header = McFile::read(&ns, "passwd").unwrap().header().unwrap();
    assert_eq!((header.major, header.minor, header.status), (1, 1, 1));
    // -u expired only that user: the group is still answered from the cache, unchanged.
    assert_eq!(group(&ns, &[], "mc_g_user").members, names(&["user0111"]));

    sss_cache_ok(&ns, &["-g", "mc_g_user"]);
    assert_eq!(
        group(&ns, &[], "mc_g_user").members,
        names(&["user0111", "user0112"]),
        "{}",
        sssd.logs()
    );

    // -E: a user and a group changed together.
    let old_every = passwd_line("user0121");
    assert_getent(&ns, &[], &["passwd", "user0121"], &old_every);
    assert_eq!(group(&ns, &[], "mc_g_every").members, names(&["user0121"]));
    set_gecos("user0121", "Everything Changed");
    add_member("mc_g_every", "user0122");
    assert_getent(&ns, &[], &["passwd", "user0121"], &old_every);
    sss_cache_ok(&ns, &["-E"]);
    assert_getent(
        &ns,
        &[],
        &["passwd", "user0121"],
        &old_every.replace("User 0121", "Everything Changed"),
    );
    assert_eq!(
        group(&ns, &[], "mc_g_every").members,
        names(&["user0121", "user0122"])
    );
    // -U (all users) and -d DOMAIN -u NAME.
    for (user, gecos, args) in [
        ("user0123", "All Users Expired", &["-U"][..]),
        (
            "user0124",
            "Domain Named",
            &["-d", "LDAP", "-u", "user0124"],
        ),
    ] {
        let old = passwd_line(user);
        assert_getent(&ns, &[], &["passwd", user], &old);
        set_gecos(user, gecos);
        assert_getent(&ns, &[], &["passwd", user], &old);
        sss_cache_ok(&ns, args);
        let shown = old.replace(&format!("User {}", &user[4..]), gecos);
        assert_getent(&ns, &[], &["passwd", user], &shown);
    }
    // Nothing matched, or no such domain: ENOENT, as SSSD's tool.
    for args in [
        &["-u", "no_such_user_anywhere"][..],
        &["-d", "NOSUCHDOMAIN", "-E"],
    ] {
        let out = sss_cache(&ns, args);
        assert_eq!(out.code(), 2, "sss_cache {args:?}: {out:?}");
    }
}

/// With the daemon stopped, `sss_cache` marks the files recycled and removes them (it can
/// take their byte-0 lock): clients stop answering from them at once.
#[test]
fn sss_cache_with_the_daemon_stopped_removes_the_files() {
    use nss_status::{SUCCESS, UNAVAIL};
    let ns = namespace();
    let mut sssd = start(&ns, &conf());
    let line = passwd_line("user0131");
    assert_getent(&ns, &[], &["passwd", "user0131"], &line);
    // initgroups first: SSSD drops the memory-cache records of the user's groups when it
    // refreshes the user's memberships.
    assert!(!initgroups(&ns, &[], "user0131").is_empty());
    assert_eq!(
        group(&ns, &[], "mc_g_stopped").members,
        names(&["user0131"])
    );
    stop(&ns, &mut sssd);
    assert_eq!(
        nss_call(&ns, &[], &["getpwnam", "user0131"]).status,
        SUCCESS
    );
    assert_eq!(
        nss_call(&ns, &[], &["getgrnam", "mc_g_stopped"]).status,
        SUCCESS
    );
    // Hold a mapping of the old passwd file across sss_cache (it must notice the recycling).
    let mut reader = HoldReader::start(&ns, NSS_THREADS, &[], &["pw:user0131"]).unwrap();
    assert_eq!(reader.round().unwrap(), [format!("pw:user0131 {line}")]);

    sss_cache_ok(&ns, &["-u", "user0131"]);
    for f in MC_FILES {
        assert!(!ns.exists(&mc_path(f)), "{f} still exists after sss_cache");
    }
    for c in [
        &["getpwnam", "user0131"][..],
        &["getpwuid", "10131"],
        &["getgrnam", "mc_g_stopped"],
        &["initgroups", "user0131", "10000"],
    ] {
        assert_eq!(nss_call(&ns, &[], c).status, UNAVAIL, "{c:?}");
    }
    // A process that mapped the file before sss_cache stops answering from it too (glibc
    // reports the refused connection: ECONNREFUSED).
    let after = reader.round().unwrap();
    assert_eq!(after.len(), 1);
    assert!(
        after[0] == "pw:user0131 notfound" || after[0].starts_with("pw:user0131 error="),
        "{after:?}"
    );
}

/// `sss_cache -G` after a group gained a member in LDAP: the next `id` lists the group,
/// and the group shows the new member.
///
/// Ours expires the users' cached group lists with the groups (memberships are the groups'
/// data), so `id` right after `sss_cache -G` asks the directory. Debian's sssd 2.8 answers
/// that `id` from the user's cached memberships (-G expires the groups only) and stores the
/// old answer in the initgroups map for memcache_timeout; against it the group is looked up
/// first, which records the new membership for the next `id`.
#[test]
fn new_group_member_shows_in_id_after_sss_cache_groups() {
    let ns = namespace();
    let sssd = start(&ns, &conf());
    let before = id_line("user0141");
    let out = run(&ns, &[], &["id", "user0141"]);
    assert_eq!(out.stdout, format!("{before}\n"), "{out:?}");
    assert!(group(&ns, &[], "mc_g_id").members.is_empty());
    add_member("mc_g_id", "user0141");
    // Still cached.
    assert_eq!(
        run(&ns, &[], &["id", "user0141"]).stdout,
        format!("{before}\n")
    );
    assert!(group(&ns, &[], "mc_g_id").members.is_empty());
    sss_cache_ok(&ns, &["-G"]);
    if reference_stage() {
        assert_eq!(group(&ns, &[], "mc_g_id").members, names(&["user0141"]));
    }
    let want = before.replace(
        "groups=10000(allusers)",
        "groups=10000(allusers),30003(mc_g_id)",
    );
    assert_ne!(want, before);
    let out = run(&ns, &[], &["id", "user0141"]);
    assert_eq!(out.stdout, format!("{want}\n"), "{out:?}\n{}", sssd.logs());
    assert_eq!(group(&ns, &[], "mc_g_id").members, names(&["user0141"]));
}

// ---------------------------------------------------------------------------------------
// Options: memcache_timeout, memcache_size_*, expiry
// ---------------------------------------------------------------------------------------

/// `memcache_timeout = 0`: no files at all; lookups work through the socket (and stop at
/// once with the daemon).
#[test]
fn memcache_timeout_zero_writes_no_files() {
    let ns = namespace();
    let mut sssd = start(&ns, &conf().set("nss", "memcache_timeout", "0"));
    let user1 = passwd_line("user1");
    for _ in 0..2 {
        assert_getent(&ns, &[], &["passwd", "user1"], &user1);
        assert_getent(&ns, &[], &["passwd", "1001"], &user1);
        assert_eq!(
            group(&ns, &[], "two_user_group").members,
            names(&["user1", "user2"])
        );
        assert_eq!(initgroups(&ns, &[], "user1"), BTreeSet::from([2012]));
    }
    for f in MC_FILES {
        assert!(
            !ns.exists(&mc_path(f)),
            "{f} exists with memcache_timeout = 0"
        );
    }
    stop(&ns, &mut sssd);
    let r = nss_call(&ns, &[], &["getpwnam", "user1"]);
    assert_eq!(r.status, nss_status::UNAVAIL, "{r:?}");
}

/// `memcache_size_passwd = 0`: no passwd file (lookups of users go to the socket every
/// time) while the group file exists and serves groups.
#[test]
fn memcache_size_passwd_zero_disables_only_passwd() {
    let ns = namespace();
    let _sssd = start(&ns, &conf().set("nss", "memcache_size_passwd", "0"));
    let proxy = NssProxy::start(&ns, NSS_PROXY).unwrap();
    let user1 = passwd_line("user1");
    assert_getent(&ns, &[], &["passwd", "user1"], &user1);
    assert_eq!(
        group(&ns, &[], "two_user_group").members,
        names(&["user1", "user2"])
    );
    assert!(
        !ns.exists(&mc_path("passwd")),
        "passwd file with memcache_size_passwd = 0"
    );
    assert!(ns.exists(&mc_path("group")), "no group file");
    assert!(ns.exists(&mc_path("initgroups")), "no initgroups file");
    let base = proxy.requests().len();
    for _ in 0..3 {
        assert_getent(&ns, &[], &["passwd", "user1"], &user1);
        assert_eq!(
            group(&ns, &[], "two_user_group").members,
            names(&["user1", "user2"])
        );
    }
    let reqs = proxy.requests();
    let users = reqs[base..]
        .iter()
        .filter(|r| r.starts_with("0x0011"))
        .count();
    let groups = reqs[base..]
        .iter()
        .filter(|r| r.starts_with("0x0021"))
        .count();
    assert_eq!((users, groups), (3, 0), "{reqs:?}");
}

/// A gecos changed in LDAP shows once the memory-cache record and the cache entry expire
/// (short `memcache_timeout` and `entry_cache_timeout`), without sss_cache.
#[test]
fn gecos_change_shows_after_memcache_expiry() {
    let ns = namespace();
    let conf = conf()
        .set("nss", "memcache_timeout", "3")
        .domain("entry_cache_timeout", "3");
    let sssd = start(&ns, &conf);
    let old = passwd_line("user0151");
    let new = old.replace("User 0151", "Expired And Changed");
    assert_getent(&ns, &[], &["passwd", "user0151"], &old);
    let stored = Instant::now();
    set_gecos("user0151", "Expired And Changed");
    assert_getent(&ns, &[], &["passwd", "user0151"], &old);
    let mut last = None;
    let seen = proc::wait_until("the new gecos", Duration::from_secs(30), || {
        let out = getent(&ns, &[], &["passwd", "user0151"]);
        let done = out.stdout == format!("{new}\n");
        last = Some(out);
        done
    });
    assert!(seen.is_ok(), "{last:?}\n{}", sssd.logs());
    assert!(
        stored.elapsed() >= Duration::from_secs(2),
        "changed after {:?}: before the records expired",
        stored.elapsed()
    );
}

// ---------------------------------------------------------------------------------------
// Bad files
// ---------------------------------------------------------------------------------------

/// Puts `bytes` at /var/lib/sss/mc/NAME as a new file renamed over the old one: the daemon
/// keeps its own (now unlinked) file, new clients open this one.
fn replace_file(ns: &Namespace, name: &str, bytes: &[u8]) {
    let tmp = format!("{}.test-tmp", mc_path(name));
    ns.write_file(&tmp, bytes, 0o644).unwrap();
    std::fs::rename(ns.host_path(&tmp), ns.host_path(&mc_path(name))).unwrap();
}

/// Deterministic "random" bytes (xorshift), so a failure can be reproduced.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        out.extend_from_slice(&seed.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The ways a cache file is spoiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spoil {
    Empty,
    HalfHeader,
    HeaderOnlyPage,
    HalfFile,
    Random,
    RandomTables,
}

fn spoil(good: &[u8], how: Spoil) -> Vec<u8> {
    match how {
        Spoil::Empty => Vec::new(),
        Spoil::HalfHeader => good[..28].to_vec(),
        Spoil::HeaderOnlyPage => good[..4096].to_vec(),
        Spoil::HalfFile => good[..good.len() / 2].to_vec(),
        Spoil::Random => noise(good.len(), 0x5eed_0001),
        Spoil::RandomTables => {
            let mut b = good[..56].to_vec();
            b.extend(noise(good.len() - 56, 0x5eed_0002));
            b
        }
    }
}

/// A truncated file, a file of random bytes, a valid header over random tables: callers
/// never crash and get the right answer from the socket.
///
/// Debian's sssd 2.8 client maps the file at its current size and trusts the header's table
/// offsets: with the header intact and the tables cut off (HeaderOnlyPage, HalfFile) its
/// callers die of SIGSEGV/SIGBUS. Against the reference those cases are checked to crash
/// (the known limitation, reported) and the others to pass; ours must pass them all.
#[test]
fn bad_files_fall_back_to_the_socket() {
    let ns = namespace();
    let sssd = start(&ns, &conf());
    let user1 = passwd_line("user1");
    let two = expected::group_line(tree(), "two_user_group", None).unwrap();
    assert_getent(&ns, &[], &["passwd", "user1"], &user1);
    assert_eq!(
        group(&ns, &[], "two_user_group"),
        GroupEntry::parse(&two).unwrap()
    );
    let good_passwd = ns.read_file(&mc_path("passwd")).unwrap();
    let good_group = ns.read_file(&mc_path("group")).unwrap();
    let mut crashed = Vec::new();
    for how in [
        Spoil::Empty,
        Spoil::HalfHeader,
        Spoil::HeaderOnlyPage,
        Spoil::HalfFile,
        Spoil::Random,
        Spoil::RandomTables,
    ] {
        replace_file(&ns, "passwd", &spoil(&good_passwd, how));
        replace_file(&ns, "group", &spoil(&good_group, how));
        let mut outcome = Vec::new();
        for args in [
            &["passwd", "user1"][..],
            &["passwd", "1001"],
            &["group", "two_user_group"],
            &["group", "2012"],
        ] {
            let mut argv = vec!["getent"];
            argv.extend_from_slice(args);
            let out = run(&ns, &[], &argv);
            outcome.push((args, out));
        }
        let dead: Vec<_> = outcome
            .iter()
            .filter(|(_, o)| o.status.signal().is_some())
            .map(|(a, o)| format!("{a:?}: {:?}", o.status))
            .collect();
        if !dead.is_empty() {
            crashed.push((how, dead));
            continue;
        }
        for (args, out) in &outcome {
            let want = if args[0] == "passwd" { &user1 } else { &two };
            let got = if args[0] == "passwd" {
                out.stdout.trim_end().to_owned()
            } else {
                GroupEntry::parse(&out.stdout)
                    .map(|g| {
                        let m: Vec<_> = g.members.into_iter().collect();
                        format!("{}:{}:{}:{}", g.name, g.passwd, g.gid, m.join(","))
                    })
                    .unwrap_or_default()
            };
            assert_eq!(
                &got,
                want,
                "{how:?} getent {args:?}: {out:?}\n{}",
                sssd.logs()
            );
        }
        let r = nss_call(&ns, &[], &["getpwnam", "user1"]);
        assert_eq!(r.line.as_deref(), Some(user1.as_str()), "{how:?}: {r:?}");
    }
    eprintln!("callers killed by a signal: {crashed:#?}");
    if reference_stage() {
        let kinds: Vec<Spoil> = crashed.iter().map(|(h, _)| *h).collect();
        assert_eq!(
            kinds,
            [Spoil::HeaderOnlyPage, Spoil::HalfFile],
            "the reference's known crashes changed: {crashed:#?}"
        );
    } else {
        assert!(crashed.is_empty(), "callers crashed: {crashed:#?}");
    }
}

/// Shrinks /var/lib/sss/mc/NAME in place (same inode) to `len` bytes.
fn shrink(ns: &Namespace, name: &str, len: u64) {
    assert!(try_shrink(ns, name, len), "{} is missing", mc_path(name));
}

/// [`shrink`], false when the file is missing: `sssd_nss` is recreating it (it noticed the
/// test's replacement, then unlinks it before creating the new one).
fn try_shrink(ns: &Namespace, name: &str, len: u64) -> bool {
    match std::fs::OpenOptions::new()
        .write(true)
        .open(ns.host_path(&mc_path(name)))
    {
        Ok(f) => {
            f.set_len(len).unwrap();
            true
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => panic!("{}: {e}", mc_path(name)),
    }
}

/// A process that mapped the passwd file keeps running when the file shrinks under it, and
/// its next lookups get the right answer from the socket.
///
/// The daemon is not disturbed: the passwd file is first replaced by a copy of itself (a new
/// inode), which the reader maps and the test then shrinks. Debian's sssd 2.8 client does not
/// re-check the size of a mapped file, so its reader dies of SIGBUS on the next lookup: that
/// is checked as the reference's known limitation; ours must answer.
///
/// A second reader looks up in a tight loop while the file is replaced and shrunk again and
/// again; whether it is ever killed is printed (a reader that maps the file can always lose
/// the race between checking the size and reading), not asserted; its answers must be right.
#[test]
fn file_shrunk_under_a_reader() {
    let ns = namespace();
    let _sssd = start(&ns, &conf());
    let user1 = passwd_line("user1");
    assert_getent(&ns, &[], &["passwd", "user1"], &user1);
    let good = ns.read_file(&mc_path("passwd")).unwrap();
    let want = [format!("pw:user1 {user1}"), format!("uid:1001 {user1}")];
    let mut outcomes = Vec::new();
    for len in [4096u64, 0] {
        replace_file(&ns, "passwd", &good);
        let mut reader =
            HoldReader::start(&ns, NSS_THREADS, &[], &["pw:user1", "uid:1001"]).unwrap();
        assert_eq!(reader.round().unwrap(), want);
        shrink(&ns, "passwd", len);
        let after = reader.round();
        outcomes.push((len, after.clone()));
        if !reference_stage() {
            assert_eq!(after, Ok(want.to_vec()), "shrunk to {len} bytes");
        }
    }
    eprintln!("hold reader after the shrink: {outcomes:?}");
    if reference_stage() {
        for (len, o) in &outcomes {
            let signal = o.as_ref().err().and_then(|s| s.and_then(|s| s.signal()));
            assert_eq!(
                signal,
                Some(libc::SIGBUS),
                "reference, shrunk to {len}: {o:?}"
            );
        }
    }

    // The tight loop.
    let responder = ns.processes_named("sssd_nss");
    replace_file(&ns, "passwd", &good);
    let keys = [format!("pw:user1={user1}"), format!("uid:1001={user1}")];
    let mut argv = vec![NSS_THREADS, "loop", "5"];
    argv.extend(keys.iter().map(String::as_str));
    let mut looper = ns.spawn(&argv).unwrap();
    proc::wait_until("the loop to start", Duration::from_secs(10), || {
        looper.stdout().contains("done=")
    })
    .unwrap();
    let mut cycles = 0;
    let started = Instant::now();
    while looper.is_running() && started.elapsed() < Duration::from_secs(4) {
        replace_file(&ns, "passwd", &good);
        std::thread::sleep(Duration::from_millis(10));
        // The responder may be recreating the file it saw replaced: then nothing to shrink.
        try_shrink(&ns, "passwd", if cycles % 2 == 0 { 4096 } else { 0 });
        std::thread::sleep(Duration::from_millis(10));
        cycles += 1;
    }
    let status = looper
        .wait_exit(Duration::from_secs(30))
        .expect("the loop ends");
    let out = looper.stdout();
    let last = out
        .lines()
        .rev()
        .find(|l| l.starts_with("done="))
        .unwrap_or_default();
    eprintln!(
        "tight loop over {cycles} replace+shrink cycles: {status:?}, {last}, signal {:?}",
        status.signal()
    );
    let wrong: Vec<&str> = out.lines().filter(|l| l.starts_with("wrong ")).collect();
    assert!(wrong.is_empty(), "wrong answers: {wrong:#?}");
    assert!(last.ends_with(" wrong=0"), "{out}");
    assert!(
        status.success() || status.signal().is_some(),
        "the loop failed: {status:?}\n{out}"
    );
    // The responder rewrites the files it owns; shrinking them under it never kills it.
    assert_eq!(
        ns.processes_named("sssd_nss"),
        responder,
        "sssd_nss was restarted"
    );
}

// ---------------------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------------------

/// 8 threads × 100,000 glibc lookups in one process while another process keeps making the
/// responder rewrite the same records (socket lookups with SSS_NSS_USE_MEMCACHE=NO: every
/// answer the responder sends is stored again): every answer is complete and equal to the
/// directory's, never a torn record.
#[test]
fn eight_threads_while_the_writer_rewrites() {
    const THREADS: &str = "8";
    const ITERATIONS: &str = "100000";
    let ns = namespace();
    let sssd = start(&ns, &conf());
    let proxy = NssProxy::start(&ns, NSS_PROXY).unwrap();
    let user1 = passwd_line("user1");
    let zoe = passwd_line("zoe");
    let bulk = passwd_line("user0001");
    let two = expected::group_line(tree(), "two_user_group", None).unwrap();
    let group1 = expected::group_line(tree(), "group1", None).unwrap();
    let keys = [
        format!("pw:user1={user1}"),
        format!("uid:1001={user1}"),
        format!("pw:zoe={zoe}"),
        format!("pw:user0001={bulk}"),
        format!("gr:two_user_group={two}"),
        format!("gid:2012={two}"),
        format!("gr:group1={group1}"),
        "ig:user1:2001=ig:2001,2012".to_owned(),
    ];
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    // Fill the cache once (and check the expectations through the socket).
    let mut argv = vec![NSS_THREADS, "check", "1", "8"];
    argv.extend(&keys);
    let out = run(&ns, &[], &argv);
    assert!(out.success(), "{out:?}\n{}", sssd.logs());

    let mut argv = vec!["env", "SSS_NSS_USE_MEMCACHE=NO", NSS_THREADS, "loop", "300"];
    argv.extend(&keys);
    let mut writer = ns.spawn(&argv).unwrap();
    proc::wait_until("the writer to start", Duration::from_secs(10), || {
        writer.stdout().contains("done=")
    })
    .unwrap();
    let done = |w: &sssd_tests::namespace::Daemon<'_>| -> u64 {
        w.stdout()
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("done=")?.split(' ').next()?.parse().ok())
            .unwrap_or(0)
    };
    let before = done(&writer);
    let mut argv = vec![NSS_THREADS, "check", THREADS, ITERATIONS];
    argv.extend(&keys);
    let mut checker = ns.spawn(&argv).unwrap();
    let started = Instant::now();
    let status = checker.wait_exit(Duration::from_secs(300));
    let took = started.elapsed();
    let rewrites = done(&writer) - before;
    assert!(
        writer.is_running(),
        "the writer stopped: {}",
        writer.stdout()
    );
    writer.stop();
    let result = checker.stdout();
    let from_checker = proxy
        .requests_with_pid()
        .iter()
        .filter(|(pid, _)| *pid == checker.pid())
        .count();
    eprintln!(
        "{THREADS} threads x {ITERATIONS}: {took:?}, {} ; {rewrites} socket lookups by the \
         writer meanwhile; {from_checker} of the checker's lookups reached the socket",
        result.lines().next().unwrap_or_default()
    );
    assert!(
        status.is_some_and(|s| s.success()),
        "{status:?}\n{result}\n{}",
        checker.stderr()
    );
    assert!(result.contains(" wrong=0"), "{result}");
    assert!(
        rewrites >= 100,
        "only {rewrites} rewrites while the readers ran"
    );
    // Most answers came from the memory cache, not the socket.
    assert!(
        from_checker < 8 * 100_000 / 10,
        "{from_checker} socket requests"
    );
}

// ---------------------------------------------------------------------------------------
// Format
// ---------------------------------------------------------------------------------------

/// SSSD's layout for a map of `mib` MiB: (slots, dt, ft, ht, free_table, hash_table, size).
fn layout(mib: u32) -> (u32, u32, u32, u32, u32, u32, u32) {
    let align8 = |v: u32| (v + 7) & !7;
    let slots = align8(mib * (1024 * 1024 / 40));
    let (dt, ft, ht) = (slots * 40, slots / 8, slots * 4);
    let free = 56 + align8(dt);
    let hash = free + align8(ft);
    (slots, dt, ft, ht, free, hash, hash + align8(ht))
}

#[test]
fn layout_matches_the_spec_figures() {
    assert_eq!(layout(8).6, 9_253_600);
    assert_eq!(layout(6).6, 6_940_392);
    assert_eq!(layout(10).6, 11_567_160);
    assert_eq!(layout(8).1, 8_388_480);
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Checks a file's header against the layout for `mib` MiB.
#[track_caller]
fn check_header(ns: &Namespace, name: &str, mib: u32) -> McFile {
    let f = McFile::read(ns, name).unwrap();
    let h = f.header().unwrap();
    let (_, dt, ft, ht, free, hash, size) = layout(mib);
    assert_eq!(h.b1, h.b2, "{name}: {h:?}");
    assert_eq!(h.b1 >> 24, 0xF0, "{name}: {h:?}");
    assert_eq!(
        (h.major, h.minor, h.status, h.reserved),
        (1, 1, 1, 0),
        "{name}: {h:?}"
    );
    assert_eq!(
        (
            h.dt_size,
            h.ft_size,
            h.ht_size,
            h.data_table,
            h.free_table,
            h.hash_table
        ),
        (dt, ft, ht, 56, free, hash),
        "{name}: {h:?}"
    );
    assert_eq!(f.bytes.len(), size as usize, "{name} size");
    // Every record is reachable from the buckets of both its keys.
    for r in f.records() {
        for bucket in [r.hash1, r.hash2] {
            let first = u32::from_ne_bytes(
                f.bytes[(hash + 4 * bucket) as usize..][..4]
                    .try_into()
                    .unwrap(),
            );
            let mut slot = first;
            let mut steps = 0;
            while slot != r.slot {
                let next = f.record(slot).unwrap_or_else(|| {
                    panic!("{name}: chain of bucket {bucket} breaks at slot {slot}")
                });
                slot = if next.hash1 == bucket {
                    next.next1
                } else {
                    next.next2
                };
                steps += 1;
                assert!(steps < 10_000, "{name}: chain of bucket {bucket} loops");
            }
        }
    }
    f
}

/// The files follow SSSD's format: header 1.1 ALIVE, sizes per memcache_size_*, records
/// found through the bucket of `murmurhash3("user1\0", seed)` and of the uid, payloads as
/// the spec lays them out, expiry `memcache_timeout` ahead.
#[test]
fn files_follow_the_format() {
    let ns = namespace();
    let conf = conf()
        .set("nss", "memcache_size_passwd", "1")
        .set("nss", "memcache_timeout", "600");
    let _sssd = start(&ns, &conf);
    let user1 = passwd_line("user1");
    assert_getent(&ns, &[], &["passwd", "user1"], &user1);
    assert_eq!(initgroups(&ns, &[], "user1"), BTreeSet::from([2012]));
    assert_eq!(
        group(&ns, &[], "two_user_group").members,
        names(&["user1", "user2"])
    );
    let stored = now();

    let pw = check_header(&ns, "passwd", 1);
    let by_name = pw.chain(b"user1\0");
    let rec = by_name
        .iter()
        .find(|r| McFile::decode_passwd(&r.payload).is_some_and(|p| p.strs[0] == "user1"))
        .unwrap_or_else(|| panic!("user1 not in its bucket's chain: {by_name:#?}"));
    let p = McFile::decode_passwd(&rec.payload).unwrap();
    assert_eq!(p.line(), user1);
    assert_eq!(
        rec.len as usize,
        40 + 16 + p.strs.iter().map(|s| s.len() + 1).sum::<usize>()
    );
    assert_eq!(rec.hash1, pw.bucket(b"user1\0").unwrap());
    assert_eq!(rec.hash2, pw.bucket(b"1001\0").unwrap());
    assert!(
        (stored + 590..=stored + 601).contains(&rec.expire),
        "expire {} for a record stored at {stored}",
        rec.expire
    );
    assert!(pw.chain(b"1001\0").iter().any(|r| r.slot == rec.slot));
    assert_eq!(pw.passwd_by_uid(1001).map(|p| p.line()), Some(user1));

    let gr = check_header(&ns, "group", 6);
    let (gid, strs) = gr.group("two_user_group").unwrap();
    assert_eq!((gid, strs[1].as_str()), (2012, "*"));
    assert_eq!(
        strs[2..].iter().cloned().collect::<BTreeSet<_>>(),
        names(&["user1", "user2"])
    );
    assert!(
        gr.chain(b"2012\0")
            .iter()
            .any(|r| r.hash2 == gr.bucket(b"2012\0").unwrap())
    );

    let ig = check_header(&ns, "initgroups", 10);
    assert_eq!(ig.initgroups("user1"), Some(vec![2012]));
}

/// 2,000 users in a 1 MiB passwd map (26,216 buckets for 4,000 keys: chains of several
/// records): with the daemon stopped every one resolves from the files, by name and by uid.
#[test]
fn two_thousand_users_resolve_from_the_files_alone() {
    let ns = namespace();
    let conf = conf().set("nss", "memcache_size_passwd", "1");
    let mut sssd = start(&ns, &conf);
    let mut users: Vec<String> = (1..=BULK)
        .filter(|i| !CHANGED_USERS.contains(i))
        .map(|i| format!("user{i:04}"))
        .collect();
    users.push(ldif::long_name());
    let want: Vec<String> = users.iter().map(|u| passwd_line(u)).collect();
    let check = |what: &str, out: &Output| {
        let got: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(got.len(), want.len(), "{what}: {:?}", out.stderr);
        if let Some((g, w)) = got.iter().zip(&want).find(|(g, w)| *g != w) {
            panic!("{what}: got {g:?}, want {w:?}");
        }
    };
    let mut by_name = vec!["passwd"];
    by_name.extend(users.iter().map(String::as_str));
    let t = Instant::now();
    check("through the daemon", &getent(&ns, &[], &by_name));
    let warm = t.elapsed();
    let f = check_header(&ns, "passwd", 1);
    stop(&ns, &mut sssd);

    let t = Instant::now();
    check("by name from the files", &getent(&ns, &[], &by_name));
    let uids: Vec<String> = users
        .iter()
        .map(|u| tree().user(u).unwrap().uid.to_string())
        .collect();
    let mut by_uid = vec!["passwd"];
    by_uid.extend(uids.iter().map(String::as_str));
    check("by uid from the files", &getent(&ns, &[], &by_uid));
    eprintln!(
        "{} users: {warm:?} through the daemon, {:?} twice from the files",
        users.len(),
        t.elapsed()
    );

    // The independent reader finds each of them too, and chains were really walked.
    let mut buckets = std::collections::HashMap::<u32, u32>::new();
    for (u, uid) in users.iter().zip(&uids) {
        let line = passwd_line(u);
        assert_eq!(f.passwd(u).map(|p| p.line()).as_ref(), Some(&line), "{u}");
        assert_eq!(
            f.passwd_by_uid(uid.parse().unwrap()).map(|p| p.line()),
            Some(line)
        );
        *buckets
            .entry(f.bucket(format!("{u}\0").as_bytes()).unwrap())
            .or_default() += 1;
        *buckets
            .entry(f.bucket(format!("{uid}\0").as_bytes()).unwrap())
            .or_default() += 1;
    }
    let shared = buckets.values().filter(|&&n| n > 1).count();
    eprintln!("{shared} buckets hold more than one key");
    assert!(
        shared > 10,
        "only {shared} shared buckets: the chains were not exercised"
    );
}

// ---------------------------------------------------------------------------------------
// The daemon's side of sss_cache's handshake
// ---------------------------------------------------------------------------------------

/// Tries to take the write lock on byte 0 of a memory-cache file, as sss_cache does;
/// `Ok(())` if it got it (then released), else the errno.
fn lock_byte_0(ns: &Namespace, name: &str) -> Result<(), i32> {
    use std::os::fd::AsRawFd;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(ns.host_path(&mc_path(name)))
        .map_err(|e| e.raw_os_error().unwrap_or(-1))?;
    // SAFETY: all-zero is a valid flock.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = 0;
    fl.l_len = 1;
    // SAFETY: valid fd and flock; the lock dies with the descriptor.
    let r = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_SETLK, &fl) };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(-1))
    }
}

/// What any sss_cache relies on: while the NSS responder runs it holds the write lock on
/// byte 0 of each file; creating clear_mc_flag and sending SIGHUP to the monitor (pid from
/// /run/sssd.pid) makes it re-create all three files and delete the flag; a SIGHUP without
/// the flag leaves the files alone; once the daemon stops, the lock can be taken.
#[test]
fn clear_mc_flag_handshake() {
    let ns = namespace();
    let mut sssd = start(&ns, &conf());
    let user1 = passwd_line("user1");
    assert_getent(&ns, &[], &["passwd", "user1"], &user1);
    assert_eq!(
        group(&ns, &[], "two_user_group").members,
        names(&["user1", "user2"])
    );
    for f in MC_FILES {
        let r = lock_byte_0(&ns, f);
        assert!(
            matches!(r, Err(libc::EACCES | libc::EAGAIN)),
            "{f}: the running responder does not hold the byte-0 lock: {r:?}"
        );
    }
    let pid: i32 = String::from_utf8(ns.read_file("/run/sssd.pid").unwrap())
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(pid as u32, sssd.daemon.pid(), "/run/sssd.pid");
    let inodes =
        |ns: &Namespace| -> Vec<Option<u64>> { MC_FILES.iter().map(|f| inode(ns, f)).collect() };

    // SIGHUP alone (log rotation): nothing is cleared.
    let before = inodes(&ns);
    sssd.daemon.signal(libc::SIGHUP);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        inodes(&ns),
        before,
        "SIGHUP without clear_mc_flag re-created files"
    );
    assert!(
        McFile::read(&ns, "passwd")
            .unwrap()
            .passwd("user1")
            .is_some()
    );

    // The flag and SIGHUP: new files, flag gone (sss_cache waits 1 s for that).
    ns.write_file(&mc_path("clear_mc_flag"), b"", 0o644)
        .unwrap();
    let t = Instant::now();
    sssd.daemon.signal(libc::SIGHUP);
    let cleared = proc::wait_until("clear_mc_flag to go", Duration::from_secs(5), || {
        !ns.exists(&mc_path("clear_mc_flag"))
    });
    assert!(cleared.is_ok(), "{}", sssd.logs());
    let took = t.elapsed();
    eprintln!("clear_mc_flag removed after {took:?}");
    assert!(
        took < Duration::from_secs(1),
        "sss_cache gives up after 1 s; took {took:?}"
    );
    let after = inodes(&ns);
    for ((f, b), a) in MC_FILES.iter().zip(&before).zip(&after) {
        assert!(a.is_some() && a != b, "{f}: inode {b:?} -> {a:?}");
    }
    let fresh = check_header(&ns, "passwd", 8);
    assert!(
        fresh.passwd("user1").is_none(),
        "the new passwd file still holds user1"
    );
    for f in MC_FILES {
        assert!(
            matches!(lock_byte_0(&ns, f), Err(libc::EACCES | libc::EAGAIN)),
            "{f}"
        );
    }
    assert_getent(&ns, &[], &["passwd", "user1"], &user1);
    assert!(
        McFile::read(&ns, "passwd")
            .unwrap()
            .passwd("user1")
            .is_some()
    );

    stop(&ns, &mut sssd);
    for f in MC_FILES {
        assert_eq!(lock_byte_0(&ns, f), Ok(()), "{f} after the daemon stopped");
    }
}
