//! One request to the sudo responder: connect, GET_VERSION, the request, the reply.

use sss_client::sys::{self, IoFail};
use sss_proto::sudo::{SUDO_PROTOCOL_VERSION, SudoReply, decode_reply, encode_request};
use sss_proto::{Command, HEADER_LEN, Header, ProtoError, packet};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::Instant;

/// The responder's socket.
pub const SOCKET_PATH: &str = "/var/lib/sss/pipes/sudo";

/// Largest reply accepted, header included (the responder caps its replies lower).
pub const MAX_REPLY_LEN: u32 = 64 * 1024 * 1024;

/// Why a request failed; each maps to the errno the C functions return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// `_SSS_LOOPS=NO`: this process must not ask SSSD.
    Disabled,
    /// Socket error (an errno), including "not running" (`ENOENT`, `ECONNREFUSED`) and
    /// the deadline (`ETIMEDOUT`).
    Transport(i32),
    /// The responder answered the header with an error status.
    Server(u32),
    /// The responder speaks another protocol version.
    Version(u32),
    /// The reply is malformed.
    BadReply(String),
}

impl ClientError {
    /// The errno the C interface returns for this error.
    pub fn errno(&self) -> i32 {
        match self {
            ClientError::Disabled => libc::ENOENT,
            ClientError::Transport(e) if *e != 0 => *e,
            ClientError::Transport(_) => libc::EIO,
            ClientError::Server(e) => i32::try_from(*e)
                .ok()
                .filter(|e| *e != 0)
                .unwrap_or(libc::EIO),
            ClientError::Version(_) | ClientError::BadReply(_) => libc::EBADMSG,
        }
    }
}

impl From<IoFail> for ClientError {
    fn from(e: IoFail) -> Self {
        ClientError::Transport(e.errno())
    }
}

impl From<ProtoError> for ClientError {
    fn from(e: ProtoError) -> Self {
        ClientError::BadReply(e.to_string())
    }
}

/// Sends `body` as command `cmd` on `fd` and returns the reply's body.
fn exchange(fd: i32, cmd: u32, body: &[u8], deadline: Instant) -> Result<Vec<u8>, ClientError> {
    sys::send_all(fd, &packet(cmd, 0, body), deadline)?;
    let mut head = [0u8; HEADER_LEN];
    sys::recv_exact(fd, &mut head, false, deadline)?;
    let h = Header::decode(&head)?;
    if h.cmd != cmd {
        return Err(ClientError::BadReply(format!(
            "reply is for command {:#x}, sent {cmd:#x}",
            h.cmd
        )));
    }
    if h.len > MAX_REPLY_LEN {
        return Err(ClientError::BadReply(format!(
            "reply length {} over the {MAX_REPLY_LEN} byte limit",
            h.len
        )));
    }
    // Read in chunks, growing as data arrives, rather than trusting the length up front.
    let len = h.body_len();
    let mut out: Vec<u8> = Vec::with_capacity(len.min(64 * 1024));
    while out.len() < len {
        let start = out.len();
        let n = (len - start).min(1024 * 1024);
        out.resize(start + n, 0);
        let dst = out.get_mut(start..).unwrap_or_default();
        sys::recv_exact(fd, dst, true, deadline)?;
    }
    if h.status != 0 {
        return Err(ClientError::Server(h.status));
    }
    Ok(out)
}

/// Asks the responder at `socket` for command `cmd` (`SUDO_GET_SUDORULES` or
/// `SUDO_GET_DEFAULTS`) about `uid`/`name`, before `deadline`.
pub fn request(
    socket: &Path,
    cmd: u32,
    uid: u32,
    name: &[u8],
    deadline: Instant,
) -> Result<SudoReply, ClientError> {
    if sss_client::env::loops_disabled() {
        return Err(ClientError::Disabled);
    }
    let fd = sys::connect_unix_restarting(socket, deadline)?;
    let raw = fd.as_raw_fd();
    let v = exchange(
        raw,
        Command::GetVersion.code(),
        &SUDO_PROTOCOL_VERSION.to_ne_bytes(),
        deadline,
    )?;
    let version = <[u8; 4]>::try_from(v.as_slice())
        .map(u32::from_ne_bytes)
        .map_err(|_| ClientError::BadReply(format!("GET_VERSION reply of {} bytes", v.len())))?;
    if version != SUDO_PROTOCOL_VERSION {
        return Err(ClientError::Version(version));
    }
    let body = exchange(raw, cmd, &encode_request(uid, name), deadline)?;
    Ok(decode_reply(&body)?)
}
