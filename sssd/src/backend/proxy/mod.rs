//! The backend of an `id_provider = proxy` domain: users and groups come from the NSS
//! module `libnss_<proxy_lib_name>.so.2`, called by `proxy_child` helpers (see [`pool`]) so
//! that no blocking NSS call runs in this process's event loop; PAM requests run
//! `proxy_pam_target` through libpam in a `proxy_child` each (see [`pam_target`]). Results go into
//! the domain cache as the LDAP backend's do.

pub mod auth;
pub mod convert;
pub mod options;
pub mod pam_target;
pub mod pool;

use crate::backend::coalesce::Coalescer;
use crate::backend::fatal_reply as fatal;
use crate::backend::nss_notify::{self, NssNotifier};
use crate::backend::store::{CacheOp, Store};
use crate::config::{DomainOptions, PamOptions};
use crate::sbus::failover::FailoverHandler;
use crate::sbus::{
    AccountInfoHandler, AccountRequest, BoxFuture, DP_ERR_OFFLINE, DpReply, EntryType, Filter,
    PamForward, PamResult, ServiceHandler,
};
use convert::IdCtx;
use options::ProxyOptions;
use pool::{NssPool, PoolError};
use sss_proto::proxy::{NssReply, NssRequest, PasswdEnt};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// How often `enumerate = true` refreshes every user and group.
pub const ENUMERATION_REFRESH: Duration = Duration::from_secs(300);

/// Most groups fetched by gid for one initgroups request.
const MAX_INITGROUPS_FETCH: usize = 1024;

/// One unit of NSS work (identical concurrent ones are coalesced).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Job {
    Account(EntryType, Filter),
    Enumerate,
}

/// Why a job failed.
#[derive(Debug)]
enum Failure {
    /// The helper failed (hang, crash, garbage, cannot start).
    Helper(PoolError),
    /// The module answered `UNAVAIL` (or lacks a function).
    Unavail(String),
}

struct Inner {
    domain: String,
    ctx: IdCtx,
    enumerate: bool,
    opts: ProxyOptions,
    pool: NssPool,
    store: Arc<dyn Store>,
    coalescer: Coalescer<Job, DpReply>,
    nss: OnceLock<Arc<dyn NssNotifier>>,
    offline: AtomicBool,
    /// `proxy_pam_target`, when a PAM role uses it.
    pam_target: Option<pam_target::PamTarget>,
}

/// The backend of one proxy domain (cheap to clone; clones share everything).
#[derive(Clone)]
pub struct ProxyBackend {
    inner: Arc<Inner>,
}

/// `proxy_child` where the installed product has it.
pub fn helper_path() -> PathBuf {
    crate::service::paths_from_env().libexec.join("proxy_child")
}

impl ProxyBackend {
    /// A backend for `dom` configured by `opts`, its helpers being `helper`, writing into
    /// `store`. No helper runs before [`ProxyBackend::check_module`] or the first request.
    pub fn new(
        dom: &DomainOptions,
        opts: ProxyOptions,
        pam: PamOptions,
        store: Arc<dyn Store>,
        helper: PathBuf,
    ) -> ProxyBackend {
        let pool = NssPool::new(
            helper.clone(),
            &opts.lib_name,
            pool::POOL_SIZE,
            pool::CALL_DEADLINE,
        );
        let pam_target = opts
            .pam_target
            .clone()
            .filter(|_| opts.runs_pam())
            .map(|t| {
                pam_target::PamTarget::new(
                    t,
                    opts.max_children,
                    helper.clone(),
                    store.clone(),
                    dom.cache_credentials
                        .then(|| crate::backend::pam::offline::OfflinePolicy::from_pam(&pam)),
                )
            });
        ProxyBackend {
            inner: Arc::new(Inner {
                domain: dom.name.clone(),
                ctx: IdCtx::new(dom),
                enumerate: dom.enumerate,
                pool,
                store,
                coalescer: Coalescer::default(),
                nss: OnceLock::new(),
                offline: AtomicBool::new(false),
                pam_target,
                opts,
            }),
        }
    }

    /// Starts a first helper and checks that it loads the NSS module (a missing module
    /// stops the backend at start, as SSSD's does).
    pub async fn check_module(&self) -> Result<(), PoolError> {
        self.inner.pool.check().await
    }

    /// The NSS helper pool (for tests and logs).
    pub fn pool(&self) -> &NssPool {
        &self.inner.pool
    }

    /// Sends memory-cache relevant changes of every later cache write to `n`.
    pub fn set_nss_notifier(&self, n: Arc<dyn NssNotifier>) {
        let _ = self.inner.nss.set(n);
    }

    /// Whether the last NSS call failed as unavailable.
    pub fn is_offline(&self) -> bool {
        self.inner.offline.load(Ordering::Relaxed)
    }

    /// A request name as the module knows it: a `name@DOMAIN` of this domain loses its
    /// suffix; case-insensitive domains lowercase it.
    fn short_name(&self, n: &str) -> String {
        let short = match n.rsplit_once('@') {
            Some((s, d)) if !s.is_empty() && d.eq_ignore_ascii_case(&self.inner.domain) => s,
            _ => n,
        };
        self.inner.ctx.cased(short)
    }

    /// Handles one `getAccountInfo` request: asks the module, writes the cache.
    pub async fn handle(&self, req: AccountRequest) -> DpReply {
        let i = &self.inner;
        if let Some(e) = crate::backend::misrouted(&req.domain, &i.domain) {
            return fatal(e);
        }
        if !matches!(
            req.entry_type,
            EntryType::User | EntryType::Group | EntryType::Initgroups
        ) {
            // Netgroups, services, sudo, ...: the proxy provider has none of them here.
            return DpReply::ok();
        }
        let filter = match req.filter {
            Filter::Name(n) => Filter::Name(self.short_name(&n)),
            f => f,
        };
        tracing::debug!(
            "getAccountInfo type={:?} filter={} client={}",
            req.entry_type,
            filter.to_wire(),
            req.cli_id
        );
        let job = match filter {
            Filter::Enumerate if !i.enumerate => return DpReply::ok(),
            Filter::Enumerate => Job::Enumerate,
            f => Job::Account(req.entry_type, f),
        };
        self.run(job).await
    }

    /// Refreshes every user and group now (coalesced with one already running).
    pub async fn enumerate(&self) -> DpReply {
        self.run(Job::Enumerate).await
    }

    async fn run(&self, job: Job) -> DpReply {
        let me = self.clone();
        let key = job.clone();
        let work = async move { me.execute(job).await };
        self.inner
            .coalescer
            .run(key, work, fatal("backend request task failed".into()))
            .await
    }

    async fn execute(&self, job: Job) -> DpReply {
        let res = match &job {
            Job::Account(EntryType::User, Filter::Name(n)) => self.user_by_name(n).await,
            Job::Account(EntryType::User, Filter::IdNumber(id)) => self.user_by_uid(*id).await,
            Job::Account(EntryType::Group, Filter::Name(n)) => self.group_by_name(n).await,
            Job::Account(EntryType::Group, Filter::IdNumber(id)) => self.group_by_gid(*id).await,
            Job::Account(EntryType::Initgroups, Filter::Name(n)) => self.initgroups(n).await,
            Job::Account(..) => return DpReply::ok(),
            Job::Enumerate => self.enumeration().await,
        };
        match res {
            Ok(ops) => {
                self.inner.offline.store(false, Ordering::Relaxed);
                self.store(ops).await
            }
            Err(Failure::Unavail(msg)) => {
                self.inner.offline.store(true, Ordering::Relaxed);
                tracing::warn!("{job:?}: the NSS module is unavailable: {msg}");
                DpReply {
                    dp_error: DP_ERR_OFFLINE,
                    error: libc::EAGAIN as u32,
                    message: format!("Backend is offline: {msg}"),
                }
            }
            Err(Failure::Helper(e)) => fatal(e.to_string()),
        }
    }

    async fn call(&self, req: NssRequest) -> Result<NssReply, Failure> {
        match self.inner.pool.call(&req).await {
            Ok(NssReply::Unavail(msg)) => Err(Failure::Unavail(msg)),
            Ok(r) => Ok(r),
            Err(PoolError::Module(msg)) => Err(Failure::Unavail(msg)),
            Err(e) => Err(Failure::Helper(e)),
        }
    }

    /// The one user of a lookup reply (`None`: not found or not storable).
    fn one_user(&self, reply: NssReply) -> Result<Option<PasswdEnt>, Failure> {
        match reply {
            NssReply::Users(mut us) if !us.is_empty() => {
                let u = us.swap_remove(0);
                if self.inner.ctx.user_ok(&u) {
                    Ok(Some(u))
                } else {
                    tracing::debug!(
                        "user {:?} ({}) filtered out: id out of range",
                        u.name,
                        u.uid
                    );
                    Ok(None)
                }
            }
            NssReply::NotFound | NssReply::Users(_) => Ok(None),
            other => Err(unexpected(&other)),
        }
    }

    /// The canonical name of the user with `uid` found by name: from the cache with
    /// `proxy_fast_alias`, else from the module by id.
    async fn canonical_name(&self, p: &PasswdEnt) -> Result<Option<String>, Failure> {
        if self.inner.opts.fast_alias {
            let store = self.inner.store.clone();
            let uid = p.uid;
            if let Ok(Ok(Some(name))) =
                tokio::task::spawn_blocking(move || store.user_name_by_uid(uid)).await
            {
                return Ok(Some(name));
            }
        }
        let reply = self.call(NssRequest::PwUid(p.uid)).await?;
        Ok(self.one_user(reply)?.map(|u| u.name))
    }

    async fn user_by_name(&self, name: &str) -> Result<Vec<CacheOp>, Failure> {
        Ok(self.fetch_user(name).await?.1)
    }

    /// The user `name` and the cache writes of its lookup.
    async fn fetch_user(&self, name: &str) -> Result<(Option<PasswdEnt>, Vec<CacheOp>), Failure> {
        let ctx = &self.inner.ctx;
        let reply = self.call(NssRequest::PwNam(name.to_string())).await?;
        let Some(p) = self.one_user(reply)? else {
            return Ok((None, vec![CacheOp::DeleteUser(ctx.cased(name))]));
        };
        let Some(real) = self.canonical_name(&p).await? else {
            return Ok((None, vec![CacheOp::DeleteUser(ctx.cased(name))]));
        };
        if ctx.cased(&real) != ctx.cased(name) {
            tracing::debug!("{name:?} is an alias of {real:?}: stored under {real:?}");
        }
        let user = ctx.user(&p, &real);
        let ops = vec![CacheOp::PutUser(user, ctx.user_expire(now()))];
        Ok((Some(PasswdEnt { name: real, ..p }), ops))
    }

    async fn user_by_uid(&self, uid: u32) -> Result<Vec<CacheOp>, Failure> {
        let ctx = &self.inner.ctx;
        if !ctx.in_range(uid) {
            return Ok(vec![CacheOp::DeleteUserByUid(uid)]);
        }
        let reply = self.call(NssRequest::PwUid(uid)).await?;
        Ok(match self.one_user(reply)? {
            Some(p) if p.uid == uid => {
                vec![CacheOp::PutUser(
                    ctx.user(&p, &p.name),
                    ctx.user_expire(now()),
                )]
            }
            _ => vec![CacheOp::DeleteUserByUid(uid)],
        })
    }

    fn one_group(&self, reply: NssReply) -> Result<Option<sss_proto::proxy::GroupEnt>, Failure> {
        match reply {
            NssReply::Groups(mut gs) if !gs.is_empty() => {
                let g = gs.swap_remove(0);
                Ok(self.inner.ctx.group_ok(&g).then_some(g))
            }
            NssReply::NotFound | NssReply::Groups(_) => Ok(None),
            other => Err(unexpected(&other)),
        }
    }

    async fn group_by_name(&self, name: &str) -> Result<Vec<CacheOp>, Failure> {
        let ctx = &self.inner.ctx;
        let reply = self.call(NssRequest::GrNam(name.to_string())).await?;
        Ok(match self.one_group(reply)? {
            Some(g) => vec![CacheOp::PutGroup(ctx.group(&g), ctx.group_expire(now()))],
            None => vec![CacheOp::DeleteGroup(ctx.cased(name))],
        })
    }

    async fn group_by_gid(&self, gid: u32) -> Result<Vec<CacheOp>, Failure> {
        let ctx = &self.inner.ctx;
        if !ctx.in_range(gid) {
            return Ok(vec![CacheOp::DeleteGroupByGid(gid)]);
        }
        let reply = self.call(NssRequest::GrGid(gid)).await?;
        Ok(match self.one_group(reply)? {
            Some(g) if g.gid == gid => {
                vec![CacheOp::PutGroup(ctx.group(&g), ctx.group_expire(now()))]
            }
            _ => vec![CacheOp::DeleteGroupByGid(gid)],
        })
    }

    /// As SSSD: the user first, then `initgroups_dyn`, then each of the groups by gid.
    async fn initgroups(&self, name: &str) -> Result<Vec<CacheOp>, Failure> {
        let ctx = &self.inner.ctx;
        let (user, mut ops) = self.fetch_user(name).await?;
        let Some(p) = user else {
            return Ok(ops);
        };
        let gids = match self
            .call(NssRequest::Initgroups(p.name.clone(), p.gid))
            .await?
        {
            NssReply::Gids(g) => g,
            NssReply::NotFound => Vec::new(),
            other => return Err(unexpected(&other)),
        };
        let mut kept: Vec<u32> = Vec::new();
        for gid in gids.into_iter().filter(|g| ctx.in_range(*g)) {
            if !kept.contains(&gid) {
                kept.push(gid);
            }
        }
        let mut fetch = vec![p.gid];
        fetch.extend(kept.iter().copied().filter(|g| *g != p.gid));
        for gid in fetch.into_iter().take(MAX_INITGROUPS_FETCH) {
            let reply = self.call(NssRequest::GrGid(gid)).await?;
            if let Some(g) = self.one_group(reply)?
                && g.gid == gid
            {
                ops.push(CacheOp::PutGroup(ctx.group(&g), ctx.group_expire(now())));
            }
        }
        ops.push(CacheOp::SetInitgroups {
            name: ctx.cased(&p.name),
            gids: kept,
            expire: ctx.user_expire(now()),
        });
        Ok(ops)
    }

    async fn enumeration(&self) -> Result<Vec<CacheOp>, Failure> {
        let users = match self.call(NssRequest::EnumUsers).await? {
            NssReply::Users(u) => u,
            NssReply::NotFound => Vec::new(),
            other => return Err(unexpected(&other)),
        };
        let groups = match self.call(NssRequest::EnumGroups).await? {
            NssReply::Groups(g) => g,
            NssReply::NotFound => Vec::new(),
            other => return Err(unexpected(&other)),
        };
        tracing::debug!(
            "enumeration: {} users, {} groups from the module",
            users.len(),
            groups.len()
        );
        Ok(self.inner.ctx.enumeration(&users, &groups, now()))
    }

    async fn store(&self, ops: Vec<CacheOp>) -> DpReply {
        let store = self.inner.store.clone();
        let now = now();
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
                fatal(e.to_string())
            }
            Err(e) => fatal(format!("cache writer task failed: {e}")),
        }
    }

    /// When `enumerate = true`: refreshes everything now and then every
    /// [`ENUMERATION_REFRESH`]; runs forever. Returns at once otherwise.
    pub async fn run_enumeration(self) {
        if !self.inner.enumerate {
            return;
        }
        loop {
            let r = self.enumerate().await;
            if r.dp_error != 0 {
                tracing::warn!("enumeration: {}", r.message);
            }
            tokio::time::sleep(ENUMERATION_REFRESH).await;
        }
    }
}

fn unexpected(r: &NssReply) -> Failure {
    let what = match r {
        NssReply::Ready => "a greeting",
        NssReply::Users(_) => "users",
        NssReply::Groups(_) => "groups",
        NssReply::Gids(_) => "gids",
        NssReply::NotFound => "not found",
        NssReply::Unavail(_) => "unavailable",
    };
    Failure::Helper(PoolError::Malformed {
        pid: 0,
        detail: format!("an answer of the wrong kind ({what})"),
    })
}

/// Seconds since the epoch.
fn now() -> i64 {
    crate::backend::ldap::now()
}

impl AccountInfoHandler for ProxyBackend {
    fn get_account_info(&self, req: AccountRequest) -> BoxFuture<DpReply> {
        let b = self.clone();
        Box::pin(async move { b.handle(req).await })
    }

    fn pam_handler(&self, req: PamForward) -> BoxFuture<PamResult> {
        let b = self.clone();
        Box::pin(async move { b.pam(req).await })
    }
}

impl ServiceHandler for ProxyBackend {
    fn go_offline(&self) {
        self.inner.offline.store(true, Ordering::Relaxed);
    }

    fn reset_offline(&self) {
        self.inner.offline.store(false, Ordering::Relaxed);
    }
}

impl FailoverHandler for ProxyBackend {
    fn is_online(&self) -> bool {
        !self.is_offline()
    }

    fn active_server(&self, _service: &str) -> String {
        String::new()
    }

    fn list_servers(&self, _service: &str) -> Vec<(String, String)> {
        Vec::new()
    }
}
