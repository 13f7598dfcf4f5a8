//! Netgroups: the search by name (SSSD's `ldap_id_netgroup.c`) and entry → [`Netgroup`]
//! mapping (`sdap_async_netgroups.c`).
//!
//! One attribute map serves every schema, as in SSSD 2.8: `ldap_netgroup_object_class`
//! (nisNetgroup), `ldap_netgroup_name` (cn), `ldap_netgroup_triple` (nisNetgroupTriple),
//! `ldap_netgroup_member` (memberNisNetgroup) and `ldap_netgroup_modify_timestamp`. Member
//! values are netgroup names, or DNs (rfc2307bis-style directories) that are turned into
//! names. Only the requested netgroup is fetched: its members stay names, and the client
//! (glibc) asks for each of them in turn, so nesting (cycles included) never loops here.

use super::connection::Connection;
use super::search::{Entry, SearchError};
use super::{MapCtx, dn, filter, now};
use crate::backend::store::CacheOp;
use crate::cache::{Netgroup, NetgroupOp, NetgroupTriple};
use ldap3::Scope;
use std::collections::HashSet;

/// The attributes a netgroup search asks for.
fn attrs(ctx: &MapCtx) -> Vec<String> {
    let o = &ctx.opts.netgroup;
    vec![
        "objectClass".into(),
        o.name.clone(),
        o.triple.clone(),
        o.member.clone(),
        o.modify_timestamp.clone(),
    ]
}

/// `(&(<name>=<value>)(objectClass=<class>))`, as SSSD builds it.
fn name_filter(ctx: &MapCtx, name: &str) -> String {
    let o = &ctx.opts.netgroup;
    format!(
        "(&{}(objectClass={}))",
        filter::eq(&o.name, name),
        filter::escape(&o.object_class)
    )
}

/// Maps a netgroup entry; member DNs are left for [`resolve_member_dns`] (returned apart).
/// `None` when the entry has no usable name.
pub fn netgroup_from_entry(
    ctx: &MapCtx,
    e: &Entry,
    wanted: Option<&str>,
) -> Option<(Netgroup, Vec<String>)> {
    let o = &ctx.opts.netgroup;
    let names = e.values(&o.name);
    let name = wanted
        .and_then(|w| names.iter().find(|n| ctx.same_name(n, w)))
        .or_else(|| {
            // Several names: the one in the RDN, as SSSD's primary-name rule.
            let rdn = dn::first_rdn(&e.dn)?;
            names.iter().find(|n| **n == rdn.value)
        })
        .or_else(|| names.first())?;
    if name.is_empty() || name.contains('\0') {
        tracing::warn!("netgroup entry {:?} has an empty name or a NUL byte", e.dn);
        return None;
    }
    let mut triples = Vec::new();
    for t in e.values(&o.triple) {
        match NetgroupTriple::parse(t) {
            Some(t) if !has_nul(&t) => triples.push(t),
            _ => tracing::info!(
                "netgroup {name:?}: cannot split triple {t:?}; this value is skipped"
            ),
        }
    }
    let mut members = Vec::new();
    let mut member_dns = Vec::new();
    for m in e.values(&o.member) {
        if m.is_empty() || m.contains('\0') {
            continue;
        }
        if looks_like_dn(m) {
            member_dns.push(m.clone());
        } else {
            members.push(m.clone());
        }
    }
    Some((
        Netgroup {
            name: ctx.name(name),
            triples,
            members,
            dn: e.dn.clone(),
            modify_timestamp: e.first(&o.modify_timestamp).map(str::to_string),
        },
        member_dns,
    ))
}

fn has_nul(t: &NetgroupTriple) -> bool {
    [&t.host, &t.user, &t.domain]
        .into_iter()
        .flatten()
        .any(|s| s.contains('\0'))
}

/// Whether a member value is a DN rather than a netgroup name (as SSSD's `is_dn`: it
/// parses as a DN with at least one `attr=value` RDN).
fn looks_like_dn(v: &str) -> bool {
    v.contains('=') && dn::parse(v).is_some_and(|r| !r.is_empty())
}

/// Names of member netgroups given by DN: the RDN value when the RDN attribute is the
/// netgroup name attribute, else the name read from the entry (a base search); DNs that
/// are no netgroup are dropped.
async fn resolve_member_dns(
    ctx: &MapCtx,
    conn: &Connection,
    dns: Vec<String>,
) -> Result<Vec<String>, SearchError> {
    let o = &ctx.opts.netgroup;
    let mut out = Vec::new();
    for m in dns {
        if let Some(rdn) = dn::first_rdn(&m)
            && rdn.attr.eq_ignore_ascii_case(&o.name)
            && !rdn.value.is_empty()
        {
            out.push(rdn.value);
            continue;
        }
        let f = format!("(objectClass={})", filter::escape(&o.object_class));
        let found = ctx
            .search_with(
                conn,
                &m,
                Scope::Base,
                &f,
                vec![o.name.clone()],
                ctx.search_timeout(),
            )
            .await?;
        match found.first().and_then(|e| e.first(&o.name)) {
            Some(n) if !n.is_empty() && !n.contains('\0') => out.push(n.to_string()),
            _ => tracing::info!("netgroup member {m:?} is not a netgroup: skipped"),
        }
    }
    Ok(out)
}

/// Fetches the netgroup named `name`: stores it (fresh for `entry_cache_netgroup_timeout`),
/// or deletes it from the cache when the directory has no such netgroup.
pub async fn by_name(
    ctx: &MapCtx,
    conn: &Connection,
    name: &str,
    ops: &mut Vec<CacheOp>,
) -> Result<Option<Netgroup>, SearchError> {
    let b = &conn.bases.netgroup;
    let f = name_filter(ctx, name);
    let f = match &b.filter {
        Some(extra) => format!("(&{f}{extra})"),
        None => f,
    };
    let entries = ctx
        .search_with(conn, &b.dn, b.scope, &f, attrs(ctx), ctx.search_timeout())
        .await?;
    let found = entries
        .iter()
        .filter_map(|e| netgroup_from_entry(ctx, e, Some(name)))
        .find(|(ng, _)| ctx.same_name(&ng.name, name));
    let Some((mut ng, member_dns)) = found else {
        ops.push(CacheOp::Netgroup(NetgroupOp::Delete(ctx.name(name))));
        return Ok(None);
    };
    if !member_dns.is_empty() {
        ng.members
            .extend(resolve_member_dns(ctx, conn, member_dns).await?);
    }
    ng.members = dedup(&ng.members);
    let expire = now() + i64::from(ctx.opts.netgroup.cache_timeout);
    ops.push(CacheOp::Netgroup(NetgroupOp::Put(ng.clone(), expire)));
    Ok(Some(ng))
}

/// Member names without duplicates, first occurrence kept.
fn dedup(names: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    names
        .iter()
        .filter(|n| seen.insert(n.as_str()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::ldap::test_ctx;

    #[test]
    fn maps_triples_members_and_dns() {
        let ctx = test_ctx(true);
        let e = Entry::new(
            "cn=ng1,ou=Netgroup,dc=x",
            &[
                ("objectClass", &["nisNetgroup"]),
                ("cn", &["other", "ng1"]),
                (
                    "nisNetgroupTriple",
                    &["(h1,alice,)", "broken", "( , bob , dom )"],
                ),
                (
                    "memberNisNetgroup",
                    &["ng2", "cn=ng3,ou=Netgroup,dc=x", "", "ng2"],
                ),
                ("modifyTimestamp", &["20260101000000Z"]),
            ],
        );
        let (ng, dns) = netgroup_from_entry(&ctx, &e, None).unwrap();
        assert_eq!(ng.name, "ng1", "the RDN name is the primary one");
        assert_eq!(ng.triples.len(), 2);
        assert_eq!(ng.triples[1].user.as_deref(), Some("bob"));
        assert_eq!(ng.triples[1].host, None);
        assert_eq!(ng.members, ["ng2", "ng2"]);
        assert_eq!(dns, ["cn=ng3,ou=Netgroup,dc=x"]);
        assert_eq!(dedup(&ng.members), ["ng2"]);
        assert_eq!(ng.modify_timestamp.as_deref(), Some("20260101000000Z"));
        let (ng, _) = netgroup_from_entry(&ctx, &e, Some("other")).unwrap();
        assert_eq!(ng.name, "other");
        let nameless = Entry::new("cn=z,dc=x", &[("objectClass", &["nisNetgroup"])]);
        assert!(netgroup_from_entry(&ctx, &nameless, None).is_none());
    }

    #[test]
    fn filters_escape_names_and_use_the_options() {
        let mut ctx = test_ctx(false);
        let mut o = (*ctx.opts).clone();
        o.netgroup.name = "ngName".into();
        o.netgroup.object_class = "myNetgroup".into();
        ctx.opts = std::sync::Arc::new(o);
        assert_eq!(
            name_filter(&ctx, "a*)("),
            "(&(ngName=a\\2a\\29\\28)(objectClass=myNetgroup))"
        );
        assert!(attrs(&ctx).contains(&"ngName".to_string()));
        assert!(looks_like_dn("cn=a,dc=x"));
        assert!(!looks_like_dn("plain-name"));
    }
}
