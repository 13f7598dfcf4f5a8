//! The memory-cache files as other processes see them: the byte-0 write lock that a live
//! `sssd_nss` holds on each file, recycling a file (status RECYCLED, then unlink) so that
//! clients drop it, and the `clear_mc_flag` handshake with `sss_cache`.

use sss_proto::memcache::{CLEAR_FLAG, MapKind, STATUS_OFFSET, STATUS_RECYCLED};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The file of `map` under the memory-cache directory `mc_dir`.
pub fn map_path(mc_dir: &Path, map: MapKind) -> PathBuf {
    mc_dir.join(map.file_name())
}

/// The flag file `sss_cache` creates to ask a running `sssd_nss` to recreate the maps.
pub fn clear_flag_path(mc_dir: &Path) -> PathBuf {
    mc_dir.join(CLEAR_FLAG)
}

/// Outcome of trying to take the byte-0 write lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// Taken (held until the file is closed).
    Taken,
    /// Another process holds it: a running `sssd_nss` owns the file.
    Busy,
}

/// Tries to take a write lock on byte 0 of `file`, `attempts` times `wait` apart (SSSD:
/// 3 tries 50 ms apart in the responder, 2 in `sss_cache`).
pub fn lock_byte0(file: &File, attempts: u32, wait: Duration) -> io::Result<Lock> {
    for i in 0..attempts.max(1) {
        // SAFETY: a zeroed flock is a valid value; the fields that matter are set below.
        let mut fl: libc::flock = unsafe { std::mem::zeroed() };
        fl.l_type = libc::F_WRLCK as libc::c_short;
        fl.l_whence = libc::SEEK_SET as libc::c_short;
        fl.l_start = 0;
        fl.l_len = 1;
        // SAFETY: F_SETLK with a valid flock on an open descriptor.
        let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &fl) };
        if rc == 0 {
            return Ok(Lock::Taken);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EACCES | libc::EAGAIN) => {
                if i + 1 < attempts {
                    std::thread::sleep(wait);
                }
            }
            Some(libc::EINTR) => {}
            _ => return Err(e),
        }
    }
    Ok(Lock::Busy)
}

/// Writes status RECYCLED into the header of `file` (one 4-byte write at its offset).
pub fn set_recycled(file: &File) -> io::Result<()> {
    file.write_all_at(&STATUS_RECYCLED.to_ne_bytes(), STATUS_OFFSET)
}

/// What [`invalidate_unowned`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalidated {
    /// The file did not exist.
    Absent,
    /// The file was marked RECYCLED and removed.
    Removed,
    /// A running `sssd_nss` holds the file's lock; nothing was changed.
    InUse,
}

/// `sss_cache`'s step for one file: if no `sssd_nss` holds it (lock taken within 2 tries
/// 50 ms apart), mark it RECYCLED and unlink it; otherwise leave it to the responder.
pub fn invalidate_unowned(path: &Path) -> io::Result<Invalidated> {
    let file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Invalidated::Absent),
        Err(e) => return Err(e),
    };
    if lock_byte0(&file, 2, Duration::from_millis(50))? == Lock::Busy {
        return Ok(Invalidated::InUse);
    }
    set_recycled(&file)?;
    drop(file);
    match std::fs::remove_file(path) {
        Ok(()) => Ok(Invalidated::Removed),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Invalidated::Removed),
        Err(e) => Err(e),
    }
}

/// The responder's first step for a map at start-up and at every reset: whatever file is
/// there (ours from before, or another responder's) is marked RECYCLED, so that clients
/// still using it drop it, and unlinked. Our own previous file's lock is released by
/// closing it before this is called.
pub fn recycle(path: &Path) -> io::Result<()> {
    match OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => {
            // SSSD logs and carries on if the lock is busy; so do we: the file goes anyway.
            if lock_byte0(&file, 3, Duration::from_millis(50))? == Lock::Busy {
                tracing::warn!(
                    "{}: locked by another process; recycling it anyway",
                    path.display()
                );
            }
            set_recycled(&file)?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileExt;

    fn file_with_header(path: &Path) {
        let mut h = vec![0u8; 56];
        h[12..16].copy_from_slice(&1u32.to_ne_bytes());
        std::fs::write(path, h).unwrap();
    }

    #[test]
    fn unowned_file_is_recycled_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("passwd");
        assert_eq!(invalidate_unowned(&p).unwrap(), Invalidated::Absent);
        file_with_header(&p);
        // A reader that has it open sees RECYCLED after the unlink.
        let reader = File::open(&p).unwrap();
        assert_eq!(invalidate_unowned(&p).unwrap(), Invalidated::Removed);
        assert!(!p.exists());
        let mut st = [0u8; 4];
        reader.read_exact_at(&mut st, STATUS_OFFSET).unwrap();
        assert_eq!(u32::from_ne_bytes(st), STATUS_RECYCLED);
    }

    #[test]
    fn a_file_locked_by_another_process_is_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("group");
        file_with_header(&p);
        // fcntl locks are per process: hold it from a child.
        let holder = File::options().read(true).write(true).open(&p).unwrap();
        // SAFETY: the child only takes the lock, sleeps and exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let ok = lock_byte0(&holder, 1, Duration::ZERO).ok() == Some(Lock::Taken);
            std::thread::sleep(Duration::from_millis(if ok { 800 } else { 0 }));
            // SAFETY: leave the forked test process without running destructors.
            unsafe { libc::_exit(0) };
        }
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(invalidate_unowned(&p).unwrap(), Invalidated::InUse);
        assert!(p.exists());
        let mut st = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(pid, &mut st, 0) };
        assert_eq!(invalidate_unowned(&p).unwrap(), Invalidated::Removed);
    }

    #[test]
    fn recycle_marks_and_removes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("initgroups");
        recycle(&p).unwrap();
        file_with_header(&p);
        let reader = File::open(&p).unwrap();
        recycle(&p).unwrap();
        assert!(!p.exists());
        let mut st = [0u8; 4];
        reader.read_exact_at(&mut st, STATUS_OFFSET).unwrap();
        assert_eq!(u32::from_ne_bytes(st), STATUS_RECYCLED);
    }
}
