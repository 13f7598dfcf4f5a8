//! The C side: libpam declarations, [`PamHandler`] over a real `pam_handle_t`, and the six
//! `pam_sm_*` exports. Each export catches panics (→ PAM_SYSTEM_ERR).

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

use zeroize::Zeroizing;

use crate::handler::{Item, Level, PamHandler, Secret, Tok};
use crate::module::{Context, Task, run};
use crate::pam::{code, item, style};

/// Opaque libpam handle.
#[repr(C)]
pub struct PamHandle {
    _private: [u8; 0],
}

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
    c_int,
    *mut *const PamMessage,
    *mut *mut PamResponse,
    *mut c_void,
) -> c_int;

/// `struct pam_conv`.
#[repr(C)]
struct PamConv {
    conv: Option<ConvFn>,
    appdata_ptr: *mut c_void,
}

type Cleanup = unsafe extern "C" fn(*mut PamHandle, *mut c_void, c_int);

#[link(name = "pam")]
unsafe extern "C" {
    fn pam_get_item(pamh: *const PamHandle, item_type: c_int, item: *mut *const c_void) -> c_int;
    fn pam_set_item(pamh: *mut PamHandle, item_type: c_int, item: *const c_void) -> c_int;
    fn pam_set_data(
        pamh: *mut PamHandle,
        name: *const c_char,
        data: *mut c_void,
        cleanup: Option<Cleanup>,
    ) -> c_int;
    fn pam_get_data(pamh: *const PamHandle, name: *const c_char, data: *mut *const c_void)
    -> c_int;
    fn pam_putenv(pamh: *mut PamHandle, name_value: *const c_char) -> c_int;
    fn pam_syslog(pamh: *const PamHandle, priority: c_int, fmt: *const c_char, ...);
}

/// Frees module data allocated with `malloc`, wiping it first.
unsafe extern "C" fn free_data(_pamh: *mut PamHandle, data: *mut c_void, _err: c_int) {
    // SAFETY: libpam hands back the pointer we stored: a malloc'd, NUL-terminated buffer.
    unsafe {
        if !data.is_null() {
            let len = libc::strlen(data.cast::<c_char>());
            std::ptr::write_bytes(data.cast::<u8>(), 0, len);
            libc::free(data);
        }
    }
}

/// [`PamHandler`] over a live libpam handle.
pub struct LibPam {
    pamh: *mut PamHandle,
}

fn cstring(s: &[u8]) -> Result<CString, i32> {
    CString::new(s).map_err(|_| code::BUF_ERR)
}

/// `s` and a trailing NUL in a buffer allocated once at its final size and wiped on drop
/// (`CString::new` copies and then grows by one byte, freeing the first copy unwiped).
fn secret_cstring(s: &[u8]) -> Result<Zeroizing<Vec<u8>>, i32> {
    if s.contains(&0) {
        return Err(code::BUF_ERR);
    }
    let mut v = Zeroizing::new(Vec::with_capacity(s.len() + 1));
    v.extend_from_slice(s);
    v.push(0);
    Ok(v)
}

impl LibPam {
    fn get_ptr(&self, kind: c_int) -> Result<*const c_void, i32> {
        let mut p: *const c_void = std::ptr::null();
        // SAFETY: pamh is the live handle libpam passed us; p is valid storage.
        let rc = unsafe { pam_get_item(self.pamh, kind, &mut p) };
        if rc != code::SUCCESS {
            return Err(rc);
        }
        Ok(p)
    }

    fn get_bytes(&self, kind: c_int) -> Result<Option<Vec<u8>>, i32> {
        let p = self.get_ptr(kind)?;
        if p.is_null() {
            return Ok(None);
        }
        // SAFETY: string items are NUL-terminated C strings owned by libpam.
        Ok(Some(
            unsafe { CStr::from_ptr(p.cast()) }.to_bytes().to_vec(),
        ))
    }

    /// Runs the conversation with one message; returns the answer for prompts.
    fn converse(&mut self, msg_style: c_int, text: &str) -> Result<Option<Secret>, i32> {
        let p = self.get_ptr(item::CONV)?;
        if p.is_null() {
            return Err(code::SYSTEM_ERR);
        }
        // SAFETY: PAM_CONV is a `struct pam_conv` owned by libpam.
        let conv = unsafe { &*p.cast::<PamConv>() };
        let Some(f) = conv.conv else {
            return Err(code::SYSTEM_ERR);
        };
        let c = cstring(text.as_bytes())?;
        let msg = PamMessage {
            msg_style,
            msg: c.as_ptr(),
        };
        let mut msgs: [*const PamMessage; 1] = [&msg];
        let mut resp: *mut PamResponse = std::ptr::null_mut();
        // SAFETY: one valid message; resp receives a malloc'd array (or stays NULL).
        let rc = unsafe { f(1, msgs.as_mut_ptr(), &mut resp, conv.appdata_ptr) };
        // SAFETY: resp, if non-NULL, is a malloc'd array of one response whose `resp` string
        // is malloc'd too; we copy, wipe and free both.
        let answer = unsafe {
            if resp.is_null() {
                None
            } else {
                let r = (*resp).resp;
                let out = if r.is_null() {
                    None
                } else {
                    let len = libc::strlen(r);
                    let bytes = std::slice::from_raw_parts(r.cast::<u8>(), len);
                    let a = Secret::new(bytes.to_vec());
                    std::ptr::write_bytes(r.cast::<u8>(), 0, len);
                    libc::free(r.cast());
                    Some(a)
                };
                libc::free(resp.cast());
                out
            }
        };
        if rc != code::SUCCESS {
            return Err(rc);
        }
        if msg_style == style::PROMPT_ECHO_OFF && resp.is_null() {
            return Err(code::SYSTEM_ERR);
        }
        Ok(answer)
    }
}

impl PamHandler for LibPam {
    fn item(&mut self, it: Item) -> Result<Option<Vec<u8>>, i32> {
        let kind = match it {
            Item::Service => item::SERVICE,
            Item::User => item::USER,
            Item::Tty => item::TTY,
            Item::Ruser => item::RUSER,
            Item::Rhost => item::RHOST,
        };
        self.get_bytes(kind)
    }

    fn authtok(&mut self, tok: Tok) -> Result<Option<Secret>, i32> {
        Ok(self.get_bytes(tok_item(tok))?.map(Secret::new))
    }

    fn set_authtok(&mut self, tok: Tok, value: Option<&[u8]>) -> Result<(), i32> {
        // Wiped when dropped, after libpam has copied it.
        let c = value.map(secret_cstring).transpose()?;
        let p = c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr().cast());
        // SAFETY: `p` is NULL or a NUL-terminated string that outlives the call; libpam
        // copies it (or clears the item for NULL).
        let rc = unsafe { pam_set_item(self.pamh, tok_item(tok), p) };
        drop(c);
        if rc == code::SUCCESS { Ok(()) } else { Err(rc) }
    }

    fn prompt_secret(&mut self, prompt: &str) -> Result<Option<Secret>, i32> {
        self.converse(style::PROMPT_ECHO_OFF, prompt)
    }

    fn info(&mut self, msg: &str) -> Result<(), i32> {
        self.syslog(Level::Info, &format!("User info message: {msg}"));
        self.converse(style::TEXT_INFO, msg).map(|_| ())
    }

    fn error(&mut self, msg: &str) -> Result<(), i32> {
        self.syslog(Level::Info, &format!("User error message: {msg}"));
        self.converse(style::ERROR_MSG, msg).map(|_| ())
    }

    fn putenv(&mut self, kv: &str) -> Result<(), i32> {
        let c = cstring(kv.as_bytes())?;
        // SAFETY: libpam copies the string.
        let rc = unsafe { pam_putenv(self.pamh, c.as_ptr()) };
        if rc == code::SUCCESS { Ok(()) } else { Err(rc) }
    }

    fn process_putenv(&mut self, kv: &str) -> Result<(), i32> {
        let c = cstring(kv.as_bytes())?;
        // SAFETY: putenv keeps the pointer, so it gets a strdup'd copy that is never freed
        // (as the C module does); no other thread runs in a PAM module call.
        let rc = unsafe {
            let p = libc::strdup(c.as_ptr());
            if p.is_null() {
                return Err(code::BUF_ERR);
            }
            libc::putenv(p)
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(code::SYSTEM_ERR)
        }
    }

    fn set_data(&mut self, name: &str, value: &[u8]) -> Result<(), i32> {
        let n = cstring(name.as_bytes())?;
        let v = cstring(value)?;
        // SAFETY: strdup gives a malloc'd copy that free_data releases; the name is copied.
        let rc = unsafe {
            let p = libc::strdup(v.as_ptr());
            if p.is_null() {
                return Err(code::BUF_ERR);
            }
            let rc = pam_set_data(self.pamh, n.as_ptr(), p.cast(), Some(free_data));
            if rc != code::SUCCESS {
                libc::free(p.cast());
            }
            rc
        };
        if rc == code::SUCCESS { Ok(()) } else { Err(rc) }
    }

    fn has_data(&mut self, name: &str) -> bool {
        let Ok(n) = cstring(name.as_bytes()) else {
            return false;
        };
        let mut p: *const c_void = std::ptr::null();
        // SAFETY: valid handle, NUL-terminated name, valid out pointer.
        let rc = unsafe { pam_get_data(self.pamh, n.as_ptr(), &mut p) };
        rc == code::SUCCESS && !p.is_null()
    }

    fn syslog(&mut self, level: Level, msg: &str) {
        let prio = libc::LOG_AUTHPRIV
            | match level {
                Level::Err => libc::LOG_ERR,
                Level::Warning => libc::LOG_WARNING,
                Level::Notice => libc::LOG_NOTICE,
                Level::Info => libc::LOG_INFO,
            };
        let Ok(c) = CString::new(msg.replace('\0', "")) else {
            return;
        };
        // SAFETY: fixed "%s" format with one NUL-terminated string argument.
        unsafe { pam_syslog(self.pamh, prio, c"%s".as_ptr(), c.as_ptr()) };
    }
}

fn tok_item(tok: Tok) -> c_int {
    match tok {
        Tok::AuthTok => item::AUTHTOK,
        Tok::OldAuthTok => item::OLDAUTHTOK,
    }
}

/// Copies `argv` into owned strings.
///
/// # Safety
/// `argv` must hold `argc` valid NUL-terminated strings (or be NULL with `argc` 0).
unsafe fn args(argc: c_int, argv: *const *const c_char) -> Vec<String> {
    let n = usize::try_from(argc).unwrap_or(0);
    if argv.is_null() {
        return Vec::new();
    }
    (0..n)
        .filter_map(|i| {
            // SAFETY: i < argc per the caller's contract.
            let p = unsafe { *argv.add(i) };
            // SAFETY: non-NULL entries are NUL-terminated strings.
            (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
        })
        .collect()
}

fn entry(
    task: Task,
    pamh: *mut PamHandle,
    flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    if pamh.is_null() {
        return code::SYSTEM_ERR;
    }
    catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: libpam passes argc/argv from the service file.
        let args = unsafe { args(argc, argv) };
        let cx = Context::from_process();
        let mut h = LibPam { pamh };
        run(&mut h, task, flags, &args, &cx)
    }))
    .unwrap_or(code::SYSTEM_ERR)
}

/// PAM authentication entry point.
///
/// # Safety
/// Called by libpam with a valid handle and argument vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pam_sm_authenticate(
    pamh: *mut PamHandle,
    flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    entry(Task::Authenticate, pamh, flags, argc, argv)
}

/// PAM credential entry point.
///
/// # Safety
/// Called by libpam with a valid handle and argument vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pam_sm_setcred(
    pamh: *mut PamHandle,
    flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    entry(Task::SetCred, pamh, flags, argc, argv)
}

/// PAM account management entry point.
///
/// # Safety
/// Called by libpam with a valid handle and argument vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pam_sm_acct_mgmt(
    pamh: *mut PamHandle,
    flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    entry(Task::AcctMgmt, pamh, flags, argc, argv)
}

/// PAM session open entry point.
///
/// # Safety
/// Called by libpam with a valid handle and argument vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pam_sm_open_session(
    pamh: *mut PamHandle,
    flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    entry(Task::OpenSession, pamh, flags, argc, argv)
}

/// PAM session close entry point.
///
/// # Safety
/// Called by libpam with a valid handle and argument vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pam_sm_close_session(
    pamh: *mut PamHandle,
    flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    entry(Task::CloseSession, pamh, flags, argc, argv)
}

/// PAM password change entry point (PAM_PRELIM_CHECK, then PAM_UPDATE_AUTHTOK).
///
/// # Safety
/// Called by libpam with a valid handle and argument vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pam_sm_chauthtok(
    pamh: *mut PamHandle,
    flags: c_int,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    entry(Task::ChAuthTok, pamh, flags, argc, argv)
}
