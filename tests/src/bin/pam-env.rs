//! Authenticates once through libpam and prints the PAM environment afterwards, which
//! pamtester cannot show (e.g. the `KRB5CCNAME` that pam_sss sets with `pam_putenv`).
//!
//! ```text
//! pam-env SERVICE USER        (the password is the first line of stdin)
//! ```
//! Output: `status=<pam_authenticate result>`, then one `NAME=VALUE` line per PAM
//! environment variable. Exit code 0 when the transaction ran, 2 on bad usage or when
//! `pam_start` fails.

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::io::BufRead;

use anyhow::{Context, Result, bail};

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

const PAM_SUCCESS: c_int = 0;
const PAM_BUF_ERR: c_int = 5;
const PAM_CONV_ERR: c_int = 19;
const PAM_PROMPT_ECHO_OFF: c_int = 1;
const PAM_PROMPT_ECHO_ON: c_int = 2;

#[link(name = "pam")]
unsafe extern "C" {
    fn pam_start(
        service: *const c_char,
        user: *const c_char,
        conv: *const PamConv,
        pamh: *mut *mut c_void,
    ) -> c_int;
    fn pam_authenticate(pamh: *mut c_void, flags: c_int) -> c_int;
    fn pam_getenvlist(pamh: *mut c_void) -> *mut *mut c_char;
    fn pam_end(pamh: *mut c_void, status: c_int) -> c_int;
}

/// Answers every prompt with the password in `appdata` (a `CString`).
unsafe extern "C" fn conversation(
    num_msg: c_int,
    msg: *mut *const PamMessage,
    resp: *mut *mut PamResponse,
    appdata: *mut c_void,
) -> c_int {
    let Ok(n) = usize::try_from(num_msg) else {
        return PAM_CONV_ERR;
    };
    if n == 0 || msg.is_null() || resp.is_null() || appdata.is_null() {
        return PAM_CONV_ERR;
    }
    // SAFETY: calloc of n responses; libpam frees the array and the strings.
    let out = unsafe { libc::calloc(n, std::mem::size_of::<PamResponse>()) }.cast::<PamResponse>();
    if out.is_null() {
        return PAM_BUF_ERR;
    }
    // SAFETY: appdata is the CString given to pam_start, alive for the transaction.
    let password = unsafe { &*appdata.cast::<CString>() };
    for i in 0..n {
        // SAFETY: libpam passes n message pointers.
        let m = unsafe { *msg.add(i) };
        if m.is_null() {
            continue;
        }
        // SAFETY: m points to a pam_message.
        let style = unsafe { (*m).msg_style };
        if style == PAM_PROMPT_ECHO_OFF || style == PAM_PROMPT_ECHO_ON {
            // SAFETY: strdup of a C string into entry i of n.
            unsafe { (*out.add(i)).resp = libc::strdup(password.as_ptr()) };
        }
    }
    // SAFETY: resp is a valid out pointer.
    unsafe { *resp = out };
    PAM_SUCCESS
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, service, user] = args.as_slice() else {
        eprintln!("usage: pam-env SERVICE USER (password on stdin)");
        std::process::exit(2);
    };
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = CString::new(line.trim_end_matches('\n')).context("password has a NUL")?;
    let service = CString::new(service.as_str())?;
    let user = CString::new(user.as_str())?;
    let conv = PamConv {
        conv: conversation,
        appdata_ptr: std::ptr::from_ref(&password).cast_mut().cast(),
    };
    let mut pamh: *mut c_void = std::ptr::null_mut();
    // SAFETY: valid C strings and conv for the whole transaction.
    let rc = unsafe { pam_start(service.as_ptr(), user.as_ptr(), &conv, &mut pamh) };
    if rc != PAM_SUCCESS {
        bail!("pam_start failed: {rc}");
    }
    // SAFETY: pamh from pam_start.
    let status = unsafe { pam_authenticate(pamh, 0) };
    println!("status={status}");
    // SAFETY: pamh is valid; the list and its strings are ours to free.
    let list = unsafe { pam_getenvlist(pamh) };
    if !list.is_null() {
        let mut i = 0;
        loop {
            // SAFETY: a NULL-terminated array of malloc'd strings.
            let p = unsafe { *list.add(i) };
            if p.is_null() {
                break;
            }
            // SAFETY: p is a NUL-terminated string.
            println!("{}", unsafe { CStr::from_ptr(p) }.to_string_lossy());
            // SAFETY: each entry was malloc'd by libpam for us.
            unsafe { libc::free(p.cast()) };
            i += 1;
        }
        // SAFETY: the array was malloc'd by libpam for us.
        unsafe { libc::free(list.cast()) };
    }
    // SAFETY: ends the transaction once.
    unsafe { pam_end(pamh, status) };
    Ok(())
}
