//! A throwaway certificate authority and a server certificate for 127.0.0.1/localhost.
//!
//! The CA is a real CA (basicConstraints CA:TRUE) and the server certificate is a separate
//! end-entity certificate signed by it: rustls/webpki rejects a CA certificate used as a
//! server certificate.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{HarnessError, Result};
use crate::proc::{COMMAND_TIMEOUT, run_ok};

/// Paths of the generated PEM files.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The CA certificate clients trust (`ldap_tls_cacert`).
    pub ca_cert: PathBuf,
    /// The server certificate (CN=localhost, SAN DNS:localhost, IP:127.0.0.1).
    pub server_cert: PathBuf,
    /// The server's private key.
    pub server_key: PathBuf,
    /// The CA's private key (signs client certificates, see [`client_cert`]).
    pub ca_key: PathBuf,
}

/// A client certificate (`extendedKeyUsage=clientAuth`, subject `CN=cn`) signed by the CA of
/// `files`, written as `<name>.pem` and `<name>.key` in `dir`; returns (certificate, key).
pub fn client_cert(
    files: &TlsFiles,
    dir: &Path,
    name: &str,
    cn: &str,
) -> Result<(PathBuf, PathBuf)> {
    let p = |n: String| dir.join(n);
    let (cert, key, csr, ext) = (
        p(format!("{name}.pem")),
        p(format!("{name}.key")),
        p(format!("{name}.csr")),
        p(format!("{name}-ext.cnf")),
    );
    std::fs::write(
        &ext,
        "basicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature\n\
         extendedKeyUsage=clientAuth\n",
    )
    .map_err(|e| HarnessError::io("write", &ext, e))?;
    let s = |x: &Path| x.to_string_lossy().into_owned();
    run_ok(
        Command::new("openssl")
            .args([
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
            ])
            .args(["-nodes", "-keyout", &s(&key), "-out", &s(&csr)])
            .args(["-subj", &format!("/CN={cn}")]),
        None,
        COMMAND_TIMEOUT,
    )?;
    run_ok(
        Command::new("openssl")
            .args(["x509", "-req", "-in", &s(&csr)])
            .args(["-CA", &s(&files.ca_cert), "-CAkey", &s(&files.ca_key)])
            .args(["-CAcreateserial", "-days", "3650"])
            .args(["-extfile", &s(&ext), "-out", &s(&cert)]),
        None,
        COMMAND_TIMEOUT,
    )?;
    Ok((cert, key))
}

/// Generates a CA and a server certificate (EC P-256) in `dir` with `openssl`.
pub fn generate(dir: &Path) -> Result<TlsFiles> {
    let p = |n: &str| dir.join(n);
    let ext = p("server-ext.cnf");
    std::fs::write(
        &ext,
        "basicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth\n\
         subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .map_err(|e| HarnessError::io("write", &ext, e))?;
    let s = |x: &Path| x.to_string_lossy().into_owned();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    run_ok(
        Command::new("openssl")
            .args(["req", "-x509"])
            .args(ec)
            .args(["-keyout", &s(&p("ca.key")), "-out", &s(&p("ca.pem"))])
            .args(["-days", "3650", "-subj", "/CN=sssd-tests CA"])
            .args(["-addext", "basicConstraints=critical,CA:TRUE"])
            .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]),
        None,
        COMMAND_TIMEOUT,
    )?;
    run_ok(
        Command::new("openssl")
            .arg("req")
            .args(ec)
            .args([
                "-keyout",
                &s(&p("server.key")),
                "-out",
                &s(&p("server.csr")),
            ])
            .args(["-subj", "/CN=localhost"]),
        None,
        COMMAND_TIMEOUT,
    )?;
    run_ok(
        Command::new("openssl")
            .args(["x509", "-req", "-in", &s(&p("server.csr"))])
            .args(["-CA", &s(&p("ca.pem")), "-CAkey", &s(&p("ca.key"))])
            .args(["-CAcreateserial", "-days", "3650"])
            .args(["-extfile", &s(&ext), "-out", &s(&p("server.pem"))]),
        None,
        COMMAND_TIMEOUT,
    )?;
    Ok(TlsFiles {
        ca_cert: p("ca.pem"),
        server_cert: p("server.pem"),
        server_key: p("server.key"),
        ca_key: p("ca.key"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_cert_verifies_against_ca_and_ca_is_not_the_leaf() {
        let d = tempfile::tempdir().unwrap();
        let f = generate(d.path()).unwrap();
        let out = run_ok(
            Command::new("openssl").args([
                "verify",
                "-CAfile",
                f.ca_cert.to_str().unwrap(),
                "-purpose",
                "sslserver",
                f.server_cert.to_str().unwrap(),
            ]),
            None,
            COMMAND_TIMEOUT,
        )
        .unwrap();
        assert!(out.stdout.contains(": OK"), "{}", out.stdout);
        let leaf = std::fs::read(&f.server_cert).unwrap();
        let ca = std::fs::read(&f.ca_cert).unwrap();
        assert_ne!(leaf, ca);
    }
}
