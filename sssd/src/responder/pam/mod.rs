//! The PAM responder: PAM commands over `pipes/pam` (and the legacy `private/pam`),
//! resolved through the shared lookup engine and forwarded to the user's backend.

pub mod backend;
pub mod filter;
pub mod request;
pub mod session;
pub mod settings;
pub mod trust;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_socket;

use crate::responder::common::cache_req::CacheReq;
use crate::responder::common::negcache::NegCache;
use crate::responder::common::source::{Clock, DomainSource};
use crate::responder::common::{Action, ClientInfo, CommandHandler};
use crate::sbus::ServiceHandler;
use backend::PamBackend;
use settings::PamSettings;
use sss_proto::Command;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Everything the PAM commands share.
pub struct PamCtx {
    /// The lookup engine (shared with NSS).
    pub cr: CacheReq,
    /// Options.
    pub settings: Arc<PamSettings>,
    /// Where resolved requests go.
    pub backend: Arc<dyn PamBackend>,
    /// `pam_id_timeout` window: logon name → time of its last identity refresh.
    id_table: Mutex<HashMap<String, i64>>,
}

/// Id-table entries kept before expired ones are pruned.
const ID_TABLE_PRUNE_AT: usize = 1024;

impl PamCtx {
    /// Whether `name` had an identity refresh less than `pam_id_timeout` ago.
    pub fn id_fresh(&self, name: &str, now: i64) -> bool {
        let t = self.id_table.lock().unwrap_or_else(|p| p.into_inner());
        t.get(name)
            .is_some_and(|&at| now < at.saturating_add(i64::from(self.settings.pam.pam_id_timeout)))
    }

    /// Records an identity refresh of `name` at `now`.
    pub fn id_refreshed(&self, name: &str, now: i64) {
        if self.settings.pam.pam_id_timeout == 0 {
            return;
        }
        let mut t = self.id_table.lock().unwrap_or_else(|p| p.into_inner());
        if t.len() >= ID_TABLE_PRUNE_AT {
            let ttl = i64::from(self.settings.pam.pam_id_timeout);
            t.retain(|_, at| now < at.saturating_add(ttl));
        }
        t.insert(name.to_string(), now);
    }

    /// Forgets every id-table entry (SIGHUP / clearNegcache).
    pub fn clear_id_table(&self) {
        self.id_table
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

/// The PAM command handler given to the socket server.
#[derive(Clone)]
pub struct PamResponder {
    ctx: Arc<PamCtx>,
}

impl PamResponder {
    /// A responder over `sources` (one per domain, in `settings.lookup.domains` order).
    pub fn new(
        settings: PamSettings,
        sources: Vec<Arc<dyn DomainSource>>,
        backend: Arc<dyn PamBackend>,
        clock: Arc<dyn Clock>,
    ) -> PamResponder {
        let lookup = Arc::new(settings.lookup.clone());
        let negcache = Arc::new(NegCache::new(lookup.nss.entry_negative_timeout));
        let cr = CacheReq::new(lookup, sources, negcache, clock);
        PamResponder {
            ctx: Arc::new(PamCtx {
                cr,
                settings: Arc::new(settings),
                backend,
                id_table: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The shared context.
    pub fn ctx(&self) -> &Arc<PamCtx> {
        &self.ctx
    }

    /// The `sssd.service` handler (clearNegcache also clears the id table).
    pub fn service_handler(&self) -> Arc<dyn ServiceHandler> {
        Arc::new(PamService {
            ctx: self.ctx.clone(),
        })
    }
}

/// Whether `cmd` is one of the PAM commands this responder serves.
pub fn is_pam_command(cmd: u32) -> bool {
    matches!(
        Command::from_u32(cmd),
        Some(
            Command::PamAuthenticate
                | Command::PamSetCred
                | Command::PamAcctMgmt
                | Command::PamOpenSession
                | Command::PamCloseSession
                | Command::PamChAuthTok
                | Command::PamChAuthTokPrelim
                | Command::PamPreAuth
        )
    )
}

impl CommandHandler for PamResponder {
    type Conn = ();

    async fn handle(&self, _conn: &mut (), client: &ClientInfo, cmd: u32, body: &[u8]) -> Action {
        if !is_pam_command(cmd) {
            crate::responder::common::ratelimit::client_warning(|n| {
                tracing::warn!(
                    client = client.id,
                    uid = client.peer.uid,
                    cmd,
                    "not a PAM command; closing the connection ({n} more client warnings held \
                     back)"
                )
            });
            return Action::Close;
        }
        let reply = request::process(&self.ctx, client, cmd, body).await;
        Action::ok(sss_proto::pam::encode_reply(&reply))
    }
}

struct PamService {
    ctx: Arc<PamCtx>,
}

impl ServiceHandler for PamService {
    fn clear_negcache(&self) {
        tracing::info!("clearing the negative cache and the pam_id_timeout table");
        self.ctx.cr.negcache.clear_temporary();
        self.ctx.cr.add_filters();
        self.ctx.clear_id_table();
    }
}
