//! The on-disk encoding of cache records: compact, length-prefixed, versioned.
//!
//! Every record starts with a one-byte record version. Strings are a LEB128 length followed by
//! UTF-8 bytes; optional strings are a presence byte (0 or 1) then the string; integers are
//! little-endian. Decoding is total: any malformed input yields `None`, never a panic.

use crate::model::{Group, User};

/// Version byte at the start of every user, group and initgroups record.
const RECORD_VERSION: u8 = 1;

/// Upper bound on element counts accepted while decoding (guards allocations on corrupt input).
const MAX_COUNT: u64 = 1 << 24;

/// Appends `n` as an unsigned LEB128 varint.
fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Appends a length-prefixed string.
fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Appends an optional string (presence byte, then the string).
fn put_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
    }
}

/// A cursor over bytes being decoded; every read returns `None` on malformed input.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.buf.len() {
            return None;
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u32(&mut self) -> Option<u32> {
        let b = self.take(4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn varint(&mut self) -> Option<u64> {
        let mut n: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            let part = u64::from(b & 0x7f);
            if shift == 63 && part > 1 {
                return None;
            }
            n |= part << shift;
            if b & 0x80 == 0 {
                return Some(n);
            }
        }
        None
    }

    fn count(&mut self) -> Option<usize> {
        let n = self.varint()?;
        if n > MAX_COUNT {
            return None;
        }
        usize::try_from(n).ok()
    }

    fn string(&mut self) -> Option<String> {
        let len = usize::try_from(self.varint()?).ok()?;
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes).ok().map(str::to_owned)
    }

    fn opt(&mut self) -> Option<Option<String>> {
        match self.u8()? {
            0 => Some(None),
            1 => self.string().map(Some),
            _ => None,
        }
    }

    fn version(&mut self) -> Option<()> {
        (self.u8()? == RECORD_VERSION).then_some(())
    }

    fn finish<T>(self, value: T) -> Option<T> {
        self.buf.is_empty().then_some(value)
    }
}

/// Encodes a user record.
pub(crate) fn encode_user(user: &User) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        16 + user.name.len()
            + user.gecos.len()
            + user.home.len()
            + user.shell.len()
            + user.dn.len(),
    );
    out.push(RECORD_VERSION);
    put_str(&mut out, &user.name);
    out.extend_from_slice(&user.uid.to_le_bytes());
    out.extend_from_slice(&user.gid.to_le_bytes());
    put_str(&mut out, &user.gecos);
    put_str(&mut out, &user.home);
    put_str(&mut out, &user.shell);
    put_str(&mut out, &user.dn);
    put_opt(&mut out, user.upn.as_deref());
    put_opt(&mut out, user.modify_timestamp.as_deref());
    // Added after the first release: records written before it end here.
    if !user.emails.is_empty() {
        put_varint(&mut out, user.emails.len() as u64);
        for e in &user.emails {
            put_str(&mut out, e);
        }
    }
    out
}

/// Decodes a user record; `None` when the bytes are not a valid record.
pub(crate) fn decode_user(bytes: &[u8]) -> Option<User> {
    let mut r = Reader::new(bytes);
    r.version()?;
    let mut user = User {
        name: r.string()?,
        uid: r.u32()?,
        gid: r.u32()?,
        gecos: r.string()?,
        home: r.string()?,
        shell: r.string()?,
        dn: r.string()?,
        upn: r.opt()?,
        modify_timestamp: r.opt()?,
        emails: Vec::new(),
    };
    if !r.buf.is_empty() {
        let n = r.count()?;
        if n == 0 {
            return None;
        }
        for _ in 0..n {
            user.emails.push(r.string()?);
        }
    }
    r.finish(user)
}

/// Encodes a group record.
pub(crate) fn encode_group(group: &Group) -> Vec<u8> {
    let members: usize = group.members.iter().map(|m| m.len() + 2).sum();
    let mut out = Vec::with_capacity(16 + group.name.len() + group.dn.len() + members);
    out.push(RECORD_VERSION);
    put_str(&mut out, &group.name);
    out.extend_from_slice(&group.gid.to_le_bytes());
    put_str(&mut out, &group.dn);
    put_opt(&mut out, group.modify_timestamp.as_deref());
    put_varint(&mut out, group.members.len() as u64);
    for m in &group.members {
        put_str(&mut out, m);
    }
    out
}

/// Decodes a group record; `None` when the bytes are not a valid record.
pub(crate) fn decode_group(bytes: &[u8]) -> Option<Group> {
    let mut r = Reader::new(bytes);
    r.version()?;
    let name = r.string()?;
    let gid = r.u32()?;
    let dn = r.string()?;
    let modify_timestamp = r.opt()?;
    let n = r.count()?;
    // Each member needs at least one byte, so a count beyond the remaining bytes is corrupt.
    if n > r.buf.len() {
        return None;
    }
    let mut members = Vec::with_capacity(n);
    for _ in 0..n {
        members.push(r.string()?);
    }
    r.finish(Group {
        name,
        gid,
        members,
        dn,
        modify_timestamp,
    })
}

/// The name and gid at the head of a group record, without decoding (or validating) its
/// members; `None` when the head is malformed.
pub(crate) fn decode_group_head(bytes: &[u8]) -> Option<(&str, u32)> {
    let mut r = Reader::new(bytes);
    r.version()?;
    let len = usize::try_from(r.varint()?).ok()?;
    let name = std::str::from_utf8(r.take(len)?).ok()?;
    Some((name, r.u32()?))
}

/// Encodes an initgroups record (a list of gids).
pub(crate) fn encode_gids(gids: &[u32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(6 + 4 * gids.len());
    out.push(RECORD_VERSION);
    put_varint(&mut out, gids.len() as u64);
    for g in gids {
        out.extend_from_slice(&g.to_le_bytes());
    }
    out
}

/// Decodes an initgroups record.
pub(crate) fn decode_gids(bytes: &[u8]) -> Option<Vec<u32>> {
    let mut r = Reader::new(bytes);
    r.version()?;
    let n = r.count()?;
    if n.checked_mul(4)? != r.buf.len() {
        return None;
    }
    let mut gids = Vec::with_capacity(n);
    for _ in 0..n {
        gids.push(r.u32()?);
    }
    r.finish(gids)
}

/// Freshness stamps of one record, stored apart from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    /// When the backend last stored or confirmed the record.
    pub(crate) last_update: i64,
    /// When the record stops being fresh; 0 = expired.
    pub(crate) expire: i64,
}

impl Stamp {
    /// The 16-byte encoding: `last_update` then `expire`, little-endian.
    pub(crate) fn encode(self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.last_update.to_le_bytes());
        out[8..].copy_from_slice(&self.expire.to_le_bytes());
        out
    }

    /// Decodes a stamp; `None` unless exactly 16 bytes.
    pub(crate) fn decode(bytes: &[u8]) -> Option<Stamp> {
        let a: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
        let b: [u8; 8] = bytes.get(8..)?.try_into().ok()?;
        Some(Stamp {
            last_update: i64::from_le_bytes(a),
            expire: i64::from_le_bytes(b),
        })
    }
}

/// The key of an id index (uid or gid): big-endian so keys sort numerically.
pub(crate) fn id_key(id: u32) -> [u8; 4] {
    id.to_be_bytes()
}

/// Which kind of record a stamp belongs to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum StampKind {
    /// A user record.
    User,
    /// A group record.
    Group,
    /// An initgroups record.
    Initgroups,
}

/// The key of a record's stamp: `u:<name>`, `g:<name>` or `i:<name>`.
pub(crate) fn stamp_key(kind: StampKind, name: &str) -> Vec<u8> {
    stamp_key_bytes(kind, name.as_bytes())
}

/// [`stamp_key`] for a name given as the raw key of its record.
pub(crate) fn stamp_key_bytes(kind: StampKind, name: &[u8]) -> Vec<u8> {
    let prefix: &[u8] = match kind {
        StampKind::User => b"u:",
        StampKind::Group => b"g:",
        StampKind::Initgroups => b"i:",
    };
    let mut k = Vec::with_capacity(2 + name.len());
    k.extend_from_slice(prefix);
    k.extend_from_slice(name);
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample_user() -> User {
        User {
            name: "alice".into(),
            uid: 10001,
            gid: 20001,
            gecos: "Alice Ä. Liddell".into(),
            home: "/home/alice".into(),
            shell: "/bin/bash".into(),
            dn: "uid=alice,ou=people,dc=example,dc=com".into(),
            upn: Some("alice@EXAMPLE.COM".into()),
            modify_timestamp: None,
            emails: vec!["alice@example.com".into(), "al@example.org".into()],
        }
    }

    #[test]
    fn records_from_before_emails_decode_without_them() {
        let u = User {
            emails: Vec::new(),
            ..sample_user()
        };
        let old = encode_user(&u);
        assert_eq!(decode_user(&old), Some(u));
        // An explicit empty list is never written, so it is not accepted either.
        let mut zero = old;
        zero.push(0);
        assert_eq!(decode_user(&zero), None);
    }

    #[test]
    fn user_round_trip() {
        let u = sample_user();
        assert_eq!(decode_user(&encode_user(&u)), Some(u));
        let empty = User::default();
        assert_eq!(decode_user(&encode_user(&empty)), Some(empty));
    }

    #[test]
    fn group_round_trip() {
        let g = Group {
            name: "staff".into(),
            gid: 5000,
            members: vec!["alice".into(), "bob".into(), String::new()],
            dn: "cn=staff,dc=example".into(),
            modify_timestamp: Some("20240101000000Z".into()),
        };
        assert_eq!(decode_group(&encode_group(&g)), Some(g));
    }

    #[test]
    fn group_head_reads_name_and_gid_only() {
        let g = Group {
            name: "mg001".into(),
            gid: 20101,
            members: vec!["many".into()],
            dn: "cn=mg001,ou=groups,dc=example,dc=com".into(),
            modify_timestamp: None,
        };
        let b = encode_group(&g);
        assert_eq!(decode_group_head(&b), Some(("mg001", 20101)));
        // The head is all it needs: a damaged member list does not matter here.
        assert_eq!(decode_group_head(&b[..b.len() - 1]), Some(("mg001", 20101)));
        for cut in 0..8 {
            assert_eq!(decode_group_head(&b[..cut]), None, "cut at {cut}");
        }
        let mut bad = b.clone();
        bad[0] = 9;
        assert_eq!(decode_group_head(&bad), None);
    }

    #[test]
    fn gids_round_trip() {
        for gids in [vec![], vec![1u32], vec![0, u32::MAX, 7]] {
            assert_eq!(decode_gids(&encode_gids(&gids)), Some(gids));
        }
    }

    #[test]
    fn stamp_round_trip_and_length() {
        let s = Stamp {
            last_update: -5,
            expire: i64::MAX,
        };
        assert_eq!(Stamp::decode(&s.encode()), Some(s));
        assert_eq!(Stamp::decode(&[0u8; 15]), None);
        assert_eq!(Stamp::decode(&[0u8; 17]), None);
    }

    #[test]
    fn rejects_truncation_trailing_bytes_and_bad_version() {
        let bytes = encode_user(&sample_user());
        let without_emails = encode_user(&User {
            emails: Vec::new(),
            ..sample_user()
        });
        for n in 0..bytes.len() {
            if n == without_emails.len() {
                // Where records written before e-mail addresses existed end.
                continue;
            }
            assert_eq!(decode_user(&bytes[..n]), None, "prefix of {n} bytes");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(decode_user(&long), None);
        let mut bad = bytes;
        bad[0] = 99;
        assert_eq!(decode_user(&bad), None);
    }

    #[test]
    fn rejects_invalid_utf8_and_bad_option_tag() {
        let mut bytes = vec![RECORD_VERSION, 2, 0xff, 0xfe];
        bytes.extend_from_slice(&[0; 8]);
        assert_eq!(decode_user(&bytes), None);
        let mut u = encode_user(&User::default());
        let n = u.len();
        u[n - 2] = 7; // upn presence byte
        assert_eq!(decode_user(&u), None);
    }

    #[test]
    fn rejects_huge_counts() {
        let mut bytes = vec![RECORD_VERSION];
        put_varint(&mut bytes, u64::MAX);
        assert_eq!(decode_gids(&bytes), None);
        let mut g = encode_group(&Group::default());
        let n = g.len();
        g[n - 1] = 0x7f; // claims 127 members with no bytes left
        assert_eq!(decode_group(&g), None);
    }

    #[test]
    fn varint_overflow_is_rejected() {
        let bytes = [0xffu8; 11];
        assert_eq!(Reader::new(&bytes).varint(), None);
        let mut out = Vec::new();
        put_varint(&mut out, u64::MAX);
        assert_eq!(Reader::new(&out).varint(), Some(u64::MAX));
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_user(&bytes);
            let _ = decode_group(&bytes);
            let _ = decode_gids(&bytes);
            let _ = Stamp::decode(&bytes);
        }

        #[test]
        fn user_round_trips(name in ".{0,20}", uid in any::<u32>(), gid in any::<u32>(),
                            gecos in ".{0,40}", upn in proptest::option::of(".{0,20}")) {
            let u = User { name, uid, gid, gecos, upn, ..User::default() };
            prop_assert_eq!(decode_user(&encode_user(&u)), Some(u));
        }

        #[test]
        fn group_round_trips(name in ".{0,20}", gid in any::<u32>(),
                             members in proptest::collection::vec(".{0,12}", 0..50)) {
            let g = Group { name, gid, members, ..Group::default() };
            prop_assert_eq!(decode_group(&encode_group(&g)), Some(g));
        }
    }
}
