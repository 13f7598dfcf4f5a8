//! `getent`-style lines from the C structs glibc or an NSS module filled (for the helper
//! binaries that call them directly).

use std::ffi::{CStr, c_char};

/// The C string at `p` (empty for NULL), lossily as UTF-8.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string valid for the call.
pub unsafe fn string(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: caller contract.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// `name:passwd:uid:gid:gecos:dir:shell`.
///
/// # Safety
/// The struct's string pointers are NULL or valid C strings (as a successful lookup
/// leaves them).
pub unsafe fn passwd_line(p: &libc::passwd) -> String {
    // SAFETY: caller contract.
    let s = |c| unsafe { string(c) };
    format!(
        "{}:{}:{}:{}:{}:{}:{}",
        s(p.pw_name),
        s(p.pw_passwd),
        p.pw_uid,
        p.pw_gid,
        s(p.pw_gecos),
        s(p.pw_dir),
        s(p.pw_shell)
    )
}

/// `name:passwd:gid:member,...`, the members in the struct's order or `sorted`.
///
/// # Safety
/// As for [`passwd_line`]; `gr_mem` is NULL or a NULL-terminated array of C strings.
pub unsafe fn group_line(g: &libc::group, sorted: bool) -> String {
    // SAFETY: caller contract.
    let s = |c| unsafe { string(c) };
    let mut members = Vec::new();
    let mut m = g.gr_mem;
    // SAFETY: caller contract: a NULL-terminated array.
    unsafe {
        while !m.is_null() && !(*m).is_null() {
            members.push(s(*m));
            m = m.add(1);
        }
    }
    if sorted {
        members.sort();
    }
    format!(
        "{}:{}:{}:{}",
        s(g.gr_name),
        s(g.gr_passwd),
        g.gr_gid,
        members.join(",")
    )
}
