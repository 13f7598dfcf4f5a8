//! The few BER forms (X.690) an LDAP search over UDP needs: definite lengths, one-byte
//! tags. Reading never trusts a length: every field must fit in what encloses it.

/// Universal INTEGER.
pub const INTEGER: u8 = 0x02;
/// Universal OCTET STRING.
pub const OCTET_STRING: u8 = 0x04;
/// Universal BOOLEAN.
pub const BOOLEAN: u8 = 0x01;
/// Universal ENUMERATED.
pub const ENUMERATED: u8 = 0x0a;
/// Universal SEQUENCE (constructed).
pub const SEQUENCE: u8 = 0x30;
/// Universal SET (constructed).
pub const SET: u8 = 0x31;

/// Why a BER element could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BerError {
    /// The input ends inside a tag, length or value.
    Truncated,
    /// A length form we do not accept (indefinite, or more than four length bytes).
    BadLength,
    /// A multi-byte tag number (LDAP never uses one).
    BadTag,
    /// Another tag stood where this one was expected.
    Unexpected {
        /// The tag wanted.
        want: u8,
        /// The tag found.
        got: u8,
    },
    /// An INTEGER or ENUMERATED that is empty or does not fit in 32 bits.
    BadInteger,
}

impl std::fmt::Display for BerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BerError::Truncated => write!(f, "element truncated"),
            BerError::BadLength => write!(f, "unsupported length form"),
            BerError::BadTag => write!(f, "multi-byte tag"),
            BerError::Unexpected { want, got } => {
                write!(f, "tag {got:#04x} where {want:#04x} was expected")
            }
            BerError::BadInteger => write!(f, "integer out of range"),
        }
    }
}

/// Appends tag, definite length and `content` to `out`.
pub fn put(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
}

/// One element: tag, definite length and `content`.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    put(&mut out, tag, content);
    out
}

/// The shortest two's complement content of `n`.
pub fn int_content(n: i32) -> Vec<u8> {
    let b = n.to_be_bytes();
    let mut start = 0;
    while start < 3 {
        let (hi, next) = (b[start], b[start + 1]);
        let redundant = (hi == 0 && next & 0x80 == 0) || (hi == 0xff && next & 0x80 != 0);
        if !redundant {
            break;
        }
        start += 1;
    }
    b[start..].to_vec()
}

/// Reads elements one after another from a byte slice.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `buf`.
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf }
    }

    /// Whether everything has been read.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The next element's tag and content.
    pub fn any(&mut self) -> Result<(u8, &'a [u8]), BerError> {
        let (&tag, rest) = self.buf.split_first().ok_or(BerError::Truncated)?;
        if tag & 0x1f == 0x1f {
            return Err(BerError::BadTag);
        }
        let (&first, mut rest) = rest.split_first().ok_or(BerError::Truncated)?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 {
                return Err(BerError::BadLength);
            }
            let (digits, after) = rest.split_at_checked(n).ok_or(BerError::Truncated)?;
            rest = after;
            digits
                .iter()
                .fold(0usize, |acc, d| (acc << 8) | usize::from(*d))
        };
        let (content, after) = rest.split_at_checked(len).ok_or(BerError::Truncated)?;
        self.buf = after;
        Ok((tag, content))
    }

    /// The content of the next element, which must carry `tag`.
    pub fn expect(&mut self, tag: u8) -> Result<&'a [u8], BerError> {
        let (got, content) = self.any()?;
        if got != tag {
            return Err(BerError::Unexpected { want: tag, got });
        }
        Ok(content)
    }

    /// A reader over the content of the next element, which must carry `tag`.
    pub fn nested(&mut self, tag: u8) -> Result<Reader<'a>, BerError> {
        self.expect(tag).map(Reader::new)
    }

    /// The next element as a 32-bit integer carrying `tag` (INTEGER or ENUMERATED).
    pub fn int(&mut self, tag: u8) -> Result<i32, BerError> {
        let c = self.expect(tag)?;
        if c.is_empty() || c.len() > 4 {
            return Err(BerError::BadInteger);
        }
        let fill = if c[0] & 0x80 != 0 { 0xff } else { 0 };
        let mut b = [fill; 4];
        b[4 - c.len()..].copy_from_slice(c);
        Ok(i32::from_be_bytes(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_minimal_and_round_trip() {
        for (n, want) in [
            (0, vec![0]),
            (127, vec![0x7f]),
            (128, vec![0, 0x80]),
            (256, vec![1, 0]),
            (-1, vec![0xff]),
            (-129, vec![0xff, 0x7f]),
            (i32::MAX, vec![0x7f, 0xff, 0xff, 0xff]),
        ] {
            assert_eq!(int_content(n), want, "{n}");
            let enc = tlv(INTEGER, &int_content(n));
            assert_eq!(Reader::new(&enc).int(INTEGER), Ok(n));
        }
    }

    #[test]
    fn long_lengths_round_trip() {
        let content = vec![7u8; 300];
        let enc = tlv(OCTET_STRING, &content);
        assert_eq!(&enc[..4], &[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(Reader::new(&enc).expect(OCTET_STRING), Ok(&content[..]));
    }

    #[test]
    fn hostile_lengths_are_refused() {
        // Longer than the input.
        assert_eq!(
            Reader::new(&[0x04, 0x05, 1, 2]).any(),
            Err(BerError::Truncated)
        );
        // 2^32-1 announced in four bytes.
        assert_eq!(
            Reader::new(&[0x04, 0x84, 0xff, 0xff, 0xff, 0xff, 0]).any(),
            Err(BerError::Truncated)
        );
        // Eight length bytes, indefinite form, high tag number.
        assert_eq!(
            Reader::new(&[0x04, 0x88, 0, 0, 0, 0, 0, 0, 0, 1, 0]).any(),
            Err(BerError::BadLength)
        );
        assert_eq!(
            Reader::new(&[0x30, 0x80, 0, 0]).any(),
            Err(BerError::BadLength)
        );
        assert_eq!(Reader::new(&[0x1f, 0x01, 0]).any(), Err(BerError::BadTag));
        assert_eq!(Reader::new(&[]).any(), Err(BerError::Truncated));
        assert_eq!(Reader::new(&[0x04]).any(), Err(BerError::Truncated));
        assert_eq!(Reader::new(&[0x04, 0x81]).any(), Err(BerError::Truncated));
        // Integers wider than 32 bits or empty.
        assert_eq!(
            Reader::new(&[0x02, 5, 1, 0, 0, 0, 0]).int(INTEGER),
            Err(BerError::BadInteger)
        );
        assert_eq!(
            Reader::new(&[0x02, 0]).int(INTEGER),
            Err(BerError::BadInteger)
        );
    }
}
