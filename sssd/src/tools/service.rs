//! Starting and stopping the whole daemon for `sssctl` (cache-remove, client-data-restore),
//! as SSSD's tool does: through systemd when systemd manages `sssd.service`, otherwise by
//! signalling the monitor named by the pidfile and by starting `sssd -D` from the directory
//! `sssctl` was installed in.

use super::sss_cache::memcache::monitor_pid;
use crate::paths::Paths;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use thiserror::Error;

/// How long the monitor gets to stop its children and exit, or to come up.
const SETTLE: Duration = Duration::from_secs(30);
/// How often the pidfile is looked at while waiting.
const POLL: Duration = Duration::from_millis(100);

/// Why the daemon could not be started or stopped.
#[derive(Debug, Error)]
pub enum ServiceError {
    /// `systemctl` failed.
    #[error("systemctl {verb} sssd.service failed: {detail}")]
    Systemctl {
        /// start, stop or restart.
        verb: &'static str,
        /// Its exit status or error.
        detail: String,
    },
    /// The monitor could not be signalled.
    #[error("cannot send SIGTERM to the sssd monitor (process {pid}): {source}")]
    Signal {
        /// The monitor's pid.
        pid: i32,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The monitor did not exit in time.
    #[error("the sssd monitor (process {0}) did not exit within 30 s")]
    StillRunning(i32),
    /// `sssd -D` could not be run or failed.
    #[error("{program} -D: {detail}")]
    Spawn {
        /// The sssd binary.
        program: String,
        /// What went wrong.
        detail: String,
    },
}

/// Whether the monitor named by the pidfile is running.
pub fn running(paths: &Paths, proc_root: &Path) -> bool {
    monitor_pid(&paths.pidfile, proc_root).is_ok()
}

/// Whether systemd runs this host and knows `sssd.service` (then it, not we, starts and
/// stops the daemon, so that its view of the service stays right).
fn systemd_manages_sssd() -> bool {
    if !Path::new("/run/systemd/system").is_dir() {
        return false;
    }
    Command::new("systemctl")
        .args(["show", "--property=LoadState", "--value", "sssd.service"])
        .stderr(Stdio::null())
        .output()
        .map(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "loaded")
        .unwrap_or(false)
}

fn systemctl(verb: &'static str) -> Result<(), ServiceError> {
    let status = Command::new("systemctl")
        .args([verb, "sssd.service"])
        .status()
        .map_err(|e| ServiceError::Systemctl {
            verb,
            detail: e.to_string(),
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(ServiceError::Systemctl {
            verb,
            detail: status.to_string(),
        })
    }
}

/// Stops the running daemon and waits for the monitor to exit; nothing to do when none runs.
pub fn stop(paths: &Paths, proc_root: &Path) -> Result<(), ServiceError> {
    let Ok(pid) = monitor_pid(&paths.pidfile, proc_root) else {
        return Ok(());
    };
    if systemd_manages_sssd() {
        return systemctl("stop");
    }
    // SAFETY: kill(2) with a pid read from the pidfile and checked to be a live sssd.
    if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
        return Err(ServiceError::Signal {
            pid,
            source: std::io::Error::last_os_error(),
        });
    }
    let start = Instant::now();
    while crate::monitor::pidfile::is_live_sssd(proc_root, pid) {
        if start.elapsed() >= SETTLE {
            return Err(ServiceError::StillRunning(pid));
        }
        std::thread::sleep(POLL);
    }
    Ok(())
}

/// The program `name` installed beside this tool (`/usr/sbin`), else `name` from PATH.
pub fn sibling_binary(name: &str) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join(name)))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

/// Starts the daemon and waits until its monitor has written the pidfile.
pub fn start(paths: &Paths, proc_root: &Path) -> Result<(), ServiceError> {
    if running(paths, proc_root) {
        return Ok(());
    }
    if systemd_manages_sssd() {
        return systemctl("start");
    }
    let program = sibling_binary("sssd");
    let spawn_err = |detail: String| ServiceError::Spawn {
        program: program.display().to_string(),
        detail,
    };
    // `-D` returns once the monitor is up (or has failed to start).
    let status = Command::new(&program)
        .arg("-D")
        .stdin(Stdio::null())
        .status()
        .map_err(|e| spawn_err(e.to_string()))?;
    if !status.success() {
        return Err(spawn_err(status.to_string()));
    }
    let begin = Instant::now();
    while !running(paths, proc_root) {
        if begin.elapsed() >= SETTLE {
            return Err(spawn_err("no running monitor after 30 s".into()));
        }
        std::thread::sleep(POLL);
    }
    Ok(())
}

/// Stops the daemon if it runs, then starts it.
pub fn restart(paths: &Paths, proc_root: &Path) -> Result<(), ServiceError> {
    if systemd_manages_sssd() {
        return systemctl("restart");
    }
    stop(paths, proc_root)?;
    start(paths, proc_root)
}

/// SSSD's yes/no question on stdout, answered on stdin: an empty line takes `default`;
/// anything but yes/no asks again, three times at most; end of input is "no".
pub fn ask(question: &str, default: bool) -> bool {
    let shown = if default { "yes" } else { "no" };
    let stdin = std::io::stdin();
    for _ in 0..3 {
        print!("{question} (yes/no) [{shown}] ");
        let _ = std::io::stdout().flush();
        let mut line = String::new();
        match stdin.lock().read_line(&mut line) {
            Ok(0) | Err(_) => {
                println!();
                return false;
            }
            Ok(_) => {}
        }
        match line.trim().to_ascii_lowercase().as_str() {
            "" => return default,
            "yes" => return true,
            "no" => return false,
            _ => eprintln!("Invalid input, please provide either 'yes' or 'no'."),
        }
    }
    false
}
