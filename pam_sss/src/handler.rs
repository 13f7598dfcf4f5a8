//! What the module core needs from libpam, as a trait: the real implementation wraps a
//! `pam_handle_t` ([`crate::ffi`]); unit tests script one.

use zeroize::Zeroizing;

/// A secret as it leaves the conversation or an authtok item: wiped when dropped, never
/// shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// Takes ownership of `bytes`.
    pub fn new(bytes: Vec<u8>) -> Secret {
        Secret(Zeroizing::new(bytes))
    }

    /// The secret bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret(<{} bytes>)", self.0.len())
    }
}

/// Plain string items of the PAM handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    /// PAM_SERVICE.
    Service,
    /// PAM_USER.
    User,
    /// PAM_TTY.
    Tty,
    /// PAM_RUSER.
    Ruser,
    /// PAM_RHOST.
    Rhost,
}

/// Authentication token items of the PAM handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok {
    /// PAM_AUTHTOK.
    AuthTok,
    /// PAM_OLDAUTHTOK.
    OldAuthTok,
}

/// syslog levels used by the module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// LOG_ERR.
    Err,
    /// LOG_WARNING.
    Warning,
    /// LOG_NOTICE.
    Notice,
    /// LOG_INFO.
    Info,
}

/// The libpam services the module uses. Errors are Linux-PAM status codes.
pub trait PamHandler {
    /// A string item; `None` when unset. Bytes are returned raw.
    fn item(&mut self, item: Item) -> Result<Option<Vec<u8>>, i32>;
    /// An authtok item; `None` when unset.
    fn authtok(&mut self, tok: Tok) -> Result<Option<Secret>, i32>;
    /// Sets (or with `None` clears) an authtok item.
    fn set_authtok(&mut self, tok: Tok, value: Option<&[u8]>) -> Result<(), i32>;
    /// Asks for a secret with echo off. `Ok(None)` when the application gave no answer.
    fn prompt_secret(&mut self, prompt: &str) -> Result<Option<Secret>, i32>;
    /// Shows an informational message.
    fn info(&mut self, msg: &str) -> Result<(), i32>;
    /// Shows an error message.
    fn error(&mut self, msg: &str) -> Result<(), i32>;
    /// `pam_putenv("KEY=VALUE")`.
    fn putenv(&mut self, kv: &str) -> Result<(), i32>;
    /// Process environment `putenv("KEY=VALUE")`.
    fn process_putenv(&mut self, kv: &str) -> Result<(), i32>;
    /// Stores a copy of `value` as module data `name`.
    fn set_data(&mut self, name: &str, value: &[u8]) -> Result<(), i32>;
    /// True if module data `name` is set.
    fn has_data(&mut self, name: &str) -> bool;
    /// Writes `msg` to the auth log.
    fn syslog(&mut self, level: Level, msg: &str);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_hides_the_bytes() {
        let s = Secret::new(b"hunter2".to_vec());
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(s.bytes(), b"hunter2");
    }
}
