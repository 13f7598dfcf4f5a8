//! The socket syscalls the client needs, from [`sss_client::sys`]: every wait is a `poll`
//! bounded by an absolute deadline; sockets are non-blocking, close-on-exec and above fd 2.

use std::os::fd::RawFd;
use std::time::Instant;

#[cfg(test)]
pub use sss_client::sys::connect_unix;
pub use sss_client::sys::{IoFail, connect_unix_restarting, lstat, peer_cred, real_ids, send_all};
#[cfg(test)]
use std::os::fd::AsRawFd;
#[cfg(test)]
use std::time::Duration;

/// Fills all of `buf`, waiting at most until `deadline`.
pub fn recv_exact(fd: RawFd, buf: &mut [u8], deadline: Instant) -> Result<(), IoFail> {
    sss_client::sys::recv_exact(fd, buf, false, deadline)
}

/// This process's id.
pub fn getpid() -> u32 {
    u32::try_from(sss_client::sys::getpid()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::{UnixListener, UnixStream};

    #[test]
    fn lstat_and_peer_cred_see_this_process() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s");
        let l = UnixListener::bind(&p).unwrap();
        let info = lstat(&p).unwrap();
        let (uid, gid) = real_ids();
        assert!(info.is_socket);
        assert_eq!((info.uid, info.gid), (uid, gid));
        let plain = dir.path().join("f");
        std::fs::write(&plain, b"x").unwrap();
        assert!(!lstat(&plain).unwrap().is_socket);
        assert_eq!(
            lstat(&dir.path().join("none")).err(),
            Some(IoFail::Os(libc::ENOENT))
        );
        let s = UnixStream::connect(&p).unwrap();
        let _peer = l.accept().unwrap();
        // SAFETY-free: the peer is this process.
        use std::os::fd::AsRawFd;
        let (puid, pgid) = peer_cred(s.as_raw_fd()).unwrap();
        // SAFETY: geteuid/getegid have no preconditions.
        let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
        assert_eq!((puid, pgid), (euid, egid));
    }

    #[test]
    fn recv_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s");
        let l = UnixListener::bind(&p).unwrap();
        let s = connect_unix(&p, Instant::now() + Duration::from_secs(5)).unwrap();
        let _peer = l.accept().unwrap();
        let mut b = [0u8; 4];
        let t0 = Instant::now();
        let r = recv_exact(s.as_raw_fd(), &mut b, t0 + Duration::from_millis(100));
        assert_eq!(r, Err(IoFail::Os(libc::ETIMEDOUT)));
        assert!(t0.elapsed() < Duration::from_secs(2));
    }
}
