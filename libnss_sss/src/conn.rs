//! One connection to the responder: connect + GET_VERSION handshake, request/reply exchange,
//! and the health checks done before a cached connection is reused.

use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Instant;

use sss_proto::command::NSS_PROTOCOL_VERSION;
use sss_proto::{Command, HEADER_LEN, Header, packet};

use crate::status::NssError;
use crate::sys::{self, IoFail};

/// Largest reply accepted (header included); bigger length fields are treated as garbage.
pub const MAX_REPLY_LEN: u32 = 64 * 1024 * 1024;

/// Bytes asked for by the first read of a reply: header and body of most replies.
const FIRST_READ: usize = 4096;

/// A reply with a valid header for the command that was sent.
#[derive(Debug)]
pub struct Reply {
    /// Header status: 0 or an errno from the responder.
    pub status: u32,
    /// The body after the header.
    pub body: Vec<u8>,
}

/// How an exchange failed.
#[derive(Debug)]
pub enum ExchangeError {
    /// The connection went away before the reply started (EPIPE, reset, EOF):
    /// a fresh connection may succeed.
    Stale(i32),
    /// Anything else; the connection must not be reused.
    Fatal(NssError),
}

impl ExchangeError {
    /// The error to report when no retry is possible.
    pub fn into_error(self) -> NssError {
        match self {
            ExchangeError::Stale(e) => NssError::Transport(e),
            ExchangeError::Fatal(e) => e,
        }
    }
}

/// An open, version-checked connection to a responder socket.
#[derive(Debug)]
pub struct Conn {
    fd: OwnedFd,
    path: PathBuf,
    pid: i32,
    ident: Option<(u64, u64)>,
    /// The responder sent more than the reply it owed: never reuse this connection.
    poisoned: bool,
}

impl Conn {
    /// Connects to `path` and checks the protocol version, all before `deadline`.
    pub fn open(path: &Path, deadline: Instant) -> Result<Conn, NssError> {
        let fd = sys::connect_unix_restarting(path, deadline)
            .map_err(|e| NssError::Transport(e.errno()))?;
        let ident = sys::fd_identity(fd.as_raw_fd());
        let mut conn = Conn {
            fd,
            path: path.to_path_buf(),
            pid: sys::getpid(),
            ident,
            poisoned: false,
        };
        let reply = conn
            .exchange(
                Command::GetVersion,
                &NSS_PROTOCOL_VERSION.to_ne_bytes(),
                deadline,
            )
            .map_err(ExchangeError::into_error)?;
        if reply.status != 0 {
            return Err(NssError::Server(reply.status));
        }
        let version = <[u8; 4]>::try_from(reply.body.as_slice())
            .map(u32::from_ne_bytes)
            .map_err(|_| {
                NssError::BadReply(format!(
                    "GET_VERSION reply body has {} bytes, expected 4",
                    reply.body.len()
                ))
            })?;
        if version != NSS_PROTOCOL_VERSION {
            return Err(NssError::Version(version));
        }
        Ok(conn)
    }

    /// The socket path this connection was opened on.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sends one request and reads its reply, all before `deadline`.
    pub fn exchange(
        &mut self,
        cmd: Command,
        body: &[u8],
        deadline: Instant,
    ) -> Result<Reply, ExchangeError> {
        let fd = self.fd.as_raw_fd();
        let req = packet(cmd.code(), 0, body);
        sys::send_all(fd, &req, deadline).map_err(|e| match e {
            IoFail::Os(libc::EPIPE | libc::ECONNRESET | libc::ENOTCONN) | IoFail::Eof { .. } => {
                ExchangeError::Stale(e.errno())
            }
            _ => ExchangeError::Fatal(NssError::Transport(e.errno())),
        })?;
        // Header and (usually all of) the body arrive in one read.
        let mut first = [0u8; FIRST_READ];
        let stale_or_fatal = |e: IoFail| match e {
            IoFail::Eof { partial: false } | IoFail::Os(libc::ECONNRESET) => {
                ExchangeError::Stale(e.errno())
            }
            _ => ExchangeError::Fatal(NssError::Transport(e.errno())),
        };
        let mut got = sys::recv_some(fd, &mut first, false, deadline).map_err(stale_or_fatal)?;
        if got < HEADER_LEN {
            let rest = first.get_mut(got..HEADER_LEN).unwrap_or_default();
            sys::recv_exact(fd, rest, true, deadline).map_err(stale_or_fatal)?;
            got = HEADER_LEN;
        }
        let fatal = |e: NssError| ExchangeError::Fatal(e);
        let header = Header::decode(first.get(..HEADER_LEN).unwrap_or_default())
            .map_err(|e| fatal(e.into()))?;
        if header.cmd != cmd.code() {
            return Err(fatal(NssError::BadReply(format!(
                "reply is for command {:#x}, sent {:#x}",
                header.cmd,
                cmd.code()
            ))));
        }
        if header.len > MAX_REPLY_LEN {
            return Err(fatal(NssError::BadReply(format!(
                "reply length {} over the {} byte limit",
                header.len, MAX_REPLY_LEN
            ))));
        }
        let len = header.body_len();
        let mut head = first.get(HEADER_LEN..got).unwrap_or_default();
        if head.len() > len {
            // Bytes beyond this reply: answer it, but start over on the next request.
            self.poisoned = true;
            head = head.get(..len).unwrap_or_default();
        }
        let body = read_body(fd, head, len, deadline)
            .map_err(|e| fatal(NssError::Transport(e.errno())))?;
        Ok(Reply {
            status: header.status,
            body,
        })
    }

    /// Checks a cached connection before reuse. Returns it if it is still ours and healthy;
    /// otherwise closes it, or forgets it without closing when the fd number now belongs to
    /// something else (the application closed and reused it).
    pub fn revalidate(self) -> Option<Conn> {
        let fd = self.fd.as_raw_fd();
        if self.ident.is_none() || sys::fd_identity(fd) != self.ident {
            let _ = self.fd.into_raw_fd();
            return None;
        }
        if self.poisoned {
            return None;
        }
        if self.pid != sys::getpid() {
            // Inherited across fork: the parent keeps its own copy; drop ours.
            return None;
        }
        let revents = sys::poll_now(fd);
        if revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL | libc::POLLIN) != 0 {
            // Peer hung up, or sent something unsolicited: start over.
            return None;
        }
        Some(self)
    }
}

/// Reads the `len` body bytes of which `head` already arrived, growing the buffer as data
/// arrives rather than trusting `len` up front.
fn read_body(fd: i32, head: &[u8], len: usize, deadline: Instant) -> Result<Vec<u8>, IoFail> {
    const CHUNK: usize = 64 * 1024;
    let mut body = Vec::with_capacity(len.min(CHUNK).max(head.len()));
    body.extend_from_slice(head);
    while body.len() < len {
        let start = body.len();
        let n = (len - start).min(CHUNK);
        body.resize(start.saturating_add(n), 0);
        let dst = body.get_mut(start..).unwrap_or_default();
        sys::recv_exact(fd, dst, true, deadline)?;
    }
    Ok(body)
}
