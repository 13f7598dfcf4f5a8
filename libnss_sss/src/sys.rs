//! The socket syscalls the client needs, from [`sss_client::sys`]: every wait is a `poll`
//! bounded by an absolute deadline; sockets are non-blocking, close-on-exec and above fd 2.

#[cfg(test)]
pub use sss_client::sys::connect_unix;
pub use sss_client::sys::{
    IoFail, connect_unix_restarting, fd_identity, getpid, poll_now, recv_exact, recv_some, send_all,
};
#[cfg(test)]
use std::os::fd::AsRawFd;
#[cfg(test)]
use std::time::{Duration, Instant};

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    #[test]
    fn connect_errors_are_immediate() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        assert_eq!(
            connect_unix(&missing, soon()).err(),
            Some(IoFail::Os(libc::ENOENT))
        );
        let dead = dir.path().join("dead");
        drop(UnixListener::bind(&dead).unwrap());
        assert_eq!(
            connect_unix(&dead, soon()).err(),
            Some(IoFail::Os(libc::ECONNREFUSED))
        );
        let long = dir.path().join("x".repeat(200));
        assert_eq!(
            connect_unix(&long, soon()).err(),
            Some(IoFail::Os(libc::ENAMETOOLONG))
        );
    }

    #[test]
    fn socket_is_cloexec_nonblocking_and_high() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s");
        let _l = UnixListener::bind(&p).unwrap();
        let s = connect_unix(&p, soon()).unwrap();
        let fd = s.as_raw_fd();
        assert!(fd > 2);
        // SAFETY: querying flags of a valid fd.
        let (fdfl, flfl) = unsafe {
            (
                libc::fcntl(fd, libc::F_GETFD),
                libc::fcntl(fd, libc::F_GETFL),
            )
        };
        assert_ne!(fdfl & libc::FD_CLOEXEC, 0);
        assert_ne!(flfl & libc::O_NONBLOCK, 0);
        assert!(fd_identity(fd).is_some());
    }

    #[test]
    fn recv_times_out_and_sees_eof() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s");
        let l = UnixListener::bind(&p).unwrap();
        let s = connect_unix(&p, soon()).unwrap();
        let (peer, _) = l.accept().unwrap();
        let mut b = [0u8; 4];
        let t0 = Instant::now();
        let r = recv_exact(
            s.as_raw_fd(),
            &mut b,
            false,
            t0 + Duration::from_millis(100),
        );
        assert_eq!(r, Err(IoFail::Os(libc::ETIMEDOUT)));
        assert!(t0.elapsed() < Duration::from_secs(2));
        drop(peer);
        assert_eq!(poll_now(s.as_raw_fd()) & libc::POLLHUP, libc::POLLHUP);
        let r = recv_exact(s.as_raw_fd(), &mut b, false, soon());
        assert_eq!(r, Err(IoFail::Eof { partial: false }));
        // Writing to a closed peer fails with EPIPE instead of killing us with SIGPIPE.
        assert_eq!(
            send_all(s.as_raw_fd(), b"abcd", soon()),
            Err(IoFail::Os(libc::EPIPE))
        );
    }
}
