//! The autofs responder (`sssd_autofs`, `/var/lib/sss/pipes/autofs`): automount maps for
//! autofs's `lookup_sss.so` through `libsss_autofs.so`, served from the domains' caches,
//! with the backend asked for a map when it is missing or expired (SSSD 2.8's
//! `autofssrv_cmd.c` semantics):
//!
//! - a lookup walks the domains in order: a fresh cached answer is used; otherwise the
//!   domain's backend fetches the map (whole) and the cache is read again; when the backend
//!   cannot be reached, what the cache still holds (expired) is served, and when it holds
//!   nothing the reply is `ERR_OFFLINE` (the client turns it into `EHOSTDOWN`, which autofs
//!   retries, instead of "no such map");
//! - `SETAUTOMNTENT auto.master` always asks the backends (which then mark every cached map
//!   expired) and drops the enumeration snapshots, as SSSD does when automount (re)reads its
//!   master map;
//! - `GETAUTOMNTENT` pages through a snapshot of the map taken when the cursor is 0, so a
//!   map that changes while it is read is still read consistently; a map found missing is
//!   remembered for `autofs_negative_timeout` seconds;
//! - a key absent from a fresh cached map is "not found" without asking the backend (maps
//!   are cached whole, so the cache is authoritative while fresh).

pub mod settings;
pub mod source;

#[cfg(test)]
mod tests;

use crate::model::Cached;
use crate::paths::Paths;
use crate::responder::common::source::{Clock, DpStatus, SourceError};
use crate::responder::common::{Action, ClientInfo, CommandHandler, client::EINVAL};
use crate::sbus::ServiceHandler;
use settings::AutofsSettings;
use source::AutofsSource;
use sss_proto::autofs::{self as wire, ERR_OFFLINE, Request};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Bus name of the autofs responder on the private bus.
pub const BUS_NAME: &str = "sssd.autofs";

/// `EIO`: the cache could not be read.
const EIO: u32 = 5;

/// Enumeration snapshots kept before expired ones are pruned (and all dropped if still
/// over).
const SNAPSHOT_LIMIT: usize = 4096;

/// The client socket, `<pipes>/autofs`.
pub fn socket_path(paths: &Paths) -> PathBuf {
    paths.pipes.join("autofs")
}

/// A map as `GETAUTOMNTENT` pages through it.
#[derive(Debug, Clone)]
struct Snapshot {
    /// The entries (`None`: the map does not exist).
    entries: Option<Arc<Vec<(String, String)>>>,
    /// Used until this time (seconds since the epoch).
    until: i64,
}

/// What the commands share.
struct AutofsCtx {
    settings: AutofsSettings,
    sources: Vec<Arc<dyn AutofsSource>>,
    clock: Arc<dyn Clock>,
    snapshots: Mutex<HashMap<String, Snapshot>>,
}

/// How a lookup across the domains ended without an answer to send as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Miss {
    /// Nothing cached and the last backend asked could not be reached: `ERR_OFFLINE`.
    Offline,
    /// A cache could not be read: `EIO`.
    Cache,
}

impl Miss {
    fn errno(self) -> u32 {
        match self {
            Miss::Offline => ERR_OFFLINE,
            Miss::Cache => EIO,
        }
    }
}

impl AutofsCtx {
    fn now(&self) -> i64 {
        self.clock.now()
    }

    fn cache_failed(&self, e: &SourceError) -> Miss {
        tracing::error!("reading automount maps: {e}");
        Miss::Cache
    }

    /// Walks the domains for map `map`: `read` reads a domain's cache, `found` says whether
    /// the value read is an answer. `force` asks every backend even when the cache is fresh.
    async fn lookup<T>(
        &self,
        map: &str,
        force: bool,
        read: impl Fn(&dyn AutofsSource) -> Result<Option<Cached<T>>, SourceError>,
        found: impl Fn(&T) -> bool,
    ) -> Result<Option<T>, Miss> {
        let now = self.now();
        let mut offline = false;
        for src in &self.sources {
            let cached = read(src.as_ref()).map_err(|e| self.cache_failed(&e))?;
            if !force
                && let Some(c) = &cached
                && c.expire > now
            {
                if found(&c.value) {
                    return Ok(cached.map(|c| c.value));
                }
                // Fresh and whole: authoritative for this domain.
                continue;
            }
            match src.refresh(map).await {
                DpStatus::Ok => {
                    offline = false;
                    if let Some(c) = read(src.as_ref()).map_err(|e| self.cache_failed(&e))?
                        && found(&c.value)
                    {
                        return Ok(Some(c.value));
                    }
                }
                st => {
                    offline = true;
                    tracing::debug!(
                        "automount map {map:?}: backend of {} not reachable ({st:?}); serving \
                         the cache",
                        src.domain()
                    );
                    if let Some(c) = cached
                        && found(&c.value)
                    {
                        return Ok(Some(c.value));
                    }
                }
            }
        }
        if offline {
            Err(Miss::Offline)
        } else {
            Ok(None)
        }
    }

    /// The entries of map `name` (None: no such map).
    async fn map(&self, name: &str, force: bool) -> Result<Option<Vec<(String, String)>>, Miss> {
        self.lookup(name, force, |s| s.map(name), |_| true).await
    }

    /// The value of `key` in map `map` (None: no such key or map).
    async fn entry(&self, map: &str, key: &str) -> Result<Option<String>, Miss> {
        Ok(self
            .lookup(map, false, |s| s.entry(map, key), Option::is_some)
            .await?
            .flatten())
    }

    fn clear_snapshots(&self) {
        self.snapshots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    fn snapshot(&self, map: &str, now: i64) -> Option<Snapshot> {
        let t = self.snapshots.lock().unwrap_or_else(|p| p.into_inner());
        t.get(map).filter(|s| s.until > now).cloned()
    }

    fn keep_snapshot(&self, map: &str, s: Snapshot, now: i64) {
        let mut t = self.snapshots.lock().unwrap_or_else(|p| p.into_inner());
        if t.len() >= SNAPSHOT_LIMIT {
            t.retain(|_, s| s.until > now);
            if t.len() >= SNAPSHOT_LIMIT {
                t.clear();
            }
        }
        t.insert(map.to_string(), s);
    }

    /// The map as `GETAUTOMNTENT` pages through it: a new snapshot at cursor 0 (or when
    /// there is none), else the one taken then.
    async fn enumeration(&self, map: &str, cursor: u32) -> Result<Snapshot, Miss> {
        let now = self.now();
        if cursor > 0
            && let Some(s) = self.snapshot(map, now)
        {
            return Ok(s);
        }
        let neg = now.saturating_add(i64::from(self.settings.negative_timeout));
        let s = match self.lookup(map, false, |s| s.map(map), |_| true).await? {
            Some(entries) => {
                // As long as the cache keeps it fresh, and at least the negative timeout
                // (a map served expired while offline).
                let expire = self
                    .sources
                    .iter()
                    .find_map(|s| s.map(map).ok().flatten().map(|c| c.expire))
                    .unwrap_or(0);
                Snapshot {
                    entries: Some(Arc::new(entries)),
                    until: expire.max(neg),
                }
            }
            None => Snapshot {
                entries: None,
                until: neg,
            },
        };
        self.keep_snapshot(map, s.clone(), now);
        Ok(s)
    }

    async fn process(&self, req: Request) -> Action {
        match req {
            Request::SetEnt { map } => {
                let master = map == "auto.master";
                if master {
                    tracing::debug!("master map requested: refreshing, dropping snapshots");
                    self.clear_snapshots();
                }
                match self.map(&map, master).await {
                    Ok(found) => {
                        tracing::debug!("setautomntent {map:?}: found {}", found.is_some());
                        Action::ok(wire::encode_setent_reply(found.is_some()))
                    }
                    Err(m) => Action::error(m.errno()),
                }
            }
            Request::GetEnt { map, cursor, max } => match self.enumeration(&map, cursor).await {
                Ok(s) => {
                    let entries = s.entries.as_deref().map(Vec::as_slice).unwrap_or_default();
                    let start = usize::try_from(cursor).unwrap_or(usize::MAX);
                    let n = usize::try_from(max).unwrap_or(usize::MAX);
                    let page = entries
                        .get(start..)
                        .unwrap_or_default()
                        .iter()
                        .take(n)
                        .map(|(k, v)| (k.as_bytes(), v.as_bytes()))
                        .collect::<Vec<_>>();
                    Action::ok(wire::encode_getent_reply(&page))
                }
                Err(m) => Action::error(m.errno()),
            },
            Request::GetByName { map, key } => match self.entry(&map, &key).await {
                Ok(v) => Action::ok(wire::encode_byname_reply(v.as_deref().map(str::as_bytes))),
                Err(m) => Action::error(m.errno()),
            },
            Request::EndEnt => Action::ok(Vec::new()),
        }
    }
}

/// The autofs command handler given to the socket server.
#[derive(Clone)]
pub struct AutofsResponder {
    ctx: Arc<AutofsCtx>,
}

impl AutofsResponder {
    /// A responder over `sources` (one per domain, in `settings.domains` order).
    pub fn new(
        settings: AutofsSettings,
        sources: Vec<Arc<dyn AutofsSource>>,
        clock: Arc<dyn Clock>,
    ) -> AutofsResponder {
        AutofsResponder {
            ctx: Arc::new(AutofsCtx {
                settings,
                sources,
                clock,
                snapshots: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The `sssd.service` handler (SIGHUP drops the enumeration snapshots).
    pub fn service_handler(&self) -> Arc<dyn ServiceHandler> {
        Arc::new(AutofsService {
            ctx: self.ctx.clone(),
        })
    }
}

impl CommandHandler for AutofsResponder {
    type Conn = ();

    async fn handle(&self, _conn: &mut (), client: &ClientInfo, cmd: u32, body: &[u8]) -> Action {
        if !wire::COMMANDS.contains(&cmd) {
            crate::responder::common::ratelimit::client_warning(|n| {
                tracing::warn!(
                    client = client.id,
                    uid = client.peer.uid,
                    cmd,
                    "not an autofs command; closing the connection ({n} more client warnings \
                     held back)"
                )
            });
            return Action::Close;
        }
        match wire::decode_request(cmd, body) {
            Ok(req) => self.ctx.process(req).await,
            Err(e) => {
                tracing::debug!(client = client.id, cmd, "malformed autofs request: {e}");
                Action::error(EINVAL)
            }
        }
    }
}

struct AutofsService {
    ctx: Arc<AutofsCtx>,
}

impl ServiceHandler for AutofsService {
    fn clear_negcache(&self) {
        tracing::info!("dropping the automount enumeration snapshots");
        self.ctx.clear_snapshots();
    }

    fn clear_enum_cache(&self) {
        self.ctx.clear_snapshots();
    }
}
