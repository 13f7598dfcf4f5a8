//! Per-domain backend: answers `getAccountInfo` by fetching from the directory and writing
//! the domain cache, keeping the online/offline state and coalescing identical requests.
//!
//! [`Backend::handle`] does the work and is usable without D-Bus; the
//! [`AccountInfoHandler`] and [`ServiceHandler`] impls only forward to it.

pub mod access;
pub mod ad;
pub mod coalesce;
pub mod dns;
mod failover_status;
pub mod files;
pub mod krb5;
pub mod ldap;
pub mod nss_notify;
pub mod online_notify;
pub mod pam;
pub mod proxy;
pub mod refresh;
#[cfg(test)]
mod slapd;
pub mod state;
pub mod store;
#[cfg(test)]
mod tests;

use crate::config::{AuthOptions, DomainOptions, LdapOptions, PamOptions};
use crate::sbus::{
    AccountInfoHandler, AccountRequest, BoxFuture, DP_ERR_FATAL, DP_ERR_OFFLINE, DpReply,
    EntryType, Filter, PamForward, PamResult, ServiceHandler,
};
use coalesce::Coalescer;
use ldap::LdapProvider;
use ldap::search::SearchError;
use nss_notify::NssNotifier;
use refresh::RefreshSchedule;
use state::{Backoff, Decision, OnlineState};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use store::{CacheOp, Store};
use tokio::sync::Notify;

/// One unit of directory work.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Job {
    /// A `getAccountInfo` request (type and normalised filter).
    Account(EntryType, Filter),
    /// A user by e-mail address or principal, as the client typed it.
    UserByAlias(String),
    /// A full enumeration refresh.
    Enumerate,
    /// A services, hosts, networks or SSH host request (type, normalised filter, extra
    /// qualifier).
    Map(EntryType, Filter, String),
}

struct Inner {
    domain: String,
    case_sensitive: bool,
    enumerate: bool,
    refresh: Duration,
    /// `refresh_expired_interval` and its offset, when set.
    refresh_expired: Option<RefreshSchedule>,
    /// Longest time one connection attempt over every server can take.
    probe_wait: Duration,
    provider: LdapProvider,
    state: OnlineState,
    store: Arc<dyn Store>,
    coalescer: Coalescer<Job, DpReply>,
    wake: Notify,
    /// Auth, access and password-change options of the domain.
    auth: AuthOptions,
    /// `[pam]` options (offline authentication limits).
    pam: PamOptions,
    /// Serialises read-modify-write of cached credentials.
    creds_lock: tokio::sync::Mutex<()>,
    /// Where memory-cache relevant changes are sent (the NSS responder), once set.
    nss: OnceLock<Arc<dyn NssNotifier>>,
    /// Offline logins waiting for the KDC (`krb5_store_password_if_offline`).
    krb5_pending: krb5::tickets::PendingLogins,
    /// Renewable TGTs of logged-in users (`krb5_renew_interval`).
    krb5_renew: krb5::tickets::RenewTable,
    /// How often pending offline logins retry the KDC (`offline_timeout`).
    krb5_retry: Duration,
}

/// The backend of one domain (cheap to clone; clones share everything).
#[derive(Clone)]
pub struct Backend {
    inner: Arc<Inner>,
}

fn offline_reply(detail: &str) -> DpReply {
    DpReply {
        dp_error: DP_ERR_OFFLINE,
        error: libc::EAGAIN as u32,
        message: format!("Backend is offline: {detail}"),
    }
}

/// A `DP_ERR_FATAL` reply saying `detail`.
pub fn fatal_reply(detail: String) -> DpReply {
    DpReply {
        dp_error: DP_ERR_FATAL,
        error: libc::EIO as u32,
        message: detail,
    }
}

/// What is wrong with a request for domain `asked` that reached the backend of `ours`
/// (`None` when it is ours or names no domain).
pub fn misrouted(asked: &str, ours: &str) -> Option<String> {
    (!asked.is_empty() && !asked.eq_ignore_ascii_case(ours))
        .then(|| format!("request for domain {asked:?} sent to the backend of {ours:?}"))
}

impl Backend {
    /// A backend for domain `dom` using the LDAP provider configured by `ldap`, answering
    /// PAM requests as `auth` and `pam` say, writing into `store`. Nothing is contacted until
    /// the first request.
    pub fn new(
        dom: &DomainOptions,
        ldap: LdapOptions,
        auth: AuthOptions,
        pam: PamOptions,
        store: Arc<dyn Store>,
    ) -> Backend {
        let refresh = Duration::from_secs(u64::from(ldap.enumeration_refresh_timeout.max(1)));
        let secs = |n: u32| Duration::from_secs(u64::from(n));
        let backoff = Backoff {
            base: secs(dom.offline_timeout.max(1)),
            max: secs(dom.offline_timeout_max),
            random_offset: secs(dom.offline_timeout_random_offset),
        };
        let krb5_retry = backoff.base;
        let per_server =
            u64::from(ldap.network_timeout.max(1)) + u64::from(ldap.opt_timeout.max(1));
        let servers = u64::try_from(ldap.servers().len().max(1)).unwrap_or(1);
        let probe_wait = Duration::from_secs(per_server * servers + 1);
        let provider = LdapProvider::with_auth(ldap, dom, &auth);
        provider.set_store(store.clone());
        Backend {
            inner: Arc::new(Inner {
                domain: dom.name.clone(),
                case_sensitive: dom.case_sensitive,
                enumerate: dom.enumerate,
                refresh,
                refresh_expired: RefreshSchedule::new(
                    dom.refresh_expired_interval,
                    dom.refresh_expired_interval_offset,
                ),
                probe_wait,
                provider,
                state: OnlineState::new(backoff),
                store,
                coalescer: Coalescer::default(),
                wake: Notify::new(),
                auth,
                pam,
                creds_lock: tokio::sync::Mutex::new(()),
                nss: OnceLock::new(),
                krb5_pending: krb5::tickets::PendingLogins::default(),
                krb5_renew: krb5::tickets::RenewTable::default(),
                krb5_retry,
            }),
        }
    }

    /// Handles one `getAccountInfo` request: fetches, writes the cache, returns the status.
    pub async fn handle(&self, req: AccountRequest) -> DpReply {
        let i = &self.inner;
        if let Some(e) = misrouted(&req.domain, &i.domain) {
            return fatal_reply(e);
        }
        if req.entry_type == EntryType::User
            && req.extra == crate::responder::common::source::EXTRA_NAME_IS_ALIAS
            && let Filter::Name(alias) = &req.filter
        {
            tracing::debug!(
                "getAccountInfo type=User alias={alias:?} client={}",
                req.cli_id
            );
            return self.run(Job::UserByAlias(alias.clone())).await;
        }
        let filter = match req.filter {
            // Map names are not user names: no domain suffix, no case folding.
            Filter::Name(n) if req.entry_type != EntryType::Autofs => {
                Filter::Name(self.short_name(&n))
            }
            f => f,
        };
        tracing::debug!(
            "getAccountInfo type={:?} filter={} client={}",
            req.entry_type,
            filter.to_wire(),
            req.cli_id
        );
        let job = match filter {
            // As SSSD: no enumeration on demand; the periodic task keeps the cache complete.
            Filter::Enumerate => return DpReply::ok(),
            f if matches!(
                req.entry_type,
                EntryType::Services | EntryType::Host | EntryType::IpNetwork | EntryType::SshHost
            ) =>
            {
                Job::Map(req.entry_type, f, req.extra)
            }
            f => Job::Account(req.entry_type, f),
        };
        self.run(job).await
    }

    /// A request name as the directory knows it: a fully qualified `name@DOMAIN` for this
    /// domain loses its suffix, and case-insensitive domains lowercase it.
    fn short_name(&self, n: &str) -> String {
        let i = &self.inner;
        let short = match n.rsplit_once('@') {
            Some((s, d)) if !s.is_empty() && d.eq_ignore_ascii_case(&i.domain) => s,
            _ => n,
        };
        if i.case_sensitive {
            short.to_string()
        } else {
            short.to_lowercase()
        }
    }

    /// Runs a full enumeration refresh now (coalesced with one already running).
    pub async fn enumerate(&self) -> DpReply {
        self.run(Job::Enumerate).await
    }

    async fn run(&self, job: Job) -> DpReply {
        let me = self.clone();
        let key = job.clone();
        let work = async move { me.execute(job).await };
        let lost = fatal_reply("backend request task failed".into());
        self.inner.coalescer.run(key, work, lost).await
    }

    async fn execute(&self, job: Job) -> DpReply {
        let i = &self.inner;
        let mut changes = i.state.subscribe();
        match i.state.check(Instant::now()) {
            Decision::Online | Decision::Probe => {}
            Decision::Offline => return offline_reply("waiting before reconnecting"),
            Decision::Wait => {
                // Someone is trying the servers right now: share their outcome.
                let _ = tokio::time::timeout(i.probe_wait, changes.changed()).await;
                if i.state.is_offline() {
                    return offline_reply("the servers are still unreachable");
                }
            }
        }
        for attempt in 0..2 {
            let connect = async {
                match &job {
                    // Long paged searches get a connection of their own (see
                    // LdapProvider::dedicated_connection): enumeration, full sudo refresh.
                    Job::Enumerate | Job::Account(EntryType::SudoFull, _) => {
                        i.provider.dedicated_connection().await
                    }
                    Job::Account(..) | Job::Map(..) | Job::UserByAlias(_) => {
                        i.provider.connection().await
                    }
                }
            };
            let conn = match connect.await {
                Ok(c) => c,
                Err(e) => {
                    i.state.mark_offline(Instant::now());
                    return offline_reply(&e.to_string());
                }
            };
            i.state.mark_online();
            let res = match &job {
                Job::Account(EntryType::SudoFull, f) => {
                    let r = i.provider.fetch(&conn, EntryType::SudoFull, f).await;
                    i.provider.release(conn.clone());
                    r
                }
                Job::Account(EntryType::Group, f) => {
                    match i.provider.fetch_group_from_catalog(&conn, f).await {
                        Some(ops) => Ok(ops),
                        None => i.provider.fetch(&conn, EntryType::Group, f).await,
                    }
                }
                Job::Account(t, f) => i.provider.fetch(&conn, *t, f).await,
                Job::UserByAlias(a) => i.provider.fetch_user_by_alias(&conn, a).await,
                Job::Map(t, f, x) => i.provider.fetch_map(&conn, *t, f, x).await,
                Job::Enumerate => {
                    let mut r = ldap::enumerate::enumerate(i.provider.ctx(), &conn).await;
                    if let Ok(ops) = &mut r {
                        match ldap::services::enumerate(i.provider.ctx(), &conn).await {
                            Ok(more) => ops.extend(more),
                            Err(e) => r = Err(e),
                        }
                    }
                    if let Ok(ops) = &mut r
                        && i.provider.ctx().opts.maps.resolver_ldap
                    {
                        match ldap::resolver::enumerate(i.provider.ctx(), &conn).await {
                            Ok(more) => ops.extend(more),
                            Err(e) => r = Err(e),
                        }
                    }
                    i.provider.release(conn.clone());
                    r
                }
            };
            match res {
                Ok(ops) => return self.store(ops).await,
                Err(e @ SearchError::Server { .. }) => {
                    tracing::error!("{e}");
                    return fatal_reply(e.to_string());
                }
                Err(e @ SearchError::Transport { .. }) => {
                    tracing::warn!("{e}; reconnecting");
                    i.provider.disconnect_broken(conn.id).await;
                    if attempt == 1 {
                        i.state.mark_offline(Instant::now());
                        return offline_reply(&e.to_string());
                    }
                }
            }
        }
        offline_reply("no usable connection")
    }

    /// Serves automount maps (`autofs_provider = ldap`) with `o`.
    pub fn set_autofs(&self, o: ldap::autofs::AutofsOptions) {
        self.inner.provider.set_autofs(o);
    }

    /// Sends memory-cache relevant changes of every later cache write to `n` (the NSS
    /// responder over the bus). Only the first call counts.
    pub fn set_nss_notifier(&self, n: Arc<dyn NssNotifier>) {
        let _ = self.inner.nss.set(n);
    }

    async fn store(&self, ops: Vec<CacheOp>) -> DpReply {
        let store = self.inner.store.clone();
        let now = ldap::now();
        self.inner.provider.ctx().cached_members.record(&ops);
        match tokio::task::spawn_blocking(move || store.apply_reporting(&ops, now)).await {
            Ok(Ok(changes)) => {
                if !changes.is_empty()
                    && let Some(n) = self.inner.nss.get()
                {
                    nss_notify::notify(n.as_ref(), &self.inner.domain, changes);
                }
                DpReply::ok()
            }
            Ok(Err(e)) => {
                tracing::error!("{e}");
                fatal_reply(e.to_string())
            }
            Err(e) => fatal_reply(format!("cache writer task failed: {e}")),
        }
    }

    /// Number of LDAP searches sent so far.
    pub fn searches(&self) -> u64 {
        self.inner
            .provider
            .ctx()
            .searches
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Index in `ldap_uri` of the server in use (or tried first next time).
    pub fn active_uri(&self) -> usize {
        self.inner.provider.preferred_uri()
    }

    /// Whether the backend is offline.
    pub fn is_offline(&self) -> bool {
        self.inner.state.is_offline()
    }

    /// `goOffline`: become offline now (for `offline_timeout`, unless already offline) and
    /// drop the connection.
    pub async fn go_offline(&self) {
        self.inner.state.force_offline(Instant::now());
        self.inner.provider.disconnect().await;
    }

    /// `resetOffline`: retry the server at once if offline.
    pub fn reset_offline(&self) {
        self.inner.state.reset_offline();
        self.inner.wake.notify_one();
    }

    /// Checks whether the server is back when a retry is due (or after `resetOffline`);
    /// runs forever.
    pub async fn run_online_checks(self) {
        let i = &self.inner;
        loop {
            // Wake at the planned retry (or within a second, to notice a new schedule).
            let tick = Duration::from_secs(1);
            let wait = i
                .state
                .retry_at()
                .map_or(tick, |t| {
                    t.saturating_duration_since(Instant::now()).min(tick)
                })
                // Not zero: while another request probes, the retry time stays in the past.
                .max(Duration::from_millis(50));
            tokio::select! {
                _ = i.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
            if i.state.is_offline() && i.state.check(Instant::now()) == Decision::Probe {
                match i.provider.connection().await {
                    Ok(_) => i.state.mark_online(),
                    Err(e) => {
                        tracing::info!("retry failed: {e}");
                        i.state.mark_offline(Instant::now());
                    }
                }
            }
        }
    }

    /// AD domains: connects once at start, so that the domain's flat name is read from a DC
    /// before the first client gives a `DOMAIN\\user` name (as SSSD reads it when it starts).
    /// A failure changes nothing; the first request tries again. Returns at once otherwise.
    pub async fn run_domain_discovery(self) {
        let r = self.learn_domain_info().await;
        if r.dp_error != crate::sbus::DP_ERR_OK {
            tracing::info!("domain discovery at start: {}", r.message);
        }
    }

    /// Makes sure the identity connection is up, which reads the domain's facts (AD: the
    /// flat name) when it is made; offline domains answer `DP_ERR_OFFLINE` without trying.
    async fn learn_domain_info(&self) -> DpReply {
        let i = &self.inner;
        if !i.provider.learns_domain_info() {
            return DpReply::ok();
        }
        if i.state.is_offline() {
            return offline_reply("domain facts not read");
        }
        match i.provider.connection().await {
            Ok(_) => DpReply::ok(),
            Err(e) => offline_reply(&e.to_string()),
        }
    }

    /// When `enumerate = true`: refreshes everything now and then every
    /// `ldap_enumeration_refresh_timeout`; runs forever. Returns at once otherwise.
    pub async fn run_enumeration(self) {
        if !self.inner.enumerate {
            return;
        }
        loop {
            let r = self.enumerate().await;
            if r.dp_error != 0 {
                tracing::warn!("enumeration: {}", r.message);
            }
            tokio::time::sleep(self.inner.refresh).await;
        }
    }
}

impl AccountInfoHandler for Backend {
    fn get_account_info(&self, req: AccountRequest) -> BoxFuture<DpReply> {
        let b = self.clone();
        Box::pin(async move { b.handle(req).await })
    }

    fn pam_handler(&self, req: PamForward) -> BoxFuture<PamResult> {
        let b = self.clone();
        Box::pin(async move { b.pam(req).await })
    }

    fn get_domains(&self) -> BoxFuture<DpReply> {
        let b = self.clone();
        Box::pin(async move { b.learn_domain_info().await })
    }
}

impl ServiceHandler for Backend {
    fn go_offline(&self) {
        let b = self.clone();
        if let Ok(h) = tokio::runtime::Handle::try_current() {
            h.spawn(async move { b.go_offline().await });
        } else {
            self.inner.state.force_offline(Instant::now());
        }
    }

    fn reset_offline(&self) {
        Backend::reset_offline(self);
    }
}
