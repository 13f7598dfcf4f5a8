//! A libpam client loop in one process: `pam_start` / `pam_authenticate` / `pam_end` for a
//! number of seconds, the password supplied by a conversation callback, and one `key=value`
//! line of results (what pamtester does once, repeated without process start-up).
//!
//! Usage: pam_loop SERVICE USER SECONDS   (the password is the first line of stdin)
//! Output: `auths=N failures=F seconds=S auths_per_s=X last_status=C`

use anyhow::{Context, Result, bail};
use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::io::BufRead;
use std::time::{Duration, Instant};

/// `struct pam_message`.
#[repr(C)]
struct PamMessage {
    msg_style: c_int,
    msg: *const c_char,
}

/// `struct pam_response`.
#[repr(C)]
struct PamResponse {
    resp: *mut c_char,
    resp_retcode: c_int,
}

type ConvFn = unsafe extern "C" fn(
    num_msg: c_int,
    msg: *mut *const PamMessage,
    resp: *mut *mut PamResponse,
    appdata: *mut c_void,
) -> c_int;

/// `struct pam_conv`.
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
    fn pam_end(pamh: *mut c_void, status: c_int) -> c_int;
}

/// Answers every prompt with the password in `appdata` (a `CString`); PAM frees the answers.
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
    // SAFETY: calloc of n responses; PAM owns and frees the array and each resp string.
    let out = unsafe { libc::calloc(n, std::mem::size_of::<PamResponse>()) }.cast::<PamResponse>();
    if out.is_null() {
        return PAM_BUF_ERR;
    }
    // SAFETY: appdata is the &CString passed to pam_start, alive for the whole loop.
    let password = unsafe { &*appdata.cast::<CString>() };
    for i in 0..n {
        // SAFETY: Linux-PAM passes an array of n message pointers.
        let m = unsafe { *msg.add(i) };
        if m.is_null() {
            continue;
        }
        // SAFETY: m points to a valid pam_message.
        let style = unsafe { (*m).msg_style };
        if style == PAM_PROMPT_ECHO_OFF || style == PAM_PROMPT_ECHO_ON {
            // SAFETY: strdup of a valid C string; out has n entries.
            unsafe { (*out.add(i)).resp = libc::strdup(password.as_ptr()) };
        }
    }
    // SAFETY: resp is a valid out pointer.
    unsafe { *resp = out };
    PAM_SUCCESS
}

fn authenticate(service: &CStr, user: &CStr, password: &CString) -> c_int {
    let conv = PamConv {
        conv: conversation,
        appdata_ptr: std::ptr::from_ref(password).cast_mut().cast(),
    };
    let mut pamh: *mut c_void = std::ptr::null_mut();
    // SAFETY: valid C strings and conv for the duration of the transaction.
    let rc = unsafe { pam_start(service.as_ptr(), user.as_ptr(), &conv, &mut pamh) };
    if rc != PAM_SUCCESS {
        return rc;
    }
    // SAFETY: pamh from a successful pam_start.
    let rc = unsafe { pam_authenticate(pamh, 0) };
    // SAFETY: as above; ends the transaction once.
    unsafe { pam_end(pamh, rc) };
    rc
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, service, user, seconds] = args.as_slice() else {
        bail!("usage: pam_loop SERVICE USER SECONDS (password on stdin)");
    };
    let seconds: f64 = seconds.parse().context("SECONDS")?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = CString::new(line.trim_end_matches('\n')).context("password has a NUL")?;
    let service = CString::new(service.as_str())?;
    let user = CString::new(user.as_str())?;
    // One untimed login first (resolves the user, warms caches and connections).
    let first = authenticate(&service, &user, &password);
    if first != PAM_SUCCESS {
        bail!("first authentication failed: PAM status {first}");
    }
    let budget = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let (mut auths, mut failures, mut last) = (0u64, 0u64, PAM_SUCCESS);
    while start.elapsed() < budget {
        last = authenticate(&service, &user, &password);
        auths += 1;
        if last != PAM_SUCCESS {
            failures += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "auths={auths} failures={failures} seconds={secs:.2} auths_per_s={:.1} last_status={last}",
        auths as f64 / secs
    );
    Ok(())
}
