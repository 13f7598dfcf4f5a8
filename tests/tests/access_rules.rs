//! `access_provider = ldap`: every `ldap_access_order` rule of SSSD 2.8, end to end and side
//! by side with Debian's sssd 2.8 on the same data.
//!
//! One private slapd with the password-policy overlay (`ppolicy.so`, policy entry
//! `cn=ppolicy,ou=policies,<base>` with `pwdLockout: TRUE`) holds users covering each rule
//! (allowed, denied, locked, expired, password expiring soon, password to renew). One
//! configuration with a domain per rule (the same server, `ldap_access_order` = that rule)
//! is run by our daemon and by Debian's, each with its own `pam_sss.so`; pamtester through
//! the real libpam runs `acct_mgmt` (and, for the password-policy users, `authenticate`
//! first) for each user of each rule. Both must give the same PAM status and the same
//! messages; the expected status is asserted too, so the comparison means something.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use sssd_tests::interop::debian_root;
use sssd_tests::ldif::{self, Directory, Schema, User};
use sssd_tests::namespace::Namespace;
use sssd_tests::pam::{self, Caller, SERVICE, code, pamtester_items};
use sssd_tests::slapd::{Slapd, SlapdConfig, SlapdOptions, ppolicy_config};
use sssd_tests::sssd::{Sssd, SssdConf};
use sssd_tests::stage;

/// A second PAM service, not listed in any `authorizedService`.
const OTHER_SERVICE: &str = "sssd-tests-other";

/// The remote host the `rhost` cases claim to come from.
const RHOST: &str = "192.0.2.1";

const DAY: i64 = 86_400;

fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// `YYYYMMDDHHMMSSZ` of `t` (seconds since the epoch, UTC).
fn gtime(t: i64) -> String {
    let (days, secs) = (t.div_euclid(DAY), t.rem_euclid(DAY));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// The users and the attributes each gets besides the posixAccount ones.
fn users(hostname: &str) -> Vec<(&'static str, Vec<(&'static str, String)>)> {
    let t = now();
    let today = t / DAY;
    let s = |v: i64| v.to_string();
    let nt = |unix: i64| ((unix + 11_644_473_600) * 10_000_000).to_string();
    vec![
        ("plain", vec![]),
        // expire, ldap_account_expire_policy = shadow
        ("shexpired", vec![("shadowExpire", s(today - 10))]),
        ("shcurrent", vec![("shadowExpire", s(today + 10))]),
        // ad / ipa
        ("addisabled", vec![("userAccountControl", s(514))]),
        ("adexpired", vec![("accountExpires", nt(t - DAY))]),
        (
            "adcurrent",
            vec![
                ("userAccountControl", s(512)),
                ("accountExpires", nt(t + 30 * DAY)),
            ],
        ),
        // rhds / 389ds / ipa
        ("nslocked", vec![("nsAccountLock", "TRUE".into())]),
        ("nsunlocked", vec![("nsAccountLock", "FALSE".into())]),
        // nds
        ("ndsdisabled", vec![("loginDisabled", "TRUE".into())]),
        ("ndsexpired", vec![("loginExpirationTime", gtime(t - DAY))]),
        (
            "ndscurrent",
            vec![("loginExpirationTime", gtime(t + 30 * DAY))],
        ),
        ("ndsnever", vec![("loginAllowedTimeMap", "\0".repeat(42))]),
        // lockout / ppolicy
        (
            "pplocked",
            vec![("pwdAccountLockedTime", "000001010000Z".into())],
        ),
        ("ppfailed", vec![("pwdAccountLockedTime", gtime(t - 600))]),
        ("ppfuture", vec![("pwdAccountLockedTime", gtime(t + DAY))]),
        // pwd_expire_policy_*, ldap_pwd_policy = shadow
        (
            "pwvalid",
            vec![
                ("shadowLastChange", s(today - 1)),
                ("shadowMax", s(90)),
                ("shadowWarning", s(7)),
            ],
        ),
        (
            "pwsoon",
            vec![
                ("shadowLastChange", s(today - 87)),
                ("shadowMax", s(90)),
                ("shadowWarning", s(7)),
            ],
        ),
        (
            "pwexpired",
            vec![("shadowLastChange", s(today - 100)), ("shadowMax", s(90))],
        ),
        ("pwmustchange", vec![("shadowLastChange", s(0))]),
        // ldap_pwd_policy = mit_kerberos
        (
            "krbsoon",
            vec![
                ("krbLastPwdChange", gtime(t - 80 * DAY)),
                ("krbPasswordExpiration", gtime(t + 2 * DAY + 3600)),
            ],
        ),
        (
            "krbexpired",
            vec![
                ("krbLastPwdChange", gtime(t - 100 * DAY)),
                ("krbPasswordExpiration", gtime(t - DAY)),
            ],
        ),
        // authorized_service
        ("svcallowed", vec![("authorizedService", SERVICE.into())]),
        (
            "svcdenied",
            vec![
                ("authorizedService", "*".into()),
                ("authorizedService", format!("!{SERVICE}")),
            ],
        ),
        ("svcany", vec![("authorizedService", "*".into())]),
        // host
        ("hostallowed", vec![("host", hostname.to_owned())]),
        (
            "hostdenied",
            vec![("host", "*".into()), ("host", format!("!{hostname}"))],
        ),
        ("hostany", vec![("host", "*".into())]),
        ("hostother", vec![("host", "elsewhere.example.test".into())]),
        // rhost
        ("rhostallowed", vec![("rhost", RHOST.into())]),
        (
            "rhostdenied",
            vec![("rhost", "*".into()), ("rhost", format!("!{RHOST}"))],
        ),
    ]
}

/// One domain per rule: (domain, options, [(user, service, rhost, operations, expected)]).
type Case = (
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static [&'static str],
    i32,
);

/// One domain of the test: its rule name, its extra options, and the cases run against it.
type Rule = (&'static str, Vec<(&'static str, &'static str)>, Vec<Case>);

fn rules() -> Vec<Rule> {
    use code::{ACCT_EXPIRED, NEW_AUTHTOK_REQD, PERM_DENIED, SUCCESS, SYSTEM_ERR};
    const ACCT: &[&str] = &["acct_mgmt"];
    const AUTH_ACCT: &[&str] = &["authenticate", "acct_mgmt"];
    let s = SERVICE;
    let o = OTHER_SERVICE;
    vec![
        (
            "filter",
            vec![
                ("ldap_access_order", "filter"),
                ("ldap_access_filter", "(uid=sh*)"),
            ],
            vec![
                ("shcurrent", s, None, ACCT, SUCCESS),
                ("plain", s, None, ACCT, PERM_DENIED),
            ],
        ),
        (
            "shadow",
            vec![
                ("ldap_access_order", "expire"),
                ("ldap_account_expire_policy", "shadow"),
            ],
            vec![
                ("shexpired", s, None, ACCT, ACCT_EXPIRED),
                ("shcurrent", s, None, ACCT, SUCCESS),
                ("plain", s, None, ACCT, SUCCESS),
            ],
        ),
        (
            "ad",
            vec![
                ("ldap_access_order", "expire"),
                ("ldap_account_expire_policy", "ad"),
            ],
            vec![
                ("addisabled", s, None, ACCT, PERM_DENIED),
                ("adexpired", s, None, ACCT, ACCT_EXPIRED),
                ("adcurrent", s, None, ACCT, SUCCESS),
                ("plain", s, None, ACCT, SUCCESS),
            ],
        ),
        (
            "rhds",
            vec![
                ("ldap_access_order", "expire"),
                ("ldap_account_expire_policy", "rhds"),
            ],
            vec![
                ("nslocked", s, None, ACCT, PERM_DENIED),
                ("nsunlocked", s, None, ACCT, SUCCESS),
                ("addisabled", s, None, ACCT, SUCCESS),
            ],
        ),
        (
            "ipa",
            vec![
                ("ldap_access_order", "expire"),
                ("ldap_account_expire_policy", "ipa"),
            ],
            vec![
                ("nslocked", s, None, ACCT, PERM_DENIED),
                ("addisabled", s, None, ACCT, PERM_DENIED),
                ("adexpired", s, None, ACCT, ACCT_EXPIRED),
                ("plain", s, None, ACCT, SUCCESS),
            ],
        ),
        (
            "nds",
            vec![
                ("ldap_access_order", "expire"),
                ("ldap_account_expire_policy", "nds"),
            ],
            vec![
                ("ndsdisabled", s, None, ACCT, PERM_DENIED),
                ("ndsexpired", s, None, ACCT, PERM_DENIED),
                ("ndscurrent", s, None, ACCT, SUCCESS),
                ("ndsnever", s, None, ACCT, PERM_DENIED),
                ("plain", s, None, ACCT, SUCCESS),
            ],
        ),
        (
            "lockout",
            vec![("ldap_access_order", "lockout")],
            vec![
                ("pplocked", s, None, ACCT, PERM_DENIED),
                ("ppfailed", s, None, ACCT, SUCCESS),
                ("plain", s, None, ACCT, SUCCESS),
            ],
        ),
        (
            "ppolicy",
            vec![("ldap_access_order", "ppolicy")],
            vec![
                ("pplocked", s, None, ACCT, PERM_DENIED),
                ("ppfailed", s, None, ACCT, PERM_DENIED),
                ("ppfuture", s, None, ACCT, SUCCESS),
                ("plain", s, None, ACCT, SUCCESS),
            ],
        ),
        (
            "reject",
            vec![
                ("ldap_access_order", "pwd_expire_policy_reject"),
                ("ldap_pwd_policy", "shadow"),
            ],
            vec![
                ("pwvalid", s, None, AUTH_ACCT, SUCCESS),
                ("pwsoon", s, None, ACCT, SUCCESS),
                ("pwexpired", s, None, ACCT, PERM_DENIED),
                ("pwmustchange", s, None, ACCT, PERM_DENIED),
                ("plain", s, None, ACCT, SYSTEM_ERR),
            ],
        ),
        (
            "warn",
            vec![
                ("ldap_access_order", "pwd_expire_policy_warn"),
                ("ldap_pwd_policy", "shadow"),
            ],
            vec![
                ("pwsoon", s, None, AUTH_ACCT, SUCCESS),
                ("pwsoon", s, None, &["authenticate"], SUCCESS),
                ("pwexpired", s, None, ACCT, SUCCESS),
                ("pwvalid", s, None, ACCT, SUCCESS),
            ],
        ),
        (
            "renew",
            vec![
                ("ldap_access_order", "pwd_expire_policy_renew"),
                ("ldap_pwd_policy", "shadow"),
            ],
            vec![
                ("pwexpired", s, None, ACCT, NEW_AUTHTOK_REQD),
                ("pwmustchange", s, None, ACCT, NEW_AUTHTOK_REQD),
                ("pwsoon", s, None, ACCT, SUCCESS),
            ],
        ),
        (
            "krb",
            vec![
                ("ldap_access_order", "pwd_expire_policy_renew"),
                ("ldap_pwd_policy", "mit_kerberos"),
            ],
            vec![
                ("krbsoon", s, None, ACCT, SUCCESS),
                ("krbexpired", s, None, ACCT, NEW_AUTHTOK_REQD),
                ("plain", s, None, ACCT, SYSTEM_ERR),
            ],
        ),
        (
            "service",
            vec![("ldap_access_order", "authorized_service")],
            vec![
                ("svcallowed", s, None, ACCT, SUCCESS),
                ("svcallowed", o, None, ACCT, PERM_DENIED),
                ("svcdenied", s, None, ACCT, PERM_DENIED),
                ("svcdenied", o, None, ACCT, SUCCESS),
                ("svcany", s, None, ACCT, SUCCESS),
                ("plain", s, None, ACCT, PERM_DENIED),
            ],
        ),
        (
            "host",
            vec![("ldap_access_order", "host")],
            vec![
                ("hostallowed", s, None, ACCT, SUCCESS),
                ("hostdenied", s, None, ACCT, PERM_DENIED),
                ("hostany", s, None, ACCT, SUCCESS),
                ("hostother", s, None, ACCT, PERM_DENIED),
                ("plain", s, None, ACCT, PERM_DENIED),
            ],
        ),
        (
            "rhost",
            vec![("ldap_access_order", "rhost")],
            vec![
                ("rhostallowed", s, Some(RHOST), ACCT, SUCCESS),
                ("rhostdenied", s, Some(RHOST), ACCT, PERM_DENIED),
                ("rhostdenied", s, None, ACCT, SUCCESS),
                ("plain", s, Some(RHOST), ACCT, PERM_DENIED),
                ("plain", s, None, ACCT, SUCCESS),
            ],
        ),
    ]
}

/// The directory: one posixAccount per user (uids from 3001), the ppolicy entry.
fn directory(names: &[&str]) -> Directory {
    let mut d = Directory::new(Schema::Rfc2307);
    for (i, n) in names.iter().enumerate() {
        let uid = 3001 + u32::try_from(i).unwrap();
        d.users.push(User::new(n, uid, uid));
    }
    d
}

/// LDIF setting each user's extra attributes (binary values base64-encoded).
fn extra_ldif(d: &Directory, users: &[(&str, Vec<(&str, String)>)]) -> String {
    let mut out = String::new();
    for (name, attrs) in users {
        if attrs.is_empty() {
            continue;
        }
        let ppolicy_only = attrs.iter().all(|(a, _)| *a == "pwdAccountLockedTime");
        let shadow = attrs.iter().any(|(a, _)| a.starts_with("shadow"));
        out.push_str(&format!("dn: {}\nchangetype: modify\n", d.user_dn(name)));
        if !ppolicy_only {
            let class = if shadow {
                "shadowAccount"
            } else {
                "rsssdAccessTest"
            };
            out.push_str(&format!("add: objectClass\nobjectClass: {class}\n-\n"));
        }
        let mut seen: Vec<&str> = Vec::new();
        for (a, _) in attrs {
            if seen.contains(a) {
                continue;
            }
            seen.push(a);
            out.push_str(&format!("add: {a}\n"));
            for (_, v) in attrs.iter().filter(|(x, _)| x == a) {
                if ldif::is_safe_string(v) {
                    out.push_str(&format!("{a}: {v}\n"));
                } else {
                    out.push_str(&format!("{a}:: {}\n", ldif::base64(v.as_bytes())));
                }
            }
            out.push_str("-\n");
        }
        out.push('\n');
    }
    out
}

/// The configuration: one domain per rule, all on `slapd`, names qualified.
fn conf(slapd: &Slapd) -> SssdConf {
    let rules = rules();
    let names: Vec<&str> = rules.iter().map(|(d, _, _)| *d).collect();
    let mut c = SssdConf::new()
        .set("sssd", "services", "nss, pam")
        .set("sssd", "domains", &names.join(", "))
        .set("nss", "debug_level", "0x0070")
        .set("pam", "debug_level", "0x0070");
    for (dom, opts, _) in &rules {
        let sec = format!("domain/{dom}");
        for (k, v) in [
            ("debug_level", "0x0070"),
            ("id_provider", "ldap"),
            ("auth_provider", "ldap"),
            ("access_provider", "ldap"),
            ("ldap_uri", &slapd.uri()),
            ("ldap_search_base", slapd.base()),
            ("ldap_schema", "rfc2307"),
            ("ldap_id_use_start_tls", "false"),
            ("ldap_auth_disable_tls_never_use_in_production", "true"),
            ("use_fully_qualified_names", "true"),
        ] {
            c = c.set(&sec, k, v);
        }
        for (k, v) in opts {
            c = c.set(&sec, k, v);
        }
    }
    c
}

/// What one pamtester run gave: the status and the messages pam_sss showed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Answer {
    code: i32,
    messages: Vec<String>,
}

/// The messages in pamtester's output (prompts and its own lines removed).
fn messages(out: &sssd_tests::proc::Output) -> Vec<String> {
    out.stdout
        .lines()
        .chain(out.stderr.lines())
        .map(|l| l.trim_start_matches("Password: ").trim().to_owned())
        .filter(|l| !l.is_empty() && !l.starts_with("pamtester:"))
        .collect()
}

fn case_key(dom: &str, user: &str, service: &str, rhost: Option<&str>, ops: &[&str]) -> String {
    format!(
        "{user}@{dom} {service}{} {}",
        rhost.map(|r| format!(" rhost={r}")).unwrap_or_default(),
        ops.join("+")
    )
}

/// Runs every case against the daemon of `root`; returns the answers by case.
fn answers(
    root: &Path,
    slapd: &Slapd,
    password_of: &BTreeMap<String, String>,
) -> (BTreeMap<String, Answer>, Namespace) {
    let ns = Namespace::new(Some(root)).unwrap();
    let sssd = Sssd::start(&ns, &conf(slapd)).unwrap_or_else(|e| panic!("sssd did not start: {e}"));
    pam::wait_for_socket(&ns).unwrap_or_else(|e| panic!("{e}\n{}", sssd.logs()));
    pam::install_service(&ns, SERVICE, "").unwrap();
    pam::install_service(&ns, OTHER_SERVICE, "").unwrap();
    let mut out = BTreeMap::new();
    for (dom, _, cases) in rules() {
        for (user, service, rhost, ops, _) in cases {
            let items: Vec<(&str, &str)> = rhost.map(|r| ("rhost", r)).into_iter().collect();
            let input = format!("{}\n", password_of[user]);
            let r = pamtester_items(
                &ns,
                Caller::Root,
                service,
                &format!("{user}@{dom}"),
                &items,
                ops,
                &input,
            )
            .unwrap();
            out.insert(
                case_key(dom, user, service, rhost, ops),
                Answer {
                    code: r.code,
                    messages: messages(&r.output),
                },
            );
        }
    }
    drop(sssd);
    (out, ns)
}

#[test]
fn every_access_rule_matches_sssd_2_8() {
    let started = std::time::Instant::now();
    let ours = stage::shared_stage().expect("stage our build");
    let debian = debian_root().expect("unpack Debian's sssd 2.8");
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_owned();
    let users = users(&hostname);
    let names: Vec<&str> = users.iter().map(|(n, _)| *n).collect();
    let dir = directory(&names);
    let slapd = Slapd::with_config(&dir, SlapdOptions::default(), |_| {
        let (global, database) = ppolicy_config(&dir.base);
        Ok(SlapdConfig {
            global,
            database,
            ..SlapdConfig::default()
        })
    })
    .unwrap();
    slapd
        .add(&format!(
            "dn: ou=policies,{b}\nobjectClass: organizationalUnit\nou: policies\n\n\
             dn: cn=ppolicy,ou=policies,{b}\nobjectClass: device\nobjectClass: pwdPolicy\n\
             cn: ppolicy\npwdAttribute: userPassword\npwdLockout: TRUE\npwdMaxFailure: 3\n\
             pwdLockoutDuration: 300\n",
            b = dir.base
        ))
        .unwrap();
    slapd.modify(&extra_ldif(&dir, &users)).unwrap();
    let password_of: BTreeMap<String, String> = dir
        .users
        .iter()
        .map(|u| (u.name.clone(), u.password.clone()))
        .collect();

    let (debian_answers, _dns) = answers(&debian, &slapd, &password_of);
    let (our_answers, ns) = answers(ours, &slapd, &password_of);

    // The table for the report: case, ours, Debian's.
    let mut table = String::from("case | ours | sssd 2.8\n");
    for (k, d) in &debian_answers {
        let o = &our_answers[k];
        table.push_str(&format!(
            "{k} | {} {:?} | {} {:?}\n",
            o.code, o.messages, d.code, d.messages
        ));
    }
    eprintln!("{table}");

    let mut expected_failures = Vec::new();
    for (dom, _, cases) in rules() {
        for (user, service, rhost, ops, want) in cases {
            let k = case_key(dom, user, service, rhost, ops);
            if debian_answers[&k].code != want {
                expected_failures.push(format!(
                    "sssd 2.8: {k}: {:?}, expected {want}",
                    debian_answers[&k]
                ));
            }
            if our_answers[&k].code != want {
                expected_failures
                    .push(format!("ours: {k}: {:?}, expected {want}", our_answers[&k]));
            }
        }
    }
    assert!(
        expected_failures.is_empty(),
        "{expected_failures:#?}\n{table}"
    );
    assert_eq!(our_answers, debian_answers, "ours vs sssd 2.8\n{table}");
    // The warning SSSD shows for a password expiring in 3 days is there.
    let soon = &our_answers[&case_key(
        "warn",
        "pwsoon",
        SERVICE,
        None,
        &["authenticate", "acct_mgmt"],
    )];
    assert!(
        soon.messages
            .iter()
            .any(|m| m.contains("expire") && m.contains('3')),
        "{soon:?}"
    );
    drop(ns);
    eprintln!("access rules: {:?}", started.elapsed());
}
