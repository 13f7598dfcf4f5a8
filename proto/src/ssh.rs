//! SSH responder bodies (`SSS_SSH_GET_USER_PUBKEYS` 0xE1, `SSS_SSH_GET_HOST_PUBKEYS` 0xE2),
//! as SSSD 2.8's `sss_ssh_client.c` and `ssh_protocol.c` lay them out.
//!
//! Request: `u32 flags` (`REQ_ALIAS` | `REQ_DOMAIN`), `u32 name_len`, name with its NUL;
//! with `REQ_ALIAS`: `u32 alias_len`, alias with its NUL; with `REQ_DOMAIN`: `u32 domain_len`
//! (0 = the default domain), then the domain with its NUL when the length is not 0.
//!
//! Reply: `u32 count`, `u32 reserved` (0), then per key: `u32 flags` (0), `u32 name_len`,
//! the entry's name with its NUL, `u32 key_len`, the key bytes (the directory value as is:
//! usually the text `type base64 comment`, possibly a binary key blob).
//!
//! Every integer is host-endian. Decoders are total: malformed input is an error, never a
//! panic, and no allocation is sized by a count read from the input.

use crate::ProtoError;
use crate::wire::{Reader, put_u32};

/// `SSS_SSH_GET_USER_PUBKEYS`.
pub const GET_USER_PUBKEYS: u32 = 0x00E1;
/// `SSS_SSH_GET_HOST_PUBKEYS`.
pub const GET_HOST_PUBKEYS: u32 = 0x00E2;
/// The protocol version the ssh responder speaks (GET_VERSION answers 0).
pub const SSH_PROTOCOL_VERSION: u32 = 0;
/// Request flag: an alias follows the name.
pub const REQ_ALIAS: u32 = 0x01;
/// Request flag: a domain follows.
pub const REQ_DOMAIN: u32 = 0x02;
/// Every valid request flag.
pub const REQ_MASK: u32 = REQ_ALIAS | REQ_DOMAIN;
/// SSSD's `ERR_NON_SSSD_USER` (`ERR_BASE` 0x555D0000 + 77): the reply status for a user
/// that exists on the system but is not served by SSSD; `sss_ssh_authorizedkeys` then prints
/// nothing and exits 0.
pub const ERR_NON_SSSD_USER: u32 = 0x555D_004D;

/// A decoded key request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRequest<'a> {
    /// The user or host name.
    pub name: &'a str,
    /// The host alias (`REQ_ALIAS`).
    pub alias: Option<&'a str>,
    /// Whether `REQ_DOMAIN` was set.
    pub domain_given: bool,
    /// The domain, when one was named (`REQ_DOMAIN` with a non-zero length).
    pub domain: Option<&'a str>,
}

/// Reads one `u32 len` + NUL-terminated UTF-8 string of that length (NUL included).
/// `allow_empty` accepts a zero length as "absent".
fn sized_str<'a>(r: &mut Reader<'a>, allow_empty: bool) -> Result<Option<&'a str>, ProtoError> {
    let len = r.u32()?;
    if len == 0 {
        return if allow_empty {
            Ok(None)
        } else {
            Err(ProtoError::EmptyName)
        };
    }
    let start = r.position();
    let n = usize::try_from(len).map_err(|_| ProtoError::BadLength(len))?;
    let bytes = r.take(n)?;
    let (last, text) = bytes.split_last().ok_or(ProtoError::EmptyName)?;
    if *last != 0 || text.contains(&0) {
        return Err(ProtoError::Unterminated(start));
    }
    std::str::from_utf8(text)
        .map(Some)
        .map_err(|_| ProtoError::InvalidUtf8(start))
}

/// Decodes a request body as SSSD's responder does: unknown flags, a zero or overlong name
/// length, a missing NUL or invalid UTF-8 are errors; bytes after the last field are ignored.
pub fn decode_request(body: &[u8]) -> Result<KeyRequest<'_>, ProtoError> {
    let mut r = Reader::new(body);
    let flags = r.u32()?;
    if flags & !REQ_MASK != 0 {
        return Err(ProtoError::InvalidValue {
            field: "ssh request flags",
            value: flags,
        });
    }
    let name = sized_str(&mut r, false)?.ok_or(ProtoError::EmptyName)?;
    if name.is_empty() {
        return Err(ProtoError::EmptyName);
    }
    let alias = if flags & REQ_ALIAS != 0 {
        sized_str(&mut r, false)?
    } else {
        None
    };
    let domain_given = flags & REQ_DOMAIN != 0;
    let domain = if domain_given {
        sized_str(&mut r, true)?
    } else {
        None
    };
    Ok(KeyRequest {
        name,
        alias,
        domain_given,
        domain,
    })
}

/// Encodes a request as SSSD's client does: `REQ_DOMAIN` always set (length 0 when no
/// domain is named), `REQ_ALIAS` when an alias is given.
pub fn encode_request(name: &str, alias: Option<&str>, domain: Option<&str>) -> Vec<u8> {
    let mut v = Vec::with_capacity(16 + name.len() + alias.map_or(0, str::len));
    let flags = REQ_DOMAIN | if alias.is_some() { REQ_ALIAS } else { 0 };
    put_u32(&mut v, flags);
    let put = |v: &mut Vec<u8>, s: &str| {
        put_u32(v, u32::try_from(s.len() + 1).unwrap_or(u32::MAX));
        v.extend_from_slice(s.as_bytes());
        v.push(0);
    };
    put(&mut v, name);
    if let Some(a) = alias {
        put(&mut v, a);
    }
    match domain {
        Some(d) => put(&mut v, d),
        None => put_u32(&mut v, 0),
    }
    v
}

/// Encodes a reply: every key of entry `name` (empty keys are skipped, as SSSD does).
pub fn encode_reply<K: AsRef<[u8]>>(name: &str, keys: &[K]) -> Vec<u8> {
    let keys: Vec<&[u8]> = keys
        .iter()
        .map(AsRef::as_ref)
        .filter(|k| !k.is_empty())
        .collect();
    let per = 12 + name.len() + 1;
    let size = 8 + keys.iter().map(|k| per + k.len()).sum::<usize>();
    let mut v = Vec::with_capacity(size);
    put_u32(&mut v, u32::try_from(keys.len()).unwrap_or(u32::MAX));
    put_u32(&mut v, 0);
    let name_len = u32::try_from(name.len() + 1).unwrap_or(u32::MAX);
    for k in keys {
        put_u32(&mut v, 0);
        put_u32(&mut v, name_len);
        v.extend_from_slice(name.as_bytes());
        v.push(0);
        put_u32(&mut v, u32::try_from(k.len()).unwrap_or(u32::MAX));
        v.extend_from_slice(k);
    }
    v
}

/// A decoded reply.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyReply {
    /// The entry's name (from the first key; `None` when there are no keys).
    pub name: Option<String>,
    /// The keys, in order.
    pub keys: Vec<Vec<u8>>,
}

/// Decodes a reply with the checks of SSSD's client: reserved and per-key flags must be 0,
/// lengths must fit, names must end with their only NUL.
pub fn decode_reply(body: &[u8]) -> Result<KeyReply, ProtoError> {
    let mut r = Reader::new(body);
    let count = r.u32()?;
    let reserved = r.u32()?;
    if reserved != 0 {
        return Err(ProtoError::InvalidValue {
            field: "ssh reply reserved",
            value: reserved,
        });
    }
    let mut out = KeyReply::default();
    for _ in 0..count {
        let flags = r.u32()?;
        if flags != 0 {
            return Err(ProtoError::InvalidValue {
                field: "ssh key flags",
                value: flags,
            });
        }
        let name = sized_str(&mut r, false)?.ok_or(ProtoError::EmptyName)?;
        if out.name.is_none() {
            out.name = Some(name.to_string());
        }
        let len = r.u32()?;
        let n = usize::try_from(len).map_err(|_| ProtoError::BadLength(len))?;
        out.keys.push(r.take(n)?.to_vec());
    }
    Ok(out)
}

/// Why a key cannot be printed as an `authorized_keys` line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyFormatError {
    /// The key is empty.
    #[error("empty key")]
    Empty,
    /// A binary key blob whose algorithm name length is not 1..=64 or overruns the blob, or
    /// whose name is empty or not printable ASCII without spaces.
    #[error("binary key blob with a bad algorithm name")]
    BadAlgorithm,
    /// A text key with a NUL, a carriage return or an inner line break.
    #[error("text key with a NUL, CR or line break")]
    BadText,
}

/// The `authorized_keys` line (without the final newline) for one key, as SSSD's
/// `sss_ssh_format_pubkey`: a binary blob (it starts with three zero bytes, RFC 4253 6.6)
/// becomes `algorithm base64(blob)` (the algorithm name printable ASCII); anything else is a text key printed as is, without a
/// trailing newline, and refused if it holds a NUL, a CR or an inner newline.
pub fn format_key(key: &[u8]) -> Result<Vec<u8>, KeyFormatError> {
    if key.len() > 4 && key.starts_with(&[0, 0, 0]) {
        let len_bytes: [u8; 4] = key
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .ok_or(KeyFormatError::BadAlgorithm)?;
        let algo_len = u32::from_be_bytes(len_bytes) as usize;
        if !(1..=64).contains(&algo_len) || algo_len > key.len() - 4 {
            return Err(KeyFormatError::BadAlgorithm);
        }
        let algo = key
            .get(4..4 + algo_len)
            .ok_or(KeyFormatError::BadAlgorithm)?;
        // SSSD prints the name as a C string: it ends at a NUL.
        let algo = algo.split(|b| *b == 0).next().unwrap_or_default();
        // Unlike SSSD, a name that is empty or holds a space, a control character (a line
        // break would start another authorized_keys line) or a non-ASCII byte is refused.
        if algo.is_empty() || !algo.iter().all(u8::is_ascii_graphic) {
            return Err(KeyFormatError::BadAlgorithm);
        }
        let mut out = Vec::with_capacity(algo.len() + 1 + key.len() * 4 / 3 + 4);
        out.extend_from_slice(algo);
        out.push(b' ');
        out.extend_from_slice(base64(key).as_bytes());
        return Ok(out);
    }
    let body = match key.split_last() {
        Some((b'\n', body)) => body,
        Some(_) => key,
        None => return Err(KeyFormatError::Empty),
    };
    if body.iter().any(|b| matches!(b, 0 | b'\r' | b'\n')) {
        return Err(KeyFormatError::BadText);
    }
    Ok(body.to_vec())
}

/// Standard base64 with padding (RFC 4648 section 4).
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sym = |i: u32| char::from(ALPHABET.get((i & 63) as usize).copied().unwrap_or(b'A'));
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (b(0) << 16) | (b(1) << 8) | b(2);
        out.push(sym(n >> 18));
        out.push(sym(n >> 12));
        out.push(if chunk.len() > 1 { sym(n >> 6) } else { '=' });
        out.push(if chunk.len() > 2 { sym(n) } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn request_round_trips_like_sssds_client() {
        let b = encode_request("alice", None, None);
        // flags = REQ_DOMAIN, name_len 6, "alice\0", domain_len 0.
        assert_eq!(b.len(), 4 + 4 + 6 + 4);
        let r = decode_request(&b).unwrap();
        assert_eq!(
            r,
            KeyRequest {
                name: "alice",
                alias: None,
                domain_given: true,
                domain: None
            }
        );
        let b = encode_request("host1", Some("h1.example"), Some("LDAP"));
        let r = decode_request(&b).unwrap();
        assert_eq!(r.alias, Some("h1.example"));
        assert_eq!(r.domain, Some("LDAP"));
    }

    #[test]
    fn request_checks_match_sssd() {
        let mut b = encode_request("alice", None, None);
        b[0] = 0x04; // unknown flag
        assert!(decode_request(&b).is_err());
        // Zero name length.
        let mut z = Vec::new();
        put_u32(&mut z, 0);
        put_u32(&mut z, 0);
        assert!(decode_request(&z).is_err());
        // Missing NUL.
        let mut m = Vec::new();
        put_u32(&mut m, 0);
        put_u32(&mut m, 3);
        m.extend_from_slice(b"abc");
        assert!(decode_request(&m).is_err());
        // Overlong name length.
        let mut o = Vec::new();
        put_u32(&mut o, 0);
        put_u32(&mut o, 100);
        o.extend_from_slice(b"abc\0");
        assert!(decode_request(&o).is_err());
        // Invalid UTF-8.
        let mut u = Vec::new();
        put_u32(&mut u, 0);
        put_u32(&mut u, 3);
        u.extend_from_slice(b"\xff\xfe\0");
        assert!(decode_request(&u).is_err());
        // Flags without the domain field: SSSD reads no further (no domain).
        let mut n = Vec::new();
        put_u32(&mut n, 0);
        put_u32(&mut n, 2);
        n.extend_from_slice(b"a\0");
        let r = decode_request(&n).unwrap();
        assert!(!r.domain_given);
        // Trailing bytes are ignored, as SSSD does.
        n.extend_from_slice(b"junk");
        assert_eq!(decode_request(&n).unwrap().name, "a");
    }

    #[test]
    fn reply_round_trips_and_skips_empty_keys() {
        let keys: Vec<&[u8]> = vec![b"ssh-ed25519 AAAA x", b"", b"\0\0\0\x07ssh-rsa"];
        let b = encode_reply("alice@LDAP", &keys);
        let r = decode_reply(&b).unwrap();
        assert_eq!(r.name.as_deref(), Some("alice@LDAP"));
        assert_eq!(r.keys, vec![keys[0].to_vec(), keys[2].to_vec()]);
        let none = encode_reply::<&[u8]>("bob@LDAP", &[]);
        assert_eq!(none, vec![0u8; 8]);
        assert_eq!(decode_reply(&none).unwrap(), KeyReply::default());
    }

    #[test]
    fn reply_rejects_bad_fields() {
        let good = encode_reply("a", &[b"k".as_slice()]);
        for cut in 0..good.len() {
            assert!(decode_reply(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut reserved = good.clone();
        reserved[4] = 1;
        assert!(decode_reply(&reserved).is_err());
        let mut flags = good.clone();
        flags[8] = 1;
        assert!(decode_reply(&flags).is_err());
        // A count far beyond the body does not allocate; it fails on the first missing key.
        let mut huge = good;
        huge[..4].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert!(decode_reply(&huge).is_err());
    }

    #[test]
    fn text_keys_print_as_is() {
        assert_eq!(
            format_key(b"ssh-ed25519 AAAAC3 alice@host\n").unwrap(),
            b"ssh-ed25519 AAAAC3 alice@host"
        );
        assert_eq!(format_key(b"ssh-rsa AAAA").unwrap(), b"ssh-rsa AAAA");
        assert_eq!(format_key(b"a\nb"), Err(KeyFormatError::BadText));
        assert_eq!(format_key(b"a\rb"), Err(KeyFormatError::BadText));
        assert_eq!(format_key(b"a\0b"), Err(KeyFormatError::BadText));
        assert_eq!(format_key(b""), Err(KeyFormatError::Empty));
    }

    #[test]
    fn binary_blobs_print_as_algorithm_and_base64() {
        let mut blob = Vec::new();
        blob.extend_from_slice(&11u32.to_be_bytes());
        blob.extend_from_slice(b"ssh-ed25519");
        blob.extend_from_slice(&[0, 0, 0, 2, 0xab, 0xcd]);
        let line = String::from_utf8(format_key(&blob).unwrap()).unwrap();
        assert_eq!(line, format!("ssh-ed25519 {}", base64(&blob)));
        let mut bad = blob.clone();
        bad[3] = 65;
        assert_eq!(format_key(&bad), Err(KeyFormatError::BadAlgorithm));
        bad[3] = 0;
        assert_eq!(format_key(&bad), Err(KeyFormatError::BadAlgorithm));
        // An algorithm name with a line break, a space or starting with a NUL is refused:
        // it would break the one-key-per-line output.
        for evil in [&b"ssh-ed2\n519"[..], b"ssh ed25519", b"\0sh-ed25519"] {
            let mut b = blob.clone();
            b[4..15].copy_from_slice(evil);
            assert_eq!(
                format_key(&b),
                Err(KeyFormatError::BadAlgorithm),
                "{evil:?}"
            );
        }
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    proptest! {
        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode_request(&bytes);
            let _ = decode_reply(&bytes);
            let _ = format_key(&bytes);
        }

        #[test]
        fn requests_round_trip(name in "[^\0]{1,40}", alias in proptest::option::of("[^\0]{1,20}"),
                               domain in proptest::option::of("[^\0]{1,20}")) {
            let b = encode_request(&name, alias.as_deref(), domain.as_deref());
            let r = decode_request(&b).unwrap();
            prop_assert_eq!(r.name, name.as_str());
            prop_assert_eq!(r.alias, alias.as_deref());
            prop_assert_eq!(r.domain, domain.as_deref());
        }

        #[test]
        fn replies_round_trip(name in "[^\0]{1,30}",
                              keys in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..80), 0..8)) {
            let r = decode_reply(&encode_reply(&name, &keys)).unwrap();
            prop_assert_eq!(r.keys, keys.clone());
            prop_assert_eq!(r.name, (!keys.is_empty()).then(|| name.clone()));
        }

        #[test]
        fn mutated_replies_never_panic(keys in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..40), 1..4),
                                       pos in any::<usize>(), byte in any::<u8>()) {
            let mut b = encode_reply("alice@LDAP", &keys);
            let i = pos % b.len();
            b[i] = byte;
            let _ = decode_reply(&b);
        }
    }
}
