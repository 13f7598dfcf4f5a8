//! `ldap_sasl_mech = GSSAPI` end to end: a private MIT KDC, a slapd that only lets one
//! GSSAPI principal read the tree (anonymous searches find nothing), and our daemon inside a
//! private mount namespace binding as that principal with a TGT `ldap_child` got from a
//! keytab. `getent passwd` resolving a directory user proves the bind; slapd's log shows it
//! was GSSAPI, and the ccache under /var/lib/sss/db holds the TGT and the `ldap/localhost`
//! service ticket.
//!
//! They need the built artifacts (sssd, sssd_be, sssd_nss, libnss_sss.so, ldap_child) next to
//! the test binary, or `SSSD_TESTS_ARTIFACTS`, and root (namespaces).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use std::process::Command;

use sssd_tests::expected;
use sssd_tests::kdc::{Kdc, REALM};
use sssd_tests::ldif::{Directory, Schema, User};
use sssd_tests::namespace::{Daemon, Namespace};
use sssd_tests::proc::{self, COMMAND_TIMEOUT};
use sssd_tests::sasl::SaslSlapd;
use sssd_tests::sssd::{self as daemon, CONF_PATH, NSS_SOCKET, START_TIMEOUT, Sssd, SssdConf};
use sssd_tests::stage;

/// The client principal sssd binds as (its keys are in the client keytab).
const CLIENT: &str = "host/client.example.com";

fn directory() -> Directory {
    let mut d = Directory::new(Schema::Rfc2307);
    d.users.push(User::new("gssuser", 4001, 4001));
    d.users.push(User::new("gssother", 4002, 4001));
    d
}

struct Setup {
    kdc: Kdc,
    slapd: SaslSlapd,
    dir: tempfile::TempDir,
    data: Directory,
}

impl Setup {
    fn new() -> Setup {
        Setup::with_tls(false)
    }

    fn with_tls(starttls: bool) -> Setup {
        Setup::build(starttls, directory())
    }

    fn build(starttls: bool, data: Directory) -> Setup {
        let kdc = Kdc::new().expect("start the KDC");
        let dir = tempfile::Builder::new()
            .prefix("sssd-tests-gssapi.")
            .tempdir()
            .unwrap();
        kdc.add_keytab_principal(CLIENT, &dir.path().join("client.keytab"))
            .expect("client keytab");
        let slapd = SaslSlapd::new(&data, &kdc, CLIENT, starttls).expect("start slapd with GSSAPI");
        Setup {
            kdc,
            slapd,
            dir,
            data,
        }
    }

    fn keytab(&self) -> String {
        self.dir.path().join("client.keytab").display().to_string()
    }

    fn conf(&self) -> SssdConf {
        SssdConf::ldap_uri(&self.slapd.uri(), self.slapd.base(), Schema::Rfc2307)
            .domain("debug_level", "0x0ff0")
            .domain("ldap_sasl_mech", "GSSAPI")
            .domain("ldap_sasl_authid", CLIENT)
            .domain("ldap_krb5_keytab", &self.keytab())
            .domain("krb5_realm", REALM)
            .domain("krb5_server", &format!("127.0.0.1:{}", self.kdc.port()))
    }

    /// A namespace with the staged product and the realm's krb5.conf as /etc/krb5.conf
    /// (GSSAPI in sssd_be finds the KDC for the service ticket there).
    fn namespace(&self) -> Namespace {
        let ns = bare_namespace();
        ns.write_file(
            "/etc/krb5.conf",
            self.kdc.krb5_conf_text().as_bytes(),
            0o644,
        )
        .unwrap();
        ns
    }
}

/// A namespace with the staged product; /etc/krb5.conf is the host's (or none).
fn bare_namespace() -> Namespace {
    let root = stage::shared_stage().expect("stage the product with install.sh");
    Namespace::new(Some(root)).expect("create the mount namespace")
}

/// Starts `sssd -i` with warnings logged (the harness's argv logs errors only), waiting
/// for the NSS socket.
fn start_verbose<'ns>(ns: &'ns Namespace, conf: &SssdConf) -> Daemon<'ns> {
    ns.write_file(CONF_PATH, conf.render().as_bytes(), 0o600)
        .unwrap();
    let d = ns
        .spawn(&["/usr/sbin/sssd", "-i", "-d", "0x00f0", "--logger=files"])
        .unwrap();
    proc::wait_until("the NSS socket", START_TIMEOUT, || ns.exists(NSS_SOCKET))
        .unwrap_or_else(|e| panic!("{e}\n{}", daemon::logs(ns)));
    d
}

fn klist(ns: &Namespace, ccache: &str) -> String {
    let out = ns.run(&["klist", "-c", ccache]).unwrap();
    format!("{}{}", out.stdout, out.stderr)
}

#[test]
fn server_accepts_gssapi_from_the_client_keytab_only() {
    let s = Setup::new();
    // Anonymous: the ACLs hide every user.
    let anon = s.slapd.anonymous_search("(uid=gssuser)").unwrap();
    assert!(!anon.stdout.contains("uid=gssuser"), "{anon:?}");
    // ldapwhoami with a keytab TGT: the principal maps to the reader DN.
    let cc = s.dir.path().join("whoami.ccache");
    let kinit = proc::run(
        Command::new("kinit")
            .args(["-k", "-t", &s.keytab(), CLIENT])
            .env("KRB5_CONFIG", s.kdc.krb5_conf())
            .env("KRB5CCNAME", format!("FILE:{}", cc.display())),
        None,
        COMMAND_TIMEOUT,
    )
    .unwrap();
    assert!(kinit.success(), "kinit -k: {kinit:?}");
    let who = s.slapd.whoami_gssapi(&s.kdc, &cc).unwrap();
    assert_eq!(
        who.stdout.trim().to_ascii_lowercase(),
        format!("dn:{}", s.slapd.reader_dn()),
        "{who:?}\n{}",
        s.slapd.log()
    );
}

/// Resolves two users through the daemon configured with `conf` and checks the bind was
/// GSSAPI as the client principal; returns slapd's log.
fn lookups_bind_with_gssapi(s: &Setup, conf: &SssdConf) -> String {
    let ns = s.namespace();
    let sssd = Sssd::start(&ns, conf).unwrap_or_else(|e| panic!("sssd: {e}"));
    let want = expected::passwd_line(&s.data, "gssuser").unwrap();
    let out = ns.run(&["getent", "passwd", "gssuser"]).unwrap();
    assert_eq!(
        (out.code(), out.stdout.trim_end()),
        (0, want.as_str()),
        "{out:?}\n--- sssd ---\n{}\n--- slapd ---\n{}",
        sssd.logs(),
        s.slapd.log()
    );
    let out = ns.run(&["getent", "passwd", "4002"]).unwrap();
    assert!(out.stdout.starts_with("gssother:*:4002:4001:"), "{out:?}");
    // The server saw a GSSAPI bind mapped to the reader DN, and no simple bind.
    let log = s.slapd.log();
    let mapped = format!("BIND dn=\"{}\" mech=GSSAPI", s.slapd.reader_dn());
    assert!(
        log.contains(&mapped),
        "no {mapped:?} in slapd's log:\n{log}"
    );
    assert!(
        !log.contains("method=128"),
        "a simple bind happened:\n{log}"
    );
    // ldap_child's TGT and the service ticket GSSAPI added, in the ccache sssd_be named.
    let ccache = format!("/var/lib/sss/db/ccache_{REALM}");
    assert!(ns.exists(&ccache), "no {ccache}\n{}", sssd.logs());
    let list = klist(&ns, &ccache);
    assert!(
        list.contains(&format!("{CLIENT}@{REALM}")),
        "principal missing: {list}"
    );
    assert!(
        list.contains(&format!("krbtgt/{REALM}@{REALM}")),
        "no TGT: {list}"
    );
    assert!(
        list.contains(&format!("ldap/localhost@{REALM}")),
        "no service ticket: {list}"
    );
    log
}

#[test]
fn identity_lookups_bind_with_gssapi_and_a_keytab_tgt() {
    let s = Setup::new();
    let log = lookups_bind_with_gssapi(&s, &s.conf());
    // Plain LDAP: the Kerberos confidentiality layer protects the connection.
    assert!(log.contains("mech=GSSAPI bind_ssf=256 ssf=256"), "{log}");
}

#[test]
fn gssapi_over_starttls() {
    let s = Setup::with_tls(true);
    let ca = s.slapd.ca_cert().unwrap().display().to_string();
    let conf = s
        .conf()
        .domain("ldap_id_use_start_tls", "true")
        .domain("ldap_tls_cacert", &ca)
        .domain("ldap_tls_reqcert", "demand");
    let log = lookups_bind_with_gssapi(&s, &conf);
    // StartTLS first, then GSSAPI for authentication only (no SASL layer inside TLS).
    assert!(
        log.contains("oid=1.3.6.1.4.1.1466.20037"),
        "no StartTLS:\n{log}"
    );
    assert!(log.contains("mech=GSSAPI bind_ssf=0"), "{log}");
}

#[test]
fn krb5_server_is_enough_without_a_krb5_conf_for_the_realm() {
    let s = Setup::new();
    let ns = bare_namespace();
    // Whatever the host has, it does not know this test realm.
    ns.write_file(
        "/etc/krb5.conf",
        b"[libdefaults]\n default_realm = OTHER.INVALID\n dns_lookup_kdc = false\n",
        0o644,
    )
    .unwrap();
    let _sssd = start_verbose(&ns, &s.conf());
    let out = ns.run(&["getent", "passwd", "gssuser"]).unwrap();
    let profile = ns.read_file(&format!("/var/lib/sss/db/krb5_kdcs_{REALM}.conf"));
    assert!(
        out.stdout.starts_with("gssuser:*:4001:4001:"),
        "{out:?}\nprofile {profile:?}\n{}",
        daemon::logs(&ns)
    );
    assert!(s.slapd.log().contains("mech=GSSAPI"));
    let profile = ns
        .read_file(&format!("/var/lib/sss/db/krb5_kdcs_{REALM}.conf"))
        .unwrap();
    assert!(
        String::from_utf8_lossy(&profile).contains(&format!("kdc = 127.0.0.1:{}", s.kdc.port()))
    );
}

#[test]
fn a_keytab_without_the_configured_principal_binds_with_the_one_it_has() {
    // As SSSD: ldap_sasl_authid names a principal the keytab lacks (the host was renamed
    // after its keytab was made), so ldap_child takes the keytab's host principal.
    let s = Setup::new();
    let ns = s.namespace();
    let conf = s
        .conf()
        .domain("ldap_sasl_authid", "host/renamed.example.com");
    let _sssd = start_verbose(&ns, &conf);
    let out = ns.run(&["getent", "passwd", "gssuser"]).unwrap();
    assert!(
        out.success() && out.stdout.starts_with("gssuser:"),
        "{out:?}\n{}",
        daemon::logs(&ns)
    );
    let logs = daemon::logs(&ns);
    assert!(
        logs.contains(&format!(
            "host/renamed.example.com@{REALM} is not in {}; using {CLIENT}@{REALM} instead",
            s.keytab()
        )),
        "ldap_child does not say which principal it took:\n{logs}"
    );
    let ccache = format!("/var/lib/sss/db/ccache_{REALM}");
    assert!(
        klist(&ns, &ccache).contains(&format!("Default principal: {CLIENT}@{REALM}")),
        "{}",
        klist(&ns, &ccache)
    );
}

#[test]
fn a_missing_keytab_leaves_the_domain_offline() {
    let s = Setup::new();
    let missing = s.dir.path().join("missing.keytab");
    let ns = s.namespace();
    let conf = s
        .conf()
        .domain("ldap_krb5_keytab", &missing.display().to_string());
    let _sssd = start_verbose(&ns, &conf);
    let out = ns.run(&["getent", "passwd", "gssuser"]).unwrap();
    assert_eq!(out.code(), 2, "{out:?}");
    let logs = daemon::logs(&ns);
    assert!(
        logs.contains(&missing.display().to_string()) && logs.contains("ldap_krb5_keytab"),
        "the failure does not name the keytab:\n{logs}"
    );
    assert!(!s.slapd.log().contains("mech=GSSAPI"));
}

#[test]
fn unsupported_sasl_mech_is_a_config_error() {
    let s = Setup::new();
    let ns = s.namespace();
    let conf = s.conf().domain("ldap_sasl_mech", "DIGEST-MD5");
    let started = Sssd::start(&ns, &conf);
    let text = match &started {
        Ok(sssd) => {
            let out = ns.run(&["getent", "passwd", "gssuser"]).unwrap();
            assert_eq!(out.code(), 2, "{out:?}");
            sssd.logs()
        }
        Err(e) => e.to_string(),
    };
    assert!(
        text.contains("ldap_sasl_mech = \"DIGEST-MD5\" is not supported"),
        "{text}"
    );
    drop(started);
}

/// PIDs of `sssd_be` inside `ns`.
fn backend_pids(ns: &Namespace) -> Vec<u32> {
    ns.processes_named("sssd_be")
}

#[test]
fn a_lost_ccache_is_refilled_when_the_bind_fails() {
    let mut data = directory();
    data.users.push(User::new("gssthird", 4003, 4001));
    let s = Setup::build(false, data);
    let ns = s.namespace();
    let _sssd = start_verbose(&ns, &s.conf());
    let out = ns.run(&["getent", "passwd", "gssuser"]).unwrap();
    assert!(out.success(), "{out:?}\n{}", daemon::logs(&ns));
    // The TGT is fresh as far as the backend knows; take it away and reconnect.
    let ccache = format!("/var/lib/sss/db/ccache_{REALM}");
    ns.run_ok(&["rm", "-f", &ccache]).unwrap();
    let pids = backend_pids(&ns);
    assert_eq!(pids.len(), 1, "{pids:?}");
    proc::signal(pids[0], libc::SIGUSR1);
    std::thread::sleep(std::time::Duration::from_millis(300));
    proc::signal(pids[0], libc::SIGUSR2);
    let out = ns.run(&["getent", "passwd", "gssthird"]).unwrap();
    let logs = daemon::logs(&ns);
    assert!(
        out.stdout.starts_with("gssthird:*:4003:4001:"),
        "{out:?}\n{logs}"
    );
    assert!(
        logs.contains("getting a new TGT and trying again"),
        "no retry:\n{logs}"
    );
    assert!(klist(&ns, &ccache).contains(&format!("krbtgt/{REALM}@{REALM}")));
    assert!(s.slapd.log().matches("mech=GSSAPI").count() >= 2);
}

/// Large results (a 5,000-member group, one entry over several SASL buffers, and an
/// enumeration of thousands of entries) through the Kerberos confidentiality layer.
#[test]
fn large_results_through_the_sasl_layer() {
    let mut data = sssd_tests::ldif::rfc2307_with_bulk(5000);
    data.users.push(User::new("gssuser", 4001, 4001));
    let s = Setup::build(false, data);
    let ns = s.namespace();
    let conf = s
        .conf()
        .domain("enumerate", "true")
        .set("nss", "enum_cache_timeout", "2");
    let _sssd = start_verbose(&ns, &conf);
    // Enumeration first (slapd allows one paged search per connection at a time, and a
    // lookup running beside the startup enumeration would make it fail until the next
    // refresh): every user arrives through the wrapped connection.
    let want: std::collections::BTreeSet<String> =
        s.data.users.iter().map(|u| u.name.clone()).collect();
    let mut got = std::collections::BTreeSet::new();
    let _ = proc::wait_until(
        "the enumeration",
        std::time::Duration::from_secs(90),
        || {
            let out = ns.run(&["getent", "passwd"]).unwrap();
            got = out
                .stdout
                .lines()
                .filter_map(|l| l.split(':').next())
                .filter(|n| want.contains(*n))
                .map(str::to_owned)
                .collect();
            got == want
        },
    );
    assert_eq!(got.len(), want.len(), "{}", daemon::logs(&ns));
    let out = ns.run(&["getent", "group", "allusers"]).unwrap();
    let members = out.stdout.trim_end().rsplit(':').next().unwrap_or("");
    assert_eq!(
        members.split(',').filter(|m| !m.is_empty()).count(),
        5000,
        "{}\n{}",
        &out.stdout[..out.stdout.len().min(300)],
        daemon::logs(&ns)
    );
    assert!(s.slapd.log().contains("mech=GSSAPI bind_ssf=256"));
}
