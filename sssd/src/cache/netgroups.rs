//! Netgroups in the domain cache: their own named database `netgroups` (name -> record with
//! its freshness stamps), written by the backend and read by the NSS responder.
//!
//! A record keeps what SSSD's sysdb keeps for an LDAP netgroup: the `(host,user,domain)`
//! triples (already split; malformed ones were dropped by the backend) and the names of the
//! member netgroups, unexpanded: as with SSSD, the client (glibc) expands nested netgroups by
//! asking for each member in turn, and it keeps the list of names seen, so cycles end there.
//!
//! The database is created on the first write; until then every lookup finds nothing. Its
//! handle is opened once per environment (heed opens databases only in a transaction of
//! their own, so the write path opens it before its write transaction starts).

use super::env::{Db, Shared};
use super::{Cache, CacheError};
use crate::model::Cached;
use heed::CommitOrAbort;
use heed::types::Bytes;
use std::sync::{Arc, LazyLock, Mutex, Weak};

/// Name of the named database.
const DB_NAME: &str = "netgroups";

/// Format version of an encoded record.
const VERSION: u8 = 1;

/// One `(host,user,domain)` triple; an empty or absent part is `None` (a wildcard).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetgroupTriple {
    /// Host part.
    pub host: Option<String>,
    /// User part.
    pub user: Option<String>,
    /// Domain part.
    pub domain: Option<String>,
}

impl NetgroupTriple {
    /// Parses an `nisNetgroupTriple` value `(host,user,domain)` as SSSD does: white space
    /// around the parts and the parentheses is ignored, an empty part is `None`, anything
    /// after the closing parenthesis, a missing comma or parenthesis makes it invalid.
    pub fn parse(v: &str) -> Option<NetgroupTriple> {
        let rest = v.trim_start().strip_prefix('(')?;
        let (host, rest) = rest.split_once(',')?;
        let (user, rest) = rest.split_once(',')?;
        let (domain, rest) = rest.split_once(')')?;
        if !rest.trim().is_empty() {
            return None;
        }
        let part = |s: &str| {
            let t = s.trim();
            (!t.is_empty()).then(|| t.to_string())
        };
        Some(NetgroupTriple {
            host: part(host),
            user: part(user),
            domain: part(domain),
        })
    }
}

/// A netgroup as the cache stores it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Netgroup {
    /// Name, as the cache keys it (lowercased in case-insensitive domains).
    pub name: String,
    /// Triples, in directory order.
    pub triples: Vec<NetgroupTriple>,
    /// Names of member netgroups, in directory order, without duplicates.
    pub members: Vec<String>,
    /// DN of the entry in the directory.
    pub dn: String,
    /// `modifyTimestamp` of the entry, when the server sends it.
    pub modify_timestamp: Option<String>,
}

/// One change to the cached netgroups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetgroupOp {
    /// Store a netgroup fresh until the given expiry.
    Put(Netgroup, i64),
    /// Remove the netgroup with this name (the directory has none).
    Delete(String),
}

/// Database handles by environment: a handle belongs to one open environment, so it is
/// kept with a weak reference to it and dropped when that environment is gone.
type Handles = Mutex<Vec<(Weak<Shared>, Db)>>;

/// See [`Handles`].
static HANDLES: LazyLock<Handles> = LazyLock::new(|| Mutex::new(Vec::new()));

/// The `netgroups` database of `cache`: opened if it exists, or (with `create`) created.
/// `Ok(None)`: it does not exist yet. Must not be called while this thread holds a write
/// transaction on the environment.
fn handle(cache: &Cache, create: bool) -> Result<Option<Db>, CacheError> {
    let shared = &cache.shared;
    let mut handles = HANDLES.lock().unwrap_or_else(|p| p.into_inner());
    handles.retain(|(w, _)| w.strong_count() > 0);
    if let Some((_, db)) = handles
        .iter()
        .find(|(w, _)| w.upgrade().is_some_and(|s| Arc::ptr_eq(&s, shared)))
    {
        return Ok(Some(*db));
    }
    let env = shared.env();
    let lmdb = |source| cache.lmdb(source);
    let db = if create {
        let wtxn = env.write_txn().map_err(lmdb)?;
        env.create_databases_and_commit(wtxn, |dbo, wtxn| {
            dbo.create_database::<Bytes, Bytes>(wtxn, Some(DB_NAME))
                .map(CommitOrAbort::<_, ()>::Commit)
        })
        .map_err(lmdb)?
        .commit()
    } else {
        let rtxn = env.read_txn().map_err(lmdb)?;
        env.open_databases_and_commit(rtxn, |dbo, rtxn| {
            Ok(
                match dbo.open_database::<Bytes, Bytes>(rtxn, Some(DB_NAME))? {
                    Some(db) => CommitOrAbort::Commit(db),
                    None => CommitOrAbort::Abort(()),
                },
            )
        })
        .map_err(lmdb)?
        .commit()
    };
    if let Some(db) = db {
        handles.push((Arc::downgrade(shared), db));
    }
    Ok(db)
}

impl Cache {
    /// The cached netgroup `name`, with its freshness stamps.
    pub fn netgroup(&self, name: &str) -> Result<Option<Cached<Netgroup>>, CacheError> {
        if name.is_empty() || name.len() > self.shared.max_name {
            return Ok(None);
        }
        let Some(db) = handle(self, false)? else {
            return Ok(None);
        };
        let txn = self.shared.env().read_txn().map_err(|e| self.lmdb(e))?;
        let raw = db.get(&txn, name.as_bytes()).map_err(|e| self.lmdb(e))?;
        match raw {
            None => Ok(None),
            Some(raw) => decode(raw).map(Some).ok_or_else(|| CacheError::Corrupt {
                path: self.shared.path.clone(),
                key: format!("{DB_NAME}:{name}"),
            }),
        }
    }

    /// The names of the cached netgroups whose expiry is at or before `by`, in name order.
    pub(super) fn netgroups_expiring(&self, by: i64) -> Result<Vec<String>, CacheError> {
        let Some(db) = handle(self, false)? else {
            return Ok(Vec::new());
        };
        let lmdb = |e| self.lmdb(e);
        let txn = self.shared.env().read_txn().map_err(lmdb)?;
        let mut out = Vec::new();
        for item in db.iter(&txn).map_err(lmdb)? {
            let (k, v) = item.map_err(lmdb)?;
            let corrupt = || CacheError::Corrupt {
                path: self.shared.path.clone(),
                key: format!("{DB_NAME}:{}", String::from_utf8_lossy(k)),
            };
            let c = decode(v).ok_or_else(corrupt)?;
            if c.expire <= by {
                out.push(std::str::from_utf8(k).map_err(|_| corrupt())?.to_string());
            }
        }
        Ok(out)
    }

    /// Marks every cached netgroup expired (keeping it for offline use); returns how many.
    pub fn expire_netgroups(&self) -> Result<usize, CacheError> {
        self.expire_netgroups_named(None)
    }

    /// Marks the cached netgroup `name` expired; whether it was cached.
    pub fn expire_netgroup(&self, name: &str) -> Result<bool, CacheError> {
        Ok(self.expire_netgroups_named(Some(name))? > 0)
    }

    fn expire_netgroups_named(&self, only: Option<&str>) -> Result<usize, CacheError> {
        let Some(db) = handle(self, false)? else {
            return Ok(0);
        };
        let lmdb = |e| self.lmdb(e);
        let mut txn = self.shared.env().write_txn().map_err(lmdb)?;
        let mut all = Vec::new();
        for item in db.iter(&txn).map_err(lmdb)? {
            let (k, v) = item.map_err(lmdb)?;
            if only.is_none_or(|n| n.as_bytes() == k) {
                all.push((k.to_vec(), v.to_vec()));
            }
        }
        let mut n = 0;
        for (k, v) in all {
            if let Some(mut c) = decode(&v) {
                c.expire = 0;
                db.put(&mut txn, &k, &encode(&c)).map_err(lmdb)?;
                n += 1;
            }
        }
        txn.commit().map_err(lmdb)?;
        Ok(n)
    }

    /// Applies the netgroup changes among `ops` in one transaction of their own, stamping
    /// stored netgroups with `now`. Nothing is opened when there are none.
    pub fn apply_netgroup_ops<'a>(
        &self,
        ops: impl IntoIterator<Item = &'a NetgroupOp>,
        now: i64,
    ) -> Result<(), CacheError> {
        let mut ops = ops.into_iter().peekable();
        if ops.peek().is_none() {
            return Ok(());
        }
        let Some(db) = handle(self, true)? else {
            return Err(self.invalid(format!("database {DB_NAME} could not be created")));
        };
        let lmdb = |e| self.lmdb(e);
        let mut txn = self.shared.env().write_txn().map_err(lmdb)?;
        for op in ops {
            match op {
                NetgroupOp::Put(ng, expire) => {
                    self.check_key(&ng.name)?;
                    let rec = Cached {
                        value: ng.clone(),
                        last_update: now,
                        expire: *expire,
                    };
                    db.put(&mut txn, ng.name.as_bytes(), &encode(&rec))
                        .map_err(lmdb)?;
                }
                NetgroupOp::Delete(name) => {
                    if !name.is_empty() && name.len() <= self.shared.max_name {
                        db.delete(&mut txn, name.as_bytes()).map_err(lmdb)?;
                    }
                }
            }
        }
        txn.commit().map_err(lmdb)
    }

    fn check_key(&self, name: &str) -> Result<(), CacheError> {
        if !name.is_empty() && name.len() <= self.shared.max_name {
            return Ok(());
        }
        let shown: String = name.chars().take(40).collect();
        Err(self.invalid(format!(
            "netgroup name {shown:?} ({} bytes) is empty or longer than {} bytes",
            name.len(),
            self.shared.max_name
        )))
    }

    fn invalid(&self, reason: String) -> CacheError {
        CacheError::Invalid {
            path: self.shared.path.clone(),
            reason,
        }
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(s.as_bytes().get(..len as usize).unwrap_or_default());
}

fn put_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
    }
}

fn put_count(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
}

/// The stored form of a netgroup with its stamps.
pub(crate) fn encode(c: &Cached<Netgroup>) -> Vec<u8> {
    let ng = &c.value;
    let mut out = vec![VERSION];
    out.extend_from_slice(&c.last_update.to_le_bytes());
    out.extend_from_slice(&c.expire.to_le_bytes());
    put_str(&mut out, &ng.name);
    put_str(&mut out, &ng.dn);
    put_opt(&mut out, ng.modify_timestamp.as_deref());
    put_count(&mut out, ng.triples.len());
    for t in &ng.triples {
        put_opt(&mut out, t.host.as_deref());
        put_opt(&mut out, t.user.as_deref());
        put_opt(&mut out, t.domain.as_deref());
    }
    put_count(&mut out, ng.members.len());
    for m in &ng.members {
        put_str(&mut out, m);
    }
    out
}

/// A bounds-checked reader over a stored record.
struct Rd<'a>(&'a [u8]);

impl<'a> Rd<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn string(&mut self) -> Option<String> {
        let n = usize::try_from(self.u32()?).ok()?;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
    fn opt(&mut self) -> Option<Option<String>> {
        match self.u8()? {
            0 => Some(None),
            1 => Some(Some(self.string()?)),
            _ => None,
        }
    }
    /// A count whose items need at least `min` bytes each (so garbage cannot make us
    /// reserve huge vectors).
    fn count(&mut self, min: usize) -> Option<usize> {
        let n = usize::try_from(self.u32()?).ok()?;
        (n.checked_mul(min)? <= self.0.len()).then_some(n)
    }
}

/// Parses a stored record; `None` when it is not one this build wrote.
pub(crate) fn decode(raw: &[u8]) -> Option<Cached<Netgroup>> {
    let mut r = Rd(raw);
    if r.u8()? != VERSION {
        return None;
    }
    let last_update = r.i64()?;
    let expire = r.i64()?;
    let name = r.string()?;
    let dn = r.string()?;
    let modify_timestamp = r.opt()?;
    let n = r.count(3)?;
    let mut triples = Vec::with_capacity(n);
    for _ in 0..n {
        triples.push(NetgroupTriple {
            host: r.opt()?,
            user: r.opt()?,
            domain: r.opt()?,
        });
    }
    let n = r.count(4)?;
    let mut members = Vec::with_capacity(n);
    for _ in 0..n {
        members.push(r.string()?);
    }
    if !r.0.is_empty() {
        return None;
    }
    Some(Cached {
        value: Netgroup {
            name,
            triples,
            members,
            dn,
            modify_timestamp,
        },
        last_update,
        expire,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Netgroup {
        Netgroup {
            name: "ng1".into(),
            triples: vec![
                NetgroupTriple {
                    host: Some("h1".into()),
                    user: Some("alice".into()),
                    domain: None,
                },
                NetgroupTriple::default(),
            ],
            members: vec!["ng2".into()],
            dn: "cn=ng1,ou=Netgroup,dc=x".into(),
            modify_timestamp: Some("20260101000000Z".into()),
        }
    }

    #[test]
    fn triples_parse_as_sssd_does() {
        let t = NetgroupTriple::parse(" ( host1 , alice ,dom ) ").unwrap();
        assert_eq!(t.host.as_deref(), Some("host1"));
        assert_eq!(t.user.as_deref(), Some("alice"));
        assert_eq!(t.domain.as_deref(), Some("dom"));
        assert_eq!(
            NetgroupTriple::parse("(,,)").unwrap(),
            NetgroupTriple::default()
        );
        assert_eq!(
            NetgroupTriple::parse("(-,bob,)").unwrap().host.as_deref(),
            Some("-")
        );
        for bad in ["host,user,dom)", "(a,b)", "(a,b,c", "(a,b,c) x", ""] {
            assert_eq!(NetgroupTriple::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn records_round_trip_and_garbage_is_refused() {
        let c = Cached {
            value: sample(),
            last_update: 5,
            expire: 99,
        };
        let raw = encode(&c);
        assert_eq!(decode(&raw), Some(c));
        for cut in 0..raw.len() {
            assert_eq!(decode(&raw[..cut]), None, "cut at {cut}");
        }
        let mut long = raw.clone();
        long.push(0);
        assert_eq!(decode(&long), None);
        let mut huge = vec![VERSION];
        huge.extend_from_slice(&[0; 16]);
        huge.extend_from_slice(&[0; 8]);
        huge.push(0);
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode(&huge), None);
    }

    #[test]
    fn stored_netgroups_are_read_back_expired_and_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path(), "dom").unwrap();
        assert_eq!(cache.netgroup("ng1").unwrap(), None, "no database yet");
        cache
            .apply_netgroup_ops(&[NetgroupOp::Put(sample(), 100)], 10)
            .unwrap();
        let got = cache.netgroup("ng1").unwrap().unwrap();
        assert_eq!(
            (got.value, got.last_update, got.expire),
            (sample(), 10, 100)
        );
        // Another handle on the same environment, and a reopened environment, see it.
        let other = Cache::open(dir.path(), "dom").unwrap();
        assert!(other.netgroup("ng1").unwrap().is_some());
        assert!(!cache.expire_netgroup("other").unwrap());
        assert_eq!(cache.netgroup("ng1").unwrap().unwrap().expire, 100);
        assert!(cache.expire_netgroup("ng1").unwrap());
        assert_eq!(cache.expire_netgroups().unwrap(), 1);
        assert_eq!(cache.netgroup("ng1").unwrap().unwrap().expire, 0);
        drop((cache, other));
        let cache = Cache::open(dir.path(), "dom").unwrap();
        assert!(cache.netgroup("ng1").unwrap().is_some());
        cache
            .apply_netgroup_ops(&[NetgroupOp::Delete("ng1".into())], 11)
            .unwrap();
        assert_eq!(cache.netgroup("ng1").unwrap(), None);
        assert_eq!(cache.netgroup("").unwrap(), None);
        assert_eq!(cache.netgroup(&"x".repeat(5000)).unwrap(), None);
        let bad = Netgroup {
            name: "y".repeat(5000),
            ..Netgroup::default()
        };
        assert!(
            cache
                .apply_netgroup_ops(&[NetgroupOp::Put(bad, 1)], 1)
                .is_err()
        );
    }
}
