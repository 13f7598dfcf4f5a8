//! Initgroups the AD way: the user's constructed `tokenGroups` attribute lists the SID of
//! every group the user is in, nested ones and the primary group included, in one base
//! read. The groups are then fetched by SID, a batch of SIDs per search, without their
//! member lists (a group of thousands costs no more than a small one); they are stored as
//! partial groups, which a group lookup completes.

use super::super::connection::Connection;
use super::super::groups::group_from_entry;
use super::super::idmap::Sid;
use super::super::ids::OBJECT_SID;
use super::super::nesting::BATCH;
use super::super::search::SearchError;
use super::super::{MapCtx, filter};
use crate::backend::store::CacheOp;
use crate::model::User;
use ldap3::Scope;

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

/// The group attributes initgroups needs: everything but the member list.
fn attrs(ctx: &MapCtx) -> Vec<String> {
    let member = ctx.opts.group_member.to_ascii_lowercase();
    filter::group_attrs(&ctx.opts)
        .into_iter()
        .filter(|a| a.to_ascii_lowercase() != member)
        .chain(std::iter::once(OBJECT_SID.to_string()))
        .collect()
}

/// Stores `user`'s groups from its tokenGroups and its gid list.
pub async fn store(
    ctx: &MapCtx,
    conn: &Connection,
    user: &User,
    ops: &mut Vec<CacheOp>,
) -> Result<(), SearchError> {
    let sids = read(ctx, conn, &user.dn).await?;
    let mut gids = Vec::new();
    for chunk in sids.chunks(BATCH) {
        let parts: Vec<String> = chunk
            .iter()
            .map(|s| format!("({OBJECT_SID}={})", s.ldap_filter_value()))
            .collect();
        let f = filter::group(&ctx.opts, &filter::or(&parts), true);
        for e in ctx.search_groups(conn, &f, attrs(ctx), None).await? {
            let Some(g) = group_from_entry(ctx, &e, None) else {
                continue;
            };
            if !gids.contains(&g.gid) {
                gids.push(g.gid);
            }
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
