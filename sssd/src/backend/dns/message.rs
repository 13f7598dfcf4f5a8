//! DNS messages (RFC 1035): the query we send and the parts of a reply we read (the header
//! and the SRV records of the answer section, RFC 2782).

use thiserror::Error;

/// Record type SRV.
pub const TYPE_SRV: u16 = 33;
const CLASS_IN: u16 = 1;
const HEADER_LEN: usize = 12;
/// Longest name on the wire (RFC 1035 2.3.4).
const MAX_NAME: usize = 255;
/// Compression pointers followed in one name before it is called a loop.
const MAX_POINTERS: usize = 32;

/// Why a reply could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MessageError {
    /// The name cannot be asked for (empty label, label over 63 bytes, name over 255).
    #[error("{0:?} is not a valid DNS name")]
    BadName(String),
    /// The reply ends before a field it announces.
    #[error("DNS reply truncated at byte {0}")]
    Short(usize),
    /// The reply is not an answer to our query (id, QR bit, question count).
    #[error("DNS reply does not answer our query")]
    NotOurs,
    /// A name in the reply is malformed (pointer loop, bad label, too long).
    #[error("DNS reply holds a malformed name at byte {0}")]
    BadReplyName(usize),
}

/// A service location record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Srv {
    /// Lower is preferred.
    pub priority: u16,
    /// Relative share among records of the same priority.
    pub weight: u16,
    /// TCP or UDP port.
    pub port: u16,
    /// The host name, without the trailing dot (`""` for the root: "no such service").
    pub target: String,
    /// Seconds the record may be kept.
    pub ttl: u32,
}

/// What a reply says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// RCODE (0 no error, 3 NXDOMAIN, ...).
    pub rcode: u8,
    /// TC: the reply did not fit in UDP; ask again over TCP.
    pub truncated: bool,
    /// The SRV records of the answer section.
    pub srv: Vec<Srv>,
}

/// A recursive query for `name` of type `qtype`, class IN, with id `id`.
pub fn encode_query(id: u16, name: &str, qtype: u16) -> Result<Vec<u8>, MessageError> {
    let bad = || MessageError::BadName(name.to_string());
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    let mut out = Vec::with_capacity(HEADER_LEN + trimmed.len() + 6);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&0x0100u16.to_be_bytes()); // RD
    out.extend_from_slice(&1u16.to_be_bytes()); // QDCOUNT
    out.extend_from_slice(&[0; 6]); // AN, NS, AR counts
    if trimmed.is_empty() {
        return Err(bad());
    }
    for label in trimmed.split('.') {
        let len = u8::try_from(label.len()).map_err(|_| bad())?;
        if len == 0 || len > 63 {
            return Err(bad());
        }
        out.push(len);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    if out.len() - HEADER_LEN > MAX_NAME {
        return Err(bad());
    }
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
    Ok(out)
}

fn u16_at(m: &[u8], at: usize) -> Result<u16, MessageError> {
    m.get(at..at + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .ok_or(MessageError::Short(at))
}

fn u32_at(m: &[u8], at: usize) -> Result<u32, MessageError> {
    m.get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or(MessageError::Short(at))
}

/// Reads the name at `start`; returns it (dotted, lowercase kept as sent) and the offset just
/// past it in the record (not past the target of a compression pointer).
fn read_name(m: &[u8], start: usize) -> Result<(String, usize), MessageError> {
    let mut name = String::new();
    let mut at = start;
    let mut end = None;
    let mut pointers = 0;
    loop {
        let len = *m.get(at).ok_or(MessageError::Short(at))?;
        match len & 0xC0 {
            0x00 if len == 0 => {
                return Ok((name, end.unwrap_or(at + 1)));
            }
            0x00 => {
                let label = m
                    .get(at + 1..at + 1 + usize::from(len))
                    .ok_or(MessageError::Short(at))?;
                if !name.is_empty() {
                    name.push('.');
                }
                // Host names are ASCII; anything else is kept visible but harmless.
                name.extend(label.iter().map(|&b| {
                    if b.is_ascii_graphic() && b != b'.' {
                        char::from(b)
                    } else {
                        '?'
                    }
                }));
                if name.len() > MAX_NAME {
                    return Err(MessageError::BadReplyName(start));
                }
                at += 1 + usize::from(len);
            }
            0xC0 => {
                let low = *m.get(at + 1).ok_or(MessageError::Short(at + 1))?;
                pointers += 1;
                if pointers > MAX_POINTERS {
                    return Err(MessageError::BadReplyName(start));
                }
                end.get_or_insert(at + 2);
                at = usize::from(u16::from_be_bytes([len & 0x3F, low]));
            }
            _ => return Err(MessageError::BadReplyName(at)),
        }
    }
}

/// Reads the reply `m` to the query with id `id`: its status and the SRV records of the
/// answer section (other records are skipped).
pub fn decode_reply(m: &[u8], id: u16) -> Result<Reply, MessageError> {
    if m.len() < HEADER_LEN {
        return Err(MessageError::Short(m.len()));
    }
    let flags = u16_at(m, 2)?;
    if u16_at(m, 0)? != id || flags & 0x8000 == 0 {
        return Err(MessageError::NotOurs);
    }
    let truncated = flags & 0x0200 != 0;
    let rcode = (flags & 0x000F) as u8;
    let qd = u16_at(m, 4)?;
    let an = u16_at(m, 6)?;
    let mut at = HEADER_LEN;
    for _ in 0..qd {
        at = read_name(m, at)?.1 + 4;
    }
    let mut srv = Vec::new();
    for _ in 0..an {
        if truncated && at >= m.len() {
            break;
        }
        let (_, after) = read_name(m, at)?;
        let rtype = u16_at(m, after)?;
        let ttl = u32_at(m, after + 4)?;
        let rdlen = usize::from(u16_at(m, after + 8)?);
        let rdata = after + 10;
        if m.len() < rdata + rdlen {
            return Err(MessageError::Short(rdata));
        }
        if rtype == TYPE_SRV && rdlen >= 7 {
            let (target, _) = read_name(m, rdata + 6)?;
            srv.push(Srv {
                priority: u16_at(m, rdata)?,
                weight: u16_at(m, rdata + 2)?,
                port: u16_at(m, rdata + 4)?,
                target,
                ttl,
            });
        }
        at = rdata + rdlen;
    }
    Ok(Reply {
        rcode,
        truncated,
        srv,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reply to `query` with the given SRV answers (target names compressed against the
    /// question where `compress`).
    fn reply(query: &[u8], answers: &[(u16, u16, u16, &str)], compress: bool) -> Vec<u8> {
        let mut m = query.to_vec();
        m[2] |= 0x80;
        m[6..8].copy_from_slice(&(answers.len() as u16).to_be_bytes());
        for &(p, w, port, target) in answers {
            m.extend_from_slice(&[0xC0, 12]); // owner: the question's name
            m.extend_from_slice(&TYPE_SRV.to_be_bytes());
            m.extend_from_slice(&CLASS_IN.to_be_bytes());
            m.extend_from_slice(&300u32.to_be_bytes());
            let mut rdata = Vec::new();
            rdata.extend_from_slice(&p.to_be_bytes());
            rdata.extend_from_slice(&w.to_be_bytes());
            rdata.extend_from_slice(&port.to_be_bytes());
            if compress {
                let host = target.split('.').next().unwrap();
                rdata.push(host.len() as u8);
                rdata.extend_from_slice(host.as_bytes());
                // "_ldap._tcp." is 6 + 5 bytes into the question name at 12.
                rdata.extend_from_slice(&[0xC0, 12 + 11]);
            } else {
                for l in target.split('.') {
                    rdata.push(l.len() as u8);
                    rdata.extend_from_slice(l.as_bytes());
                }
                rdata.push(0);
            }
            m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            m.extend_from_slice(&rdata);
        }
        m
    }

    #[test]
    fn query_layout() {
        let q = encode_query(0x1234, "_ldap._tcp.example.test.", TYPE_SRV).unwrap();
        assert_eq!(&q[..4], &[0x12, 0x34, 0x01, 0x00]);
        assert_eq!(&q[12..18], b"\x05_ldap");
        assert_eq!(&q[q.len() - 5..], &[0, 0, 33, 0, 1]);
        for bad in ["", ".", "a..b", &"x".repeat(64), &"abc.".repeat(70)] {
            assert!(encode_query(1, bad, TYPE_SRV).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn reads_srv_answers_plain_and_compressed() {
        let q = encode_query(7, "_ldap._tcp.example.test", TYPE_SRV).unwrap();
        for compress in [false, true] {
            let m = reply(
                &q,
                &[
                    (10, 60, 389, "ldap1.example.test"),
                    (20, 0, 3890, "ldap2.example.test"),
                ],
                compress,
            );
            let r = decode_reply(&m, 7).unwrap();
            assert_eq!((r.rcode, r.truncated), (0, false));
            assert_eq!(r.srv.len(), 2);
            assert_eq!(r.srv[0].target, "ldap1.example.test");
            assert_eq!(
                (r.srv[0].priority, r.srv[0].weight, r.srv[0].port),
                (10, 60, 389)
            );
            assert_eq!((r.srv[1].port, r.srv[1].ttl), (3890, 300));
        }
        assert_eq!(
            decode_reply(&reply(&q, &[], false), 8),
            Err(MessageError::NotOurs)
        );
    }

    #[test]
    fn garbage_is_an_error_never_a_panic_or_a_loop() {
        let q = encode_query(7, "_ldap._tcp.example.test", TYPE_SRV).unwrap();
        let good = reply(&q, &[(1, 1, 389, "a.example.test")], false);
        for cut in 0..good.len() {
            let _ = decode_reply(&good[..cut], 7);
        }
        // A pointer to itself in the answer's owner name.
        let mut looped = reply(&q, &[(1, 1, 389, "a.example.test")], false);
        let owner = q.len();
        looped[owner..owner + 2].copy_from_slice(&[0xC0, owner as u8]);
        assert!(matches!(
            decode_reply(&looped, 7),
            Err(MessageError::BadReplyName(_))
        ));
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..20_000 {
            let mut m = good.clone();
            for _ in 0..4 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let i = (state as usize) % m.len();
                m[i] = (state >> 32) as u8;
            }
            let _ = decode_reply(&m, 7);
        }
    }
}
