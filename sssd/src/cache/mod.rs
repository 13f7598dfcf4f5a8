//! The persistent per-domain cache (LMDB through heed).
//!
//! One environment per domain under `/var/lib/sss/db/<domain>/`. The backend of the domain is
//! the only writer; responders only read. Freshness stamps live apart from the records so that
//! refreshing an unchanged 5,000-member group rewrites a few bytes, not the group.
//!
//! API contract (implementations must keep these signatures):
//! - reads never see a half-written transaction;
//! - names are keys exactly as given (callers normalise case for case-insensitive domains).

use crate::model::{Cached, Group, User};
use std::path::Path;
use thiserror::Error;

/// Why a cache operation failed.
#[derive(Debug, Error)]
pub enum CacheError {
    /// LMDB reported an error.
    #[error("cache {path}: {source}")]
    Lmdb {
        /// The environment's directory.
        path: String,
        /// The underlying error.
        source: heed::Error,
    },
    /// A stored record could not be decoded.
    #[error("cache {path}: corrupt record {key:?}")]
    Corrupt {
        /// The environment's directory.
        path: String,
        /// The record's key.
        key: String,
    },
    /// The schema version on disk is not one this build understands.
    #[error("cache {path}: schema version {found}, expected {expected}")]
    Version {
        /// The environment's directory.
        path: String,
        /// Version found.
        found: u32,
        /// Version this build writes.
        expected: u32,
    },
    /// File system error creating the environment.
    #[error("cache {path}: {source}")]
    Io {
        /// The directory.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// A domain's cache.
pub struct Cache {
    _private: (),
}

impl Cache {
    /// Opens (creating if needed, directory mode 0700) the cache of `domain` under `db_dir`.
    pub fn open(db_dir: &Path, domain: &str) -> Result<Cache, CacheError> {
        let _ = (db_dir, domain);
        todo!("cache::open")
    }

    /// The user with login `name`.
    pub fn user_by_name(&self, name: &str) -> Result<Option<Cached<User>>, CacheError> {
        let _ = name;
        todo!()
    }

    /// The user with `uid`.
    pub fn user_by_uid(&self, uid: u32) -> Result<Option<Cached<User>>, CacheError> {
        let _ = uid;
        todo!()
    }

    /// The group named `name`.
    pub fn group_by_name(&self, name: &str) -> Result<Option<Cached<Group>>, CacheError> {
        let _ = name;
        todo!()
    }

    /// The group with `gid`.
    pub fn group_by_gid(&self, gid: u32) -> Result<Option<Cached<Group>>, CacheError> {
        let _ = gid;
        todo!()
    }

    /// The gids of the groups user `name` is a member of (not including the primary gid
    /// unless it is also an explicit membership), with the initgroups freshness stamps.
    pub fn initgroups(&self, name: &str) -> Result<Option<Cached<Vec<u32>>>, CacheError> {
        let _ = name;
        todo!()
    }

    /// Every cached user (for enumeration).
    pub fn all_users(&self) -> Result<Vec<User>, CacheError> {
        todo!()
    }

    /// Every cached group (for enumeration).
    pub fn all_groups(&self) -> Result<Vec<Group>, CacheError> {
        todo!()
    }

    /// Starts a write transaction. Nothing is visible to readers until `commit`.
    pub fn writer(&self) -> Result<Writer<'_>, CacheError> {
        todo!()
    }
}

/// A write transaction on a domain's cache.
pub struct Writer<'c> {
    _cache: &'c Cache,
}

impl Writer<'_> {
    /// Stores `user`, stamped fresh from `now` until `expire`. A user with the same name or
    /// uid that differs is replaced; an identical one only has its stamps updated.
    pub fn put_user(&mut self, user: &User, now: i64, expire: i64) -> Result<(), CacheError> {
        let _ = (user, now, expire);
        todo!()
    }

    /// Stores `group` likewise; an unchanged group's record is not rewritten.
    pub fn put_group(&mut self, group: &Group, now: i64, expire: i64) -> Result<(), CacheError> {
        let _ = (group, now, expire);
        todo!()
    }

    /// Records the gids of the groups user `name` belongs to.
    pub fn set_initgroups(
        &mut self,
        name: &str,
        gids: &[u32],
        now: i64,
        expire: i64,
    ) -> Result<(), CacheError> {
        let _ = (name, gids, now, expire);
        todo!()
    }

    /// Removes user `name` (and its initgroups record) if present.
    pub fn delete_user(&mut self, name: &str) -> Result<(), CacheError> {
        let _ = name;
        todo!()
    }

    /// Removes group `name` if present.
    pub fn delete_group(&mut self, name: &str) -> Result<(), CacheError> {
        let _ = name;
        todo!()
    }

    /// Makes every user, group and initgroups record expired (as `sss_cache -E`).
    pub fn expire_all(&mut self) -> Result<(), CacheError> {
        todo!()
    }

    /// Commits the transaction.
    pub fn commit(self) -> Result<(), CacheError> {
        todo!()
    }
}
