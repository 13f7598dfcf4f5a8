//! Little helpers to read and write host-endian integers and NUL-terminated strings.

use crate::ProtoError;

/// A cursor over a received body. Every read is bounds-checked.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader positioned at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Current offset from the start of the buffer.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Takes the next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], ProtoError> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.buf.len());
        match end.and_then(|e| self.buf.get(self.pos..e)) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(ProtoError::Truncated {
                offset: self.pos,
                needed: n,
                available: self.remaining(),
            }),
        }
    }

    /// Reads a host-endian u32.
    pub fn u32(&mut self) -> Result<u32, ProtoError> {
        let b = self.take(4)?;
        let mut a = [0u8; 4];
        a.copy_from_slice(b);
        Ok(u32::from_ne_bytes(a))
    }

    /// Reads a host-endian i32.
    pub fn i32(&mut self) -> Result<i32, ProtoError> {
        self.u32().map(|v| v as i32)
    }

    /// Reads a NUL-terminated string as raw bytes (without the NUL).
    pub fn cstr_bytes(&mut self) -> Result<&'a [u8], ProtoError> {
        let start = self.pos;
        let rest = self.buf.get(start..).unwrap_or_default();
        let nul = rest
            .iter()
            .position(|b| *b == 0)
            .ok_or(ProtoError::Unterminated(start))?;
        let s = self.take(nul)?;
        self.take(1)?;
        Ok(s)
    }

    /// Reads a NUL-terminated UTF-8 string.
    pub fn cstr(&mut self) -> Result<&'a str, ProtoError> {
        let start = self.pos;
        let b = self.cstr_bytes()?;
        std::str::from_utf8(b).map_err(|_| ProtoError::InvalidUtf8(start))
    }

    /// Fails unless every byte was read.
    pub fn finish(&self) -> Result<(), ProtoError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(ProtoError::Trailing(n)),
        }
    }
}

/// Appends a host-endian u32.
pub fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_ne_bytes());
}

/// Appends `s` and a terminating NUL.
pub fn put_cstr(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(s);
    out.push(0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_strings_and_ints() {
        let mut v = Vec::new();
        put_u32(&mut v, 7);
        put_cstr(&mut v, b"abc");
        let mut r = Reader::new(&v);
        assert_eq!(r.u32(), Ok(7));
        assert_eq!(r.cstr(), Ok("abc"));
        assert_eq!(r.finish(), Ok(()));
        assert!(r.u32().is_err());
    }

    #[test]
    fn unterminated_string_is_an_error() {
        let mut r = Reader::new(b"abc");
        assert_eq!(r.cstr(), Err(ProtoError::Unterminated(0)));
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        let mut r = Reader::new(b"\xff\xfe\0");
        assert_eq!(r.cstr(), Err(ProtoError::InvalidUtf8(0)));
    }
}
