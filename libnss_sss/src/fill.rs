//! Fills `struct passwd` / `struct group` from decoded records, strings in the caller's buffer.
//! On error the output struct is left untouched.

use sss_proto::nss::{GroupEntry, PasswdEntry};

use crate::arena::Arena;
use crate::status::NssError;

/// Fills `pwd` from `e`, placing strings in `buf`; [`NssError::Range`] if `buf` is too small.
pub fn fill_passwd(
    e: &PasswdEntry<'_>,
    pwd: &mut libc::passwd,
    buf: &mut [u8],
) -> Result<(), NssError> {
    let mut a = Arena::new(buf);
    let name = a.string(e.name)?;
    let passwd = a.string(e.passwd)?;
    let gecos = a.string(e.gecos)?;
    let dir = a.string(e.dir)?;
    let shell = a.string(e.shell)?;
    pwd.pw_name = name;
    pwd.pw_passwd = passwd;
    pwd.pw_uid = e.uid;
    pwd.pw_gid = e.gid;
    pwd.pw_gecos = gecos;
    pwd.pw_dir = dir;
    pwd.pw_shell = shell;
    Ok(())
}

/// Fills `grp` from `e`, placing strings and the member array in `buf`.
pub fn fill_group(
    e: &GroupEntry<'_>,
    grp: &mut libc::group,
    buf: &mut [u8],
) -> Result<(), NssError> {
    let mut a = Arena::new(buf);
    let name = a.string(e.name)?;
    let passwd = a.string(e.passwd)?;
    let mut members = Vec::new();
    members
        .try_reserve_exact(e.members.len())
        .map_err(|_| NssError::NoMemory)?;
    for m in &e.members {
        members.push(a.string(m)?);
    }
    let mem = a.ptr_array(&members)?;
    grp.gr_name = name;
    grp.gr_passwd = passwd;
    grp.gr_gid = e.gid;
    grp.gr_mem = mem;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::testutil::{group_entry, passwd_entry};
    use std::ffi::CStr;

    pub fn zero_passwd() -> libc::passwd {
        // SAFETY: plain C struct; all-zero (NULL pointers) is valid.
        unsafe { std::mem::zeroed() }
    }

    pub fn zero_group() -> libc::group {
        // SAFETY: plain C struct; all-zero (NULL pointers) is valid.
        unsafe { std::mem::zeroed() }
    }

    /// (name, passwd, uid, gid, gecos, dir, shell) of a filled passwd.
    pub fn read_passwd(p: &libc::passwd) -> (String, String, u32, u32, String, String, String) {
        let s = |c: *mut libc::c_char| {
            // SAFETY: the fill functions store NUL-terminated strings.
            unsafe { CStr::from_ptr(c) }.to_string_lossy().into_owned()
        };
        (
            s(p.pw_name),
            s(p.pw_passwd),
            p.pw_uid,
            p.pw_gid,
            s(p.pw_gecos),
            s(p.pw_dir),
            s(p.pw_shell),
        )
    }

    /// (name, passwd, gid, members) of a filled group.
    pub fn read_group(g: &libc::group) -> (String, String, u32, Vec<String>) {
        let s = |c: *mut libc::c_char| {
            // SAFETY: the fill functions store NUL-terminated strings.
            unsafe { CStr::from_ptr(c) }.to_string_lossy().into_owned()
        };
        let mut mem = Vec::new();
        let mut i = 0;
        // SAFETY: gr_mem is a NULL-terminated array written by fill_group.
        unsafe {
            while !(*g.gr_mem.add(i)).is_null() {
                mem.push(s(*g.gr_mem.add(i)));
                i += 1;
            }
        }
        (s(g.gr_name), s(g.gr_passwd), g.gr_gid, mem)
    }

    #[test]
    fn passwd_fields_are_byte_exact_inside_the_buffer() {
        let mut buf = vec![0u8; 256];
        let mut pwd = zero_passwd();
        fill_passwd(&passwd_entry(0), &mut pwd, &mut buf).unwrap();
        assert_eq!(
            read_passwd(&pwd),
            (
                "alice".into(),
                "*".into(),
                10001,
                10000,
                "Alice Liddell".into(),
                "/home/alice".into(),
                "/bin/bash".into()
            )
        );
        let want = b"alice\0*\0Alice Liddell\0/home/alice\0/bin/bash\0";
        assert_eq!(&buf[..want.len()], want);
        assert_eq!(pwd.pw_name as usize, buf.as_ptr() as usize);
    }

    #[test]
    fn passwd_too_small_leaves_struct_untouched() {
        let e = passwd_entry(0);
        let need = e.strings_len();
        let mut pwd = zero_passwd();
        let mut small = vec![0u8; need - 1];
        assert_eq!(fill_passwd(&e, &mut pwd, &mut small), Err(NssError::Range));
        assert!(pwd.pw_name.is_null());
        let mut exact = vec![0u8; need];
        fill_passwd(&e, &mut pwd, &mut exact).unwrap();
        assert_eq!(read_passwd(&pwd).0, "alice");
    }

    #[test]
    fn group_members_and_array() {
        let mut buf = vec![0u8; 256];
        let mut grp = zero_group();
        fill_group(&group_entry(0), &mut grp, &mut buf).unwrap();
        assert_eq!(
            read_group(&grp),
            (
                "devs".into(),
                "*".into(),
                20001,
                vec!["alice".into(), "bob".into()]
            )
        );
        let start = buf.as_ptr() as usize;
        let end = start + buf.len();
        assert!((start..end).contains(&(grp.gr_mem as usize)));
        let mut grp = zero_group();
        fill_group(&group_entry(1), &mut grp, &mut buf).unwrap();
        assert_eq!(read_group(&grp).3, Vec::<String>::new());
    }

    #[test]
    fn group_too_small_for_the_array() {
        let e = group_entry(0);
        // Strings fit ("devs\0*\0alice\0bob\0" = 17 bytes) but not the 3-pointer array.
        let mut buf = vec![0u8; 24];
        let mut grp = zero_group();
        assert_eq!(fill_group(&e, &mut grp, &mut buf), Err(NssError::Range));
        assert!(grp.gr_name.is_null());
    }
}
