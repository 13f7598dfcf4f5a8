//! The krb5 provider's options end to end: a private slapd (identity), a private MIT KDC,
//! our daemon in a mount namespace, logins with pamtester through `pam_sss.so`, tickets
//! read back with `klist`.
//!
//! - `krb5_store_password_if_offline`: an offline login (KDC down, cached password) gets its
//!   TGT once the KDC is back, without a new login;
//! - `krb5_renewable_lifetime` + `krb5_renew_interval`: a 20 s renewable TGT is renewed by
//!   the backend before it expires;
//! - `krb5_ccname_template` with `DIR:` and `KEYRING:persistent:%U`, `%P` and `%%`;
//! - `krb5_use_enterprise_principal`, `ldap_force_upper_case_realm`;
//! - a principal the KDC does not know: the PAM status of Debian's sssd 2.8, side by side.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use std::time::Duration;

use sssd_tests::interop::debian_root;
use sssd_tests::kdc::{Kdc, REALM};
use sssd_tests::ldif::{Directory, Schema, User};
use sssd_tests::namespace::Namespace;
use sssd_tests::pam::{self, CCACHE_DIR, Caller, SERVICE, code, krb5_password, pamtester};
use sssd_tests::proc::wait_until;
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{Sssd, SssdConf};
use sssd_tests::stage;

/// user1 and user2 (principals `userN`), `ent1` (an enterprise principal `ent1\@EXAMPLE.COM`
/// besides a plain `ent1` with another password), `lowrealm` (cn = its principal with a
/// lower-case realm), `keyuser` (KEYRING ccache) and `nokrb` (no principal in the KDC).
fn tree() -> Directory {
    let mut d = Directory::new(Schema::Rfc2307);
    d.users.push(User::new("user1", 1001, 2001));
    d.users.push(User::new("user2", 1002, 2002));
    d.users.push(User::new("ent1", 30011, 30011));
    d.users
        .push(User::new("lowrealm", 30012, 30012).with_cn("lowrealm@example.com"));
    d.users.push(User::new("keyuser", 30010, 30010));
    d.users.push(User::new("nokrb", 30013, 30013));
    d
}

fn kdc() -> Kdc {
    let kdc = Kdc::new().unwrap();
    for (name, uid) in [
        ("user1", 1001),
        ("user2", 1002),
        ("lowrealm", 30012),
        ("keyuser", 30010),
    ] {
        kdc.add_principal(name, &krb5_password(uid)).unwrap();
    }
    // Two principals a plain and an enterprise name of "ent1@EXAMPLE.COM" reach.
    kdc.add_principal("ent1", "PlainPassword1").unwrap();
    kdc.add_principal("ent1\\@EXAMPLE.COM", &krb5_password(30011))
        .unwrap();
    kdc
}

fn namespace(root: &std::path::Path, kdc: &Kdc) -> Namespace {
    let ns = Namespace::new(Some(root)).expect("create the mount namespace");
    pam::setup_krb5(&ns, kdc, None, false).unwrap();
    ns
}

fn base_conf(slapd: &Slapd, kdc: &Kdc) -> SssdConf {
    SssdConf::ldap_pam(slapd, Schema::Rfc2307)
        .domain("debug_level", "6")
        .domain("access_provider", "permit")
        .domain("auth_provider", "krb5")
        .domain("krb5_server", &kdc.server())
        .domain("krb5_realm", REALM)
        .domain("krb5_ccachedir", CCACHE_DIR)
        .domain("krb5_ccname_template", "FILE:%d/krb5cc_%U")
}

fn start<'ns>(ns: &'ns Namespace, conf: &SssdConf) -> Sssd<'ns> {
    let argv = ["/usr/sbin/sssd", "-i", "-d", "6", "--logger=files"];
    let sssd = Sssd::start_with_argv(ns, conf, &argv)
        .unwrap_or_else(|e| panic!("sssd did not start: {e}"));
    pam::wait_for_socket(ns).unwrap_or_else(|e| panic!("{e}\n{}", sssd.logs()));
    pam::install_service(ns, SERVICE, "").unwrap();
    sssd
}

/// pamtester `authenticate` as root with `password`; asserts the status.
#[track_caller]
fn login(sssd: &Sssd<'_>, ns: &Namespace, user: &str, password: &str, want: i32) {
    let out = pamtester(
        ns,
        Caller::Root,
        SERVICE,
        user,
        &["authenticate"],
        &format!("{password}\n"),
    )
    .unwrap();
    assert_eq!(
        out.code,
        want,
        "{user}: {:?}\n--- logs ---\n{}",
        out.output,
        sssd.logs()
    );
}

/// `klist -c ccname` inside `ns` as `uid` (None: root); its stdout when it succeeded.
fn klist(ns: &Namespace, uid: Option<(u32, u32)>, ccname: &str) -> Option<String> {
    let mut argv: Vec<String> = Vec::new();
    if let Some((u, g)) = uid {
        argv.extend([
            "setpriv".into(),
            format!("--reuid={u}"),
            format!("--regid={g}"),
            "--clear-groups".into(),
        ]);
    }
    argv.extend(["klist".into(), "-c".into(), ccname.into()]);
    let out = ns.run(&argv).unwrap();
    out.success().then_some(out.stdout)
}

/// The krbtgt line of a klist listing (start and end times) and its "renew until" line.
fn tgt_lines(listing: &str) -> String {
    let mut lines = listing.lines();
    let mut out = String::new();
    while let Some(l) = lines.next() {
        if l.contains("krbtgt/") {
            out.push_str(l);
            if let Some(next) = lines.next() {
                out.push_str(next);
            }
        }
    }
    out
}

#[test]
fn offline_login_gets_its_ticket_when_the_kdc_is_back() {
    let slapd = Slapd::new(&tree()).unwrap();
    let mut kdc = kdc();
    let ns = namespace(stage::shared_stage().unwrap(), &kdc);
    let conf = base_conf(&slapd, &kdc)
        .domain("cache_credentials", "true")
        .domain("krb5_store_password_if_offline", "true")
        .domain("offline_timeout", "2");
    let sssd = start(&ns, &conf);
    let cc = format!("{CCACHE_DIR}/krb5cc_1001");
    login(&sssd, &ns, "user1", &krb5_password(1001), code::SUCCESS);
    assert!(klist(&ns, None, &format!("FILE:{cc}")).is_some());
    std::fs::remove_file(ns.host_path(&cc)).unwrap();
    // user1 stays "logged in" (SSSD only uses the stored password for such users).
    let _session = ns
        .spawn(&[
            "setpriv",
            "--reuid=1001",
            "--regid=2001",
            "--clear-groups",
            "sleep",
            "120",
        ])
        .unwrap();
    // user2 never logged in online: no cached password, nothing stored.
    kdc.stop();
    login(&sssd, &ns, "user1", &krb5_password(1001), code::SUCCESS);
    login(&sssd, &ns, "user1", "wrong", code::AUTH_ERR);
    assert!(!ns.exists(&cc), "a ccache while the KDC is down");
    kdc.start().unwrap();
    wait_until(
        "the TGT after the KDC came back",
        Duration::from_secs(30),
        || ns.exists(&cc),
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", sssd.logs()));
    let listing = klist(&ns, None, &format!("FILE:{cc}"))
        .unwrap_or_else(|| panic!("klist {cc}\n{}", sssd.logs()));
    assert!(
        listing.contains(&format!("Default principal: user1@{REALM}")),
        "{listing}"
    );
    assert!(listing.contains(&format!("krbtgt/{REALM}@{REALM}")));
    let logs = sssd.logs();
    assert!(
        !logs.contains(&krb5_password(1001)),
        "a password in the logs"
    );
}

#[test]
fn renewable_ticket_is_renewed_before_it_expires() {
    let slapd = Slapd::new(&tree()).unwrap();
    let kdc = kdc();
    let ns = namespace(stage::shared_stage().unwrap(), &kdc);
    let conf = base_conf(&slapd, &kdc)
        .domain("krb5_lifetime", "20s")
        .domain("krb5_renewable_lifetime", "1h")
        .domain("krb5_renew_interval", "2s");
    let sssd = start(&ns, &conf);
    let cc = format!("FILE:{CCACHE_DIR}/krb5cc_1002");
    login(&sssd, &ns, "user2", &krb5_password(1002), code::SUCCESS);
    let first = tgt_lines(&klist(&ns, None, &cc).unwrap());
    assert!(first.contains("renew until"), "not renewable: {first}");
    // Half of 20 s: renewed after about 10 s, checked every 2 s; it would expire at 20 s.
    wait_until("the TGT to be renewed", Duration::from_secs(17), || {
        klist(&ns, None, &cc).is_some_and(|l| tgt_lines(&l) != first)
    })
    .unwrap_or_else(|e| panic!("{e}: still {first}\n{}", sssd.logs()));
    let renewed = tgt_lines(&klist(&ns, None, &cc).unwrap());
    assert!(renewed.contains("renew until"), "{renewed}");
}

#[test]
fn dir_and_keyring_ccaches() {
    let slapd = Slapd::new(&tree()).unwrap();
    let kdc = kdc();
    let root = stage::shared_stage().unwrap();

    // DIR: a collection per user, with %P (the client's pid) and %% in its name.
    let ns = namespace(root, &kdc);
    let conf = base_conf(&slapd, &kdc).domain("krb5_ccname_template", "DIR:%d/cc_%u_%U_100%%_p%P");
    let sssd = start(&ns, &conf);
    login(&sssd, &ns, "user1", &krb5_password(1001), code::SUCCESS);
    let dirs: Vec<String> = std::fs::read_dir(ns.host_path(CCACHE_DIR))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("cc_user1_1001_100%_p"))
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}\n{}", sssd.logs());
    let pid = &dirs[0]["cc_user1_1001_100%_p".len()..];
    assert!(pid.parse::<u32>().is_ok_and(|p| p > 1), "%P gave {pid:?}");
    let dir = format!("{CCACHE_DIR}/{}", dirs[0]);
    assert!(std::fs::metadata(ns.host_path(&dir)).unwrap().is_dir());
    let listing = klist(&ns, Some((1001, 2001)), &format!("DIR:{dir}"))
        .unwrap_or_else(|| panic!("klist DIR:{dir}\n{}", sssd.logs()));
    assert!(
        listing.contains(&format!("Default principal: user1@{REALM}")),
        "{listing}"
    );
    drop(sssd);

    // KEYRING: the user's persistent keyring (kernel keys; emptied again below).
    let ns = namespace(root, &kdc);
    let conf = base_conf(&slapd, &kdc).domain("krb5_ccname_template", "KEYRING:persistent:%U");
    let sssd = start(&ns, &conf);
    login(&sssd, &ns, "keyuser", &krb5_password(30010), code::SUCCESS);
    let as_user = Some((30010, 30010));
    let listing = klist(&ns, as_user, "KEYRING:persistent:30010");
    // Leave no key behind, whatever the outcome.
    let _ = ns.run(&[
        "setpriv",
        "--reuid=30010",
        "--regid=30010",
        "--clear-groups",
        "kdestroy",
        "-A",
        "-c",
        "KEYRING:persistent:30010",
    ]);
    let listing = listing.unwrap_or_else(|| panic!("klist KEYRING\n{}", sssd.logs()));
    assert!(
        listing.contains(&format!("Default principal: keyuser@{REALM}")),
        "{listing}"
    );
    assert!(listing.contains("Ticket cache: KEYRING:persistent:30010"));
}

#[test]
fn enterprise_principal_and_upper_case_realm() {
    let slapd = Slapd::new(&tree()).unwrap();
    let kdc = kdc();
    let root = stage::shared_stage().unwrap();

    // ent1@EXAMPLE.COM parsed as an enterprise name reaches `ent1\@EXAMPLE.COM`, whose
    // password differs from the plain `ent1`'s (a plain parse would reach `ent1`).
    let ns = namespace(root, &kdc);
    let conf = base_conf(&slapd, &kdc)
        .domain("krb5_use_enterprise_principal", "true")
        .domain("krb5_canonicalize", "true");
    let sssd = start(&ns, &conf);
    login(&sssd, &ns, "ent1", "PlainPassword1", code::AUTH_ERR);
    login(&sssd, &ns, "ent1", &krb5_password(30011), code::SUCCESS);
    let listing = klist(&ns, None, &format!("FILE:{CCACHE_DIR}/krb5cc_30011")).unwrap();
    assert!(
        listing.contains(&format!("Default principal: ent1\\@{REALM}@{REALM}")),
        "{listing}"
    );
    drop(sssd);

    // The principal comes from cn (`lowrealm@example.com`); the realm is upper-cased.
    let ns = namespace(root, &kdc);
    let conf = base_conf(&slapd, &kdc)
        .domain("ldap_user_principal", "cn")
        .domain("ldap_force_upper_case_realm", "true");
    let sssd = start(&ns, &conf);
    login(&sssd, &ns, "lowrealm", &krb5_password(30012), code::SUCCESS);
    let listing = klist(&ns, None, &format!("FILE:{CCACHE_DIR}/krb5cc_30012")).unwrap();
    assert!(
        listing.contains(&format!("Default principal: lowrealm@{REALM}")),
        "{listing}"
    );
}

/// `nokrb` is known to LDAP, not to the KDC: the PAM status of each daemon.
fn unknown_principal_status(root: &std::path::Path, slapd: &Slapd, kdc: &Kdc) -> i32 {
    let ns = namespace(root, kdc);
    let sssd = start(&ns, &base_conf(slapd, kdc));
    let out = pamtester(
        &ns,
        Caller::Root,
        SERVICE,
        "nokrb",
        &["authenticate"],
        "x\n",
    )
    .unwrap();
    drop(sssd);
    out.code
}

#[test]
fn unknown_principal_gives_the_status_of_debian_sssd() {
    let slapd = Slapd::new(&tree()).unwrap();
    let kdc = kdc();
    let ours = unknown_principal_status(stage::shared_stage().unwrap(), &slapd, &kdc);
    let debian = debian_root().expect("unpack Debian's sssd 2.8");
    let theirs = unknown_principal_status(&debian, &slapd, &kdc);
    assert_eq!(ours, theirs, "ours vs Debian's sssd 2.8");
    assert_eq!(ours, code::SYSTEM_ERR);
}
