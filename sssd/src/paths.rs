//! Well-known file system locations, SSSD-compatible, relocatable under a root for tests.

use std::path::{Path, PathBuf};

/// Every path the daemon tree uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// `/etc/sssd/sssd.conf`.
    pub config_file: PathBuf,
    /// `/etc/sssd/conf.d`.
    pub config_snippets: PathBuf,
    /// `/var/lib/sss/pipes`: client sockets.
    pub pipes: PathBuf,
    /// `/var/lib/sss/pipes/private`: the private bus socket and privileged sockets.
    pub private_pipes: PathBuf,
    /// `/var/lib/sss/db`: one cache environment per domain.
    pub db: PathBuf,
    /// `/var/lib/sss/mc`: memory caches.
    pub mc: PathBuf,
    /// `/var/lib/sss/pubconf`: files SSSD publishes for other programs (`known_hosts`).
    pub pubconf: PathBuf,
    /// `/var/log/sssd`.
    pub log: PathBuf,
    /// `/run/sssd.pid`.
    pub pidfile: PathBuf,
    /// `/usr/libexec/sssd`: where the monitor finds `sssd_be`, `sssd_nss`, ...
    pub libexec: PathBuf,
}

impl Paths {
    /// The standard locations.
    pub fn system() -> Paths {
        Paths::under(Path::new("/"))
    }

    /// The standard layout below `root` (used by tests that cannot use a namespace).
    pub fn under(root: &Path) -> Paths {
        let p = |s: &str| root.join(s);
        Paths {
            config_file: p("etc/sssd/sssd.conf"),
            config_snippets: p("etc/sssd/conf.d"),
            pipes: p("var/lib/sss/pipes"),
            private_pipes: p("var/lib/sss/pipes/private"),
            db: p("var/lib/sss/db"),
            mc: p("var/lib/sss/mc"),
            pubconf: p("var/lib/sss/pubconf"),
            log: p("var/log/sssd"),
            pidfile: p("run/sssd.pid"),
            libexec: p("usr/libexec/sssd"),
        }
    }

    /// The NSS responder socket.
    pub fn nss_socket(&self) -> PathBuf {
        self.pipes.join("nss")
    }

    /// The public PAM responder socket.
    pub fn pam_socket(&self) -> PathBuf {
        self.pipes.join("pam")
    }

    /// The privileged PAM socket for root clients of SSSD before 2.10 (mode 0600 in the
    /// 0700 `private/` directory).
    pub fn pam_private_socket(&self) -> PathBuf {
        self.private_pipes.join("pam")
    }

    /// The SSH known hosts file the ssh responder keeps (`pubconf/known_hosts`).
    pub fn known_hosts(&self) -> PathBuf {
        self.pubconf.join("known_hosts")
    }

    /// The local user overrides `sss_override` keeps (SSSD's export format, one line
    /// per user: `name@domain:name:uid:gid:gecos:home:shell:cert`).
    pub fn user_overrides(&self) -> PathBuf {
        self.db.join("sssd_user_overrides")
    }

    /// The local group overrides `sss_override` keeps (`name@domain:name:gid`).
    pub fn group_overrides(&self) -> PathBuf {
        self.db.join("sssd_group_overrides")
    }

    /// The private bus socket hosted by the monitor.
    pub fn bus_socket(&self) -> PathBuf {
        self.private_pipes.join("sbus-master")
    }

    /// D-Bus address of the private bus.
    pub fn bus_address(&self) -> String {
        format!("unix:path={}", self.bus_socket().display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_paths_match_sssd() {
        let p = Paths::system();
        assert_eq!(p.nss_socket(), Path::new("/var/lib/sss/pipes/nss"));
        assert_eq!(
            p.bus_address(),
            "unix:path=/var/lib/sss/pipes/private/sbus-master"
        );
        assert_eq!(p.pidfile, Path::new("/run/sssd.pid"));
        assert_eq!(p.pam_socket(), Path::new("/var/lib/sss/pipes/pam"));
        assert_eq!(
            p.pam_private_socket(),
            Path::new("/var/lib/sss/pipes/private/pam")
        );
    }
}
