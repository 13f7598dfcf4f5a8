//! Logins through the real PAM stack: `pamtester` with a service file sending every group to
//! `pam_sss.so`, inside a private mount namespace with the staged install overlaid onto /usr,
//! against a private slapd (`auth_provider = ldap`) and a private MIT KDC with kadmind
//! (`auth_provider = krb5`, kpasswd). Every case runs as root (pam_sss 2.8 talks to the
//! private socket) and as an ordinary uid (public socket).
//!
//! One daemon per test serves many asserts. Against Debian's sssd 2.8 (the reference):
//! `SSSD_TESTS_STAGE_ROOT=$(scripts/debian-sssd.sh) cargo test -p sssd-tests --test pam`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use std::net::{TcpListener, UdpSocket};
use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use sssd_tests::kdc::{Kadmind, Kdc};
use sssd_tests::ldif::{self, Directory, Schema};
use sssd_tests::namespace::Namespace;
use sssd_tests::pam::{
    self, CCACHE_DIR, Caller, PamOutcome, SERVICE, code, krb5_password, pamtester,
};
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{Sssd, SssdConf};
use sssd_tests::stage;

const ROOT: Caller = Caller::Root;
/// user1 running pamtester itself.
const AS_USER1: Caller = Caller::User(1001, 2001);
/// user2's uid: not in `pam_trusted_users` of the LDAP test.
const AS_USER2: Caller = Caller::User(1002, 2002);
const AS_USER3: Caller = Caller::User(1003, 2003);
const AS_NOGECOS: Caller = Caller::User(20005, 10000);

fn tree() -> Directory {
    ldif::rfc2307_with_bulk(3)
}

fn namespace() -> Namespace {
    let root = stage::shared_stage().expect("stage the product with install.sh");
    Namespace::new(Some(root)).expect("create the mount namespace")
}

/// Starts sssd with `conf` and waits for the PAM socket; installs the service files
/// [`SERVICE`] (no options) and `sssd-tests-domains` (`domains=LDAP`).
fn start<'ns>(ns: &'ns Namespace, conf: &SssdConf) -> Sssd<'ns> {
    let sssd = Sssd::start(ns, conf).unwrap_or_else(|e| panic!("sssd did not start: {e}"));
    if let Err(e) = pam::wait_for_socket(ns) {
        panic!("{e}\n{}", sssd.logs());
    }
    pam::install_service(ns, SERVICE, "").unwrap();
    pam::install_service(ns, "sssd-tests-domains", "domains=LDAP").unwrap();
    sssd
}

/// Runs pamtester and asserts the PAM status it ended with.
#[track_caller]
fn expect(
    sssd: &Sssd<'_>,
    ns: &Namespace,
    (caller, service): (Caller, &str),
    user: &str,
    ops: &[&str],
    input: &str,
    want: i32,
) -> PamOutcome {
    let out = pamtester(ns, caller, service, user, ops, input).unwrap();
    assert_eq!(
        out.code,
        want,
        "pamtester {service} {user} {ops:?} as {caller:?}: {:?}\n--- logs ---\n{}",
        out.output,
        sssd.logs()
    );
    out
}

/// What the LDAP and krb5 tests both check for `caller`: an unknown user and root get
/// USER_UNKNOWN, user1's account is valid and nogecos's is denied, user2's account check
/// ends with `user2_account`, and user1 opens and closes a session.
#[track_caller]
fn unknown_users_access_and_session(
    sssd: &Sssd<'_>,
    ns: &Namespace,
    caller: Caller,
    user2_account: i32,
) {
    let e = |user: &str, ops: &[&str], input: &str, want| {
        expect(sssd, ns, (caller, SERVICE), user, ops, input, want)
    };
    e("nosuchuser", &["authenticate"], "x\n", code::USER_UNKNOWN);
    e("root", &["authenticate"], "x\n", code::USER_UNKNOWN);
    e("user1", &["acct_mgmt"], "", code::SUCCESS);
    e("nogecos", &["acct_mgmt"], "", code::PERM_DENIED);
    e("user2", &["acct_mgmt"], "", user2_account);
    e(
        "user1",
        &["open_session", "close_session"],
        "",
        code::SUCCESS,
    );
}

fn pw(uid: u32) -> String {
    format!("Password{uid}\n")
}

#[test]
fn ldap_auth_access_session_password_change_and_trust() {
    let dir = tree();
    let slapd = Slapd::new(&dir).unwrap();
    let ns = namespace();
    let conf = SssdConf::ldap_pam(&slapd, Schema::Rfc2307)
        .set("pam", "pam_trusted_users", "0, 1001, 1003, 20005")
        .domain("access_provider", "simple")
        .domain("simple_deny_users", "nogecos")
        .domain("simple_deny_groups", "group2");
    let sssd = start(&ns, &conf);
    let e = |caller, user: &str, ops: &[&str], input: &str, want| {
        expect(&sssd, &ns, (caller, SERVICE), user, ops, input, want)
    };
    for caller in [ROOT, AS_USER1] {
        e(caller, "user1", &["authenticate"], &pw(1001), code::SUCCESS);
        e(
            caller,
            "user1",
            &["authenticate"],
            "wrong\n",
            code::AUTH_ERR,
        );
        let out = e(caller, "user1", &["authenticate"], "", code::AUTH_ERR);
        assert!(out.output.stderr.contains("Authentication failure"));
        // Access: simple, user1 allowed, nogecos denied by name, user2 by its group.
        unknown_users_access_and_session(&sssd, &ns, caller, code::PERM_DENIED);
    }
    // A denied user still authenticates: access is a separate step.
    e(
        AS_NOGECOS,
        "nogecos",
        &["authenticate"],
        &pw(20005),
        code::SUCCESS,
    );
    // Trust: uid 1002 is not in pam_trusted_users and LDAP is not public.
    for service in [SERVICE, "sssd-tests-domains"] {
        expect(
            &sssd,
            &ns,
            (AS_USER2, service),
            "user1",
            &["authenticate"],
            &pw(1001),
            code::PERM_DENIED,
        );
    }
    // A trusted caller asking for the domain it is in is served.
    expect(
        &sssd,
        &ns,
        (AS_USER1, "sssd-tests-domains"),
        "user1",
        &["authenticate"],
        &pw(1001),
        code::SUCCESS,
    );
    // Password change as the user (LDAP password modify): the new one works, the old fails.
    e(
        AS_USER3,
        "user3",
        &["chauthtok"],
        "Password1003\nNewLdap1003!\nNewLdap1003!\n",
        code::SUCCESS,
    );
    for caller in [ROOT, AS_USER3] {
        e(
            caller,
            "user3",
            &["authenticate"],
            "NewLdap1003!\n",
            code::SUCCESS,
        );
        e(
            caller,
            "user3",
            &["authenticate"],
            &pw(1003),
            code::AUTH_ERR,
        );
    }
    // A wrong current password refuses the change.
    e(
        AS_USER3,
        "user3",
        &["chauthtok"],
        "Password1003\nOther1003!\nOther1003!\n",
        code::AUTH_ERR,
    );
    e(
        ROOT,
        "user3",
        &["authenticate"],
        "NewLdap1003!\n",
        code::SUCCESS,
    );
}

#[test]
fn public_domain_serves_untrusted_callers() {
    let slapd = Slapd::new(&tree()).unwrap();
    let ns = namespace();
    let conf = SssdConf::ldap_pam(&slapd, Schema::Rfc2307)
        .set("pam", "pam_trusted_users", "0")
        .set("pam", "pam_public_domains", "LDAP");
    let sssd = start(&ns, &conf);
    for service in [SERVICE, "sssd-tests-domains"] {
        for caller in [ROOT, AS_USER2] {
            expect(
                &sssd,
                &ns,
                (caller, service),
                "user1",
                &["authenticate"],
                &pw(1001),
                code::SUCCESS,
            );
            expect(
                &sssd,
                &ns,
                (caller, service),
                "user1",
                &["authenticate"],
                "wrong\n",
                code::AUTH_ERR,
            );
        }
    }
}

/// A KDC holding user1..user3 and nogecos with `Kerberos<uid>` passwords, and its kadmind.
fn kdc() -> (Kdc, Kadmind) {
    let kdc = Kdc::new().unwrap();
    for (name, uid) in [("user1", 1001), ("user2", 1002), ("user3", 1003)] {
        kdc.add_principal(name, &krb5_password(uid)).unwrap();
    }
    kdc.add_principal("nogecos", &krb5_password(20005)).unwrap();
    kdc.add_random_principal("host/localhost").unwrap();
    let kadmind = kdc.start_kadmind().unwrap();
    (kdc, kadmind)
}

fn krb5_conf(slapd: &Slapd, kdc: &Kdc, kadmind: &Kadmind) -> SssdConf {
    SssdConf::ldap_pam(slapd, Schema::Rfc2307)
        .domain("auth_provider", "krb5")
        .domain("chpass_provider", "krb5")
        .domain("krb5_server", &kdc.server())
        .domain(
            "krb5_kpasswd",
            &format!("127.0.0.1:{}", kadmind.kpasswd_port()),
        )
        .domain("krb5_realm", sssd_tests::kdc::REALM)
        .domain("krb5_ccachedir", CCACHE_DIR)
        .domain("krb5_ccname_template", "FILE:%d/krb5cc_%U")
        .domain("krb5_auth_timeout", "15")
}

/// Asserts the ccache of `uid` exists, belongs to it, and `klist` reads `principal` in it.
#[track_caller]
fn assert_ccache(sssd: &Sssd<'_>, ns: &Namespace, uid: u32, principal: &str) {
    let path = format!("{CCACHE_DIR}/krb5cc_{uid}");
    let meta = std::fs::metadata(ns.host_path(&path))
        .unwrap_or_else(|e| panic!("{path}: {e}\n{}", sssd.logs()));
    assert_eq!(meta.uid(), uid, "{path} owner");
    assert_eq!(meta.mode() & 0o077, 0, "{path} mode {:o}", meta.mode());
    let out = ns.run(&["klist", "-c", &format!("FILE:{path}")]).unwrap();
    assert!(out.success(), "klist {path}: {out:?}");
    assert!(
        out.stdout
            .contains(&format!("Default principal: {principal}")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("krbtgt/EXAMPLE.COM@EXAMPLE.COM"));
}

/// Authenticates with tests/src/bin/pam-env inside `ns` (as root); returns its output:
/// `status=N` and the PAM environment.
fn pam_env(ns: &Namespace, service: &str, user: &str, password: &str) -> String {
    let out = ns
        .run_input(
            &[env!("CARGO_BIN_EXE_pam-env"), service, user],
            format!("{password}\n").as_bytes(),
        )
        .unwrap();
    assert!(out.success(), "pam-env: {out:?}");
    out.stdout
}

#[test]
fn krb5_auth_ccache_validation_access_filter_and_kpasswd() {
    let dir = tree();
    let slapd = Slapd::new(&dir).unwrap();
    // user2's account expired on 1970-01-02 (shadowExpire counts days).
    slapd
        .modify(&format!(
            "dn: {}\nchangetype: modify\nadd: objectClass\nobjectClass: shadowAccount\n-\n\
             add: shadowExpire\nshadowExpire: 1\n",
            dir.user_dn("user2")
        ))
        .unwrap();
    let (kdc, kadmind) = kdc();
    let ns = namespace();
    pam::setup_krb5(&ns, &kdc, Some(&kadmind), true).unwrap();
    let conf = krb5_conf(&slapd, &kdc, &kadmind)
        .domain("krb5_validate", "true")
        .domain("krb5_keytab", "/etc/krb5.keytab")
        .domain("access_provider", "ldap")
        .domain("ldap_access_order", "filter, expire")
        .domain("ldap_account_expire_policy", "shadow")
        .domain("ldap_access_filter", "(|(uid=user1)(uid=user2)(uid=user3))");
    let sssd = start(&ns, &conf);
    let e = |caller, user: &str, ops: &[&str], input: &str, want| {
        expect(&sssd, &ns, (caller, SERVICE), user, ops, input, want)
    };
    for caller in [ROOT, AS_USER1] {
        // The KDC password, not the LDAP one.
        e(
            caller,
            "user1",
            &["authenticate"],
            &format!("{}\n", krb5_password(1001)),
            code::SUCCESS,
        );
        assert_ccache(&sssd, &ns, 1001, "user1@EXAMPLE.COM");
        e(
            caller,
            "user1",
            &["authenticate"],
            &pw(1001),
            code::AUTH_ERR,
        );
        // nogecos is not matched by ldap_access_filter; user2 is, but its shadowExpire has
        // passed.
        unknown_users_access_and_session(&sssd, &ns, caller, code::ACCT_EXPIRED);
    }
    // pam_sss puts KRB5CCNAME into the PAM environment, except for sudo (the default
    // pam_response_filter drops it there).
    pam::install_service(&ns, "sudo", "").unwrap();
    let ccname = format!("KRB5CCNAME=FILE:{CCACHE_DIR}/krb5cc_1001");
    for (service, present) in [(SERVICE, true), ("sudo", false)] {
        let env = pam_env(&ns, service, "user1", &krb5_password(1001));
        assert!(
            env.starts_with("status=0\n"),
            "{service}: {env}\n{}",
            sssd.logs()
        );
        assert_eq!(
            env.lines().any(|l| l == ccname),
            present,
            "{service}: {env}"
        );
    }
    // kpasswd as the user: the new password works, the old fails.
    let old = format!("{}\n", krb5_password(1003));
    e(
        AS_USER3,
        "user3",
        &["chauthtok"],
        &format!("{old}NewKrb1003!x\nNewKrb1003!x\n"),
        code::SUCCESS,
    );
    for caller in [ROOT, AS_USER3] {
        e(
            caller,
            "user3",
            &["authenticate"],
            "NewKrb1003!x\n",
            code::SUCCESS,
        );
        e(caller, "user3", &["authenticate"], &old, code::AUTH_ERR);
    }
    assert_ccache(&sssd, &ns, 1003, "user3@EXAMPLE.COM");
    spare_krb5_child_ends_with_its_backend(&sssd, &ns);
}

/// The backend keeps one krb5_child started ahead of need; when the backend is killed the
/// spare exits by itself (its stdin closes), and the restarted backend serves krb5 logins.
fn spare_krb5_child_ends_with_its_backend(sssd: &Sssd<'_>, ns: &Namespace) {
    let ppid = |pid: u32| -> Option<u32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit_once(") ")?.1.split(' ').nth(1)?.parse().ok()
    };
    let backend = *ns
        .processes_named("sssd_be")
        .first()
        .expect("sssd_be running");
    let spare = ns
        .processes_named("krb5_child")
        .into_iter()
        .find(|&p| ppid(p) == Some(backend))
        .unwrap_or_else(|| panic!("no spare krb5_child under sssd_be\n{}", sssd.logs()));
    sssd_tests::proc::signal(backend, libc::SIGKILL);
    sssd_tests::proc::wait_until(
        "the spare krb5_child to exit",
        Duration::from_secs(10),
        || !sssd_tests::proc::alive(spare),
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", sssd.logs()));
    sssd_tests::proc::wait_until(
        "a krb5 login after the restart",
        Duration::from_secs(30),
        || {
            pamtester(
                ns,
                Caller::Root,
                SERVICE,
                "user1",
                &["authenticate"],
                &format!("{}\n", krb5_password(1001)),
            )
            .is_ok_and(|o| o.code == code::SUCCESS)
        },
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", sssd.logs()));
}

#[test]
fn offline_ldap_access_repeats_the_last_online_decision() {
    let mut slapd = Slapd::new(&tree()).unwrap();
    let ns = namespace();
    let conf = SssdConf::ldap_pam(&slapd, Schema::Rfc2307)
        .domain("access_provider", "ldap")
        .domain("ldap_access_filter", "(|(uid=user1)(uid=user3))");
    let sssd = start(&ns, &conf);
    let e = |user: &str, want| expect(&sssd, &ns, (ROOT, SERVICE), user, &["acct_mgmt"], "", want);
    e("user1", code::SUCCESS);
    e("user2", code::PERM_DENIED);
    // user3 is cached by a lookup but its access was never checked online.
    assert!(ns.run(&["getent", "passwd", "user3"]).unwrap().success());
    slapd.stop().unwrap();
    // Offline: user2 stays denied (everyone was let in before), user3 is denied.
    for _ in 0..2 {
        e("user1", code::SUCCESS);
        e("user2", code::PERM_DENIED);
        e("user3", code::PERM_DENIED);
    }
}

#[test]
fn offline_login_with_cached_credentials() {
    let mut slapd = Slapd::new(&tree()).unwrap();
    let ns = namespace();
    let conf = SssdConf::ldap_pam(&slapd, Schema::Rfc2307)
        .set("pam", "pam_verbosity", "2")
        .set("pam", "offline_failed_login_attempts", "3")
        .set("pam", "offline_failed_login_delay", "5")
        .domain("access_provider", "permit")
        .domain("cache_credentials", "true");
    let sssd = start(&ns, &conf);
    let e = |caller, user: &str, ops: &[&str], input: &str, want| {
        expect(&sssd, &ns, (caller, SERVICE), user, ops, input, want)
    };
    e(ROOT, "user1", &["authenticate"], &pw(1001), code::SUCCESS);
    e(AS_USER1, "user1", &["acct_mgmt"], "", code::SUCCESS);
    e(
        AS_USER3,
        "user3",
        &["authenticate"],
        &pw(1003),
        code::SUCCESS,
    );
    // The cached hash is not visible through NSS.
    let out = ns.run(&["getent", "passwd", "user1"]).unwrap();
    assert!(!out.stdout.contains("$6$"), "{out:?}");
    // user2 is known (cached by a lookup) but never logged in: no cached password.
    assert!(ns.run(&["getent", "passwd", "user2"]).unwrap().success());
    slapd.stop().unwrap();
    for caller in [ROOT, AS_USER1] {
        let ok = e(caller, "user1", &["authenticate"], &pw(1001), code::SUCCESS);
        assert!(ok.elapsed < Duration::from_secs(30), "{ok:?}");
        // pam_verbosity = 2: every offline login is announced.
        let said = format!("{}{}", ok.output.stdout, ok.output.stderr);
        assert!(
            said.contains("Authenticated with cached credentials"),
            "{said}"
        );
        e(
            caller,
            "user1",
            &["authenticate"],
            "wrong\n",
            code::AUTH_ERR,
        );
        // Never logged in online: no cached credentials, PERM_DENIED as SSSD answers.
        e(
            caller,
            "user2",
            &["authenticate"],
            &pw(1002),
            code::PERM_DENIED,
        );
    }
    // offline_failed_login_attempts = 3: after three wrong passwords even the right one is
    // refused for offline_failed_login_delay minutes.
    for _ in 0..3 {
        e(
            AS_USER3,
            "user3",
            &["authenticate"],
            "wrong\n",
            code::AUTH_ERR,
        );
    }
    e(
        AS_USER3,
        "user3",
        &["authenticate"],
        &pw(1003),
        code::PERM_DENIED,
    );
    e(ROOT, "user1", &["authenticate"], &pw(1001), code::SUCCESS);
    assert!(
        !sssd.logs().contains("Password1001"),
        "a password reached the logs"
    );
}

/// A 127.0.0.1 port where a "KDC" accepts (TCP) or receives (UDP) and never answers.
struct BlackHole {
    port: u16,
    _udp: UdpSocket,
    _tcp: TcpListener,
}

impl BlackHole {
    fn new() -> BlackHole {
        for _ in 0..10 {
            let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
            let port = udp.local_addr().unwrap().port();
            if let Ok(tcp) = TcpListener::bind(("127.0.0.1", port)) {
                // Connections queue in the backlog and are never read.
                return BlackHole {
                    port,
                    _udp: udp,
                    _tcp: tcp,
                };
            }
        }
        panic!("no free UDP+TCP port pair");
    }
}

#[test]
fn unreachable_kdc_is_authinfo_unavail_within_the_timeout() {
    let slapd = Slapd::new(&tree()).unwrap();
    let hole = BlackHole::new();
    let ns = namespace();
    ns.write_file(
        "/etc/krb5.conf",
        sssd_tests::kdc::krb5_conf(hole.port, Some(hole.port)).as_bytes(),
        0o644,
    )
    .unwrap();
    pam::prepare_ccache_dir(&ns).unwrap();
    let timeout = 4;
    let conf = SssdConf::ldap_pam(&slapd, Schema::Rfc2307)
        .domain("auth_provider", "krb5")
        .domain("krb5_server", &format!("127.0.0.1:{}", hole.port))
        .domain("krb5_realm", sssd_tests::kdc::REALM)
        .domain("krb5_ccachedir", CCACHE_DIR)
        .domain("krb5_ccname_template", "FILE:%d/krb5cc_%U")
        .domain("krb5_auth_timeout", &timeout.to_string())
        .domain("access_provider", "deny");
    let sssd = start(&ns, &conf);
    let krb5_children = || ns.processes_named("krb5_child");
    for caller in [ROOT, AS_USER1] {
        // After the first login a spare krb5_child waits for the next one: that spare does
        // this login and must be killed with it.
        let before = krb5_children();
        let out = expect(
            &sssd,
            &ns,
            (caller, SERVICE),
            "user1",
            &["authenticate"],
            &format!("{}\n", krb5_password(1001)),
            code::AUTHINFO_UNAVAIL,
        );
        eprintln!("unreachable KDC answered in {:?}", out.elapsed);
        assert!(
            out.elapsed < Duration::from_secs(timeout + 15),
            "took {:?}",
            out.elapsed
        );
        // The child that waited for the KDC was killed, not left behind; only the new
        // spare remains.
        sssd_tests::proc::wait_until("krb5_child to be gone", Duration::from_secs(10), || {
            let now = krb5_children();
            now.len() <= 1 && before.iter().all(|p| !now.contains(p))
        })
        .unwrap();
        // access_provider = deny.
        expect(
            &sssd,
            &ns,
            (caller, SERVICE),
            "user1",
            &["acct_mgmt"],
            "",
            code::PERM_DENIED,
        );
    }
}

/// The pam-auth-update profile install.sh puts in /usr/share/pam-configs: enabling it wires
/// pam_sss into Debian's common-* files (a login through them works), removing it unwires.
#[test]
fn pam_auth_update_wires_pam_sss_into_the_common_files() {
    let slapd = Slapd::new(&tree()).unwrap();
    let ns = namespace();
    let sssd = start(&ns, &SssdConf::ldap_pam(&slapd, Schema::Rfc2307));
    assert!(ns.exists("/usr/share/pam-configs/sss"));
    let common_auth =
        || String::from_utf8_lossy(&ns.read_file("/etc/pam.d/common-auth").unwrap()).into_owned();
    let out = ns
        .run(&["pam-auth-update", "--package", "--enable", "sss"])
        .unwrap();
    assert!(out.success(), "{out:?}");
    let auth = common_auth();
    assert!(auth.contains("pam_sss.so use_first_pass"), "{auth}");
    let account =
        String::from_utf8_lossy(&ns.read_file("/etc/pam.d/common-account").unwrap()).into_owned();
    assert!(account.contains("pam_sss.so"), "{account}");
    ns.write_pam_service(
        "sssd-tests-common",
        "@include common-auth\n@include common-account\n@include common-session\n",
    )
    .unwrap();
    let service = (ROOT, "sssd-tests-common");
    expect(
        &sssd,
        &ns,
        service,
        "user1",
        &["authenticate", "acct_mgmt", "open_session", "close_session"],
        &format!("{}\n", "Password1001"),
        code::SUCCESS,
    );
    expect(
        &sssd,
        &ns,
        service,
        "user1",
        &["authenticate"],
        "wrong\n",
        code::AUTH_ERR,
    );
    let out = ns
        .run(&["pam-auth-update", "--package", "--remove", "sss"])
        .unwrap();
    assert!(out.success(), "{out:?}");
    assert!(!common_auth().contains("pam_sss"), "{}", common_auth());
}
