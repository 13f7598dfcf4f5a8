//! The responder's set of maps (`passwd`, `group`, `initgroups`): created at start,
//! written after lookups, checked before every write, reset when corrupt, recreated on
//! `sss_cache`'s request.
//!
//! Each map sits behind its own mutex, taken only for the few microseconds of one store or
//! invalidation, never across an await. Recreating the maps for `sss_cache` (file creation,
//! megabytes of filling) runs on a blocking thread: while it holds a map, the event loop
//! skips that map's operations instead of waiting (the map is being replaced by an empty
//! one, so neither a store nor an invalidation is lost).

use super::files;
use super::mapfile::{Health, MapFile};
use super::table::{GroupRecord, MapWriter, PasswdRecord, TableError};
use sss_proto::memcache::{Geometry, MapKind, SharedRegion};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};

/// What the memory cache is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McSettings {
    /// The directory of the map files (`/var/lib/sss/mc`).
    pub dir: PathBuf,
    /// `memcache_timeout`: seconds a record stays valid (0 disables every map).
    pub timeout: u32,
    /// `memcache_size_passwd` in MiB (0 disables the map).
    pub passwd_mib: u32,
    /// `memcache_size_group` in MiB.
    pub group_mib: u32,
    /// `memcache_size_initgroups` in MiB.
    pub initgroups_mib: u32,
}

impl McSettings {
    /// SSSD's defaults under `dir`.
    pub fn new(dir: &Path) -> McSettings {
        McSettings {
            dir: dir.to_path_buf(),
            timeout: 300,
            passwd_mib: MapKind::Passwd.default_mib(),
            group_mib: MapKind::Group.default_mib(),
            initgroups_mib: MapKind::Initgroups.default_mib(),
        }
    }

    /// The geometry of `kind`, or `None` when that map is disabled.
    pub fn geometry(&self, kind: MapKind) -> Option<Geometry> {
        if self.timeout == 0 {
            return None;
        }
        Geometry::for_mib(match kind {
            MapKind::Passwd => self.passwd_mib,
            MapKind::Group => self.group_mib,
            MapKind::Initgroups => self.initgroups_mib,
        })
    }
}

/// One map: its configured geometry and its file (absent when disabled or not created).
#[derive(Debug)]
struct Slot {
    kind: MapKind,
    geo: Option<Geometry>,
    file: Mutex<Option<MapFile>>,
    /// Set while a blocking thread replaces the file.
    replacing: AtomicBool,
}

/// The memory cache of a running `sssd_nss`.
#[derive(Debug)]
pub struct MemCache {
    settings: McSettings,
    slots: [Slot; 3],
}

fn lock(m: &Mutex<Option<MapFile>>) -> MutexGuard<'_, Option<MapFile>> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl MemCache {
    /// Sets up the maps as `sssd_nss` does at start: the directory is created (0775) if
    /// missing, a stale `clear_mc_flag` removed, every map's old file recycled, and the
    /// enabled maps created. A map that cannot be created is logged and left out (lookups
    /// still work through the socket). A `sid` map left by another implementation is
    /// recycled too; none is created (SID lookups are not served).
    pub fn open(settings: McSettings) -> MemCache {
        if let Err(e) = create_dir(&settings.dir) {
            tracing::error!("memory cache directory {}: {e}", settings.dir.display());
        }
        remove_flag(&settings.dir);
        let sid = settings.dir.join("sid");
        if let Err(e) = files::recycle(&sid) {
            tracing::warn!("{}: {e}", sid.display());
        }
        let slot = |kind| Slot {
            kind,
            geo: settings.geometry(kind),
            file: Mutex::new(None),
            replacing: AtomicBool::new(false),
        };
        let mc = MemCache {
            slots: [
                slot(MapKind::Passwd),
                slot(MapKind::Group),
                slot(MapKind::Initgroups),
            ],
            settings,
        };
        for s in &mc.slots {
            *lock(&s.file) = mc.create(s);
        }
        mc
    }

    /// The settings.
    pub fn settings(&self) -> &McSettings {
        &self.settings
    }

    fn slot(&self, kind: MapKind) -> &Slot {
        match kind {
            MapKind::Passwd => &self.slots[0],
            MapKind::Group => &self.slots[1],
            MapKind::Initgroups => &self.slots[2],
        }
    }

    /// A fresh file for `s`, or `None` (disabled: the old file is only recycled).
    fn create(&self, s: &Slot) -> Option<MapFile> {
        let path = files::map_path(&self.settings.dir, s.kind);
        let Some(geo) = s.geo else {
            tracing::info!("fast '{}' mmap cache is disabled", s.kind.label());
            if let Err(e) = files::recycle(&path) {
                tracing::warn!("{}: {e}", path.display());
            }
            return None;
        };
        match MapFile::create(&self.settings.dir, s.kind, geo, self.settings.timeout) {
            Ok(m) => {
                tracing::debug!(
                    "fast '{}' mmap cache: {} slots, records valid {} s",
                    s.kind.label(),
                    geo.slots,
                    self.settings.timeout
                );
                Some(m)
            }
            Err(e) => {
                tracing::error!("cannot create the '{}' mmap cache: {e}", s.kind.label());
                None
            }
        }
    }

    /// Runs `f` on map `kind`'s writer: skipped when the map is disabled or being
    /// replaced; the file is recreated first if it was removed, replaced or resized behind
    /// our back; on corruption a copy is saved and the map is reset.
    fn with<T>(
        &self,
        kind: MapKind,
        f: impl FnOnce(&mut MapWriter<SharedRegion>) -> Result<T, TableError>,
    ) -> Option<T> {
        let s = self.slot(kind);
        let guard = match s.file.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) if s.replacing.load(Ordering::Acquire) => return None,
            Err(TryLockError::WouldBlock) => lock(&s.file),
        };
        self.run(s, guard, f)
    }

    /// [`MemCache::with`] for long operations on a blocking thread: waits for the map and
    /// marks it as being replaced meanwhile, so the event loop skips it instead of waiting.
    fn with_blocking<T>(
        &self,
        kind: MapKind,
        f: impl FnOnce(&mut MapWriter<SharedRegion>) -> Result<T, TableError>,
    ) -> Option<T> {
        let s = self.slot(kind);
        let _mark = Replacing::mark(&s.replacing);
        let guard = lock(&s.file);
        self.run(s, guard, f)
    }

    fn run<T>(
        &self,
        s: &Slot,
        mut guard: MutexGuard<'_, Option<MapFile>>,
        f: impl FnOnce(&mut MapWriter<SharedRegion>) -> Result<T, TableError>,
    ) -> Option<T> {
        let kind = s.kind;
        let health = guard.as_ref()?.health();
        if health != Health::Ok {
            tracing::warn!(
                "the '{}' mmap cache file was {}; creating it again",
                kind.label(),
                if health == Health::Gone {
                    "removed or replaced"
                } else {
                    "resized"
                }
            );
            *guard = None;
            *guard = self.create(s);
        }
        let map = guard.as_mut()?;
        match f(map.writer()) {
            Ok(v) => Some(v),
            Err(TableError::Corrupt(why)) => {
                tracing::error!(
                    "{}: memory cache corrupt ({why}); saving a copy and resetting it",
                    map.path().display()
                );
                match map.save_corrupted() {
                    Ok(p) => tracing::info!("stored a copy of the corrupt map in {}", p.display()),
                    Err(e) => tracing::error!("cannot save the corrupt map: {e}"),
                }
                if let Err(e) = map.writer().reset() {
                    tracing::error!("cannot reset {}: {e}; dropping it", map.path().display());
                    *guard = None;
                    *guard = self.create(s);
                }
                None
            }
            Err(e) => {
                tracing::debug!("'{}' mmap cache: {e}", kind.label());
                None
            }
        }
    }

    /// Stores a passwd entry valid until `now + memcache_timeout`.
    pub fn store_passwd(&self, p: &PasswdRecord<'_>, now: i64) {
        self.with(MapKind::Passwd, |w| w.store_passwd(p, now));
    }

    /// Stores a group entry valid until `now + memcache_timeout`.
    pub fn store_group(&self, g: &GroupRecord<'_>, now: i64) {
        self.with(MapKind::Group, |w| w.store_group(g, now));
    }

    /// Stores an initgroups record: `name` as the client typed it, the user's unique name
    /// `<name>@<domain>`, the gids as replied.
    pub fn store_initgroups(&self, name: &str, unique_name: &str, gids: &[u32], now: i64) {
        self.with(MapKind::Initgroups, |w| {
            w.store_initgroups(name.as_bytes(), unique_name.as_bytes(), gids, now)
        });
    }

    /// Removes the passwd entry named `name`.
    pub fn invalidate_passwd_name(&self, name: &str) {
        self.with(MapKind::Passwd, |w| w.invalidate_name(name.as_bytes()));
    }

    /// Removes the passwd entries with `uid`.
    pub fn invalidate_uid(&self, uid: u32) {
        self.with(MapKind::Passwd, |w| w.invalidate_id(uid));
    }

    /// Removes the group entry named `name`.
    pub fn invalidate_group_name(&self, name: &str) {
        self.with(MapKind::Group, |w| w.invalidate_name(name.as_bytes()));
    }

    /// Removes the group entries with `gid`.
    pub fn invalidate_gid(&self, gid: u32) {
        self.with(MapKind::Group, |w| w.invalidate_id(gid));
    }

    /// Removes the initgroups records stored under the client-typed `name`.
    pub fn invalidate_initgroups_name(&self, name: &str) {
        self.with(MapKind::Initgroups, |w| {
            w.invalidate_initgr_name(name.as_bytes())
        });
    }

    /// Removes the initgroups record of the user with unique name `unique`.
    pub fn invalidate_initgroups_unique(&self, unique: &str) {
        self.with(MapKind::Initgroups, |w| {
            w.invalidate_initgr_unique(unique.as_bytes())
        });
    }

    /// Empties map `kind` in place (the `InvalidateAll*` calls). Fills megabytes: call it
    /// off the event loop.
    pub fn reset(&self, kind: MapKind) {
        self.with_blocking(kind, |w| w.reset());
    }

    /// Replaces every enabled map by a fresh empty file of the same size (old files are
    /// marked RECYCLED and unlinked, so clients drop them). Blocks: call it off the event
    /// loop.
    pub fn recreate_all(&self) {
        for s in &self.slots {
            if s.geo.is_none() {
                continue;
            }
            let _mark = Replacing::mark(&s.replacing);
            let mut guard = lock(&s.file);
            *guard = None; // unmap and close (drops our lock) before recycling
            *guard = self.create(s);
        }
    }

    /// `clearMemcache`: when `sss_cache` left its flag file, recreates the maps and then
    /// deletes the flag (which is what `sss_cache` waits for). Returns whether the flag was
    /// there. Blocks: call it off the event loop.
    pub fn clear_if_flagged(&self) -> bool {
        let flag = files::clear_flag_path(&self.settings.dir);
        match std::fs::symlink_metadata(&flag) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tracing::debug!("no {}: nothing to clear", flag.display());
                return false;
            }
            Err(e) => {
                tracing::error!("{}: {e}", flag.display());
                return false;
            }
        }
        tracing::info!("clearing the memory caches (requested by sss_cache)");
        self.recreate_all();
        remove_flag(&self.settings.dir);
        true
    }
}

/// Sets a map's `replacing` flag for as long as it lives.
struct Replacing<'a>(&'a AtomicBool);

impl<'a> Replacing<'a> {
    fn mark(flag: &'a AtomicBool) -> Replacing<'a> {
        flag.store(true, Ordering::Release);
        Replacing(flag)
    }
}

impl Drop for Replacing<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

fn create_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    match std::fs::symlink_metadata(dir) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o775)
                .create(dir)?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o775))
        }
        Err(e) => Err(e),
    }
}

fn remove_flag(dir: &Path) {
    let flag = files::clear_flag_path(dir);
    match std::fs::remove_file(&flag) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            tracing::error!(
                "cannot remove {}: {e}; the memory cache may be cleared at the next SIGHUP",
                flag.display()
            );
        }
        _ => {}
    }
}

#[cfg(test)]
#[path = "maps_tests.rs"]
mod tests;
