//! The C interface autofs's `lookup_sss.so` resolves with `dlsym` (SSSD 2.8's
//! `sss_autofs.exports`). Every export catches panics (reported as `EIO`), checks its
//! pointers, and returns an errno (0 on success). Strings handed out are `malloc`ed:
//! autofs frees them with `free`. The context is ours and is freed by
//! `_sss_endautomntent`.

use crate::client;
use crate::maps::{self, Context, State};
use std::ffi::{CStr, c_char, c_int, c_uint, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

/// Protocol version autofs asked for (0 until `_sss_auto_protocol_version` says otherwise).
static PROTOCOL: AtomicU32 = AtomicU32::new(0);

/// The enumeration batch, shared by every context as in SSSD's client.
static STATE: Mutex<State> = Mutex::new(State::new());

/// Runs `f` with the state locked and the socket as transport; panics become `EIO`, and
/// errors are adjusted to the protocol autofs speaks.
fn guarded(f: impl FnOnce(&mut State, &mut maps::Send<'_>) -> c_int) -> c_int {
    let r = catch_unwind(AssertUnwindSafe(|| {
        let mut st = STATE.lock().unwrap_or_else(|p| p.into_inner());
        let path = client::socket_path();
        let mut send = |cmd: u32, body: &[u8]| {
            let deadline = sss_client::deadline_after(sss_client::REQUEST_TIMEOUT);
            client::request(&path, cmd, body, deadline)
        };
        f(&mut st, &mut send)
    }));
    let errno = r.unwrap_or(libc::EIO);
    maps::for_protocol(errno, PROTOCOL.load(Ordering::Relaxed))
}

/// A `malloc`ed NUL-terminated copy of `bytes` (null when out of memory).
fn malloc_cstr(bytes: &[u8]) -> *mut c_char {
    let Some(n) = bytes.len().checked_add(1) else {
        return std::ptr::null_mut();
    };
    // SAFETY: malloc has no preconditions; the result is checked for null.
    let p = unsafe { libc::malloc(n) }.cast::<u8>();
    if p.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: p has room for n = len + 1 bytes and does not overlap `bytes`.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len());
        *p.add(bytes.len()) = 0;
    }
    p.cast()
}

/// Negotiates the protocol: 0 (autofs before 5.1.5: "offline" reads as "no such map") or
/// 1 (every other request).
#[unsafe(no_mangle)]
pub extern "C" fn _sss_auto_protocol_version(requested: c_uint) -> c_uint {
    let v = if requested == 0 { 0 } else { 1 };
    PROTOCOL.store(v, Ordering::Relaxed);
    v
}

/// Starts reading map `mapname`; stores a new context in `*context`.
///
/// # Safety
/// `mapname` is null or a NUL-terminated string; `context` is null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _sss_setautomntent(
    mapname: *const c_char,
    context: *mut *mut c_void,
) -> c_int {
    if mapname.is_null() || context.is_null() {
        return libc::EINVAL;
    }
    // SAFETY: the caller passes a NUL-terminated string.
    let name = unsafe { CStr::from_ptr(mapname) }.to_bytes();
    guarded(|st, send| match maps::setautomntent(st, name, send) {
        Ok(ctx) => {
            // SAFETY: checked non-null above; the caller owns the slot.
            unsafe { *context = Box::into_raw(Box::new(ctx)).cast() };
            0
        }
        Err(e) => e,
    })
}

/// The next entry of the context's map in `*key` and `*value` (`malloc`ed); `ENOENT` with
/// both null at the end of the map.
///
/// # Safety
/// `context` comes from `_sss_setautomntent` and was not ended; `key` and `value` are null
/// or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _sss_getautomntent_r(
    key: *mut *mut c_char,
    value: *mut *mut c_char,
    context: *mut c_void,
) -> c_int {
    if key.is_null() || value.is_null() || context.is_null() {
        return libc::EINVAL;
    }
    // SAFETY: a context made by _sss_setautomntent, not yet ended (the caller's contract).
    let ctx = unsafe { &mut *context.cast::<Context>() };
    guarded(|st, send| match maps::getautomntent(st, ctx, send) {
        Ok(Some((k, v))) => {
            let (kp, vp) = (malloc_cstr(&k), malloc_cstr(&v));
            if kp.is_null() || vp.is_null() {
                // SAFETY: null or from malloc.
                unsafe {
                    libc::free(kp.cast());
                    libc::free(vp.cast());
                }
                return libc::ENOMEM;
            }
            // SAFETY: checked non-null above.
            unsafe {
                *key = kp;
                *value = vp;
            }
            0
        }
        Ok(None) => {
            // SAFETY: checked non-null above.
            unsafe {
                *key = std::ptr::null_mut();
                *value = std::ptr::null_mut();
            }
            libc::ENOENT
        }
        Err(e) => e,
    })
}

/// The value of `key` in the context's map in `*value` (`malloc`ed); `ENOENT` (and null)
/// when the map has no such key.
///
/// # Safety
/// `key` is null or a NUL-terminated string; `value` null or writable; `context` as for
/// `_sss_getautomntent_r`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _sss_getautomntbyname_r(
    key: *const c_char,
    value: *mut *mut c_char,
    context: *mut c_void,
) -> c_int {
    if key.is_null() || value.is_null() || context.is_null() {
        return libc::EINVAL;
    }
    // SAFETY: the caller passes a NUL-terminated string and a live context.
    let (k, ctx) = unsafe { (CStr::from_ptr(key).to_bytes(), &*context.cast::<Context>()) };
    guarded(|_, send| match maps::getautomntbyname(ctx, k, send) {
        Ok(Some(v)) => {
            let p = malloc_cstr(&v);
            if p.is_null() {
                return libc::ENOMEM;
            }
            // SAFETY: checked non-null above.
            unsafe { *value = p };
            0
        }
        Ok(None) => {
            // SAFETY: checked non-null above.
            unsafe { *value = std::ptr::null_mut() };
            libc::ENOENT
        }
        Err(e) => e,
    })
}

/// Ends reading: frees `*context` (and sets it to null) and tells the responder.
///
/// # Safety
/// `context` is null or points to null or to a context from `_sss_setautomntent`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _sss_endautomntent(context: *mut *mut c_void) -> c_int {
    if context.is_null() {
        return 0;
    }
    // SAFETY: the caller's slot; a non-null value came from Box::into_raw above.
    unsafe {
        let p = *context;
        if !p.is_null() {
            drop(Box::from_raw(p.cast::<Context>()));
            *context = std::ptr::null_mut();
        }
    }
    guarded(|st, send| match maps::endautomntent(st, send) {
        Ok(()) => 0,
        Err(e) => e,
    })
}
