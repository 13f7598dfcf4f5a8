//! `sss_cache`'s memory-cache step (spec 3.6): after any invalidation the whole memory cache
//! goes, as in SSSD. Maps no `sssd_nss` holds are marked RECYCLED and removed here; when a
//! running `sssd_nss` holds one, the flag file `clear_mc_flag` is created, the monitor gets
//! SIGHUP (which it relays to `sssd_nss` as `clearMemcache`), and the flag's removal by
//! `sssd_nss` is awaited for a bounded time.

use crate::memcache::files::{self, Invalidated};
use crate::monitor::pidfile::is_live_sssd;
use crate::paths::Paths;
use sss_proto::memcache::MapKind;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use thiserror::Error;

/// How the wait for `sssd_nss` is paced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Between two checks of the flag (SSSD: 5 ms).
    pub poll: Duration,
    /// Longest wait for the flag to disappear (SSSD: 1 s).
    pub wait: Duration,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            poll: Duration::from_millis(5),
            wait: Duration::from_secs(1),
        }
    }
}

/// How the memory cache was cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cleared {
    /// No `sssd_nss` held the maps: those present were recycled and removed here.
    Here,
    /// `sssd_nss` recreated its maps and removed the flag in time.
    ByResponder,
    /// The monitor was signalled but the flag was still there after the wait (SSSD prints
    /// a warning and succeeds).
    NotConfirmed,
}

/// Why the memory cache could not be cleared.
#[derive(Debug, Error)]
pub enum McError {
    /// A map could not be opened, locked, marked or removed.
    #[error("memory cache {path}: {source}")]
    Map {
        /// The map file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// `sssd_nss` holds the maps but no monitor can be found to ask it to clear them.
    #[error("sssd_nss holds the memory cache but there is no sssd monitor to signal: {0}")]
    NoMonitor(String),
    /// The flag file could not be created.
    #[error("cannot create {path}: {source}")]
    Flag {
        /// The flag file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// SIGHUP could not be sent.
    #[error("cannot send SIGHUP to the sssd monitor (process {pid}): {source}")]
    Signal {
        /// The monitor's pid.
        pid: i32,
        /// The underlying error.
        source: io::Error,
    },
}

/// Clears the whole memory cache under `paths.mc` (see the module documentation);
/// `proc_root` is normally `/proc` (where the monitor's `comm` is checked).
pub fn clear_all(paths: &Paths, proc_root: &Path, timing: Timing) -> Result<Cleared, McError> {
    let mut in_use = false;
    for map in MapKind::ALL {
        let path = files::map_path(&paths.mc, map);
        match files::invalidate_unowned(&path) {
            Ok(Invalidated::InUse) => {
                // As SSSD: the first map in use hands the rest to the responder.
                in_use = true;
                break;
            }
            Ok(Invalidated::Absent | Invalidated::Removed) => {}
            Err(source) => return Err(McError::Map { path, source }),
        }
    }
    if !in_use {
        return Ok(Cleared::Here);
    }
    let pid = monitor_pid(&paths.pidfile, proc_root).map_err(McError::NoMonitor)?;
    let flag = files::clear_flag_path(&paths.mc);
    std::fs::File::create(&flag).map_err(|source| McError::Flag {
        path: flag.clone(),
        source,
    })?;
    // SAFETY: kill(2) with a pid read from the pidfile and checked to be a live sssd.
    if unsafe { libc::kill(pid, libc::SIGHUP) } != 0 {
        let source = io::Error::last_os_error();
        // Nobody will act on the flag now; do not leave it for a later SIGHUP to find.
        let _ = std::fs::remove_file(&flag);
        return Err(McError::Signal { pid, source });
    }
    Ok(if wait_gone(&flag, timing) {
        Cleared::ByResponder
    } else {
        Cleared::NotConfirmed
    })
}

/// The pid of the running monitor named by `pidfile`, checked to be a live process called
/// `sssd`; the error says what is wrong, naming the file.
pub fn monitor_pid(pidfile: &Path, proc_root: &Path) -> Result<i32, String> {
    let shown = pidfile.display();
    let text = std::fs::read_to_string(pidfile).map_err(|e| format!("{shown}: {e}"))?;
    let pid = text
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|&p| p > 0)
        .ok_or_else(|| format!("{shown}: no process id in {:?}", text.trim()))?;
    if !is_live_sssd(proc_root, pid) {
        return Err(format!(
            "{shown}: process {pid} is not running or is not sssd"
        ));
    }
    Ok(pid)
}

/// Waits until `flag` no longer exists, checking every `timing.poll` for `timing.wait`.
fn wait_gone(flag: &Path, timing: Timing) -> bool {
    let start = Instant::now();
    loop {
        if !flag.exists() {
            return true;
        }
        if start.elapsed() >= timing.wait {
            return false;
        }
        std::thread::sleep(timing.poll);
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use sss_proto::memcache::{STATUS_OFFSET, STATUS_RECYCLED};
    use std::ffi::CString;
    use std::fs::File;
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::FileExt;

    /// A memory-cache file with an ALIVE header.
    pub(crate) fn map_file(path: &Path) {
        let mut h = vec![0u8; 56];
        h[12..16].copy_from_slice(&1u32.to_ne_bytes());
        std::fs::write(path, h).unwrap();
    }

    /// A tree with passwd, group and initgroups maps under `mc`.
    pub(crate) fn tree() -> (tempfile::TempDir, Paths) {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        std::fs::create_dir_all(&paths.mc).unwrap();
        std::fs::create_dir_all(paths.pidfile.parent().unwrap()).unwrap();
        for m in MapKind::ALL {
            map_file(&files::map_path(&paths.mc, m));
        }
        (dir, paths)
    }

    /// A forked stand-in for sssd: named `sssd`, holding the byte-0 lock of `locked`
    /// (like `sssd_nss`) and, on SIGHUP, removing `flag` when asked to (like the monitor
    /// relaying `clearMemcache` to `sssd_nss`). It exits after the signal or 5 s.
    pub(crate) struct FakeSssd {
        pub(crate) pid: i32,
    }

    impl FakeSssd {
        pub(crate) fn start(locked: &Path, flag: Option<&Path>) -> FakeSssd {
            let file = File::options().read(true).write(true).open(locked).unwrap();
            let flag = flag.map(|f| CString::new(f.as_os_str().as_bytes()).unwrap());
            let mut fds = [0; 2];
            // SAFETY: a pipe for the child to say it is ready.
            assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
            // SAFETY: the child only makes async-signal-safe calls, then _exit.
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0);
            if pid == 0 {
                // SAFETY: all of these are plain system calls on valid arguments.
                unsafe {
                    libc::prctl(
                        libc::PR_SET_NAME,
                        c"sssd".as_ptr() as libc::c_ulong,
                        0,
                        0,
                        0,
                    );
                    let mut fl: libc::flock = std::mem::zeroed();
                    fl.l_type = libc::F_WRLCK as libc::c_short;
                    fl.l_whence = libc::SEEK_SET as libc::c_short;
                    fl.l_len = 1;
                    if libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &fl) != 0 {
                        libc::_exit(1);
                    }
                    let mut set: libc::sigset_t = std::mem::zeroed();
                    libc::sigemptyset(&mut set);
                    libc::sigaddset(&mut set, libc::SIGHUP);
                    libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
                    libc::write(fds[1], b"r".as_ptr().cast(), 1);
                    let ts = libc::timespec {
                        tv_sec: 5,
                        tv_nsec: 0,
                    };
                    let sig = libc::sigtimedwait(&set, std::ptr::null_mut(), &ts);
                    if sig == libc::SIGHUP
                        && let Some(f) = &flag
                    {
                        libc::unlink(f.as_ptr());
                    }
                    libc::_exit(0);
                }
            }
            let mut b = [0u8; 1];
            // SAFETY: reading one byte from our end of the pipe.
            let n = unsafe { libc::read(fds[0], b.as_mut_ptr().cast(), 1) };
            // SAFETY: closing the pipe ends we own.
            unsafe {
                libc::close(fds[0]);
                libc::close(fds[1]);
            }
            assert_eq!(n, 1, "the fake sssd did not start");
            FakeSssd { pid }
        }

        pub(crate) fn write_pidfile(&self, paths: &Paths) {
            std::fs::write(&paths.pidfile, format!("{}\n", self.pid)).unwrap();
        }
    }

    impl Drop for FakeSssd {
        fn drop(&mut self) {
            // SAFETY: our own child, by pid.
            unsafe {
                libc::kill(self.pid, libc::SIGKILL);
                libc::waitpid(self.pid, std::ptr::null_mut(), 0);
            }
        }
    }

    fn status(f: &File) -> u32 {
        let mut st = [0u8; 4];
        f.read_exact_at(&mut st, STATUS_OFFSET).unwrap();
        u32::from_ne_bytes(st)
    }

    #[test]
    fn without_sssd_nss_the_maps_are_recycled_and_removed() {
        let (_d, paths) = tree();
        let readers: Vec<File> = MapKind::ALL
            .iter()
            .map(|m| File::open(files::map_path(&paths.mc, *m)).unwrap())
            .collect();
        let r = clear_all(&paths, Path::new("/proc"), Timing::default()).unwrap();
        assert_eq!(r, Cleared::Here);
        for (m, f) in MapKind::ALL.iter().zip(&readers) {
            assert!(!files::map_path(&paths.mc, *m).exists(), "{m:?}");
            assert_eq!(status(f), STATUS_RECYCLED, "{m:?}");
        }
        assert!(!files::clear_flag_path(&paths.mc).exists());
        // Nothing there (or no mc directory at all): nothing to do.
        assert_eq!(
            clear_all(&paths, Path::new("/proc"), Timing::default()).unwrap(),
            Cleared::Here
        );
        std::fs::remove_dir(&paths.mc).unwrap();
        assert_eq!(
            clear_all(&paths, Path::new("/proc"), Timing::default()).unwrap(),
            Cleared::Here
        );
    }

    #[test]
    fn with_sssd_nss_the_monitor_is_signalled_and_the_flag_awaited() {
        let (_d, paths) = tree();
        let flag = files::clear_flag_path(&paths.mc);
        let fake = FakeSssd::start(&files::map_path(&paths.mc, MapKind::Group), Some(&flag));
        fake.write_pidfile(&paths);
        let t = Instant::now();
        let r = clear_all(&paths, Path::new("/proc"), Timing::default()).unwrap();
        assert_eq!(r, Cleared::ByResponder);
        assert!(
            t.elapsed() < Duration::from_millis(900),
            "{:?}",
            t.elapsed()
        );
        assert!(!flag.exists());
        // passwd came before the map in use: recycled here; the others are left to sssd_nss.
        assert!(!files::map_path(&paths.mc, MapKind::Passwd).exists());
        assert!(files::map_path(&paths.mc, MapKind::Group).exists());
        assert!(files::map_path(&paths.mc, MapKind::Initgroups).exists());
    }

    #[test]
    fn a_responder_that_never_answers_leaves_the_flag_and_is_reported() {
        let (_d, paths) = tree();
        let flag = files::clear_flag_path(&paths.mc);
        let fake = FakeSssd::start(&files::map_path(&paths.mc, MapKind::Passwd), None);
        fake.write_pidfile(&paths);
        let timing = Timing {
            poll: Duration::from_millis(5),
            wait: Duration::from_millis(300),
        };
        let t = Instant::now();
        let r = clear_all(&paths, Path::new("/proc"), timing).unwrap();
        assert_eq!(r, Cleared::NotConfirmed);
        assert!(t.elapsed() >= Duration::from_millis(300));
        assert!(flag.exists(), "created for sssd_nss");
        assert!(files::map_path(&paths.mc, MapKind::Passwd).exists());
    }

    #[test]
    fn the_monitor_must_be_a_live_sssd_process() {
        let (_d, paths) = tree();
        let flag = files::clear_flag_path(&paths.mc);
        let fake = FakeSssd::start(&files::map_path(&paths.mc, MapKind::Passwd), Some(&flag));
        // No pidfile.
        let e = clear_all(&paths, Path::new("/proc"), Timing::default()).unwrap_err();
        assert!(
            matches!(&e, McError::NoMonitor(m) if m.contains("sssd.pid")),
            "{e}"
        );
        assert!(!flag.exists(), "no flag without a monitor to signal");
        // Garbage.
        std::fs::write(&paths.pidfile, "x\n").unwrap();
        let e = clear_all(&paths, Path::new("/proc"), Timing::default()).unwrap_err();
        assert!(e.to_string().contains("no process id"), "{e}");
        // A live process that is not sssd (this test).
        std::fs::write(&paths.pidfile, format!("{}\n", std::process::id())).unwrap();
        let e = clear_all(&paths, Path::new("/proc"), Timing::default()).unwrap_err();
        assert!(e.to_string().contains("is not sssd"), "{e}");
        assert!(!flag.exists());
        // The real one.
        fake.write_pidfile(&paths);
        assert_eq!(
            clear_all(&paths, Path::new("/proc"), Timing::default()).unwrap(),
            Cleared::ByResponder
        );
    }

    #[test]
    fn monitor_pid_reads_the_pidfile() {
        let dir = tempfile::tempdir().unwrap();
        let proc_root = dir.path().join("proc");
        std::fs::create_dir_all(proc_root.join("42")).unwrap();
        std::fs::write(proc_root.join("42/comm"), "sssd\n").unwrap();
        std::fs::create_dir_all(proc_root.join("43")).unwrap();
        std::fs::write(proc_root.join("43/comm"), "sssd_nss\n").unwrap();
        let pidfile = dir.path().join("sssd.pid");
        std::fs::write(&pidfile, "42\n").unwrap();
        assert_eq!(monitor_pid(&pidfile, &proc_root), Ok(42));
        std::fs::write(&pidfile, "43").unwrap();
        assert!(monitor_pid(&pidfile, &proc_root).is_err());
        std::fs::write(&pidfile, "44").unwrap();
        assert!(monitor_pid(&pidfile, &proc_root).is_err());
        for bad in ["", "0", "-1", "42x"] {
            std::fs::write(&pidfile, bad).unwrap();
            assert!(monitor_pid(&pidfile, &proc_root).is_err(), "{bad:?}");
        }
    }
}
