//! sudo rules from LDAP through the real `sudo` (`sudoers: files sss`): a private slapd
//! with the sudoRole schema (tests/schema/sudo.schema) and rules for a user, a group, a
//! nested group, a netgroup, `ALL`, an expired rule and `sudoOrder`; our daemon with
//! `services = nss, sudo`; `sudo -l -U user1` as root and `sudo -u user2` as user1; the
//! same answers offline after slapd stops; Debian's libsss_sudo.so against our responder;
//! a hostile rule set.
//!
//! They need the release artifacts (`cargo build --release --workspace`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use std::time::{Duration, Instant};

use sssd_tests::ldif::{self, Schema};
use sssd_tests::namespace::{NSSWITCH_CONF, Namespace};
use sssd_tests::proc::Output;
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{Sssd, SssdConf};
use sssd_tests::stage;

const SUDO_SOCKET: &str = "/var/lib/sss/pipes/sudo";
const DEBIAN_LIBSSS_SUDO: &str =
    "/var/cache/rsssd/debian-sssd/usr/lib/x86_64-linux-gnu/libsss_sudo.so";
const LIBSSS_SUDO: &str = "/usr/lib/x86_64-linux-gnu/libsss_sudo.so";

fn rule(base: &str, cn: &str, attrs: &[(&str, &str)]) -> String {
    let mut s = format!(
        "dn: cn={cn},ou=SUDOers,{base}\nobjectClass: top\nobjectClass: sudoRole\ncn: {cn}\n"
    );
    for (a, v) in attrs {
        s.push_str(&format!("{a}: {v}\n"));
    }
    s.push('\n');
    s
}

/// The rules: user1 directly, via its group one_user_group1, via the nested group
/// group_one_user_group (∋ one_user_group1), via a netgroup, `ALL`; one expired; one for
/// user2 only.
fn rules(base: &str) -> String {
    let all = [
        ("sudoHost", "ALL"),
        ("sudoRunAsUser", "ALL"),
        ("sudoOption", "!authenticate"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| -> Vec<(&'static str, &'static str)> {
        let mut v = all.to_vec();
        v.extend_from_slice(extra);
        v
    };
    let mut s = format!("dn: ou=SUDOers,{base}\nobjectClass: organizationalUnit\nou: SUDOers\n\n");
    s += &rule(base, "defaults", &[("sudoOption", "!lecture")]);
    s += &rule(
        base,
        "r_user",
        &with(&[
            ("sudoUser", "user1"),
            ("sudoCommand", "/usr/bin/true"),
            ("sudoOrder", "10"),
        ]),
    );
    s += &rule(
        base,
        "r_group",
        &with(&[
            ("sudoUser", "%one_user_group1"),
            ("sudoCommand", "/usr/bin/id"),
            ("sudoOrder", "20"),
        ]),
    );
    s += &rule(
        base,
        "r_nested",
        &with(&[
            ("sudoUser", "%group_one_user_group"),
            ("sudoCommand", "/usr/bin/whoami"),
            ("sudoOrder", "5"),
        ]),
    );
    s += &rule(
        base,
        "r_netgroup",
        &with(&[
            ("sudoUser", "+ng_admins"),
            ("sudoCommand", "/usr/bin/hostname"),
        ]),
    );
    s += &rule(
        base,
        "r_all",
        &with(&[("sudoUser", "ALL"), ("sudoCommand", "/usr/bin/env")]),
    );
    s += &rule(
        base,
        "r_expired",
        &with(&[
            ("sudoUser", "user1"),
            ("sudoCommand", "/usr/bin/false"),
            ("sudoNotAfter", "20000101000000Z"),
        ]),
    );
    s += &rule(
        base,
        "r_user2",
        &with(&[("sudoUser", "user2"), ("sudoCommand", "/usr/bin/tty")]),
    );
    s
}

fn conf(slapd: &Slapd) -> SssdConf {
    SssdConf::ldap(slapd, Schema::Rfc2307bis)
        .set("sssd", "services", "nss, sudo")
        .set("sudo", "debug_level", "0x0070")
        .domain(
            "ldap_sudo_search_base",
            &format!("ou=SUDOers,{}", slapd.base()),
        )
        .domain("entry_cache_sudo_timeout", "2")
}

fn namespace() -> Namespace {
    let root = stage::shared_stage().expect("stage the product with install.sh");
    let nss = format!("{NSSWITCH_CONF}sudoers: files sss\n");
    let ns = Namespace::with_nsswitch(Some(root), &nss).expect("create the mount namespace");
    // sudo's own PAM stack, independent of the host's: NOPASSWD rules need only account
    // and session.
    ns.write_pam_service(
        "sudo",
        "auth required pam_deny.so\naccount required pam_permit.so\n\
         session required pam_permit.so\n",
    )
    .unwrap();
    ns
}

fn start<'ns>(ns: &'ns Namespace, conf: &SssdConf) -> Sssd<'ns> {
    let sssd = Sssd::start(ns, conf).unwrap_or_else(|e| panic!("sssd did not start: {e}"));
    if let Err(e) = ns.wait_for_path(SUDO_SOCKET, Duration::from_secs(20)) {
        panic!("{e}\n{}", sssd.logs());
    }
    sssd
}

fn sudo_list(ns: &Namespace, user: &str) -> Output {
    ns.run(&["sudo", "-n", "-l", "-U", user]).unwrap()
}

/// Polls `sudo -l -U user` until it lists `cmd` (the first full refresh runs at start).
fn wait_listed(ns: &Namespace, sssd: &Sssd<'_>, user: &str, cmd: &str) -> Output {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = sudo_list(ns, user);
        if out.stdout.contains(cmd) {
            return out;
        }
        assert!(
            Instant::now() < deadline,
            "sudo -l -U {user} never listed {cmd}: {out:?}\n{}",
            sssd.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The commands `sudo -l` lists from rules, in order.
fn listed(out: &Output) -> Vec<String> {
    out.stdout
        .lines()
        .filter_map(|l| {
            l.trim()
                .split_once("NOPASSWD: ")
                .map(|(_, c)| c.to_string())
        })
        .collect()
}

#[track_caller]
fn check_user1(out: &Output) {
    let cmds = listed(out);
    for c in [
        "/usr/bin/true",
        "/usr/bin/id",
        "/usr/bin/whoami",
        "/usr/bin/env",
    ] {
        assert!(cmds.iter().any(|x| x == c), "{c} missing: {out:?}");
    }
    // user2's rule and the netgroup rule (user1 is in no netgroup sudo can see:
    // netgroup: files) are not listed.
    for c in ["/usr/bin/tty", "/usr/bin/hostname"] {
        assert!(!cmds.iter().any(|x| x == c), "{c} listed: {out:?}");
    }
    // The expired rule reaches sudo with its sudoNotAfter (sudo_timed = false, SSSD's
    // default): sudo shows the limit and refuses it at run time.
    assert!(
        out.stdout
            .contains("NOTAFTER=20000101000000Z NOPASSWD: /usr/bin/false"),
        "{out:?}"
    );
    // sudoOrder: the responder sends the highest first (r_group 20, r_user 10, r_nested 5)
    // and sudo lists them in reverse, lowest first.
    let pos = |c: &str| cmds.iter().position(|x| x == c).unwrap();
    assert!(pos("/usr/bin/whoami") < pos("/usr/bin/true"), "{cmds:?}");
    assert!(pos("/usr/bin/true") < pos("/usr/bin/id"), "{cmds:?}");
}

fn as_user1(ns: &Namespace, argv: &[&str]) -> Output {
    let mut v = vec![
        "setpriv",
        "--reuid=1001",
        "--regid=2001",
        "--init-groups",
        "--",
    ];
    v.extend_from_slice(argv);
    ns.run(&v).unwrap()
}

#[test]
fn sudo_rules_from_ldap_online_and_offline() {
    let tree = ldif::rfc2307bis();
    let mut slapd = Slapd::new(&tree).expect("start slapd");
    slapd.add(&rules(slapd.base())).expect("add the sudo rules");
    let ns = namespace();
    let sssd = start(&ns, &conf(&slapd));

    let out = wait_listed(&ns, &sssd, "user1", "/usr/bin/whoami");
    check_user1(&out);
    // user2 sees its own rule and ALL, not user1's.
    let out2 = sudo_list(&ns, "user2");
    let c2 = listed(&out2);
    assert!(c2.contains(&"/usr/bin/tty".to_string()), "{out2:?}");
    assert!(!c2.contains(&"/usr/bin/true".to_string()), "{out2:?}");

    // The real thing: user1 runs a command as user2 (NOPASSWD rule), and not the expired one.
    let ok = as_user1(&ns, &["sudo", "-n", "-u", "user2", "/usr/bin/true"]);
    assert!(
        ok.success(),
        "sudo -u user2 true as user1: {ok:?}\n{}",
        sssd.logs()
    );
    let whoami = as_user1(&ns, &["sudo", "-n", "-u", "user2", "/usr/bin/whoami"]);
    assert_eq!(whoami.stdout.trim(), "user2", "{whoami:?}");
    let denied = as_user1(&ns, &["sudo", "-n", "-u", "user2", "/usr/bin/false"]);
    assert!(
        !denied.success() && denied.stderr.contains("sudo"),
        "{denied:?}"
    );

    // Offline: slapd gone, rules expired (entry_cache_sudo_timeout = 2): the refresh fails
    // and the cache answers.
    slapd.stop().unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let out = sudo_list(&ns, "user1");
    check_user1(&out);
    let ok = as_user1(&ns, &["sudo", "-n", "-u", "user2", "/usr/bin/true"]);
    assert!(ok.success(), "offline sudo: {ok:?}\n{}", sssd.logs());
}

#[test]
fn debian_libsss_sudo_against_our_responder() {
    if !std::path::Path::new(DEBIAN_LIBSSS_SUDO).exists() {
        panic!("{DEBIAN_LIBSSS_SUDO} missing: run scripts/debian-sssd.sh");
    }
    let tree = ldif::rfc2307bis();
    let slapd = Slapd::new(&tree).expect("start slapd");
    slapd.add(&rules(slapd.base())).expect("add the sudo rules");
    let ns = namespace();
    let sssd = start(&ns, &conf(&slapd));
    let ours = wait_listed(&ns, &sssd, "user1", "/usr/bin/whoami");
    ns.run_ok(&["mount", "--bind", DEBIAN_LIBSSS_SUDO, LIBSSS_SUDO])
        .unwrap();
    let theirs = sudo_list(&ns, "user1");
    check_user1(&theirs);
    assert_eq!(
        ours.stdout, theirs.stdout,
        "Debian's libsss_sudo.so lists the same"
    );
    let ok = as_user1(&ns, &["sudo", "-n", "-u", "user2", "/usr/bin/true"]);
    assert!(ok.success(), "{ok:?}");
}

#[test]
fn hostile_rule_set_neither_crashes_nor_hangs_sudo() {
    let tree = ldif::rfc2307bis();
    let slapd = Slapd::new(&tree).expect("start slapd");
    let base = slapd.base().to_string();
    let mut s = format!("dn: ou=SUDOers,{base}\nobjectClass: organizationalUnit\nou: SUDOers\n\n");
    let huge = format!("/usr/bin/{}", "x".repeat(60_000));
    for i in 0..10_000 {
        let cmd = if i % 1000 == 0 {
            huge.as_str()
        } else {
            "/usr/bin/true"
        };
        s += &rule(
            &base,
            &format!("h{i}"),
            &[
                ("sudoUser", "user1"),
                ("sudoHost", "ALL"),
                ("sudoCommand", cmd),
                ("sudoOrder", &i.to_string()),
                ("sudoOption", "!authenticate"),
            ],
        );
    }
    slapd.add(&s).expect("add 10,000 rules");
    let ns = namespace();
    let sssd = start(&ns, &conf(&slapd).domain("entry_cache_sudo_timeout", "600"));
    let deadline = Instant::now() + Duration::from_secs(60);
    let out = loop {
        let t = Instant::now();
        let out = sudo_list(&ns, "user1");
        let took = t.elapsed();
        assert!(took < Duration::from_secs(30), "sudo -l took {took:?}");
        if listed(&out).len() >= 10_000 || Instant::now() > deadline {
            eprintln!("sudo -l -U user1 with 10,000 rules took {took:?}");
            break out;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(
        listed(&out).len() >= 10_000,
        "{} rules listed\n{}",
        listed(&out).len(),
        sssd.logs()
    );
    assert!(
        !ns.processes_named("sssd_sudo").is_empty(),
        "sssd_sudo died\n{}",
        sssd.logs()
    );
}

#[test]
fn our_libsss_sudo_against_debians_sssd() {
    let debian = sssd_tests::interop::debian_root().expect("unpack Debian's sssd 2.8");
    let ours = stage::shared_stage().expect("stage our build");
    let our_lib = ours
        .join(sssd_tests::interop::LIB_DIR)
        .join("libsss_sudo.so");
    assert!(our_lib.is_file(), "{} missing", our_lib.display());
    let tree = ldif::rfc2307bis();
    let slapd = Slapd::new(&tree).expect("start slapd");
    slapd.add(&rules(slapd.base())).expect("add the sudo rules");
    let nss = format!("{NSSWITCH_CONF}sudoers: files sss\n");
    let ns = Namespace::with_nsswitch(Some(&debian), &nss).expect("namespace");
    ns.write_pam_service(
        "sudo",
        "auth required pam_deny.so\naccount required pam_permit.so\n\
         session required pam_permit.so\n",
    )
    .unwrap();
    let sssd = start(&ns, &conf(&slapd));
    let theirs = wait_listed(&ns, &sssd, "user1", "/usr/bin/whoami");
    // Debian's daemon and Debian's library: the reference the other pairs must match.
    check_user1(&theirs);
    let deb = as_user1(&ns, &["sudo", "-n", "-u", "user2", "/usr/bin/true"]);
    assert!(
        deb.success(),
        "Debian's library on Debian's daemon: {deb:?}"
    );
    ns.run_ok(&["mount", "--bind", our_lib.to_str().unwrap(), LIBSSS_SUDO])
        .unwrap();
    let ours_on_debian = sudo_list(&ns, "user1");
    assert_eq!(
        theirs.stdout, ours_on_debian.stdout,
        "our libsss_sudo.so on Debian's daemon"
    );
    let ok = as_user1(&ns, &["sudo", "-n", "-u", "user2", "/usr/bin/true"]);
    assert!(
        ok.success(),
        "our library on Debian's daemon: {ok:?}\n{}",
        sssd.logs()
    );
}
