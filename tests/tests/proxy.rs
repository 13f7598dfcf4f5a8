//! `id_provider = proxy` end to end: a proxy domain over a small NSS module the test builds
//! (tests/tests/proxy_nss/nss_proxytest.c, made findable by the dynamic loader inside the
//! namespace), next to an LDAP domain. getent and id through our daemon, enumeration, an
//! NSS module that hangs or crashes (the helper is killed and replaced, other lookups keep
//! being served), logins through `proxy_pam_target` (pam_unix over a private shadow file),
//! `sssctl domain-status`, and a bad proxy configuration disabling only its domain.
//!
//! They need the release artifacts (`cargo build --release --workspace`) and a C compiler.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use sssd_tests::interop::{
    debian_root, nss_module_of, pam_module_of, with_nss_module, with_pam_module,
};
use sssd_tests::ldif::{self, Schema};
use sssd_tests::lookups::{assert_line, assert_notfound, getent, namespace, start};
use sssd_tests::namespace::Namespace;
use sssd_tests::pam::{self, Caller, SERVICE, code, pamtester};
use sssd_tests::proc;
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{Sssd, SssdConf};
use sssd_tests::stage;

/// The PAM service `proxy_pam_target` names (pam_unix).
const TARGET: &str = "sssd-tests-proxy-target";

/// The test module, compiled once per test into a temporary directory.
fn build_module() -> (tempfile::TempDir, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/proxy_nss/nss_proxytest.c");
    let out = dir.path().join("libnss_proxytest.so.2");
    let st = Command::new("cc")
        .args(["-shared", "-fPIC", "-O1", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("a C compiler (cc) is needed to build the test NSS module");
    assert!(st.success(), "cc failed to build {}", src.display());
    let bytes = std::fs::read(&out).unwrap();
    (dir, bytes)
}

/// Puts libnss_proxytest.so.2 where dlopen finds it inside `ns` (a directory listed in the
/// namespace's ld.so.conf.d, then ldconfig).
fn install_module(ns: &Namespace) {
    let (_dir, bytes) = build_module();
    ns.write_file("/etc/sssd-tests-nss/libnss_proxytest.so.2", &bytes, 0o755)
        .unwrap();
    ns.write_file(
        "/etc/ld.so.conf.d/sssd-tests-proxy.conf",
        b"/etc/sssd-tests-nss\n",
        0o644,
    )
    .unwrap();
    ns.run_ok(&["ldconfig"]).unwrap();
}

/// LDAP domain `LDAP` plus proxy domain `PROXY` over the test module.
fn conf(slapd: &Slapd) -> SssdConf {
    SssdConf::ldap_pam(slapd, Schema::Rfc2307)
        .set("sssd", "domains", "LDAP, PROXY")
        .set("domain/PROXY", "id_provider", "proxy")
        .set("domain/PROXY", "proxy_lib_name", "proxytest")
        .set("domain/PROXY", "proxy_pam_target", TARGET)
        .set("domain/PROXY", "debug_level", "0x0070")
}

/// The directory and a namespace with our staged product and the test module.
fn setup() -> (Slapd, Namespace) {
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(3)).unwrap();
    let ns = namespace();
    install_module(&ns);
    (slapd, ns)
}

fn ids(ns: &Namespace, user: &str) -> String {
    let out = ns.run(&["id", user]).unwrap();
    assert!(out.success(), "id {user}: {out:?}");
    out.stdout
}

#[test]
fn proxy_domain_next_to_ldap() {
    let (slapd, ns) = setup();
    let sssd = start(&ns, &conf(&slapd));
    let t0 = Instant::now();
    assert_line(
        &ns,
        &sssd,
        &["passwd", "pxuser1"],
        "pxuser1:*:5001:5001:Proxy User One:/home/pxuser1:/bin/sh",
    );
    eprintln!("first proxy lookup (helper running): {:?}", t0.elapsed());
    let t0 = Instant::now();
    assert_line(
        &ns,
        &sssd,
        &["passwd", "pxuser2"],
        "pxuser2:*:5002:5001:Proxy User Two:/home/pxuser2:/bin/sh",
    );
    eprintln!(
        "uncached proxy lookup through the helper: {:?}",
        t0.elapsed()
    );
    assert_line(
        &ns,
        &sssd,
        &["passwd", "5002"],
        "pxuser2:*:5002:5001:Proxy User Two:/home/pxuser2:/bin/sh",
    );
    assert_line(
        &ns,
        &sssd,
        &["group", "pxgroup1"],
        "pxgroup1:*:5001:pxuser1,pxuser2",
    );
    assert_line(&ns, &sssd, &["group", "5002"], "pxgroup2:*:5002:pxuser1");
    // An entry bigger than the helper's first buffer (ERANGE, then a larger one).
    let out = getent(&ns, &["passwd", "pxbig"]);
    assert!(out.success(), "{out:?}\n{}", sssd.logs());
    assert!(out.stdout.contains(&"x".repeat(20000)), "{out:?}");
    let id = ids(&ns, "pxuser1");
    assert!(
        id.starts_with("uid=5001(pxuser1) gid=5001(pxgroup1)"),
        "{id}"
    );
    assert!(id.contains("5002(pxgroup2)"), "{id}");
    let out = ns.run(&["getent", "initgroups", "pxuser1"]).unwrap();
    assert!(out.stdout.contains("5002"), "{out:?}");
    assert_notfound(&ns, &["passwd", "nosuchpx"]);
    assert_notfound(&ns, &["group", "nosuchpxgroup"]);
    // The LDAP domain beside it is served as before.
    assert_line(
        &ns,
        &sssd,
        &["passwd", "user1"],
        "user1:*:1001:2001:1001:/home/user1:/bin/bash",
    );
    // sssctl domain-status knows the proxy domain.
    let out = ns
        .run(&["sssctl", "domain-status", "PROXY", "--online"])
        .unwrap();
    assert_eq!(out.stdout, "Online status: Online\n\n", "{out:?}");
    let out = ns.run(&["sssctl", "domain-status", "PROXY"]).unwrap();
    assert_eq!(
        out.stdout,
        "Online status: Online\n\nThis domain has no active servers.\n\nNo servers discovered.\n",
        "{out:?}"
    );
    // The NSS module is called in helpers, not in sssd_be.
    assert!(!ns.processes_named("proxy_child").is_empty());
}

#[test]
fn enumeration_lists_the_module_entries() {
    let (slapd, ns) = setup();
    let conf = conf(&slapd).set("domain/PROXY", "enumerate", "true");
    let sssd = start(&ns, &conf);
    proc::wait_until("enumerated users", Duration::from_secs(20), || {
        let out = getent(&ns, &["passwd"]);
        out.stdout.contains("pxuser1:") && out.stdout.contains("pxuser2:")
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", sssd.logs()));
    let out = getent(&ns, &["passwd"]);
    assert!(out.stdout.contains("pxlogin:*:5010:5001:"), "{out:?}");
    assert!(!out.stdout.contains("pxhang"), "{out:?}");
    let out = getent(&ns, &["group"]);
    assert!(
        out.stdout.contains("pxgroup1:*:5001:pxuser1,pxuser2"),
        "{out:?}"
    );
    assert!(out.stdout.contains("pxgroup2:*:5002:pxuser1"), "{out:?}");
}

/// `getent ARGS` that must fail, returning how long it took.
fn failing_lookup(ns: &Namespace, args: &[&str]) -> Duration {
    let out = getent(ns, args);
    assert_ne!(out.code(), 0, "getent {args:?} succeeded: {out:?}");
    out.elapsed
}

#[test]
fn a_hanging_or_crashing_module_only_fails_its_request() {
    let (slapd, ns) = setup();
    let sssd = start(&ns, &conf(&slapd));
    assert_line(
        &ns,
        &sssd,
        &["passwd", "pxuser1"],
        "pxuser1:*:5001:5001:Proxy User One:/home/pxuser1:/bin/sh",
    );
    let before = ns.processes_named("proxy_child");
    assert!(!before.is_empty());
    std::thread::scope(|s| {
        let hang = s.spawn(|| failing_lookup(&ns, &["passwd", "pxhang"]));
        // While one helper sleeps inside the module, the others answer.
        std::thread::sleep(Duration::from_millis(500));
        let t0 = Instant::now();
        assert_line(
            &ns,
            &sssd,
            &["passwd", "pxuser2"],
            "pxuser2:*:5002:5001:Proxy User Two:/home/pxuser2:/bin/sh",
        );
        assert_line(
            &ns,
            &sssd,
            &["group", "pxgroup2"],
            "pxgroup2:*:5002:pxuser1",
        );
        assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
        let took = hang.join().unwrap();
        eprintln!("hanging lookup failed after {took:?}");
        assert!(took < Duration::from_secs(30), "{took:?}");
    });
    // The hung helper was killed.
    let hung: Vec<u32> = before
        .iter()
        .copied()
        .filter(|p| ns.processes_named("proxy_child").contains(p))
        .collect();
    let t0 = Instant::now();
    let took = failing_lookup(&ns, &["passwd", "pxcrash"]);
    eprintln!("crashing lookup failed after {took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_line(
        &ns,
        &sssd,
        &["group", "5001"],
        "pxgroup1:*:5001:pxuser1,pxuser2",
    );
    eprintln!("lookup right after the crash: {:?}", t0.elapsed());
    assert_line(
        &ns,
        &sssd,
        &["passwd", "5002"],
        "pxuser2:*:5002:5001:Proxy User Two:/home/pxuser2:/bin/sh",
    );
    let after = ns.processes_named("proxy_child");
    assert!(!after.is_empty());
    assert!(
        after.iter().any(|p| !before.contains(p)),
        "no new helper: before {before:?}, after {after:?}, still there {hung:?}"
    );
    // The backend itself never restarted.
    assert_eq!(ns.processes_named("sssd_be").len(), 2, "{}", sssd.logs());
    let log = String::from_utf8_lossy(&ns.read_file("/var/log/sssd/sssd_PROXY.log").unwrap())
        .into_owned();
    assert!(log.contains("did not answer within"), "{log}");
    assert!(log.contains("ended without an answer"), "{log}");
}

#[test]
fn an_unavailable_module_makes_the_domain_offline_until_it_answers() {
    let (slapd, ns) = setup();
    let sssd = start(&ns, &conf(&slapd));
    let online = |ns: &Namespace| {
        ns.run(&["sssctl", "domain-status", "PROXY", "--online"])
            .unwrap()
            .stdout
    };
    assert_line(
        &ns,
        &sssd,
        &["passwd", "pxuser1"],
        "pxuser1:*:5001:5001:Proxy User One:/home/pxuser1:/bin/sh",
    );
    assert_notfound(&ns, &["passwd", "pxunavail"]);
    assert_eq!(online(&ns), "Online status: Offline\n\n");
    // Cached entries are still served.
    assert_line(
        &ns,
        &sssd,
        &["passwd", "pxuser1"],
        "pxuser1:*:5001:5001:Proxy User One:/home/pxuser1:/bin/sh",
    );
    // The next answer from the module brings the domain back.
    assert_line(
        &ns,
        &sssd,
        &["group", "pxgroup2"],
        "pxgroup2:*:5002:pxuser1",
    );
    assert_eq!(online(&ns), "Online status: Online\n\n");
}

/// Adds `pxlogin` (password `PxSecret1`) to the namespace's /etc/passwd and /etc/shadow
/// (private overlay copies) for pam_unix, and the target PAM service.
fn prepare_pam(ns: &Namespace) {
    pam::add_unix_user(
        ns,
        "pxlogin:x:5010:5001:Proxy Login:/home/pxlogin:/bin/sh",
        "PxSecret1",
    )
    .unwrap();
    pam::install_unix_service(ns, TARGET).unwrap();
}

fn login(ns: &Namespace, sssd: &Sssd<'_>, user: &str, password: &str) -> i32 {
    let out = pamtester(
        ns,
        Caller::Root,
        SERVICE,
        user,
        &["authenticate", "acct_mgmt"],
        &format!("{password}\n"),
    )
    .unwrap();
    eprintln!("{user}: {:?}", out.output);
    let _ = sssd; // its logs are printed by the callers' assertions
    out.code
}

#[test]
fn logins_through_proxy_pam_target() {
    let (slapd, ns) = setup();
    prepare_pam(&ns);
    let sssd = start(&ns, &conf(&slapd));
    pam::wait_for_socket(&ns).unwrap();
    pam::install_service(&ns, SERVICE, "").unwrap();
    let t0 = Instant::now();
    assert_eq!(
        login(&ns, &sssd, "pxlogin", "PxSecret1"),
        code::SUCCESS,
        "{}",
        sssd.logs()
    );
    eprintln!("proxy login: {:?}", t0.elapsed());
    assert_ne!(login(&ns, &sssd, "pxlogin", "wrong"), code::SUCCESS);
    // A user the module has but pam_unix does not know.
    assert_ne!(login(&ns, &sssd, "pxuser1", "PxSecret1"), code::SUCCESS);
    // The LDAP domain's logins are unchanged.
    assert_eq!(
        login(&ns, &sssd, "user1", "Password1001"),
        code::SUCCESS,
        "{}",
        sssd.logs()
    );
}

#[test]
fn password_change_through_proxy_pam_target() {
    let (slapd, ns) = setup();
    prepare_pam(&ns);
    let sssd = start(
        &ns,
        &conf(&slapd).set("domain/PROXY", "cache_credentials", "true"),
    );
    pam::wait_for_socket(&ns).unwrap();
    pam::install_service(&ns, SERVICE, "").unwrap();
    let out = pam::change_unix_password(
        &ns,
        Caller::User(5010, 5001),
        "pxlogin",
        "PxSecret1",
        "PxChanged2!",
    )
    .unwrap();
    assert_eq!(out.code, code::SUCCESS, "{:?}\n{}", out.output, sssd.logs());
    assert_eq!(
        login(&ns, &sssd, "pxlogin", "PxChanged2!"),
        code::SUCCESS,
        "{}",
        sssd.logs()
    );
    assert_ne!(login(&ns, &sssd, "pxlogin", "PxSecret1"), code::SUCCESS);
}

#[test]
fn a_bad_proxy_domain_is_disabled_alone() {
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(3)).unwrap();
    let ns = namespace();
    let conf = conf(&slapd)
        .set("sssd", "domains", "LDAP, PROXY, NOLIB")
        .set("domain/PROXY", "proxy_pam_target", "")
        .set("domain/NOLIB", "id_provider", "proxy")
        .set("domain/NOLIB", "auth_provider", "none");
    let sssd = start(&ns, &conf);
    let log =
        String::from_utf8_lossy(&ns.read_file("/var/log/sssd/sssd.log").unwrap()).into_owned();
    assert!(log.contains("proxy_pam_target"), "{log}");
    assert!(log.contains("proxy_lib_name"), "{log}");
    assert_eq!(ns.processes_named("sssd_be").len(), 1, "{}", sssd.logs());
    assert_line(
        &ns,
        &sssd,
        &["passwd", "user1"],
        "user1:*:1001:2001:1001:/home/user1:/bin/bash",
    );
    let out = ns.run(&["sssctl", "config-check"]).unwrap();
    assert!(out.stdout.contains("proxy_lib_name"), "{out:?}");
}

#[test]
fn debian_clients_against_a_proxy_domain() {
    let debian = debian_root().expect("unpack Debian's sssd 2.8 (scripts/debian-sssd.sh)");
    let nss = nss_module_of(&debian).expect("Debian's libnss_sss.so.2");
    let pam_module = pam_module_of(&debian).expect("Debian's pam_sss.so");
    let ours = stage::shared_stage().expect("stage our build");
    let with_nss = with_nss_module(ours, &nss).unwrap();
    let root = with_pam_module(with_nss.path(), &pam_module).unwrap();
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(3)).unwrap();
    let ns = Namespace::new(Some(root.path())).unwrap();
    install_module(&ns);
    prepare_pam(&ns);
    let sssd = start(&ns, &conf(&slapd));
    pam::wait_for_socket(&ns).unwrap();
    pam::install_service(&ns, SERVICE, "").unwrap();
    assert_line(
        &ns,
        &sssd,
        &["passwd", "pxuser1"],
        "pxuser1:*:5001:5001:Proxy User One:/home/pxuser1:/bin/sh",
    );
    assert_line(
        &ns,
        &sssd,
        &["group", "pxgroup1"],
        "pxgroup1:*:5001:pxuser1,pxuser2",
    );
    let id = ids(&ns, "pxuser1");
    assert!(
        id.starts_with("uid=5001(pxuser1) gid=5001(pxgroup1)"),
        "{id}"
    );
    assert!(id.contains("5002(pxgroup2)"), "{id}");
    assert_notfound(&ns, &["passwd", "nosuchpx"]);
    assert_line(
        &ns,
        &sssd,
        &["passwd", "user1"],
        "user1:*:1001:2001:1001:/home/user1:/bin/bash",
    );
    assert_eq!(
        login(&ns, &sssd, "pxlogin", "PxSecret1"),
        code::SUCCESS,
        "{}",
        sssd.logs()
    );
    assert_ne!(login(&ns, &sssd, "pxlogin", "wrong"), code::SUCCESS);
}

#[test]
fn a_module_that_cannot_be_loaded_stops_only_its_backend() {
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(3)).unwrap();
    let ns = namespace();
    let conf = conf(&slapd)
        .set("domain/PROXY", "proxy_lib_name", "sssdtestsnosuchmodule")
        .set("domain/PROXY", "auth_provider", "none");
    let sssd = start(&ns, &conf);
    proc::wait_until("the backend's error", Duration::from_secs(20), || {
        let log = ns
            .read_file("/var/log/sssd/sssd_PROXY.log")
            .unwrap_or_default();
        String::from_utf8_lossy(&log).contains("cannot load libnss_sssdtestsnosuchmodule.so.2")
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", sssd.logs()));
    let log = String::from_utf8_lossy(&ns.read_file("/var/log/sssd/sssd_PROXY.log").unwrap())
        .into_owned();
    assert!(
        log.contains("proxy_lib_name = sssdtestsnosuchmodule"),
        "{log}"
    );
    assert_line(
        &ns,
        &sssd,
        &["passwd", "user1"],
        "user1:*:1001:2001:1001:/home/user1:/bin/bash",
    );
}

#[test]
fn a_hanging_pam_target_is_killed_and_other_logins_go_on() {
    let (slapd, ns) = setup();
    prepare_pam(&ns);
    // pam_exec sleeps for pxuser2 only, before pam_unix.
    ns.write_file(
        "/etc/sssd-tests-nss/maybe-hang.sh",
        b"#!/bin/sh\n[ \"$PAM_USER\" = pxuser2 ] && exec sleep 1000\nexit 0\n",
        0o755,
    )
    .unwrap();
    ns.write_pam_service(
        TARGET,
        "auth optional pam_exec.so quiet /etc/sssd-tests-nss/maybe-hang.sh\n\
         auth required pam_unix.so\naccount required pam_unix.so\n",
    )
    .unwrap();
    let sssd = start(&ns, &conf(&slapd));
    pam::wait_for_socket(&ns).unwrap();
    pam::install_service(&ns, SERVICE, "").unwrap();
    std::thread::scope(|s| {
        let hang = s.spawn(|| {
            let t0 = Instant::now();
            let code = login(&ns, &sssd, "pxuser2", "whatever");
            (code, t0.elapsed())
        });
        std::thread::sleep(Duration::from_millis(500));
        let t0 = Instant::now();
        assert_eq!(
            login(&ns, &sssd, "pxlogin", "PxSecret1"),
            code::SUCCESS,
            "{}",
            sssd.logs()
        );
        assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
        let (code, took) = hang.join().unwrap();
        eprintln!("hanging PAM transaction ended after {took:?} with {code}");
        assert_ne!(code, code::SUCCESS);
        assert!(took < Duration::from_secs(60), "{took:?}");
    });
    let log = String::from_utf8_lossy(&ns.read_file("/var/log/sssd/sssd_PROXY.log").unwrap())
        .into_owned();
    proc::wait_until("the kill to be logged", Duration::from_secs(40), || {
        String::from_utf8_lossy(&ns.read_file("/var/log/sssd/sssd_PROXY.log").unwrap())
            .contains("did not answer within 30 s and was killed")
    })
    .unwrap_or_else(|e| panic!("{e}\n{log}"));
    assert_eq!(login(&ns, &sssd, "pxlogin", "PxSecret1"), code::SUCCESS);
}
