//! One client connection: framing, version negotiation, idle and request deadlines,
//! dispatch.
//!
//! One request is in flight per connection: the next header is read only after the reply
//! has been written. Everything a client sends is validated; a bad packet closes that
//! connection only.

use super::admission::Ticket;
use super::peer::PeerCred;
use super::ratelimit::client_warning;
use sss_proto::{Command, HEADER_LEN, Header, packet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::time::{Instant, Sleep, timeout};
use zeroize::Zeroize;

/// `EINVAL`, the status of a reply to a malformed request body.
pub const EINVAL: u32 = 22;

/// What the server knows about a client when it dispatches a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientInfo {
    /// Connection number, for logs.
    pub id: u64,
    /// Peer credentials read at accept.
    pub peer: PeerCred,
    /// Protocol version negotiated by GET_VERSION.
    pub version: u32,
}

/// What a command handler wants done with the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send a reply packet with this header status and body, then read the next request.
    Reply {
        /// Header status: 0 or an errno.
        status: u32,
        /// Reply body.
        body: Vec<u8>,
    },
    /// Close the connection without replying (unknown command).
    Close,
}

impl Action {
    /// A status-0 reply with `body`.
    pub fn ok(body: Vec<u8>) -> Action {
        Action::Reply { status: 0, body }
    }

    /// An error reply (status `errno`, empty body); the connection stays open.
    pub fn error(errno: u32) -> Action {
        Action::Reply {
            status: errno,
            body: Vec::new(),
        }
    }
}

/// A responder's command set, driven by the socket server.
pub trait CommandHandler: Send + Sync + 'static {
    /// Per-connection state (for example enumeration cursors).
    type Conn: Default + Send;

    /// Handles one request (never GET_VERSION, which the server answers itself).
    fn handle(
        &self,
        conn: &mut Self::Conn,
        client: &ClientInfo,
        cmd: u32,
        body: &[u8],
    ) -> impl Future<Output = Action> + Send;
}

/// Limits and negotiation data shared by every connection of one server.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// Supported protocol versions, newest first (NSS `[1]`, PAM `[3, 2, 1]`).
    pub versions: Vec<u32>,
    /// Close a connection that sends nothing for this long between requests.
    pub idle_timeout: Duration,
    /// Close a connection whose request (header and body) or reply takes longer than this.
    pub request_timeout: Duration,
    /// Largest accepted request, header included.
    pub max_request_len: u32,
}

/// The reply to GET_VERSION: the client's version when supported, else our newest.
pub fn negotiate_version(versions: &[u32], body: &[u8]) -> Option<u32> {
    let newest = versions.first().copied()?;
    let asked = <[u8; 4]>::try_from(body).ok().map(u32::from_ne_bytes);
    Some(match asked {
        Some(v) if versions.contains(&v) => v,
        _ => newest,
    })
}

/// Bytes received from a client and not yet consumed: requests are parsed straight out of
/// it, so a request normally costs one `recv` however its header and body arrive.
///
/// Requests may carry secrets (PAM passwords), so every byte this buffer held is wiped:
/// consumed requests at once, the old allocation before it is replaced by a larger or
/// smaller one, and the whole buffer when the connection closes.
struct InBuf {
    data: Vec<u8>,
    filled: usize,
    timer: Pin<Box<Sleep>>,
}

/// Initial receive buffer size (a request is at most `max_request_len`, 1536 for NSS).
const INBUF_LEN: usize = 4096;

/// Why a connection ends while waiting for input.
enum Gone {
    /// End of stream or a socket error.
    Closed,
    /// Nothing arrived for `idle_timeout` between requests.
    Idle,
    /// A request was begun and not completed within `request_timeout`.
    Slow,
    /// The admission registry closed this idle connection to make room.
    Evicted,
}

/// The deadlines of one connection: `idle` between requests (counted from the last reply),
/// `request` for a whole request once its first byte has arrived. Bytes trickling in do
/// not extend either.
struct Deadlines {
    idle: Duration,
    request: Duration,
    idle_since: Instant,
    request_started: Option<Instant>,
}

impl Deadlines {
    fn new(idle: Duration, request: Duration) -> Deadlines {
        Deadlines {
            idle,
            request,
            idle_since: Instant::now(),
            request_started: None,
        }
    }

    /// When the connection is closed if nothing more happens.
    fn current(&self) -> Instant {
        match self.request_started {
            Some(t) => far_from(t, self.request),
            None => far_from(self.idle_since, self.idle),
        }
    }

    fn why(&self) -> Gone {
        if self.request_started.is_some() {
            Gone::Slow
        } else {
            Gone::Idle
        }
    }
}

impl InBuf {
    fn new(idle: Duration) -> InBuf {
        InBuf {
            data: vec![0; INBUF_LEN],
            filled: 0,
            timer: Box::pin(tokio::time::sleep(idle)),
        }
    }

    /// Reads until at least `n` bytes are buffered. Reads go through `AsyncRead`, which
    /// treats a short read as "drained" and waits for the next readiness event instead of
    /// trying a `recv` that would fail with `EAGAIN`. The timer is only re-armed when it
    /// fires early or a request starts in pieces, so a busy connection does not touch the
    /// timer wheel per request.
    async fn fill_to(
        &mut self,
        n: usize,
        stream: &mut UnixStream,
        deadlines: &mut Deadlines,
        ticket: &Ticket,
    ) -> Result<(), Gone> {
        if self.data.len() < n {
            self.reallocate(n);
        }
        while self.filled < n {
            let dst = self.data.get_mut(self.filled..).unwrap_or_default();
            tokio::select! {
                biased;
                r = stream.read(dst) => match r {
                    Ok(0) => return Err(Gone::Closed),
                    Ok(k) => {
                        self.filled = self.filled.saturating_add(k);
                        if deadlines.request_started.is_none() {
                            deadlines.request_started = Some(Instant::now());
                            ticket.set_idle(false);
                            if self.filled < n && self.timer.deadline() > deadlines.current() {
                                self.timer.as_mut().reset(deadlines.current());
                            }
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => return Err(Gone::Closed),
                },
                () = self.timer.as_mut() => {
                    let deadline = deadlines.current();
                    if Instant::now() >= deadline {
                        return Err(deadlines.why());
                    }
                    self.timer.as_mut().reset(deadline);
                }
                () = ticket.evicted(), if deadlines.request_started.is_none() => {
                    return Err(Gone::Evicted);
                }
            }
        }
        Ok(())
    }

    /// Drops the first `n` buffered bytes (a handled request), keeping any that follow.
    fn consume(&mut self, n: usize) {
        let n = n.min(self.filled);
        let old = self.filled;
        self.data.copy_within(n..old, 0);
        self.filled -= n;
        if let Some(stale) = self.data.get_mut(self.filled..old) {
            stale.zeroize();
        }
        if self.data.len() > INBUF_LEN && self.filled <= INBUF_LEN {
            self.reallocate(INBUF_LEN);
        }
    }

    /// Moves the buffered bytes to a fresh allocation of `len` bytes (at least `filled`)
    /// and wipes the old one, which `Vec::resize` or `shrink_to_fit` would free unwiped.
    fn reallocate(&mut self, len: usize) {
        let mut fresh = vec![0u8; len.max(self.filled)];
        if let (Some(dst), Some(src)) = (fresh.get_mut(..self.filled), self.data.get(..self.filled))
        {
            dst.copy_from_slice(src);
        }
        let mut old = std::mem::replace(&mut self.data, fresh);
        old.zeroize();
    }
}

impl Drop for InBuf {
    fn drop(&mut self) {
        self.data.zeroize();
    }
}

/// `from + span`, or about thirty years from `from` when that is not representable.
fn far_from(from: Instant, span: Duration) -> Instant {
    from.checked_add(span)
        .or_else(|| from.checked_add(Duration::from_secs(30 * 365 * 86_400)))
        .unwrap_or(from)
}

/// Writes `out` entirely: directly when the socket takes it (the usual case for replies
/// that fit the socket buffer), else waiting at most `limit` for the rest.
async fn write_reply(stream: &mut UnixStream, out: &[u8], limit: Duration) -> bool {
    let mut done = 0usize;
    loop {
        let rest = out.get(done..).unwrap_or_default();
        if rest.is_empty() {
            return true;
        }
        match stream.try_write(rest) {
            Ok(k) => done = done.saturating_add(k),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                return matches!(timeout(limit, stream.write_all(rest)).await, Ok(Ok(())));
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

/// Serves one admitted client until it disconnects, misbehaves, idles out, is too slow
/// with a request or is closed to make room.
pub async fn run_client<H: CommandHandler>(
    handler: Arc<H>,
    settings: Arc<ClientSettings>,
    mut stream: UnixStream,
    id: u64,
    peer: PeerCred,
    ticket: Ticket,
) {
    // SSSD's line, which `sssctl analyze request list` reads: the client's program and uid.
    tracing::debug!(
        "Client [cmd {}][uid {}][pid {}][fd {}] connected!",
        peer.program(),
        peer.uid,
        peer.pid.unwrap_or(-1),
        std::os::fd::AsRawFd::as_raw_fd(&stream)
    );
    let mut conn = H::Conn::default();
    let mut version: Option<u32> = None;
    let mut deadlines = Deadlines::new(settings.idle_timeout, settings.request_timeout);
    let mut inbuf = InBuf::new(settings.idle_timeout);
    loop {
        let h = match inbuf
            .fill_to(HEADER_LEN, &mut stream, &mut deadlines, &ticket)
            .await
            .map(|()| Header::decode(inbuf.data.get(..HEADER_LEN).unwrap_or_default()))
        {
            Ok(Ok(h)) if h.len <= settings.max_request_len => h,
            Ok(Ok(h)) => {
                client_warning(|n| {
                    tracing::warn!(
                        client = id,
                        uid = peer.uid,
                        pid = ?peer.pid,
                        len = h.len,
                        "request over the size limit; closing ({n} more client warnings held back)"
                    )
                });
                return;
            }
            Ok(Err(e)) => {
                client_warning(|n| {
                    tracing::warn!(
                        client = id,
                        uid = peer.uid,
                        pid = ?peer.pid,
                        "bad packet header: {e}; closing ({n} more client warnings held back)"
                    )
                });
                return;
            }
            Err(gone) => return log_gone(id, &peer, gone, &settings),
        };
        let total = HEADER_LEN.saturating_add(h.body_len());
        if let Err(gone) = inbuf
            .fill_to(total, &mut stream, &mut deadlines, &ticket)
            .await
        {
            return log_gone(id, &peer, gone, &settings);
        }
        let body = inbuf.data.get(HEADER_LEN..total).unwrap_or_default();
        let action = if h.cmd == Command::GetVersion.code() {
            match negotiate_version(&settings.versions, body) {
                Some(v) => {
                    version = Some(v);
                    Action::ok(v.to_ne_bytes().to_vec())
                }
                None => Action::Close,
            }
        } else if let Some(v) = version {
            let info = ClientInfo {
                id,
                peer,
                version: v,
            };
            let rid = crate::logging::next_request_id();
            let work = async {
                tracing::debug!(
                    "command {:#06x} from uid {} pid {:?}",
                    h.cmd,
                    peer.uid,
                    peer.pid
                );
                let action = handler.handle(&mut conn, &info, h.cmd, body).await;
                // The request's last line: `sssctl analyze` takes the backend's lines for
                // this request id up to here.
                match &action {
                    Action::Reply { status, .. } => {
                        tracing::debug!("command {:#06x} done: status {status}", h.cmd)
                    }
                    Action::Close => tracing::debug!("command {:#06x} done: closing", h.cmd),
                }
                action
            };
            crate::logging::with_request_id(rid, work).await
        } else {
            client_warning(|n| {
                tracing::warn!(
                    client = id,
                    uid = peer.uid,
                    pid = ?peer.pid,
                    cmd = h.cmd,
                    "command before GET_VERSION; closing ({n} more client warnings held back)"
                )
            });
            Action::Close
        };
        inbuf.consume(total);
        let (status, reply) = match action {
            Action::Reply { status, body } => (status, body),
            Action::Close => return,
        };
        let out = packet(h.cmd, status, &reply);
        if !write_reply(&mut stream, &out, settings.request_timeout).await {
            tracing::debug!(client = id, "could not write the reply in time; closing");
            return;
        }
        let now = Instant::now();
        deadlines.idle_since = now;
        if inbuf.filled == 0 {
            deadlines.request_started = None;
            ticket.set_idle(true);
        } else {
            deadlines.request_started = Some(now);
        }
    }
}

fn log_gone(id: u64, peer: &PeerCred, gone: Gone, settings: &ClientSettings) {
    match gone {
        Gone::Closed => {}
        Gone::Idle => tracing::debug!(client = id, "idle for {:?}; closing", settings.idle_timeout),
        Gone::Slow => client_warning(|n| {
            tracing::warn!(
                client = id,
                uid = peer.uid,
                pid = ?peer.pid,
                "request not complete within {:?}; closing ({n} more client warnings held back)",
                settings.request_timeout
            )
        }),
        Gone::Evicted => tracing::debug!(
            client = id,
            uid = peer.uid,
            "idle connection closed to make room for another"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_negotiation() {
        let one = 1u32.to_ne_bytes();
        let three = 3u32.to_ne_bytes();
        let nine = 9u32.to_ne_bytes();
        assert_eq!(negotiate_version(&[1], &one), Some(1));
        assert_eq!(negotiate_version(&[1], &three), Some(1));
        assert_eq!(negotiate_version(&[3, 2, 1], &one), Some(1));
        assert_eq!(negotiate_version(&[3, 2, 1], &three), Some(3));
        assert_eq!(negotiate_version(&[3, 2, 1], &nine), Some(3));
        assert_eq!(negotiate_version(&[3, 2, 1], b"xy"), Some(3));
        assert_eq!(negotiate_version(&[], &one), None);
    }

    #[tokio::test]
    async fn inbuf_wipes_what_it_consumed_and_keeps_what_follows() {
        let mut b = InBuf::new(Duration::from_secs(1));
        b.data[..6].copy_from_slice(b"secret");
        b.filled = 6;
        b.consume(4);
        assert_eq!(&b.data[..2], b"et");
        assert!(b.data[2..6].iter().all(|&x| x == 0));
        b.reallocate(INBUF_LEN * 4);
        assert_eq!(b.data.len(), INBUF_LEN * 4);
        assert_eq!(&b.data[..2], b"et");
        b.filled = INBUF_LEN * 2;
        b.consume(INBUF_LEN * 2);
        assert_eq!(b.data.len(), INBUF_LEN);
        assert_eq!(b.filled, 0);
    }
}
