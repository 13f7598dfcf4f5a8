//! `sssctl analyze` through the installed binary inside the namespace, on the logs of a
//! running daemon: after `getent passwd` and `id` of a directory user, `request list` names
//! both clients with their program, `request show CID` prints the responder's lines of the
//! `getent` connection and the backend's lines for its request, `--merge` orders them by
//! time; an unknown client id and a missing log directory fail. With `--pam`, the same for
//! a `pamtester` login against the directory: the PAM responder's lines and the backend's
//! `pamHandler` lines of that request.
//!
//! They need the release artifacts (`cargo build --release --workspace`, done by
//! scripts/test.sh).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use sssd_tests::ldif::{self, Schema};
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

fn sssctl(ns: &Namespace, args: &[&str]) -> Output {
    let mut argv = vec!["sssctl", "analyze"];
    argv.extend_from_slice(args);
    ns.run(&argv).unwrap()
}

/// The client id `request list` gives the client program `cmd`.
fn cid_of(list: &str, cmd: &str) -> Option<String> {
    list.lines().find_map(|l| {
        let (_, rest) = l.split_once("CID #")?;
        let (cid, program) = rest.split_once(": ")?;
        (program == cmd).then(|| cid.to_string())
    })
}

#[test]
fn request_list_and_show_follow_a_lookup_into_the_backend() {
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(1)).unwrap();
    let ns = namespace();
    let conf = SssdConf::ldap(&slapd, Schema::Rfc2307)
        .set("nss", "debug_level", "6")
        .set("nss", "memcache_timeout", "0")
        .domain("debug_level", "6");
    let sssd =
        Sssd::start_with_argv(&ns, &conf, &["/usr/sbin/sssd", "-i", "--logger=files"]).unwrap();
    let out = ns.run(&["getent", "passwd", "user1"]).unwrap();
    assert!(out.success(), "{out:?}\n{}", sssd.logs());
    let out = ns.run(&["id", "user1"]).unwrap();
    assert!(out.success(), "{out:?}\n{}", sssd.logs());

    // `TIME: [uid 0] CID #n: getent`, then the `id` client.
    let mut list = sssctl(&ns, &["request", "list"]);
    let found = proc::wait_until("both clients", Duration::from_secs(20), || {
        list = sssctl(&ns, &["request", "list"]);
        list.stdout.contains(": id\n")
    });
    assert!(found.is_ok(), "{list:?}\n{}", sssd.logs());
    assert_eq!(list.code(), 0, "{list:?}");
    let cid = cid_of(&list.stdout, "getent").unwrap_or_else(|| panic!("{list:?}"));
    assert!(list.stdout.contains("[uid 0] CID #"), "{list:?}");
    let verbose = sssctl(&ns, &["request", "list", "-v"]);
    assert!(
        verbose
            .stdout
            .contains("   - GetPwNam\n       - User name=user1\n"),
        "{verbose:?}"
    );

    // The responder's lines of that client and the backend's for its request.
    let mut show = sssctl(&ns, &["request", "show", &cid]);
    let found = proc::wait_until("the backend's lines", Duration::from_secs(20), || {
        show = sssctl(&ns, &["request", "show", &cid]);
        show.stdout.contains("[be[LDAP]]")
    });
    assert!(found.is_ok(), "{show:?}\n{}", sssd.logs());
    assert_eq!(show.code(), 0, "{show:?}");
    let lines: Vec<&str> = show.stdout.lines().collect();
    let tag = format!("[CID#{cid}]");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("[nss]") && l.contains(&tag) && l.contains("Client [cmd getent]")),
        "{show:?}"
    );
    let asking = lines
        .iter()
        .find(|l| l.contains(&tag) && l.contains("asking the backend of LDAP"))
        .unwrap_or_else(|| panic!("{show:?}"));
    let rid = asking
        .split_once("[RID#")
        .and_then(|(_, r)| r.split_once(']'))
        .map(|(n, _)| format!("[RID#{n}]"))
        .unwrap_or_else(|| panic!("{asking:?}"));
    assert!(
        lines.iter().any(|l| l.contains("[be[LDAP]]")
            && l.contains(&rid)
            && l.contains("getAccountInfo")
            && l.contains("user1")),
        "{show:?}"
    );
    // Nothing of the other client.
    assert!(!show.stdout.contains("Client [cmd id]"), "{show:?}");
    // Without --merge the responder's lines come first; with it, by time.
    let first_be = lines.iter().position(|l| l.contains("[be[LDAP]]")).unwrap();
    assert!(
        lines[first_be..].iter().all(|l| l.contains("[be[LDAP]]")),
        "{show:?}"
    );
    let merged = sssctl(&ns, &["request", "show", "--merge", &cid]);
    assert_eq!(merged.code(), 0, "{merged:?}");
    let mut sorted: Vec<&str> = merged.stdout.lines().collect();
    assert_eq!(sorted.len(), lines.len(), "{merged:?}");
    let stamps: Vec<&str> = sorted
        .iter()
        .map(|l| l.split_once(')').map_or("", |(s, _)| s))
        .collect();
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "{merged:?}");
    sorted.sort();
    let mut unmerged = lines.clone();
    unmerged.sort();
    assert_eq!(sorted, unmerged);

    // Errors: an unknown client, a log directory that is not there, the journal.
    let out = sssctl(&ns, &["request", "show", "99999"]);
    assert_eq!(out.code(), 1, "{out:?}");
    assert_eq!(out.stderr, "ID 99999 not found in logs!\n");
    let out = sssctl(&ns, &["--logdir", "/no/such/dir", "request", "list"]);
    assert_eq!(out.code(), 1, "{out:?}");
    assert!(out.stderr.contains("/no/such/dir"), "{out:?}");
    let out = sssctl(&ns, &["--source", "journald", "request", "list"]);
    assert_eq!(out.code(), 1, "{out:?}");
    // No PAM client ran.
    let out = sssctl(&ns, &["request", "list", "--pam"]);
    assert_eq!((out.code(), out.stdout.as_str()), (0, ""), "{out:?}");
}

#[test]
fn pam_requests_are_listed_and_shown_with_pam() {
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(1)).unwrap();
    let ns = namespace();
    let conf = SssdConf::ldap_pam(&slapd, Schema::Rfc2307)
        .set("nss", "debug_level", "6")
        .set("pam", "debug_level", "6")
        .domain("debug_level", "6");
    let sssd =
        Sssd::start_with_argv(&ns, &conf, &["/usr/sbin/sssd", "-i", "--logger=files"]).unwrap();
    pam::wait_for_socket(&ns).unwrap_or_else(|e| panic!("{e}\n{}", sssd.logs()));
    pam::install_service(&ns, SERVICE, "").unwrap();
    let out = pamtester(
        &ns,
        Caller::Root,
        SERVICE,
        "user1",
        &["authenticate"],
        "Password1001\n",
    )
    .unwrap();
    assert_eq!(out.code, code::SUCCESS, "{out:?}\n{}", sssd.logs());

    let list = sssctl(&ns, &["request", "list", "--pam", "--verbose"]);
    assert_eq!(list.code(), 0, "{list:?}");
    let cid = cid_of(&list.stdout, "pamtester").unwrap_or_else(|| panic!("{list:?}"));
    // The command, what the responder asked the backend for, then the PAM user.
    assert!(
        list.stdout
            .contains("   - PamAuthenticate\n       - User name=user1\n"),
        "{list:?}"
    );
    assert!(list.stdout.contains("       - user1\n"), "{list:?}");
    let mut show = sssctl(&ns, &["request", "show", "--pam", &cid]);
    let found = proc::wait_until("the backend's lines", Duration::from_secs(20), || {
        show = sssctl(&ns, &["request", "show", "--pam", &cid]);
        show.stdout.contains("pamHandler")
    });
    assert!(found.is_ok(), "{show:?}\n{}", sssd.logs());
    let tag = format!("[CID#{cid}]");
    assert!(
        show.stdout
            .lines()
            .any(|l| l.contains("[pam]") && l.contains(&tag) && l.contains("command 0x00f1")),
        "{show:?}"
    );
    assert!(
        show.stdout
            .lines()
            .any(|l| l.contains("[be[LDAP]]") && l.contains("pamHandler") && l.contains("user1")),
        "{show:?}"
    );
}
