//! `access_provider = ldap`: the `ldap_access_order` rules, in order; the first that does
//! not allow decides (SSSD 2.8's rules, statuses and messages).
//!
//! - `filter`: the user's entry, read with a base-scope search on its DN, must match
//!   `(&(<name attr>=<user>)(objectClass=<user class>)<ldap_access_filter>)`. No entry →
//!   denied. An unset or empty `ldap_access_filter`, or one that does not parse, denies
//!   everyone (as SSSD does) with an error naming the option.
//! - `lockout` (deprecated) and `ppolicy`: when the policy entry (`ldap_pwdlockout_dn`, by
//!   default `cn=ppolicy,ou=policies,<search base>`) has `pwdLockout: TRUE`, the user's
//!   `pwdAccountLockedTime` locks: `000001010000Z` always; for `ppolicy` any time not in
//!   the future too, unless the entry's `pwdLockoutDuration` has passed since.
//! - `expire`, `pwd_expire_policy_*`, `authorized_service`, `host`, `rhost`: decided on the
//!   user's attributes (one base search fetches those the configured rules need); see
//!   [`super::rules`].
//! - An empty `ldap_access_order` denies everyone.
//!
//! While the directory cannot be reached, [`check_offline`] applies the same rules to what
//! the user's last online check learned (kept in the cache, as SSSD keeps the filter and
//! lockout results and the attributes in the user's cache entry); a rule that check did
//! not reach denies.

use super::rules::{self, Item, PwdExpireMode, Snapshot, Step};
use crate::backend::ldap::connection::Connection;
use crate::backend::ldap::search::{Entry, SearchError};
use crate::backend::ldap::{MapCtx, filter, now};
use crate::cache::{AccessAttr, AccessRecord};
use crate::config::AuthOptions;
use crate::model::User;
use ldap3::Scope;
use sss_proto::pam::status;
use thiserror::Error;

/// Why an access rule cannot be evaluated from the configuration alone.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AccessConfigError {
    /// `filter` is in `ldap_access_order` but `ldap_access_filter` is unset or empty.
    #[error(
        "ldap_access_order contains \"filter\" but ldap_access_filter is not set: \
         every user of the domain is denied"
    )]
    NoFilter,
    /// The filter built from `ldap_access_filter` is not a valid RFC 4515 filter.
    #[error("ldap_access_filter {0:?} is not a valid LDAP filter: every user is denied")]
    BadFilter(String),
}

/// The filter the `filter` rule sends for user `name`: the configured user object class and
/// name attribute with the (escaped) name, and-ed with `ldap_access_filter` (wrapped in
/// parentheses when written without).
pub fn access_filter(
    ctx: &MapCtx,
    opts: &AuthOptions,
    name: &str,
) -> Result<String, AccessConfigError> {
    let configured = opts
        .ldap_access_filter
        .as_deref()
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .ok_or(AccessConfigError::NoFilter)?;
    let wrapped = if configured.starts_with('(') {
        configured.to_string()
    } else {
        format!("({configured})")
    };
    let o = &ctx.opts;
    let f = format!(
        "(&{}(objectClass={}){wrapped})",
        filter::eq(&o.user_name, name),
        o.user_object_class
    );
    if ldap3::parse_filter(&f).is_err() {
        return Err(AccessConfigError::BadFilter(configured.to_string()));
    }
    Ok(f)
}

/// This host's names for the `host` rule: `gethostname`, and its canonical name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostNames {
    /// The name `gethostname` returns.
    pub hostname: String,
    /// The canonical name `getaddrinfo(AI_CANONNAME)` gives for it, if any.
    pub canonical: Option<String>,
}

/// The PAM request the rules look at.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccessRequest<'a> {
    /// PAM_SERVICE (`authorized_service`).
    pub service: &'a str,
    /// PAM_RHOST, empty when unset (`rhost`).
    pub rhost: &'a str,
    /// This host's names (`host`); `None` when they could not be read.
    pub host: Option<&'a HostNames>,
}

/// The outcome: a PAM status and the messages for the user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    /// The PAM status.
    pub status: i32,
    /// Response items (SYSTEM_INFO texts, the USER_INFO expiry warning).
    pub items: Vec<Item>,
}

impl Decision {
    fn new(status: i32, items: Vec<Item>) -> Decision {
        Decision { status, items }
    }
}

/// Whether `rule` decides on the user's attributes alone.
fn entry_rule(rule: &str) -> bool {
    matches!(
        rule,
        "expire"
            | "pwd_expire_policy_reject"
            | "pwd_expire_policy_warn"
            | "pwd_expire_policy_renew"
            | "authorized_service"
            | "host"
            | "rhost"
    )
}

/// The user attributes the entry-based rules of `opts` read.
pub fn entry_attrs(opts: &AuthOptions) -> Vec<String> {
    let a = &opts.ldap_access.attrs;
    let mut out: Vec<&String> = Vec::new();
    for rule in &opts.ldap_access_order {
        match rule.as_str() {
            "expire" => match opts.ldap_account_expire_policy.as_deref() {
                Some("shadow") => out.push(&a.shadow_expire),
                Some("ad") => out.extend([&a.ad_user_account_control, &a.ad_account_expires]),
                Some("rhds" | "389ds") => out.push(&a.ns_account_lock),
                Some("ipa") => out.extend([
                    &a.ns_account_lock,
                    &a.ad_user_account_control,
                    &a.ad_account_expires,
                ]),
                Some("nds") => out.extend([
                    &a.nds_login_disabled,
                    &a.nds_login_expiration_time,
                    &a.nds_login_allowed_time_map,
                ]),
                _ => {}
            },
            "pwd_expire_policy_reject" | "pwd_expire_policy_warn" | "pwd_expire_policy_renew" => {
                match opts.ldap_access.pwd_policy.as_str() {
                    "shadow" => out.extend([
                        &a.shadow_last_change,
                        &a.shadow_min,
                        &a.shadow_max,
                        &a.shadow_warning,
                        &a.shadow_inactive,
                        &a.shadow_expire,
                    ]),
                    "mit_kerberos" => {
                        out.extend([&a.krb_last_pwd_change, &a.krb_password_expiration])
                    }
                    _ => {}
                }
            }
            "authorized_service" => out.push(&a.authorized_service),
            "host" => out.push(&a.authorized_host),
            "rhost" => out.push(&a.authorized_rhost),
            _ => {}
        }
    }
    let mut attrs: Vec<String> = Vec::new();
    for n in out {
        let n = n.trim();
        if !n.is_empty() && !attrs.iter().any(|x| x.eq_ignore_ascii_case(n)) {
            attrs.push(n.to_string());
        }
    }
    attrs
}

/// The entry-based `rule` on `snap`.
fn entry_step(
    rule: &str,
    opts: &AuthOptions,
    snap: Snapshot<'_>,
    req: &AccessRequest<'_>,
    now: i64,
    items: &mut Vec<Item>,
) -> Step {
    let a = &opts.ldap_access.attrs;
    let pwd = |mode, items: &mut Vec<Item>| {
        rules::pwd_expire(
            mode,
            &opts.ldap_access.pwd_policy,
            a,
            snap,
            now,
            opts.ldap_access.pwd_expiration_warning,
            items,
        )
    };
    match rule {
        "expire" => rules::expire(
            opts.ldap_account_expire_policy.as_deref(),
            a,
            snap,
            now,
            items,
        ),
        "pwd_expire_policy_reject" => pwd(PwdExpireMode::Reject, items),
        "pwd_expire_policy_warn" => pwd(PwdExpireMode::Warn, items),
        "pwd_expire_policy_renew" => pwd(PwdExpireMode::Renew, items),
        "authorized_service" => {
            rules::authorized_service(&a.authorized_service, snap, req.service, items)
        }
        "host" => match req.host {
            Some(h) => rules::host(
                &a.authorized_host,
                snap,
                &h.hostname,
                h.canonical.as_deref(),
            ),
            None => {
                tracing::error!("this host's name is unknown: access denied");
                Step::Stop(status::PERM_DENIED)
            }
        },
        "rhost" => rules::rhost(&a.authorized_rhost, snap, req.rhost),
        other => {
            tracing::error!("ldap_access_order rule {other:?} is unknown: access denied");
            Step::Stop(status::PERM_DENIED)
        }
    }
}

/// Runs the `ldap_access_order` rules for `user` in order; the first that does not allow
/// decides. Returns the decision and what the rules learned (for [`check_offline`]).
/// Server and transport errors are returned for the caller to handle.
pub async fn check(
    ctx: &MapCtx,
    conn: &Connection,
    opts: &AuthOptions,
    user: &User,
    req: &AccessRequest<'_>,
) -> Result<(Decision, AccessRecord), SearchError> {
    let mut learned = AccessRecord::default();
    let mut items = Vec::new();
    if opts.ldap_access_order.is_empty() {
        return Ok((Decision::new(empty_order(&user.name), items), learned));
    }
    let now = now();
    for rule in &opts.ldap_access_order {
        let rule = rule.to_ascii_lowercase();
        let step = match rule.as_str() {
            "filter" => match check_filter(ctx, conn, opts, user, &mut learned).await? {
                status::SUCCESS => Step::Pass,
                st => Step::Stop(st),
            },
            "lockout" | "ppolicy" => {
                if rule == "lockout" {
                    tracing::warn!(
                        "ldap_access_order rule \"lockout\" is deprecated: use \"ppolicy\""
                    );
                }
                check_ppolicy(ctx, conn, opts, user, rule == "lockout", &mut learned).await?
            }
            r if entry_rule(r) => {
                if learned.entry.is_none() {
                    learned.entry = read_entry(ctx, conn, opts, user).await?;
                }
                match &learned.entry {
                    Some(e) => entry_step(r, opts, Snapshot(e), req, now, &mut items),
                    None => Step::Stop(status::PERM_DENIED),
                }
            }
            other => {
                tracing::error!("ldap_access_order rule {other:?} is unknown: access denied");
                Step::Stop(status::PERM_DENIED)
            }
        };
        if let Step::Stop(st) = step {
            tracing::info!(
                "ldap access: {:?}: rule {rule:?} ends with status {st}",
                user.name
            );
            return Ok((Decision::new(st, items), learned));
        }
    }
    tracing::debug!("ldap access: {:?} allowed", user.name);
    Ok((Decision::new(status::SUCCESS, items), learned))
}

/// The `ldap_access_order` rules for user `name` while the directory cannot be reached,
/// decided on what the last online check `learned` at `now` (seconds since the epoch), as
/// SSSD uses its cached results and attributes. A user never checked online, or a rule
/// that check did not reach, is denied.
pub fn check_offline(
    opts: &AuthOptions,
    name: &str,
    req: &AccessRequest<'_>,
    learned: Option<&AccessRecord>,
    now: i64,
) -> Decision {
    let mut items = Vec::new();
    let Some(rec) = learned else {
        tracing::info!("ldap access: {name:?} was never checked online; denied while offline");
        return Decision::new(status::PERM_DENIED, items);
    };
    if opts.ldap_access_order.is_empty() {
        return Decision::new(empty_order(name), items);
    }
    let not_reached = |rule: &str| {
        tracing::info!(
            "ldap access: the last online check of {name:?} did not reach the {rule:?} rule; \
             denied while offline"
        );
        Step::Stop(status::PERM_DENIED)
    };
    let cached = |rule: &str, v: Option<bool>| match v {
        Some(true) => Step::Pass,
        Some(false) => {
            tracing::info!("ldap access: {name:?} denied by the cached {rule:?} result");
            Step::Stop(status::PERM_DENIED)
        }
        None => not_reached(rule),
    };
    for rule in &opts.ldap_access_order {
        let rule = rule.to_ascii_lowercase();
        let step = match rule.as_str() {
            "filter" => cached("filter", rec.filter_matched),
            "lockout" | "ppolicy" => cached(&rule, rec.lockout_allowed),
            r if entry_rule(r) => match &rec.entry {
                Some(e) => entry_step(r, opts, Snapshot(e), req, now, &mut items),
                None => not_reached(r),
            },
            other => {
                tracing::error!("ldap_access_order rule {other:?} is unknown: access denied");
                Step::Stop(status::PERM_DENIED)
            }
        };
        if let Step::Stop(st) = step {
            return Decision::new(st, items);
        }
    }
    tracing::debug!("ldap access: {name:?} allowed from the last online check (offline)");
    Decision::new(status::SUCCESS, items)
}

fn empty_order(name: &str) -> i32 {
    tracing::error!("access_provider = ldap with an empty ldap_access_order: {name:?} denied");
    status::PERM_DENIED
}

/// Reads the user's entry with `filter` (and-ed with the user's name), asking for `attrs`:
/// a base search on its DN, or a search under the user base when the DN is not known.
async fn user_entries(
    ctx: &MapCtx,
    conn: &Connection,
    user: &User,
    filter: &str,
    attrs: Vec<String>,
) -> Result<Vec<Entry>, SearchError> {
    if user.dn.is_empty() {
        ctx.search_users(conn, filter, attrs, None).await
    } else {
        ctx.search_with(
            conn,
            &user.dn,
            Scope::Base,
            filter,
            attrs,
            ctx.search_timeout(),
        )
        .await
    }
}

/// The `filter` rule.
async fn check_filter(
    ctx: &MapCtx,
    conn: &Connection,
    opts: &AuthOptions,
    user: &User,
    learned: &mut AccessRecord,
) -> Result<i32, SearchError> {
    let f = match access_filter(ctx, opts, &user.name) {
        Ok(f) => f,
        Err(e) => {
            tracing::error!("{e} ({:?})", user.name);
            return Ok(status::PERM_DENIED);
        }
    };
    // "1.1": no attributes, only whether the entry matches.
    let entries = user_entries(ctx, conn, user, &f, vec!["1.1".into()]).await?;
    learned.filter_matched = Some(entries.len() == 1);
    match entries.len() {
        1 => {
            tracing::debug!("ldap_access_filter: {:?} matches", user.name);
            Ok(status::SUCCESS)
        }
        0 => {
            tracing::info!(
                "ldap_access_filter: {:?} (entry {:?}) does not match {f}: access denied",
                user.name,
                user.dn
            );
            Ok(status::PERM_DENIED)
        }
        n => {
            tracing::error!(
                "ldap_access_filter: {n} entries match {f} for {:?}: ambiguous, access denied",
                user.name
            );
            Ok(status::PERM_DENIED)
        }
    }
}

/// Reads the attributes the entry-based rules need from the user's entry; `None` when the
/// entry is not found (or not only one is).
async fn read_entry(
    ctx: &MapCtx,
    conn: &Connection,
    opts: &AuthOptions,
    user: &User,
) -> Result<Option<Vec<AccessAttr>>, SearchError> {
    read_attrs(ctx, conn, user, entry_attrs(opts)).await
}

/// The attributes `ldap_pwd_policy` reads (none for `none`).
pub fn password_attrs(opts: &AuthOptions) -> Vec<String> {
    let a = &opts.ldap_access.attrs;
    match opts.ldap_access.pwd_policy.as_str() {
        "shadow" => [
            &a.shadow_last_change,
            &a.shadow_min,
            &a.shadow_max,
            &a.shadow_warning,
            &a.shadow_inactive,
            &a.shadow_expire,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        "mit_kerberos" => vec![
            a.krb_last_pwd_change.clone(),
            a.krb_password_expiration.clone(),
        ],
        _ => Vec::new(),
    }
}

/// Reads `attrs` of the user's entry (those it has); `None` when the entry is not found.
pub async fn read_attrs(
    ctx: &MapCtx,
    conn: &Connection,
    user: &User,
    attrs: Vec<String>,
) -> Result<Option<Vec<AccessAttr>>, SearchError> {
    let o = &ctx.opts;
    let f = format!(
        "(&{}(objectClass={}))",
        filter::eq(&o.user_name, &user.name),
        o.user_object_class
    );
    let want = if attrs.is_empty() {
        vec!["1.1".to_string()]
    } else {
        attrs.clone()
    };
    let entries = user_entries(ctx, conn, user, &f, want).await?;
    let [entry] = entries.as_slice() else {
        tracing::error!(
            "access check: {} entries found for {:?} (DN {:?}): access denied",
            entries.len(),
            user.name,
            user.dn
        );
        return Ok(None);
    };
    let snapshot = attrs
        .iter()
        .filter_map(|a| {
            let values: Vec<Vec<u8>> = entry
                .raw_values(a)
                .into_iter()
                .map(<[u8]>::to_vec)
                .collect();
            (!values.is_empty()).then(|| (a.to_ascii_lowercase(), values))
        })
        .collect();
    Ok(Some(snapshot))
}

/// The `ppolicy` rule (`lockout_only`: the deprecated `lockout` rule).
async fn check_ppolicy(
    ctx: &MapCtx,
    conn: &Connection,
    opts: &AuthOptions,
    user: &User,
    lockout_only: bool,
    learned: &mut AccessRecord,
) -> Result<Step, SearchError> {
    let dns = match &opts.ldap_access.pwdlockout_dn {
        Some(dn) => vec![dn.clone()],
        None => vec![format!("cn=ppolicy,ou=policies,{}", conn.bases.base)],
    };
    let t = ctx.search_timeout();
    let mut enabled = false;
    for dn in &dns {
        let entries = ctx
            .search_with(
                conn,
                dn,
                Scope::Base,
                "(objectClass=*)",
                vec!["pwdLockout".into()],
                t,
            )
            .await?;
        let Some(e) = entries.first() else {
            tracing::debug!("no password policy entry {dn:?}");
            continue;
        };
        enabled = match e.first("pwdLockout") {
            Some(v) if v.eq_ignore_ascii_case("TRUE") => true,
            Some(v) if v.eq_ignore_ascii_case("FALSE") => false,
            other => {
                tracing::error!("{dn}: pwdLockout is {other:?}, not TRUE or FALSE");
                return Ok(Step::Stop(status::SYSTEM_ERR));
            }
        };
        break;
    }
    if !enabled {
        tracing::debug!(
            "password policy lockout is not enabled: {:?} allowed",
            user.name
        );
        learned.lockout_allowed = Some(true);
        return Ok(Step::Pass);
    }
    if user.dn.is_empty() {
        tracing::error!("{:?}: no DN cached for the ppolicy check", user.name);
        return Ok(Step::Stop(status::SYSTEM_ERR));
    }
    let entries = ctx
        .search_with(
            conn,
            &user.dn,
            Scope::Base,
            "(objectClass=*)",
            vec!["pwdAccountLockedTime".into(), "pwdLockoutDuration".into()],
            t,
        )
        .await?;
    let locked = match entries.first().and_then(|e| {
        e.first("pwdAccountLockedTime")
            .map(|l| (l, e.first("pwdLockoutDuration")))
    }) {
        Some((time, duration)) => rules::ppolicy_locked(time, duration, lockout_only, now()),
        None => false,
    };
    learned.lockout_allowed = Some(!locked);
    if locked {
        tracing::info!("{:?}: account locked by the password policy", user.name);
        return Ok(Step::Stop(status::PERM_DENIED));
    }
    Ok(Step::Pass)
}

#[cfg(test)]
#[path = "ldap_unit_tests.rs"]
mod tests;
