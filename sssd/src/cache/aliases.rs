//! The user alias index: a user's e-mail addresses (`ldap_user_email`) and Kerberos
//! principal lead to its name, so that a user can be looked up by either (SSSD's lookup "by
//! UPN"). Keys are the lowercased alias, a NUL byte and the user name; values are empty. An
//! alias held by several users keeps one key per user, so the ambiguity stays visible.

use super::CacheError;
use super::env::Db;
use super::reader::Reader;
use super::writer::Writer;
use crate::model::{Cached, User};

/// The name of the index database (one of the environment's extra databases).
pub(crate) const DB: &str = "user_aliases";

/// The aliases of `user`, lowercased, without duplicates.
fn aliases_of(user: &User) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for a in user.upn.iter().chain(&user.emails) {
        let a = a.to_lowercase();
        if !a.is_empty() && !out.contains(&a) {
            out.push(a);
        }
    }
    out
}

/// The key prefix of every entry for `alias` (already lowercased).
fn prefix(alias: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(alias.len() + 1);
    k.extend_from_slice(alias.as_bytes());
    k.push(0);
    k
}

fn key(alias: &str, name: &str) -> Vec<u8> {
    let mut k = prefix(alias);
    k.extend_from_slice(name.as_bytes());
    k
}

fn not_open(path: &str) -> CacheError {
    CacheError::Invalid {
        path: path.to_owned(),
        reason: format!("database {DB:?} is not open"),
    }
}

impl Writer<'_> {
    fn aliases_db(&self) -> Result<Db, CacheError> {
        self.shared()
            .extra
            .get(DB)
            .copied()
            .ok_or_else(|| not_open(&self.shared().path))
    }

    /// Moves the index entries of user `name` from the aliases of `old` (its record before
    /// this write, if any) to those of `new` (`None`: the user is being removed). Aliases too
    /// long to be a key are not indexed.
    pub(super) fn reindex_aliases(
        &mut self,
        name: &str,
        old: Option<&User>,
        new: Option<&User>,
    ) -> Result<(), CacheError> {
        let before = old.map(aliases_of).unwrap_or_default();
        let after = new.map(aliases_of).unwrap_or_default();
        if before == after {
            return Ok(());
        }
        let db = self.aliases_db()?;
        let max = self.shared().max_name;
        for a in before.iter().filter(|a| !after.contains(a)) {
            let k = key(a, name);
            if k.len() <= max {
                self.del(&db, &k)?;
            }
        }
        for a in after.iter().filter(|a| !before.contains(a)) {
            let k = key(a, name);
            if k.len() <= max {
                self.put(&db, &k, &[])?;
            }
        }
        Ok(())
    }
}

impl Writer<'_> {
    /// Removes the index entries of `alias` that lead to users not named in `keep`.
    pub fn forget_alias(&mut self, alias: &str, keep: &[String]) -> Result<(), CacheError> {
        let db = self.aliases_db()?;
        let p = prefix(&alias.to_lowercase());
        let mut stale = Vec::new();
        {
            let iter = db
                .prefix_iter(self.txn(), &p)
                .map_err(|e| self.lmdb_error(e))?;
            for item in iter {
                let (k, _) = item.map_err(|e| self.lmdb_error(e))?;
                if !keep.iter().any(|n| n.as_bytes() == &k[p.len()..]) {
                    stale.push(k.to_vec());
                }
            }
        }
        for k in stale {
            self.del(&db, &k)?;
        }
        Ok(())
    }
}

impl Reader<'_> {
    /// The cached users whose e-mail address or principal is `alias` (compared without
    /// regard to case), with their stamps. Index entries whose user is gone or no longer
    /// carries the alias are skipped.
    pub(crate) fn users_by_alias(&self, alias: &str) -> Result<Vec<Cached<User>>, CacheError> {
        let Some(db) = self.extra(DB) else {
            return Err(not_open(self.path()));
        };
        let alias = alias.to_lowercase();
        let p = prefix(&alias);
        let mut names = Vec::new();
        let iter = db
            .prefix_iter(self.txn(), &p)
            .map_err(|e| self.lmdb_error(e))?;
        for item in iter {
            let (k, _) = item.map_err(|e| self.lmdb_error(e))?;
            let name = std::str::from_utf8(&k[p.len()..])
                .map_err(|_| self.corrupt(DB, k))?
                .to_owned();
            names.push(name);
        }
        let mut out = Vec::new();
        for name in names {
            if let Some(c) = self.user_by_name(&name)?
                && aliases_of(&c.value).contains(&alias)
            {
                out.push(c);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_are_lowercased_and_deduplicated() {
        let u = User {
            name: "alice".into(),
            upn: Some("alice@EXAMPLE.COM".into()),
            emails: vec![
                "Alice@Example.com".into(),
                "alice@example.com".into(),
                "al@example.org".into(),
            ],
            ..User::default()
        };
        assert_eq!(
            aliases_of(&u),
            ["alice@example.com", "al@example.org"].map(String::from)
        );
        assert!(aliases_of(&User::default()).is_empty());
    }

    fn with_mail(name: &str, uid: u32, mails: &[&str]) -> User {
        User {
            name: name.into(),
            uid,
            gid: uid,
            emails: mails.iter().map(|m| (*m).to_string()).collect(),
            ..User::default()
        }
    }

    fn names(cache: &crate::cache::Cache, alias: &str) -> Vec<String> {
        cache
            .read(|r| r.users_by_alias(alias))
            .unwrap()
            .into_iter()
            .map(|c| c.value.name)
            .collect()
    }

    fn write(cache: &crate::cache::Cache, f: impl FnOnce(&mut Writer<'_>)) {
        let mut w = cache.writer().unwrap();
        f(&mut w);
        w.commit().unwrap();
    }

    #[test]
    fn the_index_follows_stores_renames_and_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let cache = crate::cache::Cache::open(dir.path(), "example.com").unwrap();
        let mut alice = with_mail("alice", 1001, &["Alice@Example.COM"]);
        alice.upn = Some("alice@EXAMPLE.COM".into());
        write(&cache, |w| w.put_user(&alice, 1, 100).unwrap());
        assert_eq!(names(&cache, "alice@example.com"), ["alice"]);
        let found = cache.user_by_alias("ALICE@example.com").unwrap().unwrap();
        assert_eq!((found.value.name.as_str(), found.expire), ("alice", 100));
        // A new address replaces the old one.
        let moved = with_mail("alice", 1001, &["liddell@example.org"]);
        write(&cache, |w| w.put_user(&moved, 2, 100).unwrap());
        assert!(names(&cache, "alice@example.com").is_empty());
        assert_eq!(names(&cache, "liddell@example.org"), ["alice"]);
        // A rename (same uid, new name) moves the alias to the new name.
        let renamed = with_mail("alice2", 1001, &["liddell@example.org"]);
        write(&cache, |w| w.put_user(&renamed, 3, 100).unwrap());
        assert_eq!(names(&cache, "liddell@example.org"), ["alice2"]);
        // Shared by two users: ambiguous, so no user.
        let bob = with_mail("bob", 1002, &["liddell@example.org"]);
        write(&cache, |w| w.put_user(&bob, 3, 100).unwrap());
        assert_eq!(names(&cache, "liddell@example.org"), ["alice2", "bob"]);
        assert!(
            cache
                .user_by_alias("liddell@example.org")
                .unwrap()
                .is_none()
        );
        // The directory says only bob has it now.
        write(&cache, |w| {
            w.forget_alias("Liddell@example.org", &["bob".into()])
                .unwrap()
        });
        assert_eq!(
            cache
                .user_by_alias("liddell@example.org")
                .unwrap()
                .unwrap()
                .value
                .name,
            "bob"
        );
        write(&cache, |w| w.delete_user("bob").unwrap());
        assert!(names(&cache, "liddell@example.org").is_empty());
    }

    #[test]
    fn keys_separate_alias_and_name() {
        assert_eq!(key("a@b", "alice"), b"a@b\0alice");
        assert!(key("a@b", "alice").starts_with(&prefix("a@b")));
        assert!(!key("a@bc", "alice").starts_with(&prefix("a@b")));
    }
}
