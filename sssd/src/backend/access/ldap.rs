//! `access_provider = ldap`: the `ldap_access_order` rules, each of which must pass.
//!
//! - `filter`: the user's entry, read with a base-scope search on its DN, must match
//!   `(&(<name attr>=<user>)(objectClass=<user class>)<ldap_access_filter>)`. No entry →
//!   denied. An unset or empty `ldap_access_filter`, or one that does not parse, denies
//!   everyone (as SSSD does) with an error naming the option.
//! - `expire`: `ldap_account_expire_policy = shadow` reads `ldap_user_shadow_expire` (days
//!   since the epoch): the account is expired (ACCT_EXPIRED) when the value is positive and
//!   today (UTC days since the epoch) is on or after it. A missing value allows; a malformed
//!   one denies. No policy, or a policy other than `shadow`, denies with an error.
//! - Every other rule (`lockout`, `ppolicy`, `pwd_expire_policy_*`, `authorized_service`,
//!   `host`, `rhost`) is not implemented here: it denies, with an error naming the rule, so
//!   that a configuration asking for a restriction never silently grants access.
//! - An empty `ldap_access_order` denies everyone.
//!
//! While the directory cannot be reached, [`check_offline`] applies the same rules to what
//! the user's last online check learned (kept in the cache); a user never checked online
//! is denied.

use crate::backend::ldap::connection::Connection;
use crate::backend::ldap::search::{Entry, SearchError};
use crate::backend::ldap::{MapCtx, filter, now};
use crate::cache::AccessRecord;
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

/// Runs the `ldap_access_order` rules for `user` in order; the first that does not allow
/// decides. Returns the status and what the rules learned (for [`check_offline`]). Server
/// and transport errors are returned for the caller to handle.
pub async fn check(
    ctx: &MapCtx,
    conn: &Connection,
    opts: &AuthOptions,
    user: &User,
) -> Result<(i32, AccessRecord), SearchError> {
    let mut learned = AccessRecord::default();
    if opts.ldap_access_order.is_empty() {
        return Ok((empty_order(&user.name), learned));
    }
    for rule in &opts.ldap_access_order {
        let st = match rule.to_ascii_lowercase().as_str() {
            "filter" => check_filter(ctx, conn, opts, user, &mut learned).await?,
            "expire" => check_expire(ctx, conn, opts, user, &mut learned).await?,
            other => unsupported_rule(other, &user.name),
        };
        if st != status::SUCCESS {
            return Ok((st, learned));
        }
    }
    tracing::debug!("ldap access: {:?} allowed", user.name);
    Ok((status::SUCCESS, learned))
}

/// The `ldap_access_order` rules for user `name` while the directory cannot be reached,
/// decided on what the last online check `learned` (as SSSD uses its cached results): the
/// filter rule repeats that check's answer, the expire rule compares the expiry value it
/// read with today (days since the epoch). A user never checked online, or a rule that
/// check did not reach, is denied.
pub fn check_offline(
    opts: &AuthOptions,
    name: &str,
    learned: Option<&AccessRecord>,
    today: i64,
) -> i32 {
    let Some(rec) = learned else {
        tracing::info!("ldap access: {name:?} was never checked online; denied while offline");
        return status::PERM_DENIED;
    };
    if opts.ldap_access_order.is_empty() {
        return empty_order(name);
    }
    let not_reached = |rule: &str| {
        tracing::info!(
            "ldap access: the last online check of {name:?} did not reach the {rule:?} rule; \
             denied while offline"
        );
        status::PERM_DENIED
    };
    for rule in &opts.ldap_access_order {
        let st = match rule.to_ascii_lowercase().as_str() {
            "filter" => match rec.filter_matched {
                Some(true) => status::SUCCESS,
                Some(false) => {
                    tracing::info!(
                        "ldap_access_filter: {name:?} did not match when last checked online; \
                         denied while offline"
                    );
                    status::PERM_DENIED
                }
                None => not_reached("filter"),
            },
            "expire" => match (expire_attr(opts, name), &rec.shadow_expire) {
                (Err(st), _) => st,
                (Ok(attr), Some(value)) => expire_status(name, attr, value.as_deref(), today),
                (Ok(_), None) => not_reached("expire"),
            },
            other => unsupported_rule(other, name),
        };
        if st != status::SUCCESS {
            return st;
        }
    }
    tracing::debug!("ldap access: {name:?} allowed from the last online check (offline)");
    status::SUCCESS
}

fn empty_order(name: &str) -> i32 {
    tracing::error!("access_provider = ldap with an empty ldap_access_order: {name:?} denied");
    status::PERM_DENIED
}

fn unsupported_rule(rule: &str, name: &str) -> i32 {
    tracing::error!(
        "ldap_access_order rule {rule:?} is not supported by this implementation: \
         {name:?} denied (remove it from ldap_access_order to allow access)"
    );
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

/// The `expire` rule.
async fn check_expire(
    ctx: &MapCtx,
    conn: &Connection,
    opts: &AuthOptions,
    user: &User,
    learned: &mut AccessRecord,
) -> Result<i32, SearchError> {
    let attr = match expire_attr(opts, &user.name) {
        Ok(a) => a,
        Err(st) => return Ok(st),
    };
    let o = &ctx.opts;
    let f = format!(
        "(&{}(objectClass={}))",
        filter::eq(&o.user_name, &user.name),
        o.user_object_class
    );
    let entries = user_entries(ctx, conn, user, &f, vec![attr.to_string()]).await?;
    let [entry] = entries.as_slice() else {
        tracing::error!(
            "expire check: {} entries found for {:?} (DN {:?}): access denied",
            entries.len(),
            user.name,
            user.dn
        );
        return Ok(status::PERM_DENIED);
    };
    let value = entry.first(attr);
    learned.shadow_expire = Some(value.map(str::to_owned));
    let today = now().div_euclid(86_400);
    Ok(expire_status(&user.name, attr, value, today))
}

/// The attribute the `expire` rule reads, or the status denying everyone when
/// `ldap_account_expire_policy` or the attribute option does not allow the rule.
fn expire_attr<'a>(opts: &'a AuthOptions, name: &str) -> Result<&'a str, i32> {
    let policy = opts
        .ldap_account_expire_policy
        .as_deref()
        .map(str::trim)
        .unwrap_or("");
    if policy.is_empty() {
        tracing::error!(
            "ldap_access_order contains \"expire\" but ldap_account_expire_policy is not set: \
             {name:?} denied"
        );
        return Err(status::PERM_DENIED);
    }
    if !policy.eq_ignore_ascii_case("shadow") {
        tracing::error!(
            "ldap_account_expire_policy = {policy:?} is not supported (only \"shadow\"): \
             {name:?} denied"
        );
        return Err(status::PERM_DENIED);
    }
    let attr = opts.ldap_user_shadow_expire.trim();
    if attr.is_empty() {
        tracing::error!("ldap_user_shadow_expire is empty: {name:?} denied");
        return Err(status::PERM_DENIED);
    }
    Ok(attr)
}

/// The `expire` rule's status for user `name` whose `attr` is `value` on day `today`.
fn expire_status(name: &str, attr: &str, value: Option<&str>, today: i64) -> i32 {
    match shadow_expired(value, today) {
        Ok(false) => status::SUCCESS,
        Ok(true) => {
            tracing::info!(
                "{name:?}: account expired according to shadow attributes ({attr} = {:?})",
                value.unwrap_or("")
            );
            status::ACCT_EXPIRED
        }
        Err(e) => {
            tracing::error!("{name:?}: {e}: access denied");
            status::PERM_DENIED
        }
    }
}

/// Whether a shadow expiry value (`None` when the attribute is missing) means the account
/// is expired on day `today` (days since the epoch): only a positive value on or before
/// today does. `Err` names a malformed value.
pub fn shadow_expired(value: Option<&str>, today: i64) -> Result<bool, String> {
    let v = match value.map(str::trim) {
        None | Some("") => return Ok(false),
        Some(v) => v,
    };
    let days: i64 = v
        .parse()
        .map_err(|_| format!("malformed shadow expiry value {v:?}"))?;
    if days < -1 {
        return Err(format!("negative shadow expiry value {v:?}"));
    }
    Ok(days > 0 && today >= days)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::ldap::test_ctx;
    use crate::config::Config;

    fn auth(filter: Option<&str>, order: &[&str], policy: Option<&str>) -> AuthOptions {
        let c = Config::parse(
            "[sssd]\ndomains = D\n[domain/D]\nid_provider = ldap\n",
            "test.conf",
        )
        .expect("parses");
        let mut a = AuthOptions::from_config(&c, "D").expect("auth options");
        a.access_provider = "ldap".into();
        a.ldap_access_filter = filter.map(str::to_string);
        a.ldap_access_order = order.iter().map(|s| s.to_string()).collect();
        a.ldap_account_expire_policy = policy.map(str::to_string);
        a
    }

    #[test]
    fn filters_are_wrapped_escaped_and_validated() {
        let ctx = test_ctx(true);
        let a = auth(Some("employeeType=admin"), &["filter"], None);
        assert_eq!(
            access_filter(&ctx, &a, "alice").as_deref(),
            Ok("(&(uid=alice)(objectClass=posixAccount)(employeeType=admin))")
        );
        let a = auth(Some(" (|(a=1)(b=2)) "), &["filter"], None);
        assert_eq!(
            access_filter(&ctx, &a, "x*(y)\\z").as_deref(),
            Ok("(&(uid=x\\2a\\28y\\29\\5cz)(objectClass=posixAccount)(|(a=1)(b=2)))")
        );
        for missing in [None, Some(""), Some("   ")] {
            let a = auth(missing, &["filter"], None);
            assert_eq!(
                access_filter(&ctx, &a, "alice"),
                Err(AccessConfigError::NoFilter)
            );
        }
        for bad in [
            "(employeeType=admin",
            "(&(a=1)",
            "((a=1))",
            "(a=1))(|(b=2)",
            "(a=1)junk",
            "(=x)",
        ] {
            let a = auth(Some(bad), &["filter"], None);
            let e = access_filter(&ctx, &a, "alice").expect_err(bad);
            assert_eq!(e, AccessConfigError::BadFilter(bad.to_string()));
            assert!(e.to_string().contains("ldap_access_filter"), "{e}");
        }
    }

    #[test]
    fn shadow_expiry_compares_days() {
        let today = 20_000;
        assert_eq!(shadow_expired(None, today), Ok(false));
        assert_eq!(shadow_expired(Some(""), today), Ok(false));
        assert_eq!(shadow_expired(Some("19999"), today), Ok(true));
        assert_eq!(
            shadow_expired(Some("20000"), today),
            Ok(true),
            "expires on the day"
        );
        assert_eq!(shadow_expired(Some(" 20001 "), today), Ok(false));
        assert_eq!(
            shadow_expired(Some("0"), today),
            Ok(false),
            "0 never expires"
        );
        assert_eq!(
            shadow_expired(Some("-1"), today),
            Ok(false),
            "-1 never expires"
        );
        assert!(shadow_expired(Some("-2"), today).is_err());
        assert!(shadow_expired(Some("soon"), today).is_err());
        assert!(shadow_expired(Some("1e5"), today).is_err());
        assert!(shadow_expired(Some("99999999999999999999999"), today).is_err());
    }

    #[test]
    fn offline_decisions_use_what_the_online_check_learned() {
        use crate::cache::AccessRecord;
        let today = 20_000;
        let rec = |filter_matched, expire: Option<Option<&str>>| AccessRecord {
            filter_matched,
            shadow_expire: expire.map(|v| v.map(str::to_owned)),
        };
        let filter = auth(Some("(a=1)"), &["filter"], None);
        let both = auth(Some("(a=1)"), &["filter", "expire"], Some("shadow"));
        let d = |o: &AuthOptions, r: Option<&AccessRecord>| check_offline(o, "u", r, today);
        // Never checked online: denied.
        assert_eq!(d(&filter, None), status::PERM_DENIED);
        assert_eq!(d(&filter, Some(&rec(Some(true), None))), status::SUCCESS);
        assert_eq!(
            d(&filter, Some(&rec(Some(false), None))),
            status::PERM_DENIED
        );
        // The expire rule compares the value read online with today.
        let at = |v: &str| rec(Some(true), Some(Some(v)));
        assert_eq!(d(&both, Some(&at("20001"))), status::SUCCESS);
        assert_eq!(d(&both, Some(&at("20000"))), status::ACCT_EXPIRED);
        assert_eq!(d(&both, Some(&at("garbage"))), status::PERM_DENIED);
        assert_eq!(
            d(&both, Some(&rec(Some(true), Some(None)))),
            status::SUCCESS
        );
        // A rule the online check did not reach (the order changed since): denied.
        assert_eq!(d(&both, Some(&rec(Some(true), None))), status::PERM_DENIED);
        let expire_first = auth(Some("(a=1)"), &["expire", "filter"], Some("shadow"));
        assert_eq!(
            d(&expire_first, Some(&rec(None, Some(Some("1"))))),
            status::ACCT_EXPIRED
        );
        // Configuration that denies online denies offline too.
        let no_policy = auth(Some("(a=1)"), &["filter", "expire"], None);
        assert_eq!(d(&no_policy, Some(&at("20001"))), status::PERM_DENIED);
        assert_eq!(
            d(
                &auth(Some("(a=1)"), &["filter", "host"], None),
                Some(&at("1"))
            ),
            status::PERM_DENIED
        );
        assert_eq!(
            d(&auth(Some("(a=1)"), &[], None), Some(&at("1"))),
            status::PERM_DENIED
        );
    }
}
