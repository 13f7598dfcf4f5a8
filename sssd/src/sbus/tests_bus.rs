//! Bus round trips through a real embedded broker in a temporary directory.

use super::*;
use std::sync::Mutex;
use std::time::Duration;

struct FakeBackend {
    delay: Duration,
    seen: Mutex<Vec<AccountRequest>>,
}

impl AccountInfoHandler for FakeBackend {
    fn get_account_info(&self, req: AccountRequest) -> BoxFuture<DpReply> {
        if let Ok(mut seen) = self.seen.lock() {
            seen.push(req.clone());
        }
        let delay = self.delay;
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            match req.filter {
                Filter::Name(n) if n == "offline" => DpReply {
                    dp_error: DP_ERR_OFFLINE,
                    error: 0,
                    message: "offline".into(),
                },
                _ => DpReply::ok(),
            }
        })
    }

    fn pam_handler(&self, req: PamForward) -> BoxFuture<PamResult> {
        Box::pin(async move {
            let ok = req.authtok.as_slice() == b"Secret123" && req.cmd == 0xF1;
            PamResult {
                pam_status: if ok { 0 } else { 7 },
                items: vec![
                    (2, format!("{}\0", req.domain).into_bytes()),
                    (4, vec![1, 2]),
                ],
            }
        })
    }
}

#[derive(Default)]
struct CountingService(Mutex<Vec<&'static str>>);

impl ServiceHandler for CountingService {
    fn go_offline(&self) {
        if let Ok(mut v) = self.0.lock() {
            v.push("offline");
        }
    }
    fn clear_negcache(&self) {
        if let Ok(mut v) = self.0.lock() {
            v.push("negcache");
        }
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    _host: BusHost,
    paths: Paths,
    backend: Arc<FakeBackend>,
    _backend_bus: Bus,
}

async fn setup(delay: Duration) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::under(dir.path());
    let host = BusHost::start(&paths).unwrap();
    let backend_bus = connect(&paths, &domain_bus_name("LDAP")).await.unwrap();
    let backend = Arc::new(FakeBackend {
        delay,
        seen: Mutex::new(Vec::new()),
    });
    serve_data_provider(&backend_bus, backend.clone())
        .await
        .unwrap();
    Setup {
        _dir: dir,
        _host: host,
        paths,
        backend,
        _backend_bus: backend_bus,
    }
}

fn request(filter: Filter) -> AccountRequest {
    AccountRequest {
        dp_flags: DP_FAST_REPLY,
        entry_type: EntryType::User,
        filter,
        domain: "LDAP".into(),
        extra: String::new(),
        cli_id: 42,
    }
}

#[tokio::test]
async fn get_account_info_round_trip() {
    let s = setup(Duration::ZERO).await;
    let client = DataProviderClient::new(connect(&s.paths, NSS_NAME).await.unwrap());
    let req = request(Filter::Name("alice".into()));
    let reply = client
        .get_account_info(&req, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(reply, DpReply::ok());
    let reply = client
        .get_account_info(
            &request(Filter::Name("offline".into())),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(reply.dp_error, DP_ERR_OFFLINE);
    let seen = s.backend.seen.lock().unwrap().clone();
    assert_eq!(seen.first(), Some(&req));
    assert_eq!(seen.len(), 2);
}

#[tokio::test]
async fn slow_backend_times_out() {
    let s = setup(Duration::from_secs(3)).await;
    let client = DataProviderClient::new(connect(&s.paths, NSS_NAME).await.unwrap());
    let started = std::time::Instant::now();
    let err = client
        .get_account_info(&request(Filter::Enumerate), Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(matches!(err, SbusError::Timeout { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn bad_filter_is_fatal() {
    let s = setup(Duration::ZERO).await;
    let bus = connect(&s.paths, NSS_NAME).await.unwrap();
    let (dp_error, error, message): (u16, u32, String) = client::call(
        &bus,
        &domain_bus_name("LDAP"),
        DATA_PROVIDER_INTERFACE,
        "getAccountInfo",
        &(0u32, 1u32, "nonsense", "LDAP", "", 1u32),
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert_eq!(dp_error, DP_ERR_FATAL);
    assert_eq!(error, libc::EINVAL as u32);
    assert!(message.contains("nonsense"), "{message}");
    assert!(s.backend.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn unknown_backend_is_an_error() {
    let s = setup(Duration::ZERO).await;
    let client = DataProviderClient::new(connect(&s.paths, NSS_NAME).await.unwrap());
    let mut req = request(Filter::Enumerate);
    req.domain = "nowhere".into();
    let err = client
        .get_account_info(&req, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(matches!(err, SbusError::Bus { .. }), "{err}");
}

#[tokio::test]
async fn register_and_relay_service_calls() {
    struct Registered(Mutex<Vec<String>>);
    impl MonitorHandler for Registered {
        fn service_registered(&self, name: &str, _version: u16) {
            if let Ok(mut v) = self.0.lock() {
                v.push(name.to_string());
            }
        }
    }
    let s = setup(Duration::ZERO).await;
    let monitor = connect(&s.paths, MONITOR_NAME).await.unwrap();
    let registered = Arc::new(Registered(Mutex::new(Vec::new())));
    serve_monitor(&monitor, registered.clone()).await.unwrap();

    let nss = connect(&s.paths, NSS_NAME).await.unwrap();
    let svc = Arc::new(CountingService::default());
    serve_service(&nss, svc.clone()).await.unwrap();
    assert_eq!(
        register_service(&nss, "nss").await.unwrap(),
        MONITOR_VERSION
    );
    assert_eq!(*registered.0.lock().unwrap(), vec!["nss".to_string()]);

    let t = Duration::from_secs(5);
    call_service(&monitor, NSS_NAME, ServiceMethod::ClearNegcache, t)
        .await
        .unwrap();
    call_service(&monitor, NSS_NAME, ServiceMethod::GoOffline, t)
        .await
        .unwrap();
    call_service(&monitor, NSS_NAME, ServiceMethod::RotateLogs, t)
        .await
        .unwrap();
    assert_eq!(*svc.0.lock().unwrap(), vec!["negcache", "offline"]);
}

#[tokio::test]
async fn calls_reuse_the_connection_quickly() {
    let s = setup(Duration::ZERO).await;
    let client = DataProviderClient::new(connect(&s.paths, NSS_NAME).await.unwrap());
    let req = request(Filter::Name("alice".into()));
    let n = 300;
    let started = std::time::Instant::now();
    for _ in 0..n {
        let reply = client
            .get_account_info(&req, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(reply.dp_error, DP_ERR_OK);
    }
    let per_call = started.elapsed() / n;
    eprintln!("getAccountInfo through the broker: {per_call:?} per call");
    // Generous bound for a loaded debug build; a per-call connection would blow it.
    assert!(per_call < Duration::from_millis(20), "{per_call:?}");
}

#[tokio::test]
async fn direct_socket_is_preferred_and_the_bus_is_the_fallback() {
    use std::os::unix::fs::PermissionsExt;
    let s = setup(Duration::ZERO).await;
    let bus = connect(&s.paths, NSS_NAME).await.unwrap();
    let client = DataProviderClient::with_direct(bus, &s.paths);
    let req = request(Filter::Name("alice".into()));
    let t = Duration::from_secs(5);
    // No direct socket yet: the bus answers.
    assert_eq!(
        client.get_account_info(&req, t).await.unwrap(),
        DpReply::ok()
    );
    assert_eq!(s.backend.seen.lock().unwrap().len(), 1);

    let direct = Arc::new(FakeBackend {
        delay: Duration::ZERO,
        seen: Mutex::new(Vec::new()),
    });
    let server = serve_data_provider_direct(&s.paths, "LDAP", direct.clone())
        .await
        .unwrap();
    let socket = dp_socket_path(&s.paths, "LDAP");
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    for _ in 0..2 {
        assert_eq!(
            client.get_account_info(&req, t).await.unwrap(),
            DpReply::ok()
        );
    }
    let offline = request(Filter::Name("offline".into()));
    let r = client.get_account_info(&offline, t).await.unwrap();
    assert_eq!(r.dp_error, DP_ERR_OFFLINE);
    assert_eq!(direct.seen.lock().unwrap().len(), 3);
    assert_eq!(direct.seen.lock().unwrap().first(), Some(&req));
    assert_eq!(s.backend.seen.lock().unwrap().len(), 1, "bus not used");

    // The listener is gone and the socket removed; a new client falls back to the bus.
    drop(server);
    assert!(!socket.exists());
    let bus = connect(&s.paths, "sssd.other").await.unwrap();
    let other = DataProviderClient::with_direct(bus, &s.paths);
    assert_eq!(
        other.get_account_info(&req, t).await.unwrap(),
        DpReply::ok()
    );
    assert_eq!(s.backend.seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn direct_calls_time_out() {
    let s = setup(Duration::ZERO).await;
    let slow = Arc::new(FakeBackend {
        delay: Duration::from_secs(3),
        seen: Mutex::new(Vec::new()),
    });
    let _server = serve_data_provider_direct(&s.paths, "LDAP", slow)
        .await
        .unwrap();
    let bus = connect(&s.paths, NSS_NAME).await.unwrap();
    let client = DataProviderClient::with_direct(bus, &s.paths);
    let started = std::time::Instant::now();
    let err = client
        .get_account_info(&request(Filter::Enumerate), Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(matches!(err, SbusError::Timeout { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        s.backend.seen.lock().unwrap().len(),
        0,
        "no retry on the bus"
    );
}

#[test]
fn direct_socket_names_stay_one_component() {
    let p = Paths::under(std::path::Path::new("/x"));
    let name = |d: &str| {
        dp_socket_path(&p, d)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    assert_eq!(name("LDAP"), "sbus-dp_LDAP");
    assert_eq!(name("example.com"), "sbus-dp_example.com");
    assert_eq!(name("../etc"), "sbus-dp__2e._2fetc");
    assert_eq!(name("a/b"), "sbus-dp_a_2fb");
}

#[tokio::test]
async fn pam_handler_round_trips_on_bus_and_direct_socket() {
    let s = setup(Duration::ZERO).await;
    let bus = connect(&s.paths, PAM_NAME).await.unwrap();
    let client = DataProviderClient::with_direct(bus, &s.paths);
    let mut req = PamForward {
        cmd: 0xF1,
        domain: "LDAP".into(),
        user: "alice".into(),
        service: "login".into(),
        authtok_type: 1,
        authtok: zeroize::Zeroizing::new(b"Secret123".to_vec()),
        cli_pid: 42,
        ..PamForward::default()
    };
    let t = Duration::from_secs(5);
    let r = client.pam_handler(&req, t).await.unwrap();
    assert_eq!(r.pam_status, 0);
    assert_eq!(r.items, vec![(2, b"LDAP\0".to_vec()), (4, vec![1, 2])]);
    let direct = Arc::new(FakeBackend {
        delay: Duration::ZERO,
        seen: Mutex::new(Vec::new()),
    });
    let _server = serve_data_provider_direct(&s.paths, "LDAP", direct)
        .await
        .unwrap();
    req.authtok = zeroize::Zeroizing::new(b"wrong".to_vec());
    assert_eq!(client.pam_handler(&req, t).await.unwrap().pam_status, 7);
    assert!(!format!("{req:?}").contains("wrong"));
    // An empty user is refused by the interface before any handler runs.
    req.user.clear();
    assert_eq!(client.pam_handler(&req, t).await.unwrap().pam_status, 4);
}

#[tokio::test]
async fn memory_cache_calls_reach_the_nss_responder() {
    #[derive(Default)]
    struct Seen(Mutex<Vec<String>>);
    impl MemoryCacheHandler for Seen {
        fn update_initgroups(&self, user: &str, domain: &str, groups: &[u32]) {
            self.0
                .lock()
                .unwrap()
                .push(format!("update {user} {domain} {groups:?}"));
        }
        fn invalidate_all_users(&self) {
            self.0.lock().unwrap().push("users".into());
        }
        fn invalidate_all_groups(&self) {
            self.0.lock().unwrap().push("groups".into());
        }
        fn invalidate_all_initgroups(&self) {
            self.0.lock().unwrap().push("initgroups".into());
        }
        fn invalidate_group_by_id(&self, gid: u32) {
            self.0.lock().unwrap().push(format!("gid {gid}"));
        }
    }
    let s = setup(Duration::ZERO).await;
    let be = connect(&s.paths, "sssd.domain_X").await.unwrap();
    let t = Duration::from_secs(5);
    // No sssd.nss on the bus: an error at once, not a timeout.
    let started = std::time::Instant::now();
    let err = memcache::invalidate_group_by_id(&be, 5, t)
        .await
        .unwrap_err();
    assert!(matches!(err, SbusError::Bus { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));

    let nss = connect(&s.paths, NSS_NAME).await.unwrap();
    let seen = Arc::new(Seen::default());
    serve_memcache(&nss, seen.clone()).await.unwrap();
    memcache::update_initgroups(&be, "alice@LDAP", "LDAP", &[10, 20], t)
        .await
        .unwrap();
    memcache::invalidate_group_by_id(&be, 7, t).await.unwrap();
    for m in [
        "InvalidateAllUsers",
        "InvalidateAllGroups",
        "InvalidateAllInitgroups",
    ] {
        client::call::<_, ()>(&be, NSS_NAME, MEMCACHE_INTERFACE, m, &(), t)
            .await
            .unwrap();
    }
    assert_eq!(
        *seen.0.lock().unwrap(),
        vec![
            "update alice@LDAP LDAP [10, 20]".to_string(),
            "gid 7".into(),
            "users".into(),
            "groups".into(),
            "initgroups".into()
        ]
    );
}
