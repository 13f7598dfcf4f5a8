//! `ad_gpo_access_control` against a Samba AD DC serving sysvol: a GPO linked to the domain
//! grants the interactive and remote interactive logon rights to one group and denies them
//! to one of its members; pam_sss logins through `login` (interactive), `sshd` (remote
//! interactive), an unmapped service (`ad_gpo_default_right = deny`) and `sudo` (permit)
//! give the same PAM codes with our daemon as with Debian's sssd 2.8, enforcing, permissive,
//! and offline on the cached policy once the DC is gone. A second host in an OU that
//! blocks inheritance gets its OU's GPO and an enforced domain link only.
//!
//! One DC (with its file server) for the binary. Needs root, samba and winbind
//! (scripts/deps.sh) and the staged product.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use std::path::Path;

use sssd_tests::namespace::Namespace;
use sssd_tests::pam::{self, Caller};
use sssd_tests::samba::{DNS_DOMAIN, SambaDc};
use sssd_tests::sssd::Sssd;

const CLIENT: &str = "client1";
/// The second joined host, in an OU blocking inheritance.
const CLIENT2: &str = "client2";
const PASSWORD: &str = "Secret123!";
/// The PAM services of the scenarios: their logon right in SSSD's default maps.
const SERVICES: &[&str] = &["login", "sshd", "sssd-tests", "sudo"];
const USERS: &[&str] = &["gpallowed", "gpdenied", "gpother"];

/// The SID of `kind` (`user` or `group`) `name`.
fn sid(dc: &SambaDc, kind: &str, name: &str) -> String {
    let out = dc
        .samba_tool(&[kind, "show", name, "--attributes=objectSid"])
        .unwrap();
    out.stdout
        .lines()
        .find_map(|l| l.strip_prefix("objectSid: "))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| panic!("no objectSid for {name}: {out:?}"))
}

/// Creates GPO `name` linked to container `link` (`--enforce` when `enforced`) with the
/// Security Settings extension and `rights` as its `[Privilege Rights]` (written into
/// sysvol on disk, version `version`).
fn create_gpo(
    dc: &SambaDc,
    name: &str,
    link: &str,
    enforced: bool,
    rights: &str,
    version: u32,
) -> String {
    let admin = format!("Administrator%{}", sssd_tests::samba::ADMIN_PASSWORD);
    let uri = format!("ldap://{}", sssd_tests::samba::DC_FQDN);
    let out = dc
        .samba_tool(&["gpo", "create", name, "-H", &uri, "-U", &admin])
        .unwrap();
    let text = out.stdout.clone();
    let guid = text
        .split_whitespace()
        .find(|w| w.starts_with('{') && w.ends_with('}'))
        .unwrap_or_else(|| panic!("no GUID in {text:?}"))
        .to_string();
    let base = sssd_tests::samba::BASE_DN;
    let mut setlink = vec!["gpo", "setlink", link, &guid, "-H", &uri, "-U", &admin];
    if enforced {
        setlink.push("--enforce");
    }
    dc.samba_tool(&setlink).unwrap();
    let gpo_dn = format!("CN={guid},CN=Policies,CN=System,{base}");
    dc.ldap_modify(&format!(
        "dn: {gpo_dn}\nchangetype: modify\nreplace: gPCMachineExtensionNames\n\
         gPCMachineExtensionNames: [{{827D319E-6EAC-11D2-A4EA-00C04F79F83A}}{{803E14A0-B4FB-11D0-A0D0-00A0C90F574B}}]\n\
         -\nreplace: versionNumber\nversionNumber: {version}\n"
    ))
    .unwrap();
    let dir = dc.sysvol().join(DNS_DOMAIN).join("Policies").join(&guid);
    let secedit = dir.join("Machine/Microsoft/Windows NT/SecEdit");
    std::fs::create_dir_all(&secedit).unwrap();
    let inf = format!(
        "[Unicode]\r\nUnicode=yes\r\n[Version]\r\nsignature=\"$CHICAGO$\"\r\nRevision=1\r\n\
         [Privilege Rights]\r\n{rights}"
    );
    let mut bytes = vec![0xff, 0xfe];
    for u in inf.encode_utf16() {
        bytes.extend_from_slice(&u.to_le_bytes());
    }
    std::fs::write(secedit.join("GptTmpl.inf"), bytes).unwrap();
    std::fs::write(
        dir.join("GPT.INI"),
        format!("[General]\r\nVersion={version}\r\n"),
    )
    .unwrap();
    guid
}

/// A joined client on `root`, with SSSD's GPO cache directory (Debian's package creates it;
/// its gpo_child does not).
fn client(dc: &SambaDc, keytab: &Path, root: &Path) -> Namespace {
    let ns = sssd_tests::samba::client::joined_host(dc, keytab, root).unwrap();
    let out = ns.run(&["mkdir", "-p", "/var/lib/sss/gpo_cache"]).unwrap();
    assert!(out.success(), "{out:?}");
    ns
}

fn conf(mode: &str) -> sssd_tests::sssd::SssdConf {
    conf_of(CLIENT, mode)
}

/// The sssd.conf of joined host `host` with `ad_gpo_access_control = mode`.
fn conf_of(host: &str, mode: &str) -> sssd_tests::sssd::SssdConf {
    sssd_tests::samba::client::realm_join_conf(
        host,
        "0x0070",
        &[
            ("ad_gpo_access_control", mode),
            ("krb5_ccachedir", pam::CCACHE_DIR),
            ("krb5_ccname_template", "FILE:%d/krb5cc_%U"),
        ],
    )
}

fn ready(ns: &Namespace) {
    pam::wait_for_socket(ns).unwrap();
    for s in SERVICES {
        pam::install_service(ns, s, "").unwrap();
    }
    pam::prepare_ccache_dir(ns).unwrap();
}

/// `authenticate acct_mgmt` of `user` through `service`.
fn login(ns: &Namespace, service: &str, user: &str) -> i32 {
    let out = pam::pamtester(
        ns,
        Caller::Root,
        service,
        user,
        &["authenticate", "acct_mgmt"],
        &format!("{PASSWORD}\n"),
    )
    .unwrap();
    out.code
}

/// Every user through every service.
fn matrix(ns: &Namespace, label: &str) -> Vec<(String, i32)> {
    let mut v = Vec::new();
    for s in SERVICES {
        for u in USERS {
            v.push((format!("{label} {s} {u}"), login(ns, s, u)));
        }
    }
    v
}

/// Permissive mode on `root`'s daemon (ours or Debian's), in a namespace of its own: the
/// users the policy denies are let in.
fn permissive(dc: &SambaDc, keytab: &Path, root: &Path) -> Vec<(String, i32)> {
    let ns = client(dc, keytab, root);
    let _sssd = Sssd::start(&ns, &conf("permissive")).unwrap();
    ready(&ns);
    vec![
        (
            "permissive login gpdenied".into(),
            login(&ns, "login", "gpdenied"),
        ),
        (
            "permissive sshd gpother".into(),
            login(&ns, "sshd", "gpother"),
        ),
    ]
}

#[test]
fn gpo_logon_rights_match_sssd_2_8() {
    let mut dc = SambaDc::with_file_server().expect("start the Samba AD DC with sysvol");
    let dir = tempfile::Builder::new()
        .prefix("sssd-tests-ad-gpo.")
        .tempdir()
        .unwrap();
    let keytab = dir.path().join("krb5.keytab");
    dc.join(CLIENT, &keytab).expect("join the client");
    dc.add_group("gplogon", 32000).unwrap();
    for (i, u) in USERS.iter().enumerate() {
        dc.add_user(u, PASSWORD, 32001 + i as u32, 32000).unwrap();
    }
    dc.add_member("gplogon", "gpallowed").unwrap();
    dc.add_member("gplogon", "gpdenied").unwrap();
    let group = sid(&dc, "group", "gplogon");
    let denied = sid(&dc, "user", "gpdenied");
    let base = sssd_tests::samba::BASE_DN;
    create_gpo(
        &dc,
        "sssd-logon-rights",
        base,
        false,
        &format!(
            "SeInteractiveLogonRight = *{group}\r\nSeDenyInteractiveLogonRight = *{denied}\r\n\
             SeRemoteInteractiveLogonRight = *S-1-5-32-544,*{group}\r\n\
             SeDenyRemoteInteractiveLogonRight = *{denied}\r\n"
        ),
        3,
    );

    // A second host in OU=Linux, which blocks inheritance: the domain's GPO above does not
    // apply there, its own OU's GPO and an enforced domain link do.
    let ou = format!("OU=Linux,{base}");
    dc.samba_tool(&["ou", "create", &ou]).unwrap();
    let keytab2 = dir.path().join("krb5-2.keytab");
    dc.join_in(CLIENT2, &keytab2, Some("OU=Linux"))
        .expect("join the second client");
    let admin = format!("Administrator%{}", sssd_tests::samba::ADMIN_PASSWORD);
    let uri = format!("ldap://{}", sssd_tests::samba::DC_FQDN);
    dc.samba_tool(&[
        "gpo",
        "setinheritance",
        &ou,
        "block",
        "-H",
        &uri,
        "-U",
        &admin,
    ])
    .unwrap();
    let other = sid(&dc, "user", "gpother");
    create_gpo(
        &dc,
        "sssd-ou-rights",
        &ou,
        false,
        &format!("SeInteractiveLogonRight = *{other}\r\n"),
        1,
    );
    // Enforced links come last, so on both hosts this GPO's remote interactive deny list
    // replaces the domain GPO's (gpdenied may use sshd again, as with SSSD).
    create_gpo(
        &dc,
        "sssd-enforced-rights",
        base,
        true,
        &format!("SeDenyRemoteInteractiveLogonRight = *{other}\r\n"),
        1,
    );

    let ours = sssd_tests::stage::shared_stage().expect("stage the product");
    let debian = sssd_tests::interop::debian_root().expect("unpack Debian's sssd 2.8");
    let mut mine = permissive(&dc, &keytab, ours);
    let mut theirs = permissive(&dc, &keytab, &debian);
    let ns_o = client(&dc, &keytab, ours);
    let ns_d = client(&dc, &keytab, &debian);
    let sssd_o = Sssd::start(&ns_o, &conf("enforcing")).unwrap();
    ready(&ns_o);
    mine.extend(matrix(&ns_o, "enforcing"));
    let sssd_d = Sssd::start(&ns_d, &conf("enforcing")).unwrap();
    ready(&ns_d);
    theirs.extend(matrix(&ns_d, "enforcing"));
    for (root, v) in [(ours, &mut mine), (debian.as_path(), &mut theirs)] {
        let ns = client(&dc, &keytab2, root);
        let _sssd = Sssd::start(&ns, &conf_of(CLIENT2, "enforcing")).unwrap();
        ready(&ns);
        for s in ["login", "sshd"] {
            for u in USERS {
                v.push((format!("OU host {s} {u}"), login(&ns, s, u)));
            }
        }
    }
    // ad_gpo_implicit_deny (no allow list for the remote interactive right on that host:
    // nobody) and a service added to a map (+sssd-tests: remote interactive).
    for (root, v) in [(ours, &mut mine), (debian.as_path(), &mut theirs)] {
        let ns = client(&dc, &keytab2, root);
        let section = format!("domain/{DNS_DOMAIN}");
        let conf = conf_of(CLIENT2, "enforcing")
            .set(&section, "ad_gpo_implicit_deny", "True")
            .set(&section, "ad_gpo_map_remote_interactive", "+sssd-tests");
        let _sssd = Sssd::start(&ns, &conf).unwrap();
        ready(&ns);
        for s in ["login", "sssd-tests"] {
            for u in USERS {
                v.push((format!("implicit deny {s} {u}"), login(&ns, s, u)));
            }
        }
    }
    // The DC gone: the cached policy and cached passwords decide.
    dc.stop();
    for u in ["gpallowed", "gpdenied"] {
        mine.push((format!("offline login {u}"), login(&ns_o, "login", u)));
        theirs.push((format!("offline login {u}"), login(&ns_d, "login", u)));
    }
    for (a, b) in mine.iter().zip(&theirs) {
        eprintln!("{:36} ours {:3} sssd28 {:3}", a.0, a.1, b.1);
    }
    if mine != theirs {
        eprintln!("--- ours ---\n{}", sssd_o.logs());
        eprintln!("--- sssd 2.8 ---\n{}", sssd_d.logs());
    }
    let code = |v: &[(String, i32)], what: &str| v.iter().find(|r| r.0 == what).map(|r| r.1);
    assert_eq!(
        code(&theirs, "enforcing login gpallowed"),
        Some(0),
        "{theirs:?}"
    );
    assert_eq!(
        code(&theirs, "enforcing login gpdenied"),
        Some(6),
        "{theirs:?}"
    );
    drop(sssd_d);
    assert_eq!(mine, theirs);
}
