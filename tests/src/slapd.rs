//! A private slapd on `ldap://127.0.0.1:<free port>`, loaded with a [`Directory`].
//!
//! The server is configured with a `slapd.conf` in a temporary directory (mdb backend,
//! core/cosine/nis/inetorgperson schemas from /etc/ldap/schema), filled with `slapadd` before
//! it starts, and runs in the foreground (`-d 0`) as our child, so its PID is known. It can be
//! stopped and started again on the same port ("the directory goes down and comes back").
//! Dropping it kills it by PID and waits; a [`Watchdog`] kills it if the test process dies.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use crate::error::{HarnessError, Result};
use crate::ldif::Directory;
use crate::proc::{self, COMMAND_TIMEOUT, Output, Watchdog, sbin};
use crate::tls::{self, TlsFiles};

/// Password of the rootdn `cn=admin,<base>`.
pub const ADMIN_PASSWORD: &str = "Secret123";

/// How long slapd may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How the server is set up.
#[derive(Debug, Clone, Copy, Default)]
pub struct SlapdOptions {
    /// Generate a CA and server certificate and enable StartTLS.
    pub tls: bool,
}

/// Configuration beyond [`SlapdOptions`], for servers with special needs (SASL GSSAPI).
#[derive(Debug, Clone, Default)]
pub struct SlapdConfig {
    /// Extra global slapd.conf lines (before `database`), e.g. `sasl-host`, `authz-regexp`.
    pub global: String,
    /// The database's `access` lines, replacing the default (users may write their own
    /// password, everyone reads everything else).
    pub access: Option<String>,
    /// Extra environment of the slapd process (e.g. `KRB5_KTNAME`, `KRB5_CONFIG`).
    pub env: Vec<(String, OsString)>,
    /// slapd's debug level (`-d`); `None` means `0`. `stats` logs each bind's mechanism.
    pub debug: Option<String>,
    /// Also listen on a UNIX socket (`ldapi://`) in the server's directory, see
    /// [`Slapd::ldapi_uri`].
    pub ldapi: bool,
    /// Extra lines at the end of the database section (overlays, e.g. [`PPOLICY`]).
    pub database: String,
}

/// [`SlapdConfig::global`] and [`SlapdConfig::database`] lines for the password-policy
/// overlay (Debian's `/usr/lib/ldap/ppolicy.so`), its default policy
/// `cn=ppolicy,ou=policies,<base>` (the entry itself is the test's to add).
pub fn ppolicy_config(base: &str) -> (String, String) {
    (
        "moduleload ppolicy\n".to_string(),
        format!("overlay ppolicy\nppolicy_default \"cn=ppolicy,ou=policies,{base}\"\n"),
    )
}

/// A running (or stopped) private slapd.
#[derive(Debug)]
pub struct Slapd {
    dir: TempDir,
    port: u16,
    base: String,
    admin_dn: String,
    child: Option<Child>,
    watchdog: Option<Watchdog>,
    tls: Option<TlsFiles>,
    env: Vec<(String, OsString)>,
    debug: String,
    ldapi: bool,
}

impl Slapd {
    /// Starts a plain-LDAP server holding `data`.
    pub fn new(data: &Directory) -> Result<Slapd> {
        Slapd::with_options(data, SlapdOptions::default())
    }

    /// Starts a server holding `data` with `options`.
    pub fn with_options(data: &Directory, options: SlapdOptions) -> Result<Slapd> {
        Slapd::with_config(data, options, |_| Ok(SlapdConfig::default()))
    }

    /// Starts a server holding `data` with `options` and the [`SlapdConfig`] that `config`
    /// returns; `config` is given the server's private directory (for keytabs and the like).
    pub fn with_config(
        data: &Directory,
        options: SlapdOptions,
        config: impl FnOnce(&Path) -> Result<SlapdConfig>,
    ) -> Result<Slapd> {
        for tool in ["slapd", "slapadd"] {
            let found = proc::have_program(tool) || Path::new("/usr/sbin").join(tool).exists();
            if !found {
                return Err(HarnessError::Setup(format!(
                    "{tool} not installed: run scripts/deps.sh"
                )));
            }
        }
        let dir = tempfile::Builder::new()
            .prefix("sssd-tests-slapd.")
            .tempdir()
            .map_err(|e| HarnessError::io("create temporary directory", "/tmp", e))?;
        let db = dir.path().join("db");
        fs::create_dir(&db).map_err(|e| HarnessError::io("create directory", &db, e))?;
        let tls = if options.tls {
            Some(tls::generate(dir.path())?)
        } else {
            None
        };
        let config = config(dir.path())?;
        let conf = dir.path().join("slapd.conf");
        let text = slapd_conf(
            dir.path(),
            &data.base,
            &data.admin_dn(),
            tls.as_ref(),
            &config,
        );
        fs::write(&conf, text).map_err(|e| HarnessError::io("write", &conf, e))?;
        let ldif = dir.path().join("data.ldif");
        fs::write(&ldif, data.to_ldif()).map_err(|e| HarnessError::io("write", &ldif, e))?;
        proc::run_ok(
            Command::new(sbin("slapadd"))
                .arg("-q")
                .arg("-f")
                .arg(&conf)
                .arg("-l")
                .arg(&ldif),
            None,
            Duration::from_secs(300),
        )?;
        let mut slapd = Slapd {
            dir,
            port: 0,
            base: data.base.clone(),
            admin_dn: data.admin_dn(),
            child: None,
            watchdog: None,
            tls,
            env: config.env,
            debug: config.debug.unwrap_or_else(|| "0".into()),
            ldapi: config.ldapi,
        };
        // A free port can be taken by someone else before slapd binds it: retry.
        let mut last = None;
        for _ in 0..5 {
            slapd.port = proc::free_port()?;
            match slapd.start() {
                Ok(()) => return Ok(slapd),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| HarnessError::Setup("slapd did not start".into())))
    }

    /// `ldap://127.0.0.1:PORT`.
    pub fn uri(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// `ldap://localhost:PORT` (matches the server certificate's DNS name). Beware: libldap
    /// checks the certificate against the reverse-resolved name of the address, which
    /// /etc/hosts may map to another name; [`Slapd::uri`] with the IP SAN is reliable.
    pub fn uri_localhost(&self) -> String {
        format!("ldap://localhost:{}", self.port)
    }

    /// The UNIX socket URI, path percent-encoded (`ldapi://%2Ftmp%2F...%2Fldapi`), for a
    /// server started with [`SlapdConfig::ldapi`].
    pub fn ldapi_uri(&self) -> String {
        let path = self.dir.path().join("ldapi").display().to_string();
        format!("ldapi://{}", path.replace('%', "%25").replace('/', "%2F"))
    }

    /// The generated certificates, for a server started with `tls: true`.
    pub fn tls_files(&self) -> Option<&TlsFiles> {
        self.tls.as_ref()
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The base DN.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The rootdn.
    pub fn admin_dn(&self) -> &str {
        &self.admin_dn
    }

    /// The CA certificate, for a server started with `tls: true`.
    pub fn ca_cert(&self) -> Option<&Path> {
        self.tls.as_ref().map(|t| t.ca_cert.as_path())
    }

    /// The server's PID while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The server's log (stderr) so far; empty when unreadable.
    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// The server's log (stderr) file.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("slapd.log")
    }

    /// Whether the server process is running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Starts the server (again) on the same port; waits until it accepts connections.
    pub fn start(&mut self) -> Result<()> {
        if self.is_running() {
            return Ok(());
        }
        let log_path = self.log_path();
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| HarnessError::io("open", &log_path, e))?;
        let mut listeners = format!("ldap://127.0.0.1:{}/", self.port);
        if self.ldapi {
            listeners.push(' ');
            listeners.push_str(&self.ldapi_uri());
        }
        let child = Command::new(sbin("slapd"))
            .arg("-h")
            .arg(listeners)
            .arg("-f")
            .arg(self.dir.path().join("slapd.conf"))
            .arg("-d")
            .arg(&self.debug)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|source| HarnessError::Spawn {
                program: "slapd".into(),
                source,
            })?;
        self.watchdog = Some(Watchdog::with_cleanup(child.id(), Some(self.dir.path()))?);
        let child = self.child.insert(child);
        let ready = proc::wait_for_port(
            "slapd to accept connections",
            child,
            self.port,
            START_TIMEOUT,
        );
        if !ready {
            self.stop()?;
            let log = fs::read_to_string(&log_path).unwrap_or_default();
            return Err(HarnessError::Setup(format!(
                "slapd on port {} did not start: {}",
                self.port,
                log.lines().rev().take(5).collect::<Vec<_>>().join(" | ")
            )));
        }
        Ok(())
    }

    /// Stops the server (SIGTERM, then SIGKILL after 10 s) and waits for it; the data stays.
    pub fn stop(&mut self) -> Result<()> {
        if let Some(mut c) = self.child.take() {
            proc::terminate(&mut c, Duration::from_secs(10));
        }
        self.watchdog = None;
        Ok(())
    }

    /// Runs `ldapsearch -x -LLL` anonymously; returns its output (exit 32 = no such object).
    pub fn search(&self, filter: &str, attrs: &[&str]) -> Result<Output> {
        let mut cmd = Command::new("ldapsearch");
        cmd.args(["-x", "-LLL", "-o", "ldif-wrap=no", "-H", &self.uri(), "-b"])
            .arg(&self.base)
            .arg(filter)
            .args(attrs);
        proc::run(&mut cmd, None, COMMAND_TIMEOUT)
    }

    /// `tool -x -H <uri> -D <admin> -w <password>`: an LDAP client bound as the admin.
    fn as_admin(&self, tool: &str) -> Command {
        let mut cmd = Command::new(tool);
        cmd.args([
            "-x",
            "-H",
            &self.uri(),
            "-D",
            &self.admin_dn,
            "-w",
            ADMIN_PASSWORD,
        ]);
        cmd
    }

    /// Applies an LDIF change record (`changetype: add/modify/delete`) as the admin.
    pub fn modify(&self, ldif: &str) -> Result<Output> {
        proc::run_ok(
            &mut self.as_admin("ldapmodify"),
            Some(ldif.as_bytes()),
            COMMAND_TIMEOUT,
        )
    }

    /// Adds entries (plain LDIF records, no changetype) as the admin.
    pub fn add(&self, ldif: &str) -> Result<Output> {
        proc::run_ok(
            &mut self.as_admin("ldapadd"),
            Some(ldif.as_bytes()),
            COMMAND_TIMEOUT,
        )
    }

    /// Deletes an entry by DN as the admin.
    pub fn delete(&self, dn: &str) -> Result<Output> {
        proc::run_ok(self.as_admin("ldapdelete").arg(dn), None, COMMAND_TIMEOUT)
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// The `*.schema` files in `tests/schema/`, sorted by name.
fn extra_schemas() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema");
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "schema"))
        .collect();
    v.sort();
    v
}

fn slapd_conf(
    dir: &Path,
    base: &str,
    admin: &str,
    tls: Option<&TlsFiles>,
    config: &SlapdConfig,
) -> String {
    let mut s = String::new();
    for schema in ["core", "cosine", "nis", "inetorgperson"] {
        let _ = writeln!(s, "include /etc/ldap/schema/{schema}.schema");
    }
    // Schemas Debian's slapd lacks (sudo, openssh-lpk, automount), kept in tests/schema/.
    for schema in extra_schemas() {
        let _ = writeln!(s, "include {}", schema.display());
    }
    let d = dir.display();
    let _ = writeln!(s, "pidfile {d}/slapd.pid");
    let _ = writeln!(s, "argsfile {d}/slapd.args");
    s.push_str("modulepath /usr/lib/ldap\nmoduleload back_mdb\n");
    s.push_str("sizelimit unlimited\ntimelimit unlimited\n");
    if let Some(t) = tls {
        let _ = writeln!(s, "TLSCACertificateFile {}", t.ca_cert.display());
        let _ = writeln!(s, "TLSCertificateFile {}", t.server_cert.display());
        let _ = writeln!(s, "TLSCertificateKeyFile {}", t.server_key.display());
    }
    s.push_str(&config.global);
    s.push_str("database mdb\nmaxsize 1073741824\n");
    let _ = writeln!(s, "suffix \"{base}\"");
    let _ = writeln!(s, "rootdn \"{admin}\"");
    let _ = writeln!(s, "rootpw {ADMIN_PASSWORD}");
    let _ = writeln!(s, "directory {d}/db");
    s.push_str("limits * size=unlimited time=unlimited\n");
    match &config.access {
        Some(access) => s.push_str(access),
        // Users may bind with and change their own password (PAM tests); nobody else reads it.
        None => s.push_str(
            "access to attrs=userPassword by self write by anonymous auth by * none\n\
             access to * by * read\n",
        ),
    }
    s.push_str("index objectClass eq\nindex uid,uidNumber,gidNumber,memberUid,member,cn eq\n");
    s.push_str(&config.database);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_adds_global_lines_and_replaces_acls() {
        let plain = slapd_conf(
            Path::new("/d"),
            "dc=x",
            "cn=admin,dc=x",
            None,
            &SlapdConfig::default(),
        );
        assert!(plain.contains("access to * by * read\n"), "{plain}");
        let config = SlapdConfig {
            global: "sasl-host localhost\n".into(),
            access: Some("access to * by * none\n".into()),
            ..SlapdConfig::default()
        };
        let c = slapd_conf(Path::new("/d"), "dc=x", "cn=admin,dc=x", None, &config);
        let global = c.find("sasl-host localhost\n").unwrap();
        let database = c.find("database mdb").unwrap();
        assert!(global < database, "{c}");
        assert!(c[database..].contains("access to * by * none\n"), "{c}");
        assert!(!c.contains("by * read"), "{c}");
    }
}
