//! Interop with Debian's sssd 2.8: Debian's libnss_sss.so.2 against our daemon, and our
//! module against Debian's daemon, must print exactly what the same-implementation pair
//! prints (and what the directory holds).
//!
//! Debian's packages are downloaded and unpacked by scripts/debian-sssd.sh, never installed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use std::path::Path;

use sssd_tests::expected;
use sssd_tests::interop::{debian_root, nss_module_of, with_nss_module};
use sssd_tests::ldif::{self, Directory, Schema};
use sssd_tests::namespace::Namespace;
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{Sssd, SssdConf};
use sssd_tests::stage;

const QUERIES: &[&[&str]] = &[
    &["getent", "passwd", "user1"],
    &["getent", "passwd", "1002"],
    &["getent", "passwd", "user0003"],
    &["getent", "passwd", "nosuchuser"],
    &["getent", "group", "two_user_group"],
    &["getent", "group", "2012"],
    &["getent", "group", "empty_group"],
    &["getent", "group", "allusers"],
    &["getent", "initgroups", "user1"],
    &["id", "user1"],
    &["id", "many"],
    &["id", "zoe"],
    &["getent", "passwd", "nogecos"],
];

/// Runs every query in a namespace whose /usr is overlaid by `root` and returns
/// "exit code + stdout" per query.
fn answers(root: &Path, slapd: &Slapd) -> Vec<String> {
    let ns = Namespace::new(Some(root)).unwrap();
    let conf = SssdConf::ldap(slapd, Schema::Rfc2307).set("nss", "memcache_timeout", "0");
    let sssd = Sssd::start(&ns, &conf).unwrap_or_else(|e| panic!("sssd did not start: {e}"));
    let out = QUERIES
        .iter()
        .map(|q| {
            let o = ns.run_env(&[("SSS_NSS_USE_MEMCACHE", "NO")], q).unwrap();
            format!("{} {:?}: {}", o.code(), q, o.stdout)
        })
        .collect();
    drop(sssd);
    out
}

/// An answer with its list part sorted: group members (after the last `:`), `id` groups
/// (after `groups=`), initgroups gids (after the name). SSSD's order follows its cache.
fn sorted_members(answer: &str) -> String {
    let sort = |list: &str, sep: char| {
        let mut v: Vec<&str> = list.split(sep).filter(|x| !x.is_empty()).collect();
        v.sort_unstable();
        v.join(&sep.to_string())
    };
    let line = answer.trim_end();
    if let Some((head, groups)) = line.split_once("groups=") {
        format!("{head}groups={}", sort(groups, ','))
    } else if answer.contains("\"initgroups\"") {
        let (head, gids) = line.rsplit_once(": ").unwrap_or((line, ""));
        format!("{head}: {}", sort(gids, ' '))
    } else if answer.contains("\"group\"") {
        let (head, members) = line.rsplit_once(':').unwrap_or((line, ""));
        format!("{head}:{}", sort(members, ','))
    } else {
        line.to_string()
    }
}

fn tree() -> Directory {
    ldif::rfc2307_with_bulk(20)
}

#[test]
fn modules_and_daemons_are_interchangeable() {
    let ours = stage::shared_stage().expect("stage our build");
    let debian = debian_root().expect("unpack Debian's sssd 2.8");
    let debian_module = nss_module_of(&debian).expect("Debian's libnss_sss.so.2");
    let our_module = ours
        .join(sssd_tests::interop::LIB_DIR)
        .join("libnss_sss.so.2");
    assert!(our_module.is_file(), "{} missing", our_module.display());

    let dir = tree();
    let slapd = Slapd::new(&dir).unwrap();
    let our_daemon_debian_module = with_nss_module(ours, &debian_module).unwrap();
    let debian_daemon_our_module = with_nss_module(&debian, &our_module).unwrap();

    let ours_ours = answers(ours, &slapd);
    let ours_debian = answers(our_daemon_debian_module.path(), &slapd);
    let debian_ours = answers(debian_daemon_our_module.path(), &slapd);
    let debian_debian = answers(&debian, &slapd);

    // The reference pair must agree with the directory, so the comparison means something.
    assert!(
        debian_debian[0].starts_with(&format!(
            "0 {:?}: {}\n",
            QUERIES[0],
            expected::passwd_line(&dir, "user1").unwrap()
        )),
        "{debian_debian:#?}"
    );
    for (i, q) in QUERIES.iter().enumerate() {
        assert_eq!(
            ours_debian[i], ours_ours[i],
            "Debian's module vs ours on our daemon: {q:?}"
        );
        assert_eq!(
            debian_ours[i], debian_debian[i],
            "our module vs Debian's on Debian's daemon: {q:?}"
        );
        // SSSD lists members it has resolved as users before the others: compare sets.
        assert_eq!(
            sorted_members(&ours_ours[i]),
            sorted_members(&debian_debian[i]),
            "our pair vs Debian's pair: {q:?}"
        );
    }
}
