//! Black-box tests of the harness itself, with the host's own tools (slapd, ldapsearch,
//! unshare, nsenter, getent): they must pass before the product exists.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sssd_tests::ldif::{self, Directory};
use sssd_tests::namespace::{NSSWITCH_CONF, NSSWITCH_SSS_ONLY, Namespace};
use sssd_tests::slapd::{Slapd, SlapdOptions};
use sssd_tests::{expected, proc};

/// One slapd with the full rfc2307 tree (5,000 users) shared by the read-only tests.
fn big() -> &'static Slapd {
    static S: OnceLock<Slapd> = OnceLock::new();
    S.get_or_init(|| Slapd::new(&ldif::rfc2307()).expect("start slapd with the rfc2307 tree"))
}

fn sha256(path: &str) -> String {
    let out = proc::run_ok(
        std::process::Command::new("sha256sum").arg(path),
        None,
        Duration::from_secs(10),
    )
    .unwrap();
    out.stdout.split_whitespace().next().unwrap().to_owned()
}

#[test]
fn slapd_serves_generated_users() {
    let s = big();
    let out = s.search("uid=user0001", &[]).unwrap();
    assert!(out.success(), "{}", out.stderr);
    assert!(
        out.stdout
            .contains("dn: uid=user0001,ou=People,dc=example,dc=com"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("uidNumber: 10001"));
    assert!(out.stdout.contains("gecos: User 0001"));
    assert!(out.stdout.contains("homeDirectory: /home/user0001"));
    // Same thing with the literal command line from the brief.
    let raw = proc::run_ok(
        std::process::Command::new("ldapsearch").args([
            "-x",
            "-H",
            &format!("ldap://127.0.0.1:{}", s.port()),
            "-b",
            "dc=example,dc=com",
            "uid=user0001",
        ]),
        None,
        proc::COMMAND_TIMEOUT,
    )
    .unwrap();
    assert!(raw.stdout.contains("numEntries: 1"), "{}", raw.stdout);
}

#[test]
fn slapd_listens_only_on_loopback() {
    let s = big();
    let ss = proc::run_ok(
        std::process::Command::new("ss").args(["-Htln", &format!("sport = :{}", s.port())]),
        None,
        Duration::from_secs(10),
    );
    // `ss` may be missing (iproute2); /proc/net/tcp is always there.
    let port_hex = format!(":{:04X}", s.port());
    let tcp = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let listeners: Vec<&str> = tcp
        .lines()
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 3 && f[1].ends_with(&port_hex) && f[3] == "0A"
        })
        .collect();
    assert_eq!(listeners.len(), 1, "{listeners:?} {ss:?}");
    assert!(
        listeners[0]
            .split_whitespace()
            .nth(1)
            .unwrap()
            .starts_with("0100007F:")
    );
    let tcp6 = std::fs::read_to_string("/proc/net/tcp6").unwrap_or_default();
    assert!(!tcp6.lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() > 3 && f[1].ends_with(&port_hex) && f[3] == "0A"
    }));
}

#[test]
fn big_group_has_5000_member_uids() {
    let out = big().search("cn=allusers", &["memberUid"]).unwrap();
    let n = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("memberUid: "))
        .count();
    assert_eq!(n, 5000);
}

#[test]
fn special_users_round_trip_through_slapd() {
    let s = big();
    let out = s.search("uid=zoe", &["gecos"]).unwrap();
    // Non-ASCII values come back base64-encoded; decode by comparing with our encoder.
    let b64 = ldif::base64(ldif::NONASCII_GECOS.as_bytes());
    assert!(
        out.stdout.contains(&format!("gecos:: {b64}")),
        "{}",
        out.stdout
    );
    let long = ldif::long_name();
    let out = s.search(&format!("uid={long}"), &["uidNumber"]).unwrap();
    assert!(out.stdout.contains("uidNumber: 20003"), "{}", out.stdout);
    let out = s.search("(memberUid=many)", &["cn"]).unwrap();
    assert_eq!(
        out.stdout
            .lines()
            .filter(|l| l.starts_with("cn: mg"))
            .count(),
        200
    );
    let out = s.search("uid=nogecos", &["gecos", "cn"]).unwrap();
    assert!(!out.stdout.contains("gecos:"));
    assert!(out.stdout.contains("cn: No Gecos Person"));
}

#[test]
fn rfc2307bis_tree_loads_with_nested_member_dns() {
    let s = Slapd::new(&ldif::rfc2307bis()).unwrap();
    let out = s
        .search("cn=group_two_one_user_groups", &["member"])
        .unwrap();
    assert!(
        out.stdout
            .contains("member: cn=one_user_group1,ou=Groups,dc=example,dc=com")
    );
    assert!(
        out.stdout
            .contains("member: cn=one_user_group2,ou=Groups,dc=example,dc=com")
    );
    let out = s
        .search("cn=empty_group1", &["member", "gidNumber"])
        .unwrap();
    assert!(out.stdout.contains("gidNumber: 2010") && !out.stdout.contains("member:"));
    let out = s
        .search("(member=uid=user3,ou=People,dc=example,dc=com)", &["cn"])
        .unwrap();
    // The upper-case DN matches too: DN matching is case-insensitive.
    assert!(out.stdout.contains("cn: case_dn_group"), "{}", out.stdout);
    assert!(out.stdout.contains("cn: nest_l1"));
}

#[test]
fn slapd_stops_and_starts_on_the_same_port() {
    let mut s = Slapd::new(&ldif::rfc2307_with_bulk(5)).unwrap();
    let port = s.port();
    let pid = s.pid().unwrap();
    s.stop().unwrap();
    assert!(!proc::alive(pid));
    let down = s.search("uid=user1", &[]).unwrap();
    assert_eq!(
        down.code(),
        255,
        "ldapsearch against a stopped server: {down:?}"
    );
    s.start().unwrap();
    assert_eq!(s.port(), port);
    let up = s.search("uid=user1", &["uidNumber"]).unwrap();
    assert!(up.stdout.contains("uidNumber: 1001"), "{up:?}");
    // Changes persist across a restart.
    s.modify(
        "dn: uid=user1,ou=People,dc=example,dc=com\nchangetype: modify\nreplace: loginShell\nloginShell: /bin/sh\n",
    )
    .unwrap();
    s.stop().unwrap();
    s.start().unwrap();
    let out = s.search("uid=user1", &["loginShell"]).unwrap();
    assert!(out.stdout.contains("loginShell: /bin/sh"));
    let pid = s.pid().unwrap();
    drop(s);
    assert!(!proc::alive(pid), "Drop must kill slapd");
}

#[test]
fn slapd_add_and_delete_entries() {
    let s = Slapd::new(&ldif::rfc2307_with_bulk(0)).unwrap();
    let mut d = Directory::new(ldif::Schema::Rfc2307);
    let u = ldif::User::new("newuser", 3001, 2001);
    s.add(&ldif::user_ldif(&d, &u)).unwrap();
    assert!(
        s.search("uid=newuser", &[])
            .unwrap()
            .stdout
            .contains("uidNumber: 3001")
    );
    d.users.push(u);
    s.delete(&d.user_dn("newuser")).unwrap();
    assert!(
        !s.search("uid=newuser", &[])
            .unwrap()
            .stdout
            .contains("uidNumber")
    );
}

#[test]
fn slapd_starttls_with_generated_ca() {
    let s = Slapd::with_options(&ldif::rfc2307_with_bulk(0), SlapdOptions { tls: true }).unwrap();
    let ca = s.ca_cert().unwrap().to_str().unwrap().to_owned();
    let mut cmd = std::process::Command::new("ldapsearch");
    cmd.args([
        "-x",
        "-ZZ",
        "-LLL",
        "-H",
        &s.uri(),
        "-b",
        s.base(),
        "uid=user1",
        "uid",
    ])
    .env("LDAPTLS_CACERT", &ca)
    .env("LDAPTLS_REQCERT", "demand");
    let out = proc::run(&mut cmd, None, proc::COMMAND_TIMEOUT).unwrap();
    assert!(out.success(), "{out:?}");
    assert!(out.stdout.contains("uid: user1"));
    // Without trusting the CA, StartTLS must fail.
    let mut cmd = std::process::Command::new("ldapsearch");
    cmd.args(["-x", "-ZZ", "-H", &s.uri(), "-b", s.base(), "uid=user1"])
        .env("LDAPTLS_CACERT", "/dev/null")
        .env("LDAPTLS_REQCERT", "demand");
    let out = proc::run(&mut cmd, None, proc::COMMAND_TIMEOUT).unwrap();
    assert!(!out.success(), "{out:?}");
}

#[test]
fn namespace_has_private_nsswitch_and_dirs() {
    let host_sum = sha256("/etc/nsswitch.conf");
    let host_pam = proc::run_ok(
        std::process::Command::new("sh")
            .args(["-c", "find /etc/pam.d -type f | sort | xargs sha256sum"]),
        None,
        Duration::from_secs(10),
    )
    .unwrap()
    .stdout;
    let overlays = || {
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .filter(|l| l.contains(" - overlay "))
            .count()
    };
    let host_overlays = overlays();
    let ns = Namespace::new(None).unwrap();
    let inside = ns.run_ok(&["cat", "/etc/nsswitch.conf"]).unwrap();
    assert_eq!(inside.stdout, NSSWITCH_CONF);
    assert_eq!(
        std::fs::read_to_string(ns.host_path("/etc/nsswitch.conf")).unwrap(),
        NSSWITCH_CONF
    );
    assert_ne!(sha256("/etc/nsswitch.conf"), "");
    assert_eq!(
        sha256("/etc/nsswitch.conf"),
        host_sum,
        "host nsswitch.conf changed"
    );
    // SSSD's directories with SSSD's modes.
    let out = ns
        .run_ok(&[
            "stat",
            "-c",
            "%a %n",
            "/var/lib/sss/db",
            "/var/lib/sss/pipes",
            "/var/lib/sss/pipes/private",
            "/var/lib/sss/mc",
            "/var/log/sssd",
            "/etc/sssd",
        ])
        .unwrap();
    assert_eq!(
        out.stdout,
        "700 /var/lib/sss/db\n755 /var/lib/sss/pipes\n700 /var/lib/sss/pipes/private\n\
         755 /var/lib/sss/mc\n750 /var/log/sssd\n711 /etc/sssd\n"
    );
    // Writes inside stay inside.
    ns.write_file("/etc/sssd/sssd.conf", b"[sssd]\n", 0o600)
        .unwrap();
    ns.run_ok(&[
        "sh",
        "-c",
        "echo x >> /etc/pam.d/other; touch /run/sssd.pid /etc/marker",
    ])
    .unwrap();
    let st = ns
        .run_ok(&["stat", "-c", "%a", "/etc/sssd/sssd.conf"])
        .unwrap();
    assert_eq!(st.stdout, "600\n");
    assert!(!std::path::Path::new("/etc/sssd/sssd.conf").exists());
    assert!(!std::path::Path::new("/etc/marker").exists());
    assert!(!std::path::Path::new("/var/lib/sss").exists() || ns.exists("/var/lib/sss/db"));
    // Host users still resolve through `files`; unknown ones are NOTFOUND (exit 2).
    let root = ns.run(&["getent", "passwd", "root"]).unwrap();
    assert!(root.stdout.starts_with("root:x:0:0:"), "{root:?}");
    assert_eq!(ns.run(&["getent", "passwd", "user1"]).unwrap().code(), 2);
    // The host does not see the namespace's mounts (which do exist inside).
    let inner = ns.run_ok(&["cat", "/proc/self/mountinfo"]).unwrap().stdout;
    assert!(inner.lines().filter(|l| l.contains(" - overlay ")).count() >= host_overlays + 3);
    assert!(
        inner.contains(" /var/lib/sss ") && inner.contains(" /etc/sssd "),
        "{inner}"
    );
    assert_eq!(overlays(), host_overlays, "an overlay leaked to the host");
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mountinfo.contains("sssd-tests-"), "{mountinfo}");
    drop(ns);
    assert_eq!(sha256("/etc/nsswitch.conf"), host_sum);
    let after_pam = proc::run_ok(
        std::process::Command::new("sh")
            .args(["-c", "find /etc/pam.d -type f | sort | xargs sha256sum"]),
        None,
        Duration::from_secs(10),
    )
    .unwrap()
    .stdout;
    assert_eq!(after_pam, host_pam, "host /etc/pam.d changed");
    assert_eq!(overlays(), host_overlays, "an overlay leaked to the host");
}

#[test]
fn namespace_takes_another_nsswitch_when_asked() {
    let ns = Namespace::with_nsswitch(None, NSSWITCH_SSS_ONLY).unwrap();
    let inside = ns.run_ok(&["cat", "/etc/nsswitch.conf"]).unwrap();
    assert_eq!(inside.stdout, NSSWITCH_SSS_ONLY);
    assert!(
        inside
            .stdout
            .starts_with("passwd: sss\ngroup: sss\ninitgroups: sss\n")
    );
    // No `files`: root is not found inside (no sssd runs), though the host's /etc/passwd has it.
    let out = ns.run(&["getent", "passwd", "root"]).unwrap();
    assert_eq!(out.code(), 2, "{out:?}");
    let bad = Namespace::with_nsswitch(None, "passwd: files\nEOF\n");
    assert!(bad.is_err());
    assert!(Namespace::with_nsswitch(None, "passwd: files").is_err());
    // And back, after the fact.
    ns.set_nsswitch(NSSWITCH_CONF).unwrap();
    let inside = ns.run_ok(&["cat", "/etc/nsswitch.conf"]).unwrap();
    assert_eq!(inside.stdout, NSSWITCH_CONF);
    ns.run_ok(&["getent", "passwd", "root"]).unwrap();
}

#[test]
fn namespace_overlays_a_staged_root_onto_usr() {
    let stage = tempfile::tempdir().unwrap();
    let lib = stage.path().join("usr/lib/x86_64-linux-gnu");
    std::fs::create_dir_all(&lib).unwrap();
    std::fs::write(lib.join("sssd-tests-marker"), b"staged\n").unwrap();
    let ns = Namespace::new(Some(stage.path())).unwrap();
    // Merged /usr: /lib/... is /usr/lib/...
    let out = ns
        .run_ok(&["cat", "/lib/x86_64-linux-gnu/sssd-tests-marker"])
        .unwrap();
    assert_eq!(out.stdout, "staged\n");
    // The rest of /usr is still there.
    assert!(ns.run_ok(&["getent", "group", "root"]).is_ok());
    assert!(!std::path::Path::new("/usr/lib/x86_64-linux-gnu/sssd-tests-marker").exists());
}

#[test]
fn namespace_spawn_and_drop_kill_by_pid() {
    let ns = Namespace::new(None).unwrap();
    let mut d = ns
        .spawn(&["sh", "-c", "echo started; exec sleep 300"])
        .unwrap();
    let pid = d.pid();
    proc::wait_until("daemon output", Duration::from_secs(10), || {
        d.stdout() == "started\n"
    })
    .unwrap();
    assert!(d.is_running());
    // The spawned process lives in the namespace.
    let its_ns = std::fs::read_link(format!("/proc/{pid}/ns/mnt")).unwrap();
    let holder_ns = std::fs::read_link(format!("/proc/{}/ns/mnt", ns.pid())).unwrap();
    assert_eq!(its_ns, holder_ns);
    // A grandchild not tracked by any handle is killed by the namespace's drop.
    let bg = ns
        .run_ok(&["sh", "-c", "setsid sleep 300 >/dev/null 2>&1 & echo $!"])
        .unwrap();
    let orphan: u32 = bg.stdout.trim().parse().unwrap();
    assert!(proc::alive(orphan));
    drop(d);
    assert!(!proc::alive(pid));
    let holder = ns.pid();
    drop(ns);
    let t = Instant::now();
    while proc::alive(orphan) && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !proc::alive(orphan),
        "orphan {orphan} survived the namespace"
    );
    assert!(!proc::alive(holder));
}

#[test]
fn namespace_run_reports_exit_codes_and_times_out() {
    let ns = Namespace::new(None).unwrap();
    let out = ns
        .run(&["sh", "-c", "echo out; echo err >&2; exit 7"])
        .unwrap();
    assert_eq!(
        (out.code(), out.stdout.as_str(), out.stderr.as_str()),
        (7, "out\n", "err\n")
    );
    let mut c = ns.command(&["sleep", "30"]);
    let err = proc::run(&mut c, None, Duration::from_millis(300)).unwrap_err();
    assert!(err.to_string().contains("timed out"), "{err}");
}

#[test]
fn expected_lines_match_the_loaded_tree() {
    // The expectations module and the LDIF come from one model; spot-check against slapd.
    let d = ldif::rfc2307();
    let line = expected::passwd_line(&d, "user0042").unwrap();
    assert_eq!(
        line,
        "user0042:*:10042:10000:User 0042:/home/user0042:/bin/bash"
    );
    let out = big()
        .search("uid=user0042", &["uidNumber", "gidNumber", "gecos"])
        .unwrap();
    for want in ["uidNumber: 10042", "gidNumber: 10000", "gecos: User 0042"] {
        assert!(out.stdout.contains(want), "{want} in {}", out.stdout);
    }
}

#[test]
fn namespace_pam_service_with_pamtester() {
    let ns = Namespace::new(None).unwrap();
    ns.write_pam_service(
        "sssd-tests-permit",
        "auth required pam_permit.so\naccount required pam_permit.so\n",
    )
    .unwrap();
    ns.write_pam_service("sssd-tests-deny", "auth required pam_deny.so\n")
        .unwrap();
    let ok = ns
        .run_input(
            &["pamtester", "sssd-tests-permit", "root", "authenticate"],
            b"x\n",
        )
        .unwrap();
    assert!(ok.success(), "{ok:?}");
    let denied = ns
        .run_input(
            &["pamtester", "sssd-tests-deny", "root", "authenticate"],
            b"x\n",
        )
        .unwrap();
    assert!(!denied.success(), "{denied:?}");
    assert!(!std::path::Path::new("/etc/pam.d/sssd-tests-permit").exists());
    assert!(ns.write_pam_service("../passwd", "x").is_err());
}

#[test]
fn kdc_issues_tickets() {
    let kdc = sssd_tests::kdc::Kdc::new().unwrap();
    kdc.add_principal("user1", "Password1001").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cc = tmp.path().join("cc");
    let ok = kdc.kinit("user1", "Password1001", &cc).unwrap();
    assert!(ok.success(), "{ok:?}");
    let mut klist = std::process::Command::new("klist");
    klist
        .env("KRB5_CONFIG", kdc.krb5_conf())
        .env("KRB5CCNAME", format!("FILE:{}", cc.display()));
    let out = proc::run_ok(&mut klist, None, proc::COMMAND_TIMEOUT).unwrap();
    assert!(out.stdout.contains("user1@EXAMPLE.COM"), "{}", out.stdout);
    assert!(
        out.stdout.contains("krbtgt/EXAMPLE.COM@EXAMPLE.COM"),
        "{}",
        out.stdout
    );
    let bad = kdc
        .kinit("user1", "wrong", &tmp.path().join("cc2"))
        .unwrap();
    assert!(!bad.success(), "{bad:?}");
}

#[test]
fn kadmind_changes_passwords_and_keytabs_authenticate() {
    let kdc = sssd_tests::kdc::Kdc::new().unwrap();
    kdc.add_principal("user2", "OldPass1002").unwrap();
    let kadmind = kdc.start_kadmind().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    // The client finds kpasswd through kpasswd_server.
    let conf = tmp.path().join("krb5.conf");
    std::fs::write(&conf, kdc.krb5_conf_text_with(&kadmind)).unwrap();
    let mut kpasswd = std::process::Command::new("kpasswd");
    kpasswd.arg("user2").env("KRB5_CONFIG", &conf).env(
        "KRB5CCNAME",
        format!("FILE:{}", tmp.path().join("cc").display()),
    );
    let out = proc::run(
        &mut kpasswd,
        Some(b"OldPass1002\nNewPass1002\nNewPass1002\n"),
        proc::COMMAND_TIMEOUT,
    )
    .unwrap();
    assert!(out.success(), "{out:?}");
    let new = kdc
        .kinit("user2", "NewPass1002", &tmp.path().join("c1"))
        .unwrap();
    assert!(new.success(), "{new:?}");
    let old = kdc
        .kinit("user2", "OldPass1002", &tmp.path().join("c2"))
        .unwrap();
    assert!(!old.success(), "{old:?}");
    // A service keytab exported with ktadd: kinit -k with it gets a ticket.
    kdc.add_random_principal("host/localhost").unwrap();
    let kt = tmp.path().join("krb5.keytab");
    kdc.ktadd("host/localhost", &kt, false).unwrap();
    let mut kinit = std::process::Command::new("kinit");
    kinit
        .arg("-k")
        .arg("-t")
        .arg(&kt)
        .arg("host/localhost")
        .env("KRB5_CONFIG", kdc.krb5_conf())
        .env(
            "KRB5CCNAME",
            format!("FILE:{}", tmp.path().join("c3").display()),
        );
    let out = proc::run(&mut kinit, None, proc::COMMAND_TIMEOUT).unwrap();
    assert!(out.success(), "{out:?}");
}

#[test]
fn nss_call_reports_raw_status_of_a_module() {
    // Against glibc's own libnss_files: the helper works before our module exists.
    let exe = env!("CARGO_BIN_EXE_nss-call");
    let call = |args: &[&str]| {
        let mut c = std::process::Command::new(exe);
        c.args(["--lib", "libnss_files.so.2", "--prefix", "_nss_files_"])
            .args(args);
        let out = proc::run(&mut c, None, proc::COMMAND_TIMEOUT).unwrap();
        assert!(out.success(), "{out:?}");
        expected::NssCall::parse(&out.stdout).unwrap()
    };
    let root = call(&["getpwnam", "root"]);
    assert_eq!(root.status, expected::nss_status::SUCCESS);
    assert!(root.line.unwrap().starts_with("root:x:0:0:"));
    assert_eq!(
        call(&["getpwuid", "0"]).status,
        expected::nss_status::SUCCESS
    );
    assert_eq!(
        call(&["getpwnam", "no-such-user-x"]).status,
        expected::nss_status::NOTFOUND
    );
    let g = call(&["getgrgid", "0"]);
    assert!(g.line.unwrap().starts_with("root:x:0:"));
    // libnss_files answers NOTFOUND for a user in no supplementary group.
    let ig = call(&["initgroups", "root", "0"]);
    assert!(
        [
            expected::nss_status::SUCCESS,
            expected::nss_status::NOTFOUND
        ]
        .contains(&ig.status),
        "{ig:?}"
    );
    // A module that cannot be loaded: exit 3.
    let out = proc::run(
        std::process::Command::new(exe).args(["--lib", "libnss_nonexistent.so.2", "getpwnam", "x"]),
        None,
        proc::COMMAND_TIMEOUT,
    )
    .unwrap();
    assert_eq!(out.code(), 3, "{out:?}");
}
