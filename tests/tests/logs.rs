//! The log lines, read from /var/log/sssd inside the namespace: SSSD 2.8's layout with and
//! without the time (`debug_timestamps`, `--debug-timestamps`) and with microseconds
//! (`debug_microseconds`); `krb5_child.log` after a Kerberos login, its lines naming the
//! domain, and the PAM request's `[RID#n]` on the backend's lines; `--logger=journald` through a real systemd-journald started inside the test's
//! mount namespace (private tmpfs on /run/systemd/journal and /run/log), read back with
//! `journalctl -D`.
//!
//! They need the release artifacts (`cargo build --release --workspace`, done by
//! scripts/test.sh).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use sssd_tests::kdc::{self, Kdc};
use sssd_tests::ldif::{self, Schema};
use sssd_tests::namespace::Namespace;
use sssd_tests::pam::{self, CCACHE_DIR, Caller, SERVICE, code, krb5_password, pamtester};
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

#[test]
fn krb5_child_logs_to_its_own_file_naming_the_domain() {
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(1)).unwrap();
    let kdc = Kdc::new().unwrap();
    kdc.add_principal("user1", &krb5_password(1001)).unwrap();
    let ns = namespace();
    pam::setup_krb5(&ns, &kdc, None, false).unwrap();
    // The domain's debug level (6: traces) reaches its helpers.
    let conf = SssdConf::ldap_pam(&slapd, Schema::Rfc2307)
        .set("pam", "debug_level", "6")
        .domain("debug_level", "6")
        .domain("auth_provider", "krb5")
        .domain("krb5_server", &kdc.server())
        .domain("krb5_realm", kdc::REALM)
        .domain("krb5_ccachedir", CCACHE_DIR)
        .domain("krb5_ccname_template", "FILE:%d/krb5cc_%U");
    let sssd = start(&ns, &conf, &[]);
    pam::wait_for_socket(&ns).unwrap_or_else(|e| panic!("{e}\n{}", sssd.logs()));
    pam::install_service(&ns, SERVICE, "").unwrap();
    let password = krb5_password(1001);
    let out = pamtester(
        &ns,
        Caller::Root,
        SERVICE,
        "user1",
        &["authenticate"],
        &format!("{password}\n"),
    )
    .unwrap();
    assert_eq!(out.code, code::SUCCESS, "{out:?}\n{}", sssd.logs());
    let text = wait_for_line(&sssd, &ns, "krb5_child.log", "TGT of user1");
    for line in text.lines() {
        let rest = strip_time(line, false).unwrap_or_else(|| panic!("time of {line:?}"));
        let program = rest
            .strip_prefix("[krb5_child[")
            .and_then(|r| r.split_once("]] ["))
            .map(|(pid, _)| pid)
            .unwrap_or_else(|| panic!("program of {line:?}"));
        assert!(program.parse::<u32>().is_ok(), "{line:?}");
        assert!(rest.contains("): [LDAP] "), "{line:?}");
    }
    assert!(
        text.contains("(0x0400): [LDAP] Authenticate for principal user1@"),
        "{text}"
    );
    assert!(!text.contains(&password), "{text}");
    // The backend's own file no longer carries the helper's lines.
    assert!(!log(&ns, "sssd_LDAP.log").contains("TGT of user1"));
    // The PAM request's id (`[RID#n]`) is on the backend's lines for its pamHandler call.
    let pam_log = wait_for_line(&sssd, &ns, "sssd_pam.log", "command 0x00f1");
    let rid = rid_of(&pam_log, "command 0x00f1").unwrap_or_else(|| panic!("{pam_log}"));
    let be = wait_for_line(&sssd, &ns, "sssd_LDAP.log", &rid);
    assert!(
        be.lines()
            .any(|l| l.contains(&rid) && l.contains("pamHandler") && l.contains("user1")),
        "{rid} in\n{be}"
    );
}

/// Runs `journalctl -o verbose` on the namespace's volatile journal with `matches`.
fn journal(ns: &Namespace, matches: &str) -> String {
    let out = ns
        .run(&[
            "sh",
            "-c",
            &format!("journalctl -D /run/log/journal/* -o verbose --no-pager {matches}"),
        ])
        .unwrap();
    out.stdout
}

#[test]
fn journald_logger_sends_sssd_fields_to_the_journal() {
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(1)).unwrap();
    let ns = namespace();
    ns.run_ok(&[
        "sh",
        "-c",
        "mkdir -p /run/systemd/journal /run/log && \
         mount -t tmpfs -o mode=0755 journal-sock /run/systemd/journal && \
         mount -t tmpfs -o mode=0755 journal-data /run/log",
    ])
    .unwrap();
    let _journald = ns.spawn(&["/lib/systemd/systemd-journald"]).unwrap();
    ns.wait_for_path("/run/systemd/journal/socket", Duration::from_secs(10))
        .unwrap();
    let conf = SssdConf::ldap(&slapd, Schema::Rfc2307)
        .set("nss", "debug_level", "6")
        .domain("debug_level", "6");
    let sssd = start(&ns, &conf, &["--logger=journald"]);
    let _ = sssd;
    let out = ns.run(&["getent", "passwd", "user1"]).unwrap();
    assert!(out.success(), "{out:?}");
    let mut be = String::new();
    let found = proc::wait_until("the backend's lines", Duration::from_secs(20), || {
        be = journal(&ns, "SSSD_DOMAIN=LDAP");
        be.contains("getAccountInfo")
    });
    assert!(found.is_ok(), "{be}\n{}", journal(&ns, ""));
    for field in [
        "SYSLOG_IDENTIFIER=sssd_be",
        "SSSD_PRG_NAME=sssd[be[LDAP]]",
        "SSSD_DOMAIN=LDAP",
        "PRIORITY=7",
        "SSSD_DEBUG_LEVEL=400",
        "CODE_FUNC=",
        "_TRANSPORT=journal",
    ] {
        assert!(be.contains(field), "{field} missing:\n{be}");
    }
    let nss = journal(&ns, "SYSLOG_IDENTIFIER=sssd_nss");
    assert!(
        nss.contains("SSSD_PRG_NAME=sssd[nss]") && nss.contains("MESSAGE=serving "),
        "{nss}"
    );
    // Nothing went to the files.
    assert_eq!(log(&ns, "sssd_nss.log"), "");
    assert_eq!(log(&ns, "sssd_LDAP.log"), "");
}

/// The first `[RID#n]` on a line of `text` that also contains `needle`.
fn rid_of(text: &str, needle: &str) -> Option<String> {
    text.lines().filter(|l| l.contains(needle)).find_map(|l| {
        let at = l.find("[RID#")?;
        let end = l[at..].find(']')?;
        Some(l[at..=at + end].to_string())
    })
}

#[test]
fn a_request_id_links_the_responder_and_backend_lines() {
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(1)).unwrap();
    let ns = namespace();
    let conf = SssdConf::ldap(&slapd, Schema::Rfc2307)
        .set("nss", "debug_level", "6")
        .set("nss", "memcache_timeout", "0")
        .domain("debug_level", "6");
    let sssd = start(&ns, &conf, &[]);
    let out = ns.run(&["getent", "passwd", "user1"]).unwrap();
    assert!(out.success(), "{out:?}\n{}", sssd.logs());
    let nss = wait_for_line(&sssd, &ns, "sssd_nss.log", "asking the backend of LDAP");
    // The responder's line: `[CID#c] [RID#r] asking the backend of LDAP: User name=user1`.
    let rid = rid_of(&nss, "name=user1").unwrap_or_else(|| panic!("no request id:\n{nss}"));
    let line = nss.lines().find(|l| l.contains(&rid)).unwrap();
    assert!(line.contains("[CID#"), "{line:?}");
    // The command that started it carries the same ids.
    assert!(
        nss.lines()
            .any(|l| l.contains(&rid) && l.contains("): [CID#") && l.contains("command 0x")),
        "{nss}"
    );
    // The backend's lines for the getAccountInfo call it caused carry the same id.
    let be = wait_for_line(&sssd, &ns, "sssd_LDAP.log", &rid);
    assert!(
        be.lines()
            .any(|l| l.contains(&rid) && l.contains("getAccountInfo") && l.contains("user1")),
        "{rid} in\n{be}"
    );
}
