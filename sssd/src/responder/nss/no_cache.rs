//! `EX_FLAG_NO_CACHE` (the `_ex` calls of libsss_nss_idmap): a lookup that goes to the
//! directory whatever the cache holds. Root may always ask for one; every other uid gets a
//! budget (a burst of 20, then 5 per second), past which its lookups are served as normal
//! ones. A budget rather than root-only, because services that are not root use the flag
//! (FreeIPA's directory server plugin runs as its own user); a budget, because otherwise
//! any local user could turn every request into an LDAP search.

use crate::responder::common::cache_req::Mode;
use crate::responder::common::ratelimit::{LogLimiter, PerUidBudget};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Requests that bypass the cache a uid may make at once.
pub const BURST: f64 = 20.0;

/// Requests that bypass the cache a uid may make per second after the burst.
pub const PER_SECOND: f64 = 5.0;

/// The per-uid budget of cache-bypassing lookups.
#[derive(Debug)]
pub struct NoCacheBudget {
    state: Mutex<(PerUidBudget, LogLimiter)>,
}

impl Default for NoCacheBudget {
    fn default() -> NoCacheBudget {
        NoCacheBudget {
            state: Mutex::new((
                PerUidBudget::new(PER_SECOND, BURST),
                LogLimiter::new(Duration::from_secs(10)),
            )),
        }
    }
}

impl NoCacheBudget {
    /// The lookup mode for `flags` asked by `uid`: `NoCache` turns into `Normal` when an
    /// unprivileged uid has spent its budget.
    pub fn mode(&self, uid: u32, flags: u32) -> Mode {
        let mode = Mode::from_flags(flags);
        if mode != Mode::NoCache || uid == 0 {
            return mode;
        }
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (budget, warn) = &mut *state;
        if budget.take(uid, now) {
            return mode;
        }
        if let Some(held_back) = warn.allow(now) {
            tracing::warn!(
                uid,
                "uid asks for too many lookups that bypass the cache; serving them from the \
                 cache ({held_back} more since the last warning)"
            );
        }
        Mode::Normal
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sss_proto::nss::{EX_FLAG_INVALIDATE_CACHE, EX_FLAG_NO_CACHE};

    #[test]
    fn root_always_bypasses_others_within_their_budget() {
        let b = NoCacheBudget::default();
        for _ in 0..100 {
            assert_eq!(b.mode(0, EX_FLAG_NO_CACHE), Mode::NoCache);
        }
        let granted = (0..100)
            .filter(|_| b.mode(1000, EX_FLAG_NO_CACHE) == Mode::NoCache)
            .count();
        assert!((20..=21).contains(&granted), "{granted}");
        assert_eq!(b.mode(1000, 0), Mode::Normal);
        assert_eq!(b.mode(1000, EX_FLAG_INVALIDATE_CACHE), Mode::CacheOnly);
        assert_eq!(b.mode(1001, EX_FLAG_NO_CACHE), Mode::NoCache);
    }
}
