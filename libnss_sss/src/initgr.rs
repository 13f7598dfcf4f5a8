//! `initgroups_dyn`: fetch a user's supplementary gids and append them to glibc's array.

use libc::{c_long, gid_t};
use sss_proto::Command;
use sss_proto::nss::{MAX_NAME_LEN, decode_initgr_reply, encode_name_request};

use crate::client::Client;
use crate::status::NssError;

/// The gids the responder lists for `user` (NotFound when it lists none).
pub fn initgroups(client: &Client, user: &[u8]) -> Result<Vec<u32>, NssError> {
    if user.is_empty() || user.len() > MAX_NAME_LEN || user.contains(&0) {
        return Err(NssError::NotFound);
    }
    let body = client.request(Command::InitGr, &encode_name_request(user, None))?;
    let gids = decode_initgr_reply(&body)?;
    if gids.is_empty() {
        return Err(NssError::NotFound);
    }
    Ok(gids)
}

/// Appends `gids` to the malloc'd array `*groups` (capacity `*size`, `*start` used), skipping
/// `skip` (the primary group) and gids already present. Grows the array with `realloc` up to
/// `limit` entries (`limit <= 0`: unlimited); gids that do not fit under the limit are dropped.
/// On allocation failure the array is left as it was and [`NssError::NoMemory`] is returned.
///
/// # Safety
/// `*groups` must be NULL or point to a `malloc`'d array of at least `*size` gids, and the
/// first `*start` entries must be initialised.
pub unsafe fn append_gids(
    start: &mut c_long,
    size: &mut c_long,
    groups: &mut *mut gid_t,
    gids: &[u32],
    skip: gid_t,
    limit: c_long,
) -> Result<(), NssError> {
    let used = usize::try_from(*start).map_err(|_| NssError::Invalid)?;
    let cap = usize::try_from(*size).map_err(|_| NssError::Invalid)?;
    if used > cap || (groups.is_null() && cap > 0) {
        return Err(NssError::Invalid);
    }
    let limit = usize::try_from(limit).ok().filter(|l| *l > 0);
    let existing: &[gid_t] = if used == 0 || groups.is_null() {
        &[]
    } else {
        // SAFETY: the caller guarantees *start initialised entries at *groups.
        unsafe { std::slice::from_raw_parts(*groups, used) }
    };
    let mut add: Vec<gid_t> = Vec::new();
    for g in gids {
        if *g != skip && !existing.contains(g) && !add.contains(g) {
            add.push(*g);
        }
    }
    let need = used.checked_add(add.len()).ok_or(NssError::NoMemory)?;
    let want = limit.map_or(need, |l| need.min(l));
    let mut cap = cap;
    if want > cap {
        let bytes = want
            .checked_mul(std::mem::size_of::<gid_t>())
            .ok_or(NssError::NoMemory)?;
        // SAFETY: *groups is NULL or a malloc'd block (caller contract).
        let p = unsafe { libc::realloc((*groups).cast::<libc::c_void>(), bytes) };
        if p.is_null() {
            return Err(NssError::NoMemory);
        }
        *groups = p.cast::<gid_t>();
        cap = want;
        *size = c_long::try_from(cap).map_err(|_| NssError::NoMemory)?;
    }
    let room = limit.map_or(cap, |l| cap.min(l)).saturating_sub(used);
    let mut n = used;
    for g in add.into_iter().take(room) {
        // SAFETY: n < cap (room bounds it) and *groups holds cap entries.
        unsafe { (*groups).add(n).write(g) };
        n += 1;
    }
    *start = c_long::try_from(n).map_err(|_| NssError::Invalid)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NssStatus;
    use crate::testutil::{Fake, directory};

    struct CArray {
        start: c_long,
        size: c_long,
        groups: *mut gid_t,
    }

    impl CArray {
        fn new(initial: &[gid_t], size: usize) -> CArray {
            // SAFETY: plain malloc of `size` gids.
            let groups = unsafe { libc::malloc(size.max(1) * 4) }.cast::<gid_t>();
            for (i, g) in initial.iter().enumerate() {
                // SAFETY: i < size.
                unsafe { groups.add(i).write(*g) };
            }
            CArray {
                start: initial.len() as c_long,
                size: size as c_long,
                groups,
            }
        }
        fn append(&mut self, gids: &[u32], skip: gid_t, limit: c_long) -> Result<(), NssError> {
            // SAFETY: the array is malloc'd with `size` entries, `start` initialised.
            unsafe {
                append_gids(
                    &mut self.start,
                    &mut self.size,
                    &mut self.groups,
                    gids,
                    skip,
                    limit,
                )
            }
        }
        fn contents(&self) -> Vec<gid_t> {
            // SAFETY: start initialised entries.
            unsafe { std::slice::from_raw_parts(self.groups, self.start as usize) }.to_vec()
        }
    }

    impl Drop for CArray {
        fn drop(&mut self) {
            // SAFETY: malloc'd by CArray::new or realloc'd by append_gids.
            unsafe { libc::free(self.groups.cast()) };
        }
    }

    #[test]
    fn grows_skips_primary_and_duplicates() {
        let fake = Fake::start(directory);
        let c = Client::new(&fake.path);
        let gids = initgroups(&c, b"alice").unwrap();
        assert_eq!(gids, [20001, 10000, 20002, 20003]);
        let mut a = CArray::new(&[10000], 1);
        a.append(&gids, 10000, 0).unwrap();
        assert_eq!(a.contents(), [10000, 20001, 20002, 20003]);
        assert!(a.size >= 4);
        // Appending the same again adds nothing.
        a.append(&gids, 10000, 0).unwrap();
        assert_eq!(a.start, 4);
        assert_eq!(fake.log()[1], (0x26, b"alice\0".to_vec()));
    }

    #[test]
    fn respects_limit() {
        let mut a = CArray::new(&[100], 2);
        a.append(&[1, 2, 3, 4], 100, 3).unwrap();
        assert_eq!(a.contents(), [100, 1, 2]);
        assert_eq!(a.size, 3);
        // Already at the limit: nothing more, no growth, no underflow.
        a.append(&[5], 100, 3).unwrap();
        assert_eq!((a.start, a.size), (3, 3));
        // A limit below the current size never shrinks or overflows the array.
        let mut b = CArray::new(&[1, 2, 3], 4);
        b.append(&[7, 8], 0, 2).unwrap();
        assert_eq!((b.start, b.size), (3, 4));
        // Negative limit = unlimited.
        let mut d = CArray::new(&[], 0);
        d.append(&[9, 10, 11], 0, -1).unwrap();
        assert_eq!(d.contents(), [9, 10, 11]);
    }

    #[test]
    fn rejects_inconsistent_arrays() {
        let mut a = CArray::new(&[1, 2], 2);
        a.start = 3;
        assert_eq!(a.append(&[5], 0, 0), Err(NssError::Invalid));
        a.start = -1;
        assert_eq!(a.append(&[5], 0, 0), Err(NssError::Invalid));
        a.start = 2;
    }

    #[test]
    fn unknown_user_and_absent_daemon() {
        let fake = Fake::start(directory);
        let c = Client::new(&fake.path);
        let e = initgroups(&c, b"nobody").unwrap_err();
        assert_eq!((e.status(), e.errno()), (NssStatus::NotFound, libc::ENOENT));
        let dir = tempfile::tempdir().unwrap();
        let c = Client::new(dir.path().join("nss"));
        assert_eq!(
            initgroups(&c, b"alice").unwrap_err().status(),
            NssStatus::Unavail
        );
    }
}
