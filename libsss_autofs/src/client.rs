//! One request to the autofs responder: connect, `GET_VERSION` (protocol 1), the request,
//! the reply; all before one deadline.

use sss_client::sys::{self, IoFail};
use sss_proto::autofs::{AUTOFS_PROTOCOL_VERSION, ERR_OFFLINE};
use sss_proto::{Command, HEADER_LEN, Header, packet};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The responder's socket.
pub const DEFAULT_SOCKET: &str = "/var/lib/sss/pipes/autofs";

/// Largest reply accepted (header included).
pub const MAX_REPLY_LEN: u32 = 64 * 1024 * 1024;

/// The socket: `$SSS_AUTOFS_SOCKET` when set (ignored in setuid programs), else
/// [`DEFAULT_SOCKET`].
pub fn socket_path() -> PathBuf {
    sss_client::env::socket_path(c"SSS_AUTOFS_SOCKET", DEFAULT_SOCKET)
}

/// The errno a failed request reports, as SSSD's client: the responder's status
/// (`ERR_OFFLINE` becomes `EHOSTDOWN`), or the socket error.
pub fn status_errno(status: u32) -> i32 {
    if status == ERR_OFFLINE {
        return libc::EHOSTDOWN;
    }
    i32::try_from(status).unwrap_or(libc::EIO)
}

fn io(e: IoFail) -> i32 {
    match e.errno() {
        0 => libc::EIO,
        n => n,
    }
}

/// Reads one reply for `cmd` from `fd`: its status and body.
fn read_reply(fd: i32, cmd: u32, deadline: Instant) -> Result<(u32, Vec<u8>), i32> {
    let mut head = [0u8; HEADER_LEN];
    sys::recv_exact(fd, &mut head, false, deadline).map_err(io)?;
    let h = Header::decode(&head).map_err(|_| libc::EBADMSG)?;
    if h.cmd != cmd || h.len > MAX_REPLY_LEN {
        return Err(libc::EBADMSG);
    }
    let len = h.body_len();
    let mut body = Vec::new();
    const CHUNK: usize = 64 * 1024;
    while body.len() < len {
        let start = body.len();
        body.resize(start.saturating_add((len - start).min(CHUNK)), 0);
        let dst = body.get_mut(start..).unwrap_or_default();
        sys::recv_exact(fd, dst, true, deadline).map_err(io)?;
    }
    Ok((h.status, body))
}

/// Sends `cmd` with `body` to the responder at `path` and returns the reply body, or the
/// errno to report (see [`status_errno`]).
pub fn request(path: &Path, cmd: u32, body: &[u8], deadline: Instant) -> Result<Vec<u8>, i32> {
    let fd = sys::connect_unix(path, deadline).map_err(io)?;
    let raw = fd.as_raw_fd();
    let version = Command::GetVersion.code();
    sys::send_all(
        raw,
        &packet(version, 0, &AUTOFS_PROTOCOL_VERSION.to_ne_bytes()),
        deadline,
    )
    .map_err(io)?;
    let (status, v) = read_reply(raw, version, deadline)?;
    if status != 0 {
        return Err(status_errno(status));
    }
    if v.as_slice() != AUTOFS_PROTOCOL_VERSION.to_ne_bytes() {
        return Err(libc::EBADMSG);
    }
    sys::send_all(raw, &packet(cmd, 0, body), deadline).map_err(io)?;
    let (status, reply) = read_reply(raw, cmd, deadline)?;
    if status != 0 {
        return Err(status_errno(status));
    }
    Ok(reply)
}
