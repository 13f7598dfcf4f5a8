//! The stdin/stdout framing between the backend and its helpers `krb5_child` and
//! `ldap_child`.
//!
//! This is an internal interface (both ends ship together), modelled on SSSD's: host-endian
//! `u32` fields and `u32 len + bytes` strings in the request; the krb5 reply is `i32 status`
//! followed by messages `i32 type, i32 len, data` in the PAM response item type space
//! (ENV `KRB5CCNAME=...`, USER_INFO, ...). Decoders are total: malformed input is an error.

use zeroize::Zeroizing;

use crate::ProtoError;
use crate::wire::{Reader, put_u32};

/// Upper bound of any single string or secret in a child request or reply.
pub const MAX_FIELD_LEN: usize = 64 * 1024;
/// Upper bound of the number of messages in a krb5 reply.
pub const MAX_MESSAGES: usize = 64;

/// The operation asked of `krb5_child` (SSSD's PAM command numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Krb5Cmd {
    /// `SSS_PAM_AUTHENTICATE`: get a TGT with the password, write the ccache.
    Authenticate,
    /// `SSS_PAM_CHAUTHTOK`: change the password with kpasswd, then get a TGT.
    Chpass,
    /// `SSS_PAM_CHAUTHTOK_PRELIM`: check the old password (kadmin/changepw ticket).
    ChpassPrelim,
    /// `SSS_CMD_RENEW`: renew the TGT in the ccache `ccname` (no password).
    Renew,
}

impl Krb5Cmd {
    /// The wire number.
    pub fn code(self) -> u32 {
        match self {
            Krb5Cmd::Authenticate => 0xF1,
            Krb5Cmd::Chpass => 0xF6,
            Krb5Cmd::ChpassPrelim => 0xF7,
            Krb5Cmd::Renew => 0xF002,
        }
    }

    /// The command for a wire number.
    pub fn from_code(v: u32) -> Result<Krb5Cmd, ProtoError> {
        match v {
            0xF1 => Ok(Krb5Cmd::Authenticate),
            0xF6 => Ok(Krb5Cmd::Chpass),
            0xF7 => Ok(Krb5Cmd::ChpassPrelim),
            0xF002 => Ok(Krb5Cmd::Renew),
            value => Err(ProtoError::InvalidValue {
                field: "krb5_child command",
                value,
            }),
        }
    }
}

/// A request to `krb5_child`. Secrets are wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Krb5Request {
    /// What to do.
    pub cmd: Krb5Cmd,
    /// uid the ccache is written as.
    pub uid: u32,
    /// gid the ccache is written as.
    pub gid: u32,
    /// Verify the TGT against `keytab`.
    pub validate: bool,
    /// Ask the KDC to canonicalize the principal.
    pub canonicalize: bool,
    /// Parse `principal` as an enterprise principal (`krb5_use_enterprise_principal`).
    pub enterprise: bool,
    /// The client principal (`user@REALM`).
    pub principal: String,
    /// The realm (written into the private profile with `kdcs`).
    pub realm: String,
    /// The ccache name, already expanded except for a trailing `XXXXXX` (made unique by
    /// the child); `FILE:`, `DIR:` or a plain path.
    pub ccname: String,
    /// Keytab for validation.
    pub keytab: String,
    /// Requested ticket lifetime as written in sssd.conf (empty: KDC default).
    pub lifetime: String,
    /// Requested renewable lifetime as written (empty: none).
    pub renewable_lifetime: String,
    /// KDCs (`host[:port]`); empty: the system krb5.conf.
    pub kdcs: Vec<String>,
    /// kpasswd servers (`host[:port]`); empty: the KDCs.
    pub kpasswd: Vec<String>,
    /// The (old) password.
    pub password: Zeroizing<Vec<u8>>,
    /// The new password (Chpass only; empty otherwise).
    pub new_password: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Krb5Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Krb5Request")
            .field("cmd", &self.cmd)
            .field("uid", &self.uid)
            .field("gid", &self.gid)
            .field("principal", &self.principal)
            .field("ccname", &self.ccname)
            .field("kdcs", &self.kdcs)
            .finish_non_exhaustive()
    }
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u32(out, u32::try_from(b.len()).unwrap_or(u32::MAX));
    out.extend_from_slice(b);
}

fn get_bytes<'a>(r: &mut Reader<'a>) -> Result<&'a [u8], ProtoError> {
    let len = r.u32()?;
    let n = usize::try_from(len).map_err(|_| ProtoError::BadLength(len))?;
    if n > MAX_FIELD_LEN {
        return Err(ProtoError::BadLength(len));
    }
    r.take(n)
}

fn get_string(r: &mut Reader<'_>) -> Result<String, ProtoError> {
    let at = r.position();
    let b = get_bytes(r)?;
    if b.contains(&0) {
        return Err(ProtoError::InvalidUtf8(at));
    }
    String::from_utf8(b.to_vec()).map_err(|_| ProtoError::InvalidUtf8(at))
}

fn get_bool(r: &mut Reader<'_>, field: &'static str) -> Result<bool, ProtoError> {
    match r.u32()? {
        0 => Ok(false),
        1 => Ok(true),
        value => Err(ProtoError::InvalidValue { field, value }),
    }
}

fn put_list(out: &mut Vec<u8>, l: &[String]) {
    put_bytes(out, l.join(",").as_bytes());
}

fn get_list(r: &mut Reader<'_>) -> Result<Vec<String>, ProtoError> {
    let s = get_string(r)?;
    Ok(s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect())
}

/// Encodes a krb5_child request. The fields without secrets are encoded first; the result
/// is then allocated once at its final size, so no growth leaves a copy of the passwords in
/// an unwiped old buffer.
pub fn encode_krb5_request(req: &Krb5Request) -> Zeroizing<Vec<u8>> {
    let head = encode_krb5_head(req);
    let len = head.len() + 8 + req.password.len() + req.new_password.len();
    let mut out = Zeroizing::new(Vec::with_capacity(len));
    out.extend_from_slice(&head);
    put_bytes(&mut out, &req.password);
    put_bytes(&mut out, &req.new_password);
    out
}

/// Everything of a krb5_child request before the passwords.
fn encode_krb5_head(req: &Krb5Request) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    put_u32(&mut out, req.cmd.code());
    put_u32(&mut out, req.uid);
    put_u32(&mut out, req.gid);
    put_u32(&mut out, u32::from(req.validate));
    put_u32(&mut out, u32::from(req.canonicalize));
    put_u32(&mut out, u32::from(req.enterprise));
    for s in [
        &req.principal,
        &req.realm,
        &req.ccname,
        &req.keytab,
        &req.lifetime,
        &req.renewable_lifetime,
    ] {
        put_bytes(&mut out, s.as_bytes());
    }
    put_list(&mut out, &req.kdcs);
    put_list(&mut out, &req.kpasswd);
    out
}

/// Decodes a krb5_child request; every byte must be used.
pub fn decode_krb5_request(buf: &[u8]) -> Result<Krb5Request, ProtoError> {
    let mut r = Reader::new(buf);
    let cmd = Krb5Cmd::from_code(r.u32()?)?;
    let uid = r.u32()?;
    let gid = r.u32()?;
    let validate = get_bool(&mut r, "validate")?;
    let canonicalize = get_bool(&mut r, "canonicalize")?;
    let enterprise = get_bool(&mut r, "enterprise")?;
    let principal = get_string(&mut r)?;
    let realm = get_string(&mut r)?;
    let ccname = get_string(&mut r)?;
    let keytab = get_string(&mut r)?;
    let lifetime = get_string(&mut r)?;
    let renewable_lifetime = get_string(&mut r)?;
    let kdcs = get_list(&mut r)?;
    let kpasswd = get_list(&mut r)?;
    let password = Zeroizing::new(get_bytes(&mut r)?.to_vec());
    let new_password = Zeroizing::new(get_bytes(&mut r)?.to_vec());
    r.finish()?;
    if principal.is_empty() {
        return Err(ProtoError::EmptyName);
    }
    Ok(Krb5Request {
        cmd,
        uid,
        gid,
        validate,
        canonicalize,
        enterprise,
        principal,
        realm,
        ccname,
        keytab,
        lifetime,
        renewable_lifetime,
        kdcs,
        kpasswd,
        password,
        new_password,
    })
}

/// The reply of `krb5_child`: a Linux-PAM status and response items.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Krb5Reply {
    /// Linux-PAM status.
    pub status: i32,
    /// `(type, data)` messages in the PAM response item type space.
    pub messages: Vec<(u32, Vec<u8>)>,
}

/// Reply message type (internal, never sent to a PAM client) carrying the times of the TGT
/// written: [`TgtTimes`] as three host-endian `i64` (start, end, renew until).
pub const KRB5_TGT_TIMES: u32 = 0x7F00_0001;

/// The times of a TGT, seconds since the epoch (`renew_till` 0: not renewable).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TgtTimes {
    /// Valid from.
    pub start: i64,
    /// Valid until.
    pub end: i64,
    /// Renewable until (0: not renewable).
    pub renew_till: i64,
}

impl TgtTimes {
    /// The [`KRB5_TGT_TIMES`] message.
    pub fn to_message(&self) -> (u32, Vec<u8>) {
        let mut d = Vec::with_capacity(24);
        for v in [self.start, self.end, self.renew_till] {
            d.extend_from_slice(&v.to_ne_bytes());
        }
        (KRB5_TGT_TIMES, d)
    }

    /// Decodes the data of a [`KRB5_TGT_TIMES`] message (None unless exactly 24 bytes).
    pub fn from_data(d: &[u8]) -> Option<TgtTimes> {
        if d.len() != 24 {
            return None;
        }
        let mut v = d
            .chunks_exact(8)
            .filter_map(|c| <[u8; 8]>::try_from(c).ok())
            .map(i64::from_ne_bytes);
        Some(TgtTimes {
            start: v.next()?,
            end: v.next()?,
            renew_till: v.next()?,
        })
    }
}

/// Encodes a krb5_child reply.
pub fn encode_krb5_reply(reply: &Krb5Reply) -> Vec<u8> {
    let mut out = Vec::new();
    put_u32(&mut out, reply.status as u32);
    for (t, d) in &reply.messages {
        put_u32(&mut out, *t);
        put_bytes(&mut out, d);
    }
    out
}

/// Decodes a krb5_child reply; every byte must be used.
pub fn decode_krb5_reply(buf: &[u8]) -> Result<Krb5Reply, ProtoError> {
    let mut r = Reader::new(buf);
    let status = r.i32()?;
    let mut messages = Vec::new();
    while r.remaining() > 0 {
        if messages.len() >= MAX_MESSAGES {
            return Err(ProtoError::Trailing(r.remaining()));
        }
        let t = r.u32()?;
        messages.push((t, get_bytes(&mut r)?.to_vec()));
    }
    Ok(Krb5Reply { status, messages })
}

/// A request to `ldap_child`: get a TGT for `principal` from `keytab` into `ccache`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapChildRequest {
    /// The realm (empty: the principal's or the default realm).
    pub realm: String,
    /// The principal (empty: `host/<hostname>@REALM`).
    pub principal: String,
    /// The keytab (empty: the default keytab).
    pub keytab: String,
    /// Ticket lifetime in seconds.
    pub lifetime: u32,
    /// The ccache to write (`FILE:/var/lib/sss/db/ccache_REALM`).
    pub ccache: String,
    /// KDCs (`host[:port]`); empty: the system krb5.conf.
    pub kdcs: Vec<String>,
}

/// `ldap_child`'s only command: get a TGT from the keytab.
pub const LDAP_CHILD_GET_TGT: u32 = 1;

/// Encodes an ldap_child request.
pub fn encode_ldap_request(req: &LdapChildRequest) -> Vec<u8> {
    let mut out = Vec::new();
    put_u32(&mut out, LDAP_CHILD_GET_TGT);
    put_bytes(&mut out, req.realm.as_bytes());
    put_bytes(&mut out, req.principal.as_bytes());
    put_bytes(&mut out, req.keytab.as_bytes());
    put_u32(&mut out, req.lifetime);
    put_bytes(&mut out, req.ccache.as_bytes());
    put_list(&mut out, &req.kdcs);
    out
}

/// Decodes an ldap_child request; every byte must be used.
pub fn decode_ldap_request(buf: &[u8]) -> Result<LdapChildRequest, ProtoError> {
    let mut r = Reader::new(buf);
    let cmd = r.u32()?;
    if cmd != LDAP_CHILD_GET_TGT {
        return Err(ProtoError::InvalidValue {
            field: "ldap_child command",
            value: cmd,
        });
    }
    let realm = get_string(&mut r)?;
    let principal = get_string(&mut r)?;
    let keytab = get_string(&mut r)?;
    let lifetime = r.u32()?;
    let ccache = get_string(&mut r)?;
    let kdcs = get_list(&mut r)?;
    r.finish()?;
    if ccache.is_empty() {
        return Err(ProtoError::EmptyName);
    }
    Ok(LdapChildRequest {
        realm,
        principal,
        keytab,
        lifetime,
        ccache,
        kdcs,
    })
}

/// The reply of `ldap_child`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LdapChildReply {
    /// 0 on success, else an errno-style code.
    pub result: u32,
    /// The libkrb5 error code (0 on success).
    pub krb5_error: i32,
    /// The ccache written.
    pub ccache: String,
    /// When the TGT expires (seconds since the epoch).
    pub expire_time: i64,
}

/// Encodes an ldap_child reply.
pub fn encode_ldap_reply(reply: &LdapChildReply) -> Vec<u8> {
    let mut out = Vec::new();
    put_u32(&mut out, reply.result);
    put_u32(&mut out, reply.krb5_error as u32);
    put_bytes(&mut out, reply.ccache.as_bytes());
    out.extend_from_slice(&reply.expire_time.to_ne_bytes());
    out
}

/// Decodes an ldap_child reply; every byte must be used.
pub fn decode_ldap_reply(buf: &[u8]) -> Result<LdapChildReply, ProtoError> {
    let mut r = Reader::new(buf);
    let result = r.u32()?;
    let krb5_error = r.i32()?;
    let ccache = get_string(&mut r)?;
    let mut t = [0u8; 8];
    t.copy_from_slice(r.take(8)?);
    r.finish()?;
    Ok(LdapChildReply {
        result,
        krb5_error,
        ccache,
        expire_time: i64::from_ne_bytes(t),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn name() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9@/._:%-]{0,40}"
    }

    fn list() -> impl Strategy<Value = Vec<String>> {
        proptest::collection::vec("[a-z0-9.:]{1,20}", 0..4)
    }

    fn cmd() -> impl Strategy<Value = Krb5Cmd> {
        prop_oneof![
            Just(Krb5Cmd::Authenticate),
            Just(Krb5Cmd::Chpass),
            Just(Krb5Cmd::ChpassPrelim),
            Just(Krb5Cmd::Renew)
        ]
    }

    prop_compose! {
        fn request()(cmd in cmd(), uid in any::<u32>(), gid in any::<u32>(),
                     validate in any::<bool>(), canonicalize in any::<bool>(),
                     enterprise in any::<bool>(),
                     principal in "[a-z]{1,10}@[A-Z.]{1,10}", realm in name(), ccname in name(),
                     keytab in name(), lifetime in name(), renewable_lifetime in name(),
                     kdcs in list(), kpasswd in list(),
                     password in proptest::collection::vec(any::<u8>(), 0..64),
                     new_password in proptest::collection::vec(any::<u8>(), 0..64))
            -> Krb5Request {
            Krb5Request { cmd, uid, gid, validate, canonicalize, enterprise, principal, realm, ccname,
                keytab, lifetime, renewable_lifetime, kdcs, kpasswd,
                password: Zeroizing::new(password), new_password: Zeroizing::new(new_password) }
        }
    }

    #[test]
    fn tgt_times_round_trip() {
        let t = TgtTimes {
            start: 1,
            end: 2,
            renew_till: 3,
        };
        let (kind, d) = t.to_message();
        assert_eq!(kind, KRB5_TGT_TIMES);
        assert_eq!(TgtTimes::from_data(&d), Some(t));
        assert_eq!(TgtTimes::from_data(&d[1..]), None);
    }

    proptest! {
        #[test]
        fn krb5_request_round_trips(req in request()) {
            let bytes = encode_krb5_request(&req);
            // Allocated once at its final size: no grown-out-of copy of the passwords.
            prop_assert_eq!(bytes.capacity(), bytes.len());
            prop_assert_eq!(decode_krb5_request(&bytes), Ok(req));
        }

        #[test]
        fn krb5_reply_round_trips(status in any::<i32>(),
            messages in proptest::collection::vec(
                (any::<u32>(), proptest::collection::vec(any::<u8>(), 0..40)), 0..8)) {
            let reply = Krb5Reply { status, messages };
            prop_assert_eq!(decode_krb5_reply(&encode_krb5_reply(&reply)), Ok(reply));
        }

        #[test]
        fn ldap_round_trips(realm in name(), principal in name(), keytab in name(),
            lifetime in any::<u32>(), ccache in "[a-z/:]{1,30}", kdcs in list(),
            result in any::<u32>(), krb5_error in any::<i32>(), expire_time in any::<i64>()) {
            let req = LdapChildRequest { realm, principal, keytab, lifetime,
                ccache: ccache.clone(), kdcs };
            prop_assert_eq!(decode_ldap_request(&encode_ldap_request(&req)), Ok(req));
            let reply = LdapChildReply { result, krb5_error, ccache, expire_time };
            prop_assert_eq!(decode_ldap_reply(&encode_ldap_reply(&reply)), Ok(reply));
        }

        #[test]
        fn decoders_are_total(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_krb5_request(&data);
            let _ = decode_krb5_reply(&data);
            let _ = decode_ldap_request(&data);
            let _ = decode_ldap_reply(&data);
        }

        #[test]
        fn truncated_requests_fail(req in request(), cut in 1usize..20) {
            let bytes = encode_krb5_request(&req);
            let n = bytes.len().saturating_sub(cut);
            prop_assert!(decode_krb5_request(&bytes[..n]).is_err());
        }
    }

    #[test]
    fn reply_layout_is_status_then_type_len_data() {
        let reply = Krb5Reply {
            status: 0,
            messages: vec![(4, b"KRB5CCNAME=FILE:/tmp/x".to_vec())],
        };
        let b = encode_krb5_reply(&reply);
        assert_eq!(&b[0..4], &0i32.to_ne_bytes());
        assert_eq!(&b[4..8], &4u32.to_ne_bytes());
        assert_eq!(&b[8..12], &22u32.to_ne_bytes());
        assert_eq!(&b[12..], b"KRB5CCNAME=FILE:/tmp/x");
    }

    #[test]
    fn oversized_field_is_refused() {
        let mut b = Vec::new();
        put_u32(&mut b, 0);
        put_u32(&mut b, 4);
        put_u32(&mut b, u32::MAX);
        assert_eq!(decode_krb5_reply(&b), Err(ProtoError::BadLength(u32::MAX)));
    }

    #[test]
    fn bad_command_is_refused() {
        let mut b = Vec::new();
        put_u32(&mut b, 0x42);
        assert!(matches!(
            decode_krb5_request(&b),
            Err(ProtoError::InvalidValue { .. })
        ));
    }
}
