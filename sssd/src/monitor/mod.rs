//! The monitor: spawns and restarts backends and responders, hosts the private bus, turns
//! UNIX signals into bus calls.
//!
//! [`run`] is the whole daemon once the configuration is loaded: it hosts the bus, starts
//! one `sssd_be --domain NAME` per domain (in `domains` order), waits for them to register,
//! starts the responders in `services`, writes the pidfile, then supervises until SIGTERM.

pub mod children;
pub mod daemon;
pub mod options;
pub mod pidfile;
pub mod restart;
mod run;
pub mod sd_notify;
pub mod signals;

pub use options::{Command, MonitorOptions};
pub use run::run;

use thiserror::Error;

/// Why the monitor stopped with a failure (exit status 1).
#[derive(Debug, Error)]
pub enum MonitorError {
    /// Another instance runs, or the pidfile cannot be written.
    #[error(transparent)]
    Pidfile(#[from] pidfile::PidfileError),
    /// The private bus could not be hosted.
    #[error(transparent)]
    BusHost(#[from] crate::sbus::BusHostError),
    /// The monitor's own bus connection failed.
    #[error(transparent)]
    Bus(#[from] crate::sbus::SbusError),
    /// A child could not be started.
    #[error("{what}: {source}")]
    Spawn {
        /// Which child.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Children did not register in time.
    #[error("startup timed out: {0} did not register within {1} s")]
    StartupTimeout(String, u64),
    /// A child failed too often.
    #[error("Could not restart critical service {0}: it failed too often")]
    GaveUp(String),
    /// The children's directories could not be handed to `[sssd] user`.
    #[error(transparent)]
    Privilege(#[from] crate::privilege::PrivilegeError),
    /// A signal handler could not be installed.
    #[error("signal handler: {0}")]
    Signal(std::io::Error),
}
