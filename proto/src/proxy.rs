//! The framing between the backend of a proxy domain and its helper `proxy_child`.
//!
//! An internal interface (both ends ship together). Every message is a frame: a host-endian
//! `u32` body length, then the body. Bodies use host-endian `u32` fields and NUL-terminated
//! UTF-8 strings. In NSS mode the helper first sends a [`NssReply::Ready`] (or
//! [`NssReply::Unavail`] when the module cannot be loaded), then answers one
//! [`NssRequest`] per frame, in order. In PAM mode it reads one [`PamRequest`] and writes
//! one [`PamReply`]. Decoders are total: malformed input is an error, never a panic, and
//! counts are bounded by the bytes present.

use zeroize::Zeroizing;

use crate::ProtoError;
use crate::wire::{Reader, put_cstr, put_u32};

/// Largest frame body either side accepts (an enumeration of a large module fits).
pub const MAX_FRAME: u32 = 64 * 1024 * 1024;

/// Largest NSS request body (a name and an id).
pub const MAX_REQUEST: u32 = 64 * 1024;

/// The body length a frame header announces, when acceptable (at most `max`).
pub fn frame_len(header: [u8; 4], max: u32) -> Result<usize, ProtoError> {
    let n = u32::from_ne_bytes(header);
    if n > max {
        return Err(ProtoError::BadLength(n));
    }
    usize::try_from(n).map_err(|_| ProtoError::BadLength(n))
}

/// `body` with its frame header in front.
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 4);
    put_u32(&mut out, u32::try_from(body.len()).unwrap_or(u32::MAX));
    out.extend_from_slice(body);
    out
}

/// One question to the NSS module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NssRequest {
    /// `getpwnam_r`.
    PwNam(String),
    /// `getpwuid_r`.
    PwUid(u32),
    /// `getgrnam_r`.
    GrNam(String),
    /// `getgrgid_r`.
    GrGid(u32),
    /// `initgroups_dyn` of a user with this primary gid.
    Initgroups(String, u32),
    /// `setpwent`, `getpwent_r` until the end, `endpwent`.
    EnumUsers,
    /// `setgrent`, `getgrent_r` until the end, `endgrent`.
    EnumGroups,
}

const OP_PWNAM: u32 = 1;
const OP_PWUID: u32 = 2;
const OP_GRNAM: u32 = 3;
const OP_GRGID: u32 = 4;
const OP_INITGR: u32 = 5;
const OP_ENUM_USERS: u32 = 6;
const OP_ENUM_GROUPS: u32 = 7;

impl NssRequest {
    /// The body bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            NssRequest::PwNam(n) => {
                put_u32(&mut out, OP_PWNAM);
                put_cstr(&mut out, n.as_bytes());
            }
            NssRequest::PwUid(id) => {
                put_u32(&mut out, OP_PWUID);
                put_u32(&mut out, *id);
            }
            NssRequest::GrNam(n) => {
                put_u32(&mut out, OP_GRNAM);
                put_cstr(&mut out, n.as_bytes());
            }
            NssRequest::GrGid(id) => {
                put_u32(&mut out, OP_GRGID);
                put_u32(&mut out, *id);
            }
            NssRequest::Initgroups(n, gid) => {
                put_u32(&mut out, OP_INITGR);
                put_cstr(&mut out, n.as_bytes());
                put_u32(&mut out, *gid);
            }
            NssRequest::EnumUsers => put_u32(&mut out, OP_ENUM_USERS),
            NssRequest::EnumGroups => put_u32(&mut out, OP_ENUM_GROUPS),
        }
        out
    }

    /// Parses a body.
    pub fn decode(body: &[u8]) -> Result<NssRequest, ProtoError> {
        let mut r = Reader::new(body);
        let name = |r: &mut Reader<'_>| -> Result<String, ProtoError> {
            let n = r.cstr()?;
            if n.is_empty() {
                return Err(ProtoError::EmptyName);
            }
            Ok(n.to_string())
        };
        let req = match r.u32()? {
            OP_PWNAM => NssRequest::PwNam(name(&mut r)?),
            OP_PWUID => NssRequest::PwUid(r.u32()?),
            OP_GRNAM => NssRequest::GrNam(name(&mut r)?),
            OP_GRGID => NssRequest::GrGid(r.u32()?),
            OP_INITGR => {
                let n = name(&mut r)?;
                NssRequest::Initgroups(n, r.u32()?)
            }
            OP_ENUM_USERS => NssRequest::EnumUsers,
            OP_ENUM_GROUPS => NssRequest::EnumGroups,
            value => {
                return Err(ProtoError::InvalidValue {
                    field: "proxy_child operation",
                    value,
                });
            }
        };
        r.finish()?;
        Ok(req)
    }
}

/// A `struct passwd` as the module returned it (the password field is not carried).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PasswdEnt {
    /// `pw_name`.
    pub name: String,
    /// `pw_uid`.
    pub uid: u32,
    /// `pw_gid`.
    pub gid: u32,
    /// `pw_gecos`.
    pub gecos: String,
    /// `pw_dir`.
    pub dir: String,
    /// `pw_shell`.
    pub shell: String,
}

/// A `struct group` as the module returned it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupEnt {
    /// `gr_name`.
    pub name: String,
    /// `gr_gid`.
    pub gid: u32,
    /// `gr_mem`.
    pub members: Vec<String>,
}

/// The answer to one [`NssRequest`] (or the helper's greeting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NssReply {
    /// The helper loaded the module and waits for requests.
    Ready,
    /// Users found (one for a lookup, any number for an enumeration).
    Users(Vec<PasswdEnt>),
    /// Groups found.
    Groups(Vec<GroupEnt>),
    /// The gids `initgroups_dyn` added.
    Gids(Vec<u32>),
    /// `NSS_STATUS_NOTFOUND`.
    NotFound,
    /// The module failed or is unusable (`NSS_STATUS_UNAVAIL`, `TRYAGAIN` that is not
    /// `ERANGE`, a missing function); the text says which.
    Unavail(String),
}

const R_READY: u32 = 0;
const R_USERS: u32 = 1;
const R_GROUPS: u32 = 2;
const R_GIDS: u32 = 3;
const R_NOTFOUND: u32 = 4;
const R_UNAVAIL: u32 = 5;

/// Smallest encoded user (five NULs and two ids).
const MIN_USER: usize = 13;
/// Smallest encoded group (a NUL, a gid, a count).
const MIN_GROUP: usize = 9;

fn text(r: &mut Reader<'_>) -> Result<String, ProtoError> {
    Ok(r.cstr()?.to_string())
}

fn count(r: &mut Reader<'_>, min_each: usize) -> Result<usize, ProtoError> {
    let n = r.u32()?;
    let n_usize = usize::try_from(n).map_err(|_| ProtoError::BadLength(n))?;
    if n_usize.saturating_mul(min_each) > r.remaining() {
        return Err(ProtoError::BadLength(n));
    }
    Ok(n_usize)
}

fn put_count(out: &mut Vec<u8>, n: usize) {
    put_u32(out, u32::try_from(n).unwrap_or(u32::MAX));
}

impl NssReply {
    /// The body bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            NssReply::Ready => put_u32(&mut out, R_READY),
            NssReply::Users(us) => {
                put_u32(&mut out, R_USERS);
                put_count(&mut out, us.len());
                for u in us {
                    put_cstr(&mut out, u.name.as_bytes());
                    put_u32(&mut out, u.uid);
                    put_u32(&mut out, u.gid);
                    put_cstr(&mut out, u.gecos.as_bytes());
                    put_cstr(&mut out, u.dir.as_bytes());
                    put_cstr(&mut out, u.shell.as_bytes());
                }
            }
            NssReply::Groups(gs) => {
                put_u32(&mut out, R_GROUPS);
                put_count(&mut out, gs.len());
                for g in gs {
                    put_cstr(&mut out, g.name.as_bytes());
                    put_u32(&mut out, g.gid);
                    put_count(&mut out, g.members.len());
                    for m in &g.members {
                        put_cstr(&mut out, m.as_bytes());
                    }
                }
            }
            NssReply::Gids(gids) => {
                put_u32(&mut out, R_GIDS);
                put_count(&mut out, gids.len());
                for g in gids {
                    put_u32(&mut out, *g);
                }
            }
            NssReply::NotFound => put_u32(&mut out, R_NOTFOUND),
            NssReply::Unavail(msg) => {
                put_u32(&mut out, R_UNAVAIL);
                put_cstr(&mut out, msg.as_bytes());
            }
        }
        out
    }

    /// Parses a body (bytes from another process: every field is checked).
    pub fn decode(body: &[u8]) -> Result<NssReply, ProtoError> {
        let mut r = Reader::new(body);
        let reply = match r.u32()? {
            R_READY => NssReply::Ready,
            R_USERS => {
                let n = count(&mut r, MIN_USER)?;
                let mut us = Vec::with_capacity(n);
                for _ in 0..n {
                    let name = text(&mut r)?;
                    let uid = r.u32()?;
                    let gid = r.u32()?;
                    us.push(PasswdEnt {
                        name,
                        uid,
                        gid,
                        gecos: text(&mut r)?,
                        dir: text(&mut r)?,
                        shell: text(&mut r)?,
                    });
                }
                NssReply::Users(us)
            }
            R_GROUPS => {
                let n = count(&mut r, MIN_GROUP)?;
                let mut gs = Vec::with_capacity(n);
                for _ in 0..n {
                    let name = text(&mut r)?;
                    let gid = r.u32()?;
                    let m = count(&mut r, 1)?;
                    let mut members = Vec::with_capacity(m);
                    for _ in 0..m {
                        members.push(text(&mut r)?);
                    }
                    gs.push(GroupEnt { name, gid, members });
                }
                NssReply::Groups(gs)
            }
            R_GIDS => {
                let n = count(&mut r, 4)?;
                let mut gids = Vec::with_capacity(n);
                for _ in 0..n {
                    gids.push(r.u32()?);
                }
                NssReply::Gids(gids)
            }
            R_NOTFOUND => NssReply::NotFound,
            R_UNAVAIL => NssReply::Unavail(text(&mut r)?),
            value => {
                return Err(ProtoError::InvalidValue {
                    field: "proxy_child reply",
                    value,
                });
            }
        };
        r.finish()?;
        Ok(reply)
    }
}

/// The PAM operation a `proxy_child` in PAM mode runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PamOp {
    /// `pam_authenticate`.
    Authenticate,
    /// `pam_acct_mgmt`.
    AcctMgmt,
    /// `pam_chauthtok` with `PAM_PRELIM_CHECK` (the old password).
    ChauthtokPrelim,
    /// `pam_chauthtok` (old and new password).
    Chauthtok,
    /// `pam_open_session`.
    OpenSession,
    /// `pam_close_session`.
    CloseSession,
    /// `pam_setcred`.
    Setcred,
}

impl PamOp {
    fn code(self) -> u32 {
        match self {
            PamOp::Authenticate => 1,
            PamOp::AcctMgmt => 2,
            PamOp::ChauthtokPrelim => 3,
            PamOp::Chauthtok => 4,
            PamOp::OpenSession => 5,
            PamOp::CloseSession => 6,
            PamOp::Setcred => 7,
        }
    }

    fn from_code(value: u32) -> Result<PamOp, ProtoError> {
        Ok(match value {
            1 => PamOp::Authenticate,
            2 => PamOp::AcctMgmt,
            3 => PamOp::ChauthtokPrelim,
            4 => PamOp::Chauthtok,
            5 => PamOp::OpenSession,
            6 => PamOp::CloseSession,
            7 => PamOp::Setcred,
            value => {
                return Err(ProtoError::InvalidValue {
                    field: "proxy_child PAM operation",
                    value,
                });
            }
        })
    }
}

/// One PAM transaction for `proxy_child` (secrets wiped on drop).
#[derive(Clone, PartialEq, Eq)]
pub struct PamRequest {
    /// What to run.
    pub op: PamOp,
    /// The user.
    pub user: String,
    /// PAM_RHOST (may be empty).
    pub rhost: String,
    /// PAM_TTY (may be empty).
    pub tty: String,
    /// PAM_RUSER (may be empty).
    pub ruser: String,
    /// The password (or the old one for a password change).
    pub authtok: Zeroizing<Vec<u8>>,
    /// The new password of a password change.
    pub new_authtok: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for PamRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PamRequest")
            .field("op", &self.op)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

fn secret(r: &mut Reader<'_>) -> Result<Zeroizing<Vec<u8>>, ProtoError> {
    let n = r.u32()?;
    let len = usize::try_from(n).map_err(|_| ProtoError::BadLength(n))?;
    if len > crate::child::MAX_FIELD_LEN {
        return Err(ProtoError::BadLength(n));
    }
    Ok(Zeroizing::new(r.take(len)?.to_vec()))
}

fn put_secret(out: &mut Vec<u8>, s: &[u8]) {
    put_count(out, s.len());
    out.extend_from_slice(s);
}

impl PamRequest {
    /// The body bytes (wiped when dropped).
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(
            64 + self.user.len() + self.authtok.len() + self.new_authtok.len(),
        ));
        put_u32(&mut out, self.op.code());
        put_cstr(&mut out, self.user.as_bytes());
        put_cstr(&mut out, self.rhost.as_bytes());
        put_cstr(&mut out, self.tty.as_bytes());
        put_cstr(&mut out, self.ruser.as_bytes());
        put_secret(&mut out, &self.authtok);
        put_secret(&mut out, &self.new_authtok);
        out
    }

    /// Parses a body.
    pub fn decode(body: &[u8]) -> Result<PamRequest, ProtoError> {
        let mut r = Reader::new(body);
        let op = PamOp::from_code(r.u32()?)?;
        let user = text(&mut r)?;
        if user.is_empty() {
            return Err(ProtoError::EmptyName);
        }
        let req = PamRequest {
            op,
            user,
            rhost: text(&mut r)?,
            tty: text(&mut r)?,
            ruser: text(&mut r)?,
            authtok: secret(&mut r)?,
            new_authtok: secret(&mut r)?,
        };
        r.finish()?;
        Ok(req)
    }
}

/// The outcome of a [`PamRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PamReply {
    /// The Linux-PAM status of the last call made.
    pub status: i32,
    /// What failed, for the log (never a secret).
    pub message: String,
}

impl PamReply {
    /// The body bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        put_u32(&mut out, self.status as u32);
        put_cstr(&mut out, self.message.as_bytes());
        out
    }

    /// Parses a body.
    pub fn decode(body: &[u8]) -> Result<PamReply, ProtoError> {
        let mut r = Reader::new(body);
        let status = r.i32()?;
        let message = text(&mut r)?;
        r.finish()?;
        Ok(PamReply { status, message })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip() {
        for req in [
            NssRequest::PwNam("alice".into()),
            NssRequest::PwUid(1001),
            NssRequest::GrNam("staff".into()),
            NssRequest::GrGid(50),
            NssRequest::Initgroups("alice".into(), 100),
            NssRequest::EnumUsers,
            NssRequest::EnumGroups,
        ] {
            assert_eq!(NssRequest::decode(&req.encode()), Ok(req));
        }
        assert!(NssRequest::decode(&[9, 0, 0, 0]).is_err());
        assert!(NssRequest::decode(&NssRequest::PwNam(String::new()).encode()).is_err());
    }

    #[test]
    fn replies_round_trip() {
        let u = PasswdEnt {
            name: "alice".into(),
            uid: 1,
            gid: 2,
            gecos: "A".into(),
            dir: "/h".into(),
            shell: "/bin/sh".into(),
        };
        let g = GroupEnt {
            name: "g".into(),
            gid: 3,
            members: vec!["alice".into(), "bob".into()],
        };
        for rep in [
            NssReply::Ready,
            NssReply::Users(vec![u.clone(), u]),
            NssReply::Groups(vec![g]),
            NssReply::Gids(vec![1, 2, 3]),
            NssReply::NotFound,
            NssReply::Unavail("no such function".into()),
        ] {
            assert_eq!(NssReply::decode(&rep.encode()), Ok(rep));
        }
    }

    #[test]
    fn hostile_replies_are_errors() {
        // A huge count with no bytes behind it.
        let mut b = Vec::new();
        put_u32(&mut b, R_USERS);
        put_u32(&mut b, u32::MAX);
        assert!(NssReply::decode(&b).is_err());
        let mut b = Vec::new();
        put_u32(&mut b, R_GIDS);
        put_u32(&mut b, 2);
        put_u32(&mut b, 7);
        assert!(NssReply::decode(&b).is_err());
        // Trailing bytes, unterminated strings, bad UTF-8.
        let mut b = NssReply::NotFound.encode();
        b.push(1);
        assert!(NssReply::decode(&b).is_err());
        let mut b = Vec::new();
        put_u32(&mut b, R_UNAVAIL);
        b.extend_from_slice(b"abc");
        assert!(NssReply::decode(&b).is_err());
        let mut b = Vec::new();
        put_u32(&mut b, R_UNAVAIL);
        b.extend_from_slice(&[0xff, 0]);
        assert!(NssReply::decode(&b).is_err());
        assert!(frame_len(u32::MAX.to_ne_bytes(), MAX_FRAME).is_err());
        assert_eq!(frame_len(5u32.to_ne_bytes(), MAX_FRAME), Ok(5));
    }

    #[test]
    fn pam_round_trip() {
        let req = PamRequest {
            op: PamOp::Chauthtok,
            user: "alice".into(),
            rhost: "h".into(),
            tty: String::new(),
            ruser: String::new(),
            authtok: Zeroizing::new(b"old".to_vec()),
            new_authtok: Zeroizing::new(b"new".to_vec()),
        };
        assert!(PamRequest::decode(&req.encode()) == Ok(req.clone()));
        assert!(!format!("{req:?}").contains("old"));
        let rep = PamReply {
            status: 7,
            message: "Authentication failure".into(),
        };
        assert_eq!(PamReply::decode(&rep.encode()), Ok(rep));
    }
}
