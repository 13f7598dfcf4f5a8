//! Initgroups the AD way: the user's constructed `tokenGroups` attribute lists the SID of
//! every group the user is in, nested ones and the primary group included, in one base
//! read. The groups are then fetched by SID, a batch of SIDs per search, with at most
//! [`MEMBER_PREFIX`] of their member values (a group of thousands costs no more than a
//! small one). A group whose members all came back and are all known without a search
//! (the user, the user's other groups, fresh cache entries) is stored complete, so that a
//! lookup of it right after (as `id` does for every group) needs no search; the others are
//! stored as partial groups, which a group lookup completes.

use super::super::connection::Connection;
use super::super::groups::{dedup, group_from_entry};
use super::super::idmap::Sid;
use super::super::ids::OBJECT_SID;
use super::super::nesting::{self, BATCH, Graph};
use super::super::search::SearchError;
use super::super::{MapCtx, filter, ranges};
use crate::backend::store::CacheOp;
use crate::model::{Group, User};
use ldap3::Scope;

/// How many member values of each group initgroups reads (`member;range=0-19`).
pub const MEMBER_PREFIX: u32 = 20;

/// The constructed attribute listing a user's group SIDs.
pub const TOKEN_GROUPS: &str = "tokenGroups";

/// The SIDs of `user_dn`'s tokenGroups (malformed values dropped).
pub async fn read(ctx: &MapCtx, conn: &Connection, user_dn: &str) -> Result<Vec<Sid>, SearchError> {
    let entries = ctx
        .search_with(
            conn,
            user_dn,
            Scope::Base,
            "(objectClass=*)",
            vec![TOKEN_GROUPS.into()],
            ctx.search_timeout(),
        )
        .await?;
    let Some(e) = entries.first() else {
        return Ok(Vec::new());
    };
    Ok(e.raw_values(TOKEN_GROUPS)
        .into_iter()
        .filter_map(|b| match Sid::from_bytes(b) {
            Ok(s) => Some(s),
            Err(err) => {
                tracing::warn!("{user_dn}: malformed tokenGroups value: {err}");
                None
            }
        })
        .collect())
}

/// Whether initgroups reads the first [`MEMBER_PREFIX`] members of each group (not with
/// `ldap_disable_range_retrieval`: the range option is what bounds the read).
fn reads_members(ctx: &MapCtx) -> bool {
    !ctx.opts.disable_range_retrieval
}

/// The group attributes initgroups needs: everything but the member list, and the first
/// [`MEMBER_PREFIX`] members.
fn attrs(ctx: &MapCtx) -> Vec<String> {
    let member = ctx.opts.group_member.to_ascii_lowercase();
    let mut out: Vec<String> = filter::group_attrs(&ctx.opts)
        .into_iter()
        .filter(|a| a.to_ascii_lowercase() != member)
        .chain(std::iter::once(OBJECT_SID.to_string()))
        .collect();
    if reads_members(ctx) {
        out.push(format!("{member};range=0-{}", MEMBER_PREFIX - 1));
    }
    out
}

/// Stores `user`'s groups from its tokenGroups and its gid list.
pub async fn store(
    ctx: &MapCtx,
    conn: &Connection,
    user: &User,
    ops: &mut Vec<CacheOp>,
) -> Result<(), SearchError> {
    let sids = read(ctx, conn, &user.dn).await?;
    let member = ctx.opts.group_member.to_ascii_lowercase();
    let mut graph = Graph::new(ctx, &conn.bases.user, &conn.bases.group);
    graph.add_user_dn(&user.dn, &user.name);
    // Each group with its graph key and whether all its member values came back.
    let mut found: Vec<(String, Group, bool)> = Vec::new();
    let mut gids = Vec::new();
    for chunk in sids.chunks(BATCH) {
        let parts: Vec<String> = chunk
            .iter()
            .map(|s| format!("({OBJECT_SID}={})", s.ldap_filter_value()))
            .collect();
        let f = filter::group(&ctx.opts, &filter::or(&parts), true);
        for mut e in ctx.search_groups_ranged(conn, &f, attrs(ctx)).await? {
            let rest = ranges::merge(&mut e);
            let Some(g) = group_from_entry(ctx, &e, None) else {
                continue;
            };
            if !gids.contains(&g.gid) {
                gids.push(g.gid);
            }
            let all_members = reads_members(ctx) && !rest.iter().any(|m| m.attr == member);
            found.push((graph.add_group(&e), g, all_members));
        }
    }
    // Members that are neither the user nor one of its groups: from the cache, if fresh.
    let keys: Vec<String> = found.iter().map(|(k, ..)| k.clone()).collect();
    let pending = graph.pending(&keys, true);
    nesting::take_cached(ctx, &mut graph, pending, true).await;
    let levels = ctx.opts.group_nesting_level;
    let expire = ctx.group_expire();
    for (key, mut g, all_members) in found {
        if all_members && graph.fully_known(&key, levels) {
            g.members = dedup(graph.members(&key, levels).iter().map(|n| ctx.name(n)));
            ops.push(CacheOp::PutGroup(g, expire));
        } else {
            ops.push(CacheOp::PutGroupPartial(g));
        }
    }
    ops.push(CacheOp::SetInitgroups {
        name: user.name.clone(),
        gids,
        expire: ctx.user_expire(),
    });
    Ok(())
}
