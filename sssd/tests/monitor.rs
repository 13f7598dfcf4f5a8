//! Runs the real `sssd` monitor under `SSSD_TEST_ROOT` with fake children: shell scripts in
//! a temporary libexec that re-run this test binary as a minimal bus client (the
//! `fake_child` test below does nothing unless `FAKE_CHILD` is set).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use sssd::paths::Paths;
use sssd::sbus::{self, ServiceHandler};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Records relayed calls to `<root>/calls.log`.
struct Recorder {
    root: PathBuf,
    name: String,
}

impl Recorder {
    fn record(&self, what: &str) {
        // One write(2) per line: O_APPEND keeps whole lines from several processes apart.
        let line = format!("{} {what}\n", self.name);
        let _ = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.root.join("calls.log"))
            .and_then(|mut f| f.write_all(line.as_bytes()));
    }
}

impl ServiceHandler for Recorder {
    fn go_offline(&self) {
        self.record("goOffline");
    }
    fn reset_offline(&self) {
        self.record("resetOffline");
    }
    fn rotate_logs(&self) {
        self.record("rotateLogs");
    }
    fn clear_negcache(&self) {
        self.record("clearNegcache");
    }
    fn clear_memcache(&self) {
        self.record("clearMemcache");
    }
    fn clear_enum_cache(&self) {
        self.record("clearEnumCache");
    }
}

/// The fake child: connects, serves `sssd.service`, registers, waits for SIGTERM.
#[test]
fn fake_child() {
    let Ok(kind) = std::env::var("FAKE_CHILD") else {
        return;
    };
    let root = PathBuf::from(std::env::var("SSSD_TEST_ROOT").unwrap());
    let args: Vec<String> = std::env::var("FAKE_CHILD_ARGS")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let opts = sssd::service::ChildOptions::parse(args, Paths::under(&root)).unwrap();
    let (reg_name, bus_name) = match kind.as_str() {
        "be" => {
            let d = opts.domain.clone().unwrap();
            (d.clone(), sbus::domain_bus_name(&d))
        }
        other => (other.to_string(), format!("sssd.{other}")),
    };
    let die_after: Option<u64> = std::env::var(format!("FAKE_DIE_{reg_name}"))
        .ok()
        .and_then(|v| v.parse().ok());
    std::fs::create_dir_all(root.join("pids")).unwrap();
    std::fs::write(
        root.join("pids").join(&reg_name),
        std::process::id().to_string(),
    )
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let bus = sbus::connect(&opts.paths, &bus_name).await.unwrap();
        let handler = Arc::new(Recorder {
            root: root.clone(),
            name: reg_name.clone(),
        });
        sbus::serve_service(&bus, handler.clone()).await.unwrap();
        if std::env::var_os(format!("FAKE_NO_REGISTER_{reg_name}")).is_none() {
            sbus::register_service(&bus, &reg_name).await.unwrap();
        }
        std::fs::create_dir_all(root.join("registered")).unwrap();
        std::fs::write(
            root.join("registered").join(&reg_name),
            std::process::id().to_string(),
        )
        .unwrap();
        if let Some(ms) = die_after {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            std::process::exit(3);
        }
        sssd::service::wait_for_termination(handler).await.unwrap();
    });
    std::process::exit(0);
}

/// Kills what a test started, by PID, even when the test fails.
struct Cleanup {
    root: tempfile::TempDir,
    monitor: Option<Child>,
    extra_pids: Vec<i32>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let mut pids = self.extra_pids.clone();
        if let Some(m) = &mut self.monitor {
            pids.push(m.id() as i32);
        }
        if let Ok(rd) = std::fs::read_dir(self.root.path().join("pids")) {
            for e in rd.flatten() {
                if let Ok(p) = std::fs::read_to_string(e.path()) {
                    pids.extend(p.trim().parse::<i32>());
                }
            }
        }
        for p in pids {
            // SAFETY: plain kill(2) on processes this test started.
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
        if let Some(m) = &mut self.monitor {
            let _ = m.wait();
        }
    }
}

fn setup(config: &str, responders: &[&str]) -> Cleanup {
    let root = tempfile::tempdir().unwrap();
    let paths = Paths::under(root.path());
    std::fs::create_dir_all(paths.config_file.parent().unwrap()).unwrap();
    std::fs::write(&paths.config_file, config).unwrap();
    std::fs::set_permissions(&paths.config_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::create_dir_all(&paths.libexec).unwrap();
    let me = std::env::current_exe().unwrap();
    let mut bins = vec![("sssd_be".to_string(), "be".to_string())];
    for r in responders {
        bins.push((format!("sssd_{r}"), r.to_string()));
    }
    for (bin, kind) in bins {
        let script = format!(
            "#!/bin/sh\necho \"{bin} $*\" >> \"$SSSD_TEST_ROOT/spawned.log\"\n\
             FAKE_CHILD={kind} FAKE_CHILD_ARGS=\"$*\" exec {} fake_child --exact --nocapture --test-threads=1 >/dev/null\n",
            me.display()
        );
        let path = paths.libexec.join(bin);
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    Cleanup {
        root,
        monitor: None,
        extra_pids: Vec::new(),
    }
}

fn sssd(root: &Path, args: &[&str], envs: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sssd"));
    cmd.args(args)
        .env("SSSD_TEST_ROOT", root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd
}

fn wait_for(what: &str, timeout: Duration, f: impl FnMut() -> bool) {
    wait_for_in(None, what, timeout, f)
}

/// Waits for `f`; on timeout shows the monitor's stderr and the relayed calls under `root`.
fn wait_for_in(root: Option<&Path>, what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        if start.elapsed() > timeout {
            let diag = root
                .map(|r| {
                    format!(
                        "monitor stderr:\n{}\ncalls:\n{}",
                        read(&r.join("sssd.stderr")),
                        read(&r.join("calls.log"))
                    )
                })
                .unwrap_or_default();
            panic!("timed out waiting for {what}\n{diag}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn pid_of(root: &Path, name: &str) -> Option<i32> {
    read(&root.join("pids").join(name)).trim().parse().ok()
}

fn alive(pid: i32) -> bool {
    // A zombie still "exists"; look at its state instead.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

const CONFIG: &str = "[sssd]\nservices = nss, sudo, pam\ndomains = ONE, TWO\n\n\
[domain/ONE]\nid_provider = ldap\n\n[domain/TWO]\nid_provider = ldap\n";

#[test]
fn starts_restarts_relays_and_stops() {
    let mut c = setup(CONFIG, &["nss"]);
    let root = c.root.path().to_path_buf();
    let paths = Paths::under(&root);
    let log = std::fs::File::create(root.join("sssd.stderr")).unwrap();
    let monitor = sssd(&root, &["-i", "-d", "0x3ff0"], &[])
        .stderr(log)
        .spawn()
        .unwrap();
    let monitor_pid = monitor.id() as i32;
    c.monitor = Some(monitor);

    wait_for_in(Some(&root), "the pidfile", Duration::from_secs(20), || {
        paths.pidfile.exists()
    });
    assert_eq!(read(&paths.pidfile).trim(), monitor_pid.to_string());
    let spawned = read(&root.join("spawned.log"));
    let mut lines: Vec<&str> = spawned.lines().collect();
    // Each fake child logs itself once running, so two backends started back to back may
    // log in either order; the responder starts only after both registered.
    if let Some(backends) = lines.get_mut(..2) {
        backends.sort_unstable();
    }
    assert_eq!(
        lines,
        [
            "sssd_be --domain ONE -d 0x3ff0 --logger=stderr",
            "sssd_be --domain TWO -d 0x3ff0 --logger=stderr",
            "sssd_nss -d 0x3ff0 --logger=stderr",
        ],
        "sudo is unknown and pam is not installed: both skipped"
    );

    // A killed child comes back.
    let nss = pid_of(&root, "nss").unwrap();
    unsafe { libc::kill(nss, libc::SIGKILL) };
    wait_for_in(
        Some(&root),
        "the restarted nss to register",
        Duration::from_secs(10),
        || {
            let new = read(&root.join("registered/nss"))
                .trim()
                .parse::<i32>()
                .ok();
            new.is_some_and(|p| p != nss && alive(p))
        },
    );

    unsafe { libc::kill(monitor_pid, libc::SIGHUP) };
    unsafe { libc::kill(monitor_pid, libc::SIGUSR1) };
    wait_for_in(
        Some(&root),
        "relayed calls",
        Duration::from_secs(10),
        || {
            let calls = read(&root.join("calls.log"));
            [
                "nss rotateLogs",
                "nss clearNegcache",
                "nss clearMemcache",
                "nss clearEnumCache",
                "ONE rotateLogs",
                "TWO rotateLogs",
                "ONE goOffline",
                "TWO goOffline",
            ]
            .iter()
            .all(|l| calls.lines().any(|x| x == *l))
        },
    );
    assert!(
        !read(&root.join("calls.log")).contains("nss goOffline"),
        "{}",
        read(&root.join("sssd.stderr"))
    );

    // A second instance refuses to start, naming the running one.
    let second = sssd(&root, &["-i"], &[]).output().unwrap();
    assert_eq!(second.status.code(), Some(1));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains(&format!("already running as process {monitor_pid}")),
        "{err}"
    );
    assert!(paths.bus_socket().exists());

    let children: Vec<i32> = ["ONE", "TWO", "nss"]
        .iter()
        .map(|n| pid_of(&root, n).unwrap())
        .collect();
    unsafe { libc::kill(monitor_pid, libc::SIGTERM) };
    let status = c.monitor.as_mut().unwrap().wait().unwrap();
    assert!(status.success(), "{status}");
    for p in children {
        assert!(!alive(p), "child {p} survived");
    }
    assert!(!paths.pidfile.exists());
    assert!(!paths.bus_socket().exists());
}

#[test]
fn a_child_failing_too_often_stops_everything() {
    let mut c = setup(CONFIG, &["nss"]);
    let root = c.root.path().to_path_buf();
    let started = Instant::now();
    let monitor = sssd(&root, &["-i"], &[("FAKE_DIE_nss", "300")])
        .spawn()
        .unwrap();
    c.monitor = Some(monitor);
    let out = c.monitor.take().unwrap().wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("Could not restart critical service nss responder"),
        "{stderr}"
    );
    // Restarts waited 0 + 2 + 4 s.
    assert!(started.elapsed() >= Duration::from_secs(6));
    let spawned = read(&root.join("spawned.log"));
    assert_eq!(
        spawned
            .lines()
            .filter(|l| l.starts_with("sssd_nss"))
            .count(),
        4
    );
    for n in ["ONE", "TWO"] {
        let p = pid_of(&root, n).unwrap();
        wait_for("backends to stop", Duration::from_secs(5), || !alive(p));
    }
}

#[test]
fn daemon_mode_returns_after_startup() {
    let mut c = setup(CONFIG, &["nss"]);
    let root = c.root.path().to_path_buf();
    let paths = Paths::under(&root);
    // This nss never calls RegisterService: owning its bus name counts too.
    let out = sssd(&root, &["-D"], &[("FAKE_NO_REGISTER_nss", "1")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The pidfile is written before the parent is released.
    let daemon: i32 = read(&paths.pidfile).trim().parse().unwrap();
    c.extra_pids.push(daemon);
    assert!(alive(daemon));
    assert!(
        paths.log.join("sssd.log").exists(),
        "files logger is the -D default"
    );
    let nss = pid_of(&root, "nss").unwrap();
    unsafe { libc::kill(daemon, libc::SIGTERM) };
    wait_for("the daemon to stop", Duration::from_secs(15), || {
        !alive(daemon) && !alive(nss)
    });
    assert!(!paths.pidfile.exists());
}

#[test]
fn systemd_is_told_when_startup_is_done_and_when_stopping() {
    let mut c = setup(CONFIG, &["nss"]);
    let root = c.root.path().to_path_buf();
    let paths = Paths::under(&root);
    let notify_path = root.join("notify");
    let sock = std::os::unix::net::UnixDatagram::bind(&notify_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let monitor = sssd(
        &root,
        &["-i"],
        &[("NOTIFY_SOCKET", notify_path.to_str().unwrap())],
    )
    .spawn()
    .unwrap();
    let monitor_pid = monitor.id() as i32;
    c.monitor = Some(monitor);
    let mut buf = [0u8; 256];
    let n = sock.recv(&mut buf).expect("READY=1 from the monitor");
    let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(msg.starts_with("READY=1\n"), "{msg:?}");
    assert!(msg.contains(&format!("MAINPID={monitor_pid}\n")), "{msg:?}");
    // Ready means started: the pidfile is there and the children are running.
    assert!(paths.pidfile.exists());
    assert!(pid_of(&root, "nss").is_some());
    unsafe { libc::kill(monitor_pid, libc::SIGTERM) };
    let n = sock.recv(&mut buf).expect("STOPPING=1 from the monitor");
    assert_eq!(&buf[..n], b"STOPPING=1\n");
}

#[test]
fn config_errors_refuse_to_start() {
    let c = setup("[sssd]\n  indented garbage without equals\n", &[]);
    let root = c.root.path();
    let out = sssd(root, &["-i"], &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("sssd.conf"), "{stderr}");
    assert!(!Paths::under(root).pidfile.exists());

    let out = sssd(root, &["-i", "--logger=syslog"], &[])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("syslog"));
}
