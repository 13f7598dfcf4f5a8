//! The `pamHandler` call from the PAM responder to a backend: one PAM command for one
//! resolved user, answered with a PAM status and response items.
//!
//! D-Bus signature: `pamHandler(q cmd, s domain, s user, s service, s tty, s ruser, s rhost,
//! u authtok_type, ay authtok, u newauthtok_type, ay newauthtok, u cli_pid, u cli_flags)
//! -> (i pam_status, a(uay) items)`. Tokens travel only over the 0700 private directory
//! (the bus socket or the backend's direct socket).

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
    &'a [u8],
    u32,
    &'a [u8],
    u32,
    u32,
);

/// The wire tuple of a `pamHandler` reply.
pub(crate) type PamWireReply = (i32, Vec<(u32, Vec<u8>)>);

impl PamForward {
    /// The wire arguments of this request.
    pub(crate) fn to_wire(&self) -> PamWireArgs<'_> {
        (
            self.cmd,
            &self.domain,
            &self.user,
            &self.service,
            &self.tty,
            &self.ruser,
            &self.rhost,
            self.authtok_type,
            &self.authtok,
            self.new_authtok_type,
            &self.new_authtok,
            self.cli_pid,
            self.cli_flags,
        )
    }
}
