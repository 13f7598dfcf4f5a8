//! Attribute-scoped queries (AD's ASQ control, 1.2.840.113556.1.4.1504): one base search on
//! a group that returns the entries its `member` values name, instead of one search per
//! batch of member names. SSSD dereferences this way when a group has more than
//! `ldap_deref_threshold` members missing from the cache.

use super::connection::Connection;
use super::nesting::{Graph, Pending, login_name};
use super::search::{self, Entry, SearchError, SearchSpec};
use super::{MapCtx, dn, filter, with_base_filter};
use crate::backend::ad::cldap::ber::tlv;
use ldap3::Scope;
use ldap3::controls::RawControl;
use std::collections::HashSet;
use std::sync::atomic::Ordering;

/// OID of the attribute-scoped query control.
pub const ASQ_OID: &str = "1.2.840.113556.1.4.1504";

/// The ASQ request control for `attr`: `SEQUENCE { sourceAttribute OCTET STRING }`, critical
/// so that a server without it refuses rather than answers the base entry alone.
pub fn control(attr: &str) -> RawControl {
    let inner = tlv(0x04, attr.as_bytes());
    RawControl {
        ctype: ASQ_OID.to_string(),
        crit: true,
        val: Some(tlv(0x30, &inner)),
    }
}

/// Whether member expansion for this domain may dereference with ASQ: an AD schema (AD and
/// Samba offer the control), a non-zero `ldap_deref_threshold`, and subtree user searches
/// (so that "under the user base" is the whole scope test).
pub fn usable(ctx: &MapCtx, conn: &Connection) -> bool {
    ctx.opts.ad_schema && ctx.opts.deref_threshold > 0 && conn.bases.user_scope == Scope::Subtree
}

/// The user entries (object class, name) among the members of `group_dn`, restricted as a
/// user search is (user filter and base). `None` when the server refuses the control or the
/// query, so that the caller falls back to searching by name; entries the server leaves out
/// (a size limit) are simply not returned.
pub async fn member_users(
    ctx: &MapCtx,
    conn: &Connection,
    group_dn: &str,
) -> Result<Option<Vec<Entry>>, SearchError> {
    let o = &ctx.opts;
    let f = with_base_filter(
        &filter::user(o, "(objectClass=*)"),
        conn.bases.user_filter.as_deref(),
    );
    tracing::debug!(
        "dereferencing {} of {group_dn:?} (ASQ) on {}",
        o.group_member,
        conn.uri
    );
    ctx.searches.fetch_add(1, Ordering::Relaxed);
    let attrs = vec!["objectClass".to_string(), o.user_name.clone()];
    // Unpaged: Samba reruns the whole query for each page (more than twice as slow), and
    // with a size limit AD returns what fits, the rest being searched by name.
    let spec = SearchSpec {
        controls: vec![control(&o.group_member)],
        ..SearchSpec::unpaged(group_dn, Scope::Base, &f, attrs, ctx.search_timeout())
    };
    match search::search(&conn.ldap, &conn.uri, spec).await {
        Ok(entries) => {
            let base = dn::normalize(&conn.bases.user);
            Ok(Some(
                entries
                    .into_iter()
                    .filter(|e| dn::is_under(&dn::normalize(&e.dn), &base))
                    .collect(),
            ))
        }
        Err(SearchError::Server { rc, text, .. }) => {
            tracing::info!(
                "{} refused an attribute-scoped query on {group_dn:?} (rc={rc} {text}); \
                 searching members by name",
                conn.uri
            );
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Resolves the pending user and unknown DNs of every group in `parents` that has more than
/// `ldap_deref_threshold` of them with one attribute-scoped query (see [`member_users`]);
/// returns what is left (groups, and members the query did not return).
pub async fn dereference(
    ctx: &MapCtx,
    conn: &Connection,
    graph: &mut Graph,
    parents: &[String],
    p: Pending,
) -> Result<Pending, SearchError> {
    let threshold = usize::try_from(ctx.opts.deref_threshold).unwrap_or(usize::MAX);
    if !usable(ctx, conn) || p.users.len() + p.unknown.len() <= threshold {
        return Ok(p);
    }
    let mut wanted: HashSet<String> = p
        .users
        .iter()
        .chain(&p.unknown)
        .map(|d| dn::normalize(d))
        .collect();
    for parent in parents {
        if graph.members_among(parent, &wanted) <= threshold {
            continue;
        }
        let Some(entries) = member_users(ctx, conn, &graph.original_dn(parent)).await? else {
            break;
        };
        for e in entries {
            if !wanted.remove(&dn::normalize(&e.dn)) {
                continue;
            }
            if let Some(n) = login_name(&e, &ctx.opts.user_name) {
                graph.add_user_dn(&e.dn, &ctx.name(n));
            } else {
                graph.mark_seen(&e.dn);
            }
        }
    }
    let left = |d: &String| wanted.contains(&dn::normalize(d));
    Ok(Pending {
        users: p.users.into_iter().filter(left).collect(),
        unknown: p.unknown.into_iter().filter(left).collect(),
        groups: p.groups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_the_source_attribute() {
        let c = control("member");
        assert_eq!(c.ctype, ASQ_OID);
        assert!(c.crit);
        assert_eq!(c.val.as_deref(), Some(b"\x30\x08\x04\x06member".as_slice()));
    }

    #[test]
    fn long_attribute_names_use_the_long_length_form() {
        let name = "m".repeat(200);
        let v = control(&name).val.unwrap_or_default();
        // OCTET STRING of 200 bytes: 04 81 C8, inside a SEQUENCE of 203: 30 81 CB.
        assert_eq!(&v[..6], &[0x30, 0x81, 0xCB, 0x04, 0x81, 0xC8]);
        assert_eq!(v.len(), 3 + 3 + 200);
    }
}
