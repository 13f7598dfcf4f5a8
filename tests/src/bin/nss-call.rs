//! Calls an NSS module's entry points directly and prints the raw NSS status, like SSSD's
//! `sssd_id.py`/`sssd_passwd.py` test helpers: getent cannot tell NOTFOUND from UNAVAIL.
//!
//! ```text
//! nss-call [--lib PATH] getpwnam NAME | getpwuid UID | getgrnam NAME | getgrgid GID
//!                       | initgroups NAME GID
//! ```
//! First output line: `status=<n> errno=<e>` (SUCCESS=1, NOTFOUND=0, UNAVAIL=-1,
//! TRYAGAIN=-2); on SUCCESS a second line in getent format (initgroups: the gids). Exit code
//! 0 when the call was made, 3 when the module or symbol cannot be loaded, 2 on bad usage.

use std::ffi::{CStr, CString, c_char, c_int, c_long, c_void};

use anyhow::{Context, Result, bail};
use sssd_tests::ent::{group_line, passwd_line};

const NSS_STATUS_TRYAGAIN: c_int = -2;
const NSS_STATUS_SUCCESS: c_int = 1;
const MAX_BUFFER: usize = 64 << 20;

type PwByName =
    unsafe extern "C" fn(*const c_char, *mut libc::passwd, *mut c_char, usize, *mut c_int) -> c_int;
type PwById =
    unsafe extern "C" fn(libc::uid_t, *mut libc::passwd, *mut c_char, usize, *mut c_int) -> c_int;
type GrByName =
    unsafe extern "C" fn(*const c_char, *mut libc::group, *mut c_char, usize, *mut c_int) -> c_int;
type GrById =
    unsafe extern "C" fn(libc::gid_t, *mut libc::group, *mut c_char, usize, *mut c_int) -> c_int;
type InitgroupsDyn = unsafe extern "C" fn(
    *const c_char,
    libc::gid_t,
    *mut c_long,
    *mut c_long,
    *mut *mut libc::gid_t,
    c_long,
    *mut c_int,
) -> c_int;

struct Module(*mut c_void);

impl Module {
    fn open(lib: &str) -> Result<Module> {
        let c = CString::new(lib).context("library path contains NUL")?;
        // SAFETY: dlopen with a valid C string; the handle is only used through dlsym.
        let h = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW) };
        if h.is_null() {
            bail!("cannot load {lib}: {}", dlerror());
        }
        Ok(Module(h))
    }

    /// Looks up `name`; the caller must pick `T` matching the symbol's C signature.
    fn symbol<T: Copy>(&self, name: &str) -> Result<T> {
        let c = CString::new(name).context("symbol contains NUL")?;
        // SAFETY: valid handle and C string.
        let p = unsafe { libc::dlsym(self.0, c.as_ptr()) };
        if p.is_null() {
            bail!("symbol {name} not found: {}", dlerror());
        }
        assert_eq!(size_of::<T>(), size_of::<*mut c_void>());
        // SAFETY: T is a function pointer type of pointer size (checked above) that the
        // caller matched to the symbol's signature.
        Ok(unsafe { std::mem::transmute_copy::<*mut c_void, T>(&p) })
    }
}

fn dlerror() -> String {
    // SAFETY: dlerror returns NULL or a valid C string owned by libdl.
    let e = unsafe { libc::dlerror() };
    if e.is_null() {
        String::new()
    } else {
        // SAFETY: non-null, NUL-terminated.
        unsafe { CStr::from_ptr(e) }.to_string_lossy().into_owned()
    }
}

/// Calls `f(buffer, len, errno)` growing the buffer while it answers TRYAGAIN/ERANGE.
fn with_buffer(mut f: impl FnMut(*mut c_char, usize, *mut c_int) -> c_int) -> (c_int, c_int) {
    let mut len = 1024;
    // The entry's strings point into the buffer: format them inside `f`, before it is freed.
    loop {
        let mut buf = vec![0 as c_char; len];
        let mut err: c_int = 0;
        let st = f(buf.as_mut_ptr(), len, &mut err);
        if st == NSS_STATUS_TRYAGAIN && err == libc::ERANGE && len < MAX_BUFFER {
            len *= 4;
            continue;
        }
        return (st, err);
    }
}

fn main() {
    match run() {
        Ok(()) => {}
        Err(e) => {
            eprintln!("nss-call: {e:#}");
            std::process::exit(if format!("{e}").starts_with("usage") {
                2
            } else {
                3
            });
        }
    }
}

fn run() -> Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut lib = "libnss_sss.so.2".to_owned();
    let mut prefix = "_nss_sss_".to_owned();
    if args.first().map(String::as_str) == Some("--lib") && args.len() > 1 {
        lib = args.remove(1);
        args.remove(0);
    }
    if args.first().map(String::as_str) == Some("--prefix") && args.len() > 1 {
        prefix = args.remove(1);
        args.remove(0);
    }
    let usage = "usage: nss-call [--lib PATH] [--prefix _nss_sss_] getpwnam NAME | getpwuid UID \
                 | getgrnam NAME | getgrgid GID | initgroups NAME GID";
    let (Some(op), Some(key)) = (args.first(), args.get(1)) else {
        bail!("{usage}");
    };
    let m = Module::open(&lib)?;
    let sym = |n: &str| format!("{prefix}{n}");
    let (st, err, line) = match op.as_str() {
        "getpwnam" | "getpwuid" => {
            // SAFETY: all-zero is a valid passwd (null pointers, zero ids).
            let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
            let mut out = None;
            let (st, err) = if op == "getpwnam" {
                let f: PwByName = m.symbol(&sym("getpwnam_r"))?;
                let name = CString::new(key.as_str()).context("name contains NUL")?;
                with_buffer(|b, l, e| {
                    // SAFETY: signature matches glibc's NSS interface; pointers valid.
                    let r = unsafe { f(name.as_ptr(), &mut pw, b, l, e) };
                    if r == NSS_STATUS_SUCCESS {
                        // SAFETY: a successful lookup left valid strings in the buffer.
                        out = Some(unsafe { passwd_line(&pw) });
                    }
                    r
                })
            } else {
                let f: PwById = m.symbol(&sym("getpwuid_r"))?;
                let uid: libc::uid_t = key.parse().context("uid must be a number")?;
                with_buffer(|b, l, e| {
                    // SAFETY: as above.
                    let r = unsafe { f(uid, &mut pw, b, l, e) };
                    if r == NSS_STATUS_SUCCESS {
                        // SAFETY: a successful lookup left valid strings in the buffer.
                        out = Some(unsafe { passwd_line(&pw) });
                    }
                    r
                })
            };
            (st, err, out)
        }
        "getgrnam" | "getgrgid" => {
            // SAFETY: all-zero is a valid group.
            let mut gr: libc::group = unsafe { std::mem::zeroed() };
            let mut out = None;
            let (st, err) = if op == "getgrnam" {
                let f: GrByName = m.symbol(&sym("getgrnam_r"))?;
                let name = CString::new(key.as_str()).context("name contains NUL")?;
                with_buffer(|b, l, e| {
                    // SAFETY: signature matches; pointers valid for the call.
                    let r = unsafe { f(name.as_ptr(), &mut gr, b, l, e) };
                    if r == NSS_STATUS_SUCCESS {
                        // SAFETY: a successful lookup left valid strings in the buffer.
                        out = Some(unsafe { group_line(&gr, false) });
                    }
                    r
                })
            } else {
                let f: GrById = m.symbol(&sym("getgrgid_r"))?;
                let gid: libc::gid_t = key.parse().context("gid must be a number")?;
                with_buffer(|b, l, e| {
                    // SAFETY: as above.
                    let r = unsafe { f(gid, &mut gr, b, l, e) };
                    if r == NSS_STATUS_SUCCESS {
                        // SAFETY: a successful lookup left valid strings in the buffer.
                        out = Some(unsafe { group_line(&gr, false) });
                    }
                    r
                })
            };
            (st, err, out)
        }
        "initgroups" => {
            let f: InitgroupsDyn = m.symbol(&sym("initgroups_dyn"))?;
            let gid: libc::gid_t = args
                .get(2)
                .context(usage)?
                .parse()
                .context("gid must be a number")?;
            let name = CString::new(key.as_str()).context("name contains NUL")?;
            let mut start: c_long = 0;
            let mut size: c_long = 16;
            // SAFETY: malloc'd so the module may realloc it, as glibc's caller does.
            let mut groups =
                unsafe { libc::malloc(16 * size_of::<libc::gid_t>()) } as *mut libc::gid_t;
            if groups.is_null() {
                bail!("out of memory");
            }
            let mut err: c_int = 0;
            // SAFETY: signature matches glibc's initgroups_dyn; all pointers valid.
            let st = unsafe {
                f(
                    name.as_ptr(),
                    gid,
                    &mut start,
                    &mut size,
                    &mut groups,
                    -1,
                    &mut err,
                )
            };
            let mut gids = Vec::new();
            for i in 0..usize::try_from(start).unwrap_or(0) {
                // SAFETY: the module wrote `start` entries into `groups`.
                gids.push(unsafe { *groups.add(i) }.to_string());
            }
            // SAFETY: allocated by malloc/realloc above or by the module.
            unsafe { libc::free(groups.cast()) };
            let line = (st == NSS_STATUS_SUCCESS).then(|| gids.join(" "));
            (st, err, line)
        }
        _ => bail!("{usage}"),
    };
    println!("status={st} errno={err}");
    if let Some(l) = line {
        println!("{l}");
    }
    Ok(())
}
