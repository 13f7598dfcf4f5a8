//! Lookups inside one transaction (a read transaction, or the writer's own).

use super::CacheError;
use super::access::AccessRecord;
use super::codec::{self, Stamp, StampKind};
use super::creds::Credentials;
use super::env::{Db, Dbs, Shared};
use crate::model::{Cached, Group, User};
use heed::RoTxn;

/// Typed lookups over the databases of one environment within one transaction.
pub(crate) struct Reader<'a> {
    txn: &'a RoTxn<'a>,
    dbs: &'a Dbs,
    shared: &'a Shared,
    path: &'a str,
    max_name: usize,
}

impl<'a> Reader<'a> {
    /// A reader over the databases of `shared` inside `txn`.
    pub(crate) fn new(txn: &'a RoTxn<'a>, shared: &'a Shared) -> Self {
        Reader {
            txn,
            dbs: &shared.dbs,
            shared,
            path: &shared.path,
            max_name: shared.max_name,
        }
    }

    /// The transaction this reader reads in.
    pub(super) fn txn(&self) -> &'a RoTxn<'a> {
        self.txn
    }

    /// The databases this reader reads.
    pub(super) fn dbs(&self) -> &Dbs {
        self.dbs
    }

    /// The extra database `name` (see `env::EXTRA_DBS`), if open.
    pub(super) fn extra(&self, name: &str) -> Option<Db> {
        self.shared.extra.get(name).copied()
    }

    /// The environment's directory, for error messages.
    pub(super) fn path(&self) -> &str {
        self.path
    }

    /// An LMDB error with this environment's path.
    pub(super) fn lmdb_error(&self, source: heed::Error) -> CacheError {
        self.lmdb(source)
    }

    /// Whether `name` can be a key at all (non-empty and short enough for LMDB).
    pub(crate) fn storable(&self, name: &str) -> bool {
        !name.is_empty() && name.len() <= self.max_name
    }

    fn lmdb(&self, source: heed::Error) -> CacheError {
        CacheError::Lmdb {
            path: self.path.to_owned(),
            source,
        }
    }

    /// A corruption error for `key` in database `db`.
    pub(crate) fn corrupt(&self, db: &str, key: &[u8]) -> CacheError {
        CacheError::Corrupt {
            path: self.path.to_owned(),
            key: format!("{db}:{}", String::from_utf8_lossy(key)),
        }
    }

    /// The raw value of `key` in `db`.
    pub(crate) fn raw(&self, db: &Db, key: &[u8]) -> Result<Option<&'a [u8]>, CacheError> {
        db.get(self.txn, key).map_err(|e| self.lmdb(e))
    }

    /// The stamp of a record; a missing stamp reads as expired.
    pub(crate) fn stamp(&self, kind: StampKind, name: &str) -> Result<Stamp, CacheError> {
        let key = codec::stamp_key(kind, name);
        match self.raw(&self.dbs.stamps, &key)? {
            None => Ok(Stamp {
                last_update: 0,
                expire: 0,
            }),
            Some(b) => Stamp::decode(b).ok_or_else(|| self.corrupt("stamps", &key)),
        }
    }

    /// The name an id index maps `id` to.
    pub(crate) fn index_name(
        &self,
        db: &Db,
        what: &str,
        id: u32,
    ) -> Result<Option<String>, CacheError> {
        let key = codec::id_key(id);
        match self.raw(db, &key)? {
            None => Ok(None),
            Some(b) => std::str::from_utf8(b)
                .map(|s| Some(s.to_owned()))
                .map_err(|_| CacheError::Corrupt {
                    path: self.path.to_owned(),
                    key: format!("{what}:{id}"),
                }),
        }
    }

    /// The stored user record `name`, without stamps.
    pub(crate) fn user(&self, name: &str) -> Result<Option<User>, CacheError> {
        if !self.storable(name) {
            return Ok(None);
        }
        let Some(b) = self.raw(&self.dbs.users, name.as_bytes())? else {
            return Ok(None);
        };
        match codec::decode_user(b) {
            Some(u) if u.name == name => Ok(Some(u)),
            _ => Err(self.corrupt("users", name.as_bytes())),
        }
    }

    /// The stored group record `name`, without stamps.
    pub(crate) fn group(&self, name: &str) -> Result<Option<Group>, CacheError> {
        if !self.storable(name) {
            return Ok(None);
        }
        let Some(b) = self.raw(&self.dbs.groups, name.as_bytes())? else {
            return Ok(None);
        };
        match codec::decode_group(b) {
            Some(g) if g.name == name => Ok(Some(g)),
            _ => Err(self.corrupt("groups", name.as_bytes())),
        }
    }

    /// The gid of the stored group record `name`, decoding only the record's head.
    pub(crate) fn group_gid(&self, name: &str) -> Result<Option<u32>, CacheError> {
        if !self.storable(name) {
            return Ok(None);
        }
        let Some(b) = self.raw(&self.dbs.groups, name.as_bytes())? else {
            return Ok(None);
        };
        match codec::decode_group_head(b) {
            Some((n, gid)) if n == name => Ok(Some(gid)),
            _ => Err(self.corrupt("groups", name.as_bytes())),
        }
    }

    fn with_stamp<T>(
        &self,
        kind: StampKind,
        name: &str,
        value: T,
    ) -> Result<Cached<T>, CacheError> {
        let s = self.stamp(kind, name)?;
        Ok(Cached {
            value,
            last_update: s.last_update,
            expire: s.expire,
        })
    }

    /// The user `name` with its stamps.
    pub(crate) fn user_by_name(&self, name: &str) -> Result<Option<Cached<User>>, CacheError> {
        match self.user(name)? {
            None => Ok(None),
            Some(u) => self.with_stamp(StampKind::User, name, u).map(Some),
        }
    }

    /// The user with `uid` with its stamps.
    pub(crate) fn user_by_uid(&self, uid: u32) -> Result<Option<Cached<User>>, CacheError> {
        let Some(name) = self.index_name(&self.dbs.uids, "uids", uid)? else {
            return Ok(None);
        };
        match self.user_by_name(&name)? {
            Some(c) if c.value.uid == uid => Ok(Some(c)),
            _ => Ok(None),
        }
    }

    /// The group `name` with its stamps.
    pub(crate) fn group_by_name(&self, name: &str) -> Result<Option<Cached<Group>>, CacheError> {
        match self.group(name)? {
            None => Ok(None),
            Some(g) => self.with_stamp(StampKind::Group, name, g).map(Some),
        }
    }

    /// The group with `gid` with its stamps.
    pub(crate) fn group_by_gid(&self, gid: u32) -> Result<Option<Cached<Group>>, CacheError> {
        let Some(name) = self.index_name(&self.dbs.gids, "gids", gid)? else {
            return Ok(None);
        };
        match self.group_by_name(&name)? {
            Some(c) if c.value.gid == gid => Ok(Some(c)),
            _ => Ok(None),
        }
    }

    /// The initgroups record of user `name` with its stamps.
    pub(crate) fn initgroups(&self, name: &str) -> Result<Option<Cached<Vec<u32>>>, CacheError> {
        if !self.storable(name) {
            return Ok(None);
        }
        let Some(b) = self.raw(&self.dbs.initgroups, name.as_bytes())? else {
            return Ok(None);
        };
        let gids =
            codec::decode_gids(b).ok_or_else(|| self.corrupt("initgroups", name.as_bytes()))?;
        self.with_stamp(StampKind::Initgroups, name, gids).map(Some)
    }

    /// Every user record, in name order.
    pub(crate) fn all_users(&self) -> Result<Vec<User>, CacheError> {
        let mut out = Vec::new();
        for item in self.dbs.users.iter(self.txn).map_err(|e| self.lmdb(e))? {
            let (k, v) = item.map_err(|e| self.lmdb(e))?;
            match codec::decode_user(v) {
                Some(u) if u.name.as_bytes() == k => out.push(u),
                _ => return Err(self.corrupt("users", k)),
            }
        }
        Ok(out)
    }

    /// Every group record, in name order.
    pub(crate) fn all_groups(&self) -> Result<Vec<Group>, CacheError> {
        let mut out = Vec::new();
        for item in self.dbs.groups.iter(self.txn).map_err(|e| self.lmdb(e))? {
            let (k, v) = item.map_err(|e| self.lmdb(e))?;
            match codec::decode_group(v) {
                Some(g) if g.name.as_bytes() == k => out.push(g),
                _ => return Err(self.corrupt("groups", k)),
            }
        }
        Ok(out)
    }

    /// The cached credentials of user `name`.
    pub(crate) fn credentials(&self, name: &str) -> Result<Option<Credentials>, CacheError> {
        self.user_side_record(
            &self.dbs.credentials,
            "credentials",
            name,
            Credentials::decode,
        )
    }

    /// What the last online ldap access check of user `name` learned.
    pub(crate) fn access_record(&self, name: &str) -> Result<Option<AccessRecord>, CacheError> {
        self.user_side_record(&self.dbs.access, "access", name, AccessRecord::decode)
    }

    /// The record of user `name` in `db` (a table keyed by user name, such as
    /// `credentials`), decoded; one that does not decode is reported as corrupt.
    pub(super) fn user_side_record<T>(
        &self,
        db: &Db,
        table: &str,
        name: &str,
        decode: fn(&[u8]) -> Option<T>,
    ) -> Result<Option<T>, CacheError> {
        if !self.storable(name) {
            return Ok(None);
        }
        match self.raw(db, name.as_bytes())? {
            None => Ok(None),
            Some(raw) => decode(raw)
                .map(Some)
                .ok_or_else(|| self.corrupt(table, name.as_bytes())),
        }
    }
}
