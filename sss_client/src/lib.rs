//! Client-side plumbing shared by the SSSD client modules (`libnss_sss`, `pam_sss`): blocking
//! AF_UNIX socket syscalls bounded by absolute deadlines ([`sys`]) and the process-environment
//! switches every client honours ([`env`]).
//!
//! Loaded into arbitrary programs through cdylibs: nothing here panics, starts threads, keeps
//! global state or installs signal handlers.

// Stricter than the cdylibs, which must allow these in their unit tests: none here need them.
#![deny(clippy::panic, clippy::indexing_slicing, clippy::unreachable)]
#![deny(clippy::todo, clippy::unimplemented)]

pub mod env;
pub mod sys;

use std::time::{Duration, Instant};

/// Total time one client request may take (connect and handshake included).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Absolute deadline `timeout` from now (now itself if that overflows).
pub fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_is_in_the_future_and_never_overflows() {
        let before = Instant::now();
        let d = deadline_after(Duration::from_secs(60));
        assert!(d >= before + Duration::from_secs(60));
        // A huge timeout saturates to "now" instead of panicking.
        let huge = deadline_after(Duration::MAX);
        assert!(huge <= Instant::now());
    }
}
