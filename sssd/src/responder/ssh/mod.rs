//! The ssh responder (`sssd_ssh`): `SSS_SSH_GET_USER_PUBKEYS` over `pipes/ssh`, answered
//! from the user's cached SSH public keys. The user is resolved with the shared lookup engine
//! (cache first, the backend when the entry is expired or missing, the cache again when the
//! backend is offline); the keys were stored with the user by the backend.
//!
//! As SSSD 2.8: `root` is answered `ERR_NON_SSSD_USER` at once; a user the domains do not
//! know but the system does (`/etc/passwd`) gets `ERR_NON_SSSD_USER` (the client then prints
//! nothing and succeeds), an unknown one `ENOENT`; a malformed request `EINVAL`.
//!
//! Host keys (`SSS_SSH_GET_HOST_PUBKEYS`, for `sss_ssh_knownhostsproxy`) as SSSD 2.8's
//! `cache_req_ssh_host_id_by_name`: the name may carry `@domain`; the domains are tried in
//! order (only the one named, when the request names one) and the first that has the host
//! answers; in each the backend is asked first (the cache is bypassed, so keys removed from
//! the directory stop being served at once) and the cache is read after it, whatever its
//! freshness when the backend is offline. There is no negative cache for hosts (SSSD has
//! none). After a lookup that found the host or found nothing, the host's known hosts stamp
//! is set to now + `ssh_known_hosts_timeout` and `pubconf/known_hosts` is rewritten (see
//! [`known_hosts`]).

pub mod known_hosts;
pub mod settings;

#[cfg(test)]
mod tests;

use crate::cache::Cache;
use crate::cache::maps::SshHost;
use crate::model::Cached;
use crate::responder::common::cache_req::{CacheReq, Mode};
use crate::responder::common::negcache::NegCache;
use crate::responder::common::source::DpStatus;
use crate::responder::common::source::{Clock, DomainSource, SourceError};
use crate::responder::common::{Action, ClientInfo, CommandHandler};
use crate::sbus::ServiceHandler;
use crate::sbus::{
    AccountRequest, BoxFuture, DP_ERR_OFFLINE, DP_ERR_OK, DP_FAST_REPLY, DataProviderClient,
    EntryType, Filter,
};
use settings::SshSettings;
use sss_proto::ssh;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

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

/// Where the responder reads and refreshes a domain's SSH host keys.
pub trait HostKeySource: Send + Sync + 'static {
    /// The cached keys of the host requested as `name`, with stamps.
    fn host(&self, name: &str) -> Result<Option<Cached<SshHost>>, SourceError>;
    /// Every cached host (for the known hosts file).
    fn hosts(&self) -> Result<Vec<Cached<SshHost>>, SourceError>;
    /// Keeps host `name` in the known hosts file until `expire`.
    fn touch(&self, name: &str, expire: i64) -> Result<(), SourceError>;
    /// Asks the backend to fetch host `name` (requested with `alias`) into the cache.
    fn refresh(&self, name: &str, alias: Option<&str>) -> BoxFuture<DpStatus>;
}

/// A domain's cache and backend as a [`HostKeySource`].
pub struct CacheHosts {
    domain: String,
    cache: Arc<Cache>,
    dp: Option<DataProviderClient>,
    timeout: Duration,
}

impl CacheHosts {
    /// Host keys of domain `domain` read from `cache`, refreshed through `dp` (None: every
    /// refresh is offline) waiting at most `timeout`.
    pub fn new(
        domain: &str,
        cache: Arc<Cache>,
        dp: Option<DataProviderClient>,
        timeout: Duration,
    ) -> CacheHosts {
        CacheHosts {
            domain: domain.to_string(),
            cache,
            dp,
            timeout,
        }
    }

    fn err(&self, e: crate::cache::CacheError) -> SourceError {
        SourceError {
            domain: self.domain.clone(),
            message: e.to_string(),
        }
    }
}

/// The `getAccountInfo` request that refreshes the SSH keys of host `name` in `domain`.
pub fn host_request(domain: &str, name: &str, alias: Option<&str>) -> AccountRequest {
    AccountRequest {
        dp_flags: DP_FAST_REPLY,
        entry_type: EntryType::SshHost,
        filter: Filter::Name(name.to_string()),
        domain: domain.to_string(),
        extra: alias.unwrap_or_default().to_string(),
        cli_id: crate::logging::current_request_id(),
    }
}

impl HostKeySource for CacheHosts {
    fn host(&self, name: &str) -> Result<Option<Cached<SshHost>>, SourceError> {
        self.cache.ssh_host(name).map_err(|e| self.err(e))
    }

    fn hosts(&self) -> Result<Vec<Cached<SshHost>>, SourceError> {
        self.cache.ssh_hosts().map_err(|e| self.err(e))
    }

    fn touch(&self, name: &str, expire: i64) -> Result<(), SourceError> {
        self.cache
            .touch_ssh_known_host(name, expire)
            .map_err(|e| self.err(e))
    }

    fn refresh(&self, name: &str, alias: Option<&str>) -> BoxFuture<DpStatus> {
        let req = host_request(&self.domain, name, alias);
        let dp = self.dp.clone();
        let timeout = self.timeout;
        Box::pin(async move {
            let Some(dp) = dp else {
                return DpStatus::Offline;
            };
            match dp.get_account_info(&req, timeout).await {
                Ok(r) if r.dp_error == DP_ERR_OK => DpStatus::Ok,
                Ok(r) if r.dp_error == DP_ERR_OFFLINE => DpStatus::Offline,
                Ok(r) => DpStatus::Failed(format!(
                    "backend of {}: dp_error {} error {}: {}",
                    req.domain, r.dp_error, r.error, r.message
                )),
                Err(e) => DpStatus::Failed(e.to_string()),
            }
        })
    }
}

/// Host keys per domain and where the known hosts file goes.
pub struct HostKeys {
    /// One source per domain, in `settings.lookup.domains` order.
    pub sources: Vec<Arc<dyn HostKeySource>>,
    /// The known hosts file (`pubconf/known_hosts`).
    pub known_hosts: PathBuf,
}

/// Whether the system (not SSSD: the responder runs with `_SSS_LOOPS=NO`) knows user
/// `name`.
pub type SystemUser = dyn Fn(&str) -> bool + Send + Sync;

/// The ssh command handler given to the socket server.
pub struct SshResponder {
    cr: CacheReq,
    keys: Vec<Arc<dyn KeySource>>,
    system_user: Arc<SystemUser>,
    hosts: HostKeys,
    /// Per domain: whether its backend was offline at the last host lookup.
    offline: Vec<AtomicBool>,
    hash_known_hosts: bool,
    known_hosts_timeout: u32,
    clock: Arc<dyn Clock>,
    /// Serialises known hosts file rewrites.
    file_lock: tokio::sync::Mutex<()>,
}

impl SshResponder {
    /// A responder over `sources`, `keys` and `hosts` (one each per domain, in
    /// `settings.lookup.domains` order); `system_user` tells local users apart.
    pub fn new(
        settings: SshSettings,
        sources: Vec<Arc<dyn DomainSource>>,
        keys: Vec<Arc<dyn KeySource>>,
        hosts: HostKeys,
        clock: Arc<dyn Clock>,
        system_user: Arc<SystemUser>,
    ) -> SshResponder {
        let lookup = Arc::new(settings.lookup);
        let negcache = Arc::new(NegCache::new(lookup.nss.entry_negative_timeout));
        let offline = hosts
            .sources
            .iter()
            .map(|_| AtomicBool::new(false))
            .collect();
        SshResponder {
            cr: CacheReq::new(lookup, sources, negcache, clock.clone()),
            keys,
            system_user,
            hosts,
            offline,
            hash_known_hosts: settings.hash_known_hosts,
            known_hosts_timeout: settings.known_hosts_timeout,
            clock,
            file_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// Answers one GET_HOST_PUBKEYS body: the reply status and body.
    pub async fn host_pubkeys(&self, body: &[u8]) -> Action {
        let req = match ssh::decode_request(body) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("invalid ssh host request: {e}");
                return Action::error(EINVAL);
            }
        };
        let doms = &self.cr.settings.domains;
        let find = |d: &str| doms.iter().position(|x| x.name.eq_ignore_ascii_case(d));
        // A named domain restricts the search; so does a `name@domain` suffix naming one.
        let (name, only) = match req.domain {
            Some(d) => match find(d) {
                Some(i) => (req.name, Some(i)),
                None => return Action::error(ENOENT),
            },
            None => match req.name.rsplit_once('@') {
                Some((n, d)) if !n.is_empty() => match find(d) {
                    Some(i) => (n, Some(i)),
                    None => (req.name, None),
                },
                _ => (req.name, None),
            },
        };
        let order: Vec<usize> = match only {
            Some(i) => vec![i],
            None => (0..doms.len().min(self.hosts.sources.len())).collect(),
        };
        let mut found: Option<(usize, Cached<SshHost>)> = None;
        for d in order.iter().copied() {
            let Some(src) = self.hosts.sources.get(d) else {
                continue;
            };
            let status = src.refresh(name, req.alias).await;
            let offline = !matches!(status, DpStatus::Ok);
            if let DpStatus::Failed(m) = &status {
                tracing::warn!("SSH host {name:?}: {m}; using the cache");
            }
            if let Some(flag) = self.offline.get(d) {
                flag.store(offline, Ordering::Relaxed);
            }
            match src.host(name) {
                Ok(Some(h)) => {
                    found = Some((d, h));
                    break;
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!("SSH host keys of {name:?}: {e}");
                    return Action::error(EIO);
                }
            }
        }
        // As SSSD: the stamp goes on the host where it was found (or, when nothing was
        // found, in the domain named), then the file is rewritten.
        let stamp_in = found.as_ref().map(|(d, _)| *d).or(only);
        self.update_known_hosts(stamp_in, name).await;
        match found {
            Some((_, h)) => Action::ok(ssh::encode_reply(&h.value.name, &h.value.keys)),
            None => Action::error(ENOENT),
        }
    }

    /// Stamps host `name` in domain `d` (when given) and rewrites the known hosts file.
    async fn update_known_hosts(&self, d: Option<usize>, name: &str) {
        let _guard = self.file_lock.lock().await;
        let now = self.clock.now();
        if let Some(src) = d.and_then(|d| self.hosts.sources.get(d)) {
            let until = now + i64::from(self.known_hosts_timeout);
            if let Err(e) = src.touch(name, until) {
                tracing::error!("known hosts stamp of {name:?}: {e}");
                return;
            }
        }
        let mut all = Vec::new();
        for (i, src) in self.hosts.sources.iter().enumerate() {
            let offline = self
                .offline
                .get(i)
                .is_some_and(|f| f.load(Ordering::Relaxed));
            match src.hosts() {
                Ok(hs) => all.extend(hs.into_iter().map(|h| (h, offline))),
                Err(e) => tracing::warn!("known hosts: {e}"),
            }
        }
        let path = self.hosts.known_hosts.clone();
        let hash = self.hash_known_hosts;
        let res = tokio::task::spawn_blocking(move || {
            let text = known_hosts::render(&all, now, hash)?;
            known_hosts::write_atomically(&path, &text)
        })
        .await;
        match res {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!("unable to write the known hosts file: {e}"),
            Err(e) => tracing::error!("known hosts writer task failed: {e}"),
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
            ssh::GET_HOST_PUBKEYS => self.host_pubkeys(body).await,
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
