//! The memory-cache reader: answers passwd, group and initgroups lookups from SSSD's mmap
//! cache files (`/var/lib/sss/mc/{passwd,group,initgroups}`) without talking to the
//! responder.
//!
//! `mapping` keeps each file mapped and shared by all threads; the lookups themselves are
//! [`sss_proto::memcache::Table`]'s (bounds-checked, barrier-protected copies straight into
//! the caller's buffer). This module fills glibc's structs from the copied strings. Any
//! answer other than a hit or "buffer too small" means "ask the responder".

mod mapping;
mod sys;
#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod testwriter;

use std::ffi::{CString, c_char};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

use libc::{c_long, gid_t};
use sss_proto::memcache::{GidSink, GroupHit, McError, PasswdHit, SharedRegion, Table};

pub use mapping::{MapFile, Unusable};

use crate::env;
#[cfg(doc)]
use crate::initgr::append_gids;
use crate::initgr::make_room;
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
        let table = Table::new(&region, guard.mapping().header())?;
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
        let mut room = GlibcRoom {
            start: *start,
            size,
            groups,
            limit,
            failed: None,
        };
        let res = Self::with_table(&self.initgroups, |t, now| {
            t.initgroups_into(user, now, &mut room)
        });
        match (res, room.failed) {
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

/// Calls `f` with the index of every NUL in `bytes`, in order, eight bytes at a time (a
/// group of 5,000 members has that many strings: no per-byte branch, no per-string call).
fn for_each_nul<E>(bytes: &[u8], mut f: impl FnMut(usize) -> Result<(), E>) -> Result<(), E> {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for w in &mut words {
        let mut le = [0u8; 8];
        le.copy_from_slice(w);
        let v = u64::from_le_bytes(le);
        // 0x80 in exactly the bytes that are zero.
        let mut zeros = !(((v & LOW7).wrapping_add(LOW7)) | v | LOW7);
        while zeros != 0 {
            f(at + (zeros.trailing_zeros() / 8) as usize)?;
            zeros &= zeros - 1;
        }
        at += 8;
    }
    for (i, b) in words.remainder().iter().enumerate() {
        if *b == 0 {
            f(at + i)?;
        }
    }
    Ok(())
}

/// glibc's group array as the place [`Table::initgroups_into`] copies gids to, grown by
/// SSSD's rule ([`make_room`]) once the record's gid count is known.
struct GlibcRoom<'a> {
    start: c_long,
    size: &'a mut c_long,
    groups: &'a mut *mut gid_t,
    limit: c_long,
    failed: Option<NssError>,
}

impl GidSink for GlibcRoom<'_> {
    fn room(&mut self, num: usize) -> Result<&mut [u32], McError> {
        // SAFETY: the array contract of `MemCache::initgroups`' caller.
        let take = unsafe { make_room(self.start, self.size, self.groups, num, self.limit) }
            .map_err(|e| {
                self.failed = Some(e);
                McError::Corrupt("caller's group array")
            })?;
        if take == 0 {
            return Ok(&mut []);
        }
        let used = usize::try_from(self.start).map_err(|_| McError::Corrupt("group count"))?;
        // SAFETY: make_room left at least used + take entries at *groups (non-NULL, since
        // take > 0 means it holds entries); gid_t is u32.
        Ok(unsafe { std::slice::from_raw_parts_mut((*self.groups).add(used), take) })
    }
}

/// Offsets of the NUL-terminated strings that fill `strs` exactly, into `out`; `None` unless
/// there are exactly `out.len()` of them.
fn string_starts(strs: &[u8], out: &mut [usize]) -> Option<()> {
    let mut n = 0;
    let mut start = 0;
    for_each_nul(strs, |i| {
        *out.get_mut(n).ok_or(())? = start;
        n += 1;
        start = i + 1;
        Ok::<(), ()>(())
    })
    .ok()?;
    (n == out.len() && start == strs.len()).then_some(())
}

/// Points `pwd` at the five strings the lookup copied to the start of `buf`.
fn fill_passwd(hit: PasswdHit, pwd: &mut libc::passwd, buf: &mut [u8]) -> Result<(), Miss> {
    let bad = Miss::Lookup(McError::Corrupt("passwd strings"));
    let mut at = [0usize; 5];
    let strs = buf.get(..hit.strs_len).ok_or(bad)?;
    string_starts(strs, &mut at).ok_or(bad)?;
    let base = buf.as_mut_ptr();
    let p = |i: usize| base.wrapping_add(i).cast::<c_char>();
    let [name, passwd, gecos, dir, shell] = at;
    pwd.pw_name = p(name);
    pwd.pw_passwd = p(passwd);
    pwd.pw_uid = hit.uid;
    pwd.pw_gid = hit.gid;
    pwd.pw_gecos = p(gecos);
    pwd.pw_dir = p(dir);
    pwd.pw_shell = p(shell);
    Ok(())
}

/// Points `grp` at the strings the lookup copied to the start of `buf` and builds the
/// NULL-terminated member array right after them (aligned); `Range` if it does not fit.
fn fill_group(hit: GroupHit, grp: &mut libc::group, buf: &mut [u8]) -> Result<(), Miss> {
    const W: usize = std::mem::size_of::<*mut c_char>();
    let range = Miss::Lookup(McError::Range);
    let bad = Miss::Lookup(McError::Corrupt("group strings"));
    let members = hit.members as usize;
    let (strs, rest) = buf.split_at_mut_checked(hit.strs_len).ok_or(bad)?;
    let pad = rest
        .as_ptr()
        .align_offset(std::mem::align_of::<*mut c_char>());
    let array_len = members
        .checked_add(1)
        .and_then(|n| n.checked_mul(W))
        .ok_or(range)?;
    let end = pad.checked_add(array_len).ok_or(range)?;
    let array = rest.get_mut(pad..end).ok_or(range)?;
    let cells = array.as_mut_ptr().cast::<*mut c_char>();
    let base = strs.as_mut_ptr();
    let mut name = std::ptr::null_mut();
    let mut passwd = std::ptr::null_mut();
    let mut seen = 0usize;
    let mut start = 0;
    for_each_nul(strs, |i| {
        let p = base.wrapping_add(start).cast::<c_char>();
        start = i + 1;
        match seen {
            0 => name = p,
            1 => passwd = p,
            k => {
                let m = k - 2;
                if m >= members {
                    return Err(bad);
                }
                // SAFETY: `array` holds members + 1 pointer-aligned cells; m < members.
                unsafe { cells.add(m).write(p) };
            }
        }
        seen += 1;
        Ok(())
    })?;
    if seen != members + 2 || start != strs.len() {
        return Err(bad);
    }
    // SAFETY: the last of the members + 1 cells.
    unsafe { cells.add(members).write(std::ptr::null_mut()) };
    grp.gr_name = name;
    grp.gr_passwd = passwd;
    grp.gr_gid = hit.gid;
    grp.gr_mem = cells;
    Ok(())
}
