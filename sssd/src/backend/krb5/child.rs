//! Running a helper program: request on stdin, reply from stdout, stderr to the log,
//! SIGKILL on timeout.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use thiserror::Error;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

/// Largest reply read from a helper.
pub const MAX_REPLY: u64 = 1024 * 1024;

/// Why a helper run failed.
#[derive(Debug, Error)]
pub enum ChildError {
    /// The program could not be started.
    #[error("cannot start {program}: {source}")]
    Spawn {
        /// The program path.
        program: String,
        /// The error.
        source: std::io::Error,
    },
    /// Reading or writing its pipes failed.
    #[error("{program}: pipe error: {source}")]
    Io {
        /// The program path.
        program: String,
        /// The error.
        source: std::io::Error,
    },
    /// It did not finish in time and was killed.
    #[error("{program} did not answer within {secs} s and was killed")]
    Timeout {
        /// The program path.
        program: String,
        /// The timeout.
        secs: u64,
    },
    /// It ended without a reply (crash or error exit).
    #[error("{program} exited ({status}) without a reply")]
    NoReply {
        /// The program path.
        program: String,
        /// Its exit status.
        status: String,
    },
}

/// Runs `program` with `request` on stdin and returns its stdout (read to EOF) once it
/// exited; kills it (SIGKILL) after `timeout`. Each stderr line is logged at `info` level
/// prefixed with the program name (helpers never print secrets).
pub async fn run(program: &Path, request: &[u8], timeout: Duration) -> Result<Vec<u8>, ChildError> {
    let name = program.display().to_string();
    let mut child = Command::new(program)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("KRB5CCNAME")
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| ChildError::Spawn {
            program: name.clone(),
            source,
        })?;
    let io_err = |source| ChildError::Io {
        program: name.clone(),
        source,
    };
    let mut stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let log_name = name.clone();
    let log = async move {
        if let Some(err) = stderr {
            let mut lines = BufReader::new(err).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::info!("{log_name}: {line}");
            }
        }
    };
    let work = async {
        if let Some(mut s) = stdin.take() {
            // A helper that fails early may close stdin first: its reply still counts.
            let written = match s.write_all(request).await {
                Ok(()) => s.shutdown().await,
                Err(e) => Err(e),
            };
            if let Err(e) = written {
                tracing::warn!("{name}: cannot write the whole request: {e}");
            }
            drop(s);
        }
        let mut out = Vec::new();
        if let Some(o) = stdout {
            o.take(MAX_REPLY)
                .read_to_end(&mut out)
                .await
                .map_err(io_err)?;
        }
        let status = child.wait().await.map_err(io_err)?;
        Ok::<_, ChildError>((out, status))
    };
    let both = async { tokio::join!(work, log).0 };
    match tokio::time::timeout(timeout, both).await {
        Ok(Ok((out, status))) => {
            if out.is_empty() {
                Err(ChildError::NoReply {
                    program: name,
                    status: status.to_string(),
                })
            } else {
                if !status.success() {
                    tracing::warn!("{name} exited with {status} after replying");
                }
                Ok(out)
            }
        }
        Ok(Err(e)) => {
            let _ = child.start_kill();
            let _ = child.wait().await;
            Err(e)
        }
        Err(_) => {
            // SIGKILL by the PID tokio holds; then reap it.
            let _ = child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(1), child.wait()).await;
            Err(ChildError::Timeout {
                program: name,
                secs: timeout.as_secs(),
            })
        }
    }
}
