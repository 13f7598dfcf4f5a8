//! The few syscalls the memory-cache reader makes: open, fstat, mmap/munmap, close, and a
//! cheap monotonic clock. Thin wrappers that return errno values instead of panicking.

use std::ffi::CStr;
use std::os::fd::RawFd;

/// What `fstat` says about the mapped file, as far as the reader cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStat {
    /// Device of the file system.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// Hard links (0 once the file was unlinked).
    pub nlink: u64,
    /// Size in bytes (never negative).
    pub size: u64,
    /// True for a regular file.
    pub regular: bool,
}

fn errno() -> i32 {
    sss_client::sys::errno()
}

/// Opens `path` read-only and close-on-exec, never as fd 0, 1 or 2 (a program that closed
/// its standard descriptors would otherwise find the cache file there).
pub fn open_readonly(path: &CStr) -> Result<RawFd, i32> {
    // SAFETY: `path` is NUL-terminated; plain open(2).
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(errno());
    }
    if fd > 2 {
        return Ok(fd);
    }
    // SAFETY: F_DUPFD_CLOEXEC on the descriptor we just opened.
    let high = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    let e = errno();
    close(fd);
    if high < 0 { Err(e) } else { Ok(high) }
}

/// `fstat(2)` of `fd`. On x86-64 the `fstat` syscall itself: glibc's `fstat` is
/// `fstatat(fd, "", AT_EMPTY_PATH)`, which makes the kernel read and check the empty path
/// (about 10 % more on every cache lookup).
pub fn fstat(fd: RawFd) -> Result<FileStat, i32> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::zeroed();
    // SAFETY: `st` is writable memory of the right size (on x86-64 the kernel's struct stat
    // is glibc's).
    #[cfg(target_arch = "x86_64")]
    let rc = unsafe { libc::syscall(libc::SYS_fstat, fd, st.as_mut_ptr()) };
    // SAFETY: as above.
    #[cfg(not(target_arch = "x86_64"))]
    let rc = unsafe { libc::fstat(fd, st.as_mut_ptr()) };
    if rc != 0 {
        return Err(errno());
    }
    // SAFETY: fstat succeeded and filled the (zeroed) struct.
    let st = unsafe { st.assume_init() };
    Ok(FileStat {
        dev: st.st_dev,
        ino: st.st_ino,
        nlink: st.st_nlink,
        size: u64::try_from(st.st_size).unwrap_or(0),
        regular: st.st_mode & libc::S_IFMT == libc::S_IFREG,
    })
}

/// Closes `fd`, ignoring errors (there is nothing useful to do about them).
pub fn close(fd: RawFd) {
    // SAFETY: the caller owns `fd`.
    unsafe { libc::close(fd) };
}

/// Maps `len` bytes of `fd` read-only and shared.
pub fn map_shared_readonly(fd: RawFd, len: usize) -> Result<*mut u8, i32> {
    // SAFETY: a fresh mapping chosen by the kernel; no existing memory is affected.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_SHARED,
            fd,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        Err(errno())
    } else {
        Ok(p.cast::<u8>())
    }
}

/// Unmaps a mapping made by [`map_shared_readonly`].
///
/// # Safety
/// `base`/`len` must be exactly such a mapping, and nothing may use it afterwards.
pub unsafe fn unmap(base: *mut u8, len: usize) {
    // SAFETY: caller contract.
    unsafe { libc::munmap(base.cast::<libc::c_void>(), len) };
}

/// Nanoseconds of `CLOCK_MONOTONIC_COARSE` (a vDSO read of the last tick, a few ns).
pub fn coarse_now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is writable.
    if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) } != 0 {
        return 0;
    }
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
    secs.saturating_mul(1_000_000_000).saturating_add(nanos)
}

/// Ticks between two fstat checks of a mapped file (see `mapping`): 2^17 TSC cycles,
/// 30 to 130 µs on current x86-64 machines.
#[cfg(target_arch = "x86_64")]
pub const CHECK_TICKS: u64 = 1 << 17;

/// Without a cheap cycle counter every call checks the file.
#[cfg(not(target_arch = "x86_64"))]
pub const CHECK_TICKS: u64 = 0;

/// A cheap, roughly monotonic tick count (the TSC on x86-64; 0 elsewhere, where
/// [`CHECK_TICKS`] is 0). Only differences are used, and any jump (another CPU's counter,
/// a migration) makes the difference large or wrap, which only causes an earlier check.
pub fn ticks() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: RDTSC has no preconditions on x86-64.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        0
    }
}

/// Seconds since the epoch, as `time(2)` returns them.
pub fn wall_seconds() -> i64 {
    // SAFETY: time(NULL) has no preconditions.
    unsafe { libc::time(std::ptr::null_mut()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn open_stat_map() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, vec![7u8; 100]).unwrap();
        let c = CString::new(p.as_os_str().as_bytes()).unwrap();
        let fd = open_readonly(&c).unwrap();
        assert!(fd > 2);
        // SAFETY: querying flags of our fd.
        assert_ne!(
            unsafe { libc::fcntl(fd, libc::F_GETFD) } & libc::FD_CLOEXEC,
            0
        );
        let st = fstat(fd).unwrap();
        assert_eq!((st.size, st.nlink, st.regular), (100, 1, true));
        let base = map_shared_readonly(fd, 100).unwrap();
        // SAFETY: 100 mapped bytes.
        assert_eq!(unsafe { *base.add(99) }, 7);
        // SAFETY: our mapping, unused afterwards.
        unsafe { unmap(base, 100) };
        close(fd);
        assert_eq!(fstat(fd), Err(libc::EBADF));
        let missing = CString::new(dir.path().join("none").as_os_str().as_bytes()).unwrap();
        assert_eq!(open_readonly(&missing), Err(libc::ENOENT));
        assert!(coarse_now_ns() > 0);
        assert!(wall_seconds() > 1_600_000_000);
    }
}
