//! Record payloads (the bytes after the 40-byte record header) and hash keys.
//!
//! - passwd: `name_ptr (=16), uid, gid, strs_len`, then `name\0passwd\0gecos\0dir\0shell\0`;
//! - group: `name_ptr (=16), gid, num_members, strs_len`, then `name\0passwd\0member\0...`;
//! - initgroups: `unique_name_ptr, name_ptr, strs_ptr, strs_len, data_len, num_groups`,
//!   then `num_groups` u32 gids, `unique_name\0`, `name\0`.
//!
//! Pointers are relative to the payload start; integers are host-endian.

/// Offset of the strings in passwd and group payloads.
pub const STRS_OFFSET: u32 = 16;
/// Offset of the gid array in initgroups payloads.
pub const GIDS_OFFSET: u32 = 24;

/// The hash key of a name: its bytes and a NUL (as SSSD hashes it).
pub fn name_key(name: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(name.len() + 1);
    k.extend_from_slice(name);
    k.push(0);
    k
}

/// The hash key of a uid or gid: its decimal digits and a NUL, without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdKey {
    buf: [u8; 11],
    start: usize,
}

impl IdKey {
    /// The key bytes (digits and the NUL).
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or_default()
    }
}

/// The hash key of `id` (SSSD formats it with `%ld`).
pub fn id_key(id: u32) -> IdKey {
    let mut buf = [0u8; 11];
    let mut start = buf.len() - 1;
    let mut n = id;
    for slot in buf.iter_mut().rev().skip(1) {
        *slot = b'0' + (n % 10) as u8;
        start -= 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    IdKey { buf, start }
}

fn push_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_ne_bytes());
}

fn push_cstr(out: &mut Vec<u8>, s: &[u8]) -> Option<()> {
    if s.contains(&0) {
        return None;
    }
    out.extend_from_slice(s);
    out.push(0);
    Some(())
}

fn strs(list: &[&[u8]]) -> Option<Vec<u8>> {
    let mut s = Vec::with_capacity(list.iter().map(|x| x.len() + 1).sum());
    for x in list {
        push_cstr(&mut s, x)?;
    }
    u32::try_from(s.len()).ok()?;
    Some(s)
}

/// The payload of a passwd record; `None` if a string contains a NUL or it is too large.
pub fn encode_passwd(
    name: &[u8],
    passwd: &[u8],
    uid: u32,
    gid: u32,
    gecos: &[u8],
    dir: &[u8],
    shell: &[u8],
) -> Option<Vec<u8>> {
    let s = strs(&[name, passwd, gecos, dir, shell])?;
    let mut out = Vec::with_capacity(STRS_OFFSET as usize + s.len());
    push_u32(&mut out, STRS_OFFSET);
    push_u32(&mut out, uid);
    push_u32(&mut out, gid);
    push_u32(&mut out, s.len() as u32);
    out.extend_from_slice(&s);
    Some(out)
}

/// The payload of a group record; `None` if a string contains a NUL or it is too large.
pub fn encode_group(name: &[u8], passwd: &[u8], gid: u32, members: &[&[u8]]) -> Option<Vec<u8>> {
    let mut list = Vec::with_capacity(members.len() + 2);
    list.push(name);
    list.push(passwd);
    list.extend_from_slice(members);
    let s = strs(&list)?;
    let mut out = Vec::with_capacity(STRS_OFFSET as usize + s.len());
    push_u32(&mut out, STRS_OFFSET);
    push_u32(&mut out, gid);
    push_u32(&mut out, u32::try_from(members.len()).ok()?);
    push_u32(&mut out, s.len() as u32);
    out.extend_from_slice(&s);
    Some(out)
}

/// The payload of an initgroups record for the name the client asked (`name`), the user's
/// unique name (`unique_name`, how the writer finds the record again) and the gids.
pub fn encode_initgroups(name: &[u8], unique_name: &[u8], gids: &[u32]) -> Option<Vec<u8>> {
    let num = u32::try_from(gids.len()).ok()?;
    let gids_len = num.checked_mul(4)?;
    let unique_ptr = GIDS_OFFSET.checked_add(gids_len)?;
    let unique_len = u32::try_from(unique_name.len()).ok()?.checked_add(1)?;
    let name_len = u32::try_from(name.len()).ok()?.checked_add(1)?;
    let strs_len = unique_len.checked_add(name_len)?;
    let data_len = gids_len.checked_add(strs_len)?;
    let mut out = Vec::with_capacity(GIDS_OFFSET as usize + data_len as usize);
    push_u32(&mut out, unique_ptr);
    push_u32(&mut out, unique_ptr.checked_add(unique_len)?);
    push_u32(&mut out, unique_ptr);
    push_u32(&mut out, strs_len);
    push_u32(&mut out, data_len);
    push_u32(&mut out, num);
    for g in gids {
        push_u32(&mut out, *g);
    }
    push_cstr(&mut out, unique_name)?;
    push_cstr(&mut out, name)?;
    Some(out)
}

/// Splits `buf` into exactly `count` NUL-terminated strings that fill it to the last byte
/// (without their NULs); `None` otherwise.
pub fn split_strings(buf: &[u8], count: usize) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    out.try_reserve_exact(count).ok()?;
    let mut rest = buf;
    for _ in 0..count {
        let nul = rest.iter().position(|b| *b == 0)?;
        out.push(rest.get(..nul)?);
        rest = rest.get(nul + 1..)?;
    }
    rest.is_empty().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_keys_are_decimal_with_nul() {
        for (id, want) in [
            (0u32, &b"0\0"[..]),
            (7, b"7\0"),
            (1001, b"1001\0"),
            (u32::MAX, b"4294967295\0"),
        ] {
            assert_eq!(id_key(id).as_bytes(), want);
        }
    }

    #[test]
    fn passwd_payload_layout() {
        let p = encode_passwd(b"al", b"*", 5, 6, b"A", b"/h", b"/s").unwrap();
        let mut want = Vec::new();
        for v in [16u32, 5, 6, 13] {
            want.extend_from_slice(&v.to_ne_bytes());
        }
        want.extend_from_slice(b"al\0*\0A\0/h\0/s\0");
        assert_eq!(p, want);
        assert!(encode_passwd(b"a\0b", b"", 1, 1, b"", b"", b"").is_none());
    }

    #[test]
    fn group_payload_layout() {
        let p = encode_group(b"g", b"*", 9, &[b"u1", b"u2"]).unwrap();
        let mut want = Vec::new();
        for v in [16u32, 9, 2, 10] {
            want.extend_from_slice(&v.to_ne_bytes());
        }
        want.extend_from_slice(b"g\0*\0u1\0u2\0");
        assert_eq!(p, want);
    }

    #[test]
    fn initgroups_payload_layout() {
        let p = encode_initgroups(b"Al", b"al@D", &[10, 20]).unwrap();
        let mut want = Vec::new();
        // unique_ptr = 24 + 8 = 32, name_ptr = 32 + 5, strs_ptr = 32, strs_len = 8,
        // data_len = 8 + 8, num = 2.
        for v in [32u32, 37, 32, 8, 16, 2, 10, 20] {
            want.extend_from_slice(&v.to_ne_bytes());
        }
        want.extend_from_slice(b"al@D\0Al\0");
        assert_eq!(p, want);
    }

    #[test]
    fn strings_split_exactly() {
        assert_eq!(
            split_strings(b"a\0bc\0\0", 3),
            Some(vec![&b"a"[..], b"bc", b""])
        );
        assert_eq!(split_strings(b"a\0bc\0", 3), None);
        assert_eq!(split_strings(b"a\0bc\0x", 2), None);
        assert_eq!(split_strings(b"a\0bc", 2), None);
        assert_eq!(split_strings(b"", 0), Some(vec![]));
    }
}
