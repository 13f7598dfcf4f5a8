//! The `ldap_access_order` rules that decide on the user's attributes alone (no further
//! search): `expire` for each `ldap_account_expire_policy`, `pwd_expire_policy_*` for each
//! `ldap_pwd_policy`, `authorized_service`, `host` and `rhost`; and the ppolicy lock test.
//! Pure functions on an attribute snapshot and the time, so the same code decides online
//! and offline (on the attributes the last online check kept).
//!
//! Each rule gives a [`Step`]: go on with the next rule, or stop with a PAM status. The
//! statuses are SSSD 2.8's: an expired account is ACCT_EXPIRED (shadow and AD expiry), a
//! denial PERM_DENIED, `pwd_expire_policy_renew` on an expired password NEW_AUTHTOK_REQD,
//! `pwd_expire_policy_warn` on one SUCCESS (and no later rule runs), a value the rule
//! cannot read SYSTEM_ERR. Messages for the user go to `items` as SSSD sends them
//! (SYSTEM_INFO texts, the USER_INFO expiry warning in seconds).

use crate::cache::AccessAttr;
use crate::config::AccessAttrs;
use sss_proto::pam::{response, status, user_info};

/// A PAM response item (type, data).
pub type Item = (u32, Vec<u8>);

/// What a rule decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The rule allows: the next one runs.
    Pass,
    /// The rules stop here with this PAM status.
    Stop(i32),
}

/// The user's attributes as read (names compared case-insensitively).
#[derive(Debug, Clone, Copy)]
pub struct Snapshot<'a>(pub &'a [AccessAttr]);

impl Snapshot<'_> {
    /// Every value of `attr`.
    pub fn values(&self, attr: &str) -> Vec<&[u8]> {
        self.0
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(attr))
            .flat_map(|(_, vs)| vs.iter().map(Vec::as_slice))
            .collect()
    }

    /// The first value of `attr` as text (`None`: missing or not UTF-8).
    pub fn first(&self, attr: &str) -> Option<&str> {
        self.values(attr)
            .first()
            .and_then(|v| std::str::from_utf8(v).ok())
    }
}

/// A SYSTEM_INFO item carrying `msg` (NUL-terminated, as pam_sss expects).
pub fn system_info(msg: &str) -> Item {
    let mut d = msg.as_bytes().to_vec();
    d.push(0);
    (response::SYSTEM_INFO, d)
}

/// The USER_INFO item warning that the password expires in `seconds`.
pub fn expire_warning(seconds: u32) -> Item {
    let mut d = user_info::EXPIRE_WARN.to_ne_bytes().to_vec();
    d.extend_from_slice(&seconds.to_ne_bytes());
    (response::USER_INFO, d)
}

/// SSSD's `string_to_shadowpw_days`: an empty or missing value is -1; a value below -1 or
/// not a decimal number is an error.
pub fn shadow_days(v: Option<&str>) -> Result<i64, String> {
    match v {
        None | Some("") => Ok(-1),
        Some(s) => match s.parse::<i64>() {
            Ok(d) if d >= -1 => Ok(d),
            _ => Err(format!("invalid shadow value {s:?}")),
        },
    }
}

/// Seconds since the epoch of a `YYYYMMDDHHMMSSZ` (UTC) time, as SSSD reads
/// GeneralizedTime values (no fractions, no offsets).
pub fn generalized_time(v: &str) -> Option<i64> {
    let digits = v.strip_suffix('Z')?;
    if digits.len() != 14 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| digits.get(r).and_then(|s| s.parse::<i64>().ok());
    let (y, mo, d, h, mi, s) = (
        n(0..4)?,
        n(4..6)?,
        n(6..8)?,
        n(8..10)?,
        n(10..12)?,
        n(12..14)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// ldb's boolean reading: `TRUE` / `FALSE` (any case), anything else `default`.
fn ldb_bool(v: Option<&str>, default: bool) -> bool {
    match v {
        Some(s) if s.eq_ignore_ascii_case("TRUE") => true,
        Some(s) if s.eq_ignore_ascii_case("FALSE") => false,
        _ => default,
    }
}

/// ldb's unsigned reading (C `strtoull` with base 0), `0` when missing or malformed.
fn ldb_u64(v: Option<&str>) -> u64 {
    let Some(s) = v.map(str::trim_start) else {
        return 0;
    };
    let parsed = if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()
    } else if s.len() > 1 && s.starts_with('0') {
        u64::from_str_radix(&s[1..], 8).ok()
    } else {
        s.parse::<u64>().ok()
    };
    parsed.unwrap_or(0)
}

/// The `expire` rule under `policy` (`ldap_account_expire_policy`, lowercased; `None` when
/// unset, which denies everyone as SSSD does) at `now` (seconds since the epoch).
pub fn expire(
    policy: Option<&str>,
    a: &AccessAttrs,
    snap: Snapshot<'_>,
    now: i64,
    items: &mut Vec<Item>,
) -> Step {
    match policy {
        None => {
            tracing::error!(
                "ldap_access_order contains \"expire\" but ldap_account_expire_policy is not \
                 set: access denied"
            );
            Step::Stop(status::PERM_DENIED)
        }
        Some("shadow") => expire_shadow(&a.shadow_expire, snap, now, items),
        Some("ad") => expire_ad(a, snap, now, items),
        Some("rhds" | "389ds") => expire_rhds(a, snap, items),
        Some("ipa") => match expire_rhds(a, snap, items) {
            Step::Pass => expire_ad(a, snap, now, items),
            stop => stop,
        },
        Some("nds") => expire_nds(a, snap, now, items),
        Some(other) => {
            // The configuration refuses unknown policies; kept for safety.
            tracing::error!("unsupported ldap_account_expire_policy {other:?}: access denied");
            Step::Stop(status::PERM_DENIED)
        }
    }
}

/// `shadow`: the account is expired from the day `shadowExpire` names on.
fn expire_shadow(attr: &str, snap: Snapshot<'_>, now: i64, items: &mut Vec<Item>) -> Step {
    let Some(v) = snap.first(attr) else {
        return Step::Pass;
    };
    let days = match shadow_days(Some(v)) {
        Ok(d) => d,
        Err(e) => {
            tracing::error!("{attr}: {e}");
            return Step::Stop(status::SYSTEM_ERR);
        }
    };
    if days > 0 && now.div_euclid(86_400) >= days {
        tracing::info!("account expired according to {attr} = {days}");
        items.push(system_info(
            "Account expired according to shadow attributes",
        ));
        return Step::Stop(status::ACCT_EXPIRED);
    }
    Step::Pass
}

/// `ad`: the ACCOUNTDISABLE bit of `userAccountControl`, then `accountExpires` (100 ns
/// ticks since 1601; 0 and 2^63-1 never expire).
fn expire_ad(a: &AccessAttrs, snap: Snapshot<'_>, now: i64, items: &mut Vec<Item>) -> Step {
    const ACCOUNTDISABLE: u64 = 0x2;
    const NEVER: u64 = 0x7fff_ffff_ffff_ffff;
    const EPOCH_DIFF: i64 = 11_644_473_600;
    let uac = ldb_u64(snap.first(&a.ad_user_account_control)) & 0xffff_ffff;
    if uac & ACCOUNTDISABLE != 0 {
        items.push(system_info("The user account is disabled on the AD server"));
        return Step::Stop(status::PERM_DENIED);
    }
    let expires = ldb_u64(snap.first(&a.ad_account_expires));
    if expires != 0 && expires != NEVER {
        let nt_now = u64::try_from(now.saturating_add(EPOCH_DIFF))
            .unwrap_or(0)
            .saturating_mul(10_000_000);
        if nt_now > expires {
            items.push(system_info("The user account is expired on the AD server"));
            return Step::Stop(status::ACCT_EXPIRED);
        }
    }
    Step::Pass
}

/// `rhds` / `389ds` (and the first half of `ipa`): `nsAccountLock = TRUE` locks.
fn expire_rhds(a: &AccessAttrs, snap: Snapshot<'_>, items: &mut Vec<Item>) -> Step {
    if ldb_bool(snap.first(&a.ns_account_lock), false) {
        items.push(system_info("The user account is locked on the server"));
        return Step::Stop(status::PERM_DENIED);
    }
    Step::Pass
}

/// `nds`: `loginDisabled`, then `loginExpirationTime`, then `loginAllowedTimeMap`.
fn expire_nds(a: &AccessAttrs, snap: Snapshot<'_>, now: i64, items: &mut Vec<Item>) -> Step {
    if ldb_bool(snap.first(&a.nds_login_disabled), false) {
        items.push(system_info("The user account is disabled on the server"));
        return Step::Stop(status::PERM_DENIED);
    }
    if let Some(v) = snap.values(&a.nds_login_expiration_time).first() {
        // A value that does not parse counts as expired, as in SSSD.
        let expired = std::str::from_utf8(v)
            .ok()
            .and_then(generalized_time)
            .is_none_or(|t| now > t);
        if expired {
            items.push(system_info("The user account is expired"));
            return Step::Stop(status::PERM_DENIED);
        }
    }
    if let Some(map) = snap.values(&a.nds_login_allowed_time_map).first()
        && !nds_time_allowed(map, now)
    {
        items.push(system_info("The user account is not allowed at this time"));
        return Step::Stop(status::PERM_DENIED);
    }
    Step::Pass
}

/// Whether the 42-byte NDS time map (one bit per half hour of the week, UTC, Sunday first)
/// allows `now`. SSSD's reading is kept, including that the first half hour of each byte
/// (bit 0) is never allowed.
pub fn nds_time_allowed(map: &[u8], now: i64) -> bool {
    if map.len() != 42 {
        return false;
    }
    let days = now.div_euclid(86_400);
    let secs = now.rem_euclid(86_400);
    let wday = (days + 4).rem_euclid(7);
    let (hour, min) = (secs / 3600, (secs % 3600) / 60);
    let index = wday * 48 + hour * 2 + i64::from(min >= 30);
    let (byte, bit) = (index / 8, index % 8);
    let mask: u8 = if bit > 0 { 1 << bit } else { 0 };
    usize::try_from(byte)
        .ok()
        .and_then(|b| map.get(b))
        .is_some_and(|v| v & mask != 0)
}

/// Which `pwd_expire_policy_*` rule runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PwdExpireMode {
    /// `pwd_expire_policy_reject`: an expired password denies.
    Reject,
    /// `pwd_expire_policy_warn`: an expired password allows (and ends the rules).
    Warn,
    /// `pwd_expire_policy_renew`: an expired password asks for a new one.
    Renew,
}

/// What the password policy says of the user's password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PwdState {
    /// Valid (a warning may have been added).
    Valid,
    /// The password has expired.
    PasswordExpired,
    /// The account has expired (shadow).
    AccountExpired,
    /// The attributes cannot be read (missing or malformed).
    Unreadable,
}

/// `ldap_pwd_policy` (`none`, `shadow`, `mit_kerberos`) on the user's attributes at `now`;
/// the expiry warning (`warning` seconds, `None`: the provider default) goes to `items`.
pub fn password_state(
    policy: &str,
    a: &AccessAttrs,
    snap: Snapshot<'_>,
    now: i64,
    warning: Option<i64>,
    items: &mut Vec<Item>,
) -> PwdState {
    match policy {
        "shadow" => shadow_password(a, snap, now, items),
        "mit_kerberos" => kerberos_password(a, snap, now, warning, items),
        _ => PwdState::Valid,
    }
}

fn shadow_password(
    a: &AccessAttrs,
    snap: Snapshot<'_>,
    now: i64,
    items: &mut Vec<Item>,
) -> PwdState {
    if snap.first(&a.shadow_last_change).is_none() {
        tracing::error!(
            "ldap_pwd_policy = shadow but the entry has no {}: access denied",
            a.shadow_last_change
        );
        return PwdState::Unreadable;
    }
    let read = |attr: &str| shadow_days(snap.first(attr));
    let (lstchg, max, warn, inact, expire) = match (
        read(&a.shadow_last_change),
        read(&a.shadow_min),
        read(&a.shadow_max),
        read(&a.shadow_warning),
        read(&a.shadow_inactive),
        read(&a.shadow_expire),
    ) {
        (Ok(l), Ok(_), Ok(m), Ok(w), Ok(i), Ok(e)) => (l, m, w, i, e),
        _ => {
            tracing::error!("malformed shadow password attributes");
            return PwdState::Unreadable;
        }
    };
    if lstchg <= 0 {
        return PwdState::PasswordExpired;
    }
    let today = now.div_euclid(86_400);
    let age = today - lstchg;
    if age < 0 {
        tracing::warn!("the last password change is in the future");
        return PwdState::Valid;
    }
    if (expire != -1 && today >= expire) || (max != -1 && inact != -1 && age > max + inact) {
        return PwdState::AccountExpired;
    }
    if max != -1 && age > max {
        return PwdState::PasswordExpired;
    }
    if max != -1 && warn != -1 && age > max - warn {
        let mut secs = (max - age) * 86_400;
        if secs == 0 {
            secs = (today + 1) * 86_400 - now;
        }
        if let Ok(s) = u32::try_from(secs) {
            items.push(expire_warning(s));
        }
    }
    PwdState::Valid
}

fn kerberos_password(
    a: &AccessAttrs,
    snap: Snapshot<'_>,
    now: i64,
    warning: Option<i64>,
    items: &mut Vec<Item>,
) -> PwdState {
    if snap.first(&a.krb_last_pwd_change).is_none() {
        tracing::error!(
            "ldap_pwd_policy = mit_kerberos but the entry has no {}: access denied",
            a.krb_last_pwd_change
        );
        return PwdState::Unreadable;
    }
    let Some(v) = snap.first(&a.krb_password_expiration) else {
        return PwdState::Valid;
    };
    let Some(expires) = generalized_time(v) else {
        tracing::error!("malformed {} {v:?}", a.krb_password_expiration);
        return PwdState::Unreadable;
    };
    if now > expires {
        return PwdState::PasswordExpired;
    }
    let warning = warning.unwrap_or(7 * 86_400);
    if (now + warning > expires || warning == 0)
        && let Ok(s) = u32::try_from(expires - now)
    {
        items.push(expire_warning(s));
    }
    PwdState::Valid
}

/// A `pwd_expire_policy_*` rule.
pub fn pwd_expire(
    mode: PwdExpireMode,
    policy: &str,
    a: &AccessAttrs,
    snap: Snapshot<'_>,
    now: i64,
    warning: Option<i64>,
    items: &mut Vec<Item>,
) -> Step {
    match password_state(policy, a, snap, now, warning, items) {
        PwdState::Valid => Step::Pass,
        PwdState::AccountExpired => Step::Stop(status::ACCT_EXPIRED),
        PwdState::Unreadable => Step::Stop(status::SYSTEM_ERR),
        PwdState::PasswordExpired => Step::Stop(match mode {
            PwdExpireMode::Reject => status::PERM_DENIED,
            PwdExpireMode::Warn => status::SUCCESS,
            PwdExpireMode::Renew => status::NEW_AUTHTOK_REQD,
        }),
    }
}

/// How a list of `name` / `!name` / `*` values matches `wanted` (case-insensitive): an
/// explicit `!` denial wins; else a match or `*` allows; else nothing matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListMatch {
    /// `!wanted` is listed.
    Denied,
    /// `wanted` or `*` is listed (and no denial).
    Allowed,
    /// Nothing applies.
    NoMatch,
}

/// Matches `values` against `wanted`.
pub fn list_match(values: &[&[u8]], wanted: &str) -> ListMatch {
    let mut out = ListMatch::NoMatch;
    for v in values {
        let Ok(v) = std::str::from_utf8(v) else {
            continue;
        };
        if let Some(neg) = v.strip_prefix('!')
            && neg.eq_ignore_ascii_case(wanted)
        {
            return ListMatch::Denied;
        }
        if v.eq_ignore_ascii_case(wanted) || v == "*" {
            out = ListMatch::Allowed;
        }
    }
    out
}

/// `authorized_service`: the PAM service must be allowed by the user's attribute.
pub fn authorized_service(
    attr: &str,
    snap: Snapshot<'_>,
    service: &str,
    items: &mut Vec<Item>,
) -> Step {
    let values = snap.values(attr);
    if values.is_empty() {
        items.push(system_info(
            "Authorized service attribute missing, access denied",
        ));
        return Step::Stop(status::PERM_DENIED);
    }
    match list_match(&values, service) {
        ListMatch::Allowed => Step::Pass,
        ListMatch::Denied => {
            items.push(system_info("Access denied by authorized service attribute"));
            Step::Stop(status::PERM_DENIED)
        }
        ListMatch::NoMatch => {
            items.push(system_info(
                "Authorized service attribute has no matching rule, access denied",
            ));
            Step::Stop(status::PERM_DENIED)
        }
    }
}

/// `host`: this host (`hostname`, then its canonical name when the first does not
/// match) must be allowed by the user's attribute.
pub fn host(attr: &str, snap: Snapshot<'_>, hostname: &str, canonical: Option<&str>) -> Step {
    let values = snap.values(attr);
    if values.is_empty() {
        tracing::info!("no {attr} values: access denied");
        return Step::Stop(status::PERM_DENIED);
    }
    let mut m = list_match(&values, hostname);
    if m == ListMatch::NoMatch
        && let Some(c) = canonical
    {
        m = list_match(&values, c);
    }
    match m {
        ListMatch::Allowed => Step::Pass,
        _ => Step::Stop(status::PERM_DENIED),
    }
}

/// `rhost`: the remote host (`PAM_RHOST`) must be allowed; an unset or empty one (local
/// access) is not checked.
pub fn rhost(attr: &str, snap: Snapshot<'_>, rhost: &str) -> Step {
    if rhost.is_empty() {
        return Step::Pass;
    }
    let values = snap.values(attr);
    if values.is_empty() {
        tracing::info!("no {attr} values: access from {rhost:?} denied");
        return Step::Stop(status::PERM_DENIED);
    }
    match list_match(&values, rhost) {
        ListMatch::Allowed => Step::Pass,
        _ => Step::Stop(status::PERM_DENIED),
    }
}

/// The permanent lock value of `pwdAccountLockedTime`.
pub const PERMANENTLY_LOCKED: &str = "000001010000Z";

/// Whether `pwdAccountLockedTime` = `locked_time` (with `pwdLockoutDuration` seconds as
/// read on the user's entry) locks the account at `now`. `lockout_only` is the deprecated
/// `lockout` rule, which honours only the permanent lock. A value that cannot be read locks.
pub fn ppolicy_locked(
    locked_time: &str,
    duration: Option<&str>,
    lockout_only: bool,
    now: i64,
) -> bool {
    if locked_time.eq_ignore_ascii_case(PERMANENTLY_LOCKED) {
        return true;
    }
    if lockout_only {
        return false;
    }
    let Some(t) = generalized_time(locked_time) else {
        tracing::warn!("pwdAccountLockedTime {locked_time:?} cannot be read: locked");
        return true;
    };
    if t > now {
        return false;
    }
    match duration.map(|d| d.parse::<u32>()) {
        None => true,
        Some(Ok(d)) => !(d != 0 && now - t > i64::from(d)),
        Some(Err(_)) => true,
    }
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
