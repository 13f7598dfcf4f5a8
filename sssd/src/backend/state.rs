//! The online/offline state machine of a backend.
//!
//! A connection failure makes the backend offline: requests are answered `DP_ERR_OFFLINE`
//! at once until the retry time. As SSSD's: the first retry comes `offline_timeout` seconds
//! after going offline, each later one after twice the previous interval, capped at
//! `offline_timeout_max` (0: no growth); a random offset in
//! `[0, offline_timeout_random_offset]` is added to every interval so that hosts that lost
//! the same server do not all come back to it at once ([`Backoff`]). `resetOffline`
//! (SIGUSR2) makes the next request try at once; `goOffline` (SIGUSR1) forces the offline
//! state for `offline_timeout` (plus the random offset).

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// SSSD's `offline_timeout_max` default.
pub const OFFLINE_TIMEOUT_MAX: Duration = Duration::from_secs(3600);

/// SSSD's `offline_timeout_random_offset` default.
pub const OFFLINE_TIMEOUT_RANDOM_OFFSET: Duration = Duration::from_secs(30);

/// After this long, a probe is assumed lost and another caller may probe.
const STALE_PROBE: Duration = Duration::from_secs(300);

/// The retry schedule while offline (`offline_timeout`, `offline_timeout_max`,
/// `offline_timeout_random_offset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// `offline_timeout`: the first interval.
    pub base: Duration,
    /// `offline_timeout_max`: the cap of the doubling; zero keeps every interval at `base`.
    pub max: Duration,
    /// `offline_timeout_random_offset`: the most added at random to each interval.
    pub random_offset: Duration,
}

impl Backoff {
    /// The interval (random part excluded) after `previous`, or the first one.
    ///
    /// As SSSD's periodic task: the first is `base`; each later one doubles the previous,
    /// capped at `max`, so a `max` below `base` replaces `base` from the second retry on.
    pub fn next(&self, previous: Option<Duration>) -> Duration {
        match previous {
            None => self.base,
            Some(p) if self.max.is_zero() => p,
            Some(p) => p.saturating_mul(2).min(self.max),
        }
    }

    /// The random part of one interval, given `r` uniformly drawn from `[0, 1]`.
    pub fn offset(&self, r: f64) -> Duration {
        self.random_offset.mul_f64(r.clamp(0.0, 1.0))
    }
}

/// A uniform draw from `[0, 1]` from the kernel's random source (time-based if that fails).
pub fn unit_random() -> f64 {
    let mut b = [0u8; 8];
    // SAFETY: the buffer is valid for 8 bytes; getrandom writes at most that many.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    let v = if n == 8 {
        u64::from_le_bytes(b)
    } else {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        u64::try_from(nanos % u128::from(u64::MAX)).unwrap_or(0)
    };
    // 53 bits: every value exactly representable; the top one maps to 1.0.
    (v >> 11) as f64 / ((1u64 << 53) - 1) as f64
}

/// What a request should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Online: talk to the server.
    Online,
    /// Offline and not yet time to retry: answer `DP_ERR_OFFLINE` immediately.
    Offline,
    /// Offline, but it is time to retry: this caller probes the server.
    Probe,
    /// Another caller is probing the server right now: wait for its outcome
    /// ([`OnlineState::subscribe`]) and decide again.
    Wait,
}

#[derive(Debug)]
struct Inner {
    offline: bool,
    /// When the current probe started, if one is running.
    probing: Option<Instant>,
    /// The current retry interval without its random part (None while online).
    interval: Option<Duration>,
    retry_at: Option<Instant>,
}

/// Shared online/offline state.
#[derive(Debug)]
pub struct OnlineState {
    backoff: Backoff,
    random: fn() -> f64,
    inner: Mutex<Inner>,
    changes: tokio::sync::watch::Sender<u64>,
}

impl OnlineState {
    /// Starts online, retrying on the `backoff` schedule once offline.
    pub fn new(backoff: Backoff) -> OnlineState {
        OnlineState::with_random(backoff, unit_random)
    }

    /// As [`OnlineState::new`], drawing the random offsets from `random` (values in
    /// `[0, 1]`).
    pub fn with_random(backoff: Backoff, random: fn() -> f64) -> OnlineState {
        OnlineState {
            backoff,
            random,
            inner: Mutex::new(Inner {
                offline: false,
                probing: None,
                interval: None,
                retry_at: None,
            }),
            changes: tokio::sync::watch::Sender::new(0),
        }
    }

    /// A receiver that sees every online/offline transition (and every failed probe).
    /// Subscribe before [`OnlineState::check`] so that no transition is missed.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn bump(&self) {
        self.changes.send_modify(|n| *n += 1);
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        match self.inner.lock() {
            Ok(mut g) => f(&mut g),
            Err(p) => f(&mut p.into_inner()),
        }
    }

    /// Decides what a request arriving at `now` does.
    pub fn check(&self, now: Instant) -> Decision {
        self.with(|s| {
            if !s.offline {
                return Decision::Online;
            }
            // A probe that never reported back (its task died) stops blocking after a while.
            if s.probing.is_some_and(|t| now < t + STALE_PROBE) {
                return Decision::Wait;
            }
            if s.retry_at.is_some_and(|t| now < t) {
                return Decision::Offline;
            }
            s.probing = Some(now);
            Decision::Probe
        })
    }

    /// Schedules the next retry from `now` with the interval after `previous`.
    fn schedule(&self, s: &mut Inner, now: Instant, previous: Option<Duration>) -> Duration {
        let interval = self.backoff.next(previous);
        let delay = interval + self.backoff.offset((self.random)());
        s.interval = Some(interval);
        s.retry_at = Some(now + delay);
        delay
    }

    /// Records a connection failure at `now`: offline, next retry after the (doubled)
    /// interval plus a random offset.
    pub fn mark_offline(&self, now: Instant) {
        self.with(|s| {
            let previous = if s.offline { s.interval } else { None };
            let delay = self.schedule(s, now, previous);
            if s.offline {
                tracing::info!("still offline; retrying in {:.1} s", delay.as_secs_f64());
            } else {
                tracing::warn!("going offline; retrying in {:.1} s", delay.as_secs_f64());
            }
            s.offline = true;
            s.probing = None;
        });
        self.bump();
    }

    /// `goOffline` (SIGUSR1) at `now`: offline until `offline_timeout` (plus the random
    /// offset) has passed. A backend that is offline already keeps its schedule, as SSSD's:
    /// the signal neither extends nor shortens an outage.
    pub fn force_offline(&self, now: Instant) {
        let changed = self.with(|s| {
            if s.offline {
                return false;
            }
            let delay = self.schedule(s, now, None);
            tracing::warn!(
                "going offline on request; retrying in {:.1} s",
                delay.as_secs_f64()
            );
            s.offline = true;
            s.probing = None;
            true
        });
        if changed {
            self.bump();
        }
    }

    /// Records a successful connection: online again, schedule reset.
    pub fn mark_online(&self) {
        self.with(|s| {
            if s.offline {
                tracing::info!("back online");
            }
            s.offline = false;
            s.probing = None;
            s.interval = None;
            s.retry_at = None;
        });
        self.bump();
    }

    /// `resetOffline`: if offline, allow a retry right away.
    pub fn reset_offline(&self) {
        self.with(|s| {
            if s.offline {
                s.retry_at = None;
                s.probing = None;
            }
        })
    }

    /// Whether the backend is offline.
    pub fn is_offline(&self) -> bool {
        self.with(|s| s.offline)
    }

    /// When the next retry is due, if offline.
    pub fn retry_at(&self) -> Option<Instant> {
        self.with(|s| if s.offline { s.retry_at } else { None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn schedule(base: u64, max: u64, offset: u64) -> Backoff {
        Backoff {
            base: Duration::from_secs(base),
            max: Duration::from_secs(max),
            random_offset: Duration::from_secs(offset),
        }
    }

    fn no_offset() -> f64 {
        0.0
    }

    fn full_offset() -> f64 {
        1.0
    }

    fn half_offset() -> f64 {
        0.5
    }

    #[test]
    fn intervals_double_from_offline_timeout_to_the_cap() {
        let b = schedule(60, 3600, 30);
        let mut prev = None;
        let mut seen = Vec::new();
        for _ in 0..9 {
            let i = b.next(prev);
            seen.push(i.as_secs());
            prev = Some(i);
        }
        assert_eq!(seen, [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
    }

    #[test]
    fn zero_max_keeps_offline_timeout_and_a_small_max_replaces_it() {
        let flat = schedule(60, 0, 0);
        assert_eq!(flat.next(None), 60 * S);
        assert_eq!(flat.next(Some(60 * S)), 60 * S);
        // SSSD's documented oddity: a max below offline_timeout overrides it after the
        // first retry.
        let small = schedule(60, 20, 0);
        assert_eq!(small.next(None), 60 * S);
        assert_eq!(small.next(Some(60 * S)), 20 * S);
        assert_eq!(small.next(Some(20 * S)), 20 * S);
        // No overflow however long the outage.
        let huge = schedule(u64::MAX / 4, u64::MAX, 0);
        assert!(huge.next(Some(Duration::MAX)) <= Duration::MAX);
    }

    #[test]
    fn random_offset_stays_within_zero_and_the_option() {
        let b = schedule(60, 3600, 30);
        assert_eq!(b.offset(0.0), Duration::ZERO);
        assert_eq!(b.offset(1.0), 30 * S);
        assert_eq!(b.offset(0.5), 15 * S);
        assert_eq!(b.offset(7.0), 30 * S, "clamped");
        assert_eq!(schedule(60, 3600, 0).offset(0.9), Duration::ZERO);
        let draws: Vec<f64> = (0..1000).map(|_| unit_random()).collect();
        assert!(draws.iter().all(|r| (0.0..=1.0).contains(r)));
        let low = draws.iter().filter(|r| **r < 0.5).count();
        assert!((350..=650).contains(&low), "{low} of 1000 draws below 0.5");
    }

    #[test]
    fn offline_backs_off_doubling_to_the_cap_plus_the_offset() {
        let st = OnlineState::with_random(schedule(60, 200, 10), half_offset);
        let t0 = Instant::now();
        assert_eq!(st.check(t0), Decision::Online);
        st.mark_offline(t0);
        assert!(st.is_offline());
        assert_eq!(st.retry_at(), Some(t0 + 65 * S));
        assert_eq!(st.check(t0 + 64 * S), Decision::Offline);
        assert_eq!(st.check(t0 + 65 * S), Decision::Probe);
        // While one caller probes, the others wait for its outcome.
        let rx = st.subscribe();
        assert_eq!(st.check(t0 + 66 * S), Decision::Wait);
        st.mark_offline(t0 + 66 * S);
        assert!(rx.has_changed().unwrap());
        assert_eq!(st.check(t0 + 67 * S), Decision::Offline);
        assert_eq!(st.retry_at(), Some(t0 + (66 + 120 + 5) * S));
        st.mark_offline(t0 + 191 * S);
        assert_eq!(
            st.retry_at(),
            Some(t0 + (191 + 200 + 5) * S),
            "capped at 200 s"
        );
        st.mark_online();
        assert_eq!(st.check(t0 + 400 * S), Decision::Online);
        // A new outage starts again from offline_timeout.
        st.mark_offline(t0 + 400 * S);
        assert_eq!(st.retry_at(), Some(t0 + 465 * S));
    }

    #[test]
    fn without_an_offset_retries_come_exactly_on_the_intervals() {
        let st = OnlineState::with_random(schedule(60, 200, 0), full_offset);
        let t0 = Instant::now();
        st.mark_offline(t0);
        assert_eq!(st.retry_at(), Some(t0 + 60 * S));
        st.mark_offline(t0 + 60 * S);
        assert_eq!(st.retry_at(), Some(t0 + 180 * S));
    }

    #[test]
    fn forced_offline_lasts_offline_timeout_and_keeps_a_running_schedule() {
        let st = OnlineState::with_random(schedule(60, 3600, 30), no_offset);
        let t0 = Instant::now();
        st.force_offline(t0);
        assert!(st.is_offline());
        assert_eq!(st.retry_at(), Some(t0 + 60 * S));
        // A second request does not push the retry further away (mark_offline would).
        st.force_offline(t0 + 10 * S);
        assert_eq!(st.retry_at(), Some(t0 + 60 * S));
        assert_eq!(st.check(t0 + 59 * S), Decision::Offline);
        assert_eq!(st.check(t0 + 60 * S), Decision::Probe);
        // A failed probe backs off from offline_timeout as after any failure.
        st.mark_offline(t0 + 61 * S);
        assert_eq!(st.retry_at(), Some(t0 + 181 * S));
        // During a real outage the request changes nothing either.
        st.force_offline(t0 + 62 * S);
        assert_eq!(st.retry_at(), Some(t0 + 181 * S));
        st.mark_online();
        st.force_offline(t0 + 200 * S);
        assert_eq!(st.retry_at(), Some(t0 + 260 * S));
    }

    #[test]
    fn reset_offline_allows_an_immediate_retry() {
        let st = OnlineState::with_random(schedule(60, 3600, 30), full_offset);
        let t0 = Instant::now();
        st.reset_offline();
        assert_eq!(st.check(t0), Decision::Online);
        st.mark_offline(t0);
        assert_eq!(st.retry_at(), Some(t0 + 90 * S));
        assert_eq!(st.check(t0 + S), Decision::Offline);
        st.reset_offline();
        assert_eq!(st.check(t0 + S), Decision::Probe);
    }
}
