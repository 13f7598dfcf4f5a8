//! Initgroups: the groups a user belongs to, without fetching every member of every group.
//!
//! rfc2307: one search on `memberUid`. rfc2307bis: one search on `member=<user DN>`, then
//! one batched search per nesting level for the parents of the groups found so far.
//! AD (`ldap_use_tokengroups`): the user's tokenGroups, see [`tokengroups`].
//! Groups are stored with the members their entries name directly; those whose member list
//! is incomplete that way are stored expired and never over a cached version.

use super::connection::Connection;
use super::groups::{direct_members, group_from_entry};
use super::nesting::BATCH;
use super::search::{Entry, SearchError};
use super::{MapCtx, dn, filter, users};
use crate::backend::store::CacheOp;
use std::collections::HashSet;

pub mod tokengroups;

/// Fetches user `name` and its groups: stores the user, the (posix, in-range) groups with
/// the members their entries name directly, and the user's gid list. A user missing from
/// the directory is deleted from the cache instead.
pub async fn by_name(
    ctx: &MapCtx,
    conn: &Connection,
    name: &str,
    ops: &mut Vec<CacheOp>,
) -> Result<(), SearchError> {
    let Some((user, raw_name)) = users::by_name(ctx, conn, name, ops).await? else {
        return Ok(());
    };
    let o = &ctx.opts;
    let entries = if o.ad_schema && o.use_tokengroups {
        return tokengroups::store(ctx, conn, &user, ops).await;
    } else if o.rfc2307bis {
        nested_parents(ctx, conn, &user.dn).await?
    } else {
        // memberUid matches case-exactly: use the name as the directory spells it.
        let f = filter::group(o, &filter::eq(&o.group_member, &raw_name), true);
        ctx.search_groups(conn, &f, filter::group_attrs(o), None)
            .await?
    };
    let mut gids = Vec::new();
    let expire = ctx.group_expire();
    for e in &entries {
        let Some(mut g) = group_from_entry(ctx, e, None) else {
            continue;
        };
        let (members, complete) = direct_members(ctx, e, &conn.bases.user, &conn.bases.group);
        g.members = members;
        if !gids.contains(&g.gid) {
            gids.push(g.gid);
        }
        // A group whose member list needs more searches is only stored when the cache has
        // no version of it yet, and stored expired, so a group lookup completes it.
        ops.push(if complete {
            CacheOp::PutGroup(g, expire)
        } else {
            CacheOp::PutGroupPartial(g)
        });
    }
    ops.push(CacheOp::SetInitgroups {
        name: user.name.clone(),
        gids,
        expire: ctx.user_expire(),
    });
    Ok(())
}

/// The groups with `member=<user_dn>` and their ancestors up to the nesting level.
async fn nested_parents(
    ctx: &MapCtx,
    conn: &Connection,
    user_dn: &str,
) -> Result<Vec<Entry>, SearchError> {
    let o = &ctx.opts;
    let mut all = Vec::new();
    let mut seen = HashSet::new();
    let mut children = vec![user_dn.to_string()];
    for _level in 0..=o.group_nesting_level {
        let mut next = Vec::new();
        for chunk in children.chunks(BATCH) {
            let parts: Vec<String> = chunk
                .iter()
                .map(|d| filter::eq(&o.group_member, d))
                .collect();
            let f = filter::group(o, &filter::or(&parts), false);
            let found = ctx
                .search_groups(conn, &f, filter::group_attrs(o), None)
                .await?;
            for e in found {
                if seen.insert(dn::normalize(&e.dn)) {
                    next.push(e.dn.clone());
                    all.push(e);
                }
            }
        }
        if next.is_empty() {
            break;
        }
        children = next;
    }
    Ok(all)
}
