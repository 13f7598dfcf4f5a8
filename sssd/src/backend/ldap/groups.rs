//! Groups: entry → [`Group`] mapping, member flattening and the lookups by name and gid.

use super::connection::Connection;
use super::nesting::{self, Graph, rdn_name_is_certain};
use super::search::{Entry, SearchError};
use super::{MapCtx, dn, filter};
use crate::backend::store::CacheOp;
use crate::model::Group;
use std::collections::HashSet;

/// Maps a group entry without members; `None` when the name or gid is missing or
/// malformed, or the gid is outside `min_id`..`max_id`.
pub fn group_from_entry(ctx: &MapCtx, e: &Entry, wanted: Option<&str>) -> Option<Group> {
    let o = &ctx.opts;
    let names = e.values(&o.group_name);
    let name = wanted
        .and_then(|w| names.iter().find(|n| ctx.same_name(n, w)))
        .or_else(|| names.first())?;
    if name.is_empty() || name.contains('\0') {
        tracing::warn!(
            "group entry {:?} has an empty name or a NUL byte: ignored",
            e.dn
        );
        return None;
    }
    let gid = ctx.group_gid(e)?;
    if gid == 0 || !ctx.id_in_range(gid) {
        tracing::debug!("group {name:?} gid {gid} is outside min_id/max_id: ignored");
        return None;
    }
    Some(Group {
        name: ctx.name(name),
        gid,
        members: Vec::new(),
        dn: e.dn.clone(),
        modify_timestamp: e.first("modifyTimestamp").map(str::to_string),
    })
}

/// The members of a group entry that can be named without any search: `memberUid` values
/// (rfc2307), or member DNs whose RDN is the user name attribute (rfc2307bis). The flag
/// tells whether that is every member (false when some member DN would need a search:
/// nested groups, other DN shapes, or an RDN value whose case may differ from the name).
pub fn direct_members(
    ctx: &MapCtx,
    e: &Entry,
    user_base: &str,
    group_base: &str,
) -> (Vec<String>, bool) {
    let o = &ctx.opts;
    let mut complete = true;
    let raw: Vec<String> = if o.rfc2307bis {
        let ub = [dn::normalize(user_base)];
        let gb = [dn::normalize(group_base)];
        e.values(&o.group_member)
            .iter()
            .filter_map(
                |m| match dn::classify(m, &o.user_name, &o.group_name, &ub, &gb) {
                    dn::MemberKind::User(n) if rdn_name_is_certain(&n, ctx.case_sensitive) => {
                        Some(n)
                    }
                    _ => {
                        complete = false;
                        None
                    }
                },
            )
            .collect()
    } else {
        e.values(&o.group_member).to_vec()
    };
    (dedup(raw.into_iter().map(|n| ctx.name(&n))), complete)
}

/// Deduplicates names keeping the first occurrence.
pub fn dedup(names: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = HashSet::new();
    names
        .into_iter()
        .filter(|n| !n.is_empty() && !n.contains('\0') && seen.insert(n.clone()))
        .collect()
}

/// Complete groups: those asked for, and the nested groups their expansion read in full.
#[derive(Debug, Default)]
pub struct Completed {
    /// The groups asked for, in order.
    pub groups: Vec<Group>,
    /// Nested groups met on the way whose flattened members are known in full (SSSD stores
    /// those too): stored fresh, a lookup of one of them needs no search.
    pub nested: Vec<Group>,
}

/// Maps found group entries to complete groups: rfc2307 members directly, rfc2307bis with
/// nested groups expanded (one batched search per nesting level for all of them together).
pub async fn complete(
    ctx: &MapCtx,
    conn: &Connection,
    found: Vec<(Entry, Group)>,
) -> Result<Completed, SearchError> {
    if !ctx.opts.rfc2307bis {
        let groups = found
            .into_iter()
            .map(|(e, mut g)| {
                g.members = direct_members(ctx, &e, &conn.bases.user, &conn.bases.group).0;
                g
            })
            .collect();
        return Ok(Completed {
            groups,
            nested: Vec::new(),
        });
    }
    let mut graph = Graph::new(ctx, &conn.bases.user, &conn.bases.group);
    let roots: Vec<String> = found.iter().map(|(e, _)| graph.add_group(e)).collect();
    nesting::expand(ctx, conn, &mut graph, roots.clone()).await?;
    let levels = ctx.opts.group_nesting_level;
    let nested = graph
        .complete_nested(levels)
        .into_iter()
        .filter_map(|(e, names)| {
            let mut g = group_from_entry(ctx, e, None)?;
            g.members = dedup(names.into_iter().map(|n| ctx.name(&n)));
            Some(g)
        })
        .collect();
    let groups = found
        .into_iter()
        .zip(roots)
        .map(|((_, mut g), root)| {
            let names = graph.members(&root, levels);
            g.members = dedup(names.into_iter().map(|n| ctx.name(&n)));
            g
        })
        .collect();
    Ok(Completed { groups, nested })
}

async fn lookup(
    ctx: &MapCtx,
    conn: &Connection,
    inner: &str,
    keep: impl Fn(&Group) -> bool,
    wanted: Option<&str>,
    ops: &mut Vec<CacheOp>,
) -> Result<Option<Group>, SearchError> {
    let f = filter::group(&ctx.opts, inner, true);
    let entries = ctx
        .search_groups(conn, &f, filter::group_attrs(&ctx.opts), None)
        .await?;
    let found: Vec<(Entry, Group)> = entries
        .into_iter()
        .filter_map(|e| group_from_entry(ctx, &e, wanted).map(|g| (e, g)))
        .filter(|(_, g)| keep(g))
        .take(1)
        .collect();
    let mut done = complete(ctx, conn, found).await?;
    let expire = ctx.group_expire();
    ops.extend(
        done.nested
            .into_iter()
            .map(|g| CacheOp::PutGroup(g, expire)),
    );
    Ok(done.groups.pop())
}

/// Fetches the group named `name`: stores it with flattened members, or deletes it from
/// the cache when the directory has no such (in-range) group.
pub async fn by_name(
    ctx: &MapCtx,
    conn: &Connection,
    name: &str,
    ops: &mut Vec<CacheOp>,
) -> Result<Option<Group>, SearchError> {
    let inner = filter::eq(&ctx.opts.group_name, name);
    let g = lookup(
        ctx,
        conn,
        &inner,
        |g| ctx.same_name(&g.name, name),
        Some(name),
        ops,
    )
    .await?;
    match &g {
        Some(g) => ops.push(CacheOp::PutGroup(g.clone(), ctx.group_expire())),
        None => ops.push(CacheOp::DeleteGroup(ctx.name(name))),
    }
    Ok(g)
}

/// Fetches the group with `gid` likewise.
pub async fn by_gid(
    ctx: &MapCtx,
    conn: &Connection,
    gid: u32,
    ops: &mut Vec<CacheOp>,
) -> Result<Option<Group>, SearchError> {
    let g = match ctx.id_filter(conn, &ctx.opts.group_gid_number, gid).await? {
        Some(inner) => lookup(ctx, conn, &inner, |g| g.gid == gid, None, ops).await?,
        None => None,
    };
    match &g {
        Some(g) => ops.push(CacheOp::PutGroup(g.clone(), ctx.group_expire())),
        None => ops.push(CacheOp::DeleteGroupByGid(gid)),
    }
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::ldap::test_ctx;
    use std::sync::Arc;

    #[test]
    fn maps_rfc2307_groups() {
        let ctx = test_ctx(false);
        let e = Entry::new(
            "cn=Devs,ou=Groups,dc=x",
            &[
                ("cn", &["Devs"]),
                ("gidNumber", &["2000"]),
                ("memberUid", &["Alice", "bob", "alice", ""]),
            ],
        );
        let g = group_from_entry(&ctx, &e, None).unwrap();
        assert_eq!((g.name.as_str(), g.gid), ("devs", 2000));
        assert_eq!(
            direct_members(&ctx, &e, "dc=x", "dc=x"),
            (vec!["alice".to_string(), "bob".to_string()], true)
        );
        let zero = Entry::new("cn=z,dc=x", &[("cn", &["z"]), ("gidNumber", &["0"])]);
        assert!(group_from_entry(&ctx, &zero, None).is_none());
        let junk = Entry::new("cn=z,dc=x", &[("cn", &["z"]), ("gidNumber", &["12x"])]);
        assert!(group_from_entry(&ctx, &junk, None).is_none());
    }

    #[test]
    fn maps_rfc2307bis_member_dns_without_searches() {
        let mut ctx = test_ctx(true);
        let mut o = (*ctx.opts).clone();
        o.rfc2307bis = true;
        o.group_member = "member".into();
        ctx.opts = Arc::new(o);
        let e = Entry::new(
            "cn=g,ou=Groups,dc=x",
            &[
                ("cn", &["g"]),
                ("gidNumber", &["10"]),
                (
                    "member",
                    &[
                        "uid=a,ou=People,dc=x",
                        "cn=sub,ou=Groups,dc=x",
                        "uid=b,ou=People,dc=x",
                    ],
                ),
            ],
        );
        assert_eq!(
            direct_members(&ctx, &e, "ou=People,dc=x", "ou=Groups,dc=x"),
            (vec!["a".to_string(), "b".to_string()], false)
        );
    }
}
