//! Listening socket and accept loop: admission by uid, then one tokio task per client
//! connection.

use super::admission::Admission;
use super::client::{ClientSettings, CommandHandler, run_client};
use super::peer::PeerCred;
use super::ratelimit::LogLimiter;
use nix::sys::socket::{
    AddressFamily, Backlog, SockFlag, SockType, UnixAddr, bind, listen, socket,
};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;
use tokio::net::UnixListener;

/// Listen backlog, as SSSD.
pub const BACKLOG: i32 = 128;

/// How a responder's client socket is set up.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Socket path (`/var/lib/sss/pipes/nss`).
    pub socket_path: PathBuf,
    /// Socket file mode (0666 for NSS and PAM).
    pub socket_mode: u32,
    /// Mode for parent directories the server has to create (0775 for `pipes/`).
    pub dir_mode: u32,
    /// Supported protocol versions, newest first.
    pub versions: Vec<u32>,
    /// `client_idle_timeout`.
    pub idle_timeout: Duration,
    /// Largest request accepted, header included.
    pub max_request_len: u32,
    /// `allowed_uids`: when set, peers with another uid are disconnected at accept.
    pub allowed_uids: Option<Vec<u32>>,
}

impl ServerConfig {
    /// NSS defaults for `socket_path`: mode 0666, version 1, 60 s idle timeout, 1536 bytes.
    pub fn nss(socket_path: PathBuf) -> ServerConfig {
        ServerConfig {
            socket_path,
            socket_mode: 0o666,
            dir_mode: 0o775,
            versions: vec![sss_proto::command::NSS_PROTOCOL_VERSION],
            idle_timeout: Duration::from_secs(60),
            max_request_len: sss_proto::MAX_REQUEST_LEN,
            allowed_uids: None,
        }
    }
}

/// Why the client socket could not be set up.
#[derive(Debug, Error)]
pub enum ServerError {
    /// File system or socket error, naming the path.
    #[error("socket {path}: {what}: {source}")]
    Io {
        /// The socket or directory path.
        path: String,
        /// What we were doing.
        what: &'static str,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Something that is not a socket is in the way.
    #[error("socket {0}: exists and is not a socket; refusing to remove it")]
    NotASocket(String),
}

fn io_err<'a>(
    path: &'a Path,
    what: &'static str,
) -> impl FnOnce(std::io::Error) -> ServerError + 'a {
    move |source| ServerError::Io {
        path: path.display().to_string(),
        what,
        source,
    }
}

fn nix_err<'a>(path: &'a Path, what: &'static str) -> impl FnOnce(nix::Error) -> ServerError + 'a {
    move |e| ServerError::Io {
        path: path.display().to_string(),
        what,
        source: std::io::Error::from(e),
    }
}

/// Creates the listening socket: parent directories, stale socket removed, mode set,
/// backlog 128. Must run inside a tokio runtime.
pub fn bind_socket(cfg: &ServerConfig) -> Result<UnixListener, ServerError> {
    let path = cfg.socket_path.as_path();
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.exists()
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(cfg.dir_mode)
            .create(parent)
            .map_err(io_err(parent, "creating the directory"))?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => {
            std::fs::remove_file(path).map_err(io_err(path, "removing the stale socket"))?;
        }
        Ok(_) => return Err(ServerError::NotASocket(path.display().to_string())),
        Err(_) => {}
    }
    let fd = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        None,
    )
    .map_err(nix_err(path, "socket()"))?;
    let addr = UnixAddr::new(path).map_err(nix_err(path, "socket address"))?;
    bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &addr).map_err(nix_err(path, "bind()"))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(cfg.socket_mode))
        .map_err(io_err(path, "chmod"))?;
    let backlog = Backlog::new(BACKLOG).map_err(nix_err(path, "backlog"))?;
    listen(&fd, backlog).map_err(nix_err(path, "listen()"))?;
    let std_listener = std::os::unix::net::UnixListener::from(fd);
    UnixListener::from_std(std_listener).map_err(io_err(path, "registering with tokio"))
}

/// How long a request (header and body) or the writing of its reply may take. A client
/// writes a request in one go; one that trickles bytes is closed after this.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A repeated accept or admission warning is logged at most this often.
const WARN_INTERVAL: Duration = Duration::from_secs(10);

/// Accepts clients forever, one task each, each admitted by `admission` (shared by the
/// responder's sockets). Errors from `accept` (for example too many open files) are
/// logged, at most once per ten seconds, and retried after a short pause.
pub async fn serve<H: CommandHandler>(
    listener: UnixListener,
    handler: Arc<H>,
    cfg: &ServerConfig,
    admission: Arc<Admission>,
) {
    let settings = Arc::new(ClientSettings {
        versions: cfg.versions.clone(),
        idle_timeout: cfg.idle_timeout,
        request_timeout: REQUEST_TIMEOUT.min(cfg.idle_timeout),
        max_request_len: cfg.max_request_len,
    });
    // Only root can reach a socket no one else may open (the private PAM socket).
    let privileged_socket = cfg.socket_mode & 0o077 == 0;
    let socket = cfg.socket_path.display().to_string();
    let mut accept_warn = LogLimiter::new(WARN_INTERVAL);
    let mut refuse_warn = LogLimiter::new(WARN_INTERVAL);
    let mut next_id: u64 = 0;
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                if let Some(held_back) = accept_warn.allow(Instant::now()) {
                    tracing::warn!(
                        socket,
                        "accept failed: {e} ({held_back} more since the last warning)"
                    );
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        next_id = next_id.wrapping_add(1);
        let peer = match PeerCred::of(&stream) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(client = next_id, "cannot read SO_PEERCRED: {e}; closing");
                continue;
            }
        };
        if let Some(allowed) = &cfg.allowed_uids
            && !allowed.contains(&peer.uid)
        {
            tracing::warn!(
                client = next_id,
                uid = peer.uid,
                "uid not in allowed_uids; closing"
            );
            continue;
        }
        match admission.admit(next_id, peer.uid, privileged_socket) {
            Ok(ticket) => {
                use tracing::Instrument;
                // Every line about this client carries `[CID#n]`.
                let span = tracing::error_span!("client", cid = next_id);
                tokio::spawn(
                    run_client(
                        handler.clone(),
                        settings.clone(),
                        stream,
                        next_id,
                        peer,
                        ticket,
                    )
                    .instrument(span),
                );
            }
            Err(why) => {
                if let Some(held_back) = refuse_warn.allow(Instant::now()) {
                    let (all, of_uid) = admission.held(peer.uid);
                    tracing::warn!(
                        socket,
                        uid = peer.uid,
                        pid = ?peer.pid,
                        "connection refused: {why} ({of_uid} of this uid, {all} in all; \
                         {held_back} more refused since the last warning)"
                    );
                }
            }
        }
    }
}
