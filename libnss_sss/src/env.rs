//! Process environment: the anti-recursion switch and the socket path override.
//!
//! Read with libc `getenv` only; the override is ignored in setuid/setgid programs.

use std::ffi::CStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// Default NSS responder socket.
pub const DEFAULT_SOCKET: &str = "/var/lib/sss/pipes/nss";

/// Raw value of an environment variable, via libc `getenv`.
fn getenv(name: &CStr) -> Option<Vec<u8>> {
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
fn secure_mode() -> bool {
    // SAFETY: getauxval has no preconditions.
    unsafe { libc::getauxval(libc::AT_SECURE) != 0 }
}

/// True if `_SSS_LOOPS` holds `value` meaning "do not call SSSD" (exactly `NO`).
pub fn loops_value_disables(value: Option<&[u8]>) -> bool {
    value == Some(b"NO".as_slice())
}

/// True when `_SSS_LOOPS=NO`: every NSS call must return NOTFOUND at once.
/// Honoured even in setuid programs (it only ever disables the module).
pub fn loops_disabled() -> bool {
    loops_value_disables(getenv(c"_SSS_LOOPS").as_deref())
}

/// The socket to use: `SSS_NSS_SOCKET` if set, non-empty and not in secure mode, else the default.
pub fn socket_path() -> PathBuf {
    choose_socket(getenv(c"SSS_NSS_SOCKET"), secure_mode())
}

fn choose_socket(over: Option<Vec<u8>>, secure: bool) -> PathBuf {
    match over {
        Some(v) if !secure && !v.is_empty() => PathBuf::from(std::ffi::OsStr::from_bytes(&v)),
        _ => PathBuf::from(DEFAULT_SOCKET),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loops_switch_is_exactly_no() {
        assert!(loops_value_disables(Some(b"NO")));
        assert!(!loops_value_disables(Some(b"no")));
        assert!(!loops_value_disables(Some(b"YES")));
        assert!(!loops_value_disables(None));
    }

    #[test]
    fn override_ignored_when_secure_or_empty() {
        let o = Some(b"/tmp/x/nss".to_vec());
        assert_eq!(choose_socket(o.clone(), false), PathBuf::from("/tmp/x/nss"));
        assert_eq!(choose_socket(o, true), PathBuf::from(DEFAULT_SOCKET));
        assert_eq!(
            choose_socket(Some(Vec::new()), false),
            PathBuf::from(DEFAULT_SOCKET)
        );
        assert_eq!(choose_socket(None, false), PathBuf::from(DEFAULT_SOCKET));
    }

    #[test]
    fn getenv_reads_the_process_environment() {
        // PATH is always set for cargo test; a name nobody sets reads as None.
        assert!(getenv(c"PATH").is_some());
        assert_eq!(getenv(c"SSS_NSS_TEST_SURELY_UNSET_VARIABLE"), None);
    }
}
