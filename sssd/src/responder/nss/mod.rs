//! The NSS responder: passwd/group/initgroups lookups and enumeration over the socket.

pub mod commands;
pub mod enumerate;
pub mod memcache;
pub mod netgroup;
pub mod no_cache;
pub mod resolver;
pub mod services;
pub mod templates;

// The lookup engine and its parts live in `responder::common` (shared with PAM); these
// re-exports keep the NSS paths working.
pub use crate::responder::common::{cache_req, fake, names, negcache, settings, source};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_memcache;
#[cfg(test)]
mod tests_socket;

use crate::memcache::maps::MemCache;
use crate::responder::common::{Action, ClientInfo, CommandHandler};
use crate::sbus::{MemoryCacheHandler, ServiceHandler};
use cache_req::CacheReq;
use commands::NssConn;
use enumerate::EnumCache;
use negcache::NegCache;
use no_cache::NoCacheBudget;
use settings::NssSettings;
use source::{Clock, DomainSource};
use std::sync::Arc;

/// Everything the NSS commands share.
pub struct NssCtx {
    /// The lookup engine (settings, sources, negative cache, clock).
    pub cr: CacheReq,
    /// Enumeration snapshots.
    pub enums: EnumCache,
    /// The memory cache shared with clients (`None`: not kept, as in tests).
    pub mc: Option<Arc<MemCache>>,
    /// How often an unprivileged uid may bypass the cache (`EX_FLAG_NO_CACHE`).
    pub no_cache: NoCacheBudget,
}

/// The NSS command handler given to the socket server.
#[derive(Clone)]
pub struct NssResponder {
    ctx: Arc<NssCtx>,
}

impl NssResponder {
    /// A responder over `sources` (one per domain, in `settings.domains` order).
    pub fn new(
        settings: NssSettings,
        sources: Vec<Arc<dyn DomainSource>>,
        clock: Arc<dyn Clock>,
    ) -> NssResponder {
        NssResponder::with_memcache(settings, sources, clock, None)
    }

    /// [`NssResponder::new`] that also keeps the memory cache `mc` up to date.
    pub fn with_memcache(
        settings: NssSettings,
        sources: Vec<Arc<dyn DomainSource>>,
        clock: Arc<dyn Clock>,
        mc: Option<Arc<MemCache>>,
    ) -> NssResponder {
        let negcache = Arc::new(NegCache::new(settings.nss.entry_negative_timeout));
        let cr = CacheReq::new(Arc::new(settings), sources, negcache, clock);
        NssResponder {
            ctx: Arc::new(NssCtx {
                cr,
                enums: EnumCache::default(),
                mc,
                no_cache: NoCacheBudget::default(),
            }),
        }
    }

    /// The shared context.
    pub fn ctx(&self) -> &Arc<NssCtx> {
        &self.ctx
    }

    /// The `sssd.service` handler (clearNegcache, clearEnumCache, clearMemcache).
    pub fn service_handler(&self) -> Arc<dyn ServiceHandler> {
        Arc::new(NssService {
            ctx: self.ctx.clone(),
        })
    }

    /// The `sssd.nss.MemoryCache` handler (calls from the backends).
    pub fn memcache_handler(&self) -> Arc<dyn MemoryCacheHandler> {
        Arc::new(memcache::NssMemoryCache::new(self.ctx.clone()))
    }
}

impl CommandHandler for NssResponder {
    type Conn = NssConn;

    fn handle(
        &self,
        conn: &mut NssConn,
        client: &ClientInfo,
        cmd: u32,
        body: &[u8],
    ) -> impl std::future::Future<Output = Action> + Send {
        commands::dispatch(&self.ctx, conn, client.peer.uid, cmd, body)
    }
}

struct NssService {
    ctx: Arc<NssCtx>,
}

impl ServiceHandler for NssService {
    fn clear_negcache(&self) {
        tracing::info!("clearing the negative cache");
        self.ctx.cr.negcache.clear_temporary();
        self.ctx.cr.add_filters();
    }

    fn clear_enum_cache(&self) {
        tracing::info!("clearing the enumeration cache");
        self.ctx.enums.clear();
    }

    fn clear_memcache(&self) {
        if let Some(mc) = &self.ctx.mc {
            memcache::clear_in_background(mc.clone());
        }
    }
}
