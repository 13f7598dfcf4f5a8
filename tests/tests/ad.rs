//! `id_provider = ad` end to end against a Samba AD DC: the host is joined (a computer
//! account and its keytab), our daemon runs in the DC's network namespace with the sssd.conf
//! `realm join` writes, binds with GSSAPI as the machine account, and glibc's NSS path and
//! libpam resolve and log in the domain's users.
//!
//! One DC serves the whole test binary (provisioning costs seconds); each test creates its
//! own users and groups. They need root, samba (scripts/deps.sh) and the staged product.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use std::path::PathBuf;
use std::sync::OnceLock;

use sssd_tests::namespace::Namespace;
use sssd_tests::samba::{DNS_DOMAIN, REALM, SambaDc};
use sssd_tests::sssd::{Sssd, SssdConf};

/// The joined client's short host name.
const CLIENT: &str = "client1";

/// The password of every test user.
const PASSWORD: &str = "Secret123!";

/// The DC of this test binary and the joined client's keytab.
struct Domain {
    dc: SambaDc,
    keytab: PathBuf,
    _dir: tempfile::TempDir,
}

fn domain() -> &'static Domain {
    static DOMAIN: OnceLock<Domain> = OnceLock::new();
    DOMAIN.get_or_init(|| {
        let dc = SambaDc::new().expect("start the Samba AD DC");
        let dir = tempfile::Builder::new()
            .prefix("sssd-tests-ad.")
            .tempdir()
            .unwrap();
        let keytab = dir.path().join("krb5.keytab");
        dc.join(CLIENT, &keytab).expect("join the client");
        Domain {
            dc,
            keytab,
            _dir: dir,
        }
    })
}

/// The sssd.conf `realm join` writes for the domain (plus the DC's name and our debug
/// level), with `extra` domain options.
fn conf(extra: &[(&str, &str)]) -> SssdConf {
    let s = format!("domain/{DNS_DOMAIN}");
    let mut c = SssdConf::new()
        .set("sssd", "services", "nss, pam")
        .set("sssd", "domains", DNS_DOMAIN)
        .set("nss", "debug_level", "0x0070")
        .set("pam", "debug_level", "0x0070")
        .set(&s, "debug_level", "0x0070")
        .set(&s, "id_provider", "ad")
        .set(&s, "access_provider", "ad")
        .set(&s, "ad_domain", DNS_DOMAIN)
        .set(&s, "krb5_realm", REALM)
        .set(&s, "realmd_tags", "manages-system joined-with-adcli")
        .set(&s, "cache_credentials", "True")
        .set(&s, "krb5_store_password_if_offline", "True")
        .set(&s, "default_shell", "/bin/bash")
        .set(&s, "ad_server", sssd_tests::samba::DC_FQDN)
        .set(&s, "ad_hostname", &format!("{CLIENT}.{DNS_DOMAIN}"))
        .set(&s, "ad_gpo_access_control", "permissive");
    for (k, v) in extra {
        c = c.set(&s, k, v);
    }
    c
}

/// A namespace in the DC's network with the staged product, the DC's name in /etc/hosts,
/// the realm's krb5.conf and the host keytab at /etc/krb5.keytab.
fn client() -> Namespace {
    let d = domain();
    let root = sssd_tests::stage::shared_stage().expect("stage the product with install.sh");
    let ns = Namespace::in_network_of(Some(root), d.dc.pid()).unwrap();
    ns.write_file("/etc/hosts", d.dc.hosts_text().as_bytes(), 0o644)
        .unwrap();
    ns.write_file(
        "/etc/krb5.conf",
        sssd_tests::samba::krb5_conf_text().as_bytes(),
        0o644,
    )
    .unwrap();
    ns.write_file(
        "/etc/krb5.keytab",
        &std::fs::read(&d.keytab).unwrap(),
        0o600,
    )
    .unwrap();
    ns
}

/// `getent passwd` fields of `name`.
fn passwd(ns: &Namespace, sssd: &Sssd, name: &str) -> Vec<String> {
    let out = ns.run(&["getent", "passwd", name]).unwrap();
    assert!(
        out.success(),
        "getent passwd {name}: {out:?}\n{}",
        sssd.logs()
    );
    out.stdout
        .trim_end()
        .split(':')
        .map(str::to_string)
        .collect()
}

#[test]
fn posix_attributes_resolve_through_the_joined_machine_account() {
    let d = domain();
    d.dc.add_group("posixgrp", 30100).unwrap();
    d.dc.add_user("pauline", PASSWORD, 30101, 30100).unwrap();
    d.dc.add_member("posixgrp", "pauline").unwrap();
    let ns = client();
    let sssd = Sssd::start(&ns, &conf(&[("ldap_id_mapping", "False")])).unwrap();
    let f = passwd(&ns, &sssd, "pauline");
    assert_eq!(
        f,
        [
            "pauline",
            "*",
            "30101",
            "30100",
            "pauline",
            "/home/pauline",
            "/bin/bash"
        ],
        "{}",
        sssd.logs()
    );
    // The same user by her qualified name and in another case (AD names are case-insensitive).
    let f = passwd(&ns, &sssd, &format!("Pauline@{DNS_DOMAIN}"));
    assert_eq!(f[2], "30101");
    let out = ns.run(&["getent", "group", "posixgrp"]).unwrap();
    assert_eq!(out.stdout.trim_end(), "posixgrp:*:30100:pauline", "{out:?}");
    // The bind was GSSAPI as the machine account: ldap_child's TGT is in the cache dir.
    let ccache = format!("/var/lib/sss/db/ccache_{REALM}");
    assert!(ns.exists(&ccache), "no {ccache}\n{}", sssd.logs());
    let out = ns.run(&["id", "-Gn", "pauline"]).unwrap();
    assert!(
        out.stdout.split_whitespace().any(|g| g == "posixgrp"),
        "{out:?}\n{}",
        sssd.logs()
    );
}
