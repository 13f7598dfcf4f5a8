//! Least privilege: what each process of the daemon can still do, read from
//! `/proc/PID/task/TID/status` (Uid, Gid, Groups, CapEff, CapPrm, CapBnd, CapAmb,
//! NoNewPrivs) of every thread, with the children running as root and as `[sssd] user`.
//!
//! With `user = sssd` (uid [`SSSD_UID`] in the namespace's private /etc/passwd, and
//! krb5_child/ldap_child staged with `install.sh --helper-group` so they carry their file
//! capabilities), identity lookups and LDAP and Kerberos logins still work, the user's ccache
//! belongs to the user, and the cache, logs and sockets belong to `sssd`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use sssd_tests::kdc::Kdc;
use sssd_tests::ldif::{self, Schema};
use sssd_tests::namespace::Namespace;
use sssd_tests::pam::{self, CCACHE_DIR, Caller, SERVICE, code, krb5_password, pamtester};
use sssd_tests::proc;
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{Sssd, SssdConf};
use sssd_tests::stage;

/// The `sssd` user's uid and gid inside the namespace.
const SSSD_UID: u32 = 4242;
/// CAP_DAC_READ_SEARCH, CAP_SETGID, CAP_SETUID: what the helpers need.
const HELPER_CAPS: u64 = (1 << 2) | (1 << 6) | (1 << 7);
const AS_USER1: Caller = Caller::User(1001, 2001);
/// How long a process may take to reach its final state after start-up.
const SETTLE: Duration = Duration::from_secs(15);

/// One thread's credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Creds {
    uid: Vec<u32>,
    gid: Vec<u32>,
    groups: String,
    eff: u64,
    prm: u64,
    bnd: u64,
    amb: u64,
    nnp: u32,
}

fn parse_status(text: &str) -> Creds {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
            .trim()
            .to_string()
    };
    let ids = |name: &str| -> Vec<u32> {
        field(name)
            .split_whitespace()
            .map(|v| v.parse().unwrap())
            .collect()
    };
    let hex = |name: &str| u64::from_str_radix(&field(name), 16).unwrap();
    Creds {
        uid: ids("Uid"),
        gid: ids("Gid"),
        groups: field("Groups"),
        eff: hex("CapEff"),
        prm: hex("CapPrm"),
        bnd: hex("CapBnd"),
        amb: hex("CapAmb"),
        nnp: field("NoNewPrivs").parse().unwrap(),
    }
}

/// Every thread of `pid`: (tid, credentials).
fn threads(pid: u32) -> Vec<(String, Creds)> {
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let text = std::fs::read_to_string(e.path().join("status")).ok()?;
            Some((
                e.file_name().to_string_lossy().into_owned(),
                parse_status(&text),
            ))
        })
        .collect()
}

/// What a process (each of its threads) must show.
#[derive(Debug, Clone, Copy)]
struct Want {
    uid: u32,
    eff: u64,
    prm: u64,
    bnd: u64,
    nnp: u32,
}

impl Want {
    fn matches(&self, c: &Creds) -> bool {
        c.uid.iter().all(|&u| u == self.uid)
            && c.gid.iter().all(|&g| g == self.uid)
            && (self.uid == 0 || c.groups.is_empty())
            && c.eff == self.eff
            && c.prm == self.prm
            && c.bnd == self.bnd
            && c.amb == 0
            && c.nnp == self.nnp
    }
}

/// Waits until every thread of every process named `comm` in `ns` (at least one) shows
/// `want`; panics with what they show and the daemon's logs otherwise.
#[track_caller]
fn assert_creds(sssd: &Sssd<'_>, ns: &Namespace, comm: &str, want: Want) {
    let ok = proc::wait_until(comm, SETTLE, || {
        let pids = ns.processes_named(comm);
        !pids.is_empty()
            && pids.iter().all(|&p| {
                let t = threads(p);
                !t.is_empty() && t.iter().all(|(_, c)| want.matches(c))
            })
    });
    if ok.is_err() {
        let seen: Vec<_> = ns
            .processes_named(comm)
            .into_iter()
            .map(|p| (p, threads(p)))
            .collect();
        panic!(
            "{comm}: want {want:?} in every thread, got {seen:#?}\n{}",
            sssd.logs()
        );
    }
}

/// The monitor stays root with its capabilities.
#[track_caller]
fn assert_monitor_is_root(ns: &Namespace) {
    let pids = ns.processes_named("sssd");
    assert_eq!(pids.len(), 1, "one monitor: {pids:?}");
    let c = parse_status(&std::fs::read_to_string(format!("/proc/{}/status", pids[0])).unwrap());
    assert_eq!(c.uid, [0, 0, 0, 0]);
    assert!(c.eff & (1 << 7) != 0, "monitor keeps CAP_SETUID: {c:?}");
    assert_eq!(c.nnp, 0);
}

/// `getent passwd user1` and `id user1` answer through our NSS module.
#[track_caller]
fn assert_lookups(sssd: &Sssd<'_>, ns: &Namespace) {
    let out = ns.run(&["getent", "passwd", "user1"]).unwrap();
    assert!(
        out.success() && out.stdout.starts_with("user1:*:1001:"),
        "getent: {out:?}\n{}",
        sssd.logs()
    );
    let out = ns.run(&["id", "user1"]).unwrap();
    assert!(
        out.success() && out.stdout.starts_with("uid=1001(user1)"),
        "id: {out:?}\n{}",
        sssd.logs()
    );
}

#[track_caller]
fn login(sssd: &Sssd<'_>, ns: &Namespace, caller: Caller, password: &str) {
    let out = pamtester(
        ns,
        caller,
        SERVICE,
        "user1",
        &["authenticate"],
        &format!("{password}\n"),
    )
    .unwrap();
    assert_eq!(
        out.code,
        code::SUCCESS,
        "login as {caller:?}: {:?}\n{}",
        out.output,
        sssd.logs()
    );
}

fn start<'ns>(ns: &'ns Namespace, conf: &SssdConf) -> Sssd<'ns> {
    let sssd = Sssd::start(ns, conf).unwrap_or_else(|e| panic!("sssd did not start: {e}"));
    if let Err(e) = pam::wait_for_socket(ns) {
        panic!("{e}\n{}", sssd.logs());
    }
    pam::install_service(ns, SERVICE, "").unwrap();
    sssd
}

/// Adds the `sssd` user and group to the namespace's private /etc/passwd and /etc/group.
fn add_sssd_user(ns: &Namespace) {
    for (file, line) in [
        (
            "/etc/passwd",
            format!("sssd:x:{SSSD_UID}:{SSSD_UID}:SSSD:/var/lib/sss:/usr/sbin/nologin\n"),
        ),
        ("/etc/group", format!("sssd:x:{SSSD_UID}:\n")),
    ] {
        let mut text = String::from_utf8(ns.read_file(file).unwrap()).unwrap();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&line);
        ns.write_file(file, text.as_bytes(), 0o644).unwrap();
    }
}

#[test]
fn root_children_keep_only_what_they_need() {
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(3)).unwrap();
    let ns = Namespace::new(Some(stage::shared_stage().unwrap())).unwrap();
    let sssd = start(&ns, &SssdConf::ldap_pam(&slapd, Schema::Rfc2307));
    assert_lookups(&sssd, &ns);
    login(&sssd, &ns, Caller::Root, "Password1001");
    login(&sssd, &ns, AS_USER1, "Password1001");
    let nothing = Want {
        uid: 0,
        eff: 0,
        prm: 0,
        bnd: 0,
        nnp: 1,
    };
    assert_creds(&sssd, &ns, "sssd_nss", nothing);
    assert_creds(&sssd, &ns, "sssd_pam", nothing);
    assert_creds(
        &sssd,
        &ns,
        "sssd_be",
        Want {
            uid: 0,
            eff: 0,
            prm: HELPER_CAPS,
            bnd: HELPER_CAPS,
            nnp: 1,
        },
    );
    assert_monitor_is_root(&ns);
    // Still serving after the drop.
    assert_lookups(&sssd, &ns);
}

#[test]
fn sssd_user_runs_children_unprivileged_and_logins_still_work() {
    let gid = SSSD_UID.to_string();
    let stage_root = stage::stage_variant("helper-group", &["--helper-group", &gid]).unwrap();
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(3)).unwrap();
    let kdc = Kdc::new().unwrap();
    kdc.add_principal("user1", &krb5_password(1001)).unwrap();
    kdc.add_random_principal("host/localhost").unwrap();
    let ns = Namespace::new(Some(&stage_root)).unwrap();
    add_sssd_user(&ns);
    // Left by an earlier root run: the monitor hands it over.
    ns.write_file("/var/log/sssd/sssd_nss.log", b"", 0o600)
        .unwrap();

    // LDAP authentication.
    let conf = SssdConf::ldap_pam(&slapd, Schema::Rfc2307).set("sssd", "user", "sssd");
    {
        let sssd = start(&ns, &conf);
        assert_lookups(&sssd, &ns);
        login(&sssd, &ns, Caller::Root, "Password1001");
        login(&sssd, &ns, AS_USER1, "Password1001");
        check_user_children(&sssd, &ns);
        assert_owned_by_sssd(&sssd, &ns);
    }
    ns.kill_all(Duration::from_secs(5));

    // Kerberos, validating the TGT with the root-only /etc/krb5.keytab.
    pam::setup_krb5(&ns, &kdc, None, true).unwrap();
    // The system krb5.conf names no KDC: krb5_server in sssd.conf must reach krb5_child,
    // which runs with file capabilities (secure execution, where libkrb5 ignores
    // KRB5_CONFIG).
    let no_kdc = format!(
        "[libdefaults]\n default_realm = {}\n dns_lookup_kdc = false\n dns_lookup_realm = \
         false\n rdns = false\n udp_preference_limit = 0\n",
        sssd_tests::kdc::REALM
    );
    ns.write_file("/etc/krb5.conf", no_kdc.as_bytes(), 0o644)
        .unwrap();
    let conf = conf
        .domain("auth_provider", "krb5")
        .domain("krb5_server", &kdc.server())
        .domain("krb5_realm", sssd_tests::kdc::REALM)
        .domain("krb5_ccachedir", CCACHE_DIR)
        .domain("krb5_ccname_template", "FILE:%d/krb5cc_%U")
        .domain("krb5_validate", "true")
        .domain("krb5_keytab", "/etc/krb5.keytab");
    let sssd = start(&ns, &conf);
    login(&sssd, &ns, AS_USER1, &krb5_password(1001));
    let ccache = format!("{CCACHE_DIR}/krb5cc_1001");
    let meta = std::fs::metadata(ns.host_path(&ccache))
        .unwrap_or_else(|e| panic!("{ccache}: {e}\n{}", sssd.logs()));
    assert_eq!((meta.uid(), meta.gid()), (1001, 2001), "{ccache} owner");
    assert_eq!(meta.mode() & 0o077, 0, "{ccache} mode {:o}", meta.mode());
    check_user_children(&sssd, &ns);
    // The spare krb5_child the backend keeps: the daemon's user with its file capabilities.
    assert_creds(
        &sssd,
        &ns,
        "krb5_child",
        Want {
            uid: SSSD_UID,
            eff: HELPER_CAPS,
            prm: HELPER_CAPS,
            bnd: HELPER_CAPS,
            nnp: 0,
        },
    );
}

/// Responders: the `sssd` user, no capability, no_new_privs. The backend: the `sssd` user,
/// nothing permitted, the helpers' capabilities in its bounding set, no no_new_privs (the
/// helpers' file capabilities must apply).
#[track_caller]
fn check_user_children(sssd: &Sssd<'_>, ns: &Namespace) {
    let responder = Want {
        uid: SSSD_UID,
        eff: 0,
        prm: 0,
        bnd: 0,
        nnp: 1,
    };
    assert_creds(sssd, ns, "sssd_nss", responder);
    assert_creds(sssd, ns, "sssd_pam", responder);
    assert_creds(
        sssd,
        ns,
        "sssd_be",
        Want {
            uid: SSSD_UID,
            eff: 0,
            prm: 0,
            bnd: HELPER_CAPS,
            nnp: 0,
        },
    );
    assert_monitor_is_root(ns);
}

/// The cache, logs, sockets and memory-cache files belong to `sssd`; the PAM sockets to root,
/// as SSSD 2.8's (sssd_pam binds them before it becomes the user: pam_sss trusts only a
/// root-owned socket, served by a process that was root when it listened).
#[track_caller]
fn assert_owned_by_sssd(sssd: &Sssd<'_>, ns: &Namespace) {
    for p in [pam::PAM_SOCKET, pam::PRIVATE_PAM_SOCKET] {
        let meta = std::fs::symlink_metadata(ns.host_path(p)).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (0, 0), "{p} owner");
    }
    let mut paths = vec![
        "/var/lib/sss/db".to_string(),
        "/var/lib/sss/pipes/nss".into(),
        "/var/lib/sss/pipes/private".into(),
        "/var/lib/sss/pipes/private/sbus-master".into(),
        "/var/lib/sss/mc/passwd".into(),
        "/var/log/sssd/sssd_nss.log".into(),
        "/var/log/sssd/sssd_pam.log".into(),
        "/var/log/sssd/sssd_LDAP.log".into(),
    ];
    let mut dirs = vec!["/var/lib/sss/db".to_string()];
    let mut files = 0;
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(ns.host_path(&dir)).unwrap() {
            let e = e.unwrap();
            let path = format!("{dir}/{}", e.file_name().to_string_lossy());
            if e.file_type().unwrap().is_dir() {
                dirs.push(path.clone());
            } else {
                files += 1;
            }
            paths.push(path);
        }
    }
    assert!(files >= 2, "no cache files in /var/lib/sss/db: {paths:?}");
    for p in paths {
        let meta = std::fs::symlink_metadata(ns.host_path(&p))
            .unwrap_or_else(|e| panic!("{p}: {e}\n{}", sssd.logs()));
        assert_eq!((meta.uid(), meta.gid()), (SSSD_UID, SSSD_UID), "{p} owner");
    }
}
