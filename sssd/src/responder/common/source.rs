//! Where the NSS responder gets its data: a per-domain [`DomainSource`] (cache reads plus
//! backend refreshes), so all responder logic can be tested against an in-memory fake.
//!
//! The real source, [`CacheSource`], reads the domain's LMDB cache directly on the calling
//! task: LMDB reads are lock-free memory-mapped lookups of about a microsecond, cheaper
//! than a hop to the blocking pool. Whole-cache scans (enumeration) run in
//! `spawn_blocking` (see `enumerate`).

use crate::cache::maps::{IpHost, IpNetwork};
use crate::cache::{Cache, CacheError, Netgroup};
use crate::model::{Cached, Group, User};
use crate::sbus::{
    AccountRequest, BoxFuture, DP_ERR_OFFLINE, DP_ERR_OK, DP_FAST_REPLY, DataProviderClient,
    EntryType, Filter,
};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// One object lookup in one domain; names are cache keys (already case-folded).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Query {
    /// User by login name.
    UserByName(String),
    /// User by uid.
    UserById(u32),
    /// User by e-mail address or Kerberos principal, as typed (SSSD's "by UPN").
    UserByAlias(String),
    /// Group by name.
    GroupByName(String),
    /// Group by gid.
    GroupById(u32),
    /// Group memberships of the user with this (cache key) name.
    Initgroups(String),
    /// Netgroup by name.
    NetgroupByName(String),
    /// A service by name or alias, with a protocol (`None`: any).
    ServiceByName(String, Option<String>),
    /// A service by port (host order), with a protocol (`None`: any).
    ServiceByPort(u16, Option<String>),
    /// A host by name or alias.
    HostByName(String),
    /// A host by address (canonical text form).
    HostByAddr(String),
    /// A network by name or alias.
    NetworkByName(String),
    /// A network by number (dotted IPv4).
    NetworkByAddr(String),
}

/// The `extra` of a user request whose name is an e-mail address or principal
/// (SSSD's `EXTRA_NAME_IS_UPN`).
pub const EXTRA_NAME_IS_ALIAS: &str = "U";

impl Query {
    /// The `getAccountInfo` request that refreshes this object in `domain`.
    pub fn account_request(&self, domain: &str) -> AccountRequest {
        let mut extra = String::new();
        let (entry_type, filter) = match self {
            Query::UserByName(n) => (EntryType::User, Filter::Name(n.clone())),
            Query::UserById(id) => (EntryType::User, Filter::IdNumber(*id)),
            Query::UserByAlias(a) => {
                extra = EXTRA_NAME_IS_ALIAS.to_string();
                (EntryType::User, Filter::Name(a.clone()))
            }
            Query::GroupByName(n) => (EntryType::Group, Filter::Name(n.clone())),
            Query::GroupById(id) => (EntryType::Group, Filter::IdNumber(*id)),
            Query::Initgroups(n) => (EntryType::Initgroups, Filter::Name(n.clone())),
            Query::NetgroupByName(n) => (EntryType::Netgroup, Filter::Name(n.clone())),
            Query::ServiceByName(n, p) => {
                extra = p.clone().unwrap_or_default();
                (EntryType::Services, Filter::Name(n.clone()))
            }
            Query::ServiceByPort(port, p) => {
                extra = p.clone().unwrap_or_default();
                (EntryType::Services, Filter::IdNumber(u32::from(*port)))
            }
            Query::HostByName(n) => (EntryType::Host, Filter::Name(n.clone())),
            Query::NetworkByName(n) => (EntryType::IpNetwork, Filter::Name(n.clone())),
            Query::HostByAddr(a) | Query::NetworkByAddr(a) => {
                extra = crate::backend::ldap::resolver::BY_ADDRESS.to_string();
                let t = if matches!(self, Query::HostByAddr(_)) {
                    EntryType::Host
                } else {
                    EntryType::IpNetwork
                };
                (t, Filter::Name(a.clone()))
            }
        };
        AccountRequest {
            dp_flags: DP_FAST_REPLY,
            entry_type,
            filter,
            domain: domain.to_string(),
            extra,
            cli_id: crate::logging::current_request_id(),
        }
    }
}

/// A cached object as a [`Query`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A user.
    User(User),
    /// A group.
    Group(Group),
    /// The gids of a user's groups.
    Gids(Vec<u32>),
    /// A netgroup.
    Netgroup(Netgroup),
    /// A service.
    Service(crate::cache::maps::Service),
    /// A host.
    Host(IpHost),
    /// A network.
    Network(IpNetwork),
}

/// Outcome of a backend refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DpStatus {
    /// The backend finished; the cache now holds the answer (or nothing exists).
    Ok,
    /// The backend is offline: serve what is cached, do not negative-cache.
    Offline,
    /// The request failed or timed out (treated like offline).
    Failed(String),
}

/// A cache read failed.
#[derive(Debug, Error)]
#[error("domain {domain}: {message}")]
pub struct SourceError {
    /// The domain whose cache failed.
    pub domain: String,
    /// What failed.
    pub message: String,
}

/// Reads and refreshes one domain's objects.
pub trait DomainSource: Send + Sync + 'static {
    /// Reads `q` from the cache, with its freshness stamps.
    fn read(&self, q: &Query) -> Result<Option<Cached<Record>>, SourceError>;
    /// The gids of those of the cached groups named `names` (cache keys), whatever their
    /// freshness; the members need not be read.
    fn group_gids(&self, names: &[String]) -> Result<Vec<u32>, SourceError> {
        let mut out = Vec::with_capacity(names.len());
        for n in names {
            if let Some(Cached {
                value: Record::Group(g),
                ..
            }) = self.read(&Query::GroupByName(n.clone()))?
            {
                out.push(g.gid);
            }
        }
        Ok(out)
    }
    /// Every cached user (enumeration).
    fn all_users(&self) -> Result<Vec<User>, SourceError>;
    /// Every cached group (enumeration).
    fn all_groups(&self) -> Result<Vec<Group>, SourceError>;
    /// Every cached service (enumeration); none unless the source keeps services.
    fn all_services(&self) -> Result<Vec<crate::cache::maps::Service>, SourceError> {
        Ok(Vec::new())
    }
    /// Every cached host (enumeration); none unless the source keeps hosts.
    fn all_hosts(&self) -> Result<Vec<IpHost>, SourceError> {
        Ok(Vec::new())
    }
    /// Every cached network (enumeration); none unless the source keeps networks.
    fn all_networks(&self) -> Result<Vec<IpNetwork>, SourceError> {
        Ok(Vec::new())
    }
    /// Asks the backend to refresh `q` into the cache.
    fn refresh(&self, q: &Query) -> BoxFuture<DpStatus>;
    /// The directory's name of the user answered as `name` (differs when a local
    /// override renamed the user); what the backend must be asked about.
    fn original_user_name(&self, name: &str) -> String {
        name.to_string()
    }
    /// The local overrides this source applies, if any (every domain's source shares one
    /// store).
    fn overrides(&self) -> Option<Arc<crate::overrides::OverrideStore>> {
        None
    }
}

/// Wall-clock seconds, injectable for tests.
pub trait Clock: Send + Sync + 'static {
    /// Seconds since the epoch.
    fn now(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
}

fn wrap<T>(c: Option<Cached<T>>, f: impl FnOnce(T) -> Record) -> Option<Cached<Record>> {
    c.map(|c| Cached {
        value: f(c.value),
        last_update: c.last_update,
        expire: c.expire,
    })
}

/// Whether service `s` offers protocol `proto` (any protocol when `None`).
pub fn offers(s: &crate::cache::maps::Service, proto: &Option<String>) -> bool {
    proto.as_ref().is_none_or(|p| s.protocols.contains(p))
}

/// The production source: a domain's cache plus its backend on the private bus.
pub struct CacheSource {
    domain: String,
    cache: Arc<Cache>,
    dp: Option<DataProviderClient>,
    timeout: Duration,
}

impl CacheSource {
    /// Reads `cache`; refreshes through `dp` (None: no backend, every refresh is offline).
    pub fn new(
        domain: &str,
        cache: Arc<Cache>,
        dp: Option<DataProviderClient>,
        timeout: Duration,
    ) -> CacheSource {
        CacheSource {
            domain: domain.to_string(),
            cache,
            dp,
            timeout,
        }
    }

    fn err(&self, e: CacheError) -> SourceError {
        SourceError {
            domain: self.domain.clone(),
            message: e.to_string(),
        }
    }
}

impl DomainSource for CacheSource {
    fn read(&self, q: &Query) -> Result<Option<Cached<Record>>, SourceError> {
        let c = &self.cache;
        let r = match q {
            Query::UserByName(n) => c.user_by_name(n).map(|o| wrap(o, Record::User)),
            Query::UserById(id) => c.user_by_uid(*id).map(|o| wrap(o, Record::User)),
            Query::UserByAlias(a) => c.user_by_alias(a).map(|o| wrap(o, Record::User)),
            Query::GroupByName(n) => c.group_by_name(n).map(|o| wrap(o, Record::Group)),
            Query::GroupById(id) => c.group_by_gid(*id).map(|o| wrap(o, Record::Group)),
            Query::Initgroups(n) => c.initgroups(n).map(|o| wrap(o, Record::Gids)),
            Query::NetgroupByName(n) => c.netgroup(n).map(|o| wrap(o, Record::Netgroup)),
            Query::ServiceByName(n, proto) => c
                .service_by_name(n)
                .map(|o| wrap(o.filter(|s| offers(&s.value, proto)), Record::Service)),
            Query::ServiceByPort(p, proto) => c
                .service_by_port(*p)
                .map(|o| wrap(o.filter(|s| offers(&s.value, proto)), Record::Service)),
            Query::HostByName(n) => c.map_by_name(n).map(|o| wrap(o, Record::Host)),
            Query::HostByAddr(a) => c.map_by_number(a.as_bytes()).map(|o| wrap(o, Record::Host)),
            Query::NetworkByName(n) => c.map_by_name(n).map(|o| wrap(o, Record::Network)),
            Query::NetworkByAddr(a) => c
                .map_by_number(a.as_bytes())
                .map(|o| wrap(o, Record::Network)),
        };
        r.map_err(|e| self.err(e))
    }

    fn group_gids(&self, names: &[String]) -> Result<Vec<u32>, SourceError> {
        self.cache.group_gids(names).map_err(|e| self.err(e))
    }

    fn all_users(&self) -> Result<Vec<User>, SourceError> {
        self.cache.all_users().map_err(|e| self.err(e))
    }

    fn all_groups(&self) -> Result<Vec<Group>, SourceError> {
        self.cache.all_groups().map_err(|e| self.err(e))
    }

    fn all_services(&self) -> Result<Vec<crate::cache::maps::Service>, SourceError> {
        self.cache
            .map_all()
            .map(|v| v.into_iter().map(|c| c.value).collect())
            .map_err(|e| self.err(e))
    }

    fn all_hosts(&self) -> Result<Vec<IpHost>, SourceError> {
        self.cache
            .map_all()
            .map(|v| v.into_iter().map(|c| c.value).collect())
            .map_err(|e| self.err(e))
    }

    fn all_networks(&self) -> Result<Vec<IpNetwork>, SourceError> {
        self.cache
            .map_all()
            .map(|v| v.into_iter().map(|c| c.value).collect())
            .map_err(|e| self.err(e))
    }

    fn refresh(&self, q: &Query) -> BoxFuture<DpStatus> {
        let req = q.account_request(&self.domain);
        tracing::debug!(
            "asking the backend of {}: {:?} {}",
            req.domain,
            req.entry_type,
            req.filter.to_wire()
        );
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
