//! The request algorithm of spec 5.2: per domain, negative cache, cache freshness,
//! midpoint refresh, backend refresh with re-read, offline fallback; identical in-flight
//! backend requests are coalesced.

use super::names::ParsedName;
use super::negcache::{Kind, NegCache};
use super::settings::NssSettings;
use super::source::{Clock, DomainSource, DpStatus, Query, Record, SourceError};
use crate::config::PrivateGroups;
use crate::model::{Cached, Group, User};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// How a request treats the cache (from the `_EX` flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Fresh cache answers; expired or missing entries are refreshed.
    Normal,
    /// `EX_FLAG_NO_CACHE`: always ask the backend (temporary negative entries ignored).
    NoCache,
    /// `EX_FLAG_INVALIDATE_CACHE`: answer from the cache only, never contact the backend.
    CacheOnly,
}

impl Mode {
    /// The mode for `_EX` request flags.
    pub fn from_flags(flags: u32) -> Mode {
        if flags & sss_proto::nss::EX_FLAG_NO_CACHE != 0 {
            Mode::NoCache
        } else if flags & sss_proto::nss::EX_FLAG_INVALIDATE_CACHE != 0 {
            Mode::CacheOnly
        } else {
            Mode::Normal
        }
    }
}

type InflightKey = (usize, Query);
type Inflight = Arc<Mutex<HashMap<InflightKey, watch::Receiver<Option<DpStatus>>>>>;

/// Result of looking in one domain.
enum DomainResult {
    Found(Record),
    /// Not there; `confirmed` when the backend said so (negative-cache it).
    Missing {
        confirmed: bool,
    },
}

/// The shared state of the lookup algorithm.
pub struct CacheReq {
    /// Options.
    pub settings: Arc<NssSettings>,
    /// One source per domain, in `settings.domains` order.
    pub sources: Vec<Arc<dyn DomainSource>>,
    /// The negative cache.
    pub negcache: Arc<NegCache>,
    /// Time source.
    pub clock: Arc<dyn Clock>,
    inflight: Inflight,
    /// The local overrides the sources apply (checked once per search).
    overrides: Option<Arc<crate::overrides::OverrideStore>>,
    /// The overrides' generation last seen (a change clears the temporary
    /// negative entries: a name or id an override just gave may be negative-cached).
    overrides_seen: AtomicU64,
}

impl CacheReq {
    /// A request engine over `sources` (same order as `settings.domains`). Adds the
    /// permanent filter entries to `negcache`.
    pub fn new(
        settings: Arc<NssSettings>,
        sources: Vec<Arc<dyn DomainSource>>,
        negcache: Arc<NegCache>,
        clock: Arc<dyn Clock>,
    ) -> CacheReq {
        let overrides = sources.iter().find_map(|s| s.overrides());
        let cr = CacheReq {
            settings,
            overrides,
            sources,
            negcache,
            clock,
            inflight: Arc::new(Mutex::new(HashMap::new())),
            overrides_seen: AtomicU64::new(0),
        };
        cr.add_filters();
        cr
    }

    /// (Re)adds the permanent negative entries for `filter_users` / `filter_groups`:
    /// `[nss]` entries apply to every domain unless written `name@domain`; domain entries
    /// to their domain.
    pub fn add_filters(&self) {
        let doms = &self.settings.domains;
        for (kind, global) in [
            (Kind::User, &self.settings.nss.filter_users),
            (Kind::Group, &self.settings.nss.filter_groups),
        ] {
            for f in global {
                match super::names::parse_name(f, doms) {
                    (n, Some(i)) => {
                        let d = &doms[i];
                        self.negcache
                            .set_permanent(kind, Some(&d.name), &d.lookup_key(n));
                    }
                    (n, None) => {
                        for d in doms {
                            self.negcache
                                .set_permanent(kind, Some(&d.name), &d.lookup_key(n));
                        }
                    }
                }
            }
        }
        for d in doms {
            for f in &d.filter_users {
                let (n, _) = super::names::parse_name(f, doms);
                self.negcache
                    .set_permanent(Kind::User, Some(&d.name), &d.lookup_key(n));
            }
            for f in &d.filter_groups {
                let (n, _) = super::names::parse_name(f, doms);
                self.negcache
                    .set_permanent(Kind::Group, Some(&d.name), &d.lookup_key(n));
            }
        }
    }

    fn dom_name(&self, d: usize) -> &str {
        self.settings
            .domains
            .get(d)
            .map(|x| x.name.as_str())
            .unwrap_or("")
    }

    /// Starts (or joins) the backend refresh of `q` in domain `d`.
    fn start_refresh(&self, d: usize, q: &Query) -> watch::Receiver<Option<DpStatus>> {
        let key = (d, q.clone());
        let mut map = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(rx) = map.get(&key) {
            return rx.clone();
        }
        let (tx, rx) = watch::channel(None);
        map.insert(key.clone(), rx.clone());
        drop(map);
        let Some(source) = self.sources.get(d).cloned() else {
            let _ = tx.send(Some(DpStatus::Failed("no such domain".into())));
            return rx;
        };
        let inflight = self.inflight.clone();
        let timeout = self.settings.dp_timeout;
        let domain = self.dom_name(d).to_string();
        // The refresh runs for the request that started it: its lines and the backend's
        // carry that request's id.
        tokio::spawn(crate::logging::carry_request(async move {
            let fut = source.refresh(&key.1);
            let st = match tokio::time::timeout(timeout, fut).await {
                Ok(st) => st,
                Err(_) => {
                    DpStatus::Failed(format!("backend of {domain}: no answer in {timeout:?}"))
                }
            };
            if let DpStatus::Failed(m) = &st {
                tracing::warn!("refresh of {:?} failed: {m}", key.1);
            }
            inflight
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&key);
            let _ = tx.send(Some(st));
        }));
        rx
    }

    async fn refresh(&self, d: usize, q: &Query) -> DpStatus {
        let mut rx = self.start_refresh(d, q);
        match rx.wait_for(Option::is_some).await {
            Ok(v) => v.clone().unwrap_or(DpStatus::Failed("no status".into())),
            Err(_) => DpStatus::Failed("refresh task ended without a status".into()),
        }
    }

    fn past_midpoint(&self, c: &Cached<Record>, now: i64) -> bool {
        let pct = i64::from(self.settings.nss.entry_cache_nowait_percentage);
        if pct == 0 {
            return false;
        }
        // i128: stamps come from the cache and may be anything; never overflow.
        let (lu, ex) = (i128::from(c.last_update), i128::from(c.expire));
        let span = (ex - lu).max(0);
        let mid = (lu + span * i128::from(pct) / 100).max(lu + 10);
        i128::from(now) > mid
    }

    /// A cached entry fresh enough to answer without the backend; fires the midpoint
    /// refresh when due.
    fn fresh(&self, d: usize, q: &Query, c: Option<Cached<Record>>) -> Option<Record> {
        let c = c?;
        self.is_fresh(d, q, &c).then_some(c.value)
    }

    /// Whether `c` is fresh enough to answer without the backend; fires the midpoint
    /// refresh when due.
    fn is_fresh(&self, d: usize, q: &Query, c: &Cached<Record>) -> bool {
        let now = self.clock.now();
        if c.expire <= now {
            return false;
        }
        if self.past_midpoint(c, now) {
            let _ = self.start_refresh(d, q);
        }
        true
    }

    async fn in_domain(
        &self,
        d: usize,
        q: &Query,
        mode: Mode,
    ) -> Result<DomainResult, SourceError> {
        let Some(source) = self.sources.get(d) else {
            return Ok(DomainResult::Missing { confirmed: false });
        };
        let cached = source.read(q)?;
        match mode {
            Mode::CacheOnly => {
                return Ok(match cached {
                    Some(c) => DomainResult::Found(c.value),
                    None => DomainResult::Missing { confirmed: false },
                });
            }
            Mode::Normal => {
                if cached.as_ref().is_some_and(|c| self.is_fresh(d, q, c))
                    && let Some(c) = cached
                {
                    return Ok(DomainResult::Found(c.value));
                }
            }
            Mode::NoCache => {}
        }
        match self.refresh(d, q).await {
            DpStatus::Ok => Ok(match source.read(q)? {
                Some(c) => DomainResult::Found(c.value),
                None => DomainResult::Missing { confirmed: true },
            }),
            DpStatus::Offline | DpStatus::Failed(_) => Ok(match cached {
                Some(c) => DomainResult::Found(c.value),
                None => DomainResult::Missing { confirmed: false },
            }),
        }
    }

    /// Whether a found record may be returned from domain `d` (ids not 0 and in range,
    /// name not filtered).
    pub fn acceptable(&self, d: usize, r: &Record) -> bool {
        let Some(dom) = self.settings.domains.get(d) else {
            return false;
        };
        match r {
            Record::User(u) => {
                u.uid != 0
                    && dom.user_gid(u) != 0
                    && !u.name.is_empty()
                    && dom.id_in_range(u.uid)
                    && !self
                        .negcache
                        .is_filtered(Kind::User, &dom.name, &dom.lookup_key(&u.name))
            }
            Record::Group(g) => {
                g.gid != 0
                    && !g.name.is_empty()
                    && dom.id_in_range(g.gid)
                    && !self
                        .negcache
                        .is_filtered(Kind::Group, &dom.name, &dom.lookup_key(&g.name))
            }
            Record::Gids(_) => true,
            Record::Netgroup(n) => !n.name.is_empty(),
            Record::Service(_) | Record::Host(_) | Record::Network(_) => true,
        }
    }

    /// Clears the temporary negative entries when the local overrides changed.
    fn check_overrides(&self) {
        let Some(store) = &self.overrides else {
            return;
        };
        let g = store.generation();
        if self.overrides_seen.swap(g, Ordering::Relaxed) != g {
            self.negcache.clear_temporary();
        }
    }

    /// Searches `doms` in order. `make` gives the query and its negative-cache entry for
    /// a domain.
    pub(crate) async fn search(
        &self,
        doms: &[usize],
        make: impl Fn(usize) -> (Query, Kind, String),
        mode: Mode,
    ) -> Result<Option<(usize, Record)>, SourceError> {
        self.check_overrides();
        let temporary = mode != Mode::NoCache;
        let skip = |d: usize, kind: Kind, what: &str| {
            let now = self.clock.now();
            self.negcache
                .is_set(kind, self.dom_name(d), what, now, temporary)
        };
        if self.settings.cache_first && mode == Mode::Normal && doms.len() > 1 {
            for &d in doms {
                let (q, kind, what) = make(d);
                if skip(d, kind, &what) {
                    continue;
                }
                let Some(source) = self.sources.get(d) else {
                    continue;
                };
                if let Some(r) = self.fresh(d, &q, source.read(&q)?)
                    && self.acceptable(d, &r)
                {
                    return Ok(Some((d, r)));
                }
            }
        }
        for &d in doms {
            let (q, kind, what) = make(d);
            if skip(d, kind, &what) {
                continue;
            }
            match self.in_domain(d, &q, mode).await? {
                DomainResult::Found(r) if self.acceptable(d, &r) => return Ok(Some((d, r))),
                DomainResult::Found(_) => {}
                DomainResult::Missing { confirmed: true } => {
                    self.negcache
                        .set(kind, self.dom_name(d), &what, self.clock.now());
                }
                DomainResult::Missing { confirmed: false } => {}
            }
        }
        Ok(None)
    }

    /// Domains to search for a client-supplied name, and the name part to look up.
    pub(crate) async fn name_domains<'a>(&self, input: &'a str) -> (&'a str, Vec<usize>) {
        let doms = &self.settings.domains;
        let mut parsed = super::names::parse(input, doms);
        // A domain part no domain answers to may be a flat name not learned yet.
        if parsed == ParsedName::Unknown && crate::config::learned::refresh().await {
            parsed = super::names::parse(input, doms);
        }
        match parsed {
            ParsedName::In(n, i) => (n, vec![i]),
            ParsedName::Short(n) => (
                n,
                (0..doms.len())
                    .filter(|&i| !doms[i].use_fully_qualified_names)
                    .collect(),
            ),
            ParsedName::Unknown => (input, Vec::new()),
        }
    }

    fn key_in(&self, d: usize, name: &str) -> String {
        self.settings
            .domains
            .get(d)
            .map(|x| x.lookup_key(name))
            .unwrap_or_default()
    }

    /// A user by a client-supplied (possibly qualified) name.
    pub async fn user_by_name(
        &self,
        input: &str,
        mode: Mode,
    ) -> Result<Option<(usize, User)>, SourceError> {
        self.user_by_name_in(input, mode, None).await
    }

    /// [`CacheReq::user_by_name`] restricted to the domains listed in `only` (indexes
    /// into `settings.domains`; `None` = every domain). A name qualified with a domain
    /// that is not listed is not found. The PAM responder uses this for `domains=`.
    pub async fn user_by_name_in(
        &self,
        input: &str,
        mode: Mode,
        only: Option<&[usize]>,
    ) -> Result<Option<(usize, User)>, SourceError> {
        let (name, mut doms) = self.name_domains(input).await;
        if let Some(only) = only {
            doms.retain(|d| only.contains(d));
        }
        let make = |d| {
            let k = self.key_in(d, name);
            (Query::UserByName(k.clone()), Kind::User, k)
        };
        if let Some((d, Record::User(u))) = self.search(&doms, make, mode).await? {
            return Ok(Some((d, u)));
        }
        // As SSSD: a name with an `@` that names no user may be an e-mail address or a
        // principal, looked up in every domain (fully qualified ones included).
        if !input.contains('@') {
            return Ok(None);
        }
        let doms: Vec<usize> = (0..self.settings.domains.len())
            .filter(|d| only.is_none_or(|o| o.contains(d)))
            .collect();
        let alias = input.to_lowercase();
        let make = |_| {
            (
                Query::UserByAlias(input.to_string()),
                Kind::Alias,
                alias.clone(),
            )
        };
        Ok(match self.search(&doms, make, mode).await? {
            Some((d, Record::User(u))) => Some((d, u)),
            _ => None,
        })
    }

    /// A user by uid, searching every domain.
    pub async fn user_by_uid(
        &self,
        uid: u32,
        mode: Mode,
    ) -> Result<Option<(usize, User)>, SourceError> {
        let doms: Vec<usize> = (0..self.settings.domains.len()).collect();
        let make = |_| (Query::UserById(uid), Kind::Uid, uid.to_string());
        Ok(match self.search(&doms, make, mode).await? {
            Some((d, Record::User(u))) => Some((d, u)),
            _ => None,
        })
    }

    /// A group by a client-supplied (possibly qualified) name.
    pub async fn group_by_name(
        &self,
        input: &str,
        mode: Mode,
    ) -> Result<Option<(usize, Group)>, SourceError> {
        let (name, doms) = self.name_domains(input).await;
        if !self.any_private_groups(&doms) {
            return self.real_group_by_name(&doms, name, mode).await;
        }
        // Domain by domain: a private group takes its domain's turn.
        for d in doms {
            let found = match self.private_groups(d) {
                PrivateGroups::Off => self.real_group_by_name(&[d], name, mode).await?,
                PrivateGroups::On => match self.private_group_by_name(d, name, mode).await? {
                    Some(g) => Some(g),
                    None => self.real_group_by_name(&[d], name, mode).await?,
                },
                PrivateGroups::Hybrid => match self.real_group_by_name(&[d], name, mode).await? {
                    Some(g) => Some(g),
                    None => self.private_group_by_name(d, name, mode).await?,
                },
            };
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    async fn real_group_by_name(
        &self,
        doms: &[usize],
        name: &str,
        mode: Mode,
    ) -> Result<Option<(usize, Group)>, SourceError> {
        let make = |d| {
            let k = self.key_in(d, name);
            (Query::GroupByName(k.clone()), Kind::Group, k)
        };
        Ok(match self.search(doms, make, mode).await? {
            Some((d, Record::Group(g))) => Some((d, g)),
            _ => None,
        })
    }

    /// A group by gid, searching every domain.
    pub async fn group_by_gid(
        &self,
        gid: u32,
        mode: Mode,
    ) -> Result<Option<(usize, Group)>, SourceError> {
        let doms: Vec<usize> = (0..self.settings.domains.len()).collect();
        if !self.any_private_groups(&doms) {
            return self.real_group_by_gid(&doms, gid, mode).await;
        }
        for d in doms {
            let found = match self.private_groups(d) {
                PrivateGroups::Off => self.real_group_by_gid(&[d], gid, mode).await?,
                PrivateGroups::On => match self.private_group_by_gid(d, gid, mode).await? {
                    Some(g) => Some(g),
                    None => self.real_group_by_gid(&[d], gid, mode).await?,
                },
                PrivateGroups::Hybrid => match self.real_group_by_gid(&[d], gid, mode).await? {
                    Some(g) => Some(g),
                    None => self.private_group_by_gid(d, gid, mode).await?,
                },
            };
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    async fn real_group_by_gid(
        &self,
        doms: &[usize],
        gid: u32,
        mode: Mode,
    ) -> Result<Option<(usize, Group)>, SourceError> {
        let make = |_| (Query::GroupById(gid), Kind::Gid, gid.to_string());
        Ok(match self.search(doms, make, mode).await? {
            Some((d, Record::Group(g))) => Some((d, g)),
            _ => None,
        })
    }

    fn private_groups(&self, d: usize) -> PrivateGroups {
        self.settings
            .domains
            .get(d)
            .map_or(PrivateGroups::Off, |x| x.auto_private_groups)
    }

    fn any_private_groups(&self, doms: &[usize]) -> bool {
        doms.iter()
            .any(|&d| self.private_groups(d) != PrivateGroups::Off)
    }

    /// The private group of user `u` of domain `d`: named after the user, gid = uid, no
    /// members. `None` when the domain gives `u` none (`hybrid`: gid differs from uid,
    /// or a real group holds that gid).
    async fn private_group_of(
        &self,
        d: usize,
        u: User,
        mode: Mode,
    ) -> Result<Option<(usize, Group)>, SourceError> {
        let Some(dom) = self.settings.domains.get(d) else {
            return Ok(None);
        };
        if !dom.private_group_candidate(&u) {
            return Ok(None);
        }
        if dom.auto_private_groups == PrivateGroups::Hybrid
            && self.real_group_by_gid(&[d], u.uid, mode).await?.is_some()
        {
            return Ok(None);
        }
        let group = Group {
            name: u.name,
            gid: u.uid,
            members: Vec::new(),
            dn: u.dn,
            modify_timestamp: u.modify_timestamp,
        };
        Ok(self
            .acceptable(d, &Record::Group(group.clone()))
            .then_some((d, group)))
    }

    async fn private_group_by_name(
        &self,
        d: usize,
        name: &str,
        mode: Mode,
    ) -> Result<Option<(usize, Group)>, SourceError> {
        let make = |d| {
            let k = self.key_in(d, name);
            (Query::UserByName(k.clone()), Kind::User, k)
        };
        match self.search(&[d], make, mode).await? {
            Some((d, Record::User(u))) => self.private_group_of(d, u, mode).await,
            _ => Ok(None),
        }
    }

    async fn private_group_by_gid(
        &self,
        d: usize,
        gid: u32,
        mode: Mode,
    ) -> Result<Option<(usize, Group)>, SourceError> {
        let make = |_| (Query::UserById(gid), Kind::Uid, gid.to_string());
        match self.search(&[d], make, mode).await? {
            Some((d, Record::User(u))) => self.private_group_of(d, u, mode).await,
            _ => Ok(None),
        }
    }

    /// A netgroup by a client-supplied (possibly qualified) name, searching the domains
    /// in order; confirmed misses are negative-cached (`NCE/NETGR`).
    pub async fn netgroup_by_name(
        &self,
        input: &str,
        mode: Mode,
    ) -> Result<Option<(usize, crate::cache::Netgroup)>, SourceError> {
        let (name, doms) = self.name_domains(input).await;
        let make = |d| {
            let k = self.key_in(d, name);
            (Query::NetgroupByName(k.clone()), Kind::Netgroup, k)
        };
        Ok(match self.search(&doms, make, mode).await? {
            Some((d, Record::Netgroup(n))) => Some((d, n)),
            _ => None,
        })
    }

    /// The supplementary gids of a user: the user must resolve first; the initgroups
    /// record is then refreshed like any entry. The primary gid is not added; gid 0,
    /// out-of-range and filtered groups are dropped. `None` when the user is unknown.
    pub async fn initgroups(
        &self,
        input: &str,
        mode: Mode,
    ) -> Result<Option<(usize, User, Vec<u32>)>, SourceError> {
        self.initgroups_in(input, mode, None).await
    }

    /// [`CacheReq::initgroups`] restricted to the domains listed in `only`, as
    /// [`CacheReq::user_by_name_in`].
    pub async fn initgroups_in(
        &self,
        input: &str,
        mode: Mode,
        only: Option<&[usize]>,
    ) -> Result<Option<(usize, User, Vec<u32>)>, SourceError> {
        let Some((d, user)) = self.user_by_name_in(input, mode, only).await? else {
            return Ok(None);
        };
        let q = Query::Initgroups(user.name.clone());
        let gids = match self.in_domain(d, &q, mode).await? {
            DomainResult::Found(Record::Gids(g)) => g,
            _ => Vec::new(),
        };
        let mut gids = self.filter_gids(d, gids)?;
        // The private group is one of the user's groups (its primary one).
        if let Some(dom) = self.settings.domains.get(d)
            && dom.private_group_candidate(&user)
            && !gids.contains(&user.uid)
            && (dom.auto_private_groups == PrivateGroups::On
                || self
                    .real_group_by_gid(&[d], user.uid, mode)
                    .await?
                    .is_none())
        {
            gids.insert(0, user.uid);
        }
        Ok(Some((d, user, gids)))
    }

    /// Drops gid 0, out-of-range, duplicate and filtered gids from a user's groups in
    /// domain `d`, keeping their order. The filters are resolved once: the gids of the
    /// cached groups whose names `filter_groups` lists, and the filtered gids, rather than
    /// reading every group the user is in (a cache holds one group per gid, so both ways
    /// drop the same gids).
    fn filter_gids(&self, d: usize, gids: Vec<u32>) -> Result<Vec<u32>, SourceError> {
        let (Some(dom), Some(source)) = (self.settings.domains.get(d), self.sources.get(d)) else {
            return Ok(Vec::new());
        };
        // A few entries (gid 0 and the filters): a scan beats hashing.
        let mut dropped: Vec<u32> = self
            .negcache
            .filtered(Kind::Gid, &dom.name)
            .iter()
            .filter_map(|g| g.parse().ok())
            .collect();
        let names = self.negcache.filtered(Kind::Group, &dom.name);
        if !names.is_empty() && !gids.is_empty() {
            dropped.extend(source.group_gids(&names)?);
        }
        // The gids kept so far, sorted: directories mostly list them in order, so an insert
        // is usually an append.
        let mut seen: Vec<u32> = Vec::with_capacity(gids.len());
        Ok(gids
            .into_iter()
            .filter(|&g| {
                if g == 0 || !dom.id_in_range(g) || dropped.contains(&g) {
                    return false;
                }
                match seen.binary_search(&g) {
                    Ok(_) => false,
                    Err(i) => {
                        seen.insert(i, g);
                        true
                    }
                }
            })
            .collect())
    }

    /// Whether member `name` of a group in domain `d` is hidden by `filter_users_in_groups`.
    pub fn member_hidden(&self, d: usize, name: &str) -> bool {
        if !self.settings.nss.filter_users_in_groups {
            return false;
        }
        let Some(dom) = self.settings.domains.get(d) else {
            return false;
        };
        self.negcache.is_set(
            Kind::User,
            &dom.name,
            &dom.lookup_key(name),
            self.clock.now(),
            true,
        )
    }
}
