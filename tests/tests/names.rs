//! Names end to end through glibc's NSS path: a custom `re_expression` (`DOMAIN+name`)
//! with a `full_name_format` using `%3$s`, `default_domain_suffix` (short names looked up
//! in that domain, every name printed fully qualified), and a default domain suffix that a
//! domain contradicts (`use_fully_qualified_names = false`), which SSSD refuses.
//!
//! They need the release artifacts (`cargo build --release --workspace`, done by
//! scripts/test.sh).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use std::time::Duration;

use sssd_tests::ldif::{self, Schema};
use sssd_tests::lookups::{assert_line, assert_notfound, getent, namespace, start};
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{CONF_PATH, SSSD_ARGV, SssdConf};

#[test]
fn a_custom_re_expression_and_full_name_format() {
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(3)).unwrap();
    let ns = namespace();
    let conf = SssdConf::ldap(&slapd, Schema::Rfc2307)
        .set(
            "sssd",
            "re_expression",
            r"^(?P<domain>[^+]+)\+(?P<name>.+)$|^(?P<name>[^+]+)$",
        )
        .set("sssd", "full_name_format", "%3$s+%1$s")
        .domain("use_fully_qualified_names", "true");
    let sssd = start(&ns, &conf);
    // An LDAP domain has no flat name: %3$s is the domain name, as in SSSD.
    let line = "LDAP+user1:*:1001:2001:1001:/home/user1:/bin/bash";
    assert_line(&ns, &sssd, &["passwd", "LDAP+user1"], line);
    assert_line(&ns, &sssd, &["passwd", "ldap+user1"], line);
    assert_line(&ns, &sssd, &["group", "LDAP+group2"], "LDAP+group2:*:2002:");
    let out = getent(&ns, &["group", "LDAP+two_user_group"]);
    assert!(
        out.stdout.starts_with("LDAP+two_user_group:*:2012:")
            && out.stdout.contains("LDAP+user1")
            && out.stdout.contains("LDAP+user2"),
        "{out:?}"
    );
    let id = ns.run(&["id", "LDAP+user1"]).unwrap();
    assert!(
        id.success() && id.stdout.contains("(LDAP+two_user_group)"),
        "{id:?}\n{}",
        sssd.logs()
    );
    // Fully qualified: a short name finds nothing; `@` is no domain separator here.
    assert_notfound(&ns, &["passwd", "user1"]);
    assert_notfound(&ns, &["passwd", "user1@LDAP"]);
    assert_notfound(&ns, &["passwd", "OTHER+user1"]);
    // The warning of old is gone.
    assert!(!sssd.logs().contains("is not supported"), "{}", sssd.logs());
}

#[test]
fn default_domain_suffix_qualifies_output_and_completes_input() {
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(3)).unwrap();
    let ns = namespace();
    let conf = SssdConf::ldap(&slapd, Schema::Rfc2307).set("sssd", "default_domain_suffix", "ldap");
    let sssd = start(&ns, &conf);
    let line = "user1@LDAP:*:1001:2001:1001:/home/user1:/bin/bash";
    assert_line(&ns, &sssd, &["passwd", "user1"], line);
    assert_line(&ns, &sssd, &["passwd", "user1@LDAP"], line);
    assert_line(&ns, &sssd, &["passwd", "user1@ldap"], line);
    assert_line(&ns, &sssd, &["passwd", "1001"], line);
    assert_line(&ns, &sssd, &["group", "group2"], "group2@LDAP:*:2002:");
    let out = getent(&ns, &["group", "two_user_group"]);
    assert!(
        out.stdout.starts_with("two_user_group@LDAP:*:2012:")
            && out.stdout.contains("user1@LDAP")
            && out.stdout.contains("user2@LDAP"),
        "{out:?}"
    );
    let id = ns.run(&["id", "user1"]).unwrap();
    assert!(
        id.success()
            && id.stdout.contains("uid=1001(user1@LDAP)")
            && id.stdout.contains("(two_user_group@LDAP)"),
        "{id:?}\n{}",
        sssd.logs()
    );
    assert_notfound(&ns, &["passwd", "user1@OTHER"]);
}

#[test]
fn default_domain_suffix_with_short_names_is_refused() {
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(3)).unwrap();
    let ns = namespace();
    let conf = SssdConf::ldap(&slapd, Schema::Rfc2307)
        .set("sssd", "default_domain_suffix", "LDAP")
        .domain("use_fully_qualified_names", "false");
    ns.write_file(CONF_PATH, conf.render().as_bytes(), 0o600)
        .unwrap();
    let mut daemon = ns.spawn(SSSD_ARGV).unwrap();
    let status = daemon
        .wait_exit(Duration::from_secs(20))
        .expect("sssd exits");
    assert!(
        !status.success(),
        "sssd started with a contradicting domain"
    );
    let err = daemon.stderr();
    assert!(err.contains("use_fully_qualified_names"), "{err}");
}
