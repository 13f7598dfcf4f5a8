//! The glibc NSS calls the loop binaries time: reentrant lookups into caller-owned buffers
//! that grow on ERANGE, so a loop allocates nothing once warm.

use std::ffi::CStr;

/// The largest buffer a lookup may grow to before it counts as failed (64 MiB).
const MAX_BUFFER: usize = 64 << 20;

/// Doubles `buf` after an ERANGE; false once it would exceed [`MAX_BUFFER`].
fn grow(buf: &mut Vec<u8>) -> bool {
    let n = buf.len().max(1024) * 2;
    if n > MAX_BUFFER {
        return false;
    }
    buf.resize(n, 0);
    true
}

/// `getpwnam_r(name)`: whether the user was found.
pub fn getpwnam(name: &CStr, buf: &mut Vec<u8>) -> bool {
    getpwnam_ids(name, buf).is_some()
}

/// `getpwnam_r(name)`: the user's uid and primary gid, or None when not found.
pub fn getpwnam_ids(name: &CStr, buf: &mut Vec<u8>) -> Option<(u32, u32)> {
    loop {
        // SAFETY: passwd is plain old data; all-zero is a valid value.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut out: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call and buf.len() bytes are writable.
        let rc = unsafe {
            libc::getpwnam_r(
                name.as_ptr(),
                &mut pwd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut out,
            )
        };
        if rc == libc::ERANGE && grow(buf) {
            continue;
        }
        return (rc == 0 && !out.is_null()).then_some((pwd.pw_uid, pwd.pw_gid));
    }
}

/// `getpwuid_r(uid)`: whether the user was found.
pub fn getpwuid(uid: libc::uid_t, buf: &mut Vec<u8>) -> bool {
    loop {
        // SAFETY: as in getpwnam.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut out: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: as in getpwnam.
        let rc = unsafe {
            libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr().cast(), buf.len(), &mut out)
        };
        if rc == libc::ERANGE && grow(buf) {
            continue;
        }
        return rc == 0 && !out.is_null();
    }
}

/// `getgrnam_r(name)`: the number of members, or None when the group was not found.
pub fn getgrnam(name: &CStr, buf: &mut Vec<u8>) -> Option<usize> {
    loop {
        // SAFETY: group is plain old data; all-zero is a valid value.
        let mut grp: libc::group = unsafe { std::mem::zeroed() };
        let mut out: *mut libc::group = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call and buf.len() bytes are writable.
        let rc = unsafe {
            libc::getgrnam_r(
                name.as_ptr(),
                &mut grp,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut out,
            )
        };
        if rc == libc::ERANGE && grow(buf) {
            continue;
        }
        if rc != 0 || out.is_null() || grp.gr_mem.is_null() {
            return None;
        }
        let mut n = 0;
        // SAFETY: on success gr_mem is a NULL-terminated array inside buf.
        while !unsafe { *grp.gr_mem.add(n) }.is_null() {
            n += 1;
        }
        return Some(n);
    }
}

/// `getgrouplist(name, gid)`: the number of groups (the primary `gid` included), or None on
/// failure. `groups` grows when glibc says it is too small.
pub fn getgrouplist(name: &CStr, gid: libc::gid_t, groups: &mut Vec<libc::gid_t>) -> Option<usize> {
    loop {
        let mut n = libc::c_int::try_from(groups.len()).ok()?;
        // SAFETY: groups has n writable slots.
        let rc = unsafe { libc::getgrouplist(name.as_ptr(), gid, groups.as_mut_ptr(), &mut n) };
        if rc >= 0 {
            return usize::try_from(n).ok();
        }
        // Too small: n now holds the number needed.
        let need = usize::try_from(n).ok()?;
        if need <= groups.len() || need > MAX_BUFFER {
            return None;
        }
        groups.resize(need, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_resolves_through_the_hosts_files() {
        // Every Debian host has root in /etc/passwd and /etc/group.
        let mut buf = vec![0u8; 8];
        assert!(getpwnam(c"root", &mut buf));
        assert!(buf.len() > 8, "the buffer grew after ERANGE");
        assert!(getpwuid(0, &mut buf));
        assert!(!getpwnam(c"no-such-user-sssd-bench", &mut buf));
        assert!(getgrnam(c"root", &mut buf).is_some());
        assert_eq!(getgrnam(c"no-such-group-sssd-bench", &mut buf), None);
        let mut groups = vec![0; 1];
        let n = getgrouplist(c"root", 0, &mut groups).unwrap_or(0);
        assert!(n >= 1);
    }
}
