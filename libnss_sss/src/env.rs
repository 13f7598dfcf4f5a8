//! Process environment: the anti-recursion switch, the socket path override
//! ([`sss_client::env`]) and the memory-cache switch; the override and the switch are
//! ignored in setuid/setgid programs.

use std::ffi::CStr;
use std::path::PathBuf;

pub use sss_client::env::loops_disabled;
#[cfg(test)]
use sss_client::env::{getenv, loops_value_disables};

/// Default NSS responder socket.
pub const DEFAULT_SOCKET: &str = "/var/lib/sss/pipes/nss";

/// The socket to use: `SSS_NSS_SOCKET` if set, non-empty and not in secure mode, else the default.
pub fn socket_path() -> PathBuf {
    sss_client::env::socket_path(c"SSS_NSS_SOCKET", DEFAULT_SOCKET)
}

/// True when `SSS_NSS_USE_MEMCACHE` is `NO` (any case) and the program is not setuid or
/// setgid. Called on every lookup: one `getenv`, no allocation.
pub fn memcache_disabled() -> bool {
    // SAFETY: a NUL-terminated name; getenv returns NULL or a NUL-terminated string that is
    // only read before this function returns.
    let p = unsafe { libc::getenv(c"SSS_NSS_USE_MEMCACHE".as_ptr()) };
    if p.is_null() {
        return false;
    }
    // SAFETY: non-NULL result of getenv.
    let value = unsafe { CStr::from_ptr(p) }.to_bytes();
    memcache_value_disables(Some(value), sss_client::env::secure_mode())
}

/// Whether a `SSS_NSS_USE_MEMCACHE` value turns the cache off (`NO`, case-insensitive, and
/// only outside secure mode).
pub fn memcache_value_disables(value: Option<&[u8]>, secure: bool) -> bool {
    !secure && value.is_some_and(|v| v.eq_ignore_ascii_case(b"NO"))
}

#[cfg(test)]
fn choose_socket(over: Option<Vec<u8>>, secure: bool) -> PathBuf {
    sss_client::env::choose_socket(over, secure, DEFAULT_SOCKET)
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
    fn memcache_switch_is_no_in_any_case_outside_secure_mode() {
        for v in [&b"NO"[..], b"no", b"No", b"nO"] {
            assert!(memcache_value_disables(Some(v), false));
            assert!(!memcache_value_disables(Some(v), true));
        }
        for v in [&b"YES"[..], b"", b"NO ", b"0", b"false"] {
            assert!(!memcache_value_disables(Some(v), false));
        }
        assert!(!memcache_value_disables(None, false));
        assert!(!memcache_disabled(), "unset in the test environment");
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
