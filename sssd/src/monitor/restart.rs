//! The restart policy for crashed children (SSSD's): the counter resets when the child ran
//! for more than 30 s; restarts wait 0, 2, 4 s; a fourth quick failure is fatal.

use std::time::{Duration, Instant};

/// A child that lived longer than this since its last (re)start gets a fresh counter.
pub const RESET_AFTER: Duration = Duration::from_secs(30);
/// More restarts than this within [`RESET_AFTER`] shut everything down.
pub const MAX_RESTARTS: u32 = 2;

/// What to do about a child that exited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Start it again after this delay.
    Restart(Duration),
    /// Too many failures: shut sssd down with status 1.
    GiveUp,
}

/// Restart bookkeeping of one child.
#[derive(Debug, Clone)]
pub struct RestartPolicy {
    restarts: u32,
    last_start: Instant,
}

impl RestartPolicy {
    /// A child started at `now`.
    pub fn new(now: Instant) -> Self {
        RestartPolicy {
            restarts: 0,
            last_start: now,
        }
    }

    /// The child was (re)started at `now`.
    pub fn started(&mut self, now: Instant) {
        self.last_start = now;
    }

    /// The child exited at `now`: restart it (after a delay) or give up.
    pub fn on_exit(&mut self, now: Instant) -> Decision {
        if now.saturating_duration_since(self.last_start) > RESET_AFTER {
            self.restarts = 0;
        }
        if self.restarts > MAX_RESTARTS {
            return Decision::GiveUp;
        }
        let delay = Duration::from_secs(u64::from((self.restarts * 2).min(4)));
        self.restarts += 1;
        Decision::Restart(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn quick_failures_back_off_then_give_up() {
        let t0 = Instant::now();
        let mut p = RestartPolicy::new(t0);
        let mut t = t0;
        for expected in [0, 2, 4] {
            t += secs(1);
            assert_eq!(p.on_exit(t), Decision::Restart(secs(expected)));
            t += secs(expected);
            p.started(t);
        }
        assert_eq!(p.on_exit(t + secs(1)), Decision::GiveUp);
    }

    #[test]
    fn long_runs_reset_the_counter() {
        let t0 = Instant::now();
        let mut p = RestartPolicy::new(t0);
        let mut t = t0;
        for _ in 0..10 {
            t += secs(31);
            assert_eq!(p.on_exit(t), Decision::Restart(secs(0)));
            p.started(t);
        }
        // Exactly 30 s is still "within the window".
        let mut p = RestartPolicy::new(t0);
        assert_eq!(p.on_exit(t0 + secs(1)), Decision::Restart(secs(0)));
        p.started(t0 + secs(1));
        assert_eq!(p.on_exit(t0 + secs(31)), Decision::Restart(secs(2)));
    }
}
