//! Running programs with deadlines, free ports, polling, killing by PID.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{HarnessError, Result};

/// Default deadline for a short command (getent, id, ldapsearch).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// What a finished program returned.
#[derive(Debug, Clone)]
pub struct Output {
    /// Exit status.
    pub status: ExitStatus,
    /// Standard output (lossy UTF-8).
    pub stdout: String,
    /// Standard error (lossy UTF-8).
    pub stderr: String,
    /// Wall-clock time the program ran.
    pub elapsed: Duration,
}

impl Output {
    /// Exit code, or -1 if killed by a signal.
    pub fn code(&self) -> i32 {
        self.status.code().unwrap_or(-1)
    }

    /// Whether the program exited 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// Standard output lines.
    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }
}

/// `program arg1 arg2` for messages.
pub fn command_line(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

fn reader<R: Read + Send + 'static>(r: Option<R>) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut r) = r {
            let _ = r.read_to_end(&mut buf);
        }
        buf
    })
}

/// Runs `cmd` to completion, feeding `stdin`, killing it after `timeout`.
pub fn run(cmd: &mut Command, stdin: Option<&[u8]>, timeout: Duration) -> Result<Output> {
    let line = command_line(cmd);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn().map_err(|source| HarnessError::Spawn {
        program: cmd.get_program().to_string_lossy().into_owned(),
        source,
    })?;
    let writer = match (stdin, child.stdin.take()) {
        (Some(data), Some(mut pipe)) => {
            let data = data.to_vec();
            Some(thread::spawn(move || {
                let _ = pipe.write_all(&data);
            }))
        }
        _ => None,
    };
    let out = reader(child.stdout.take());
    let err = reader(child.stderr.take());
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(HarnessError::Timeout {
                    what: format!("`{line}` to exit"),
                    after: timeout,
                });
            }
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(HarnessError::io("wait for", line, e)),
        }
    };
    let elapsed = start.elapsed();
    if let Some(w) = writer {
        let _ = w.join();
    }
    let stdout = String::from_utf8_lossy(&out.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned();
    Ok(Output {
        status,
        stdout,
        stderr,
        elapsed,
    })
}

/// Runs `cmd` and fails unless it exits 0.
pub fn run_ok(cmd: &mut Command, stdin: Option<&[u8]>, timeout: Duration) -> Result<Output> {
    let out = run(cmd, stdin, timeout)?;
    if out.success() {
        Ok(out)
    } else {
        Err(HarnessError::Command {
            command: command_line(cmd),
            status: out.status.to_string(),
            stderr: out.stderr.trim().to_owned(),
        })
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> Result<u16> {
    let l =
        TcpListener::bind("127.0.0.1:0").map_err(|e| HarnessError::io("bind", "127.0.0.1:0", e))?;
    let port = l
        .local_addr()
        .map_err(|e| HarnessError::io("query", "127.0.0.1:0", e))?
        .port();
    Ok(port)
}

/// Polls `ready` every 20 ms until it returns true or `timeout` passes.
pub fn wait_until(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) -> Result<()> {
    let start = Instant::now();
    loop {
        if ready() {
            return Ok(());
        }
        if start.elapsed() > timeout {
            return Err(HarnessError::Timeout {
                what: what.to_owned(),
                after: timeout,
            });
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until `child` accepts TCP connections on 127.0.0.1:`port`; false when it exits
/// first or `timeout` passes (the caller reports it, with the server's log).
pub fn wait_for_port(what: &str, child: &mut Child, port: u16, timeout: Duration) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut exited = false;
    let ready = wait_until(what, timeout, || {
        if !matches!(child.try_wait(), Ok(None)) {
            exited = true;
            return true;
        }
        TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
    });
    ready.is_ok() && !exited
}

/// `/usr/sbin/<tool>` when it exists (root's PATH may lack /usr/sbin), else `tool` from PATH.
pub fn sbin(tool: &str) -> PathBuf {
    let p = Path::new("/usr/sbin").join(tool);
    if p.exists() { p } else { PathBuf::from(tool) }
}

/// Sends `signal` to `pid` (errors such as "no such process" are ignored).
pub fn signal(pid: u32, signal: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pid)
        && pid > 0
    {
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}

/// Stops a child we spawned: SIGTERM, up to `grace` to exit, then SIGKILL; always reaps it.
pub fn terminate(child: &mut Child, grace: Duration) -> Option<ExitStatus> {
    if let Ok(Some(status)) = child.try_wait() {
        return Some(status);
    }
    signal(child.id(), libc::SIGTERM);
    let start = Instant::now();
    while start.elapsed() < grace {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    child.wait().ok()
}

/// Whether a process with this PID exists (and is not a zombie).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // Field 3 (after the parenthesised comm) is the state.
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.trim().chars().next());
            !matches!(state, Some('Z') | Some('X') | None)
        }
        Err(_) => false,
    }
}

/// Whether the program `name` is found in PATH (or is an existing path).
pub fn have_program(name: &str) -> bool {
    if name.contains('/') {
        return std::path::Path::new(name).exists();
    }
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false)
}

/// Kills a process by PID if the test process dies without cleaning up.
///
/// A `sh` child blocks reading a pipe whose only writer is this process; when this process
/// exits for any reason (even SIGKILL) the read returns and the watchdog kills the PID.
/// Dropping the watchdog disarms it (kills and reaps the `sh`), so a normal teardown kills
/// its processes itself. Unlike `PR_SET_PDEATHSIG`, this does not depend on which thread
/// spawned the process.
#[derive(Debug)]
pub struct Watchdog {
    child: Child,
}

impl Watchdog {
    /// Arms a watchdog for `pid`.
    pub fn new(pid: u32) -> Result<Watchdog> {
        Watchdog::with_cleanup(pid, None)
    }

    /// Arms a watchdog for `pid` that also removes `dir` (e.g. the server's data) after
    /// killing it; for fixtures kept in statics, which are never dropped.
    pub fn with_cleanup(pid: u32, dir: Option<&std::path::Path>) -> Result<Watchdog> {
        let dir = dir
            .map(|d| d.to_string_lossy().into_owned())
            .unwrap_or_default();
        let child = Command::new("sh")
            .args([
                "-c",
                "read _ignored; kill -TERM \"$1\" 2>/dev/null; i=0; \
                 while kill -0 \"$1\" 2>/dev/null && [ $i -lt 30 ]; do sleep 0.1; i=$((i+1)); done; \
                 kill -KILL \"$1\" 2>/dev/null; if [ -n \"$2\" ]; then rm -rf -- \"$2\"; fi",
                "sssd-tests-watchdog",
                &pid.to_string(),
                &dir,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| HarnessError::Spawn {
                program: "sh".into(),
                source,
            })?;
        Ok(Watchdog { child })
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_captures_output_and_status() {
        let out = run(
            Command::new("sh").args(["-c", "cat; echo err >&2; exit 3"]),
            Some(b"hello"),
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(out.stdout, "hello");
        assert_eq!(out.stderr, "err\n");
        assert_eq!(out.code(), 3);
    }

    #[test]
    fn run_times_out() {
        let err = run(
            Command::new("sleep").arg("10"),
            None,
            Duration::from_millis(200),
        )
        .unwrap_err();
        assert!(matches!(err, HarnessError::Timeout { .. }), "{err}");
    }

    #[test]
    fn free_port_is_bindable() {
        // The port is only free "a moment ago": another socket of the host (an outgoing
        // connection's ephemeral port) may take it before the bind, so one of a few tries
        // must bind.
        let bound = (0..5).any(|_| {
            let p = free_port().unwrap();
            assert!(p > 0);
            TcpListener::bind(("127.0.0.1", p)).is_ok()
        });
        assert!(bound, "none of 5 free ports could be bound");
    }

    #[test]
    fn watchdog_kills_when_its_pipe_closes() {
        let mut victim = Command::new("sleep").arg("30").spawn().unwrap();
        let mut w = Watchdog::new(victim.id()).unwrap();
        // Closing our end of the pipe is what process exit does.
        drop(w.child.stdin.take());
        let status = victim.wait().unwrap();
        assert!(!status.success());
        drop(w);
    }

    #[test]
    fn disarmed_watchdog_leaves_process_alone() {
        let mut victim = Command::new("sleep").arg("30").spawn().unwrap();
        drop(Watchdog::new(victim.id()).unwrap());
        std::thread::sleep(Duration::from_millis(100));
        assert!(alive(victim.id()));
        terminate(&mut victim, Duration::from_secs(1));
    }

    #[test]
    fn terminate_reaps() {
        let mut c = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = c.id();
        assert!(alive(pid));
        terminate(&mut c, Duration::from_secs(2));
        assert!(!alive(pid));
    }
}
