//! `initgroups_dyn`: fetch a user's group ids (memory cache first, then the responder) and
//! append them to glibc's array the way SSSD's client does.

use libc::{c_long, gid_t};
use sss_proto::Command;
use sss_proto::nss::{MAX_NAME_LEN, decode_initgr_reply, encode_name_request};

use crate::client::Client;
use crate::nss::Nss;
use crate::status::NssError;

/// The gids the responder lists for `user` (NotFound when it lists none).
pub fn initgroups(client: &Client, user: &[u8]) -> Result<Vec<u32>, NssError> {
    if user.len() > MAX_NAME_LEN {
        return Err(NssError::BadName);
    }
    if user.is_empty() || user.contains(&0) {
        return Err(NssError::NotFound);
    }
    let body = client.request(Command::InitGr, &encode_name_request(user, None))?;
    let gids = decode_initgr_reply(&body)?;
    if gids.is_empty() {
        return Err(NssError::NotFound);
    }
    Ok(gids)
}

/// `initgroups_dyn`: appends `user`'s gids to glibc's array, from the memory cache when it
/// has a fresh record (even one with no gids: SUCCESS, nothing added), else from the
/// responder (no gids: NOTFOUND). The primary group is not skipped and duplicates are kept,
/// as SSSD does (glibc removes them).
///
/// # Safety
/// As for [`append_gids`].
pub unsafe fn initgroups_dyn(
    nss: &Nss<'_>,
    user: &[u8],
    start: &mut c_long,
    size: &mut c_long,
    groups: &mut *mut gid_t,
    limit: c_long,
) -> Result<(), NssError> {
    if user.len() > MAX_NAME_LEN {
        return Err(NssError::BadName);
    }
    check_array(*start, *size, *groups)?;
    if let Some(mc) = nss.mc()
        && !user.is_empty()
        // SAFETY: caller contract.
        && unsafe { mc.initgroups(user, start, size, groups, limit) }.is_ok()
    {
        return Ok(());
    }
    let gids = nss.with_client(|c| initgroups(c, user))?;
    // SAFETY: caller contract.
    unsafe { append_gids(start, size, groups, &gids, limit) }
}

/// Checks glibc's array description: `0 <= start <= size`, and an array when `size > 0`.
fn check_array(start: c_long, size: c_long, groups: *mut gid_t) -> Result<(), NssError> {
    if start < 0 || start > size || (groups.is_null() && size > 0) {
        return Err(NssError::Invalid);
    }
    Ok(())
}

/// Appends `gids` to the malloc'd array `*groups` (capacity `*size`, `*start` used), with
/// SSSD's rule: see `make_room`. Every gid is appended as given.
///
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
    limit: c_long,
) -> Result<(), NssError> {
    // SAFETY: caller contract.
    let take = unsafe { make_room(*start, size, groups, gids.len(), limit) }?;
    let used = usize::try_from(*start).map_err(|_| NssError::Invalid)?;
    for (i, g) in gids.iter().take(take).enumerate() {
        // SAFETY: make_room guarantees used + take <= *size entries at *groups.
        unsafe { (*groups).add(used + i).write(*g) };
    }
    *start = c_long::try_from(used + take).map_err(|_| NssError::Invalid)?;
    Ok(())
}

/// Makes room for `num` more gids after the `start` used entries of `*groups` with SSSD's
/// rule, and returns how many of them fit (to be written from index `start`): when fewer than
/// `num` entries are free, the array is reallocated to `*size + num` entries, or to `limit`
/// if that is smaller (`limit <= 0`: no limit).
///
/// Two deviations keep a bad `limit` from corrupting memory where SSSD's code would: a limit
/// below `start` leaves the array alone (SSSD shrinks it under the used entries), and never
/// more than `num` are said to fit (SSSD copies `limit - start` entries when the limit lies
/// between the current size and the grown size, reading past the list).
///
/// # Safety
/// As for [`append_gids`].
pub unsafe fn make_room(
    start: c_long,
    size: &mut c_long,
    groups: &mut *mut gid_t,
    num: usize,
    limit: c_long,
) -> Result<usize, NssError> {
    check_array(start, *size, *groups)?;
    let used = usize::try_from(start).map_err(|_| NssError::Invalid)?;
    let cap = usize::try_from(*size).map_err(|_| NssError::Invalid)?;
    if cap - used >= num {
        return Ok(num);
    }
    let mut new_cap = cap.checked_add(num).ok_or(NssError::NoMemory)?;
    let mut take = num;
    if let Ok(l) = usize::try_from(limit)
        && l > 0
        && new_cap > l
    {
        new_cap = l;
        take = new_cap.saturating_sub(used).min(num);
    }
    if new_cap < used {
        return Ok(0);
    }
    let bytes = new_cap
        .checked_mul(std::mem::size_of::<gid_t>())
        .ok_or(NssError::NoMemory)?;
    // SAFETY: *groups is NULL or a malloc'd block (caller contract). Never zero bytes:
    // num > cap - used >= 0 makes new_cap >= 1, or new_cap = limit > 0.
    let p = unsafe { libc::realloc((*groups).cast::<libc::c_void>(), bytes) };
    if p.is_null() {
        return Err(NssError::NoMemory);
    }
    *groups = p.cast::<gid_t>();
    *size = c_long::try_from(new_cap).map_err(|_| NssError::NoMemory)?;
    Ok(take)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::NssStatus;
    use crate::testutil::{Action, Fake, directory};
    use sss_proto::nss::encode_initgr_reply;

    pub(crate) struct CArray {
        pub start: c_long,
        pub size: c_long,
        pub groups: *mut gid_t,
    }

    impl CArray {
        pub fn new(initial: &[gid_t], size: usize) -> CArray {
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
        fn append(&mut self, gids: &[u32], limit: c_long) -> Result<(), NssError> {
            // SAFETY: the array is malloc'd with `size` entries, `start` initialised.
            unsafe {
                append_gids(
                    &mut self.start,
                    &mut self.size,
                    &mut self.groups,
                    gids,
                    limit,
                )
            }
        }
        pub fn dyn_call(
            &mut self,
            nss: &Nss<'_>,
            user: &[u8],
            limit: c_long,
        ) -> Result<(), NssError> {
            // SAFETY: as above.
            unsafe {
                initgroups_dyn(
                    nss,
                    user,
                    &mut self.start,
                    &mut self.size,
                    &mut self.groups,
                    limit,
                )
            }
        }
        pub fn contents(&self) -> Vec<gid_t> {
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
    fn appends_every_gid_as_sssd_does() {
        let fake = Fake::start(directory);
        let c = Client::new(&fake.path);
        let gids = initgroups(&c, b"alice").unwrap();
        assert_eq!(gids, [20001, 10000, 20002, 20003]);
        // Room for 1 more, 4 to add: grown to size + 4, primary and all kept.
        let mut a = CArray::new(&[10000], 2);
        a.append(&gids, 0).unwrap();
        assert_eq!(a.contents(), [10000, 20001, 10000, 20002, 20003]);
        assert_eq!(a.size, 6);
        // Enough room: no reallocation, duplicates appended again.
        let mut b = CArray::new(&[10000], 10);
        b.append(&gids, 0).unwrap();
        assert_eq!((b.start, b.size), (5, 10));
        b.append(&[20001], 0).unwrap();
        assert_eq!(b.contents(), [10000, 20001, 10000, 20002, 20003, 20001]);
        assert_eq!(fake.log()[1], (0x26, b"alice\0".to_vec()));
    }

    #[test]
    fn only_the_primary_group_still_allocates() {
        // The old code skipped the primary gid and left glibc's array unallocated.
        let mut a = CArray {
            start: 0,
            size: 0,
            groups: std::ptr::null_mut(),
        };
        a.append(&[100], -1).unwrap();
        assert_eq!((a.contents(), a.size), (vec![100], 1));
    }

    #[test]
    fn limit_clamps_the_new_size() {
        // size 2, start 1, 4 to add: size + 4 = 6 > limit 3 -> size 3, 2 appended.
        let mut a = CArray::new(&[100], 2);
        a.append(&[1, 2, 3, 4], 3).unwrap();
        assert_eq!(a.contents(), [100, 1, 2]);
        assert_eq!(a.size, 3);
        // Full at the limit: "grown" to the limit again, nothing appended.
        a.append(&[5], 3).unwrap();
        assert_eq!((a.start, a.size), (3, 3));
        // A limit below the used entries never shrinks or overflows the array.
        let mut b = CArray::new(&[1, 2, 3], 3);
        b.append(&[7, 8], 2).unwrap();
        assert_eq!((b.contents(), b.size), (vec![1, 2, 3], 3));
        // A limit between the size and the grown size: at most the gids given are copied.
        let mut c = CArray::new(&[1, 2, 3, 4, 5], 10);
        c.append(&[6, 7, 8, 9, 10, 11], 12).unwrap();
        assert_eq!(c.contents(), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        assert_eq!(c.size, 12);
        // Negative or zero limit = unlimited.
        let mut d = CArray::new(&[], 0);
        d.append(&[9, 10, 11], -1).unwrap();
        assert_eq!(d.contents(), [9, 10, 11]);
        let mut e = CArray::new(&[], 1);
        e.append(&[9, 10], 0).unwrap();
        assert_eq!((e.contents(), e.size), (vec![9, 10], 3));
    }

    #[test]
    fn rejects_inconsistent_arrays() {
        let mut a = CArray::new(&[1, 2], 2);
        a.start = 3;
        assert_eq!(a.append(&[5], 0), Err(NssError::Invalid));
        a.start = -1;
        assert_eq!(a.append(&[5], 0), Err(NssError::Invalid));
        a.start = 2;
    }

    #[test]
    fn unknown_user_and_absent_daemon() {
        let fake = Fake::start(directory);
        let c = Client::new(&fake.path);
        let e = initgroups(&c, b"nobody").unwrap_err();
        assert_eq!((e.status(), e.errno()), (NssStatus::NotFound, 0));
        let dir = tempfile::tempdir().unwrap();
        let c = Client::new(dir.path().join("nss"));
        assert_eq!(
            initgroups(&c, b"alice").unwrap_err().status(),
            NssStatus::Unavail
        );
        let long = vec![b'u'; MAX_NAME_LEN + 1];
        assert_eq!(initgroups(&c, &long), Err(NssError::BadName));
    }

    #[test]
    fn socket_reply_with_only_the_primary_group() {
        let fake = Fake::start(|cmd, _| {
            (cmd == 0x26).then(|| Action::reply(0, encode_initgr_reply(&[10000])))
        });
        let c = Client::new(&fake.path);
        let nss = Nss::socket_only(&c);
        let mut a = CArray {
            start: 0,
            size: 0,
            groups: std::ptr::null_mut(),
        };
        a.dyn_call(&nss, b"solo", -1).unwrap();
        assert_eq!((a.contents(), a.size), (vec![10000], 1));
    }
}
