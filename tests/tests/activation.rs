//! Socket-activated responders: `sssd_nss --socket-activated` started by
//! `systemd-socket-activate` on the first lookup through glibc NSS; a configuration without a
//! `services` line, where the monitor holds the NSS and PAM sockets and starts each responder
//! when its first client comes (as SSSD's socket units do); and a responder that exits after
//! `responder_idle_timeout` (its minimum, 60 s) and is started again by the next request
//! (as is one that crashed).
//!
//! Not under a real systemd: booting `/lib/systemd/systemd --system` as PID 1 of a private
//! pid and mount namespace (`unshare --pid --fork --mount-proc`) was tried. It starts the
//! whole default target against the host's file systems (only the mounts are private):
//! `systemd-tmpfiles` cleaned the shared /tmp under the other processes of the machine and
//! logind started. Doing it safely needs a root file system of its own (a container image)
//! that the test environment does not have, so the units are checked by
//! `systemd-analyze verify` (tests/install.rs) and the protocol by `systemd-socket-activate`,
//! which passes the sockets exactly as systemd does (`LISTEN_FDS`, `LISTEN_PID`,
//! `LISTEN_FDNAMES`).
//!
//! They need the release artifacts (`cargo build --release --workspace`, done by
//! scripts/test.sh) and `systemd-socket-activate` (package systemd, scripts/deps.sh).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use sssd_tests::ldif::{self, Schema};
use sssd_tests::namespace::Namespace;
use sssd_tests::pam::{self, Caller, SERVICE, code, pamtester};
use sssd_tests::proc;
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{CONF_PATH, NSS_SOCKET, Sssd, SssdConf};
use sssd_tests::stage;
use std::time::{Duration, Instant};

const MONITOR_ARGV: &[&str] = &["/usr/sbin/sssd", "-i", "-d", "0x03f0", "--logger=files"];

fn namespace() -> Namespace {
    let root = stage::shared_stage().expect("stage the product with install.sh");
    Namespace::new(Some(root)).expect("create the mount namespace")
}

fn monitor_log(ns: &Namespace) -> String {
    String::from_utf8_lossy(&ns.read_file("/var/log/sssd/sssd.log").unwrap_or_default())
        .into_owned()
}

#[track_caller]
fn assert_user1(out: &proc::Output, logs: &str) {
    assert!(out.success(), "{out:?}\n{logs}");
    assert!(
        out.stdout.starts_with("user1:") && out.stdout.contains(":1001:2001:"),
        "{out:?}"
    );
}

#[test]
fn systemd_socket_activate_starts_nss_on_the_first_lookup() {
    if !proc::have_program("systemd-socket-activate") {
        panic!("systemd-socket-activate is missing: run scripts/deps.sh (package systemd)");
    }
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(3)).unwrap();
    let ns = namespace();
    // The monitor runs the backend and the PAM responder; NSS is left to socket activation,
    // as sites with sssd-nss.socket configure it.
    let conf = SssdConf::ldap_pam(&slapd, Schema::Rfc2307).set("sssd", "services", "pam");
    ns.write_file(CONF_PATH, conf.render().as_bytes(), 0o600)
        .unwrap();
    let monitor = ns.spawn(MONITOR_ARGV).unwrap();
    pam::wait_for_socket(&ns).unwrap_or_else(|e| panic!("{e}\n{}", sssd_tests::sssd::logs(&ns)));
    assert!(
        !ns.exists(NSS_SOCKET),
        "the monitor must not bind the NSS socket"
    );
    let mut activator = ns
        .spawn(&[
            "systemd-socket-activate",
            "-l",
            NSS_SOCKET,
            "--fdname=sssd-nss.socket",
            "/usr/libexec/sssd/sssd_nss",
            "--logger=files",
            "-d",
            "0x03f0",
            "--socket-activated",
        ])
        .unwrap();
    ns.wait_for_path(NSS_SOCKET, Duration::from_secs(10))
        .unwrap();
    // Listening, not started: nothing has asked yet.
    std::thread::sleep(Duration::from_millis(300));
    assert!(ns.processes_named("sssd_nss").is_empty());
    let out = ns.run(&["getent", "passwd", "user1"]).unwrap();
    let logs = sssd_tests::sssd::logs(&ns);
    assert_user1(&out, &format!("{}\n{logs}", activator.stderr()));
    // systemd-socket-activate exec'd the responder in its own process.
    assert!(activator.is_running(), "{}\n{logs}", activator.stderr());
    assert_eq!(
        ns.processes_named("sssd_nss"),
        vec![activator.pid()],
        "{logs}"
    );
    assert!(
        logs.contains("(socket-activated)")
            && logs.contains("socket-activated: exiting after 300 s"),
        "{logs}"
    );
    // It joined the private bus and registered with the monitor.
    let log = monitor_log(&ns);
    assert!(
        log.contains("nss responder registered (started outside the monitor"),
        "{log}"
    );
    let out = ns.run(&["id", "user2"]).unwrap();
    assert!(
        out.success() && out.stdout.contains("uid=1002(user2)"),
        "{out:?}"
    );
    // SIGHUP to the monitor reaches it too, as it reaches the monitor's own children.
    monitor.signal(libc::SIGHUP);
    proc::wait_until("the relayed SIGHUP", Duration::from_secs(10), || {
        sssd_tests::sssd::logs(&ns).contains("clearing the negative cache")
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", sssd_tests::sssd::logs(&ns)));
    // The socket belongs to the activator: the responder leaves it when it stops.
    activator.signal(libc::SIGTERM);
    assert!(activator.wait_exit(Duration::from_secs(10)).is_some());
    assert!(ns.exists(NSS_SOCKET));
}

const AS_USER1: Caller = Caller::User(1001, 2001);

#[test]
fn systemd_socket_activate_passes_both_pam_sockets() {
    if !proc::have_program("systemd-socket-activate") {
        panic!("systemd-socket-activate is missing: run scripts/deps.sh (package systemd)");
    }
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(3)).unwrap();
    let ns = namespace();
    let conf = SssdConf::ldap_pam(&slapd, Schema::Rfc2307).set("sssd", "services", "nss");
    let sssd = Sssd::start_with_argv(&ns, &conf, MONITOR_ARGV).unwrap();
    pam::install_service(&ns, SERVICE, "").unwrap();
    let (public, private) = ("/var/lib/sss/pipes/pam", "/var/lib/sss/pipes/private/pam");
    assert!(!ns.exists(public));
    // Private first: the responder matches the sockets by their paths, whatever the order.
    let mut activator = ns
        .spawn(&[
            "systemd-socket-activate",
            "-l",
            private,
            "-l",
            public,
            "--fdname=sssd-pam-priv.socket:sssd-pam.socket",
            "/usr/libexec/sssd/sssd_pam",
            "--logger=files",
            "-d",
            "0x03f0",
            "--socket-activated",
        ])
        .unwrap();
    ns.wait_for_path(public, Duration::from_secs(10)).unwrap();
    // The modes sssd-pam.socket and sssd-pam-priv.socket give them (pam_sss checks them).
    ns.run_ok(&["chmod", "0666", public]).unwrap();
    ns.run_ok(&["chmod", "0600", private]).unwrap();
    assert!(ns.processes_named("sssd_pam").is_empty());
    let out = pamtester(
        &ns,
        AS_USER1,
        SERVICE,
        "user1",
        &["authenticate"],
        "Password1001\n",
    )
    .unwrap();
    let logs = sssd.logs();
    assert_eq!(
        out.code,
        code::SUCCESS,
        "{:?}\n{}\n{logs}",
        out.output,
        activator.stderr()
    );
    assert_eq!(
        ns.processes_named("sssd_pam"),
        vec![activator.pid()],
        "{logs}"
    );
    let out = pamtester(
        &ns,
        Caller::Root,
        SERVICE,
        "user2",
        &["authenticate"],
        "Password1002\n",
    )
    .unwrap();
    assert_eq!(out.code, code::SUCCESS, "{:?}\n{}", out.output, sssd.logs());
    let out = pamtester(
        &ns,
        Caller::Root,
        SERVICE,
        "user2",
        &["authenticate"],
        "bad\n",
    )
    .unwrap();
    assert_eq!(
        out.code,
        code::AUTH_ERR,
        "{:?}\n{}",
        out.output,
        sssd.logs()
    );
    let logs = sssd.logs();
    assert!(
        logs.contains(&format!("serving {public} (socket-activated)"))
            && logs.contains(&format!("serving {private} (socket-activated)")),
        "{logs}"
    );
    assert!(activator.is_running());
}

#[test]
fn without_a_services_line_responders_start_on_demand() {
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(3)).unwrap();
    let ns = namespace();
    let conf = SssdConf::ldap_pam(&slapd, Schema::Rfc2307).without("sssd", "services");
    assert!(!conf.render().contains("services"));
    let sssd = Sssd::start_with_argv(&ns, &conf, MONITOR_ARGV).unwrap();
    pam::wait_for_socket(&ns).unwrap();
    pam::install_service(&ns, SERVICE, "").unwrap();
    assert!(ns.exists("/var/lib/sss/pipes/private/pam"));
    // The sockets are there; the responders are not, until a client comes.
    std::thread::sleep(Duration::from_millis(500));
    assert!(ns.processes_named("sssd_nss").is_empty(), "{}", sssd.logs());
    assert!(ns.processes_named("sssd_pam").is_empty(), "{}", sssd.logs());

    let out = ns.run(&["getent", "passwd", "user1"]).unwrap();
    assert_user1(&out, &sssd.logs());
    assert_eq!(ns.processes_named("sssd_nss").len(), 1, "{}", sssd.logs());
    let out = ns.run(&["id", "user2"]).unwrap();
    assert!(
        out.success() && out.stdout.contains("uid=1002(user2) gid=2002"),
        "{out:?}"
    );
    assert!(ns.processes_named("sssd_pam").is_empty(), "{}", sssd.logs());

    // A login as an ordinary user (public socket), then as root (private socket).
    let out = pamtester(
        &ns,
        AS_USER1,
        SERVICE,
        "user1",
        &["authenticate"],
        "Password1001\n",
    )
    .unwrap();
    assert_eq!(out.code, code::SUCCESS, "{:?}\n{}", out.output, sssd.logs());
    assert_eq!(ns.processes_named("sssd_pam").len(), 1, "{}", sssd.logs());
    let out = pamtester(
        &ns,
        Caller::Root,
        SERVICE,
        "user2",
        &["authenticate"],
        "wrong\n",
    )
    .unwrap();
    assert_eq!(
        out.code,
        code::AUTH_ERR,
        "{:?}\n{}",
        out.output,
        sssd.logs()
    );
    let out = pamtester(
        &ns,
        Caller::Root,
        SERVICE,
        "user2",
        &["authenticate"],
        "Password1002\n",
    )
    .unwrap();
    assert_eq!(out.code, code::SUCCESS, "{:?}\n{}", out.output, sssd.logs());
    assert_eq!(ns.processes_named("sssd_pam").len(), 1, "{}", sssd.logs());
    // A responder that crashes is started again by the next client (restart policy
    // permitting), and the request waiting in the backlog is answered.
    let killed = ns.processes_named("sssd_nss");
    proc::signal(killed[0], libc::SIGKILL);
    proc::wait_until(
        "the killed responder to be reaped",
        Duration::from_secs(10),
        || ns.processes_named("sssd_nss").is_empty(),
    )
    .unwrap();
    let out = ns.run(&["getent", "passwd", "user3"]).unwrap();
    assert!(
        out.success() && out.stdout.starts_with("user3:"),
        "{out:?}\n{}",
        sssd.logs()
    );
    let again = ns.processes_named("sssd_nss");
    assert!(again.len() == 1 && again != killed, "{}", sssd.logs());
    let log = monitor_log(&ns);
    assert!(
        log.contains("nss responder starts on demand")
            && log.contains("pam responder starts on demand"),
        "{log}"
    );
}

#[test]
fn an_idle_on_demand_responder_exits_and_the_next_request_starts_it_again() {
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(3)).unwrap();
    let ns = namespace();
    // 60 s is SSSD's minimum (lower values are raised to it): the real one, tested once.
    let conf = SssdConf::ldap(&slapd, Schema::Rfc2307)
        .without("sssd", "services")
        .set("nss", "responder_idle_timeout", "60");
    let sssd = Sssd::start_with_argv(&ns, &conf, MONITOR_ARGV).unwrap();
    let out = ns.run(&["getent", "passwd", "user1"]).unwrap();
    assert_user1(&out, &sssd.logs());
    let last_request = Instant::now();
    let first = ns.processes_named("sssd_nss");
    assert_eq!(first.len(), 1, "{}", sssd.logs());
    proc::wait_until(
        "the idle responder to exit",
        Duration::from_secs(120),
        || ns.processes_named("sssd_nss").is_empty(),
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", sssd.logs()));
    let idle = last_request.elapsed();
    assert!(
        idle >= Duration::from_secs(59) && idle < Duration::from_secs(90),
        "exited after {idle:?}"
    );
    // The monitor reaps it (a zombie is no longer listed) and says why it ended.
    proc::wait_until("the monitor to reap it", Duration::from_secs(10), || {
        monitor_log(&ns).contains("exited when idle")
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", monitor_log(&ns)));
    // The socket stays; the next request (another user: user1 is in the memory cache)
    // starts a new responder, which answers it.
    assert!(ns.exists(NSS_SOCKET));
    let out = ns.run(&["getent", "passwd", "user3"]).unwrap();
    assert!(
        out.success() && out.stdout.starts_with("user3:"),
        "{out:?}\n{}",
        sssd.logs()
    );
    let second = ns.processes_named("sssd_nss");
    assert_eq!(second.len(), 1, "{}", sssd.logs());
    assert_ne!(first, second);
}

#[test]
fn the_socket_units_check_refuses_a_responder_listed_in_services() {
    let ns = namespace();
    let check = "/usr/libexec/sssd/sssd_check_socket_activated_responders";
    let conf =
        "[sssd]\nservices = nss, sudo\ndomains = LDAP\n\n[domain/LDAP]\nid_provider = ldap\n";
    ns.write_file(CONF_PATH, conf.as_bytes(), 0o600).unwrap();
    let out = ns.run(&[check, "-r", "nss"]).unwrap();
    assert_eq!(out.code(), 1, "{out:?}");
    assert!(
        out.stderr
            .contains("Misconfiguration found for the nss responder.")
            && out.stderr.contains("\"systemctl disable sssd-nss.socket\""),
        "{out:?}"
    );
    let out = ns.run(&[check, "-r", "pam"]).unwrap();
    assert_eq!(out.code(), 0, "{out:?}");
    // No services line: every responder may be socket-activated.
    let conf = "[sssd]\ndomains = LDAP\n\n[domain/LDAP]\nid_provider = ldap\n";
    ns.write_file(CONF_PATH, conf.as_bytes(), 0o600).unwrap();
    let out = ns.run(&[check, "--responders=nss"]).unwrap();
    assert_eq!(out.code(), 0, "{out:?}");
    let out = ns.run(&[check]).unwrap();
    assert_eq!(out.code(), 1, "{out:?}");
}
