//! `proxy_child` in NSS mode: calls into `libnss_<proxy_lib_name>.so.2` (dlopened) and turns
//! what it returns into [`NssReply`]s. Buffers grow on `ERANGE`; a function the module
//! lacks is an `Unavail` answer, not an error of the helper.

use libc::{c_char, c_int, c_long, c_void, gid_t, group, passwd, size_t, uid_t};
use sss_proto::proxy::{GroupEnt, NssReply, NssRequest, PasswdEnt};
use std::ffi::{CStr, CString};

const NSS_STATUS_TRYAGAIN: c_int = -2;
const NSS_STATUS_NOTFOUND: c_int = 0;
const NSS_STATUS_SUCCESS: c_int = 1;

/// First buffer size handed to the module.
const FIRST_BUFFER: usize = 4096;
/// Largest buffer handed to the module (one entry).
const MAX_BUFFER: usize = 64 * 1024 * 1024;
/// Most entries one enumeration returns.
const MAX_ENTRIES: usize = 1_000_000;
/// Most members read from one `gr_mem`.
const MAX_MEMBERS: usize = 1_000_000;

type PwNamFn =
    unsafe extern "C" fn(*const c_char, *mut passwd, *mut c_char, size_t, *mut c_int) -> c_int;
type PwUidFn = unsafe extern "C" fn(uid_t, *mut passwd, *mut c_char, size_t, *mut c_int) -> c_int;
type GrNamFn =
    unsafe extern "C" fn(*const c_char, *mut group, *mut c_char, size_t, *mut c_int) -> c_int;
type GrGidFn = unsafe extern "C" fn(gid_t, *mut group, *mut c_char, size_t, *mut c_int) -> c_int;
type InitgrFn = unsafe extern "C" fn(
    *const c_char,
    gid_t,
    *mut c_long,
    *mut c_long,
    *mut *mut gid_t,
    c_long,
    *mut c_int,
) -> c_int;
type SetEntFn = unsafe extern "C" fn(c_int) -> c_int;
type PwEntFn = unsafe extern "C" fn(*mut passwd, *mut c_char, size_t, *mut c_int) -> c_int;
type GrEntFn = unsafe extern "C" fn(*mut group, *mut c_char, size_t, *mut c_int) -> c_int;
type EndEntFn = unsafe extern "C" fn() -> c_int;

/// The module file name for `proxy_lib_name` `name`, when the name is acceptable (letters,
/// digits, `_`, `-`, `.`; no path).
pub fn module_file(name: &str) -> Option<String> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    ok.then(|| format!("libnss_{name}.so.2"))
}

/// A loaded NSS module and the functions it has.
pub struct NssModule {
    name: String,
    pwnam: Option<PwNamFn>,
    pwuid: Option<PwUidFn>,
    grnam: Option<GrNamFn>,
    grgid: Option<GrGidFn>,
    initgr: Option<InitgrFn>,
    setpw: Option<SetEntFn>,
    getpw: Option<PwEntFn>,
    endpw: Option<EndEntFn>,
    setgr: Option<SetEntFn>,
    getgr: Option<GrEntFn>,
    endgr: Option<EndEntFn>,
}

fn dl_error() -> String {
    // SAFETY: dlerror returns NULL or a NUL-terminated string owned by libc.
    let p = unsafe { libc::dlerror() };
    if p.is_null() {
        "unknown error".to_string()
    } else {
        // SAFETY: checked non-NULL above.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

/// `_nss_<name>_<func>` of `handle` as a `T` (a function pointer type), if present.
///
/// # Safety
/// `T` must be the C signature of that function.
unsafe fn sym<T: Copy>(handle: *mut c_void, name: &str, func: &str) -> Option<T> {
    let c = CString::new(format!("_nss_{name}_{func}")).ok()?;
    // SAFETY: handle is a live dlopen handle; c is NUL-terminated.
    let p = unsafe { libc::dlsym(handle, c.as_ptr()) };
    if p.is_null() {
        return None;
    }
    // SAFETY: a function pointer has the size of a data pointer on the platforms glibc
    // supports; the caller vouches for the signature.
    Some(unsafe { std::mem::transmute_copy::<*mut c_void, T>(&p) })
}

impl NssModule {
    /// Loads `libnss_<name>.so.2` (the dynamic loader's search path, as glibc does).
    pub fn open(name: &str) -> Result<NssModule, String> {
        let file = module_file(name).ok_or_else(|| format!("bad proxy_lib_name {name:?}"))?;
        let c = CString::new(file.clone()).map_err(|_| format!("bad module name {file:?}"))?;
        // SAFETY: c is NUL-terminated; the handle is kept for the life of the process.
        let h = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        if h.is_null() {
            return Err(format!("cannot load {file}: {}", dl_error()));
        }
        // SAFETY (every sym call): the types are the glibc NSS module signatures.
        let m = unsafe {
            NssModule {
                name: name.to_string(),
                pwnam: sym(h, name, "getpwnam_r"),
                pwuid: sym(h, name, "getpwuid_r"),
                grnam: sym(h, name, "getgrnam_r"),
                grgid: sym(h, name, "getgrgid_r"),
                initgr: sym(h, name, "initgroups_dyn"),
                setpw: sym(h, name, "setpwent"),
                getpw: sym(h, name, "getpwent_r"),
                endpw: sym(h, name, "endpwent"),
                setgr: sym(h, name, "setgrent"),
                getgr: sym(h, name, "getgrent_r"),
                endgr: sym(h, name, "endgrent"),
            }
        };
        if m.pwnam.is_none() && m.grnam.is_none() {
            return Err(format!(
                "{file} has neither _nss_{name}_getpwnam_r nor _nss_{name}_getgrnam_r"
            ));
        }
        Ok(m)
    }

    fn missing(&self, func: &str) -> NssReply {
        NssReply::Unavail(format!("libnss_{0}.so.2 has no _nss_{0}_{func}", self.name))
    }

    /// Answers one request.
    pub fn handle(&self, req: &NssRequest) -> NssReply {
        match req {
            NssRequest::PwNam(n) => match (self.pwnam, cstring(n)) {
                (None, _) => self.missing("getpwnam_r"),
                (_, None) => NssReply::NotFound,
                // SAFETY: f has the getpwnam_r signature; arguments are valid for the call.
                (Some(f), Some(c)) => one_user(|pw, b, l, e| unsafe { f(c.as_ptr(), pw, b, l, e) }),
            },
            NssRequest::PwUid(id) => match self.pwuid {
                None => self.missing("getpwuid_r"),
                // SAFETY: as above.
                Some(f) => one_user(|pw, b, l, e| unsafe { f(*id, pw, b, l, e) }),
            },
            NssRequest::GrNam(n) => match (self.grnam, cstring(n)) {
                (None, _) => self.missing("getgrnam_r"),
                (_, None) => NssReply::NotFound,
                // SAFETY: as above.
                (Some(f), Some(c)) => one_group(|g, b, l, e| unsafe { f(c.as_ptr(), g, b, l, e) }),
            },
            NssRequest::GrGid(id) => match self.grgid {
                None => self.missing("getgrgid_r"),
                // SAFETY: as above.
                Some(f) => one_group(|g, b, l, e| unsafe { f(*id, g, b, l, e) }),
            },
            NssRequest::Initgroups(n, gid) => match cstring(n) {
                None => NssReply::NotFound,
                Some(c) => self.initgroups(n, &c, *gid),
            },
            NssRequest::EnumUsers => self.enum_users(),
            NssRequest::EnumGroups => self.enum_groups(),
        }
    }

    fn initgroups(&self, name: &str, c: &CStr, primary: gid_t) -> NssReply {
        let Some(f) = self.initgr else {
            // As glibc without initgroups_dyn: every group listing the user.
            return match self.enum_groups() {
                NssReply::Groups(gs) => NssReply::Gids(
                    gs.iter()
                        .filter(|g| g.gid != primary && g.members.iter().any(|m| m == name))
                        .map(|g| g.gid)
                        .collect(),
                ),
                other => other,
            };
        };
        let mut size: c_long = 64;
        let mut start: c_long = 0;
        let mut errno: c_int = 0;
        // SAFETY: a malloc'd array of `size` gids the module may realloc, as glibc's
        // initgroups hands it over.
        let mut groups = unsafe { libc::malloc(64 * std::mem::size_of::<gid_t>()) }.cast::<gid_t>();
        if groups.is_null() {
            return NssReply::Unavail("out of memory".into());
        }
        // SAFETY: every pointer is valid for the call; limit -1 means no limit.
        let st = unsafe {
            f(
                c.as_ptr(),
                primary,
                &mut start,
                &mut size,
                &mut groups,
                -1,
                &mut errno,
            )
        };
        let mut gids = Vec::new();
        if !groups.is_null() {
            let n = usize::try_from(start.clamp(0, size.max(0))).unwrap_or(0);
            for i in 0..n {
                // SAFETY: the module filled `start` entries of the array of `size`.
                let g = unsafe { *groups.add(i) };
                if g != primary && !gids.contains(&g) {
                    gids.push(g);
                }
            }
            // SAFETY: allocated by malloc (or the module's realloc).
            unsafe { libc::free(groups.cast()) };
        }
        match st {
            NSS_STATUS_SUCCESS | NSS_STATUS_NOTFOUND => NssReply::Gids(gids),
            _ => NssReply::Unavail(format!(
                "_nss_{}_initgroups_dyn failed (status {st}, errno {errno})",
                self.name
            )),
        }
    }

    fn enum_users(&self) -> NssReply {
        let (Some(set), Some(get), Some(end)) = (self.setpw, self.getpw, self.endpw) else {
            return self.missing("getpwent_r");
        };
        // SAFETY: no arguments beyond `stayopen`.
        unsafe { set(0) };
        let mut out = Vec::new();
        let reply = loop {
            // SAFETY: as for getpwnam_r.
            match one_user(|pw, b, l, e| unsafe { get(pw, b, l, e) }) {
                NssReply::Users(mut u) => out.append(&mut u),
                NssReply::NotFound => break NssReply::Users(std::mem::take(&mut out)),
                other => break other,
            }
            if out.len() >= MAX_ENTRIES {
                break NssReply::Users(std::mem::take(&mut out));
            }
        };
        // SAFETY: no arguments.
        unsafe { end() };
        reply
    }

    fn enum_groups(&self) -> NssReply {
        let (Some(set), Some(get), Some(end)) = (self.setgr, self.getgr, self.endgr) else {
            return self.missing("getgrent_r");
        };
        // SAFETY: no arguments beyond `stayopen`.
        unsafe { set(0) };
        let mut out = Vec::new();
        let reply = loop {
            // SAFETY: as for getgrnam_r.
            match one_group(|g, b, l, e| unsafe { get(g, b, l, e) }) {
                NssReply::Groups(mut g) => out.append(&mut g),
                NssReply::NotFound => break NssReply::Groups(std::mem::take(&mut out)),
                other => break other,
            }
            if out.len() >= MAX_ENTRIES {
                break NssReply::Groups(std::mem::take(&mut out));
            }
        };
        // SAFETY: no arguments.
        unsafe { end() };
        reply
    }
}

fn cstring(s: &str) -> Option<CString> {
    CString::new(s).ok()
}

/// A C string field as text (invalid UTF-8 replaced; NULL is empty).
fn text(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: the module returned a NUL-terminated string inside our buffer.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// Calls `call` with growing buffers until it stops asking for more room; `convert` reads
/// the result while the buffer is alive.
fn with_buffer<S, T>(
    mut call: impl FnMut(*mut S, *mut c_char, size_t, *mut c_int) -> c_int,
    convert: impl Fn(&S) -> T,
    found: impl FnOnce(T) -> NssReply,
) -> NssReply {
    let mut size = FIRST_BUFFER;
    loop {
        let mut buf = vec![0u8; size];
        // SAFETY: S is a plain C struct (passwd or group) for which all-zero is valid.
        let mut ent: S = unsafe { std::mem::zeroed() };
        let mut errno: c_int = 0;
        let st = call(&mut ent, buf.as_mut_ptr().cast(), size, &mut errno);
        match st {
            NSS_STATUS_SUCCESS => return found(convert(&ent)),
            NSS_STATUS_TRYAGAIN if errno == libc::ERANGE => {
                size = size.saturating_mul(2);
                if size > MAX_BUFFER {
                    return NssReply::Unavail(format!(
                        "an entry needs more than {MAX_BUFFER} bytes"
                    ));
                }
            }
            NSS_STATUS_NOTFOUND => return NssReply::NotFound,
            // ENOENT with UNAVAIL/TRYAGAIN: glibc treats it as not found.
            _ if errno == libc::ENOENT => return NssReply::NotFound,
            _ => {
                return NssReply::Unavail(format!("NSS status {st}, errno {errno}"));
            }
        }
    }
}

fn one_user(call: impl FnMut(*mut passwd, *mut c_char, size_t, *mut c_int) -> c_int) -> NssReply {
    with_buffer(
        call,
        |p: &passwd| PasswdEnt {
            name: text(p.pw_name),
            uid: p.pw_uid,
            gid: p.pw_gid,
            gecos: text(p.pw_gecos),
            dir: text(p.pw_dir),
            shell: text(p.pw_shell),
        },
        |u| NssReply::Users(vec![u]),
    )
}

fn one_group(call: impl FnMut(*mut group, *mut c_char, size_t, *mut c_int) -> c_int) -> NssReply {
    with_buffer(
        call,
        |g: &group| {
            let mut members = Vec::new();
            if !g.gr_mem.is_null() {
                for i in 0..MAX_MEMBERS {
                    // SAFETY: gr_mem is a NULL-terminated array inside our buffer.
                    let m = unsafe { *g.gr_mem.add(i) };
                    if m.is_null() {
                        break;
                    }
                    members.push(text(m));
                }
            }
            GroupEnt {
                name: text(g.gr_name),
                gid: g.gr_gid,
                members,
            }
        },
        |g| NssReply::Groups(vec![g]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names() {
        assert_eq!(module_file("files").as_deref(), Some("libnss_files.so.2"));
        assert_eq!(module_file("../x"), None);
        assert_eq!(module_file("a/b"), None);
        assert_eq!(module_file(""), None);
    }

    #[test]
    fn libnss_files_answers() {
        let m = NssModule::open("files").expect("libnss_files.so.2 loads");
        match m.handle(&NssRequest::PwNam("root".into())) {
            NssReply::Users(u) => assert_eq!(u[0].uid, 0),
            other => panic!("root: {other:?}"),
        }
        assert_eq!(
            m.handle(&NssRequest::PwNam("no-such-user-xyz".into())),
            NssReply::NotFound
        );
        match m.handle(&NssRequest::GrGid(0)) {
            NssReply::Groups(g) => assert_eq!(g[0].name, "root"),
            other => panic!("gid 0: {other:?}"),
        }
        match m.handle(&NssRequest::EnumUsers) {
            NssReply::Users(u) => assert!(u.iter().any(|u| u.name == "root")),
            other => panic!("enumeration: {other:?}"),
        }
        assert!(matches!(
            m.handle(&NssRequest::Initgroups("root".into(), 0)),
            NssReply::Gids(_)
        ));
        assert!(NssModule::open("no-such-module-xyz").is_err());
    }
}
