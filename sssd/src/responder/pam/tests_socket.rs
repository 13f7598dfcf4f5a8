//! Socket-level tests: the PAM responder on temporary sockets, driven with raw packets,
//! over fake domain sources and a scripted backend.

use super::PamResponder;
use super::settings::PAM_MAX_REQUEST_LEN;
use super::tests::{auth_request, fixture};
use crate::responder::common::admission::{Admission, ConnLimits};
use crate::responder::common::{ServerConfig, bind_socket, serve};
use sss_proto::pam::{PamRequest, decode_reply, encode_request, item, response, status};
use sss_proto::{Command, Header, packet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

const AUTH: u32 = Command::PamAuthenticate as u32;

struct Server {
    path: PathBuf,
    private: PathBuf,
    dir: tempfile::TempDir,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn pam_config(path: PathBuf) -> ServerConfig {
    let mut cfg = ServerConfig::nss(path);
    cfg.versions = sss_proto::command::PAM_PROTOCOL_VERSIONS.to_vec();
    cfg.max_request_len = PAM_MAX_REQUEST_LEN;
    cfg
}

/// Serves `r` on `<tmp>/pipes/pam` (0666) and `<tmp>/pipes/private/pam` (0600, dir 0700).
fn start(r: PamResponder) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pipes/pam");
    let private = dir.path().join("pipes/private/pam");
    let r = Arc::new(r);
    let mut tasks = Vec::new();
    let admission = Admission::new(ConnLimits::for_fd_limit(1024));
    let public_cfg = pam_config(path.clone());
    let mut private_cfg = pam_config(private.clone());
    private_cfg.socket_mode = 0o600;
    private_cfg.dir_mode = 0o700;
    for cfg in [public_cfg, private_cfg] {
        let l = bind_socket(&cfg).unwrap();
        let r = r.clone();
        let admission = admission.clone();
        tasks.push(tokio::spawn(
            async move { serve(l, r, &cfg, admission).await },
        ));
    }
    Server {
        path,
        private,
        dir,
        tasks,
    }
}

async fn read_reply(s: &mut UnixStream) -> std::io::Result<(Header, Vec<u8>)> {
    let mut h = [0u8; 16];
    s.read_exact(&mut h).await?;
    let h = Header::decode(&h).map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut b = vec![0u8; h.body_len()];
    s.read_exact(&mut b).await?;
    Ok((h, b))
}

async fn roundtrip(
    s: &mut UnixStream,
    cmd: u32,
    body: &[u8],
) -> std::io::Result<(Header, Vec<u8>)> {
    s.write_all(&packet(cmd, 0, body)).await?;
    read_reply(s).await
}

async fn connect_at(path: &Path, version: u32) -> (UnixStream, u32) {
    let mut s = UnixStream::connect(path).await.unwrap();
    let (h, b) = roundtrip(&mut s, 1, &version.to_ne_bytes()).await.unwrap();
    assert_eq!(h.status, 0);
    let v = u32::from_ne_bytes(b.try_into().unwrap());
    (s, v)
}

async fn connect(srv: &Server) -> UnixStream {
    let (s, v) = connect_at(&srv.path, 3).await;
    assert_eq!(v, 3);
    s
}

/// The PAM status of a request on `s` (header status must be 0).
async fn pam_status(s: &mut UnixStream, cmd: u32, body: &[u8]) -> i32 {
    let (h, b) = roundtrip(s, cmd, body).await.unwrap();
    assert_eq!((h.cmd, h.status), (cmd, 0));
    decode_reply(&b).unwrap().status
}

/// True when the server closed the connection (EOF or reset) within a second.
async fn closed(s: &mut UnixStream) -> bool {
    let mut b = [0u8; 64];
    matches!(
        tokio::time::timeout(Duration::from_secs(1), s.read(&mut b)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

fn put(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_ne_bytes());
}

fn user_item(out: &mut Vec<u8>) {
    put(out, item::USER);
    put(out, 9);
    out.extend_from_slice(b"user0001\0");
}

#[tokio::test]
async fn sockets_and_versions() {
    let f = fixture(|_| {});
    let srv = start(f.responder.clone());
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&srv.path), 0o666);
    assert_eq!(mode(&srv.private), 0o600);
    assert_eq!(mode(srv.private.parent().unwrap()), 0o700);
    for (asked, got) in [(3, 3), (2, 2), (1, 1), (9, 3)] {
        let (_, v) = connect_at(&srv.path, asked).await;
        assert_eq!(v, got, "asked {asked}");
    }
    // The private socket serves the same commands.
    let (mut s, v) = connect_at(&srv.private, 3).await;
    assert_eq!(v, 3);
    let st = pam_status(&mut s, AUTH, &auth_request("user0001", "secret", None)).await;
    assert_eq!(st, status::SUCCESS);
    // A v2 client is served too (CLI_PID optional).
    let (mut s, _) = connect_at(&srv.path, 2).await;
    let body = encode_request(&PamRequest {
        user: Some("user0001".into()),
        ..PamRequest::default()
    });
    assert_eq!(pam_status(&mut s, 0xF3, &body).await, status::SUCCESS);
}

#[tokio::test]
async fn login_results_over_the_socket() {
    let f = fixture(|_| {});
    let srv = start(f.responder.clone());
    let mut s = connect(&srv).await;
    let (h, b) = roundtrip(&mut s, AUTH, &auth_request("user0001", "secret", None))
        .await
        .unwrap();
    assert_eq!(h.status, 0);
    let reply = decode_reply(&b).unwrap();
    assert_eq!(reply.status, status::SUCCESS);
    assert_eq!(reply.items.len(), 1);
    assert_eq!(reply.items[0].kind, response::DOMAIN_NAME);
    assert_eq!(reply.items[0].data, b"LDAP\0");
    let wrong = auth_request("user0001", "wrong", None);
    assert_eq!(pam_status(&mut s, AUTH, &wrong).await, status::AUTH_ERR);
    let ghost = auth_request("ghost", "x", None);
    assert_eq!(pam_status(&mut s, AUTH, &ghost).await, status::USER_UNKNOWN);
    let root = auth_request("root", "x", None);
    assert_eq!(pam_status(&mut s, AUTH, &root).await, status::USER_UNKNOWN);
    // Commands outside the PAM set close the connection.
    s.write_all(&packet(0x11, 0, b"user0001\0")).await.unwrap();
    assert!(closed(&mut s).await);
}

#[tokio::test]
async fn malformed_requests_fail_and_the_responder_keeps_serving() {
    let f = fixture(|_| {});
    let srv = start(f.responder.clone());
    let good = auth_request("user0001", "secret", None);
    let mut bystander = connect(&srv).await;

    let mut missing_end = good.clone();
    missing_end.truncate(good.len() - 4);
    let mut past_packet = Vec::new();
    put(&mut past_packet, sss_proto::pam::START_OF_REQUEST);
    put(&mut past_packet, item::USER);
    put(&mut past_packet, 1000);
    past_packet.extend_from_slice(b"user0001\0");
    put(&mut past_packet, sss_proto::pam::END_OF_REQUEST);
    let mut short_pid = Vec::new();
    put(&mut short_pid, sss_proto::pam::START_OF_REQUEST);
    user_item(&mut short_pid);
    put(&mut short_pid, item::CLI_PID);
    put(&mut short_pid, 2);
    short_pid.extend_from_slice(&[1, 0]);
    put(&mut short_pid, sss_proto::pam::END_OF_REQUEST);

    for (what, body) in [
        ("missing end marker", &missing_end),
        ("item size past the packet", &past_packet),
        ("CLI_PID of 2 bytes", &short_pid),
    ] {
        let mut s = connect(&srv).await;
        assert_eq!(
            pam_status(&mut s, AUTH, body).await,
            status::SYSTEM_ERR,
            "{what}"
        );
        // The same connection still works.
        assert_eq!(
            pam_status(&mut s, AUTH, &good).await,
            status::SUCCESS,
            "{what}"
        );
    }

    // A 64 KiB token is over the request limit: that connection is closed.
    let mut s = connect(&srv).await;
    let huge = auth_request("user0001", &"x".repeat(64 * 1024), None);
    let _ = s.write_all(&packet(AUTH, 0, &huge)).await;
    assert!(closed(&mut s).await);

    // Everyone else is still served.
    assert_eq!(
        pam_status(&mut bystander, AUTH, &good).await,
        status::SUCCESS
    );
    let mut fresh = connect(&srv).await;
    assert_eq!(pam_status(&mut fresh, AUTH, &good).await, status::SUCCESS);
    assert_eq!(f.backend.calls(), 5);
}

#[tokio::test]
async fn response_filter_and_verbosity_over_the_socket() {
    let f = fixture(|s| s.pam.pam_verbosity = 0);
    let mut grace = 6u32.to_ne_bytes().to_vec();
    grace.extend_from_slice(&3u32.to_ne_bytes());
    f.backend.items.lock().unwrap().extend([
        (response::USER_INFO, grace),
        (response::ALL_ENV_ITEM, b"KRB5CCNAME=FILE:/tmp/x\0".to_vec()),
    ]);
    let srv = start(f.responder.clone());
    let mut s = connect(&srv).await;
    let body = encode_request(&PamRequest {
        user: Some("user0001".into()),
        service: Some("sudo-i".into()),
        cli_pid: Some(3),
        ..PamRequest::default()
    });
    let (_, b) = roundtrip(&mut s, 0xF3, &body).await.unwrap();
    let reply = decode_reply(&b).unwrap();
    let kinds: Vec<u32> = reply.items.iter().map(|i| i.kind).collect();
    assert_eq!(kinds, vec![response::DOMAIN_NAME]);
}

/// Runs one PAM request as uid/gid 65534 in a forked child and returns its PAM status
/// (or 200+ for a transport failure). The child only makes raw system calls on buffers
/// prepared before the fork.
fn status_as_nobody(path: &Path, cmd: u32, body: &[u8]) -> i32 {
    use std::os::unix::ffi::OsStrExt;
    let ver = packet(1, 0, &3u32.to_ne_bytes());
    let req = packet(cmd, 0, body);
    // SAFETY: sockaddr_un is plain old data; all-zero is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let p = path.as_os_str().as_bytes();
    assert!(p.len() < addr.sun_path.len());
    for (d, s) in addr.sun_path.iter_mut().zip(p) {
        *d = *s as libc::c_char;
    }
    let mut buf = [0u8; 4096];
    fn write_all(fd: i32, mut data: &[u8]) -> bool {
        while !data.is_empty() {
            // SAFETY: data is a valid buffer of data.len() bytes.
            let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
            if n <= 0 {
                return false;
            }
            data = &data[n as usize..];
        }
        true
    }
    fn read_n(fd: i32, buf: &mut [u8], want: usize) -> usize {
        let mut got = 0;
        while got < want {
            // SAFETY: buf[got..] is a valid writable buffer.
            let n = unsafe { libc::read(fd, buf[got..].as_mut_ptr().cast(), buf.len() - got) };
            if n <= 0 {
                break;
            }
            got += n as usize;
        }
        got
    }
    // SAFETY: the child calls only async-signal-safe functions and exits with _exit.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let code = (|| -> i32 {
            // SAFETY: raw system calls on valid arguments.
            unsafe {
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setresgid(65534, 65534, 65534) != 0
                    || libc::setresuid(65534, 65534, 65534) != 0
                {
                    return 201;
                }
                let fd = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0);
                if fd < 0 {
                    return 202;
                }
                let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
                if libc::connect(fd, (&raw const addr).cast(), len) != 0 {
                    return 203;
                }
                if !write_all(fd, &ver) || read_n(fd, &mut buf, 20) < 20 {
                    return 204;
                }
                if !write_all(fd, &req) || read_n(fd, &mut buf, 24) < 24 {
                    return 205;
                }
                i32::from_ne_bytes([buf[16], buf[17], buf[18], buf[19]])
            }
        })();
        // SAFETY: leaving the forked child without running any destructor.
        unsafe { libc::_exit(code) };
    }
    assert!(pid > 0, "fork failed");
    let mut st = 0;
    // SAFETY: waiting for our own child.
    let r = unsafe { libc::waitpid(pid, &mut st, 0) };
    assert_eq!(r, pid);
    assert!(libc::WIFEXITED(st), "child status {st}");
    libc::WEXITSTATUS(st)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_root_client_with_non_public_domains_is_denied() {
    if !nix::unistd::geteuid().is_root() {
        // Already unprivileged: the peer is non-root as it is.
        let f = fixture(|_| {});
        let srv = start(f.responder.clone());
        let mut s = connect(&srv).await;
        let body = auth_request("user0001", "secret", Some("LDAP"));
        assert_eq!(pam_status(&mut s, AUTH, &body).await, status::PERM_DENIED);
        return;
    }
    let f = fixture(|_| {});
    let srv = start(f.responder.clone());
    std::fs::set_permissions(srv.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        srv.path.parent().unwrap(),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let run = |body: Vec<u8>| {
        let path = srv.path.clone();
        tokio::task::spawn_blocking(move || status_as_nobody(&path, AUTH, &body))
    };
    let denied = run(auth_request("user0001", "secret", Some("LDAP")))
        .await
        .unwrap();
    assert_eq!(denied, status::PERM_DENIED);
    let public = run(auth_request("pubuser", "pubpass", Some("PUB")))
        .await
        .unwrap();
    assert_eq!(public, status::SUCCESS);
    let plain = run(auth_request("user0001", "secret", None)).await.unwrap();
    assert_eq!(plain, status::SUCCESS);
    // Root may name the domain.
    let mut s = connect(&srv).await;
    let body = auth_request("user0001", "secret", Some("LDAP"));
    assert_eq!(pam_status(&mut s, AUTH, &body).await, status::SUCCESS);
}
