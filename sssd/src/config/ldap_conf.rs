//! The TLS settings of OpenLDAP's system-wide client configuration (`/etc/ldap/ldap.conf`),
//! which libldap applies to SSSD when sssd.conf sets none.
//!
//! As libldap for a process that is not set-uid: `LDAPNOINIT` in the environment disables
//! the files, the system file is read when it exists, then the file named by `LDAPCONF`
//! overrides it. User files (`ldaprc`, `$HOME/.ldaprc`, `LDAPRC`) and `LDAPTLS_*`
//! variables are ignored: a daemon's behaviour must not depend on root's home directory.

use std::path::{Path, PathBuf};

/// The system file libldap reads.
pub const SYSTEM_LDAP_CONF: &str = "/etc/ldap/ldap.conf";

/// One setting and the file it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The value (rest of the line, trimmed).
    pub value: String,
    /// The file it was read from.
    pub file: PathBuf,
}

/// The TLS settings found in the ldap.conf files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LdapConf {
    /// `TLS_CACERT`.
    pub cacert: Option<Setting>,
    /// `TLS_CACERTDIR`.
    pub cacertdir: Option<Setting>,
    /// `TLS_REQCERT` (SSSD always sets `ldap_tls_reqcert`, so it never applies).
    pub reqcert: Option<Setting>,
    /// `TLS_CIPHER_SUITE`.
    pub cipher_suite: Option<Setting>,
}

impl LdapConf {
    /// Reads the files libldap would (see the module documentation); unreadable or absent
    /// files are skipped (a missing one is normal, an unreadable one is logged).
    pub fn load() -> LdapConf {
        let mut c = LdapConf::default();
        if std::env::var_os("LDAPNOINIT").is_some() {
            return c;
        }
        c.read(Path::new(SYSTEM_LDAP_CONF));
        if let Some(alt) = std::env::var_os("LDAPCONF") {
            c.read(Path::new(&alt));
        }
        c
    }

    /// Applies the file `path` over the settings read so far.
    pub fn read(&mut self, path: &Path) {
        match std::fs::read(path) {
            Ok(bytes) => self.apply(&String::from_utf8_lossy(&bytes), path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!("{}: {e}; its TLS settings are ignored", path.display()),
        }
    }

    /// Applies the text of an ldap.conf file read from `file`.
    pub fn apply(&mut self, text: &str, file: &Path) {
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once(char::is_whitespace) else {
                continue;
            };
            let slot = match key.to_ascii_uppercase().as_str() {
                "TLS_CACERT" => &mut self.cacert,
                "TLS_CACERTDIR" => &mut self.cacertdir,
                "TLS_REQCERT" => &mut self.reqcert,
                "TLS_CIPHER_SUITE" => &mut self.cipher_suite,
                _ => continue,
            };
            let value = value.trim();
            if !value.is_empty() {
                *slot = Some(Setting {
                    value: value.to_string(),
                    file: file.to_path_buf(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_settings_are_read_and_later_files_win() {
        let mut c = LdapConf::default();
        c.apply(
            "# comment\nBASE dc=x\ntls_cacert\t/a/ca.pem \nTLS_REQCERT never\nTLS_CACERTDIR\n",
            Path::new("/etc/ldap/ldap.conf"),
        );
        let ca = c.cacert.clone().unwrap();
        assert_eq!(ca.value, "/a/ca.pem");
        assert_eq!(ca.file, Path::new("/etc/ldap/ldap.conf"));
        assert_eq!(c.reqcert.as_ref().unwrap().value, "never");
        assert_eq!(c.cacertdir, None);
        c.apply("TLS_CACERT /b.pem\n", Path::new("/alt.conf"));
        assert_eq!(c.cacert.unwrap().file, Path::new("/alt.conf"));
    }

    #[test]
    fn missing_files_are_skipped() {
        let mut c = LdapConf::default();
        c.read(Path::new("/nonexistent/ldap.conf"));
        assert_eq!(c, LdapConf::default());
    }
}
