//! The hosts (`ipHost`) and networks (`ipNetwork`) maps, served when the domain's
//! `resolver_provider` is `ldap`.
//!
//! Hosts by name: `(&(cn=NAME)(objectclass=ipHost))`; by address: `ipHostNumber` instead
//! of `cn`; networks likewise with `ipNetwork`/`ipNetworkNumber`; enumeration (with
//! `enumerate = true`): the object class alone. Addresses are stored in canonical text
//! form so that a lookup by address finds them whatever spelling the directory used;
//! network numbers are read as `inet_network(3)` reads them (`10.1` is 0.0.10.1, as in
//! `/etc/networks`). A lookup that finds nothing removes the cached entry it asked about.

use super::connection::{Connection, SearchBase};
use super::search::{Entry, SearchError};
use super::services::primary_name;
use super::{MapCtx, filter};
use crate::backend::store::CacheOp;
use crate::cache::maps::{EntryOp, IpHost, IpNetwork, MapEntry, MapOp};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// Which of the two maps a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Map {
    /// `ipHost` entries.
    Hosts,
    /// `ipNetwork` entries.
    Networks,
}

/// The `extra` word of a `getAccountInfo` request whose name is an address.
pub const BY_ADDRESS: &str = "addr";

struct Schema<'a> {
    base: Option<&'a str>,
    object_class: &'a str,
    name: &'a str,
    number: &'a str,
}

fn schema(ctx: &MapCtx, map: Map) -> Schema<'_> {
    let m = &ctx.opts.maps;
    match map {
        Map::Hosts => Schema {
            base: m.iphost_search_base.as_deref(),
            object_class: &m.iphost_object_class,
            name: &m.iphost_name,
            number: &m.iphost_number,
        },
        Map::Networks => Schema {
            base: m.ipnetwork_search_base.as_deref(),
            object_class: &m.ipnetwork_object_class,
            name: &m.ipnetwork_name,
            number: &m.ipnetwork_number,
        },
    }
}

/// A host address in canonical text form, or `None` when it is not an IPv4 or IPv6
/// address.
pub fn canonical_address(s: &str) -> Option<String> {
    s.trim().parse::<IpAddr>().ok().map(|a| a.to_string())
}

/// A network number as `inet_network(3)` reads it (one to four decimal parts of 0-255,
/// the last part the lowest byte), in dotted-quad form; `None` when it is not one.
pub fn canonical_network(s: &str) -> Option<String> {
    let s = s.trim();
    let parts: Vec<&str> = s.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut v: u32 = 0;
    for p in parts {
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let byte: u8 = p.parse().ok()?;
        v = (v << 8) | u32::from(byte);
    }
    Some(Ipv4Addr::from(v).to_string())
}

/// The search filter for `attr=value` among the entries of `map`.
pub fn search_filter(ctx: &MapCtx, map: Map, attr: &str, value: &str) -> String {
    format!(
        "(&{}(objectclass={}))",
        filter::eq(attr, value),
        schema(ctx, map).object_class
    )
}

fn names(ctx: &MapCtx, e: &Entry, attr: &str) -> Option<(String, Vec<String>)> {
    let primary = ctx.name(&primary_name(e, attr)?);
    let mut aliases: Vec<String> = Vec::new();
    for a in e.values(attr) {
        let a = ctx.name(a);
        if a != primary && !a.is_empty() && !aliases.contains(&a) {
            aliases.push(a);
        }
    }
    Some((primary, aliases))
}

/// A host from an entry, or `None` (logged) when it lacks a name or a valid address.
pub fn host_from_entry(ctx: &MapCtx, e: &Entry) -> Option<IpHost> {
    let s = schema(ctx, Map::Hosts);
    let Some((name, aliases)) = names(ctx, e, s.name) else {
        tracing::info!("host {:?} has no {}; skipped", e.dn, s.name);
        return None;
    };
    let mut addresses: Vec<String> = Vec::new();
    for raw in e.values(s.number) {
        match canonical_address(raw) {
            Some(a) if !addresses.contains(&a) => addresses.push(a),
            Some(_) => {}
            None => tracing::info!("host {:?}: {} {raw:?} is not an address", e.dn, s.number),
        }
    }
    if addresses.is_empty() {
        tracing::info!("host {:?} has no valid {}; skipped", e.dn, s.number);
        return None;
    }
    Some(IpHost {
        name,
        aliases,
        addresses,
    })
}

/// A network from an entry, or `None` (logged) when it lacks a name or a valid number.
pub fn network_from_entry(ctx: &MapCtx, e: &Entry) -> Option<IpNetwork> {
    let s = schema(ctx, Map::Networks);
    let Some((name, aliases)) = names(ctx, e, s.name) else {
        tracing::info!("network {:?} has no {}; skipped", e.dn, s.name);
        return None;
    };
    let Some(address) = e.first(s.number).and_then(canonical_network) else {
        tracing::info!("network {:?} has no valid {}; skipped", e.dn, s.number);
        return None;
    };
    Some(IpNetwork {
        name,
        aliases,
        address,
    })
}

/// Hosts from entries; entries with the same name become one host with every address.
pub fn hosts_from_entries(ctx: &MapCtx, entries: &[Entry]) -> Vec<IpHost> {
    let mut out: Vec<IpHost> = Vec::new();
    for h in entries.iter().filter_map(|e| host_from_entry(ctx, e)) {
        match out.iter_mut().find(|o| o.name == h.name) {
            Some(o) => {
                for a in h.addresses {
                    if !o.addresses.contains(&a) {
                        o.addresses.push(a);
                    }
                }
                for a in h.aliases {
                    if !o.aliases.contains(&a) {
                        o.aliases.push(a);
                    }
                }
            }
            None => out.push(h),
        }
    }
    out
}

/// Networks from entries; the first entry of a name wins.
pub fn networks_from_entries(ctx: &MapCtx, entries: &[Entry]) -> Vec<IpNetwork> {
    let mut out: Vec<IpNetwork> = Vec::new();
    for n in entries.iter().filter_map(|e| network_from_entry(ctx, e)) {
        if !out.iter().any(|o| o.name == n.name) {
            out.push(n);
        }
    }
    out
}

async fn search(
    ctx: &MapCtx,
    conn: &Connection,
    map: Map,
    f: &str,
    timeout: Duration,
) -> Result<Vec<Entry>, SearchError> {
    let s = schema(ctx, map);
    let b = SearchBase::parse(s.base.unwrap_or(&conn.bases.base));
    let f = match &b.filter {
        Some(extra) => format!("(&{f}{extra})"),
        None => f.to_string(),
    };
    let attrs = vec![
        "objectClass".into(),
        s.name.to_string(),
        s.number.to_string(),
    ];
    ctx.search_with(conn, &b.dn, b.scope, &f, attrs, timeout)
        .await
}

fn expire(ctx: &MapCtx) -> i64 {
    super::now() + i64::from(ctx.opts.maps.resolver_timeout)
}

/// The cache operations that store what `entries` hold for `map`; the names stored.
fn store(ctx: &MapCtx, map: Map, entries: &[Entry], ops: &mut Vec<CacheOp>) -> Vec<String> {
    let exp = expire(ctx);
    match map {
        Map::Hosts => hosts_from_entries(ctx, entries)
            .into_iter()
            .map(|h| {
                let n = h.name.clone();
                ops.push(CacheOp::Map(MapOp::Host(EntryOp::Put(h, exp))));
                n
            })
            .collect(),
        Map::Networks => networks_from_entries(ctx, entries)
            .into_iter()
            .map(|h| {
                let n = h.name.clone();
                ops.push(CacheOp::Map(MapOp::Network(EntryOp::Put(h, exp))));
                n
            })
            .collect(),
    }
}

fn db(map: Map) -> &'static str {
    match map {
        Map::Hosts => IpHost::DB,
        Map::Networks => IpNetwork::DB,
    }
}

/// The entry of `map` named `name` (primary name or alias).
pub async fn by_name(
    ctx: &MapCtx,
    conn: &Connection,
    map: Map,
    name: &str,
    ops: &mut Vec<CacheOp>,
) -> Result<(), SearchError> {
    let f = search_filter(ctx, map, schema(ctx, map).name, name);
    let entries = search(ctx, conn, map, &f, ctx.search_timeout()).await?;
    if store(ctx, map, &entries, ops).is_empty() {
        ops.push(CacheOp::Map(MapOp::Gone {
            db: db(map),
            name: Some(ctx.name(name)),
            number: None,
        }));
    }
    Ok(())
}

/// The entry of `map` holding address `addr` (any spelling; searched in canonical form).
pub async fn by_address(
    ctx: &MapCtx,
    conn: &Connection,
    map: Map,
    addr: &str,
    ops: &mut Vec<CacheOp>,
) -> Result<(), SearchError> {
    let canonical = match map {
        Map::Hosts => canonical_address(addr),
        Map::Networks => canonical_network(addr),
    };
    let Some(addr) = canonical else {
        return Ok(());
    };
    let f = search_filter(ctx, map, schema(ctx, map).number, &addr);
    let entries = search(ctx, conn, map, &f, ctx.search_timeout()).await?;
    if store(ctx, map, &entries, ops).is_empty() {
        ops.push(CacheOp::Map(MapOp::Gone {
            db: db(map),
            name: None,
            number: Some(addr.into_bytes()),
        }));
    }
    Ok(())
}

/// Every host and network (enumeration): stores them and prunes the cached ones the
/// directory no longer has.
pub async fn enumerate(ctx: &MapCtx, conn: &Connection) -> Result<Vec<CacheOp>, SearchError> {
    let t = Duration::from_secs(u64::from(ctx.opts.enumeration_search_timeout.max(1)));
    let mut ops = Vec::new();
    for map in [Map::Hosts, Map::Networks] {
        let f = format!("(objectclass={})", schema(ctx, map).object_class);
        let entries = search(ctx, conn, map, &f, t).await?;
        let names = store(ctx, map, &entries, &mut ops);
        tracing::info!("enumeration from {}: {} {map:?}", conn.uri, names.len());
        ops.push(CacheOp::Map(match map {
            Map::Hosts => MapOp::Host(EntryOp::Prune(names)),
            Map::Networks => MapOp::Network(EntryOp::Prune(names)),
        }));
    }
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::ldap::test_ctx;

    #[test]
    fn addresses_are_canonical() {
        assert_eq!(canonical_address(" 10.0.0.5 ").as_deref(), Some("10.0.0.5"));
        assert_eq!(
            canonical_address("FE80:0:0::0001").as_deref(),
            Some("fe80::1")
        );
        assert_eq!(canonical_address("10.0.0"), None);
        assert_eq!(canonical_address("host"), None);
        assert_eq!(canonical_network("10.1.0.0").as_deref(), Some("10.1.0.0"));
        assert_eq!(canonical_network("127").as_deref(), Some("0.0.0.127"));
        assert_eq!(canonical_network("10.1").as_deref(), Some("0.0.10.1"));
        for bad in ["", "1.2.3.4.5", "256.1", "a.b", "1..2", "fe80::"] {
            assert_eq!(canonical_network(bad), None, "{bad}");
        }
    }

    #[test]
    fn filters_are_sssds() {
        let ctx = test_ctx(true);
        assert_eq!(
            search_filter(&ctx, Map::Hosts, "cn", "www"),
            "(&(cn=www)(objectclass=ipHost))"
        );
        assert_eq!(
            search_filter(&ctx, Map::Networks, "ipNetworkNumber", "10.1.0.0"),
            "(&(ipNetworkNumber=10.1.0.0)(objectclass=ipNetwork))"
        );
        assert_eq!(
            search_filter(&ctx, Map::Hosts, "cn", "a*)("),
            "(&(cn=a\\2a\\29\\28)(objectclass=ipHost))"
        );
    }

    #[test]
    fn entries_become_hosts_and_networks() {
        let ctx = test_ctx(false);
        let es = vec![
            Entry::new(
                "cn=web,ou=Hosts,dc=x",
                &[
                    ("cn", &["WWW", "web"]),
                    ("ipHostNumber", &["10.0.0.5", "bogus", "FE80::5"]),
                ],
            ),
            Entry::new(
                "cn=web+ipHostNumber=10.0.0.6,ou=Hosts,dc=x",
                &[("cn", &["web"]), ("ipHostNumber", &["10.0.0.6"])],
            ),
            Entry::new("cn=none,ou=Hosts,dc=x", &[("cn", &["none"])]),
        ];
        let hs = hosts_from_entries(&ctx, &es);
        assert_eq!(hs.len(), 1);
        assert_eq!(hs[0].name, "web");
        assert_eq!(hs[0].aliases, vec!["www"]);
        assert_eq!(hs[0].addresses, vec!["10.0.0.5", "fe80::5", "10.0.0.6"]);
        let ns = networks_from_entries(
            &ctx,
            &[
                Entry::new(
                    "cn=lab,ou=Networks,dc=x",
                    &[
                        ("cn", &["lab", "lab-net"]),
                        ("ipNetworkNumber", &["10.1.0.0"]),
                    ],
                ),
                Entry::new(
                    "cn=bad,ou=Networks,dc=x",
                    &[("cn", &["bad"]), ("ipNetworkNumber", &["x"])],
                ),
            ],
        );
        assert_eq!(
            ns,
            vec![IpNetwork {
                name: "lab".into(),
                aliases: vec!["lab-net".into()],
                address: "10.1.0.0".into(),
            }]
        );
    }
}
