//! `id_provider = files` end to end: a files domain next to an LDAP domain, both answering
//! getent and id through `sss` alone (nsswitch has no `files` for passwd and group, so
//! every answer comes from our daemon); changes of the files (append, member change,
//! removal, atomic rename by `sed -i`) visible within a second; Debian's libnss_sss against
//! our daemon for the files domain; `sssctl domain-status` of a files domain; logins and
//! password changes through `auth_provider = proxy` (`proxy_pam_target` with pam_unix),
//! with our pam_sss and with Debian's.
//!
//! They need the release artifacts (`cargo build --release --workspace`, done by
//! scripts/test.sh).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use std::path::Path;
use std::time::{Duration, Instant};

use sssd_tests::interop::{debian_root, nss_module_of, with_nss_module};
use sssd_tests::ldif::{self, Schema};
use sssd_tests::lookups::{assert_line, assert_notfound, getent};
use sssd_tests::namespace::{NSSWITCH_SSS_ONLY, Namespace};
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{Sssd, SssdConf};
use sssd_tests::stage;

/// Where the files domain's files live inside the namespace (a tmpfs of their own).
const DIR: &str = "/etc/filesdom";
const PASSWD: &str = "/etc/filesdom/passwd";
const GROUP: &str = "/etc/filesdom/group";

const PASSWD_TEXT: &str = "root:x:0:0:root:/root:/bin/bash\n\
# a comment\n\
fuser1:x:5001:5001:Files User One:/home/fuser1:/bin/sh\n\
fuser2:x:5002:5100::/home/fuser2:/bin/bash\n\
this line is broken\n";

const GROUP_TEXT: &str = "root:x:0:\n\
fgroup1:x:5001:\n\
fstaff:x:5100:fuser1\n\
fdev:x:5200:fuser1,fuser2\n";

/// The longest a change of the files may take to show (the task's requirement).
const VISIBLE_WITHIN: Duration = Duration::from_secs(1);

/// A namespace with the staged product (or `root`), `sss` alone for passwd, group and
/// initgroups, and the files of the files domain on a private tmpfs.
fn files_namespace(root: Option<&Path>) -> Namespace {
    let stage_root = match root {
        Some(r) => r.to_path_buf(),
        None => stage::shared_stage()
            .expect("stage the product with install.sh")
            .to_path_buf(),
    };
    let ns = Namespace::with_nsswitch(Some(&stage_root), NSSWITCH_SSS_ONLY)
        .expect("create the mount namespace");
    ns.run_ok(&["mkdir", "-p", DIR]).unwrap();
    ns.run_ok(&["mount", "-t", "tmpfs", "-o", "mode=0755", "filesdom", DIR])
        .unwrap();
    ns.write_file(PASSWD, PASSWD_TEXT.as_bytes(), 0o644)
        .unwrap();
    ns.write_file(GROUP, GROUP_TEXT.as_bytes(), 0o644).unwrap();
    ns
}

/// `[domain/FILES]` reading the private files, with `base` for the rest.
fn files_conf(base: SssdConf) -> SssdConf {
    base.set("domain/FILES", "id_provider", "files")
        .set("domain/FILES", "passwd_files", PASSWD)
        .set("domain/FILES", "group_files", GROUP)
        .set("domain/FILES", "debug_level", "0x0070")
}

fn start<'ns>(ns: &'ns Namespace, conf: &SssdConf) -> Sssd<'ns> {
    Sssd::start(ns, conf).unwrap_or_else(|e| panic!("sssd did not start: {e}"))
}

/// Polls `getent ARGS` until its output is `want` ("" for not found); returns how long
/// that took, failing after 10 s.
#[track_caller]
fn time_until(
    ns: &Namespace,
    sssd: &Sssd<'_>,
    args: &[&str],
    want: &str,
    since: Instant,
) -> Duration {
    let deadline = since + Duration::from_secs(10);
    loop {
        let out = getent(ns, args);
        if out.stdout == want {
            return since.elapsed();
        }
        assert!(
            Instant::now() < deadline,
            "getent {args:?} never gave {want:?}: {out:?}\n{}",
            sssd.logs()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn id(ns: &Namespace, user: &str) -> String {
    let out = ns.run(&["id", user]).unwrap();
    assert!(out.success(), "id {user}: {out:?}");
    out.stdout
}

#[test]
fn files_and_ldap_domains_answer_side_by_side() {
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(3)).unwrap();
    let ns = files_namespace(None);
    let conf =
        files_conf(SssdConf::ldap(&slapd, Schema::Rfc2307)).set("sssd", "domains", "FILES, LDAP");
    let sssd = start(&ns, &conf);

    // The files domain: pwfield x, as SSSD; root and comments left out.
    assert_line(
        &ns,
        &sssd,
        &["passwd", "fuser1"],
        "fuser1:x:5001:5001:Files User One:/home/fuser1:/bin/sh",
    );
    assert_line(
        &ns,
        &sssd,
        &["passwd", "5002"],
        "fuser2:x:5002:5100::/home/fuser2:/bin/bash",
    );
    assert_line(&ns, &sssd, &["group", "fstaff"], "fstaff:x:5100:fuser1");
    assert_line(&ns, &sssd, &["group", "5200"], "fdev:x:5200:fuser1,fuser2");
    assert_line(&ns, &sssd, &["group", "fgroup1"], "fgroup1:x:5001:");
    assert_notfound(&ns, &["passwd", "root"]);
    assert_notfound(&ns, &["passwd", "this"]);
    assert_eq!(
        id(&ns, "fuser1"),
        "uid=5001(fuser1) gid=5001(fgroup1) groups=5001(fgroup1),5100(fstaff),5200(fdev)\n"
    );
    assert_eq!(
        id(&ns, "fuser2"),
        "uid=5002(fuser2) gid=5100(fstaff) groups=5100(fstaff),5200(fdev)\n"
    );
    let out = getent(&ns, &["initgroups", "fuser1"]);
    // The primary group (5001) is glibc's to add; the memberships come from the files.
    let mut gids: Vec<&str> = out
        .stdout
        .split_whitespace()
        .skip(1)
        .filter(|g| *g != "5001")
        .collect();
    gids.sort_unstable();
    assert_eq!(gids, ["5100", "5200"], "{out:?}");

    // The LDAP domain next to it.
    assert_line(
        &ns,
        &sssd,
        &["passwd", "user1"],
        "user1:*:1001:2001:1001:/home/user1:/bin/bash",
    );
    assert_line(&ns, &sssd, &["group", "group2"], "group2:*:2002:");
    assert!(id(&ns, "user1").contains("2012(two_user_group)"));

    // A name in neither: not found, at once (the files domain does not wait).
    let t = Instant::now();
    assert_notfound(&ns, &["passwd", "nosuchuser"]);
    assert_notfound(&ns, &["passwd", "nosuchuser@FILES"]);
    let took = t.elapsed();
    assert!(took < Duration::from_secs(1), "not found took {took:?}");
    eprintln!("two not-found lookups took {took:?}");

    // sssctl domain-status of the files domain.
    let out = ns
        .run(&["/usr/sbin/sssctl", "domain-status", "FILES"])
        .unwrap();
    assert!(out.success(), "{out:?}\n{}", sssd.logs());
    assert!(out.stdout.contains("Online status: Online"), "{out:?}");
    assert!(out.stdout.contains("no active servers"), "{out:?}");
    let out = ns
        .run(&["/usr/sbin/sssctl", "domain-status", "FILES", "--online"])
        .unwrap();
    assert_eq!(out.stdout, "Online status: Online\n\n", "{out:?}");

    // sssctl config-check: the files options are known and valid; a files domain with an
    // auth_provider it cannot have is named.
    // (The LDAP test domain's ldap_auth_disable_tls_never_use_in_production is the one
    // finding.)
    let out = ns.run(&["/usr/sbin/sssctl", "config-check"]).unwrap();
    assert!(
        out.stdout.contains("Issues identified by validators: 1") && !out.stdout.contains("FILES"),
        "{out:?}"
    );
    let bad = conf.clone().set("domain/FILES", "auth_provider", "krb5");
    ns.write_file("/etc/sssd/sssd.conf", bad.render().as_bytes(), 0o600)
        .unwrap();
    let out = ns.run(&["/usr/sbin/sssctl", "config-check"]).unwrap();
    assert_eq!(out.code(), 1, "{out:?}");
    assert!(
        out.stdout.contains("domain FILES is disabled at start")
            && out.stdout.contains("auth_provider = \"krb5\""),
        "{out:?}"
    );
}

#[test]
fn changes_of_the_files_show_within_a_second() {
    let ns = files_namespace(None);
    let conf = files_conf(SssdConf::new().set("sssd", "services", "nss"))
        .set("sssd", "domains", "FILES")
        .set("nss", "debug_level", "0x0070");
    let sssd = start(&ns, &conf);
    assert_line(
        &ns,
        &sssd,
        &["passwd", "fuser1"],
        "fuser1:x:5001:5001:Files User One:/home/fuser1:/bin/sh",
    );
    // Looked up (and negative-cached) before it exists.
    assert_notfound(&ns, &["passwd", "newbie"]);

    // 1. A user appended (in place).
    let line = "newbie:x:5003:5001:New:/home/newbie:/bin/sh";
    let t = Instant::now();
    ns.write_file(PASSWD, format!("{PASSWD_TEXT}{line}\n").as_bytes(), 0o644)
        .unwrap();
    let added = time_until(&ns, &sssd, &["passwd", "newbie"], &format!("{line}\n"), t);
    eprintln!("appended user visible after {added:?}");
    assert!(added < VISIBLE_WITHIN, "appended user took {added:?}");

    // 2. A group member change: newbie joins fstaff.
    let group2 = GROUP_TEXT.replace("fstaff:x:5100:fuser1", "fstaff:x:5100:fuser1,newbie");
    let t = Instant::now();
    ns.write_file(GROUP, group2.as_bytes(), 0o644).unwrap();
    let joined = time_until(
        &ns,
        &sssd,
        &["group", "fstaff"],
        "fstaff:x:5100:fuser1,newbie\n",
        t,
    );
    eprintln!("member change visible after {joined:?}");
    assert!(joined < VISIBLE_WITHIN, "member change took {joined:?}");
    assert_eq!(
        id(&ns, "newbie"),
        "uid=5003(newbie) gid=5001(fgroup1) groups=5001(fgroup1),5100(fstaff)\n"
    );

    // 3. The atomic-rename case: sed -i writes a new file and renames it over the old one.
    let t = Instant::now();
    ns.run_ok(&["sed", "-i", "/^fuser2:/d", PASSWD]).unwrap();
    let removed = time_until(&ns, &sssd, &["passwd", "fuser2"], "", t);
    eprintln!("user removed by sed -i invisible after {removed:?}");
    assert!(removed < VISIBLE_WITHIN, "removal took {removed:?}");
    assert_notfound(&ns, &["passwd", "5002"]);
    // fdev still lists fuser2 (whether it is shown depends on the negative cache, as in
    // SSSD with filter_users_in_groups).
    let out = getent(&ns, &["group", "fdev"]);
    assert!(out.stdout.starts_with("fdev:x:5200:fuser1"), "{out:?}");

    // 4. A user removed and a shell changed, in place.
    let t = Instant::now();
    ns.write_file(
        PASSWD,
        b"fuser1:x:5001:5001:Files User One:/home/fuser1:/bin/zsh\n",
        0o644,
    )
    .unwrap();
    let changed = time_until(
        &ns,
        &sssd,
        &["passwd", "fuser1"],
        "fuser1:x:5001:5001:Files User One:/home/fuser1:/bin/zsh\n",
        t,
    );
    assert!(changed < VISIBLE_WITHIN, "shell change took {changed:?}");
    assert_notfound(&ns, &["passwd", "newbie"]);
    let log = String::from_utf8_lossy(&ns.read_file("/var/log/sssd/sssd_FILES.log").unwrap())
        .into_owned();
    assert!(
        log.contains("/etc/filesdom/passwd:5: line skipped"),
        "the bad line is not named in the log:\n{log}"
    );
}

#[test]
fn debian_libnss_sss_reads_the_files_domain_from_our_daemon() {
    let ours = stage::shared_stage().expect("stage our build");
    let debian = debian_root().expect("unpack Debian's sssd 2.8");
    let module = nss_module_of(&debian).expect("Debian's libnss_sss.so.2");
    let mixed = with_nss_module(ours, &module).unwrap();
    let queries: &[&[&str]] = &[
        &["getent", "passwd", "fuser1"],
        &["getent", "passwd", "5002"],
        &["getent", "passwd", "nosuchuser"],
        &["getent", "group", "fstaff"],
        &["getent", "group", "5200"],
        &["getent", "initgroups", "fuser1"],
        &["id", "fuser1"],
        &["id", "fuser2"],
    ];
    let answers = |root: Option<&Path>| -> Vec<String> {
        let ns = files_namespace(root);
        let conf = files_conf(SssdConf::new().set("sssd", "services", "nss"))
            .set("sssd", "domains", "FILES");
        let sssd = start(&ns, &conf);
        let out = queries
            .iter()
            .map(|q| {
                let o = ns.run(q).unwrap();
                format!("{} {:?}: {}", o.code(), q, o.stdout)
            })
            .collect();
        drop(sssd);
        out
    };
    let debian_module = answers(Some(mixed.path()));
    let our_module = answers(None);
    assert_eq!(
        debian_module[0],
        "0 [\"getent\", \"passwd\", \"fuser1\"]: fuser1:x:5001:5001:Files User One:/home/fuser1:/bin/sh\n"
    );
    assert_eq!(
        debian_module[6],
        "0 [\"id\", \"fuser1\"]: uid=5001(fuser1) gid=5001(fgroup1) groups=5001(fgroup1),5100(fstaff),5200(fdev)\n"
    );
    assert_eq!(debian_module, our_module);
}

#[test]
fn pam_enumeration_and_a_second_passwd_file_created_later() {
    use sssd_tests::pam::{self, Caller, SERVICE, code, pamtester};
    let ns = files_namespace(None);
    let extra = "/etc/filesdom/passwd2";
    let conf = files_conf(SssdConf::new().set("sssd", "services", "nss, pam"))
        .set("sssd", "domains", "FILES")
        .set(
            "domain/FILES",
            "passwd_files",
            &format!("{PASSWD}, {extra}"),
        )
        .set("domain/FILES", "enumerate", "true")
        .set("domain/FILES", "access_provider", "simple")
        .set("domain/FILES", "simple_deny_users", "fuser2");
    let sssd = start(&ns, &conf);
    pam::wait_for_socket(&ns).unwrap();
    pam::install_service(&ns, SERVICE, "").unwrap();

    // As SSSD 2.8: the files provider does not check passwords (pam_unix does), and
    // access_provider decides.
    let run = |user: &str, op: &str| {
        pamtester(&ns, Caller::Root, SERVICE, user, &[op], "secret\n")
            .unwrap()
            .code
    };
    assert_eq!(
        run("fuser1", "authenticate"),
        code::AUTHINFO_UNAVAIL,
        "{}",
        sssd.logs()
    );
    assert_eq!(run("fuser1", "acct_mgmt"), code::SUCCESS, "{}", sssd.logs());
    assert_eq!(
        run("fuser2", "acct_mgmt"),
        code::PERM_DENIED,
        "{}",
        sssd.logs()
    );
    assert_eq!(
        run("nosuchuser", "acct_mgmt"),
        code::USER_UNKNOWN,
        "{}",
        sssd.logs()
    );

    // enumerate = true: getent passwd and group list the files' entries (root left out).
    let out = getent(&ns, &["passwd"]);
    assert_eq!(
        out.stdout,
        "fuser1:x:5001:5001:Files User One:/home/fuser1:/bin/sh\n\
         fuser2:x:5002:5100::/home/fuser2:/bin/bash\n",
        "{out:?}"
    );
    let out = getent(&ns, &["group"]);
    let mut names: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.split(':').next())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["fdev", "fgroup1", "fstaff"], "{out:?}");

    // The second passwd file, created after the start, is read at once; the first file
    // wins for a name both define.
    assert_notfound(&ns, &["passwd", "extra1"]);
    let t = Instant::now();
    ns.write_file(
        extra,
        b"extra1:x:6001:5001::/home/extra1:/bin/sh\nfuser1:x:6002:5001::/x:/bin/sh\n",
        0o644,
    )
    .unwrap();
    let took = time_until(
        &ns,
        &sssd,
        &["passwd", "extra1"],
        "extra1:x:6001:5001::/home/extra1:/bin/sh\n",
        t,
    );
    eprintln!("user of a file created after the start visible after {took:?}");
    assert!(took < VISIBLE_WITHIN, "took {took:?}");
    assert_line(
        &ns,
        &sssd,
        &["passwd", "fuser1"],
        "fuser1:x:5001:5001:Files User One:/home/fuser1:/bin/sh",
    );
    assert_notfound(&ns, &["passwd", "6002"]);
}

#[test]
fn a_large_passwd_file_is_reloaded_quickly() {
    const USERS: u32 = 20_000;
    let ns = files_namespace(None);
    let mut text = String::with_capacity(USERS as usize * 50);
    for i in 0..USERS {
        let uid = 100_000 + i;
        text.push_str(&format!(
            "bulk{i}:x:{uid}:5001:Bulk {i}:/home/bulk{i}:/bin/sh\n"
        ));
    }
    ns.write_file(PASSWD, text.as_bytes(), 0o644).unwrap();
    let conf =
        files_conf(SssdConf::new().set("sssd", "services", "nss")).set("sssd", "domains", "FILES");
    let sssd = start(&ns, &conf);
    let t = Instant::now();
    let first = time_until(
        &ns,
        &sssd,
        &["passwd", "bulk19999"],
        "bulk19999:x:119999:5001:Bulk 19999:/home/bulk19999:/bin/sh\n",
        t,
    );
    eprintln!("{USERS} users: last one visible {first:?} after the daemon's socket appeared");
    text.push_str("late:x:99999:5001::/home/late:/bin/sh\n");
    let t = Instant::now();
    ns.write_file(PASSWD, text.as_bytes(), 0o644).unwrap();
    let took = time_until(
        &ns,
        &sssd,
        &["passwd", "late"],
        "late:x:99999:5001::/home/late:/bin/sh\n",
        t,
    );
    eprintln!("{USERS} users: an appended user visible after {took:?}");
    // About 250 ms on an idle machine; the bound leaves room for a loaded CI host.
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[test]
fn enable_files_domain_puts_the_local_files_first() {
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(3)).unwrap();
    let ns = files_namespace(None);
    // The namespace's own /etc/passwd and /etc/group (a private copy), with a local user
    // whose name the directory also has: the implicit files domain, first, answers.
    let mut passwd = String::from_utf8(ns.read_file("/etc/passwd").unwrap()).unwrap();
    passwd.push_str("user1:x:7001:7001:Local One:/home/local1:/bin/sh\n");
    ns.write_file("/etc/passwd", passwd.as_bytes(), 0o644)
        .unwrap();
    let conf = SssdConf::ldap(&slapd, Schema::Rfc2307).set("sssd", "enable_files_domain", "true");
    let sssd = start(&ns, &conf);
    assert_line(
        &ns,
        &sssd,
        &["passwd", "user1"],
        "user1:x:7001:7001:Local One:/home/local1:/bin/sh",
    );
    assert_line(
        &ns,
        &sssd,
        &["passwd", "user2"],
        "user2:*:1002:2002:1002:/home/user2:/bin/bash",
    );
    let out = ns.run(&["/usr/sbin/sssctl", "domain-list"]).unwrap();
    assert_eq!(out.stdout, "implicit_files\nLDAP\n", "{out:?}");
}

/// SSSD's documented set-up for local users (`id_provider = files`, `auth_provider =
/// proxy`, `proxy_pam_target` running pam_unix): logins, a wrong password, a password
/// change and `access_provider = proxy`, the files domain reading the namespace's own
/// /etc/passwd (so that pam_unix, which changes only users of /etc/passwd, knows them).
/// Our client modules.
#[test]
fn logins_and_password_changes_through_proxy_pam_target() {
    shadowutils_logins(None);
}

/// The same with Debian's sssd 2.8 pam_sss.so and libnss_sss.so.2 against our daemon.
#[test]
fn debian_pam_sss_logs_in_through_the_files_domain() {
    use sssd_tests::interop::{pam_module_of, with_pam_module};
    let ours = stage::shared_stage().expect("stage our build");
    let debian = debian_root().expect("unpack Debian's sssd 2.8 (scripts/debian-sssd.sh)");
    let nss = nss_module_of(&debian).expect("Debian's libnss_sss.so.2");
    let pam_module = pam_module_of(&debian).expect("Debian's pam_sss.so");
    let with_nss = with_nss_module(ours, &nss).unwrap();
    let root = with_pam_module(with_nss.path(), &pam_module).unwrap();
    shadowutils_logins(Some(root.path()));
}

fn shadowutils_logins(root: Option<&Path>) {
    use sssd_tests::pam::{self, Caller, SERVICE, code, pamtester};
    const TARGET: &str = "sssd-tests-shadowutils";
    let ns = files_namespace(root);
    pam::add_unix_user(
        &ns,
        "flogin:x:5010:5001:Files Login:/home/flogin:/bin/sh",
        "FlSecret1",
    )
    .unwrap();
    let mut passwd = ns.read_file("/etc/passwd").unwrap();
    passwd.extend_from_slice(b"fnoshadow:x:5011:5001::/home/fnoshadow:/bin/sh\n");
    ns.write_file("/etc/passwd", &passwd, 0o644).unwrap();
    pam::install_unix_service(&ns, TARGET).unwrap();
    let conf = files_conf(SssdConf::new().set("sssd", "services", "nss, pam"))
        .set("sssd", "domains", "FILES")
        .set("domain/FILES", "passwd_files", "/etc/passwd")
        .set("domain/FILES", "auth_provider", "proxy")
        .set("domain/FILES", "access_provider", "proxy")
        .set("domain/FILES", "proxy_pam_target", TARGET)
        .set("domain/FILES", "proxy_fast_alias", "true");
    let sssd = start(&ns, &conf);
    pam::wait_for_socket(&ns).unwrap();
    pam::install_service(&ns, SERVICE, "").unwrap();
    assert_line(
        &ns,
        &sssd,
        &["passwd", "flogin"],
        "flogin:x:5010:5001:Files Login:/home/flogin:/bin/sh",
    );
    let login = |user: &str, password: &str| {
        let out = pamtester(
            &ns,
            Caller::Root,
            SERVICE,
            user,
            &["authenticate", "acct_mgmt"],
            &format!("{password}\n"),
        )
        .unwrap();
        eprintln!("{user}: {:?}", out.output);
        out.code
    };
    assert_eq!(
        login("flogin", "FlSecret1"),
        code::SUCCESS,
        "{}",
        sssd.logs()
    );
    assert_eq!(login("flogin", "wrong"), code::AUTH_ERR, "{}", sssd.logs());
    // In the files but without a shadow entry: pam_unix refuses it.
    assert_ne!(login("fnoshadow", "FlSecret1"), code::SUCCESS);

    let out = pam::change_unix_password(
        &ns,
        Caller::User(5010, 5001),
        "flogin",
        "FlSecret1",
        "FlChanged2!",
    )
    .unwrap();
    assert_eq!(out.code, code::SUCCESS, "{:?}\n{}", out.output, sssd.logs());
    assert_eq!(
        login("flogin", "FlChanged2!"),
        code::SUCCESS,
        "{}",
        sssd.logs()
    );
    assert_eq!(login("flogin", "FlSecret1"), code::AUTH_ERR);
}
