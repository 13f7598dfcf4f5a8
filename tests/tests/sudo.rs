//! sudo rules from LDAP through the real `sudo` (`sudoers: files sss`): a private slapd
//! with the sudoRole schema (tests/schema/sudo.schema) and rules for a user, a group, a
//! nested group, a netgroup, `ALL`, an expired rule and `sudoOrder`; our daemon with
//! `services = nss, sudo`; `sudo -l -U user1` as root and `sudo -u user2` as user1; the
//! same answers offline after slapd stops; the netgroup rule through `netgroup: sss` and an
//! LDAP nisNetgroup; `sss_cache -R`/`-r` making rule changes show at once; Debian's
//! libsss_sudo.so against our responder; a hostile rule set.
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
    namespace_with(&format!("{NSSWITCH_CONF}sudoers: files sss\n"))
}

/// The namespace with `nss` as its nsswitch.conf and sudo's PAM stack.
fn namespace_with(nss: &str) -> Namespace {
    let root = stage::shared_stage().expect("stage the product with install.sh");
    let ns = Namespace::with_nsswitch(Some(root), nss).expect("create the mount namespace");
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
    as_uid(ns, 1001, argv)
}

/// Runs `argv` as the LDAP user with uid `uid` (user1..user3: primary gid = uid + 1000).
fn as_uid(ns: &Namespace, uid: u32, argv: &[&str]) -> Output {
    let reuid = format!("--reuid={uid}");
    let regid = format!("--regid={}", uid + 1000);
    let mut v = vec!["setpriv", &reuid, &regid, "--init-groups", "--"];
    v.extend_from_slice(argv);
    ns.run(&v).unwrap()
}

/// Runs `sss_cache ARGS` inside the namespace; fails the test unless it succeeds.
#[track_caller]
fn sss_cache_ok(ns: &Namespace, sssd: &Sssd<'_>, args: &[&str]) {
    let mut argv = vec!["/usr/sbin/sss_cache"];
    argv.extend_from_slice(args);
    let out = ns.run(&argv).unwrap();
    assert!(
        out.success(),
        "sss_cache {args:?}: {out:?}\n{}",
        sssd.logs()
    );
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

/// `sss_cache -R` / `-r NAME` expire cached rules: the next `sudo -l` has the backend
/// fetch the user's rules again, so a rule added or changed in LDAP shows at once, long
/// before `entry_cache_sudo_timeout` or the smart refresh; without `sss_cache` the cached
/// rules stay.
#[test]
fn sss_cache_makes_rule_changes_show_at_once() {
    let tree = ldif::rfc2307bis();
    let slapd = Slapd::new(&tree).expect("start slapd");
    let base = slapd.base().to_string();
    slapd.add(&rules(&base)).expect("add the sudo rules");
    let ns = namespace();
    let conf = conf(&slapd)
        .domain("entry_cache_sudo_timeout", "3600")
        .domain("ldap_sudo_smart_refresh_interval", "3600")
        .domain("ldap_sudo_full_refresh_interval", "7200");
    let sssd = start(&ns, &conf);
    wait_listed(&ns, &sssd, "user1", "/usr/bin/whoami");

    // A new rule for user1: not seen while the cached rules are fresh.
    let new_rule = rule(
        &base,
        "r_new",
        &[
            ("sudoUser", "user1"),
            ("sudoHost", "ALL"),
            ("sudoRunAsUser", "ALL"),
            ("sudoOption", "!authenticate"),
            ("sudoCommand", "/usr/bin/uptime"),
        ],
    );
    slapd.add(&new_rule).expect("add r_new");
    std::thread::sleep(Duration::from_secs(1));
    let out = sudo_list(&ns, "user1");
    assert!(!listed(&out).contains(&"/usr/bin/uptime".into()), "{out:?}");

    sss_cache_ok(&ns, &sssd, &["-R"]);
    let t = Instant::now();
    let out = sudo_list(&ns, "user1");
    assert!(
        listed(&out).contains(&"/usr/bin/uptime".into()),
        "not listed after sss_cache -R: {out:?}\n{}",
        sssd.logs()
    );
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    let ok = as_user1(&ns, &["sudo", "-n", "-u", "user2", "/usr/bin/uptime"]);
    assert!(ok.success(), "{ok:?}\n{}", sssd.logs());

    // A changed rule, expired by name.
    let out = slapd
        .modify(&format!(
            "dn: cn=r_user,ou=SUDOers,{base}\nchangetype: modify\n\
             replace: sudoCommand\nsudoCommand: /usr/bin/groups\n"
        ))
        .unwrap();
    assert!(out.success(), "ldapmodify: {out:?}");
    let out = sudo_list(&ns, "user1");
    assert!(listed(&out).contains(&"/usr/bin/true".into()), "{out:?}");
    sss_cache_ok(&ns, &sssd, &["-r", "r_user"]);
    let out = sudo_list(&ns, "user1");
    let cmds = listed(&out);
    assert!(
        cmds.contains(&"/usr/bin/groups".into()) && !cmds.contains(&"/usr/bin/true".into()),
        "after sss_cache -r r_user: {out:?}\n{}",
        sssd.logs()
    );
}

/// A rule for `+ng_admins` through `netgroup: sss`: the netgroup is an LDAP nisNetgroup
/// holding `(,user1,)`, served by sssd_nss; sudo checks membership with innetgr(3), so
/// user1 gets the rule's command and user2 does not.
#[test]
fn netgroup_rule_through_sss_netgroups() {
    let tree = ldif::rfc2307bis();
    let slapd = Slapd::new(&tree).expect("start slapd");
    let base = slapd.base().to_string();
    slapd.add(&rules(&base)).expect("add the sudo rules");
    slapd
        .add(&format!(
            "dn: ou=Netgroup,{base}\nobjectClass: organizationalUnit\nou: Netgroup\n\n\
             dn: cn=ng_admins,ou=Netgroup,{base}\nobjectClass: nisNetgroup\ncn: ng_admins\n\
             nisNetgroupTriple: (,user1,)\n\n"
        ))
        .expect("add the netgroup");
    let nss = NSSWITCH_CONF.replace("netgroup: files\n", "netgroup: sss\n");
    assert!(nss.contains("netgroup: sss\n"));
    let ns = namespace_with(&format!("{nss}sudoers: files sss\n"));
    let sssd = start(&ns, &conf(&slapd));

    let out = wait_listed(&ns, &sssd, "user1", "/usr/bin/hostname");
    assert!(listed(&out).contains(&"/usr/bin/whoami".into()), "{out:?}");
    let out2 = sudo_list(&ns, "user2");
    let c2 = listed(&out2);
    assert!(c2.contains(&"/usr/bin/tty".into()), "{out2:?}");
    assert!(!c2.contains(&"/usr/bin/hostname".into()), "{out2:?}");

    let ok = as_user1(&ns, &["sudo", "-n", "-u", "user2", "/usr/bin/hostname"]);
    assert!(
        ok.success(),
        "user1 via +ng_admins: {ok:?}\n{}",
        sssd.logs()
    );
    let denied = as_uid(
        &ns,
        1002,
        &["sudo", "-n", "-u", "user1", "/usr/bin/hostname"],
    );
    assert!(!denied.success(), "user2 is not in ng_admins: {denied:?}");
    // The ALL rule still works for user2: the refusal is the netgroup's.
    let own = as_uid(&ns, 1002, &["sudo", "-n", "-u", "user1", "/usr/bin/env"]);
    assert!(own.success(), "user2 via ALL: {own:?}");
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
