//! Per-domain behaviour end to end: a domain whose backend cannot start is disabled alone
//! (the others keep serving NSS and PAM), a daemon with no usable domain does not start,
//! `auto_private_groups` (true and hybrid) through getent and id, users found by e-mail
//! address (`ldap_user_email`) through getent, id and pamtester, `debug_level` 10 and 0
//! per section, and a server refusing StartTLS explained in the domain log.
//!
//! They need the release artifacts (`cargo build --release --workspace`, done by
//! scripts/test.sh).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use std::time::Duration;

use sssd_tests::expected::IdEntry;
use sssd_tests::ldif::{self, Directory, Schema, User};
use sssd_tests::lookups::{assert_line, assert_notfound, getent, namespace, start};
use sssd_tests::namespace::Namespace;
use sssd_tests::pam::{self, Caller, SERVICE, code, pamtester};
use sssd_tests::proc;
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{CONF_PATH, SSSD_ARGV, Sssd, SssdConf};

/// The small rfc2307 tree plus `upg` (30001/30001, no group 30001) for hybrid private
/// groups.
fn tree() -> Directory {
    let mut d = ldif::rfc2307_with_bulk(3);
    d.users.push(User::new("upg", 30001, 30001));
    d
}

fn id(ns: &Namespace, user: &str) -> IdEntry {
    let out = ns.run(&["id", user]).unwrap();
    assert!(out.success(), "id {user}: {out:?}");
    IdEntry::parse(&out.stdout).unwrap_or_else(|| panic!("bad id line {:?}", out.stdout))
}

fn read_log(ns: &Namespace, file: &str) -> String {
    String::from_utf8_lossy(
        &ns.read_file(&format!("/var/log/sssd/{file}"))
            .unwrap_or_default(),
    )
    .into_owned()
}

#[test]
fn a_domain_that_cannot_start_is_disabled_alone() {
    let slapd = Slapd::new(&tree()).unwrap();
    let ns = namespace();
    // The broken domains come first: lookups must neither wait on nor route to them.
    let conf = SssdConf::ldap_pam(&slapd, Schema::Rfc2307)
        .set("sssd", "domains", "IPA, BADOPT, LDAP")
        .set("domain/IPA", "id_provider", "ipa")
        .set("domain/BADOPT", "id_provider", "ldap")
        .set("domain/BADOPT", "ldap_schema", "nis");
    let sssd = start(&ns, &conf);
    pam::wait_for_socket(&ns).unwrap();
    pam::install_service(&ns, SERVICE, "").unwrap();

    let log = read_log(&ns, "sssd.log");
    let ipa = log
        .lines()
        .find(|l| l.contains("domain IPA is disabled"))
        .unwrap_or_else(|| panic!("no error about IPA in sssd.log:\n{log}"));
    assert!(ipa.contains("id_provider = \"ipa\""), "{ipa}");
    assert!(!ipa.contains("auth_provider"), "{ipa}");
    let proxy = log
        .lines()
        .find(|l| l.contains("domain BADOPT is disabled"))
        .unwrap_or_else(|| panic!("no error about BADOPT in sssd.log:\n{log}"));
    assert!(proxy.contains("ldap_schema = \"nis\""), "{proxy}");
    // One backend: the usable domain's.
    assert_eq!(ns.processes_named("sssd_be").len(), 1, "{}", sssd.logs());

    assert_line(
        &ns,
        &sssd,
        &["passwd", "user1"],
        "user1:*:1001:2001:1001:/home/user1:/bin/bash",
    );
    assert_line(&ns, &sssd, &["group", "group2"], "group2:*:2002:");
    let e = id(&ns, "user1");
    assert_eq!(e.uid, (1001, Some("user1".into())));
    assert_eq!(e.gid, (2001, Some("group1".into())));
    assert!(e.groups.contains(&(2012, Some("two_user_group".into()))));
    assert_notfound(&ns, &["passwd", "user1@IPA"]);
    let out = pamtester(
        &ns,
        Caller::Root,
        SERVICE,
        "user1",
        &["authenticate", "acct_mgmt"],
        "Password1001\n",
    )
    .unwrap();
    assert_eq!(out.code, code::SUCCESS, "{:?}\n{}", out.output, sssd.logs());
}

#[test]
fn no_usable_domain_means_no_daemon() {
    let ns = namespace();
    let conf = SssdConf::new()
        .set("sssd", "services", "nss, pam")
        .set("sssd", "domains", "LOCAL, IPA")
        .set("domain/LOCAL", "id_provider", "local")
        .set("domain/IPA", "id_provider", "ipa");
    ns.write_file(CONF_PATH, conf.render().as_bytes(), 0o600)
        .unwrap();
    let mut daemon = ns.spawn(SSSD_ARGV).unwrap();
    let status = daemon
        .wait_exit(Duration::from_secs(20))
        .expect("sssd exits");
    assert!(!status.success(), "sssd started without a usable domain");
    let err = daemon.stderr();
    assert!(err.contains("id_provider = \"local\""), "{err}");
    assert!(err.contains("id_provider = \"ipa\""), "{err}");
    assert!(ns.processes_named("sssd_be").is_empty());
}

#[test]
fn auto_private_groups_true_and_hybrid() {
    let slapd = Slapd::new(&tree()).unwrap();
    {
        let ns = namespace();
        let conf = SssdConf::ldap(&slapd, Schema::Rfc2307).domain("auto_private_groups", "true");
        let sssd = start(&ns, &conf);
        // Every user's primary gid is its uid, and the group of that gid is its own.
        assert_line(
            &ns,
            &sssd,
            &["passwd", "user1"],
            "user1:*:1001:1001:1001:/home/user1:/bin/bash",
        );
        assert_line(&ns, &sssd, &["group", "user1"], "user1:*:1001:");
        assert_line(&ns, &sssd, &["group", "1001"], "user1:*:1001:");
        // Real groups still resolve.
        assert_line(&ns, &sssd, &["group", "group2"], "group2:*:2002:");
        let e = id(&ns, "user1");
        assert_eq!(e.gid, (1001, Some("user1".into())));
        assert!(e.groups.contains(&(1001, Some("user1".into()))), "{e:?}");
        assert!(e.groups.contains(&(2012, Some("two_user_group".into()))));
        let out = getent(&ns, &["initgroups", "user1"]);
        assert!(out.stdout.contains("1001"), "{out:?}");
    }
    {
        let ns = namespace();
        let conf = SssdConf::ldap(&slapd, Schema::Rfc2307).domain("auto_private_groups", "hybrid");
        let sssd = start(&ns, &conf);
        // uid == gid and no group 30001: a private group.
        assert_line(
            &ns,
            &sssd,
            &["passwd", "upg"],
            "upg:*:30001:30001:30001:/home/upg:/bin/bash",
        );
        assert_line(&ns, &sssd, &["group", "upg"], "upg:*:30001:");
        assert_line(&ns, &sssd, &["group", "30001"], "upg:*:30001:");
        let e = id(&ns, "upg");
        assert_eq!(e.gid, (30001, Some("upg".into())));
        // uid == gid but a real group holds the gid: the real group.
        let many = getent(&ns, &["group", "20001"]);
        assert!(many.stdout.starts_with("many:*:20001:"), "{many:?}");
        // uid != gid: the primary gid is the real one, no private group.
        assert_line(
            &ns,
            &sssd,
            &["passwd", "user1"],
            "user1:*:1001:2001:1001:/home/user1:/bin/bash",
        );
        assert_notfound(&ns, &["group", "user1"]);
        assert_notfound(&ns, &["group", "1001"]);
        assert_eq!(id(&ns, "user1").gid, (2001, Some("group1".into())));
    }
}

/// Gives the entry of `user` the e-mail addresses `mails`.
fn add_mail(slapd: &Slapd, d: &Directory, user: &str, mails: &[&str]) {
    let mut ldif = format!(
        "dn: {}\nchangetype: modify\nadd: objectClass\nobjectClass: extensibleObject\n-\nadd: mail\n",
        d.user_dn(user)
    );
    for m in mails {
        ldif.push_str(&format!("mail: {m}\n"));
    }
    slapd.modify(&ldif).unwrap();
}

#[test]
fn users_are_found_by_e_mail_address() {
    let d = tree();
    let slapd = Slapd::new(&d).unwrap();
    add_mail(
        &slapd,
        &d,
        "user1",
        &["User.One@Example.com", "u1@example.org"],
    );
    add_mail(&slapd, &d, "user2", &["team@example.com"]);
    add_mail(&slapd, &d, "user3", &["team@example.com"]);
    let ns = namespace();
    pam::install_service(&ns, SERVICE, "").unwrap();
    let sssd = start(&ns, &SssdConf::ldap_pam(&slapd, Schema::Rfc2307));
    pam::wait_for_socket(&ns).unwrap();
    let line = "user1:*:1001:2001:1001:/home/user1:/bin/bash";
    // Any of the addresses, in any case, gives the user under its own name.
    assert_line(&ns, &sssd, &["passwd", "user.one@example.com"], line);
    assert_line(&ns, &sssd, &["passwd", "U1@EXAMPLE.ORG"], line);
    let e = id(&ns, "user.one@example.com");
    assert_eq!(e.uid, (1001, Some("user1".into())));
    assert!(
        e.groups.contains(&(2012, Some("two_user_group".into()))),
        "{e:?}"
    );
    // A login with the address authenticates the user.
    let out = pamtester(
        &ns,
        Caller::Root,
        SERVICE,
        "user.one@example.com",
        &["authenticate", "acct_mgmt"],
        "Password1001\n",
    )
    .unwrap();
    assert_eq!(out.code, code::SUCCESS, "{out:?}\n{}", sssd.logs());
    let out = pamtester(
        &ns,
        Caller::Root,
        SERVICE,
        "user.one@example.com",
        &["authenticate"],
        "wrong\n",
    )
    .unwrap();
    assert_ne!(out.code, code::SUCCESS, "{out:?}");
    // An address two users share names neither; an unknown one nobody.
    assert_notfound(&ns, &["passwd", "team@example.com"]);
    assert_notfound(&ns, &["passwd", "nobody@example.com"]);
    // The address moves to another user: found there once the entry is looked up anew.
    slapd
        .modify(&format!(
            "dn: {}\nchangetype: modify\ndelete: mail\nmail: u1@example.org\n",
            d.user_dn("user1")
        ))
        .unwrap();
    add_mail(&slapd, &d, "upg", &["u1@example.org"]);
    let out = ns.run(&["sss_cache", "-E"]).unwrap();
    assert!(out.success(), "{out:?}");
    assert_line(
        &ns,
        &sssd,
        &["passwd", "u1@example.org"],
        "upg:*:30001:30001:30001:/home/upg:/bin/bash",
    );
}

#[test]
fn debug_level_10_logs_everything_and_0_only_fatal_failures() {
    let slapd = Slapd::new(&tree()).unwrap();
    let ns = namespace();
    // No `-d` on the command line: each section's own debug_level applies.
    let conf = SssdConf::ldap(&slapd, Schema::Rfc2307)
        .domain("debug_level", "10")
        .set("nss", "debug_level", "0");
    let sssd =
        Sssd::start_with_argv(&ns, &conf, &["/usr/sbin/sssd", "-i", "--logger=files"]).unwrap();
    assert_line(
        &ns,
        &sssd,
        &["passwd", "user1"],
        "user1:*:1001:2001:1001:/home/user1:/bin/bash",
    );
    let be = read_log(&ns, "sssd_LDAP.log");
    assert!(
        be.lines()
            .any(|l| l.contains("(0x0400): ") && l.contains("getAccountInfo")),
        "debug_level = 10 in the domain: {be}"
    );
    let nss = read_log(&ns, "sssd_nss.log");
    assert!(
        !nss.lines()
            .any(|l| l.contains("(0x0200): ") || l.contains("(0x0400): ")),
        "debug_level = 0 in [nss]: {nss}"
    );
}

#[test]
fn refused_starttls_is_explained_in_the_domain_log() {
    // A server without TLS, and the default ldap_id_use_start_tls (true).
    let slapd = Slapd::new(&tree()).unwrap();
    let ns = namespace();
    let mut conf = SssdConf::ldap(&slapd, Schema::Rfc2307);
    conf = conf.domain("ldap_id_use_start_tls", "true");
    let sssd = start(&ns, &conf);
    assert_notfound(&ns, &["passwd", "user1"]);
    let mut log = String::new();
    let found = proc::wait_until("the StartTLS error", Duration::from_secs(20), || {
        log = read_log(&ns, "sssd_LDAP.log");
        log.contains("refused StartTLS")
    });
    assert!(found.is_ok(), "{}", sssd.logs());
    let line = log
        .lines()
        .find(|l| l.contains("refused StartTLS"))
        .unwrap();
    for needle in ["ldap_id_use_start_tls = false", "ldaps://", "configure TLS"] {
        assert!(line.contains(needle), "{line}");
    }
}

#[test]
fn a_backend_failing_at_run_time_is_given_up_alone() {
    let slapd = Slapd::new(&tree()).unwrap();
    let ns = namespace();
    // Valid options, but its log file cannot be opened: its backend exits at every start.
    ns.write_file("/var/log/sssd/sssd_BROKEN.log/keep", b"", 0o600)
        .unwrap();
    let conf = SssdConf::ldap(&slapd, Schema::Rfc2307)
        .set("sssd", "domains", "BROKEN, LDAP")
        .set("domain/BROKEN", "id_provider", "ldap")
        .set("domain/BROKEN", "ldap_uri", &slapd.uri());
    let sssd = start(&ns, &conf);
    let mut log = String::new();
    let gave_up = proc::wait_until("giving up on BROKEN", Duration::from_secs(30), || {
        log = read_log(&ns, "sssd.log");
        log.contains("backend of domain BROKEN failed too often")
    });
    assert!(gave_up.is_ok(), "{log}");
    assert_line(
        &ns,
        &sssd,
        &["passwd", "user1"],
        "user1:*:1001:2001:1001:/home/user1:/bin/bash",
    );
    let mut daemon = sssd.daemon;
    assert!(daemon.is_running(), "sssd stopped:\n{log}");
}
