//! Group members the domain cache already holds fresh, found by their DN.
//!
//! Expanding a group's member DNs otherwise costs a search per DN of unknown shape (AD's
//! `CN=<display name>,...`) and per nested group. As SSSD does with its cache, a member
//! whose entry is cached and not expired is taken from the cache instead: a user by its
//! name, a nested group by its stored (flattened) member list. The cache has no index by DN,
//! so this keeps one: every user and group the backend stores fresh is recorded here by its
//! DN, and the cache confirms at use that the entry is still there, fresh and at that DN
//! (so `sss_cache -E`, expiry or a deletion send the member back to the directory).

use super::dn;
use crate::backend::store::{CacheOp, CachedMember, FreshMember, Store};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// How many DNs are remembered; past that the record starts over (the directory is asked
/// again, which is only slower).
const CAPACITY: usize = 200_000;

/// Users and groups stored fresh, by normalised DN, and the cache to confirm them with.
#[derive(Default)]
pub struct CachedMembers {
    by_dn: Mutex<HashMap<String, CachedMember>>,
    store: OnceLock<Arc<dyn Store>>,
}

impl std::fmt::Debug for CachedMembers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.by_dn.lock().map_or(0, |m| m.len());
        f.debug_struct("CachedMembers").field("dns", &n).finish()
    }
}

/// A member DN the cache answered for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// A user with this name.
    User(String),
    /// A group whose flattened members are these user names.
    Group(Vec<String>),
}

impl CachedMembers {
    /// Confirms recorded DNs against `store` from now on (without a store nothing is
    /// resolved). Only the first call counts.
    pub fn set_store(&self, store: Arc<dyn Store>) {
        let _ = self.store.set(store);
    }

    /// Records the users and groups `ops` store fresh (partial groups are not: they are
    /// stored expired).
    pub fn record(&self, ops: &[CacheOp]) {
        if self.store.get().is_none() {
            return;
        }
        let Ok(mut m) = self.by_dn.lock() else {
            return;
        };
        for op in ops {
            let (d, member) = match op {
                CacheOp::PutUser(u, _) => (&u.dn, CachedMember::User(u.name.clone())),
                CacheOp::PutGroup(g, _) => (&g.dn, CachedMember::Group(g.name.clone())),
                _ => continue,
            };
            if d.is_empty() {
                continue;
            }
            if m.len() >= CAPACITY {
                m.clear();
            }
            m.insert(dn::normalize(d), member);
        }
    }

    /// The members among `dns` (original spellings) that the cache holds fresh at `now`,
    /// keyed by normalised DN. Reads the cache off the event loop; any cache error means
    /// "not known" (the directory is asked instead).
    pub async fn resolve(&self, dns: &[String], now: i64) -> HashMap<String, Resolved> {
        let Some(store) = self.store.get().cloned() else {
            return HashMap::new();
        };
        let wanted: Vec<(String, CachedMember)> = match self.by_dn.lock() {
            Ok(m) => dns
                .iter()
                .map(|d| dn::normalize(d))
                .filter_map(|k| m.get(&k).cloned().map(|c| (k, c)))
                .collect(),
            Err(_) => return HashMap::new(),
        };
        if wanted.is_empty() {
            return HashMap::new();
        }
        let confirmed = tokio::task::spawn_blocking(move || {
            let mut out = HashMap::new();
            for (k, member) in wanted {
                match store.fresh_member(&member, now) {
                    Ok(Some(FreshMember::User { dn: d, name })) if dn::normalize(&d) == k => {
                        out.insert(k, Resolved::User(name));
                    }
                    Ok(Some(FreshMember::Group { dn: d, members })) if dn::normalize(&d) == k => {
                        out.insert(k, Resolved::Group(members));
                    }
                    Ok(_) => {}
                    Err(e) => tracing::debug!("cache read for member {k}: {e}"),
                }
            }
            out
        })
        .await;
        confirmed.unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::backend::store::MemStore;
    use crate::model::{Group, User};

    const NOW: i64 = 1000;

    fn user(name: &str, dn_: &str) -> User {
        User {
            name: name.into(),
            uid: 10 + u32::try_from(name.len()).unwrap(),
            dn: dn_.into(),
            ..User::default()
        }
    }

    fn group(name: &str, dn_: &str, members: &[&str]) -> Group {
        Group {
            name: name.into(),
            gid: 20 + u32::try_from(name.len()).unwrap(),
            dn: dn_.into(),
            members: members.iter().map(|m| m.to_string()).collect(),
            ..Group::default()
        }
    }

    fn stored(ops: &[CacheOp]) -> (Arc<MemStore>, CachedMembers) {
        let store = Arc::new(MemStore::default());
        store.apply(ops, NOW).unwrap();
        let c = CachedMembers::default();
        c.set_store(store.clone());
        c.record(ops);
        (store, c)
    }

    #[tokio::test]
    async fn fresh_users_and_groups_resolve_by_dn_in_any_spelling() {
        let ops = [
            CacheOp::PutUser(user("alice", "CN=Alice,CN=Users,DC=x"), NOW + 10),
            CacheOp::PutGroup(
                group("g1", "CN=G1,CN=Users,DC=x", &["alice", "bob"]),
                NOW + 10,
            ),
        ];
        let (_, c) = stored(&ops);
        let got = c
            .resolve(
                &[
                    "cn=alice, cn=users, dc=x".into(),
                    "CN=G1,CN=Users,DC=x".into(),
                    "CN=Nobody,CN=Users,DC=x".into(),
                ],
                NOW,
            )
            .await;
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(
            got.get(&dn::normalize("CN=Alice,CN=Users,DC=x")),
            Some(&Resolved::User("alice".into()))
        );
        assert_eq!(
            got.get(&dn::normalize("CN=G1,CN=Users,DC=x")),
            Some(&Resolved::Group(vec!["alice".into(), "bob".into()]))
        );
    }

    #[tokio::test]
    async fn expired_partial_moved_or_unstored_entries_are_not_resolved() {
        let ops = [
            CacheOp::PutUser(user("old", "CN=Old,DC=x"), NOW),
            CacheOp::PutGroupPartial(group("part", "CN=Part,DC=x", &[])),
            CacheOp::PutUser(user("moved", "CN=Moved,DC=x"), NOW + 10),
        ];
        let (store, c) = stored(&ops);
        // The cache now holds "moved" at another DN (renamed in the directory).
        store
            .apply(
                &[CacheOp::PutUser(
                    user("moved", "CN=Elsewhere,DC=x"),
                    NOW + 10,
                )],
                NOW,
            )
            .unwrap();
        let got = c
            .resolve(
                &[
                    "CN=Old,DC=x".into(),
                    "CN=Part,DC=x".into(),
                    "CN=Moved,DC=x".into(),
                ],
                NOW,
            )
            .await;
        assert!(got.is_empty(), "{got:?}");
        // Without a store nothing is recorded or resolved.
        let bare = CachedMembers::default();
        bare.record(&ops);
        assert!(
            bare.resolve(&["CN=Moved,DC=x".into()], NOW)
                .await
                .is_empty()
        );
    }
}
