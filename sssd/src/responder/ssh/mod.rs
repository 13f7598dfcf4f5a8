//! The ssh responder (`sssd_ssh`): `SSS_SSH_GET_USER_PUBKEYS` over `pipes/ssh`, answered
//! from the user's cached SSH public keys. The user is resolved with the shared lookup engine
//! (cache first, the backend when the entry is expired or missing, the cache again when the
//! backend is offline); the keys were stored with the user by the backend.
//!
//! As SSSD 2.8: `root` is answered `ERR_NON_SSSD_USER` at once; a user the domains do not
//! know but the system does (`/etc/passwd`) gets `ERR_NON_SSSD_USER` (the client then prints
//! nothing and succeeds), an unknown one `ENOENT`; a malformed request `EINVAL`. Host keys
//! (`SSS_SSH_GET_HOST_PUBKEYS`) are not served: the answer is `ENOENT`.

pub mod settings;

#[cfg(test)]
mod tests;

use crate::cache::Cache;
use crate::responder::common::cache_req::{CacheReq, Mode};
use crate::responder::common::negcache::NegCache;
use crate::responder::common::source::{Clock, DomainSource, SourceError};
use crate::responder::common::{Action, ClientInfo, CommandHandler};
use crate::sbus::ServiceHandler;
use settings::SshSettings;
use sss_proto::ssh;
use std::sync::Arc;

/// `ENOENT`: no such user.
pub const ENOENT: u32 = 2;
/// `EINVAL`: malformed request.
pub const EINVAL: u32 = 22;
/// `EIO`: the cache could not be read.
pub const EIO: u32 = 5;

/// Where the responder reads a domain's cached SSH keys.
pub trait KeySource: Send + Sync + 'static {
    /// The keys stored for user `name` (cache key); `None` when they were never fetched.
    fn ssh_keys(&self, name: &str) -> Result<Option<Vec<Vec<u8>>>, SourceError>;
}

/// A domain's cache as a [`KeySource`].
pub struct CacheKeys {
    domain: String,
    cache: Arc<Cache>,
}

impl CacheKeys {
    /// Keys of domain `domain` read from `cache`.
    pub fn new(domain: &str, cache: Arc<Cache>) -> CacheKeys {
        CacheKeys {
            domain: domain.to_string(),
            cache,
        }
    }
}

impl KeySource for CacheKeys {
    fn ssh_keys(&self, name: &str) -> Result<Option<Vec<Vec<u8>>>, SourceError> {
        self.cache.ssh_keys(name).map_err(|e| SourceError {
            domain: self.domain.clone(),
            message: e.to_string(),
        })
    }
}

/// Whether the system (not SSSD: the responder runs with `_SSS_LOOPS=NO`) knows user
/// `name`.
pub type SystemUser = dyn Fn(&str) -> bool + Send + Sync;

/// The ssh command handler given to the socket server.
pub struct SshResponder {
    cr: CacheReq,
    keys: Vec<Arc<dyn KeySource>>,
    system_user: Arc<SystemUser>,
}

impl SshResponder {
    /// A responder over `sources` and `keys` (one each per domain, in
    /// `settings.lookup.domains` order); `system_user` tells local users apart.
    pub fn new(
        settings: SshSettings,
        sources: Vec<Arc<dyn DomainSource>>,
        keys: Vec<Arc<dyn KeySource>>,
        clock: Arc<dyn Clock>,
        system_user: Arc<SystemUser>,
    ) -> SshResponder {
        let lookup = Arc::new(settings.lookup);
        let negcache = Arc::new(NegCache::new(lookup.negative_timeout));
        SshResponder {
            cr: CacheReq::new(lookup, sources, negcache, clock),
            keys,
            system_user,
        }
    }

    /// The `sssd.service` handler (clearNegcache).
    pub fn service_handler(self: &Arc<Self>) -> Arc<dyn ServiceHandler> {
        Arc::new(SshService(self.clone()))
    }

    /// Answers one GET_USER_PUBKEYS body: the reply status and body.
    pub async fn user_pubkeys(&self, body: &[u8]) -> Action {
        let req = match ssh::decode_request(body) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("invalid ssh request: {e}");
                return Action::error(EINVAL);
            }
        };
        if req.name == "root" {
            return Action::error(ssh::ERR_NON_SSSD_USER);
        }
        let doms = &self.cr.settings.domains;
        let only: Option<Vec<usize>> = match req.domain {
            Some(d) => match doms.iter().position(|x| x.name.eq_ignore_ascii_case(d)) {
                Some(i) => Some(vec![i]),
                None => return Action::error(ENOENT),
            },
            None => None,
        };
        let found = match self
            .cr
            .user_by_name_in(req.name, Mode::Normal, only.as_deref())
            .await
        {
            Ok(f) => f,
            Err(e) => {
                tracing::error!("ssh keys of {:?}: {e}", req.name);
                return Action::error(EIO);
            }
        };
        let Some((d, user)) = found else {
            return Action::error(self.not_found(req.name).await);
        };
        let keys = match self.keys_of(d, &user.name).await {
            Ok(k) => k,
            Err(e) => {
                tracing::error!("ssh keys of {:?}: {e}", user.name);
                return Action::error(EIO);
            }
        };
        let dom = doms.get(d).map(|x| x.name.as_str()).unwrap_or_default();
        let fq = format!("{}@{}", user.name, dom);
        Action::ok(ssh::encode_reply(&fq, &keys))
    }

    /// The keys of user `name` in domain `d`; when none were ever stored (a user cached
    /// before keys were kept), the user is fetched again once.
    async fn keys_of(&self, d: usize, name: &str) -> Result<Vec<Vec<u8>>, SourceError> {
        let Some(src) = self.keys.get(d) else {
            return Ok(Vec::new());
        };
        if let Some(k) = src.ssh_keys(name)? {
            return Ok(k);
        }
        let dom = self.cr.settings.domains.get(d).map(|x| x.name.clone());
        let qualified = match dom {
            Some(dn) => format!("{name}@{dn}"),
            None => name.to_string(),
        };
        self.cr
            .user_by_name_in(&qualified, Mode::NoCache, Some(&[d]))
            .await?;
        Ok(src.ssh_keys(name)?.unwrap_or_default())
    }

    /// The status for a user the domains do not have.
    async fn not_found(&self, name: &str) -> u32 {
        let check = self.system_user.clone();
        let name = name.to_string();
        let local = tokio::task::spawn_blocking(move || check(&name))
            .await
            .unwrap_or(false);
        if local {
            ssh::ERR_NON_SSSD_USER
        } else {
            ENOENT
        }
    }
}

impl CommandHandler for SshResponder {
    type Conn = ();

    async fn handle(&self, _conn: &mut (), client: &ClientInfo, cmd: u32, body: &[u8]) -> Action {
        match cmd {
            ssh::GET_USER_PUBKEYS => self.user_pubkeys(body).await,
            ssh::GET_HOST_PUBKEYS => match ssh::decode_request(body) {
                Ok(_) => Action::error(ENOENT),
                Err(_) => Action::error(EINVAL),
            },
            _ => {
                crate::responder::common::ratelimit::client_warning(|n| {
                    tracing::warn!(
                        client = client.id,
                        uid = client.peer.uid,
                        cmd,
                        "not an ssh command; closing the connection ({n} more client \
                         warnings held back)"
                    )
                });
                Action::Close
            }
        }
    }
}

struct SshService(Arc<SshResponder>);

impl ServiceHandler for SshService {
    fn clear_negcache(&self) {
        tracing::info!("clearing the negative cache");
        self.0.cr.negcache.clear_temporary();
        self.0.cr.add_filters();
    }
}
