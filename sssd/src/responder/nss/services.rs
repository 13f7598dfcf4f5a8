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
        let (name, doms) = cr.name_domains(input);
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
