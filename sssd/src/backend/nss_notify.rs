//! What a batch of cache writes changed that the NSS responder's memory cache must hear
//! about, and telling it (`sssd.nss.MemoryCache`): a user whose group memberships changed
//! or who is gone (`UpdateInitgroups` with the gids from before), a group whose members
//! changed or that is gone (`InvalidateGroupById`).

use super::store::{CacheOp, MemData};
use crate::cache::{CacheError, Writer};
use crate::model::{Group, member_changes};
use crate::sbus::{Bus, memcache};
use std::collections::BTreeSet;
use std::time::Duration;

/// How long a notification may take before it is abandoned.
pub const NOTIFY_TIMEOUT: Duration = Duration::from_secs(5);

/// Memory-cache relevant changes of one batch.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changes {
    /// Users (cache names) whose gid set changed, or who were removed, with their gids
    /// before the batch.
    pub initgroups: Vec<(String, Vec<u32>)>,
    /// Gids of groups whose members changed, whose gid changed, or that were removed.
    pub groups: Vec<u32>,
}

impl Changes {
    /// Whether there is nothing to tell.
    pub fn is_empty(&self) -> bool {
        self.initgroups.is_empty() && self.groups.is_empty()
    }

    fn user(&mut self, name: &str, old: Vec<u32>) {
        if !self.initgroups.iter().any(|(n, _)| n == name) {
            self.initgroups.push((name.to_string(), old));
        }
    }

    fn group(&mut self, gid: u32) {
        if !self.groups.contains(&gid) {
            self.groups.push(gid);
        }
    }
}

/// The cache as it was before a batch.
pub trait Before {
    /// Whether user `name` exists.
    fn user_exists(&self, name: &str) -> Result<bool, CacheError>;
    /// The name of the user with `uid`.
    fn user_name_by_uid(&self, uid: u32) -> Result<Option<String>, CacheError>;
    /// The initgroups gids of user `name`, if recorded.
    fn initgroups(&self, name: &str) -> Result<Option<Vec<u32>>, CacheError>;
    /// The group `name`.
    fn group_by_name(&self, name: &str) -> Result<Option<Group>, CacheError>;
    /// The group with `gid`.
    fn group_by_gid(&self, gid: u32) -> Result<Option<Group>, CacheError>;
}

fn set(v: &[u32]) -> BTreeSet<u32> {
    v.iter().copied().collect()
}

fn members(g: &Group) -> BTreeSet<&str> {
    g.members.iter().map(String::as_str).collect()
}

/// What `ops` change, judged against `before` (read before any of them is applied).
pub fn changes(ops: &[CacheOp], before: &dyn Before) -> Result<Changes, CacheError> {
    let mut c = Changes::default();
    let gone = |c: &mut Changes, name: &str| -> Result<(), CacheError> {
        if before.user_exists(name)? {
            c.user(name, before.initgroups(name)?.unwrap_or_default());
        }
        Ok(())
    };
    for op in ops {
        match op {
            CacheOp::SetInitgroups { name, gids, .. } => {
                if let Some(old) = before.initgroups(name)?
                    && set(&old) != set(gids)
                {
                    c.user(name, old);
                }
            }
            CacheOp::DeleteUser(name) => gone(&mut c, name)?,
            CacheOp::DeleteUserByUid(uid) => {
                if let Some(name) = before.user_name_by_uid(*uid)? {
                    gone(&mut c, &name)?;
                }
            }
            CacheOp::PutGroup(g, _) => {
                let old = before.group_by_name(&g.name)?;
                members_moved(&mut c, before, old.as_ref(), Some(g))?;
                if let Some(old) = old
                    && (old.gid != g.gid || members(&old) != members(g))
                {
                    c.group(old.gid);
                    c.group(g.gid);
                }
                if let Some(old) = before.group_by_gid(g.gid)?
                    && old.name != g.name
                {
                    c.group(g.gid);
                }
            }
            CacheOp::DeleteGroup(name) => {
                if let Some(old) = before.group_by_name(name)? {
                    members_moved(&mut c, before, Some(&old), None)?;
                    c.group(old.gid);
                }
            }
            CacheOp::DeleteGroupByGid(gid) => {
                if let Some(old) = before.group_by_gid(*gid)? {
                    members_moved(&mut c, before, Some(&old), None)?;
                    c.group(*gid);
                }
            }
            // Partial groups are never stored over a cached one.
            CacheOp::PutGroupPartial(g) => {
                if before.group_by_name(&g.name)?.is_none() {
                    members_moved(&mut c, before, None, Some(g))?;
                }
            }
            // Users' attributes and enumeration pruning are left to the records'
            // memcache_timeout, as SSSD does.
            CacheOp::PutUser(..)
            | CacheOp::PruneUsers(_)
            | CacheOp::PruneGroups(_)
            | CacheOp::Netgroup(_)
            | CacheOp::Autofs(_)
            | CacheOp::PutSshKeys(..)
            | CacheOp::ForgetAlias { .. } => {}
            // Services, hosts and networks have no memory cache.
            CacheOp::Map(_) => {}
        }
    }
    Ok(c)
}

/// Reports the users whose cached group list a group's new version changes (the cache
/// writer keeps users' initgroups records in step with group members).
fn members_moved(
    c: &mut Changes,
    before: &dyn Before,
    old: Option<&Group>,
    new: Option<&Group>,
) -> Result<(), CacheError> {
    for m in member_changes(old, new) {
        if let Some(gids) = before.initgroups(m.user)?
            && gids.contains(&m.gid) != m.added
        {
            c.user(m.user, gids);
        }
    }
    Ok(())
}

/// A value read before a batch: a corrupt record counts as absent (the batch is about to
/// replace it; there is nothing sensible to compare it with).
fn readable<T>(r: Result<Option<T>, CacheError>) -> Result<Option<T>, CacheError> {
    match r {
        Err(CacheError::Corrupt { .. }) => Ok(None),
        other => other,
    }
}

impl Before for Writer<'_> {
    fn user_exists(&self, name: &str) -> Result<bool, CacheError> {
        Ok(readable(self.user_by_name(name))?.is_some())
    }
    fn user_name_by_uid(&self, uid: u32) -> Result<Option<String>, CacheError> {
        Ok(readable(self.user_by_uid(uid))?.map(|u| u.value.name))
    }
    fn initgroups(&self, name: &str) -> Result<Option<Vec<u32>>, CacheError> {
        Ok(readable(Writer::initgroups(self, name))?.map(|c| c.value))
    }
    fn group_by_name(&self, name: &str) -> Result<Option<Group>, CacheError> {
        Ok(readable(Writer::group_by_name(self, name))?.map(|c| c.value))
    }
    fn group_by_gid(&self, gid: u32) -> Result<Option<Group>, CacheError> {
        Ok(readable(Writer::group_by_gid(self, gid))?.map(|c| c.value))
    }
}

impl Before for MemData {
    fn user_exists(&self, name: &str) -> Result<bool, CacheError> {
        Ok(self.users.contains_key(name))
    }
    fn user_name_by_uid(&self, uid: u32) -> Result<Option<String>, CacheError> {
        Ok(self
            .users
            .values()
            .find(|(u, _)| u.uid == uid)
            .map(|(u, _)| u.name.clone()))
    }
    fn initgroups(&self, name: &str) -> Result<Option<Vec<u32>>, CacheError> {
        Ok(self.initgroups.get(name).map(|(g, _)| g.clone()))
    }
    fn group_by_name(&self, name: &str) -> Result<Option<Group>, CacheError> {
        Ok(self.groups.get(name).map(|(g, _)| g.clone()))
    }
    fn group_by_gid(&self, gid: u32) -> Result<Option<Group>, CacheError> {
        Ok(self
            .groups
            .values()
            .find(|(g, _)| g.gid == gid)
            .map(|(g, _)| g.clone()))
    }
}

/// Tells the NSS responder about [`Changes`]. Calls must not block or fail the caller.
pub trait NssNotifier: Send + Sync + 'static {
    /// `user` (`name@domain`) of `domain` had gids `old` before a refresh.
    fn update_initgroups(&self, user: String, domain: String, old: Vec<u32>);
    /// The members of group `gid` changed.
    fn invalidate_group(&self, gid: u32);
}

/// Sends each change as its own `sssd.nss.MemoryCache` call, fire-and-forget: a task per
/// call bounded by [`NOTIFY_TIMEOUT`]; failures (typically: `sssd.nss` not running) are
/// only logged at debug level.
#[derive(Clone)]
pub struct BusNotifier {
    bus: Bus,
}

impl BusNotifier {
    /// A notifier calling over `bus`.
    pub fn new(bus: Bus) -> BusNotifier {
        BusNotifier { bus }
    }
}

impl NssNotifier for BusNotifier {
    fn update_initgroups(&self, user: String, domain: String, old: Vec<u32>) {
        let bus = self.bus.clone();
        tokio::spawn(async move {
            let r = memcache::update_initgroups(&bus, &user, &domain, &old, NOTIFY_TIMEOUT).await;
            if let Err(e) = r {
                tracing::debug!("UpdateInitgroups {user}: {e}");
            }
        });
    }

    fn invalidate_group(&self, gid: u32) {
        let bus = self.bus.clone();
        tokio::spawn(async move {
            if let Err(e) = memcache::invalidate_group_by_id(&bus, gid, NOTIFY_TIMEOUT).await {
                tracing::debug!("InvalidateGroupById {gid}: {e}");
            }
        });
    }
}

/// Sends `c` for `domain` through `n`.
pub fn notify(n: &dyn NssNotifier, domain: &str, c: Changes) {
    for (user, old) in c.initgroups {
        n.update_initgroups(format!("{user}@{domain}"), domain.to_string(), old);
    }
    for gid in c.groups {
        n.invalidate_group(gid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::User;

    fn before() -> MemData {
        let mut d = MemData::default();
        let u = User {
            name: "alice".into(),
            uid: 10,
            gid: 10,
            ..User::default()
        };
        d.users.insert("alice".into(), (u, 0));
        d.initgroups.insert("alice".into(), (vec![1, 2], 0));
        let g = Group {
            name: "staff".into(),
            gid: 1,
            members: vec!["alice".into(), "bob".into()],
            ..Group::default()
        };
        d.groups.insert("staff".into(), (g, 0));
        d
    }

    fn setgr(name: &str, gids: &[u32]) -> CacheOp {
        CacheOp::SetInitgroups {
            name: name.into(),
            gids: gids.to_vec(),
            expire: 0,
        }
    }

    fn staff(members: &[&str], gid: u32) -> CacheOp {
        CacheOp::PutGroup(
            Group {
                name: "staff".into(),
                gid,
                members: members.iter().map(|m| m.to_string()).collect(),
                ..Group::default()
            },
            0,
        )
    }

    #[test]
    fn unchanged_data_changes_nothing() {
        let b = before();
        let c = changes(&[setgr("alice", &[2, 1]), staff(&["bob", "alice"], 1)], &b).unwrap();
        assert!(c.is_empty(), "{c:?}");
        // A user seen for the first time: nothing to invalidate.
        assert!(changes(&[setgr("carol", &[1])], &b).unwrap().is_empty());
    }

    #[test]
    fn changed_memberships_and_members_are_reported() {
        let b = before();
        let c = changes(&[setgr("alice", &[1, 3]), staff(&["alice"], 1)], &b).unwrap();
        assert_eq!(c.initgroups, vec![("alice".to_string(), vec![1, 2])]);
        assert_eq!(c.groups, vec![1]);
        let c = changes(&[staff(&["alice", "bob"], 7)], &b).unwrap();
        assert_eq!(c.groups, vec![1, 7], "gid changed");
    }

    #[test]
    fn group_member_lists_report_the_members_whose_groups_change() {
        let b = before();
        let devs = |members: &[&str]| {
            CacheOp::PutGroup(
                Group {
                    name: "devs".into(),
                    gid: 3,
                    members: members.iter().map(|m| m.to_string()).collect(),
                    ..Group::default()
                },
                0,
            )
        };
        // alice joins a new group: her cached list [1, 2] changes; bob has no list.
        let c = changes(&[devs(&["alice", "bob"])], &b).unwrap();
        assert_eq!(c.initgroups, vec![("alice".to_string(), vec![1, 2])]);
        // She leaves staff (whose list names her): reported too.
        let c = changes(&[staff(&["bob"], 1)], &b).unwrap();
        assert_eq!(c.initgroups, vec![("alice".to_string(), vec![1, 2])]);
        assert_eq!(c.groups, vec![1]);
        // A member already listed in a user's record changes nothing for that user.
        assert!(
            changes(&[devs(&["bob"])], &b)
                .unwrap()
                .initgroups
                .is_empty()
        );
        let c = changes(&[CacheOp::DeleteGroup("staff".into())], &b).unwrap();
        assert_eq!(c.initgroups, vec![("alice".to_string(), vec![1, 2])]);
    }

    #[test]
    fn removals_are_reported() {
        let b = before();
        let c = changes(&[CacheOp::DeleteUser("alice".into())], &b).unwrap();
        assert_eq!(c.initgroups, vec![("alice".to_string(), vec![1, 2])]);
        let c = changes(&[CacheOp::DeleteUserByUid(10)], &b).unwrap();
        assert_eq!(c.initgroups.len(), 1);
        assert!(
            changes(&[CacheOp::DeleteUser("ghost".into())], &b)
                .unwrap()
                .is_empty()
        );
        let c = changes(
            &[
                CacheOp::DeleteGroup("staff".into()),
                CacheOp::DeleteGroupByGid(1),
            ],
            &b,
        )
        .unwrap();
        assert_eq!(c.groups, vec![1]);
    }

    #[derive(Default)]
    struct Rec(std::sync::Mutex<Vec<String>>);
    impl NssNotifier for Rec {
        fn update_initgroups(&self, user: String, domain: String, old: Vec<u32>) {
            self.0
                .lock()
                .unwrap()
                .push(format!("{user} {domain} {old:?}"));
        }
        fn invalidate_group(&self, gid: u32) {
            self.0.lock().unwrap().push(format!("gid {gid}"));
        }
    }

    #[tokio::test]
    async fn the_backend_notifies_after_a_refresh_that_changed_memberships() {
        use crate::backend::Backend;
        use crate::backend::store::MemStore;
        use crate::backend::tests::{auth_opts, domain, ldap_opts, pam_opts};
        use std::sync::Arc;
        let store = Arc::new(MemStore::default());
        let b = Backend::new(
            &domain(),
            ldap_opts("ldap://127.0.0.1:1"),
            auth_opts(""),
            pam_opts(""),
            store.clone(),
        );
        let rec = Arc::new(Rec::default());
        b.set_nss_notifier(rec.clone());
        assert_eq!(b.store(vec![setgr("alice", &[1, 2])]).await.dp_error, 0);
        assert!(
            rec.0.lock().unwrap().is_empty(),
            "first time: nothing cached before"
        );
        b.store(vec![setgr("alice", &[2, 1])]).await;
        assert!(rec.0.lock().unwrap().is_empty(), "same set");
        b.store(vec![setgr("alice", &[2]), staff(&["bob"], 1)])
            .await;
        b.store(vec![staff(&["bob", "carol"], 1)]).await;
        assert_eq!(
            *rec.0.lock().unwrap(),
            vec!["alice@LDAP LDAP [2, 1]".to_string(), "gid 1".into()]
        );
    }

    #[test]
    fn notify_sends_each_change_with_the_qualified_name() {
        let r = Rec::default();
        notify(
            &r,
            "LDAP",
            Changes {
                initgroups: vec![("alice".into(), vec![1])],
                groups: vec![5],
            },
        );
        assert_eq!(
            *r.0.lock().unwrap(),
            vec!["alice@LDAP LDAP [1]".to_string(), "gid 5".into()]
        );
    }
}
