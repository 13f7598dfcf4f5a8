//! Direct (peer-to-peer) D-Bus connections for the hot `getAccountInfo` path.
//!
//! The broker costs about four times the latency of a direct connection, so, as SSSD did
//! before 2.10, each backend also listens on its own socket
//! `<private pipes>/sbus-dp_<domain>` (mode 0600 in the 0700 private directory) and serves
//! `sssd.dataprovider` there without a broker. Responders connect to it lazily, reconnect
//! when the backend restarts, and fall back to the bus when the socket is absent.

use super::{AccountInfoHandler, OBJECT_PATH, SbusError, interfaces};
use crate::paths::Paths;
use std::collections::HashMap;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Mutex;

/// The socket on which the backend of `domain` serves `sssd.dataprovider` directly:
/// `sbus-dp_<domain>` in the private pipes directory, with every byte of the name outside
/// `[A-Za-z0-9.-]` (and a leading dot) written as `_XX`, so that it stays one path component.
pub fn dp_socket_path(paths: &Paths, domain: &str) -> PathBuf {
    let mut name = String::from("sbus-dp_");
    for b in domain.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || (b == b'.' && name.len() > 8) {
            name.push(b as char);
        } else {
            name.push_str(&format!("_{b:02x}"));
        }
    }
    paths.private_pipes.join(name)
}

fn io_err(what: &Path, e: std::io::Error) -> SbusError {
    SbusError::Bus {
        address: what.display().to_string(),
        source: zbus::Error::InputOutput(Arc::new(e)),
    }
}

/// A backend's direct `sssd.dataprovider` listener; dropping it stops accepting and removes
/// the socket (connections already accepted live on until their peer closes them).
#[derive(Debug)]
pub struct DirectServer {
    socket: PathBuf,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for DirectServer {
    fn drop(&mut self) {
        self.accept.abort();
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// Listens on [`dp_socket_path`] for `domain` and serves `sssd.dataprovider` with
/// `handler` to every peer running as our own user (normally root).
pub async fn serve_data_provider_direct(
    paths: &Paths,
    domain: &str,
    handler: Arc<dyn AccountInfoHandler>,
) -> Result<DirectServer, SbusError> {
    let dir = &paths.private_pipes;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| io_err(dir, e))?;
    let socket = dp_socket_path(paths, domain);
    match std::fs::symlink_metadata(&socket) {
        Ok(m) if m.file_type().is_socket() => {
            std::fs::remove_file(&socket).map_err(|e| io_err(&socket, e))?
        }
        Ok(_) => {
            return Err(io_err(
                &socket,
                std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "exists and is not a socket",
                ),
            ));
        }
        Err(_) => {}
    }
    let listener = UnixListener::bind(&socket).map_err(|e| io_err(&socket, e))?;
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| io_err(&socket, e))?;
    let where_ = socket.clone();
    let accept = tokio::spawn(async move {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        loop {
            let stream = match listener.accept().await {
                Ok((s, _)) => s,
                Err(e) => {
                    tracing::warn!("{}: accept: {e}", where_.display());
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            match stream.peer_cred() {
                Ok(c) if c.uid() == me || c.uid() == 0 => {}
                Ok(c) => {
                    tracing::warn!("{}: refused a peer with uid {}", where_.display(), c.uid());
                    continue;
                }
                Err(e) => {
                    tracing::warn!("{}: no peer credentials: {e}", where_.display());
                    continue;
                }
            }
            let handler = handler.clone();
            let where_ = where_.clone();
            tokio::spawn(async move {
                if let Err(e) = serve_peer(stream, handler).await {
                    tracing::warn!("{}: {e}", where_.display());
                }
            });
        }
    });
    Ok(DirectServer { socket, accept })
}

async fn serve_peer(
    stream: UnixStream,
    handler: Arc<dyn AccountInfoHandler>,
) -> Result<(), zbus::Error> {
    let std = stream.into_std()?;
    let conn = zbus::connection::Builder::unix_stream(std)
        .server(zbus::Guid::generate())
        .p2p()
        .serve_at(OBJECT_PATH, interfaces::DataProvider::new(handler))
        .build()
        .await?;
    conn.closed().await;
    Ok(())
}

/// The responder side: one direct connection per backend, opened on first use.
#[derive(Debug)]
pub(crate) struct DirectClients {
    paths: Paths,
    conns: Mutex<HashMap<String, zbus::Connection>>,
}

impl DirectClients {
    pub(crate) fn new(paths: Paths) -> Self {
        DirectClients {
            paths,
            conns: Mutex::new(HashMap::new()),
        }
    }

    /// The open connection to the backend of `domain`, connecting when there is none or the
    /// old one was closed (backend restarted). `None` when the backend has no direct socket
    /// or does not accept: the caller then uses the bus.
    pub(crate) async fn get(&self, domain: &str) -> Option<zbus::Connection> {
        let mut conns = self.conns.lock().await;
        if let Some(c) = conns.get(domain) {
            if !c.is_closed() {
                return Some(c.clone());
            }
            conns.remove(domain);
        }
        let socket = dp_socket_path(&self.paths, domain);
        if !socket.exists() {
            return None;
        }
        let conn = async {
            let s = UnixStream::connect(&socket).await?.into_std()?;
            zbus::connection::Builder::unix_stream(s)
                .p2p()
                .build()
                .await
        };
        match tokio::time::timeout(std::time::Duration::from_secs(2), conn).await {
            Ok(Ok(c)) => {
                tracing::debug!("direct connection to {}", socket.display());
                conns.insert(domain.to_string(), c.clone());
                Some(c)
            }
            Ok(Err(e)) => {
                tracing::info!("{}: {e}; using the bus", socket.display());
                None
            }
            Err(_) => {
                tracing::info!("{}: no answer; using the bus", socket.display());
                None
            }
        }
    }

    /// Forgets `conn` for `domain` after it failed (unless it was replaced already).
    pub(crate) async fn forget(&self, domain: &str, conn: &zbus::Connection) {
        let mut conns = self.conns.lock().await;
        if conns
            .get(domain)
            .is_some_and(|c| c.server_guid() == conn.server_guid())
        {
            conns.remove(domain);
        }
    }
}
