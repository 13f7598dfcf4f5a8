//! Rate limits of a responder: warnings that would repeat on every event, and requests a
//! local user could make expensive for everyone (a lookup that bypasses the cache).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// How often a warning about a misbehaving client (garbage, an oversized or unknown
/// request, a trickled request) is logged at most, per process.
pub const CLIENT_WARNING_INTERVAL: Duration = Duration::from_secs(5);

/// Logs a warning about a misbehaving client through `log`, which gets the number of such
/// warnings held back since the last one, unless one was logged in the last
/// [`CLIENT_WARNING_INTERVAL`]: any local user can produce them at will, and must not be
/// able to fill the disk with them.
pub fn client_warning(log: impl FnOnce(u64)) {
    static LIMITER: OnceLock<Mutex<LogLimiter>> = OnceLock::new();
    let limiter = LIMITER.get_or_init(|| Mutex::new(LogLimiter::new(CLIENT_WARNING_INTERVAL)));
    let allowed = limiter
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .allow(Instant::now());
    if let Some(held_back) = allowed {
        log(held_back);
    }
}

/// Lets a repeated warning through at most once per interval, counting what it held back.
#[derive(Debug)]
pub struct LogLimiter {
    interval: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl LogLimiter {
    /// A limiter letting one message through per `interval`.
    pub fn new(interval: Duration) -> LogLimiter {
        LogLimiter {
            interval,
            last: None,
            suppressed: 0,
        }
    }

    /// Whether to log an event happening at `now`; when yes, how many were held back
    /// since the last one logged.
    pub fn allow(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(t) if now.saturating_duration_since(t) < self.interval => {
                self.suppressed = self.suppressed.saturating_add(1);
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

/// A token bucket per uid: `burst` requests at once, then `per_second`.
#[derive(Debug)]
pub struct PerUidBudget {
    per_second: f64,
    burst: f64,
    buckets: HashMap<u32, (f64, Instant)>,
}

/// Buckets kept before the full ones (which carry no information) are dropped.
const MAX_BUCKETS: usize = 4096;

impl PerUidBudget {
    /// A budget of `burst` requests, refilled at `per_second`.
    pub fn new(per_second: f64, burst: f64) -> PerUidBudget {
        PerUidBudget {
            per_second,
            burst,
            buckets: HashMap::new(),
        }
    }

    /// Takes one request from `uid`'s budget at `now`; false when it is spent.
    pub fn take(&mut self, uid: u32, now: Instant) -> bool {
        if self.buckets.len() >= MAX_BUCKETS && !self.buckets.contains_key(&uid) {
            let (rate, burst) = (self.per_second, self.burst);
            self.buckets.retain(|_, (tokens, at)| {
                *tokens + now.saturating_duration_since(*at).as_secs_f64() * rate < burst
            });
        }
        let (tokens, at) = self.buckets.entry(uid).or_insert((self.burst, now));
        let refill = now.saturating_duration_since(*at).as_secs_f64() * self.per_second;
        *tokens = (*tokens + refill).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_warning_is_logged_once_per_interval_with_a_count() {
        let mut l = LogLimiter::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(l.allow(t0), Some(0));
        for i in 1..=99 {
            assert_eq!(l.allow(t0 + Duration::from_millis(i * 100)), None);
        }
        assert_eq!(l.allow(t0 + Duration::from_secs(10)), Some(99));
        assert_eq!(l.allow(t0 + Duration::from_secs(11)), None);
    }

    #[test]
    fn a_uid_gets_its_burst_then_the_rate() {
        let mut b = PerUidBudget::new(2.0, 5.0);
        let t0 = Instant::now();
        assert_eq!((0..8).filter(|_| b.take(1000, t0)).count(), 5);
        assert!(b.take(1001, t0), "another uid has its own budget");
        let later = t0 + Duration::from_secs(1);
        assert_eq!((0..8).filter(|_| b.take(1000, later)).count(), 2);
    }

    #[test]
    fn buckets_are_bounded() {
        let mut b = PerUidBudget::new(1000.0, 1.0);
        let t0 = Instant::now();
        for uid in 0..(MAX_BUCKETS as u32 * 2) {
            b.take(uid, t0 + Duration::from_millis(u64::from(uid)));
        }
        assert!(b.buckets.len() <= MAX_BUCKETS + 1);
    }
}
