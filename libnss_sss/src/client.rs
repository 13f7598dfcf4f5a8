//! Request/response over a per-thread cached connection, with one retry on a stale socket.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sss_proto::Command;

use crate::conn::{Conn, ExchangeError};
use crate::env;
use crate::status::NssError;

/// Total time one request may take, connect and handshake included.
pub const REQUEST_TIMEOUT: Duration = sss_client::REQUEST_TIMEOUT;

thread_local! {
    /// This thread's connection, taken out while in use (so re-entry just opens another).
    static CONN: Cell<Option<Conn>> = const { Cell::new(None) };
}

/// Where and how to reach the NSS responder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    path: PathBuf,
    timeout: Duration,
}

impl Client {
    /// A client for the socket at `path` with the default [`REQUEST_TIMEOUT`].
    pub fn new(path: impl Into<PathBuf>) -> Client {
        Client {
            path: path.into(),
            timeout: REQUEST_TIMEOUT,
        }
    }

    /// A client for `/var/lib/sss/pipes/nss`, or `SSS_NSS_SOCKET` outside setuid programs.
    pub fn from_env() -> Client {
        Client::new(env::socket_path())
    }

    /// The same client with another total per-request deadline.
    pub fn with_timeout(mut self, timeout: Duration) -> Client {
        self.timeout = timeout;
        self
    }

    /// The responder socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Absolute deadline for a request starting now.
    pub(crate) fn deadline(&self) -> Instant {
        sss_client::deadline_after(self.timeout)
    }

    /// Opens a fresh, version-checked connection (used by enumeration, which keeps its own).
    pub(crate) fn open(&self, deadline: Instant) -> Result<Conn, NssError> {
        Conn::open(&self.path, deadline)
    }

    /// Sends `cmd` with `body` and returns the reply body of a status-0 reply.
    ///
    /// A non-zero header status closes the connection and becomes [`NssError::Server`].
    /// If the connection turns out dead before the reply starts, the request is sent once
    /// more on a new connection.
    pub fn request(&self, cmd: Command, body: &[u8]) -> Result<Vec<u8>, NssError> {
        let deadline = self.deadline();
        let mut retried = false;
        loop {
            let mut conn = match take_cached(&self.path) {
                Some(c) => c,
                None => Conn::open(&self.path, deadline)?,
            };
            match conn.exchange(cmd, body, deadline) {
                Ok(reply) if reply.status == 0 => {
                    put_cached(conn);
                    return Ok(reply.body);
                }
                Ok(reply) => return Err(NssError::Server(reply.status)),
                Err(ExchangeError::Stale(_)) if !retried => retried = true,
                Err(e) => return Err(e.into_error()),
            }
        }
    }
}

/// Takes this thread's cached connection if it is for `path` and still usable.
fn take_cached(path: &Path) -> Option<Conn> {
    let conn = CONN.try_with(Cell::take).ok().flatten()?;
    if conn.path() != path {
        return None;
    }
    conn.revalidate()
}

/// Caches `conn` as this thread's connection (dropped if the thread is exiting).
fn put_cached(conn: Conn) {
    let _ = CONN.try_with(move |c| c.set(Some(conn)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{Action, Fake};

    #[test]
    fn absent_daemon_is_transport_error_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let t0 = Instant::now();
        let c = Client::new(dir.path().join("nss"));
        assert_eq!(
            c.request(Command::GetPwNam, b"a\0"),
            Err(NssError::Transport(libc::ENOENT))
        );
        assert!(t0.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn a_dead_responder_is_waited_for_briefly_then_refused() {
        let dir = tempfile::tempdir().unwrap();
        let dead = dir.path().join("dead");
        drop(std::os::unix::net::UnixListener::bind(&dead).unwrap());
        let t0 = Instant::now();
        let c = Client::new(dead);
        assert_eq!(
            c.request(Command::GetPwNam, b"a\0"),
            Err(NssError::Transport(libc::ECONNREFUSED))
        );
        let took = t0.elapsed();
        assert!(
            took >= sss_client::sys::RESTART_BUDGET && took < sss_client::sys::RESTART_BUDGET * 3,
            "{took:?}"
        );
    }

    #[test]
    fn version_handshake_comes_first_and_connection_is_reused() {
        let fake = Fake::start(|_, _| None);
        let c = Client::new(&fake.path);
        c.request(Command::GetPwNam, b"a\0").unwrap();
        c.request(Command::GetPwNam, b"b\0").unwrap();
        let log = fake.log();
        assert_eq!(log[0], (1, 1u32.to_ne_bytes().to_vec()));
        assert_eq!(log[1], (0x11, b"a\0".to_vec()));
        assert_eq!(log[2], (0x11, b"b\0".to_vec()));
        assert_eq!(fake.accepts(), 1);
    }

    #[test]
    fn wrong_version_fails_with_efault() {
        let fake =
            Fake::start(|cmd, _| (cmd == 1).then(|| Action::reply(0, 2u32.to_ne_bytes().to_vec())));
        let c = Client::new(&fake.path);
        let e = c.request(Command::GetPwNam, b"a\0").unwrap_err();
        assert_eq!(e, NssError::Version(2));
        assert_eq!(e.errno(), libc::EFAULT);
    }

    #[test]
    fn reconnects_after_the_server_closes() {
        // The server closes every connection right after answering.
        let fake = Fake::start(|cmd, _| (cmd == 0x11).then(|| Action::ReplyClose(0, vec![0; 8])));
        let c = Client::new(&fake.path);
        for _ in 0..3 {
            assert_eq!(c.request(Command::GetPwNam, b"a\0"), Ok(vec![0; 8]));
        }
        assert_eq!(fake.accepts(), 3);
    }

    #[test]
    fn retries_once_when_the_peer_vanishes_mid_request() {
        // First lookup on each connection: close without reply. A retry on a new connection
        // gets the same treatment, so the request fails after exactly two attempts.
        let fake = Fake::start(|cmd, _| (cmd == 0x11).then_some(Action::Close));
        let c = Client::new(&fake.path);
        let e = c.request(Command::GetPwNam, b"a\0").unwrap_err();
        assert_eq!(e, NssError::Transport(libc::EPIPE));
        assert_eq!(fake.count(0x11), 2);
        assert_eq!(fake.accepts(), 2);
    }

    #[test]
    fn nonzero_status_drops_the_connection() {
        let fake =
            Fake::start(|cmd, _| (cmd == 0x11).then(|| Action::reply(libc::EAGAIN as u32, vec![])));
        let c = Client::new(&fake.path);
        let e = c.request(Command::GetPwNam, b"a\0").unwrap_err();
        assert_eq!(e.status(), crate::NssStatus::TryAgain);
        assert_eq!(e.errno(), libc::EAGAIN);
        let _ = c.request(Command::GetPwNam, b"a\0");
        assert_eq!(fake.accepts(), 2);
    }

    #[test]
    fn silent_server_hits_the_deadline() {
        let fake = Fake::start(|cmd, _| (cmd == 0x11).then_some(Action::Silent));
        let c = Client::new(&fake.path).with_timeout(Duration::from_millis(200));
        let t0 = Instant::now();
        assert_eq!(
            c.request(Command::GetPwNam, b"a\0"),
            Err(NssError::Transport(libc::ETIMEDOUT))
        );
        assert!(t0.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn child_after_fork_opens_its_own_connection() {
        let fake = Fake::start(|_, _| None);
        let c = Client::new(&fake.path);
        c.request(Command::GetPwNam, b"parent\0").unwrap();
        // SAFETY: the child only uses the client (malloc is fork-safe in glibc) and _exits.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            let ok = c.request(Command::GetPwNam, b"child\0").is_ok();
            // SAFETY: leave the forked test process without running destructors.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        let mut st = 0;
        // SAFETY: waiting for our own child.
        assert_eq!(unsafe { libc::waitpid(pid, &mut st, 0) }, pid);
        assert!(libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0);
        // The parent's cached connection is intact and still the only one it uses.
        c.request(Command::GetPwNam, b"parent2\0").unwrap();
        assert_eq!(fake.accepts(), 2, "child connected separately");
        let log = fake.log();
        let names: Vec<_> = log
            .iter()
            .filter(|(c, _)| *c == 0x11)
            .map(|(_, b)| b.clone())
            .collect();
        assert_eq!(names.len(), 3);
        assert!(names.contains(&b"child\0".to_vec()));
    }

    #[test]
    fn threads_use_separate_connections() {
        let fake = Fake::start(|_, _| None);
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let c = Client::new(&fake.path);
                std::thread::spawn(move || {
                    (0..200).all(|_| c.request(Command::GetPwUid, &[1, 0, 0, 0]) == Ok(vec![0; 8]))
                })
            })
            .collect();
        for h in handles {
            assert!(h.join().unwrap());
        }
        assert_eq!(fake.count(0x12), 800);
        assert_eq!(fake.accepts(), 4);
    }

    #[test]
    fn garbage_replies_are_errors() {
        for raw in [
            b"\x01\x02\x03".to_vec(),
            sss_proto::packet(0x12, 0, b""),
            vec![0xff; 32],
            {
                let mut p = sss_proto::packet(0x11, 0, b"");
                p[0..4].copy_from_slice(&u32::MAX.to_ne_bytes());
                p
            },
        ] {
            let fake = Fake::start(move |cmd, _| (cmd == 0x11).then(|| Action::Raw(raw.clone())));
            let c = Client::new(&fake.path).with_timeout(Duration::from_secs(2));
            let e = c.request(Command::GetPwNam, b"a\0").unwrap_err();
            assert_eq!(e.status(), crate::NssStatus::Unavail, "{e:?}");
        }
    }
}
