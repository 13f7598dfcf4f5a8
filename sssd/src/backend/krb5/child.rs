//! Running a helper program: request on stdin, reply from stdout, stderr to the log,
//! SIGKILL on timeout.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use thiserror::Error;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

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

/// Where the helpers log, and for which domain (set once by `sssd_be`).
static LOGGING: OnceLock<(crate::logging::Logger, String)> = OnceLock::new();

/// Makes every helper started from now on log as SSSD's do: at this process's debug level
/// and line layout, tagged with `domain`; with `--logger=files` into
/// `<log dir>/<helper>.log` (`krb5_child.log`, `ldap_child.log`), with `stderr` to this
/// process's standard error, with `journald` to the journal. Until this is called, a
/// helper's standard error is read and logged by this process.
pub fn configure_logging(logger: crate::logging::Logger, domain: &str) {
    let _ = LOGGING.set((logger, domain.to_string()));
}

/// The logging options passed to a helper (see [`configure_logging`]).
pub fn log_args(logger: &crate::logging::Logger, domain: &str) -> Vec<String> {
    use crate::logging::{LineFormat, Logger, current_debug_level};
    let format = LineFormat::current();
    vec![
        format!("--debug-level={:#06x}", current_debug_level()),
        format!("--debug-timestamps={}", u8::from(format.timestamps)),
        format!("--debug-microseconds={}", u8::from(format.microseconds)),
        match logger {
            Logger::Stderr => "--logger=stderr",
            Logger::Files(_) => "--logger=files",
            Logger::Journald => "--logger=journald",
        }
        .to_string(),
        format!("--domain={domain}"),
    ]
}

/// The logging options of every helper started from now on (see [`configure_logging`]).
pub fn helper_log_args() -> Vec<String> {
    LOGGING
        .get()
        .map(|(logger, domain)| log_args(logger, domain))
        .unwrap_or_default()
}

/// The standard error of a helper: its log file, this process's standard error, or a
/// pipe this process reads (see [`configure_logging`]).
pub fn helper_stderr(program: &Path) -> Stdio {
    use crate::logging::Logger;
    match LOGGING.get() {
        Some((Logger::Files(dir), _)) => {
            let name = program
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "child".to_string());
            let path = dir.join(format!("{name}.log"));
            use std::os::unix::fs::OpenOptionsExt;
            match std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(&path)
            {
                Ok(f) => Stdio::from(f),
                Err(e) => {
                    tracing::warn!("cannot open {}: {e}", path.display());
                    Stdio::piped()
                }
            }
        }
        Some(_) => Stdio::inherit(),
        None => Stdio::piped(),
    }
}

/// Starts `program` with piped stdin and stdout, killed when dropped; its standard error
/// as [`helper_stderr`] says.
fn spawn(program: &Path) -> Result<Child, ChildError> {
    let args = LOGGING
        .get()
        .map(|(logger, domain)| log_args(logger, domain))
        .unwrap_or_default();
    Command::new(program)
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(helper_stderr(program))
        .env_remove("KRB5CCNAME")
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| ChildError::Spawn {
            program: program.display().to_string(),
            source,
        })
}

/// Runs `program` with `request` on stdin and returns its stdout, read until the program
/// closes it (it is reaped in the background); kills it (SIGKILL) after `timeout`. Each
/// stderr line is logged at `info` level prefixed with the program name (helpers never
/// print secrets).
pub async fn run(program: &Path, request: &[u8], timeout: Duration) -> Result<Vec<u8>, ChildError> {
    let child = spawn(program)?;
    exchange(program, child, request, timeout).await
}

/// Idle helpers started ahead of need, one per program path.
static WARM: Mutex<Vec<(PathBuf, Child)>> = Mutex::new(Vec::new());

/// Takes the idle helper for `program` if it is still alive, and starts the next one.
fn take_spare(program: &Path) -> Option<Child> {
    let mut warm = WARM.lock().unwrap_or_else(|e| e.into_inner());
    let taken = warm.iter().position(|(p, _)| p == program).and_then(|at| {
        let (_, mut child) = warm.swap_remove(at);
        // One that exited (or cannot be checked) is dropped: killed and forgotten.
        matches!(child.try_wait(), Ok(None)).then_some(child)
    });
    match spawn(program) {
        Ok(child) => warm.push((program.to_path_buf(), child)),
        Err(e) => tracing::warn!("cannot start a spare helper: {e}"),
    }
    taken
}

/// [`run`], but with a helper started ahead of time: the one waiting for `program` is
/// used if it is alive (else a new one is started), and a spare is started at once for
/// the next request, so exec, dynamic linking and the helper's own warm-up happen off the
/// request's path. An idle helper waits on stdin and exits when this process closes it.
pub async fn run_warm(
    program: &Path,
    request: &[u8],
    timeout: Duration,
) -> Result<Vec<u8>, ChildError> {
    let child = match take_spare(program) {
        Some(c) => c,
        None => spawn(program)?,
    };
    exchange(program, child, request, timeout).await
}

/// How long a helper that has replied may take to exit before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(5);

/// Writes `request` to `child` and reads its reply up to end of file, within `timeout`.
/// A helper that replied is reaped in the background (it may still be exiting); one
/// without a reply is waited for, to report how it ended.
async fn exchange(
    program: &Path,
    mut child: Child,
    request: &[u8],
    timeout: Duration,
) -> Result<Vec<u8>, ChildError> {
    let name = program.display().to_string();
    if let Some(stderr) = child.stderr.take() {
        tokio::spawn(log_lines(name.clone(), stderr));
    }
    let mut stdin = child.stdin.take();
    let stdout = child.stdout.take();
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
            o.take(MAX_REPLY).read_to_end(&mut out).await?;
        }
        if out.is_empty() {
            // No reply: its exit status says why.
            let status = child.wait().await?;
            return Ok((out, Some(status)));
        }
        Ok::<_, std::io::Error>((out, None))
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(Ok((out, status))) if out.is_empty() => Err(ChildError::NoReply {
            program: name,
            status: status.map_or_else(|| "unknown".to_owned(), |s| s.to_string()),
        }),
        Ok(Ok((out, _))) => {
            tokio::spawn(reap(name, child));
            Ok(out)
        }
        Ok(Err(source)) => {
            let _ = child.start_kill();
            let _ = child.wait().await;
            Err(ChildError::Io {
                program: name,
                source,
            })
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

/// Logs each line a helper writes to stderr, prefixed with its name, until it closes it.
async fn log_lines(name: String, stderr: tokio::process::ChildStderr) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::info!("{name}: {line}");
    }
}

/// Waits for a helper that has replied to exit (killing it after [`EXIT_GRACE`]).
async fn reap(name: String, mut child: Child) {
    match tokio::time::timeout(EXIT_GRACE, child.wait()).await {
        Ok(Ok(status)) if !status.success() => {
            tracing::warn!("{name} exited with {status} after replying");
        }
        Ok(_) => {}
        Err(_) => {
            tracing::warn!("{name} replied but did not exit; killing it");
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }
}
