//! The autofs protocol (`/var/lib/sss/pipes/autofs`): command numbers, request bodies and
//! reply bodies, as SSSD 2.8's `sss_autofs.c` (client) and `autofssrv_cmd.c` (responder)
//! lay them out. Integers are host-endian `u32`.
//!
//! Requests:
//! - `SETAUTOMNTENT`: `map\0`.
//! - `GETAUTOMNTENT`: `u32 len(map)`, `map\0`, `u32 cursor`, `u32 max_entries`.
//! - `GETAUTOMNTBYNAME`: `u32 len(map)`, `map\0`, `u32 len(key)`, `key\0`.
//! - `ENDAUTOMNTENT`: empty.
//!
//! Replies (status 0):
//! - `SETAUTOMNTENT`: `u32 1, u32 0` when the map exists, `u32 0, u32 0` when not.
//! - `GETAUTOMNTENT`: `u32 count` then per entry `u32 len`, `u32 keylen`, `key\0`,
//!   `u32 vallen`, `value\0` (lengths count the NUL; `len` = 12 + keylen + vallen);
//!   `u32 0, u32 0` when there is nothing (more).
//! - `GETAUTOMNTBYNAME`: `u32 len`, `u32 vallen`, `value\0` (`len` = 8 + vallen), or
//!   `u32 0, u32 0` when the key does not exist.
//! - `ENDAUTOMNTENT`: empty.
//!
//! An error reply has the errno in the header status and an empty body; `ERR_OFFLINE`
//! means "not cached and the backend is offline" (the client turns it into `EHOSTDOWN`).

use crate::ProtoError;
use crate::wire::{Reader, put_u32};

/// Select a map.
pub const SETAUTOMNTENT: u32 = 0x00D1;
/// Read a batch of a map's entries.
pub const GETAUTOMNTENT: u32 = 0x00D2;
/// Read one key of a map.
pub const GETAUTOMNTBYNAME: u32 = 0x00D3;
/// End reading a map.
pub const ENDAUTOMNTENT: u32 = 0x00D4;
/// The autofs commands.
pub const COMMANDS: [u32; 4] = [
    SETAUTOMNTENT,
    GETAUTOMNTENT,
    GETAUTOMNTBYNAME,
    ENDAUTOMNTENT,
];

/// Wire protocol version of the autofs socket (`SSS_AUTOFS_PROTOCOL_VERSION`).
pub const AUTOFS_PROTOCOL_VERSION: u32 = 1;
/// SSSD's `ERR_OFFLINE` (`ERR_BASE + 4`): nothing cached and the backend is offline.
pub const ERR_OFFLINE: u32 = 0x555D_0004;
/// Longest map name the client sends (`NAME_MAX`).
pub const MAX_MAP_NAME: usize = 255;
/// Longest key the client sends (`PATH_MAX`).
pub const MAX_KEY: usize = 4096;
/// Entries the client asks for per `GETAUTOMNTENT`.
pub const BATCH: u32 = 512;

/// A decoded autofs request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `SETAUTOMNTENT map`.
    SetEnt {
        /// Map name.
        map: String,
    },
    /// `GETAUTOMNTENT map cursor max`.
    GetEnt {
        /// Map name.
        map: String,
        /// Index of the first entry wanted.
        cursor: u32,
        /// How many entries at most.
        max: u32,
    },
    /// `GETAUTOMNTBYNAME map key`.
    GetByName {
        /// Map name.
        map: String,
        /// Key.
        key: String,
    },
    /// `ENDAUTOMNTENT`.
    EndEnt,
}

/// A string of `len` bytes followed by NUL, valid UTF-8 without NULs inside.
fn counted_str(r: &mut Reader<'_>, len: u32, field: &'static str) -> Result<String, ProtoError> {
    let at = r.position();
    if len == 0 {
        return Err(ProtoError::EmptyName);
    }
    let n = usize::try_from(len).map_err(|_| ProtoError::InvalidValue { field, value: len })?;
    let bytes = r.take(n)?;
    let nul = r.take(1)?;
    if nul != [0] || bytes.contains(&0) {
        return Err(ProtoError::Unterminated(at));
    }
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|_| ProtoError::InvalidUtf8(at))
}

/// Decodes the body of request `cmd` (one of [`COMMANDS`]) as the responder does.
pub fn decode_request(cmd: u32, body: &[u8]) -> Result<Request, ProtoError> {
    let mut r = Reader::new(body);
    match cmd {
        SETAUTOMNTENT => {
            // As SSSD: the name is the C string the body starts with; the body must end
            // with NUL.
            if body.last() != Some(&0) {
                return Err(ProtoError::Unterminated(0));
            }
            let name = r.cstr()?;
            if name.is_empty() {
                return Err(ProtoError::EmptyName);
            }
            Ok(Request::SetEnt {
                map: name.to_owned(),
            })
        }
        GETAUTOMNTENT => {
            let len = r.u32()?;
            let map = counted_str(&mut r, len, "map name length")?;
            let cursor = r.u32()?;
            let max = r.u32()?;
            Ok(Request::GetEnt { map, cursor, max })
        }
        GETAUTOMNTBYNAME => {
            let len = r.u32()?;
            let map = counted_str(&mut r, len, "map name length")?;
            let len = r.u32()?;
            let key = counted_str(&mut r, len, "key length")?;
            Ok(Request::GetByName { map, key })
        }
        ENDAUTOMNTENT => Ok(Request::EndEnt),
        other => Err(ProtoError::InvalidValue {
            field: "autofs command",
            value: other,
        }),
    }
}

/// `u32 len(s)`, `s\0`.
fn put_counted(out: &mut Vec<u8>, s: &[u8]) {
    put_u32(out, u32::try_from(s.len()).unwrap_or(u32::MAX));
    out.extend_from_slice(s);
    out.push(0);
}

/// The body of a request, as the client sends it.
pub fn encode_request(req: &Request) -> (u32, Vec<u8>) {
    let mut out = Vec::new();
    match req {
        Request::SetEnt { map } => {
            out.extend_from_slice(map.as_bytes());
            out.push(0);
            (SETAUTOMNTENT, out)
        }
        Request::GetEnt { map, cursor, max } => {
            put_counted(&mut out, map.as_bytes());
            put_u32(&mut out, *cursor);
            put_u32(&mut out, *max);
            (GETAUTOMNTENT, out)
        }
        Request::GetByName { map, key } => {
            put_counted(&mut out, map.as_bytes());
            put_counted(&mut out, key.as_bytes());
            (GETAUTOMNTBYNAME, out)
        }
        Request::EndEnt => (ENDAUTOMNTENT, out),
    }
}

/// The "nothing" reply body: `u32 0, u32 0`.
pub fn empty_reply() -> Vec<u8> {
    vec![0; 8]
}

/// `SETAUTOMNTENT` reply body.
pub fn encode_setent_reply(found: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(8);
    put_u32(&mut out, u32::from(found));
    put_u32(&mut out, 0);
    out
}

/// Bytes one entry takes in a `GETAUTOMNTENT` reply.
pub fn entry_len(key: &[u8], value: &[u8]) -> usize {
    12 + key.len() + 1 + value.len() + 1
}

/// `GETAUTOMNTENT` reply body for `entries` (key, value); the empty reply when there are
/// none.
pub fn encode_getent_reply<K: AsRef<[u8]>, V: AsRef<[u8]>>(entries: &[(K, V)]) -> Vec<u8> {
    if entries.is_empty() {
        return empty_reply();
    }
    let mut out = Vec::new();
    put_u32(&mut out, u32::try_from(entries.len()).unwrap_or(u32::MAX));
    for (k, v) in entries {
        let (k, v) = (k.as_ref(), v.as_ref());
        put_u32(&mut out, u32::try_from(entry_len(k, v)).unwrap_or(u32::MAX));
        put_counted_nul(&mut out, k);
        put_counted_nul(&mut out, v);
    }
    out
}

/// `u32 len(s) + 1`, `s\0`.
fn put_counted_nul(out: &mut Vec<u8>, s: &[u8]) {
    put_u32(out, u32::try_from(s.len() + 1).unwrap_or(u32::MAX));
    out.extend_from_slice(s);
    out.push(0);
}

/// `GETAUTOMNTBYNAME` reply body: the value, or the empty reply.
pub fn encode_byname_reply(value: Option<&[u8]>) -> Vec<u8> {
    let Some(v) = value else {
        return empty_reply();
    };
    let mut out = Vec::with_capacity(9 + v.len());
    put_u32(&mut out, u32::try_from(8 + v.len() + 1).unwrap_or(u32::MAX));
    put_counted_nul(&mut out, v);
    out
}

/// One map entry as the client receives it: (key, value) bytes.
pub type Entry = (Vec<u8>, Vec<u8>);

/// Why a reply body is unusable (the client reports `EIO`).
pub type ReplyError = ProtoError;

/// `SETAUTOMNTENT` reply: whether the map exists.
pub fn decode_setent_reply(body: &[u8]) -> Result<bool, ReplyError> {
    Ok(Reader::new(body).u32()? != 0)
}

/// A NUL-terminated string of `len` bytes (NUL included); the bytes before the first NUL.
fn nul_counted<'a>(r: &mut Reader<'a>) -> Result<&'a [u8], ProtoError> {
    let at = r.position();
    let len = r.u32()?;
    let n = usize::try_from(len).map_err(|_| ProtoError::InvalidValue {
        field: "string length",
        value: len,
    })?;
    let bytes = r.take(n)?;
    match bytes.iter().position(|b| *b == 0) {
        Some(i) => Ok(bytes.get(..i).unwrap_or_default()),
        None => Err(ProtoError::Unterminated(at)),
    }
}

/// `GETAUTOMNTENT` reply: the (key, value) entries, in order; empty at the end of the map.
///
/// As SSSD's client, entries are read until the body ends or an entry length of 0; the
/// count field only tells "none" (0) from "some".
pub fn decode_getent_reply(body: &[u8]) -> Result<Vec<Entry>, ReplyError> {
    let mut r = Reader::new(body);
    if r.u32()? == 0 {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    while r.remaining() > 0 {
        let start = r.position();
        let len = r.u32()?;
        if len == 0 {
            break;
        }
        if usize::try_from(len).map_or(true, |l| l > body.len().saturating_sub(start)) {
            return Err(ProtoError::BadLength(len));
        }
        let key = nul_counted(&mut r)?.to_vec();
        let value = nul_counted(&mut r)?.to_vec();
        out.push((key, value));
    }
    Ok(out)
}

/// `GETAUTOMNTBYNAME` reply: the value, `None` when the key does not exist.
pub fn decode_byname_reply(body: &[u8]) -> Result<Option<Vec<u8>>, ReplyError> {
    let mut r = Reader::new(body);
    let len = r.u32()?;
    if len == 0 {
        return Ok(None);
    }
    let at = r.position();
    let vlen = r.u32()?;
    if u64::from(vlen) > u64::from(len).saturating_sub(at as u64) {
        return Err(ProtoError::BadLength(vlen));
    }
    let mut r = Reader::new(body);
    let _ = r.u32()?;
    Ok(Some(nul_counted(&mut r)?.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn requests_round_trip() {
        for req in [
            Request::SetEnt {
                map: "auto.master".into(),
            },
            Request::GetEnt {
                map: "auto.home".into(),
                cursor: 3,
                max: BATCH,
            },
            Request::GetByName {
                map: "auto.home".into(),
                key: "alice".into(),
            },
            Request::EndEnt,
        ] {
            let (cmd, body) = encode_request(&req);
            assert_eq!(decode_request(cmd, &body), Ok(req));
        }
    }

    #[test]
    fn request_layouts_are_sssds() {
        let (_, b) = encode_request(&Request::GetEnt {
            map: "m".into(),
            cursor: 2,
            max: 512,
        });
        let mut want = Vec::new();
        want.extend_from_slice(&1u32.to_ne_bytes());
        want.extend_from_slice(b"m\0");
        want.extend_from_slice(&2u32.to_ne_bytes());
        want.extend_from_slice(&512u32.to_ne_bytes());
        assert_eq!(b, want);
        let (_, b) = encode_request(&Request::GetByName {
            map: "m".into(),
            key: "kk".into(),
        });
        let mut want = Vec::new();
        want.extend_from_slice(&1u32.to_ne_bytes());
        want.extend_from_slice(b"m\0");
        want.extend_from_slice(&2u32.to_ne_bytes());
        want.extend_from_slice(b"kk\0");
        assert_eq!(b, want);
    }

    #[test]
    fn bad_requests_are_rejected() {
        assert!(decode_request(SETAUTOMNTENT, b"").is_err());
        assert!(decode_request(SETAUTOMNTENT, b"abc").is_err());
        assert!(decode_request(SETAUTOMNTENT, b"\0").is_err());
        // Name length past the end, zero, or not followed by NUL.
        let mut b = 100u32.to_ne_bytes().to_vec();
        b.extend_from_slice(b"m\0");
        assert!(decode_request(GETAUTOMNTENT, &b).is_err());
        let mut b = 1u32.to_ne_bytes().to_vec();
        b.extend_from_slice(b"mX");
        b.extend_from_slice(&[0; 8]);
        assert!(decode_request(GETAUTOMNTENT, &b).is_err());
        let mut b = 0u32.to_ne_bytes().to_vec();
        b.extend_from_slice(&[0; 9]);
        assert!(decode_request(GETAUTOMNTENT, &b).is_err());
        // Missing cursor.
        let mut b = 1u32.to_ne_bytes().to_vec();
        b.extend_from_slice(b"m\0");
        assert!(decode_request(GETAUTOMNTENT, &b).is_err());
        assert!(decode_request(0x11, b"").is_err());
    }

    #[test]
    fn replies_have_sssds_layout() {
        assert_eq!(encode_setent_reply(true), [1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(encode_setent_reply(false), empty_reply());
        let b = encode_getent_reply(&[("k", "v")]);
        let mut want = Vec::new();
        want.extend_from_slice(&1u32.to_ne_bytes());
        want.extend_from_slice(&16u32.to_ne_bytes());
        want.extend_from_slice(&2u32.to_ne_bytes());
        want.extend_from_slice(b"k\0");
        want.extend_from_slice(&2u32.to_ne_bytes());
        want.extend_from_slice(b"v\0");
        assert_eq!(b, want);
        let b = encode_byname_reply(Some(b"-fstype=nfs srv:/h"));
        assert_eq!(&b[..4], &(8u32 + 19).to_ne_bytes());
        assert_eq!(
            decode_byname_reply(&b),
            Ok(Some(b"-fstype=nfs srv:/h".to_vec()))
        );
        assert_eq!(decode_byname_reply(&empty_reply()), Ok(None));
        assert_eq!(decode_getent_reply(&empty_reply()), Ok(vec![]));
        assert_eq!(
            decode_setent_reply(&[0, 0]),
            Err(ProtoError::Truncated {
                offset: 0,
                needed: 4,
                available: 2
            })
        );
    }

    proptest! {
        #[test]
        fn getent_replies_round_trip(entries in proptest::collection::vec(
            ("[a-z*&/.-]{1,20}", "[ -~]{0,40}"), 0..20)) {
            let b = encode_getent_reply(&entries);
            let got = decode_getent_reply(&b).unwrap();
            let want: Vec<(Vec<u8>, Vec<u8>)> = entries
                .iter()
                .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
                .collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn reply_decoders_never_panic(body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_setent_reply(&body);
            let _ = decode_getent_reply(&body);
            let _ = decode_byname_reply(&body);
        }

        #[test]
        fn request_decoder_never_panics(
            cmd in prop_oneof![Just(SETAUTOMNTENT), Just(GETAUTOMNTENT),
                               Just(GETAUTOMNTBYNAME), Just(ENDAUTOMNTENT), any::<u32>()],
            body in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(req) = decode_request(cmd, &body) {
                // Whatever decodes re-encodes to something that decodes the same.
                let (c, b) = encode_request(&req);
                prop_assert_eq!(decode_request(c, &b), Ok(req));
            }
        }

        #[test]
        fn truncated_getent_replies_are_errors_or_prefixes(
            entries in proptest::collection::vec(("[a-z]{1,8}", "[a-z]{0,8}"), 1..5),
            cut in 0usize..200) {
            let b = encode_getent_reply(&entries);
            let cut = cut.min(b.len());
            if let Ok(got) = decode_getent_reply(&b[..cut]) {
                prop_assert!(got.len() <= entries.len());
            }
        }
    }
}
