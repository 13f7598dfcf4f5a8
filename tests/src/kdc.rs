//! A private MIT KDC (`krb5kdc -n`) on 127.0.0.1:<free port>, realm `EXAMPLE.COM`.
//!
//! Configuration, database and logs live in a temporary directory; the tools find them
//! through `KRB5_CONFIG` / `KRB5_KDC_PROFILE`, so the host's /etc/krb5.conf and /etc/krb5kdc
//! are never read or written. Principals are added with `kadmin.local`, keytabs exported with
//! `kadmin.local ktadd -k`. Password changes need [`Kdc::start_kadmind`]: MIT's krb5kdc does
//! not serve kpasswd, kadmind does (on free 127.0.0.1 ports).

use std::fs;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use crate::error::{HarnessError, Result};
use crate::proc::{self, COMMAND_TIMEOUT, Output, Watchdog, sbin};

/// The realm.
pub const REALM: &str = "EXAMPLE.COM";
const MASTER_PASSWORD: &str = "MasterSecret123";

/// A running private KDC.
#[derive(Debug)]
pub struct Kdc {
    dir: TempDir,
    /// Where the realm database lives: `dir`, or the primary's for a replica.
    db_dir: PathBuf,
    port: u16,
    child: Option<Child>,
    _watchdog: Option<Watchdog>,
}

impl Kdc {
    /// Creates the realm database and starts the KDC.
    pub fn new() -> Result<Kdc> {
        let mut last = None;
        // A free port can be taken by someone else before krb5kdc binds it: retry.
        for _ in 0..3 {
            let dir = tempfile::Builder::new()
                .prefix("sssd-tests-kdc.")
                .tempdir()
                .map_err(|e| HarnessError::io("create temporary directory", "/tmp", e))?;
            let mut kdc = Kdc {
                db_dir: dir.path().to_path_buf(),
                dir,
                port: proc::free_port()?,
                child: None,
                _watchdog: None,
            };
            kdc.write_config()?;
            kdc.tool(Command::new(sbin("kdb5_util")).args([
                "create",
                "-s",
                "-r",
                REALM,
                "-P",
                MASTER_PASSWORD,
            ]))?;
            match kdc.start() {
                Ok(()) => return Ok(kdc),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| HarnessError::Setup("krb5kdc did not start".into())))
    }

    /// A second KDC of the same realm, serving the same database (its principals and keys)
    /// on a port of its own: a replica for failover tests. Drop it before `self`.
    pub fn replica(&self) -> Result<Kdc> {
        let mut last = None;
        for _ in 0..3 {
            let dir = tempfile::Builder::new()
                .prefix("sssd-tests-kdc-replica.")
                .tempdir()
                .map_err(|e| HarnessError::io("create temporary directory", "/tmp", e))?;
            let mut kdc = Kdc {
                dir,
                db_dir: self.db_dir.clone(),
                port: proc::free_port()?,
                child: None,
                _watchdog: None,
            };
            kdc.write_config()?;
            match kdc.start() {
                Ok(()) => return Ok(kdc),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| HarnessError::Setup("replica krb5kdc did not start".into())))
    }

    /// The KDC's port (UDP and TCP).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The client configuration (`KRB5_CONFIG`) pointing at this KDC.
    pub fn krb5_conf(&self) -> PathBuf {
        self.dir.path().join("krb5.conf")
    }

    /// The text of the client krb5.conf, to copy into a namespace's /etc/krb5.conf.
    pub fn krb5_conf_text(&self) -> String {
        krb5_conf(self.port, None)
    }

    /// Like [`Kdc::krb5_conf_text`], naming `kadmind`'s kpasswd port as `kpasswd_server`
    /// (MIT kpasswd is served by kadmind, not by krb5kdc).
    pub fn krb5_conf_text_with(&self, kadmind: &Kadmind) -> String {
        krb5_conf(self.port, Some(kadmind.kpasswd_port()))
    }

    /// `127.0.0.1:<port>`, for `krb5_server`.
    pub fn server(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Exports the keys of an existing `principal` into keytab `path` (created or appended
    /// to); with `keep_keys` the keys are not randomised (`-norandkey`).
    pub fn ktadd(&self, principal: &str, path: &Path, keep_keys: bool) -> Result<()> {
        let norand = if keep_keys { "-norandkey " } else { "" };
        self.kadmin_local(&format!("ktadd -k {} {norand}{principal}", path.display()))
            .map(|_| ())
    }

    /// Adds `name@REALM` with random keys (a service such as `host/localhost`).
    pub fn add_random_principal(&self, name: &str) -> Result<()> {
        self.kadmin_local(&format!("addprinc -randkey {name}"))
            .map(|_| ())
    }

    /// The KDC log file.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("kdc.log")
    }

    /// Adds principal `name@REALM` with `password`.
    pub fn add_principal(&self, name: &str, password: &str) -> Result<()> {
        self.tool(Command::new(sbin("kadmin.local")).args([
            "-r",
            REALM,
            "-q",
            &format!("addprinc -pw {password} {name}"),
        ]))
        .map(|_| ())
    }

    /// Runs `kinit principal` with `password` on stdin into credential cache `ccache`.
    pub fn kinit(&self, principal: &str, password: &str, ccache: &Path) -> Result<Output> {
        let mut c = Command::new("kinit");
        c.arg(principal)
            .env("KRB5_CONFIG", self.krb5_conf())
            .env("KRB5CCNAME", format!("FILE:{}", ccache.display()));
        proc::run(
            &mut c,
            Some(format!("{password}\n").as_bytes()),
            COMMAND_TIMEOUT,
        )
    }

    fn env(&self, c: &mut Command) {
        c.env("KRB5_CONFIG", self.krb5_conf())
            .env("KRB5_KDC_PROFILE", self.dir.path().join("kdc.conf"));
    }

    fn tool(&self, c: &mut Command) -> Result<Output> {
        self.env(c);
        proc::run_ok(c, None, COMMAND_TIMEOUT)
    }

    fn write_config(&self) -> Result<()> {
        let d = self.dir.path();
        let kdc_conf = format!(
            "[kdcdefaults]\n kdc_listen = 127.0.0.1:{p}\n kdc_tcp_listen = 127.0.0.1:{p}\n\n\
             [realms]\n {REALM} = {{\n  database_name = {d}/principal\n  \
             key_stash_file = {d}/stash\n  acl_file = {d}/kadm5.acl\n  \
             kdc_listen = 127.0.0.1:{p}\n  kdc_tcp_listen = 127.0.0.1:{p}\n  \
             max_life = 10h 0m 0s\n  max_renewable_life = 7d 0h 0m 0s\n }}\n\n\
             [logging]\n kdc = FILE:{log}/kdc.log\n",
            p = self.port,
            d = self.db_dir.display(),
            log = d.display()
        );
        let write = |name: &str, text: &str| {
            let p = d.join(name);
            fs::write(&p, text).map_err(|e| HarnessError::io("write", &p, e))
        };
        write("kdc.conf", &kdc_conf)?;
        write("krb5.conf", &krb5_conf(self.port, None))?;
        write("kadm5.acl", "")?;
        Ok(())
    }

    /// Starts the KDC (again) on the same port; waits until it accepts connections. A no-op
    /// while it runs.
    pub fn start(&mut self) -> Result<()> {
        if self.child.is_some() {
            return Ok(());
        }
        let log = self.dir.path().join("krb5kdc.stderr");
        let log_file = fs::File::create(&log).map_err(|e| HarnessError::io("create", &log, e))?;
        let mut c = Command::new(sbin("krb5kdc"));
        c.args(["-n", "-r", REALM, "-P"])
            .arg(self.dir.path().join("kdc.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file);
        self.env(&mut c);
        let child = c.spawn().map_err(|source| HarnessError::Spawn {
            program: "krb5kdc".into(),
            source,
        })?;
        self._watchdog = Some(Watchdog::with_cleanup(child.id(), Some(self.dir.path()))?);
        let child = self.child.insert(child);
        let ready = proc::wait_for_port(
            "krb5kdc to accept connections",
            child,
            self.port,
            Duration::from_secs(30),
        );
        if !ready {
            self.stop();
            let err = fs::read_to_string(&log).unwrap_or_default();
            let kdc_log = fs::read_to_string(self.log_path()).unwrap_or_default();
            return Err(HarnessError::Setup(format!(
                "krb5kdc on port {} did not start: {} {}",
                self.port,
                err.trim(),
                kdc_log
                    .lines()
                    .rev()
                    .take(3)
                    .collect::<Vec<_>>()
                    .join(" | ")
            )));
        }
        Ok(())
    }

    /// Stops the KDC (SIGTERM, then SIGKILL after 10 s) and waits for it; the database stays.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            proc::terminate(&mut c, Duration::from_secs(10));
        }
        self._watchdog = None;
    }
}

impl Drop for Kdc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A client krb5.conf for a KDC on 127.0.0.1:`port`, with `kpasswd_server` on
/// 127.0.0.1:`kpasswd_port` when given.
pub fn krb5_conf(port: u16, kpasswd_port: Option<u16>) -> String {
    let kpasswd = kpasswd_port
        .map(|p| format!("  kpasswd_server = 127.0.0.1:{p}\n"))
        .unwrap_or_default();
    format!(
        "[libdefaults]\n default_realm = {REALM}\n dns_lookup_kdc = false\n \
         dns_lookup_realm = false\n rdns = false\n udp_preference_limit = 0\n\n\
         [realms]\n {REALM} = {{\n  kdc = 127.0.0.1:{port}\n{kpasswd} }}\n\n\
         [domain_realm]\n .example.com = {REALM}\n example.com = {REALM}\n"
    )
}

// ---- Additions for krb5_child / ldap_child tests: keytabs and kadmind (kpasswd). ----

impl Kdc {
    /// Runs one `kadmin.local` query against this realm.
    pub fn kadmin_local(&self, query: &str) -> Result<Output> {
        self.tool(Command::new(sbin("kadmin.local")).args(["-r", REALM, "-q", query]))
    }

    /// Adds `principal` with a random key and writes its keys to keytab `path`.
    pub fn add_keytab_principal(&self, principal: &str, path: &Path) -> Result<()> {
        self.kadmin_local(&format!("addprinc -randkey {principal}"))?;
        self.kadmin_local(&format!("ktadd -k {} {principal}", path.display()))
            .map(|_| ())
    }

    /// Starts `kadmind` (which serves kpasswd) on free 127.0.0.1 ports.
    pub fn start_kadmind(&self) -> Result<Kadmind> {
        let d = self.dir.path();
        let kpasswd_port = proc::free_port()?;
        let admin_port = proc::free_port()?;
        let base = fs::read_to_string(d.join("kdc.conf"))
            .map_err(|e| HarnessError::io("read", d.join("kdc.conf"), e))?;
        let conf = base.replacen(
            "  max_life",
            &format!(
                "  kadmind_port = {admin_port}\n  kpasswd_port = {kpasswd_port}\n  \
                 kadmind_listen = 127.0.0.1:{admin_port}\n  \
                 kpasswd_listen = 127.0.0.1:{kpasswd_port}\n  max_life"
            ),
            1,
        );
        let conf_path = d.join("kadmind.conf");
        fs::write(&conf_path, conf).map_err(|e| HarnessError::io("write", &conf_path, e))?;
        let log = d.join("kadmind.stderr");
        let log_file = fs::File::create(&log).map_err(|e| HarnessError::io("create", &log, e))?;
        let mut c = Command::new(sbin("kadmind"));
        c.args(["-nofork", "-r", REALM, "-P"])
            .arg(d.join("kadmind.pid"))
            .env("KRB5_CONFIG", self.krb5_conf())
            .env("KRB5_KDC_PROFILE", &conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file);
        let mut child = c.spawn().map_err(|source| HarnessError::Spawn {
            program: "kadmind".into(),
            source,
        })?;
        let watchdog = Watchdog::new(child.id())?;
        let addr = SocketAddr::from(([127, 0, 0, 1], kpasswd_port));
        let ready = proc::wait_until("kadmind to accept kpasswd", Duration::from_secs(30), || {
            TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
        });
        if ready.is_err() {
            proc::terminate(&mut child, Duration::from_secs(5));
            let err = fs::read_to_string(&log).unwrap_or_default();
            return Err(HarnessError::Setup(format!(
                "kadmind on port {kpasswd_port} did not start: {}",
                err.trim()
            )));
        }
        Ok(Kadmind {
            child: Some(child),
            _watchdog: watchdog,
            kpasswd_port,
        })
    }
}

/// A running `kadmind` for a [`Kdc`]; stopped on drop.
#[derive(Debug)]
pub struct Kadmind {
    child: Option<Child>,
    _watchdog: Watchdog,
    kpasswd_port: u16,
}

impl Kadmind {
    /// The kpasswd port (UDP and TCP) on 127.0.0.1.
    pub fn kpasswd_port(&self) -> u16 {
        self.kpasswd_port
    }
}

impl Drop for Kadmind {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            proc::terminate(&mut c, Duration::from_secs(10));
        }
    }
}
