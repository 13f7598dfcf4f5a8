//! The TLS options of an LDAP domain beyond `ldap_tls_reqcert` and `ldap_tls_cacert`, and the
//! ldap.conf fallback for the CA settings and the cipher suites.

use std::path::PathBuf;

use super::ciphers::CipherSpec;
use super::ldap_conf::LdapConf;
use super::options::optional;
use super::{Config, ConfigError, LdapOptions};

/// `ldap_tls_cacertdir`, `ldap_tls_cert`, `ldap_tls_key`, `ldap_tls_cipher_suite`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// `ldap_tls_cacertdir` (or `TLS_CACERTDIR` of ldap.conf): a hashed CA directory.
    pub cacertdir: Option<String>,
    /// `ldap_tls_cert`: the client certificate (chain), PEM or DER.
    pub cert: Option<String>,
    /// `ldap_tls_key`: the client certificate's key, PEM or DER.
    pub key: Option<String>,
    /// `ldap_tls_cipher_suite` (or `TLS_CIPHER_SUITE` of ldap.conf), parsed.
    pub ciphers: Option<CipherSpec>,
    /// The ldap.conf file `tls_cacert` came from (`None`: sssd.conf).
    pub cacert_from: Option<PathBuf>,
    /// The ldap.conf file `cacertdir` came from (`None`: sssd.conf).
    pub cacertdir_from: Option<PathBuf>,
}

impl TlsOptions {
    /// Reads the options of `section`; an inexpressible cipher string, or a certificate
    /// without its key (or the reverse), is a configuration error naming the option.
    pub fn from_config(cfg: &Config, section: &str) -> Result<TlsOptions, ConfigError> {
        let cert = optional(cfg, section, "ldap_tls_cert");
        let key = optional(cfg, section, "ldap_tls_key");
        match (&cert, &key) {
            (Some(c), None) => {
                return Err(ConfigError::bad_value(
                    section,
                    "ldap_tls_cert",
                    c,
                    "ldap_tls_key (the client certificate's key) is not set",
                ));
            }
            (None, Some(k)) => {
                return Err(ConfigError::bad_value(
                    section,
                    "ldap_tls_key",
                    k,
                    "ldap_tls_cert (the client certificate) is not set",
                ));
            }
            _ => {}
        }
        const SUITE: &str = "ldap_tls_cipher_suite";
        let ciphers = match optional(cfg, section, SUITE) {
            None => None,
            Some(v) => Some(
                CipherSpec::parse(&v).map_err(|m| ConfigError::bad_value(section, SUITE, &v, m))?,
            ),
        };
        Ok(TlsOptions {
            cacertdir: optional(cfg, section, "ldap_tls_cacertdir"),
            cert,
            key,
            ciphers,
            cacert_from: None,
            cacertdir_from: None,
        })
    }

    /// How a CA file setting is named in messages: the sssd.conf option or the ldap.conf
    /// keyword and file.
    pub fn cacert_label(&self) -> String {
        match &self.cacert_from {
            None => "ldap_tls_cacert".into(),
            Some(f) => format!("TLS_CACERT of {}", f.display()),
        }
    }

    /// As [`TlsOptions::cacert_label`] for the CA directory.
    pub fn cacertdir_label(&self) -> String {
        match &self.cacertdir_from {
            None => "ldap_tls_cacertdir".into(),
            Some(f) => format!("TLS_CACERTDIR of {}", f.display()),
        }
    }
}

impl LdapOptions {
    /// Fills the settings sssd.conf leaves unset from ldap.conf, as libldap does under SSSD:
    /// `TLS_CACERT`, `TLS_CACERTDIR` and `TLS_CIPHER_SUITE` each apply when the matching
    /// `ldap_tls_*` option is unset. `TLS_REQCERT` never applies: SSSD always sets
    /// `ldap_tls_reqcert` (default `hard`).
    pub fn apply_ldap_conf(&mut self, conf: &LdapConf) -> Result<(), ConfigError> {
        if self.tls_cacert.is_none()
            && let Some(s) = &conf.cacert
        {
            tracing::debug!("TLS_CACERT {} from {}", s.value, s.file.display());
            self.tls_cacert = Some(s.value.clone());
            self.tls.cacert_from = Some(s.file.clone());
        }
        if self.tls.cacertdir.is_none()
            && let Some(s) = &conf.cacertdir
        {
            tracing::debug!("TLS_CACERTDIR {} from {}", s.value, s.file.display());
            self.tls.cacertdir = Some(s.value.clone());
            self.tls.cacertdir_from = Some(s.file.clone());
        }
        if let Some(s) = &conf.reqcert {
            tracing::debug!(
                "TLS_REQCERT {} of {} is overridden by ldap_tls_reqcert = {}",
                s.value,
                s.file.display(),
                self.tls_reqcert
            );
        }
        if self.tls.ciphers.is_none()
            && let Some(s) = &conf.cipher_suite
        {
            let spec = CipherSpec::parse(&s.value).map_err(|m| {
                ConfigError::bad_value(
                    &s.file.display().to_string(),
                    "TLS_CIPHER_SUITE",
                    &s.value,
                    m,
                )
            })?;
            self.tls.ciphers = Some(spec);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ldap_conf::Setting;

    fn section(extra: &str) -> Config {
        Config::parse(&format!("[domain/D]\nid_provider = ldap\n{extra}"), "t").unwrap()
    }

    #[test]
    fn cipher_and_key_errors_name_the_option() {
        let e = TlsOptions::from_config(&section("ldap_tls_cipher_suite = RC4-SHA\n"), "domain/D")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("ldap_tls_cipher_suite") && e.contains("RC4-SHA"),
            "{e}"
        );
        let e = TlsOptions::from_config(&section("ldap_tls_cert = /c.pem\n"), "domain/D")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("ldap_tls_cert") && e.contains("ldap_tls_key"),
            "{e}"
        );
        let o = TlsOptions::from_config(
            &section("ldap_tls_cipher_suite = HIGH\nldap_tls_cacertdir = /d\n"),
            "domain/D",
        )
        .unwrap();
        assert_eq!(o.cacertdir.as_deref(), Some("/d"));
        assert!(o.ciphers.is_some());
    }

    #[test]
    fn ldap_conf_fills_only_unset_options() {
        let cfg = section("ldap_uri = ldap://x\nldap_tls_cacertdir = /mine\n");
        let mut o = LdapOptions::from_config(&cfg, "D").unwrap();
        let set = |v: &str| {
            Some(Setting {
                value: v.into(),
                file: "/etc/ldap/ldap.conf".into(),
            })
        };
        let conf = LdapConf {
            cacert: set("/ca.pem"),
            cacertdir: set("/theirs"),
            reqcert: set("never"),
            cipher_suite: set("ECDHE-RSA-AES128-GCM-SHA256"),
        };
        o.apply_ldap_conf(&conf).unwrap();
        assert_eq!(o.tls_cacert.as_deref(), Some("/ca.pem"));
        assert_eq!(o.tls.cacert_label(), "TLS_CACERT of /etc/ldap/ldap.conf");
        assert_eq!(o.tls.cacertdir.as_deref(), Some("/mine"));
        assert_eq!(o.tls.cacertdir_label(), "ldap_tls_cacertdir");
        assert_eq!(o.tls_reqcert, "hard");
        assert_eq!(o.tls.ciphers.as_ref().unwrap().suites.len(), 4);
        let bad = LdapConf {
            cipher_suite: set("AES128-SHA"),
            ..LdapConf::default()
        };
        let mut o = LdapOptions::from_config(&cfg, "D").unwrap();
        let e = o.apply_ldap_conf(&bad).unwrap_err().to_string();
        assert!(
            e.contains("TLS_CIPHER_SUITE") && e.contains("/etc/ldap/ldap.conf"),
            "{e}"
        );
    }
}
