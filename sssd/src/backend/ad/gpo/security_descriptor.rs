//! A GPO's `nTSecurityDescriptor` (self-relative, as read with the SD flags control asking
//! for the DACL) and security filtering: whether the GPO applies to a client, by SSSD's
//! reading of [MS-ADTS] 5.1.3.3: read-property access must be granted by plain ACEs and the
//! "Apply Group Policy" extended right by an object ACE, the first matching object ACE
//! deciding.

use thiserror::Error;

use crate::backend::ldap::idmap::Sid;

/// `SE_DACL_PRESENT` in the descriptor's control field.
const DACL_PRESENT: u16 = 0x0004;
/// ACE flag: applies only to children, not to the object.
const INHERIT_ONLY: u8 = 0x08;
const ACCESS_ALLOWED: u8 = 0;
const ACCESS_DENIED: u8 = 1;
const ACCESS_ALLOWED_OBJECT: u8 = 5;
const ACCESS_DENIED_OBJECT: u8 = 6;
/// `RIGHT_DS_CONTROL_ACCESS`.
const CONTROL_ACCESS: u32 = 0x100;
/// `RIGHT_DS_READ_PROPERTY`.
const READ_PROPERTY: u32 = 0x10;
/// Object ACE flag: the object type GUID is present.
const OBJECT_TYPE_PRESENT: u32 = 1;
/// Object ACE flag: the inherited object type GUID is present.
const INHERITED_OBJECT_TYPE_PRESENT: u32 = 2;
/// The "Apply Group Policy" extended right, edacfd8f-ffb3-11d1-b41d-00a0c968f939, as stored.
pub const APPLY_GROUP_POLICY: [u8; 16] = [
    0x8f, 0xfd, 0xac, 0xed, 0xb3, 0xff, 0xd1, 0x11, 0xb4, 0x1d, 0x00, 0xa0, 0xc9, 0x68, 0xf9, 0x39,
];

/// Why a security descriptor could not be read.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SdError {
    /// The bytes end before a structure they announce.
    #[error("security descriptor truncated: {0}")]
    Truncated(&'static str),
    /// A field holds an impossible value.
    #[error("malformed security descriptor: {0}")]
    Malformed(String),
}

/// One access control entry of the DACL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ace {
    /// ACE type (0 allowed, 1 denied, 5 allowed object, 6 denied object, ...).
    pub ace_type: u8,
    /// ACE flags.
    pub flags: u8,
    /// Access mask.
    pub mask: u32,
    /// The object type GUID of an object ACE, as stored.
    pub object_type: Option<[u8; 16]>,
    /// The trustee; `None` for ACE types whose layout is not known here (never matching).
    pub trustee: Option<Sid>,
}

/// The parts of a security descriptor security filtering reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityDescriptor {
    /// The control flags.
    pub control: u16,
    /// The DACL's ACEs when the descriptor has one (`SE_DACL_PRESENT` and an offset).
    pub dacl: Option<Vec<Ace>>,
}

fn slice<'a>(b: &'a [u8], at: usize, n: usize, what: &'static str) -> Result<&'a [u8], SdError> {
    at.checked_add(n)
        .and_then(|end| b.get(at..end))
        .ok_or(SdError::Truncated(what))
}

fn u16_at(b: &[u8], at: usize, what: &'static str) -> Result<u16, SdError> {
    let s = slice(b, at, 2, what)?;
    Ok(u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], at: usize, what: &'static str) -> Result<u32, SdError> {
    let s = slice(b, at, 4, what)?;
    Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn sid_at(b: &[u8], at: usize) -> Result<Sid, SdError> {
    let count = *slice(b, at, 8, "SID header")?
        .get(1)
        .ok_or(SdError::Truncated("SID header"))?;
    let raw = slice(b, at, 8 + usize::from(count) * 4, "SID")?;
    Sid::from_bytes(raw).map_err(|e| SdError::Malformed(e.to_string()))
}

/// Parses a self-relative security descriptor.
pub fn parse(b: &[u8]) -> Result<SecurityDescriptor, SdError> {
    let header = slice(b, 0, 20, "header")?;
    if header[0] != 1 {
        return Err(SdError::Malformed(format!("revision {}", header[0])));
    }
    let control = u16_at(b, 2, "header")?;
    let dacl_offset = u32_at(b, 16, "header")?;
    if control & DACL_PRESENT == 0 || dacl_offset == 0 {
        return Ok(SecurityDescriptor {
            control,
            dacl: None,
        });
    }
    let at = usize::try_from(dacl_offset).map_err(|e| SdError::Malformed(e.to_string()))?;
    let acl = slice(b, at, 8, "ACL header")?;
    let size = usize::from(u16::from_le_bytes([acl[2], acl[3]]));
    let count = u16::from_le_bytes([acl[4], acl[5]]);
    let acl = slice(b, at, size, "ACL")?;
    let mut aces = Vec::with_capacity(usize::from(count));
    let mut pos = 8;
    for _ in 0..count {
        let ace_type = *slice(acl, pos, 4, "ACE header")?
            .first()
            .ok_or(SdError::Truncated("ACE header"))?;
        let flags = slice(acl, pos + 1, 1, "ACE header")?[0];
        let ace_size = usize::from(u16_at(acl, pos + 2, "ACE header")?);
        if ace_size < 8 {
            return Err(SdError::Malformed(format!("ACE of {ace_size} bytes")));
        }
        let ace = slice(acl, pos, ace_size, "ACE")?;
        aces.push(parse_ace(ace_type, flags, ace)?);
        pos += ace_size;
    }
    Ok(SecurityDescriptor {
        control,
        dacl: Some(aces),
    })
}

fn parse_ace(ace_type: u8, flags: u8, ace: &[u8]) -> Result<Ace, SdError> {
    let mask = u32_at(ace, 4, "ACE mask")?;
    let (object_type, trustee) = match ace_type {
        ACCESS_ALLOWED | ACCESS_DENIED | 2 | 3 => (None, Some(sid_at(ace, 8)?)),
        ACCESS_ALLOWED_OBJECT | ACCESS_DENIED_OBJECT | 7 | 8 => {
            let oflags = u32_at(ace, 8, "object ACE flags")?;
            let mut at = 12;
            let mut object_type = None;
            if oflags & OBJECT_TYPE_PRESENT != 0 {
                let g = slice(ace, at, 16, "object type")?;
                let mut guid = [0u8; 16];
                guid.copy_from_slice(g);
                object_type = Some(guid);
                at += 16;
            }
            if oflags & INHERITED_OBJECT_TYPE_PRESENT != 0 {
                slice(ace, at, 16, "inherited object type")?;
                at += 16;
            }
            (object_type, Some(sid_at(ace, at)?))
        }
        _ => (None, None),
    };
    Ok(Ace {
        ace_type,
        flags,
        mask,
        object_type,
        trustee,
    })
}

/// Whether a GPO with descriptor `sd` applies to a client holding `sids` (the user, its
/// groups, the computer and Authenticated Users): no DACL grants; an empty DACL denies;
/// otherwise plain ACEs must grant read-property and the first object ACE about the
/// "Apply Group Policy" right (or all extended rights) decides.
pub fn applies(sd: &SecurityDescriptor, sids: &[Sid]) -> bool {
    let Some(aces) = &sd.dacl else {
        return true;
    };
    let matches = |a: &Ace| {
        a.flags & INHERIT_ONLY == 0 && a.trustee.as_ref().is_some_and(|t| sids.contains(t))
    };
    let (mut granted, mut denied) = (0u32, 0u32);
    for a in aces.iter().filter(|a| matches(a)) {
        match a.ace_type {
            ACCESS_DENIED => denied |= a.mask & !granted,
            ACCESS_ALLOWED => granted |= a.mask & !denied,
            _ => {}
        }
    }
    for a in aces.iter().filter(|a| matches(a)) {
        if a.mask & CONTROL_ACCESS == 0 {
            continue;
        }
        if a.object_type.is_some_and(|g| g != APPLY_GROUP_POLICY) {
            continue;
        }
        let verdict = match a.ace_type {
            ACCESS_ALLOWED_OBJECT => true,
            ACCESS_DENIED_OBJECT => false,
            _ => continue,
        };
        if granted & READ_PROPERTY != 0 {
            return verdict;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sid(s: &str) -> Sid {
        Sid::parse(s).unwrap()
    }

    fn ace(t: u8, flags: u8, mask: u32, object: Option<[u8; 16]>, who: &str) -> Vec<u8> {
        let mut body = mask.to_le_bytes().to_vec();
        if t == ACCESS_ALLOWED_OBJECT || t == ACCESS_DENIED_OBJECT {
            body.extend_from_slice(&u32::from(object.is_some()).to_le_bytes());
            if let Some(g) = object {
                body.extend_from_slice(&g);
            }
        }
        body.extend_from_slice(&sid(who).to_bytes());
        let mut a = vec![t, flags];
        a.extend_from_slice(&u16::try_from(body.len() + 4).unwrap().to_le_bytes());
        a.extend_from_slice(&body);
        a
    }

    fn sd(aces: &[Vec<u8>]) -> Vec<u8> {
        let mut acl_body: Vec<u8> = aces.concat();
        let mut acl = vec![4, 0];
        acl.extend_from_slice(&u16::try_from(acl_body.len() + 8).unwrap().to_le_bytes());
        acl.extend_from_slice(&u16::try_from(aces.len()).unwrap().to_le_bytes());
        acl.extend_from_slice(&[0, 0]);
        acl.append(&mut acl_body);
        let mut out = vec![1, 0];
        out.extend_from_slice(&(DACL_PRESENT | 0x8000).to_le_bytes());
        out.extend_from_slice(&[0; 12]);
        out.extend_from_slice(&20u32.to_le_bytes());
        out.extend_from_slice(&acl);
        out
    }

    const AU: &str = "S-1-5-11";
    const HOST: &str = "S-1-5-21-1-2-3-1105";
    const USER: &str = "S-1-5-21-1-2-3-1106";

    #[test]
    fn default_gpo_acl_applies_to_authenticated_users() {
        let b = sd(&[
            ace(ACCESS_ALLOWED, 0, 0x20094, None, AU),
            ace(
                ACCESS_ALLOWED_OBJECT,
                0,
                CONTROL_ACCESS,
                Some(APPLY_GROUP_POLICY),
                AU,
            ),
        ]);
        let d = parse(&b).unwrap();
        assert!(applies(&d, &[sid(USER), sid(HOST), sid(AU)]));
        // Not for a client without Authenticated Users.
        assert!(!applies(&d, &[sid(USER)]));
    }

    #[test]
    fn deny_object_ace_and_filters() {
        let b = sd(&[
            ace(ACCESS_ALLOWED, 0, 0x20094, None, AU),
            ace(
                ACCESS_DENIED_OBJECT,
                0,
                CONTROL_ACCESS,
                Some(APPLY_GROUP_POLICY),
                USER,
            ),
            ace(
                ACCESS_ALLOWED_OBJECT,
                0,
                CONTROL_ACCESS,
                Some(APPLY_GROUP_POLICY),
                AU,
            ),
        ]);
        let d = parse(&b).unwrap();
        assert!(!applies(&d, &[sid(USER), sid(AU)]));
        assert!(applies(&d, &[sid(HOST), sid(AU)]));
        // Inherit-only and other extended rights are skipped; an empty DACL denies.
        let b = sd(&[
            ace(ACCESS_ALLOWED, 0, 0x10, None, AU),
            ace(
                ACCESS_ALLOWED_OBJECT,
                INHERIT_ONLY,
                CONTROL_ACCESS,
                None,
                AU,
            ),
            ace(ACCESS_ALLOWED_OBJECT, 0, CONTROL_ACCESS, Some([1; 16]), AU),
        ]);
        assert!(!applies(&parse(&b).unwrap(), &[sid(AU)]));
        assert!(!applies(&parse(&sd(&[])).unwrap(), &[sid(AU)]));
        // No DACL: applies.
        let mut no_dacl = sd(&[]);
        no_dacl[2] = 0;
        assert!(applies(&parse(&no_dacl).unwrap(), &[]));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let b = sd(&[ace(ACCESS_ALLOWED, 0, 0x10, None, AU)]);
        for n in 0..b.len() {
            let _ = parse(&b[..n]);
        }
        assert!(parse(&b[..b.len() - 3]).is_err());
        assert!(parse(&[2; 20]).is_err());
    }
}
