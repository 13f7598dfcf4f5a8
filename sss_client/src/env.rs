//! Process environment as the clients read it: the `_SSS_LOOPS` anti-recursion switch and the
//! socket path overrides, which are ignored in setuid/setgid programs (AT_SECURE).
//!
//! Read with libc `getenv` only (no Rust-side environment lock or allocation of the whole
//! environment).

use std::ffi::{CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// Raw value of an environment variable, via libc `getenv`.
pub fn getenv(name: &CStr) -> Option<Vec<u8>> {
    // SAFETY: `name` is NUL-terminated; getenv returns NULL or a NUL-terminated string that
    // we copy out immediately.
    let p = unsafe { libc::getenv(name.as_ptr()) };
    if p.is_null() {
        return None;
    }
    // SAFETY: non-NULL result of getenv points to a NUL-terminated string.
    Some(unsafe { CStr::from_ptr(p) }.to_bytes().to_vec())
}

/// True when the process runs with elevated privileges (setuid/setgid, capabilities).
pub fn secure_mode() -> bool {
    // SAFETY: getauxval has no preconditions.
    unsafe { libc::getauxval(libc::AT_SECURE) != 0 }
}

/// True if `_SSS_LOOPS` holds `value` meaning "do not call SSSD" (exactly `NO`).
pub fn loops_value_disables(value: Option<&[u8]>) -> bool {
    value == Some(b"NO".as_slice())
}

/// True when `_SSS_LOOPS=NO`: this process must not call SSSD.
/// Honoured even in setuid programs (it only ever disables the client).
pub fn loops_disabled() -> bool {
    loops_value_disables(getenv(c"_SSS_LOOPS").as_deref())
}

/// The override `over` when it is set, non-empty and the process is not `secure`, else
/// `default`.
pub fn choose_socket(over: Option<Vec<u8>>, secure: bool, default: &str) -> PathBuf {
    match over {
        Some(v) if !secure && !v.is_empty() => PathBuf::from(OsStr::from_bytes(&v)),
        _ => PathBuf::from(default),
    }
}

/// The socket named by environment variable `var` (ignored when empty or under AT_SECURE),
/// else `default`.
pub fn socket_path(var: &CStr, default: &str) -> PathBuf {
    choose_socket(getenv(var), secure_mode(), default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_override_gives_the_default() {
        let p = socket_path(c"SSS_CLIENT_TEST_SURELY_UNSET_VARIABLE", "/run/x");
        assert_eq!(p, PathBuf::from("/run/x"));
        assert!(loops_value_disables(Some(b"NO")));
        assert!(!loops_value_disables(Some(b"NO ")));
        // cargo test is not a setuid program.
        assert!(!secure_mode());
    }
}
