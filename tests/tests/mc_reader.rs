//! Our libnss_sss.so.2 reading the memory-cache files Debian's sssd 2.8 writes: lookups that
//! went through the responder once are answered from /var/lib/sss/mc after the daemon has
//! stopped, exactly as before, and exactly as Debian's own module answers them (SSSD's intg
//! test `test_getpwnam_with_mc` does the same with its own client).
//!
//! Debian's packages are downloaded and unpacked by scripts/debian-sssd.sh, never installed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use std::path::Path;

use sssd_tests::interop::{LIB_DIR, debian_root, with_nss_module};
use sssd_tests::ldif::{self, Schema};
use sssd_tests::namespace::Namespace;
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{Sssd, SssdConf};
use sssd_tests::{expected, stage};

const QUERIES: &[&[&str]] = &[
    &["getent", "passwd", "user1"],
    &["getent", "passwd", "1002"],
    &["getent", "passwd", "user0003"],
    &["getent", "group", "two_user_group"],
    &["getent", "group", "2012"],
    &["getent", "group", "empty_group"],
    &["getent", "initgroups", "user1"],
    &["id", "user1"],
    &["id", "zoe"],
];

/// Every query's "exit code + stdout", with the responder up, then after it stopped (the
/// cache alone), then after it stopped with `SSS_NSS_USE_MEMCACHE=NO`.
fn before_and_after(root: &Path, slapd: &Slapd) -> (Vec<String>, Vec<String>, Vec<String>) {
    let ns = Namespace::new(Some(root)).unwrap();
    let conf = SssdConf::ldap(slapd, Schema::Rfc2307);
    let mut sssd = Sssd::start(&ns, &conf).unwrap_or_else(|e| panic!("sssd did not start: {e}"));
    let run = |env: &[(&str, &str)]| -> Vec<String> {
        QUERIES
            .iter()
            .map(|q| {
                let o = ns.run_env(env, q).unwrap();
                format!("{} {:?}: {}", o.code(), q, o.stdout)
            })
            .collect()
    };
    let before = run(&[]);
    for map in ["passwd", "group", "initgroups"] {
        assert!(
            ns.exists(&format!("/var/lib/sss/mc/{map}")),
            "sssd_nss wrote no {map} cache\n{}",
            sssd.logs()
        );
    }
    sssd.daemon.stop();
    ns.kill_all(std::time::Duration::from_secs(5));
    let after = run(&[]);
    let off = run(&[("SSS_NSS_USE_MEMCACHE", "no")]);
    (before, after, off)
}

#[test]
fn our_module_answers_from_debian_sssd_memory_cache() {
    let ours = stage::shared_stage().expect("stage our build");
    let debian = debian_root().expect("unpack Debian's sssd 2.8");
    let our_module = ours.join(LIB_DIR).join("libnss_sss.so.2");
    assert!(our_module.is_file(), "{} missing", our_module.display());
    let dir = ldif::rfc2307_with_bulk(20);
    let slapd = Slapd::new(&dir).unwrap();
    let debian_daemon_our_module = with_nss_module(&debian, &our_module).unwrap();

    let (before, after, off) = before_and_after(debian_daemon_our_module.path(), &slapd);
    assert!(
        before[0].starts_with(&format!(
            "0 {:?}: {}\n",
            QUERIES[0],
            expected::passwd_line(&dir, "user1").unwrap()
        )),
        "{before:#?}"
    );
    for (i, q) in QUERIES.iter().enumerate() {
        assert_eq!(after[i], before[i], "from the cache alone: {q:?}");
        // (getent initgroups still exits 0, with no groups.)
        assert_ne!(
            off[i], before[i],
            "daemon stopped and cache off, yet the same answer: {q:?}"
        );
    }

    // Debian's module on the same daemon gives the same answers from the same files.
    let (theirs_before, theirs_after, _) = before_and_after(&debian, &slapd);
    assert_eq!(theirs_before, before);
    assert_eq!(theirs_after, after);
}
