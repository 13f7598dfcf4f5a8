//! `proxy_child` in PAM mode: runs one PAM transaction against `proxy_pam_target` through
//! libpam (dlopened `libpam.so.0`), as an application would, answering password prompts
//! with the token the backend handed over. As SSSD's proxy_child: a password change first
//! authenticates with the old password, then the first prompt of `pam_chauthtok` gets the
//! old password and every later one the new; unlike SSSD, a prompt that names the new
//! password ("New password:") gets the new one even first, as modules running as root
//! (pam_unix) ask for no old password.

use libc::{c_char, c_int, c_void};
use sss_proto::proxy::{PamOp, PamReply, PamRequest};
use std::ffi::{CStr, CString};
use zeroize::Zeroizing;

const PAM_SUCCESS: c_int = 0;
const PAM_SYSTEM_ERR: c_int = 4;
const PAM_CONV_ERR: c_int = 19;
const PAM_ABORT: c_int = 26;
const PAM_TTY: c_int = 3;
const PAM_RUSER: c_int = 8;
const PAM_RHOST: c_int = 4;
const PAM_PROMPT_ECHO_OFF: c_int = 1;
const PAM_ERROR_MSG: c_int = 3;
const PAM_TEXT_INFO: c_int = 4;

#[repr(C)]
struct PamMessage {
    msg_style: c_int,
    msg: *const c_char,
}

#[repr(C)]
struct PamResponse {
    resp: *mut c_char,
    resp_retcode: c_int,
}

type ConvFn = unsafe extern "C" fn(
    c_int,
    *mut *const PamMessage,
    *mut *mut PamResponse,
    *mut c_void,
) -> c_int;

#[repr(C)]
struct PamConv {
    conv: ConvFn,
    appdata_ptr: *mut c_void,
}

type StartFn =
    unsafe extern "C" fn(*const c_char, *const c_char, *const PamConv, *mut *mut c_void) -> c_int;
type EndFn = unsafe extern "C" fn(*mut c_void, c_int) -> c_int;
type CallFn = unsafe extern "C" fn(*mut c_void, c_int) -> c_int;
type SetItemFn = unsafe extern "C" fn(*mut c_void, c_int, *const c_void) -> c_int;
type StrerrorFn = unsafe extern "C" fn(*mut c_void, c_int) -> *const c_char;

/// The tokens the conversation answers with.
struct Tokens {
    old: Zeroizing<Vec<u8>>,
    new: Zeroizing<Vec<u8>>,
    /// Password change: whether the old token was given already.
    chauthtok: bool,
    sent_old: bool,
}

/// A malloc'd NUL-terminated copy of `s` (libpam frees it), or NULL.
fn c_copy(s: &[u8]) -> *mut c_char {
    // SAFETY: calloc of len+1 bytes, then a copy of len bytes into it.
    unsafe {
        let p = libc::calloc(s.len() + 1, 1).cast::<c_char>();
        if !p.is_null() {
            std::ptr::copy_nonoverlapping(s.as_ptr().cast::<c_char>(), p, s.len());
        }
        p
    }
}

/// The conversation function: never panics (it is called from C).
unsafe extern "C" fn conversation(
    num: c_int,
    msgs: *mut *const PamMessage,
    resp: *mut *mut PamResponse,
    appdata: *mut c_void,
) -> c_int {
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let Ok(n) = usize::try_from(num) else {
            return PAM_CONV_ERR;
        };
        if n == 0 || n > 32 || msgs.is_null() || resp.is_null() || appdata.is_null() {
            return PAM_CONV_ERR;
        }
        // SAFETY: appdata is the Tokens this module passed to pam_start, alive for the
        // transaction.
        let tok = unsafe { &mut *appdata.cast::<Tokens>() };
        // SAFETY: calloc'd array of n responses; libpam frees it.
        let out =
            unsafe { libc::calloc(n, std::mem::size_of::<PamResponse>()) }.cast::<PamResponse>();
        if out.is_null() {
            return PAM_CONV_ERR;
        }
        for i in 0..n {
            // SAFETY: Linux-PAM passes an array of n message pointers.
            let m = unsafe { *msgs.add(i) };
            if m.is_null() {
                continue;
            }
            // SAFETY: m points to a pam_message.
            let style = unsafe { (*m).msg_style };
            let answer: Option<&[u8]> = match style {
                PAM_PROMPT_ECHO_OFF => {
                    // SAFETY: msg is NULL or a NUL-terminated string.
                    let text = unsafe { (*m).msg };
                    let asks_new = tok.chauthtok
                        && !text.is_null()
                        // SAFETY: checked non-NULL.
                        && prompt_asks_new(unsafe { CStr::from_ptr(text) }.to_bytes());
                    if tok.chauthtok && (tok.sent_old || asks_new) {
                        Some(tok.new.as_slice())
                    } else {
                        tok.sent_old = true;
                        Some(tok.old.as_slice())
                    }
                }
                PAM_ERROR_MSG | PAM_TEXT_INFO => {
                    // SAFETY: msg is NULL or a NUL-terminated string.
                    let text = unsafe { (*m).msg };
                    if !text.is_null() {
                        // SAFETY: checked non-NULL.
                        let t = unsafe { CStr::from_ptr(text) }.to_string_lossy();
                        crate::log::trace("conversation", format!("module says: {t}"));
                    }
                    None
                }
                _ => {
                    // Free what was answered so far and refuse.
                    for j in 0..i {
                        // SAFETY: entries 0..i were filled by c_copy (or are NULL).
                        unsafe { free_secret((*out.add(j)).resp) };
                    }
                    // SAFETY: allocated above.
                    unsafe { libc::free(out.cast()) };
                    crate::log::op_failure(
                        "conversation",
                        format!("conversation style {style} not supported"),
                    );
                    return PAM_CONV_ERR;
                }
            };
            if let Some(a) = answer {
                // SAFETY: out has n entries.
                unsafe { (*out.add(i)).resp = c_copy(a) };
            }
        }
        // SAFETY: resp is valid for writing (checked non-NULL).
        unsafe { *resp = out };
        PAM_SUCCESS
    }));
    run.unwrap_or(PAM_CONV_ERR)
}

/// Whether a password prompt asks for the new password ("New password:", "Retype new
/// password:"): a module running as root (pam_unix) asks for no old one.
fn prompt_asks_new(prompt: &[u8]) -> bool {
    prompt.to_ascii_lowercase().windows(3).any(|w| w == b"new")
}

/// Wipes and frees a C string from [`c_copy`].
///
/// # Safety
/// `p` is NULL or a NUL-terminated malloc'd string.
unsafe fn free_secret(p: *mut c_char) {
    if p.is_null() {
        return;
    }
    // SAFETY: per the contract.
    unsafe {
        let n = libc::strlen(p);
        std::ptr::write_bytes(p, 0, n);
        libc::free(p.cast());
    }
}

/// libpam's entry points.
struct LibPam {
    start: StartFn,
    end: EndFn,
    set_item: SetItemFn,
    strerror: StrerrorFn,
    authenticate: CallFn,
    acct_mgmt: CallFn,
    chauthtok: CallFn,
    open_session: CallFn,
    close_session: CallFn,
    setcred: CallFn,
}

/// `name` of `handle` as a `T` (a function pointer type).
///
/// # Safety
/// `T` must be the C signature of that function.
unsafe fn sym<T: Copy>(handle: *mut c_void, name: &str) -> Result<T, String> {
    let c = CString::new(name).map_err(|_| name.to_string())?;
    // SAFETY: live handle, NUL-terminated name.
    let p = unsafe { libc::dlsym(handle, c.as_ptr()) };
    if p.is_null() {
        return Err(format!("libpam.so.0 has no {name}"));
    }
    // SAFETY: function pointers have the size of data pointers here; signature per caller.
    Ok(unsafe { std::mem::transmute_copy::<*mut c_void, T>(&p) })
}

impl LibPam {
    fn open() -> Result<LibPam, String> {
        // SAFETY: constant NUL-terminated name; the handle lives as long as the process.
        let h =
            unsafe { libc::dlopen(c"libpam.so.0".as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
        if h.is_null() {
            return Err("cannot load libpam.so.0".into());
        }
        // SAFETY (every sym): Linux-PAM's documented signatures.
        unsafe {
            Ok(LibPam {
                start: sym(h, "pam_start")?,
                end: sym(h, "pam_end")?,
                set_item: sym(h, "pam_set_item")?,
                strerror: sym(h, "pam_strerror")?,
                authenticate: sym(h, "pam_authenticate")?,
                acct_mgmt: sym(h, "pam_acct_mgmt")?,
                chauthtok: sym(h, "pam_chauthtok")?,
                open_session: sym(h, "pam_open_session")?,
                close_session: sym(h, "pam_close_session")?,
                setcred: sym(h, "pam_setcred")?,
            })
        }
    }
}

fn fail(message: String) -> PamReply {
    PamReply {
        status: PAM_SYSTEM_ERR,
        message,
    }
}

/// Runs `req` against the PAM service `target`.
pub fn run(target: &str, req: &PamRequest) -> PamReply {
    let pam = match LibPam::open() {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let (Ok(service), Ok(user)) = (CString::new(target), CString::new(req.user.as_str())) else {
        return fail("a NUL byte in the service or user name".into());
    };
    let mut tokens = Box::new(Tokens {
        old: req.authtok.clone(),
        new: req.new_authtok.clone(),
        chauthtok: false,
        sent_old: false,
    });
    let conv = PamConv {
        conv: conversation,
        appdata_ptr: std::ptr::addr_of_mut!(*tokens).cast(),
    };
    let mut h: *mut c_void = std::ptr::null_mut();
    // SAFETY: valid strings and conv (alive until pam_end below).
    let st = unsafe { (pam.start)(service.as_ptr(), user.as_ptr(), &conv, &mut h) };
    if st != PAM_SUCCESS || h.is_null() {
        return fail(format!("pam_start({target}) failed: status {st}"));
    }
    for (item, value) in [
        (PAM_TTY, &req.tty),
        (PAM_RUSER, &req.ruser),
        (PAM_RHOST, &req.rhost),
    ] {
        if let Ok(v) = CString::new(value.as_str())
            && !value.is_empty()
        {
            // SAFETY: live handle; libpam copies the string.
            unsafe { (pam.set_item)(h, item, v.as_ptr().cast()) };
        }
    }
    // SAFETY (each call): live handle.
    let status = unsafe {
        match req.op {
            PamOp::Authenticate => (pam.authenticate)(h, 0),
            PamOp::AcctMgmt => (pam.acct_mgmt)(h, 0),
            PamOp::OpenSession => (pam.open_session)(h, 0),
            PamOp::CloseSession => (pam.close_session)(h, 0),
            PamOp::Setcred => (pam.setcred)(h, 0),
            PamOp::ChauthtokPrelim => (pam.authenticate)(h, 0),
            PamOp::Chauthtok => {
                let mut st = PAM_SUCCESS;
                if !req.authtok.is_empty() {
                    st = (pam.authenticate)(h, 0);
                }
                if st == PAM_SUCCESS {
                    tokens.chauthtok = true;
                    tokens.sent_old = req.authtok.is_empty();
                    st = (pam.chauthtok)(h, 0);
                }
                st
            }
        }
    };
    // SAFETY: live handle; returns a static string or NULL.
    let text = unsafe { (pam.strerror)(h, status) };
    let message = if text.is_null() {
        format!("status {status}")
    } else {
        // SAFETY: checked non-NULL.
        unsafe { CStr::from_ptr(text) }
            .to_string_lossy()
            .into_owned()
    };
    // SAFETY: live handle, ended once.
    unsafe { (pam.end)(h, status) };
    drop(tokens);
    let status = if status < 0 { PAM_ABORT } else { status };
    PamReply { status, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_password_prompts() {
        assert!(prompt_asks_new(b"New password: "));
        assert!(prompt_asks_new(b"Retype new password: "));
        assert!(!prompt_asks_new(b"Current password: "));
        assert!(!prompt_asks_new(b"Password: "));
    }
}
