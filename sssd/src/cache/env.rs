//! Opening a domain's LMDB environment, once per process.
//!
//! heed refuses to open the same environment twice in one process, so opened environments
//! are kept in a process-wide registry and a second `open` returns a new handle on the same
//! environment. The environment closes when the last handle is dropped.

use super::CacheError;
use heed::types::Bytes;
use heed::{CommitOrAbort, Database, Env, EnvFlags, EnvOpenOptions, RoTxn, WithoutTls};
use std::collections::HashMap;
use std::fs::{self, DirBuilder};
use std::mem::ManuallyDrop;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, Weak};

/// The cache schema version this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

/// Size of the (sparse) memory map: large enough that no resize is ever needed.
const MAP_SIZE: usize = 1 << 30;

/// Named databases in one environment.
const MAX_DBS: u32 = 32;

/// Key of the schema version in the meta database.
const VERSION_KEY: &[u8] = b"version";

/// Named databases beyond [`Dbs`], owned by the modules of other maps (each keeps its own
/// records and key layout); opened or created with the environment, looked up by name.
pub(crate) const EXTRA_DBS: [&str; 5] = [
    "services",
    "hosts",
    "networks",
    "ssh_hosts",
    super::aliases::DB,
];

/// A database of raw byte keys and values.
pub(crate) type Db = Database<'static, Bytes, Bytes>;

/// The named databases of one environment.
#[derive(Clone, Copy)]
pub(crate) struct Dbs {
    /// User name -> encoded user.
    pub(crate) users: Db,
    /// Big-endian uid -> user name.
    pub(crate) uids: Db,
    /// Group name -> encoded group.
    pub(crate) groups: Db,
    /// Big-endian gid -> group name.
    pub(crate) gids: Db,
    /// User name -> encoded gid list.
    pub(crate) initgroups: Db,
    /// `u:`/`g:`/`i:` + name -> freshness stamp.
    pub(crate) stamps: Db,
    /// Schema metadata (read at open; kept for tests and future migrations).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) meta: Db,
    /// User name -> encoded cached credentials (never read by NSS lookups).
    pub(crate) credentials: Db,
    /// User name -> what its last online ldap access check learned.
    pub(crate) access: Db,
    /// User name -> the user's SSH public keys (see `ssh`).
    pub(crate) ssh_keys: Db,
}

/// An open environment with its databases, shared by every handle in the process.
pub(crate) struct Shared {
    /// The environment (dropped explicitly while the registry is locked).
    env: ManuallyDrop<Env<WithoutTls>>,
    /// Its databases.
    pub(crate) dbs: Dbs,
    /// The environment's directory, for error messages.
    pub(crate) path: String,
    /// The registry key (canonical directory).
    key: PathBuf,
    /// Longest name (in bytes) usable as a key, stamps' two-byte prefix included.
    pub(crate) max_name: usize,
    /// The [`EXTRA_DBS`], by name.
    pub(crate) extra: HashMap<&'static str, Db>,
}

impl Shared {
    /// The environment.
    pub(crate) fn env(&self) -> &Env<WithoutTls> {
        &self.env
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Close the environment while holding the registry lock, so that a concurrent `open`
        // never finds it still registered inside heed but gone from our registry.
        let mut reg = registry();
        if let Some(w) = reg.get(&self.key)
            && w.strong_count() == 0
        {
            reg.remove(&self.key);
        }
        // SAFETY: `env` is never used again; this is the only place it is dropped.
        unsafe { ManuallyDrop::drop(&mut self.env) };
    }
}

/// Open environments of this process, by canonical directory.
static REGISTRY: LazyLock<Mutex<HashMap<PathBuf, Weak<Shared>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn registry() -> MutexGuard<'static, HashMap<PathBuf, Weak<Shared>>> {
    // A panic while holding the lock cannot leave the map inconsistent (single operations).
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// The directory of `domain`'s environment under `db_dir`.
pub(crate) fn env_dir(db_dir: &Path, domain: &str) -> PathBuf {
    db_dir.join(format!("cache_{domain}"))
}

/// Creates `dir` (and parents) if missing, with mode 0700 for directories it creates.
fn make_dir(dir: &Path) -> Result<(), CacheError> {
    let io = |source| CacheError::Io {
        path: dir.display().to_string(),
        source,
    };
    if !dir.is_dir() {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io)?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io)?;
    }
    Ok(())
}

/// Opens (or finds already open) the environment of `domain` under `db_dir`.
pub(crate) fn open_shared(db_dir: &Path, domain: &str) -> Result<Arc<Shared>, CacheError> {
    if domain.is_empty() || domain.contains(['/', '\0']) || domain == "." || domain == ".." {
        return Err(CacheError::Io {
            path: db_dir.display().to_string(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("invalid domain name {domain:?} for a cache directory"),
            ),
        });
    }
    make_dir(db_dir)?;
    let dir = env_dir(db_dir, domain);
    make_dir(&dir)?;
    let path = dir.display().to_string();
    let key = fs::canonicalize(&dir).map_err(|source| CacheError::Io {
        path: path.clone(),
        source,
    })?;

    let lmdb = |source| CacheError::Lmdb {
        path: path.clone(),
        source,
    };
    let mut attempts = 0u32;
    let (mut reg, env) = loop {
        let reg = registry();
        if let Some(shared) = reg.get(&key).and_then(Weak::upgrade) {
            return Ok(shared);
        }
        // SAFETY: within the process the environment is only opened through this registry,
        // other processes rely on LMDB's own locking, and the map is never resized.
        // NO_META_SYNC: a commit flushes the data pages but not the meta page, which halves
        // the fsyncs per write; LMDB keeps the database consistent (the meta page of the
        // previous commit stays valid), and a system crash can at worst undo the last
        // commits, which this cache refetches. NO_SYNC is not used: it lets a crash
        // corrupt the database.
        let opened = unsafe {
            EnvOpenOptions::new()
                .read_txn_without_tls()
                .flags(EnvFlags::NO_META_SYNC)
                .map_size(MAP_SIZE)
                .max_dbs(MAX_DBS)
                .open(&dir)
        };
        match opened {
            Ok(env) => break (reg, env),
            // The last handle of a previous opening is being dropped right now: its closing
            // waits for the registry lock, so release it and retry.
            Err(heed::Error::EnvAlreadyOpened) if attempts < 5000 => {
                drop(reg);
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            Err(e) => return Err(lmdb(e)),
        }
    };
    // Reader slots left behind by processes that died.
    env.clear_stale_readers().map_err(lmdb)?;
    let dbs = match open_existing(&env, &path)? {
        Some(dbs) => dbs,
        None => create(&env, &path)?,
    };
    let max_name = env.max_key_size().saturating_sub(2);
    let extra = open_extra(&env, &path)?;
    let shared = Arc::new(Shared {
        env: ManuallyDrop::new(env),
        dbs,
        path,
        key: key.clone(),
        max_name,
        extra,
    });
    reg.insert(key, Arc::downgrade(&shared));
    Ok(shared)
}

/// An error inside heed's database-opening closures (which require `From<heed::Error>`).
enum OpenError {
    Heed(heed::Error),
    Cache(CacheError),
}

impl From<heed::Error> for OpenError {
    fn from(e: heed::Error) -> Self {
        OpenError::Heed(e)
    }
}

impl From<CacheError> for OpenError {
    fn from(e: CacheError) -> Self {
        OpenError::Cache(e)
    }
}

impl OpenError {
    fn into_cache(self, path: &str) -> CacheError {
        match self {
            OpenError::Heed(source) => CacheError::Lmdb {
                path: path.to_owned(),
                source,
            },
            OpenError::Cache(e) => e,
        }
    }
}

/// Opens the databases with a read transaction when they all exist and the schema matches.
fn open_existing(env: &Env<WithoutTls>, path: &str) -> Result<Option<Dbs>, CacheError> {
    let lmdb = |source| CacheError::Lmdb {
        path: path.to_owned(),
        source,
    };
    let rtxn = env.read_txn().map_err(lmdb)?;
    let opened = env
        .open_databases_and_commit(rtxn, |dbo, rtxn| -> Result<_, OpenError> {
            let open = |name| dbo.open_database::<Bytes, Bytes>(rtxn, Some(name));
            let all = (
                open("users")?,
                open("uids")?,
                open("groups")?,
                open("gids")?,
                open("initgroups")?,
                open("stamps")?,
                open("meta")?,
                open("credentials")?,
                open("access")?,
                open("ssh_keys")?,
            );
            let dbs = match all {
                (
                    Some(a),
                    Some(b),
                    Some(c),
                    Some(d),
                    Some(e),
                    Some(f),
                    Some(g),
                    Some(h),
                    Some(i),
                    Some(j),
                ) => (a, b, c, d, e, f, g, h, i, j),
                _ => return Ok(CommitOrAbort::Abort(())),
            };
            match check_version(&dbs.6, rtxn, path)? {
                true => Ok(CommitOrAbort::Commit(dbs)),
                false => Ok(CommitOrAbort::Abort(())),
            }
        })
        .map_err(|e| e.into_cache(path))?;
    Ok(opened.commit().map(dbs_from_tuple))
}

/// Creates the databases (those missing) and records the schema version.
fn create(env: &Env<WithoutTls>, path: &str) -> Result<Dbs, CacheError> {
    let lmdb = |source| CacheError::Lmdb {
        path: path.to_owned(),
        source,
    };
    let wtxn = env.write_txn().map_err(lmdb)?;
    let created = env
        .create_databases_and_commit(wtxn, |dbo, wtxn| -> Result<_, OpenError> {
            let mut create = |name| dbo.create_database::<Bytes, Bytes>(wtxn, Some(name));
            let dbs = (
                create("users")?,
                create("uids")?,
                create("groups")?,
                create("gids")?,
                create("initgroups")?,
                create("stamps")?,
                create("meta")?,
                create("credentials")?,
                create("access")?,
                create("ssh_keys")?,
            );
            if !check_version(&dbs.6, wtxn, path)? {
                dbs.6
                    .put(wtxn, VERSION_KEY, &SCHEMA_VERSION.to_le_bytes())?;
            }
            Ok(CommitOrAbort::<_, ()>::Commit(dbs))
        })
        .map_err(|e| e.into_cache(path))?;
    match created {
        CommitOrAbort::Commit(dbs) => Ok(dbs_from_tuple(dbs)),
        // The closure above never aborts.
        CommitOrAbort::Abort(()) => Err(CacheError::Corrupt {
            path: path.to_owned(),
            key: "databases".into(),
        }),
    }
}

type DbTuple = (Db, Db, Db, Db, Db, Db, Db, Db, Db, Db);

fn dbs_from_tuple(t: DbTuple) -> Dbs {
    let (users, uids, groups, gids, initgroups, stamps, meta, credentials, access, ssh_keys) = t;
    Dbs {
        ssh_keys,
        credentials,
        access,
        users,
        uids,
        groups,
        gids,
        initgroups,
        stamps,
        meta,
    }
}

/// Opens the [`EXTRA_DBS`], creating those missing in one write transaction.
fn open_extra(env: &Env<WithoutTls>, path: &str) -> Result<HashMap<&'static str, Db>, CacheError> {
    let lmdb = |source| CacheError::Lmdb {
        path: path.to_owned(),
        source,
    };
    let rtxn = env.read_txn().map_err(lmdb)?;
    let opened = env
        .open_databases_and_commit(rtxn, |dbo, rtxn| -> Result<_, heed::Error> {
            let mut all = Vec::with_capacity(EXTRA_DBS.len());
            for name in EXTRA_DBS {
                match dbo.open_database::<Bytes, Bytes>(rtxn, Some(name))? {
                    Some(db) => all.push(db),
                    None => return Ok(CommitOrAbort::Abort(())),
                }
            }
            match <[_; EXTRA_DBS.len()]>::try_from(all) {
                Ok(a) => Ok(CommitOrAbort::Commit(a)),
                Err(_) => Ok(CommitOrAbort::Abort(())),
            }
        })
        .map_err(lmdb)?;
    let dbs = match opened.commit() {
        Some(dbs) => dbs,
        None => {
            let wtxn = env.write_txn().map_err(lmdb)?;
            let created = env
                .create_databases_and_commit(wtxn, |dbo, wtxn| -> Result<_, heed::Error> {
                    let mut all = Vec::with_capacity(EXTRA_DBS.len());
                    for name in EXTRA_DBS {
                        all.push(dbo.create_database::<Bytes, Bytes>(wtxn, Some(name))?);
                    }
                    match <[_; EXTRA_DBS.len()]>::try_from(all) {
                        Ok(a) => Ok(CommitOrAbort::Commit(a)),
                        Err(_) => Ok(CommitOrAbort::Abort(())),
                    }
                })
                .map_err(lmdb)?;
            created.commit().ok_or_else(|| CacheError::Corrupt {
                path: path.to_owned(),
                key: "databases".into(),
            })?
        }
    };
    Ok(EXTRA_DBS.iter().copied().zip(dbs).collect())
}

/// `Ok(true)` when the schema version is recorded and is ours, `Ok(false)` when none is
/// recorded, `Err(Version)` for another version.
fn check_version<'e>(
    meta: &Database<'e, Bytes, Bytes>,
    txn: &RoTxn<'_>,
    path: &str,
) -> Result<bool, CacheError> {
    let raw = meta
        .get(txn, VERSION_KEY)
        .map_err(|source| CacheError::Lmdb {
            path: path.to_owned(),
            source,
        })?;
    let Some(raw) = raw else { return Ok(false) };
    let found = <[u8; 4]>::try_from(raw)
        .map(u32::from_le_bytes)
        .map_err(|_| CacheError::Corrupt {
            path: path.to_owned(),
            key: "meta:version".into(),
        })?;
    if found != SCHEMA_VERSION {
        return Err(CacheError::Version {
            path: path.to_owned(),
            found,
            expected: SCHEMA_VERSION,
        });
    }
    Ok(true)
}

/// Overwrites the recorded schema version (tests of version mismatch).
#[cfg(test)]
pub(crate) fn write_version(shared: &Shared, version: u32) -> Result<(), heed::Error> {
    let mut wtxn = shared.env().write_txn()?;
    shared
        .dbs
        .meta
        .put(&mut wtxn, VERSION_KEY, &version.to_le_bytes())?;
    wtxn.commit()
}
