//! Socket-level tests: a real server on a temporary socket path.

use super::NssResponder;
use super::fake::{FakeClock, FakeSource};
use super::settings::NssSettings;
use super::source::DomainSource;
use crate::config::DomainOptions;
use crate::model::User;
use crate::responder::common::admission::{Admission, ConnLimits};
use crate::responder::common::{
    Action, ClientInfo, CommandHandler, ServerConfig, bind_socket, serve,
};
use sss_proto::{Header, packet};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

struct Server {
    path: PathBuf,
    _dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn fake() -> (NssResponder, FakeSource) {
    let clock = FakeClock::at(1_000_000);
    let src = FakeSource::new(clock.clone(), 100);
    src.add_user(
        User {
            name: "user0001".into(),
            uid: 10001,
            gid: 10000,
            gecos: "User 0001".into(),
            home: "/home/user0001".into(),
            shell: "/bin/bash".into(),
            ..User::default()
        },
        1_000_000,
        i64::MAX / 2,
    );
    let s = NssSettings::new(vec![DomainOptions::defaults("LDAP", "ldap")]);
    let sources: Vec<Arc<dyn DomainSource>> = vec![Arc::new(src.clone())];
    (NssResponder::new(s, sources, clock), src)
}

fn start<H: CommandHandler>(h: H, tweak: impl FnOnce(&mut ServerConfig)) -> Server {
    start_limited(h, tweak, ConnLimits::for_fd_limit(1024))
}

fn start_limited<H: CommandHandler>(
    h: H,
    tweak: impl FnOnce(&mut ServerConfig),
    limits: ConnLimits,
) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pipes/nss");
    let mut cfg = ServerConfig::nss(path.clone());
    tweak(&mut cfg);
    let l = bind_socket(&cfg).unwrap();
    let h = Arc::new(h);
    let admission = Admission::new(limits);
    let task = tokio::spawn(async move { serve(l, h, &cfg, admission).await });
    Server {
        path,
        _dir: dir,
        task,
    }
}

async fn roundtrip(
    s: &mut UnixStream,
    cmd: u32,
    body: &[u8],
) -> std::io::Result<(Header, Vec<u8>)> {
    s.write_all(&packet(cmd, 0, body)).await?;
    read_reply(s).await
}

async fn read_reply(s: &mut UnixStream) -> std::io::Result<(Header, Vec<u8>)> {
    let mut h = [0u8; 16];
    s.read_exact(&mut h).await?;
    let h = Header::decode(&h).map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut b = vec![0u8; h.body_len()];
    s.read_exact(&mut b).await?;
    Ok((h, b))
}

async fn connect(srv: &Server) -> UnixStream {
    let mut s = UnixStream::connect(&srv.path).await.unwrap();
    let (h, b) = roundtrip(&mut s, 1, &1u32.to_ne_bytes()).await.unwrap();
    assert_eq!((h.status, b), (0, vec![1, 0, 0, 0]));
    s
}

/// True when the server closed the connection (EOF or reset) within a second.
async fn closed(s: &mut UnixStream) -> bool {
    let mut b = [0u8; 64];
    matches!(
        tokio::time::timeout(Duration::from_secs(1), s.read(&mut b)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

#[tokio::test]
async fn socket_mode_and_stale_socket() {
    let (r, _) = fake();
    let srv = start(r.clone(), |_| {});
    let m = std::fs::metadata(&srv.path).unwrap();
    assert_eq!(m.permissions().mode() & 0o777, 0o666);
    let d = std::fs::metadata(srv.path.parent().unwrap()).unwrap();
    assert!(d.is_dir());
    // Binding again over the (now stale from our view) socket replaces it.
    let cfg = ServerConfig::nss(srv.path.clone());
    assert!(bind_socket(&cfg).is_ok());
    // A regular file in the way is refused.
    let f = srv.path.with_file_name("plain");
    std::fs::write(&f, b"x").unwrap();
    assert!(bind_socket(&ServerConfig::nss(f)).is_err());
}

#[tokio::test]
async fn getpwnam_reply_is_byte_exact() {
    let (r, _) = fake();
    let srv = start(r, |_| {});
    let mut s = connect(&srv).await;
    s.write_all(&packet(0x11, 0, b"user0001\0")).await.unwrap();
    let mut want = Vec::new();
    let body: &[u8] = b"user0001\0*\0User 0001\0/home/user0001\0/bin/bash\0";
    let len = 16 + 16 + body.len() as u32;
    for w in [len, 0x11, 0, 0, 1, 0, 10001, 10000] {
        want.extend_from_slice(&w.to_ne_bytes());
    }
    want.extend_from_slice(body);
    let mut got = vec![0u8; want.len()];
    s.read_exact(&mut got).await.unwrap();
    assert_eq!(got, want);
    // Unknown name: status 0, 8 zero bytes.
    let (h, b) = roundtrip(&mut s, 0x11, b"nobody\0").await.unwrap();
    assert_eq!((h.len, h.status, b), (24, 0, vec![0u8; 8]));
}

#[tokio::test]
async fn version_negotiation_nss_and_pam_lists() {
    let (r, _) = fake();
    let srv = start(r, |_| {});
    let mut s = UnixStream::connect(&srv.path).await.unwrap();
    let (_, b) = roundtrip(&mut s, 1, &3u32.to_ne_bytes()).await.unwrap();
    assert_eq!(b, 1u32.to_ne_bytes());

    struct Nop;
    impl CommandHandler for Nop {
        type Conn = ();
        async fn handle(&self, _: &mut (), c: &ClientInfo, _: u32, _: &[u8]) -> Action {
            Action::ok(c.version.to_ne_bytes().to_vec())
        }
    }
    let pam = start(Nop, |c| c.versions = vec![3, 2, 1]);
    for (ask, want) in [(3u32, 3u32), (2, 2), (1, 1), (9, 3)] {
        let mut s = UnixStream::connect(&pam.path).await.unwrap();
        let (_, b) = roundtrip(&mut s, 1, &ask.to_ne_bytes()).await.unwrap();
        assert_eq!(b, want.to_ne_bytes());
        // The handler sees the negotiated version.
        let (_, b) = roundtrip(&mut s, 0xF1, b"").await.unwrap();
        assert_eq!(b, want.to_ne_bytes());
    }
}

#[tokio::test]
async fn command_before_get_version_closes() {
    let (r, _) = fake();
    let srv = start(r, |_| {});
    let mut s = UnixStream::connect(&srv.path).await.unwrap();
    s.write_all(&packet(0x11, 0, b"user0001\0")).await.unwrap();
    assert!(closed(&mut s).await);
}

#[tokio::test]
async fn oversized_request_closes_only_that_connection() {
    let (r, _) = fake();
    let srv = start(r, |_| {});
    let mut good = connect(&srv).await;
    let mut bad = connect(&srv).await;
    let big = vec![b'a'; 2000 - 16];
    let _ = bad.write_all(&packet(0x11, 0, &big)).await;
    assert!(closed(&mut bad).await);
    let (h, b) = roundtrip(&mut good, 0x11, b"user0001\0").await.unwrap();
    assert_eq!((h.status, &b[..4]), (0, &1u32.to_ne_bytes()[..]));
    // 1536 bytes exactly is accepted (a bad name, but a reply).
    let mut edge = connect(&srv).await;
    let mut body = vec![b'a'; 1536 - 16 - 1];
    body.push(0);
    let (h, _) = roundtrip(&mut edge, 0x11, &body).await.unwrap();
    assert_eq!(h.status, 0);
}

#[tokio::test]
async fn unknown_command_and_garbage_close() {
    let (r, _) = fake();
    let srv = start(r, |_| {});
    let mut s = connect(&srv).await;
    s.write_all(&packet(0x0999, 0, b"")).await.unwrap();
    assert!(closed(&mut s).await);
    // Length field below 16.
    let mut s = connect(&srv).await;
    s.write_all(&[3, 0, 0, 0, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        .await
        .unwrap();
    assert!(closed(&mut s).await);
    // Random bytes straight away.
    let mut s = UnixStream::connect(&srv.path).await.unwrap();
    s.write_all(&[0xff; 40]).await.unwrap();
    assert!(closed(&mut s).await);
    // The server still serves.
    let mut s = connect(&srv).await;
    let (h, _) = roundtrip(&mut s, 0x11, b"user0001\0").await.unwrap();
    assert_eq!(h.status, 0);
}

#[tokio::test]
async fn bad_utf8_gets_einval_and_keeps_connection() {
    let (r, _) = fake();
    let srv = start(r, |_| {});
    let mut s = connect(&srv).await;
    let (h, b) = roundtrip(&mut s, 0x11, b"us\xffer\0").await.unwrap();
    assert_eq!((h.len, h.cmd, h.status, b.len()), (16, 0x11, 22, 0));
    let (h, b) = roundtrip(&mut s, 0x11, b"\0").await.unwrap();
    assert_eq!((h.status, b.len()), (22, 0));
    let (h, b) = roundtrip(&mut s, 0x11, b"user0001\0").await.unwrap();
    assert_eq!((h.status, &b[..4]), (0, &1u32.to_ne_bytes()[..]));
}

#[tokio::test]
async fn idle_connections_are_closed() {
    let (r, _) = fake();
    let srv = start(r, |c| c.idle_timeout = Duration::from_millis(200));
    let mut s = connect(&srv).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (h, _) = roundtrip(&mut s, 0x11, b"user0001\0").await.unwrap();
    assert_eq!(h.status, 0);
    let t = Instant::now();
    assert!(closed(&mut s).await);
    assert!(t.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn a_request_trickled_a_byte_at_a_time_is_cut_off() {
    let (r, _) = fake();
    let srv = start(r, |c| c.idle_timeout = Duration::from_millis(400));
    let mut s = connect(&srv).await;
    let req = packet(0x11, 0, b"user0001\0");
    let t = Instant::now();
    let mut cut = false;
    for b in req.iter().cycle().take(200) {
        if s.write_all(&[*b]).await.is_err() {
            cut = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
        if t.elapsed() > Duration::from_secs(3) {
            break;
        }
    }
    let cut = cut || closed(&mut s).await;
    assert!(cut, "a trickling client kept its connection");
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(350) && took < Duration::from_secs(2),
        "{took:?}"
    );
}

#[tokio::test]
async fn a_full_responder_closes_the_oldest_idle_connection() {
    let (r, _) = fake();
    let limits = ConnLimits {
        total: 3,
        per_uid: 2,
        reserve: 1,
    };
    let srv = start_limited(r, |_| {}, limits);
    let mut first = connect(&srv).await;
    let _second = connect(&srv).await;
    let _third = connect(&srv).await;
    let mut fourth = connect(&srv).await;
    assert!(
        closed(&mut first).await,
        "the oldest idle connection stays open"
    );
    let (h, _) = roundtrip(&mut fourth, 0x11, b"user0001\0").await.unwrap();
    assert_eq!(h.status, 0);
}

#[tokio::test]
async fn many_clients_interleaved() {
    let (r, _) = fake();
    let srv = start(r, |_| {});
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let p = srv.path.clone();
        tasks.push(tokio::spawn(async move {
            let mut s = UnixStream::connect(&p).await.unwrap();
            roundtrip(&mut s, 1, &1u32.to_ne_bytes()).await.unwrap();
            for _ in 0..20 {
                let (h, b) = roundtrip(&mut s, 0x12, &10001u32.to_ne_bytes())
                    .await
                    .unwrap();
                assert_eq!((h.status, &b[..4]), (0, &1u32.to_ne_bytes()[..]));
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// Sequential warm getpwnam throughput through the socket against the fake source.
/// Run: `cargo test -p sssd --release --lib getpwnam_throughput -- --ignored --nocapture`.
#[test]
#[ignore]
fn getpwnam_throughput() {
    use std::io::{Read, Write};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let srv = rt.block_on(async {
        let (r, _) = fake();
        start(r, |_| {})
    });
    let mut s = std::os::unix::net::UnixStream::connect(&srv.path).unwrap();
    let rd = |s: &mut std::os::unix::net::UnixStream| {
        let mut h = [0u8; 16];
        s.read_exact(&mut h).unwrap();
        let h = Header::decode(&h).unwrap();
        let mut b = vec![0u8; h.body_len()];
        s.read_exact(&mut b).unwrap();
        b
    };
    s.write_all(&packet(1, 0, &1u32.to_ne_bytes())).unwrap();
    rd(&mut s);
    let req = packet(0x11, 0, b"user0001\0");
    let n = 20_000;
    let t = Instant::now();
    for _ in 0..n {
        s.write_all(&req).unwrap();
        let b = rd(&mut s);
        assert_eq!(&b[..4], &1u32.to_ne_bytes());
    }
    let el = t.elapsed();
    println!(
        "{n} getpwnam in {el:?}: {:.0} ops/s",
        n as f64 / el.as_secs_f64()
    );
    rt.block_on(async { drop(srv) });
}

#[tokio::test]
async fn allowed_uids_are_enforced() {
    let me = nix::unistd::geteuid().as_raw();
    let (r, _) = fake();
    let srv = start(r.clone(), |c| {
        c.allowed_uids = Some(vec![me.wrapping_add(1)])
    });
    let mut s = UnixStream::connect(&srv.path).await.unwrap();
    let _ = s.write_all(&packet(1, 0, &1u32.to_ne_bytes())).await;
    assert!(closed(&mut s).await);
    let srv = start(r, |c| c.allowed_uids = Some(vec![me]));
    connect(&srv).await;
}

#[tokio::test]
async fn clear_enum_cache_during_use() {
    let (r, src) = fake();
    let srv = start(r.clone(), |_| {});
    let _ = srv;
    let ctx = r.ctx();
    let a = super::enumerate::snapshot(ctx, super::enumerate::Db::Passwd).await;
    let b = super::enumerate::snapshot(ctx, super::enumerate::Db::Passwd).await;
    assert!(Arc::ptr_eq(&a, &b));
    r.service_handler().clear_enum_cache();
    let c = super::enumerate::snapshot(ctx, super::enumerate::Db::Passwd).await;
    assert!(!Arc::ptr_eq(&a, &c));
    assert_eq!(src.refresh_count(), 0);
}

/// The same loop through the real LMDB cache (`CacheSource`, no backend).
/// Run: `cargo test -p sssd --lib getpwnam_throughput_lmdb -- --ignored --nocapture`.
#[test]
#[ignore]
fn getpwnam_throughput_lmdb() {
    use super::source::{CacheSource, SystemClock};
    use std::io::{Read, Write};
    let db = tempfile::tempdir().unwrap();
    let cache = crate::cache::Cache::open(db.path(), "LDAP").unwrap();
    let now = super::source::Clock::now(&SystemClock);
    let mut w = cache.writer().unwrap();
    let u = User {
        name: "user0001".into(),
        uid: 10001,
        gid: 10000,
        gecos: "User 0001".into(),
        home: "/home/user0001".into(),
        shell: "/bin/bash".into(),
        ..User::default()
    };
    w.put_user(&u, now, now + 3600).unwrap();
    w.commit().unwrap();
    let src = CacheSource::new("LDAP", Arc::new(cache), None, Duration::from_secs(5));
    let s = NssSettings::new(vec![DomainOptions::defaults("LDAP", "ldap")]);
    let r = NssResponder::new(s, vec![Arc::new(src)], Arc::new(SystemClock));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let srv = rt.block_on(async { start(r, |_| {}) });
    let mut s = std::os::unix::net::UnixStream::connect(&srv.path).unwrap();
    let rd = |s: &mut std::os::unix::net::UnixStream| {
        let mut h = [0u8; 16];
        s.read_exact(&mut h).unwrap();
        let h = Header::decode(&h).unwrap();
        let mut b = vec![0u8; h.body_len()];
        s.read_exact(&mut b).unwrap();
        b
    };
    s.write_all(&packet(1, 0, &1u32.to_ne_bytes())).unwrap();
    rd(&mut s);
    let req = packet(0x11, 0, b"user0001\0");
    let n = 20_000;
    let t = Instant::now();
    for _ in 0..n {
        s.write_all(&req).unwrap();
        let b = rd(&mut s);
        assert_eq!(&b[..4], &1u32.to_ne_bytes());
    }
    let el = t.elapsed();
    println!(
        "{n} getpwnam (LMDB) in {el:?}: {:.0} ops/s",
        n as f64 / el.as_secs_f64()
    );
    rt.block_on(async { drop(srv) });
}
