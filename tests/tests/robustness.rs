//! Bad input against the real daemon: garbage, an oversized request, an unknown command and a
//! name that is not UTF-8 each get the spec's answer (connection closed, or status EINVAL with
//! the connection kept), and the responder keeps serving everyone else: a client connected
//! before the bad one still gets answers, and so does a new `getent`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use sss_proto::{Command, Header, nss, packet};
use sssd_tests::ldif::{self, Schema};
use sssd_tests::namespace::Namespace;
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{NSS_SOCKET, Sssd, SssdConf};
use sssd_tests::stage;

struct Client(UnixStream);

impl Client {
    fn connect(ns: &Namespace) -> Client {
        let s = UnixStream::connect(ns.host_path(NSS_SOCKET)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        Client(s)
    }

    /// Connects and negotiates protocol version 1.
    fn hello(ns: &Namespace) -> Client {
        let mut c = Client::connect(ns);
        let (h, body) = c.call(Command::GetVersion.code(), &1u32.to_ne_bytes());
        assert_eq!((h.status, body), (0, 1u32.to_ne_bytes().to_vec()));
        c
    }

    fn call(&mut self, cmd: u32, body: &[u8]) -> (Header, Vec<u8>) {
        self.0.write_all(&packet(cmd, 0, body)).unwrap();
        self.reply().expect("a reply")
    }

    fn reply(&mut self) -> Option<(Header, Vec<u8>)> {
        let mut head = [0u8; 16];
        match self.0.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => return None,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return None,
            Err(e) => panic!("reading a reply: {e}"),
        }
        let h = Header::decode(&head).unwrap();
        let mut body = vec![0u8; h.body_len()];
        self.0.read_exact(&mut body).unwrap();
        Some((h, body))
    }

    /// Asserts the server closed this connection without replying.
    fn assert_closed(&mut self) {
        assert!(
            self.reply().is_none(),
            "expected the connection to be closed"
        );
    }

    /// Asserts a GETPWNAM of `user1` answers with one record.
    fn assert_serves(&mut self) {
        let (h, body) = self.call(Command::GetPwNam.code(), b"user1\0");
        assert_eq!(h.status, 0);
        let users = nss::decode_passwd_reply(&body).unwrap();
        assert_eq!(users.len(), 1);
        assert_eq!(users[0].name, b"user1");
    }
}

/// Runs `bad` against a fresh daemon, then checks everybody else is still served.
fn check(bad: impl FnOnce(&Namespace)) {
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(5)).unwrap();
    let ns = Namespace::new(Some(stage::shared_stage().unwrap())).unwrap();
    let sssd = Sssd::start(&ns, &SssdConf::ldap(&slapd, Schema::Rfc2307)).unwrap();
    let mut bystander = Client::hello(&ns);
    bystander.assert_serves();
    bad(&ns);
    bystander.assert_serves();
    let out = ns.run(&["getent", "passwd", "user2"]).unwrap();
    assert_eq!(
        out.stdout,
        "user2:*:1002:2002:1002:/home/user2:/bin/bash\n",
        "{out:?}\n{}",
        sssd.logs()
    );
}

#[test]
fn garbage_closes_only_that_connection() {
    check(|ns| {
        let mut c = Client::connect(ns);
        c.0.write_all(b"\x07this is not a protocol packet at all, just bytes\xff\xfe")
            .unwrap();
        c.assert_closed();
    });
}

#[test]
fn request_over_1536_bytes_closes_the_connection() {
    check(|ns| {
        let mut c = Client::hello(ns);
        let mut name = vec![b'a'; 2000];
        name.push(0);
        // The server may reset the connection while we are still writing.
        let _ = c.0.write_all(&packet(Command::GetPwNam.code(), 0, &name));
        c.assert_closed();
    });
}

#[test]
fn unknown_command_closes_the_connection() {
    check(|ns| {
        let mut c = Client::hello(ns);
        c.0.write_all(&packet(0x0BAD, 0, b"")).unwrap();
        c.assert_closed();
    });
}

#[test]
fn non_utf8_name_gets_einval_and_keeps_the_connection() {
    check(|ns| {
        let mut c = Client::hello(ns);
        let (h, body) = c.call(Command::GetPwNam.code(), b"us\xffer1\0");
        assert_eq!((h.status, body.len()), (22, 0));
        c.assert_serves();
    });
}

/// PID of the process named `comm` inside `ns`.
fn pid_of(ns: &Namespace, comm: &str) -> Option<u32> {
    ns.processes_named(comm).first().copied()
}

/// Kills `comm` (by PID) and expects the monitor to restart it and lookups to work again.
fn killed_process_is_restarted(comm: &str) {
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(5)).unwrap();
    let ns = Namespace::new(Some(stage::shared_stage().unwrap())).unwrap();
    let sssd = Sssd::start(&ns, &SssdConf::ldap(&slapd, Schema::Rfc2307)).unwrap();
    let old = pid_of(&ns, comm).unwrap_or_else(|| panic!("no {comm} running"));
    sssd_tests::proc::signal(old, libc::SIGKILL);
    assert_restarted_and_serving(&ns, &sssd, comm, old);
}

/// Expects a new `comm` (not `old`) to be started by the monitor and lookups to work again.
fn assert_restarted_and_serving(ns: &Namespace, sssd: &Sssd<'_>, comm: &str, old: u32) {
    sssd_tests::proc::wait_until(
        &format!("{comm} to be restarted"),
        Duration::from_secs(20),
        || pid_of(ns, comm).is_some_and(|p| p != old),
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", sssd.logs()));
    sssd_tests::proc::wait_until("getent to succeed", Duration::from_secs(20), || {
        ns.run(&["getent", "passwd", "user3"])
            .is_ok_and(|o| o.stdout == "user3:*:1003:2003:1003:/home/user3:/bin/bash\n")
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", sssd.logs()));
}

#[test]
fn killed_responder_is_restarted() {
    killed_process_is_restarted("sssd_nss");
}

#[test]
fn killed_backend_is_restarted() {
    killed_process_is_restarted("sssd_be");
}

#[test]
fn backup_server_serves_while_the_primary_is_down_then_the_primary_again() {
    let dir = ldif::rfc2307_with_bulk(3);
    let mut primary = Slapd::new(&dir).unwrap();
    let backup = Slapd::new(&dir).unwrap();
    // user1's gecos tells the two servers apart.
    let gecos_ldif = |text: &str| {
        format!(
            "dn: {}\nchangetype: modify\nreplace: gecos\ngecos: {text}\n",
            dir.user_dn("user1")
        )
    };
    primary.modify(&gecos_ldif("served by primary")).unwrap();
    backup.modify(&gecos_ldif("served by backup")).unwrap();
    primary.stop().unwrap();
    let ns = Namespace::new(Some(stage::shared_stage().unwrap())).unwrap();
    // Every lookup must reach the backend: no memory cache in between.
    let conf = SssdConf::ldap(&primary, Schema::Rfc2307)
        .set("nss", "memcache_timeout", "0")
        .domain("ldap_backup_uri", &backup.uri())
        .domain("failover_primary_timeout", "2")
        .domain("entry_cache_timeout", "1");
    let sssd = Sssd::start(&ns, &conf).unwrap();
    let user1 = || {
        ns.run(&["getent", "passwd", "user1"])
            .map(|o| o.stdout)
            .unwrap_or_default()
    };
    sssd_tests::proc::wait_until("user1 from the backup", Duration::from_secs(30), || {
        user1().contains("served by backup")
    })
    .unwrap_or_else(|e| panic!("{e}: {}\n{}", user1(), sssd.logs()));
    // The primary comes back: within a few failover_primary_timeout periods the backend
    // uses it again.
    primary.start().unwrap();
    sssd_tests::proc::wait_until("user1 from the primary", Duration::from_secs(60), || {
        user1().contains("served by primary")
    })
    .unwrap_or_else(|e| panic!("{e}: {}\n{}", user1(), sssd.logs()));
}

/// Stops only the event-loop thread of `pid` (its main thread) with ptrace, leaving the
/// process's other threads running, and waits (up to `limit`) for the process to end; returns
/// whether it ended. The ptrace link ends with it.
fn freeze_main_thread_until_exit(pid: u32, limit: Duration) -> bool {
    const PTRACE_SEIZE: libc::c_uint = 0x4206;
    const PTRACE_INTERRUPT: libc::c_uint = 0x4207;
    let pid = libc::pid_t::try_from(pid).unwrap();
    let null = std::ptr::null_mut::<libc::c_void>();
    // SAFETY: plain ptrace requests on a process of the test's own namespace; this thread
    // stays the tracer until the tracee is reaped below.
    unsafe {
        assert_eq!(
            libc::ptrace(PTRACE_SEIZE, pid, null, null),
            0,
            "PTRACE_SEIZE"
        );
        assert_eq!(
            libc::ptrace(PTRACE_INTERRUPT, pid, null, null),
            0,
            "PTRACE_INTERRUPT"
        );
    }
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        let mut status = 0;
        // SAFETY: waits for the tracee's state changes without blocking.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::__WALL | libc::WNOHANG) };
        if r == pid && (libc::WIFEXITED(status) || libc::WIFSIGNALED(status)) {
            return true;
        }
        if r < 0 {
            return !sssd_tests::proc::alive(u32::try_from(pid).unwrap());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: let it go (it stays stopped no longer than this test).
    unsafe { libc::ptrace(libc::PTRACE_DETACH, pid, null, null) };
    false
}

#[test]
fn stuck_event_loop_is_ended_by_the_watchdog_and_restarted() {
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(5)).unwrap();
    let ns = Namespace::new(Some(stage::shared_stage().unwrap())).unwrap();
    let conf = SssdConf::ldap(&slapd, Schema::Rfc2307).set("nss", "timeout", "1");
    let sssd = Sssd::start(&ns, &conf).unwrap();
    let old = pid_of(&ns, "sssd_nss").expect("sssd_nss running");
    // The watchdog thread keeps running while the loop is frozen: after 3 periods (3 s)
    // it ends the process.
    assert!(
        freeze_main_thread_until_exit(old, Duration::from_secs(30)),
        "sssd_nss with a frozen event loop did not exit\n{}",
        sssd.logs()
    );
    assert_restarted_and_serving(&ns, &sssd, "sssd_nss", old);
    assert!(
        sssd.logs().contains("the event loop has not run"),
        "{}",
        sssd.logs()
    );
}
