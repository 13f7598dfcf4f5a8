//! Runs the real `sssd_be` under `SSSD_TEST_ROOT` against a private slapd: an in-process
//! bus broker and fake monitor, `getAccountInfo` over the bus, results read back from the
//! domain cache, goOffline/resetOffline relayed as service calls, clean exit on SIGTERM.
//! Skipped (with a note) without slapd, or when not running as root (sssd.conf must be
//! root-owned).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

#[path = "../src/backend/slapd.rs"]
#[allow(dead_code)]
mod slapd;

use sssd::cache::Cache;
use sssd::paths::Paths;
use sssd::sbus::{
    self, AccountRequest, BusHost, DP_ERR_OFFLINE, DP_ERR_OK, DataProviderClient, EntryType,
    Filter, MonitorHandler, ServiceMethod,
};
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Registered(Mutex<Vec<String>>);

impl MonitorHandler for Registered {
    fn service_registered(&self, name: &str, _version: u16) {
        if let Ok(mut v) = self.0.lock() {
            v.push(name.to_string());
        }
    }
}

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn req(t: EntryType, f: Filter) -> AccountRequest {
    AccountRequest {
        dp_flags: 0,
        entry_type: t,
        filter: f,
        domain: "LDAP".into(),
        extra: String::new(),
        cli_id: 7,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sssd_be_serves_account_info_from_ldap() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("NOTE: not root; sssd.conf cannot be root-owned; skipping sssd_be test");
        return;
    }
    let Some(server) = slapd::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::under(dir.path());
    std::fs::create_dir_all(paths.config_file.parent().unwrap()).unwrap();
    std::fs::create_dir_all(&paths.db).unwrap();
    let conf = format!(
        "[sssd]\nservices = nss\ndomains = LDAP\n\n[domain/LDAP]\nid_provider = ldap\n\
         ldap_uri = ldap://127.0.0.1:1, {uri}\nldap_id_use_start_tls = false\n\
         ldap_network_timeout = 2\nmin_id = 1000\n",
        uri = server.uri
    );
    std::fs::write(&paths.config_file, conf).unwrap();
    std::fs::set_permissions(&paths.config_file, std::fs::Permissions::from_mode(0o600)).unwrap();

    let _host = BusHost::start(&paths).unwrap();
    let monitor = sbus::connect(&paths, sbus::MONITOR_NAME).await.unwrap();
    let registered = Arc::new(Registered(Mutex::new(Vec::new())));
    sbus::serve_monitor(&monitor, registered.clone())
        .await
        .unwrap();

    let child = Command::new(env!("CARGO_BIN_EXE_sssd_be"))
        .args(["--domain", "LDAP", "--logger=stderr", "-d", "0x0070"])
        .env("SSSD_TEST_ROOT", dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut child = Kill(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while registered.0.lock().unwrap().is_empty() {
        assert!(
            child.0.try_wait().unwrap().is_none(),
            "sssd_be exited before registering"
        );
        assert!(Instant::now() < deadline, "sssd_be did not register");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(*registered.0.lock().unwrap(), ["LDAP"]);

    let client = DataProviderClient::new(sbus::connect(&paths, sbus::NSS_NAME).await.unwrap());
    let t = Duration::from_secs(20);
    let call = |r: AccountRequest| {
        let client = client.clone();
        async move { client.get_account_info(&r, t).await.unwrap() }
    };
    let r = call(req(EntryType::Initgroups, Filter::Name("alice".into()))).await;
    assert_eq!(r.dp_error, DP_ERR_OK, "{}", r.message);
    let r = call(req(EntryType::Group, Filter::IdNumber(2001))).await;
    assert_eq!(r.dp_error, DP_ERR_OK, "{}", r.message);

    let cache = Cache::open(&paths.db, "LDAP").unwrap();
    let alice = cache.user_by_name("alice").unwrap().expect("alice cached");
    assert_eq!((alice.value.uid, alice.value.gid), (1001, 1001));
    assert_eq!(cache.initgroups("alice").unwrap().unwrap().value, [2001]);
    assert_eq!(
        cache.group_by_gid(2001).unwrap().unwrap().value.members,
        ["alice", "bob"]
    );

    // goOffline relayed by the monitor: requests get DP_ERR_OFFLINE; resetOffline recovers.
    let svc = sssd::sbus::domain_bus_name("LDAP");
    sbus::call_service(&monitor, &svc, ServiceMethod::GoOffline, t)
        .await
        .unwrap();
    let offline = Instant::now() + Duration::from_secs(5);
    loop {
        let r = call(req(EntryType::User, Filter::Name("bob".into()))).await;
        if r.dp_error == DP_ERR_OFFLINE {
            break;
        }
        assert!(Instant::now() < offline, "never went offline");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sbus::call_service(&monitor, &svc, ServiceMethod::ResetOffline, t)
        .await
        .unwrap();
    let r = call(req(EntryType::User, Filter::Name("bob".into()))).await;
    assert_eq!(r.dp_error, DP_ERR_OK, "{}", r.message);
    assert!(cache.user_by_name("bob").unwrap().is_some());

    // SIGTERM: a clean, prompt exit.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.0.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let stop = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < stop, "sssd_be ignored SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}");
    drop(server);
}
