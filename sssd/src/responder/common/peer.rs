//! Peer credentials of a client connection (`SO_PEERCRED`).

use tokio::net::UnixStream;

/// Who is on the other end of a client socket, read once at accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerCred {
    /// Effective uid of the peer.
    pub uid: u32,
    /// Effective gid of the peer.
    pub gid: u32,
    /// Process id of the peer, when the kernel reports one.
    pub pid: Option<i32>,
}

impl PeerCred {
    /// Reads `SO_PEERCRED` of `stream`.
    pub fn of(stream: &UnixStream) -> std::io::Result<PeerCred> {
        let c = stream.peer_cred()?;
        Ok(PeerCred {
            uid: c.uid(),
            gid: c.gid(),
            pid: c.pid(),
        })
    }

    /// A connection is privileged when the peer runs as root (SSSD 2.10 semantics).
    pub fn privileged(&self) -> bool {
        self.uid == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_own_credentials() {
        let (a, _b) = UnixStream::pair().unwrap();
        let c = PeerCred::of(&a).unwrap();
        assert_eq!(c.uid, nix::unistd::geteuid().as_raw());
        assert_eq!(c.gid, nix::unistd::getegid().as_raw());
        assert_eq!(c.pid, Some(std::process::id() as i32));
        assert_eq!(c.privileged(), c.uid == 0);
    }
}
