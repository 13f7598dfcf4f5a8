//! An in-memory [`DomainSource`] with a scripted backend, for tests and benchmarks.
//!
//! `cache` is what the responder reads; `directory` is what a refresh copies into the
//! cache (stamped `now .. now + ttl`) when the scripted backend status is `Ok`.

use super::source::{Clock, DomainSource, DpStatus, Query, Record, SourceError};
use crate::cache::maps::{IpHost, IpNetwork};
use crate::model::{Cached, Group, User};
use crate::sbus::BoxFuture;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// A settable clock.
#[derive(Debug, Default)]
pub struct FakeClock(AtomicI64);

impl FakeClock {
    /// A clock reading `t`.
    pub fn at(t: i64) -> Arc<FakeClock> {
        Arc::new(FakeClock(AtomicI64::new(t)))
    }
    /// Sets the time.
    pub fn set(&self, t: i64) {
        self.0.store(t, Ordering::SeqCst);
    }
    /// Moves the time forward by `s` seconds.
    pub fn advance(&self, s: i64) {
        self.0.fetch_add(s, Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Objects held by the fake cache or directory.
#[derive(Debug, Clone, Default)]
pub struct FakeData {
    /// Users with (last_update, expire).
    pub users: Vec<Cached<User>>,
    /// Groups with (last_update, expire).
    pub groups: Vec<Cached<Group>>,
    /// Initgroups records by user name.
    pub initgroups: HashMap<String, Cached<Vec<u32>>>,
    /// Netgroups by name.
    pub netgroups: HashMap<String, Cached<crate::cache::Netgroup>>,
    /// Services with (last_update, expire).
    pub services: Vec<Cached<crate::cache::maps::Service>>,
    /// Hosts with (last_update, expire).
    pub hosts: Vec<Cached<IpHost>>,
    /// Networks with (last_update, expire).
    pub networks: Vec<Cached<IpNetwork>>,
}

/// Mutable state of a [`FakeSource`].
#[derive(Debug)]
pub struct FakeState {
    /// What reads see.
    pub cache: FakeData,
    /// What the backend copies into the cache on a successful refresh.
    pub directory: FakeData,
    /// What the backend answers.
    pub status: DpStatus,
    /// Every refresh asked for, in order.
    pub refreshes: Vec<Query>,
    /// How long a refresh takes.
    pub delay: Duration,
    /// Lifetime given to refreshed entries.
    pub ttl: i64,
}

/// The in-memory source.
#[derive(Clone)]
pub struct FakeSource {
    state: Arc<Mutex<FakeState>>,
    clock: Arc<dyn Clock>,
}

fn lock(m: &Mutex<FakeState>) -> MutexGuard<'_, FakeState> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn find(d: &FakeData, q: &Query) -> Option<Cached<Record>> {
    let w = |c: &Cached<User>| Cached {
        value: Record::User(c.value.clone()),
        last_update: c.last_update,
        expire: c.expire,
    };
    let g = |c: &Cached<Group>| Cached {
        value: Record::Group(c.value.clone()),
        last_update: c.last_update,
        expire: c.expire,
    };
    match q {
        Query::UserByName(n) => d.users.iter().find(|u| &u.value.name == n).map(w),
        Query::UserById(id) => d.users.iter().find(|u| u.value.uid == *id).map(w),
        Query::UserByAlias(a) => d.users.iter().find(|u| has_alias(&u.value, a)).map(w),
        Query::GroupByName(n) => d.groups.iter().find(|x| &x.value.name == n).map(g),
        Query::GroupById(id) => d.groups.iter().find(|x| x.value.gid == *id).map(g),
        Query::Initgroups(n) => d.initgroups.get(n).map(|c| Cached {
            value: Record::Gids(c.value.clone()),
            last_update: c.last_update,
            expire: c.expire,
        }),
        Query::NetgroupByName(n) => d.netgroups.get(n).map(|c| Cached {
            value: Record::Netgroup(c.value.clone()),
            last_update: c.last_update,
            expire: c.expire,
        }),
        Query::ServiceByName(..) | Query::ServiceByPort(..) => d
            .services
            .iter()
            .find(|c| service_match(q, &c.value))
            .map(|c| Cached {
                value: Record::Service(c.value.clone()),
                last_update: c.last_update,
                expire: c.expire,
            }),
        Query::HostByName(..) | Query::HostByAddr(..) => d
            .hosts
            .iter()
            .find(|c| host_match(q, &c.value))
            .map(|c| Cached {
                value: Record::Host(c.value.clone()),
                last_update: c.last_update,
                expire: c.expire,
            }),
        Query::NetworkByName(..) | Query::NetworkByAddr(..) => d
            .networks
            .iter()
            .find(|c| network_match(q, &c.value))
            .map(|c| Cached {
                value: Record::Network(c.value.clone()),
                last_update: c.last_update,
                expire: c.expire,
            }),
    }
}

fn host_match(q: &Query, h: &IpHost) -> bool {
    match q {
        Query::HostByName(n) => &h.name == n || h.aliases.contains(n),
        Query::HostByAddr(a) => h.addresses.contains(a),
        _ => false,
    }
}

fn network_match(q: &Query, n: &IpNetwork) -> bool {
    match q {
        Query::NetworkByName(x) => &n.name == x || n.aliases.contains(x),
        Query::NetworkByAddr(a) => &n.address == a,
        _ => false,
    }
}

/// Replaces what `cache` holds for `q` by what `dir` holds, stamped `lu`/`ex`.
fn copy_matching<T: Clone>(
    cache: &mut Vec<Cached<T>>,
    dir: &[Cached<T>],
    matches: impl Fn(&T) -> bool,
    same: impl Fn(&T, &T) -> bool,
    lu: i64,
    ex: i64,
) {
    cache.retain(|c| !matches(&c.value));
    if let Some(c) = dir.iter().find(|c| matches(&c.value)) {
        cache.retain(|x| !same(&x.value, &c.value));
        cache.push(Cached {
            value: c.value.clone(),
            last_update: lu,
            expire: ex,
        });
    }
}

fn service_match(q: &Query, s: &crate::cache::maps::Service) -> bool {
    match q {
        Query::ServiceByName(n, proto) => {
            (&s.name == n || s.aliases.contains(n)) && super::source::offers(s, proto)
        }
        Query::ServiceByPort(p, proto) => s.port == *p && super::source::offers(s, proto),
        _ => false,
    }
}

impl FakeSource {
    /// An empty source using `clock`, backend online, entries refreshed for `ttl` seconds.
    pub fn new(clock: Arc<dyn Clock>, ttl: i64) -> FakeSource {
        FakeSource {
            state: Arc::new(Mutex::new(FakeState {
                cache: FakeData::default(),
                directory: FakeData::default(),
                status: DpStatus::Ok,
                refreshes: Vec::new(),
                delay: Duration::ZERO,
                ttl,
            })),
            clock,
        }
    }

    /// Runs `f` on the state.
    pub fn with<R>(&self, f: impl FnOnce(&mut FakeState) -> R) -> R {
        f(&mut lock(&self.state))
    }

    /// Puts `u` in the cache with the given stamps and in the directory.
    pub fn add_user(&self, u: User, last_update: i64, expire: i64) {
        self.with(|s| {
            let c = Cached {
                value: u,
                last_update,
                expire,
            };
            s.directory.users.push(c.clone());
            s.cache.users.push(c);
        });
    }

    /// Puts `g` in the cache with the given stamps and in the directory.
    pub fn add_group(&self, g: Group, last_update: i64, expire: i64) {
        self.with(|s| {
            let c = Cached {
                value: g,
                last_update,
                expire,
            };
            s.directory.groups.push(c.clone());
            s.cache.groups.push(c);
        });
    }

    /// Sets the initgroups record of `name` in the cache and the directory.
    pub fn set_initgroups(&self, name: &str, gids: Vec<u32>, last_update: i64, expire: i64) {
        self.with(|s| {
            let c = Cached {
                value: gids,
                last_update,
                expire,
            };
            s.directory.initgroups.insert(name.to_string(), c.clone());
            s.cache.initgroups.insert(name.to_string(), c);
        });
    }

    /// Number of refreshes asked for so far.
    pub fn refresh_count(&self) -> usize {
        self.with(|s| s.refreshes.len())
    }
}

fn apply(s: &mut FakeState, q: &Query, now: i64) {
    let (lu, ex) = (now, now.saturating_add(s.ttl));
    let dir = s.directory.clone();
    let cache = &mut s.cache;
    match q {
        Query::UserByName(_) | Query::UserById(_) | Query::UserByAlias(_) => {
            let hit = find(&dir, q);
            cache.users.retain(|u| !find_user_match(q, &u.value));
            if let Some(Cached {
                value: Record::User(u),
                ..
            }) = hit
            {
                cache
                    .users
                    .retain(|c| c.value.name != u.name && c.value.uid != u.uid);
                cache.users.push(Cached {
                    value: u,
                    last_update: lu,
                    expire: ex,
                });
            }
        }
        Query::GroupByName(_) | Query::GroupById(_) => {
            let hit = find(&dir, q);
            cache.groups.retain(|g| !find_group_match(q, &g.value));
            if let Some(Cached {
                value: Record::Group(g),
                ..
            }) = hit
            {
                cache
                    .groups
                    .retain(|c| c.value.name != g.name && c.value.gid != g.gid);
                cache.groups.push(Cached {
                    value: g,
                    last_update: lu,
                    expire: ex,
                });
            }
        }
        Query::Initgroups(n) => match dir.initgroups.get(n) {
            Some(c) => {
                cache.initgroups.insert(
                    n.clone(),
                    Cached {
                        value: c.value.clone(),
                        last_update: lu,
                        expire: ex,
                    },
                );
            }
            None => {
                cache.initgroups.remove(n);
            }
        },
        Query::NetgroupByName(n) => match dir.netgroups.get(n) {
            Some(c) => {
                cache.netgroups.insert(
                    n.clone(),
                    Cached {
                        value: c.value.clone(),
                        last_update: lu,
                        expire: ex,
                    },
                );
            }
            None => {
                cache.netgroups.remove(n);
            }
        },
        Query::ServiceByName(..) | Query::ServiceByPort(..) => copy_matching(
            &mut cache.services,
            &dir.services,
            |s| service_match(q, s),
            |a, b| a.name == b.name,
            lu,
            ex,
        ),
        Query::HostByName(..) | Query::HostByAddr(..) => copy_matching(
            &mut cache.hosts,
            &dir.hosts,
            |h| host_match(q, h),
            |a, b| a.name == b.name,
            lu,
            ex,
        ),
        Query::NetworkByName(..) | Query::NetworkByAddr(..) => copy_matching(
            &mut cache.networks,
            &dir.networks,
            |n| network_match(q, n),
            |a, b| a.name == b.name,
            lu,
            ex,
        ),
    }
}

fn find_user_match(q: &Query, u: &User) -> bool {
    match q {
        Query::UserByName(n) => &u.name == n,
        Query::UserById(id) => u.uid == *id,
        Query::UserByAlias(a) => has_alias(u, a),
        _ => false,
    }
}

fn has_alias(u: &User, a: &str) -> bool {
    u.upn
        .iter()
        .chain(&u.emails)
        .any(|x| x.eq_ignore_ascii_case(a))
}

fn find_group_match(q: &Query, g: &Group) -> bool {
    match q {
        Query::GroupByName(n) => &g.name == n,
        Query::GroupById(id) => g.gid == *id,
        _ => false,
    }
}

impl DomainSource for FakeSource {
    fn read(&self, q: &Query) -> Result<Option<Cached<Record>>, SourceError> {
        Ok(find(&lock(&self.state).cache, q))
    }

    fn all_users(&self) -> Result<Vec<User>, SourceError> {
        Ok(self.with(|s| s.cache.users.iter().map(|c| c.value.clone()).collect()))
    }

    fn all_groups(&self) -> Result<Vec<Group>, SourceError> {
        Ok(self.with(|s| s.cache.groups.iter().map(|c| c.value.clone()).collect()))
    }

    fn all_services(&self) -> Result<Vec<crate::cache::maps::Service>, SourceError> {
        Ok(self.with(|s| s.cache.services.iter().map(|c| c.value.clone()).collect()))
    }

    fn all_hosts(&self) -> Result<Vec<IpHost>, SourceError> {
        Ok(self.with(|s| s.cache.hosts.iter().map(|c| c.value.clone()).collect()))
    }

    fn all_networks(&self) -> Result<Vec<IpNetwork>, SourceError> {
        Ok(self.with(|s| s.cache.networks.iter().map(|c| c.value.clone()).collect()))
    }

    fn refresh(&self, q: &Query) -> BoxFuture<DpStatus> {
        let state = self.state.clone();
        let clock = self.clock.clone();
        let q = q.clone();
        Box::pin(async move {
            let delay = {
                let mut s = lock(&state);
                s.refreshes.push(q.clone());
                s.delay
            };
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let mut s = lock(&state);
            if s.status == DpStatus::Ok {
                apply(&mut s, &q, clock.now());
            }
            s.status.clone()
        })
    }
}
