//! The hosts and networks maps of the NSS responder: `gethostbyname(2)`,
//! `gethostbyaddr`, `getnetbyname`, `getnetbyaddr` and their enumerations (SSSD's
//! `SSS_NSS_GETHOSTBYNAME` 0x51 to `ENDHOSTENT` 0x56 and `GETNETBYNAME` 0x71 to
//! `ENDNETENT` 0x75), answered from the domain caches through the common lookup engine
//! (negative cache, expiry, backend refresh, offline fallback).
//!
//! Host and network names are not account names: every domain is searched, in order,
//! whatever its `use_fully_qualified_names`.

use super::NssCtx;
use super::cache_req::Mode;
use super::enumerate::{Cursor, Snapshot};
use super::negcache::Kind;
use super::source::{Query, Record, SourceError};
use crate::cache::maps::{IpHost, IpNetwork};
use sss_proto::Command;
use sss_proto::nss::{decode_enum_request, not_found_body, reply_prefix};
use sss_proto::resolver::{HostEntry, NetEntry, decode_by_addr_request, decode_by_name_request};
use std::net::IpAddr;
use std::sync::Arc;

fn without<'a>(aliases: &'a [String], name: &'a str) -> Vec<&'a [u8]> {
    aliases
        .iter()
        .filter(|a| *a != name)
        .map(|a| a.as_bytes())
        .collect()
}

/// A host as a wire record.
pub fn encode_host(h: &IpHost, out: &mut Vec<u8>) {
    HostEntry {
        name: h.name.as_bytes(),
        aliases: without(&h.aliases, &h.name),
        addresses: h.addresses.iter().map(|a| a.as_bytes()).collect(),
    }
    .encode_into(out);
}

/// A network as a wire record.
pub fn encode_network(n: &IpNetwork, out: &mut Vec<u8>) {
    NetEntry {
        name: n.name.as_bytes(),
        address: n.address.as_bytes(),
        aliases: without(&n.aliases, &n.name),
    }
    .encode_into(out);
}

fn one(found: Option<(usize, Record)>) -> Vec<u8> {
    let mut body = reply_prefix(1);
    match found {
        Some((_, Record::Host(h))) => encode_host(&h, &mut body),
        Some((_, Record::Network(n))) => encode_network(&n, &mut body),
        _ => return not_found_body(),
    }
    body
}

/// A by-name or by-address lookup of one of the two maps.
#[derive(Debug, Clone, Copy)]
enum Lookup {
    HostName,
    HostAddr,
    NetName,
    NetAddr,
}

impl NssCtx {
    async fn resolve(&self, what: Lookup, key: &str) -> Result<Vec<u8>, SourceError> {
        let cr = &self.cr;
        let doms: Vec<usize> = (0..cr.settings.domains.len()).collect();
        let make = |d: usize| {
            let k = match what {
                Lookup::HostName | Lookup::NetName => cr
                    .settings
                    .domains
                    .get(d)
                    .map(|x| x.lookup_key(key))
                    .unwrap_or_default(),
                Lookup::HostAddr | Lookup::NetAddr => key.to_string(),
            };
            match what {
                Lookup::HostName => (Query::HostByName(k.clone()), Kind::Host, k),
                Lookup::HostAddr => (Query::HostByAddr(k.clone()), Kind::HostAddr, k),
                Lookup::NetName => (Query::NetworkByName(k.clone()), Kind::Network, k),
                Lookup::NetAddr => (Query::NetworkByAddr(k.clone()), Kind::NetworkAddr, k),
            }
        };
        let found = cr.search(&doms, make, Mode::Normal).await?;
        Ok(one(found))
    }

    /// The reply body of GETHOSTBYNAME(2) for `name`: the host with all its addresses
    /// (the client keeps those of the family it wants).
    pub async fn host_by_name(&self, name: &str) -> Result<Vec<u8>, SourceError> {
        self.resolve(Lookup::HostName, name).await
    }

    /// The reply body of GETHOSTBYADDR for `addr`.
    pub async fn host_by_addr(&self, addr: IpAddr) -> Result<Vec<u8>, SourceError> {
        self.resolve(Lookup::HostAddr, &addr.to_string()).await
    }

    /// The reply body of GETNETBYNAME for `name`.
    pub async fn network_by_name(&self, name: &str) -> Result<Vec<u8>, SourceError> {
        self.resolve(Lookup::NetName, name).await
    }

    /// The reply body of GETNETBYADDR for `addr` (networks are IPv4 only).
    pub async fn network_by_addr(&self, addr: IpAddr) -> Result<Vec<u8>, SourceError> {
        match addr {
            IpAddr::V4(a) => self.resolve(Lookup::NetAddr, &a.to_string()).await,
            IpAddr::V6(_) => Ok(not_found_body()),
        }
    }
}

/// Which enumeration a cursor walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Map {
    Hosts,
    Networks,
}

/// Every cached host or network of the domains with `enumerate = true`, as wire records.
fn build(ctx: &NssCtx, map: Map) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (d, dom) in ctx.cr.settings.domains.iter().enumerate() {
        if !dom.enumerate {
            continue;
        }
        let Some(src) = ctx.cr.sources.get(d) else {
            continue;
        };
        let r = match map {
            Map::Hosts => src.all_hosts().map(|all| {
                for h in all {
                    let mut v = Vec::new();
                    encode_host(&h, &mut v);
                    out.push(v);
                }
            }),
            Map::Networks => src.all_networks().map(|all| {
                for n in all {
                    let mut v = Vec::new();
                    encode_network(&n, &mut v);
                    out.push(v);
                }
            }),
        };
        if let Err(e) = r {
            tracing::error!("enumerating {map:?}: {e}");
        }
    }
    out
}

/// A fresh snapshot (each `sethostent`/`setnetent` reads the caches again).
async fn snapshot(ctx: &Arc<NssCtx>, map: Map) -> Arc<Snapshot> {
    let c = ctx.clone();
    let records = tokio::task::spawn_blocking(move || build(&c, map))
        .await
        .unwrap_or_default();
    Arc::new(Snapshot {
        built: ctx.cr.clock.now(),
        records,
        generation: 0,
    })
}

/// Per-connection state of the hosts and networks enumerations.
#[derive(Debug, Default)]
pub struct ResolverCursors {
    hosts: Cursor,
    networks: Cursor,
}

/// Why a hosts or networks command could not be answered.
#[derive(Debug)]
pub enum ResolverError {
    /// The request body is malformed.
    BadRequest,
    /// A cache read failed.
    Source(SourceError),
}

async fn by_name<'a, F, Fut>(body: &'a [u8], f: F) -> Result<Vec<u8>, ResolverError>
where
    F: FnOnce(&'a str) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<u8>, SourceError>>,
{
    match decode_by_name_request(body) {
        Ok(name) => f(name).await.map_err(ResolverError::Source),
        Err(_) => Err(ResolverError::BadRequest),
    }
}

async fn by_addr<F, Fut>(body: &[u8], f: F) -> Result<Vec<u8>, ResolverError>
where
    F: FnOnce(IpAddr) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<u8>, SourceError>>,
{
    match decode_by_addr_request(body) {
        Ok(a) => f(a).await.map_err(ResolverError::Source),
        Err(_) => Err(ResolverError::BadRequest),
    }
}

async fn next(
    ctx: &Arc<NssCtx>,
    cur: &mut Cursor,
    map: Map,
    body: &[u8],
) -> Result<Vec<u8>, ResolverError> {
    let max = decode_enum_request(body).map_err(|_| ResolverError::BadRequest)?;
    if !cur.started() {
        cur.reset(snapshot(ctx, map).await);
    }
    Ok(cur.next_batch(max))
}

/// Runs one hosts or networks command; `None` when `c` is not one.
pub async fn dispatch(
    ctx: &Arc<NssCtx>,
    cur: &mut ResolverCursors,
    c: Command,
    body: &[u8],
) -> Option<Result<Vec<u8>, ResolverError>> {
    let r = match c {
        Command::GetHostByName | Command::GetHostByName2 => {
            by_name(body, |n| ctx.host_by_name(n)).await
        }
        Command::GetHostByAddr => by_addr(body, |a| ctx.host_by_addr(a)).await,
        Command::GetNetByName => by_name(body, |n| ctx.network_by_name(n)).await,
        Command::GetNetByAddr => by_addr(body, |a| ctx.network_by_addr(a)).await,
        Command::SetHostEnt => {
            cur.hosts.reset(snapshot(ctx, Map::Hosts).await);
            Ok(not_found_body())
        }
        Command::SetNetEnt => {
            cur.networks.reset(snapshot(ctx, Map::Networks).await);
            Ok(not_found_body())
        }
        Command::GetHostEnt => next(ctx, &mut cur.hosts, Map::Hosts, body).await,
        Command::GetNetEnt => next(ctx, &mut cur.networks, Map::Networks, body).await,
        Command::EndHostEnt => {
            cur.hosts.end();
            Ok(not_found_body())
        }
        Command::EndNetEnt => {
            cur.networks.end();
            Ok(not_found_body())
        }
        _ => return None,
    };
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::super::commands::{NssConn, dispatch as nss_dispatch};
    use super::super::fake::{FakeClock, FakeSource};
    use super::super::settings::NssSettings;
    use super::super::source::DomainSource;
    use super::super::{NssCtx, NssResponder};
    use crate::cache::maps::{IpHost, IpNetwork};
    use crate::config::DomainOptions;
    use crate::model::Cached;
    use crate::responder::common::Action;
    use sss_proto::resolver::{
        decode_host_reply, decode_net_reply, encode_by_addr_request, encode_by_name_request,
    };
    use std::sync::Arc;

    const T0: i64 = 1_000_000;

    fn env(enumerate: bool) -> (Arc<NssCtx>, FakeSource) {
        let clock = FakeClock::at(T0);
        let src = FakeSource::new(clock.clone(), 100);
        src.with(|s| {
            s.directory.hosts.push(Cached {
                value: IpHost {
                    name: "web".into(),
                    aliases: vec!["www".into()],
                    addresses: vec!["10.0.0.5".into(), "fe80::5".into()],
                },
                last_update: 0,
                expire: 0,
            });
            s.directory.networks.push(Cached {
                value: IpNetwork {
                    name: "lab".into(),
                    aliases: vec!["lab-net".into()],
                    address: "10.1.0.0".into(),
                },
                last_update: 0,
                expire: 0,
            });
        });
        let mut d = DomainOptions::defaults("LDAP", "ldap");
        d.enumerate = enumerate;
        let sources: Vec<Arc<dyn DomainSource>> = vec![Arc::new(src.clone())];
        let r = NssResponder::new(NssSettings::new(vec![d]), sources, clock);
        (r.ctx().clone(), src)
    }

    async fn call(ctx: &Arc<NssCtx>, conn: &mut NssConn, cmd: u32, body: &[u8]) -> Vec<u8> {
        match nss_dispatch(ctx, conn, 0, cmd, body).await {
            Action::Reply { status: 0, body } => body,
            other => panic!("unexpected {other:?}"),
        }
    }

    fn s(b: &[u8]) -> String {
        String::from_utf8(b.to_vec()).unwrap()
    }

    fn hosts(body: &[u8]) -> Vec<(String, Vec<String>, Vec<String>)> {
        decode_host_reply(body)
            .unwrap()
            .into_iter()
            .map(|e| {
                (
                    s(e.name),
                    e.aliases.iter().map(|a| s(a)).collect(),
                    e.addresses.iter().map(|a| s(a)).collect(),
                )
            })
            .collect()
    }

    fn nets(body: &[u8]) -> Vec<(String, String, Vec<String>)> {
        decode_net_reply(body)
            .unwrap()
            .into_iter()
            .map(|e| {
                (
                    s(e.name),
                    s(e.address),
                    e.aliases.iter().map(|a| s(a)).collect(),
                )
            })
            .collect()
    }

    #[tokio::test]
    async fn hosts_by_name_alias_and_address() {
        let (ctx, src) = env(false);
        let mut c = NssConn::default();
        let web = vec![(
            "web".to_string(),
            vec!["www".to_string()],
            vec!["10.0.0.5".to_string(), "fe80::5".to_string()],
        )];
        for (cmd, body) in [
            (0x51, encode_by_name_request(b"web")),
            (0x52, encode_by_name_request(b"www")),
            (0x53, encode_by_addr_request("10.0.0.5".parse().unwrap())),
            (0x53, encode_by_addr_request("fe80::5".parse().unwrap())),
        ] {
            assert_eq!(hosts(&call(&ctx, &mut c, cmd, &body).await), web);
        }
        let before = src.refresh_count();
        for _ in 0..2 {
            let body = encode_by_name_request(b"nowhere");
            assert!(hosts(&call(&ctx, &mut c, 0x52, &body).await).is_empty());
        }
        assert_eq!(
            src.refresh_count(),
            before + 1,
            "the miss is negative-cached"
        );
    }

    #[tokio::test]
    async fn networks_by_name_and_number() {
        let (ctx, _src) = env(false);
        let mut c = NssConn::default();
        let lab = vec![(
            "lab".to_string(),
            "10.1.0.0".to_string(),
            vec!["lab-net".to_string()],
        )];
        for (cmd, body) in [
            (0x71, encode_by_name_request(b"lab-net")),
            (0x72, encode_by_addr_request("10.1.0.0".parse().unwrap())),
        ] {
            assert_eq!(nets(&call(&ctx, &mut c, cmd, &body).await), lab);
        }
        let v6 = encode_by_addr_request("fe80::".parse().unwrap());
        assert!(nets(&call(&ctx, &mut c, 0x72, &v6).await).is_empty());
    }

    #[tokio::test]
    async fn enumeration_needs_enumerate() {
        for (enumerate, want) in [(false, 0), (true, 1)] {
            let (ctx, _src) = env(enumerate);
            let mut c = NssConn::default();
            let _ = call(&ctx, &mut c, 0x51, &encode_by_name_request(b"web")).await;
            let _ = call(&ctx, &mut c, 0x71, &encode_by_name_request(b"lab")).await;
            for (set, get, end) in [(0x54, 0x55, 0x56), (0x73, 0x74, 0x75)] {
                let _ = call(&ctx, &mut c, set, &[]).await;
                let got = call(&ctx, &mut c, get, &256u32.to_ne_bytes()).await;
                let n = if get == 0x55 {
                    hosts(&got).len()
                } else {
                    nets(&got).len()
                };
                assert_eq!(n, want, "enumerate = {enumerate}, cmd {get:#x}");
                let rest = call(&ctx, &mut c, get, &256u32.to_ne_bytes()).await;
                assert_eq!(hosts(&rest).len(), 0);
                let _ = call(&ctx, &mut c, end, &[]).await;
            }
        }
    }

    #[tokio::test]
    async fn garbage_requests_are_einval_never_a_crash() {
        let (ctx, _src) = env(true);
        let mut c = NssConn::default();
        let mut x: u32 = 0x1234_5678;
        for i in 0..2000usize {
            let len = i % 40;
            let body: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    (x % 7) as u8 * 40
                })
                .collect();
            for cmd in [0x51, 0x52, 0x53, 0x55, 0x71, 0x72, 0x74] {
                match nss_dispatch(&ctx, &mut c, 0, cmd, &body).await {
                    Action::Reply { status, .. } => assert!(status == 0 || status == 22),
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
    }
}
