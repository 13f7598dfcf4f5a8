//! Netgroups: `_nss_sss_setnetgrent`, `_nss_sss_getnetgrent_r`, `_nss_sss_endnetgrent`.
//!
//! As SSSD's client: SETNETGRENT returns the whole netgroup; the reply is kept (malloc'd)
//! in glibc's `struct __netgrent` (`data`, `data_size`, `position`) and each
//! `getnetgrent_r` decodes the entry at `position` into the caller's buffer: a triple (an
//! empty part becomes NULL, which glibc reads as a wildcard) or the name of a member
//! netgroup, which glibc then looks up itself (it keeps the names seen, so cycles end).
//! `endnetgrent` frees the reply. Every read of the reply is bounds-checked; a malformed
//! entry is TRYAGAIN with `EBADMSG` and never moves the position.

use std::panic::{AssertUnwindSafe, catch_unwind};

use libc::{c_char, c_int, c_ulong, c_void, size_t};
use sss_proto::Command;
use sss_proto::netgroup::{NetgrEntry, PREFIX_LEN, decode_entry_at};
use sss_proto::nss::MAX_NAME_LEN;

use crate::client::Client;
use crate::env;
use crate::status::{NssError, NssStatus};

/// glibc's `enum { triple_val, group_val }`: a triple.
pub const TRIPLE_VAL: c_int = 0;
/// glibc's `group_val`: a member netgroup.
pub const GROUP_VAL: c_int = 1;

/// glibc's `struct __netgrent` (`nss/netgroup.h`), the fields in their order and types.
#[repr(C)]
#[derive(Debug)]
pub struct NetgrEnt {
    /// `triple_val` or `group_val`.
    pub kind: c_int,
    /// `val`: `triple.host`, `triple.user`, `triple.domain`, or `group` in the first slot.
    pub val: [*const c_char; 3],
    /// Data kept between calls (here: the malloc'd SETNETGRENT reply).
    pub data: *mut c_char,
    /// Its size.
    pub data_size: size_t,
    /// `position` (a union with `cursor`): offset of the next entry in `data`.
    pub position: c_ulong,
    /// `first` (unused by this module).
    pub first: c_int,
    /// glibc's list of netgroups read.
    pub known_groups: *mut c_void,
    /// glibc's list of netgroups still to read.
    pub needed_groups: *mut c_void,
    /// glibc's service handle.
    pub nip: *mut c_void,
}

/// One entry filled into the caller's buffer: offsets of its strings there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filled {
    /// A triple; `None` for an empty part.
    Triple([Option<usize>; 3]),
    /// A member netgroup.
    Group(usize),
}

/// Asks the responder for netgroup `name`: the reply body, [`NssError::NotFound`] when it
/// does not exist (count 0, or a body shorter than its prefix, as SSSD's client reads it).
pub fn fetch(client: &Client, name: &[u8]) -> Result<Vec<u8>, NssError> {
    if name.is_empty() || name.len() > MAX_NAME_LEN || name.contains(&0) {
        return Err(NssError::NotFound);
    }
    let mut req = Vec::with_capacity(name.len() + 1);
    req.extend_from_slice(name);
    req.push(0);
    let body = client.request(Command::SetNetgrent, &req)?;
    let count = body
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_ne_bytes)
        .unwrap_or(0);
    if count == 0 || body.len() < PREFIX_LEN {
        return Err(NssError::NotFound);
    }
    Ok(body)
}

/// Copies `s` and a NUL into `buf` at `*at`; the offset of the copy.
fn put(buf: &mut [u8], at: &mut usize, s: &[u8]) -> Result<usize, NssError> {
    let start = *at;
    let end = start
        .checked_add(s.len())
        .filter(|e| *e < buf.len())
        .ok_or(NssError::Range)?;
    buf.get_mut(start..end)
        .ok_or(NssError::Range)?
        .copy_from_slice(s);
    *buf.get_mut(end).ok_or(NssError::Range)? = 0;
    *at = end + 1;
    Ok(start)
}

/// Fills the entry at offset `pos` of `data` into `buf`: what was filled and the offset of
/// the next entry. [`NssError::BadReply`] for a malformed entry, [`NssError::Range`] when
/// `buf` is too small.
pub fn fill_entry(data: &[u8], pos: usize, buf: &mut [u8]) -> Result<(Filled, usize), NssError> {
    let (e, next) = decode_entry_at(data, pos)?;
    let mut at = 0;
    let filled = match e {
        NetgrEntry::Triple { host, user, domain } => {
            let mut out = [None; 3];
            for (slot, s) in out.iter_mut().zip([host, user, domain]) {
                let off = put(buf, &mut at, s)?;
                *slot = (!s.is_empty()).then_some(off);
            }
            Filled::Triple(out)
        }
        NetgrEntry::Group(g) => Filled::Group(put(buf, &mut at, g)?),
    };
    Ok((filled, next))
}

/// Frees the kept reply and resets the cursor (SSSD's `CLEAR_NETGRENT_DATA`).
fn clear(r: &mut NetgrEnt) {
    if !r.data.is_null() {
        // SAFETY: `data` is only ever set by `setnetgrent` below, from libc::malloc.
        unsafe { libc::free(r.data.cast::<c_void>()) };
    }
    r.data = std::ptr::null_mut();
    r.data_size = 0;
    r.position = 0;
}

fn set_errno(errnop: *mut c_int, e: c_int) {
    if !errnop.is_null() {
        // SAFETY: glibc passes a valid int pointer (usually &errno); NULL was checked.
        unsafe { *errnop = e };
    }
}

fn guarded(errnop: *mut c_int, f: impl FnOnce() -> Result<c_int, NssError>) -> c_int {
    crate::ffi::quiet_panics();
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(code)) => code,
        Ok(Err(e)) => {
            if e.sets_errno() && !matches!(e, NssError::NotFound) {
                set_errno(errnop, e.errno());
            }
            e.status().code()
        }
        Err(_) => {
            set_errno(errnop, libc::EFAULT);
            NssStatus::Unavail.code()
        }
    }
}

/// glibc `setnetgrent` backend: fetches the whole netgroup and keeps it in `result`.
///
/// # Safety
/// `netgroup` is NULL or a C string; `result` is NULL or glibc's `struct __netgrent`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _nss_sss_setnetgrent(
    netgroup: *const c_char,
    result: *mut NetgrEnt,
) -> c_int {
    // SAFETY: glibc's pointer contract.
    let Some(r) = (unsafe { result.as_mut() }) else {
        return NssStatus::Unavail.code();
    };
    guarded(crate::ffi::thread_errno(), || {
        if netgroup.is_null() {
            return Err(NssError::NotFound);
        }
        clear(r);
        // SAFETY: netgroup is a C string; strnlen reads at most MAX_NAME_LEN + 1 bytes.
        let len = unsafe { libc::strnlen(netgroup, MAX_NAME_LEN + 1) };
        if len > MAX_NAME_LEN {
            return Err(NssError::NotFound);
        }
        if env::loops_disabled() {
            return Err(NssError::LoopsDisabled);
        }
        // SAFETY: the first `len` bytes precede the NUL.
        let name = unsafe { std::slice::from_raw_parts(netgroup.cast::<u8>(), len) };
        let body = fetch(&Client::from_env(), name)?;
        // SAFETY: plain allocation of body.len() (> 0) bytes, freed by `clear`.
        let data = unsafe { libc::malloc(body.len()) }.cast::<u8>();
        if data.is_null() {
            return Err(NssError::NoMemory);
        }
        // SAFETY: `data` has room for body.len() bytes and does not overlap `body`.
        unsafe { std::ptr::copy_nonoverlapping(body.as_ptr(), data, body.len()) };
        r.data = data.cast::<c_char>();
        r.data_size = body.len();
        r.position = PREFIX_LEN as c_ulong;
        Ok(NssStatus::Success.code())
    })
}

/// glibc `getnetgrent_r` backend: the next entry of the kept netgroup, RETURN at its end.
///
/// # Safety
/// `result` is glibc's `struct __netgrent` filled by [`_nss_sss_setnetgrent`] (or zeroed);
/// `buffer` is writable for `buflen` bytes; `errnop` a writable int or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _nss_sss_getnetgrent_r(
    result: *mut NetgrEnt,
    buffer: *mut c_char,
    buflen: size_t,
    errnop: *mut c_int,
) -> c_int {
    guarded(errnop, || {
        if buffer.is_null() || buflen == 0 {
            return Err(NssError::Range);
        }
        // SAFETY: glibc's pointer contract.
        let r = unsafe { result.as_mut() }.ok_or(NssError::Invalid)?;
        let pos = usize::try_from(r.position).unwrap_or(usize::MAX);
        if r.data.is_null() || pos >= r.data_size {
            return Ok(NssStatus::Return.code());
        }
        // SAFETY: data/data_size were set together by setnetgrent from one allocation.
        let data = unsafe { std::slice::from_raw_parts(r.data.cast::<u8>(), r.data_size) };
        let len = buflen.min(isize::MAX as usize);
        // SAFETY: the caller's buffer is writable for buflen bytes during the call.
        let buf = unsafe { std::slice::from_raw_parts_mut(buffer.cast::<u8>(), len) };
        let (filled, next) = fill_entry(data, pos, buf)?;
        let at = |off: usize| buffer.wrapping_add(off).cast_const();
        match filled {
            Filled::Triple(parts) => {
                r.kind = TRIPLE_VAL;
                for (slot, p) in r.val.iter_mut().zip(parts) {
                    *slot = p.map_or(std::ptr::null(), at);
                }
            }
            Filled::Group(off) => {
                r.kind = GROUP_VAL;
                r.val = [at(off), std::ptr::null(), std::ptr::null()];
            }
        }
        r.position = next as c_ulong;
        Ok(NssStatus::Success.code())
    })
}

/// glibc `endnetgrent` backend: frees the kept netgroup.
///
/// # Safety
/// `result` is NULL or glibc's `struct __netgrent`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _nss_sss_endnetgrent(result: *mut NetgrEnt) -> c_int {
    guarded(std::ptr::null_mut(), || {
        // SAFETY: glibc's pointer contract.
        if let Some(r) = unsafe { result.as_mut() } {
            clear(r);
        }
        Ok(NssStatus::Success.code())
    })
}

/// Reads `body` as a SETNETGRENT reply the way `getnetgrent_r` walks it, every entry filled
/// into `buf`; how many entries were read (fuzzing and tests). Never panics.
pub fn walk_reply(body: &[u8], buf: &mut [u8]) -> usize {
    let mut pos = PREFIX_LEN;
    let mut n = 0;
    while pos < body.len() {
        match fill_entry(body, pos, buf) {
            Ok((_, next)) if next > pos => {
                pos = next;
                n += 1;
            }
            _ => break,
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{Action, Fake};
    use sss_proto::netgroup::encode_setnetgrent_reply;

    fn sample() -> Vec<u8> {
        encode_setnetgrent_reply(&[
            NetgrEntry::Triple {
                host: b"host1",
                user: b"",
                domain: b"dom",
            },
            NetgrEntry::Group(b"ng2"),
        ])
    }

    #[test]
    fn struct_layout_matches_glibc_x86_64() {
        assert_eq!(std::mem::size_of::<NetgrEnt>(), 88);
        assert_eq!(std::mem::offset_of!(NetgrEnt, val), 8);
        assert_eq!(std::mem::offset_of!(NetgrEnt, data), 32);
        assert_eq!(std::mem::offset_of!(NetgrEnt, data_size), 40);
        assert_eq!(std::mem::offset_of!(NetgrEnt, position), 48);
        assert_eq!(std::mem::offset_of!(NetgrEnt, first), 56);
        assert_eq!(std::mem::offset_of!(NetgrEnt, nip), 80);
    }

    #[test]
    fn entries_fill_the_buffer_and_empty_parts_are_null() {
        let body = sample();
        let mut buf = [0xffu8; 64];
        let (f, next) = fill_entry(&body, PREFIX_LEN, &mut buf).unwrap();
        assert_eq!(f, Filled::Triple([Some(0), None, Some(7)]));
        assert_eq!(&buf[..11], b"host1\0\0dom\0");
        let (f, end) = fill_entry(&body, next, &mut buf).unwrap();
        assert_eq!(f, Filled::Group(0));
        assert_eq!(&buf[..4], b"ng2\0");
        assert_eq!(end, body.len());
        assert_eq!(walk_reply(&body, &mut buf), 2);
        let mut small = [0u8; 10];
        assert_eq!(
            fill_entry(&body, PREFIX_LEN, &mut small),
            Err(NssError::Range)
        );
        assert!(matches!(
            fill_entry(&body, PREFIX_LEN + 1, &mut buf),
            Err(NssError::BadReply(_))
        ));
    }

    #[test]
    fn ffi_walks_the_reply_and_frees_it() {
        let body = sample();
        let mut r: NetgrEnt = unsafe { std::mem::zeroed() };
        // SAFETY: body.len() bytes, freed by endnetgrent below.
        let data = unsafe { libc::malloc(body.len()) }.cast::<u8>();
        unsafe { std::ptr::copy_nonoverlapping(body.as_ptr(), data, body.len()) };
        r.data = data.cast();
        r.data_size = body.len();
        r.position = PREFIX_LEN as c_ulong;
        let mut buf = [0 as c_char; 64];
        let mut errno = 0;
        let get = |r: &mut NetgrEnt, buf: &mut [c_char], errno: &mut c_int| unsafe {
            _nss_sss_getnetgrent_r(r, buf.as_mut_ptr(), buf.len(), errno)
        };
        assert_eq!(get(&mut r, &mut buf, &mut errno), NssStatus::Success.code());
        assert_eq!(r.kind, TRIPLE_VAL);
        assert!(r.val[1].is_null());
        let host = unsafe { std::ffi::CStr::from_ptr(r.val[0]) };
        assert_eq!(host.to_bytes(), b"host1");
        // Too small a buffer: TRYAGAIN/ERANGE and the position stays.
        let before = r.position;
        assert_eq!(
            get(&mut r, &mut buf[..2], &mut errno),
            NssStatus::TryAgain.code()
        );
        assert_eq!((errno, r.position), (libc::ERANGE, before));
        assert_eq!(get(&mut r, &mut buf, &mut errno), NssStatus::Success.code());
        assert_eq!(r.kind, GROUP_VAL);
        let g = unsafe { std::ffi::CStr::from_ptr(r.val[0]) };
        assert_eq!(g.to_bytes(), b"ng2");
        assert_eq!(get(&mut r, &mut buf, &mut errno), NssStatus::Return.code());
        assert_eq!(unsafe { _nss_sss_endnetgrent(&mut r) }, 1);
        assert!(r.data.is_null());
        assert_eq!(get(&mut r, &mut buf, &mut errno), NssStatus::Return.code());
        assert_eq!(unsafe { _nss_sss_endnetgrent(std::ptr::null_mut()) }, 1);
    }

    #[test]
    fn fetch_reads_found_and_not_found_replies() {
        let body = sample();
        let reply = body.clone();
        let fake = Fake::start(move |cmd, req| match (cmd, req) {
            (0x61, b"ng1\0") => Some(Action::reply(0, reply.clone())),
            (0x61, _) => Some(Action::reply(0, vec![0; 8])),
            _ => None,
        });
        let c = Client::new(&fake.path);
        assert_eq!(fetch(&c, b"ng1"), Ok(body));
        assert_eq!(fetch(&c, b"nope"), Err(NssError::NotFound));
        assert_eq!(fetch(&c, b""), Err(NssError::NotFound));
        assert_eq!(fetch(&c, &[b'a'; 300]), Err(NssError::NotFound));
    }

    #[test]
    fn garbage_replies_never_panic_or_overrun() {
        // A deterministic walk over many short garbage bodies and all buffer sizes.
        let mut x: u32 = 0x1234_5678;
        for len in 0..200usize {
            let body: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    // Mostly small values, so types 1/2 and NULs are common.
                    (x % 7) as u8
                })
                .collect();
            for size in [1usize, 3, 8, 64] {
                let mut buf = vec![0u8; size];
                let n = walk_reply(&body, &mut buf);
                assert!(n <= body.len());
            }
        }
    }
}
