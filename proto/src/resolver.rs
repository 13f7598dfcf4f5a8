//! Bodies of the hosts and networks maps: SSSD's `SSS_NSS_GETHOSTBYNAME` (0x51),
//! `GETHOSTBYNAME2` (0x52), `GETHOSTBYADDR` (0x53), `SET/GET/ENDHOSTENT` (0x54-0x56),
//! `GETNETBYNAME` (0x71), `GETNETBYADDR` (0x72) and `SET/GET/ENDNETENT` (0x73-0x75).
//!
//! Requests: by name `name\0` (the client filters addresses by family itself, so
//! GETHOSTBYNAME2 carries no family); by address `u32 af, u32 len, len address bytes`
//! (network order). Reply records after the common `num_results, reserved` prefix:
//! a host is `u32 num_aliases, u32 num_addresses, name\0 alias\0... address\0...`, a
//! network is `u32 num_aliases, name\0 address\0 alias\0...`; addresses are text.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::ProtoError;
use crate::nss::{MAX_NAME_LEN, decode_reply_prefix, reply_prefix};
use crate::wire::{Reader, put_cstr, put_u32};

/// `AF_INET` on Linux.
pub const AF_INET: u32 = 2;
/// `AF_INET6` on Linux.
pub const AF_INET6: u32 = 10;

/// Decodes a by-name body (hosts or networks): a NUL-free, non-empty UTF-8 name of at
/// most [`MAX_NAME_LEN`] bytes.
pub fn decode_by_name_request(body: &[u8]) -> Result<&str, ProtoError> {
    let mut r = Reader::new(body);
    let name = r.cstr_bytes()?;
    r.finish()?;
    if name.is_empty() {
        return Err(ProtoError::EmptyName);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(ProtoError::InvalidValue {
            field: "name length",
            value: u32::try_from(name.len()).unwrap_or(u32::MAX),
        });
    }
    std::str::from_utf8(name).map_err(|_| ProtoError::InvalidUtf8(0))
}

/// Encodes a by-name body.
pub fn encode_by_name_request(name: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(name.len() + 1);
    put_cstr(&mut v, name);
    v
}

/// Decodes a by-address body: the family word must be `AF_INET` with 4 bytes or
/// `AF_INET6` with 16, and the length word must match the bytes that follow.
pub fn decode_by_addr_request(body: &[u8]) -> Result<IpAddr, ProtoError> {
    let mut r = Reader::new(body);
    let af = r.u32()?;
    let len = r.u32()?;
    let want = match af {
        AF_INET => 4,
        AF_INET6 => 16,
        other => {
            return Err(ProtoError::InvalidValue {
                field: "address family",
                value: other,
            });
        }
    };
    if len != want {
        return Err(ProtoError::InvalidValue {
            field: "address length",
            value: len,
        });
    }
    let bytes = r.take(want as usize)?;
    r.finish()?;
    Ok(match <[u8; 4]>::try_from(bytes) {
        Ok(b4) => IpAddr::V4(Ipv4Addr::from(b4)),
        Err(_) => {
            let mut b16 = [0u8; 16];
            b16.copy_from_slice(bytes);
            IpAddr::V6(Ipv6Addr::from(b16))
        }
    })
}

/// Encodes a by-address body.
pub fn encode_by_addr_request(addr: IpAddr) -> Vec<u8> {
    let mut v = Vec::with_capacity(24);
    match addr {
        IpAddr::V4(a) => {
            put_u32(&mut v, AF_INET);
            put_u32(&mut v, 4);
            v.extend_from_slice(&a.octets());
        }
        IpAddr::V6(a) => {
            put_u32(&mut v, AF_INET6);
            put_u32(&mut v, 16);
            v.extend_from_slice(&a.octets());
        }
    }
    v
}

/// Each string takes at least its NUL: a count beyond the bytes left is a lie.
fn plausible_count(r: &Reader<'_>, n: u32) -> Result<(), ProtoError> {
    if n as usize > r.remaining() {
        return Err(ProtoError::Truncated {
            offset: r.position(),
            needed: n as usize,
            available: r.remaining(),
        });
    }
    Ok(())
}

fn read_strings<'a>(r: &mut Reader<'a>, n: u32) -> Result<Vec<&'a [u8]>, ProtoError> {
    plausible_count(r, n)?;
    let mut v = Vec::with_capacity(n as usize);
    for _ in 0..n {
        v.push(r.cstr_bytes()?);
    }
    Ok(v)
}

fn count(v: &[&[u8]]) -> u32 {
    u32::try_from(v.len()).unwrap_or(u32::MAX)
}

/// One host record (`struct hostent` before the client parses the addresses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEntry<'a> {
    /// `h_name`.
    pub name: &'a [u8],
    /// `h_aliases`.
    pub aliases: Vec<&'a [u8]>,
    /// The addresses as text (IPv4 and IPv6 mixed).
    pub addresses: Vec<&'a [u8]>,
}

impl<'a> HostEntry<'a> {
    /// Appends the wire record.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        put_u32(out, count(&self.aliases));
        put_u32(out, count(&self.addresses));
        put_cstr(out, self.name);
        for a in self.aliases.iter().chain(&self.addresses) {
            put_cstr(out, a);
        }
    }

    /// Reads one record.
    pub fn decode_from(r: &mut Reader<'a>) -> Result<Self, ProtoError> {
        let na = r.u32()?;
        let nd = r.u32()?;
        let name = r.cstr_bytes()?;
        if name.is_empty() {
            return Err(ProtoError::EmptyName);
        }
        let aliases = read_strings(r, na)?;
        let addresses = read_strings(r, nd)?;
        Ok(HostEntry {
            name,
            aliases,
            addresses,
        })
    }
}

/// One network record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetEntry<'a> {
    /// `n_name`.
    pub name: &'a [u8],
    /// The network number as dotted IPv4 text.
    pub address: &'a [u8],
    /// `n_aliases`.
    pub aliases: Vec<&'a [u8]>,
}

impl<'a> NetEntry<'a> {
    /// Appends the wire record.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        put_u32(out, count(&self.aliases));
        put_cstr(out, self.name);
        put_cstr(out, self.address);
        for a in &self.aliases {
            put_cstr(out, a);
        }
    }

    /// Reads one record.
    pub fn decode_from(r: &mut Reader<'a>) -> Result<Self, ProtoError> {
        let na = r.u32()?;
        let name = r.cstr_bytes()?;
        if name.is_empty() {
            return Err(ProtoError::EmptyName);
        }
        let address = r.cstr_bytes()?;
        let aliases = read_strings(r, na)?;
        Ok(NetEntry {
            name,
            address,
            aliases,
        })
    }
}

/// Encodes a hosts reply body.
pub fn encode_host_reply(entries: &[HostEntry<'_>]) -> Vec<u8> {
    let mut v = reply_prefix(u32::try_from(entries.len()).unwrap_or(u32::MAX));
    for e in entries {
        e.encode_into(&mut v);
    }
    v
}

/// Decodes a whole hosts reply body (trailing bytes are an error).
pub fn decode_host_reply(body: &[u8]) -> Result<Vec<HostEntry<'_>>, ProtoError> {
    let (n, mut r) = decode_reply_prefix(body)?;
    let mut out = Vec::with_capacity((n as usize).min(r.remaining() / 10));
    for _ in 0..n {
        out.push(HostEntry::decode_from(&mut r)?);
    }
    r.finish()?;
    Ok(out)
}

/// Encodes a networks reply body.
pub fn encode_net_reply(entries: &[NetEntry<'_>]) -> Vec<u8> {
    let mut v = reply_prefix(u32::try_from(entries.len()).unwrap_or(u32::MAX));
    for e in entries {
        e.encode_into(&mut v);
    }
    v
}

/// Decodes a whole networks reply body (trailing bytes are an error).
pub fn decode_net_reply(body: &[u8]) -> Result<Vec<NetEntry<'_>>, ProtoError> {
    let (n, mut r) = decode_reply_prefix(body)?;
    let mut out = Vec::with_capacity((n as usize).min(r.remaining() / 7));
    for _ in 0..n {
        out.push(NetEntry::decode_from(&mut r)?);
    }
    r.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip() {
        assert_eq!(encode_by_name_request(b"www"), b"www\0");
        assert_eq!(decode_by_name_request(b"www\0"), Ok("www"));
        for a in ["10.0.0.5", "fe80::1", "::ffff:1.2.3.4"] {
            let ip: IpAddr = a.parse().unwrap();
            assert_eq!(decode_by_addr_request(&encode_by_addr_request(ip)), Ok(ip));
        }
        let b = encode_by_addr_request("10.1.2.3".parse().unwrap());
        let mut want = AF_INET.to_ne_bytes().to_vec();
        want.extend_from_slice(&4u32.to_ne_bytes());
        want.extend_from_slice(&[10, 1, 2, 3]);
        assert_eq!(b, want);
    }

    #[test]
    fn bad_requests_are_errors() {
        for bad in [&b""[..], b"\0", b"www", b"www\0x", b"\xff\0"] {
            assert!(decode_by_name_request(bad).is_err(), "{bad:?}");
        }
        let mut wrong_len = AF_INET.to_ne_bytes().to_vec();
        wrong_len.extend_from_slice(&16u32.to_ne_bytes());
        wrong_len.extend_from_slice(&[0; 16]);
        let mut wrong_af = 1u32.to_ne_bytes().to_vec();
        wrong_af.extend_from_slice(&4u32.to_ne_bytes());
        wrong_af.extend_from_slice(&[0; 4]);
        let mut short = AF_INET6.to_ne_bytes().to_vec();
        short.extend_from_slice(&16u32.to_ne_bytes());
        short.extend_from_slice(&[0; 15]);
        let mut long = encode_by_addr_request("1.2.3.4".parse().unwrap());
        long.push(0);
        for bad in [
            &b""[..],
            b"\x02\0\0\0",
            &wrong_len,
            &wrong_af,
            &short,
            &long,
        ] {
            assert!(decode_by_addr_request(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn host_layout_matches_sssd() {
        let e = HostEntry {
            name: b"web",
            aliases: vec![b"www"],
            addresses: vec![b"10.0.0.5", b"fe80::5"],
        };
        let body = encode_host_reply(std::slice::from_ref(&e));
        let mut want = vec![1, 0, 0, 0, 0, 0, 0, 0];
        want.extend_from_slice(&1u32.to_ne_bytes());
        want.extend_from_slice(&2u32.to_ne_bytes());
        want.extend_from_slice(b"web\0www\x0010.0.0.5\0fe80::5\0");
        assert_eq!(body, want);
        assert_eq!(decode_host_reply(&body), Ok(vec![e]));
    }

    #[test]
    fn net_layout_matches_sssd() {
        let e = NetEntry {
            name: b"lab",
            address: b"10.1.0.0",
            aliases: vec![b"lab-net"],
        };
        let body = encode_net_reply(std::slice::from_ref(&e));
        let mut want = vec![1, 0, 0, 0, 0, 0, 0, 0];
        want.extend_from_slice(&1u32.to_ne_bytes());
        want.extend_from_slice(b"lab\x0010.1.0.0\0lab-net\0");
        assert_eq!(body, want);
        assert_eq!(decode_net_reply(&body), Ok(vec![e]));
    }

    #[test]
    fn lying_counts_are_errors() {
        let mut body = reply_prefix(1);
        put_u32(&mut body, u32::MAX);
        put_u32(&mut body, 0);
        body.extend_from_slice(b"a\0b\0");
        assert!(decode_host_reply(&body).is_err());
        let mut body = reply_prefix(1);
        put_u32(&mut body, 9);
        body.extend_from_slice(b"a\x001.2.3.4\0");
        assert!(decode_net_reply(&body).is_err());
        assert!(decode_net_reply(&reply_prefix(u32::MAX)).is_err());
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
            let _ = decode_by_addr_request(&data);
            let _ = decode_host_reply(&data);
            let _ = decode_net_reply(&data);
        }

        #[test]
        fn records_round_trip(
            name in "[a-z][a-z0-9.-]{0,20}",
            aliases in proptest::collection::vec("[a-z0-9]{0,8}", 0..5),
            addrs in proptest::collection::vec("[0-9a-f:.]{0,20}", 0..5),
        ) {
            let h = HostEntry {
                name: name.as_bytes(),
                aliases: aliases.iter().map(|a| a.as_bytes()).collect(),
                addresses: addrs.iter().map(|a| a.as_bytes()).collect(),
            };
            let body = encode_host_reply(std::slice::from_ref(&h));
            prop_assert_eq!(decode_host_reply(&body), Ok(vec![h]));
            let n = NetEntry {
                name: name.as_bytes(),
                address: b"10.0.0.0",
                aliases: aliases.iter().map(|a| a.as_bytes()).collect(),
            };
            let body = encode_net_reply(std::slice::from_ref(&n));
            prop_assert_eq!(decode_net_reply(&body), Ok(vec![n]));
        }
    }
}
