//! A private slapd that accepts SASL GSSAPI binds from a private MIT KDC's realm.
//!
//! The server runs on `127.0.0.1:<free port>` as `ldap/localhost@EXAMPLE.COM` (its keytab is
//! handed over with `KRB5_KTNAME`, `sasl-host localhost`, `sasl-realm EXAMPLE.COM`); clients
//! must connect to `ldap://localhost:PORT` so their service ticket names that principal.
//! `authz-regexp` maps one client principal (e.g. `host/client.example.com`) to the reader
//! DN [`SaslSlapd::reader_dn`], the only identity besides the rootdn allowed to read the tree:
//! anonymous searches find nothing, so a lookup that works proves the GSSAPI bind. slapd
//! logs at `stats` level, so each bind appears in [`SaslSlapd::log`] with its `mech=`.

use std::fmt::Write as _;
use std::fs;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use crate::error::{HarnessError, Result};
use crate::kdc::{Kdc, REALM};
use crate::ldif::Directory;
use crate::proc::{self, COMMAND_TIMEOUT, Output, Watchdog};
use crate::slapd::ADMIN_PASSWORD;
use crate::tls::{self, TlsFiles};

/// The host name in the server's principal (`ldap/localhost@EXAMPLE.COM`).
pub const SERVER_HOST: &str = "localhost";

/// A running slapd accepting GSSAPI binds.
#[derive(Debug)]
pub struct SaslSlapd {
    dir: TempDir,
    port: u16,
    base: String,
    child: Option<Child>,
    _watchdog: Option<Watchdog>,
    tls: Option<TlsFiles>,
}

impl SaslSlapd {
    /// Starts a server holding `data` whose keytab (for `ldap/localhost`) comes from `kdc`;
    /// `reader` (a principal without realm, e.g. `host/client.example.com`) may read it.
    /// With `starttls`, a test CA and a `localhost` certificate enable StartTLS.
    pub fn new(data: &Directory, kdc: &Kdc, reader: &str, starttls: bool) -> Result<SaslSlapd> {
        let dir = tempfile::Builder::new()
            .prefix("sssd-tests-sasl-slapd.")
            .tempdir()
            .map_err(|e| HarnessError::io("create temporary directory", "/tmp", e))?;
        let db = dir.path().join("db");
        fs::create_dir(&db).map_err(|e| HarnessError::io("create directory", &db, e))?;
        kdc.add_keytab_principal(
            &format!("ldap/{SERVER_HOST}"),
            &dir.path().join("ldap.keytab"),
        )?;
        let tls = if starttls {
            Some(tls::generate(dir.path())?)
        } else {
            None
        };
        let conf = dir.path().join("slapd.conf");
        let mut text = slapd_conf(dir.path(), &data.base, &data.admin_dn(), reader);
        if let Some(t) = &tls {
            text = format!(
                "TLSCACertificateFile {}\nTLSCertificateFile {}\nTLSCertificateKeyFile {}\n{text}",
                t.ca_cert.display(),
                t.server_cert.display(),
                t.server_key.display()
            );
        }
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
            Duration::from_secs(120),
        )?;
        let mut s = SaslSlapd {
            dir,
            port: 0,
            base: data.base.clone(),
            child: None,
            _watchdog: None,
            tls,
        };
        let mut last = None;
        for _ in 0..5 {
            s.port = proc::free_port()?;
            match s.start(kdc) {
                Ok(()) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| HarnessError::Setup("slapd did not start".into())))
    }

    /// `ldap://localhost:PORT` (the name in the server's principal).
    pub fn uri(&self) -> String {
        format!("ldap://{SERVER_HOST}:{}", self.port)
    }

    /// `ldap://127.0.0.1:PORT`, for anonymous checks.
    pub fn uri_ip(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// The test CA, when started with StartTLS.
    pub fn ca_cert(&self) -> Option<&Path> {
        self.tls.as_ref().map(|t| t.ca_cert.as_path())
    }

    /// The base DN.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The DN the reader principal is mapped to.
    pub fn reader_dn(&self) -> String {
        reader_dn(&self.base)
    }

    /// The server's log (stats level: connections, binds with their mechanism, searches).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("slapd.log")).unwrap_or_default()
    }

    /// Runs `ldapsearch -x` anonymously (the ACLs show it nothing but the root DSE).
    pub fn anonymous_search(&self, filter: &str) -> Result<Output> {
        let mut cmd = Command::new("ldapsearch");
        cmd.args([
            "-x",
            "-LLL",
            "-o",
            "ldif-wrap=no",
            "-H",
            &self.uri_ip(),
            "-b",
        ])
        .arg(&self.base)
        .arg(filter);
        proc::run(&mut cmd, None, COMMAND_TIMEOUT)
    }

    /// `ldapwhoami -Y GSSAPI` with the TGT in `ccache` (a `FILE:` path): the server's view of
    /// a GSSAPI client, independent of our daemon.
    pub fn whoami_gssapi(&self, kdc: &Kdc, ccache: &Path) -> Result<Output> {
        let mut cmd = Command::new("ldapwhoami");
        cmd.args(["-N", "-Y", "GSSAPI", "-Q", "-H", &self.uri()])
            .env("KRB5_CONFIG", kdc.krb5_conf())
            .env("KRB5CCNAME", format!("FILE:{}", ccache.display()));
        proc::run(&mut cmd, None, COMMAND_TIMEOUT)
    }

    fn start(&mut self, kdc: &Kdc) -> Result<()> {
        let log_path = self.dir.path().join("slapd.log");
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| HarnessError::io("open", &log_path, e))?;
        let child = Command::new(sbin("slapd"))
            .arg("-h")
            .arg(format!("ldap://127.0.0.1:{}/", self.port))
            .arg("-f")
            .arg(self.dir.path().join("slapd.conf"))
            .args(["-d", "stats"])
            .env(
                "KRB5_KTNAME",
                format!("FILE:{}", self.dir.path().join("ldap.keytab").display()),
            )
            .env("KRB5_CONFIG", kdc.krb5_conf())
            .env("KRB5RCACHETYPE", "none")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|source| HarnessError::Spawn {
                program: "slapd".into(),
                source,
            })?;
        self._watchdog = Some(Watchdog::with_cleanup(child.id(), Some(self.dir.path()))?);
        self.child = Some(child);
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let mut exited = false;
        let ready = proc::wait_until(
            "slapd (GSSAPI) to accept connections",
            Duration::from_secs(30),
            || {
                if let Some(c) = self.child.as_mut()
                    && !matches!(c.try_wait(), Ok(None))
                {
                    exited = true;
                    return true;
                }
                TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
            },
        );
        if exited || ready.is_err() {
            self.stop();
            let log = self.log();
            return Err(HarnessError::Setup(format!(
                "slapd (GSSAPI) on port {} did not start: {}",
                self.port,
                log.lines().rev().take(5).collect::<Vec<_>>().join(" | ")
            )));
        }
        Ok(())
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            proc::terminate(&mut c, Duration::from_secs(10));
        }
        self._watchdog = None;
    }
}

impl Drop for SaslSlapd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The DN GSSAPI clients of the reader principal are mapped to.
pub fn reader_dn(base: &str) -> String {
    format!("cn=sssd-reader,{base}")
}

fn sbin(tool: &str) -> PathBuf {
    let p = Path::new("/usr/sbin").join(tool);
    if p.exists() { p } else { PathBuf::from(tool) }
}

/// slapd.conf: SASL as `ldap/localhost@REALM`, `reader` mapped to [`reader_dn`], and ACLs
/// that let only that DN (and the rootdn) read the tree.
fn slapd_conf(dir: &Path, base: &str, admin: &str, reader: &str) -> String {
    let mut s = String::new();
    for schema in ["core", "cosine", "nis", "inetorgperson"] {
        let _ = writeln!(s, "include /etc/ldap/schema/{schema}.schema");
    }
    let d = dir.display();
    let _ = writeln!(s, "pidfile {d}/slapd.pid");
    let _ = writeln!(s, "argsfile {d}/slapd.args");
    s.push_str("modulepath /usr/lib/ldap\nmoduleload back_mdb\n");
    s.push_str("sizelimit unlimited\ntimelimit unlimited\n");
    let _ = writeln!(s, "sasl-host {SERVER_HOST}");
    let _ = writeln!(s, "sasl-realm {REALM}");
    // The authcid DN is uid=<principal>[,cn=<realm>],cn=gssapi,cn=auth.
    let escaped = reader.replace('.', "\\.");
    let _ = writeln!(
        s,
        "authz-regexp \"^uid={escaped}(@{realm})?(,cn={realm_lc})?,cn=gssapi,cn=auth$\" \"{dn}\"",
        realm = REALM.replace('.', "\\."),
        realm_lc = REALM.to_ascii_lowercase().replace('.', "\\."),
        dn = reader_dn(base)
    );
    s.push_str("access to dn.base=\"\" by * read\n");
    s.push_str("access to dn.base=\"cn=Subschema\" by * read\n");
    let _ = writeln!(
        s,
        "access to * by dn.exact=\"{}\" read by * none",
        reader_dn(base)
    );
    s.push_str("database mdb\nmaxsize 1073741824\n");
    let _ = writeln!(s, "suffix \"{base}\"");
    let _ = writeln!(s, "rootdn \"{admin}\"");
    let _ = writeln!(s, "rootpw {ADMIN_PASSWORD}");
    let _ = writeln!(s, "directory {d}/db");
    s.push_str("limits * size=unlimited time=unlimited\n");
    s.push_str("index objectClass eq\nindex uid,uidNumber,gidNumber,memberUid,member,cn eq\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conf_maps_the_reader_and_locks_out_others() {
        let c = slapd_conf(
            Path::new("/d"),
            "dc=example,dc=com",
            "cn=admin,dc=example,dc=com",
            "host/client.example.com",
        );
        assert!(c.contains("sasl-host localhost\nsasl-realm EXAMPLE.COM\n"));
        assert!(c.contains(
            "authz-regexp \"^uid=host/client\\.example\\.com(@EXAMPLE\\.COM)?(,cn=example\\.com)?,cn=gssapi,cn=auth$\" \"cn=sssd-reader,dc=example,dc=com\""
        ), "{c}");
        assert!(c.contains("by dn.exact=\"cn=sssd-reader,dc=example,dc=com\" read by * none"));
    }
}
