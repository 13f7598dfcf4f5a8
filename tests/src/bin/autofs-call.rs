//! `autofs-call LIB MAP [KEY...]`: loads an autofs client library (`libsss_autofs.so`, ours
//! or SSSD's) as autofs's `lookup_sss.so` does, and prints what its five functions return:
//! `setautomntent`, every entry of MAP (`key<TAB>value`), each KEY by name, `endautomntent`.
//! Errors print as errno names so two libraries can be compared line by line.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test tool: failing loudly is the point

use std::ffi::{CStr, CString, c_char, c_int, c_uint, c_void};

type Proto = unsafe extern "C" fn(c_uint) -> c_uint;
type SetEnt = unsafe extern "C" fn(*const c_char, *mut *mut c_void) -> c_int;
type GetEnt = unsafe extern "C" fn(*mut *mut c_char, *mut *mut c_char, *mut c_void) -> c_int;
type ByName = unsafe extern "C" fn(*const c_char, *mut *mut c_char, *mut c_void) -> c_int;
type EndEnt = unsafe extern "C" fn(*mut *mut c_void) -> c_int;

fn name(e: c_int) -> String {
    match e {
        0 => "ok".into(),
        libc::ENOENT => "ENOENT".into(),
        libc::EHOSTDOWN => "EHOSTDOWN".into(),
        libc::EINVAL => "EINVAL".into(),
        libc::EIO => "EIO".into(),
        libc::ECONNREFUSED => "ECONNREFUSED".into(),
        n => format!("errno {n}"),
    }
}

unsafe fn sym<T: Copy>(h: *mut c_void, s: &CStr) -> T {
    let p = unsafe { libc::dlsym(h, s.as_ptr()) };
    assert!(!p.is_null(), "{s:?} not found");
    unsafe { std::mem::transmute_copy(&p) }
}

fn take(p: *mut c_char) -> String {
    if p.is_null() {
        return "(null)".into();
    }
    let s = unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
    unsafe { libc::free(p.cast()) };
    s
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: autofs-call LIB MAP [KEY...]");
        std::process::exit(2);
    }
    let lib = CString::new(args[1].as_str()).unwrap();
    let h = unsafe { libc::dlopen(lib.as_ptr(), libc::RTLD_NOW) };
    if h.is_null() {
        let e = unsafe { CStr::from_ptr(libc::dlerror()) };
        eprintln!("dlopen {}: {e:?}", args[1]);
        std::process::exit(2);
    }
    let (proto, setent, getent, byname, endent) = unsafe {
        (
            sym::<Proto>(h, c"_sss_auto_protocol_version"),
            sym::<SetEnt>(h, c"_sss_setautomntent"),
            sym::<GetEnt>(h, c"_sss_getautomntent_r"),
            sym::<ByName>(h, c"_sss_getautomntbyname_r"),
            sym::<EndEnt>(h, c"_sss_endautomntent"),
        )
    };
    let want = std::env::var("AUTOFS_PROTOCOL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    println!("protocol {}", unsafe { proto(want) });
    let map = CString::new(args[2].as_str()).unwrap();
    let mut ctx: *mut c_void = std::ptr::null_mut();
    let rc = unsafe { setent(map.as_ptr(), &mut ctx) };
    println!("setautomntent {}: {}", args[2], name(rc));
    if rc == 0 {
        loop {
            let (mut k, mut v) = (std::ptr::null_mut(), std::ptr::null_mut());
            let rc = unsafe { getent(&mut k, &mut v, ctx) };
            if rc != 0 {
                println!("getautomntent end: {}", name(rc));
                break;
            }
            println!("{}\t{}", take(k), take(v));
        }
    }
    for key in &args[3..] {
        if rc != 0 {
            break;
        }
        let k = CString::new(key.as_str()).unwrap();
        let mut v = std::ptr::null_mut();
        let r = unsafe { byname(k.as_ptr(), &mut v, ctx) };
        println!("{key} = {} ({})", take(v), name(r));
    }
    let r = unsafe { endent(&mut ctx) };
    println!("endautomntent: {}", name(r));
}
