//! One PAM request to the responder: choose and vet the socket, connect, check the peer,
//! negotiate protocol version 3, send the command and read its reply. A fresh connection per
//! request (closed afterwards) keeps the module fork-safe and free of shared state.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use sss_proto::{Command, HEADER_LEN, Header, packet};

use crate::sys::{self, IoFail};
use sss_client::env::{choose_socket, getenv, loops_disabled, secure_mode};

/// Public PAM responder socket (mode 0666).
pub const PUBLIC_SOCKET: &str = "/var/lib/sss/pipes/pam";
/// Privileged PAM responder socket used by root callers (mode 0600, SSSD before 2.10).
pub const PRIVATE_SOCKET: &str = "/var/lib/sss/pipes/private/pam";
/// PAM protocol version this client speaks.
pub const PAM_VERSION: u32 = 3;
/// Total time one request may take, connect and handshake included. SSSD allows 300 s per
/// poll; like our NSS module we bound the whole exchange instead.
pub const REQUEST_TIMEOUT: Duration = sss_client::REQUEST_TIMEOUT;
/// Largest reply accepted (header included).
pub const MAX_REPLY_LEN: u32 = 16 * 1024 * 1024;

/// SSSD's client error code for a socket with wrong type, owner or mode.
pub const ESSS_BAD_SOCKET: i32 = 0x1001;
/// SSSD's client error code for a server not running as the trusted user.
pub const ESSS_SERVER_NOT_TRUSTED: i32 = 0x1003;

/// Why a request did not produce a reply body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// `_SSS_LOOPS=NO` is set: this process must not call SSSD.
    #[error("SSSD calls are disabled in this process (_SSS_LOOPS=NO)")]
    Disabled,
    /// The socket file does not exist (the PAM responder is not configured).
    #[error("socket {0} does not exist")]
    Missing(PathBuf),
    /// The socket file is not a socket, or has the wrong owner or mode.
    #[error("socket {path} has wrong type, ownership or permissions: {detail}")]
    BadSocket {
        /// The socket path.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
    /// The process serving the socket is not the trusted user.
    #[error("SSSD is not run by the trusted user: peer of {path} is uid {uid} gid {gid}")]
    NotTrusted {
        /// The socket path.
        path: PathBuf,
        /// Peer uid.
        uid: u32,
        /// Peer gid.
        gid: u32,
    },
    /// A socket operation failed with this errno.
    #[error("talking to {path} failed: {}", std::io::Error::from_raw_os_error(*errno))]
    Io {
        /// The socket path.
        path: PathBuf,
        /// The errno (ETIMEDOUT on deadline).
        errno: i32,
    },
    /// The responder answered with a non-zero header status.
    #[error("responder on {path} returned error status {status}")]
    Server {
        /// The socket path.
        path: PathBuf,
        /// The errno from the header.
        status: u32,
    },
    /// The responder does not speak protocol version 3.
    #[error("responder on {path} offered PAM protocol version {version}, need 3")]
    Version {
        /// The socket path.
        path: PathBuf,
        /// The version it replied with.
        version: u32,
    },
    /// The reply did not make sense.
    #[error("bad reply from {path}: {detail}")]
    BadReply {
        /// The socket path.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
}

impl ClientError {
    /// SSSD's numeric error for this failure (for log messages and tests).
    pub fn code(&self) -> i32 {
        match self {
            ClientError::Disabled => libc::EPERM,
            ClientError::Missing(_) => libc::ENOENT,
            ClientError::BadSocket { .. } => ESSS_BAD_SOCKET,
            ClientError::NotTrusted { .. } => ESSS_SERVER_NOT_TRUSTED,
            ClientError::Io { errno, .. } => *errno,
            ClientError::Server { status, .. } => i32::try_from(*status).unwrap_or(libc::EIO),
            ClientError::Version { .. } | ClientError::BadReply { .. } => libc::EBADMSG,
        }
    }
}

/// How one attempt at a request failed.
#[derive(Debug)]
enum Attempt {
    /// The connection broke after the request was sent (or while sending it) and before
    /// any reply: the responder went away. `before_command` when it was still the version
    /// exchange, so the command itself never left.
    Unanswered {
        error: ClientError,
        before_command: bool,
    },
    /// Any other failure: not worth a second attempt.
    Failed(ClientError),
}

impl Attempt {
    fn into_error(self) -> ClientError {
        match self {
            Attempt::Unanswered { error, .. } | Attempt::Failed(error) => error,
        }
    }

    fn before_command(self) -> Attempt {
        match self {
            Attempt::Unanswered { error, .. } => Attempt::Unanswered {
                error,
                before_command: true,
            },
            f => f,
        }
    }
}

/// Who must own the socket file and run the server, and what mode the file must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trust {
    /// Required owner of the socket file and uid of the peer.
    pub uid: u32,
    /// Required group of the socket file and gid of the peer.
    pub gid: u32,
    /// Required permission bits of the socket file.
    pub perm: u32,
}

/// Where and how to reach the PAM responder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// Socket path.
    pub path: PathBuf,
    /// Ownership requirements.
    pub trust: Trust,
    /// Total time for one request.
    pub timeout: Duration,
    /// `_SSS_LOOPS=NO` was set.
    pub disabled: bool,
}

impl ClientConfig {
    /// The configuration SSSD's pam_sss uses: root callers (real uid and gid 0) use the
    /// privileged socket (0600), others the public one (0666); both must belong to root and be
    /// served by root. `SSS_PAM_PRIV_SOCKET` / `SSS_PAM_SOCKET` override the paths outside
    /// setuid programs (for tests).
    pub fn from_env() -> ClientConfig {
        let (uid, gid) = sys::real_ids();
        let secure = secure_mode();
        let (var, default, perm) = if uid == 0 && gid == 0 {
            (c"SSS_PAM_PRIV_SOCKET", PRIVATE_SOCKET, 0o600)
        } else {
            (c"SSS_PAM_SOCKET", PUBLIC_SOCKET, 0o666)
        };
        ClientConfig {
            path: choose_socket(getenv(var), secure, default),
            trust: Trust {
                uid: 0,
                gid: 0,
                perm,
            },
            timeout: REQUEST_TIMEOUT,
            disabled: loops_disabled(),
        }
    }

    /// Sends `cmd` with `body` and returns the reply body.
    ///
    /// When the responder goes away with the request unanswered (it was killed and the
    /// monitor restarts it), the request is sent once more on a new connection, within the
    /// same deadline, unless it is a password change: a change the dying responder had
    /// already passed on must not be attempted twice with the old password.
    pub fn request(&self, cmd: Command, body: &[u8]) -> Result<Vec<u8>, ClientError> {
        if self.disabled {
            return Err(ClientError::Disabled);
        }
        let deadline = sss_client::deadline_after(self.timeout);
        match self.request_once(cmd, body, deadline) {
            Err(Attempt::Unanswered { before_command, .. })
                if before_command || cmd != Command::PamChAuthTok =>
            {
                self.request_once(cmd, body, deadline)
                    .map_err(Attempt::into_error)
            }
            r => r.map_err(Attempt::into_error),
        }
    }

    /// One connection, version exchange and request.
    fn request_once(
        &self,
        cmd: Command,
        body: &[u8],
        deadline: Instant,
    ) -> Result<Vec<u8>, Attempt> {
        let fd = self.connect(deadline).map_err(Attempt::Failed)?;
        let version = self
            .exchange(
                &fd,
                Command::GetVersion,
                &PAM_VERSION.to_ne_bytes(),
                deadline,
            )
            .map_err(|a| a.before_command())?;
        let got = <[u8; 4]>::try_from(version.as_slice())
            .map(u32::from_ne_bytes)
            .map_err(|_| {
                Attempt::Failed(self.bad(format!("GET_VERSION reply has {} bytes", version.len())))
            })?;
        if got != PAM_VERSION {
            return Err(Attempt::Failed(ClientError::Version {
                path: self.path.clone(),
                version: got,
            }));
        }
        self.exchange(&fd, cmd, body, deadline)
    }

    fn io(&self, e: IoFail) -> ClientError {
        ClientError::Io {
            path: self.path.clone(),
            errno: e.errno(),
        }
    }

    fn bad(&self, detail: String) -> ClientError {
        ClientError::BadReply {
            path: self.path.clone(),
            detail,
        }
    }

    /// Vets the socket file, connects and checks the peer.
    fn connect(&self, deadline: Instant) -> Result<OwnedFd, ClientError> {
        let info = match sys::lstat(&self.path) {
            Ok(i) => i,
            Err(IoFail::Os(libc::ENOENT)) => return Err(ClientError::Missing(self.path.clone())),
            Err(e) => return Err(self.io(e)),
        };
        let t = self.trust;
        if !info.is_socket || info.uid != t.uid || info.gid != t.gid || info.perm != t.perm {
            return Err(ClientError::BadSocket {
                path: self.path.clone(),
                detail: format!(
                    "{} owned by {}:{} mode {:o}, need a socket owned by {}:{} mode {:o}",
                    if info.is_socket {
                        "socket"
                    } else {
                        "not a socket"
                    },
                    info.uid,
                    info.gid,
                    info.perm,
                    t.uid,
                    t.gid,
                    t.perm
                ),
            });
        }
        let fd = sys::connect_unix_restarting(&self.path, deadline).map_err(|e| match e {
            IoFail::Os(libc::ENOENT) => ClientError::Missing(self.path.clone()),
            e => self.io(e),
        })?;
        let (uid, gid) = sys::peer_cred(fd.as_raw_fd()).map_err(|e| self.io(e))?;
        if uid != t.uid || gid != t.gid {
            return Err(ClientError::NotTrusted {
                path: self.path.clone(),
                uid,
                gid,
            });
        }
        Ok(fd)
    }

    /// One request/reply on `fd`; a non-zero header status is an error.
    fn exchange(
        &self,
        fd: &OwnedFd,
        cmd: Command,
        body: &[u8],
        deadline: Instant,
    ) -> Result<Vec<u8>, Attempt> {
        let raw = fd.as_raw_fd();
        let unanswered = |e: IoFail| match e {
            IoFail::Eof { partial: false } | IoFail::Os(libc::EPIPE | libc::ECONNRESET) => {
                Attempt::Unanswered {
                    error: self.io(e),
                    before_command: false,
                }
            }
            e => Attempt::Failed(self.io(e)),
        };
        let mut req = zeroize::Zeroizing::new(packet(cmd.code(), 0, body));
        sys::send_all(raw, &req, deadline).map_err(unanswered)?;
        zeroize::Zeroize::zeroize(&mut *req);
        let mut head = [0u8; HEADER_LEN];
        sys::recv_exact(raw, &mut head, deadline).map_err(unanswered)?;
        self.finish_reply(raw, cmd, &head, deadline)
            .map_err(Attempt::Failed)
    }

    /// Checks the reply header `head` to `cmd` and reads its body.
    fn finish_reply(
        &self,
        raw: std::os::fd::RawFd,
        cmd: Command,
        head: &[u8; HEADER_LEN],
        deadline: Instant,
    ) -> Result<Vec<u8>, ClientError> {
        let header = Header::decode(head).map_err(|e| self.bad(e.to_string()))?;
        if header.cmd != cmd.code() {
            return Err(self.bad(format!(
                "reply is for command {:#x}, sent {:#x}",
                header.cmd,
                cmd.code()
            )));
        }
        if header.len > MAX_REPLY_LEN {
            return Err(self.bad(format!("reply length {} is too large", header.len)));
        }
        let mut out = vec![0u8; header.body_len()];
        sys::recv_exact(raw, &mut out, deadline).map_err(|e| self.io(e))?;
        if header.status != 0 {
            return Err(ClientError::Server {
                path: self.path.clone(),
                status: header.status,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn override_ignored_when_secure_or_empty() {
        let o = Some(b"/tmp/x/pam".to_vec());
        assert_eq!(
            choose_socket(o.clone(), false, PUBLIC_SOCKET),
            PathBuf::from("/tmp/x/pam")
        );
        assert_eq!(
            choose_socket(o, true, PUBLIC_SOCKET),
            PathBuf::from(PUBLIC_SOCKET)
        );
        assert_eq!(
            choose_socket(Some(Vec::new()), false, PRIVATE_SOCKET),
            PathBuf::from(PRIVATE_SOCKET)
        );
    }

    #[test]
    fn real_config_requires_root() {
        let c = ClientConfig::from_env();
        assert_eq!((c.trust.uid, c.trust.gid), (0, 0));
        assert!(c.trust.perm == 0o600 || c.trust.perm == 0o666);
    }
}
