//! No stray copies of secrets (issue 9, item 3): after logins and password changes through
//! the real PAM stack (pamtester → pam_sss → sssd_pam → sssd_be → slapd / krb5_child), no
//! process of the daemon tree holds a password's bytes anywhere in its readable memory
//! (`/proc/PID/maps` + `/proc/PID/mem`), and no log file names one. The daemon logs at a
//! high debug level so a password that reaches a log line is caught too.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use std::fmt::Write as _;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use sssd_tests::kdc::{Kadmind, Kdc};
use sssd_tests::ldif::{self, Schema};
use sssd_tests::namespace::Namespace;
use sssd_tests::pam::{self, CCACHE_DIR, Caller, SERVICE, code, pamtester};
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{Sssd, SssdConf};
use sssd_tests::stage;

/// Every program of the daemon tree (`/proc/PID/comm`).
const DAEMON_PROGRAMS: &[&str] = &[
    "sssd",
    "sssd_be",
    "sssd_nss",
    "sssd_pam",
    "krb5_child",
    "ldap_child",
];
/// The programs that must be running when the memory is read.
const MUST_RUN: &[&str] = &["sssd", "sssd_be", "sssd_nss", "sssd_pam"];
/// Debug level of every section: everything but the function traces.
const DEBUG_LEVEL: &str = "0x3ff0";
/// How long a copy may take to disappear after the last login (in-flight work such as an
/// unbind in the background finishes within it).
const SETTLE: Duration = Duration::from_secs(5);

const AS_USER1: Caller = Caller::User(1001, 2001);
const AS_USER3: Caller = Caller::User(1003, 2003);

fn namespace() -> Namespace {
    let root = stage::shared_stage().expect("stage the product with install.sh");
    Namespace::new(Some(root)).expect("create the mount namespace")
}

fn start<'ns>(ns: &'ns Namespace, conf: &SssdConf) -> Sssd<'ns> {
    let conf = conf
        .clone()
        .set("nss", "debug_level", DEBUG_LEVEL)
        .set("pam", "debug_level", DEBUG_LEVEL)
        .set("sssd", "debug_level", DEBUG_LEVEL)
        .domain("debug_level", DEBUG_LEVEL)
        .domain("cache_credentials", "true");
    let sssd = Sssd::start(ns, &conf).unwrap_or_else(|e| panic!("sssd did not start: {e}"));
    if let Err(e) = pam::wait_for_socket(ns) {
        panic!("{e}\n{}", sssd.logs());
    }
    pam::install_service(ns, SERVICE, "").unwrap();
    sssd
}

/// Runs pamtester and asserts the PAM status it ended with.
#[track_caller]
fn expect(sssd: &Sssd<'_>, ns: &Namespace, caller: Caller, user: &str, op: &str, input: &str) {
    let out = pamtester(ns, caller, SERVICE, user, &[op], input).unwrap();
    assert_eq!(
        out.code,
        code::SUCCESS,
        "pamtester {user} {op} as {caller:?}: {:?}\n--- logs ---\n{}",
        out.output,
        sssd.logs()
    );
}

/// One readable mapping of a process.
struct Region {
    start: u64,
    end: u64,
    line: String,
}

fn regions(pid: u32) -> Vec<Region> {
    let Ok(maps) = std::fs::read_to_string(format!("/proc/{pid}/maps")) else {
        return Vec::new();
    };
    maps.lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let (range, perms) = (f.next()?, f.next()?);
            let name = line.split_whitespace().nth(5).unwrap_or("");
            if !perms.starts_with('r') || name == "[vvar]" || name == "[vsyscall]" {
                return None;
            }
            let (s, e) = range.split_once('-')?;
            Some(Region {
                start: u64::from_str_radix(s, 16).ok()?,
                end: u64::from_str_radix(e, 16).ok()?,
                line: line.to_owned(),
            })
        })
        .collect()
}

fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let Some((&first, _)) = needle.split_first() else {
        return out;
    };
    let mut i = 0;
    while let Some(p) = hay[i..].iter().position(|&b| b == first) {
        let at = i + p;
        if hay[at..].starts_with(needle) {
            out.push(at);
        }
        i = at + 1;
    }
    out
}

/// Where `needles` occur in the readable memory of `pid`, one line per hit.
fn scan_process(pid: u32, comm: &str, needles: &[&str]) -> Vec<String> {
    const CHUNK: u64 = 4 << 20;
    let Ok(mem) = std::fs::File::open(format!("/proc/{pid}/mem")) else {
        return Vec::new();
    };
    let overlap = needles.iter().map(|n| n.len()).max().unwrap_or(1) as u64 - 1;
    let mut hits = Vec::new();
    let mut buf = Vec::new();
    for r in regions(pid) {
        let mut at = r.start;
        while at < r.end {
            let len = (r.end - at).min(CHUNK + overlap);
            buf.resize(len as usize, 0);
            // A file mapping past the end of its file (LMDB's map) cannot be read: stop there.
            if mem.read_exact_at(&mut buf, at).is_err() {
                break;
            }
            for n in needles {
                for off in find_all(&buf, n.as_bytes()) {
                    let addr = at + off as u64;
                    let ctx_from = off.saturating_sub(16);
                    let ctx_to = (off + n.len() + 16).min(buf.len());
                    hits.push(format!(
                        "{comm}[{pid}] {n:?} at {addr:#x} in `{}` ({} bytes into the region), \
                         around: {:?}",
                        r.line,
                        addr - r.start,
                        String::from_utf8_lossy(&buf[ctx_from..ctx_to])
                    ));
                }
            }
            if at + len >= r.end {
                break;
            }
            at += CHUNK;
        }
    }
    hits
}

/// The daemon tree's processes: (pid, program name).
fn daemon_processes(ns: &Namespace) -> Vec<(u32, String)> {
    ns.processes()
        .into_iter()
        .filter_map(|pid| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
            let comm = comm.trim().to_owned();
            DAEMON_PROGRAMS
                .contains(&comm.as_str())
                .then_some((pid, comm))
        })
        .collect()
}

/// Every hit of `needles` in the daemon's processes and log files.
fn scan(ns: &Namespace, needles: &[&str]) -> (Vec<(u32, String)>, Vec<String>) {
    let procs = daemon_processes(ns);
    let mut hits: Vec<String> = procs
        .iter()
        .flat_map(|(pid, comm)| scan_process(*pid, comm, needles))
        .collect();
    if let Ok(entries) = std::fs::read_dir(ns.host_path("/var/log/sssd")) {
        for e in entries.flatten() {
            let text = std::fs::read(e.path()).unwrap_or_default();
            for n in needles {
                for off in find_all(&text, n.as_bytes()) {
                    hits.push(format!("log {} byte {off}: {n:?}", e.path().display()));
                }
            }
        }
    }
    (procs, hits)
}

/// Asserts that, within [`SETTLE`], no process of the daemon tree and no log holds any of
/// `needles`; the processes in [`MUST_RUN`] must be among those read, and the reader must
/// find `canary` (a string `sssd_be` keeps, such as the LDAP URI) in `sssd_be`, which shows
/// that it reads what it should.
#[track_caller]
fn assert_no_copies(sssd: &Sssd<'_>, ns: &Namespace, canary: &str, needles: &[&str]) {
    let started = Instant::now();
    loop {
        let (procs, hits) = scan(ns, needles);
        for want in MUST_RUN {
            assert!(
                procs.iter().any(|(_, c)| c == want),
                "{want} is not running: read {procs:?}\n{}",
                sssd.logs()
            );
        }
        let be = procs.iter().filter(|(_, c)| c == "sssd_be");
        assert!(
            be.clone()
                .all(|(pid, c)| !scan_process(*pid, c, &[canary]).is_empty()),
            "the memory reader did not find {canary:?} in sssd_be {:?}",
            be.collect::<Vec<_>>()
        );
        if hits.is_empty() {
            eprintln!("no copies of {} secrets in {procs:?}", needles.len());
            return;
        }
        if started.elapsed() > SETTLE {
            let mut msg = format!(
                "{} cop(ies) of a password in the daemon tree {procs:?}:\n",
                hits.len()
            );
            for h in &hits {
                let _ = writeln!(msg, "  {h}");
            }
            panic!("{msg}");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

const LDAP_USER1: &str = "Zq7#ldap-one-5f0e1c";
const LDAP_USER3: &str = "Zq7#ldap-three-a9d4";
const LDAP_NEW3: &str = "Zq7#ldap-new-77b2e6";
const LDAP_WRONG: &str = "Zq7#ldap-wrong-3c81";

#[test]
fn ldap_logins_and_password_change_leave_no_copies() {
    let mut dir = ldif::rfc2307_with_bulk(3);
    for u in &mut dir.users {
        match u.name.as_str() {
            "user1" => u.password = LDAP_USER1.to_owned(),
            "user3" => u.password = LDAP_USER3.to_owned(),
            _ => {}
        }
    }
    let slapd = Slapd::new(&dir).unwrap();
    let ns = namespace();
    let sssd = start(&ns, &SssdConf::ldap_pam(&slapd, Schema::Rfc2307));
    expect(
        &sssd,
        &ns,
        Caller::Root,
        "user1",
        "authenticate",
        &format!("{LDAP_USER1}\n"),
    );
    expect(
        &sssd,
        &ns,
        AS_USER1,
        "user1",
        "authenticate",
        &format!("{LDAP_USER1}\n"),
    );
    let wrong = pamtester(
        &ns,
        Caller::Root,
        SERVICE,
        "user1",
        &["authenticate"],
        &format!("{LDAP_WRONG}\n"),
    )
    .unwrap();
    assert_eq!(wrong.code, code::AUTH_ERR, "{:?}", wrong.output);
    expect(
        &sssd,
        &ns,
        AS_USER3,
        "user3",
        "chauthtok",
        &format!("{LDAP_USER3}\n{LDAP_NEW3}\n{LDAP_NEW3}\n"),
    );
    expect(
        &sssd,
        &ns,
        Caller::Root,
        "user3",
        "authenticate",
        &format!("{LDAP_NEW3}\n"),
    );
    assert_no_copies(
        &sssd,
        &ns,
        &slapd.uri(),
        &[LDAP_USER1, LDAP_USER3, LDAP_NEW3, LDAP_WRONG],
    );
}

const KRB_USER1: &str = "Zq7#krb5-one-e4a017";
const KRB_USER3: &str = "Zq7#krb5-three-0b6c";
const KRB_NEW3: &str = "Zq7#krb5-new-d3f95a";

fn kdc() -> (Kdc, Kadmind) {
    let kdc = Kdc::new().unwrap();
    kdc.add_principal("user1", KRB_USER1).unwrap();
    kdc.add_principal("user3", KRB_USER3).unwrap();
    let kadmind = kdc.start_kadmind().unwrap();
    (kdc, kadmind)
}

#[test]
fn krb5_logins_and_password_change_leave_no_copies() {
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(3)).unwrap();
    let (kdc, kadmind) = kdc();
    let ns = namespace();
    pam::setup_krb5(&ns, &kdc, Some(&kadmind), false).unwrap();
    let conf = SssdConf::ldap_pam(&slapd, Schema::Rfc2307)
        .domain("auth_provider", "krb5")
        .domain("chpass_provider", "krb5")
        .domain("krb5_server", &kdc.server())
        .domain(
            "krb5_kpasswd",
            &format!("127.0.0.1:{}", kadmind.kpasswd_port()),
        )
        .domain("krb5_realm", sssd_tests::kdc::REALM)
        .domain("krb5_ccachedir", CCACHE_DIR)
        .domain("krb5_ccname_template", "FILE:%d/krb5cc_%U")
        .domain("krb5_auth_timeout", "15");
    let sssd = start(&ns, &conf);
    expect(
        &sssd,
        &ns,
        Caller::Root,
        "user1",
        "authenticate",
        &format!("{KRB_USER1}\n"),
    );
    expect(
        &sssd,
        &ns,
        AS_USER1,
        "user1",
        "authenticate",
        &format!("{KRB_USER1}\n"),
    );
    expect(
        &sssd,
        &ns,
        AS_USER3,
        "user3",
        "chauthtok",
        &format!("{KRB_USER3}\n{KRB_NEW3}\n{KRB_NEW3}\n"),
    );
    expect(
        &sssd,
        &ns,
        Caller::Root,
        "user3",
        "authenticate",
        &format!("{KRB_NEW3}\n"),
    );
    assert_no_copies(&sssd, &ns, &slapd.uri(), &[KRB_USER1, KRB_USER3, KRB_NEW3]);
}
