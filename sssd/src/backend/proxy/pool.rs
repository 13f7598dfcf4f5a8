//! The `proxy_child` processes that call the NSS module: a small pool of long-lived
//! helpers, one request at a time each, every request with a deadline. A helper that
//! misses the deadline is killed (by PID) and one that dies or sends bytes that do not
//! decode is dropped; the next request starts a fresh one. The failing request gets an
//! error, the others are served by the other helpers meanwhile.

use sss_proto::proxy::{MAX_FRAME, NssReply, NssRequest, frame, frame_len};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use thiserror::Error;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::Semaphore;

/// How long one NSS call (or a helper's start) may take before the helper is killed.
pub const CALL_DEADLINE: Duration = Duration::from_secs(10);

/// How many NSS helpers run at once (requests beyond that wait for a free one).
pub const POOL_SIZE: usize = 4;

/// Why a request to the NSS helper failed.
#[derive(Debug, Error)]
pub enum PoolError {
    /// The helper could not be started.
    #[error("cannot start {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The error.
        source: std::io::Error,
    },
    /// The helper did not answer in time and was killed.
    #[error("proxy_child (pid {pid}) did not answer within {secs} s and was killed")]
    Timeout {
        /// Its PID.
        pid: u32,
        /// The deadline.
        secs: u64,
    },
    /// The helper died or closed its pipe (a crash in the NSS module).
    #[error("proxy_child (pid {pid}) ended without an answer: {detail}")]
    Died {
        /// Its PID.
        pid: u32,
        /// What was seen.
        detail: String,
    },
    /// The helper sent bytes that are not a valid answer.
    #[error("proxy_child (pid {pid}) sent a malformed answer: {detail}")]
    Malformed {
        /// Its PID.
        pid: u32,
        /// The decoding error.
        detail: String,
    },
    /// The helper could not load the module.
    #[error("proxy_child cannot use the NSS module: {0}")]
    Module(String),
}

/// One running helper.
struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
    pid: u32,
}

/// Why an exchange with a worker failed (before it is turned into a [`PoolError`]).
enum Fault {
    Io(std::io::Error),
    Malformed(String),
}

impl Worker {
    async fn send(&mut self, body: &[u8]) -> Result<(), Fault> {
        self.stdin
            .write_all(&frame(body))
            .await
            .map_err(Fault::Io)?;
        self.stdin.flush().await.map_err(Fault::Io)
    }

    async fn receive(&mut self) -> Result<NssReply, Fault> {
        let mut header = [0u8; 4];
        self.stdout
            .read_exact(&mut header)
            .await
            .map_err(Fault::Io)?;
        let len = frame_len(header, MAX_FRAME).map_err(|e| Fault::Malformed(e.to_string()))?;
        let mut body = Vec::new();
        body.try_reserve_exact(len)
            .map_err(|e| Fault::Malformed(e.to_string()))?;
        body.resize(len, 0);
        self.stdout.read_exact(&mut body).await.map_err(Fault::Io)?;
        NssReply::decode(&body).map_err(|e| Fault::Malformed(e.to_string()))
    }

    async fn call(&mut self, req: &NssRequest) -> Result<NssReply, Fault> {
        self.send(&req.encode()).await?;
        self.receive().await
    }

    /// SIGKILL by PID, reaped in the background.
    fn kill(mut self) {
        let _ = self.child.start_kill();
        tokio::spawn(async move {
            let _ = self.child.wait().await;
        });
    }
}

/// The pool of NSS helpers of one proxy domain.
pub struct NssPool {
    program: PathBuf,
    lib: String,
    deadline: Duration,
    idle: Mutex<Vec<Worker>>,
    slots: Semaphore,
    started: AtomicU64,
    killed: AtomicU64,
}

impl NssPool {
    /// A pool running `program --nss-lib <lib>`; nothing is started before the first call.
    pub fn new(program: PathBuf, lib: &str, size: usize, deadline: Duration) -> NssPool {
        NssPool {
            program,
            lib: lib.to_string(),
            deadline,
            idle: Mutex::new(Vec::new()),
            slots: Semaphore::new(size.max(1)),
            started: AtomicU64::new(0),
            killed: AtomicU64::new(0),
        }
    }

    /// Helpers started so far.
    pub fn started(&self) -> u64 {
        self.started.load(Ordering::Relaxed)
    }

    /// Helpers killed or lost so far (hangs, crashes, garbage).
    pub fn lost(&self) -> u64 {
        self.killed.load(Ordering::Relaxed)
    }

    /// PIDs of the idle helpers.
    pub fn idle_pids(&self) -> Vec<u32> {
        self.idle
            .lock()
            .map(|v| v.iter().map(|w| w.pid).collect())
            .unwrap_or_default()
    }

    fn program_name(&self) -> String {
        self.program.display().to_string()
    }

    async fn spawn(&self) -> Result<Worker, PoolError> {
        let mut child = Command::new(&self.program)
            .arg("--nss-lib")
            .arg(&self.lib)
            .args(crate::backend::krb5::child::helper_log_args())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(crate::backend::krb5::child::helper_stderr(&self.program))
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| PoolError::Spawn {
                program: self.program_name(),
                source,
            })?;
        if let Some(err) = child.stderr.take() {
            tokio::spawn(async move {
                let mut lines = BufReader::new(err).lines();
                while let Ok(Some(l)) = lines.next_line().await {
                    tracing::info!("proxy_child: {l}");
                }
            });
        }
        let pid = child.id().unwrap_or(0);
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(PoolError::Died {
                pid,
                detail: "no pipes".into(),
            });
        };
        self.started.fetch_add(1, Ordering::Relaxed);
        let mut w = Worker {
            child,
            stdin,
            stdout,
            pid,
        };
        tracing::debug!("started proxy_child pid {pid} for libnss_{}.so.2", self.lib);
        match tokio::time::timeout(self.deadline, w.receive()).await {
            Ok(Ok(NssReply::Ready)) => Ok(w),
            Ok(Ok(NssReply::Unavail(msg))) => {
                w.kill();
                Err(PoolError::Module(msg))
            }
            Ok(Ok(other)) => {
                w.kill();
                Err(PoolError::Malformed {
                    pid,
                    detail: format!("expected a greeting, got {other:?}"),
                })
            }
            Ok(Err(f)) => {
                w.kill();
                Err(fault(pid, f))
            }
            Err(_) => {
                w.kill();
                Err(PoolError::Timeout {
                    pid,
                    secs: self.deadline.as_secs(),
                })
            }
        }
    }

    /// Starts one helper and checks that it loads the module (at backend start).
    pub async fn check(&self) -> Result<(), PoolError> {
        let w = self.spawn().await?;
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(w);
        }
        Ok(())
    }

    /// Sends `req` to a free helper (starting one when none is idle) and returns its answer.
    pub async fn call(&self, req: &NssRequest) -> Result<NssReply, PoolError> {
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| PoolError::Module("pool closed".into()))?;
        let idle = self.idle.lock().ok().and_then(|mut v| v.pop());
        let mut w = match idle {
            Some(w) => w,
            None => self.spawn().await?,
        };
        let pid = w.pid;
        match tokio::time::timeout(self.deadline, w.call(req)).await {
            Ok(Ok(reply)) => {
                if let Ok(mut idle) = self.idle.lock() {
                    idle.push(w);
                }
                Ok(reply)
            }
            Ok(Err(f)) => {
                self.killed.fetch_add(1, Ordering::Relaxed);
                let status = w.child.try_wait().ok().flatten();
                w.kill();
                let e = match (f, status) {
                    (Fault::Io(e), Some(st)) => PoolError::Died {
                        pid,
                        detail: format!("{st} ({e})"),
                    },
                    (f, _) => fault(pid, f),
                };
                tracing::error!("{e} (request {req:?}); a new helper serves the next request");
                Err(e)
            }
            Err(_) => {
                self.killed.fetch_add(1, Ordering::Relaxed);
                w.kill();
                let e = PoolError::Timeout {
                    pid,
                    secs: self.deadline.as_secs(),
                };
                tracing::error!("{e} (request {req:?}); a new helper serves the next request");
                Err(e)
            }
        }
    }
}

fn fault(pid: u32, f: Fault) -> PoolError {
    match f {
        Fault::Io(e) => PoolError::Died {
            pid,
            detail: e.to_string(),
        },
        Fault::Malformed(detail) => PoolError::Malformed { pid, detail },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A fake `proxy_child`: a shell script running `body`.
    fn fake(dir: &tempfile::TempDir, body: &str) -> PathBuf {
        let p = dir.path().join("fake_child");
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    const READY: &str = r"printf '\004\000\000\000\000\000\000\000'";

    async fn call(body: &str) -> Result<NssReply, PoolError> {
        let dir = tempfile::tempdir().unwrap();
        let pool = NssPool::new(fake(&dir, body), "x", 2, Duration::from_millis(500));
        pool.call(&NssRequest::PwUid(1)).await
    }

    #[tokio::test]
    async fn hostile_or_broken_helpers_are_errors() {
        // A frame longer than allowed, a greeting of the wrong kind, garbage after Ready.
        let e = call(r"printf '\377\377\377\377'; sleep 5").await;
        assert!(matches!(e, Err(PoolError::Malformed { .. })), "{e:?}");
        let e = call(r"printf '\004\000\000\000\004\000\000\000'; sleep 5").await;
        assert!(matches!(e, Err(PoolError::Malformed { .. })), "{e:?}");
        let e = call(&format!(
            r"{READY}; printf '\004\000\000\000\011\000\000\000'; sleep 5"
        ))
        .await;
        assert!(matches!(e, Err(PoolError::Malformed { .. })), "{e:?}");
        // Dies after the greeting, never greets, hangs on the request.
        let e = call(&format!("{READY}; exit 3")).await;
        assert!(matches!(e, Err(PoolError::Died { .. })), "{e:?}");
        let e = call("sleep 5").await;
        assert!(matches!(e, Err(PoolError::Timeout { .. })), "{e:?}");
        let e = call(&format!("{READY}; sleep 5")).await;
        assert!(matches!(e, Err(PoolError::Timeout { .. })), "{e:?}");
        // A module that cannot be loaded.
        let e = call(r"printf '\007\000\000\000\005\000\000\000no\000'").await;
        assert!(matches!(e, Err(PoolError::Module(_))), "{e:?}");
    }

    #[tokio::test]
    async fn a_lost_helper_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        // Answers NotFound to every request, reading each 4-byte header and 8-byte body.
        let body = format!(
            "{READY}; while head -c 12 > /dev/null; do printf '\\004\\000\\000\\000\\004\\000\\000\\000'; done"
        );
        let pool = NssPool::new(fake(&dir, &body), "x", 2, Duration::from_secs(5));
        assert_eq!(
            pool.call(&NssRequest::PwUid(1)).await.unwrap(),
            NssReply::NotFound
        );
        assert_eq!(
            pool.call(&NssRequest::PwUid(2)).await.unwrap(),
            NssReply::NotFound
        );
        assert_eq!(pool.started(), 1);
        let pid = pool.idle_pids()[0];
        // SAFETY: a plain kill of the helper this test started.
        unsafe { libc::kill(i32::try_from(pid).unwrap(), libc::SIGKILL) };
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(pool.call(&NssRequest::PwUid(3)).await.is_err());
        assert_eq!(
            pool.call(&NssRequest::PwUid(4)).await.unwrap(),
            NssReply::NotFound
        );
        assert_eq!((pool.started(), pool.lost()), (2, 1));
    }
}
