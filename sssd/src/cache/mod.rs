//! The persistent per-domain cache (LMDB through heed).
//!
//! One environment per domain under `<db_dir>/cache_<domain>/` (e.g.
//! `/var/lib/sss/db/cache_example.com/`). The backend of the domain is
//! the only writer; responders only read. Freshness stamps live apart from the records so that
//! refreshing an unchanged 5,000-member group rewrites a few bytes, not the group.
//!
//! API contract (implementations must keep these signatures):
//! - reads never see a half-written transaction;
//! - names are keys exactly as given (callers normalise case for case-insensitive domains);
//! - every call is blocking but short (one LMDB transaction, µs for a lookup); `open` and
//!   commits touch the disk, so async code runs them in `spawn_blocking`;
//! - a user or group stored with the id of another name replaces that other entry (a rename);
//! - opening the same cache again in a process returns a handle on the same environment;
//!   several processes may open it at once (LMDB locking): one writer, many readers.
//!
//! Layout: named databases `users` (name -> record), `uids` (uid -> name), `groups`,
//! `gids`, `initgroups` (user name -> gids), `stamps` (`u:`/`g:`/`i:` + name -> last update
//! and expiry), `meta` (schema version; an AD domain's learned flat name, see `domain_info`), `credentials` (user name -> cached password
//! hash and offline-login counters) and `access` (user name -> what the last online ldap
//! access check learned); the last two are read only by the backend. `ssh_keys` (user
//! name -> SSH public keys, see `ssh`) is read by the ssh responder. `user_aliases` leads a
//! user's e-mail addresses and principal to its name (see `aliases`). Records use the
//! hand-written codec in `codec`.

mod access;
mod aliases;
mod autofs;
mod codec;
mod creds;
mod domain_info;
mod env;
mod expiring;
pub mod fuzzing;
pub mod maps;
mod netgroups;
mod reader;
pub mod ssh;
mod sudo;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_scale;
mod writer;

use crate::model::{Cached, Group, User};
use std::path::Path;
use std::sync::Arc;
use thiserror::Error;

pub use access::{AccessAttr, AccessRecord};
pub use autofs::{AutofsMap, AutofsOp, CachedMap};
pub use creds::Credentials;
pub use domain_info::{load_learned_flat_names, valid_flat_name};
pub use env::SCHEMA_VERSION;
pub use expiring::RefreshKind;
pub use netgroups::{Netgroup, NetgroupOp, NetgroupTriple};
pub use sudo::{SudoMeta, SudoRuleRecord, SudoWriter};
pub use writer::Writer;

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
    /// A value the cache cannot store (e.g. an empty or over-long name).
    #[error("cache {path}: {reason}")]
    Invalid {
        /// The environment's directory.
        path: String,
        /// What is wrong, naming the value.
        reason: String,
    },
}

/// A domain's cache. Cheap to clone; clones share one LMDB environment.
#[derive(Clone)]
pub struct Cache {
    shared: Arc<env::Shared>,
}

impl Cache {
    /// Opens (creating if needed, directory mode 0700) the cache of `domain` under `db_dir`.
    ///
    /// Fails with [`CacheError::Version`] when the cache was written with another schema.
    pub fn open(db_dir: &Path, domain: &str) -> Result<Cache, CacheError> {
        Ok(Cache {
            shared: env::open_shared(db_dir, domain)?,
        })
    }

    /// Opens the cache of `domain` under `db_dir` only if it was created before (by the
    /// backend): `Ok(None)` when there is none, and nothing is created. For tools that
    /// must not leave empty caches behind (`sss_cache`).
    pub fn open_existing(db_dir: &Path, domain: &str) -> Result<Option<Cache>, CacheError> {
        if !env::env_dir(db_dir, domain).join("data.mdb").is_file() {
            return Ok(None);
        }
        Cache::open(db_dir, domain).map(Some)
    }

    /// The directory of this cache's environment.
    pub fn path(&self) -> &str {
        &self.shared.path
    }

    /// The user with login `name`.
    pub fn user_by_name(&self, name: &str) -> Result<Option<Cached<User>>, CacheError> {
        self.read(|r| r.user_by_name(name))
    }

    /// The one user whose e-mail address or principal is `alias` (without regard to case);
    /// `None` when no cached user has it, or several do.
    pub fn user_by_alias(&self, alias: &str) -> Result<Option<Cached<User>>, CacheError> {
        let mut found = self.read(|r| r.users_by_alias(alias))?;
        if found.len() > 1 {
            tracing::warn!(
                "{} cached users have the e-mail address or principal {alias:?}: none returned",
                found.len()
            );
            return Ok(None);
        }
        Ok(found.pop())
    }

    /// The user with `uid`.
    pub fn user_by_uid(&self, uid: u32) -> Result<Option<Cached<User>>, CacheError> {
        self.read(|r| r.user_by_uid(uid))
    }

    /// The group named `name`.
    pub fn group_by_name(&self, name: &str) -> Result<Option<Cached<Group>>, CacheError> {
        self.read(|r| r.group_by_name(name))
    }

    /// The group with `gid`.
    pub fn group_by_gid(&self, gid: u32) -> Result<Option<Cached<Group>>, CacheError> {
        self.read(|r| r.group_by_gid(gid))
    }

    /// The gids of those of the groups `names` that are cached, in one transaction and
    /// without decoding their members (e.g. to resolve `filter_groups` to gids).
    pub fn group_gids(&self, names: &[String]) -> Result<Vec<u32>, CacheError> {
        self.read(|r| {
            let mut out = Vec::with_capacity(names.len());
            for n in names {
                out.extend(r.group_gid(n)?);
            }
            Ok(out)
        })
    }

    /// The gids of the groups user `name` is a member of (not including the primary gid
    /// unless it is also an explicit membership), with the initgroups freshness stamps.
    pub fn initgroups(&self, name: &str) -> Result<Option<Cached<Vec<u32>>>, CacheError> {
        self.read(|r| r.initgroups(name))
    }

    /// The cached credentials of user `name` (backend only: never exposed through NSS).
    pub fn credentials(&self, name: &str) -> Result<Option<Credentials>, CacheError> {
        self.read(|r| r.credentials(name))
    }

    /// What the last online ldap access check of user `name` learned (backend only).
    pub fn access_record(&self, name: &str) -> Result<Option<AccessRecord>, CacheError> {
        self.read(|r| r.access_record(name))
    }

    /// Every cached user (for enumeration).
    pub fn all_users(&self) -> Result<Vec<User>, CacheError> {
        self.read(|r| r.all_users())
    }

    /// Every cached group (for enumeration).
    pub fn all_groups(&self) -> Result<Vec<Group>, CacheError> {
        self.read(|r| r.all_groups())
    }

    /// Starts a write transaction. Nothing is visible to readers until `commit`.
    pub fn writer(&self) -> Result<Writer<'_>, CacheError> {
        Writer::new(self)
    }

    /// Runs `f` inside one short read transaction.
    fn read<T>(
        &self,
        f: impl FnOnce(&reader::Reader<'_>) -> Result<T, CacheError>,
    ) -> Result<T, CacheError> {
        let txn = self.shared.env().read_txn().map_err(|e| self.lmdb(e))?;
        f(&reader::Reader::new(&txn, &self.shared))
    }

    /// Wraps an LMDB error with this cache's path.
    fn lmdb(&self, source: heed::Error) -> CacheError {
        CacheError::Lmdb {
            path: self.shared.path.clone(),
            source,
        }
    }
}
