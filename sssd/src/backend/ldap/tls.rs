//! The rustls client configuration of LDAP connections: the trusted CAs (`ldap_tls_cacert`,
//! `ldap_tls_cacertdir`, or the system store), the verification policy
//! (`ldap_tls_reqcert`), the client certificate (`ldap_tls_cert`/`ldap_tls_key`) and the
//! cipher suites (`ldap_tls_cipher_suite`). Files are read on a blocking thread, on each
//! connection that uses TLS (renewed certificates are picked up without a restart).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::config::LdapOptions;
use crate::config::ciphers::CipherSpec;

/// Why no TLS configuration could be built; each names the option (or ldap.conf keyword)
/// and the file.
#[derive(Debug, Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("{option} {path}: {source}")]
    Read {
        /// The option naming the file.
        option: String,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file's contents are not usable.
    #[error("{option} {path}: {message}")]
    Bad {
        /// The option naming the file.
        option: String,
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// rustls refused the combination (e.g. the key does not match the certificate).
    #[error("{0}")]
    Rustls(String),
    /// The blocking task failed.
    #[error("TLS setup task failed: {0}")]
    Task(String),
}

/// Whether the server certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsPolicy {
    /// `never`, `allow`: the certificate is not verified.
    NoVerify,
    /// `try`, `demand`, `hard` (and anything unrecognised): verified against the CAs and the
    /// host name. (`try` only differs from `demand` when the server sends no certificate,
    /// which no TLS suite rustls implements allows.)
    Verify,
}

impl TlsPolicy {
    /// The policy for an `ldap_tls_reqcert` value.
    pub fn from_reqcert(v: &str) -> TlsPolicy {
        match v.trim().to_ascii_lowercase().as_str() {
            "never" | "allow" => TlsPolicy::NoVerify,
            _ => TlsPolicy::Verify,
        }
    }
}

/// The TLS settings of a domain, detached from [`LdapOptions`] for the blocking thread.
#[derive(Debug, Clone)]
pub struct TlsSetup {
    policy: TlsPolicy,
    cacert: Option<(String, PathBuf)>,
    cacertdir: Option<(String, PathBuf)>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    ciphers: Option<CipherSpec>,
}

impl TlsSetup {
    /// The settings of `o`.
    pub fn new(o: &LdapOptions) -> TlsSetup {
        TlsSetup {
            policy: TlsPolicy::from_reqcert(&o.tls_reqcert),
            cacert: o
                .tls_cacert
                .as_ref()
                .map(|p| (o.tls.cacert_label(), PathBuf::from(p))),
            cacertdir: o
                .tls
                .cacertdir
                .as_ref()
                .map(|p| (o.tls.cacertdir_label(), PathBuf::from(p))),
            cert: o.tls.cert.as_ref().map(PathBuf::from),
            key: o.tls.key.as_ref().map(PathBuf::from),
            ciphers: o.tls.ciphers.clone(),
        }
    }

    /// Builds the client configuration on a blocking thread.
    pub async fn client_config(self) -> Result<Arc<ClientConfig>, TlsError> {
        tokio::task::spawn_blocking(move || self.build().map(Arc::new))
            .await
            .map_err(|e| TlsError::Task(e.to_string()))?
    }

    /// Builds the client configuration (reads files: blocking).
    pub fn build(&self) -> Result<ClientConfig, TlsError> {
        let provider = Arc::new(self.provider());
        let mut versions: Vec<&'static rustls::SupportedProtocolVersion> = Vec::new();
        match &self.ciphers {
            None => versions.extend(rustls::DEFAULT_VERSIONS),
            Some(spec) => {
                if spec.tls13() {
                    versions.push(&rustls::version::TLS13);
                }
                if spec.tls12() {
                    versions.push(&rustls::version::TLS12);
                }
            }
        }
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions)
            .map_err(|e| TlsError::Rustls(format!("ldap_tls_cipher_suite: {e}")))?;
        let builder = match self.policy {
            TlsPolicy::Verify => builder.with_root_certificates(self.roots()?),
            TlsPolicy::NoVerify => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerify(
                    provider.signature_verification_algorithms,
                ))),
        };
        match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => {
                let chain = read_certs("ldap_tls_cert", cert)?;
                let key = read_key(key)?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| TlsError::Rustls(format!("ldap_tls_cert/ldap_tls_key: {e}")))
            }
            _ => Ok(builder.with_no_client_auth()),
        }
    }

    /// The ring provider restricted to `ldap_tls_cipher_suite`.
    fn provider(&self) -> CryptoProvider {
        let mut p = rustls::crypto::ring::default_provider();
        if let Some(spec) = &self.ciphers {
            let all = std::mem::take(&mut p.cipher_suites);
            p.cipher_suites = spec
                .suites
                .iter()
                .filter_map(|id| all.iter().find(|s| s.suite() == *id).copied())
                .collect();
        }
        p
    }

    /// The CAs of the CA file and directory, or the system's when neither is set.
    fn roots(&self) -> Result<RootCertStore, TlsError> {
        let mut roots = RootCertStore::empty();
        if let Some((label, path)) = &self.cacert {
            for cert in read_certs(label, path)? {
                roots.add(cert).map_err(|e| TlsError::Bad {
                    option: label.clone(),
                    path: path.clone(),
                    message: format!("bad CA certificate: {e}"),
                })?;
            }
        }
        if let Some((label, dir)) = &self.cacertdir {
            let n = load_hashed_dir(label, dir, &mut roots)?;
            tracing::debug!("{label} {}: {n} CA certificates", dir.display());
        }
        if self.cacert.is_none() && self.cacertdir.is_none() {
            let native = rustls_native_certs::load_native_certs();
            for e in &native.errors {
                tracing::warn!("system CA store: {e}");
            }
            let (added, _) = roots.add_parsable_certificates(native.certs);
            tracing::debug!("no ldap_tls_cacert/ldap_tls_cacertdir: {added} system CAs");
        }
        Ok(roots)
    }
}

/// Whether `name` is a certificate hash link as `openssl rehash` makes them: eight hex
/// digits, a dot and a decimal sequence number (`.rN` links are CRLs).
pub fn is_hash_link(name: &str) -> bool {
    let Some((hash, seq)) = name.split_once('.') else {
        return false;
    };
    hash.len() == 8
        && hash.bytes().all(|b| b.is_ascii_hexdigit())
        && !seq.is_empty()
        && seq.bytes().all(|b| b.is_ascii_digit())
}

/// Adds the certificates of the hash links in `dir` (the files OpenSSL's directory lookup
/// can find; other files are ignored as OpenSSL ignores them); returns how many. A file
/// that cannot be used is logged and skipped; a directory without any is an error.
fn load_hashed_dir(label: &str, dir: &Path, roots: &mut RootCertStore) -> Result<usize, TlsError> {
    let entries = std::fs::read_dir(dir).map_err(|source| TlsError::Read {
        option: label.into(),
        path: dir.into(),
        source,
    })?;
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| is_hash_link(n))
        .collect();
    names.sort();
    let mut added = 0;
    for name in names {
        let path = dir.join(&name);
        match read_certs(label, &path) {
            Ok(certs) => {
                for cert in certs {
                    match roots.add(cert) {
                        Ok(()) => added += 1,
                        Err(e) => tracing::warn!("{label} {}: {e}", path.display()),
                    }
                }
            }
            Err(e) => tracing::warn!("{e}"),
        }
    }
    if added == 0 {
        return Err(TlsError::Bad {
            option: label.into(),
            path: dir.into(),
            message: "no CA certificate under a hash name (HHHHHHHH.N, as made by \
                      `openssl rehash`)"
                .into(),
        });
    }
    Ok(added)
}

fn is_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

/// The certificates of a PEM file (all of them) or a DER file (one).
fn read_certs(label: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bad = |message: String| TlsError::Bad {
        option: label.into(),
        path: path.into(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|source| TlsError::Read {
        option: label.into(),
        path: path.into(),
        source,
    })?;
    if !is_pem(&bytes) {
        if bytes.first() != Some(&0x30) {
            return Err(bad("neither PEM nor DER".into()));
        }
        return Ok(vec![CertificateDer::from(bytes)]);
    }
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("bad PEM: {e}")))?;
    if certs.is_empty() {
        return Err(bad("no certificate found".into()));
    }
    Ok(certs)
}

/// The private key of `ldap_tls_key`, PEM or DER (PKCS#8, PKCS#1 or SEC1).
fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bad = |message: String| TlsError::Bad {
        option: "ldap_tls_key".into(),
        path: path.into(),
        message,
    };
    let bytes = Zeroizing::new(std::fs::read(path).map_err(|source| TlsError::Read {
        option: "ldap_tls_key".into(),
        path: path.into(),
        source,
    })?);
    if is_pem(&bytes) {
        PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| bad(format!("no usable key: {e}")))
    } else {
        PrivateKeyDer::try_from(bytes.to_vec()).map_err(|e| bad(format!("not a DER key: {e}")))
    }
}

/// Accepts any server certificate (`ldap_tls_reqcert = never/allow`) but still checks the
/// handshake signatures.
#[derive(Debug)]
struct NoVerify(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::ldap::test_options;

    #[test]
    fn reqcert_values_map_to_policies() {
        for v in ["never", "ALLOW"] {
            assert_eq!(TlsPolicy::from_reqcert(v), TlsPolicy::NoVerify);
        }
        for v in ["try", "demand", "hard", "bogus"] {
            assert_eq!(TlsPolicy::from_reqcert(v), TlsPolicy::Verify);
        }
    }

    #[test]
    fn hash_links_are_recognised() {
        for ok in ["a1b2c3d4.0", "0000FFFF.12"] {
            assert!(is_hash_link(ok), "{ok}");
        }
        for no in [
            "ca.pem",
            "a1b2c3d4.r0",
            "a1b2c3d.0",
            "a1b2c3d4.",
            "a1b2c3d4.0.pem",
        ] {
            assert!(!is_hash_link(no), "{no}");
        }
    }

    #[test]
    fn bad_files_name_the_option_and_path() {
        let d = tempfile::tempdir().unwrap();
        let junk = d.path().join("junk.pem");
        std::fs::write(&junk, b"not a certificate").unwrap();
        let mut o = test_options();
        o.tls_cacert = Some(junk.display().to_string());
        let e = TlsSetup::new(&o).build().unwrap_err().to_string();
        assert!(
            e.starts_with("ldap_tls_cacert ") && e.contains("junk.pem"),
            "{e}"
        );
        o.tls_cacert = None;
        o.tls.cacertdir = Some(d.path().display().to_string());
        let e = TlsSetup::new(&o).build().unwrap_err().to_string();
        assert!(
            e.contains("ldap_tls_cacertdir") && e.contains("rehash"),
            "{e}"
        );
        o.tls_cacert = Some("/nonexistent/ca.pem".into());
        o.tls.cacertdir = None;
        o.tls.cacert_from = Some("/etc/ldap/ldap.conf".into());
        let e = TlsSetup::new(&o).build().unwrap_err().to_string();
        assert!(e.contains("TLS_CACERT of /etc/ldap/ldap.conf"), "{e}");
    }

    #[test]
    fn cipher_suites_restrict_the_provider_and_versions() {
        let mut o = test_options();
        o.tls_reqcert = "never".into();
        o.tls.ciphers = Some(CipherSpec::parse("TLS_AES_128_GCM_SHA256").unwrap());
        let s = TlsSetup::new(&o);
        assert_eq!(s.provider().cipher_suites.len(), 1);
        assert!(s.build().is_ok());
        o.tls.ciphers = Some(CipherSpec::parse("ECDHE-RSA-AES128-GCM-SHA256").unwrap());
        assert_eq!(TlsSetup::new(&o).provider().cipher_suites.len(), 4);
    }
}
