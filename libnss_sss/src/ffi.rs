//! The exported glibc NSS entry points (`_nss_sss_*`). Each one converts the C arguments,
//! calls the core and maps the result to an `nss_status` plus `*errnop`, with SSSD's rules:
//! single lookups try the memory cache first and check `_SSS_LOOPS` only before asking the
//! responder; SUCCESS and NOTFOUND leave `*errnop` 0; a NULL or over-long name is NOTFOUND
//! with `EINVAL`; a NULL or empty buffer is TRYAGAIN with `ERANGE`.
//! No panic crosses this boundary: every body runs under `catch_unwind` (UNAVAIL/EFAULT).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

use libc::{c_char, c_int, c_long, gid_t, size_t, uid_t};
use sss_proto::nss::MAX_NAME_LEN;

use crate::client::Client;
use crate::enumerate::{Enumeration, GroupKind, PasswdKind};
use crate::nss::Nss;
use crate::status::{NssError, NssStatus};
use crate::{env, initgr, lookup};

static PW_ENUM: Enumeration<PasswdKind> = Enumeration::new();
static GR_ENUM: Enumeration<GroupKind> = Enumeration::new();

/// Silences the default panic hook (it would print into the host program's stderr).
pub(crate) fn quiet_panics() {
    #[cfg(not(test))]
    {
        static HOOK: Once = Once::new();
        HOOK.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    }
    #[cfg(test)]
    let _ = Once::new;
}

fn set_errno(errnop: *mut c_int, e: c_int) {
    if !errnop.is_null() {
        // SAFETY: glibc passes a valid int pointer (usually &errno); NULL was checked.
        unsafe { *errnop = e };
    }
}

pub(crate) fn thread_errno() -> *mut c_int {
    // SAFETY: __errno_location always returns this thread's errno.
    unsafe { libc::__errno_location() }
}

/// Runs one single-entry lookup: panic guard, status/errno mapping (`*errnop` = 0 on
/// success, as SSSD's client leaves it; untouched for `_SSS_LOOPS=NO`).
pub(crate) fn run_lookup(
    errnop: *mut c_int,
    f: impl FnOnce(&Nss<'static>) -> Result<(), NssError>,
) -> c_int {
    quiet_panics();
    let res = catch_unwind(AssertUnwindSafe(|| f(&Nss::system())));
    match res {
        Ok(Ok(())) => {
            set_errno(errnop, 0);
            NssStatus::Success.code()
        }
        Ok(Err(e)) => {
            if e.sets_errno() {
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

/// TRYAGAIN/ERANGE for a NULL or empty buffer, before anything else (as SSSD).
pub(crate) fn check_buffer(buffer: *mut c_char, buflen: size_t) -> Result<(), NssError> {
    if buffer.is_null() || buflen == 0 {
        return Err(NssError::Range);
    }
    Ok(())
}

/// Runs one enumeration entry point: anti-recursion check, panic guard, status/errno mapping.
pub(crate) fn run(errnop: *mut c_int, f: impl FnOnce(&Client) -> Result<(), NssError>) -> c_int {
    quiet_panics();
    let res = catch_unwind(AssertUnwindSafe(|| {
        if env::loops_disabled() {
            return Some(NssStatus::NotFound.code());
        }
        let client = Client::from_env();
        match f(&client) {
            Ok(()) => None,
            Err(e) => {
                set_errno(errnop, e.errno());
                Some(e.status().code())
            }
        }
    }));
    match res {
        Ok(None) => NssStatus::Success.code(),
        Ok(Some(code)) => code,
        Err(_) => {
            set_errno(errnop, libc::EFAULT);
            NssStatus::Unavail.code()
        }
    }
}

/// The bytes of a C name; [`NssError::BadName`] (NOTFOUND/EINVAL, as SSSD) if NULL or longer
/// than LOGIN_NAME_MAX (never reads further).
///
/// # Safety
/// `p` is NULL or a NUL-terminated string valid for the call.
pub(crate) unsafe fn name_arg<'a>(p: *const c_char) -> Result<&'a [u8], NssError> {
    if p.is_null() {
        return Err(NssError::BadName);
    }
    // SAFETY: p is a valid C string; strnlen reads at most MAX_NAME_LEN + 1 bytes.
    let len = unsafe { libc::strnlen(p, MAX_NAME_LEN + 1) };
    if len > MAX_NAME_LEN {
        return Err(NssError::BadName);
    }
    // SAFETY: the first `len` bytes are readable (they precede the NUL).
    Ok(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) })
}

/// The caller's buffer as a byte slice.
///
/// # Safety
/// `p` is NULL or valid for writes of `len` bytes for the call.
pub(crate) unsafe fn buffer_arg<'a>(p: *mut c_char, len: size_t) -> Result<&'a mut [u8], NssError> {
    if len == 0 {
        return Ok(&mut []);
    }
    if p.is_null() {
        return Err(NssError::Invalid);
    }
    let len = len.min(isize::MAX as usize);
    // SAFETY: caller contract: p is writable for len bytes and not aliased during the call.
    Ok(unsafe { std::slice::from_raw_parts_mut(p.cast::<u8>(), len) })
}

/// # Safety
/// `p` is NULL or valid for writes for the call.
pub(crate) unsafe fn out_arg<'a, T>(p: *mut T) -> Result<&'a mut T, NssError> {
    // SAFETY: caller contract.
    unsafe { p.as_mut() }.ok_or(NssError::Invalid)
}

/// glibc `getpwnam_r` backend.
///
/// # Safety
/// Pointers as glibc passes them: `name` a C string, `result` a writable `struct passwd`,
/// `buffer` writable for `buflen` bytes, `errnop` a writable int (or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _nss_sss_getpwnam_r(
    name: *const c_char,
    result: *mut libc::passwd,
    buffer: *mut c_char,
    buflen: size_t,
    errnop: *mut c_int,
) -> c_int {
    run_lookup(errnop, |nss| {
        check_buffer(buffer, buflen)?;
        // SAFETY: glibc's pointer contract, see above.
        let (name, pwd, buf) = unsafe {
            (
                name_arg(name)?,
                out_arg(result)?,
                buffer_arg(buffer, buflen)?,
            )
        };
        lookup::getpwnam(nss, name, pwd, buf)
    })
}

/// glibc `getpwuid_r` backend.
///
/// # Safety
/// As for [`_nss_sss_getpwnam_r`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _nss_sss_getpwuid_r(
    uid: uid_t,
    result: *mut libc::passwd,
    buffer: *mut c_char,
    buflen: size_t,
    errnop: *mut c_int,
) -> c_int {
    run_lookup(errnop, |nss| {
        check_buffer(buffer, buflen)?;
        // SAFETY: glibc's pointer contract.
        let (pwd, buf) = unsafe { (out_arg(result)?, buffer_arg(buffer, buflen)?) };
        lookup::getpwuid(nss, uid, pwd, buf)
    })
}

/// glibc `setpwent` backend.
#[unsafe(no_mangle)]
pub extern "C" fn _nss_sss_setpwent() -> c_int {
    run(thread_errno(), |c| PW_ENUM.setent(c))
}

/// glibc `getpwent_r` backend.
///
/// # Safety
/// As for [`_nss_sss_getpwnam_r`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _nss_sss_getpwent_r(
    result: *mut libc::passwd,
    buffer: *mut c_char,
    buflen: size_t,
    errnop: *mut c_int,
) -> c_int {
    run(errnop, |c| {
        // SAFETY: glibc's pointer contract.
        let (pwd, buf) = unsafe { (out_arg(result)?, buffer_arg(buffer, buflen)?) };
        PW_ENUM.getent(c, pwd, buf)
    })
}

/// glibc `endpwent` backend.
#[unsafe(no_mangle)]
pub extern "C" fn _nss_sss_endpwent() -> c_int {
    run(thread_errno(), |c| PW_ENUM.endent(c))
}

/// glibc `getgrnam_r` backend.
///
/// # Safety
/// As for [`_nss_sss_getpwnam_r`], with a writable `struct group`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _nss_sss_getgrnam_r(
    name: *const c_char,
    result: *mut libc::group,
    buffer: *mut c_char,
    buflen: size_t,
    errnop: *mut c_int,
) -> c_int {
    run_lookup(errnop, |nss| {
        check_buffer(buffer, buflen)?;
        // SAFETY: glibc's pointer contract.
        let (name, grp, buf) = unsafe {
            (
                name_arg(name)?,
                out_arg(result)?,
                buffer_arg(buffer, buflen)?,
            )
        };
        lookup::getgrnam(nss, name, grp, buf)
    })
}

/// glibc `getgrgid_r` backend.
///
/// # Safety
/// As for [`_nss_sss_getgrnam_r`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _nss_sss_getgrgid_r(
    gid: gid_t,
    result: *mut libc::group,
    buffer: *mut c_char,
    buflen: size_t,
    errnop: *mut c_int,
) -> c_int {
    run_lookup(errnop, |nss| {
        check_buffer(buffer, buflen)?;
        // SAFETY: glibc's pointer contract.
        let (grp, buf) = unsafe { (out_arg(result)?, buffer_arg(buffer, buflen)?) };
        lookup::getgrgid(nss, gid, grp, buf)
    })
}

/// glibc `setgrent` backend.
#[unsafe(no_mangle)]
pub extern "C" fn _nss_sss_setgrent() -> c_int {
    run(thread_errno(), |c| GR_ENUM.setent(c))
}

/// glibc `getgrent_r` backend.
///
/// # Safety
/// As for [`_nss_sss_getgrnam_r`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _nss_sss_getgrent_r(
    result: *mut libc::group,
    buffer: *mut c_char,
    buflen: size_t,
    errnop: *mut c_int,
) -> c_int {
    run(errnop, |c| {
        // SAFETY: glibc's pointer contract.
        let (grp, buf) = unsafe { (out_arg(result)?, buffer_arg(buffer, buflen)?) };
        GR_ENUM.getent(c, grp, buf)
    })
}

/// glibc `endgrent` backend.
#[unsafe(no_mangle)]
pub extern "C" fn _nss_sss_endgrent() -> c_int {
    run(thread_errno(), |c| GR_ENUM.endent(c))
}

/// glibc `initgroups_dyn` backend: appends `user`'s gids (all of them, `group` included, as
/// SSSD) to `*groups`, growing it with `realloc` up to `limit` entries (`limit <= 0`: no
/// limit).
///
/// # Safety
/// `user` a C string; `start`, `size` writable; `*groups` a `malloc`'d array of `*size` gids
/// whose first `*start` are set; `errnop` writable (or NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _nss_sss_initgroups_dyn(
    user: *const c_char,
    group: gid_t,
    start: *mut c_long,
    size: *mut c_long,
    groups: *mut *mut gid_t,
    limit: c_long,
    errnop: *mut c_int,
) -> c_int {
    // SSSD ignores the primary group too: every gid of the record or reply is appended.
    let _ = group;
    run_lookup(errnop, |nss| {
        // SAFETY: glibc's pointer contract.
        let (user, start, size, groups) = unsafe {
            (
                name_arg(user)?,
                out_arg(start)?,
                out_arg(size)?,
                out_arg(groups)?,
            )
        };
        // SAFETY: glibc's array contract (malloc'd, *size capacity, *start used).
        unsafe { initgr::initgroups_dyn(nss, user, start, size, groups, limit) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;

    #[test]
    fn panics_become_unavail_efault() {
        let mut err = 0;
        let rc = run(&mut err, |_| panic!("boom"));
        assert_eq!((rc, err), (NssStatus::Unavail.code(), libc::EFAULT));
    }

    #[test]
    fn errors_set_errnop_and_success_leaves_it() {
        let mut err = 0;
        assert_eq!(run(&mut err, |_| Err(NssError::Range)), -2);
        assert_eq!(err, libc::ERANGE);
        let mut err = 7;
        assert_eq!(run(&mut err, |_| Ok(())), 1);
        assert_eq!(err, 7);
        assert_eq!(run(std::ptr::null_mut(), |_| Err(NssError::NotFound)), 0);
    }

    #[test]
    fn lookups_leave_errnop_zero_on_success_and_notfound() {
        let mut err = 7;
        assert_eq!(run_lookup(&mut err, |_| Ok(())), 1);
        assert_eq!(err, 0);
        let mut err = 7;
        assert_eq!(run_lookup(&mut err, |_| Err(NssError::NotFound)), 0);
        assert_eq!(err, 0);
        let mut err = 7;
        assert_eq!(run_lookup(&mut err, |_| Err(NssError::BadName)), 0);
        assert_eq!(err, libc::EINVAL);
        let mut err = 7;
        assert_eq!(run_lookup(&mut err, |_| Err(NssError::LoopsDisabled)), 0);
        assert_eq!(err, 7, "_SSS_LOOPS=NO leaves *errnop alone");
        let mut err = 0;
        assert_eq!(run_lookup(&mut err, |_| panic!("boom")), -1);
        assert_eq!(err, libc::EFAULT);
    }

    #[test]
    fn argument_errors_come_in_sssd_order() {
        let long = CString::new(vec![b'x'; MAX_NAME_LEN + 1]).unwrap();
        // SAFETY: plain C structs; all-zero is valid.
        let (mut pwd, mut grp): (libc::passwd, libc::group) =
            unsafe { (std::mem::zeroed(), std::mem::zeroed()) };
        let mut buf = [0 as c_char; 64];
        let mut err = 0;
        // SAFETY: valid or NULL pointers as each case says; nothing here reaches the cache
        // or the socket.
        unsafe {
            // No buffer: TRYAGAIN/ERANGE, even before the name is looked at.
            let rc =
                _nss_sss_getpwnam_r(long.as_ptr(), &mut pwd, std::ptr::null_mut(), 64, &mut err);
            assert_eq!((rc, err), (-2, libc::ERANGE));
            let rc = _nss_sss_getgrgid_r(1, &mut grp, buf.as_mut_ptr(), 0, &mut err);
            assert_eq!((rc, err), (-2, libc::ERANGE));
            let rc = _nss_sss_getpwuid_r(1, &mut pwd, std::ptr::null_mut(), 0, &mut err);
            assert_eq!((rc, err), (-2, libc::ERANGE));
            // Over-long or NULL name: NOTFOUND/EINVAL.
            let rc = _nss_sss_getpwnam_r(long.as_ptr(), &mut pwd, buf.as_mut_ptr(), 64, &mut err);
            assert_eq!((rc, err), (0, libc::EINVAL));
            err = 0;
            let rc =
                _nss_sss_getgrnam_r(std::ptr::null(), &mut grp, buf.as_mut_ptr(), 64, &mut err);
            assert_eq!((rc, err), (0, libc::EINVAL));
            let (mut start, mut size, mut groups) = (0, 0, std::ptr::null_mut());
            err = 0;
            let rc = _nss_sss_initgroups_dyn(
                long.as_ptr(),
                0,
                &mut start,
                &mut size,
                &mut groups,
                -1,
                &mut err,
            );
            assert_eq!((rc, err, start, size), (0, libc::EINVAL, 0, 0));
            assert!(groups.is_null());
        }
    }

    #[test]
    fn name_argument_bounds() {
        let ok = CString::new("alice").unwrap();
        // SAFETY: valid C strings.
        unsafe {
            assert_eq!(name_arg(ok.as_ptr()), Ok(b"alice".as_slice()));
            let long = CString::new(vec![b'x'; MAX_NAME_LEN + 1]).unwrap();
            assert_eq!(name_arg(long.as_ptr()), Err(NssError::BadName));
            let max = CString::new(vec![b'x'; MAX_NAME_LEN]).unwrap();
            assert_eq!(name_arg(max.as_ptr()).map(<[u8]>::len), Ok(MAX_NAME_LEN));
            assert_eq!(name_arg(std::ptr::null()), Err(NssError::BadName));
            assert_eq!(
                buffer_arg(std::ptr::null_mut(), 10).err(),
                Some(NssError::Invalid)
            );
            assert_eq!(buffer_arg(std::ptr::null_mut(), 0).map(|b| b.len()), Ok(0));
        }
    }

    #[test]
    fn null_result_pointer_is_unavail_einval() {
        let mut err = 0;
        let name = CString::new("alice").unwrap();
        let mut buf = [0 as c_char; 16];
        // SAFETY: NULL result is handled; other pointers valid.
        let rc = unsafe {
            _nss_sss_getpwnam_r(
                name.as_ptr(),
                std::ptr::null_mut(),
                buf.as_mut_ptr(),
                16,
                &mut err,
            )
        };
        assert_eq!((rc, err), (NssStatus::Unavail.code(), libc::EINVAL));
    }
}
