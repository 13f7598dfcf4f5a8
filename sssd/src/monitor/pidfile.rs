//! The monitor's pidfile (`/run/sssd.pid`).

use std::io::Write;
use std::path::Path;
use thiserror::Error;

/// Why the pidfile blocks startup or could not be written.
#[derive(Debug, Error)]
pub enum PidfileError {
    /// Another sssd runs.
    #[error("{path}: sssd is already running as process {pid}")]
    Running {
        /// The pidfile.
        path: String,
        /// The live process.
        pid: i32,
    },
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The pidfile.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// Whether process `pid` is alive and is an `sssd` monitor (by `/proc/PID/comm`, with
/// `proc_root` normally `/proc`); a monitor that has exited and not yet been reaped by its
/// parent (state `Z` in `/proc/PID/stat`) is not. Also used by `sss_cache` before it
/// signals the monitor and by `sssctl` while it waits for the monitor to stop.
pub fn is_live_sssd(proc_root: &Path, pid: i32) -> bool {
    let dir = proc_root.join(pid.to_string());
    let named_sssd = std::fs::read_to_string(dir.join("comm"))
        .map(|comm| comm.trim_end() == "sssd")
        .unwrap_or(false);
    // The state follows the command name, which is in parentheses and may hold any byte.
    let zombie = std::fs::read_to_string(dir.join("stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
    });
    named_sssd && !zombie
}

/// Fails when `path` names a live sssd process other than this one. A stale or garbled
/// file is ignored (it is overwritten later).
pub fn check(path: &Path) -> Result<(), PidfileError> {
    check_with(path, Path::new("/proc"), std::process::id() as i32)
}

fn check_with(path: &Path, proc_root: &Path, me: i32) -> Result<(), PidfileError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(PidfileError::Io {
                path: path.display().to_string(),
                source,
            });
        }
    };
    match text.trim().parse::<i32>() {
        Ok(pid) if pid > 0 && pid != me && is_live_sssd(proc_root, pid) => {
            Err(PidfileError::Running {
                path: path.display().to_string(),
                pid,
            })
        }
        _ => Ok(()),
    }
}

/// Writes this process's pid to `path` (creating the directory), atomically.
pub fn write(path: &Path) -> Result<(), PidfileError> {
    let io = |source| PidfileError::Io {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("pid.tmp");
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    writeln!(f, "{}", std::process::id()).map_err(io)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io)
}

/// Removes the pidfile if it still names this process.
pub fn remove(path: &Path) {
    if let Ok(text) = std::fs::read_to_string(path)
        && text.trim() == std::process::id().to_string()
    {
        let _ = std::fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_sssd_blocks_stale_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let proc_root = dir.path().join("proc");
        std::fs::create_dir_all(proc_root.join("77")).unwrap();
        std::fs::write(proc_root.join("77/comm"), "sssd\n").unwrap();
        std::fs::create_dir_all(proc_root.join("88")).unwrap();
        std::fs::write(proc_root.join("88/comm"), "bash\n").unwrap();
        // Exited, not yet reaped.
        std::fs::create_dir_all(proc_root.join("66")).unwrap();
        std::fs::write(proc_root.join("66/comm"), "sssd\n").unwrap();
        std::fs::write(proc_root.join("66/stat"), "66 (a) Z) S 1 66 66 0 -1\n").unwrap();
        assert!(is_live_sssd(&proc_root, 66));
        std::fs::write(proc_root.join("66/stat"), "66 (sssd) Z 1 66 66 0 -1\n").unwrap();
        assert!(!is_live_sssd(&proc_root, 66));
        let pf = dir.path().join("sssd.pid");
        assert!(check_with(&pf, &proc_root, 1).is_ok());
        std::fs::write(&pf, "77\n").unwrap();
        let err = check_with(&pf, &proc_root, 1).unwrap_err();
        assert!(err.to_string().contains("process 77"), "{err}");
        assert!(check_with(&pf, &proc_root, 77).is_ok());
        for stale in ["66\n", "88\n", "99\n", "garbage", ""] {
            std::fs::write(&pf, stale).unwrap();
            assert!(check_with(&pf, &proc_root, 1).is_ok(), "{stale:?}");
        }
    }

    #[test]
    fn write_and_remove() {
        let dir = tempfile::tempdir().unwrap();
        let pf = dir.path().join("run/sssd.pid");
        write(&pf).unwrap();
        assert_eq!(
            std::fs::read_to_string(&pf).unwrap().trim(),
            std::process::id().to_string()
        );
        remove(&pf);
        assert!(!pf.exists());
    }
}
