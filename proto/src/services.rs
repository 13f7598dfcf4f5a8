//! Bodies of the services map (`getservbyname`, `getservbyport`, `getservent`):
//! SSSD's `SSS_NSS_GETSERVBYNAME` (0xA1), `GETSERVBYPORT` (0xA2) and
//! `SET/GET/ENDSERVENT` (0xA3-0xA5).
//!
//! Requests: by name `name\0proto\0` (an empty protocol means any); by port
//! `u16 port (network order), u16 0, u32 0, proto\0`. Reply records after the common
//! `num_results, reserved` prefix: `u32 port` holding the network-order port in its low
//! 16 bits, `u32 num_aliases`, then `name\0 proto\0 alias\0...`.

use crate::ProtoError;
use crate::nss::{MAX_NAME_LEN, decode_reply_prefix, reply_prefix};
use crate::wire::{Reader, put_cstr, put_u32};

/// A NUL-free, non-empty, UTF-8 name of at most [`MAX_NAME_LEN`] bytes.
fn name_ok(s: &[u8], offset: usize) -> Result<&str, ProtoError> {
    if s.is_empty() {
        return Err(ProtoError::EmptyName);
    }
    if s.len() > MAX_NAME_LEN {
        return Err(ProtoError::InvalidValue {
            field: "name length",
            value: u32::try_from(s.len()).unwrap_or(u32::MAX),
        });
    }
    std::str::from_utf8(s).map_err(|_| ProtoError::InvalidUtf8(offset))
}

/// An optional protocol: `None` for the empty string.
fn proto_ok(s: &[u8], offset: usize) -> Result<Option<&str>, ProtoError> {
    if s.is_empty() {
        Ok(None)
    } else {
        name_ok(s, offset).map(Some)
    }
}

/// Decodes a GETSERVBYNAME body: the service name and the protocol (`None`: any).
pub fn decode_by_name_request(body: &[u8]) -> Result<(&str, Option<&str>), ProtoError> {
    let mut r = Reader::new(body);
    let name = r.cstr_bytes()?;
    let name = name_ok(name, 0)?;
    let at = r.position();
    let proto = proto_ok(r.cstr_bytes()?, at)?;
    r.finish()?;
    Ok((name, proto))
}

/// Encodes a GETSERVBYNAME body.
pub fn encode_by_name_request(name: &[u8], proto: Option<&[u8]>) -> Vec<u8> {
    let mut v = Vec::with_capacity(name.len() + 8);
    put_cstr(&mut v, name);
    put_cstr(&mut v, proto.unwrap_or_default());
    v
}

/// Decodes a GETSERVBYPORT body: the port in host order and the protocol (`None`: any).
pub fn decode_by_port_request(body: &[u8]) -> Result<(u16, Option<&str>), ProtoError> {
    let mut r = Reader::new(body);
    let p = r.take(2)?;
    let port = u16::from_be_bytes([
        p.first().copied().unwrap_or(0),
        p.get(1).copied().unwrap_or(0),
    ]);
    r.take(6)?;
    let at = r.position();
    let proto = proto_ok(r.cstr_bytes()?, at)?;
    r.finish()?;
    Ok((port, proto))
}

/// Encodes a GETSERVBYPORT body for `port` in host order.
pub fn encode_by_port_request(port: u16, proto: Option<&[u8]>) -> Vec<u8> {
    let mut v = Vec::with_capacity(16);
    v.extend_from_slice(&port.to_be_bytes());
    v.extend_from_slice(&[0u8; 6]);
    put_cstr(&mut v, proto.unwrap_or_default());
    v
}

/// One service record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServEntry<'a> {
    /// The port, in host order.
    pub port: u16,
    /// `s_name`.
    pub name: &'a [u8],
    /// `s_proto`.
    pub proto: &'a [u8],
    /// `s_aliases`.
    pub aliases: Vec<&'a [u8]>,
}

impl<'a> ServEntry<'a> {
    /// Appends the wire record.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        // SSSD stores `(uint32_t)htons(port)`: the network-order port in the low 16 bits.
        put_u32(out, u32::from(self.port.to_be()));
        put_u32(out, u32::try_from(self.aliases.len()).unwrap_or(u32::MAX));
        put_cstr(out, self.name);
        put_cstr(out, self.proto);
        for a in &self.aliases {
            put_cstr(out, a);
        }
    }

    /// Reads one record. The port word must hold a 16-bit value.
    pub fn decode_from(r: &mut Reader<'a>) -> Result<Self, ProtoError> {
        let raw = r.u32()?;
        let net = u16::try_from(raw).map_err(|_| ProtoError::InvalidValue {
            field: "service port",
            value: raw,
        })?;
        let n = r.u32()?;
        let name = r.cstr_bytes()?;
        if name.is_empty() {
            return Err(ProtoError::EmptyName);
        }
        let proto = r.cstr_bytes()?;
        // Each alias takes at least its NUL: a count beyond the bytes left is a lie.
        if n as usize > r.remaining() {
            return Err(ProtoError::Truncated {
                offset: r.position(),
                needed: n as usize,
                available: r.remaining(),
            });
        }
        let mut aliases = Vec::with_capacity(n as usize);
        for _ in 0..n {
            aliases.push(r.cstr_bytes()?);
        }
        Ok(ServEntry {
            port: u16::from_be(net),
            name,
            proto,
            aliases,
        })
    }
}

/// Encodes a reply body holding `entries`.
pub fn encode_reply(entries: &[ServEntry<'_>]) -> Vec<u8> {
    let mut v = reply_prefix(u32::try_from(entries.len()).unwrap_or(u32::MAX));
    for e in entries {
        e.encode_into(&mut v);
    }
    v
}

/// Decodes a whole reply body (trailing bytes are an error).
pub fn decode_reply(body: &[u8]) -> Result<Vec<ServEntry<'_>>, ProtoError> {
    let (n, mut r) = decode_reply_prefix(body)?;
    let mut out = Vec::with_capacity((n as usize).min(r.remaining() / 11));
    for _ in 0..n {
        out.push(ServEntry::decode_from(&mut r)?);
    }
    r.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip() {
        let b = encode_by_name_request(b"ssh", Some(b"tcp"));
        assert_eq!(b, b"ssh\0tcp\0");
        assert_eq!(decode_by_name_request(&b), Ok(("ssh", Some("tcp"))));
        let b = encode_by_name_request(b"ssh", None);
        assert_eq!(decode_by_name_request(&b), Ok(("ssh", None)));
        let b = encode_by_port_request(22, Some(b"udp"));
        assert_eq!(&b[..8], &[0, 22, 0, 0, 0, 0, 0, 0]);
        assert_eq!(decode_by_port_request(&b), Ok((22, Some("udp"))));
        assert_eq!(
            decode_by_port_request(&encode_by_port_request(8080, None)),
            Ok((8080, None))
        );
    }

    #[test]
    fn bad_requests_are_errors() {
        for bad in [
            &b""[..],
            b"\0\0",
            b"ssh",
            b"ssh\0tcp",
            b"ssh\0tcp\0x",
            b"\xff\0\0",
        ] {
            assert!(decode_by_name_request(bad).is_err(), "{bad:?}");
        }
        for bad in [
            &b""[..],
            b"\0\x16",
            b"\0\x16\0\0\0\0\0\0",
            b"\0\x16\0\0\0\0\0\0tcp",
        ] {
            assert!(decode_by_port_request(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn record_layout_matches_sssd() {
        let e = ServEntry {
            port: 22,
            name: b"ssh",
            proto: b"tcp",
            aliases: vec![b"secure-shell"],
        };
        let body = encode_reply(std::slice::from_ref(&e));
        // num=1, reserved, port word = htons(22) as u32 (host-endian), one alias.
        let mut want = vec![1, 0, 0, 0, 0, 0, 0, 0];
        want.extend_from_slice(&u32::from(22u16.to_be()).to_ne_bytes());
        want.extend_from_slice(&1u32.to_ne_bytes());
        want.extend_from_slice(b"ssh\0tcp\0secure-shell\0");
        assert_eq!(body, want);
        assert_eq!(decode_reply(&body), Ok(vec![e]));
    }

    #[test]
    fn lying_counts_are_errors() {
        let mut body = reply_prefix(1);
        put_u32(&mut body, 0x1600);
        put_u32(&mut body, u32::MAX);
        body.extend_from_slice(b"a\0b\0");
        assert!(decode_reply(&body).is_err());
        let mut body = reply_prefix(u32::MAX);
        put_u32(&mut body, 0x1_0000);
        assert!(decode_reply(&body).is_err());
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = decode_by_name_request(&data);
            let _ = decode_by_port_request(&data);
            let _ = decode_reply(&data);
        }

        #[test]
        fn records_round_trip(
            port in any::<u16>(),
            name in "[a-z][a-z0-9-]{0,20}",
            proto in "[a-z]{0,5}",
            aliases in proptest::collection::vec("[a-z0-9]{0,8}", 0..5),
        ) {
            let e = ServEntry {
                port,
                name: name.as_bytes(),
                proto: proto.as_bytes(),
                aliases: aliases.iter().map(|a| a.as_bytes()).collect(),
            };
            let body = encode_reply(std::slice::from_ref(&e));
            prop_assert_eq!(decode_reply(&body), Ok(vec![e]));
            let req = encode_by_port_request(port, Some(name.as_bytes()));
            prop_assert_eq!(decode_by_port_request(&req), Ok((port, Some(name.as_str()))));
        }
    }
}
