//! Enumeration (`enumerate = true`): a full, paged download of every user and group.
//!
//! Nested groups are expanded in memory from the downloaded groups, so the refresh needs
//! exactly two searches however large the directory is.

use super::connection::Connection;
use super::groups::{dedup, group_from_entry};
use super::nesting::Graph;
use super::search::SearchError;
use super::users::user_from_entry;
use super::{MapCtx, dn, filter};
use crate::backend::store::CacheOp;
use std::time::Duration;

/// Downloads all users and groups; the ops store them and prune every cached user and group
/// that the directory no longer has.
pub async fn enumerate(ctx: &MapCtx, conn: &Connection) -> Result<Vec<CacheOp>, SearchError> {
    let o = &ctx.opts;
    let t = Duration::from_secs(u64::from(o.enumeration_search_timeout.max(1)));
    let user_entries = ctx
        .search_users(conn, &filter::user(o, ""), filter::user_attrs(o), Some(t))
        .await?;
    // Nested rfc2307bis groups need not be POSIX; fetch them all and keep the POSIX ones.
    let group_entries = ctx
        .search_groups(
            conn,
            &filter::group(o, "", !o.rfc2307bis),
            filter::group_attrs(o),
            Some(t),
        )
        .await?;

    let mut graph = Graph::new(ctx, &conn.bases.user, &conn.bases.group);
    let mut ops = Vec::new();
    let mut user_names = Vec::new();
    let user_expire = ctx.user_expire();
    for e in &user_entries {
        if let Some(u) = user_from_entry(ctx, e, None) {
            graph.add_user_dn(&e.dn, &u.name);
            user_names.push(u.name.clone());
            super::users::put_user_ops(ctx, e, u, user_expire, &mut ops);
        }
    }
    let roots: Vec<String> = group_entries.iter().map(|e| graph.add_group(e)).collect();
    let mut group_names = Vec::new();
    let group_expire = ctx.group_expire();
    for (e, root) in group_entries.iter().zip(roots) {
        let Some(mut g) = group_from_entry(ctx, e, None) else {
            continue;
        };
        g.members = if o.rfc2307bis {
            dedup(
                graph
                    .members(&root, o.group_nesting_level)
                    .into_iter()
                    .map(|n| ctx.name(&n)),
            )
        } else {
            dedup(e.values(&o.group_member).iter().map(|n| ctx.name(n)))
        };
        group_names.push(g.name.clone());
        ops.push(CacheOp::PutGroup(g, group_expire));
    }
    tracing::info!(
        "enumeration from {}: {} users, {} groups (base {:?})",
        conn.uri,
        user_names.len(),
        group_names.len(),
        dn::normalize(&conn.bases.user)
    );
    ops.push(CacheOp::PruneUsers(user_names));
    ops.push(CacheOp::PruneGroups(group_names));
    Ok(ops)
}
