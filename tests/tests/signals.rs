//! SSSD's documented signal behaviours (sssd(8), SIGNALS), end to end against the monitor and
//! the children it starts:
//! - SIGTERM to the monitor stops every child, and one that ignores SIGTERM is killed with
//!   SIGKILL within the monitor's bounded wait;
//! - SIGKILL to the monitor takes every child with it (parent-death signal);
//! - SIGUSR1 / SIGUSR2 to one backend move only that domain offline / online, and to the
//!   monitor every domain;
//! - SIGHUP to the monitor makes every process reopen its log file (sent by the installed
//!   /etc/logrotate.d/sssd after a real logrotate run), and clears the NSS responder's
//!   negative cache.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use std::time::{Duration, Instant};

use sssd_tests::ldif::{self, Directory, Schema, User};
use sssd_tests::namespace::Namespace;
use sssd_tests::proc;
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{Sssd, SssdConf};
use sssd_tests::stage;

/// The monitor's wait between SIGTERM and SIGKILL for its children (sssd(8), SIGNALS).
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Slack on top of a bound the daemon promises (scheduling on a loaded 2-core machine).
const SLACK: Duration = Duration::from_secs(4);

/// How long children may take to follow a monitor killed with SIGKILL.
const ORPHAN_LIMIT: Duration = Duration::from_secs(5);

/// How long a relayed signal may take to have its effect.
const RELAY_LIMIT: Duration = Duration::from_secs(10);

/// The monitor's command line with info-level logs (the tests read the log files).
const VERBOSE_ARGV: &[&str] = &["/usr/sbin/sssd", "-i", "-d", "0x03f0", "--logger=files"];

fn namespace() -> Namespace {
    Namespace::new(Some(stage::shared_stage().unwrap())).unwrap()
}

/// A directory with one user, `name` (uid/gid `id`).
fn directory(name: &str, id: u32) -> Directory {
    let mut d = Directory::new(Schema::Rfc2307);
    d.users.push(User::new(name, id, id));
    d
}

/// Adds user `name` (uid/gid `id`) to the directory `slapd` serves.
fn add_user(slapd: &Slapd, d: &Directory, name: &str, id: u32) {
    slapd
        .add(&ldif::user_ldif(d, &User::new(name, id, id)))
        .unwrap();
}

/// The PIDs of the processes whose parent is `parent`.
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                // After the parenthesised comm: state, then ppid.
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
                    == Some(parent)
            })
        })
        .filter(|&pid| proc::alive(pid))
        .collect()
}

/// The command line of `pid`, arguments joined by spaces.
fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

/// The PID of the backend of `domain` (`sssd_be --domain DOMAIN`).
fn backend_pid(ns: &Namespace, domain: &str) -> u32 {
    let want = format!("--domain {domain} ");
    let found: Vec<u32> = ns
        .processes_named("sssd_be")
        .into_iter()
        .filter(|&p| cmdline(p).contains(&want))
        .collect();
    assert_eq!(found.len(), 1, "backends of {domain}: {found:?}");
    found[0]
}

/// `getent passwd NAME` inside `ns`: the line, or `None` when the user is not found.
fn passwd(ns: &Namespace, name: &str) -> Option<String> {
    let out = ns.run(&["getent", "passwd", name]).unwrap();
    match out.code() {
        0 => Some(out.stdout.trim_end().to_owned()),
        2 => None,
        _ => panic!("getent passwd {name}: {out:?}"),
    }
}

/// The passwd line of a user made by [`User::new`].
fn passwd_line(name: &str, id: u32) -> String {
    format!("{name}:*:{id}:{id}:{id}:/home/{name}:/bin/bash")
}

/// A log file inside the namespace, or "" while it does not exist.
fn log(ns: &Namespace, file: &str) -> String {
    ns.read_file(&format!("/var/log/sssd/{file}"))
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// Waits until `file` has more lines containing `text` than `before`.
fn wait_for_log(sssd: &Sssd<'_>, ns: &Namespace, file: &str, text: &str, before: usize) {
    proc::wait_until(&format!("{file} to log {text:?}"), RELAY_LIMIT, || {
        log(ns, file).matches(text).count() > before
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", sssd.logs()));
}

/// A stand-in for `sssd_pam` that ignores SIGTERM: it runs the real responder as its child
/// (so the monitor sees the responder register as usual) and then sleeps forever. The real
/// responder still stops on the monitor's SIGTERM to the process group; the stand-in, which
/// the monitor started and waits for, does not.
fn sigterm_ignoring_wrapper(real: &str) -> String {
    format!(
        "#!/bin/sh\n\
         trap '' TERM\n\
         '{real}' \"$@\" &\n\
         while :; do sleep 1; done\n"
    )
}

#[test]
fn child_ignoring_sigterm_is_killed_within_the_stop_timeout() {
    let stage_root = stage::shared_stage().unwrap();
    let real = stage_root.join("usr/libexec/sssd/sssd_pam");
    assert!(real.is_file(), "{} missing", real.display());
    let slapd = Slapd::new(&directory("alice", 3001)).unwrap();
    let ns = namespace();
    // Test-only: the wrapper is bind-mounted over the installed responder inside this
    // namespace, so the monitor starts it exactly as it starts the real one; the product has
    // no hook for this.
    ns.write_file(
        "/run/sssd-tests/sssd_pam",
        sigterm_ignoring_wrapper(&real.display().to_string()).as_bytes(),
        0o755,
    )
    .unwrap();
    ns.run_ok(&[
        "mount",
        "--bind",
        "/run/sssd-tests/sssd_pam",
        "/usr/libexec/sssd/sssd_pam",
    ])
    .unwrap();
    let conf = SssdConf::ldap_pam(&slapd, Schema::Rfc2307);
    // Verbose: the monitor's warning about the SIGKILL is checked below.
    let mut sssd = Sssd::start_with_argv(&ns, &conf, VERBOSE_ARGV).unwrap();
    ns.wait_for_path("/var/lib/sss/pipes/pam", Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("{e}\n{}", sssd.logs()));
    assert_eq!(passwd(&ns, "alice"), Some(passwd_line("alice", 3001)));
    assert!(ns.exists("/run/sssd.pid"));
    let monitor = sssd.daemon.pid();
    let children = children_of(monitor);
    let wrapper = children
        .iter()
        .copied()
        .find(|&p| cmdline(p).starts_with("/bin/sh /usr/libexec/sssd/sssd_pam"))
        .unwrap_or_else(|| panic!("no wrapper among {children:?}"));
    assert_eq!(
        children.len(),
        3,
        "sssd_be, sssd_nss, wrapper: {children:?}"
    );
    let others: Vec<u32> = children.iter().copied().filter(|&p| p != wrapper).collect();

    let start = Instant::now();
    sssd.daemon.signal(libc::SIGTERM);
    // The well-behaved children stop on SIGTERM; the wrapper does not.
    proc::wait_until("sssd_be and sssd_nss to stop", SLACK, || {
        others.iter().all(|&p| !proc::alive(p))
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", sssd.logs()));
    assert!(
        proc::alive(wrapper) && sssd.daemon.is_running(),
        "the wrapper should still be running, and the monitor waiting for it\n{}",
        sssd.logs()
    );
    let status = sssd
        .daemon
        .wait_exit(STOP_TIMEOUT + SLACK)
        .unwrap_or_else(|| panic!("monitor still running\n{}", sssd.logs()));
    let took = start.elapsed();
    assert!(status.success(), "{status:?}\n{}", sssd.logs());
    assert!(
        took < STOP_TIMEOUT + SLACK,
        "monitor took {took:?}\n{}",
        sssd.logs()
    );
    // Everything the monitor started is gone: the wrapper, its sleep, the real responder.
    proc::wait_until("every process of the daemon to be gone", SLACK, || {
        ns.processes().is_empty()
    })
    .unwrap_or_else(|e| panic!("{e}: {:?} left", ns.processes()));
    assert!(!proc::alive(wrapper));
    assert!(
        log(&ns, "sssd.log").contains(&format!("(process {wrapper}) ignored SIGTERM")),
        "{}",
        sssd.logs()
    );
    assert!(!ns.exists("/run/sssd.pid"));
}

#[test]
fn children_die_when_the_monitor_is_killed() {
    let slapd = Slapd::new(&directory("alice", 3001)).unwrap();
    let ns = namespace();
    let mut sssd = Sssd::start(&ns, &SssdConf::ldap_pam(&slapd, Schema::Rfc2307)).unwrap();
    ns.wait_for_path("/var/lib/sss/pipes/pam", Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("{e}\n{}", sssd.logs()));
    assert_eq!(passwd(&ns, "alice"), Some(passwd_line("alice", 3001)));
    let monitor = sssd.daemon.pid();
    let children = children_of(monitor);
    let mut names: Vec<String> = children
        .iter()
        .map(|p| {
            std::fs::read_to_string(format!("/proc/{p}/comm"))
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
        .collect();
    names.sort();
    assert_eq!(names, ["sssd_be", "sssd_nss", "sssd_pam"], "{children:?}");

    sssd.daemon.signal(libc::SIGKILL);
    assert!(sssd.daemon.wait_exit(Duration::from_secs(5)).is_some());
    proc::wait_until("the children to follow the monitor", ORPHAN_LIMIT, || {
        children.iter().all(|&p| !proc::alive(p))
    })
    .unwrap_or_else(|e| {
        let left: Vec<_> = children
            .iter()
            .filter(|&&p| proc::alive(p))
            .map(|&p| cmdline(p))
            .collect();
        panic!("{e}: still running: {left:?}\n{}", sssd.logs())
    });
    proc::wait_until("no process left in the namespace", ORPHAN_LIMIT, || {
        ns.processes().is_empty()
    })
    .unwrap_or_else(|e| panic!("{e}: {:?} left", ns.processes()));
}

/// `[domain/NAME]` served by `slapd`: entries expire at once (every lookup asks the
/// backend), offline for a minute after SIGUSR1 unless SIGUSR2 comes first.
fn with_domain(conf: SssdConf, name: &str, slapd: &Slapd) -> SssdConf {
    let s = format!("domain/{name}");
    conf.set(&s, "id_provider", "ldap")
        .set(&s, "ldap_uri", &slapd.uri())
        .set(&s, "ldap_search_base", slapd.base())
        .set(&s, "ldap_schema", "rfc2307")
        .set(&s, "ldap_id_use_start_tls", "false")
        .set(&s, "entry_cache_timeout", "1")
        .set(&s, "offline_timeout", "60")
}

/// Two domains, A then B, each with its own slapd; no memory cache and no negative cache, so
/// that each lookup reaches the responder and, for an unknown name, the backends.
fn two_domains(a: &Slapd, b: &Slapd) -> SssdConf {
    let conf = SssdConf::new()
        .set("sssd", "services", "nss")
        .set("sssd", "domains", "A, B")
        .set("nss", "memcache_timeout", "0")
        .set("nss", "entry_negative_timeout", "0");
    with_domain(with_domain(conf, "A", a), "B", b)
}

/// What the backends log when they go offline.
const OFFLINE: &str = "going offline";

#[test]
fn sigusr1_and_sigusr2_move_one_domain_or_all_offline_and_online() {
    let (da, db) = (directory("alice", 3001), directory("bob", 4001));
    let (sa, sb) = (Slapd::new(&da).unwrap(), Slapd::new(&db).unwrap());
    let ns = namespace();
    let sssd = Sssd::start_with_argv(&ns, &two_domains(&sa, &sb), VERBOSE_ARGV).unwrap();
    let alice = Some(passwd_line("alice", 3001));
    let bob = Some(passwd_line("bob", 4001));
    assert_eq!(passwd(&ns, "alice"), alice);
    assert_eq!(passwd(&ns, "bob"), bob);
    let (be_a, be_b) = (backend_pid(&ns, "A"), backend_pid(&ns, "B"));
    let offline_count = |file: &str| log(&ns, file).matches(OFFLINE).count();
    let resolves = |name: &str, id: u32, what: &str| {
        proc::wait_until(what, RELAY_LIMIT, || {
            passwd(&ns, name) == Some(passwd_line(name, id))
        })
        .unwrap_or_else(|e| panic!("{e}\n{}", sssd.logs()));
    };
    // Let alice's and bob's cache entries expire: from now on each lookup asks the backend.
    std::thread::sleep(Duration::from_millis(1100));

    // SIGUSR1 to A's backend: A is offline, B is not.
    let before = offline_count("sssd_A.log");
    proc::signal(be_a, libc::SIGUSR1);
    wait_for_log(&sssd, &ns, "sssd_A.log", OFFLINE, before);
    add_user(&sa, &da, "anew1", 3002);
    add_user(&sb, &db, "bnew1", 4002);
    assert_eq!(passwd(&ns, "anew1"), None, "A should be offline");
    assert_eq!(passwd(&ns, "alice"), alice, "served from A's cache");
    assert_eq!(passwd(&ns, "bnew1"), Some(passwd_line("bnew1", 4002)));
    assert_eq!(offline_count("sssd_B.log"), 0, "{}", sssd.logs());

    // SIGUSR2 to A's backend: A is back.
    proc::signal(be_a, libc::SIGUSR2);
    resolves("anew1", 3002, "anew1 once A is online again");

    // SIGUSR1 to the monitor: every domain is offline.
    let (before_a, before_b) = (offline_count("sssd_A.log"), offline_count("sssd_B.log"));
    sssd.daemon.signal(libc::SIGUSR1);
    wait_for_log(&sssd, &ns, "sssd_A.log", OFFLINE, before_a);
    wait_for_log(&sssd, &ns, "sssd_B.log", OFFLINE, before_b);
    add_user(&sa, &da, "anew2", 3003);
    add_user(&sb, &db, "bnew2", 4003);
    assert_eq!(passwd(&ns, "anew2"), None, "A should be offline");
    assert_eq!(passwd(&ns, "bnew2"), None, "B should be offline");
    assert_eq!(passwd(&ns, "alice"), alice, "served from A's cache");
    assert_eq!(passwd(&ns, "bob"), bob, "served from B's cache");

    // SIGUSR2 to B's backend: only B comes back.
    proc::signal(be_b, libc::SIGUSR2);
    resolves("bnew2", 4003, "bnew2 once B is online again");
    assert_eq!(passwd(&ns, "anew2"), None, "A should still be offline");

    // SIGUSR2 to the monitor: A comes back too.
    sssd.daemon.signal(libc::SIGUSR2);
    resolves("anew2", 3003, "anew2 once every domain is online again");
}

#[test]
fn sigusr1_lasts_offline_timeout() {
    let d = directory("alice", 3001);
    let slapd = Slapd::new(&d).unwrap();
    let ns = namespace();
    let conf = SssdConf::ldap(&slapd, Schema::Rfc2307)
        .set("nss", "entry_negative_timeout", "0")
        .domain("offline_timeout", "3")
        .domain("offline_timeout_random_offset", "0");
    let sssd = Sssd::start_with_argv(&ns, &conf, VERBOSE_ARGV).unwrap();
    assert_eq!(passwd(&ns, "alice"), Some(passwd_line("alice", 3001)));
    let before = log(&ns, "sssd_LDAP.log").matches(OFFLINE).count();
    sssd.daemon.signal(libc::SIGUSR1);
    wait_for_log(&sssd, &ns, "sssd_LDAP.log", OFFLINE, before);
    let offline_at = Instant::now();
    add_user(&slapd, &d, "anew", 3002);
    assert_eq!(passwd(&ns, "anew"), None, "the domain should be offline");
    // No SIGUSR2: the domain comes back by itself once offline_timeout has passed.
    proc::wait_until(
        "anew after offline_timeout",
        Duration::from_secs(3) + SLACK,
        || passwd(&ns, "anew") == Some(passwd_line("anew", 3002)),
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", sssd.logs()));
    assert!(
        offline_at.elapsed() >= Duration::from_secs(2),
        "back online after {:?}, before offline_timeout",
        offline_at.elapsed()
    );
}

/// The log files of the monitor and of each child in [`sighup_reopens_every_log_file`].
const LOG_FILES: &[&str] = &["sssd.log", "sssd_LDAP.log", "sssd_nss.log", "sssd_pam.log"];

/// What a process logs right after it reopened its log file.
const REOPENED: &str = "log file reopened";

#[test]
fn sighup_reopens_every_log_file() {
    let slapd = Slapd::new(&directory("alice", 3001)).unwrap();
    let ns = namespace();
    let conf = SssdConf::ldap_pam(&slapd, Schema::Rfc2307);
    let sssd = Sssd::start_with_argv(&ns, &conf, VERBOSE_ARGV).unwrap();
    ns.wait_for_path("/var/lib/sss/pipes/pam", Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("{e}\n{}", sssd.logs()));
    for f in LOG_FILES {
        assert!(!log(&ns, f).is_empty(), "{f} empty\n{}", sssd.logs());
    }
    // The installed logrotate configuration moves every file away, then sends SIGHUP. (The
    // namespace overlays only the staged /usr: its /etc file is copied in.)
    let staged = stage::shared_stage().unwrap().join("etc/logrotate.d/sssd");
    let conf_text = std::fs::read(&staged).unwrap_or_else(|e| panic!("{}: {e}", staged.display()));
    ns.write_file("/etc/logrotate.d/sssd", &conf_text, 0o644)
        .unwrap();
    let out = ns
        .run(&[
            "logrotate",
            "-f",
            "-s",
            "/run/sssd-tests-logrotate.state",
            "/etc/logrotate.d/sssd",
        ])
        .unwrap();
    assert!(out.success(), "logrotate: {out:?}");
    for f in LOG_FILES {
        assert!(
            ns.exists(&format!("/var/log/sssd/{f}.1")),
            "{f} not rotated"
        );
    }
    for f in LOG_FILES {
        wait_for_log(&sssd, &ns, f, REOPENED, 0);
    }
    // The processes keep writing to the new files.
    assert_eq!(passwd(&ns, "alice"), Some(passwd_line("alice", 3001)));
    for f in LOG_FILES {
        assert!(
            !log(&ns, &format!("{f}.1")).contains(REOPENED),
            "{f}.1 was written after the reopen"
        );
    }
}

#[test]
fn sighup_clears_the_negative_cache() {
    let d = directory("alice", 3001);
    let slapd = Slapd::new(&d).unwrap();
    let ns = namespace();
    let conf = SssdConf::ldap(&slapd, Schema::Rfc2307).set("nss", "entry_negative_timeout", "3600");
    let sssd = Sssd::start(&ns, &conf).unwrap();
    assert_eq!(passwd(&ns, "late"), None);
    add_user(&slapd, &d, "late", 3002);
    // The negative cache answers for the next hour...
    assert_eq!(passwd(&ns, "late"), None, "negative cache should hold");
    // ...until SIGHUP.
    sssd.daemon.signal(libc::SIGHUP);
    proc::wait_until("late to resolve after SIGHUP", RELAY_LIMIT, || {
        passwd(&ns, "late") == Some(passwd_line("late", 3002))
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", sssd.logs()));
}
