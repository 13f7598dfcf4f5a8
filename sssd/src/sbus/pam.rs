//! The `pamHandler` call from the PAM responder to a backend: one PAM command for one
//! resolved user, answered with a PAM status and response items.
//!
//! D-Bus signature: `pamHandler(q cmd, s domain, s user, s service, s tty, s ruser, s rhost,
//! u authtok_type, u newauthtok_type, h tokens, u cli_pid, u cli_flags, u cli_id)
//! -> (i pam_status, a(uay) items)`.
//!
//! The tokens never enter a D-Bus message: zbus serializes and receives messages in buffers
//! of its own, and the broker (busd in the monitor) copies them again. Instead the responder
//! writes them into an anonymous memory file ([`tokens_fd`]: the authtok's length as a
//! host-order u32, the authtok, the new authtok) whose descriptor travels with the message
//! (SCM_RIGHTS, over the 0700 private directory), and the backend reads them straight into
//! buffers of their exact size that are wiped on drop ([`read_tokens`]). The broker only
//! passes the descriptor on.

use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::FileExt;
use zeroize::Zeroizing;

/// A PAM request forwarded to the backend of `domain`.
#[derive(Clone, Default)]
pub struct PamForward {
    /// The PAM command (`sss_proto::Command` value 0xF1..=0xF9).
    pub cmd: u16,
    /// The domain the user was found in.
    pub domain: String,
    /// The user's name as stored in the cache of `domain` (not fully qualified).
    pub user: String,
    /// PAM service (`login`, `sshd`, ...).
    pub service: String,
    /// PAM_TTY, empty when unset.
    pub tty: String,
    /// PAM_RUSER, empty when unset.
    pub ruser: String,
    /// PAM_RHOST, empty when unset.
    pub rhost: String,
    /// Authtok type (`sss_proto::pam::authtok::*`); EMPTY when none was sent.
    pub authtok_type: u32,
    /// The token bytes (a password has no trailing NUL).
    pub authtok: Zeroizing<Vec<u8>>,
    /// New authtok type (password change).
    pub new_authtok_type: u32,
    /// The new token bytes.
    pub new_authtok: Zeroizing<Vec<u8>>,
    /// The client's pid.
    pub cli_pid: u32,
    /// The client's `PAM_CLI_FLAGS_*`.
    pub cli_flags: u32,
    /// The responder's request id, for logs (`[RID#n]` in both processes' lines); 0 when
    /// there is none.
    pub cli_id: u32,
}

impl std::fmt::Debug for PamForward {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PamForward")
            .field("cmd", &format_args!("{:#x}", self.cmd))
            .field("domain", &self.domain)
            .field("user", &self.user)
            .field("service", &self.service)
            .field("tty", &self.tty)
            .field("ruser", &self.ruser)
            .field("rhost", &self.rhost)
            .field("authtok_type", &self.authtok_type)
            .field("authtok", &"<redacted>")
            .field("new_authtok_type", &self.new_authtok_type)
            .field("new_authtok", &"<redacted>")
            .field("cli_pid", &self.cli_pid)
            .field("cli_flags", &format_args!("{:#x}", self.cli_flags))
            .field("cli_id", &self.cli_id)
            .finish()
    }
}

/// The backend's answer: a Linux-PAM status and response items (`type`, `data`) in the
/// order they should be sent (server-internal items already removed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PamResult {
    /// Linux-PAM status (`sss_proto::pam::status::*`).
    pub pam_status: i32,
    /// Response items (`sss_proto::pam::response::*` types).
    pub items: Vec<(u32, Vec<u8>)>,
}

impl PamResult {
    /// A result with `status` and no items.
    pub fn status(pam_status: i32) -> PamResult {
        PamResult {
            pam_status,
            items: Vec::new(),
        }
    }
}

/// The wire tuple of a `pamHandler` call.
pub(crate) type PamWireArgs<'a> = (
    u16,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    u32,
    u32,
    zbus::Fd<'a>,
    u32,
    u32,
    u32,
);

/// One token's bytes, wiped on drop.
pub type Token = Zeroizing<Vec<u8>>;

/// Largest token file accepted from a peer (both tokens and the length word): well above
/// what fits in a PAM request (16 KiB).
pub const MAX_TOKENS_LEN: u64 = 64 * 1024;

/// Why the tokens could not be passed or read.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Creating or writing the memory file failed.
    #[error("cannot pass the PAM tokens in a memory file: {0}")]
    Write(std::io::Error),
    /// Reading the received descriptor failed.
    #[error("cannot read the PAM tokens from the passed descriptor: {0}")]
    Read(std::io::Error),
    /// The descriptor is not a regular file, or its contents do not parse.
    #[error("the passed PAM token descriptor is malformed: {0}")]
    Malformed(String),
}

/// A new anonymous memory file (close-on-exec) holding `authtok` and `new_authtok`: the
/// authtok's length (host-order u32), the authtok, the new authtok. Written with plain
/// `write` calls, so no buffer of this process holds a further copy.
pub fn tokens_fd(authtok: &[u8], new_authtok: &[u8]) -> Result<OwnedFd, TokenError> {
    let len = u32::try_from(authtok.len())
        .map_err(|_| TokenError::Malformed(format!("authtok of {} bytes", authtok.len())))?;
    // SAFETY: a NUL-terminated name and valid flags; the result is checked below.
    let fd = unsafe { libc::memfd_create(c"sssd-pam-tokens".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(TokenError::Write(std::io::Error::last_os_error()));
    }
    // SAFETY: `fd` was just returned by memfd_create and is owned by nobody else.
    let fd = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let mut file = std::fs::File::from(fd);
    for part in [&len.to_ne_bytes()[..], authtok, new_authtok] {
        file.write_all(part).map_err(TokenError::Write)?;
    }
    Ok(OwnedFd::from(file))
}

/// Reads the tokens [`tokens_fd`] wrote from the descriptor `fd` (at offset 0, whatever its
/// file position), each into a buffer allocated once at its exact size and wiped on drop.
pub fn read_tokens(fd: BorrowedFd<'_>) -> Result<(Token, Token), TokenError> {
    let file = std::fs::File::from(fd.try_clone_to_owned().map_err(TokenError::Read)?);
    let meta = file.metadata().map_err(TokenError::Read)?;
    if !meta.is_file() {
        return Err(TokenError::Malformed("not a regular file".into()));
    }
    let total = meta.len();
    if !(4..=MAX_TOKENS_LEN).contains(&total) {
        return Err(TokenError::Malformed(format!("{total} bytes")));
    }
    let mut word = [0u8; 4];
    file.read_exact_at(&mut word, 0).map_err(TokenError::Read)?;
    let first = u64::from(u32::from_ne_bytes(word));
    let Some(second) = (total - 4).checked_sub(first) else {
        return Err(TokenError::Malformed(format!(
            "authtok of {first} bytes in a file of {total}"
        )));
    };
    // Both lengths are at most MAX_TOKENS_LEN, so they fit in usize.
    let mut authtok = Zeroizing::new(vec![0u8; first as usize]);
    let mut new_authtok = Zeroizing::new(vec![0u8; second as usize]);
    file.read_exact_at(&mut authtok, 4)
        .map_err(TokenError::Read)?;
    file.read_exact_at(&mut new_authtok, 4 + first)
        .map_err(TokenError::Read)?;
    Ok((authtok, new_authtok))
}

/// The wire tuple of a `pamHandler` reply.
pub(crate) type PamWireReply = (i32, Vec<(u32, Vec<u8>)>);

impl PamForward {
    /// The wire arguments of this request, with `tokens` (from [`tokens_fd`]) carrying the
    /// token bytes.
    pub(crate) fn to_wire<'a>(&'a self, tokens: &'a OwnedFd) -> PamWireArgs<'a> {
        (
            self.cmd,
            &self.domain,
            &self.user,
            &self.service,
            &self.tty,
            &self.ruser,
            &self.rhost,
            self.authtok_type,
            self.new_authtok_type,
            zbus::Fd::from(tokens.as_fd()),
            self.cli_pid,
            self.cli_flags,
            self.cli_id,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_through_a_memory_file() {
        for (a, b) in [
            (&b"Secret123"[..], &b""[..]),
            (b"", b""),
            (b"old", b"new password"),
        ] {
            let fd = tokens_fd(a, b).unwrap();
            let (x, y) = read_tokens(fd.as_fd()).unwrap();
            assert_eq!((x.as_slice(), y.as_slice()), (a, b));
            assert_eq!((x.capacity(), y.capacity()), (a.len(), b.len()));
        }
    }

    #[test]
    fn malformed_token_files_are_refused() {
        let fd = tokens_fd(b"abc", b"").unwrap();
        let f = std::fs::File::from(fd);
        f.set_len(2).unwrap();
        assert!(matches!(
            read_tokens(f.as_fd()),
            Err(TokenError::Malformed(_))
        ));
        f.set_len(0).unwrap();
        f.write_at(&100u32.to_ne_bytes(), 0).unwrap();
        assert!(matches!(
            read_tokens(f.as_fd()),
            Err(TokenError::Malformed(_))
        ));
        let (r, _w) = std::io::pipe().unwrap();
        assert!(matches!(
            read_tokens(r.as_fd()),
            Err(TokenError::Malformed(_))
        ));
    }
}
