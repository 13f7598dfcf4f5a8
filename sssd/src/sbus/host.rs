//! The embedded bus broker (busd) the monitor hosts at `Paths::bus_socket()`.
//!
//! busd runs on zbus's own runtime (zruntime), not on tokio, so it gets a dedicated thread
//! that drives it with `zruntime::block_on`.

use crate::paths::Paths;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;
use thiserror::Error;

/// How long [`BusHost::start`] waits for the broker to listen.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the bus could not be hosted.
#[derive(Debug, Error)]
pub enum BusHostError {
    /// Preparing the socket directory or removing a stale socket failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The broker failed to start.
    #[error("private bus {address}: {message}")]
    Broker {
        /// The bus address.
        address: String,
        /// What went wrong.
        message: String,
    },
}

/// A running embedded broker. The broker lives until the process exits; dropping this
/// value removes the socket file.
#[derive(Debug)]
pub struct BusHost {
    socket: PathBuf,
    address: String,
}

impl BusHost {
    /// Creates the private pipes directory (mode 0700), removes a stale socket and starts
    /// the broker at `paths.bus_address()`. Returns once it accepts connections.
    pub fn start(paths: &Paths) -> Result<BusHost, BusHostError> {
        prepare_private_dir(&paths.private_pipes)?;
        let socket = paths.bus_socket();
        remove_stale_socket(&socket)?;
        let address = paths.bus_address();
        let (tx, rx) = mpsc::channel::<Result<(), String>>();
        let thread_address = address.clone();
        std::thread::Builder::new()
            .name("sbus-broker".into())
            .spawn(move || {
                zruntime::block_on(async move {
                    match busd::bus::Bus::for_address(Some(&thread_address)).await {
                        Ok(mut bus) => {
                            let _ = tx.send(Ok(()));
                            if let Err(e) = bus.run().await {
                                tracing::error!("private bus {thread_address} stopped: {e:#}");
                            }
                        }
                        Err(e) => {
                            let _ = tx.send(Err(format!("{e:#}")));
                        }
                    }
                })
            })
            .map_err(|e| BusHostError::Broker {
                address: address.clone(),
                message: format!("cannot start the broker thread: {e}"),
            })?;
        let broker = |message: String| BusHostError::Broker {
            address: address.clone(),
            message,
        };
        match rx.recv_timeout(START_TIMEOUT) {
            Ok(Ok(())) => {}
            Ok(Err(message)) => return Err(broker(message)),
            Err(_) => return Err(broker("the broker did not start in time".into())),
        }
        Ok(BusHost { socket, address })
    }

    /// The address clients connect to.
    pub fn address(&self) -> &str {
        &self.address
    }
}

impl Drop for BusHost {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// Creates `dir` (and parents) and forces mode 0700 on it.
fn prepare_private_dir(dir: &Path) -> Result<(), BusHostError> {
    let io = |source| BusHostError::Io {
        path: dir.display().to_string(),
        source,
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)
}

/// Removes a socket left behind by a previous run; refuses to remove anything else.
fn remove_stale_socket(socket: &Path) -> Result<(), BusHostError> {
    let io = |source| BusHostError::Io {
        path: socket.display().to_string(),
        source,
    };
    match std::fs::symlink_metadata(socket) {
        Ok(meta) if meta.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(socket).is_ok() {
                return Err(io(std::io::Error::new(
                    std::io::ErrorKind::AddrInUse,
                    "another bus is listening there (is sssd already running?)",
                )));
            }
            std::fs::remove_file(socket).map_err(io)
        }
        Ok(_) => Err(io(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "exists and is not a socket",
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_sockets_go_live_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sock");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let err = remove_stale_socket(&path).unwrap_err();
        assert!(err.to_string().contains("already running"), "{err}");
        drop(listener);
        remove_stale_socket(&path).unwrap();
        assert!(!path.exists());
        std::fs::write(&path, "x").unwrap();
        assert!(remove_stale_socket(&path).is_err());
        assert!(path.exists());
    }
}
