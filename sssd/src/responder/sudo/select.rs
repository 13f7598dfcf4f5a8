//! Which cached rules a user gets, in which order, as SSSD 2.8's sudo responder selects
//! them: rules naming the user, `#uid`, one of its groups (`%group`, `%#gid`) or `ALL`,
//! then rules naming a netgroup (`+ng`, left to sudo's `innetgr`), sorted by `sudoOrder`
//! (highest first; lowest first with `sudo_inverse_order`), optionally filtered by
//! `sudoNotBefore`/`sudoNotAfter` (`sudo_timed`).

use crate::cache::SudoRuleRecord;
use sss_proto::sudo::{SudoAttr, SudoRule};

/// `sudoOrder` of a rule (0 when absent or not a number, as SSSD).
pub fn order(r: &SudoRuleRecord) -> u32 {
    r.values("sudoOrder")
        .first()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Whether a rule is for the user with these `sudoUser` values.
pub fn names_user(r: &SudoRuleRecord, values: &[String]) -> bool {
    r.values("sudoUser").iter().any(|u| values.contains(u))
}

/// Whether a rule names a netgroup (and is not already selected for the user).
pub fn names_netgroup(r: &SudoRuleRecord) -> bool {
    r.values("sudoUser").iter().any(|u| u.starts_with('+'))
}

/// Seconds since the epoch of an LDAP generalized time (`YYYYMMDDHH[MM[SS]][.f][Z|±HHMM]`).
pub fn generalized_time(s: &str) -> Option<i64> {
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let d = s.get(..digits)?;
    if !matches!(d.len(), 10 | 12 | 14) {
        return None;
    }
    let num = |a: usize, b: usize| -> Option<i64> { d.get(a..b)?.parse().ok() };
    let (y, mo, day, h) = (num(0, 4)?, num(4, 6)?, num(6, 8)?, num(8, 10)?);
    let mi = if d.len() >= 12 { num(10, 12)? } else { 0 };
    let sec = if d.len() >= 14 { num(12, 14)? } else { 0 };
    let mut rest = s.get(digits..)?;
    if let Some(r) = rest.strip_prefix(['.', ',']) {
        rest = r.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match rest {
        "Z" => 0,
        r if r.len() == 5 && (r.starts_with('+') || r.starts_with('-')) => {
            let hh: i64 = r.get(1..3)?.parse().ok()?;
            let mm: i64 = r.get(3..5)?.parse().ok()?;
            let o = hh * 3600 + mm * 60;
            if r.starts_with('-') { -o } else { o }
        }
        _ => return None,
    };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&day) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let yy = if mo <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some(days * 86400 + h * 3600 + mi * 60 + sec - offset)
}

/// Whether `r` is valid at `now` (the earliest `sudoNotBefore` and the latest
/// `sudoNotAfter` count; a rule with an unreadable time is dropped, as by SSSD).
pub fn in_time(r: &SudoRuleRecord, now: i64) -> bool {
    let parse_all = |attr: &str| -> Option<Vec<i64>> {
        r.values(attr).iter().map(|v| generalized_time(v)).collect()
    };
    let (Some(nb), Some(na)) = (parse_all("sudoNotBefore"), parse_all("sudoNotAfter")) else {
        return false;
    };
    let not_before = nb.into_iter().min();
    let not_after = na.into_iter().max();
    not_before.is_none_or(|t| now >= t) && not_after.is_none_or(|t| now <= t)
}

/// Sorts by `sudoOrder` (stable: equal orders keep cache order).
pub fn sort(rules: &mut [SudoRuleRecord], lower_wins: bool) {
    if lower_wins {
        rules.sort_by_key(order);
    } else {
        rules.sort_by_key(|r| std::cmp::Reverse(order(r)));
    }
}

/// The wire form of a cached rule, with `extra_user` (`#uid`) added to its `sudoUser`.
pub fn to_wire(r: &SudoRuleRecord, extra_user: Option<&str>) -> SudoRule {
    let mut attrs: Vec<SudoAttr> = r
        .attrs
        .iter()
        .map(|(n, vs)| SudoAttr {
            name: n.as_bytes().to_vec(),
            values: vs.iter().map(|v| v.as_bytes().to_vec()).collect(),
        })
        .collect();
    if let Some(u) = extra_user {
        match attrs.iter_mut().find(|a| a.name == b"sudoUser") {
            Some(a) => a.values.push(u.as_bytes().to_vec()),
            None => attrs.push(SudoAttr {
                name: b"sudoUser".to_vec(),
                values: vec![u.as_bytes().to_vec()],
            }),
        }
    }
    SudoRule { attrs }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str, pairs: &[(&str, &[&str])]) -> SudoRuleRecord {
        SudoRuleRecord {
            name: name.into(),
            attrs: pairs
                .iter()
                .map(|(n, vs)| (n.to_string(), vs.iter().map(|v| v.to_string()).collect()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn generalized_times() {
        assert_eq!(generalized_time("19700101000000Z"), Some(0));
        assert_eq!(generalized_time("20000101000000Z"), Some(946684800));
        assert_eq!(generalized_time("2000010100Z"), Some(946684800));
        assert_eq!(generalized_time("20000101010000+0100"), Some(946684800));
        assert_eq!(generalized_time("20000101000000.5Z"), Some(946684800));
        assert_eq!(generalized_time("2000"), None);
        assert_eq!(generalized_time("20001301000000Z"), None);
        assert_eq!(generalized_time("20000101000000"), None);
    }

    #[test]
    fn time_window() {
        let r = rule(
            "r",
            &[("sudoNotAfter", &["20000101000000Z", "20100101000000Z"])],
        );
        assert!(in_time(&r, 946684800));
        assert!(in_time(&r, 1262304000));
        assert!(!in_time(&r, 1262304001));
        let b = rule(
            "b",
            &[("sudoNotBefore", &["20100101000000Z", "20000101000000Z"])],
        );
        assert!(!in_time(&b, 946684799));
        assert!(in_time(&b, 946684800));
        assert!(!in_time(&rule("x", &[("sudoNotAfter", &["garbage"])]), 0));
        assert!(in_time(&rule("y", &[]), 0));
    }

    #[test]
    fn order_and_wire() {
        let mut v = vec![
            rule("a", &[("sudoOrder", &["1"])]),
            rule("b", &[("sudoOrder", &["3"])]),
            rule("c", &[]),
        ];
        sort(&mut v, false);
        let names: Vec<&str> = v.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["b", "a", "c"]);
        sort(&mut v, true);
        let names: Vec<&str> = v.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["c", "a", "b"]);
        let w = to_wire(&rule("r", &[("sudoUser", &["alice"])]), Some("#1001"));
        assert_eq!(
            w.attrs[0].values,
            vec![b"alice".to_vec(), b"#1001".to_vec()]
        );
        let vals = vec!["alice".to_string()];
        assert!(names_user(&rule("r", &[("sudoUser", &["alice"])]), &vals));
        assert!(names_netgroup(&rule("r", &[("sudoUser", &["+ng"])])));
    }
}
