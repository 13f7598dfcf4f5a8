//! Telling the responders that this domain is back online: each drops its temporary
//! negative entries (`clearNegcache`), so that names confirmed missing before an outage,
//! and created in the directory during it, resolve as soon as the domain is reachable
//! again instead of after `entry_negative_timeout`.

use super::Backend;
use crate::sbus::{Bus, ServiceMethod, call_service};
use std::time::Duration;

/// The bus names of every responder that keeps a negative cache.
pub const RESPONDERS: [&str; 5] = [
    "sssd.nss",
    "sssd.pam",
    "sssd.sudo",
    "sssd.ssh",
    "sssd.autofs",
];

/// How long one responder may take to answer.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

impl Backend {
    /// Watches the online state and tells the responders on `bus` each time the backend
    /// goes from offline to online; runs until the state is dropped.
    pub async fn run_online_announcements(self, bus: Bus) {
        let state = &self.inner.state;
        let mut changes = state.subscribe();
        let mut was_offline = state.is_offline();
        while changes.changed().await.is_ok() {
            let offline = state.is_offline();
            if was_offline && !offline {
                announce(&bus).await;
            }
            was_offline = offline;
        }
    }
}

/// Asks every responder present on `bus` to drop its temporary negative entries; a
/// responder that is not running (or does not answer) is skipped.
async fn announce(bus: &Bus) {
    let calls = RESPONDERS.map(|name| async move {
        (
            name,
            call_service(bus, name, ServiceMethod::ClearNegcache, CALL_TIMEOUT).await,
        )
    });
    let mut told = Vec::new();
    for (name, result) in futures_util::future::join_all(calls).await {
        match result {
            Ok(()) => told.push(name),
            Err(e) => tracing::debug!("{name} not told that the domain is online: {e}"),
        }
    }
    tracing::info!(
        "online again: told {} to drop their negative caches",
        if told.is_empty() {
            "no responder".to_string()
        } else {
            told.join(", ")
        }
    );
}
