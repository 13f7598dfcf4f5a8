//! The 16-byte packet header shared by requests and replies.

use crate::ProtoError;
use crate::wire::{Reader, put_u32};

/// Size of the packet header in bytes.
pub const HEADER_LEN: usize = 16;
/// Largest request the responder accepts for ordinary commands (header included).
pub const MAX_REQUEST_LEN: u32 = 1536;

/// A decoded packet header. All fields are host-endian on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Total packet length, header included.
    pub len: u32,
    /// Command code (echoed in replies).
    pub cmd: u32,
    /// 0 in requests; 0 or an errno in replies.
    pub status: u32,
    /// Always 0.
    pub reserved: u32,
}

impl Header {
    /// Decodes a header from the first 16 bytes of `buf`.
    pub fn decode(buf: &[u8]) -> Result<Header, ProtoError> {
        let mut r = Reader::new(buf);
        let h = Header {
            len: r.u32()?,
            cmd: r.u32()?,
            status: r.u32()?,
            reserved: r.u32()?,
        };
        if (h.len as usize) < HEADER_LEN {
            return Err(ProtoError::BadLength(h.len));
        }
        Ok(h)
    }

    /// Length of the body that follows this header.
    pub fn body_len(&self) -> usize {
        (self.len as usize).saturating_sub(HEADER_LEN)
    }

    /// The 16 header bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut v = Vec::with_capacity(HEADER_LEN);
        put_u32(&mut v, self.len);
        put_u32(&mut v, self.cmd);
        put_u32(&mut v, self.status);
        put_u32(&mut v, self.reserved);
        let mut out = [0u8; HEADER_LEN];
        out.copy_from_slice(&v);
        out
    }
}

/// Builds a complete packet (header + body) for `cmd` with `status`.
pub fn packet(cmd: u32, status: u32, body: &[u8]) -> Vec<u8> {
    let len = (HEADER_LEN + body.len()) as u32;
    let h = Header {
        len,
        cmd,
        status,
        reserved: 0,
    };
    let mut out = Vec::with_capacity(len as usize);
    out.extend_from_slice(&h.encode());
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let p = packet(0x11, 0, b"alice\0");
        let h = Header::decode(&p).unwrap();
        assert_eq!(h.len, 22);
        assert_eq!(h.cmd, 0x11);
        assert_eq!(h.body_len(), 6);
        assert_eq!(&p[16..], b"alice\0");
    }

    #[test]
    fn short_or_impossible_headers_fail() {
        assert!(Header::decode(&[0u8; 15]).is_err());
        assert_eq!(
            Header::decode(&packet(1, 0, b"")[..]).map(|h| h.len),
            Ok(16)
        );
        let mut p = packet(1, 0, b"");
        p[0] = 3;
        assert_eq!(Header::decode(&p), Err(ProtoError::BadLength(3)));
    }
}
