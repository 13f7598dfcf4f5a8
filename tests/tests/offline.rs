//! Offline handling and the background refresh, end to end against a real slapd:
//! - the offline retry schedule (`offline_timeout`, doubling up to `offline_timeout_max`,
//!   plus up to `offline_timeout_random_offset` at random): the intervals the backend logs
//!   while slapd is down, and that it is back online at its next retry once slapd returns,
//!   seen by a lookup of a user added meanwhile (a miss while offline is not negative-cached,
//!   so the user is found as soon as the backend is online);
//! - responders told when the domain is back online: names negative-cached before an
//!   outage and created during it resolve at once, not after `entry_negative_timeout`;
//! - `refresh_expired_interval`: a changed LDAP attribute reaches `getent passwd` and
//!   `getent group` through the background refresh alone, and lookups during a refresh of
//!   600 users are not held up.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sssd_tests::ldif::{self, Directory, Group, Schema, User};
use sssd_tests::namespace::Namespace;
use sssd_tests::proc;
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{Sssd, SssdConf};
use sssd_tests::stage;

/// The monitor's command line with info-level logs (the tests read the log files).
/// Lines carry their time to the microsecond, in UTC (`TZ=UTC0`) so that they compare
/// with this process's clock.
const VERBOSE_ARGV: &[&str] = &[
    "/usr/bin/env",
    "TZ=UTC0",
    "/usr/sbin/sssd",
    "-i",
    "-d",
    "0x03f0",
    "--debug-microseconds=1",
    "--logger=files",
];

/// The backend's log file (domain `LDAP`).
const BE_LOG: &str = "sssd_LDAP.log";

fn namespace() -> Namespace {
    Namespace::new(Some(stage::shared_stage().unwrap())).unwrap()
}

/// Seconds since the epoch, as a float.
fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// A log file inside the namespace, or "" while it does not exist.
fn log(ns: &Namespace, file: &str) -> String {
    ns.read_file(&format!("/var/log/sssd/{file}"))
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The time of a log line (`(2026-12-06  2:20:10:123456): [be[LDAP]] ...`, UTC), in Unix
/// seconds.
fn line_time(line: &str) -> Option<f64> {
    let stamp = line.strip_prefix('(')?.split_once("): ")?.0;
    let (date, time) = stamp.split_once(' ')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, mo, da) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.trim_start().split(':').map(|p| p.parse::<f64>().ok());
    let (h, mi, s) = (t.next()??, t.next()??, t.next()??);
    let micros = t.next().flatten().unwrap_or(0.0);
    Some(days_from_civil(y, mo, da) as f64 * 86_400.0 + h * 3600.0 + mi * 60.0 + s + micros / 1e6)
}

/// Lines of `text` containing `needle`, with their times.
fn timed_lines<'a>(text: &'a str, needle: &str) -> Vec<(f64, &'a str)> {
    text.lines()
        .filter(|l| l.contains(needle))
        .map(|l| {
            (
                line_time(l).unwrap_or_else(|| panic!("no time in {l:?}")),
                l,
            )
        })
        .collect()
}

/// The delay in "... retrying in 2.7 s".
fn retry_delay(line: &str) -> f64 {
    let rest = line.split("retrying in ").nth(1).unwrap();
    rest.split_whitespace().next().unwrap().parse().unwrap()
}

/// `getent passwd NAME` (or group) inside `ns`: the line, or `None` when not found.
fn getent(ns: &Namespace, db: &str, name: &str) -> Option<String> {
    let out = ns.run(&["getent", db, name]).unwrap();
    match out.code() {
        0 => Some(out.stdout.trim_end().to_owned()),
        2 => None,
        _ => panic!("getent {db} {name}: {out:?}"),
    }
}

#[test]
fn line_times_parse() {
    assert_eq!(
        line_time("(1970-01-02  0:00:01:500000): [be[LDAP]] [f] (0x0200): x"),
        Some(86_401.5)
    );
    assert_eq!(
        line_time("(2026-12-06  2:20:10): [be[LDAP]] [f] (0x0080): y"),
        Some(1_796_523_610.0)
    );
    assert_eq!(line_time("garbage"), None);
}

/// Retry schedule of [`offline_retries_back_off_and_the_backend_returns_on_schedule`]:
/// `offline_timeout` 1 s, doubling up to 4 s, plus up to 1 s at random.
const BASE: f64 = 1.0;
const MAX: f64 = 4.0;
const OFFSET: f64 = 1.0;

#[test]
fn offline_retries_back_off_and_the_backend_returns_on_schedule() {
    let mut d = Directory::new(Schema::Rfc2307);
    d.users.push(User::new("alice", 3001, 3001));
    let mut slapd = Slapd::new(&d).unwrap();
    let ns = namespace();
    // No memory cache (every lookup reaches the responder); entries expire at once (every
    // lookup asks the backend); the negative cache keeps its default of 15 s.
    let conf = SssdConf::ldap(&slapd, Schema::Rfc2307)
        .set("nss", "memcache_timeout", "0")
        .domain("entry_cache_timeout", "1")
        .domain("offline_timeout", "1")
        .domain("offline_timeout_max", "4")
        .domain("offline_timeout_random_offset", "1");
    let sssd = Sssd::start_with_argv(&ns, &conf, VERBOSE_ARGV).unwrap();
    assert!(getent(&ns, "passwd", "alice").is_some(), "{}", sssd.logs());

    slapd.stop().unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    // This lookup finds the server gone: the backend goes offline.
    assert!(
        getent(&ns, "passwd", "alice").is_some(),
        "served from the cache"
    );
    // Keep the server down for four failed retries (1-2 s, 2-3 s, 4-5 s, 4-5 s).
    proc::wait_until("four failed retries", Duration::from_secs(25), || {
        timed_lines(&log(&ns, BE_LOG), "still offline; retrying in").len() >= 4
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", sssd.logs()));
    let be = log(&ns, BE_LOG);
    let went = timed_lines(&be, "going offline; retrying in");
    assert_eq!(went.len(), 1, "{be}");
    let retries = timed_lines(&be, "still offline; retrying in");
    let mut delays = vec![retry_delay(went[0].1)];
    delays.extend(retries.iter().map(|(_, l)| retry_delay(l)));
    eprintln!("logged retry delays: {delays:?}");
    let expected = [BASE, 2.0 * BASE, MAX, MAX, MAX];
    for (i, (got, interval)) in delays.iter().zip(expected).enumerate() {
        assert!(
            (interval..=interval + OFFSET + 0.05).contains(got),
            "retry {i}: {got} s not in [{interval}, {interval} + {OFFSET}]\n{be}"
        );
    }
    // Each retry happened when scheduled (the backend checks once a second).
    let mut at = vec![went[0]];
    at.extend(retries.iter().copied());
    for w in at.windows(2) {
        let (planned, actual) = (w[0].0 + retry_delay(w[0].1), w[1].0);
        assert!(
            actual >= planned - 0.1 && actual <= planned + 1.6,
            "retry planned at {planned:.2}, made at {actual:.2}\n{be}"
        );
    }
    // Back right after a failed retry, 4-5 s before the next one: a user added while the
    // domain is offline is not found (and the miss is not negative-cached), then found at
    // that retry.
    slapd.start().unwrap();
    slapd
        .add(&ldif::user_ldif(&d, &User::new("anew", 3002, 3002)))
        .unwrap();
    let be = log(&ns, BE_LOG);
    assert!(
        !be.contains("back online"),
        "back before the planned retry\n{be}"
    );
    let last = *timed_lines(&be, "retrying in").last().unwrap();
    let due = last.0 + retry_delay(last.1);
    let mut first_miss = None;
    let mut found_at = None;
    while unix_now() < due + 10.0 {
        let t = unix_now();
        if getent(&ns, "passwd", "anew").is_some() {
            found_at = Some(unix_now());
            break;
        }
        first_miss.get_or_insert(t);
        std::thread::sleep(Duration::from_millis(100));
    }
    let found_at = found_at.unwrap_or_else(|| panic!("anew never found\n{}", sssd.logs()));
    let be = log(&ns, BE_LOG);
    let online = timed_lines(&be, "back online");
    assert_eq!(online.len(), 1, "{be}");
    eprintln!(
        "retry due at +{:.2} s after the last failure; back online at +{:.2} s; anew found at \
         +{:.2} s (first miss at +{:.2} s)",
        due - last.0,
        online[0].0 - last.0,
        found_at - last.0,
        first_miss.map_or(f64::NAN, |m| m - last.0)
    );
    assert!(
        online[0].0 >= due - 0.1 && online[0].0 <= due + 1.6,
        "back online at {:.2}, retry due at {due:.2}\n{be}",
        online[0].0
    );
    // The backend checks its schedule on whole-second ticks, so a lookup just after `due`
    // may still find it offline: what matters is that lookups before it went back online
    // missed (and the miss was not negative-cached).
    assert!(
        first_miss.is_some_and(|m| m < online[0].0),
        "anew should be missing while the backend waits for its retry"
    );
    assert!(
        found_at <= online[0].0 + 1.0,
        "found long after going online"
    );
}

#[test]
fn negative_entries_are_dropped_when_the_domain_is_back_online() {
    let mut d = Directory::new(Schema::Rfc2307);
    d.users.push(User::new("alice", 3001, 3001));
    let mut slapd = Slapd::new(&d).unwrap();
    let ns = namespace();
    // Misses are remembered for ten minutes: only the back-online notice can undo them.
    let conf = SssdConf::ldap(&slapd, Schema::Rfc2307)
        .set("nss", "memcache_timeout", "0")
        .set("nss", "entry_negative_timeout", "600")
        .domain("entry_cache_timeout", "1")
        .domain("offline_timeout", "1")
        .domain("offline_timeout_max", "2")
        .domain("offline_timeout_random_offset", "0");
    let sssd = Sssd::start_with_argv(&ns, &conf, VERBOSE_ARGV).unwrap();
    assert!(getent(&ns, "passwd", "alice").is_some(), "{}", sssd.logs());
    assert!(getent(&ns, "passwd", "latecomer").is_none());
    assert!(getent(&ns, "group", "lategroup").is_none());

    // An outage, during which both are created.
    slapd.stop().unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    assert!(getent(&ns, "passwd", "alice").is_some(), "served offline");
    proc::wait_until("offline", Duration::from_secs(10), || {
        log(&ns, BE_LOG).contains("going offline")
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", sssd.logs()));
    slapd.start().unwrap();
    slapd
        .add(&ldif::user_ldif(&d, &User::new("latecomer", 3002, 3002)))
        .unwrap();
    slapd
        .add(&ldif::group_ldif(
            &d,
            &Group::new("lategroup", 4002, &["alice"]),
        ))
        .unwrap();
    proc::wait_until("back online", Duration::from_secs(15), || {
        log(&ns, BE_LOG).contains("online again: told")
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", sssd.logs()));
    let be = log(&ns, BE_LOG);
    let told = be
        .lines()
        .find(|l| l.contains("online again: told"))
        .unwrap();
    assert!(told.contains("sssd.nss"), "{told}");
    // Both resolve at once, ten minutes before their negative entries would have expired.
    proc::wait_until("latecomer resolves", Duration::from_secs(3), || {
        getent(&ns, "passwd", "latecomer").is_some()
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", sssd.logs()));
    let group = getent(&ns, "group", "lategroup").expect("lategroup resolves");
    assert!(group.starts_with("lategroup:*:4002:"), "{group}");
}

/// `dn` gets `attr: value` (replacing any earlier value).
fn replace(slapd: &Slapd, dn: &str, attr: &str, value: &str) {
    slapd
        .modify(&format!(
            "dn: {dn}\nchangetype: modify\nreplace: {attr}\n{attr}: {value}\n"
        ))
        .unwrap();
}

/// Users cached before the refresh, to make it long enough to look up during it.
const MANY: u32 = 600;

#[test]
fn refresh_expired_interval_renews_the_cache_in_the_background() {
    let mut d = Directory::new(Schema::Rfc2307);
    d.users.push(User::new("alice", 3001, 3001));
    d.groups.push(Group::new("devteam", 5001, &["alice"]));
    for i in 0..MANY {
        d.users
            .push(User::new(&format!("many{i}"), 10_000 + i, 3001));
    }
    for i in 0..200 {
        d.users
            .push(User::new(&format!("fresh{i}"), 20_000 + i, 3001));
    }
    let slapd = Slapd::new(&d).unwrap();
    let ns = namespace();
    // Entries stay fresh for 120 s and lookups of fresh entries never reach the backend (no
    // midpoint refresh, no memory cache): until then, only the background refresh (first
    // run 30 s after start, renewing what expires within 110 s) can change what getent
    // shows.
    let conf = SssdConf::ldap(&slapd, Schema::Rfc2307)
        .set("nss", "memcache_timeout", "0")
        .set("nss", "entry_cache_nowait_percentage", "0")
        .domain("entry_cache_timeout", "120")
        .domain("refresh_expired_interval", "110");
    let started = unix_now();
    let sssd = Sssd::start_with_argv(&ns, &conf, VERBOSE_ARGV).unwrap();
    let alice_before = getent(&ns, "passwd", "alice").unwrap();
    let staff_before = getent(&ns, "group", "devteam").unwrap();
    assert_eq!(staff_before, "devteam:*:5001:alice");
    let mut all = vec!["getent".to_owned(), "passwd".to_owned()];
    all.extend((0..MANY).map(|i| format!("many{i}")));
    let out = ns.run(&all).unwrap();
    assert_eq!(out.lines().len(), MANY as usize, "{out:?}");
    let cached_by = unix_now();

    replace(&slapd, &d.user_dn("alice"), "gecos", "Alice Renewed");
    slapd
        .modify(&format!(
            "dn: {}\nchangetype: modify\nadd: memberUid\nmemberUid: many0\n",
            d.group_dn("devteam")
        ))
        .unwrap();

    // Poll: alice and staff (answered from the cache), and each time a user never looked
    // up before (answered through the backend), timing it.
    let mut renewed_at = None;
    let mut lookups: Vec<(f64, f64)> = Vec::new();
    let mut next_fresh = 0;
    let deadline = started + 60.0;
    while unix_now() < deadline {
        let alice = getent(&ns, "passwd", "alice").unwrap();
        let staff = getent(&ns, "group", "devteam").unwrap();
        if renewed_at.is_none() && alice != alice_before {
            assert!(alice.contains(":Alice Renewed:"), "{alice}");
            renewed_at = Some(unix_now());
        }
        if renewed_at.is_some() && staff != staff_before {
            assert_eq!(staff, "devteam:*:5001:alice,many0");
        }
        if next_fresh < 200 && unix_now() > started + 25.0 {
            let t0 = unix_now();
            let name = format!("fresh{next_fresh}");
            assert!(getent(&ns, "passwd", &name).is_some(), "{name}");
            lookups.push((t0, unix_now()));
            next_fresh += 1;
        }
        let be = log(&ns, BE_LOG);
        if renewed_at.is_some() && staff != staff_before && be.contains("background refresh done") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let be = log(&ns, BE_LOG);
    let renewed_at = renewed_at.unwrap_or_else(|| panic!("alice never renewed\n{}", sssd.logs()));
    let run_start = timed_lines(&be, "background refresh started");
    let run_done = timed_lines(&be, "background refresh done");
    assert_eq!(run_start.len(), 1, "{be}");
    assert_eq!(run_done.len(), 1, "{be}");
    let (t_start, t_done) = (run_start[0].0, run_done[0].0);
    eprintln!(
        "refresh ran +{:.1} s .. +{:.1} s after start ({}); alice renewed seen at +{:.1} s",
        t_start - started,
        t_done - started,
        run_done[0].1.trim(),
        renewed_at - started
    );
    // The change came from the refresh: not before it ran (lookups were answered from the
    // cache until then), and while the first cached copy was still fresh.
    assert!(renewed_at >= t_start, "renewed before the refresh ran");
    assert!(renewed_at < cached_by + 120.0 - 1.0);
    assert!(
        (28.0..40.0).contains(&(t_start - started)),
        "first run {:.1} s after start",
        t_start - started
    );
    let users = timed_lines(&be, "users to renew");
    let n: u32 = users[0]
        .1
        .split("background refresh: ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(n > MANY, "alice and the {MANY} others at least: {n}");
    assert!(be.contains("background refresh: 1 groups to renew"), "{be}");
    // Lookups that went to the backend while the refresh ran were not held up by it.
    let during: Vec<f64> = lookups
        .iter()
        .filter(|(a, b)| *a >= t_start && *b <= t_done)
        .map(|(a, b)| b - a)
        .collect();
    let max = during.iter().copied().fold(0.0, f64::max);
    eprintln!(
        "{} backend lookups during the {:.1} s refresh, slowest {:.3} s",
        during.len(),
        t_done - t_start,
        max
    );
    assert!(
        during.len() >= 3,
        "too few lookups during the refresh: {during:?}"
    );
    assert!(max < 1.0, "a lookup during the refresh took {max:.3} s");
}
