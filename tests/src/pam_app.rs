//! A libpam application in one process: `pam_start` for a service and user, a conversation
//! that answers every prompt with one password, the steps a caller asks for
//! (`pam_authenticate`, `pam_getenvlist`), and `pam_end` when the transaction is dropped.
//! Used by the `pam-env` helper and by the bench's `pam_loop`.

use std::ffi::{CStr, CString, c_char, c_int, c_void};

/// `PAM_SUCCESS`.
pub const PAM_SUCCESS: c_int = 0;
const PAM_BUF_ERR: c_int = 5;
const PAM_CONV_ERR: c_int = 19;
const PAM_PROMPT_ECHO_OFF: c_int = 1;
const PAM_PROMPT_ECHO_ON: c_int = 2;

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

/// Answers every prompt with the password in `appdata` (a `CString`); libpam frees the
/// answers.
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
    // SAFETY: calloc of n responses; libpam owns and frees the array and each resp string.
    let out = unsafe { libc::calloc(n, std::mem::size_of::<PamResponse>()) }.cast::<PamResponse>();
    if out.is_null() {
        return PAM_BUF_ERR;
    }
    // SAFETY: appdata is the boxed CString of the transaction, alive until pam_end.
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

/// One PAM transaction (`pam_start` .. `pam_end`) whose conversation answers every prompt
/// with the same password. Dropping it calls `pam_end` with the last step's status.
pub struct PamTransaction {
    pamh: *mut c_void,
    status: c_int,
    // Both must outlive pamh: libpam keeps the conv pointer's appdata.
    _conv: Box<PamConv>,
    _password: Box<CString>,
}

impl PamTransaction {
    /// Starts a transaction for `service` and `user`; `Err` holds `pam_start`'s status.
    pub fn start(service: &CStr, user: &CStr, password: &CStr) -> Result<Self, c_int> {
        let password = Box::new(password.to_owned());
        let conv = Box::new(PamConv {
            conv: conversation,
            appdata_ptr: std::ptr::from_ref::<CString>(&password).cast_mut().cast(),
        });
        let mut pamh: *mut c_void = std::ptr::null_mut();
        // SAFETY: valid C strings; conv and the password live as long as the transaction.
        let rc = unsafe { pam_start(service.as_ptr(), user.as_ptr(), &*conv, &mut pamh) };
        if rc != PAM_SUCCESS {
            return Err(rc);
        }
        Ok(PamTransaction {
            pamh,
            status: PAM_SUCCESS,
            _conv: conv,
            _password: password,
        })
    }

    /// `pam_authenticate` with no flags; returns its status.
    pub fn authenticate(&mut self) -> c_int {
        // SAFETY: pamh from a successful pam_start, not yet ended.
        self.status = unsafe { pam_authenticate(self.pamh, 0) };
        self.status
    }

    /// The PAM environment (`NAME=VALUE` entries of `pam_getenvlist`).
    pub fn env(&self) -> Vec<String> {
        let mut vars = Vec::new();
        // SAFETY: pamh is valid; the list and its strings are ours to free.
        let list = unsafe { pam_getenvlist(self.pamh) };
        if list.is_null() {
            return vars;
        }
        let mut i = 0;
        loop {
            // SAFETY: a NULL-terminated array of malloc'd strings.
            let p = unsafe { *list.add(i) };
            if p.is_null() {
                break;
            }
            // SAFETY: p is a NUL-terminated string.
            vars.push(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned());
            // SAFETY: each entry was malloc'd by libpam for us.
            unsafe { libc::free(p.cast()) };
            i += 1;
        }
        // SAFETY: the array was malloc'd by libpam for us.
        unsafe { libc::free(list.cast()) };
        vars
    }
}

impl Drop for PamTransaction {
    fn drop(&mut self) {
        // SAFETY: ends the transaction started in `start`, once.
        unsafe { pam_end(self.pamh, self.status) };
    }
}

/// Runs one `pam_start` / `pam_authenticate` / `pam_end` transaction; returns the status of
/// the first step that failed, or `PAM_SUCCESS`.
pub fn authenticate(service: &CStr, user: &CStr, password: &CStr) -> c_int {
    match PamTransaction::start(service, user, password) {
        Ok(mut tx) => tx.authenticate(),
        Err(rc) => rc,
    }
}
