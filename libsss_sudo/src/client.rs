//! One request to the sudo responder: connect, GET_VERSION, the request, the reply.

use sss_client::sys::{self, IoFail};
use sss_proto::sudo::{SUDO_PROTOCOL_VERSION, SudoReply, decode_reply, encode_request};
use sss_proto::{Command, HEADER_LEN, Header, ProtoError, packet};
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
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

/// The connection kept between calls, as SSSD's client keeps it: sudo asks again after it
/// dropped root (the responder's socket is root-only, mode 0600), so later requests must
/// reuse the connection made while it was root.
struct Kept {
    fd: OwnedFd,
    path: PathBuf,
    pid: i32,
    ident: Option<(u64, u64)>,
}

static KEPT: Mutex<Option<Kept>> = Mutex::new(None);

impl Kept {
    /// The kept connection if it is still ours, for `path`, in this process and healthy.
    fn reusable(self, path: &Path) -> Option<Kept> {
        let fd = self.fd.as_raw_fd();
        if self.ident.is_none() || sys::fd_identity(fd) != self.ident {
            // The program closed and reused the descriptor: not ours to close.
            let _ = self.fd.into_raw_fd();
            return None;
        }
        if self.pid != sys::getpid() || self.path != path {
            return None;
        }
        let revents = sys::poll_now(fd);
        if revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL | libc::POLLIN) != 0 {
            return None;
        }
        Some(self)
    }
}

fn open(socket: &Path, deadline: Instant) -> Result<Kept, ClientError> {
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
    Ok(Kept {
        ident: sys::fd_identity(raw),
        fd,
        path: socket.to_path_buf(),
        pid: sys::getpid(),
    })
}

/// Asks the responder at `socket` for command `cmd` (`SUDO_GET_SUDORULES` or
/// `SUDO_GET_DEFAULTS`) about `uid`/`name`, before `deadline`. Reuses the connection of an
/// earlier call when it is still good; a reused one that fails is replaced once.
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
    let mut slot = KEPT.lock().unwrap_or_else(|e| e.into_inner());
    let body = encode_request(uid, name);
    let mut attempt = slot.take().and_then(|k| k.reusable(socket));
    for _ in 0..2 {
        let reused = attempt.is_some();
        let conn = match attempt.take() {
            Some(c) => c,
            None => open(socket, deadline)?,
        };
        match exchange(conn.fd.as_raw_fd(), cmd, &body, deadline) {
            Ok(reply) => {
                *slot = Some(conn);
                return Ok(decode_reply(&reply)?);
            }
            Err(ClientError::Transport(_)) if reused => continue,
            Err(e) => return Err(e),
        }
    }
    Err(ClientError::Transport(libc::EPIPE))
}
