//! sssd.conf for a test directory, and the daemon started as users start it.

use std::fmt::Write as _;
use std::time::Duration;

use crate::error::{HarnessError, Result};
use crate::ldif::Schema;
use crate::namespace::{Daemon, Namespace};
use crate::slapd::Slapd;

/// The domain name the generated configurations use.
pub const DOMAIN: &str = "LDAP";

/// Where the configuration goes inside the namespace.
pub const CONF_PATH: &str = "/etc/sssd/sssd.conf";

/// The NSS responder socket.
pub const NSS_SOCKET: &str = "/var/lib/sss/pipes/nss";

/// How long the daemon may take to open its NSS socket.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The command line tests start the daemon with (foreground, log to files).
pub const SSSD_ARGV: &[&str] = &["/usr/sbin/sssd", "-i", "-d", "0x0070", "--logger=files"];

/// An sssd.conf, section by section, in insertion order.
#[derive(Debug, Clone, Default)]
pub struct SssdConf {
    sections: Vec<(String, Vec<(String, String)>)>,
}

impl SssdConf {
    /// An empty configuration.
    pub fn new() -> SssdConf {
        SssdConf::default()
    }

    /// `services = nss`, one domain `LDAP` served by `slapd` with `schema`, plain LDAP
    /// (spec 8.3 setup).
    pub fn ldap(slapd: &Slapd, schema: Schema) -> SssdConf {
        SssdConf::ldap_uri(&slapd.uri(), slapd.base(), schema)
    }

    /// Like [`SssdConf::ldap`] for an arbitrary URI (e.g. a port nothing listens on).
    pub fn ldap_uri(uri: &str, base: &str, schema: Schema) -> SssdConf {
        SssdConf::new()
            .set("sssd", "services", "nss")
            .set("sssd", "domains", DOMAIN)
            .set("nss", "debug_level", "0x0070")
            .domain("debug_level", "0x0070")
            .domain("id_provider", "ldap")
            .domain("auth_provider", "ldap")
            .domain("ldap_uri", uri)
            .domain("ldap_search_base", base)
            .domain("ldap_schema", schema.as_conf())
            .domain("ldap_id_use_start_tls", "false")
            .domain("ldap_auth_disable_tls_never_use_in_production", "true")
    }

    /// [`SssdConf::ldap`] with the PAM responder too (`services = nss, pam`), chpass through
    /// LDAP, `[pam]` at the same debug level.
    pub fn ldap_pam(slapd: &Slapd, schema: Schema) -> SssdConf {
        SssdConf::ldap(slapd, schema)
            .set("sssd", "services", "nss, pam")
            .set("pam", "debug_level", "0x0070")
            .domain("chpass_provider", "ldap")
    }

    /// Sets `key = value` in `[section]` (replacing an earlier value).
    pub fn set(mut self, section: &str, key: &str, value: &str) -> SssdConf {
        let idx = match self.sections.iter().position(|(s, _)| s == section) {
            Some(i) => i,
            None => {
                self.sections.push((section.to_owned(), Vec::new()));
                self.sections.len() - 1
            }
        };
        let opts = &mut self.sections[idx].1;
        match opts.iter_mut().find(|(k, _)| k == key) {
            Some(kv) => kv.1 = value.to_owned(),
            None => opts.push((key.to_owned(), value.to_owned())),
        }
        self
    }

    /// Removes `key` from `[section]` (e.g. `ldap_uri`, to have the servers discovered).
    pub fn without(mut self, section: &str, key: &str) -> SssdConf {
        if let Some((_, opts)) = self.sections.iter_mut().find(|(s, _)| s == section) {
            opts.retain(|(k, _)| k != key);
        }
        self
    }

    /// Sets an option of `[domain/LDAP]`.
    pub fn domain(self, key: &str, value: &str) -> SssdConf {
        self.set(&format!("domain/{DOMAIN}"), key, value)
    }

    /// The file text.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for (name, opts) in &self.sections {
            let _ = writeln!(s, "[{name}]");
            for (k, v) in opts {
                let _ = writeln!(s, "{k} = {v}");
            }
            s.push('\n');
        }
        s
    }
}

/// The running daemon (monitor started with [`SSSD_ARGV`]).
#[derive(Debug)]
pub struct Sssd<'ns> {
    /// The monitor process.
    pub daemon: Daemon<'ns>,
    ns: &'ns Namespace,
}

impl<'ns> Sssd<'ns> {
    /// Writes `conf` as /etc/sssd/sssd.conf (0600), starts `sssd -i`, and waits for the NSS
    /// socket; on failure the error carries the daemon's stderr and logs.
    pub fn start(ns: &'ns Namespace, conf: &SssdConf) -> Result<Sssd<'ns>> {
        Sssd::start_with_argv(ns, conf, SSSD_ARGV)
    }

    /// Like [`Sssd::start`] with another monitor command line (e.g. a higher `-d` level for
    /// a test that reads the logs).
    pub fn start_with_argv(
        ns: &'ns Namespace,
        conf: &SssdConf,
        argv: &[&str],
    ) -> Result<Sssd<'ns>> {
        ns.write_file(CONF_PATH, conf.render().as_bytes(), 0o600)?;
        let mut daemon = ns.spawn(argv)?;
        let mut exited = None;
        let ready = crate::proc::wait_until("the NSS socket", START_TIMEOUT, || {
            if let Some(s) = daemon.wait_exit(Duration::ZERO) {
                exited = Some(s);
                return true;
            }
            ns.exists(NSS_SOCKET)
        });
        if exited.is_some() || ready.is_err() {
            let why = match exited {
                Some(s) => format!("sssd exited ({s})"),
                None => format!("{NSS_SOCKET} did not appear within {START_TIMEOUT:?}"),
            };
            let msg = format!(
                "{why}\n--- stderr ---\n{}\n--- logs ---\n{}",
                daemon.stderr(),
                logs(ns)
            );
            return Err(HarnessError::Setup(msg));
        }
        Ok(Sssd { daemon, ns })
    }

    /// All /var/log/sssd/*.log files, concatenated with headers.
    pub fn logs(&self) -> String {
        logs(self.ns)
    }
}

/// All /var/log/sssd/*.log files inside `ns`, concatenated with headers.
pub fn logs(ns: &Namespace) -> String {
    let mut out = String::new();
    let Ok(entries) = std::fs::read_dir(ns.host_path("/var/log/sssd")) else {
        return out;
    };
    let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        let _ = writeln!(out, "==> {} <==", p.display());
        out.push_str(&std::fs::read_to_string(&p).unwrap_or_default());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conf_renders_sections_in_order_and_replaces_values() {
        let c = SssdConf::ldap_uri("ldap://127.0.0.1:1", "dc=example,dc=com", Schema::Rfc2307)
            .domain("enumerate", "true")
            .domain("enumerate", "false");
        let s = c.render();
        assert!(s.starts_with("[sssd]\nservices = nss\ndomains = LDAP\n\n[nss]\n"));
        assert!(s.contains("[domain/LDAP]\n"));
        assert!(s.contains("ldap_uri = ldap://127.0.0.1:1\n"));
        assert_eq!(s.matches("enumerate").count(), 1);
        assert!(s.contains("enumerate = false\n"));
    }
}
