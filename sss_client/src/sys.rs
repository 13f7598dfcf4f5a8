//! Safe wrappers over the socket syscalls the clients need. Every wait is a `poll` bounded
//! by an absolute deadline; sockets are non-blocking, close-on-exec and above fd 2.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Why a socket operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoFail {
    /// The peer closed the connection; `partial` when some bytes of the message had arrived.
    Eof {
        /// Some bytes were read before the end of stream.
        partial: bool,
    },
    /// A syscall failed with this errno (`ETIMEDOUT` when the deadline passed).
    Os(i32),
}

impl IoFail {
    /// The errno to report for this failure.
    pub fn errno(self) -> i32 {
        match self {
            IoFail::Eof { .. } => libc::EPIPE,
            IoFail::Os(e) => e,
        }
    }
}

/// The calling thread's last errno.
pub fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// The current process id (changes after fork).
pub fn getpid() -> i32 {
    // SAFETY: getpid has no preconditions.
    unsafe { libc::getpid() }
}

/// Milliseconds until `deadline` rounded up, or None if it has passed.
fn poll_ms(deadline: Instant) -> Option<libc::c_int> {
    let left = deadline.checked_duration_since(Instant::now())?;
    if left.is_zero() {
        return None;
    }
    let ms = left.as_millis().saturating_add(1);
    Some(libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX))
}

/// Waits until `fd` reports one of `events` (or an error condition); returns `revents`.
pub fn poll_until(
    fd: RawFd,
    events: libc::c_short,
    deadline: Instant,
) -> Result<libc::c_short, IoFail> {
    loop {
        let ms = poll_ms(deadline).ok_or(IoFail::Os(libc::ETIMEDOUT))?;
        let mut pfd = libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
        if rc < 0 {
            let e = errno();
            if e == libc::EINTR {
                continue;
            }
            return Err(IoFail::Os(e));
        }
        if rc > 0 {
            return Ok(pfd.revents);
        }
    }
}

/// `revents` of an immediate poll for input on `fd` (0 when nothing is pending).
pub fn poll_now(fd: RawFd) -> libc::c_short {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, zero timeout.
    let rc = unsafe { libc::poll(&mut pfd, 1, 0) };
    if rc < 0 { libc::POLLERR } else { pfd.revents }
}

/// `(st_dev, st_ino)` of an open fd, or None if it is not open.
pub fn fd_identity(fd: RawFd) -> Option<(u64, u64)> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::zeroed();
    // SAFETY: st points to writable memory of the right size.
    let rc = unsafe { libc::fstat(fd, st.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: fstat succeeded and filled the struct (it was zeroed anyway).
    let st = unsafe { st.assume_init() };
    Some((st.st_dev, st.st_ino))
}

fn sockaddr(path: &Path) -> Result<(libc::sockaddr_un, libc::socklen_t), IoFail> {
    // SAFETY: sockaddr_un is plain data; all-zero is valid.
    let mut sa: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    sa.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.as_os_str().as_bytes();
    if bytes.is_empty() || bytes.len() >= sa.sun_path.len() || bytes.contains(&0) {
        return Err(IoFail::Os(libc::ENAMETOOLONG));
    }
    for (dst, src) in sa.sun_path.iter_mut().zip(bytes) {
        *dst = *src as libc::c_char;
    }
    let len = std::mem::size_of::<libc::sa_family_t>() + bytes.len() + 1;
    let len = libc::socklen_t::try_from(len).map_err(|_| IoFail::Os(libc::ENAMETOOLONG))?;
    Ok((sa, len))
}

/// A new non-blocking, close-on-exec AF_UNIX stream socket numbered above 2.
fn new_socket() -> Result<OwnedFd, IoFail> {
    // SAFETY: plain socket(2) call.
    let fd = unsafe {
        libc::socket(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        )
    };
    if fd < 0 {
        return Err(IoFail::Os(errno()));
    }
    // SAFETY: fd is a fresh descriptor we own.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    if fd > 2 {
        return Ok(owned);
    }
    // Never hold stdin/stdout/stderr: a caller that closed them would get our socket there.
    // SAFETY: F_DUPFD_CLOEXEC on a valid fd.
    let high = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    if high < 0 {
        return Err(IoFail::Os(errno()));
    }
    // SAFETY: fresh descriptor from fcntl; the low one is closed when `owned` drops.
    Ok(unsafe { OwnedFd::from_raw_fd(high) })
}

/// How long a client keeps retrying a connect refused with `EAGAIN` (the responder's
/// listen queue is full). A responder that keeps up drains its queue in microseconds; one
/// that does not is overwhelmed, and the caller is better served by an error (glibc then
/// moves on to the next nsswitch source) than by a wait of the whole request timeout.
pub const FULL_QUEUE_BUDGET: Duration = Duration::from_millis(300);

/// Connects to the stream socket at `path`, waiting at most until `deadline`, and at
/// most [`FULL_QUEUE_BUDGET`] for a full listen queue (then `EAGAIN`).
pub fn connect_unix(path: &Path, deadline: Instant) -> Result<OwnedFd, IoFail> {
    let (sa, len) = sockaddr(path)?;
    let sock = new_socket()?;
    let fd = sock.as_raw_fd();
    let queue_deadline = deadline.min(Instant::now() + FULL_QUEUE_BUDGET);
    let mut pause_ms: u64 = 1;
    loop {
        // SAFETY: sa is a valid sockaddr_un of length len.
        let rc = unsafe { libc::connect(fd, (&raw const sa).cast::<libc::sockaddr>(), len) };
        if rc == 0 {
            return Ok(sock);
        }
        match errno() {
            libc::EINPROGRESS | libc::EINTR => return finish_connect(sock, deadline),
            libc::EAGAIN => {
                // Listen queue full: retry with growing pauses, within the budget.
                let left = poll_ms(queue_deadline).ok_or(IoFail::Os(libc::EAGAIN))?;
                let pause = pause_ms.min(u64::try_from(left).unwrap_or(1).max(1));
                std::thread::sleep(Duration::from_millis(pause));
                pause_ms = (pause_ms * 2).min(20);
            }
            e => return Err(IoFail::Os(e)),
        }
    }
}

/// How long a client waits for a responder whose socket file is there but refuses
/// connections (`ECONNREFUSED`: the process that listened on it died, e.g. was killed, and
/// the monitor is starting it again). A restart takes well under a second when the monitor
/// restarts at once (issue 9: `fault_bench`); the monitor waits 2 s, then 4 s, before the
/// second and third restart within 30 s, which this budget does not cover.
pub const RESTART_BUDGET: Duration = Duration::from_millis(1500);

/// After a wait for a restarting responder ran out, how long refused connects fail at once.
pub const NO_WAIT_AFTER_GIVING_UP: Duration = Duration::from_secs(30);

/// When (CLOCK_MONOTONIC, ms; 0 = never) the last wait for a restarting responder ran out.
static GAVE_UP_AT_MS: AtomicU64 = AtomicU64::new(0);

/// CLOCK_MONOTONIC in milliseconds.
fn monotonic_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    u64::try_from(ts.tv_sec)
        .unwrap_or(0)
        .saturating_mul(1000)
        .saturating_add(u64::try_from(ts.tv_nsec).unwrap_or(0) / 1_000_000)
}

/// Whether a wait for a restarting responder ran out less than
/// [`NO_WAIT_AFTER_GIVING_UP`] ago.
fn recently_gave_up() -> bool {
    let at = GAVE_UP_AT_MS.load(Ordering::Relaxed);
    at != 0
        && monotonic_ms().saturating_sub(at)
            < u64::try_from(NO_WAIT_AFTER_GIVING_UP.as_millis()).unwrap_or(u64::MAX)
}

/// [`connect_unix`], but while `path` is a socket file nobody listens on (`ECONNREFUSED`)
/// it tries again with growing pauses, for at most [`RESTART_BUDGET`] and never past
/// `deadline`. A missing socket file (`ENOENT`) fails at once: no responder is configured
/// or sssd is not running.
///
/// When a wait ran out its budget (the whole daemon is gone and left its socket behind), the
/// calls of the next [`NO_WAIT_AFTER_GIVING_UP`] fail at once, so a program making many
/// lookups (`ls -l`) pays the wait once, not per lookup.
pub fn connect_unix_restarting(path: &Path, deadline: Instant) -> Result<OwnedFd, IoFail> {
    let budget = deadline.min(Instant::now() + RESTART_BUDGET);
    let mut pause_ms: u64 = 5;
    loop {
        match connect_unix(path, deadline) {
            Ok(fd) => {
                GAVE_UP_AT_MS.store(0, Ordering::Relaxed);
                return Ok(fd);
            }
            Err(IoFail::Os(libc::ECONNREFUSED)) => {
                if !lstat(path).is_ok_and(|i| i.is_socket) || recently_gave_up() {
                    return Err(IoFail::Os(libc::ECONNREFUSED));
                }
                let Some(left) = poll_ms(budget) else {
                    GAVE_UP_AT_MS.store(monotonic_ms().max(1), Ordering::Relaxed);
                    return Err(IoFail::Os(libc::ECONNREFUSED));
                };
                let pause = pause_ms.min(u64::try_from(left).unwrap_or(1).max(1));
                std::thread::sleep(Duration::from_millis(pause));
                pause_ms = (pause_ms * 2).min(100);
            }
            other => return other,
        }
    }
}

fn finish_connect(sock: OwnedFd, deadline: Instant) -> Result<OwnedFd, IoFail> {
    let fd = sock.as_raw_fd();
    poll_until(fd, libc::POLLOUT, deadline)?;
    let mut err: libc::c_int = 0;
    // SAFETY: any bit pattern is a valid c_int.
    unsafe { sol_socket_opt(fd, libc::SO_ERROR, &mut err) }?;
    if err != 0 {
        return Err(IoFail::Os(err));
    }
    Ok(sock)
}

/// Reads `SOL_SOCKET` option `opt` of `fd` into `val`; returns the length the kernel filled.
///
/// # Safety
/// `T` must be the plain-data type the kernel writes for `opt`, valid for any bit pattern.
unsafe fn sol_socket_opt<T>(fd: RawFd, opt: libc::c_int, val: &mut T) -> Result<usize, IoFail> {
    let mut len = libc::socklen_t::try_from(std::mem::size_of::<T>())
        .map_err(|_| IoFail::Os(libc::EINVAL))?;
    // SAFETY: val/len point to valid storage of the declared size.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            std::ptr::from_mut(val).cast::<libc::c_void>(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(IoFail::Os(errno()));
    }
    Ok(usize::try_from(len).unwrap_or(0))
}

/// After a failed non-blocking syscall on `fd`: returns to retry at once on `EINTR`, waits
/// for `events` on `EAGAIN`, and turns any other errno into the error.
fn wait_after_failure(fd: RawFd, events: libc::c_short, deadline: Instant) -> Result<(), IoFail> {
    match errno() {
        libc::EINTR => Ok(()),
        libc::EAGAIN => poll_until(fd, events, deadline).map(drop),
        e => Err(IoFail::Os(e)),
    }
}

/// Sends all of `buf` (no SIGPIPE), waiting at most until `deadline`.
pub fn send_all(fd: RawFd, mut buf: &[u8], deadline: Instant) -> Result<(), IoFail> {
    while !buf.is_empty() {
        // SAFETY: buf is a valid readable slice.
        let rc = unsafe {
            libc::send(
                fd,
                buf.as_ptr().cast::<libc::c_void>(),
                buf.len(),
                libc::MSG_NOSIGNAL,
            )
        };
        if rc >= 0 {
            let n = usize::try_from(rc).unwrap_or(0);
            buf = buf.get(n..).unwrap_or_default();
            continue;
        }
        wait_after_failure(fd, libc::POLLOUT, deadline)?;
    }
    Ok(())
}

/// Waits for input on `fd` (at most until `deadline`), then reads what is there, up to
/// `buf.len()` bytes, in one `recv`. Returns the count, never 0 (end of stream is `Eof`).
/// For replies, which never arrive before the request has been processed: waiting first
/// saves the `recv` that would fail with `EAGAIN`.
pub fn recv_some(
    fd: RawFd,
    buf: &mut [u8],
    started: bool,
    deadline: Instant,
) -> Result<usize, IoFail> {
    loop {
        poll_until(fd, libc::POLLIN, deadline)?;
        // SAFETY: buf is a valid writable slice.
        let rc = unsafe { libc::recv(fd, buf.as_mut_ptr().cast::<libc::c_void>(), buf.len(), 0) };
        if rc > 0 {
            return Ok(usize::try_from(rc).unwrap_or(0));
        }
        if rc == 0 {
            return Err(IoFail::Eof { partial: started });
        }
        match errno() {
            libc::EINTR | libc::EAGAIN => {}
            e => return Err(IoFail::Os(e)),
        }
    }
}

/// Fills all of `buf`, waiting at most until `deadline`. `started` says whether earlier bytes
/// of the same message were already read (for the `Eof` report).
pub fn recv_exact(
    fd: RawFd,
    buf: &mut [u8],
    started: bool,
    deadline: Instant,
) -> Result<(), IoFail> {
    let mut got = 0usize;
    while let Some(rest) = buf.get_mut(got..).filter(|r| !r.is_empty()) {
        // SAFETY: rest is a valid writable slice.
        let rc = unsafe { libc::recv(fd, rest.as_mut_ptr().cast::<libc::c_void>(), rest.len(), 0) };
        if rc > 0 {
            got = got.saturating_add(usize::try_from(rc).unwrap_or(0));
            continue;
        }
        if rc == 0 {
            return Err(IoFail::Eof {
                partial: started || got > 0,
            });
        }
        wait_after_failure(fd, libc::POLLIN, deadline)?;
    }
    Ok(())
}

/// Owner, group, type and permission bits of a path, not following symlinks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileInfo {
    /// Owning uid.
    pub uid: u32,
    /// Owning gid.
    pub gid: u32,
    /// True for a socket.
    pub is_socket: bool,
    /// Permission bits (`st_mode & 0o7777`).
    pub perm: u32,
}

/// `lstat(2)` of `path`.
pub fn lstat(path: &Path) -> Result<FileInfo, IoFail> {
    let bytes = path.as_os_str().as_bytes();
    let c = std::ffi::CString::new(bytes).map_err(|_| IoFail::Os(libc::EINVAL))?;
    let mut st = std::mem::MaybeUninit::<libc::stat>::zeroed();
    // SAFETY: c is NUL-terminated; st points to writable memory of the right size.
    let rc = unsafe { libc::lstat(c.as_ptr(), st.as_mut_ptr()) };
    if rc != 0 {
        return Err(IoFail::Os(errno()));
    }
    // SAFETY: lstat succeeded and filled the (zeroed) struct.
    let st = unsafe { st.assume_init() };
    Ok(FileInfo {
        uid: st.st_uid,
        gid: st.st_gid,
        is_socket: st.st_mode & libc::S_IFMT == libc::S_IFSOCK,
        perm: st.st_mode & 0o7777,
    })
}

/// `(uid, gid)` of the process at the other end of a connected AF_UNIX socket.
pub fn peer_cred(fd: RawFd) -> Result<(u32, u32), IoFail> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: u32::MAX,
        gid: u32::MAX,
    };
    // SAFETY: ucred is three integers; any bit pattern is valid.
    let len = unsafe { sol_socket_opt(fd, libc::SO_PEERCRED, &mut cred) }?;
    if len != std::mem::size_of::<libc::ucred>() {
        return Err(IoFail::Os(libc::EBADMSG));
    }
    Ok((cred.uid, cred.gid))
}

/// Real uid and gid of this process.
pub fn real_ids() -> (u32, u32) {
    // SAFETY: getuid/getgid have no preconditions.
    unsafe { (libc::getuid(), libc::getgid()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::{UnixListener, UnixStream};

    /// A client socket from [`connect_unix`], its accepted peer and a 5 s deadline.
    fn connected_pair() -> (tempfile::TempDir, OwnedFd, UnixStream, Instant) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s");
        let l = UnixListener::bind(&p).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let s = connect_unix(&p, deadline).unwrap();
        let (peer, _) = l.accept().unwrap();
        (dir, s, peer, deadline)
    }

    #[test]
    fn a_dead_responder_is_waited_for_within_the_restart_budget() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s");
        drop(UnixListener::bind(&p).unwrap());
        // Nobody comes back: ECONNREFUSED after the budget, not before, not much after.
        let far = Instant::now() + Duration::from_secs(60);
        let t0 = Instant::now();
        assert_eq!(
            connect_unix_restarting(&p, far).err(),
            Some(IoFail::Os(libc::ECONNREFUSED))
        );
        let took = t0.elapsed();
        assert!(
            took >= RESTART_BUDGET && took < RESTART_BUDGET * 3,
            "{took:?}"
        );
        // Having given up, the next calls fail at once (a daemon that is gone).
        let t0 = Instant::now();
        assert!(connect_unix_restarting(&p, far).is_err());
        assert!(
            t0.elapsed() < Duration::from_millis(50),
            "{:?}",
            t0.elapsed()
        );
        GAVE_UP_AT_MS.store(0, Ordering::Relaxed);
        // The overall deadline wins over the budget.
        let t0 = Instant::now();
        let soon = t0 + Duration::from_millis(100);
        assert!(connect_unix_restarting(&p, soon).is_err());
        assert!(
            t0.elapsed() < Duration::from_millis(600),
            "{:?}",
            t0.elapsed()
        );
        GAVE_UP_AT_MS.store(0, Ordering::Relaxed);
        // A responder that comes back within the budget is reached.
        std::fs::remove_file(&p).unwrap();
        drop(UnixListener::bind(&p).unwrap());
        let p2 = p.clone();
        let back = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            std::fs::remove_file(&p2).unwrap();
            UnixListener::bind(&p2).unwrap()
        });
        let t0 = Instant::now();
        let s = connect_unix_restarting(&p, far);
        let _l = back.join().unwrap();
        assert!(s.is_ok(), "{:?}", s.err());
        assert!(t0.elapsed() >= Duration::from_millis(250));
    }

    #[test]
    fn a_missing_socket_file_is_not_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = Instant::now();
        assert_eq!(
            connect_unix_restarting(
                &dir.path().join("none"),
                Instant::now() + Duration::from_secs(60)
            )
            .err(),
            Some(IoFail::Os(libc::ENOENT))
        );
        assert!(t0.elapsed() < Duration::from_millis(100));
    }

    #[test]
    fn a_full_listen_queue_fails_fast_with_eagain() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s");
        let _l = UnixListener::bind(&p).unwrap();
        // Nobody accepts: fill the queue (the default backlog is 128) until a connect
        // would block.
        let mut held = Vec::new();
        let far = Instant::now() + Duration::from_secs(60);
        let t0 = Instant::now();
        let err = loop {
            match connect_unix(&p, far) {
                Ok(s) => held.push(s),
                Err(e) => break e,
            }
            assert!(held.len() < 10_000, "the queue never filled");
        };
        assert_eq!(err.errno(), libc::EAGAIN);
        let t1 = Instant::now();
        assert_eq!(
            connect_unix(&p, far).err().map(|e| e.errno()),
            Some(libc::EAGAIN)
        );
        let took = t1.elapsed();
        assert!(
            took >= FULL_QUEUE_BUDGET && took < FULL_QUEUE_BUDGET * 3,
            "{took:?} (queue filled in {:?})",
            t1 - t0
        );
    }

    #[test]
    fn recv_some_returns_what_is_there_then_eof() {
        let (_dir, s, peer, deadline) = connected_pair();
        send_all(peer.as_raw_fd(), b"hello", deadline).unwrap();
        let mut buf = [0u8; 64];
        let n = recv_some(s.as_raw_fd(), &mut buf, false, deadline).unwrap();
        assert_eq!(buf.get(..n), Some(b"hello".as_slice()));
        drop(peer);
        assert_eq!(
            recv_some(s.as_raw_fd(), &mut buf, true, deadline),
            Err(IoFail::Eof { partial: true })
        );
        assert_eq!(IoFail::Eof { partial: true }.errno(), libc::EPIPE);
    }

    #[test]
    fn partial_message_then_eof_is_reported_as_partial() {
        let (_dir, s, peer, deadline) = connected_pair();
        send_all(peer.as_raw_fd(), b"ab", deadline).unwrap();
        drop(peer);
        let mut buf = [0u8; 4];
        assert_eq!(
            recv_exact(s.as_raw_fd(), &mut buf, false, deadline),
            Err(IoFail::Eof { partial: true })
        );
        assert!(getpid() > 0);
    }
}
