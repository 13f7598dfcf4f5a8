//! One entry point for the fuzz targets (`fuzz/`): every decoding this module applies to a
//! reply body from the responder, without a socket.

use sss_proto::nss::decode_initgr_reply;

use crate::enumerate::{EnumKind, GroupKind, PasswdKind, RECORDS_OFFSET, fill_at};
use crate::lookup::{fill_single_group, fill_single_passwd};

/// Reads `body` as each reply libnss_sss acts on: a single passwd and a single group record
/// (filled into `buf` as `getpwnam_r` / `getgrnam_r` do), a passwd and a group enumeration
/// batch (every record filled in turn) and an initgroups gid list. Returns how many of these
/// readings accepted the body. Never panics.
pub fn read_reply(body: &[u8], buf: &mut [u8]) -> usize {
    // SAFETY: passwd and group are plain C structs; all-zero is a valid value of each.
    let (mut pwd, mut grp): (libc::passwd, libc::group) =
        unsafe { (std::mem::zeroed(), std::mem::zeroed()) };
    let mut ok = 0;
    ok += usize::from(fill_single_passwd(body, &mut pwd, buf).is_ok());
    ok += usize::from(fill_single_group(body, &mut grp, buf).is_ok());
    ok += usize::from(walk_batch::<PasswdKind>(body, &mut pwd, buf));
    ok += usize::from(walk_batch::<GroupKind>(body, &mut grp, buf));
    ok += usize::from(decode_initgr_reply(body).is_ok());
    // SAFETY: servent is a plain C struct; all-zero is valid.
    let mut se: libc::servent = unsafe { std::mem::zeroed() };
    ok += usize::from(crate::services::fill_single_servent(body, &mut se, buf).is_ok());
    ok += usize::from(walk_batch::<crate::services::ServKind>(body, &mut se, buf));
    // SAFETY: hostent and netent are plain C structs; all-zero is valid.
    let (mut he, mut ne): (libc::hostent, libc::netent) =
        unsafe { (std::mem::zeroed(), std::mem::zeroed()) };
    for af in [libc::AF_INET, libc::AF_INET6] {
        ok += usize::from(crate::resolver::fill_single_hostent(body, af, &mut he, buf).is_ok());
    }
    ok += usize::from(walk_batch::<crate::resolver::HostKind>(body, &mut he, buf));
    ok += usize::from(crate::resolver::fill_single_netent(body, &mut ne, buf).is_ok());
    ok += usize::from(walk_batch::<crate::resolver::NetKind>(body, &mut ne, buf));
    ok
}

/// An enumeration batch as `getpwent_r` / `getgrent_r` walk it: validated, then each
/// record filled from where the previous one ended.
fn walk_batch<K: EnumKind>(body: &[u8], out: &mut K::Out, buf: &mut [u8]) -> bool {
    let Ok(n) = K::validate(body) else {
        return false;
    };
    let mut offset = RECORDS_OFFSET;
    for _ in 0..n {
        match fill_at::<K>(body, offset, out, buf) {
            Ok(next) => offset = next,
            Err(_) => return false,
        }
    }
    true
}
