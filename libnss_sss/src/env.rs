//! Process environment: the anti-recursion switch and the socket path override
//! ([`sss_client::env`]); the override is ignored in setuid/setgid programs.

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
