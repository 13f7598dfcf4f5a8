//! The memory-cache reader: answers passwd, group and initgroups lookups from SSSD's mmap
//! cache files (`/var/lib/sss/mc/{passwd,group,initgroups}`) without talking to the
//! responder.
//!
//! `mapping` keeps each file mapped and shared by all threads; the lookups themselves are
//! [`sss_proto::memcache::Table`]'s (bounds-checked, barrier-protected copies straight into
//! the caller's buffer). This module fills glibc's structs from the copied strings. Any
//! answer other than a hit or "buffer too small" means "ask the responder".

mod fill;
mod mapping;
mod sys;
#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod testwriter;

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

use libc::{c_long, gid_t};
use sss_proto::memcache::{McError, SharedRegion, Table};

pub use mapping::{MapFile, Unusable};

use fill::{GlibcRoom, fill_group, fill_passwd};

use crate::env;
#[cfg(doc)]
use crate::initgr::append_gids;
use crate::status::NssError;

/// Where SSSD keeps the cache files.
pub const SYSTEM_DIR: &str = "/var/lib/sss/mc";

/// How often a missing or unusable file is looked for again.
pub const REOPEN_PERIOD: Duration = Duration::from_secs(1);

const REOPEN_NS: u64 = REOPEN_PERIOD.as_nanos() as u64;

/// The process-wide reader of the system cache (in [`SYSTEM_DIR`]).
pub static SYSTEM: MemCache = MemCache {
    passwd: MapFile::at_static(c"/var/lib/sss/mc/passwd", REOPEN_NS),
    group: MapFile::at_static(c"/var/lib/sss/mc/group", REOPEN_NS),
    initgroups: MapFile::at_static(c"/var/lib/sss/mc/initgroups", REOPEN_NS),
};

/// Why a lookup was not answered from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    /// The file could not be used for this call.
    Unusable(Unusable),
    /// The file was used; the lookup gave this. [`McError::Range`] is the only one glibc
    /// must see (TRYAGAIN/ERANGE); the rest send the caller to the responder.
    Lookup(McError),
    /// Growing the caller's group array failed.
    NoMemory,
}

impl From<Unusable> for Miss {
    fn from(u: Unusable) -> Miss {
        Miss::Unusable(u)
    }
}

impl From<McError> for Miss {
    fn from(e: McError) -> Miss {
        Miss::Lookup(e)
    }
}

/// The three cache files of one directory.
#[derive(Debug)]
pub struct MemCache {
    passwd: MapFile,
    group: MapFile,
    initgroups: MapFile,
}

impl MemCache {
    /// The cache files in `dir`, looked for again at most once per `period` while missing
    /// or unusable (tests point this at a temporary directory).
    pub fn in_dir(dir: &Path, period: Duration) -> MemCache {
        let file = |name: &str| {
            let p = dir.join(name);
            // A path from `Path` has no interior NUL unless the caller built one: such a
            // file can never be opened, which is what an empty path gives too.
            MapFile::at(
                CString::new(p.as_os_str().as_bytes()).unwrap_or_default(),
                period,
            )
        };
        MemCache {
            passwd: file("passwd"),
            group: file("group"),
            initgroups: file("initgroups"),
        }
    }

    /// Runs `f` on the checked tables of `map` with the current time.
    fn with_table<T>(
        map: &MapFile,
        f: impl FnOnce(&Table<'_, SharedRegion>, i64) -> Result<T, McError>,
    ) -> Result<T, Miss> {
        if env::memcache_disabled() {
            return Err(Miss::Unusable(Unusable::Disabled));
        }
        let guard = map.enter()?;
        let region = guard.mapping().region();
        let table = guard.mapping().table(&region);
        Ok(f(&table, sys::wall_seconds())?)
    }

    /// `getpwnam` from the cache: strings in `buf`, `pwd` pointing into them.
    pub fn passwd_by_name(
        &self,
        name: &[u8],
        pwd: &mut libc::passwd,
        buf: &mut [u8],
    ) -> Result<(), Miss> {
        let hit = Self::with_table(&self.passwd, |t, now| t.passwd_by_name(name, now, buf))?;
        fill_passwd(hit, pwd, buf)
    }

    /// `getpwuid` from the cache.
    pub fn passwd_by_uid(
        &self,
        uid: u32,
        pwd: &mut libc::passwd,
        buf: &mut [u8],
    ) -> Result<(), Miss> {
        let hit = Self::with_table(&self.passwd, |t, now| t.passwd_by_uid(uid, now, buf))?;
        fill_passwd(hit, pwd, buf)
    }

    /// `getgrnam` from the cache: strings at the start of `buf`, then the member array.
    pub fn group_by_name(
        &self,
        name: &[u8],
        grp: &mut libc::group,
        buf: &mut [u8],
    ) -> Result<(), Miss> {
        let hit = Self::with_table(&self.group, |t, now| t.group_by_name(name, now, buf))?;
        fill_group(hit, grp, buf)
    }

    /// `getgrgid` from the cache.
    pub fn group_by_gid(
        &self,
        gid: u32,
        grp: &mut libc::group,
        buf: &mut [u8],
    ) -> Result<(), Miss> {
        let hit = Self::with_table(&self.group, |t, now| t.group_by_gid(gid, now, buf))?;
        fill_group(hit, grp, buf)
    }

    /// `initgroups_dyn` from the cache: appends the record's gids to glibc's array as
    /// [`append_gids`] does for a responder reply, copying them straight from the file.
    ///
    /// # Safety
    /// As for [`append_gids`].
    pub unsafe fn initgroups(
        &self,
        user: &[u8],
        start: &mut c_long,
        size: &mut c_long,
        groups: &mut *mut gid_t,
        limit: c_long,
    ) -> Result<(), Miss> {
        // SAFETY: caller contract (glibc's array).
        let mut room = unsafe { GlibcRoom::new(*start, size, groups, limit) };
        let res = Self::with_table(&self.initgroups, |t, now| {
            t.initgroups_into(user, now, &mut room)
        });
        match (res, room.failure()) {
            (Ok(n), _) => {
                *start = c_long::try_from(n)
                    .ok()
                    .and_then(|n| start.checked_add(n))
                    .ok_or(Miss::Lookup(McError::Corrupt("group count")))?;
                Ok(())
            }
            (Err(_), Some(NssError::NoMemory)) => Err(Miss::NoMemory),
            (Err(e), _) => Err(e),
        }
    }

    /// Test hook: the map file of `kind`.
    #[cfg(test)]
    pub fn map(&self, kind: sss_proto::memcache::MapKind) -> &MapFile {
        use sss_proto::memcache::MapKind;
        match kind {
            MapKind::Passwd => &self.passwd,
            MapKind::Group => &self.group,
            MapKind::Initgroups => &self.initgroups,
        }
    }
}
