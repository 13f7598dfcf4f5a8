//! Services interop with Debian's sssd 2.8: Debian's libnss_sss.so.2 against our daemon,
//! and our module against Debian's daemon, print exactly what the same-implementation pair
//! prints for `getent services` by name, by port/protocol and enumeration.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use std::path::Path;
use std::time::{Duration, Instant};

use sssd_tests::interop::{debian_root, nss_module_of, with_nss_module};
use sssd_tests::ldif::{self, Schema};
use sssd_tests::namespace::Namespace;
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{Sssd, SssdConf};
use sssd_tests::stage;

const NSSWITCH: &str = "passwd: files sss\ngroup: files sss\nservices: sss\n";

const QUERIES: &[&[&str]] = &[
    &["getent", "services", "rsssd-ssh"],
    &["getent", "services", "rsssd-secure"],
    &["getent", "services", "rsssd-ssh/udp"],
    &["getent", "services", "2222"],
    &["getent", "services", "2222/udp"],
    &["getent", "services", "8081/tcp"],
    &["getent", "services", "rsssd-web/udp"],
    &["getent", "services", "9999"],
    &["getent", "services", "nosuchservice"],
];

fn services_ldif(base: &str) -> String {
    let mut s =
        format!("dn: ou=Services,{base}\nobjectClass: organizationalUnit\nou: Services\n\n");
    for (cns, port, protos) in [
        (
            &["rsssd-ssh", "rsssd-secure"][..],
            2222,
            &["tcp", "udp"][..],
        ),
        (
            &["rsssd-web", "rsssd-www", "rsssd-http"][..],
            8081,
            &["tcp"][..],
        ),
    ] {
        s.push_str(&format!(
            "dn: cn={},ou=Services,{base}\nobjectClass: ipService\nipServicePort: {port}\n",
            cns[0]
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

/// "exit code + stdout" per query, then the sorted enumeration (polled until the startup
/// enumeration has filled the cache).
fn answers(root: &Path, slapd: &Slapd) -> Vec<String> {
    let ns = Namespace::with_nsswitch(Some(root), NSSWITCH).unwrap();
    let conf = SssdConf::ldap(slapd, Schema::Rfc2307).domain("enumerate", "true");
    let sssd = Sssd::start(&ns, &conf).unwrap_or_else(|e| panic!("sssd did not start: {e}"));
    let mut out: Vec<String> = QUERIES
        .iter()
        .map(|q| {
            let o = ns.run(q).unwrap();
            format!("{} {:?}: {}", o.code(), q, o.stdout)
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut lines;
    loop {
        let o = ns.run(&["getent", "services"]).unwrap();
        lines = o.stdout.lines().map(str::to_owned).collect::<Vec<_>>();
        lines.sort();
        if lines.len() >= 2 || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    out.push(format!("enumeration: {lines:?}"));
    drop(sssd);
    out
}

#[test]
fn services_modules_and_daemons_are_interchangeable() {
    let ours = stage::shared_stage().expect("stage our build");
    let debian = debian_root().expect("unpack Debian's sssd 2.8");
    let debian_module = nss_module_of(&debian).expect("Debian's libnss_sss.so.2");
    let our_module = ours
        .join(sssd_tests::interop::LIB_DIR)
        .join("libnss_sss.so.2");

    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(2)).unwrap();
    let added = slapd.add(&services_ldif(slapd.base())).unwrap();
    assert!(added.success(), "ldapadd: {added:?}");
    let our_daemon_debian_module = with_nss_module(ours, &debian_module).unwrap();
    let debian_daemon_our_module = with_nss_module(&debian, &our_module).unwrap();

    let ours_ours = answers(ours, &slapd);
    let ours_debian = answers(our_daemon_debian_module.path(), &slapd);
    let debian_ours = answers(debian_daemon_our_module.path(), &slapd);
    let debian_debian = answers(&debian, &slapd);

    assert!(
        debian_debian[0].starts_with("0 ") && debian_debian[0].contains("2222/tcp"),
        "{debian_debian:#?}"
    );
    let enumeration = debian_debian.last().unwrap();
    assert!(
        enumeration.contains("rsssd-ssh") && enumeration.contains("rsssd-www"),
        "{enumeration}"
    );
    for (i, q) in ours_ours.iter().enumerate() {
        assert_eq!(ours_debian[i], *q, "Debian's module vs ours on our daemon");
        assert_eq!(
            debian_ours[i], debian_debian[i],
            "our module vs Debian's on Debian's daemon"
        );
        assert_eq!(*q, debian_debian[i], "our pair vs Debian's pair");
    }
}
