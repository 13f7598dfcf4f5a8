//! Cached sudo rules, in two named databases of the domain's environment:
//! `sudo_rules` (rule name `cn` -> encoded [`SudoRuleRecord`]) and `sudo_meta` (the
//! highest `modifyTimestamp`/`entryUSN` seen and the time of the last full refresh).
//!
//! The backend writes them ([`Cache::sudo_writer`]); the sudo responder reads them
//! ([`Cache::sudo_rules`]). Before the first write the databases do not exist and reads
//! return nothing.

use super::env::Shared;
use super::{Cache, CacheError};
use heed::types::Bytes;
use heed::{CommitOrAbort, Database, RwTxn};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, Weak};

type Db = Database<'static, Bytes, Bytes>;

const RULES_DB: &str = "sudo_rules";
const META_DB: &str = "sudo_meta";
const META_USN: &[u8] = b"usn";
const META_FULL: &[u8] = b"full_refresh";

/// A cached sudo rule: its LDAP attributes under their sudoers names, its modification
/// stamp and its expiry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SudoRuleRecord {
    /// The rule's name (`cn`).
    pub name: String,
    /// Attributes (`sudoUser`, `sudoHost`, `sudoCommand`, ...) and their values, `cn`
    /// included, in a stable order.
    pub attrs: Vec<(String, Vec<String>)>,
    /// `entryUSN` or `modifyTimestamp` of the entry when fetched (empty if unknown).
    pub usn: String,
    /// When the rule must be fetched again (seconds since the epoch).
    pub expire: i64,
}

impl SudoRuleRecord {
    /// The values of attribute `name` (ASCII case ignored); empty when absent.
    pub fn values(&self, name: &str) -> &[String] {
        self.attrs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
            .unwrap_or_default()
    }
}

/// Sudo bookkeeping of a domain.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SudoMeta {
    /// Highest `entryUSN`/`modifyTimestamp` of the rules stored (empty: none known).
    pub usn: String,
    /// When the last full refresh finished (0: never).
    pub last_full: i64,
}

/// The two databases, opened once per environment.
#[derive(Clone, Copy)]
struct SudoDbs {
    rules: Db,
    meta: Db,
}

type Registry = Mutex<HashMap<String, (Weak<Shared>, SudoDbs)>>;

/// Database handles by environment path, valid while that environment stays open.
static OPENED: LazyLock<Registry> = LazyLock::new(|| Mutex::new(HashMap::new()));

fn corrupt(path: &str, key: &[u8]) -> CacheError {
    CacheError::Corrupt {
        path: path.to_string(),
        key: format!("sudo:{}", String::from_utf8_lossy(key)),
    }
}

impl Cache {
    fn sudo_cached(&self) -> Option<SudoDbs> {
        let reg = OPENED.lock().unwrap_or_else(|e| e.into_inner());
        let (weak, dbs) = reg.get(&self.shared.path)?;
        let same = weak
            .upgrade()
            .is_some_and(|s| Arc::ptr_eq(&s, &self.shared));
        same.then_some(*dbs)
    }

    fn sudo_remember(&self, dbs: SudoDbs) {
        let mut reg = OPENED.lock().unwrap_or_else(|e| e.into_inner());
        reg.insert(
            self.shared.path.clone(),
            (Arc::downgrade(&self.shared), dbs),
        );
    }

    /// The sudo databases if they exist (readers never create them).
    fn sudo_dbs(&self) -> Result<Option<SudoDbs>, CacheError> {
        if let Some(d) = self.sudo_cached() {
            return Ok(Some(d));
        }
        let env = self.shared.env();
        let rtxn = env.read_txn().map_err(|e| self.lmdb(e))?;
        let opened = env
            .open_databases_and_commit(rtxn, |dbo, rtxn| -> Result<_, heed::Error> {
                let r = dbo.open_database::<Bytes, Bytes>(rtxn, Some(RULES_DB))?;
                let m = dbo.open_database::<Bytes, Bytes>(rtxn, Some(META_DB))?;
                Ok(match (r, m) {
                    (Some(r), Some(m)) => CommitOrAbort::Commit((r, m)),
                    _ => CommitOrAbort::Abort(()),
                })
            })
            .map_err(|e| self.lmdb(e))?;
        Ok(opened.commit().map(|(rules, meta)| {
            let dbs = SudoDbs { rules, meta };
            self.sudo_remember(dbs);
            dbs
        }))
    }

    /// The sudo databases, created when missing (backend only).
    fn sudo_dbs_create(&self) -> Result<SudoDbs, CacheError> {
        if let Some(d) = self.sudo_dbs()? {
            return Ok(d);
        }
        let env = self.shared.env();
        let wtxn = env.write_txn().map_err(|e| self.lmdb(e))?;
        let created = env
            .create_databases_and_commit(wtxn, |dbo, wtxn| -> Result<_, heed::Error> {
                let r = dbo.create_database::<Bytes, Bytes>(wtxn, Some(RULES_DB))?;
                let m = dbo.create_database::<Bytes, Bytes>(wtxn, Some(META_DB))?;
                Ok(CommitOrAbort::<_, ()>::Commit((r, m)))
            })
            .map_err(|e| self.lmdb(e))?;
        match created {
            CommitOrAbort::Commit((rules, meta)) => {
                let dbs = SudoDbs { rules, meta };
                self.sudo_remember(dbs);
                Ok(dbs)
            }
            CommitOrAbort::Abort(()) => Err(corrupt(&self.shared.path, b"databases")),
        }
    }

    /// Every cached sudo rule for which `keep` is true, in name order.
    pub fn sudo_rules(
        &self,
        mut keep: impl FnMut(&SudoRuleRecord) -> bool,
    ) -> Result<Vec<SudoRuleRecord>, CacheError> {
        let Some(dbs) = self.sudo_dbs()? else {
            return Ok(Vec::new());
        };
        let txn = self.shared.env().read_txn().map_err(|e| self.lmdb(e))?;
        let mut out = Vec::new();
        for item in dbs.rules.iter(&txn).map_err(|e| self.lmdb(e))? {
            let (k, v) = item.map_err(|e| self.lmdb(e))?;
            let rec = decode(v).ok_or_else(|| corrupt(&self.shared.path, k))?;
            if keep(&rec) {
                out.push(rec);
            }
        }
        Ok(out)
    }

    /// The sudo bookkeeping (defaults when nothing was stored yet).
    pub fn sudo_meta(&self) -> Result<SudoMeta, CacheError> {
        let Some(dbs) = self.sudo_dbs()? else {
            return Ok(SudoMeta::default());
        };
        let txn = self.shared.env().read_txn().map_err(|e| self.lmdb(e))?;
        let usn = dbs.meta.get(&txn, META_USN).map_err(|e| self.lmdb(e))?;
        let full = dbs.meta.get(&txn, META_FULL).map_err(|e| self.lmdb(e))?;
        Ok(SudoMeta {
            usn: usn
                .map(|u| String::from_utf8_lossy(u).into_owned())
                .unwrap_or_default(),
            last_full: full
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(i64::from_le_bytes)
                .unwrap_or(0),
        })
    }

    /// Starts a write transaction on the sudo databases (creating them if needed).
    pub fn sudo_writer(&self) -> Result<SudoWriter<'_>, CacheError> {
        let dbs = self.sudo_dbs_create()?;
        let txn = self.shared.env().write_txn().map_err(|e| self.lmdb(e))?;
        Ok(SudoWriter {
            cache: self,
            txn,
            dbs,
        })
    }
}

impl Cache {
    /// A write transaction on the sudo databases if they exist (`None`: no rule was ever
    /// stored). For tools, which must not create the backend's databases.
    pub fn sudo_writer_existing(&self) -> Result<Option<SudoWriter<'_>>, CacheError> {
        let Some(dbs) = self.sudo_dbs()? else {
            return Ok(None);
        };
        let txn = self.shared.env().write_txn().map_err(|e| self.lmdb(e))?;
        Ok(Some(SudoWriter {
            cache: self,
            txn,
            dbs,
        }))
    }
}

/// A write transaction on the sudo databases; dropping it without `commit` aborts it.
pub struct SudoWriter<'c> {
    cache: &'c Cache,
    txn: RwTxn<'c>,
    dbs: SudoDbs,
}

impl SudoWriter<'_> {
    /// Stores (replacing) `rule`. A name longer than an LMDB key allows is refused.
    pub fn put(&mut self, rule: &SudoRuleRecord) -> Result<(), CacheError> {
        if rule.name.is_empty() || rule.name.len() > self.cache.shared.max_name {
            return Err(CacheError::Invalid {
                path: self.cache.shared.path.clone(),
                reason: format!(
                    "sudo rule name of {} bytes is empty or too long",
                    rule.name.len()
                ),
            });
        }
        let v = encode(rule);
        self.dbs
            .rules
            .put(&mut self.txn, rule.name.as_bytes(), &v)
            .map_err(|e| self.cache.lmdb(e))
    }

    /// Removes the rule `name` (absent is fine).
    pub fn delete(&mut self, name: &str) -> Result<(), CacheError> {
        self.dbs
            .rules
            .delete(&mut self.txn, name.as_bytes())
            .map(drop)
            .map_err(|e| self.cache.lmdb(e))
    }

    /// Removes every rule.
    pub fn clear(&mut self) -> Result<(), CacheError> {
        self.dbs
            .rules
            .clear(&mut self.txn)
            .map_err(|e| self.cache.lmdb(e))
    }

    /// Marks every rule expired (`sss_cache -R`).
    pub fn expire_all(&mut self) -> Result<usize, CacheError> {
        self.expire_matching(|_| true)
    }

    /// Marks expired every rule whose name `select` accepts (`sss_cache -r NAME`), keeping
    /// it for offline use; returns how many.
    pub fn expire_matching(
        &mut self,
        mut select: impl FnMut(&str) -> bool,
    ) -> Result<usize, CacheError> {
        let mut recs = Vec::new();
        for item in self
            .dbs
            .rules
            .iter(&self.txn)
            .map_err(|e| self.cache.lmdb(e))?
        {
            let (k, v) = item.map_err(|e| self.cache.lmdb(e))?;
            let rec = decode(v).ok_or_else(|| corrupt(&self.cache.shared.path, k))?;
            if select(&rec.name) {
                recs.push(rec);
            }
        }
        for mut r in recs.iter().cloned() {
            r.expire = 0;
            self.put(&r)?;
        }
        Ok(recs.len())
    }

    /// Records the bookkeeping.
    pub fn set_meta(&mut self, meta: &SudoMeta) -> Result<(), CacheError> {
        let m = self.dbs.meta;
        m.put(&mut self.txn, META_USN, meta.usn.as_bytes())
            .map_err(|e| self.cache.lmdb(e))?;
        m.put(&mut self.txn, META_FULL, &meta.last_full.to_le_bytes())
            .map_err(|e| self.cache.lmdb(e))
    }

    /// Commits.
    pub fn commit(self) -> Result<(), CacheError> {
        let path = self.cache.shared.path.clone();
        self.txn
            .commit()
            .map_err(|source| CacheError::Lmdb { path, source })
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&u32::try_from(s.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Record layout (little-endian): version 1 (u8), expire (i64), usn, name, attribute
/// count (u32), then per attribute its name, value count (u32) and values; strings are a
/// u32 length and the UTF-8 bytes.
fn encode(r: &SudoRuleRecord) -> Vec<u8> {
    let mut out = vec![1u8];
    out.extend_from_slice(&r.expire.to_le_bytes());
    put_str(&mut out, &r.usn);
    put_str(&mut out, &r.name);
    out.extend_from_slice(&u32::try_from(r.attrs.len()).unwrap_or(0).to_le_bytes());
    for (n, vs) in &r.attrs {
        put_str(&mut out, n);
        out.extend_from_slice(&u32::try_from(vs.len()).unwrap_or(0).to_le_bytes());
        for v in vs {
            put_str(&mut out, v);
        }
    }
    out
}

struct Cur<'a>(&'a [u8]);

impl<'a> Cur<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (a, b) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = b;
        Some(a)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn str(&mut self) -> Option<String> {
        let n = usize::try_from(self.u32()?).ok()?;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
    fn count(&mut self, min: usize) -> Option<usize> {
        let n = usize::try_from(self.u32()?).ok()?;
        (n.saturating_mul(min) <= self.0.len()).then_some(n)
    }
}

fn decode(b: &[u8]) -> Option<SudoRuleRecord> {
    let mut c = Cur(b);
    if c.take(1)? != [1u8] {
        return None;
    }
    let expire = i64::from_le_bytes(c.take(8)?.try_into().ok()?);
    let usn = c.str()?;
    let name = c.str()?;
    let n = c.count(8)?;
    let mut attrs = Vec::with_capacity(n);
    for _ in 0..n {
        let an = c.str()?;
        let nv = c.count(4)?;
        let mut vs = Vec::with_capacity(nv);
        for _ in 0..nv {
            vs.push(c.str()?);
        }
        attrs.push((an, vs));
    }
    c.0.is_empty().then_some(SudoRuleRecord {
        name,
        attrs,
        usn,
        expire,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(name: &str, user: &str) -> SudoRuleRecord {
        SudoRuleRecord {
            name: name.into(),
            attrs: vec![
                ("cn".into(), vec![name.into()]),
                ("sudoUser".into(), vec![user.into()]),
            ],
            usn: "20261205101010Z".into(),
            expire: 42,
        }
    }

    #[test]
    fn codec_round_trips_and_refuses_garbage() {
        let r = rec("r1", "alice");
        assert_eq!(decode(&encode(&r)), Some(r.clone()));
        let b = encode(&r);
        for cut in 0..b.len() {
            assert_eq!(decode(&b[..cut]), None);
        }
        assert_eq!(decode(&[2]), None);
        assert_eq!(r.values("SUDOUSER"), ["alice".to_string()]);
        assert!(r.values("sudoHost").is_empty());
    }

    #[test]
    fn write_read_delete_and_meta() {
        let dir = tempfile::tempdir().unwrap();
        let c = Cache::open(dir.path(), "d").unwrap();
        assert!(c.sudo_rules(|_| true).unwrap().is_empty());
        assert_eq!(c.sudo_meta().unwrap(), SudoMeta::default());
        let mut w = c.sudo_writer().unwrap();
        w.put(&rec("r1", "alice")).unwrap();
        w.put(&rec("r2", "%wheel")).unwrap();
        w.set_meta(&SudoMeta {
            usn: "5".into(),
            last_full: 7,
        })
        .unwrap();
        w.commit().unwrap();
        let all = c.sudo_rules(|_| true).unwrap();
        assert_eq!(all.len(), 2);
        let alice = c
            .sudo_rules(|r| r.values("sudoUser").iter().any(|u| u == "alice"))
            .unwrap();
        assert_eq!(alice, vec![rec("r1", "alice")]);
        assert_eq!(c.sudo_meta().unwrap().usn, "5");
        assert_eq!(c.sudo_meta().unwrap().last_full, 7);
        let mut w = c.sudo_writer().unwrap();
        assert_eq!(w.expire_all().unwrap(), 2);
        w.delete("r1").unwrap();
        w.commit().unwrap();
        let left = c.sudo_rules(|_| true).unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].expire, 0);
        let mut w = c.sudo_writer().unwrap();
        w.clear().unwrap();
        w.commit().unwrap();
        assert!(c.sudo_rules(|_| true).unwrap().is_empty());
        // A second handle (another "process" view) sees the same databases.
        drop(c);
        let c2 = Cache::open(dir.path(), "d").unwrap();
        assert_eq!(c2.sudo_meta().unwrap().usn, "5");
    }

    #[test]
    fn tools_expire_named_rules_without_creating_the_databases() {
        let dir = tempfile::tempdir().unwrap();
        let c = Cache::open(dir.path(), "d").unwrap();
        assert!(c.sudo_writer_existing().unwrap().is_none());
        assert!(c.sudo_dbs().unwrap().is_none(), "nothing was created");
        let mut w = c.sudo_writer().unwrap();
        w.put(&rec("r1", "alice")).unwrap();
        w.put(&rec("r2", "bob")).unwrap();
        w.commit().unwrap();
        let mut w = c.sudo_writer_existing().unwrap().unwrap();
        assert_eq!(w.expire_matching(|n| n == "r3").unwrap(), 0);
        assert_eq!(w.expire_matching(|n| n == "r2").unwrap(), 1);
        w.commit().unwrap();
        let all = c.sudo_rules(|_| true).unwrap();
        let stamps: Vec<(&str, i64)> = all.iter().map(|r| (r.name.as_str(), r.expire)).collect();
        assert_eq!(stamps, [("r1", 42), ("r2", 0)]);
        assert_eq!(all[1].attrs, rec("r2", "bob").attrs, "kept for offline use");
    }
}
