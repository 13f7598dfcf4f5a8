//! PAM request and reply bodies (protocol versions 2 and 3: TLV items between markers).
//!
//! Request: `u32 START`, items `u32 type, u32 size, data[size]`, `u32 END` (no size).
//! Reply: `i32 pam_status, i32 num_items`, items `u32 type, u32 len, data[len]`.

use crate::ProtoError;
use crate::wire::{Reader, put_u32};

/// First word of a v2/v3 request body.
pub const START_OF_REQUEST: u32 = 0x4d41_5049;
/// Last word of a v2/v3 request body.
pub const END_OF_REQUEST: u32 = 0x4950_414d;

/// Request item types (`enum sss_cli_item`... names as pam_sss packs them).
pub mod item {
    /// Empty item.
    pub const EMPTY: u32 = 0;
    /// Login name (may be `name@domain`).
    pub const USER: u32 = 1;
    /// PAM service.
    pub const SERVICE: u32 = 2;
    /// Terminal.
    pub const TTY: u32 = 3;
    /// Remote user.
    pub const RUSER: u32 = 4;
    /// Remote host.
    pub const RHOST: u32 = 5;
    /// Current authentication token: `u32 type` + bytes.
    pub const AUTHTOK: u32 = 6;
    /// New authentication token: `u32 type` + bytes.
    pub const NEWAUTHTOK: u32 = 7;
    /// Client locale (unused by the server).
    pub const CLI_LOCALE: u32 = 8;
    /// Client process id, `u32`.
    pub const CLI_PID: u32 = 9;
    /// Child process id, `u32`.
    pub const CHILD_PID: u32 = 10;
    /// Comma-separated domain list (`domains=` option).
    pub const REQUESTED_DOMAINS: u32 = 11;
    /// Client flags, `u32`.
    pub const FLAGS: u32 = 12;
    /// JSON authentication info.
    pub const JSON_AUTH_INFO: u32 = 13;
    /// JSON selected authentication.
    pub const JSON_AUTH_SELECTED: u32 = 14;
    /// NUL-separated `KEY=VALUE` list.
    pub const CLIENT_ENVS: u32 = 15;
}

/// Authentication token types.
pub mod authtok {
    /// No token.
    pub const EMPTY: u32 = 0x0;
    /// A password.
    pub const PASSWORD: u32 = 0x1;
    /// A Kerberos credential cache file.
    pub const CCFILE: u32 = 0x2;
    /// Two factors.
    pub const TWO_FACTOR: u32 = 0x3;
}

/// Reply item types.
pub mod response {
    /// A message for the system log.
    pub const SYSTEM_INFO: u32 = 1;
    /// The domain that answered.
    pub const DOMAIN_NAME: u32 = 2;
    /// `pam_putenv`.
    pub const PAM_ENV_ITEM: u32 = 3;
    /// `putenv`.
    pub const ENV_ITEM: u32 = 4;
    /// Both.
    pub const ALL_ENV_ITEM: u32 = 5;
    /// A message for the user (`u32 subtype` + data).
    pub const USER_INFO: u32 = 6;
    /// A text message.
    pub const TEXT_MSG: u32 = 7;
    /// One-time-password token info: `vendor\0 token_id\0 challenge\0`.
    pub const OTP_INFO: u32 = 8;
    /// Smart card certificate info.
    pub const CERT_INFO: u32 = 9;
    /// No data: the token is a one-time password and must not be cached.
    pub const OTP: u32 = 10;
    /// Password prompting is possible.
    pub const PASSWORD_PROMPTING: u32 = 11;
    /// Certificate authentication prompting is possible.
    pub const CERT_AUTH_PROMPTING: u32 = 12;
    /// Smart card certificate info with a user name hint.
    pub const CERT_INFO_WITH_HINT: u32 = 13;
    /// Prompting configuration.
    pub const PROMPT_CONFIG: u32 = 14;
    /// Keep-alive from a child process.
    pub const CHILD_KEEP_ALIVE: u32 = 15;
    /// OAuth2 device authorization info.
    pub const OAUTH2_INFO: u32 = 16;
    /// Passkey info.
    pub const PASSKEY_INFO: u32 = 17;
    /// Passkey-with-Kerberos info.
    pub const PASSKEY_KRB_INFO: u32 = 18;
    /// JSON authentication info.
    pub const JSON_AUTH_INFO: u32 = 19;
    /// Items with this bit are internal to the server and never sent.
    pub const SERVER_INFO_BIT: u32 = 0x8000_0000;
}

/// Subtypes of a [`response::USER_INFO`] item (its first `u32`; `enum user_info_type`).
pub mod user_info {
    /// Authenticated offline; `i64` expiry of the cached password (0 = never).
    pub const OFFLINE_AUTH: u32 = 1;
    /// Offline authentication delayed; `i64` time when logins are allowed again.
    pub const OFFLINE_AUTH_DELAYED: u32 = 2;
    /// Password change impossible while offline.
    pub const OFFLINE_CHPASS: u32 = 3;
    /// OTP password changed.
    pub const OTP_CHPASS: u32 = 4;
    /// Password change failed; `u32 len` + server message.
    pub const CHPASS_ERROR: u32 = 5;
    /// Password expired with grace logins left; `u32` count.
    pub const GRACE_LOGIN: u32 = 6;
    /// Password expires soon; `u32` seconds.
    pub const EXPIRE_WARN: u32 = 7;
    /// Account expired; `u32 len` + server message.
    pub const ACCOUNT_EXPIRED: u32 = 8;
    /// Smart card PIN locked.
    pub const PIN_LOCKED: u32 = 9;
    /// Authenticated, but no Kerberos TGT was issued.
    pub const NO_KRB_TGT: u32 = 10;
}

/// `PAM_CLI_FLAGS_*` bits of the [`item::FLAGS`] request item (from pam_sss module arguments).
pub mod cli_flag {
    /// use_first_pass.
    pub const USE_FIRST_PASS: u32 = 1 << 0;
    /// forward_pass.
    pub const FORWARD_PASS: u32 = 1 << 1;
    /// use_authtok.
    pub const USE_AUTHTOK: u32 = 1 << 2;
    /// ignore_unknown_user.
    pub const IGNORE_UNKNOWN_USER: u32 = 1 << 3;
    /// ignore_authinfo_unavail.
    pub const IGNORE_AUTHINFO_UNAVAIL: u32 = 1 << 4;
    /// use_2fa.
    pub const USE_2FA: u32 = 1 << 5;
    /// allow_missing_name.
    pub const ALLOW_MISSING_NAME: u32 = 1 << 6;
    /// prompt_always.
    pub const PROMPT_ALWAYS: u32 = 1 << 7;
    /// try_cert_auth.
    pub const TRY_CERT_AUTH: u32 = 1 << 8;
    /// require_cert_auth.
    pub const REQUIRE_CERT_AUTH: u32 = 1 << 9;
    /// allow_chauthtok_by_root (honoured for root clients only).
    pub const ALLOW_CHAUTHTOK_BY_ROOT: u32 = 1 << 10;
    /// chauthtok_preauth.
    pub const CHAUTHTOK_PREAUTH: u32 = 1 << 11;
}

/// Linux-PAM status codes used on the wire.
pub mod status {
    /// PAM_SUCCESS.
    pub const SUCCESS: i32 = 0;
    /// PAM_SERVICE_ERR.
    pub const SERVICE_ERR: i32 = 3;
    /// PAM_SYSTEM_ERR.
    pub const SYSTEM_ERR: i32 = 4;
    /// PAM_BUF_ERR.
    pub const BUF_ERR: i32 = 5;
    /// PAM_PERM_DENIED.
    pub const PERM_DENIED: i32 = 6;
    /// PAM_AUTH_ERR.
    pub const AUTH_ERR: i32 = 7;
    /// PAM_CRED_INSUFFICIENT.
    pub const CRED_INSUFFICIENT: i32 = 8;
    /// PAM_AUTHINFO_UNAVAIL.
    pub const AUTHINFO_UNAVAIL: i32 = 9;
    /// PAM_USER_UNKNOWN.
    pub const USER_UNKNOWN: i32 = 10;
    /// PAM_NEW_AUTHTOK_REQD.
    pub const NEW_AUTHTOK_REQD: i32 = 12;
    /// PAM_ACCT_EXPIRED.
    pub const ACCT_EXPIRED: i32 = 13;
    /// PAM_CRED_ERR.
    pub const CRED_ERR: i32 = 17;
    /// PAM_NO_MODULE_DATA.
    pub const NO_MODULE_DATA: i32 = 18;
    /// PAM_CONV_ERR.
    pub const CONV_ERR: i32 = 19;
    /// PAM_AUTHTOK_ERR.
    pub const AUTHTOK_ERR: i32 = 20;
    /// PAM_IGNORE.
    pub const IGNORE: i32 = 25;
    /// PAM_MODULE_UNKNOWN.
    pub const MODULE_UNKNOWN: i32 = 28;
    /// PAM_BAD_ITEM.
    pub const BAD_ITEM: i32 = 29;
}

/// An authentication token as it travels: its type and raw bytes. The bytes are wiped when
/// the token is dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthTok {
    /// One of [`authtok`].
    pub kind: u32,
    /// The token bytes (a password has no trailing NUL here).
    pub data: Vec<u8>,
}

impl std::fmt::Debug for AuthTok {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "AuthTok {{ kind: {}, data: <{} bytes> }}",
            self.kind,
            self.data.len()
        )
    }
}

impl Drop for AuthTok {
    fn drop(&mut self) {
        wipe(&mut self.data);
    }
}

/// Overwrites `buf` with zeros in a way the optimiser keeps.
pub fn wipe(buf: &mut [u8]) {
    zeroize::Zeroize::zeroize(buf);
}

/// A decoded PAM request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PamRequest {
    /// USER.
    pub user: Option<String>,
    /// SERVICE.
    pub service: Option<String>,
    /// TTY.
    pub tty: Option<String>,
    /// RUSER.
    pub ruser: Option<String>,
    /// RHOST.
    pub rhost: Option<String>,
    /// REQUESTED_DOMAINS.
    pub requested_domains: Option<String>,
    /// CLI_PID.
    pub cli_pid: Option<u32>,
    /// CHILD_PID.
    pub child_pid: Option<u32>,
    /// FLAGS.
    pub flags: Option<u32>,
    /// AUTHTOK.
    pub authtok: Option<AuthTok>,
    /// NEWAUTHTOK.
    pub newauthtok: Option<AuthTok>,
}

fn item_u32(data: &[u8], offset: usize) -> Result<u32, ProtoError> {
    let mut r = Reader::new(data);
    let v = r.u32().map_err(|_| ProtoError::InvalidValue {
        field: "item size",
        value: data.len() as u32,
    })?;
    r.finish().map_err(|_| ProtoError::Trailing(offset))?;
    Ok(v)
}

fn item_str(data: &[u8], offset: usize) -> Result<String, ProtoError> {
    let mut r = Reader::new(data);
    let s = r.cstr().map_err(|e| match e {
        ProtoError::InvalidUtf8(_) => ProtoError::InvalidUtf8(offset),
        _ => ProtoError::Unterminated(offset),
    })?;
    r.finish()?;
    Ok(s.to_string())
}

fn item_authtok(data: &[u8]) -> Result<AuthTok, ProtoError> {
    let mut r = Reader::new(data);
    let kind = r.u32()?;
    let bytes = r.take(r.remaining())?;
    // A zero-length password is an empty token.
    let kind = if bytes.is_empty() {
        authtok::EMPTY
    } else {
        kind
    };
    Ok(AuthTok {
        kind,
        data: bytes.to_vec(),
    })
}

/// Decodes a v2/v3 request body. With `version >= 3` a non-zero CLI_PID is required.
/// Unknown item types are skipped.
pub fn decode_request(body: &[u8], version: u32) -> Result<PamRequest, ProtoError> {
    let mut r = Reader::new(body);
    let start = r.u32()?;
    if start != START_OF_REQUEST {
        return Err(ProtoError::InvalidValue {
            field: "start marker",
            value: start,
        });
    }
    let mut req = PamRequest::default();
    loop {
        let kind = r.u32()?;
        if kind == END_OF_REQUEST {
            break;
        }
        let size = r.u32()? as usize;
        let offset = r.position();
        let data = r.take(size)?;
        match kind {
            item::USER => req.user = Some(item_str(data, offset)?),
            item::SERVICE => req.service = Some(item_str(data, offset)?),
            item::TTY => req.tty = Some(item_str(data, offset)?),
            item::RUSER => req.ruser = Some(item_str(data, offset)?),
            item::RHOST => req.rhost = Some(item_str(data, offset)?),
            item::REQUESTED_DOMAINS => req.requested_domains = Some(item_str(data, offset)?),
            item::CLI_PID => req.cli_pid = Some(item_u32(data, offset)?),
            item::CHILD_PID => req.child_pid = Some(item_u32(data, offset)?),
            item::FLAGS => req.flags = Some(item_u32(data, offset)?),
            item::AUTHTOK => req.authtok = Some(item_authtok(data)?),
            item::NEWAUTHTOK => req.newauthtok = Some(item_authtok(data)?),
            _ => {}
        }
    }
    r.finish()?;
    if version >= 3 && req.cli_pid.unwrap_or(0) == 0 {
        return Err(ProtoError::InvalidValue {
            field: "CLI_PID",
            value: req.cli_pid.unwrap_or(0),
        });
    }
    Ok(req)
}

fn put_item(out: &mut Vec<u8>, kind: u32, data: &[u8]) {
    put_u32(out, kind);
    put_u32(out, data.len() as u32);
    out.extend_from_slice(data);
}

fn put_str_item(out: &mut Vec<u8>, kind: u32, s: &Option<String>) {
    if let Some(s) = s.as_deref().filter(|s| !s.is_empty()) {
        put_u32(out, kind);
        put_u32(out, (s.len() + 1) as u32);
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    }
}

fn put_authtok_item(out: &mut Vec<u8>, kind: u32, tok: &Option<AuthTok>) {
    if let Some(t) = tok {
        put_u32(out, kind);
        put_u32(out, (4 + t.data.len()) as u32);
        put_u32(out, t.kind);
        out.extend_from_slice(&t.data);
    }
}

/// The exact length of [`encode_request`]'s output for `req`.
pub fn request_len(req: &PamRequest) -> usize {
    let item = |len: usize| 8 + len;
    let strings = [
        &req.user,
        &req.service,
        &req.tty,
        &req.ruser,
        &req.rhost,
        &req.requested_domains,
    ]
    .into_iter()
    .filter_map(|s| s.as_deref().filter(|s| !s.is_empty()))
    .map(|s| item(s.len() + 1))
    .sum::<usize>();
    let numbers = [req.cli_pid, req.child_pid, req.flags]
        .into_iter()
        .flatten()
        .map(|_| item(4))
        .sum::<usize>();
    let tokens = [&req.authtok, &req.newauthtok]
        .into_iter()
        .flatten()
        .map(|t| item(4 + t.data.len()))
        .sum::<usize>();
    4 + strings + numbers + tokens + 4
}

/// Encodes a request body in pam_sss's packing order, into a buffer allocated once at its
/// exact size (see [`request_len`]), so no growth leaves a copy of the tokens behind. The
/// caller owns the result and should [`wipe`] it once sent, since it holds the tokens.
pub fn encode_request(req: &PamRequest) -> Vec<u8> {
    let mut out = Vec::with_capacity(request_len(req));
    put_u32(&mut out, START_OF_REQUEST);
    put_str_item(&mut out, item::USER, &req.user);
    put_str_item(&mut out, item::SERVICE, &req.service);
    put_str_item(&mut out, item::TTY, &req.tty);
    put_str_item(&mut out, item::RUSER, &req.ruser);
    put_str_item(&mut out, item::RHOST, &req.rhost);
    put_str_item(&mut out, item::REQUESTED_DOMAINS, &req.requested_domains);
    for (kind, v) in [
        (item::CLI_PID, req.cli_pid),
        (item::CHILD_PID, req.child_pid),
    ] {
        if let Some(v) = v {
            put_item(&mut out, kind, &v.to_ne_bytes());
        }
    }
    put_authtok_item(&mut out, item::AUTHTOK, &req.authtok);
    put_authtok_item(&mut out, item::NEWAUTHTOK, &req.newauthtok);
    if let Some(f) = req.flags {
        put_item(&mut out, item::FLAGS, &f.to_ne_bytes());
    }
    put_u32(&mut out, END_OF_REQUEST);
    out
}

/// One reply item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseItem {
    /// One of [`response`].
    pub kind: u32,
    /// Its payload.
    pub data: Vec<u8>,
}

impl ResponseItem {
    /// A USER_INFO item: `subtype` (host byte order, as pam_sss reads it) then `data`.
    pub fn user_info(subtype: u32, data: &[u8]) -> ResponseItem {
        let mut d = Vec::with_capacity(4 + data.len());
        d.extend_from_slice(&subtype.to_ne_bytes());
        d.extend_from_slice(data);
        ResponseItem {
            kind: response::USER_INFO,
            data: d,
        }
    }

    /// A USER_INFO item carrying a text (CHPASS_ERROR, ACCOUNT_EXPIRED): `subtype`,
    /// `u32` length, then the text without a NUL, as SSSD sends them.
    pub fn user_info_message(subtype: u32, message: &str) -> ResponseItem {
        let len = u32::try_from(message.len()).unwrap_or(u32::MAX);
        let text = message.as_bytes().get(..len as usize).unwrap_or_default();
        let mut d = Vec::with_capacity(4 + text.len());
        d.extend_from_slice(&len.to_ne_bytes());
        d.extend_from_slice(text);
        ResponseItem::user_info(subtype, &d)
    }
}

impl From<ResponseItem> for (u32, Vec<u8>) {
    fn from(item: ResponseItem) -> (u32, Vec<u8>) {
        (item.kind, item.data)
    }
}

/// A decoded PAM reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PamReply {
    /// Linux-PAM status ([`status`]).
    pub status: i32,
    /// Items, in wire order.
    pub items: Vec<ResponseItem>,
}

/// Encodes a reply body; items with [`response::SERVER_INFO_BIT`] are left out.
pub fn encode_reply(reply: &PamReply) -> Vec<u8> {
    let sent: Vec<&ResponseItem> = reply
        .items
        .iter()
        .filter(|i| i.kind & response::SERVER_INFO_BIT == 0)
        .collect();
    let mut out = Vec::with_capacity(64);
    put_u32(&mut out, reply.status as u32);
    put_u32(&mut out, sent.len() as u32);
    for i in sent {
        put_item(&mut out, i.kind, &i.data);
    }
    out
}

/// Decodes a reply body.
pub fn decode_reply(body: &[u8]) -> Result<PamReply, ProtoError> {
    let mut r = Reader::new(body);
    let status = r.i32()?;
    let n = r.u32()? as usize;
    // Every item needs at least 8 bytes: bound the allocation by what is left.
    if n.saturating_mul(8) > r.remaining() {
        return Err(ProtoError::Truncated {
            offset: r.position(),
            needed: n.saturating_mul(8),
            available: r.remaining(),
        });
    }
    let mut items = Vec::with_capacity(n);
    for _ in 0..n {
        let kind = r.u32()?;
        let len = r.u32()? as usize;
        items.push(ResponseItem {
            kind,
            data: r.take(len)?.to_vec(),
        });
    }
    r.finish()?;
    Ok(PamReply { status, items })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_messages_have_no_nul() {
        let item = ResponseItem::user_info_message(user_info::CHPASS_ERROR, "too short");
        assert_eq!(item.kind, response::USER_INFO);
        assert_eq!(&item.data[..4], &user_info::CHPASS_ERROR.to_ne_bytes());
        assert_eq!(&item.data[4..8], &9u32.to_ne_bytes());
        assert_eq!(&item.data[8..], b"too short");
        let (kind, data): (u32, Vec<u8>) =
            ResponseItem::user_info(user_info::OFFLINE_CHPASS, &[]).into();
        assert_eq!(
            (kind, data),
            (response::USER_INFO, 3u32.to_ne_bytes().to_vec())
        );
    }
    use proptest::prelude::*;

    fn login() -> PamRequest {
        PamRequest {
            user: Some("user1".into()),
            service: Some("login".into()),
            tty: Some("tty1".into()),
            cli_pid: Some(4242),
            authtok: Some(AuthTok {
                kind: authtok::PASSWORD,
                data: b"Password1001".to_vec(),
            }),
            ..PamRequest::default()
        }
    }

    #[test]
    fn request_round_trip() {
        let body = encode_request(&login());
        assert_eq!(&body[..4], &START_OF_REQUEST.to_ne_bytes());
        assert_eq!(&body[body.len() - 4..], &END_OF_REQUEST.to_ne_bytes());
        assert_eq!(decode_request(&body, 3).unwrap(), login());
    }

    #[test]
    fn user_item_bytes() {
        let req = PamRequest {
            user: Some("ab".into()),
            cli_pid: Some(1),
            ..PamRequest::default()
        };
        let body = encode_request(&req);
        let mut want = START_OF_REQUEST.to_ne_bytes().to_vec();
        want.extend_from_slice(&1u32.to_ne_bytes());
        want.extend_from_slice(&3u32.to_ne_bytes());
        want.extend_from_slice(b"ab\0");
        want.extend_from_slice(&9u32.to_ne_bytes());
        want.extend_from_slice(&4u32.to_ne_bytes());
        want.extend_from_slice(&1u32.to_ne_bytes());
        want.extend_from_slice(&END_OF_REQUEST.to_ne_bytes());
        assert_eq!(body, want);
    }

    #[test]
    fn malformed_requests_are_errors() {
        let body = encode_request(&login());
        // Missing end marker.
        assert!(decode_request(&body[..body.len() - 4], 3).is_err());
        // Wrong start marker.
        let mut bad = body.clone();
        bad[0] ^= 1;
        assert!(decode_request(&bad, 3).is_err());
        // Item size past the packet.
        let mut past = START_OF_REQUEST.to_ne_bytes().to_vec();
        past.extend_from_slice(&item::USER.to_ne_bytes());
        past.extend_from_slice(&1000u32.to_ne_bytes());
        past.extend_from_slice(b"x\0");
        past.extend_from_slice(&END_OF_REQUEST.to_ne_bytes());
        assert!(decode_request(&past, 3).is_err());
        // CLI_PID of the wrong size.
        let mut pid = START_OF_REQUEST.to_ne_bytes().to_vec();
        pid.extend_from_slice(&item::CLI_PID.to_ne_bytes());
        pid.extend_from_slice(&2u32.to_ne_bytes());
        pid.extend_from_slice(&[1, 0]);
        pid.extend_from_slice(&END_OF_REQUEST.to_ne_bytes());
        assert!(decode_request(&pid, 3).is_err());
        // v3 without CLI_PID; v2 accepts it.
        let no_pid = encode_request(&PamRequest {
            cli_pid: None,
            ..login()
        });
        assert!(decode_request(&no_pid, 3).is_err());
        assert!(decode_request(&no_pid, 2).is_ok());
        // Trailing bytes after the end marker.
        let mut trailing = body.clone();
        trailing.push(0);
        assert!(decode_request(&trailing, 3).is_err());
    }

    #[test]
    fn unknown_items_are_skipped_and_empty_password_is_empty() {
        let mut body = START_OF_REQUEST.to_ne_bytes().to_vec();
        body.extend_from_slice(&999u32.to_ne_bytes());
        body.extend_from_slice(&2u32.to_ne_bytes());
        body.extend_from_slice(b"zz");
        body.extend_from_slice(&item::AUTHTOK.to_ne_bytes());
        body.extend_from_slice(&4u32.to_ne_bytes());
        body.extend_from_slice(&authtok::PASSWORD.to_ne_bytes());
        body.extend_from_slice(&END_OF_REQUEST.to_ne_bytes());
        let req = decode_request(&body, 2).unwrap();
        assert_eq!(req.authtok.map(|t| t.kind), Some(authtok::EMPTY));
    }

    #[test]
    fn authtok_debug_hides_the_secret() {
        let t = AuthTok {
            kind: authtok::PASSWORD,
            data: b"secret".to_vec(),
        };
        assert!(!format!("{t:?}").contains("secret"));
    }

    #[test]
    fn reply_round_trip_drops_server_items() {
        let reply = PamReply {
            status: status::SUCCESS,
            items: vec![
                ResponseItem {
                    kind: response::DOMAIN_NAME,
                    data: b"LDAP\0".to_vec(),
                },
                ResponseItem {
                    kind: 0xC000_0001,
                    data: vec![0; 32],
                },
            ],
        };
        let body = encode_reply(&reply);
        let back = decode_reply(&body).unwrap();
        assert_eq!(back.status, 0);
        assert_eq!(back.items, reply.items[..1].to_vec());
    }

    proptest! {
        #[test]
        fn decoders_are_total(bytes in proptest::collection::vec(any::<u8>(), 0..512), v in 1u32..4) {
            let _ = decode_request(&bytes, v);
            let _ = decode_reply(&bytes);
        }

        #[test]
        fn requests_round_trip(user in "[a-z0-9@._-]{1,64}", pw in proptest::collection::vec(any::<u8>(), 1..128), pid in 1u32..,
            rhost in proptest::option::of("[a-z.]{1,300}"), new in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300))) {
            let req = PamRequest {
                user: Some(user),
                rhost,
                cli_pid: Some(pid),
                flags: Some(3),
                authtok: Some(AuthTok { kind: authtok::PASSWORD, data: pw }),
                newauthtok: new.map(|data| AuthTok { kind: authtok::PASSWORD, data }),
                ..PamRequest::default()
            };
            let body = encode_request(&req);
            // Allocated once at its final size: no grown-out-of copy of the tokens.
            prop_assert_eq!(body.capacity(), body.len());
            prop_assert_eq!(request_len(&req), body.len());
            let mut back = decode_request(&body, 3).unwrap();
            // An empty token decodes as EMPTY.
            if let Some(t) = back.newauthtok.as_mut().filter(|t| t.data.is_empty()) {
                t.kind = authtok::PASSWORD;
            }
            prop_assert_eq!(back, req);
        }
    }
}
