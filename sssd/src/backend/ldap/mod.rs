//! The LDAP identity provider (`id_provider = ldap`).
//!
//! [`LdapProvider`] keeps one connection (failing over across `ldap_uri`) and turns account
//! requests into searches whose results become [`CacheOp`]s for the domain cache.

pub mod asq;
pub mod autofs;
pub mod cached_members;
pub mod connection;
pub mod dn;
pub mod enumerate;
pub mod filter;
pub mod groups;
pub mod idmap;
pub mod ids;
pub mod initgroups;
pub mod nesting;
pub mod netgroups;
pub mod ranges;
pub mod resolver;
pub mod rootdse;
pub mod sasl;
pub mod search;
pub mod servers;
pub mod services;
pub mod ssh_hosts;
pub mod sudo;
pub mod tls;
pub mod users;

use crate::backend::store::CacheOp;
use crate::config::{AuthOptions, DomainOptions, LdapOptions};
use crate::sbus::{EntryType, Filter};
use connection::{ConnectError, Connection, Connector};
use ldap3::Scope;
use search::{Entry, SearchError, SearchSpec};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Mutex;

/// Mapping context: options and domain rules applied to every entry.
#[derive(Debug, Clone)]
pub struct MapCtx {
    /// LDAP options (the bind password is not kept here).
    pub opts: Arc<LdapOptions>,
    /// `case_sensitive`; when false names are stored lowercased.
    pub case_sensitive: bool,
    /// `min_id`.
    pub min_id: u32,
    /// `max_id` (0 = unbounded).
    pub max_id: u32,
    /// `entry_cache_user_timeout` seconds.
    pub user_timeout: u32,
    /// `entry_cache_group_timeout` seconds.
    pub group_timeout: u32,
    /// Number of searches sent so far (diagnostics and tests).
    pub searches: Arc<AtomicU64>,
    /// The id mapper with `ldap_id_mapping` (ids from objectSid).
    pub idmap: Option<ids::SharedMapper>,
    /// Users and groups the cache holds fresh, by DN (group expansion skips them).
    pub cached_members: Arc<cached_members::CachedMembers>,
    /// Whether the search base's domain SID has been read into the id map (lookups by an
    /// id no SID maps to read it once, not every time).
    pub base_sid_read: Arc<std::sync::atomic::AtomicBool>,
}

impl MapCtx {
    /// The context for a domain.
    pub fn new(opts: Arc<LdapOptions>, dom: &DomainOptions) -> MapCtx {
        MapCtx {
            case_sensitive: dom.case_sensitive,
            min_id: dom.min_id,
            max_id: dom.max_id,
            user_timeout: dom.entry_cache_user_timeout,
            group_timeout: dom.entry_cache_group_timeout,
            searches: Arc::default(),
            cached_members: Arc::default(),
            base_sid_read: Arc::default(),
            idmap: opts.id_mapping.clone().map(|o| {
                let mapper =
                    idmap::IdMapper::start(o.clone(), &dom.name, &[]).unwrap_or_else(|e| {
                        tracing::error!("[domain/{}] ID mapping: {e}", dom.name);
                        idmap::IdMapper::new(o)
                    });
                Arc::new(std::sync::Mutex::new(mapper))
            }),
            opts,
        }
    }

    /// A name as the cache keys it.
    pub fn name(&self, n: &str) -> String {
        if self.case_sensitive {
            n.to_string()
        } else {
            n.to_lowercase()
        }
    }

    /// Whether two names are the same in this domain.
    pub fn same_name(&self, a: &str, b: &str) -> bool {
        if self.case_sensitive {
            a == b
        } else {
            a.to_lowercase() == b.to_lowercase()
        }
    }

    /// Whether `id` is inside `min_id`..=`max_id`.
    pub fn id_in_range(&self, id: u32) -> bool {
        id >= self.min_id && (self.max_id == 0 || id <= self.max_id)
    }

    /// Expiry stamp for users and initgroups stored now.
    pub fn user_expire(&self) -> i64 {
        now() + i64::from(self.user_timeout)
    }

    /// Expiry stamp for groups stored now.
    pub fn group_expire(&self) -> i64 {
        now() + i64::from(self.group_timeout)
    }

    /// A paged search for users (user base, scope and base filter) with
    /// `ldap_search_timeout`, or `timeout` when given.
    pub async fn search_users(
        &self,
        conn: &Connection,
        filter: &str,
        attrs: Vec<String>,
        timeout: Option<Duration>,
    ) -> Result<Vec<Entry>, SearchError> {
        let b = &conn.bases;
        let f = with_base_filter(filter, b.user_filter.as_deref());
        let t = timeout.unwrap_or_else(|| self.search_timeout());
        self.search_with(conn, &b.user, b.user_scope, &f, attrs, t)
            .await
    }

    /// A paged search for groups (group base, scope and base filter), likewise.
    pub async fn search_groups(
        &self,
        conn: &Connection,
        filter: &str,
        attrs: Vec<String>,
        timeout: Option<Duration>,
    ) -> Result<Vec<Entry>, SearchError> {
        let b = &conn.bases;
        let f = with_base_filter(filter, b.group_filter.as_deref());
        let t = timeout.unwrap_or_else(|| self.search_timeout());
        self.search_with(conn, &b.group, b.group_scope, &f, attrs, t)
            .await
    }

    /// [`MapCtx::search_groups`] without reading the rest of ranged attributes: an
    /// attribute the server returned a range of keeps its `;range=` name (see
    /// [`ranges::merge`]), for callers that asked for a range on purpose.
    pub async fn search_groups_ranged(
        &self,
        conn: &Connection,
        filter: &str,
        attrs: Vec<String>,
    ) -> Result<Vec<Entry>, SearchError> {
        let b = &conn.bases;
        let f = with_base_filter(filter, b.group_filter.as_deref());
        self.search_paged(
            conn,
            &b.group,
            b.group_scope,
            &f,
            attrs,
            self.search_timeout(),
        )
        .await
    }

    /// `ldap_search_timeout` as a duration.
    pub fn search_timeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.opts.search_timeout.max(1)))
    }

    /// A paged search with an explicit scope and deadline.
    pub async fn search_with(
        &self,
        conn: &Connection,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: Vec<String>,
        timeout: Duration,
    ) -> Result<Vec<Entry>, SearchError> {
        let mut entries = self
            .search_paged(conn, base, scope, filter, attrs, timeout)
            .await?;
        for e in &mut entries {
            self.complete_ranges(conn, e, timeout).await?;
        }
        Ok(entries)
    }

    /// One paged search as the server answers it (ranged attributes left as they are).
    async fn search_paged(
        &self,
        conn: &Connection,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: Vec<String>,
        timeout: Duration,
    ) -> Result<Vec<Entry>, SearchError> {
        tracing::debug!("search base={base:?} filter={filter:?} on {}", conn.uri);
        self.searches.fetch_add(1, Ordering::Relaxed);
        let spec = SearchSpec {
            page_size: self.opts.page_size,
            ..SearchSpec::unpaged(base, scope, filter, attrs, timeout)
        };
        search::search(&conn.ldap, &conn.uri, spec).await
    }

    /// Reads the rest of every attribute the server returned only a range of (unless
    /// `ldap_disable_range_retrieval`), merging the values under the plain names.
    async fn complete_ranges(
        &self,
        conn: &Connection,
        e: &mut Entry,
        timeout: Duration,
    ) -> Result<(), SearchError> {
        let mut missing = ranges::merge(e);
        if self.opts.disable_range_retrieval {
            return Ok(());
        }
        let mut rounds = 0;
        while let Some(m) = missing.pop() {
            rounds += 1;
            if rounds > ranges::MAX_ROUNDS {
                tracing::warn!(
                    "{}: {} still incomplete after {} reads",
                    e.dn,
                    m.attr,
                    ranges::MAX_ROUNDS
                );
                break;
            }
            tracing::debug!("range retrieval of {} on {}", m.request(), e.dn);
            self.searches.fetch_add(1, Ordering::Relaxed);
            let attrs = vec![m.request()];
            let spec = SearchSpec::unpaged(&e.dn, Scope::Base, "(objectClass=*)", attrs, timeout);
            let Some(mut part) = search::search(&conn.ldap, &conn.uri, spec).await?.pop() else {
                break;
            };
            let more = ranges::merge(&mut part);
            for v in part.take_raw(&m.attr) {
                e.add_value(&m.attr, v);
            }
            missing.extend(more.into_iter().filter(|x| x.attr == m.attr));
        }
        Ok(())
    }
}

/// `filter` and-ed with the filter part of a search base option, if any.
fn with_base_filter(filter: &str, base_filter: Option<&str>) -> String {
    match base_filter {
        Some(b) => format!("(&{filter}{b})"),
        None => filter.to_string(),
    }
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The LDAP provider of one domain.
pub struct LdapProvider {
    connector: Arc<Connector>,
    ctx: MapCtx,
    conn: Arc<Mutex<Option<Connection>>>,
    /// Automount options (`autofs_provider = ldap`), once set; unset: no maps.
    autofs: std::sync::OnceLock<autofs::AutofsOptions>,
    /// AD domains: reads the domain's flat name on each new identity connection.
    flat_name: Option<crate::backend::ad::flat_name::FlatNameLearner>,
    /// AD domains with `ad_enable_gc`: the Global Catalog group lookups ask first.
    global_catalog: Option<crate::backend::ad::global_catalog::GlobalCatalog>,
}

impl LdapProvider {
    /// A provider for `opts` in domain `dom`. Nothing is contacted until the first request.
    pub fn new(opts: LdapOptions, dom: &DomainOptions) -> LdapProvider {
        LdapProvider::with_connector(opts, dom, |c| c)
    }

    /// A provider whose connector (made from `opts`) is adjusted by `adjust`.
    fn with_connector(
        opts: LdapOptions,
        dom: &DomainOptions,
        adjust: impl FnOnce(Connector) -> Connector,
    ) -> LdapProvider {
        let (connector, opts) = Connector::new(opts);
        let flat_name = opts
            .ad_discovery
            .as_ref()
            .map(|ad| crate::backend::ad::flat_name::FlatNameLearner::new(&ad.domain));
        let global_catalog = opts
            .ad_discovery
            .as_ref()
            .filter(|ad| ad.global_catalog)
            .map(|_| crate::backend::ad::global_catalog::GlobalCatalog::default());
        LdapProvider {
            connector: Arc::new(adjust(connector)),
            ctx: MapCtx::new(opts, dom),
            conn: Arc::new(Mutex::new(None)),
            autofs: std::sync::OnceLock::new(),
            flat_name,
            global_catalog,
        }
    }

    /// Whether new connections read facts about the domain (AD domains: the flat name).
    pub fn learns_domain_info(&self) -> bool {
        self.flat_name.is_some()
    }

    /// Records what the provider learns about the domain (an AD flat name) in `store`.
    pub fn set_store(&self, store: Arc<dyn crate::backend::store::Store>) {
        self.ctx.cached_members.set_store(store.clone());
        if let Some(l) = &self.flat_name {
            l.set_store(store);
        }
    }

    /// A provider for `opts` in domain `dom` whose identity connection binds as `auth`'s
    /// SASL options say (`ldap_sasl_mech = GSSAPI`: a keytab TGT through `ldap_child`, the
    /// ccache under the cache directory), or simply without `ldap_sasl_mech`.
    pub fn with_auth(opts: LdapOptions, dom: &DomainOptions, auth: &AuthOptions) -> LdapProvider {
        let db = crate::service::paths_from_env().db;
        let sasl = sasl::GssapiOptions::from_auth(auth, &dom.name, &db).map(|o| {
            o.map(|o| {
                sasl::GssapiBinder::new(o, crate::backend::krb5::ldap_child::ldap_child_path())
            })
        });
        LdapProvider::with_connector(opts, dom, |c| c.with_sasl(sasl))
    }

    /// Serves automount maps with `o` (only the first call counts).
    pub fn set_autofs(&self, o: autofs::AutofsOptions) {
        let _ = self.autofs.set(o);
    }

    /// The mapping context.
    pub fn ctx(&self) -> &MapCtx {
        &self.ctx
    }

    /// Index in `ldap_uri` followed by `ldap_backup_uri` of the server used last (tried
    /// first next time).
    pub fn preferred_uri(&self) -> usize {
        self.connector.preferred()
    }

    /// The servers a user bind tries: `ldap_uri` then `ldap_backup_uri`, `_srv_` as last
    /// expanded by the identity connection.
    pub fn current_servers(&self) -> Vec<String> {
        self.connector.current_servers()
    }

    /// The server of the identity connection, if there is one (and it is not being
    /// replaced right now).
    pub fn active_uri(&self) -> Option<String> {
        self.conn
            .try_lock()
            .ok()
            .and_then(|c| c.as_ref().map(|c| c.uri.clone()))
    }

    /// The servers as last expanded, each with its state: `working` (in use), `not working`
    /// (failed within the last 30 s) or `not tried`.
    pub fn server_states(&self) -> Vec<(String, String)> {
        let active = self.active_uri();
        self.current_servers()
            .into_iter()
            .map(|uri| {
                let state = if active.as_deref() == Some(uri.as_str()) {
                    "working"
                } else if self.connector.failed_lately(&uri) {
                    "not working"
                } else {
                    "not tried"
                };
                (uri, state.to_string())
            })
            .collect()
    }

    /// The current connection, connecting (with failover) when there is none. While it is
    /// to a backup server, the primaries are tried again in the background every
    /// `failover_primary_timeout`, and the first that answers replaces it.
    pub async fn connection(&self) -> Result<Connection, ConnectError> {
        let mut slot = self.conn.lock().await;
        if let Some(c) = slot.as_mut()
            && !c.ldap.is_closed()
        {
            if self.connector.take_primary_retry() {
                self.return_to_primary();
            }
            return Ok(c.clone());
        }
        *slot = None;
        let c = self.connector.connect().await?;
        if let Some(l) = &self.flat_name {
            l.learn(&c, self.ctx.search_timeout()).await;
        }
        *slot = Some(c.clone());
        Ok(c)
    }

    /// Tries the primary servers in the background; on success the new connection replaces
    /// the current one (requests already running on the old one finish there).
    fn return_to_primary(&self) {
        let connector = self.connector.clone();
        let slot = self.conn.clone();
        tokio::spawn(async move {
            match connector.connect_primary().await {
                Ok(c) => {
                    let old = slot.lock().await.replace(c);
                    if let Some(mut old) = old {
                        let _ = old.ldap.unbind().await;
                    }
                }
                Err(e) => tracing::info!("still no primary LDAP server: {e}"),
            }
        });
    }

    /// A new connection for one long operation (enumeration), closed by
    /// [`LdapProvider::release`]: slapd keeps one paged search per connection, so an
    /// enumeration sharing the lookup connection would lose its paging cookie to the first
    /// overlapping lookup.
    pub async fn dedicated_connection(&self) -> Result<Connection, ConnectError> {
        self.connector.connect().await
    }

    /// Unbinds a connection from [`LdapProvider::dedicated_connection`] in the background.
    pub fn release(&self, mut conn: Connection) {
        tokio::spawn(async move {
            let _ = conn.ldap.unbind().await;
        });
    }

    /// Drops the current connection (when going offline).
    pub async fn disconnect(&self) {
        self.drop_if(|_| true).await;
    }

    /// Drops connection `id` after a transport error on it, unless it was replaced already.
    pub async fn disconnect_broken(&self, id: u64) {
        self.drop_if(|c| c.id == id).await;
    }

    async fn drop_if(&self, pred: impl Fn(&Connection) -> bool) {
        let mut slot = self.conn.lock().await;
        if slot.as_ref().is_some_and(pred)
            && let Some(mut c) = slot.take()
        {
            tokio::spawn(async move {
                let _ = c.ldap.unbind().await;
            });
        }
    }

    /// A group request answered by the Global Catalog next to `ldap` (the domain's
    /// connection), as SSSD asks it first for groups. `None` when there is no catalog to
    /// ask, it failed, or it found no such group: the caller then asks `ldap`.
    pub async fn fetch_group_from_catalog(
        &self,
        ldap: &Connection,
        filter: &Filter,
    ) -> Option<Vec<CacheOp>> {
        let gc = self.global_catalog.as_ref()?;
        let conn = gc.connection(&self.connector, &self.ctx, ldap).await?;
        match self.fetch(&conn, EntryType::Group, filter).await {
            Ok(ops) if ops.iter().any(|op| matches!(op, CacheOp::PutGroup(..))) => Some(ops),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!("{e}; asking {} instead", ldap.uri);
                gc.failed(&conn).await;
                None
            }
        }
    }

    /// Fetches the users whose e-mail address or principal is `alias`, returning what to
    /// write into the cache.
    pub async fn fetch_user_by_alias(
        &self,
        conn: &Connection,
        alias: &str,
    ) -> Result<Vec<CacheOp>, SearchError> {
        let mut ops = Vec::new();
        users::by_alias(&self.ctx, conn, alias, &mut ops).await?;
        Ok(ops)
    }

    /// Performs one account request on `conn`, returning what to write into the cache.
    pub async fn fetch(
        &self,
        conn: &Connection,
        entry_type: EntryType,
        filter: &Filter,
    ) -> Result<Vec<CacheOp>, SearchError> {
        let ctx = &self.ctx;
        let mut ops = Vec::new();
        match (entry_type, filter) {
            (EntryType::User, Filter::Name(n)) => {
                users::by_name(ctx, conn, n, &mut ops).await?;
            }
            (EntryType::User, Filter::IdNumber(id)) => {
                users::by_uid(ctx, conn, *id, &mut ops).await?;
            }
            (EntryType::Group, Filter::Name(n)) => {
                groups::by_name(ctx, conn, n, &mut ops).await?;
            }
            (EntryType::Group, Filter::IdNumber(id)) => {
                groups::by_gid(ctx, conn, *id, &mut ops).await?;
            }
            (EntryType::Initgroups, Filter::Name(n)) => {
                initgroups::by_name(ctx, conn, n, &mut ops).await?;
            }
            (_, Filter::Enumerate) | (EntryType::Initgroups, Filter::IdNumber(_)) => {
                // Enumeration runs as its own periodic task; nothing to do per request.
            }

            (EntryType::Netgroup, Filter::Name(n)) => {
                netgroups::by_name(ctx, conn, n, &mut ops).await?;
            }
            (EntryType::Netgroup, _) => {
                // Netgroups are looked up by name only.
            }

            (EntryType::Services, f) => {
                services_fetch(ctx, conn, f, None, &mut ops).await?;
            }

            (EntryType::SudoFull | EntryType::SudoRules, f) => {
                // Stored by the sudo module itself (its own cache databases).
                sudo::fetch(ctx, conn, entry_type, f).await?;
            }

            (EntryType::Host | EntryType::IpNetwork, f) => {
                resolver_fetch(ctx, conn, entry_type, f, None, &mut ops).await?;
            }

            (EntryType::Autofs, Filter::Name(map)) => {
                if let Some(o) = self.autofs.get() {
                    autofs::fetch_map(ctx, conn, o, map, &mut ops).await?;
                }
            }
            (EntryType::Autofs, Filter::IdNumber(_)) => {}

            (EntryType::SshHost, f) => ssh_host_fetch(ctx, conn, f, None, &mut ops).await?,
        }
        Ok(ops)
    }

    /// [`LdapProvider::fetch`] for the services, hosts and networks maps, whose requests
    /// carry an extra qualifier (`extra`: the protocol of a service lookup).
    pub async fn fetch_map(
        &self,
        conn: &Connection,
        entry_type: EntryType,
        filter: &Filter,
        extra: &str,
    ) -> Result<Vec<CacheOp>, SearchError> {
        let mut ops = Vec::new();
        let extra = (!extra.is_empty()).then_some(extra);
        match entry_type {
            EntryType::Services => {
                services_fetch(&self.ctx, conn, filter, extra, &mut ops).await?;
            }
            EntryType::Host | EntryType::IpNetwork => {
                resolver_fetch(&self.ctx, conn, entry_type, filter, extra, &mut ops).await?;
            }
            EntryType::SshHost => ssh_host_fetch(&self.ctx, conn, filter, extra, &mut ops).await?,
            _ => return self.fetch(conn, entry_type, filter).await,
        }
        Ok(ops)
    }
}

/// A services request: by name or by port, with an optional protocol.
async fn services_fetch(
    ctx: &MapCtx,
    conn: &Connection,
    filter: &Filter,
    proto: Option<&str>,
    ops: &mut Vec<CacheOp>,
) -> Result<(), SearchError> {
    match filter {
        Filter::Name(n) => services::by_name(ctx, conn, n, proto, ops).await,
        Filter::IdNumber(p) => services::by_port(ctx, conn, *p, proto, ops).await,
        Filter::Enumerate => Ok(()),
    }
}

/// A hosts or networks request: by name, or by address when `extra` is
/// [`resolver::BY_ADDRESS`]; nothing unless `resolver_provider = ldap`.
async fn resolver_fetch(
    ctx: &MapCtx,
    conn: &Connection,
    entry_type: EntryType,
    filter: &Filter,
    extra: Option<&str>,
    ops: &mut Vec<CacheOp>,
) -> Result<(), SearchError> {
    if !ctx.opts.maps.resolver_ldap {
        return Ok(());
    }
    let map = if entry_type == EntryType::Host {
        resolver::Map::Hosts
    } else {
        resolver::Map::Networks
    };
    match filter {
        Filter::Name(a) if extra == Some(resolver::BY_ADDRESS) => {
            resolver::by_address(ctx, conn, map, a, ops).await
        }
        Filter::Name(n) => resolver::by_name(ctx, conn, map, n, ops).await,
        Filter::IdNumber(_) | Filter::Enumerate => Ok(()),
    }
}

/// An SSH host keys request: by name, `extra` the alias the client gave; nothing unless
/// `hostid_provider = ldap`.
async fn ssh_host_fetch(
    ctx: &MapCtx,
    conn: &Connection,
    filter: &Filter,
    alias: Option<&str>,
    ops: &mut Vec<CacheOp>,
) -> Result<(), SearchError> {
    match filter {
        Filter::Name(n) if ctx.opts.maps.hostid_ldap => {
            ssh_hosts::by_name(ctx, conn, n, alias, ops).await
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
/// LdapOptions with SSSD's defaults, for tests.
pub fn test_options() -> LdapOptions {
    LdapOptions {
        uris: vec!["ldap://127.0.0.1:389".into()],
        backup_uris: Vec::new(),
        dns: crate::config::dns_options::DnsOptions::defaults("LDAP"),
        failover_primary_timeout: 31,
        search_base: None,
        user_search_base: None,
        group_search_base: None,
        rfc2307bis: false,
        group_nesting_level: 2,
        default_bind_dn: None,
        default_authtok: None,
        id_use_start_tls: true,
        tls_reqcert: "hard".into(),
        tls_cacert: None,
        tls: crate::config::TlsOptions::default(),
        page_size: 1000,
        search_timeout: 6,
        network_timeout: 6,
        opt_timeout: 8,
        enumeration_refresh_timeout: 300,
        enumeration_search_timeout: 60,
        user_object_class: "posixAccount".into(),
        user_name: "uid".into(),
        user_uid_number: "uidNumber".into(),
        user_gid_number: "gidNumber".into(),
        user_gecos: "gecos".into(),
        user_fullname: "cn".into(),
        user_home_directory: "homeDirectory".into(),
        user_shell: "loginShell".into(),
        user_principal: "krbPrincipalName".into(),
        user_email: "mail".into(),
        force_upper_case_realm: false,
        user_ssh_public_key: "sshPublicKey".into(),
        user_extra_filter: None,
        group_object_class: "posixGroup".into(),
        group_name: "cn".into(),
        group_gid_number: "gidNumber".into(),
        group_member: "memberUid".into(),
        group_extra_filter: None,
        netgroup: Default::default(),
        maps: Default::default(),
        id_mapping: None,
        ad_schema: false,
        ad_discovery: None,
        use_tokengroups: true,
        disable_range_retrieval: false,
        deref_threshold: 10,
    }
}

#[cfg(test)]
/// A mapping context with default options.
pub fn test_ctx(case_sensitive: bool) -> MapCtx {
    MapCtx {
        opts: Arc::new(test_options()),
        case_sensitive,
        min_id: 1,
        max_id: 0,
        user_timeout: 5400,
        group_timeout: 5400,
        searches: Arc::default(),
        idmap: None,
        cached_members: Arc::default(),
        base_sid_read: Arc::default(),
    }
}
