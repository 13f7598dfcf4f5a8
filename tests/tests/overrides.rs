//! `sss_override` through the installed binary inside the namespace, against a running
//! daemon and a private slapd: a user override (name, uid, gid, home, shell) and a group
//! override (name, gid) are seen by `getent passwd/group` by the new name, the original
//! name and the new id, by `id` and by a PAM login with the new name; `user-find` /
//! `user-show` / `group-find` / `group-show` print SSSD's export lines; export, delete and
//! import restore them; they survive a restart of the daemon; SSSD's error messages;
//! enumeration lists the overridden entries.
//!
//! They need the release artifacts (`cargo build --release --workspace`, done by
//! scripts/test.sh).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use sssd_tests::ldif::{self, Schema};
use sssd_tests::memcache::McFile;
use sssd_tests::namespace::Namespace;
use sssd_tests::pam::{self, Caller, SERVICE, code, pamtester};
use sssd_tests::proc::{self, Output};
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{Sssd, SssdConf};
use sssd_tests::stage;
use std::time::Duration;

fn namespace() -> Namespace {
    let root = stage::shared_stage().expect("stage the product with install.sh");
    Namespace::new(Some(root)).expect("create the mount namespace")
}

fn start<'ns>(ns: &'ns Namespace, conf: &SssdConf) -> Sssd<'ns> {
    let sssd = Sssd::start(ns, conf).unwrap_or_else(|e| panic!("sssd did not start: {e}"));
    if let Err(e) = pam::wait_for_socket(ns) {
        panic!("{e}\n{}", sssd.logs());
    }
    pam::install_service(ns, SERVICE, "").unwrap();
    sssd
}

fn so(ns: &Namespace, args: &[&str]) -> Output {
    let mut argv = vec!["sss_override"];
    argv.extend_from_slice(args);
    ns.run(&argv).unwrap()
}

#[track_caller]
fn ok(ns: &Namespace, sssd: &Sssd<'_>, args: &[&str]) -> String {
    let out = so(ns, args);
    assert_eq!(
        out.code(),
        0,
        "sss_override {args:?}: {out:?}\n{}",
        sssd.logs()
    );
    out.stdout
}

#[track_caller]
fn getent(ns: &Namespace, db: &str, key: &str) -> String {
    let out = ns.run(&["getent", db, key]).unwrap();
    assert!(out.success(), "getent {db} {key}: {out:?}");
    out.stdout.trim_end().to_string()
}

const USER1: &str = "user1:*:1001:2001:1001:/home/user1:/bin/bash";
const NEWNAME: &str = "newname:*:5001:2003:1001:/home/newhome:/bin/zsh";
const USER_LINE: &str = "user1@LDAP:newname:5001:2003::/home/newhome:/bin/zsh:\n";
const GROUP_LINE: &str = "two_user_group@LDAP:pair:7012\n";

/// What the overrides of the test make every lookup answer.
#[track_caller]
fn assert_overridden(ns: &Namespace, sssd: &Sssd<'_>) {
    for key in ["newname", "user1", "5001"] {
        assert_eq!(
            getent(ns, "passwd", key),
            NEWNAME,
            "getent passwd {key}\n{}",
            sssd.logs()
        );
    }
    for key in ["pair", "two_user_group", "7012"] {
        assert_eq!(
            getent(ns, "group", key),
            "pair:*:7012:newname,user2",
            "getent group {key}"
        );
    }
    let id = ns.run(&["id", "newname"]).unwrap();
    assert!(
        id.stdout
            .starts_with("uid=5001(newname) gid=2003(group3) groups=2003(group3)")
            && id.stdout.contains("7012(pair)"),
        "{id:?}"
    );
    // What the memory cache holds is overridden too.
    let mc = McFile::read(ns, "passwd").unwrap();
    assert_eq!(
        mc.passwd("newname").map(|p| p.line()).as_deref(),
        Some(NEWNAME)
    );
    assert_eq!(
        mc.passwd_by_uid(5001).map(|p| p.line()).as_deref(),
        Some(NEWNAME)
    );
    assert!(mc.passwd("user1").is_none() && mc.passwd_by_uid(1001).is_none());
    let mc = McFile::read(ns, "group").unwrap();
    let pair = ["pair", "*", "newname", "user2"].map(String::from).to_vec();
    assert_eq!(mc.group("pair"), Some((7012, pair)));
    assert!(mc.group("two_user_group").is_none());
}

#[test]
fn overrides_apply_round_trip_and_survive_a_restart() {
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(3)).unwrap();
    let ns = namespace();
    let conf = SssdConf::ldap_pam(&slapd, Schema::Rfc2307);
    let sssd = start(&ns, &conf);
    assert_eq!(getent(&ns, "passwd", "user1"), USER1);

    // SSSD's errors.
    let out = so(&ns, &["user-add", "nosuchuser", "-n", "x"]);
    assert_eq!(
        (out.code(), out.stderr.as_str()),
        (1, "Unable to find user nosuchuser@[unknown].\n")
    );
    let out = so(&ns, &["group-add", "nosuchgroup@LDAP", "-g", "9"]);
    assert_eq!(
        (out.code(), out.stderr.as_str()),
        (1, "Unable to find group nosuchgroup@LDAP.\n")
    );
    let out = so(&ns, &["user-add", "user1"]);
    assert_eq!(out.code(), 1, "{out:?}");
    assert!(
        out.stderr.starts_with("At least one option is required!"),
        "{out:?}"
    );
    let out = so(&ns, &["user-add", "user1", "-n", "x@OTHER"]);
    assert_eq!(
        (out.code(), out.stderr.as_str()),
        (1, "Changing domain is not allowed!\n")
    );
    assert_eq!(ok(&ns, &sssd, &["user-find"]), "");

    // Overrides, seen by the next lookup without a restart (even of a name and an id just
    // negative-cached).
    for key in ["newname", "5001"] {
        let out = ns.run(&["getent", "passwd", key]).unwrap();
        assert_eq!(out.code(), 2, "{out:?}");
    }
    ok(
        &ns,
        &sssd,
        &[
            "user-add",
            "user1",
            "-n",
            "newname",
            "-u",
            "5001",
            "-g",
            "2003",
            "--home=/home/newhome",
            "-s",
            "/bin/zsh",
        ],
    );
    ok(
        &ns,
        &sssd,
        &[
            "group-add",
            "two_user_group@LDAP",
            "-n",
            "pair",
            "-g",
            "7012",
        ],
    );
    assert_overridden(&ns, &sssd);
    assert_eq!(ok(&ns, &sssd, &["user-find"]), USER_LINE);
    assert_eq!(ok(&ns, &sssd, &["user-find", "-d", "LDAP"]), USER_LINE);
    assert_eq!(ok(&ns, &sssd, &["user-show", "user1"]), USER_LINE);
    assert_eq!(ok(&ns, &sssd, &["user-show", "newname"]), USER_LINE);
    assert_eq!(ok(&ns, &sssd, &["user-show", "user2"]), "");
    assert_eq!(ok(&ns, &sssd, &["group-find"]), GROUP_LINE);
    assert_eq!(
        ok(&ns, &sssd, &["group-show", "two_user_group"]),
        GROUP_LINE
    );
    let out = so(&ns, &["user-find", "-d", "NOPE"]);
    assert_eq!(
        (out.code(), out.stderr.as_str()),
        (1, "Unable to find domain NOPE\n")
    );

    // A login with the new name is the directory's user1.
    for (input, want) in [
        ("Password1001\n", code::SUCCESS),
        ("wrong\n", code::AUTH_ERR),
    ] {
        let out = pamtester(
            &ns,
            Caller::Root,
            SERVICE,
            "newname",
            &["authenticate"],
            input,
        )
        .unwrap();
        assert_eq!(out.code, want, "{:?}\n{}", out.output, sssd.logs());
    }

    // Export, delete, import.
    ok(&ns, &sssd, &["user-export", "/root/users.bak"]);
    ok(&ns, &sssd, &["group-export", "/root/groups.bak"]);
    assert_eq!(
        ns.read_file("/root/users.bak").unwrap(),
        USER_LINE.as_bytes()
    );
    assert_eq!(
        ns.read_file("/root/groups.bak").unwrap(),
        GROUP_LINE.as_bytes()
    );
    ok(&ns, &sssd, &["user-del", "newname"]);
    ok(&ns, &sssd, &["group-del", "two_user_group"]);
    assert_eq!(ok(&ns, &sssd, &["user-find"]), "");
    assert_eq!(ok(&ns, &sssd, &["group-find"]), "");
    assert_eq!(getent(&ns, "passwd", "user1"), USER1);
    assert_eq!(getent(&ns, "passwd", "1001"), USER1);
    assert_eq!(
        getent(&ns, "group", "2012"),
        "two_user_group:*:2012:user1,user2"
    );
    let gone = ns.run(&["getent", "passwd", "newname"]).unwrap();
    assert_eq!(gone.code(), 2, "{gone:?}");
    ok(&ns, &sssd, &["user-import", "/root/users.bak"]);
    ok(&ns, &sssd, &["group-import", "/root/groups.bak"]);
    assert_eq!(ok(&ns, &sssd, &["user-find"]), USER_LINE);
    assert_overridden(&ns, &sssd);
    let store = ns.read_file("/var/lib/sss/db/sssd_user_overrides").unwrap();
    assert_eq!(store, USER_LINE.as_bytes());

    // A faulty import file.
    ns.write_file("/root/bad", b"user1@LDAP:x\n", 0o600)
        .unwrap();
    let out = so(&ns, &["user-import", "/root/bad"]);
    assert_eq!(
        (out.code(), out.stderr.as_str()),
        (
            1,
            "Invalid format on line 1. Use --debug option for more information.\n"
        )
    );
    let out = so(&ns, &["group-import", "/root/missing"]);
    assert_eq!(
        (out.code(), out.stderr.as_str()),
        (1, "Unable to open /root/missing.\n")
    );

    // A restart keeps them.
    drop(sssd);
    let sssd = start(&ns, &conf);
    assert_overridden(&ns, &sssd);
    let out = pamtester(
        &ns,
        Caller::Root,
        SERVICE,
        "newname",
        &["authenticate"],
        "Password1001\n",
    )
    .unwrap();
    assert_eq!(out.code, code::SUCCESS, "{:?}\n{}", out.output, sssd.logs());
}

#[test]
fn enumeration_lists_the_overridden_entries() {
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(3)).unwrap();
    let ns = namespace();
    let conf = SssdConf::ldap(&slapd, Schema::Rfc2307).domain("enumerate", "true");
    let sssd = Sssd::start(&ns, &conf).unwrap_or_else(|e| panic!("sssd did not start: {e}"));
    assert_eq!(getent(&ns, "passwd", "user1"), USER1);
    assert_eq!(
        getent(&ns, "group", "two_user_group"),
        "two_user_group:*:2012:user1,user2"
    );
    ok(
        &ns,
        &sssd,
        &["user-add", "user1", "-n", "newname", "-u", "5001"],
    );
    ok(&ns, &sssd, &["group-add", "two_user_group", "-n", "pair"]);
    let all = |db: &str| ns.run(&["getent", db]).unwrap().stdout;
    let listed = proc::wait_until(
        "the overrides to be enumerated",
        Duration::from_secs(60),
        || {
            let (p, g) = (all("passwd"), all("group"));
            p.lines()
                .any(|l| l == "newname:*:5001:2001:1001:/home/user1:/bin/bash")
                && !p.lines().any(|l| l.starts_with("user1:"))
                && g.lines().any(|l| l == "pair:*:2012:newname,user2")
                && !g.lines().any(|l| l.starts_with("two_user_group:"))
        },
    );
    assert!(
        listed.is_ok(),
        "{}\n{}\n{}",
        all("passwd"),
        all("group"),
        sssd.logs()
    );
}
