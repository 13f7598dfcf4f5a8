//! The exported functions, with SSSD 2.8's contract: the return value is 0 or an errno
//! (the request could not be made: `EINVAL` for a missing name, `ENOENT` and friends when
//! the responder is not there); when 0, `*_error` holds the responder's answer
//! (`SSS_SUDO_ERROR_OK` or an errno such as `ENOENT` for an unknown user) and, when that is
//! OK, `*_result` a new result for [`sss_sudo_free_result`]. No panic crosses this boundary.

use crate::cabi::{self, SssSudoResult, SssSudoRule};
use crate::client::{self, SOCKET_PATH};
use libc::{c_char, c_int, uid_t};
use sss_proto::sudo::{SUDO_GET_DEFAULTS, SUDO_GET_SUDORULES, SudoReply};
use std::ffi::CStr;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Silences the default panic hook (it would print into sudo's stderr).
fn quiet_panics() {
    #[cfg(not(test))]
    {
        static HOOK: std::sync::Once = std::sync::Once::new();
        HOOK.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    }
}

/// The request both entry points make.
///
/// # Safety
/// `username` is NULL or NUL-terminated; `error` and `result` are NULL or writable.
unsafe fn send_recv(
    cmd: u32,
    uid: uid_t,
    username: *const c_char,
    error: *mut u32,
    result: *mut *mut SssSudoResult,
) -> c_int {
    if username.is_null() {
        return libc::EINVAL;
    }
    // SAFETY: non-NULL and NUL-terminated (caller's contract).
    let name = unsafe { CStr::from_ptr(username) }.to_bytes();
    if name.is_empty() {
        return libc::EINVAL;
    }
    if error.is_null() || result.is_null() {
        return libc::EINVAL;
    }
    quiet_panics();
    let socket = sss_client::env::socket_path(c"SSS_SUDO_SOCKET", SOCKET_PATH);
    let deadline = sss_client::deadline_after(sss_client::REQUEST_TIMEOUT);
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        client::request(&socket, cmd, uid, name, deadline)
    }));
    match outcome {
        Ok(Ok(SudoReply::Error(e))) => {
            // SAFETY: checked non-NULL above.
            unsafe { *error = e };
            0
        }
        Ok(Ok(SudoReply::Rules(rules))) => {
            let res = cabi::to_c(&rules);
            if res.is_null() {
                return libc::ENOMEM;
            }
            // SAFETY: checked non-NULL above.
            unsafe {
                *error = 0;
                *result = res;
            }
            0
        }
        Ok(Err(e)) => e.errno(),
        Err(_) => libc::EFAULT,
    }
}

/// `int sss_sudo_send_recv(uid_t uid, const char *username, const char *domainname,
/// uint32_t *_error, struct sss_sudo_result **_result)`: the sudo rules of `username`.
/// `domainname` is ignored, as by SSSD.
///
/// # Safety
/// C caller: `username` NULL or NUL-terminated, `_error`/`_result` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sss_sudo_send_recv(
    uid: uid_t,
    username: *const c_char,
    _domainname: *const c_char,
    _error: *mut u32,
    _result: *mut *mut SssSudoResult,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { send_recv(SUDO_GET_SUDORULES, uid, username, _error, _result) }
}

/// `int sss_sudo_send_recv_defaults(uid_t uid, const char *username, uint32_t *_error,
/// char **_domainname, struct sss_sudo_result **_result)`: the `cn=defaults` rule.
/// `*_domainname` is set to NULL when the call succeeds, as by SSSD 2.8.
///
/// # Safety
/// C caller: `username` NULL or NUL-terminated, the out pointers writable or NULL
/// (`_domainname` may be NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sss_sudo_send_recv_defaults(
    uid: uid_t,
    username: *const c_char,
    _error: *mut u32,
    _domainname: *mut *mut c_char,
    _result: *mut *mut SssSudoResult,
) -> c_int {
    // SAFETY: forwarded caller contract.
    let rc = unsafe { send_recv(SUDO_GET_DEFAULTS, uid, username, _error, _result) };
    // SAFETY: checked for NULL; the caller passed a writable pointer.
    if rc == 0 && !_domainname.is_null() && unsafe { *_error } == 0 {
        unsafe { *_domainname = std::ptr::null_mut() };
    }
    rc
}

/// `void sss_sudo_free_result(struct sss_sudo_result *result)`.
///
/// # Safety
/// `result` is NULL or a result from this library not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sss_sudo_free_result(result: *mut SssSudoResult) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: caller contract.
        unsafe { cabi::free_result(result) }
    }));
}

/// `int sss_sudo_get_values(struct sss_sudo_rule *e, const char *attrname, char ***values)`:
/// a NULL-terminated copy of the values of attribute `attrname` (case-insensitive), to be
/// freed with [`sss_sudo_free_values`]; `ENOENT` when the rule has no such attribute.
///
/// # Safety
/// `e` is a rule of a result from this library; `attrname` NUL-terminated; `values`
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sss_sudo_get_values(
    e: *mut SssSudoRule,
    attrname: *const c_char,
    values: *mut *mut *mut c_char,
) -> c_int {
    if e.is_null() || attrname.is_null() || values.is_null() {
        return libc::EINVAL;
    }
    let r = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: checked non-NULL; caller contract for validity.
        let name = unsafe { CStr::from_ptr(attrname) }.to_bytes();
        // SAFETY: as above.
        unsafe { cabi::get_values(&*e, name) }
    }));
    match r {
        Ok(Ok(v)) => {
            // SAFETY: checked non-NULL.
            unsafe { *values = v };
            0
        }
        Ok(Err(errno)) => errno,
        Err(_) => libc::EFAULT,
    }
}

/// `void sss_sudo_free_values(char **values)`.
///
/// # Safety
/// `values` is NULL or from [`sss_sudo_get_values`], not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sss_sudo_free_values(values: *mut *mut c_char) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: caller contract.
        unsafe { cabi::free_values(values) }
    }));
}
