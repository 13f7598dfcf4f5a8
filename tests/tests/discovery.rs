//! Servers found in DNS (issue 11, failover and discovery): `_srv_` in `ldap_uri` and
//! `krb5_server`, an unset `ldap_uri`, `dns_discovery_domain` and its default (the SSSD
//! domain's name when the host's domain has no records), SRV priorities, failover to the
//! next server when one stops, and the error when DNS names no server.
//!
//! A private dnsmasq (tests/src/dns.rs) serves the SRV and address records; the namespace's
//! /etc/resolv.conf points at it, so both our SRV queries and the host name lookups of the
//! servers (glibc, `hosts: files dns`) go to it. Two slapds hold the same tree except
//! user1's gecos, which says which server answered. Two KDCs (a replica serving the first
//! one's database) in `_kerberos._udp` SRV records: logins go to the first, and to the
//! replica once the first stops.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use std::time::{Duration, Instant};

use sssd_tests::dns::{DnsRecord, Dnsmasq};
use sssd_tests::kdc::{Kdc, REALM};
use sssd_tests::ldif::{self, Schema};
use sssd_tests::namespace::Namespace;
use sssd_tests::pam::{self, CCACHE_DIR, Caller, SERVICE, code, krb5_password, pamtester};
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{DOMAIN, Sssd, SssdConf};
use sssd_tests::stage;

const ZONE: &str = "rsssd.test";

fn namespace(dns: &Dnsmasq) -> Namespace {
    let root = stage::shared_stage().expect("stage the product with install.sh");
    let ns = Namespace::new(Some(root)).expect("create the mount namespace");
    // Replace rather than write through: /etc/resolv.conf may be a symlink to the host's.
    ns.run_ok(&["rm", "-f", "/etc/resolv.conf"]).unwrap();
    ns.write_file("/etc/resolv.conf", dns.resolv_conf().as_bytes(), 0o644)
        .unwrap();
    ns
}

/// A slapd whose user1 has gecos `gecos`.
fn slapd(gecos: &str) -> Slapd {
    let dir = ldif::rfc2307();
    let s = Slapd::new(&dir).unwrap();
    let out = s
        .modify(&format!(
            "dn: {}\nchangetype: modify\nreplace: gecos\ngecos: {gecos}\n",
            dir.user_dn("user1")
        ))
        .unwrap();
    assert!(out.success(), "ldapmodify: {out:?}");
    s
}

fn srv(name: &str, target: &str, port: u16, priority: u16) -> DnsRecord {
    DnsRecord::Srv {
        name: name.into(),
        target: target.into(),
        port,
        priority,
        weight: 0,
    }
}

fn host(name: &str) -> DnsRecord {
    DnsRecord::Host {
        name: name.into(),
        address: "127.0.0.1".into(),
    }
}

/// user1's gecos field, as getent shows it (None when the lookup fails).
fn gecos(ns: &Namespace) -> Option<String> {
    let out = ns.run(&["getent", "passwd", "user1"]).unwrap();
    out.success().then(|| {
        out.stdout
            .trim()
            .split(':')
            .nth(4)
            .unwrap_or("")
            .to_string()
    })
}

/// Polls until user1's gecos is `want` (expiring the cache between tries).
#[track_caller]
fn wait_gecos(ns: &Namespace, sssd: &Sssd<'_>, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let got = gecos(ns);
        if got.as_deref() == Some(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "user1's gecos: {got:?}, want {want:?}\n{}",
            sssd.logs()
        );
        let _ = ns.run(&["sss_cache", "-E"]);
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn base_conf(any: &Slapd) -> SssdConf {
    SssdConf::ldap(any, Schema::Rfc2307)
        .domain("ldap_network_timeout", "2")
        .domain("ldap_opt_timeout", "3")
        .domain("offline_timeout", "1")
}

#[test]
fn srv_priorities_pick_the_server_and_failover_follows_them() {
    let mut a = slapd("served by A");
    let b = slapd("served by B");
    let dns = Dnsmasq::start(&[
        srv(
            &format!("_ldap._tcp.{ZONE}"),
            &format!("ldap-a.{ZONE}"),
            a.port(),
            10,
        ),
        srv(
            &format!("_ldap._tcp.{ZONE}"),
            &format!("ldap-b.{ZONE}"),
            b.port(),
            20,
        ),
        host(&format!("ldap-a.{ZONE}")),
        host(&format!("ldap-b.{ZONE}")),
    ])
    .unwrap();
    let ns = namespace(&dns);
    let conf = base_conf(&a)
        .domain("ldap_uri", "_srv_")
        .domain("dns_discovery_domain", ZONE);
    let sssd = Sssd::start(&ns, &conf).unwrap();

    // Priority 10 (A) first.
    wait_gecos(&ns, &sssd, "served by A");
    assert!(
        dns.queries()
            .iter()
            .any(|q| q.contains(&format!("query[SRV] _ldap._tcp.{ZONE}"))),
        "{:?}",
        dns.queries()
    );
    // A stops: the next server DNS names (B) serves.
    a.stop().unwrap();
    wait_gecos(&ns, &sssd, "served by B");
    // The daemon found B's address through the same name server.
    assert!(
        dns.queries()
            .iter()
            .any(|q| q.contains(&format!("query[A] ldap-b.{ZONE}"))),
        "{:?}",
        dns.queries()
    );
}

#[test]
fn unset_ldap_uri_is_discovered_in_the_domain_named_after_the_sssd_domain() {
    let a = slapd("found by default");
    // Records under the SSSD domain's own name: the host's domain has none.
    let zone = DOMAIN.to_ascii_lowercase();
    let dns = Dnsmasq::start(&[
        srv(
            &format!("_ldap._tcp.{zone}"),
            &format!("dir.{ZONE}"),
            a.port(),
            0,
        ),
        host(&format!("dir.{ZONE}")),
    ])
    .unwrap();
    let ns = namespace(&dns);
    let conf = base_conf(&a).without(&format!("domain/{DOMAIN}"), "ldap_uri");
    let sssd = Sssd::start(&ns, &conf).unwrap();
    wait_gecos(&ns, &sssd, "found by default");
}

#[test]
fn fixed_server_after_srv_serves_when_dns_has_none_and_the_log_says_why() {
    let a = slapd("fixed server");
    let dns = Dnsmasq::start(&[host(&format!("unused.{ZONE}"))]).unwrap();
    let ns = namespace(&dns);

    // `_srv_` finds nothing: the fixed server after it serves.
    let conf = base_conf(&a)
        .domain("ldap_uri", &format!("_srv_, {}", a.uri()))
        .domain("dns_discovery_domain", "nosuch.test");
    let sssd = Sssd::start(&ns, &conf).unwrap();
    wait_gecos(&ns, &sssd, "fixed server");
    let logs = sssd.logs();
    assert!(
        logs.contains("DNS service discovery found no server")
            && logs.contains("_ldap._tcp.nosuch.test"),
        "{logs}"
    );
    drop(sssd);

    // `_srv_` alone: nobody resolves (user2 was never cached), and the log names the
    // query and the option.
    let conf = base_conf(&a)
        .domain("ldap_uri", "_srv_")
        .domain("dns_discovery_domain", "nosuch.test");
    let sssd = Sssd::start(&ns, &conf).unwrap();
    let out = ns.run(&["getent", "passwd", "user2"]).unwrap();
    assert_eq!(out.code(), 2, "{out:?}\n{}", sssd.logs());
    let logs = sssd.logs();
    assert!(
        logs.contains("_ldap._tcp.nosuch.test")
            && logs.contains("dns_discovery_domain nosuch.test"),
        "{logs}"
    );
}

#[test]
fn krb5_server_srv_finds_the_kdcs_and_fails_over() {
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(3)).unwrap();
    let mut kdc = Kdc::new().unwrap();
    kdc.add_principal("user1", &krb5_password(1001)).unwrap();
    // Declared after `kdc`, so dropped first (it serves `kdc`'s database).
    let replica = kdc.replica().unwrap();
    let dns = Dnsmasq::start(&[
        srv(
            &format!("_kerberos._udp.{ZONE}"),
            &format!("kdc.{ZONE}"),
            kdc.port(),
            0,
        ),
        srv(
            &format!("_kerberos._udp.{ZONE}"),
            &format!("kdc2.{ZONE}"),
            replica.port(),
            10,
        ),
        host(&format!("kdc.{ZONE}")),
        host(&format!("kdc2.{ZONE}")),
    ])
    .unwrap();
    let ns = namespace(&dns);
    // krb5.conf names no KDC and forbids libkrb5's own DNS lookups: only our discovery
    // can find it.
    let krb5_conf = format!(
        "[libdefaults]\n default_realm = {REALM}\n dns_lookup_kdc = false\n \
         dns_lookup_realm = false\n"
    );
    ns.write_file("/etc/krb5.conf", krb5_conf.as_bytes(), 0o644)
        .unwrap();
    pam::prepare_ccache_dir(&ns).unwrap();
    let conf = SssdConf::ldap_pam(&slapd, Schema::Rfc2307)
        .domain("auth_provider", "krb5")
        .domain("krb5_server", "_srv_")
        .domain("krb5_realm", REALM)
        .domain("dns_discovery_domain", ZONE)
        .domain("krb5_ccachedir", CCACHE_DIR)
        .domain("krb5_ccname_template", "FILE:%d/krb5cc_%U")
        .domain("krb5_auth_timeout", "15");
    let sssd = Sssd::start(&ns, &conf).unwrap();
    pam::wait_for_socket(&ns).unwrap();
    pam::install_service(&ns, SERVICE, "").unwrap();
    let out = pamtester(
        &ns,
        Caller::Root,
        SERVICE,
        "user1",
        &["authenticate"],
        &format!("{}\n", krb5_password(1001)),
    )
    .unwrap();
    assert_eq!(out.code, code::SUCCESS, "{:?}\n{}", out.output, sssd.logs());
    assert!(
        dns.queries()
            .iter()
            .any(|q| q.contains(&format!("query[SRV] _kerberos._udp.{ZONE}"))),
        "{:?}",
        dns.queries()
    );
    assert!(ns.exists(&format!("{CCACHE_DIR}/krb5cc_1001")));
    let as_reqs = |k: &Kdc| {
        std::fs::read_to_string(k.log_path())
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("AS_REQ") && l.contains("user1@"))
            .count()
    };
    // Priority 0 first: the replica has not been asked.
    assert!(as_reqs(&kdc) >= 1, "the first KDC saw no AS_REQ");
    assert_eq!(as_reqs(&replica), 0, "the replica was asked first");
    // The first KDC goes away: the next login gets its ticket from the replica.
    kdc.stop();
    let out = pamtester(
        &ns,
        Caller::Root,
        SERVICE,
        "user1",
        &["authenticate"],
        &format!("{}\n", krb5_password(1001)),
    )
    .unwrap();
    assert_eq!(out.code, code::SUCCESS, "{:?}\n{}", out.output, sssd.logs());
    assert!(as_reqs(&replica) >= 1, "the replica saw no AS_REQ");
}
