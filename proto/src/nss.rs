//! NSS request and reply bodies (SSSD 2.x layout).
//!
//! Replies share a prefix `u32 num_results, u32 reserved(0)` followed by `num_results`
//! records. "Not found" is a reply with `num_results == 0`.

use crate::ProtoError;
use crate::wire::{Reader, put_cstr, put_u32};

/// Largest login name a client may send (LOGIN_NAME_MAX).
pub const MAX_NAME_LEN: usize = 256;
/// `_EX` flag: bypass the cache and always ask the backend.
pub const EX_FLAG_NO_CACHE: u32 = 1;
/// `_EX` flag: mark the entry expired without contacting the backend.
pub const EX_FLAG_INVALIDATE_CACHE: u32 = 2;
/// Number of entries a client asks for per GETPWENT/GETGRENT.
pub const ENUM_BATCH: u32 = 256;

/// Decodes a by-name request body: `name\0`, plus `u32 flags` when `ex` is set.
///
/// The name must be non-empty valid UTF-8.
pub fn decode_name_request(body: &[u8], ex: bool) -> Result<(&str, u32), ProtoError> {
    let mut r = Reader::new(body);
    let name = r.cstr()?;
    if name.is_empty() {
        return Err(ProtoError::EmptyName);
    }
    let flags = if ex { r.u32()? } else { 0 };
    r.finish()?;
    check_flags(flags)?;
    Ok((name, flags))
}

/// Encodes a by-name request body.
pub fn encode_name_request(name: &[u8], flags: Option<u32>) -> Vec<u8> {
    let mut v = Vec::with_capacity(name.len() + 5);
    put_cstr(&mut v, name);
    if let Some(f) = flags {
        put_u32(&mut v, f);
    }
    v
}

/// Decodes a by-id request body: `u32 id`, plus `u32 flags` when `ex` is set.
pub fn decode_id_request(body: &[u8], ex: bool) -> Result<(u32, u32), ProtoError> {
    let mut r = Reader::new(body);
    let id = r.u32()?;
    let flags = if ex { r.u32()? } else { 0 };
    r.finish()?;
    check_flags(flags)?;
    Ok((id, flags))
}

/// Encodes a by-id request body.
pub fn encode_id_request(id: u32, flags: Option<u32>) -> Vec<u8> {
    let mut v = Vec::with_capacity(8);
    put_u32(&mut v, id);
    if let Some(f) = flags {
        put_u32(&mut v, f);
    }
    v
}

fn check_flags(flags: u32) -> Result<(), ProtoError> {
    let both = EX_FLAG_NO_CACHE | EX_FLAG_INVALIDATE_CACHE;
    if flags & both == both {
        return Err(ProtoError::InvalidValue {
            field: "flags",
            value: flags,
        });
    }
    Ok(())
}

/// Decodes a GETPWENT/GETGRENT body: `u32 max_entries`.
pub fn decode_enum_request(body: &[u8]) -> Result<u32, ProtoError> {
    let mut r = Reader::new(body);
    let n = r.u32()?;
    r.finish()?;
    Ok(n)
}

/// One passwd record as it travels on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry<'a> {
    /// pw_uid.
    pub uid: u32,
    /// pw_gid.
    pub gid: u32,
    /// pw_name.
    pub name: &'a [u8],
    /// pw_passwd (the `pwfield` option).
    pub passwd: &'a [u8],
    /// pw_gecos.
    pub gecos: &'a [u8],
    /// pw_dir.
    pub dir: &'a [u8],
    /// pw_shell.
    pub shell: &'a [u8],
}

impl<'a> PasswdEntry<'a> {
    /// Appends this record's wire form.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        put_u32(out, self.uid);
        put_u32(out, self.gid);
        for s in [self.name, self.passwd, self.gecos, self.dir, self.shell] {
            put_cstr(out, s);
        }
    }

    /// Reads one record from `r`.
    pub fn decode_from(r: &mut Reader<'a>) -> Result<Self, ProtoError> {
        Ok(PasswdEntry {
            uid: r.u32()?,
            gid: r.u32()?,
            name: r.cstr_bytes()?,
            passwd: r.cstr_bytes()?,
            gecos: r.cstr_bytes()?,
            dir: r.cstr_bytes()?,
            shell: r.cstr_bytes()?,
        })
    }

    /// Bytes the strings need in a `struct passwd` buffer (each with its NUL).
    pub fn strings_len(&self) -> usize {
        [self.name, self.passwd, self.gecos, self.dir, self.shell]
            .iter()
            .map(|s| s.len() + 1)
            .sum()
    }
}

/// One group record as it travels on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry<'a> {
    /// gr_gid.
    pub gid: u32,
    /// gr_name.
    pub name: &'a [u8],
    /// gr_passwd.
    pub passwd: &'a [u8],
    /// gr_mem.
    pub members: Vec<&'a [u8]>,
}

impl<'a> GroupEntry<'a> {
    /// Appends this record's wire form.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        put_u32(out, self.gid);
        put_u32(out, self.members.len() as u32);
        put_cstr(out, self.name);
        put_cstr(out, self.passwd);
        for m in &self.members {
            put_cstr(out, m);
        }
    }

    /// Reads one record from `r`.
    pub fn decode_from(r: &mut Reader<'a>) -> Result<Self, ProtoError> {
        let gid = r.u32()?;
        let n = r.u32()?;
        let name = r.cstr_bytes()?;
        let passwd = r.cstr_bytes()?;
        // Each member needs at least its NUL byte: bound the allocation by what is left.
        if n as usize > r.remaining() {
            return Err(ProtoError::Truncated {
                offset: r.position(),
                needed: n as usize,
                available: r.remaining(),
            });
        }
        let mut members = Vec::with_capacity(n as usize);
        for _ in 0..n {
            members.push(r.cstr_bytes()?);
        }
        Ok(GroupEntry {
            gid,
            name,
            passwd,
            members,
        })
    }
}

/// Starts a reply body with `num_results` and the reserved word.
pub fn reply_prefix(num_results: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity(64);
    put_u32(&mut v, num_results);
    put_u32(&mut v, 0);
    v
}

/// The empty "not found" reply body.
pub fn not_found_body() -> Vec<u8> {
    reply_prefix(0)
}

/// Encodes a passwd reply body holding `entries`.
pub fn encode_passwd_reply(entries: &[PasswdEntry<'_>]) -> Vec<u8> {
    let mut v = reply_prefix(entries.len() as u32);
    for e in entries {
        e.encode_into(&mut v);
    }
    v
}

/// Encodes a group reply body holding `entries`.
pub fn encode_group_reply(entries: &[GroupEntry<'_>]) -> Vec<u8> {
    let mut v = reply_prefix(entries.len() as u32);
    for e in entries {
        e.encode_into(&mut v);
    }
    v
}

/// Encodes an initgroups reply body.
pub fn encode_initgr_reply(gids: &[u32]) -> Vec<u8> {
    let mut v = reply_prefix(gids.len() as u32);
    for g in gids {
        put_u32(&mut v, *g);
    }
    v
}

/// Reads the `num_results, reserved` prefix and returns `num_results` and the reader.
pub fn decode_reply_prefix(body: &[u8]) -> Result<(u32, Reader<'_>), ProtoError> {
    let mut r = Reader::new(body);
    let n = r.u32()?;
    let _reserved = r.u32()?;
    Ok((n, r))
}

/// Decodes a full passwd reply body.
pub fn decode_passwd_reply(body: &[u8]) -> Result<Vec<PasswdEntry<'_>>, ProtoError> {
    let (n, mut r) = decode_reply_prefix(body)?;
    let mut out = Vec::with_capacity((n as usize).min(r.remaining() / 13));
    for _ in 0..n {
        out.push(PasswdEntry::decode_from(&mut r)?);
    }
    Ok(out)
}

/// Decodes a full group reply body.
pub fn decode_group_reply(body: &[u8]) -> Result<Vec<GroupEntry<'_>>, ProtoError> {
    let (n, mut r) = decode_reply_prefix(body)?;
    let mut out = Vec::with_capacity((n as usize).min(r.remaining() / 10));
    for _ in 0..n {
        out.push(GroupEntry::decode_from(&mut r)?);
    }
    Ok(out)
}

/// Decodes an initgroups reply body into the gid list.
pub fn decode_initgr_reply(body: &[u8]) -> Result<Vec<u32>, ProtoError> {
    let (n, mut r) = decode_reply_prefix(body)?;
    if (n as usize).saturating_mul(4) > r.remaining() {
        return Err(ProtoError::Truncated {
            offset: r.position(),
            needed: (n as usize).saturating_mul(4),
            available: r.remaining(),
        });
    }
    let mut out = Vec::with_capacity(n as usize);
    for _ in 0..n {
        out.push(r.u32()?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn alice() -> PasswdEntry<'static> {
        PasswdEntry {
            uid: 10001,
            gid: 10000,
            name: b"user0001",
            passwd: b"*",
            gecos: b"User 0001",
            dir: b"/home/user0001",
            shell: b"/bin/bash",
        }
    }

    #[test]
    fn passwd_reply_matches_sssd_bytes() {
        let body = encode_passwd_reply(&[alice()]);
        let mut want = Vec::new();
        want.extend_from_slice(&1u32.to_ne_bytes());
        want.extend_from_slice(&0u32.to_ne_bytes());
        want.extend_from_slice(&10001u32.to_ne_bytes());
        want.extend_from_slice(&10000u32.to_ne_bytes());
        want.extend_from_slice(b"user0001\0*\0User 0001\0/home/user0001\0/bin/bash\0");
        assert_eq!(body, want);
        assert_eq!(decode_passwd_reply(&body).unwrap(), vec![alice()]);
    }

    #[test]
    fn not_found_is_eight_zero_bytes() {
        assert_eq!(not_found_body(), vec![0u8; 8]);
        assert!(decode_passwd_reply(&not_found_body()).unwrap().is_empty());
    }

    #[test]
    fn group_reply_round_trip() {
        let g = GroupEntry {
            gid: 20001,
            name: b"devs",
            passwd: b"*",
            members: vec![b"alice", b"bob"],
        };
        let body = encode_group_reply(std::slice::from_ref(&g));
        assert_eq!(decode_group_reply(&body).unwrap(), vec![g]);
    }

    #[test]
    fn initgr_reply_round_trip() {
        let body = encode_initgr_reply(&[20001, 30000, 20002]);
        assert_eq!(
            decode_initgr_reply(&body).unwrap(),
            vec![20001, 30000, 20002]
        );
    }

    #[test]
    fn name_requests() {
        assert_eq!(decode_name_request(b"alice\0", false), Ok(("alice", 0)));
        assert_eq!(
            decode_name_request(b"\0", false),
            Err(ProtoError::EmptyName)
        );
        assert!(decode_name_request(b"alice", false).is_err());
        assert!(decode_name_request(b"al\xffice\0", false).is_err());
        assert!(decode_name_request(b"alice\0x", false).is_err());
        let ex = encode_name_request(b"alice", Some(EX_FLAG_NO_CACHE));
        assert_eq!(decode_name_request(&ex, true), Ok(("alice", 1)));
        let both = encode_name_request(b"alice", Some(3));
        assert!(decode_name_request(&both, true).is_err());
    }

    #[test]
    fn id_requests() {
        assert_eq!(
            decode_id_request(&encode_id_request(5, None), false),
            Ok((5, 0))
        );
        assert!(decode_id_request(&[1, 2, 3], false).is_err());
        assert!(decode_id_request(&[0; 5], false).is_err());
        assert_eq!(
            decode_id_request(&encode_id_request(5, Some(2)), true),
            Ok((5, 2))
        );
    }

    #[test]
    fn huge_member_count_does_not_allocate() {
        let mut body = reply_prefix(1);
        body.extend_from_slice(&1u32.to_ne_bytes());
        body.extend_from_slice(&u32::MAX.to_ne_bytes());
        body.extend_from_slice(b"g\0*\0");
        assert!(decode_group_reply(&body).is_err());
    }

    proptest! {
        #[test]
        fn decoders_are_total(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_passwd_reply(&bytes);
            let _ = decode_group_reply(&bytes);
            let _ = decode_initgr_reply(&bytes);
            let _ = decode_name_request(&bytes, false);
            let _ = decode_name_request(&bytes, true);
            let _ = decode_id_request(&bytes, true);
            let _ = decode_enum_request(&bytes);
            let _ = crate::Header::decode(&bytes);
        }

        #[test]
        fn passwd_round_trip(uid: u32, gid: u32, name in "[a-z0-9._-]{1,40}", gecos in "\\PC{0,40}") {
            let e = PasswdEntry { uid, gid, name: name.as_bytes(), passwd: b"*", gecos: gecos.as_bytes(), dir: b"/h", shell: b"/bin/sh" };
            let body = encode_passwd_reply(std::slice::from_ref(&e));
            prop_assert_eq!(decode_passwd_reply(&body).unwrap(), vec![e]);
        }
    }
}
