//! Unit tests of the attribute-based access rules.

use super::*;
use crate::config::{Config, LdapAccessOptions};

const DAY: i64 = 86_400;
/// A Wednesday, 10:15 UTC (day 20000 since the epoch is 2024-10-04, a Friday; 20005 is a
/// Wednesday).
const NOW: i64 = 20_005 * DAY + 10 * 3600 + 15 * 60;

fn attrs() -> AccessAttrs {
    let c = Config::parse(
        "[sssd]\ndomains = D\n[domain/D]\nid_provider = ldap\n",
        "t.conf",
    )
    .expect("parses");
    LdapAccessOptions::from_config(&c, "domain/D")
        .expect("options")
        .attrs
}

fn snap(pairs: &[(&str, &str)]) -> Vec<AccessAttr> {
    let mut out: Vec<AccessAttr> = Vec::new();
    for (n, v) in pairs {
        match out.iter_mut().find(|(x, _)| x.eq_ignore_ascii_case(n)) {
            Some((_, vs)) => vs.push(v.as_bytes().to_vec()),
            None => out.push((n.to_ascii_lowercase(), vec![v.as_bytes().to_vec()])),
        }
    }
    out
}

fn messages(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .filter(|(t, _)| *t == response::SYSTEM_INFO)
        .map(|(_, d)| String::from_utf8_lossy(&d[..d.len() - 1]).into_owned())
        .collect()
}

fn warning(items: &[Item]) -> Option<u32> {
    items.iter().find_map(|(t, d)| {
        (*t == response::USER_INFO
            && d.len() == 8
            && d[..4] == user_info::EXPIRE_WARN.to_ne_bytes())
        .then(|| u32::from_ne_bytes([d[4], d[5], d[6], d[7]]))
    })
}

fn expire_with(policy: &str, pairs: &[(&str, &str)]) -> (Step, Vec<String>) {
    let s = snap(pairs);
    let mut items = Vec::new();
    let step = expire(Some(policy), &attrs(), Snapshot(&s), NOW, &mut items);
    (step, messages(&items))
}

#[test]
fn times_parse_as_sssd_reads_them() {
    assert_eq!(generalized_time("19700101000000Z"), Some(0));
    assert_eq!(generalized_time("20241004000000Z"), Some(20_000 * DAY));
    assert_eq!(generalized_time("20241004000000"), None);
    assert_eq!(generalized_time("20241004000000.5Z"), None);
    assert_eq!(generalized_time("000001010000Z"), None);
    assert_eq!(generalized_time("20241304000000Z"), None);
    assert_eq!(shadow_days(None), Ok(-1));
    assert_eq!(shadow_days(Some("")), Ok(-1));
    assert_eq!(shadow_days(Some("-1")), Ok(-1));
    assert!(shadow_days(Some("-2")).is_err());
    assert!(shadow_days(Some("1x")).is_err());
}

#[test]
fn shadow_expiry() {
    let today = (NOW / DAY).to_string();
    let past = (NOW / DAY - 1).to_string();
    let future = (NOW / DAY + 1).to_string();
    assert_eq!(expire_with("shadow", &[]).0, Step::Pass);
    assert_eq!(
        expire_with("shadow", &[("shadowExpire", &future)]).0,
        Step::Pass
    );
    assert_eq!(
        expire_with("shadow", &[("shadowExpire", "0")]).0,
        Step::Pass
    );
    assert_eq!(
        expire_with("shadow", &[("shadowExpire", "-1")]).0,
        Step::Pass
    );
    let (s, m) = expire_with("shadow", &[("shadowExpire", &past)]);
    assert_eq!(s, Step::Stop(status::ACCT_EXPIRED));
    assert_eq!(m, ["Account expired according to shadow attributes"]);
    assert_eq!(
        expire_with("shadow", &[("shadowExpire", &today)]).0,
        Step::Stop(status::ACCT_EXPIRED)
    );
    assert_eq!(
        expire_with("shadow", &[("shadowExpire", "soon")]).0,
        Step::Stop(status::SYSTEM_ERR)
    );
    let mut items = Vec::new();
    assert_eq!(
        expire(None, &attrs(), Snapshot(&[]), NOW, &mut items),
        Step::Stop(status::PERM_DENIED)
    );
}

#[test]
fn ad_rhds_ipa_expiry() {
    let (s, m) = expire_with("ad", &[("userAccountControl", "514")]);
    assert_eq!(s, Step::Stop(status::PERM_DENIED));
    assert_eq!(m, ["The user account is disabled on the AD server"]);
    assert_eq!(
        expire_with("ad", &[("userAccountControl", "512")]).0,
        Step::Pass
    );
    let nt = |unix: i64| ((unix + 11_644_473_600) * 10_000_000).to_string();
    let (s, m) = expire_with("ad", &[("accountExpires", &nt(NOW - 10))]);
    assert_eq!(s, Step::Stop(status::ACCT_EXPIRED));
    assert_eq!(m, ["The user account is expired on the AD server"]);
    assert_eq!(
        expire_with("ad", &[("accountExpires", &nt(NOW + 60))]).0,
        Step::Pass
    );
    assert_eq!(expire_with("ad", &[("accountExpires", "0")]).0, Step::Pass);
    assert_eq!(
        expire_with("ad", &[("accountExpires", "9223372036854775807")]).0,
        Step::Pass
    );
    for p in ["rhds", "389ds", "ipa"] {
        let (s, m) = expire_with(p, &[("nsAccountLock", "true")]);
        assert_eq!(s, Step::Stop(status::PERM_DENIED), "{p}");
        assert_eq!(m, ["The user account is locked on the server"]);
        assert_eq!(expire_with(p, &[("nsAccountLock", "FALSE")]).0, Step::Pass);
        assert_eq!(expire_with(p, &[("nsAccountLock", "yes")]).0, Step::Pass);
    }
    // ipa also applies the AD attributes; rhds does not.
    assert_eq!(
        expire_with("ipa", &[("userAccountControl", "2")]).0,
        Step::Stop(status::PERM_DENIED)
    );
    assert_eq!(
        expire_with("rhds", &[("userAccountControl", "2")]).0,
        Step::Pass
    );
}

#[test]
fn nds_expiry_and_time_map() {
    let (s, m) = expire_with("nds", &[("loginDisabled", "TRUE")]);
    assert_eq!(s, Step::Stop(status::PERM_DENIED));
    assert_eq!(m, ["The user account is disabled on the server"]);
    let (s, m) = expire_with("nds", &[("loginExpirationTime", "20000101000000Z")]);
    assert_eq!(s, Step::Stop(status::PERM_DENIED));
    assert_eq!(m, ["The user account is expired"]);
    assert_eq!(
        expire_with("nds", &[("loginExpirationTime", "garbage")]).0,
        Step::Stop(status::PERM_DENIED)
    );
    assert_eq!(
        expire_with("nds", &[("loginExpirationTime", "29990101000000Z")]).0,
        Step::Pass
    );
    // Wednesday 10:15 → half hour 3*48 + 20 = 164 → byte 20, bit 4.
    let mut map = vec![0u8; 42];
    assert!(!nds_time_allowed(&map, NOW));
    map[20] = 1 << 4;
    assert!(nds_time_allowed(&map, NOW));
    assert!(!nds_time_allowed(&map, NOW + 1800));
    assert!(!nds_time_allowed(&map[..41], NOW));
    // Bit 0 of a byte never allows (SSSD's reading): Wednesday 08:00 is index 160.
    map[20] = 0xff;
    assert!(!nds_time_allowed(&map, 20_005 * DAY + 8 * 3600));
}

fn pwd(
    mode: PwdExpireMode,
    policy: &str,
    pairs: &[(&str, &str)],
    warn: Option<i64>,
) -> (Step, Option<u32>) {
    let s = snap(pairs);
    let mut items = Vec::new();
    let step = pwd_expire(mode, policy, &attrs(), Snapshot(&s), NOW, warn, &mut items);
    (step, warning(&items))
}

#[test]
fn shadow_password_policy() {
    use PwdExpireMode::*;
    let today = NOW / DAY;
    let changed = |ago: i64| (today - ago).to_string();
    // Changed 10 days ago, max 30, warn 7: fine, no warning.
    let ok = [
        ("shadowLastChange", changed(10)),
        ("shadowMax", "30".into()),
        ("shadowWarning", "7".into()),
    ];
    let ok: Vec<(&str, &str)> = ok.iter().map(|(a, b)| (*a, b.as_str())).collect();
    assert_eq!(pwd(Reject, "shadow", &ok, None), (Step::Pass, None));
    // Changed 27 days ago: 3 days left, warned in seconds.
    let soon = [
        ("shadowLastChange", changed(27)),
        ("shadowMax", "30".into()),
        ("shadowWarning", "7".into()),
    ];
    let soon: Vec<(&str, &str)> = soon.iter().map(|(a, b)| (*a, b.as_str())).collect();
    assert_eq!(
        pwd(Warn, "shadow", &soon, None),
        (Step::Pass, Some(3 * 86_400))
    );
    // Expires today: the seconds until midnight.
    let today_pw = [
        ("shadowLastChange", changed(30)),
        ("shadowMax", "30".into()),
        ("shadowWarning", "7".into()),
    ];
    let today_pw: Vec<(&str, &str)> = today_pw.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let (s, w) = pwd(Warn, "shadow", &today_pw, None);
    assert_eq!(
        (s, w),
        (
            Step::Pass,
            Some(u32::try_from((today + 1) * DAY - NOW).unwrap_or(0))
        )
    );
    // Expired: each mode's status.
    let old = [
        ("shadowLastChange", changed(40)),
        ("shadowMax", "30".into()),
    ];
    let old: Vec<(&str, &str)> = old.iter().map(|(a, b)| (*a, b.as_str())).collect();
    assert_eq!(
        pwd(Reject, "shadow", &old, None).0,
        Step::Stop(status::PERM_DENIED)
    );
    assert_eq!(
        pwd(Warn, "shadow", &old, None).0,
        Step::Stop(status::SUCCESS)
    );
    assert_eq!(
        pwd(Renew, "shadow", &old, None).0,
        Step::Stop(status::NEW_AUTHTOK_REQD)
    );
    // shadowLastChange 0: must change now.
    assert_eq!(
        pwd(Renew, "shadow", &[("shadowLastChange", "0")], None).0,
        Step::Stop(status::NEW_AUTHTOK_REQD)
    );
    // Inactive too long, or shadowExpire passed: the account has expired.
    let inactive = [
        ("shadowLastChange", changed(40)),
        ("shadowMax", "30".into()),
        ("shadowInactive", "5".into()),
    ];
    let inactive: Vec<(&str, &str)> = inactive.iter().map(|(a, b)| (*a, b.as_str())).collect();
    assert_eq!(
        pwd(Warn, "shadow", &inactive, None).0,
        Step::Stop(status::ACCT_EXPIRED)
    );
    // No shadowLastChange, or a malformed value: a system error, as SSSD.
    assert_eq!(
        pwd(Reject, "shadow", &[], None).0,
        Step::Stop(status::SYSTEM_ERR)
    );
    assert_eq!(
        pwd(Reject, "shadow", &[("shadowLastChange", "x")], None).0,
        Step::Stop(status::SYSTEM_ERR)
    );
    // ldap_pwd_policy = none: nothing to check.
    assert_eq!(pwd(Reject, "none", &[], None), (Step::Pass, None));
}

#[test]
fn kerberos_password_policy() {
    use PwdExpireMode::*;
    let t = |s: i64| {
        let days = s.div_euclid(DAY);
        let _ = days;
        // Format NOW + s as GeneralizedTime.
        let unix = NOW + s;
        let (d, secs) = (unix.div_euclid(DAY), unix.rem_euclid(DAY));
        let (y, m, dd) = civil(d);
        format!(
            "{y:04}{m:02}{dd:02}{:02}{:02}{:02}Z",
            secs / 3600,
            secs % 3600 / 60,
            secs % 60
        )
    };
    let last = ("krbLastPwdChange", "20200101000000Z");
    let in_2d = t(2 * DAY);
    let in_20d = t(20 * DAY);
    let ago = t(-60);
    assert_eq!(
        pwd(
            Warn,
            "mit_kerberos",
            &[last, ("krbPasswordExpiration", &in_2d)],
            None
        ),
        (Step::Pass, Some(2 * 86_400))
    );
    assert_eq!(
        pwd(
            Warn,
            "mit_kerberos",
            &[last, ("krbPasswordExpiration", &in_20d)],
            None
        ),
        (Step::Pass, None),
        "beyond the 7-day default"
    );
    assert_eq!(
        pwd(
            Warn,
            "mit_kerberos",
            &[last, ("krbPasswordExpiration", &in_20d)],
            Some(0)
        )
        .1,
        Some(20 * 86_400),
        "0 always warns"
    );
    assert_eq!(
        pwd(
            Renew,
            "mit_kerberos",
            &[last, ("krbPasswordExpiration", &ago)],
            None
        )
        .0,
        Step::Stop(status::NEW_AUTHTOK_REQD)
    );
    assert_eq!(
        pwd(Reject, "mit_kerberos", &[last], None),
        (Step::Pass, None)
    );
    assert_eq!(
        pwd(
            Reject,
            "mit_kerberos",
            &[("krbPasswordExpiration", &ago)],
            None
        )
        .0,
        Step::Stop(status::SYSTEM_ERR)
    );
}

fn civil(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[test]
fn service_host_rhost_lists() {
    let a = attrs();
    let s = snap(&[
        ("authorizedService", "sshd"),
        ("authorizedService", "!login"),
    ]);
    let mut items = Vec::new();
    assert_eq!(
        authorized_service(&a.authorized_service, Snapshot(&s), "SSHD", &mut items),
        Step::Pass
    );
    assert_eq!(
        authorized_service(&a.authorized_service, Snapshot(&s), "login", &mut items),
        Step::Stop(status::PERM_DENIED)
    );
    assert_eq!(
        authorized_service(&a.authorized_service, Snapshot(&s), "su", &mut items),
        Step::Stop(status::PERM_DENIED)
    );
    assert_eq!(
        authorized_service(&a.authorized_service, Snapshot(&[]), "su", &mut items),
        Step::Stop(status::PERM_DENIED)
    );
    assert_eq!(
        messages(&items),
        [
            "Access denied by authorized service attribute",
            "Authorized service attribute has no matching rule, access denied",
            "Authorized service attribute missing, access denied"
        ]
    );
    let star = snap(&[("authorizedService", "*"), ("authorizedService", "!su")]);
    assert_eq!(
        authorized_service(&a.authorized_service, Snapshot(&star), "x", &mut items),
        Step::Pass
    );
    assert_eq!(
        authorized_service(&a.authorized_service, Snapshot(&star), "su", &mut items),
        Step::Stop(status::PERM_DENIED),
        "a denial wins over *"
    );

    let h = snap(&[("host", "box.example.test")]);
    assert_eq!(
        host("host", Snapshot(&h), "box", Some("box.example.test")),
        Step::Pass
    );
    assert_eq!(
        host("host", Snapshot(&h), "other", Some("other.example.test")),
        Step::Stop(status::PERM_DENIED)
    );
    assert_eq!(
        host("host", Snapshot(&[]), "box", None),
        Step::Stop(status::PERM_DENIED)
    );
    let deny = snap(&[("host", "*"), ("host", "!box")]);
    assert_eq!(
        host("host", Snapshot(&deny), "box", Some("box.example.test")),
        Step::Stop(status::PERM_DENIED)
    );
    assert_eq!(host("host", Snapshot(&deny), "elsewhere", None), Step::Pass);

    let r = snap(&[("rhost", "10.0.0.1"), ("rhost", "!bad.example")]);
    assert_eq!(rhost("rhost", Snapshot(&r), ""), Step::Pass, "local access");
    assert_eq!(rhost("rhost", Snapshot(&[]), ""), Step::Pass);
    assert_eq!(rhost("rhost", Snapshot(&r), "10.0.0.1"), Step::Pass);
    assert_eq!(
        rhost("rhost", Snapshot(&r), "BAD.example"),
        Step::Stop(status::PERM_DENIED)
    );
    assert_eq!(
        rhost("rhost", Snapshot(&r), "10.0.0.2"),
        Step::Stop(status::PERM_DENIED)
    );
    assert_eq!(
        rhost("rhost", Snapshot(&[]), "10.0.0.2"),
        Step::Stop(status::PERM_DENIED)
    );
}

#[test]
fn ppolicy_lock_times() {
    let past = "20000101000000Z";
    let future = "29990101000000Z";
    assert!(ppolicy_locked(PERMANENTLY_LOCKED, None, true, NOW));
    assert!(ppolicy_locked(PERMANENTLY_LOCKED, None, false, NOW));
    assert!(
        !ppolicy_locked(past, None, true, NOW),
        "lockout honours only the permanent lock"
    );
    assert!(ppolicy_locked(past, None, false, NOW));
    assert!(!ppolicy_locked(future, None, false, NOW));
    assert!(
        !ppolicy_locked(past, Some("60"), false, NOW),
        "the duration has passed"
    );
    assert!(
        ppolicy_locked(past, Some("0"), false, NOW),
        "0: locked until reset"
    );
    assert!(ppolicy_locked(past, Some("x"), false, NOW));
    assert!(ppolicy_locked("garbage", None, false, NOW));
}
