//! No local user can starve the responders: while one unprivileged uid opens connections
//! to both public sockets until it is refused (about 20,000 attempts), keeps reopening what
//! the daemon closes, and holds senders that trickle one byte a second, lookups through
//! glibc and a pamtester login by other uids, and root's lookups, each complete within a
//! second. The daemon starts with the soft descriptor limit of a systemd service (1024), as
//! in the report this test comes from; `fd_limit` (8192) is what it runs with.
//!
//! The figures are printed whether or not the test passes, so the same attack can be
//! measured against Debian's sssd 2.8:
//! `SSSD_TESTS_STAGE_ROOT=$(scripts/debian-sssd.sh) cargo test --release -p sssd-tests
//! --test starvation -- --nocapture`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use std::time::{Duration, Instant};

use sssd_tests::ldif::{self, Schema};
use sssd_tests::namespace::{Daemon, Namespace};
use sssd_tests::pam::{self, Caller, SERVICE, code, pamtester};
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{Sssd, SssdConf};
use sssd_tests::stage;

const FLOOD: &str = env!("CARGO_BIN_EXE_sock-flood");
/// The attacker.
const ATTACKER: (u32, u32) = (1999, 1999);
/// Victims: user3 looks users up, user1 logs in.
const LOOKER: (u32, u32) = (1003, 2003);
const LOGIN: Caller = Caller::User(1001, 2001);
/// What each victim's call must stay under.
const LIMIT: Duration = Duration::from_secs(1);

/// A victim call: what it is, as whom (None: root), and its argv.
type Call = (&'static str, Option<(u32, u32)>, Vec<&'static str>);

/// Sets this process's soft descriptor limit (children inherit it).
fn set_soft_nofile(soft: u64) {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) };
    r.rlim_cur = soft.min(r.rlim_max);
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &r) }, 0);
}

fn attack<'ns>(ns: &'ns Namespace, socket: &str, hold: usize, seconds: u64) -> Daemon<'ns> {
    let (uid, gid) = ATTACKER;
    let argv = [
        FLOOD.to_string(),
        "--socket".into(),
        socket.into(),
        "--uid".into(),
        uid.to_string(),
        "--gid".into(),
        gid.to_string(),
        "--hold".into(),
        hold.to_string(),
        "--trickle".into(),
        "300".into(),
        "--seconds".into(),
        seconds.to_string(),
        "--reopen".into(),
        "2000".into(),
    ];
    ns.spawn(&argv).unwrap()
}

/// Runs `argv` as the looker uid in `ns`; returns whether it succeeded and how long it took.
fn timed(ns: &Namespace, as_user: Option<(u32, u32)>, argv: &[&str]) -> (bool, Duration, String) {
    let mut full: Vec<String> = Vec::new();
    if let Some((uid, gid)) = as_user {
        full.extend([
            "setpriv".into(),
            format!("--reuid={uid}"),
            format!("--regid={gid}"),
            "--clear-groups".into(),
        ]);
    }
    full.extend(argv.iter().map(|s| (*s).to_owned()));
    let t = Instant::now();
    let out = ns.run(&full).unwrap();
    (
        out.success(),
        t.elapsed(),
        format!("{}{}", out.stdout, out.stderr),
    )
}

#[test]
fn one_local_user_cannot_starve_lookups_or_logins() {
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(3)).unwrap();
    let root = stage::shared_stage().expect("stage the product with install.sh");
    let ns = Namespace::new(Some(root)).expect("create the mount namespace");
    // Every lookup goes to the socket: the memory cache would hide the attack.
    let conf = SssdConf::ldap_pam(&slapd, Schema::Rfc2307).set("nss", "memcache_timeout", "0");
    set_soft_nofile(1024);
    let sssd = Sssd::start(&ns, &conf).unwrap_or_else(|e| panic!("sssd did not start: {e}"));
    pam::wait_for_socket(&ns).unwrap();
    pam::install_service(&ns, SERVICE, "").unwrap();
    // Warm the cache so that the victims measure the responders, not slapd.
    for u in ["user1", "user2", "user3"] {
        ns.run_ok(&["getent", "passwd", u]).unwrap();
        ns.run_ok(&["id", u]).unwrap();
    }

    let seconds = 24;
    let mut nss = attack(&ns, "/var/lib/sss/pipes/nss", 10_000, seconds);
    let mut pam_flood = attack(&ns, "/var/lib/sss/pipes/pam", 9_000, seconds);
    let started = Instant::now();
    sssd_tests::proc::wait_until("the attackers' first wave", Duration::from_secs(10), || {
        nss.stdout().contains("holding") && pam_flood.stdout().contains("holding")
    })
    .unwrap();

    // Victims, in rounds while the attack goes on (the tricklers' requests time out and are
    // reopened during it).
    let mut rows: Vec<(String, bool, Duration, String)> = Vec::new();
    let mut round = 0;
    while started.elapsed() < Duration::from_secs(seconds - 4) {
        round += 1;
        let calls: [Call; 4] = [
            (
                "getent passwd user1",
                Some(LOOKER),
                vec!["getent", "passwd", "user1"],
            ),
            ("id user2", Some(LOOKER), vec!["id", "user2"]),
            (
                "getent group group1",
                Some(LOOKER),
                vec!["getent", "group", "group1"],
            ),
            (
                "root: getent passwd user3",
                None,
                vec!["getent", "passwd", "user3"],
            ),
        ];
        for (what, who, argv) in calls {
            let (ok, took, out) = timed(&ns, who, &argv);
            rows.push((format!("round {round}: {what}"), ok, took, out));
        }
        let login = pamtester(
            &ns,
            LOGIN,
            SERVICE,
            "user1",
            &["authenticate"],
            "Password1001\n",
        )
        .unwrap();
        rows.push((
            format!("round {round}: pamtester login user1 as uid 1001"),
            login.code == code::SUCCESS,
            login.elapsed,
            format!("{:?}", login.output),
        ));
        std::thread::sleep(Duration::from_secs(2));
    }
    nss.wait_exit(Duration::from_secs(seconds + 10));
    pam_flood.wait_exit(Duration::from_secs(seconds + 10));

    let nss_stats = nss.stdout();
    let pam_stats = pam_flood.stdout();
    eprintln!("attacker on nss: {nss_stats}");
    eprintln!("attacker on pam: {pam_stats}");
    let mut worst = Duration::ZERO;
    for (what, ok, took, _) in &rows {
        eprintln!("{what}: {} in {took:?}", if *ok { "ok" } else { "FAILED" });
        worst = worst.max(*took);
    }
    eprintln!("slowest victim call: {worst:?}");

    assert!(round >= 3, "only {round} rounds of victims ran");
    for (what, ok, took, out) in &rows {
        assert!(
            *ok && *took < LIMIT,
            "{what}: ok={ok} in {took:?}\n{out}\n--- logs ---\n{}",
            sssd.logs()
        );
    }
    // The attack was real: thousands of connections were opened and the daemon closed some.
    for stats in [&nss_stats, &pam_stats] {
        let field = |name: &str| -> u64 {
            stats
                .split_whitespace()
                .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        assert!(field("opened") >= 5_000, "{stats}");
        assert!(field("closed_by_server") >= 1_000, "{stats}");
    }
    // Warnings about it are rate-limited: a handful, not one per connection.
    let logs = sssd.logs();
    let warnings = logs
        .lines()
        .filter(|l| l.contains("connection refused") || l.contains("accept failed"))
        .count();
    assert!(warnings <= 20, "{warnings} warnings\n{logs}");
}
