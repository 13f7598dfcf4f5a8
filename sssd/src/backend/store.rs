//! Where the backend writes: a batch of [`CacheOp`]s applied in one cache transaction.
//!
//! The [`Store`] trait lets the request logic be tested without LMDB; [`CacheStore`] is the
//! real domain cache and [`MemStore`] an in-memory stand-in.

use super::nss_notify::{Changes, changes};
use crate::cache::{
    AccessRecord, Cache, CacheError, Credentials, Netgroup, NetgroupOp, RefreshKind, Writer,
};
use crate::model::{Group, User, member_changes};
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

/// One change to the domain cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheOp {
    /// Store a user fresh until the given expiry.
    PutUser(User, i64),
    /// Store a group fresh until the given expiry.
    PutGroup(Group, i64),
    /// Store a group whose member list may be incomplete: only when no group of that name
    /// is cached, and already expired, so that the next lookup of it fetches it fully.
    PutGroupPartial(Group),
    /// Record a user's group memberships.
    SetInitgroups {
        /// The user's name.
        name: String,
        /// Gids of the groups.
        gids: Vec<u32>,
        /// Expiry stamp.
        expire: i64,
    },
    /// Remove the user with this name.
    DeleteUser(String),
    /// Remove the user with this uid, whatever its name.
    DeleteUserByUid(u32),
    /// Remove the group with this name.
    DeleteGroup(String),
    /// Remove the group with this gid.
    DeleteGroupByGid(u32),
    /// Remove every cached user not named in the list (after enumeration).
    PruneUsers(Vec<String>),
    /// Remove every cached group not named in the list.
    PruneGroups(Vec<String>),
    /// A netgroup change (applied in a transaction of its own, see `cache::netgroups`).
    Netgroup(NetgroupOp),
    /// A change to the services, hosts or networks map.
    Map(crate::cache::maps::MapOp),
    /// A write to the automount maps (applied in a transaction of its own).
    Autofs(crate::cache::AutofsOp),
    /// Store the SSH public keys of the user with this name (fetched with it; empty: none).
    PutSshKeys(String, Vec<Vec<u8>>),
    /// The directory gives this e-mail address or principal only to the users named (none:
    /// to nobody): other cached users stop being found by it.
    ForgetAlias {
        /// The address or principal, as looked up.
        alias: String,
        /// The users that still have it.
        keep: Vec<String>,
    },
}

/// The netgroup changes among `ops`.
fn netgroup_ops(ops: &[CacheOp]) -> impl Iterator<Item = &NetgroupOp> {
    ops.iter().filter_map(|o| match o {
        CacheOp::Netgroup(n) => Some(n),
        _ => None,
    })
}

/// A cache the backend can write to. Calls block; the backend runs them off the event loop.
pub trait Store: Send + Sync + 'static {
    /// Applies `ops` atomically, stamping stored entries with `now`.
    fn apply(&self, ops: &[CacheOp], now: i64) -> Result<(), CacheError>;

    /// [`Store::apply`], also reporting what the batch changed that the NSS memory cache
    /// must hear about (judged inside the same transaction). The default reports nothing.
    fn apply_reporting(&self, ops: &[CacheOp], now: i64) -> Result<Changes, CacheError> {
        self.apply(ops, now).map(|()| Changes::default())
    }

    /// The cached user `name`.
    fn user(&self, name: &str) -> Result<Option<User>, CacheError>;

    /// The name of the cached user with `uid`. The default knows none.
    fn user_name_by_uid(&self, uid: u32) -> Result<Option<String>, CacheError> {
        let _ = uid;
        Ok(None)
    }

    /// The groups of `user`: its primary group and its initgroups memberships, split into
    /// the names of cached groups and the gids with no cached group.
    fn group_names(&self, user: &User) -> Result<UserGroups, CacheError>;

    /// The cached credentials of user `name`.
    fn credentials(&self, name: &str) -> Result<Option<Credentials>, CacheError>;

    /// Stores (or with `None` removes) the cached credentials of user `name`.
    fn put_credentials(&self, name: &str, creds: Option<&Credentials>) -> Result<(), CacheError>;

    /// What the last online ldap access check of user `name` learned.
    fn access_record(&self, name: &str) -> Result<Option<AccessRecord>, CacheError>;

    /// Stores what an online ldap access check of user `name` learned.
    fn put_access_record(&self, name: &str, rec: &AccessRecord) -> Result<(), CacheError>;

    /// Records the flat (NetBIOS) name learned from the domain's controllers, for the
    /// responders; whether it differs from the one recorded before. The default keeps
    /// nothing.
    fn put_flat_name(&self, flat: &str) -> Result<bool, CacheError> {
        let _ = flat;
        Ok(false)
    }

    /// What the cache holds fresh at `now` for `member` (a user or group named in
    /// [`crate::backend::ldap::cached_members`]), with its DN; `None` when it is absent or
    /// expired. The default knows nothing.
    fn fresh_member(
        &self,
        member: &CachedMember,
        now: i64,
    ) -> Result<Option<FreshMember>, CacheError> {
        let _ = (member, now);
        Ok(None)
    }

    /// Names of the cached records of `kind` expiring at or before `by` (the background
    /// refresh's work list). The default lists none.
    fn expiring(&self, kind: RefreshKind, by: i64) -> Result<Vec<String>, CacheError> {
        let _ = (kind, by);
        Ok(Vec::new())
    }
}

/// A cached user or group, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CachedMember {
    /// The user with this name.
    User(String),
    /// The group with this name.
    Group(String),
}

/// A user or group the cache holds fresh (see [`Store::fresh_member`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FreshMember {
    /// A user: its DN and name.
    User {
        /// The entry's DN.
        dn: String,
        /// The login name.
        name: String,
    },
    /// A group: its DN and flattened member names.
    Group {
        /// The entry's DN.
        dn: String,
        /// The member user names.
        members: Vec<String>,
    },
}

/// Whether an entry stamped to expire at `expire` is still fresh at `now` (0: expired).
fn is_fresh(expire: i64, now: i64) -> bool {
    expire != 0 && expire > now
}

/// The primary gid followed by `gids`, without duplicates.
/// A user's groups as the cache knows them (see [`Store::group_names`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserGroups {
    /// Names of the cached groups, primary group first.
    pub names: Vec<String>,
    /// Gids (primary or from initgroups) with no cached group.
    pub missing: Vec<u32>,
}

fn all_gids(user: &User, gids: &[u32]) -> Vec<u32> {
    let mut out = vec![user.gid];
    for g in gids {
        if !out.contains(g) {
            out.push(*g);
        }
    }
    out
}

/// The real per-domain cache.
pub struct CacheStore(pub Arc<Cache>);

/// Applies `ops` in the transaction `w`, stamping stored entries with `now`.
fn write_ops(w: &mut Writer<'_>, ops: &[CacheOp], now: i64) -> Result<(), CacheError> {
    for op in ops {
        match op {
            CacheOp::PutUser(u, exp) => w.put_user(u, now, *exp)?,
            CacheOp::PutGroup(g, exp) => w.put_group(g, now, *exp)?,
            CacheOp::PutGroupPartial(g) => {
                if w.group_by_name(&g.name)?.is_none() {
                    w.put_group(g, now, 0)?;
                }
            }
            CacheOp::SetInitgroups { name, gids, expire } => {
                w.set_initgroups(name, gids, now, *expire)?
            }
            CacheOp::DeleteUser(n) => w.delete_user(n)?,
            CacheOp::DeleteGroup(n) => w.delete_group(n)?,
            CacheOp::DeleteUserByUid(uid) => {
                if let Some(u) = w.user_by_uid(*uid)? {
                    w.delete_user(&u.value.name)?;
                }
            }
            CacheOp::DeleteGroupByGid(gid) => {
                if let Some(g) = w.group_by_gid(*gid)? {
                    w.delete_group(&g.value.name)?;
                }
            }
            CacheOp::PruneUsers(keep) => {
                let keep: HashSet<&str> = keep.iter().map(String::as_str).collect();
                for u in w.all_users()? {
                    if !keep.contains(u.name.as_str()) {
                        w.delete_user(&u.name)?;
                    }
                }
            }
            CacheOp::PruneGroups(keep) => {
                let keep: HashSet<&str> = keep.iter().map(String::as_str).collect();
                for g in w.all_groups()? {
                    if !keep.contains(g.name.as_str()) {
                        w.delete_group(&g.name)?;
                    }
                }
            }
            CacheOp::Netgroup(_) => {}
            CacheOp::Map(m) => w.apply_map_op(m, now)?,
            // Written by `apply_autofs` before the writer is opened.
            CacheOp::Autofs(_) => {}
            CacheOp::PutSshKeys(name, keys) => w.put_ssh_keys(name, keys)?,
            CacheOp::ForgetAlias { alias, keep } => w.forget_alias(alias, keep)?,
        }
    }
    Ok(())
}

/// Writes the automount ops of `ops` (in their own transaction); true when that was all.
fn apply_autofs(cache: &Cache, ops: &[CacheOp], now: i64) -> Result<bool, CacheError> {
    let af: Vec<crate::cache::AutofsOp> = ops
        .iter()
        .filter_map(|o| match o {
            CacheOp::Autofs(a) => Some(a.clone()),
            _ => None,
        })
        .collect();
    if af.is_empty() {
        return Ok(false);
    }
    cache.autofs_apply(&af, now)?;
    Ok(af.len() == ops.len())
}

impl Store for CacheStore {
    fn expiring(&self, kind: RefreshKind, by: i64) -> Result<Vec<String>, CacheError> {
        self.0.expiring(kind, by)
    }

    fn apply(&self, ops: &[CacheOp], now: i64) -> Result<(), CacheError> {
        self.0.apply_netgroup_ops(netgroup_ops(ops), now)?;
        if apply_autofs(&self.0, ops, now)? {
            return Ok(());
        }
        let mut w = self.0.writer()?;
        write_ops(&mut w, ops, now)?;
        w.commit()
    }

    fn apply_reporting(&self, ops: &[CacheOp], now: i64) -> Result<Changes, CacheError> {
        self.0.apply_netgroup_ops(netgroup_ops(ops), now)?;
        if apply_autofs(&self.0, ops, now)? {
            return Ok(Changes::default());
        }
        let mut w = self.0.writer()?;
        let c = changes(ops, &w)?;
        write_ops(&mut w, ops, now)?;
        w.commit()?;
        Ok(c)
    }

    fn user(&self, name: &str) -> Result<Option<User>, CacheError> {
        Ok(self.0.user_by_name(name)?.map(|c| c.value))
    }

    fn fresh_member(
        &self,
        member: &CachedMember,
        now: i64,
    ) -> Result<Option<FreshMember>, CacheError> {
        Ok(match member {
            CachedMember::User(n) => self
                .0
                .user_by_name(n)?
                .filter(|c| is_fresh(c.expire, now))
                .map(|c| FreshMember::User {
                    dn: c.value.dn,
                    name: c.value.name,
                }),
            CachedMember::Group(n) => self
                .0
                .group_by_name(n)?
                .filter(|c| is_fresh(c.expire, now))
                .map(|c| FreshMember::Group {
                    dn: c.value.dn,
                    members: c.value.members,
                }),
        })
    }

    fn user_name_by_uid(&self, uid: u32) -> Result<Option<String>, CacheError> {
        Ok(self.0.user_by_uid(uid)?.map(|c| c.value.name))
    }

    fn group_names(&self, user: &User) -> Result<UserGroups, CacheError> {
        let gids = self.0.initgroups(&user.name)?.map(|c| c.value);
        let mut out = UserGroups::default();
        for gid in all_gids(user, gids.as_deref().unwrap_or_default()) {
            match self.0.group_by_gid(gid)? {
                Some(g) => out.names.push(g.value.name),
                None => out.missing.push(gid),
            }
        }
        Ok(out)
    }

    fn credentials(&self, name: &str) -> Result<Option<Credentials>, CacheError> {
        self.0.credentials(name)
    }

    fn put_credentials(&self, name: &str, creds: Option<&Credentials>) -> Result<(), CacheError> {
        let mut w = self.0.writer()?;
        match creds {
            Some(c) => w.put_credentials(name, c)?,
            None => w.delete_credentials(name)?,
        }
        w.commit()
    }

    fn access_record(&self, name: &str) -> Result<Option<AccessRecord>, CacheError> {
        self.0.access_record(name)
    }

    fn put_access_record(&self, name: &str, rec: &AccessRecord) -> Result<(), CacheError> {
        let mut w = self.0.writer()?;
        w.put_access_record(name, rec)?;
        w.commit()
    }

    fn put_flat_name(&self, flat: &str) -> Result<bool, CacheError> {
        if self.0.flat_name()?.as_deref() == Some(flat) {
            return Ok(false);
        }
        let mut w = self.0.writer()?;
        w.set_flat_name(flat)?;
        w.commit().map(|()| true)
    }
}

/// An in-memory store (tests, and a stand-in where no cache is wanted).
#[derive(Debug, Default)]
pub struct MemStore {
    inner: Mutex<MemData>,
}

/// The content of a [`MemStore`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MemData {
    /// Users by name, with expiry.
    pub users: BTreeMap<String, (User, i64)>,
    /// Groups by name, with expiry.
    pub groups: BTreeMap<String, (Group, i64)>,
    /// Initgroups gid lists by user name, with expiry.
    pub initgroups: BTreeMap<String, (Vec<u32>, i64)>,
    /// Cached credentials by user name.
    pub credentials: BTreeMap<String, Credentials>,
    /// Last online ldap access facts by user name.
    pub access: BTreeMap<String, AccessRecord>,
    /// Netgroups by name, with expiry.
    pub netgroups: BTreeMap<String, (Netgroup, i64)>,
    /// SSH public keys by user name.
    pub ssh_keys: BTreeMap<String, Vec<Vec<u8>>>,
    /// Number of `apply` calls.
    pub batches: usize,
    /// Services, hosts and networks operations, in order.
    pub maps: Vec<crate::cache::maps::MapOp>,
    /// Automount writes, in order.
    pub autofs: Vec<crate::cache::AutofsOp>,
}

impl MemData {
    /// Keeps users' initgroups lists in step with a group's members, as the real cache does.
    fn follow_members(&mut self, old: Option<&Group>, new: Option<&Group>) {
        for m in member_changes(old, new) {
            if let Some((gids, _)) = self.initgroups.get_mut(m.user) {
                let had = gids.contains(&m.gid);
                if m.added && !had {
                    gids.push(m.gid);
                } else if !m.added && had {
                    gids.retain(|g| *g != m.gid);
                }
            }
        }
    }
}

impl MemStore {
    /// A snapshot of the content.
    pub fn snapshot(&self) -> MemData {
        self.inner.lock().map(|d| d.clone()).unwrap_or_default()
    }
}

impl Store for MemStore {
    fn apply(&self, ops: &[CacheOp], _now: i64) -> Result<(), CacheError> {
        let Ok(mut d) = self.inner.lock() else {
            return Ok(());
        };
        d.batches += 1;
        for op in ops {
            match op {
                CacheOp::PutUser(u, e) => {
                    d.users.retain(|_, (x, _)| x.uid != u.uid);
                    d.users.insert(u.name.clone(), (u.clone(), *e));
                }
                CacheOp::PutGroup(g, e) => {
                    let old = d.groups.get(&g.name).map(|(x, _)| x.clone());
                    d.groups.retain(|_, (x, _)| x.gid != g.gid);
                    d.groups.insert(g.name.clone(), (g.clone(), *e));
                    d.follow_members(old.as_ref(), Some(g));
                }
                CacheOp::PutGroupPartial(g) => {
                    if !d.groups.contains_key(&g.name) {
                        d.groups.insert(g.name.clone(), (g.clone(), 0));
                        d.follow_members(None, Some(g));
                    }
                }
                CacheOp::SetInitgroups { name, gids, expire } => {
                    d.initgroups.insert(name.clone(), (gids.clone(), *expire));
                }
                CacheOp::DeleteUser(n) => {
                    d.users.remove(n);
                    d.initgroups.remove(n);
                    d.ssh_keys.remove(n);
                }
                CacheOp::PutSshKeys(n, keys) => {
                    d.ssh_keys.insert(n.clone(), keys.clone());
                }
                CacheOp::ForgetAlias { .. } => {}
                CacheOp::DeleteUserByUid(uid) => {
                    d.users.retain(|_, (u, _)| u.uid != *uid);
                }
                CacheOp::DeleteGroup(n) => {
                    if let Some((old, _)) = d.groups.remove(n) {
                        d.follow_members(Some(&old), None);
                    }
                }
                CacheOp::DeleteGroupByGid(gid) => {
                    let gone: Vec<Group> = d
                        .groups
                        .values()
                        .filter(|(g, _)| g.gid == *gid)
                        .map(|(g, _)| g.clone())
                        .collect();
                    d.groups.retain(|_, (g, _)| g.gid != *gid);
                    for old in &gone {
                        d.follow_members(Some(old), None);
                    }
                }
                CacheOp::PruneUsers(keep) => {
                    let keep: HashSet<&String> = keep.iter().collect();
                    d.users.retain(|n, _| keep.contains(n));
                }
                CacheOp::PruneGroups(keep) => {
                    let keep: HashSet<&String> = keep.iter().collect();
                    d.groups.retain(|n, _| keep.contains(n));
                }
                CacheOp::Netgroup(NetgroupOp::Put(ng, e)) => {
                    d.netgroups.insert(ng.name.clone(), (ng.clone(), *e));
                }
                CacheOp::Netgroup(NetgroupOp::Delete(n)) => {
                    d.netgroups.remove(n);
                }
                CacheOp::Map(m) => d.maps.push(m.clone()),
                CacheOp::Autofs(op) => d.autofs.push(op.clone()),
            }
        }
        Ok(())
    }

    fn apply_reporting(&self, ops: &[CacheOp], now: i64) -> Result<Changes, CacheError> {
        // A test stand-in: judged on a snapshot, then applied.
        let c = changes(ops, &self.snapshot())?;
        self.apply(ops, now)?;
        Ok(c)
    }

    fn fresh_member(
        &self,
        member: &CachedMember,
        now: i64,
    ) -> Result<Option<FreshMember>, CacheError> {
        let Ok(d) = self.inner.lock() else {
            return Ok(None);
        };
        Ok(match member {
            CachedMember::User(n) => {
                d.users
                    .get(n)
                    .filter(|(_, e)| is_fresh(*e, now))
                    .map(|(u, _)| FreshMember::User {
                        dn: u.dn.clone(),
                        name: u.name.clone(),
                    })
            }
            CachedMember::Group(n) => {
                d.groups
                    .get(n)
                    .filter(|(_, e)| is_fresh(*e, now))
                    .map(|(g, _)| FreshMember::Group {
                        dn: g.dn.clone(),
                        members: g.members.clone(),
                    })
            }
        })
    }

    fn user(&self, name: &str) -> Result<Option<User>, CacheError> {
        Ok(self.snapshot().users.get(name).map(|(u, _)| u.clone()))
    }

    fn group_names(&self, user: &User) -> Result<UserGroups, CacheError> {
        let d = self.snapshot();
        let gids = d.initgroups.get(&user.name).map(|(g, _)| g.clone());
        let mut out = UserGroups::default();
        for gid in all_gids(user, gids.as_deref().unwrap_or_default()) {
            match d.groups.values().find(|(g, _)| g.gid == gid) {
                Some((g, _)) => out.names.push(g.name.clone()),
                None => out.missing.push(gid),
            }
        }
        Ok(out)
    }

    fn credentials(&self, name: &str) -> Result<Option<Credentials>, CacheError> {
        Ok(self.snapshot().credentials.get(name).cloned())
    }

    fn put_credentials(&self, name: &str, creds: Option<&Credentials>) -> Result<(), CacheError> {
        if let Ok(mut d) = self.inner.lock() {
            match creds {
                Some(c) => d.credentials.insert(name.to_string(), c.clone()),
                None => d.credentials.remove(name),
            };
        }
        Ok(())
    }

    fn access_record(&self, name: &str) -> Result<Option<AccessRecord>, CacheError> {
        Ok(self.snapshot().access.get(name).cloned())
    }

    fn put_access_record(&self, name: &str, rec: &AccessRecord) -> Result<(), CacheError> {
        if let Ok(mut d) = self.inner.lock() {
            d.access.insert(name.to_string(), rec.clone());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, uid: u32) -> User {
        User {
            name: name.into(),
            uid,
            ..User::default()
        }
    }

    #[test]
    fn mem_store_applies_batches() {
        let s = MemStore::default();
        s.apply(
            &[
                CacheOp::PutUser(user("a", 1), 10),
                CacheOp::PutUser(user("b", 2), 10),
                CacheOp::SetInitgroups {
                    name: "a".into(),
                    gids: vec![5],
                    expire: 10,
                },
            ],
            0,
        )
        .unwrap();
        s.apply(
            &[
                CacheOp::DeleteUserByUid(2),
                CacheOp::PutUser(user("a2", 1), 10),
            ],
            0,
        )
        .unwrap();
        let d = s.snapshot();
        assert_eq!(d.users.keys().collect::<Vec<_>>(), ["a2"]);
        assert_eq!(d.batches, 2);
        s.apply(&[CacheOp::PruneUsers(vec![])], 0).unwrap();
        assert!(s.snapshot().users.is_empty());
    }

    #[test]
    fn cache_store_reports_membership_changes_in_its_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let s = CacheStore(Arc::new(Cache::open(dir.path(), "LDAP").unwrap()));
        let set = |gids: &[u32]| CacheOp::SetInitgroups {
            name: "a".into(),
            gids: gids.to_vec(),
            expire: 100,
        };
        let c = s
            .apply_reporting(&[CacheOp::PutUser(user("a", 1), 100), set(&[5, 6])], 0)
            .unwrap();
        assert!(c.is_empty(), "{c:?}");
        let c = s.apply_reporting(&[set(&[6, 5])], 0).unwrap();
        assert!(c.is_empty(), "{c:?}");
        let c = s.apply_reporting(&[set(&[6])], 0).unwrap();
        assert_eq!(c.initgroups, vec![("a".to_string(), vec![6, 5])]);
        let c = s
            .apply_reporting(&[CacheOp::DeleteUser("a".into())], 0)
            .unwrap();
        assert_eq!(c.initgroups, vec![("a".to_string(), vec![6])]);
    }

    #[test]
    fn cache_store_writes_the_domain_cache() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Arc::new(Cache::open(dir.path(), "LDAP").unwrap());
        let s = CacheStore(cache.clone());
        let g = Group {
            name: "g".into(),
            gid: 50,
            members: vec!["a".into()],
            ..Group::default()
        };
        s.apply(
            &[
                CacheOp::PutUser(user("a", 1), 100),
                CacheOp::PutUser(user("b", 2), 100),
                CacheOp::PutGroup(g, 90),
                CacheOp::SetInitgroups {
                    name: "a".into(),
                    gids: vec![50],
                    expire: 80,
                },
            ],
            10,
        )
        .unwrap();
        let a = cache.user_by_name("a").unwrap().unwrap();
        assert_eq!((a.value.uid, a.last_update, a.expire), (1, 10, 100));
        assert_eq!(
            cache.group_by_gid(50).unwrap().unwrap().value.members,
            ["a"]
        );
        assert_eq!(cache.initgroups("a").unwrap().unwrap().value, [50]);
        s.apply(
            &[CacheOp::DeleteUserByUid(2), CacheOp::DeleteGroupByGid(50)],
            20,
        )
        .unwrap();
        assert!(cache.user_by_name("b").unwrap().is_none());
        assert!(cache.group_by_name("g").unwrap().is_none());
        s.apply(
            &[
                CacheOp::PutUser(user("c", 3), 100),
                CacheOp::PruneUsers(vec!["c".into()]),
            ],
            30,
        )
        .unwrap();
        let names: Vec<String> = cache
            .all_users()
            .unwrap()
            .into_iter()
            .map(|u| u.name)
            .collect();
        assert_eq!(names, ["c"]);
        s.apply(
            &[
                CacheOp::DeleteUser("c".into()),
                CacheOp::PruneGroups(vec![]),
            ],
            40,
        )
        .unwrap();
        assert!(cache.all_users().unwrap().is_empty());
    }

    #[test]
    fn both_stores_answer_pam_reads() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Arc::new(Cache::open(dir.path(), "LDAP").unwrap());
        let stores: [Arc<dyn Store>; 2] =
            [Arc::new(MemStore::default()), Arc::new(CacheStore(cache))];
        let mut a = user("a", 1);
        a.gid = 50;
        let g = |name: &str, gid| Group {
            name: name.into(),
            gid,
            ..Group::default()
        };
        for s in stores {
            s.apply(
                &[
                    CacheOp::PutUser(a.clone(), i64::MAX),
                    CacheOp::PutGroup(g("prim", 50), i64::MAX),
                    CacheOp::PutGroup(g("sec", 60), i64::MAX),
                    CacheOp::SetInitgroups {
                        name: "a".into(),
                        gids: vec![60, 50, 70],
                        expire: i64::MAX,
                    },
                ],
                1,
            )
            .unwrap();
            assert_eq!(s.user("a").unwrap(), Some(a.clone()));
            assert_eq!(s.user("zz").unwrap(), None);
            // Primary first, no duplicates, unknown gids reported apart.
            let groups = s.group_names(&a).unwrap();
            assert_eq!(groups.names, ["prim", "sec"]);
            assert_eq!(groups.missing, [70]);
            let c = Credentials {
                failed_attempts: 3,
                ..Credentials::default()
            };
            s.put_credentials("a", Some(&c)).unwrap();
            assert_eq!(s.credentials("a").unwrap(), Some(c));
            s.put_credentials("a", None).unwrap();
            assert_eq!(s.credentials("a").unwrap(), None);
        }
    }
}
