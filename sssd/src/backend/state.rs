//! The online/offline state machine of a backend.
//!
//! A connection failure makes the backend offline: requests are answered `DP_ERR_OFFLINE`
//! at once until the retry time, which starts at `offline_timeout` and doubles after each
//! failed attempt up to `offline_timeout_max`. `resetOffline` (SIGUSR2) makes the next
//! request try at once; `goOffline` (SIGUSR1) forces the offline state for `offline_timeout`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// SSSD's `offline_timeout_max` default.
pub const OFFLINE_TIMEOUT_MAX: Duration = Duration::from_secs(3600);

/// After this long, a probe is assumed lost and another caller may probe.
const STALE_PROBE: Duration = Duration::from_secs(300);

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
    backoff: Duration,
    retry_at: Option<Instant>,
}

/// Shared online/offline state.
#[derive(Debug)]
pub struct OnlineState {
    base: Duration,
    max: Duration,
    inner: Mutex<Inner>,
    changes: tokio::sync::watch::Sender<u64>,
}

impl OnlineState {
    /// Starts online; `base` is `offline_timeout`, `max` the cap of the doubling.
    pub fn new(base: Duration, max: Duration) -> OnlineState {
        OnlineState {
            base,
            max: max.max(base),
            inner: Mutex::new(Inner {
                offline: false,
                probing: None,
                backoff: Duration::ZERO,
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

    /// Records a connection failure at `now`: offline, next retry after the (doubled)
    /// backoff.
    pub fn mark_offline(&self, now: Instant) {
        let (base, max) = (self.base, self.max);
        self.with(|s| {
            s.backoff = if s.offline && !s.backoff.is_zero() {
                (s.backoff * 2).min(max)
            } else {
                base
            };
            if !s.offline {
                tracing::warn!("going offline; retrying in {} s", s.backoff.as_secs());
            }
            s.offline = true;
            s.probing = None;
            s.retry_at = Some(now + s.backoff);
        });
        self.bump();
    }

    /// `goOffline` (SIGUSR1) at `now`: offline until `offline_timeout` has passed. A backend
    /// that is offline already keeps its schedule, as SSSD's: the signal neither extends
    /// nor shortens an outage.
    pub fn force_offline(&self, now: Instant) {
        let base = self.base;
        let changed = self.with(|s| {
            if s.offline {
                return false;
            }
            tracing::warn!("going offline on request; retrying in {} s", base.as_secs());
            s.offline = true;
            s.probing = None;
            s.backoff = base;
            s.retry_at = Some(now + base);
            true
        });
        if changed {
            self.bump();
        }
    }

    /// Records a successful connection: online again, backoff reset.
    pub fn mark_online(&self) {
        self.with(|s| {
            if s.offline {
                tracing::info!("back online");
            }
            s.offline = false;
            s.probing = None;
            s.backoff = Duration::ZERO;
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

    #[test]
    fn offline_backs_off_doubling_to_the_cap() {
        let st = OnlineState::new(60 * S, 200 * S);
        let t0 = Instant::now();
        assert_eq!(st.check(t0), Decision::Online);
        st.mark_offline(t0);
        assert!(st.is_offline());
        assert_eq!(st.check(t0 + 59 * S), Decision::Offline);
        assert_eq!(st.check(t0 + 60 * S), Decision::Probe);
        // While one caller probes, the others wait for its outcome.
        let rx = st.subscribe();
        assert_eq!(st.check(t0 + 61 * S), Decision::Wait);
        st.mark_offline(t0 + 61 * S);
        assert!(rx.has_changed().unwrap());
        assert_eq!(st.check(t0 + 62 * S), Decision::Offline);
        assert_eq!(st.retry_at(), Some(t0 + 181 * S));
        st.mark_offline(t0 + 181 * S);
        assert_eq!(st.retry_at(), Some(t0 + 381 * S), "capped at 200 s");
        st.mark_online();
        assert_eq!(st.check(t0 + 382 * S), Decision::Online);
        // A new outage starts again from offline_timeout.
        st.mark_offline(t0 + 400 * S);
        assert_eq!(st.retry_at(), Some(t0 + 460 * S));
    }

    #[test]
    fn forced_offline_lasts_offline_timeout_and_keeps_a_running_schedule() {
        let st = OnlineState::new(60 * S, OFFLINE_TIMEOUT_MAX);
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
        let st = OnlineState::new(60 * S, OFFLINE_TIMEOUT_MAX);
        let t0 = Instant::now();
        st.reset_offline();
        assert_eq!(st.check(t0), Decision::Online);
        st.mark_offline(t0);
        assert_eq!(st.check(t0 + S), Decision::Offline);
        st.reset_offline();
        assert_eq!(st.check(t0 + S), Decision::Probe);
    }
}
