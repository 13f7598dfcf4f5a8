//! What the NSS module said, as cache writes: entries outside `min_id`..`max_id` (and id 0)
//! are treated as not found, as SSSD's proxy provider does; names are lowercased in
//! case-insensitive domains.

use crate::backend::store::CacheOp;
use crate::config::DomainOptions;
use crate::model::{Group, User};
use sss_proto::proxy::{GroupEnt, PasswdEnt};

/// The domain settings the conversion needs.
#[derive(Debug, Clone)]
pub struct IdCtx {
    /// `case_sensitive`.
    pub case_sensitive: bool,
    /// `min_id`.
    pub min_id: u32,
    /// `max_id` (0: no limit).
    pub max_id: u32,
    /// `entry_cache_user_timeout`.
    pub user_timeout: u32,
    /// `entry_cache_group_timeout`.
    pub group_timeout: u32,
}

impl IdCtx {
    /// The settings of `dom`.
    pub fn new(dom: &DomainOptions) -> IdCtx {
        IdCtx {
            case_sensitive: dom.case_sensitive,
            min_id: dom.min_id,
            max_id: dom.max_id,
            user_timeout: dom.entry_cache_user_timeout,
            group_timeout: dom.entry_cache_group_timeout,
        }
    }

    /// Whether `id` may be served (never 0, inside `min_id`..=`max_id`).
    pub fn in_range(&self, id: u32) -> bool {
        id != 0 && id >= self.min_id && (self.max_id == 0 || id <= self.max_id)
    }

    /// `name` as the cache keys it.
    pub fn cased(&self, name: &str) -> String {
        if self.case_sensitive {
            name.to_string()
        } else {
            name.to_lowercase()
        }
    }

    /// Expiry of a user (or initgroups) stored at `now`.
    pub fn user_expire(&self, now: i64) -> i64 {
        now + i64::from(self.user_timeout)
    }

    /// Expiry of a group stored at `now`.
    pub fn group_expire(&self, now: i64) -> i64 {
        now + i64::from(self.group_timeout)
    }

    /// Whether the module's user can be stored (a name, uid and gid in range).
    pub fn user_ok(&self, p: &PasswdEnt) -> bool {
        !p.name.is_empty() && self.in_range(p.uid) && self.in_range(p.gid)
    }

    /// Whether the module's group can be stored.
    pub fn group_ok(&self, g: &GroupEnt) -> bool {
        !g.name.is_empty() && self.in_range(g.gid)
    }

    /// The cache form of the module's user, stored under `name`.
    pub fn user(&self, p: &PasswdEnt, name: &str) -> User {
        User {
            name: self.cased(name),
            uid: p.uid,
            gid: p.gid,
            gecos: p.gecos.clone(),
            home: p.dir.clone(),
            shell: p.shell.clone(),
            ..User::default()
        }
    }

    /// The cache form of the module's group.
    pub fn group(&self, g: &GroupEnt) -> Group {
        let mut members: Vec<String> = Vec::with_capacity(g.members.len());
        for m in &g.members {
            let m = self.cased(m);
            if !m.is_empty() && !members.contains(&m) {
                members.push(m);
            }
        }
        Group {
            name: self.cased(&g.name),
            gid: g.gid,
            members,
            ..Group::default()
        }
    }

    /// The writes of an enumeration: every storable entry, and the removal of cached ones
    /// the module no longer lists.
    pub fn enumeration(&self, users: &[PasswdEnt], groups: &[GroupEnt], now: i64) -> Vec<CacheOp> {
        let mut ops = Vec::new();
        let mut user_names = Vec::new();
        for u in users.iter().filter(|u| self.user_ok(u)) {
            let user = self.user(u, &u.name);
            user_names.push(user.name.clone());
            ops.push(CacheOp::PutUser(user, self.user_expire(now)));
        }
        let mut group_names = Vec::new();
        for g in groups.iter().filter(|g| self.group_ok(g)) {
            let group = self.group(g);
            group_names.push(group.name.clone());
            ops.push(CacheOp::PutGroup(group, self.group_expire(now)));
        }
        ops.push(CacheOp::PruneUsers(user_names));
        ops.push(CacheOp::PruneGroups(group_names));
        ops
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> IdCtx {
        IdCtx {
            case_sensitive: false,
            min_id: 1000,
            max_id: 2000,
            user_timeout: 60,
            group_timeout: 30,
        }
    }

    fn pw(name: &str, uid: u32, gid: u32) -> PasswdEnt {
        PasswdEnt {
            name: name.into(),
            uid,
            gid,
            ..PasswdEnt::default()
        }
    }

    #[test]
    fn ranges_and_case() {
        let c = ctx();
        assert!(c.user_ok(&pw("a", 1001, 1001)));
        assert!(!c.user_ok(&pw("a", 999, 1001)));
        assert!(!c.user_ok(&pw("a", 1001, 2001)));
        assert!(!c.user_ok(&pw("", 1001, 1001)));
        assert!(!IdCtx { min_id: 0, ..ctx() }.in_range(0));
        assert_eq!(c.user(&pw("Alice", 1001, 1001), "Alice").name, "alice");
        let g = c.group(&GroupEnt {
            name: "Staff".into(),
            gid: 1500,
            members: vec!["Bob".into(), "bob".into(), String::new()],
        });
        assert_eq!(
            (g.name.as_str(), g.members.clone()),
            ("staff", vec!["bob".to_string()])
        );
    }

    #[test]
    fn enumeration_prunes_what_is_gone() {
        let ops = ctx().enumeration(&[pw("a", 1001, 1001), pw("root", 0, 0)], &[], 100);
        assert_eq!(ops.len(), 3);
        assert_eq!(ops[1], CacheOp::PruneUsers(vec!["a".into()]));
        assert!(matches!(&ops[0], CacheOp::PutUser(u, 160) if u.name == "a"));
    }
}
