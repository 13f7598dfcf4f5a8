//! The services map (`ipService` entries), as SSSD 2.8's `ldap_id_services.c` and
//! `sdap_async_services.c` search and store it.
//!
//! By name: `(&(cn=NAME)(ipServiceProtocol=PROTO)(objectclass=ipService))`, the protocol
//! term only when one is asked; by port likewise with `ipServicePort`; enumeration (with
//! `enumerate = true`): `(objectclass=ipService)`. A lookup that finds nothing removes the
//! cached entry it asked about (SSSD's `noexist_delete`).

use super::connection::{Connection, SearchBase};
use super::search::{Entry, SearchError};
use super::{MapCtx, filter};
use crate::backend::store::CacheOp;
use crate::cache::maps::{EntryOp, MapOp, Service};
use std::time::Duration;

/// The attribute names to request.
fn attrs(ctx: &MapCtx) -> Vec<String> {
    let m = &ctx.opts.maps;
    vec![
        "objectClass".into(),
        m.service_name.clone(),
        m.service_port.clone(),
        m.service_proto.clone(),
    ]
}

/// The filter for `attr=value` (and the protocol, when given) among services.
pub fn search_filter(ctx: &MapCtx, attr: &str, value: &str, proto: Option<&str>) -> String {
    let m = &ctx.opts.maps;
    let proto = proto
        .map(|p| filter::eq(&m.service_proto, p))
        .unwrap_or_default();
    format!(
        "(&{}{proto}(objectclass={}))",
        filter::eq(attr, value),
        m.service_object_class
    )
}

/// The value of the first RDN component of `dn` for attribute `attr`, if it names it
/// (`cn=domain+ipServiceProtocol=udp,...` gives `domain` for `cn`).
pub fn rdn_value(dn: &str, attr: &str) -> Option<String> {
    let first = super::dn::parse(dn)?.into_iter().next()?;
    first
        .into_iter()
        .find(|ava| ava.attr.eq_ignore_ascii_case(attr))
        .map(|ava| ava.value)
}

/// The primary name among the values of the name attribute: the only one, or the one the
/// RDN uses (SSSD's `sdap_get_primary_name`), else the first.
pub fn primary_name(e: &Entry, attr: &str) -> Option<String> {
    let names = e.values(attr);
    match names {
        [] => None,
        [one] => Some(one.clone()),
        [first, ..] => Some(
            rdn_value(&e.dn, attr)
                .and_then(|r| names.iter().find(|n| n.eq_ignore_ascii_case(&r)).cloned())
                .unwrap_or_else(|| first.clone()),
        ),
    }
}

/// A service from an entry, or `None` (logged) when it lacks a name, a valid non-zero
/// port or a protocol.
pub fn service_from_entry(ctx: &MapCtx, e: &Entry) -> Option<Service> {
    let m = &ctx.opts.maps;
    let Some(primary) = primary_name(e, &m.service_name) else {
        tracing::info!("service {:?} has no {}; skipped", e.dn, m.service_name);
        return None;
    };
    let port = match e.first(&m.service_port).map(|p| p.trim().parse::<u16>()) {
        Some(Ok(p)) if p != 0 => p,
        _ => {
            tracing::info!(
                "service {:?} has no valid {}; skipped",
                e.dn,
                m.service_port
            );
            return None;
        }
    };
    let mut protocols: Vec<String> = Vec::new();
    for p in e.values(&m.service_proto) {
        let p = ctx.name(p);
        if !p.is_empty() && !protocols.contains(&p) {
            protocols.push(p);
        }
    }
    if protocols.is_empty() {
        tracing::info!("service {:?} has no {}; skipped", e.dn, m.service_proto);
        return None;
    }
    let name = ctx.name(&primary);
    let mut aliases: Vec<String> = Vec::new();
    for a in e.values(&m.service_name) {
        let a = ctx.name(a);
        if a != name && !aliases.contains(&a) {
            aliases.push(a);
        }
    }
    Some(Service {
        name,
        aliases,
        port,
        protocols,
    })
}

/// Services from entries; entries with the same name and port (one per protocol, as
/// `/etc/services` migrations write them) become one service with every protocol.
pub fn services_from_entries(ctx: &MapCtx, entries: &[Entry]) -> Vec<Service> {
    let mut out: Vec<Service> = Vec::new();
    for e in entries {
        let Some(s) = service_from_entry(ctx, e) else {
            continue;
        };
        match out
            .iter_mut()
            .find(|o| o.name == s.name && o.port == s.port)
        {
            Some(o) => {
                for p in s.protocols {
                    if !o.protocols.contains(&p) {
                        o.protocols.push(p);
                    }
                }
                for a in s.aliases {
                    if !o.aliases.contains(&a) {
                        o.aliases.push(a);
                    }
                }
            }
            None => out.push(s),
        }
    }
    out
}

/// Searches services under `ldap_service_search_base` (default: the search base).
async fn search(
    ctx: &MapCtx,
    conn: &Connection,
    f: &str,
    timeout: Duration,
) -> Result<Vec<Entry>, SearchError> {
    let b = SearchBase::parse(
        ctx.opts
            .maps
            .service_search_base
            .as_deref()
            .unwrap_or(&conn.bases.base),
    );
    let f = match &b.filter {
        Some(extra) => format!("(&{f}{extra})"),
        None => f.to_string(),
    };
    ctx.search_with(conn, &b.dn, b.scope, &f, attrs(ctx), timeout)
        .await
}

fn expire(ctx: &MapCtx) -> i64 {
    super::now() + i64::from(ctx.opts.maps.service_timeout)
}

fn store(ctx: &MapCtx, services: Vec<Service>, ops: &mut Vec<CacheOp>) {
    let exp = expire(ctx);
    for s in services {
        ops.push(CacheOp::Map(MapOp::Service(EntryOp::Put(s, exp))));
    }
}

/// The service `name` (with protocol `proto`, when given).
pub async fn by_name(
    ctx: &MapCtx,
    conn: &Connection,
    name: &str,
    proto: Option<&str>,
    ops: &mut Vec<CacheOp>,
) -> Result<(), SearchError> {
    let f = search_filter(ctx, &ctx.opts.maps.service_name, name, proto);
    let entries = search(ctx, conn, &f, ctx.search_timeout()).await?;
    let found = services_from_entries(ctx, &entries);
    if found.is_empty() {
        ops.push(CacheOp::Map(MapOp::ServiceGone {
            name: Some(ctx.name(name)),
            port: None,
            proto: proto.map(|p| ctx.name(p)),
        }));
    }
    store(ctx, found, ops);
    Ok(())
}

/// The service on `port` (with protocol `proto`, when given).
pub async fn by_port(
    ctx: &MapCtx,
    conn: &Connection,
    port: u32,
    proto: Option<&str>,
    ops: &mut Vec<CacheOp>,
) -> Result<(), SearchError> {
    let Ok(port) = u16::try_from(port) else {
        return Ok(());
    };
    let f = search_filter(ctx, &ctx.opts.maps.service_port, &port.to_string(), proto);
    let entries = search(ctx, conn, &f, ctx.search_timeout()).await?;
    let found = services_from_entries(ctx, &entries);
    if found.is_empty() {
        ops.push(CacheOp::Map(MapOp::ServiceGone {
            name: None,
            port: Some(port),
            proto: proto.map(|p| ctx.name(p)),
        }));
    }
    store(ctx, found, ops);
    Ok(())
}

/// Every service (enumeration): stores them and prunes the cached ones the directory no
/// longer has.
pub async fn enumerate(ctx: &MapCtx, conn: &Connection) -> Result<Vec<CacheOp>, SearchError> {
    let t = Duration::from_secs(u64::from(ctx.opts.enumeration_search_timeout.max(1)));
    let f = format!("(objectclass={})", ctx.opts.maps.service_object_class);
    let entries = search(ctx, conn, &f, t).await?;
    let found = services_from_entries(ctx, &entries);
    let names: Vec<String> = found.iter().map(|s| s.name.clone()).collect();
    tracing::info!("enumeration from {}: {} services", conn.uri, names.len());
    let mut ops = Vec::new();
    store(ctx, found, &mut ops);
    ops.push(CacheOp::Map(MapOp::Service(EntryOp::Prune(names))));
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::ldap::test_ctx;

    fn entry(dn: &str, cn: &[&str], port: &str, protos: &[&str]) -> Entry {
        Entry::new(
            dn,
            &[
                ("objectClass", &["ipService"]),
                ("cn", cn),
                ("ipServicePort", &[port]),
                ("ipServiceProtocol", protos),
            ],
        )
    }

    #[test]
    fn filters_are_sssds() {
        let ctx = test_ctx(true);
        assert_eq!(
            search_filter(&ctx, "cn", "ssh", Some("tcp")),
            "(&(cn=ssh)(ipServiceProtocol=tcp)(objectclass=ipService))"
        );
        assert_eq!(
            search_filter(&ctx, "ipServicePort", "22", None),
            "(&(ipServicePort=22)(objectclass=ipService))"
        );
        assert_eq!(
            search_filter(&ctx, "cn", "a*)(", None),
            "(&(cn=a\\2a\\29\\28)(objectclass=ipService))"
        );
    }

    #[test]
    fn primary_name_comes_from_the_rdn() {
        let ctx = test_ctx(true);
        let e = entry(
            "cn=ssh+ipServiceProtocol=tcp,ou=services,dc=x",
            &["secure-shell", "ssh"],
            "22",
            &["tcp"],
        );
        let s = service_from_entry(&ctx, &e).unwrap();
        assert_eq!(s.name, "ssh");
        assert_eq!(s.aliases, vec!["secure-shell"]);
        assert_eq!((s.port, s.protocols.clone()), (22, vec!["tcp".to_string()]));
    }

    #[test]
    fn bad_entries_are_skipped_and_split_entries_merged() {
        let ctx = test_ctx(false);
        let es = vec![
            entry("cn=Domain,ou=s", &["Domain"], "53", &["TCP"]),
            entry(
                "cn=domain+ipServiceProtocol=udp,ou=s",
                &["domain"],
                "53",
                &["udp"],
            ),
            entry("cn=bad,ou=s", &["bad"], "0", &["tcp"]),
            entry("cn=bad2,ou=s", &["bad2"], "70000", &["tcp"]),
            entry("cn=bad3,ou=s", &["bad3"], "7", &[]),
        ];
        let s = services_from_entries(&ctx, &es);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].name, "domain");
        assert_eq!(s[0].protocols, vec!["tcp", "udp"]);
    }
}
