//! The periodic sudo refreshes of a backend: a full refresh at start (unless the cache had
//! one within `ldap_sudo_full_refresh_interval`) and then every that many seconds, a smart
//! refresh every `ldap_sudo_smart_refresh_interval` in between, each delay plus up to
//! `ldap_sudo_random_offset` seconds.

use super::{FULL_REFRESH, SMART_REFRESH, SudoOptions};
use crate::backend::Backend;
use crate::cache::Cache;
use crate::sbus::{AccountRequest, DP_ERR_OK, EntryType, Filter};
use std::sync::Arc;
use std::time::Duration;

/// Up to `max` seconds, from the clock's nanoseconds (spreading hosts apart is all it
/// needs).
fn jitter(max: u32) -> u64 {
    if max == 0 {
        return 0;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    u64::from(nanos % (max + 1))
}

/// Which refresh is due next and in how many seconds.
pub fn next(opts: &SudoOptions, now: i64, last_full: i64, last_smart: i64) -> Option<(u32, u64)> {
    let due = |last: i64, every: u32| -> u64 {
        let at = last.saturating_add(i64::from(every));
        u64::try_from(at.saturating_sub(now)).unwrap_or(0)
    };
    // Never fully refreshed: do it now (even with periodic full refreshes disabled).
    if last_full == 0 {
        return Some((FULL_REFRESH, 0));
    }
    let full = (opts.full_refresh_interval > 0)
        .then(|| (FULL_REFRESH, due(last_full, opts.full_refresh_interval)));
    let smart = (opts.smart_refresh_interval > 0 && last_full > 0).then(|| {
        (
            SMART_REFRESH,
            due(last_smart.max(last_full), opts.smart_refresh_interval),
        )
    });
    match (full, smart) {
        (Some(f), Some(s)) if s.1 < f.1 => Some(s),
        (Some(f), _) => Some(f),
        (None, s) => s,
    }
}

/// Runs the refreshes of `backend` forever (returns at once without a sudo provider).
pub async fn run(backend: Backend, cache: Arc<Cache>) {
    let Some(opts) = super::installed().cloned() else {
        return;
    };
    let mut last_smart = 0i64;
    loop {
        let last_full = cache.sudo_meta().map(|m| m.last_full).unwrap_or(0);
        let now = crate::backend::ldap::now();
        let Some((kind, secs)) = next(&opts, now, last_full, last_smart) else {
            return;
        };
        let secs = secs.saturating_add(jitter(opts.random_offset));
        tokio::time::sleep(Duration::from_secs(secs)).await;
        let req = AccountRequest {
            dp_flags: 0,
            entry_type: EntryType::SudoFull,
            filter: Filter::IdNumber(kind),
            domain: String::new(),
            extra: String::new(),
            cli_id: 0,
        };
        let r = backend.handle(req).await;
        let what = if kind == FULL_REFRESH {
            "full"
        } else {
            "smart"
        };
        if r.dp_error != DP_ERR_OK {
            tracing::warn!("sudo {what} refresh failed: {}", r.message);
        }
        // A failed refresh is retried at the next smart interval, not in a tight loop.
        last_smart = crate::backend::ldap::now();
        if kind == FULL_REFRESH && r.dp_error != DP_ERR_OK && last_full == 0 {
            let wait = u64::from(opts.smart_refresh_interval.clamp(1, 60));
            tokio::time::sleep(Duration::from_secs(wait)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn opts(extra: &str) -> SudoOptions {
        let c = Config::parse(&format!("[domain/d]\nid_provider = ldap\n{extra}"), "t").unwrap();
        SudoOptions::from_config(&c, "d").unwrap()
    }

    #[test]
    fn first_a_full_refresh_then_smart_ones() {
        let o = opts("");
        assert_eq!(next(&o, 1000, 0, 0), Some((FULL_REFRESH, 0)));
        assert_eq!(next(&o, 1000, 1000, 0), Some((SMART_REFRESH, 900)));
        assert_eq!(next(&o, 2000, 1000, 1900), Some((SMART_REFRESH, 800)));
        assert_eq!(next(&o, 30000, 1000, 29000), Some((FULL_REFRESH, 0)));
        let no_smart = opts("ldap_sudo_smart_refresh_interval = 0\n");
        assert_eq!(next(&no_smart, 1000, 1000, 0), Some((FULL_REFRESH, 21600)));
        let none =
            opts("ldap_sudo_smart_refresh_interval = 0\nldap_sudo_full_refresh_interval = 0\n");
        assert_eq!(next(&none, 1000, 5, 0), None);
        assert!(jitter(5) <= 5);
        assert_eq!(jitter(0), 0);
    }
}
