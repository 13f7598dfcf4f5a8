//! The services map of the NSS responder: `getservbyname`, `getservbyport` and
//! `setservent`/`getservent`/`endservent` (SSSD's `SSS_NSS_GETSERVBYNAME` 0xA1 to
//! `ENDSERVENT` 0xA5), answered from the domain caches through the common lookup engine
//! (negative cache, expiry, backend refresh, offline fallback).

use super::NssCtx;
use super::cache_req::Mode;
use super::enumerate::{Cursor, Snapshot};
use super::negcache::Kind;
use super::source::{Query, Record, SourceError};
use crate::cache::maps::Service;
use sss_proto::Command;
use sss_proto::nss::{decode_enum_request, not_found_body, reply_prefix};
use sss_proto::services::{ServEntry, decode_by_name_request, decode_by_port_request};
use std::sync::Arc;

/// A service as a wire record: the requested protocol, or the first one the entry has.
pub fn encode_service(s: &Service, proto: Option<&str>, out: &mut Vec<u8>) {
    let proto = proto
        .or_else(|| s.protocols.first().map(String::as_str))
        .unwrap_or_default();
    ServEntry {
        port: s.port,
        name: s.name.as_bytes(),
        proto: proto.as_bytes(),
        aliases: s
            .aliases
            .iter()
            .filter(|a| **a != s.name)
            .map(|a| a.as_bytes())
            .collect(),
    }
    .encode_into(out);
}

fn one(found: Option<(usize, Record)>, proto: Option<&str>) -> Vec<u8> {
    match found {
        Some((_, Record::Service(s))) => {
            let mut body = reply_prefix(1);
            encode_service(&s, proto, &mut body);
            body
        }
        _ => not_found_body(),
    }
}

impl NssCtx {
    /// The reply body of GETSERVBYNAME for `input` (`name[@domain]`) and `proto`.
    pub async fn service_by_name(
        &self,
        input: &str,
        proto: Option<&str>,
    ) -> Result<Vec<u8>, SourceError> {
        let cr = &self.cr;
        let (name, doms) = cr.name_domains(input).await;
        let make = |d: usize| {
            let dom = cr.settings.domains.get(d);
            let key = dom.map(|x| x.lookup_key(name)).unwrap_or_default();
            let p = proto.map(|p| dom.map(|x| x.lookup_key(p)).unwrap_or_default());
            let neg = format!("{key}/{}", p.as_deref().unwrap_or(""));
            (Query::ServiceByName(key, p), Kind::Service, neg)
        };
        let found = cr.search(&doms, make, Mode::Normal).await?;
        Ok(one(found, proto))
    }

    /// The reply body of GETSERVBYPORT for `port` (host order) and `proto`.
    pub async fn service_by_port(
        &self,
        port: u16,
        proto: Option<&str>,
    ) -> Result<Vec<u8>, SourceError> {
        let cr = &self.cr;
        let doms: Vec<usize> = (0..cr.settings.domains.len()).collect();
        let make = |d: usize| {
            let dom = cr.settings.domains.get(d);
            let p = proto.map(|p| dom.map(|x| x.lookup_key(p)).unwrap_or_default());
            let neg = format!("{port}/{}", p.as_deref().unwrap_or(""));
            (Query::ServiceByPort(port, p), Kind::ServicePort, neg)
        };
        let found = cr.search(&doms, make, Mode::Normal).await?;
        Ok(one(found, proto))
    }
}

/// Every cached service of the domains with `enumerate = true`, as wire records.
fn build(ctx: &NssCtx) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (d, dom) in ctx.cr.settings.domains.iter().enumerate() {
        if !dom.enumerate {
            continue;
        }
        let Some(src) = ctx.cr.sources.get(d) else {
            continue;
        };
        match src.all_services() {
            Ok(all) => {
                for s in all {
                    let mut v = Vec::new();
                    encode_service(&s, None, &mut v);
                    out.push(v);
                }
            }
            Err(e) => tracing::error!("enumerating services: {e}"),
        }
    }
    out
}

/// A fresh services snapshot (each `setservent` reads the caches again).
async fn snapshot(ctx: &Arc<NssCtx>) -> Arc<Snapshot> {
    let c = ctx.clone();
    let records = tokio::task::spawn_blocking(move || build(&c))
        .await
        .unwrap_or_default();
    Arc::new(Snapshot {
        built: ctx.cr.clock.now(),
        records,
        generation: 0,
    })
}

/// Per-connection state of the services enumeration.
#[derive(Debug, Default)]
pub struct ServiceCursor(Cursor);

/// Why a services command could not be answered.
#[derive(Debug)]
pub enum ServiceError {
    /// The request body is malformed.
    BadRequest,
    /// A cache read failed.
    Source(SourceError),
}

/// Runs one services command; `None` when `c` is not one.
pub async fn dispatch(
    ctx: &Arc<NssCtx>,
    cur: &mut ServiceCursor,
    c: Command,
    body: &[u8],
) -> Option<Result<Vec<u8>, ServiceError>> {
    let r = match c {
        Command::GetServByName => match decode_by_name_request(body) {
            Ok((name, proto)) => ctx
                .service_by_name(name, proto)
                .await
                .map_err(ServiceError::Source),
            Err(_) => Err(ServiceError::BadRequest),
        },
        Command::GetServByPort => match decode_by_port_request(body) {
            Ok((port, proto)) => ctx
                .service_by_port(port, proto)
                .await
                .map_err(ServiceError::Source),
            Err(_) => Err(ServiceError::BadRequest),
        },
        Command::SetServEnt => {
            cur.0.reset(snapshot(ctx).await);
            Ok(not_found_body())
        }
        Command::GetServEnt => match decode_enum_request(body) {
            Ok(max) => {
                if !cur.0.started() {
                    cur.0.reset(snapshot(ctx).await);
                }
                Ok(cur.0.next_batch(max))
            }
            Err(_) => Err(ServiceError::BadRequest),
        },
        Command::EndServEnt => {
            cur.0.end();
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
    use crate::cache::maps::Service;
    use crate::config::DomainOptions;
    use crate::model::Cached;
    use crate::responder::common::Action;
    use sss_proto::services::{decode_reply, encode_by_name_request, encode_by_port_request};
    use std::sync::Arc;

    const T0: i64 = 1_000_000;

    fn env(enumerate: bool) -> (Arc<NssCtx>, FakeSource) {
        let clock = FakeClock::at(T0);
        let src = FakeSource::new(clock.clone(), 100);
        src.with(|s| {
            s.directory.services.push(Cached {
                value: Service {
                    name: "ssh".into(),
                    aliases: vec!["secure".into()],
                    port: 22,
                    protocols: vec!["tcp".into(), "udp".into()],
                },
                last_update: 0,
                expire: 0,
            })
        });
        let mut d = DomainOptions::defaults("LDAP", "ldap");
        d.enumerate = enumerate;
        let sources: Vec<Arc<dyn DomainSource>> = vec![Arc::new(src.clone())];
        let r = NssResponder::new(NssSettings::new(vec![d]), sources, clock);
        (r.ctx().clone(), src)
    }

    async fn call(ctx: &Arc<NssCtx>, conn: &mut NssConn, cmd: u32, body: &[u8]) -> Action {
        nss_dispatch(ctx, conn, 0, cmd, body).await
    }

    fn lines(a: Action) -> Vec<(u16, String, String, Vec<String>)> {
        let Action::Reply { status: 0, body } = a else {
            panic!("unexpected {a:?}");
        };
        decode_reply(&body)
            .unwrap()
            .into_iter()
            .map(|e| {
                let s = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
                (
                    e.port,
                    s(e.name),
                    s(e.proto),
                    e.aliases.iter().map(|a| s(a)).collect(),
                )
            })
            .collect()
    }

    #[tokio::test]
    async fn by_name_alias_port_and_protocol() {
        let (ctx, src) = env(false);
        let mut c = NssConn::default();
        let ssh = |p: &str| vec![(22, "ssh".into(), p.to_string(), vec!["secure".to_string()])];
        let r = call(&ctx, &mut c, 0xA1, &encode_by_name_request(b"ssh", None)).await;
        assert_eq!(lines(r), ssh("tcp"));
        let r = call(
            &ctx,
            &mut c,
            0xA1,
            &encode_by_name_request(b"secure", Some(b"udp")),
        )
        .await;
        assert_eq!(lines(r), ssh("udp"));
        let r = call(
            &ctx,
            &mut c,
            0xA2,
            &encode_by_port_request(22, Some(b"tcp")),
        )
        .await;
        assert_eq!(lines(r), ssh("tcp"));
        let before = src.refresh_count();
        // A protocol the service lacks: not found, then negative-cached.
        for _ in 0..2 {
            let r = call(
                &ctx,
                &mut c,
                0xA1,
                &encode_by_name_request(b"ssh", Some(b"sctp")),
            )
            .await;
            assert!(lines(r).is_empty());
        }
        assert_eq!(src.refresh_count(), before + 1);
    }

    #[tokio::test]
    async fn enumeration_needs_enumerate() {
        for (enumerate, want) in [(false, 0), (true, 1)] {
            let (ctx, _src) = env(enumerate);
            let mut c = NssConn::default();
            // Fill the cache first.
            let _ = call(&ctx, &mut c, 0xA1, &encode_by_name_request(b"ssh", None)).await;
            assert!(lines(call(&ctx, &mut c, 0xA3, &[]).await).is_empty());
            let got = lines(call(&ctx, &mut c, 0xA4, &256u32.to_ne_bytes()).await);
            assert_eq!(got.len(), want, "enumerate = {enumerate}");
            assert!(lines(call(&ctx, &mut c, 0xA4, &256u32.to_ne_bytes()).await).is_empty());
            assert!(lines(call(&ctx, &mut c, 0xA5, &[]).await).is_empty());
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
            for cmd in [0xA1, 0xA2, 0xA4] {
                match call(&ctx, &mut c, cmd, &body).await {
                    Action::Reply { status, .. } => assert!(status == 0 || status == 22),
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
    }
}
