//! Access control (`access_provider`): `permit`, `deny`, `simple` and `ldap`.
//!
//! API contract (the backend's PAM dispatch calls these for SSS_PAM_ACCT_MGMT): `simple`
//! returns a Linux-PAM status (`sss_proto::pam::status::*`); `ldap` returns a
//! [`ldap::Decision`] (status and messages for the user) and, online, what it learned,
//! which the backend caches for offline decisions.

pub mod host;
pub mod ldap;
#[cfg(test)]
mod ldap_tests;
pub mod rules;
pub mod simple;

pub use ldap::{AccessRequest, Decision, HostNames};

use crate::backend::ldap::MapCtx;
use crate::backend::ldap::connection::Connection;
use crate::backend::ldap::search::SearchError;
use crate::cache::AccessRecord;
use crate::config::{AuthOptions, SimpleAccessOptions};
use crate::model::User;

/// `access_provider = simple`: `user` with the names of all its groups (primary included).
/// Deny lists win over allow lists; with no list set everyone is allowed; with any allow list
/// set only listed users/groups are allowed. Names compare case-insensitively when
/// `case_sensitive` is false.
///
/// The domain is not known here: a `name@domain` list entry matches by short name unless
/// `user` (or the group name) is itself qualified; [`simple_in_domain`] compares domains.
pub fn simple(
    opts: &SimpleAccessOptions,
    user: &str,
    groups: &[String],
    case_sensitive: bool,
) -> i32 {
    simple::check(opts, None, user, groups, case_sensitive)
}

/// [`simple`] for a user of `domain`: a list entry qualified with another domain
/// (`name@OTHER`) never matches.
pub fn simple_in_domain(
    opts: &SimpleAccessOptions,
    domain: &str,
    user: &str,
    groups: &[String],
    case_sensitive: bool,
) -> i32 {
    simple::check(opts, Some(domain), user, groups, case_sensitive)
}

/// `access_provider = ldap`: runs the `ldap_access_order` rules for `user` and request
/// `req` on `conn`, and returns what the rules learned for [`ldap_offline`]. The `ldap`
/// submodule documents every rule.
pub async fn ldap(
    ctx: &MapCtx,
    conn: &Connection,
    opts: &AuthOptions,
    user: &User,
    req: &AccessRequest<'_>,
) -> Result<(Decision, AccessRecord), SearchError> {
    ldap::check(ctx, conn, opts, user, req).await
}

/// `access_provider = ldap` while offline: the rules decided on what the last online check
/// of user `name` learned (`None`: never checked online, denied) at `now` (seconds since
/// the epoch).
pub fn ldap_offline(
    opts: &AuthOptions,
    name: &str,
    req: &AccessRequest<'_>,
    learned: Option<&AccessRecord>,
    now: i64,
) -> Decision {
    ldap::check_offline(opts, name, req, learned, now)
}
