//! What `gpo_child` does: read files of a Group Policy's sysvol folder over SMB with
//! libsmbclient (loaded at run time: `libsmbclient.so.0`, Debian's `libsmbclient`),
//! authenticating with Kerberos from the machine account's ccache.

use std::ffi::{CStr, CString, c_char, c_int, c_void};

use sss_proto::gpo_child::{GpoChildRequest, GpoFile, MAX_FILE};

/// The library `gpo_child` loads.
pub const LIBSMBCLIENT: &str = "libsmbclient.so.0";

type Ctx = *mut c_void;
type File = *mut c_void;
type AuthFn = extern "C" fn(
    *const c_char,
    *const c_char,
    *mut c_char,
    c_int,
    *mut c_char,
    c_int,
    *mut c_char,
    c_int,
);
type OpenFn = unsafe extern "C" fn(Ctx, *const c_char, c_int, libc::mode_t) -> File;
type ReadFn = unsafe extern "C" fn(Ctx, File, *mut c_void, libc::size_t) -> libc::ssize_t;
type CloseFn = unsafe extern "C" fn(Ctx, File) -> c_int;

type NewFn = unsafe extern "C" fn() -> Ctx;
type FreeFn = unsafe extern "C" fn(Ctx, c_int) -> c_int;
type InitFn = unsafe extern "C" fn(Ctx) -> Ctx;
type SetIntFn = unsafe extern "C" fn(Ctx, c_int);
type SetAuthFn = unsafe extern "C" fn(Ctx, AuthFn);
type GetOpenFn = unsafe extern "C" fn(Ctx) -> OpenFn;
type GetReadFn = unsafe extern "C" fn(Ctx) -> ReadFn;
type GetCloseFn = unsafe extern "C" fn(Ctx) -> CloseFn;

/// The libsmbclient entry points used.
struct Smb {
    new_context: NewFn,
    free_context: FreeFn,
    init_context: InitFn,
    debug_to_stderr: SetIntFn,
    use_kerberos: SetIntFn,
    auth_data: SetAuthFn,
    get_open: GetOpenFn,
    get_read: GetReadFn,
    get_close: GetCloseFn,
}

fn dlerror() -> String {
    // SAFETY: dlerror returns NULL or a NUL-terminated string owned by libdl.
    let e = unsafe { libc::dlerror() };
    if e.is_null() {
        "unknown error".into()
    } else {
        // SAFETY: non-NULL, NUL-terminated (above).
        unsafe { CStr::from_ptr(e) }.to_string_lossy().into_owned()
    }
}

impl Smb {
    fn load() -> Result<Smb, String> {
        let name = CString::new(LIBSMBCLIENT).map_err(|e| e.to_string())?;
        // SAFETY: a valid C string; the handle is never closed (the process is short-lived).
        let h = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW) };
        if h.is_null() {
            return Err(format!("cannot load {LIBSMBCLIENT}: {}", dlerror()));
        }
        let sym = |s: &str| -> Result<*mut c_void, String> {
            let c = CString::new(s).map_err(|e| e.to_string())?;
            // SAFETY: h is a live handle, c a valid C string.
            let p = unsafe { libc::dlsym(h, c.as_ptr()) };
            if p.is_null() {
                Err(format!("{LIBSMBCLIENT} has no {s}: {}", dlerror()))
            } else {
                Ok(p)
            }
        };
        // SAFETY (each transmute): the symbol has the C signature libsmbclient.h declares
        // for it, which the target type spells out.
        unsafe {
            Ok(Smb {
                new_context: std::mem::transmute::<*mut c_void, NewFn>(sym("smbc_new_context")?),
                free_context: std::mem::transmute::<*mut c_void, FreeFn>(sym("smbc_free_context")?),
                init_context: std::mem::transmute::<*mut c_void, InitFn>(sym("smbc_init_context")?),
                debug_to_stderr: std::mem::transmute::<*mut c_void, SetIntFn>(sym(
                    "smbc_setOptionDebugToStderr",
                )?),
                use_kerberos: std::mem::transmute::<*mut c_void, SetIntFn>(sym(
                    "smbc_setOptionUseKerberos",
                )?),
                auth_data: std::mem::transmute::<*mut c_void, SetAuthFn>(sym(
                    "smbc_setFunctionAuthData",
                )?),
                get_open: std::mem::transmute::<*mut c_void, GetOpenFn>(sym(
                    "smbc_getFunctionOpen",
                )?),
                get_read: std::mem::transmute::<*mut c_void, GetReadFn>(sym(
                    "smbc_getFunctionRead",
                )?),
                get_close: std::mem::transmute::<*mut c_void, GetCloseFn>(sym(
                    "smbc_getFunctionClose",
                )?),
            })
        }
    }
}

/// Kerberos authenticates: no user name or password to supply.
extern "C" fn no_auth_data(
    _server: *const c_char,
    _share: *const c_char,
    _workgroup: *mut c_char,
    _wg_len: c_int,
    _user: *mut c_char,
    _user_len: c_int,
    _password: *mut c_char,
    _pw_len: c_int,
) {
}

/// An initialised libsmbclient context, freed on drop.
struct Session<'a> {
    smb: &'a Smb,
    ctx: Ctx,
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        // SAFETY: ctx came from smbc_new_context and is freed once.
        unsafe { (self.smb.free_context)(self.ctx, 1) };
    }
}

impl<'a> Session<'a> {
    fn new(smb: &'a Smb) -> Result<Session<'a>, String> {
        // SAFETY: plain constructor.
        let ctx = unsafe { (smb.new_context)() };
        if ctx.is_null() {
            return Err("smbc_new_context failed".into());
        }
        let s = Session { smb, ctx };
        // SAFETY: ctx is a fresh context; the callback has the declared signature.
        unsafe {
            (smb.debug_to_stderr)(ctx, 1);
            (smb.auth_data)(ctx, no_auth_data);
            (smb.use_kerberos)(ctx, 1);
            if (smb.init_context)(ctx).is_null() {
                return Err(format!(
                    "smbc_init_context failed: {}",
                    std::io::Error::last_os_error()
                ));
            }
        }
        Ok(s)
    }

    /// The bytes of `url`, or the errno that stopped the read.
    fn read(&self, url: &str) -> GpoFile {
        match self.read_once(url) {
            // DCs may hold the folder in upper case (MACHINE), and sysvol may be
            // case-sensitive: retry once so, as SSSD does.
            GpoFile::Error(e) if e == libc::ENOENT as u32 && url.contains("/Machine/") => {
                self.read_once(&url.replacen("/Machine/", "/MACHINE/", 1))
            }
            r => r,
        }
    }

    fn read_once(&self, url: &str) -> GpoFile {
        let Ok(c) = CString::new(url) else {
            return GpoFile::Error(libc::EINVAL as u32);
        };
        let err = || {
            std::io::Error::last_os_error()
                .raw_os_error()
                .and_then(|e| u32::try_from(e).ok())
                .filter(|e| *e != 0)
                .unwrap_or(libc::EIO as u32)
        };
        // SAFETY: ctx is initialised; the function pointers come from it; buf is valid for
        // its length; the file is closed once.
        unsafe {
            let open = (self.smb.get_open)(self.ctx);
            let read = (self.smb.get_read)(self.ctx);
            let close = (self.smb.get_close)(self.ctx);
            *libc::__errno_location() = 0;
            let f = open(self.ctx, c.as_ptr(), libc::O_RDONLY, 0);
            if f.is_null() {
                return GpoFile::Error(err());
            }
            let mut data = Vec::new();
            let mut buf = vec![0u8; 64 * 1024];
            let out = loop {
                let n = read(self.ctx, f, buf.as_mut_ptr().cast(), buf.len());
                if n < 0 {
                    break GpoFile::Error(err());
                }
                let n = usize::try_from(n).unwrap_or(0);
                if n == 0 {
                    break GpoFile::Data(data);
                }
                data.extend_from_slice(&buf[..n.min(buf.len())]);
                if data.len() > MAX_FILE {
                    break GpoFile::Error(libc::EFBIG as u32);
                }
            };
            close(self.ctx, f);
            out
        }
    }
}

/// Runs one request: sets `KRB5CCNAME` (the process is still single-threaded), opens one
/// SMB context and reads each URL. Every file gets an answer; a library or context failure
/// answers `EIO` for all of them.
pub fn run(req: &GpoChildRequest) -> Vec<GpoFile> {
    // SAFETY: called before any thread exists; libsmbclient and libkrb5 read it later.
    unsafe { std::env::set_var("KRB5CCNAME", &req.ccache) };
    let all = |e: i32| vec![GpoFile::Error(e as u32); req.urls.len()];
    let smb = match Smb::load() {
        Ok(s) => s,
        Err(e) => {
            crate::log::op_failure("run", &e);
            return all(libc::ELIBACC);
        }
    };
    let session = match Session::new(&smb) {
        Ok(s) => s,
        Err(e) => {
            crate::log::op_failure("run", &e);
            return all(libc::EIO);
        }
    };
    req.urls
        .iter()
        .map(|u| {
            let r = session.read(u);
            match &r {
                GpoFile::Data(d) => crate::log::trace("run", format!("{u}: {} bytes", d.len())),
                GpoFile::Error(e) => crate::log::trace(
                    "run",
                    format!(
                        "{u}: {}",
                        std::io::Error::from_raw_os_error(i32::try_from(*e).unwrap_or(libc::EIO))
                    ),
                ),
            }
            r
        })
        .collect()
}
