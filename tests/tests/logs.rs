//! The log lines, read from /var/log/sssd inside the namespace: SSSD 2.8's layout with and
//! without the time (`debug_timestamps`, `--debug-timestamps`) and with microseconds
//! (`debug_microseconds`).
//!
//! They need the release artifacts (`cargo build --release --workspace`, done by
//! scripts/test.sh).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use sssd_tests::ldif::{self, Schema};
use sssd_tests::namespace::Namespace;
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{Sssd, SssdConf};
use sssd_tests::{proc, stage};
use std::time::Duration;

fn namespace() -> Namespace {
    let root = stage::shared_stage().expect("stage the product with install.sh");
    Namespace::new(Some(root)).expect("create the mount namespace")
}

/// A log file inside the namespace, or "" while it does not exist.
fn log(ns: &Namespace, file: &str) -> String {
    ns.read_file(&format!("/var/log/sssd/{file}"))
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// Waits until `file` holds a line containing `needle`; returns the file.
fn wait_for_line(sssd: &Sssd<'_>, ns: &Namespace, file: &str, needle: &str) -> String {
    let mut text = String::new();
    let found = proc::wait_until(needle, Duration::from_secs(20), || {
        text = log(ns, file);
        text.contains(needle)
    });
    assert!(found.is_ok(), "{needle:?} not in {file}\n{}", sssd.logs());
    text
}

/// `(YYYY-MM-DD HH:MM:SS` (hour padded with a space) with `:UUUUUU` when `micros`, then
/// `): `; returns the rest of the line.
fn strip_time(line: &str, micros: bool) -> Option<&str> {
    let rest = line.strip_prefix('(')?;
    let (stamp, rest) = rest.split_once("): ")?;
    let b = stamp.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    let shape = b.len() == if micros { 26 } else { 19 }
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b' '
        && (b[11] == b' ' || b[11].is_ascii_digit())
        && b[12].is_ascii_digit()
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && (!micros || (b[19] == b':' && digits(20..26)));
    shape.then_some(rest)
}

/// `[program] [function] (0xNNNN): message`: true when `rest` has that shape for `program`.
fn is_sssd_body(rest: &str, program: &str) -> bool {
    let Some(rest) = rest.strip_prefix(&format!("[{program}] [")) else {
        return false;
    };
    let Some((function, rest)) = rest.split_once("] (0x") else {
        return false;
    };
    let Some((class, _message)) = rest.split_once("): ") else {
        return false;
    };
    !function.is_empty()
        && !function.contains(' ')
        && class.len() == 4
        && class.chars().all(|c| c.is_ascii_hexdigit())
}

/// The daemon (`[nss]` and the domain log at level 6) (no `-d` on the command line, so the section
/// decides) and `extra` monitor arguments.
fn start<'ns>(ns: &'ns Namespace, conf: &SssdConf, extra: &[&str]) -> Sssd<'ns> {
    let mut argv = vec!["/usr/sbin/sssd", "-i", "--logger=files"];
    argv.extend_from_slice(extra);
    Sssd::start_with_argv(ns, conf, &argv).unwrap()
}

#[test]
fn timestamps_and_microseconds_shape_the_lines() {
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(1)).unwrap();
    let base = SssdConf::ldap(&slapd, Schema::Rfc2307)
        .set("nss", "debug_level", "6")
        .domain("debug_level", "6");

    // Default: `(2026-12-06 19:55:01): [nss] [function] (0x0200): serving ...`.
    let ns = namespace();
    let sssd = start(&ns, &base, &[]);
    let text = wait_for_line(&sssd, &ns, "sssd_nss.log", "serving ");
    for line in text.lines() {
        let rest = strip_time(line, false).unwrap_or_else(|| panic!("time of {line:?}"));
        assert!(is_sssd_body(rest, "nss"), "{line:?}");
    }
    let serving = text.lines().find(|l| l.contains("serving ")).unwrap();
    assert!(serving.contains("(0x0200): serving "), "{serving:?}");
    drop(sssd);

    // `debug_microseconds = true` in [nss]: `(2026-12-06 19:55:01:123456): ...`; the
    // monitor's own section keeps whole seconds.
    let ns = namespace();
    let conf = base.clone().set("nss", "debug_microseconds", "true");
    let sssd = start(&ns, &conf, &[]);
    let text = wait_for_line(&sssd, &ns, "sssd_nss.log", "serving ");
    for line in text.lines() {
        let rest = strip_time(line, true).unwrap_or_else(|| panic!("microseconds of {line:?}"));
        assert!(is_sssd_body(rest, "nss"), "{line:?}");
    }
    let monitor = log(&ns, "sssd.log");
    let first = monitor
        .lines()
        .next()
        .unwrap_or_else(|| panic!("{}", sssd.logs()));
    assert!(strip_time(first, false).is_some(), "{first:?}");
    drop(sssd);

    // `--debug-timestamps=0` on the monitor's command line reaches every child and wins
    // over the section: lines start with the program.
    let ns = namespace();
    let sssd = start(&ns, &conf, &["--debug-timestamps=0"]);
    let text = wait_for_line(&sssd, &ns, "sssd_nss.log", "serving ");
    for line in text.lines() {
        assert!(is_sssd_body(line, "nss"), "{line:?}");
    }
    let be = wait_for_line(&sssd, &ns, "sssd_LDAP.log", "[be[LDAP]] ");
    assert!(be.lines().all(|l| l.starts_with("[be[LDAP]] [")), "{be}");
}
