//! `id_provider = files` (SSSD 2.8's files provider): the users and groups of
//! `passwd_files` and `group_files` mirrored into the domain cache, kept current with
//! inotify, the domain answering from that cache.
//!
//! The whole files are read at start and after every change (off the event loop), and the
//! cache is made to hold exactly their content in one transaction: lookups see either the
//! old or the new content, never a mix. A `getAccountInfo` for a name the files do not
//! have is answered at once (after a reload in progress, if any): the cache is complete.
//! PAM: see [`pam`].

pub mod notify;
pub mod options;
pub mod pam;
pub mod parse;
pub mod serve;
pub mod snapshot;
pub mod watch;

use crate::backend::store::Store;
use crate::config::DomainOptions;
use crate::sbus::failover::FailoverHandler;
use crate::sbus::{
    AccountInfoHandler, AccountRequest, BoxFuture, DpReply, PamForward, PamResult, ServiceHandler,
};
use notify::ReloadNotifier;
use options::FilesOptions;
use snapshot::Snapshot;
use std::sync::{Arc, OnceLock};
use thiserror::Error;

/// Why a reload failed (the cache keeps its previous content).
#[derive(Debug, Error)]
pub enum ReloadError {
    /// A file could not be read.
    #[error(transparent)]
    Read(#[from] snapshot::ReadError),
    /// The cache could not be written.
    #[error("writing the domain cache: {0}")]
    Cache(#[from] crate::cache::CacheError),
    /// A blocking task died.
    #[error("reload task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// How long a request waits for the first load of the files.
const FIRST_LOAD_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

struct Inner {
    domain: String,
    case_sensitive: bool,
    opts: FilesOptions,
    store: Arc<dyn Store>,
    /// The content last written to the cache (`None` before the first load). Held for
    /// the length of a reload, so requests arriving meanwhile wait for its outcome.
    current: tokio::sync::Mutex<Option<Arc<Snapshot>>>,
    notifier: OnceLock<Arc<dyn ReloadNotifier>>,
    /// Turns true once the first load was attempted: requests wait for it.
    loaded: tokio::sync::watch::Sender<bool>,
    /// `proxy_pam_target`, when a PAM role is `proxy`.
    pam_target: Option<crate::backend::proxy::pam_target::PamTarget>,
}

/// The backend of one files domain (cheap to clone; clones share everything).
#[derive(Clone)]
pub struct FilesBackend {
    inner: Arc<Inner>,
}

impl FilesBackend {
    /// A backend for domain `dom` reading what `opts` names into `store`. Nothing is read
    /// until [`FilesBackend::reload`] or [`FilesBackend::run`].
    pub fn new(dom: &DomainOptions, opts: FilesOptions, store: Arc<dyn Store>) -> FilesBackend {
        // The files are local: there is no offline state to cache passwords for.
        let pam_target = opts.pam_target.clone().map(|t| {
            crate::backend::proxy::pam_target::PamTarget::new(
                t,
                opts.max_children,
                crate::backend::proxy::helper_path(),
                store.clone(),
                None,
            )
        });
        FilesBackend {
            inner: Arc::new(Inner {
                domain: dom.name.clone(),
                case_sensitive: dom.case_sensitive,
                opts,
                store,
                current: tokio::sync::Mutex::new(None),
                notifier: OnceLock::new(),
                loaded: tokio::sync::watch::Sender::new(false),
                pam_target,
            }),
        }
    }

    /// Where to announce changed content (the responders over the bus). Only the first
    /// call counts.
    pub fn set_notifier(&self, n: Arc<dyn ReloadNotifier>) {
        let _ = self.inner.notifier.set(n);
    }

    /// Reads the files and, when their content differs from what the cache holds (always
    /// on the first load), rewrites the cache and tells the responders. Returns whether
    /// the cache changed.
    pub async fn reload(&self) -> Result<bool, ReloadError> {
        let i = &self.inner;
        let mut current = i.current.lock().await;
        let started = std::time::Instant::now();
        let (pw, gr, cs) = (
            i.opts.passwd_files.clone(),
            i.opts.group_files.clone(),
            i.case_sensitive,
        );
        let (snap, notes) =
            tokio::task::spawn_blocking(move || snapshot::load(&pw, &gr, cs)).await??;
        // Logged as errors: at SSSD's default debug level the administrator sees them.
        for b in &notes.bad {
            tracing::error!("{b}");
        }
        for s in &notes.skipped {
            tracing::error!("{s}");
        }
        if current.as_deref() == Some(&snap) {
            tracing::debug!("files of domain {} read again, content unchanged", i.domain);
            return Ok(false);
        }
        let ops = snap.ops();
        let store = i.store.clone();
        let now = crate::backend::ldap::now();
        tokio::task::spawn_blocking(move || store.apply(&ops, now)).await??;
        tracing::info!(
            "domain {}: {} users and {} groups loaded from the files in {} ms",
            i.domain,
            snap.users.len(),
            snap.groups.len(),
            started.elapsed().as_millis()
        );
        *current = Some(Arc::new(snap));
        drop(current);
        if let Some(n) = i.notifier.get() {
            n.reloaded();
        }
        Ok(true)
    }

    /// Loads the files (retrying every second while that fails), then reloads them after
    /// every change; runs forever. The watches are set before the first read, so no
    /// change is missed.
    pub async fn run(self) {
        let files: Vec<_> = self.inner.opts.all_files().cloned().collect();
        let watcher = match watch::Watcher::new(&files) {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::error!(
                    "domain {}: changes of the files are not watched: {e}",
                    self.inner.domain
                );
                None
            }
        };
        self.reload_logged().await;
        self.inner.loaded.send_replace(true);
        let Some(watcher) = watcher else {
            return;
        };
        loop {
            if let Err(e) = watcher.changed().await {
                tracing::error!("domain {}: {e}", self.inner.domain);
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
            tracing::debug!("domain {}: the files changed", self.inner.domain);
            self.reload_logged().await;
        }
    }

    async fn reload_logged(&self) {
        if let Err(e) = self.reload().await {
            tracing::error!(
                "domain {}: the files could not be loaded, the cache keeps its content: {e}",
                self.inner.domain
            );
        }
    }

    /// Answers `getAccountInfo`: the cache already holds everything the files have, so
    /// this only waits for a reload in progress.
    pub async fn handle(&self, req: AccountRequest) -> DpReply {
        let i = &self.inner;
        if let Some(e) = crate::backend::misrouted(&req.domain, &i.domain) {
            return crate::backend::fatal_reply(e);
        }
        tracing::debug!(
            "getAccountInfo type={:?} filter={} client={}: answered from the files",
            req.entry_type,
            req.filter.to_wire(),
            req.cli_id
        );
        let mut loaded = i.loaded.subscribe();
        if tokio::time::timeout(FIRST_LOAD_WAIT, loaded.wait_for(|l| *l))
            .await
            .is_err()
        {
            tracing::warn!("domain {}: the files are not loaded yet", i.domain);
        }
        drop(i.current.lock().await);
        DpReply::ok()
    }

    /// The domain name.
    pub fn domain(&self) -> &str {
        &self.inner.domain
    }
}

impl AccountInfoHandler for FilesBackend {
    fn get_account_info(&self, req: AccountRequest) -> BoxFuture<DpReply> {
        let b = self.clone();
        Box::pin(async move { b.handle(req).await })
    }

    fn pam_handler(&self, req: PamForward) -> BoxFuture<PamResult> {
        let b = self.clone();
        Box::pin(async move { b.pam(req).await })
    }
}

/// goOffline and resetOffline mean nothing to local files (the defaults ignore them).
impl ServiceHandler for FilesBackend {}

/// A files domain is always online and has no servers.
impl FailoverHandler for FilesBackend {
    fn is_online(&self) -> bool {
        true
    }

    fn active_server(&self, _service: &str) -> String {
        String::new()
    }

    fn list_servers(&self, _service: &str) -> Vec<(String, String)> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests;
