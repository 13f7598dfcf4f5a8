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

    /// The client's program as its `/proc/PID/cmdline` starts (`argv[0]`, at most 254
    /// bytes, as SSSD reads it), for the "client connected" log line; empty when unknown.
    pub fn program(&self) -> String {
        let Some(pid) = self.pid.filter(|p| *p > 0) else {
            return String::new();
        };
        let Ok(bytes) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            return String::new();
        };
        let head = bytes.get(..254).unwrap_or(&bytes);
        let argv0 = head.split(|b| *b == 0).next().unwrap_or_default();
        String::from_utf8_lossy(argv0).into_owned()
    }

    /// A connection is privileged when the peer runs as root (SSSD 2.10 semantics).
    pub fn privileged(&self) -> bool {
        self.uid == 0
    }
}

/// Resolves an `allowed_uids` list (numbers or user names, names via the system's NSS)
/// to uids. Errors name the entry that cannot be resolved.
pub fn resolve_uids(list: &[String]) -> Result<Vec<u32>, String> {
    list.iter()
        .map(|e| match e.parse::<u32>() {
            Ok(uid) => Ok(uid),
            Err(_) => match nix::unistd::User::from_name(e) {
                Ok(Some(u)) => Ok(u.uid.as_raw()),
                Ok(None) => Err(format!("allowed_uids: unknown user {e:?}")),
                Err(err) => Err(format!("allowed_uids: looking up {e:?}: {err}")),
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_numbers_and_names() {
        assert_eq!(
            resolve_uids(&["0".into(), "root".into(), "42".into()]),
            Ok(vec![0, 0, 42])
        );
        assert!(resolve_uids(&["no-such-user-xyz".into()]).is_err());
    }

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
