//! glibc's output structs from cache answers: `struct passwd` and `struct group` pointing
//! into the strings a lookup copied to the caller's buffer, and glibc's group array as the
//! destination of an initgroups record's gids.

use std::ffi::c_char;

use libc::{c_long, gid_t};
use sss_proto::memcache::{GidSink, GroupHit, McError, PasswdHit};

use super::Miss;
use crate::initgr::make_room;
use crate::status::NssError;

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
pub struct GlibcRoom<'a> {
    start: c_long,
    size: &'a mut c_long,
    groups: &'a mut *mut gid_t,
    limit: c_long,
    failed: Option<NssError>,
}

impl<'a> GlibcRoom<'a> {
    /// glibc's array: `*groups` holds `*size` gids, `start` of them used.
    ///
    /// # Safety
    /// `*groups` must be NULL or a malloc'd array of at least `*size` gids whose first
    /// `start` are set (glibc's `initgroups_dyn` contract), for the life of the value.
    pub unsafe fn new(
        start: c_long,
        size: &'a mut c_long,
        groups: &'a mut *mut gid_t,
        limit: c_long,
    ) -> GlibcRoom<'a> {
        GlibcRoom {
            start,
            size,
            groups,
            limit,
            failed: None,
        }
    }

    /// Why growing the array failed, if it did.
    pub fn failure(&self) -> Option<NssError> {
        self.failed.clone()
    }
}

impl GidSink for GlibcRoom<'_> {
    fn room(&mut self, num: usize) -> Result<&mut [u32], McError> {
        // SAFETY: the array contract of `GlibcRoom::new`.
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
pub fn fill_passwd(hit: PasswdHit, pwd: &mut libc::passwd, buf: &mut [u8]) -> Result<(), Miss> {
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
pub fn fill_group(hit: GroupHit, grp: &mut libc::group, buf: &mut [u8]) -> Result<(), Miss> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_positions_at_every_alignment_and_length() {
        for len in 0..40usize {
            for seed in 0..5usize {
                let bytes: Vec<u8> = (0..len)
                    .map(|i| {
                        if (i * 7 + seed) % 5 == 0 {
                            0
                        } else {
                            b'a' + (i % 26) as u8
                        }
                    })
                    .collect();
                let want: Vec<usize> = (0..len).filter(|i| bytes[*i] == 0).collect();
                let mut got = Vec::new();
                for_each_nul(&bytes, |i| {
                    got.push(i);
                    Ok::<(), ()>(())
                })
                .unwrap();
                assert_eq!(got, want, "{bytes:?}");
            }
        }
        // High bytes next to zeros (the classic false positive of cheaper tricks).
        let bytes = [0x80u8, 0, 0x01, 0xff, 0x00, 0x7f, 0x80, 0x00, 0x01];
        let mut got = Vec::new();
        for_each_nul(&bytes, |i| {
            got.push(i);
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(got, [1, 4, 7]);
    }

    #[test]
    fn string_starts_needs_exactly_that_many_strings() {
        let mut at = [0usize; 3];
        assert_eq!(string_starts(b"a\0bc\0\0", &mut at), Some(()));
        assert_eq!(at, [0, 2, 5]);
        assert_eq!(string_starts(b"a\0bc\0", &mut at), None);
        assert_eq!(string_starts(b"a\0b\0c\0d\0", &mut at), None);
        assert_eq!(string_starts(b"a\0b\0c", &mut at), None);
    }
}
