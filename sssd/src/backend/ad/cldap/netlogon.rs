//! NETLOGON_SAM_LOGON_RESPONSE_EX (MS-ADTS 6.3.1.9): the value of the `NetLogon` attribute
//! a DC returns to a CLDAP ping. Names in it are DNS-compressed (RFC 1035 4.1.4) with
//! pointers counted from the start of the structure.

/// `LOGON_SAM_LOGON_RESPONSE_EX`.
pub const OPCODE_RESPONSE_EX: u16 = 23;
/// `LOGON_SAM_USER_UNKNOWN_EX` (the same layout; the user named was not found).
pub const OPCODE_USER_UNKNOWN_EX: u16 = 25;
/// `NETLOGON_NT_VERSION_5EX`: the response is the `_EX` structure.
pub const NT_VERSION_5EX: u32 = 0x0000_0004;
/// `NETLOGON_NT_VERSION_5EX_WITH_IP`: the DC's socket address is included.
pub const NT_VERSION_5EX_WITH_IP: u32 = 0x0000_0008;
/// `NETLOGON_NT_VERSION_WITH_CLOSEST_SITE`: the next closest site is included.
pub const NT_VERSION_WITH_CLOSEST_SITE: u32 = 0x0000_0010;

/// Longest decoded name (RFC 1035 2.3.4).
const MAX_NAME: usize = 255;
/// Compression pointers followed in one name before it is called hostile.
const MAX_POINTERS: usize = 16;
/// Opcode, Sbz, Flags, DomainGuid.
const FIXED_HEAD: usize = 2 + 2 + 4 + 16;
/// NtVersion, LmNtToken, Lm20Token.
const FIXED_TAIL: usize = 4 + 2 + 2;

/// Every field of the response the locator uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// `Opcode`.
    pub opcode: u16,
    /// `Flags` (`DS_*_FLAG`).
    pub flags: u32,
    /// `DomainGuid`, as on the wire.
    pub domain_guid: [u8; 16],
    /// `DnsForestName`.
    pub forest: String,
    /// `DnsDomainName`.
    pub domain: String,
    /// `DnsHostName`.
    pub dc_host: String,
    /// `NetbiosDomainName`.
    pub netbios_domain: String,
    /// `NetbiosComputerName`.
    pub netbios_host: String,
    /// `UserName`.
    pub user: String,
    /// `DcSiteName`.
    pub dc_site: String,
    /// `ClientSiteName`.
    pub client_site: String,
    /// `NextClosestSiteName` (empty when absent).
    pub next_closest_site: String,
    /// `NtVersion` of the response.
    pub nt_version: u32,
}

/// Why a NETLOGON response could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetlogonError {
    /// Shorter than its fixed fields, or a field runs past the end.
    #[error("NETLOGON response truncated at byte {0}")]
    Truncated(usize),
    /// Not a `_EX` response.
    #[error("unexpected NETLOGON opcode {0}")]
    Opcode(u16),
    /// `NtVersion` lacks `NETLOGON_NT_VERSION_5EX`.
    #[error("NETLOGON response version {0:#x} lacks NETLOGON_NT_VERSION_5EX")]
    Version(u32),
    /// A malformed name (bad label, forward or looping pointer, too long, not UTF-8).
    #[error("malformed name in NETLOGON response at byte {0}")]
    BadName(usize),
}

fn u16_at(b: &[u8], at: usize) -> Result<u16, NetlogonError> {
    b.get(at..at + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or(NetlogonError::Truncated(at))
}

fn u32_at(b: &[u8], at: usize) -> Result<u32, NetlogonError> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or(NetlogonError::Truncated(at))
}

/// Reads the compressed name at `*pos` of `msg` (ending before `end`) and moves `*pos` past
/// it. Pointers may only point backwards, at most [`MAX_POINTERS`] of them.
fn name(msg: &[u8], pos: &mut usize, end: usize) -> Result<String, NetlogonError> {
    let start = *pos;
    let bad = || NetlogonError::BadName(start);
    let mut at = *pos;
    let mut resume = None;
    let mut hops = 0;
    let mut out = Vec::new();
    loop {
        if at >= end {
            return Err(NetlogonError::Truncated(at));
        }
        let len = msg[at];
        match len & 0xc0 {
            0x00 if len == 0 => {
                at += 1;
                break;
            }
            0x00 => {
                let label = msg
                    .get(at + 1..at + 1 + usize::from(len))
                    .filter(|_| at + 1 + usize::from(len) <= end)
                    .ok_or(NetlogonError::Truncated(at))?;
                if !out.is_empty() {
                    out.push(b'.');
                }
                out.extend_from_slice(label);
                if out.len() > MAX_NAME {
                    return Err(bad());
                }
                at += 1 + usize::from(len);
            }
            0xc0 => {
                let low = *msg
                    .get(at + 1)
                    .filter(|_| at + 1 < end)
                    .ok_or(NetlogonError::Truncated(at))?;
                let target = usize::from(len & 0x3f) << 8 | usize::from(low);
                hops += 1;
                if target >= at || hops > MAX_POINTERS {
                    return Err(bad());
                }
                resume.get_or_insert(at + 2);
                at = target;
            }
            _ => return Err(bad()),
        }
    }
    *pos = resume.unwrap_or(at);
    String::from_utf8(out).map_err(|_| bad())
}

/// Decodes the `NetLogon` attribute value of a CLDAP ping reply.
pub fn decode(msg: &[u8]) -> Result<Response, NetlogonError> {
    if msg.len() < FIXED_HEAD + FIXED_TAIL {
        return Err(NetlogonError::Truncated(msg.len()));
    }
    let opcode = u16_at(msg, 0)?;
    if opcode != OPCODE_RESPONSE_EX && opcode != OPCODE_USER_UNKNOWN_EX {
        return Err(NetlogonError::Opcode(opcode));
    }
    let flags = u32_at(msg, 4)?;
    let mut domain_guid = [0u8; 16];
    domain_guid.copy_from_slice(&msg[8..FIXED_HEAD]);
    // As Samba reads it: NtVersion sits in the fixed tail and says which optional fields
    // come after the client site.
    let end = msg.len() - FIXED_TAIL;
    let nt_version = u32_at(msg, end)?;
    if nt_version & NT_VERSION_5EX == 0 {
        return Err(NetlogonError::Version(nt_version));
    }
    let mut pos = FIXED_HEAD;
    let mut next = || name(msg, &mut pos, end);
    let forest = next()?;
    let domain = next()?;
    let dc_host = next()?;
    let netbios_domain = next()?;
    let netbios_host = next()?;
    let user = next()?;
    let dc_site = next()?;
    let client_site = next()?;
    if nt_version & NT_VERSION_5EX_WITH_IP != 0 {
        let size = usize::from(
            *msg.get(pos)
                .filter(|_| pos < end)
                .ok_or(NetlogonError::Truncated(pos))?,
        );
        if pos + 1 + size > end {
            return Err(NetlogonError::Truncated(pos));
        }
        pos += 1 + size;
    }
    let next_closest_site = if nt_version & NT_VERSION_WITH_CLOSEST_SITE != 0 && pos < end {
        name(msg, &mut pos, end)?
    } else {
        String::new()
    };
    Ok(Response {
        opcode,
        flags,
        domain_guid,
        forest,
        domain,
        dc_host,
        netbios_domain,
        netbios_host,
        user,
        dc_site,
        client_site,
        next_closest_site,
        nt_version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response with the given raw name section and NtVersion.
    fn build(names: &[u8], nt_version: u32) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&OPCODE_RESPONSE_EX.to_le_bytes());
        m.extend_from_slice(&0u16.to_le_bytes());
        m.extend_from_slice(&0x3f1fdu32.to_le_bytes());
        m.extend_from_slice(&[0xab; 16]);
        m.extend_from_slice(names);
        m.extend_from_slice(&nt_version.to_le_bytes());
        m.extend_from_slice(&[0xff; 4]);
        m
    }

    fn label(s: &str) -> Vec<u8> {
        let mut v = Vec::new();
        for l in s.split('.').filter(|l| !l.is_empty()) {
            v.push(l.len() as u8);
            v.extend_from_slice(l.as_bytes());
        }
        v.push(0);
        v
    }

    #[test]
    fn plain_and_compressed_names() {
        // forest at 24; domain points at it; host = "dc1" + pointer to 24.
        let mut names = label("corp.example.com");
        names.extend_from_slice(&[0xc0, 24]);
        names.extend_from_slice(&[3, b'd', b'c', b'1', 0xc0, 24]);
        for s in ["CORP", "DC1", "", "Default-First-Site-Name"] {
            names.extend(label(s));
        }
        // The client site points at the DC site (24 + 18 + 2 + 6 + 6 + 5 + 1).
        names.extend_from_slice(&[0xc0, 62]);
        let r = decode(&build(&names, 0x15)).unwrap();
        assert_eq!(r.forest, "corp.example.com");
        assert_eq!(r.domain, "corp.example.com");
        assert_eq!(r.dc_host, "dc1.corp.example.com");
        assert_eq!(r.netbios_domain, "CORP");
        assert_eq!(r.netbios_host, "DC1");
        assert_eq!(r.user, "");
        assert_eq!(r.dc_site, "Default-First-Site-Name");
        assert_eq!(r.client_site, "Default-First-Site-Name");
        assert_eq!(r.next_closest_site, "");
        assert_eq!(r.flags, 0x3f1fd);
    }

    #[test]
    fn hostile_names_are_refused() {
        // A pointer to itself, a forward pointer, a two-pointer loop.
        assert_eq!(
            decode(&build(&[0xc0, 24], 4)),
            Err(NetlogonError::BadName(24))
        );
        assert_eq!(
            decode(&build(&[0xc0, 30, 0, 0, 0, 0, 0, 0, 0, 0], 4)),
            Err(NetlogonError::BadName(24))
        );
        // A chain of backward pointers longer than the limit.
        let mut chain = vec![0u8];
        for i in 0..(MAX_POINTERS + 1) {
            let target = if i == 0 { 0 } else { 1 + 2 * (i - 1) };
            chain.extend_from_slice(&[0xc0, target as u8]);
        }
        let mut pos = chain.len() - 2;
        let end = chain.len();
        assert!(matches!(
            name(&chain, &mut pos, end),
            Err(NetlogonError::BadName(_))
        ));
        let mut pos = chain.len() - 4;
        assert_eq!(name(&chain, &mut pos, end), Ok(String::new()));
        assert_eq!(pos, chain.len() - 2);
        // Reserved label types 0x40 and 0x80.
        assert_eq!(
            decode(&build(&[0x41, b'a', 0], 4)),
            Err(NetlogonError::BadName(24))
        );
        assert_eq!(
            decode(&build(&[0x81, b'a', 0], 4)),
            Err(NetlogonError::BadName(24))
        );
        // A label running into the fixed tail, a name with no terminator.
        assert!(matches!(
            decode(&build(&[63, b'a'], 4)),
            Err(NetlogonError::Truncated(_))
        ));
        assert!(matches!(
            decode(&build(&[1, b'a'], 4)),
            Err(NetlogonError::Truncated(_))
        ));
        // Longer than 255 bytes through pointers back to a long name.
        let mut long = Vec::new();
        for _ in 0..5 {
            long.push(60);
            long.extend_from_slice(&[b'x'; 60]);
        }
        long.push(0);
        assert!(matches!(
            decode(&build(&long, 4)),
            Err(NetlogonError::BadName(_))
        ));
        // Not UTF-8.
        assert_eq!(
            decode(&build(&[2, 0xff, 0xfe, 0], 4)),
            Err(NetlogonError::BadName(24))
        );
    }

    #[test]
    fn short_or_foreign_structures_are_refused() {
        assert_eq!(decode(&[]), Err(NetlogonError::Truncated(0)));
        assert_eq!(decode(&[0u8; 31]), Err(NetlogonError::Truncated(31)));
        let mut m = build(&[0; 8], 4);
        m[0] = 19;
        assert_eq!(decode(&m), Err(NetlogonError::Opcode(19)));
        assert_eq!(decode(&build(&[0; 8], 1)), Err(NetlogonError::Version(1)));
        // WITH_IP announcing a socket address longer than what is left.
        let mut names = vec![0; 8];
        names.push(200);
        assert!(matches!(
            decode(&build(&names, 0xc)),
            Err(NetlogonError::Truncated(_))
        ));
        // Every truncation of a good response fails cleanly.
        let good = build(&[0; 8], 4);
        assert!(decode(&good).is_ok());
        for n in 0..good.len() {
            let _ = decode(&good[..n]);
        }
    }
}
