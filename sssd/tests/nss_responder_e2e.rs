//! End to end: the real `sssd_nss` binary on a private bus (embedded broker) with a real
//! LMDB cache and a scripted backend serving `sssd.dataprovider` as `sssd.domain_LDAP`.
//! Everything lives under a temporary root (`SSSD_TEST_ROOT`); nothing on the host changes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use sss_proto::{Header, packet};
use sssd::cache::Cache;
use sssd::model::User;
use sssd::paths::Paths;
use sssd::sbus::{self, AccountInfoHandler, AccountRequest, BoxFuture, BusHost, DpReply, Filter};
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn user(name: &str, uid: u32) -> User {
    User {
        name: name.into(),
        uid,
        gid: 10000,
        gecos: format!("User {name}"),
        home: format!("/home/{name}"),
        shell: "/bin/bash".into(),
        ..User::default()
    }
}

/// Writes `name=lateuser` into the cache when asked; counts calls.
struct Backend {
    db: PathBuf,
    calls: Arc<AtomicUsize>,
}

impl AccountInfoHandler for Backend {
    fn get_account_info(&self, req: AccountRequest) -> BoxFuture<DpReply> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let db = self.db.clone();
        Box::pin(async move {
            if req.filter == Filter::Name("lateuser".into()) {
                let c = Cache::open(&db, "LDAP").unwrap();
                let mut w = c.writer().unwrap();
                w.put_user(&user("lateuser", 10002), now(), now() + 100)
                    .unwrap();
                w.commit().unwrap();
            }
            DpReply::ok()
        })
    }
}

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn request(s: &mut UnixStream, cmd: u32, body: &[u8]) -> (Header, Vec<u8>) {
    s.write_all(&packet(cmd, 0, body)).unwrap();
    let mut h = [0u8; 16];
    s.read_exact(&mut h).unwrap();
    let h = Header::decode(&h).unwrap();
    let mut b = vec![0u8; h.body_len()];
    s.read_exact(&mut b).unwrap();
    (h, b)
}

#[test]
fn sssd_nss_serves_cache_and_asks_backend() {
    let root = tempfile::tempdir().unwrap();
    let paths = Paths::under(root.path());
    std::fs::create_dir_all(paths.config_file.parent().unwrap()).unwrap();
    std::fs::write(
        &paths.config_file,
        "[sssd]\ndomains = LDAP\nservices = nss\n\n[nss]\n\n[domain/LDAP]\nid_provider = ldap\nldap_uri = ldap://127.0.0.1:9\n",
    )
    .unwrap();
    std::fs::set_permissions(&paths.config_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    {
        let c = Cache::open(&paths.db, "LDAP").unwrap();
        let mut w = c.writer().unwrap();
        w.put_user(&user("user0001", 10001), now(), now() + 3600)
            .unwrap();
        w.commit().unwrap();
    }
    let _host = BusHost::start(&paths).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let _backend = rt.block_on(async {
        let bus = sbus::connect(&paths, &sbus::domain_bus_name("LDAP"))
            .await
            .unwrap();
        let h = Arc::new(Backend {
            db: paths.db.clone(),
            calls: calls.clone(),
        });
        sbus::serve_data_provider(&bus, h).await.unwrap();
        bus
    });
    let child = Command::new(env!("CARGO_BIN_EXE_sssd_nss"))
        .env("SSSD_TEST_ROOT", root.path())
        .arg("--logger=stderr")
        .spawn()
        .unwrap();
    let _child = Kill(child);
    let sock = paths.nss_socket();
    let t = Instant::now();
    let mut s = loop {
        if let Ok(s) = UnixStream::connect(&sock) {
            break s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "sssd_nss did not listen on {}",
            sock.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let (h, b) = request(&mut s, 1, &1u32.to_ne_bytes());
    assert_eq!((h.status, b), (0, 1u32.to_ne_bytes().to_vec()));
    // Cached and fresh: byte-exact, no backend call.
    let (h, b) = request(&mut s, 0x11, b"user0001\0");
    let mut want = Vec::new();
    for w in [1u32, 0, 10001, 10000] {
        want.extend_from_slice(&w.to_ne_bytes());
    }
    want.extend_from_slice(b"user0001\0*\0User user0001\0/home/user0001\0/bin/bash\0");
    assert_eq!((h.status, b), (0, want));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    // Missing: the backend writes it, the responder re-reads the cache.
    let (h, b) = request(&mut s, 0x11, b"lateuser\0");
    assert_eq!(h.status, 0);
    assert_eq!(&b[..4], &1u32.to_ne_bytes());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // Unknown: not found, then negative-cached.
    let (_, b) = request(&mut s, 0x11, b"nobody\0");
    assert_eq!(b, vec![0u8; 8]);
    let (_, b) = request(&mut s, 0x11, b"nobody\0");
    assert_eq!(b, vec![0u8; 8]);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // By uid.
    let (_, b) = request(&mut s, 0x12, &10001u32.to_ne_bytes());
    assert_eq!(&b[..4], &1u32.to_ne_bytes());
}
