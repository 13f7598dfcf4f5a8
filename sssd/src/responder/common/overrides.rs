//! Local overrides applied where cache records become answers: [`OverrideSource`] wraps a
//! domain's [`DomainSource`], turns a query by an overridden name or id into the query for
//! the original object, and rewrites every record it returns with the override's values.
//! Everything above it (cache_req, the NSS replies, the memory cache, PAM) only ever sees
//! overridden records.

use super::source::{DomainSource, Query, Record, SourceError};
use crate::config::DomainOptions;
use crate::model::{Cached, Group, User};
use crate::overrides::{GroupOverride, OverrideSet, OverrideStore, UserOverride};
use crate::sbus::BoxFuture;
use std::sync::Arc;

use super::source::DpStatus;

/// A domain source with the local overrides of its domain applied.
pub struct OverrideSource {
    inner: Arc<dyn DomainSource>,
    store: Arc<OverrideStore>,
    domain: DomainOptions,
}

impl OverrideSource {
    /// `inner` (the source of `domain`) seen through `store`.
    pub fn new(
        inner: Arc<dyn DomainSource>,
        store: Arc<OverrideStore>,
        domain: DomainOptions,
    ) -> OverrideSource {
        OverrideSource {
            inner,
            store,
            domain,
        }
    }

    fn key(&self, n: &str) -> String {
        self.domain.lookup_key(n)
    }

    fn users<'a>(&'a self, set: &'a OverrideSet) -> impl Iterator<Item = &'a UserOverride> {
        set.users
            .iter()
            .filter(|u| u.domain.eq_ignore_ascii_case(&self.domain.name))
    }

    fn groups<'a>(&'a self, set: &'a OverrideSet) -> impl Iterator<Item = &'a GroupOverride> {
        set.groups
            .iter()
            .filter(|g| g.domain.eq_ignore_ascii_case(&self.domain.name))
    }

    fn user_by_new_name<'a>(&'a self, set: &'a OverrideSet, k: &str) -> Option<&'a UserOverride> {
        self.users(set)
            .find(|u| u.name.as_deref().is_some_and(|n| self.key(n) == k))
    }

    fn user_of<'a>(&'a self, set: &'a OverrideSet, name: &str) -> Option<&'a UserOverride> {
        let k = self.key(name);
        self.users(set).find(|u| self.key(&u.orig) == k)
    }

    fn group_of<'a>(&'a self, set: &'a OverrideSet, name: &str) -> Option<&'a GroupOverride> {
        let k = self.key(name);
        self.groups(set).find(|g| self.key(&g.orig) == k)
    }

    /// The query for the original object of `q`.
    fn translate(&self, set: &OverrideSet, q: &Query) -> Query {
        if set.is_empty() {
            return q.clone();
        }
        match q {
            Query::UserByName(k) => match self.user_by_new_name(set, k) {
                Some(u) => Query::UserByName(self.key(&u.orig)),
                None => q.clone(),
            },
            Query::Initgroups(k) => match self.user_by_new_name(set, k) {
                Some(u) => Query::Initgroups(self.key(&u.orig)),
                None => q.clone(),
            },
            Query::UserById(id) => match self.users(set).find(|u| u.uid == *id) {
                Some(u) => Query::UserByName(self.key(&u.orig)),
                None => q.clone(),
            },
            Query::GroupByName(k) => match self
                .groups(set)
                .find(|g| g.name.as_deref().is_some_and(|n| self.key(n) == *k))
            {
                Some(g) => Query::GroupByName(self.key(&g.orig)),
                None => q.clone(),
            },
            Query::GroupById(id) => match self.groups(set).find(|g| g.gid == *id) {
                Some(g) => Query::GroupByName(self.key(&g.orig)),
                None => q.clone(),
            },
            _ => q.clone(),
        }
    }

    fn user(&self, set: &OverrideSet, mut u: User) -> User {
        if let Some(o) = self.user_of(set, &u.name) {
            if let Some(n) = &o.name {
                u.name = self.key(n);
            }
            if o.uid != 0 {
                u.uid = o.uid;
            }
            if o.gid != 0 {
                u.gid = o.gid;
            }
            if let Some(g) = &o.gecos {
                u.gecos = g.clone();
            }
            if let Some(h) = &o.home {
                u.home = h.clone();
            }
            if let Some(s) = &o.shell {
                u.shell = s.clone();
            }
        }
        u
    }

    fn group(&self, set: &OverrideSet, mut g: Group) -> Group {
        if let Some(o) = self.group_of(set, &g.name) {
            if let Some(n) = &o.name {
                g.name = self.key(n);
            }
            if o.gid != 0 {
                g.gid = o.gid;
            }
        }
        // Renamed users' keys, built once per group rather than once per member.
        let renamed: std::collections::HashMap<String, String> = self
            .users(set)
            .filter_map(|o| Some((self.key(&o.orig), self.key(o.name.as_ref()?))))
            .collect();
        if !renamed.is_empty() {
            for m in &mut g.members {
                if let Some(n) = renamed.get(&self.key(m)) {
                    m.clone_from(n);
                }
            }
        }
        g
    }

    /// A user's gids with the overridden gids of their groups.
    fn gids(&self, set: &OverrideSet, mut gids: Vec<u32>) -> Result<Vec<u32>, SourceError> {
        for o in self.groups(set).filter(|o| o.gid != 0) {
            let q = Query::GroupByName(self.key(&o.orig));
            if let Some(Cached {
                value: Record::Group(g),
                ..
            }) = self.inner.read(&q)?
            {
                for x in gids.iter_mut().filter(|x| **x == g.gid) {
                    *x = o.gid;
                }
            }
        }
        Ok(gids)
    }

    fn record(&self, set: &OverrideSet, r: Record) -> Result<Record, SourceError> {
        Ok(match r {
            Record::User(u) => Record::User(self.user(set, u)),
            Record::Group(g) => Record::Group(self.group(set, g)),
            Record::Gids(g) => Record::Gids(self.gids(set, g)?),
            other => other,
        })
    }
}

impl DomainSource for OverrideSource {
    fn read(&self, q: &Query) -> Result<Option<Cached<Record>>, SourceError> {
        let set = self.store.current();
        let Some(c) = self.inner.read(&self.translate(&set, q))? else {
            return Ok(None);
        };
        if set.is_empty() {
            return Ok(Some(c));
        }
        // A user found by an id someone else's override took is not that id's owner.
        if let (Query::UserById(id), Record::User(u)) = (q, &c.value)
            && self
                .user_of(&set, &u.name)
                .is_some_and(|o| o.uid != 0 && o.uid != *id)
        {
            return Ok(None);
        }
        if let (Query::GroupById(id), Record::Group(g)) = (q, &c.value)
            && self
                .group_of(&set, &g.name)
                .is_some_and(|o| o.gid != 0 && o.gid != *id)
        {
            return Ok(None);
        }
        Ok(Some(Cached {
            value: self.record(&set, c.value)?,
            last_update: c.last_update,
            expire: c.expire,
        }))
    }

    fn all_users(&self) -> Result<Vec<User>, SourceError> {
        let set = self.store.current();
        let all = self.inner.all_users()?;
        if set.is_empty() {
            return Ok(all);
        }
        Ok(all.into_iter().map(|u| self.user(&set, u)).collect())
    }

    fn all_groups(&self) -> Result<Vec<Group>, SourceError> {
        let set = self.store.current();
        let all = self.inner.all_groups()?;
        if set.is_empty() {
            return Ok(all);
        }
        Ok(all.into_iter().map(|g| self.group(&set, g)).collect())
    }

    fn all_services(&self) -> Result<Vec<crate::cache::maps::Service>, SourceError> {
        self.inner.all_services()
    }

    fn all_hosts(&self) -> Result<Vec<crate::cache::maps::IpHost>, SourceError> {
        self.inner.all_hosts()
    }

    fn all_networks(&self) -> Result<Vec<crate::cache::maps::IpNetwork>, SourceError> {
        self.inner.all_networks()
    }

    fn refresh(&self, q: &Query) -> BoxFuture<DpStatus> {
        let set = self.store.current();
        self.inner.refresh(&self.translate(&set, q))
    }

    fn overrides(&self) -> Option<Arc<OverrideStore>> {
        Some(self.store.clone())
    }

    fn original_user_name(&self, name: &str) -> String {
        let set = self.store.current();
        match self.user_by_new_name(&set, &self.key(name)) {
            Some(u) => u.orig.clone(),
            None => self.inner.original_user_name(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::responder::common::fake::{FakeClock, FakeSource};

    fn user(name: &str, uid: u32) -> User {
        User {
            name: name.into(),
            uid,
            gid: 100,
            home: format!("/home/{name}"),
            shell: "/bin/sh".into(),
            ..User::default()
        }
    }

    #[test]
    fn queries_by_new_name_and_id_find_the_overridden_user() {
        let dir = tempfile::tempdir().unwrap();
        let paths = crate::paths::Paths::under(dir.path());
        std::fs::create_dir_all(&paths.db).unwrap();
        let fake = Arc::new(FakeSource::new(FakeClock::at(10), 100));
        fake.add_user(user("user1", 1001), 10, 1000);
        fake.add_user(user("user2", 1002), 10, 1000);
        fake.add_group(
            Group {
                name: "grp".into(),
                gid: 2000,
                members: vec!["user1".into()],
                ..Group::default()
            },
            10,
            1000,
        );
        let src = OverrideSource::new(
            fake,
            Arc::new(OverrideStore::new(&paths)),
            DomainOptions::defaults("LDAP", "ldap"),
        );
        let read = |q: Query| src.read(&q).unwrap().map(|c| c.value);
        assert!(read(Query::UserByName("newname".into())).is_none());
        let mut set = OverrideSet::default();
        set.put_user(UserOverride {
            orig: "user1".into(),
            domain: "ldap".into(),
            name: Some("newname".into()),
            uid: 5001,
            shell: Some("/bin/zsh".into()),
            ..UserOverride::default()
        });
        set.put_group(GroupOverride {
            orig: "grp".into(),
            domain: "LDAP".into(),
            name: Some("newgrp".into()),
            gid: 7000,
        });
        set.save(&paths).unwrap();
        let want = User {
            name: "newname".into(),
            uid: 5001,
            shell: "/bin/zsh".into(),
            ..user("user1", 1001)
        };
        for q in [
            Query::UserByName("newname".into()),
            Query::UserByName("user1".into()),
            Query::UserById(5001),
        ] {
            assert_eq!(read(q), Some(Record::User(want.clone())));
        }
        assert_eq!(read(Query::UserById(1001)), None);
        assert_eq!(
            read(Query::UserById(1002)),
            Some(Record::User(user("user2", 1002)))
        );
        let Some(Record::Group(g)) = read(Query::GroupById(7000)) else {
            panic!("no group");
        };
        assert_eq!(
            (g.name.as_str(), g.members),
            ("newgrp", vec!["newname".into()])
        );
        assert!(matches!(
            read(Query::GroupByName("newgrp".into())),
            Some(Record::Group(_))
        ));
        assert_eq!(src.original_user_name("newname"), "user1");
        assert_eq!(src.original_user_name("user2"), "user2");
    }
}
