//! The write transaction: storing, replacing and deleting records and their indexes.

use super::access::AccessRecord;
use super::codec::{self, Stamp, StampKind};
use super::creds::Credentials;
use super::env::{Db, Dbs};
use super::reader::Reader;
use super::{Cache, CacheError};
use crate::model::{Cached, Group, MemberChange, User, member_changes};
use heed::RwTxn;

/// A write transaction on a domain's cache. Dropping it without `commit` aborts it: none of
/// its changes become visible.
pub struct Writer<'c> {
    cache: &'c Cache,
    txn: RwTxn<'c>,
    records_written: u64,
}

/// What differs between users and groups in the index bookkeeping.
struct Kind {
    records: Db,
    index: Db,
    index_name: &'static str,
    stamp: StampKind,
}

impl Writer<'_> {
    /// Stores `user`, stamped fresh from `now` until `expire`. A user with the same name or
    /// uid that differs is replaced; an identical one only has its stamps updated.
    pub fn put_user(&mut self, user: &User, now: i64, expire: i64) -> Result<(), CacheError> {
        self.check_name("user", &user.name)?;
        let bytes = codec::encode_user(user);
        let kind = self.user_kind();
        // An unchanged record (the common refresh) keeps its aliases: no decode needed.
        if self.reader().raw(&kind.records, user.name.as_bytes())? == Some(bytes.as_slice()) {
            return self.put_record(&kind, &user.name, user.uid, &bytes, stamp(now, expire));
        }
        let old = self.readable_user(&user.name)?;
        self.put_record(&kind, &user.name, user.uid, &bytes, stamp(now, expire))?;
        self.reindex_aliases(&user.name, old.as_ref(), Some(user))
    }

    /// The stored user `name`, `None` if absent or unreadable (a corrupt record's aliases
    /// cannot be known; lookups by alias check the record they lead to).
    fn readable_user(&self, name: &str) -> Result<Option<User>, CacheError> {
        match self.reader().user(name) {
            Ok(u) => Ok(u),
            Err(CacheError::Corrupt { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Stores `group` likewise; an unchanged group's record is not rewritten.
    /// The users' cached initgroups records follow the group's member list: a user who
    /// joined gains its gid, one who left loses it (users without a record are untouched).
    pub fn put_group(&mut self, group: &Group, now: i64, expire: i64) -> Result<(), CacheError> {
        self.check_name("group", &group.name)?;
        let bytes = codec::encode_group(group);
        let kind = self.group_kind();
        let unchanged = self.reader().raw(&kind.records, group.name.as_bytes())? == Some(&bytes);
        let old = if unchanged {
            None
        } else {
            self.readable_group(&group.name)?
        };
        self.put_record(&kind, &group.name, group.gid, &bytes, stamp(now, expire))?;
        if unchanged {
            return Ok(());
        }
        self.follow_members(&member_changes(old.as_ref(), Some(group)))
    }

    /// The stored group `name`, `None` if absent or unreadable (a corrupt record is about
    /// to be replaced or removed; its members cannot be followed).
    fn readable_group(&self, name: &str) -> Result<Option<Group>, CacheError> {
        match self.group_by_name(name) {
            Ok(g) => Ok(g.map(|c| c.value)),
            Err(CacheError::Corrupt { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Applies membership changes to the users' cached initgroups records, keeping their
    /// stamps.
    fn follow_members(&mut self, changes: &[MemberChange<'_>]) -> Result<(), CacheError> {
        for c in changes {
            if !self.reader().storable(c.user) {
                continue;
            }
            let rec = match self.initgroups(c.user) {
                Ok(Some(rec)) => rec,
                // A corrupt list is left for the next initgroups refresh to replace.
                Ok(None) | Err(CacheError::Corrupt { .. }) => continue,
                Err(e) => return Err(e),
            };
            let mut gids = rec.value;
            let had = gids.contains(&c.gid);
            match (c.added, had) {
                (true, false) => gids.push(c.gid),
                (false, true) => gids.retain(|g| *g != c.gid),
                _ => continue,
            }
            self.set_initgroups(c.user, &gids, rec.last_update, rec.expire)?;
        }
        Ok(())
    }

    /// Records the gids of the groups user `name` belongs to.
    pub fn set_initgroups(
        &mut self,
        name: &str,
        gids: &[u32],
        now: i64,
        expire: i64,
    ) -> Result<(), CacheError> {
        self.check_name("initgroups user", name)?;
        let bytes = codec::encode_gids(gids);
        let db = self.dbs().initgroups;
        let same = self.reader().raw(&db, name.as_bytes())? == Some(bytes.as_slice());
        if !same {
            self.put(&db, name.as_bytes(), &bytes)?;
            self.records_written += 1;
        }
        self.put_stamp(StampKind::Initgroups, name, stamp(now, expire))
    }

    /// Removes user `name` (and its initgroups record) if present.
    pub fn delete_user(&mut self, name: &str) -> Result<(), CacheError> {
        if !self.reader().storable(name) {
            return Ok(());
        }
        let kind = self.user_kind();
        let old = self.readable_user(name)?;
        self.delete_record(&kind, name)?;
        self.reindex_aliases(name, old.as_ref(), None)?;
        let dbs = self.dbs();
        self.del(&dbs.initgroups, name.as_bytes())?;
        self.del(&dbs.credentials, name.as_bytes())?;
        self.del(&dbs.access, name.as_bytes())?;
        self.del(&dbs.ssh_keys, name.as_bytes())?;
        self.del(&dbs.stamps, &codec::stamp_key(StampKind::Initgroups, name))
    }

    /// Stores the cached credentials of user `name`.
    pub fn put_credentials(&mut self, name: &str, creds: &Credentials) -> Result<(), CacheError> {
        self.check_name("credentials user", name)?;
        let db = self.dbs().credentials;
        self.put(&db, name.as_bytes(), &creds.encode())
    }

    /// Removes the cached credentials of user `name`, if any.
    pub fn delete_credentials(&mut self, name: &str) -> Result<(), CacheError> {
        if !self.reader().storable(name) {
            return Ok(());
        }
        let db = self.dbs().credentials;
        self.del(&db, name.as_bytes())
    }

    /// Stores what the last online ldap access check of user `name` learned.
    pub fn put_access_record(&mut self, name: &str, rec: &AccessRecord) -> Result<(), CacheError> {
        self.check_name("access user", name)?;
        let db = self.dbs().access;
        self.put(&db, name.as_bytes(), &rec.encode())
    }

    /// The cached credentials of user `name` as this transaction sees them.
    pub fn credentials(&self, name: &str) -> Result<Option<Credentials>, CacheError> {
        self.reader().credentials(name)
    }

    /// Removes group `name` if present.
    pub fn delete_group(&mut self, name: &str) -> Result<(), CacheError> {
        if !self.reader().storable(name) {
            return Ok(());
        }
        let kind = self.group_kind();
        let old = self.readable_group(name)?;
        self.delete_record(&kind, name)?;
        self.follow_members(&member_changes(old.as_ref(), None))
    }

    /// Makes every user, group and initgroups record expired (as `sss_cache -E`).
    pub fn expire_all(&mut self) -> Result<(), CacheError> {
        let stamps = self.dbs().stamps;
        let mut changes = Vec::new();
        {
            let iter = stamps.iter(&self.txn).map_err(|e| self.lmdb(e))?;
            for item in iter {
                let (k, v) = item.map_err(|e| self.lmdb(e))?;
                match Stamp::decode(v) {
                    Some(s) if s.expire == 0 => {}
                    Some(s) => changes.push((k.to_vec(), Stamp { expire: 0, ..s })),
                    // An unreadable stamp becomes a valid, expired one.
                    None => changes.push((
                        k.to_vec(),
                        Stamp {
                            last_update: 0,
                            expire: 0,
                        },
                    )),
                }
            }
        }
        for (k, s) in changes {
            self.put(&stamps, &k, &s.encode())?;
        }
        Ok(())
    }

    /// Marks user `name` and its initgroups record expired (as `sss_cache -u`): the next
    /// lookup asks the backend again. Returns whether such a user is cached; the records
    /// themselves are untouched.
    pub fn expire_user(&mut self, name: &str) -> Result<bool, CacheError> {
        if !self.has_record(self.dbs().users, name)? {
            return Ok(false);
        }
        self.expire_stamp(&codec::stamp_key(StampKind::User, name))?;
        self.expire_stamp(&codec::stamp_key(StampKind::Initgroups, name))?;
        Ok(true)
    }

    /// Marks group `name` expired (as `sss_cache -g`), and the group lists (initgroups
    /// records) of its cached members: a member added or removed in the directory shows in
    /// `id` at the next lookup. Returns whether such a group is cached.
    pub fn expire_group(&mut self, name: &str) -> Result<bool, CacheError> {
        if !self.has_record(self.dbs().groups, name)? {
            return Ok(false);
        }
        self.expire_stamp(&codec::stamp_key(StampKind::Group, name))?;
        if let Some(g) = self.readable_group(name)? {
            for m in &g.members {
                if self.reader().storable(m) {
                    self.expire_stamp(&codec::stamp_key(StampKind::Initgroups, m))?;
                }
            }
        }
        Ok(true)
    }

    /// Marks every cached user and its initgroups record expired (as `sss_cache -U`);
    /// returns how many users there are.
    pub fn expire_all_users(&mut self) -> Result<usize, CacheError> {
        let names = self.record_keys(self.dbs().users)?;
        for name in &names {
            self.expire_stamp(&codec::stamp_key_bytes(StampKind::User, name))?;
            self.expire_stamp(&codec::stamp_key_bytes(StampKind::Initgroups, name))?;
        }
        Ok(names.len())
    }

    /// Marks every cached group expired (as `sss_cache -G`), and every user's group list
    /// (memberships are the groups' data); returns how many groups there are.
    pub fn expire_all_groups(&mut self) -> Result<usize, CacheError> {
        let names = self.record_keys(self.dbs().groups)?;
        for name in &names {
            self.expire_stamp(&codec::stamp_key_bytes(StampKind::Group, name))?;
        }
        for user in self.record_keys(self.dbs().initgroups)? {
            self.expire_stamp(&codec::stamp_key_bytes(StampKind::Initgroups, &user))?;
        }
        Ok(names.len())
    }

    /// Commits the transaction.
    pub fn commit(self) -> Result<(), CacheError> {
        let path = self.cache.shared.path.clone();
        self.txn
            .commit()
            .map_err(|source| CacheError::Lmdb { path, source })
    }

    /// The user `name` as this transaction sees it (its own writes included).
    pub fn user_by_name(&self, name: &str) -> Result<Option<Cached<User>>, CacheError> {
        self.reader().user_by_name(name)
    }

    /// The user with `uid` as this transaction sees it.
    pub fn user_by_uid(&self, uid: u32) -> Result<Option<Cached<User>>, CacheError> {
        self.reader().user_by_uid(uid)
    }

    /// The group `name` as this transaction sees it.
    pub fn group_by_name(&self, name: &str) -> Result<Option<Cached<Group>>, CacheError> {
        self.reader().group_by_name(name)
    }

    /// The group with `gid` as this transaction sees it.
    pub fn group_by_gid(&self, gid: u32) -> Result<Option<Cached<Group>>, CacheError> {
        self.reader().group_by_gid(gid)
    }

    /// The initgroups record of `name` as this transaction sees it.
    pub fn initgroups(&self, name: &str) -> Result<Option<Cached<Vec<u32>>>, CacheError> {
        self.reader().initgroups(name)
    }

    /// Every user as this transaction sees it.
    pub fn all_users(&self) -> Result<Vec<User>, CacheError> {
        self.reader().all_users()
    }

    /// Every group as this transaction sees it.
    pub fn all_groups(&self) -> Result<Vec<Group>, CacheError> {
        self.reader().all_groups()
    }

    /// How many user, group and initgroups records this transaction has (re)written; stamps
    /// and indexes are not counted. Storing an unchanged record does not count.
    pub fn records_written(&self) -> u64 {
        self.records_written
    }
}

impl<'c> Writer<'c> {
    /// The transaction and the cache, for the map modules that keep their own databases.
    pub(crate) fn parts(&mut self) -> (&mut heed::RwTxn<'c>, &'c Cache) {
        (&mut self.txn, self.cache)
    }

    /// Starts a write transaction on `cache`.
    pub(crate) fn new(cache: &'c Cache) -> Result<Writer<'c>, CacheError> {
        let txn = cache.shared.env().write_txn().map_err(|e| cache.lmdb(e))?;
        Ok(Writer {
            cache,
            txn,
            records_written: 0,
        })
    }

    /// Rejects names that cannot be keys, naming them.
    pub(super) fn check_name(&self, what: &str, name: &str) -> Result<(), CacheError> {
        if self.reader().storable(name) {
            return Ok(());
        }
        let shown: String = name.chars().take(40).collect();
        Err(CacheError::Invalid {
            path: self.cache.shared.path.clone(),
            reason: format!(
                "{what} name {shown:?} ({} bytes) is empty or longer than {} bytes",
                name.len(),
                self.cache.shared.max_name
            ),
        })
    }

    /// The write transaction (for reads that see this transaction's own writes).
    pub(super) fn txn(&self) -> &RwTxn<'_> {
        &self.txn
    }

    /// An LMDB error with this cache's path.
    pub(super) fn lmdb_error(&self, source: heed::Error) -> CacheError {
        self.cache.lmdb(source)
    }

    /// The environment this writer writes to.
    pub(super) fn shared(&self) -> &super::env::Shared {
        &self.cache.shared
    }

    /// The environment's directory, for error messages.
    pub(super) fn cache_path(&self) -> String {
        self.cache.shared.path.clone()
    }

    pub(super) fn dbs(&self) -> Dbs {
        self.cache.shared.dbs
    }

    pub(super) fn reader(&self) -> Reader<'_> {
        Reader::new(&self.txn, &self.cache.shared)
    }

    fn lmdb(&self, source: heed::Error) -> CacheError {
        self.cache.lmdb(source)
    }

    fn user_kind(&self) -> Kind {
        let d = self.dbs();
        Kind {
            records: d.users,
            index: d.uids,
            index_name: "uids",
            stamp: StampKind::User,
        }
    }

    fn group_kind(&self) -> Kind {
        let d = self.dbs();
        Kind {
            records: d.groups,
            index: d.gids,
            index_name: "gids",
            stamp: StampKind::Group,
        }
    }

    pub(super) fn put(&mut self, db: &Db, key: &[u8], value: &[u8]) -> Result<(), CacheError> {
        db.put(&mut self.txn, key, value).map_err(|e| self.lmdb(e))
    }

    pub(super) fn del(&mut self, db: &Db, key: &[u8]) -> Result<(), CacheError> {
        db.delete(&mut self.txn, key)
            .map(|_| ())
            .map_err(|e| self.lmdb(e))
    }

    fn put_stamp(&mut self, kind: StampKind, name: &str, s: Stamp) -> Result<(), CacheError> {
        let stamps = self.dbs().stamps;
        self.put(&stamps, &codec::stamp_key(kind, name), &s.encode())
    }

    /// The id a stored record of `kind` carries, `None` when absent or unreadable.
    fn stored_id(&self, kind: &Kind, name: &str) -> Result<Option<u32>, CacheError> {
        let Some(b) = self.reader().raw(&kind.records, name.as_bytes())? else {
            return Ok(None);
        };
        Ok(match kind.stamp {
            StampKind::Group => codec::decode_group(b).map(|g| g.gid),
            _ => codec::decode_user(b).map(|u| u.uid),
        })
    }

    /// Stores a user or group record `bytes` named `name` with id `id`, keeping the id index
    /// consistent and replacing another record that held the same id.
    fn put_record(
        &mut self,
        kind: &Kind,
        name: &str,
        id: u32,
        bytes: &[u8],
        s: Stamp,
    ) -> Result<(), CacheError> {
        let key = name.as_bytes();
        let index_key = codec::id_key(id);
        let same = self.reader().raw(&kind.records, key)? == Some(bytes);
        // An unchanged record (whose index entry is intact) only gets a new stamp.
        if same && self.reader().raw(&kind.index, &index_key)? == Some(key) {
            return self.put_stamp(kind.stamp, name, s);
        }
        // The name's previous id no longer leads to it.
        match self.stored_id(kind, name)? {
            Some(old) if old == id => {}
            Some(old) => self.unindex(kind, old, name)?,
            // Unreadable or absent: remove whatever index entries still lead to the name.
            None if self.reader().raw(&kind.records, key)?.is_some() => {
                self.unindex_all(kind, name)?
            }
            None => {}
        }
        // Another record holding the id is the same object under an older name: replace it.
        let holder = self.reader().index_name(&kind.index, kind.index_name, id)?;
        if let Some(other) = holder
            && other != name
            && self.stored_id(kind, &other)? == Some(id)
        {
            match kind.stamp {
                StampKind::Group => self.delete_group(&other)?,
                _ => self.delete_user(&other)?,
            }
        }
        self.put(&kind.records, key, bytes)?;
        self.records_written += 1;
        self.put(&kind.index, &index_key, key)?;
        self.put_stamp(kind.stamp, name, s)
    }

    /// Whether `db` holds a record under `name` (readable or not).
    fn has_record(&self, db: Db, name: &str) -> Result<bool, CacheError> {
        if !self.reader().storable(name) {
            return Ok(false);
        }
        Ok(self.reader().raw(&db, name.as_bytes())?.is_some())
    }

    /// The keys (names) of every record in `db`.
    fn record_keys(&self, db: Db) -> Result<Vec<Vec<u8>>, CacheError> {
        let mut out = Vec::new();
        for item in db.iter(&self.txn).map_err(|e| self.lmdb(e))? {
            let (k, _) = item.map_err(|e| self.lmdb(e))?;
            out.push(k.to_vec());
        }
        Ok(out)
    }

    /// Sets the expiry of the stamp under `key` to 0, keeping its last update. A missing
    /// stamp already reads as expired and is left missing; an unreadable one is replaced by
    /// a valid, expired one.
    fn expire_stamp(&mut self, key: &[u8]) -> Result<(), CacheError> {
        let stamps = self.dbs().stamps;
        let new = match self.reader().raw(&stamps, key)? {
            None => return Ok(()),
            Some(raw) => match Stamp::decode(raw) {
                Some(s) if s.expire == 0 => return Ok(()),
                Some(s) => Stamp { expire: 0, ..s },
                None => Stamp {
                    last_update: 0,
                    expire: 0,
                },
            },
        };
        self.put(&stamps, key, &new.encode())
    }

    /// Removes the index entry of `id` when it leads to `name`.
    fn unindex(&mut self, kind: &Kind, id: u32, name: &str) -> Result<(), CacheError> {
        let holder = self.reader().index_name(&kind.index, kind.index_name, id);
        // An unreadable index entry is dropped too.
        if holder.map_or(true, |h| h.as_deref() == Some(name)) {
            self.del(&kind.index, &codec::id_key(id))?;
        }
        Ok(())
    }

    /// Removes every index entry leading to `name` (when its record is unreadable).
    fn unindex_all(&mut self, kind: &Kind, name: &str) -> Result<(), CacheError> {
        let mut stale = Vec::new();
        {
            let iter = kind.index.iter(&self.txn).map_err(|e| self.lmdb(e))?;
            for item in iter {
                let (k, v) = item.map_err(|e| self.lmdb(e))?;
                if v == name.as_bytes() {
                    stale.push(k.to_vec());
                }
            }
        }
        for k in stale {
            self.del(&kind.index, &k)?;
        }
        Ok(())
    }

    /// Removes record `name` of `kind`, its index entry and its stamp.
    fn delete_record(&mut self, kind: &Kind, name: &str) -> Result<(), CacheError> {
        let key = name.as_bytes();
        if self.reader().raw(&kind.records, key)?.is_none() {
            return self.del(&self.dbs().stamps, &codec::stamp_key(kind.stamp, name));
        }
        match self.stored_id(kind, name)? {
            Some(id) => self.unindex(kind, id, name)?,
            None => self.unindex_all(kind, name)?,
        }
        self.del(&kind.records, key)?;
        let stamps = self.dbs().stamps;
        self.del(&stamps, &codec::stamp_key(kind.stamp, name))
    }
}

fn stamp(now: i64, expire: i64) -> Stamp {
    Stamp {
        last_update: now,
        expire,
    }
}
