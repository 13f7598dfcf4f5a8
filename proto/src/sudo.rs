//! The sudo responder's bodies (`/var/lib/sss/pipes/sudo`, protocol version 1), as SSSD 2.8's
//! `libsss_sudo.so` and `sssd_sudo` exchange them.
//!
//! Request (both commands): the client's `uid_t` (host-endian u32) followed by the user name
//! and its NUL. Reply: `error` (u32); when it is 0, a deprecated domain name (always an empty
//! string), the number of rules, and per rule the number of attributes followed by, per
//! attribute, its name, the number of values and the values (NUL-terminated strings).
//! A non-zero `error` (an errno such as `ENOENT` for an unknown user) ends the body.

use crate::ProtoError;
use crate::wire::{Reader, put_cstr, put_u32};

/// `SSS_SUDO_GET_SUDORULES`: the rules of a user.
pub const SUDO_GET_SUDORULES: u32 = 0x00C1;
/// `SSS_SUDO_GET_DEFAULTS`: the `cn=defaults` rule.
pub const SUDO_GET_DEFAULTS: u32 = 0x00C2;
/// The only protocol version of the sudo socket (SSSD: "require uid and domain").
pub const SUDO_PROTOCOL_VERSION: u32 = 1;
/// `SSS_SUDO_ERROR_OK`.
pub const SUDO_ERROR_OK: u32 = 0;

/// A decoded sudo request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SudoRequest {
    /// The uid the client says the user has.
    pub uid: u32,
    /// The user name (possibly `user@domain`).
    pub name: String,
}

/// Encodes a request for `uid` and `name` (no NUL inside `name`).
pub fn encode_request(uid: u32, name: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 5);
    put_u32(&mut out, uid);
    put_cstr(&mut out, name);
    out
}

/// Decodes a request as `sssd_sudo` does: a uid, then a non-empty UTF-8 name whose NUL is
/// the last byte of the body (a NUL earlier than that is refused too).
pub fn decode_request(body: &[u8]) -> Result<SudoRequest, ProtoError> {
    let mut r = Reader::new(body);
    let uid = r.u32()?;
    let name = r.cstr()?;
    r.finish()?;
    if name.is_empty() {
        return Err(ProtoError::EmptyName);
    }
    Ok(SudoRequest {
        uid,
        name: name.to_string(),
    })
}

/// One attribute of a rule: a name and its values, as raw bytes (no NUL inside).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SudoAttr {
    /// Attribute name (`sudoUser`, `sudoCommand`, ...).
    pub name: Vec<u8>,
    /// Its values.
    pub values: Vec<Vec<u8>>,
}

/// One rule: its attributes in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SudoRule {
    /// The attributes.
    pub attrs: Vec<SudoAttr>,
}

/// A decoded reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SudoReply {
    /// `error` was non-zero (an errno); nothing else was sent.
    Error(u32),
    /// The rules (possibly none).
    Rules(Vec<SudoRule>),
}

/// Appends one NUL-terminated string, dropping anything from an inner NUL on (a value
/// can never carry one: LDAP strings that do are not stored).
fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    let end = s.iter().position(|b| *b == 0).unwrap_or(s.len());
    put_cstr(out, s.get(..end).unwrap_or_default());
}

/// The size of [`encode_rules`]'s output for these rules.
pub fn encoded_len<'a>(rules: impl IntoIterator<Item = &'a SudoRule>) -> usize {
    let mut n = 4 + 1 + 4;
    for rule in rules {
        n += 4;
        for a in &rule.attrs {
            n += a.name.len() + 1 + 4;
            n += a.values.iter().map(|v| v.len() + 1).sum::<usize>();
        }
    }
    n
}

/// Encodes a successful reply carrying `rules`.
pub fn encode_rules(rules: &[SudoRule]) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded_len(rules));
    put_u32(&mut out, SUDO_ERROR_OK);
    put_cstr(&mut out, b"");
    put_u32(&mut out, u32::try_from(rules.len()).unwrap_or(u32::MAX));
    for rule in rules {
        put_u32(
            &mut out,
            u32::try_from(rule.attrs.len()).unwrap_or(u32::MAX),
        );
        for a in &rule.attrs {
            put_str(&mut out, &a.name);
            put_u32(&mut out, u32::try_from(a.values.len()).unwrap_or(u32::MAX));
            for v in &a.values {
                put_str(&mut out, v);
            }
        }
    }
    out
}

/// Encodes an error reply (`error` must not be 0).
pub fn encode_error(error: u32) -> Vec<u8> {
    error.to_ne_bytes().to_vec()
}

/// Reads a count that announces `count` items of at least `min` bytes each, refusing one
/// the rest of the body cannot hold (so that a hostile count never sizes an allocation).
fn count(r: &mut Reader<'_>, field: &'static str, min: usize) -> Result<usize, ProtoError> {
    let n = r.u32()?;
    let n_usize = usize::try_from(n).map_err(|_| ProtoError::InvalidValue { field, value: n })?;
    if n_usize.saturating_mul(min) > r.remaining() {
        return Err(ProtoError::InvalidValue { field, value: n });
    }
    Ok(n_usize)
}

/// Decodes a reply body. Bytes after the last rule are ignored, as SSSD's client does.
pub fn decode_reply(body: &[u8]) -> Result<SudoReply, ProtoError> {
    let mut r = Reader::new(body);
    let error = r.u32()?;
    if error != SUDO_ERROR_OK {
        return Ok(SudoReply::Error(error));
    }
    r.cstr_bytes()?; // the deprecated domain name
    let nrules = count(&mut r, "sudo rule count", 4)?;
    let mut rules = Vec::with_capacity(nrules);
    for _ in 0..nrules {
        let nattrs = count(&mut r, "sudo attribute count", 5)?;
        let mut attrs = Vec::with_capacity(nattrs);
        for _ in 0..nattrs {
            let name = r.cstr_bytes()?.to_vec();
            let nvalues = count(&mut r, "sudo value count", 1)?;
            let mut values = Vec::with_capacity(nvalues);
            for _ in 0..nvalues {
                values.push(r.cstr_bytes()?.to_vec());
            }
            attrs.push(SudoAttr { name, values });
        }
        rules.push(SudoRule { attrs });
    }
    Ok(SudoReply::Rules(rules))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rule(pairs: &[(&str, &[&str])]) -> SudoRule {
        SudoRule {
            attrs: pairs
                .iter()
                .map(|(n, vs)| SudoAttr {
                    name: n.as_bytes().to_vec(),
                    values: vs.iter().map(|v| v.as_bytes().to_vec()).collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn request_round_trip_and_layout() {
        let b = encode_request(1001, b"alice");
        assert_eq!(&b[..4], &1001u32.to_ne_bytes());
        assert_eq!(&b[4..], b"alice\0");
        let r = decode_request(&b).unwrap();
        assert_eq!(r.uid, 1001);
        assert_eq!(r.name, "alice");
    }

    #[test]
    fn bad_requests_are_refused() {
        assert!(decode_request(&[1, 2, 3]).is_err());
        assert_eq!(
            decode_request(&encode_request(1, b"")),
            Err(ProtoError::EmptyName)
        );
        let mut b = encode_request(1, b"al");
        b.pop();
        assert!(decode_request(&b).is_err(), "unterminated");
        let mut b = encode_request(1, b"al\0ice");
        assert!(decode_request(&b).is_err(), "inner NUL");
        b = 7u32.to_ne_bytes().to_vec();
        b.extend_from_slice(b"\xff\xfe\0");
        assert!(decode_request(&b).is_err(), "not UTF-8");
    }

    #[test]
    fn reply_layout_matches_sssd() {
        let b = encode_rules(&[rule(&[("cn", &["r1"]), ("sudoUser", &["alice", "%g"])])]);
        let mut want = Vec::new();
        want.extend_from_slice(&0u32.to_ne_bytes());
        want.push(0);
        want.extend_from_slice(&1u32.to_ne_bytes());
        want.extend_from_slice(&2u32.to_ne_bytes());
        want.extend_from_slice(b"cn\0");
        want.extend_from_slice(&1u32.to_ne_bytes());
        want.extend_from_slice(b"r1\0");
        want.extend_from_slice(b"sudoUser\0");
        want.extend_from_slice(&2u32.to_ne_bytes());
        want.extend_from_slice(b"alice\0%g\0");
        assert_eq!(b, want);
        assert_eq!(
            encoded_len(&[rule(&[("cn", &["r1"]), ("sudoUser", &["alice", "%g"])])]),
            want.len()
        );
        assert_eq!(encode_error(2), 2u32.to_ne_bytes().to_vec());
        assert_eq!(decode_reply(&encode_error(2)), Ok(SudoReply::Error(2)));
    }

    #[test]
    fn hostile_counts_are_refused_without_allocating() {
        let mut b = 0u32.to_ne_bytes().to_vec();
        b.push(0);
        b.extend_from_slice(&u32::MAX.to_ne_bytes());
        assert!(decode_reply(&b).is_err());
    }

    fn arb_rule() -> impl Strategy<Value = SudoRule> {
        let s = || proptest::collection::vec(1u8..=255, 0..12);
        proptest::collection::vec((s(), proptest::collection::vec(s(), 0..4)), 0..5).prop_map(
            |attrs| SudoRule {
                attrs: attrs
                    .into_iter()
                    .map(|(name, values)| SudoAttr { name, values })
                    .collect(),
            },
        )
    }

    proptest! {
        #[test]
        fn reply_round_trips(rules in proptest::collection::vec(arb_rule(), 0..6)) {
            let b = encode_rules(&rules);
            prop_assert_eq!(b.len(), encoded_len(&rules));
            prop_assert_eq!(decode_reply(&b), Ok(SudoReply::Rules(rules)));
        }

        #[test]
        fn reply_decoder_never_panics(b in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode_reply(&b);
        }

        #[test]
        fn truncated_replies_are_errors(rules in proptest::collection::vec(arb_rule(), 1..4), cut in 1usize..64) {
            let b = encode_rules(&rules);
            let keep = b.len().saturating_sub(cut);
            prop_assume!(keep >= 4);
            prop_assert!(decode_reply(&b[..keep]).is_err());
        }

        #[test]
        fn request_decoder_never_panics(b in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(r) = decode_request(&b) {
                prop_assert_eq!(encode_request(r.uid, r.name.as_bytes()), b);
            }
        }
    }
}
