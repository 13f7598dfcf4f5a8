//! Windows security identifiers: the binary form LDAP returns in `objectSid`, the
//! `S-1-5-21-…` text form, and the escaped form used in search filters.

use super::IdmapError;
use std::fmt;

/// Most sub-authorities a SID may carry (the binary count byte is at most 15).
pub const MAX_SUB_AUTHORITIES: usize = 15;

/// Largest identifier authority (48 bits).
const MAX_AUTHORITY: u64 = (1 << 48) - 1;

/// A SID in its parts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sid {
    revision: u8,
    authority: u64,
    sub_authorities: Vec<u32>,
}

impl Sid {
    /// A SID from its parts; fails when the authority exceeds 48 bits or there are more
    /// than 15 sub-authorities.
    pub fn new(revision: u8, authority: u64, sub_authorities: Vec<u32>) -> Result<Sid, IdmapError> {
        if authority > MAX_AUTHORITY {
            return Err(IdmapError::InvalidSid(format!(
                "identifier authority {authority} exceeds 48 bits"
            )));
        }
        if sub_authorities.len() > MAX_SUB_AUTHORITIES {
            return Err(IdmapError::InvalidSid(format!(
                "{} sub-authorities, at most {MAX_SUB_AUTHORITIES} allowed",
                sub_authorities.len()
            )));
        }
        Ok(Sid {
            revision,
            authority,
            sub_authorities,
        })
    }

    /// The SID in a binary `objectSid` value (revision, count, 48-bit big-endian
    /// authority, little-endian 32-bit sub-authorities); the length must match the count
    /// exactly.
    pub fn from_bytes(b: &[u8]) -> Result<Sid, IdmapError> {
        let [revision, count, a0, a1, a2, a3, a4, a5, rest @ ..] = b else {
            return Err(IdmapError::InvalidSid(format!(
                "binary SID of {} bytes is shorter than its 8-byte header",
                b.len()
            )));
        };
        let count = usize::from(*count);
        if count > MAX_SUB_AUTHORITIES {
            return Err(IdmapError::InvalidSid(format!(
                "binary SID claims {count} sub-authorities, at most {MAX_SUB_AUTHORITIES} allowed"
            )));
        }
        if rest.len() != count * 4 {
            return Err(IdmapError::InvalidSid(format!(
                "binary SID with {count} sub-authorities needs {} bytes, got {}",
                8 + count * 4,
                b.len()
            )));
        }
        let authority = u64::from_be_bytes([0, 0, *a0, *a1, *a2, *a3, *a4, *a5]);
        let sub_authorities = rest
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok(Sid {
            revision: *revision,
            authority,
            sub_authorities,
        })
    }

    /// The SID written as `S-R-A-S1-S2-…` (authority in decimal, or `0x` and 12 hex digits
    /// when it does not fit 32 bits).
    pub fn parse(s: &str) -> Result<Sid, IdmapError> {
        let bad = |why: &str| IdmapError::InvalidSid(format!("{s:?}: {why}"));
        let rest = s
            .strip_prefix("S-")
            .or_else(|| s.strip_prefix("s-"))
            .ok_or_else(|| bad("does not start with S-"))?;
        let mut parts = rest.split('-');
        let revision = parts
            .next()
            .and_then(decimal)
            .and_then(|v| u8::try_from(v).ok())
            .ok_or_else(|| bad("revision is not a number from 0 to 255"))?;
        let authority = parts
            .next()
            .and_then(
                |a| match a.strip_prefix("0x").or_else(|| a.strip_prefix("0X")) {
                    Some(hex) if hex.len() == 12 && hex.bytes().all(|c| c.is_ascii_hexdigit()) => {
                        u64::from_str_radix(hex, 16).ok()
                    }
                    Some(_) => None,
                    None => decimal(a).filter(|v| *v <= u64::from(u32::MAX)),
                },
            )
            .ok_or_else(|| {
                bad("identifier authority is not a 32-bit number or 0x and 12 hex digits")
            })?;
        let mut sub_authorities = Vec::new();
        for p in parts {
            let v = decimal(p)
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| bad("a sub-authority is not a number from 0 to 4294967295"))?;
            if sub_authorities.len() == MAX_SUB_AUTHORITIES {
                return Err(bad("more than 15 sub-authorities"));
            }
            sub_authorities.push(v);
        }
        Sid::new(revision, authority, sub_authorities)
    }

    /// The binary `objectSid` form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + 4 * self.sub_authorities.len());
        out.push(self.revision);
        // At most 15 sub-authorities (checked on construction).
        out.push(self.sub_authorities.len() as u8);
        out.extend_from_slice(&self.authority.to_be_bytes()[2..]);
        for s in &self.sub_authorities {
            out.extend_from_slice(&s.to_le_bytes());
        }
        out
    }

    /// The revision (1 for every SID Windows issues).
    pub fn revision(&self) -> u8 {
        self.revision
    }

    /// The 48-bit identifier authority (5 for NT authority).
    pub fn authority(&self) -> u64 {
        self.authority
    }

    /// The sub-authorities, in order.
    pub fn sub_authorities(&self) -> &[u32] {
        &self.sub_authorities
    }

    /// The SID without its last sub-authority (None when it has none).
    pub fn domain(&self) -> Option<Sid> {
        let (_, head) = self.sub_authorities.split_last()?;
        Some(Sid {
            revision: self.revision,
            authority: self.authority,
            sub_authorities: head.to_vec(),
        })
    }

    /// The last sub-authority (the relative identifier of an account in its domain).
    pub fn rid(&self) -> Option<u32> {
        self.sub_authorities.last().copied()
    }

    /// This SID with `rid` appended (a domain SID plus a RID gives an account SID); a SID
    /// that already has 15 sub-authorities gets its last one replaced instead.
    pub fn with_rid(&self, rid: u32) -> Sid {
        let mut sub_authorities = self.sub_authorities.clone();
        if sub_authorities.len() == MAX_SUB_AUTHORITIES {
            sub_authorities.pop();
        }
        sub_authorities.push(rid);
        Sid {
            revision: self.revision,
            authority: self.authority,
            sub_authorities,
        }
    }

    /// The binary form escaped byte by byte (`\01\05…`), for `(objectSid=…)` filters.
    pub fn ldap_filter_value(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        for b in self.to_bytes() {
            let _ = write!(out, "\\{b:02x}");
        }
        out
    }

    /// Whether this is a domain SID SSSD maps: `S-1-5-21-` and exactly three more
    /// sub-authorities.
    pub fn is_domain_sid(&self) -> bool {
        self.revision == 1
            && self.authority == 5
            && self.sub_authorities.len() == 4
            && self.sub_authorities[0] == 21
    }
}

/// A run of ASCII digits as a number (no sign, no spaces, not empty).
fn decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S-{}-", self.revision)?;
        if self.authority <= u64::from(u32::MAX) {
            write!(f, "{}", self.authority)?;
        } else {
            write!(f, "0x{:012X}", self.authority)?;
        }
        for s in &self.sub_authorities {
            write!(f, "-{s}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Sid {
    type Err = IdmapError;

    fn from_str(s: &str) -> Result<Sid, IdmapError> {
        Sid::parse(s)
    }
}
