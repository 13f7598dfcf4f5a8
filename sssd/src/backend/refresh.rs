//! `refresh_expired_interval`: the background task that renews cached users, groups,
//! initgroups and netgroups before (or after) they expire, so that lookups keep being
//! answered from a fresh cache.
//!
//! As SSSD's: the first run comes 30 s after start, then each run starts
//! `refresh_expired_interval` seconds (plus up to `refresh_expired_interval_offset` at
//! random) after the previous one ended. A run renews, kind by kind (initgroups, users,
//! groups, netgroups), every record whose expiry falls before now + the interval, one
//! directory request per record, in batches of 200 with a 500 ms pause between batches. While
//! the backend is offline a run is skipped; a run that finds the backend offline stops. Each
//! record goes through the backend's usual request path, so a lookup of the same record
//! shares the search and other lookups run alongside.

use super::Backend;
use super::state::unit_random;
use crate::cache::RefreshKind;
use crate::sbus::{AccountRequest, DP_ERR_OFFLINE, EntryType, Filter};
use std::time::{Duration, Instant};

/// Delay before the first run after start (SSSD's `first_delay`).
pub const FIRST_DELAY: Duration = Duration::from_secs(30);

/// Records per batch.
pub const BATCH: usize = 200;

/// Pause between two batches.
pub const BATCH_PAUSE: Duration = Duration::from_millis(500);

/// The `refresh_expired_interval` schedule of one domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshSchedule {
    /// `refresh_expired_interval`: the period, and how far ahead expiring records are taken.
    pub interval: Duration,
    /// `refresh_expired_interval_offset`: the most added at random to each delay.
    pub random_offset: Duration,
}

impl RefreshSchedule {
    /// The schedule for `interval` and `offset` seconds; `None` when `interval` is 0.
    pub fn new(interval: u32, offset: u32) -> Option<RefreshSchedule> {
        (interval > 0).then(|| RefreshSchedule {
            interval: Duration::from_secs(u64::from(interval)),
            random_offset: Duration::from_secs(u64::from(offset)),
        })
    }

    /// The delay before the next run: `base` plus `r` (in `[0, 1]`) of the random offset.
    pub fn delay(&self, base: Duration, r: f64) -> Duration {
        base + self.random_offset.mul_f64(r.clamp(0.0, 1.0))
    }

    /// The expiry limit of a run starting at `now` (Unix seconds): records expiring at or
    /// before it are renewed.
    pub fn horizon(&self, now: i64) -> i64 {
        let ahead = i64::try_from(self.interval.as_secs()).unwrap_or(i64::MAX);
        now.saturating_add(ahead)
    }
}

/// The request type that renews a record of `kind`.
fn entry_type(kind: RefreshKind) -> EntryType {
    match kind {
        RefreshKind::Initgroups => EntryType::Initgroups,
        RefreshKind::User => EntryType::User,
        RefreshKind::Group => EntryType::Group,
        RefreshKind::Netgroup => EntryType::Netgroup,
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every due record was asked for; how many.
    Done(usize),
    /// The backend was or went offline; how many were asked for before.
    Offline(usize),
}

impl Backend {
    /// One refresh run now: renews every record expiring before now + the interval.
    pub async fn refresh_expired(&self, schedule: &RefreshSchedule) -> Outcome {
        if self.is_offline() {
            return Outcome::Offline(0);
        }
        let mut asked = 0;
        for kind in RefreshKind::ALL {
            let by = schedule.horizon(super::ldap::now());
            let store = self.inner.store.clone();
            let names = match tokio::task::spawn_blocking(move || store.expiring(kind, by)).await {
                Ok(Ok(n)) => n,
                Ok(Err(e)) => {
                    tracing::error!("background refresh: cannot list {}: {e}", kind.label());
                    continue;
                }
                Err(e) => {
                    tracing::error!("background refresh: listing task failed: {e}");
                    continue;
                }
            };
            if names.is_empty() {
                continue;
            }
            tracing::info!(
                "background refresh: {} {} to renew",
                names.len(),
                kind.label()
            );
            for (i, batch) in names.chunks(BATCH).enumerate() {
                if i > 0 {
                    tokio::time::sleep(BATCH_PAUSE).await;
                }
                for name in batch {
                    let req = AccountRequest {
                        dp_flags: 0,
                        entry_type: entry_type(kind),
                        filter: Filter::Name(name.clone()),
                        domain: String::new(),
                        extra: String::new(),
                        cli_id: 0,
                    };
                    let r = self.handle(req).await;
                    asked += 1;
                    if r.dp_error == DP_ERR_OFFLINE {
                        tracing::warn!("background refresh stopped: {}", r.message);
                        return Outcome::Offline(asked);
                    }
                    if r.dp_error != 0 {
                        tracing::warn!(
                            "background refresh of {} {name:?}: {}",
                            kind.label(),
                            r.message
                        );
                    }
                }
            }
        }
        Outcome::Done(asked)
    }

    /// With `refresh_expired_interval` set: runs [`Backend::refresh_expired`] on its
    /// schedule forever. Returns at once otherwise.
    pub async fn run_refresh(self) {
        let Some(schedule) = self.inner.refresh_expired else {
            return;
        };
        let mut delay = schedule.delay(FIRST_DELAY, unit_random());
        loop {
            tokio::time::sleep(delay).await;
            if self.is_offline() {
                tracing::debug!("background refresh skipped: offline");
            } else {
                let started = Instant::now();
                tracing::info!("background refresh started");
                // As SSSD's task timeout: a run may take at most one interval.
                match tokio::time::timeout(schedule.interval, self.refresh_expired(&schedule)).await
                {
                    Ok(Outcome::Done(n)) => tracing::info!(
                        "background refresh done: {n} records in {:.1} s",
                        started.elapsed().as_secs_f64()
                    ),
                    Ok(Outcome::Offline(n)) => {
                        tracing::info!("background refresh ended offline after {n} records")
                    }
                    Err(_) => tracing::warn!(
                        "background refresh timed out after {} s",
                        schedule.interval.as_secs()
                    ),
                }
            }
            delay = schedule.delay(schedule.interval, unit_random());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_delays_and_horizon() {
        assert_eq!(RefreshSchedule::new(0, 10), None);
        let s = RefreshSchedule::new(60, 10).unwrap();
        assert_eq!(s.delay(FIRST_DELAY, 0.0), Duration::from_secs(30));
        assert_eq!(s.delay(s.interval, 1.0), Duration::from_secs(70));
        assert_eq!(s.delay(s.interval, 0.5), Duration::from_secs(65));
        assert_eq!(s.horizon(1000), 1060);
        assert_eq!(s.horizon(i64::MAX), i64::MAX);
    }
}
