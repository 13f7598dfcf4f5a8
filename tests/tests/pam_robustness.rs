//! Bad PAM requests against the real responder: malformed TLV bodies (no end marker, an item
//! running past the packet, a CLI_PID that is not 4 bytes, a 64 KiB password) each fail with a
//! PAM error or a closed connection, and the responder keeps serving: a client connected
//! before the bad one still authenticates, and so does pamtester afterwards.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use sss_proto::pam::{
    self, AuthTok, END_OF_REQUEST, PamRequest, START_OF_REQUEST, authtok, item, status,
};
use sss_proto::{Command, Header, packet};
use sssd_tests::ldif::{self, Schema};
use sssd_tests::namespace::Namespace;
use sssd_tests::pam::{self as tpam, Caller, PAM_SOCKET, SERVICE, code, pamtester};
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{Sssd, SssdConf};
use sssd_tests::stage;

struct Client(UnixStream);

/// How a bad request ended.
#[derive(Debug, PartialEq, Eq)]
enum Ending {
    /// The server closed the connection without a reply.
    Closed,
    /// A reply with a non-zero header status (errno).
    Errno(u32),
    /// A reply carrying a PAM status.
    Pam(i32),
}

impl Client {
    /// Connects to the public socket and negotiates protocol version 3.
    fn hello(ns: &Namespace) -> Client {
        let s = UnixStream::connect(ns.host_path(PAM_SOCKET)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut c = Client(s);
        c.0.write_all(&packet(Command::GetVersion.code(), 0, &3u32.to_ne_bytes()))
            .unwrap();
        let (h, body) = c.reply().expect("a GET_VERSION reply");
        assert_eq!((h.status, body), (0, 3u32.to_ne_bytes().to_vec()));
        c
    }

    fn reply(&mut self) -> Option<(Header, Vec<u8>)> {
        let mut head = [0u8; 16];
        match self.0.read_exact(&mut head) {
            Ok(()) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset
                ) =>
            {
                return None;
            }
            Err(e) => panic!("reading a reply: {e}"),
        }
        let h = Header::decode(&head).unwrap();
        let mut body = vec![0u8; h.body_len()];
        self.0.read_exact(&mut body).ok()?;
        Some((h, body))
    }

    /// Sends an AUTHENTICATE with `body` and says how it ended.
    fn send(&mut self, body: &[u8]) -> Ending {
        // The server may close while we still write (oversized requests).
        let _ = self
            .0
            .write_all(&packet(Command::PamAuthenticate.code(), 0, body));
        match self.reply() {
            None => Ending::Closed,
            Some((h, _)) if h.status != 0 => Ending::Errno(h.status),
            Some((_, body)) => Ending::Pam(pam::decode_reply(&body).unwrap().status),
        }
    }

    /// Authenticates user1 with its right password and expects success.
    fn assert_serves(&mut self) {
        let ending = self.send(&good_request("Password1001"));
        assert_eq!(ending, Ending::Pam(status::SUCCESS));
    }
}

fn good_request(password: &str) -> Vec<u8> {
    pam::encode_request(&PamRequest {
        user: Some("user1".into()),
        service: Some(SERVICE.into()),
        cli_pid: Some(std::process::id()),
        authtok: Some(AuthTok {
            kind: authtok::PASSWORD,
            data: password.as_bytes().to_vec(),
        }),
        ..PamRequest::default()
    })
}

fn put(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_ne_bytes());
}

fn put_item(out: &mut Vec<u8>, kind: u32, data: &[u8]) {
    put(out, kind);
    put(out, data.len() as u32);
    out.extend_from_slice(data);
}

/// START, USER, SERVICE and CLI_PID items, without the end marker.
fn head_items() -> Vec<u8> {
    let mut b = Vec::new();
    put(&mut b, START_OF_REQUEST);
    put_item(&mut b, item::USER, b"user1\0");
    put_item(&mut b, item::SERVICE, b"sssd-tests\0");
    put_item(&mut b, item::CLI_PID, &std::process::id().to_ne_bytes());
    b
}

/// The request failed: closed, errno, or a PAM status other than success.
#[track_caller]
fn assert_failed(ending: Ending, what: &str) {
    assert!(
        ending != Ending::Pam(status::SUCCESS),
        "{what}: accepted ({ending:?})"
    );
}

/// Starts sssd (`ldap_pam` on `slapd`) in `ns`, waits for the PAM socket and installs
/// [`SERVICE`].
fn start<'ns>(slapd: &Slapd, ns: &'ns Namespace) -> Sssd<'ns> {
    let sssd = Sssd::start(ns, &SssdConf::ldap_pam(slapd, Schema::Rfc2307))
        .unwrap_or_else(|e| panic!("sssd did not start: {e}"));
    tpam::wait_for_socket(ns).unwrap_or_else(|e| panic!("{e}\n{}", sssd.logs()));
    tpam::install_service(ns, SERVICE, "").unwrap();
    sssd
}

#[test]
fn malformed_requests_fail_and_the_responder_keeps_serving() {
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(3)).unwrap();
    let ns = Namespace::new(Some(stage::shared_stage().unwrap())).unwrap();
    let sssd = start(&slapd, &ns);

    let mut bystander = Client::hello(&ns);
    bystander.assert_serves();

    // No end marker.
    let b = head_items();
    assert_failed(Client::hello(&ns).send(&b), "missing end marker");
    // An item whose size runs past the packet.
    let mut b = head_items();
    put(&mut b, item::AUTHTOK);
    put(&mut b, 4000);
    put(&mut b, authtok::PASSWORD);
    b.extend_from_slice(b"Password1001");
    put(&mut b, END_OF_REQUEST);
    assert_failed(Client::hello(&ns).send(&b), "item size past the packet");
    // CLI_PID of 2 bytes (and no other CLI_PID).
    let mut b = Vec::new();
    put(&mut b, START_OF_REQUEST);
    put_item(&mut b, item::USER, b"user1\0");
    put_item(&mut b, item::SERVICE, b"sssd-tests\0");
    put_item(&mut b, item::CLI_PID, &[1, 2]);
    let mut tok = authtok::PASSWORD.to_ne_bytes().to_vec();
    tok.extend_from_slice(b"Password1001");
    put_item(&mut b, item::AUTHTOK, &tok);
    put(&mut b, END_OF_REQUEST);
    assert_failed(Client::hello(&ns).send(&b), "CLI_PID of size 2");
    // A 64 KiB password (well-formed TLV).
    let big = "x".repeat(64 * 1024);
    assert_failed(
        Client::hello(&ns).send(&good_request(&big)),
        "64 KiB authtok",
    );
    // A wrong start marker.
    let mut b = good_request("Password1001");
    b[..4].copy_from_slice(&0xdead_beefu32.to_ne_bytes());
    assert_failed(Client::hello(&ns).send(&b), "bad start marker");
    // A right request with the wrong password is an ordinary PAM_AUTH_ERR.
    assert_eq!(
        Client::hello(&ns).send(&good_request("wrong")),
        Ending::Pam(status::AUTH_ERR)
    );

    // Everybody else is still served.
    bystander.assert_serves();
    Client::hello(&ns).assert_serves();
    let out = pamtester(
        &ns,
        Caller::User(1001, 2001),
        SERVICE,
        "user1",
        &["authenticate"],
        "Password1001\n",
    )
    .unwrap();
    assert_eq!(out.code, code::SUCCESS, "{out:?}\n{}", sssd.logs());
    assert!(
        !sssd.logs().contains(&big[..64]),
        "the oversized password reached the logs"
    );
}

#[test]
fn killed_pam_responder_is_restarted() {
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(3)).unwrap();
    let ns = Namespace::new(Some(stage::shared_stage().unwrap())).unwrap();
    let sssd = start(&slapd, &ns);
    let pid_of = || ns.processes_named("sssd_pam").first().copied();
    let old = pid_of().expect("sssd_pam running");
    sssd_tests::proc::signal(old, libc::SIGKILL);
    sssd_tests::proc::wait_until("sssd_pam to be restarted", Duration::from_secs(30), || {
        pid_of().is_some_and(|p| p != old)
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", sssd.logs()));
    sssd_tests::proc::wait_until("a login to succeed", Duration::from_secs(30), || {
        pamtester(
            &ns,
            Caller::Root,
            SERVICE,
            "user1",
            &["authenticate"],
            "Password1001\n",
        )
        .is_ok_and(|o| o.code == code::SUCCESS)
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", sssd.logs()));
}
