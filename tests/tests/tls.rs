//! TLS settings and `ldapi://` end to end: a private slapd with a generated CA, our daemon in a
//! private mount namespace (its own /etc, so /etc/ldap/ldap.conf is a private copy), and the
//! real `getent` (and pamtester) resolving through libnss_sss/pam_sss.
//!
//! - `ldap_tls_cacertdir`: a directory hashed by the real `openssl rehash`; the same
//!   directory before the rehash is refused with the option named.
//! - `TLS_CACERT` of /etc/ldap/ldap.conf used when sssd.conf sets no CA; errors name it.
//! - `ldap_tls_cert`/`ldap_tls_key` against a slapd that demands client certificates.
//! - `ldap_tls_cipher_suite`: one accepted (and negotiated), one refused at start.
//! - `ldapi://`: lookups over slapd's UNIX socket; the CA file is not read without TLS.
//!
//! They need the built artifacts (see tests/tests/identity.rs) and root (namespaces).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use sssd_tests::ldif::{self, Directory, Schema};
use sssd_tests::namespace::Namespace;
use sssd_tests::pam::{self, Caller, SERVICE, code, pamtester};
use sssd_tests::proc::{self, COMMAND_TIMEOUT};
use sssd_tests::slapd::{Slapd, SlapdConfig, SlapdOptions};
use sssd_tests::sssd::{self as daemon, Sssd, SssdConf};
use sssd_tests::stage;
use sssd_tests::tls;

/// user1 (uid 1001) of the rfc2307 tree.
const USER1: &str = "user1:*:1001:2001:";

fn tree() -> Directory {
    ldif::rfc2307_with_bulk(0)
}

fn namespace() -> Namespace {
    let root = stage::shared_stage().expect("stage the product with install.sh");
    Namespace::new(Some(root)).expect("create the mount namespace")
}

/// A StartTLS server (also on a UNIX socket when `ldapi`) with `global` slapd.conf lines.
fn slapd(global: &str, ldapi: bool) -> Slapd {
    Slapd::with_config(&tree(), SlapdOptions { tls: true }, |_| {
        Ok(SlapdConfig {
            global: global.into(),
            debug: Some("stats".into()),
            ldapi,
            ..SlapdConfig::default()
        })
    })
    .expect("start slapd with TLS")
}

/// StartTLS with the certificate verified (`demand`), no CA configured yet.
fn starttls_conf(s: &Slapd) -> SssdConf {
    SssdConf::ldap(s, Schema::Rfc2307)
        .domain("ldap_id_use_start_tls", "true")
        .domain("ldap_tls_reqcert", "demand")
}

/// Starts sssd with warnings logged (the failures the tests look for are warnings).
fn start<'ns>(ns: &'ns Namespace, conf: &SssdConf) -> Sssd<'ns> {
    let conf = conf.clone().domain("debug_level", "0x0ff0");
    let argv = ["/usr/sbin/sssd", "-i", "-d", "0x00f0", "--logger=files"];
    Sssd::start_with_argv(ns, &conf, &argv).unwrap_or_else(|e| panic!("sssd did not start: {e}"))
}

fn getent_user1(ns: &Namespace) -> proc::Output {
    ns.run(&["getent", "passwd", "user1"]).unwrap()
}

#[track_caller]
fn assert_found(ns: &Namespace, sssd: &Sssd<'_>) {
    let out = getent_user1(ns);
    assert!(out.stdout.starts_with(USER1), "{out:?}\n{}", sssd.logs());
}

/// Asserts user1 is not found and the logs come to contain `needle` (polled: the backend
/// logs the failure as the lookup fails).
#[track_caller]
fn assert_refused(ns: &Namespace, needle: &str) -> String {
    let out = getent_user1(ns);
    assert_eq!(
        out.code(),
        2,
        "user1 resolved: {out:?}\n{}",
        daemon::logs(ns)
    );
    let found = proc::wait_until(needle, Duration::from_secs(20), || {
        daemon::logs(ns).contains(needle)
    });
    let logs = daemon::logs(ns);
    assert!(found.is_ok(), "{needle:?} not in the logs:\n{logs}");
    logs
}

fn openssl(args: &[&str]) -> proc::Output {
    proc::run_ok(Command::new("openssl").args(args), None, COMMAND_TIMEOUT).unwrap()
}

#[test]
fn ca_directory_hashed_by_openssl_rehash() {
    let s = slapd("", false);
    let ca = s.ca_cert().unwrap();
    let dir = tempfile::Builder::new()
        .prefix("sssd-tests-cadir.")
        .tempdir()
        .unwrap();
    std::fs::copy(ca, dir.path().join("sssd-tests-ca.pem")).unwrap();
    let path = dir.path().display().to_string();
    let conf = starttls_conf(&s).domain("ldap_tls_cacertdir", &path);

    // Not hashed yet: OpenSSL would find nothing there either.
    {
        let ns = namespace();
        let _sssd = start(&ns, &conf);
        assert_refused(&ns, &format!("ldap_tls_cacertdir {path}"));
    }

    openssl(&["rehash", &path]);
    let hash = openssl(&["x509", "-hash", "-noout", "-in", &ca.display().to_string()]);
    let link = dir.path().join(format!("{}.0", hash.stdout.trim()));
    assert!(
        link.is_symlink(),
        "openssl rehash made no {}",
        link.display()
    );
    let ns = namespace();
    let sssd = start(&ns, &conf);
    assert_found(&ns, &sssd);
    assert!(
        s.log().contains("oid=1.3.6.1.4.1.1466.20037"),
        "no StartTLS"
    );
}

#[test]
fn tls_cacert_of_ldap_conf_applies_when_sssd_conf_sets_no_ca() {
    let s = slapd("", false);
    let ca = s.ca_cert().unwrap().display().to_string();
    let conf = starttls_conf(&s);
    {
        let ns = namespace();
        ns.write_file(
            "/etc/ldap/ldap.conf",
            b"TLS_CACERT /nonexistent/ca.pem\nTLS_REQCERT never\n",
            0o644,
        )
        .unwrap();
        let _sssd = start(&ns, &conf);
        // TLS_REQCERT never does not apply: ldap_tls_reqcert always wins, as in SSSD.
        assert_refused(&ns, "TLS_CACERT of /etc/ldap/ldap.conf /nonexistent/ca.pem");
    }
    let ns = namespace();
    ns.write_file(
        "/etc/ldap/ldap.conf",
        format!("# private copy\nBASE dc=unused\nTLS_CACERT\t{ca}\n").as_bytes(),
        0o644,
    )
    .unwrap();
    let sssd = start(&ns, &conf);
    assert_found(&ns, &sssd);
}

#[test]
fn client_certificate_demanded_by_slapd() {
    let s = slapd("TLSVerifyClient demand\n", false);
    let files = s.tls_files().unwrap();
    let dir = tempfile::Builder::new()
        .prefix("sssd-tests-client.")
        .tempdir()
        .unwrap();
    let (cert, key) = tls::client_cert(files, dir.path(), "client", "client.example.com").unwrap();
    let ca = s.ca_cert().unwrap().display().to_string();
    let conf = SssdConf::ldap_pam(&s, Schema::Rfc2307)
        .domain("ldap_id_use_start_tls", "true")
        .domain("ldap_tls_reqcert", "demand")
        .domain("ldap_tls_cacert", &ca)
        .domain("ldap_auth_disable_tls_never_use_in_production", "false");

    // Without a client certificate slapd ends the handshake.
    {
        let ns = namespace();
        let _sssd = start(&ns, &conf);
        // slapd aborts the session after the handshake; the warning names the server.
        assert_refused(&ns, &format!("LDAP server {}", s.uri()));
    }

    let conf = conf
        .domain("ldap_tls_cert", &cert.display().to_string())
        .domain("ldap_tls_key", &key.display().to_string());
    let ns = namespace();
    let sssd = start(&ns, &conf);
    assert_found(&ns, &sssd);
    pam::wait_for_socket(&ns).unwrap();
    pam::install_service(&ns, SERVICE, "").unwrap();
    let out = pamtester(
        &ns,
        Caller::Root,
        SERVICE,
        "user1",
        &["authenticate"],
        "Password1001\n",
    )
    .unwrap();
    assert_eq!(out.code, code::SUCCESS, "{:?}\n{}", out.output, sssd.logs());
    let bad = pamtester(
        &ns,
        Caller::Root,
        SERVICE,
        "user1",
        &["authenticate"],
        "wrong\n",
    )
    .unwrap();
    assert_eq!(bad.code, code::AUTH_ERR, "{:?}", bad.output);
    // slapd turned the first daemon away and let the second one in.
    let log = s.log();
    assert!(log.contains("Certificate is required"), "{log}");
    assert!(log.contains("TLS established"), "{log}");
}

#[test]
fn cipher_suite_accepted_and_refused_at_start() {
    let s = slapd("", false);
    let ca = s.ca_cert().unwrap().display().to_string();
    let conf = starttls_conf(&s).domain("ldap_tls_cacert", &ca);
    {
        // Refused at start: the daemon exits with the option named.
        let ns = namespace();
        let bad = conf
            .clone()
            .domain("ldap_tls_cipher_suite", "HIGH:!aNULL:AES256-SHA256");
        let argv = ["/usr/sbin/sssd", "-i", "--logger=files"];
        let err = match Sssd::start_with_argv(&ns, &bad, &argv) {
            Ok(_) => panic!("sssd started with an inexpressible cipher suite"),
            Err(e) => e.to_string(),
        };
        assert!(
            err.contains("ldap_tls_cipher_suite") && err.contains("\"AES256-SHA256\""),
            "{err}"
        );
    }
    // Only 128-bit suites (one per protocol version): slapd reports the strength.
    let ns = namespace();
    let conf = conf.domain(
        "ldap_tls_cipher_suite",
        "TLS_AES_128_GCM_SHA256:ECDHE-ECDSA-AES128-GCM-SHA256",
    );
    let sssd = start(&ns, &conf);
    assert_found(&ns, &sssd);
    let log = s.log();
    assert!(log.contains("tls_ssf=128"), "{log}");
}

#[test]
fn ldapi_lookups_through_getent() {
    let s = slapd("", true);
    let uri = s.ldapi_uri();
    assert!(uri.starts_with("ldapi://%2F"), "{uri}");
    let socket = uri.trim_start_matches("ldapi://").replace("%2F", "/");
    assert!(Path::new(&socket).exists(), "{socket}");
    // StartTLS requested and a CA file that does not exist: neither applies to ldapi://.
    let conf = SssdConf::ldap_uri(&uri, s.base(), Schema::Rfc2307)
        .domain("ldap_id_use_start_tls", "true")
        .domain("ldap_tls_cacert", "/nonexistent/ca.pem");
    let ns = namespace();
    let sssd = start(&ns, &conf);
    assert_found(&ns, &sssd);
    let group = ns.run(&["getent", "group", "group1"]).unwrap();
    assert!(group.stdout.starts_with("group1:"), "{group:?}");
    // The searches came over the socket (slapd names the listener in its stats log).
    let log = s.log();
    assert!(log.contains("PATH="), "{log}");
}
