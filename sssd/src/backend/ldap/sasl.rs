//! SASL GSSAPI binds of the identity connection (`ldap_sasl_mech = GSSAPI`).
//!
//! With `ldap_krb5_init_creds` (the default) `ldap_child` gets a TGT for `ldap_sasl_authid`
//! (default `host/<hostname>`) from `ldap_krb5_keytab` into `<db>/ccache_<REALM>`, which
//! `sssd_be` names in `KRB5CCNAME` at startup; the TGT is renewed when a connection is made
//! after half its lifetime, and once more when a GSSAPI bind fails. The bind itself asks the
//! KDC for an `ldap/<host>@<realm>` ticket (host from the URI, realm the SASL realm) inside
//! libgssapi (blocking network I/O), so it runs on a blocking thread and never stalls the
//! event loop.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ldap3::Ldap;
use sss_proto::child::LdapChildRequest;
use thiserror::Error;

use crate::backend::krb5::ldap_child::{self, LdapChildError};
use crate::config::AuthOptions;

/// The environment variable GSSAPI reads the credential cache name from.
pub const KRB5CCNAME: &str = "KRB5CCNAME";

/// The environment variable libkrb5 reads its profile (krb5.conf) path list from.
pub const KRB5_CONFIG: &str = "KRB5_CONFIG";

/// The profile libkrb5 reads when `KRB5_CONFIG` is unset.
pub const DEFAULT_KRB5_CONFIG: &str = "/etc/krb5.conf";

/// A SASL configuration this backend cannot use.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum SaslConfigError {
    /// `ldap_sasl_mech` names something else than GSSAPI.
    #[error("[domain/{domain}] ldap_sasl_mech = {mech:?} is not supported (only GSSAPI)")]
    UnsupportedMech {
        /// The domain.
        domain: String,
        /// The configured mechanism.
        mech: String,
    },
    /// No realm for the keytab TGT.
    #[error(
        "[domain/{domain}] ldap_sasl_mech = GSSAPI with ldap_krb5_init_creds needs \
         ldap_sasl_realm or krb5_realm"
    )]
    NoRealm {
        /// The domain.
        domain: String,
    },
}

/// Why a GSSAPI bind did not happen.
#[derive(Debug, Error)]
pub enum GssapiError {
    /// ldap_child gave no TGT.
    #[error("no TGT from keytab {keytab:?} (ldap_krb5_keytab): {source}")]
    Tgt {
        /// The keytab.
        keytab: String,
        /// What went wrong.
        source: LdapChildError,
    },
    /// The URI has no host name to build the `ldap/<host>` service principal from.
    #[error("ldap_uri {0:?}: no host name for the ldap/<host> service principal")]
    NoHost(String),
    /// The bind did not finish in time.
    #[error("GSSAPI bind to {uri} (service ldap/{host}) timed out after {secs} s")]
    Timeout {
        /// The server.
        uri: String,
        /// The service host.
        host: String,
        /// The timeout.
        secs: u64,
    },
    /// GSSAPI or the LDAP exchange failed.
    #[error("GSSAPI bind to {uri} (service ldap/{host}): {detail}")]
    Failed {
        /// The server.
        uri: String,
        /// The service host.
        host: String,
        /// What failed.
        detail: String,
    },
    /// The server answered the bind with an error.
    #[error("GSSAPI bind to {uri} (service ldap/{host}) refused: rc={rc} {text}")]
    Refused {
        /// The server.
        uri: String,
        /// The service host.
        host: String,
        /// The LDAP result code.
        rc: u32,
        /// The server's message.
        text: String,
    },
}

/// What a GSSAPI bind uses, from the domain's options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GssapiOptions {
    /// `ldap_sasl_authid` (empty: ldap_child uses `host/<hostname>`).
    pub principal: String,
    /// `ldap_sasl_realm`, else `krb5_realm` (empty only without init_creds).
    pub realm: String,
    /// `ldap_krb5_keytab`.
    pub keytab: String,
    /// `ldap_krb5_init_creds`: get the TGT from the keytab with ldap_child.
    pub init_creds: bool,
    /// `ldap_krb5_ticket_lifetime` seconds.
    pub lifetime: u32,
    /// The ccache ldap_child writes and GSSAPI reads (`FILE:<db>/ccache_<REALM>`).
    pub ccache: String,
    /// `krb5_server` KDCs handed to ldap_child (empty: krb5.conf).
    pub kdcs: Vec<String>,
}

impl GssapiOptions {
    /// The GSSAPI settings of domain `domain` (`None` without `ldap_sasl_mech`); the ccache
    /// lives in the cache directory `db`.
    pub fn from_auth(
        auth: &AuthOptions,
        domain: &str,
        db: &Path,
    ) -> Result<Option<GssapiOptions>, SaslConfigError> {
        let s = &auth.sasl;
        let Some(mech) = s.mech.as_deref().map(str::trim).filter(|m| !m.is_empty()) else {
            return Ok(None);
        };
        if !mech.eq_ignore_ascii_case("GSSAPI") {
            return Err(SaslConfigError::UnsupportedMech {
                domain: domain.into(),
                mech: mech.into(),
            });
        }
        let realm = s
            .realm
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .unwrap_or("")
            .to_string();
        if s.init_creds && realm.is_empty() {
            return Err(SaslConfigError::NoRealm {
                domain: domain.into(),
            });
        }
        Ok(Some(GssapiOptions {
            principal: s.authid.as_deref().map(str::trim).unwrap_or("").to_string(),
            ccache: ldap_child::default_ccache(db, &realm),
            realm,
            keytab: s.keytab.clone(),
            init_creds: s.init_creds,
            lifetime: s.ticket_lifetime,
            // `_srv_` is left to libkrb5's own DNS lookup for the realm.
            kdcs: auth
                .krb5
                .servers
                .iter()
                .filter(|s| !crate::config::dns_options::is_srv_keyword(s))
                .cloned()
                .collect(),
        }))
    }

    /// A krb5.conf fragment naming the realm's `krb5_server` KDCs, so the service ticket
    /// request GSSAPI makes inside the backend reaches the KDCs ldap_child uses (SSSD's
    /// locator plugin does this job). Read after the system krb5.conf. `None` without KDCs
    /// or realm.
    pub fn kdc_profile(&self) -> Option<String> {
        if self.kdcs.is_empty() || self.realm.is_empty() {
            return None;
        }
        let mut s = format!("[realms]\n {} = {{\n", self.realm);
        for k in &self.kdcs {
            s.push_str(&format!("  kdc = {k}\n"));
        }
        s.push_str(" }\n");
        Some(s)
    }

    /// The service principal of the server at `host`: `ldap/<host>@<realm>`, or
    /// `ldap/<host>` (the default realm) without a realm. ldap3 parses it as a Kerberos
    /// principal name, so krb5.conf's `[domain_realm]` host mapping does not apply: the
    /// server is taken to be in the SASL realm.
    pub fn service_principal(&self, host: &str) -> String {
        format!("ldap/{}", self.service_host(host))
    }

    /// What ldap3 is given as the server name (it prefixes `ldap/`).
    fn service_host(&self, host: &str) -> String {
        if self.realm.is_empty() {
            host.to_string()
        } else {
            format!("{host}@{}", self.realm)
        }
    }

    /// Where `sssd_be` writes [`GssapiOptions::kdc_profile`]: beside the ccache in `db`.
    pub fn kdc_profile_path(&self, db: &Path) -> PathBuf {
        db.join(format!("krb5_kdcs_{}.conf", self.realm))
    }

    /// The `KRB5CCNAME` value `sssd_be` sets at startup: the keytab TGT's ccache when
    /// ldap_child manages it, else nothing (the ambient default ccache is used).
    pub fn ccache_env(&self) -> Option<&str> {
        self.init_creds.then_some(self.ccache.as_str())
    }
}

/// When the current TGT was obtained and when it expires (seconds since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tgt {
    obtained: i64,
    expire: i64,
}

/// Whether a new TGT is needed at `now`: none yet, or past half of its lifetime.
fn needs_refresh(tgt: Option<Tgt>, now: i64) -> bool {
    match tgt {
        None => true,
        Some(t) => now >= t.obtained + (t.expire - t.obtained) / 2,
    }
}

/// Does GSSAPI binds for one domain, keeping the keytab TGT fresh.
#[derive(Debug)]
pub struct GssapiBinder {
    opts: GssapiOptions,
    program: PathBuf,
    tgt: tokio::sync::Mutex<Option<Tgt>>,
}

impl GssapiBinder {
    /// A binder for `opts` running `program` (normally [`ldap_child::ldap_child_path`]).
    pub fn new(opts: GssapiOptions, program: PathBuf) -> GssapiBinder {
        GssapiBinder {
            opts,
            program,
            tgt: tokio::sync::Mutex::new(None),
        }
    }

    /// The options in use.
    pub fn options(&self) -> &GssapiOptions {
        &self.opts
    }

    /// Runs ldap_child when the TGT is missing, half expired, or `force`; a no-op without
    /// `ldap_krb5_init_creds`. ldap_child is killed after `timeout`.
    pub async fn ensure_tgt(&self, force: bool, timeout: Duration) -> Result<(), GssapiError> {
        if !self.opts.init_creds {
            return Ok(());
        }
        let mut slot = self.tgt.lock().await;
        if !force && !needs_refresh(*slot, super::now()) {
            return Ok(());
        }
        let o = &self.opts;
        let req = LdapChildRequest {
            realm: o.realm.clone(),
            principal: o.principal.clone(),
            keytab: o.keytab.clone(),
            lifetime: o.lifetime,
            ccache: o.ccache.clone(),
            kdcs: o.kdcs.clone(),
        };
        let obtained = super::now();
        let tgt = ldap_child::get_keytab_tgt(&self.program, &req, timeout)
            .await
            .map_err(|source| GssapiError::Tgt {
                keytab: o.keytab.clone(),
                source,
            })?;
        tracing::info!(
            "got a TGT for {:?} from keytab {:?} into {} (expires at {})",
            if o.principal.is_empty() {
                "host/<hostname>"
            } else {
                &o.principal
            },
            o.keytab,
            tgt.ccache,
            tgt.expire_time
        );
        *slot = Some(Tgt {
            obtained,
            expire: tgt.expire_time,
        });
        Ok(())
    }

    /// Binds `ldap` (connected to `uri`) with SASL GSSAPI as the keytab principal, to the
    /// service `ldap/<host of uri>`; on failure gets a new TGT and tries once more. Each
    /// step is bounded by `timeout`.
    pub async fn bind(&self, ldap: &Ldap, uri: &str, timeout: Duration) -> Result<(), GssapiError> {
        let host = server_host(uri).ok_or_else(|| GssapiError::NoHost(uri.into()))?;
        let host = self.opts.service_host(&host);
        self.ensure_tgt(false, timeout).await?;
        match gssapi_bind(ldap, uri, &host, timeout).await {
            Ok(()) => Ok(()),
            Err(e @ (GssapiError::Failed { .. } | GssapiError::Refused { .. }))
                if self.opts.init_creds =>
            {
                tracing::warn!("{e}; getting a new TGT and trying again");
                self.ensure_tgt(true, timeout).await?;
                gssapi_bind(ldap, uri, &host, timeout).await
            }
            Err(e) => Err(e),
        }
    }
}

/// One GSSAPI bind on a blocking thread (libgssapi reads the ccache and may ask the KDC for
/// a service ticket synchronously); the LDAP messages still go through the connection's
/// driver task on the runtime.
async fn gssapi_bind(
    ldap: &Ldap,
    uri: &str,
    host: &str,
    timeout: Duration,
) -> Result<(), GssapiError> {
    let failed = |detail: String| GssapiError::Failed {
        uri: uri.into(),
        host: host.into(),
        detail,
    };
    let rt = tokio::runtime::Handle::current();
    let mut handle = ldap.clone();
    let service_host = host.to_string();
    let job = tokio::task::spawn_blocking(move || {
        rt.block_on(async move { handle.sasl_gssapi_bind(&service_host).await })
    });
    let res = match tokio::time::timeout(timeout, job).await {
        Err(_) => {
            return Err(GssapiError::Timeout {
                uri: uri.into(),
                host: host.into(),
                secs: timeout.as_secs(),
            });
        }
        Ok(Err(join)) => return Err(failed(format!("bind thread failed: {join}"))),
        Ok(Ok(Err(e))) => return Err(failed(e.to_string())),
        Ok(Ok(Ok(res))) => res,
    };
    if res.rc != 0 {
        return Err(GssapiError::Refused {
            uri: uri.into(),
            host: host.into(),
            rc: res.rc,
            text: res.text,
        });
    }
    tracing::debug!("GSSAPI bind to {uri} (service ldap/{host}) done");
    Ok(())
}

/// The host name of `ldap[s]://[user@]host[:port][/...]`, without brackets, lowercased:
/// the `<host>` of the server's `ldap/<host>` principal.
pub fn server_host(uri: &str) -> Option<String> {
    let lower = uri.trim().to_ascii_lowercase();
    let rest = lower
        .strip_prefix("ldap://")
        .or_else(|| lower.strip_prefix("ldaps://"))?;
    let hostport = rest.split(['/', '?']).next().unwrap_or("");
    let hostport = hostport.rsplit_once('@').map_or(hostport, |(_, h)| h);
    let host = if let Some(v6) = hostport.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        hostport.split(':').next().unwrap_or("")
    };
    (!host.is_empty()).then(|| host.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn auth(extra: &str) -> AuthOptions {
        let text = format!("[sssd]\ndomains = D\n[domain/D]\nid_provider = ldap\n{extra}");
        let cfg = Config::parse(&text, "test.conf").expect("parses");
        AuthOptions::from_config(&cfg, "D").expect("auth options")
    }

    #[test]
    fn no_mech_means_simple_binds() {
        assert_eq!(
            GssapiOptions::from_auth(&auth(""), "D", Path::new("/db")),
            Ok(None)
        );
    }

    #[test]
    fn gssapi_options_come_from_the_domain() {
        let a = auth(
            "ldap_sasl_mech = gssapi\nldap_sasl_authid = host/c.example.com\n\
             krb5_realm = EXAMPLE.COM\nldap_krb5_keytab = /k.keytab\n\
             krb5_server = 127.0.0.1:88\nldap_krb5_ticket_lifetime = 3600\n",
        );
        let o = GssapiOptions::from_auth(&a, "D", Path::new("/var/lib/sss/db"))
            .expect("valid")
            .expect("gssapi");
        assert_eq!(o.principal, "host/c.example.com");
        assert_eq!(o.realm, "EXAMPLE.COM");
        assert_eq!(o.keytab, "/k.keytab");
        assert_eq!(o.lifetime, 3600);
        assert_eq!(o.kdcs, vec!["127.0.0.1:88".to_string()]);
        assert_eq!(o.ccache, "FILE:/var/lib/sss/db/ccache_EXAMPLE.COM");
        assert_eq!(
            o.ccache_env(),
            Some("FILE:/var/lib/sss/db/ccache_EXAMPLE.COM")
        );
    }

    #[test]
    fn sasl_realm_wins_over_krb5_realm() {
        let a = auth("ldap_sasl_mech = GSSAPI\nkrb5_realm = A.TEST\nldap_sasl_realm = B.TEST\n");
        let o = GssapiOptions::from_auth(&a, "D", Path::new("/db"))
            .expect("valid")
            .expect("gssapi");
        assert_eq!(o.realm, "B.TEST");
        assert!(o.principal.is_empty());
    }

    #[test]
    fn other_mechs_and_missing_realms_are_config_errors() {
        let e = GssapiOptions::from_auth(&auth("ldap_sasl_mech = EXTERNAL\n"), "D", Path::new("/"))
            .expect_err("unsupported");
        assert!(
            e.to_string().contains("ldap_sasl_mech = \"EXTERNAL\""),
            "{e}"
        );
        let e = GssapiOptions::from_auth(&auth("ldap_sasl_mech = GSSAPI\n"), "D", Path::new("/"))
            .expect_err("no realm");
        assert!(e.to_string().contains("krb5_realm"), "{e}");
        let o = GssapiOptions::from_auth(
            &auth("ldap_sasl_mech = GSSAPI\nldap_krb5_init_creds = false\n"),
            "D",
            Path::new("/"),
        )
        .expect("valid without a realm when the ccache is external")
        .expect("gssapi");
        assert_eq!(o.ccache_env(), None);
    }

    #[test]
    fn kdc_profile_names_the_realm_kdcs() {
        let a = auth("ldap_sasl_mech = GSSAPI\nkrb5_realm = R.TEST\nkrb5_server = k1:88, k2\n");
        let o = GssapiOptions::from_auth(&a, "D", Path::new("/db"))
            .expect("valid")
            .expect("gssapi");
        assert_eq!(
            o.kdc_profile().as_deref(),
            Some("[realms]\n R.TEST = {\n  kdc = k1:88\n  kdc = k2\n }\n")
        );
        assert_eq!(
            o.kdc_profile_path(Path::new("/db")),
            Path::new("/db/krb5_kdcs_R.TEST.conf")
        );
        assert_eq!(
            o.service_principal("ldap.r.test"),
            "ldap/ldap.r.test@R.TEST"
        );
        let a = auth("ldap_sasl_mech = GSSAPI\nkrb5_realm = R.TEST\n");
        let o = GssapiOptions::from_auth(&a, "D", Path::new("/db"))
            .expect("valid")
            .expect("gssapi");
        assert_eq!(o.kdc_profile(), None);
        let a = auth("ldap_sasl_mech = GSSAPI\nldap_krb5_init_creds = false\n");
        let o = GssapiOptions::from_auth(&a, "D", Path::new("/db"))
            .expect("valid")
            .expect("gssapi");
        assert_eq!(o.service_principal("h"), "ldap/h");
    }

    #[test]
    fn refresh_after_half_the_lifetime() {
        assert!(needs_refresh(None, 0));
        let t = Tgt {
            obtained: 1000,
            expire: 2000,
        };
        assert!(!needs_refresh(Some(t), 1499));
        assert!(needs_refresh(Some(t), 1500));
        let expired = Tgt {
            obtained: 1000,
            expire: 900,
        };
        assert!(needs_refresh(Some(expired), 1000));
    }

    #[test]
    fn service_host_comes_from_the_uri() {
        assert_eq!(
            server_host("ldap://LDAP.Example.COM:389/").as_deref(),
            Some("ldap.example.com")
        );
        assert_eq!(
            server_host("ldaps://localhost").as_deref(),
            Some("localhost")
        );
        assert_eq!(server_host("ldap://[::1]:389").as_deref(), Some("::1"));
        assert_eq!(server_host("ldap://:389"), None);
        assert_eq!(server_host("ldapi:///run/x"), None);
    }

    #[tokio::test]
    async fn a_missing_ldap_child_is_reported_with_the_keytab() {
        let a = auth("ldap_sasl_mech = GSSAPI\nkrb5_realm = R.TEST\nldap_krb5_keytab = /kt\n");
        let o = GssapiOptions::from_auth(&a, "D", Path::new("/nonexistent"))
            .expect("valid")
            .expect("gssapi");
        let b = GssapiBinder::new(o, PathBuf::from("/nonexistent/ldap_child"));
        let e = b
            .ensure_tgt(false, Duration::from_secs(2))
            .await
            .expect_err("no child");
        let msg = e.to_string();
        assert!(
            msg.contains("/kt") && msg.contains("/nonexistent/ldap_child"),
            "{msg}"
        );
    }
}
