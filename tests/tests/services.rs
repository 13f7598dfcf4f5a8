//! End-to-end services map: slapd seeded with `ipService` entries (nis.schema), our daemon
//! in a private namespace, nsswitch `services: sss`, and the real `getent services` by name,
//! by port/protocol and enumeration (`enumerate = true`), then offline from the cache.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use std::time::Duration;

use sssd_tests::ldif::{self, Schema};
use sssd_tests::namespace::Namespace;
use sssd_tests::proc::Output;
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{Sssd, SssdConf};
use sssd_tests::stage;

/// `services: sss` alone, so that every answer comes from our module.
const NSSWITCH: &str = "passwd: files sss\ngroup: files sss\nservices: sss\n";

fn services_ldif(base: &str) -> String {
    let mut s =
        format!("dn: ou=Services,{base}\nobjectClass: organizationalUnit\nou: Services\n\n");
    for (rdn, cns, port, protos) in [
        (
            "cn=rsssd-ssh",
            &["rsssd-ssh", "rsssd-secure"][..],
            2222,
            &["tcp", "udp"][..],
        ),
        (
            "cn=rsssd-web",
            &["rsssd-web", "rsssd-www"][..],
            8081,
            &["tcp"][..],
        ),
        // /etc/services migrations write one entry per protocol.
        (
            "cn=rsssd-dns+ipServiceProtocol=udp",
            &["rsssd-dns"][..],
            5353,
            &["udp"][..],
        ),
    ] {
        s.push_str(&format!(
            "dn: {rdn},ou=Services,{base}\nobjectClass: ipService\nipServicePort: {port}\n"
        ));
        for c in cns {
            s.push_str(&format!("cn: {c}\n"));
        }
        for p in protos {
            s.push_str(&format!("ipServiceProtocol: {p}\n"));
        }
        s.push('\n');
    }
    s
}

fn setup(enumerate: bool) -> (Slapd, Namespace, SssdConf) {
    let d = ldif::rfc2307_with_bulk(2);
    let slapd = Slapd::new(&d).unwrap();
    let out = slapd.add(&services_ldif(slapd.base())).unwrap();
    assert!(out.success(), "ldapadd: {out:?}");
    let root = stage::shared_stage().expect("stage the product with install.sh");
    let ns = Namespace::with_nsswitch(Some(root), NSSWITCH).unwrap();
    let conf = SssdConf::ldap(&slapd, Schema::Rfc2307)
        .domain("entry_cache_service_timeout", "1")
        .domain("enumerate", if enumerate { "true" } else { "false" });
    (slapd, ns, conf)
}

fn getent(ns: &Namespace, args: &[&str]) -> Output {
    let mut argv = vec!["getent", "services"];
    argv.extend_from_slice(args);
    ns.run(&argv).unwrap()
}

#[track_caller]
fn assert_out(ns: &Namespace, sssd: &Sssd<'_>, args: &[&str], want: &str) {
    let out = getent(ns, args);
    assert_eq!(
        (out.code(), out.stdout.as_str()),
        (0, want),
        "getent services {args:?}: {out:?}\n{}",
        sssd.logs()
    );
}

#[test]
fn services_by_name_port_and_protocol_then_offline() {
    let (mut slapd, ns, conf) = setup(false);
    let sssd = Sssd::start(&ns, &conf).unwrap();
    let ssh = "rsssd-ssh             2222/tcp rsssd-secure\n";
    assert_out(&ns, &sssd, &["rsssd-ssh"], ssh);
    assert_out(&ns, &sssd, &["rsssd-secure"], ssh);
    assert_out(&ns, &sssd, &["2222"], ssh);
    assert_out(
        &ns,
        &sssd,
        &["2222/udp"],
        "rsssd-ssh             2222/udp rsssd-secure\n",
    );
    assert_out(
        &ns,
        &sssd,
        &["rsssd-www/tcp"],
        "rsssd-web             8081/tcp rsssd-www\n",
    );
    assert_out(
        &ns,
        &sssd,
        &["rsssd-dns"],
        "rsssd-dns             5353/udp\n",
    );
    for missing in ["rsssd-web/udp", "8082", "no-such-service", "5353/tcp"] {
        let out = getent(&ns, &[missing]);
        assert_eq!(
            (out.code(), out.stdout.as_str()),
            (2, ""),
            "{missing}: {out:?}"
        );
    }
    // Offline: expired entries still come from the cache.
    slapd.stop().unwrap();
    std::thread::sleep(Duration::from_secs(2));
    assert_out(&ns, &sssd, &["rsssd-ssh/tcp"], ssh);
    assert_out(
        &ns,
        &sssd,
        &["8081/tcp"],
        "rsssd-web             8081/tcp rsssd-www\n",
    );
    let out = getent(&ns, &["rsssd-never-asked"]);
    assert_eq!(out.code(), 2, "{out:?}");
}

#[test]
fn services_enumeration() {
    let (_slapd, ns, conf) = setup(true);
    let sssd = Sssd::start(&ns, &conf).unwrap();
    let want = [
        "rsssd-dns             5353/udp",
        "rsssd-ssh             2222/tcp rsssd-secure",
        "rsssd-web             8081/tcp rsssd-www",
    ];
    // The first enumeration refresh runs at startup; wait for it.
    let mut last = None;
    for _ in 0..50 {
        let out = getent(&ns, &[]);
        let mut lines: Vec<&str> = out.stdout.lines().collect();
        lines.sort();
        if lines == want {
            return;
        }
        last = Some(out.clone());
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("getent services: {last:?}\n{}", sssd.logs());
}

/// `sss_cache -s NAME` and `-S` expire cached services: a port changed in LDAP shows on
/// the next `getent services`, long before `entry_cache_service_timeout`; without
/// `sss_cache` the cached answer stays.
#[test]
fn sss_cache_expires_services_before_their_timeout() {
    let (slapd, ns, conf) = setup(false);
    let conf = conf.domain("entry_cache_service_timeout", "600");
    let sssd = Sssd::start(&ns, &conf).unwrap();
    let web = |port: u16| format!("rsssd-web             {port}/tcp rsssd-www\n");
    let set_port = |port: u16| {
        let out = slapd
            .modify(&format!(
                "dn: cn=rsssd-web,ou=Services,{}\nchangetype: modify\n\
                 replace: ipServicePort\nipServicePort: {port}\n",
                slapd.base()
            ))
            .unwrap();
        assert!(out.success(), "ldapmodify: {out:?}");
    };
    let sss_cache = |args: &[&str]| {
        let mut argv = vec!["/usr/sbin/sss_cache"];
        argv.extend_from_slice(args);
        ns.run(&argv).unwrap()
    };
    assert_out(&ns, &sssd, &["rsssd-web"], &web(8081));

    set_port(8082);
    assert_out(&ns, &sssd, &["rsssd-web"], &web(8081));
    assert_out(&ns, &sssd, &["rsssd-www/tcp"], &web(8081));
    let out = sss_cache(&["-s", "rsssd-web"]);
    assert!(out.success(), "sss_cache -s: {out:?}\n{}", sssd.logs());
    assert_out(&ns, &sssd, &["rsssd-web"], &web(8082));

    // -S, and the entry found again by its alias.
    set_port(8083);
    assert_out(&ns, &sssd, &["rsssd-www"], &web(8082));
    let out = sss_cache(&["-S"]);
    assert!(out.success(), "sss_cache -S: {out:?}\n{}", sssd.logs());
    assert_out(&ns, &sssd, &["rsssd-www"], &web(8083));

    // A service that is not cached matches nothing: SSSD's message and ENOENT.
    let out = sss_cache(&["-s", "rsssd-never-asked"]);
    assert_eq!(
        (out.code(), out.stderr.as_str()),
        (2, "No cache object matched the specified search\n"),
        "{out:?}"
    );
}
