//! The harness's error type.

use std::path::PathBuf;
use std::time::Duration;

/// Why a fixture could not do what a test asked.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// A file system operation on `path` failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done ("write", "create directory", ...).
        what: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A program could not be started.
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        /// The program (argv[0]).
        program: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A program ran but failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// Exit status description.
        status: String,
        /// What it printed on stderr (trimmed).
        stderr: String,
    },
    /// Something did not happen in time.
    #[error("timed out after {after:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long we waited.
        after: Duration,
    },
    /// A fixture's precondition does not hold (missing tool, artifact, bad argument).
    #[error("{0}")]
    Setup(String),
}

impl HarnessError {
    /// An [`HarnessError::Io`] for `path`.
    pub fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        HarnessError::Io {
            what,
            path: path.into(),
            source,
        }
    }
}

/// Result with a [`HarnessError`].
pub type Result<T> = std::result::Result<T, HarnessError>;
