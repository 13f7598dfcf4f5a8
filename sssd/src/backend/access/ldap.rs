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

use crate::backend::ldap::connection::Connection;
use crate::backend::ldap::search::{Entry, SearchError};
use crate::backend::ldap::{MapCtx, filter, now};
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
/// decides. Server and transport errors are returned for the caller to handle.
pub async fn check(
    ctx: &MapCtx,
    conn: &Connection,
    opts: &AuthOptions,
    user: &User,
) -> Result<i32, SearchError> {
    if opts.ldap_access_order.is_empty() {
        tracing::error!(
            "access_provider = ldap with an empty ldap_access_order: {:?} denied",
            user.name
        );
        return Ok(status::PERM_DENIED);
    }
    for rule in &opts.ldap_access_order {
        let st = match rule.to_ascii_lowercase().as_str() {
            "filter" => check_filter(ctx, conn, opts, user).await?,
            "expire" => check_expire(ctx, conn, opts, user).await?,
            other => {
                tracing::error!(
                    "ldap_access_order rule {other:?} is not supported by this implementation: \
                     {:?} denied (remove it from ldap_access_order to allow access)",
                    user.name
                );
                status::PERM_DENIED
            }
        };
        if st != status::SUCCESS {
            return Ok(st);
        }
    }
    tracing::debug!("ldap access: {:?} allowed", user.name);
    Ok(status::SUCCESS)
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
) -> Result<i32, SearchError> {
    let policy = opts
        .ldap_account_expire_policy
        .as_deref()
        .map(str::trim)
        .unwrap_or("");
    if policy.is_empty() {
        tracing::error!(
            "ldap_access_order contains \"expire\" but ldap_account_expire_policy is not set: \
             {:?} denied",
            user.name
        );
        return Ok(status::PERM_DENIED);
    }
    if !policy.eq_ignore_ascii_case("shadow") {
        tracing::error!(
            "ldap_account_expire_policy = {policy:?} is not supported (only \"shadow\"): \
             {:?} denied",
            user.name
        );
        return Ok(status::PERM_DENIED);
    }
    let attr = opts.ldap_user_shadow_expire.trim();
    if attr.is_empty() {
        tracing::error!("ldap_user_shadow_expire is empty: {:?} denied", user.name);
        return Ok(status::PERM_DENIED);
    }
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
    let today = now().div_euclid(86_400);
    match shadow_expired(entry.first(attr), today) {
        Ok(false) => Ok(status::SUCCESS),
        Ok(true) => {
            tracing::info!(
                "{:?}: account expired according to shadow attributes ({attr} = {:?})",
                user.name,
                entry.first(attr).unwrap_or("")
            );
            Ok(status::ACCT_EXPIRED)
        }
        Err(e) => {
            tracing::error!("{:?}: {e}: access denied", user.name);
            Ok(status::PERM_DENIED)
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
}
