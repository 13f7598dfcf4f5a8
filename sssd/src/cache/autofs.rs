//! Automount maps in the domain cache: two named databases of their own, created on first
//! write, so caches written before they existed keep working.
//!
//! - `autofs_maps`: map name -> `i64 last_update`, `i64 expire` (little-endian); a map is
//!   cached when it exists in the directory (possibly with no entries);
//! - `autofs_entries`: `map\0key` -> value bytes.
//!
//! A map is always stored whole (its record and every entry in one transaction), so the
//! freshness of a map is that of each of its entries.

use super::{Cache, CacheError};
use crate::model::Cached;
use heed::types::Bytes;
use heed::{CommitOrAbort, Database, RoTxn, RwTxn, WithoutTls};

/// Name of the map database.
const MAPS: &str = "autofs_maps";
/// Name of the entry database.
const ENTRIES: &str = "autofs_entries";

type Db<'a> = Database<'a, Bytes, Bytes>;

/// An error inside heed's database-opening closures (which require `From<heed::Error>`).
enum AfError {
    Heed(heed::Error),
    Cache(CacheError),
}

impl From<heed::Error> for AfError {
    fn from(e: heed::Error) -> Self {
        AfError::Heed(e)
    }
}

impl From<CacheError> for AfError {
    fn from(e: CacheError) -> Self {
        AfError::Cache(e)
    }
}

/// An automount map as the directory holds it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AutofsMap {
    /// Map name (`nisMapName` / `automountMapName`), as given.
    pub name: String,
    /// (key, value) entries, in the order the directory returned them.
    pub entries: Vec<(String, String)>,
}

/// A cached map's entries, (key, value) in key order, with the map's freshness stamps.
pub type CachedMap = Cached<Vec<(String, String)>>;

/// A write to the automount part of a cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutofsOp {
    /// Store `map` (replacing every entry it had), fresh until `expire`.
    PutMap(AutofsMap, i64),
    /// Remove the map with this name and its entries (it no longer exists).
    DeleteMap(String),
    /// Mark every cached map expired (a refresh of the master map).
    InvalidateAll,
    /// Mark the cached map with this name expired, if there is one (`sss_cache -a`).
    Invalidate(String),
}

/// One map's entry key in `autofs_entries`.
fn entry_key(map: &str, key: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(map.len() + 1 + key.len());
    k.extend_from_slice(map.as_bytes());
    k.push(0);
    k.extend_from_slice(key.as_bytes());
    k
}

fn encode_stamp(last_update: i64, expire: i64) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&last_update.to_le_bytes());
    out[8..].copy_from_slice(&expire.to_le_bytes());
    out
}

fn decode_stamp(b: &[u8]) -> Option<(i64, i64)> {
    let a: [u8; 8] = b.get(..8)?.try_into().ok()?;
    let e: [u8; 8] = b.get(8..16)?.try_into().ok()?;
    Some((i64::from_le_bytes(a), i64::from_le_bytes(e)))
}

impl Cache {
    fn autofs_err(&self, source: heed::Error) -> CacheError {
        CacheError::Lmdb {
            path: self.shared.path.clone(),
            source,
        }
    }

    fn af(&self, e: AfError) -> CacheError {
        match e {
            AfError::Heed(h) => self.autofs_err(h),
            AfError::Cache(c) => c,
        }
    }

    fn autofs_corrupt(&self, key: &[u8]) -> CacheError {
        CacheError::Corrupt {
            path: self.shared.path.clone(),
            key: String::from_utf8_lossy(key).into_owned(),
        }
    }

    /// Runs `f` on the two databases inside one read transaction; `Ok(None)` without
    /// calling `f` when nothing automount-related was ever stored.
    fn autofs_read<T>(
        &self,
        f: impl FnOnce(&RoTxn<'_, WithoutTls>, Db<'_>, Db<'_>) -> Result<T, CacheError>,
    ) -> Result<Option<T>, CacheError> {
        let env = self.shared.env();
        let rtxn = env.read_txn().map_err(|e| self.autofs_err(e))?;
        let out = env.open_databases_and_commit(rtxn, |dbo, rtxn| -> Result<_, AfError> {
            let open = |n| {
                dbo.open_database::<Bytes, Bytes>(rtxn, Some(n))
                    .map_err(|e| self.autofs_err(e))
            };
            let (Some(maps), Some(entries)) = (open(MAPS)?, open(ENTRIES)?) else {
                return Ok(CommitOrAbort::<(), _>::Abort(None));
            };
            Ok(CommitOrAbort::Abort(Some(f(rtxn, maps, entries)?)))
        });
        match out.map_err(|e| self.af(e))? {
            CommitOrAbort::Abort(v) => Ok(v),
            CommitOrAbort::Commit(()) => Ok(None),
        }
    }

    /// Applies `ops` in one write transaction (creating the databases if needed).
    pub fn autofs_apply(&self, ops: &[AutofsOp], now: i64) -> Result<(), CacheError> {
        let env = self.shared.env();
        let wtxn = env.write_txn().map_err(|e| self.autofs_err(e))?;
        let max_key = self.shared.max_name;
        env.create_databases_and_commit(wtxn, |dbo, wtxn| -> Result<_, AfError> {
            let maps = dbo
                .create_database::<Bytes, Bytes>(wtxn, Some(MAPS))
                .map_err(|e| self.autofs_err(e))?;
            let entries = dbo
                .create_database::<Bytes, Bytes>(wtxn, Some(ENTRIES))
                .map_err(|e| self.autofs_err(e))?;
            for op in ops {
                self.autofs_write(wtxn, maps, entries, op, now, max_key)?;
            }
            Ok(CommitOrAbort::<(), ()>::Commit(()))
        })
        .map_err(|e| self.af(e))?;
        Ok(())
    }

    fn autofs_write(
        &self,
        wtxn: &mut RwTxn<'_>,
        maps: Db<'_>,
        entries: Db<'_>,
        op: &AutofsOp,
        now: i64,
        max_key: usize,
    ) -> Result<(), CacheError> {
        let e = |err| self.autofs_err(err);
        match op {
            AutofsOp::PutMap(map, expire) => {
                self.autofs_check_name(&map.name, max_key)?;
                delete_entries(wtxn, entries, &map.name).map_err(e)?;
                for (k, v) in &map.entries {
                    let key = entry_key(&map.name, k);
                    if key.len() > max_key || k.is_empty() || k.contains('\0') {
                        tracing::warn!(
                            "automount map {}: key {k:?} cannot be cached (empty, NUL or \
                             longer than {max_key} bytes with the map name); skipped",
                            map.name
                        );
                        continue;
                    }
                    entries.put(wtxn, &key, v.as_bytes()).map_err(e)?;
                }
                maps.put(wtxn, map.name.as_bytes(), &encode_stamp(now, *expire))
                    .map_err(e)?;
            }
            AutofsOp::DeleteMap(name) => {
                if name.is_empty() || name.len() > max_key {
                    return Ok(());
                }
                delete_entries(wtxn, entries, name).map_err(e)?;
                maps.delete(wtxn, name.as_bytes()).map_err(e)?;
            }
            AutofsOp::InvalidateAll => {
                let mut stamps = Vec::new();
                for item in maps.iter(wtxn).map_err(e)? {
                    let (k, v) = item.map_err(e)?;
                    let last = decode_stamp(v).map(|(l, _)| l).unwrap_or(0);
                    stamps.push((k.to_vec(), last));
                }
                for (k, last) in stamps {
                    maps.put(wtxn, &k, &encode_stamp(last, 0)).map_err(e)?;
                }
            }
            AutofsOp::Invalidate(name) => {
                if name.is_empty() || name.len() > max_key {
                    return Ok(());
                }
                let last = match maps.get(wtxn, name.as_bytes()).map_err(e)? {
                    Some(v) => decode_stamp(v).map(|(l, _)| l).unwrap_or(0),
                    None => return Ok(()),
                };
                maps.put(wtxn, name.as_bytes(), &encode_stamp(last, 0))
                    .map_err(e)?;
            }
        }
        Ok(())
    }

    fn autofs_check_name(&self, name: &str, max_key: usize) -> Result<(), CacheError> {
        if name.is_empty() || name.contains('\0') || name.len() + 1 > max_key {
            return Err(CacheError::Invalid {
                path: self.shared.path.clone(),
                reason: format!("automount map name {name:?} is empty, has a NUL or is too long"),
            });
        }
        Ok(())
    }

    /// The cached map `name` with its entries (in key order) and freshness stamps.
    pub fn autofs_map(&self, name: &str) -> Result<Option<CachedMap>, CacheError> {
        if name.is_empty() || name.len() >= self.shared.max_name {
            return Ok(None);
        }
        Ok(self
            .autofs_read(|rtxn, maps, entries| {
                let e = |err| self.autofs_err(err);
                let Some(stamp) = maps.get(rtxn, name.as_bytes()).map_err(e)? else {
                    return Ok(None);
                };
                let (last_update, expire) =
                    decode_stamp(stamp).ok_or_else(|| self.autofs_corrupt(name.as_bytes()))?;
                let prefix = entry_key(name, "");
                let mut out = Vec::new();
                for item in entries.prefix_iter(rtxn, &prefix).map_err(e)? {
                    let (k, v) = item.map_err(e)?;
                    let key = k.get(prefix.len()..).unwrap_or_default();
                    let (Ok(key), Ok(value)) = (std::str::from_utf8(key), std::str::from_utf8(v))
                    else {
                        return Err(self.autofs_corrupt(k));
                    };
                    out.push((key.to_owned(), value.to_owned()));
                }
                Ok(Some(Cached {
                    value: out,
                    last_update,
                    expire,
                }))
            })?
            .flatten())
    }

    /// The value of `key` in the cached map `map` (`None` inside when the map is cached
    /// without that key), with the map's freshness stamps; `None` when the map is not cached.
    pub fn autofs_entry(
        &self,
        map: &str,
        key: &str,
    ) -> Result<Option<Cached<Option<String>>>, CacheError> {
        if map.is_empty() || map.len() >= self.shared.max_name {
            return Ok(None);
        }
        let k = entry_key(map, key);
        Ok(self
            .autofs_read(|rtxn, maps, entries| {
                let e = |err| self.autofs_err(err);
                let Some(stamp) = maps.get(rtxn, map.as_bytes()).map_err(e)? else {
                    return Ok(None);
                };
                let (last_update, expire) =
                    decode_stamp(stamp).ok_or_else(|| self.autofs_corrupt(map.as_bytes()))?;
                let value = if k.len() > self.shared.max_name || key.is_empty() {
                    None
                } else {
                    match entries.get(rtxn, &k).map_err(e)? {
                        Some(v) => Some(
                            std::str::from_utf8(v)
                                .map_err(|_| self.autofs_corrupt(&k))?
                                .to_owned(),
                        ),
                        None => None,
                    }
                };
                Ok(Some(Cached {
                    value,
                    last_update,
                    expire,
                }))
            })?
            .flatten())
    }

    /// Marks the cached map `name` (every cached map when `None`) expired, keeping its
    /// entries for offline use (`sss_cache -a NAME` / `-A`); returns how many maps were
    /// marked. Nothing is created when no map was ever cached.
    pub fn autofs_expire(&self, name: Option<&str>) -> Result<usize, CacheError> {
        let names = self.autofs_map_names()?;
        let n = names
            .iter()
            .filter(|m| name.is_none_or(|want| want == m.as_str()))
            .count();
        if n == 0 {
            return Ok(0);
        }
        let op = match name {
            Some(want) => AutofsOp::Invalidate(want.to_string()),
            None => AutofsOp::InvalidateAll,
        };
        self.autofs_apply(&[op], 0)?;
        Ok(n)
    }

    /// Names of every cached map.
    pub fn autofs_map_names(&self) -> Result<Vec<String>, CacheError> {
        Ok(self
            .autofs_read(|rtxn, maps, _| {
                let mut out = Vec::new();
                for item in maps.iter(rtxn).map_err(|e| self.autofs_err(e))? {
                    let (k, _) = item.map_err(|e| self.autofs_err(e))?;
                    out.push(String::from_utf8_lossy(k).into_owned());
                }
                Ok(out)
            })?
            .unwrap_or_default())
    }
}

/// Deletes every entry of `map`.
fn delete_entries(wtxn: &mut RwTxn<'_>, entries: Db<'_>, map: &str) -> Result<(), heed::Error> {
    let prefix = entry_key(map, "");
    let keys: Vec<Vec<u8>> = entries
        .prefix_iter(wtxn, &prefix)?
        .map(|i| i.map(|(k, _)| k.to_vec()))
        .collect::<Result<_, _>>()?;
    for k in keys {
        entries.delete(wtxn, &k)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(name: &str, entries: &[(&str, &str)]) -> AutofsMap {
        AutofsMap {
            name: name.into(),
            entries: entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn maps_are_stored_whole_replaced_and_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let c = Cache::open(dir.path(), "d").unwrap();
        assert_eq!(c.autofs_map("auto.home").unwrap(), None);
        assert_eq!(c.autofs_entry("auto.home", "a").unwrap(), None);
        let m = map("auto.home", &[("bob", "srv:/b"), ("alice", "srv:/a")]);
        let m2 = map("auto.homes", &[("x", "y")]);
        c.autofs_apply(&[AutofsOp::PutMap(m, 200), AutofsOp::PutMap(m2, 200)], 100)
            .unwrap();
        let got = c.autofs_map("auto.home").unwrap().unwrap();
        assert_eq!(
            got.value,
            vec![
                ("alice".to_string(), "srv:/a".to_string()),
                ("bob".to_string(), "srv:/b".to_string())
            ]
        );
        assert_eq!((got.last_update, got.expire), (100, 200));
        let e = c.autofs_entry("auto.home", "alice").unwrap().unwrap();
        assert_eq!(e.value.as_deref(), Some("srv:/a"));
        let e = c.autofs_entry("auto.home", "carol").unwrap().unwrap();
        assert_eq!(e.value, None);
        // Replaced: bob is gone.
        c.autofs_apply(
            &[AutofsOp::PutMap(
                map("auto.home", &[("alice", "srv:/a2")]),
                300,
            )],
            150,
        )
        .unwrap();
        let got = c.autofs_map("auto.home").unwrap().unwrap();
        assert_eq!(got.value, vec![("alice".into(), "srv:/a2".into())]);
        // The map with a longer name sharing the prefix is untouched.
        assert_eq!(c.autofs_map("auto.homes").unwrap().unwrap().value.len(), 1);
        c.autofs_apply(&[AutofsOp::InvalidateAll], 160).unwrap();
        let got = c.autofs_map("auto.home").unwrap().unwrap();
        assert_eq!((got.last_update, got.expire), (150, 0));
        c.autofs_apply(&[AutofsOp::DeleteMap("auto.home".into())], 170)
            .unwrap();
        assert_eq!(c.autofs_map("auto.home").unwrap(), None);
        assert_eq!(
            c.autofs_map_names().unwrap(),
            vec!["auto.homes".to_string()]
        );
        // Reopened (another process): still there.
        drop(c);
        let c = Cache::open(dir.path(), "d").unwrap();
        assert_eq!(c.autofs_map("auto.homes").unwrap().unwrap().value.len(), 1);
    }

    #[test]
    fn tools_expire_one_map_or_all_without_creating_databases() {
        let dir = tempfile::tempdir().unwrap();
        let c = Cache::open(dir.path(), "d").unwrap();
        assert_eq!(c.autofs_expire(None).unwrap(), 0);
        assert_eq!(c.autofs_expire(Some("auto.home")).unwrap(), 0);
        assert!(
            c.autofs_read(|_, _, _| Ok(())).unwrap().is_none(),
            "not created"
        );
        let ops = [
            AutofsOp::PutMap(map("auto.home", &[("a", "srv:/a")]), 200),
            AutofsOp::PutMap(map("auto.data", &[("d", "srv:/d")]), 200),
        ];
        c.autofs_apply(&ops, 100).unwrap();
        assert_eq!(c.autofs_expire(Some("auto.nope")).unwrap(), 0);
        assert_eq!(
            c.autofs_expire(Some("AUTO.HOME")).unwrap(),
            0,
            "case matters"
        );
        assert_eq!(c.autofs_expire(Some("auto.home")).unwrap(), 1);
        let home = c.autofs_map("auto.home").unwrap().unwrap();
        assert_eq!(
            (home.last_update, home.expire, home.value.len()),
            (100, 0, 1)
        );
        assert_eq!(c.autofs_map("auto.data").unwrap().unwrap().expire, 200);
        assert_eq!(c.autofs_expire(None).unwrap(), 2);
        assert_eq!(c.autofs_map("auto.data").unwrap().unwrap().expire, 0);
    }

    #[test]
    fn bad_names_never_fail_reads() {
        let dir = tempfile::tempdir().unwrap();
        let c = Cache::open(dir.path(), "d").unwrap();
        c.autofs_apply(
            &[AutofsOp::PutMap(map("m", &[("", "x"), ("k", "v")]), 1)],
            0,
        )
        .unwrap();
        assert_eq!(c.autofs_map("").unwrap(), None);
        let long = "x".repeat(5000);
        assert_eq!(c.autofs_map(&long).unwrap(), None);
        assert_eq!(c.autofs_entry("m", &long).unwrap().unwrap().value, None);
        assert_eq!(c.autofs_map("m").unwrap().unwrap().value.len(), 1);
        assert!(
            c.autofs_apply(&[AutofsOp::PutMap(map("", &[]), 1)], 0)
                .is_err()
        );
    }
}
