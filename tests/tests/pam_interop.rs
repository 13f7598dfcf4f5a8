//! PAM interop with Debian's sssd 2.8: Debian's `pam_sss.so` against our daemon, and our
//! module against Debian's daemon, give the same pamtester results as each same-implementation
//! pair, for `auth_provider = ldap` and `krb5`, as root and as an ordinary caller.
//!
//! Debian's packages are downloaded and unpacked by scripts/debian-sssd.sh, never installed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use std::path::Path;

use sssd_tests::interop::{debian_root, pam_module_of, with_pam_module};
use sssd_tests::kdc::Kdc;
use sssd_tests::ldif::{self, Schema};
use sssd_tests::namespace::Namespace;
use sssd_tests::pam::{self, CCACHE_DIR, Caller, SERVICE, code, krb5_password, pamtester};
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{Sssd, SssdConf};
use sssd_tests::stage;

const CALLERS: [Caller; 2] = [Caller::Root, Caller::User(1001, 2001)];

/// (user, operations, stdin) with `{pw}` standing for user1's right password.
const CASES: &[(&str, &[&str], &str)] = &[
    ("user1", &["authenticate"], "{pw}\n"),
    ("user1", &["authenticate"], "wrong\n"),
    ("user1", &["authenticate"], "\n"),
    ("nosuchuser", &["authenticate"], "x\n"),
    ("root", &["authenticate"], "x\n"),
    ("user1", &["acct_mgmt"], ""),
    ("nogecos", &["acct_mgmt"], ""),
    ("nosuchuser", &["acct_mgmt"], ""),
    ("user1", &["open_session", "close_session"], ""),
];

#[derive(Clone, Copy, Debug)]
enum Auth {
    Ldap,
    Krb5,
}

/// Runs every case in a namespace whose /usr is overlaid by `root`; returns one
/// "caller case: status" line per run.
fn answers(root: &Path, slapd: &Slapd, kdc: &Kdc, auth: Auth) -> Vec<String> {
    let ns = Namespace::new(Some(root)).unwrap();
    let mut conf = SssdConf::ldap_pam(slapd, Schema::Rfc2307)
        .domain("access_provider", "simple")
        .domain("simple_deny_users", "nogecos");
    let password = match auth {
        Auth::Ldap => "Password1001".to_owned(),
        Auth::Krb5 => {
            pam::setup_krb5(&ns, kdc, None, false).unwrap();
            conf = conf
                .domain("auth_provider", "krb5")
                .domain("krb5_server", &kdc.server())
                .domain("krb5_realm", sssd_tests::kdc::REALM)
                .domain("krb5_ccachedir", CCACHE_DIR)
                .domain("krb5_ccname_template", "FILE:%d/krb5cc_%U");
            krb5_password(1001)
        }
    };
    let sssd = Sssd::start(&ns, &conf).unwrap_or_else(|e| panic!("sssd did not start: {e}"));
    pam::wait_for_socket(&ns).unwrap_or_else(|e| panic!("{e}\n{}", sssd.logs()));
    pam::install_service(&ns, SERVICE, "").unwrap();
    let mut out = Vec::new();
    for caller in CALLERS {
        for (user, ops, input) in CASES {
            let input = input.replace("{pw}", &password);
            let r = pamtester(&ns, caller, SERVICE, user, ops, &input).unwrap();
            out.push(format!("{caller:?} {user} {ops:?}: {}", r.code));
        }
    }
    drop(sssd);
    out
}

#[test]
fn pam_modules_and_daemons_are_interchangeable() {
    let ours = stage::shared_stage().expect("stage our build");
    let debian = debian_root().expect("unpack Debian's sssd 2.8");
    let debian_module = pam_module_of(&debian).expect("Debian's pam_sss.so");
    let our_module = pam_module_of(ours).expect("our staged pam_sss.so");
    let our_daemon_debian_module = with_pam_module(ours, &debian_module).unwrap();
    let debian_daemon_our_module = with_pam_module(&debian, &our_module).unwrap();

    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(3)).unwrap();
    let kdc = Kdc::new().unwrap();
    kdc.add_principal("user1", &krb5_password(1001)).unwrap();
    kdc.add_principal("nogecos", &krb5_password(20005)).unwrap();

    for auth in [Auth::Ldap, Auth::Krb5] {
        let debian_debian = answers(&debian, &slapd, &kdc, auth);
        // The reference pair gives the expected answers, so the comparison means something.
        assert!(
            debian_debian[0].ends_with(&format!(": {}", code::SUCCESS)),
            "{auth:?}: {debian_debian:#?}"
        );
        assert!(
            debian_debian[1].ends_with(&format!(": {}", code::AUTH_ERR)),
            "{auth:?}: {debian_debian:#?}"
        );
        let ours_ours = answers(ours, &slapd, &kdc, auth);
        let ours_debian = answers(our_daemon_debian_module.path(), &slapd, &kdc, auth);
        let debian_ours = answers(debian_daemon_our_module.path(), &slapd, &kdc, auth);
        assert_eq!(
            ours_debian, ours_ours,
            "{auth:?}: Debian's module vs ours on our daemon"
        );
        assert_eq!(
            debian_ours, debian_debian,
            "{auth:?}: our module vs Debian's on Debian's daemon"
        );
        assert_eq!(
            ours_ours, debian_debian,
            "{auth:?}: our pair vs Debian's pair"
        );
    }
}
