//! `sssctl user-checks NAME [-a ACTION] [-s SERVICE]`: looks the user up through the real
//! `libnss_sss.so.2` and runs one PAM step through the real libpam, as SSSD's tool does.
//! Both libraries are loaded at run time, so that nothing else in this crate links libpam.
//! Prompts (a password for `auth`) are read from standard input, without echo on a
//! terminal; answers are wiped once libpam has its copy.

use super::sss_cache::Outcome;
use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::io::{IsTerminal, Write};
use zeroize::{Zeroize, Zeroizing};

/// SSSD's default action.
const DEFAULT_ACTION: &str = "acct";
/// SSSD's default service.
const DEFAULT_SERVICE: &str = "system-auth";

const PAM_SUCCESS: c_int = 0;
const PAM_BUF_ERR: c_int = 5;
const PAM_CONV_ERR: c_int = 19;
const PAM_USER: c_int = 2;
const PAM_PROMPT_ECHO_OFF: c_int = 1;
const PAM_PROMPT_ECHO_ON: c_int = 2;
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
type StepFn = unsafe extern "C" fn(*mut c_void, c_int) -> c_int;
type StrerrorFn = unsafe extern "C" fn(*mut c_void, c_int) -> *const c_char;
type GetItemFn = unsafe extern "C" fn(*mut c_void, c_int, *mut *const c_void) -> c_int;
type GetEnvListFn = unsafe extern "C" fn(*mut c_void) -> *mut *mut c_char;
type GetPwNamFn =
    unsafe extern "C" fn(*const c_char, *mut libc::passwd, *mut c_char, usize, *mut c_int) -> c_int;

/// A library opened with `dlopen`, closed on drop.
struct Library(*mut c_void);

impl Library {
    fn open(name: &CStr) -> Result<Library, String> {
        // SAFETY: dlopen with a valid C string.
        let h = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        if h.is_null() {
            return Err(format!("dlopen {}: {}", name.to_string_lossy(), dl_error()));
        }
        Ok(Library(h))
    }

    /// The address of `symbol`, as a function of type `F` (the caller names the right one).
    fn get<F: Copy>(&self, symbol: &CStr) -> Result<F, String> {
        // SAFETY: dlsym on a live handle with a valid C string.
        let p = unsafe { libc::dlsym(self.0, symbol.as_ptr()) };
        if p.is_null() {
            return Err(format!(
                "dlsym {}: {}",
                symbol.to_string_lossy(),
                dl_error()
            ));
        }
        debug_assert_eq!(std::mem::size_of::<F>(), std::mem::size_of::<*mut c_void>());
        // SAFETY: F is a function pointer type matching the symbol's C signature.
        Ok(unsafe { std::mem::transmute_copy::<*mut c_void, F>(&p) })
    }
}

impl Drop for Library {
    fn drop(&mut self) {
        // SAFETY: a handle from dlopen, closed once.
        unsafe { libc::dlclose(self.0) };
    }
}

fn dl_error() -> String {
    // SAFETY: dlerror returns a thread-local C string or NULL.
    let e = unsafe { libc::dlerror() };
    if e.is_null() {
        "unknown error".into()
    } else {
        // SAFETY: non-null C string from dlerror.
        unsafe { CStr::from_ptr(e) }.to_string_lossy().into_owned()
    }
}

fn c_text(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        // SAFETY: a C string from libpam or libnss_sss.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

/// The longest answer read; a longer line is cut there.
const MAX_ANSWER: usize = 4096;

/// Reads one line from standard input, without echo when it is a terminal. Bytes are read
/// one at a time from the descriptor into a buffer sized once (no stdio buffer keeps a
/// copy, and it never grows); the caller wipes the answer.
fn read_answer(echo: bool) -> Option<Zeroizing<Vec<u8>>> {
    let tty = !echo && std::io::stdin().is_terminal();
    // SAFETY: termios of fd 0, restored below.
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    if tty && unsafe { libc::tcgetattr(0, &mut saved) } == 0 {
        let mut quiet = saved;
        quiet.c_lflag &= !libc::ECHO;
        // SAFETY: a termios derived from the current one.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &quiet) };
    }
    let mut line = Zeroizing::new(Vec::with_capacity(MAX_ANSWER));
    let mut eof = true;
    loop {
        let mut byte = 0u8;
        // SAFETY: reads at most one byte into `byte`.
        let n = unsafe { libc::read(0, (&raw mut byte).cast(), 1) };
        if n != 1 || byte == b'\n' {
            eof &= n != 1;
            break;
        }
        eof = false;
        if line.len() < MAX_ANSWER {
            line.push(byte);
        }
        byte.zeroize();
    }
    if tty {
        // SAFETY: restores the saved attributes.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &saved) };
        eprintln!();
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    (!eof).then_some(line)
}

/// The conversation: prompts on standard error, answers from standard input; messages
/// printed.
unsafe extern "C" fn conversation(
    num_msg: c_int,
    msg: *mut *const PamMessage,
    resp: *mut *mut PamResponse,
    _appdata: *mut c_void,
) -> c_int {
    let Ok(n) = usize::try_from(num_msg) else {
        return PAM_CONV_ERR;
    };
    if n == 0 || msg.is_null() || resp.is_null() {
        return PAM_CONV_ERR;
    }
    // SAFETY: libpam owns and frees the array and each answer.
    let out = unsafe { libc::calloc(n, std::mem::size_of::<PamResponse>()) }.cast::<PamResponse>();
    if out.is_null() {
        return PAM_BUF_ERR;
    }
    for i in 0..n {
        // SAFETY: Linux-PAM passes an array of n message pointers.
        let m = unsafe { *msg.add(i) };
        if m.is_null() {
            continue;
        }
        // SAFETY: m points to a valid pam_message.
        let (style, text) = unsafe { ((*m).msg_style, c_text((*m).msg)) };
        match style {
            PAM_PROMPT_ECHO_OFF | PAM_PROMPT_ECHO_ON => {
                eprint!("{text}");
                let _ = std::io::stderr().flush();
                let Some(answer) = read_answer(style == PAM_PROMPT_ECHO_ON) else {
                    continue;
                };
                if !answer.contains(&0) {
                    // SAFETY: malloc of len + 1 bytes, filled and NUL-terminated; libpam
                    // owns (and frees) it.
                    unsafe {
                        let p = libc::malloc(answer.len() + 1).cast::<u8>();
                        if !p.is_null() {
                            std::ptr::copy_nonoverlapping(answer.as_ptr(), p, answer.len());
                            *p.add(answer.len()) = 0;
                            (*out.add(i)).resp = p.cast();
                        }
                    }
                }
            }
            PAM_ERROR_MSG => eprintln!("{text}"),
            PAM_TEXT_INFO => println!("{text}"),
            _ => {}
        }
    }
    // SAFETY: resp is a valid out pointer.
    unsafe { *resp = out };
    PAM_SUCCESS
}

/// `sss_getpwnam` through libnss_sss: the lines SSSD's tool prints, or why it failed.
fn nss_lookup(user: &str) -> Result<String, String> {
    let lib = Library::open(c"libnss_sss.so.2")?;
    let getpwnam: GetPwNamFn = lib.get(c"_nss_sss_getpwnam_r")?;
    let name = CString::new(user).map_err(|_| "the name contains a NUL byte".to_string())?;
    // SAFETY: zeroed passwd filled by the call; the buffer outlives its use below.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as c_char; 64 * 1024];
    let mut errno: c_int = 0;
    // SAFETY: the NSS module's documented signature, valid pointers and buffer length.
    let status = unsafe {
        getpwnam(
            name.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut errno,
        )
    };
    // NSS_STATUS_SUCCESS.
    if status != 1 {
        return Err(format!("sss_getpwnam_r failed with [{status}]."));
    }
    Ok(format!(
        "SSSD nss user lookup result:\n - user name: {}\n - user id: {}\n - group id: {}\n \
         - gecos: {}\n - home directory: {}\n - shell: {}\n\n",
        c_text(pwd.pw_name),
        pwd.pw_uid,
        pwd.pw_gid,
        c_text(pwd.pw_gecos),
        c_text(pwd.pw_dir),
        c_text(pwd.pw_shell)
    ))
}

/// Runs `user-checks` with its arguments.
pub fn run(args: &[String]) -> Outcome {
    let mut action = DEFAULT_ACTION.to_string();
    let mut service = DEFAULT_SERVICE.to_string();
    let mut user = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        let slot = match flag {
            "-a" | "--action" => &mut action,
            "-s" | "--service" => &mut service,
            f if f.starts_with('-') => {
                return failure(format!("user-checks: unknown option {f}\n"));
            }
            u if user.is_none() => {
                user = Some(u.to_string());
                continue;
            }
            u => return failure(format!("user-checks: unexpected argument {u}\n")),
        };
        match inline.or_else(|| it.next().cloned()) {
            Some(v) => *slot = v,
            None => return failure(format!("user-checks: {flag} needs a value\n")),
        }
    }
    let Some(user) = user else {
        return failure("Specify user name.\n".into());
    };
    let mut stdout = format!("user: {user}\naction: {action}\nservice: {service}\n\n");
    let mut stderr = String::new();
    if !user.is_empty() {
        match nss_lookup(&user) {
            Ok(text) => stdout.push_str(&text),
            Err(e) => stderr.push_str(&format!("{e}\nUser name lookup with [{user}] failed.\n")),
        }
    }
    match pam_step(&user, &action, &service, &mut stdout, &mut stderr) {
        Ok(status) => Outcome {
            // SSSD 2.8 exits 0 whatever PAM said; a script wants to know.
            code: if status == PAM_SUCCESS { 0 } else { 1 },
            stdout,
            stderr,
        },
        Err(e) => {
            stderr.push_str(&e);
            Outcome {
                code: 1,
                stdout,
                stderr,
            }
        }
    }
}

fn failure(stderr: String) -> Outcome {
    Outcome {
        code: 1,
        stdout: String::new(),
        stderr,
    }
}

/// Runs the PAM step for `action`; its status.
fn pam_step(
    user: &str,
    action: &str,
    service: &str,
    stdout: &mut String,
    stderr: &mut String,
) -> Result<c_int, String> {
    let lib = Library::open(c"libpam.so.0")?;
    let start: StartFn = lib.get(c"pam_start")?;
    let end: StepFn = lib.get(c"pam_end")?;
    let strerror: StrerrorFn = lib.get(c"pam_strerror")?;
    let get_item: GetItemFn = lib.get(c"pam_get_item")?;
    let getenvlist: GetEnvListFn = lib.get(c"pam_getenvlist")?;
    let (label, step): (&str, StepFn) = match action.get(..4).unwrap_or(action) {
        "auth" => ("pam_authenticate", lib.get(c"pam_authenticate")?),
        "chau" => ("pam_chauthtok", lib.get(c"pam_chauthtok")?),
        "acct" => ("pam_acct_mgmt", lib.get(c"pam_acct_mgmt")?),
        "setc" => ("pam_setcred", lib.get(c"pam_setcred")?),
        "open" => ("pam_open_session", lib.get(c"pam_open_session")?),
        "clos" => ("pam_close_session", lib.get(c"pam_close_session")?),
        _ => return Err("unknown action\n".into()),
    };
    let c_service = CString::new(service).map_err(|_| "bad service name\n".to_string())?;
    let c_user = CString::new(user).map_err(|_| "bad user name\n".to_string())?;
    let conv = Box::new(PamConv {
        conv: conversation,
        appdata_ptr: std::ptr::null_mut(),
    });
    let mut pamh: *mut c_void = std::ptr::null_mut();
    // SAFETY: valid C strings; conv outlives the transaction (dropped after pam_end).
    let rc = unsafe { start(c_service.as_ptr(), c_user.as_ptr(), &*conv, &mut pamh) };
    if rc != PAM_SUCCESS {
        // SAFETY: pam_strerror accepts a NULL handle.
        let why = c_text(unsafe { strerror(pamh, rc) });
        return Err(format!("pam_start failed: {why}\n"));
    }
    stdout.push_str(&format!("testing {label}\n\n"));
    let _ = std::io::stdout().write_all(stdout.as_bytes());
    stdout.clear();
    // SAFETY: pamh from a successful pam_start.
    let status = unsafe { step(pamh, 0) };
    // SAFETY: as above; pam_strerror returns a static string.
    let why = c_text(unsafe { strerror(pamh, status) });
    if label == "pam_authenticate" {
        let mut item: *const c_void = std::ptr::null();
        // SAFETY: PAM_USER is a C string owned by libpam.
        let shown = if unsafe { get_item(pamh, PAM_USER, &mut item) } == PAM_SUCCESS {
            c_text(item.cast())
        } else {
            "- not available -".into()
        };
        stderr.push_str(&format!("{label} for user [{shown}]: {why}\n\n"));
    } else if label == "pam_setcred" {
        stderr.push_str(&format!("{label}: [{why}]\n\n"));
    } else {
        stderr.push_str(&format!("{label}: {why}\n\n"));
    }
    stderr.push_str("PAM Environment:\n");
    // SAFETY: a malloc'd NULL-terminated array of malloc'd strings, freed here.
    unsafe {
        let env = getenvlist(pamh);
        let mut any = false;
        if !env.is_null() {
            let mut i = 0;
            while !(*env.add(i)).is_null() {
                let e = *env.add(i);
                stderr.push_str(&format!(" - {}\n", c_text(e)));
                libc::free(e.cast());
                any = true;
                i += 1;
            }
            libc::free(env.cast());
        }
        if !any {
            stderr.push_str(" - no env -\n");
        }
        end(pamh, status);
    }
    drop(conv);
    Ok(status)
}
