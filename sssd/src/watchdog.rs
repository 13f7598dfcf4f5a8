//! The watchdog of each daemon (SSSD's per-section `timeout` option, default 10 s): a task
//! on the event loop beats twice per period, and a separate thread ends the process when
//! no beat came for [`MISSED_PERIODS`] periods in a row, so a stuck event loop becomes a
//! restart by the monitor instead of a service that silently stops answering.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::config::{Config, ConfigError};

/// Periods without a beat after which the process is ended.
pub const MISSED_PERIODS: u32 = 3;
/// Default period (`timeout`), in seconds.
pub const DEFAULT_PERIOD_SECS: i64 = 10;
/// Exit status of a process ended by its watchdog.
pub const STALL_EXIT_STATUS: i32 = 70;

/// The watchdog period from `[section] timeout` (seconds, at least 1).
pub fn period_from_config(cfg: &Config, section: &str) -> Result<Duration, ConfigError> {
    let secs = cfg.get_int(section, "timeout", DEFAULT_PERIOD_SECS)?;
    if secs < 1 {
        return Err(ConfigError::bad_value(
            section,
            "timeout",
            &secs.to_string(),
            "must be at least 1 second",
        ));
    }
    Ok(Duration::from_secs(u64::try_from(secs).unwrap_or(u64::MAX)))
}

/// A single-threaded runtime (the daemons' event loop) watched by [`start`] with
/// `period`; `name` names the process in the stall message.
pub fn watched_runtime(
    period: Duration,
    name: &'static str,
) -> std::io::Result<tokio::runtime::Runtime> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    start(rt.handle(), period, name);
    Ok(rt)
}

/// Counts the periods in a row in which the beat counter did not move.
#[derive(Debug, Default)]
pub struct StallCounter {
    last: u64,
    missed: u32,
}

impl StallCounter {
    /// Records the counter seen at the end of a period; true once it has not moved for
    /// [`MISSED_PERIODS`] periods in a row.
    pub fn observe(&mut self, beats: u64) -> bool {
        if beats == self.last {
            self.missed += 1;
        } else {
            self.last = beats;
            self.missed = 0;
        }
        self.missed >= MISSED_PERIODS
    }
}

/// Starts the watchdog on `rt` with `period`: when the loop stalls, the process logs why
/// and exits with [`STALL_EXIT_STATUS`] (without running destructors, which a stuck thread
/// may block).
pub fn start(rt: &tokio::runtime::Handle, period: Duration, name: &'static str) {
    start_with(rt, period, move |stalled| {
        let msg = format!(
            "{name}: the event loop has not run for {} s (timeout = {} s); exiting so that \
             the monitor restarts this process",
            stalled.as_secs(),
            period.as_secs()
        );
        // Logging may wait on a lock the stuck thread holds: give it a moment, no more.
        let _ = std::thread::Builder::new().spawn(move || tracing::error!("{msg}"));
        std::thread::sleep(Duration::from_secs(1));
        // SAFETY: ends the process at once; nothing else is required of it.
        unsafe { libc::_exit(STALL_EXIT_STATUS) }
    });
}

/// [`start`] with what to do on a stall (given how long the loop has not run).
pub fn start_with(
    rt: &tokio::runtime::Handle,
    period: Duration,
    on_stall: impl FnOnce(Duration) + Send + 'static,
) {
    let beats = Arc::new(AtomicU64::new(0));
    let beater = beats.clone();
    rt.spawn(async move {
        let mut tick = tokio::time::interval(period / 2);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            beater.fetch_add(1, Ordering::Relaxed);
        }
    });
    let spawned = std::thread::Builder::new()
        .name("watchdog".into())
        .spawn(move || {
            let mut counter = StallCounter::default();
            // Capabilities are per thread: this one drops them when the process does.
            crate::privilege::register_follower();
            loop {
                sleep_following_privileges(period);
                if counter.observe(beats.load(Ordering::Relaxed)) {
                    on_stall(period * MISSED_PERIODS);
                    return;
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start the watchdog thread: {e}");
    }
}

/// Sleeps `period`, applying the process's capability drop as soon as it happens.
fn sleep_following_privileges(period: Duration) {
    let deadline = std::time::Instant::now() + period;
    loop {
        if let Err(e) = crate::privilege::follow() {
            tracing::error!("watchdog thread: {e}");
        }
        let now = std::time::Instant::now();
        if now >= deadline {
            return;
        }
        std::thread::park_timeout(deadline - now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn three_still_periods_make_a_stall() {
        let mut c = StallCounter::default();
        assert!(!c.observe(1));
        assert!(!c.observe(1));
        assert!(!c.observe(1));
        assert!(c.observe(1));
        let mut c = StallCounter::default();
        for beats in [1, 1, 1, 2, 2, 2, 3] {
            assert!(!c.observe(beats), "{beats}");
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    #[test]
    fn a_blocked_loop_is_reported_and_a_running_one_is_not() {
        let period = Duration::from_millis(200);
        // Running: the loop keeps polling for 1.5 s (7 periods).
        let rt = runtime();
        let (tx, rx) = mpsc::channel();
        start_with(rt.handle(), period, move |d| {
            let _ = tx.send(d);
        });
        rt.block_on(async { tokio::time::sleep(Duration::from_millis(1500)).await });
        assert!(rx.try_recv().is_err(), "a running loop was reported");
        drop(rt);
        // Blocked: the only thread of the runtime sleeps inside a task.
        let rt = runtime();
        let (tx, rx) = mpsc::channel();
        start_with(rt.handle(), period, move |d| {
            let _ = tx.send(d);
        });
        rt.block_on(async {
            tokio::task::yield_now().await;
            std::thread::sleep(Duration::from_millis(2500));
        });
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5)),
            Ok(period * MISSED_PERIODS)
        );
    }

    #[test]
    fn the_period_comes_from_the_section() {
        let cfg = |text: &str| Config::parse(text, "sssd.conf").expect("config");
        let c = cfg("[sssd]\ndomains = D\n[nss]\ntimeout = 3\n[domain/D]\nid_provider = ldap\n");
        assert_eq!(
            period_from_config(&c, "nss").unwrap(),
            Duration::from_secs(3)
        );
        assert_eq!(
            period_from_config(&c, "pam").unwrap(),
            Duration::from_secs(10)
        );
        let bad = cfg("[sssd]\ndomains = D\n[nss]\ntimeout = 0\n[domain/D]\nid_provider = ldap\n");
        assert!(period_from_config(&bad, "nss").is_err());
    }
}
