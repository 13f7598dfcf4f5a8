//! Telling the responders that the content of a files domain changed, as SSSD 2.8 does
//! after a reload: the NSS memory cache drops its passwd, group and initgroups records,
//! the enumeration snapshots are dropped, and every responder forgets its temporary
//! negative entries (a name looked up before it was added resolves at once).

use crate::backend::online_notify::RESPONDERS;
use crate::sbus::{Bus, NSS_NAME, ServiceMethod, call_service, memcache};
use std::time::Duration;

/// How long one responder may take to answer.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Hears that a files domain was reloaded with changes. Must not block.
pub trait ReloadNotifier: Send + Sync + 'static {
    /// The cache of the domain now holds new content.
    fn reloaded(&self);
}

/// Sends the notices over the private bus, fire-and-forget (a responder that is not
/// running is skipped, at debug level).
#[derive(Clone)]
pub struct BusReloadNotifier {
    bus: Bus,
}

impl BusReloadNotifier {
    /// A notifier calling over `bus`.
    pub fn new(bus: Bus) -> BusReloadNotifier {
        BusReloadNotifier { bus }
    }
}

/// Tells the responders on `bus`, one call after the other: the negative caches first, so
/// that a name found missing once the memory cache is cleared stays negative-cached.
pub async fn announce(bus: &Bus) {
    let calls = RESPONDERS.map(|name| async move {
        (
            name,
            call_service(bus, name, ServiceMethod::ClearNegcache, CALL_TIMEOUT).await,
        )
    });
    for (name, r) in futures_util::future::join_all(calls).await {
        if let Err(e) = r {
            tracing::debug!("clearNegcache not sent to {name}: {e}");
        }
    }
    if let Err(e) = call_service(bus, NSS_NAME, ServiceMethod::ClearEnumCache, CALL_TIMEOUT).await {
        tracing::debug!("clearEnumCache not sent to {NSS_NAME}: {e}");
    }
    for method in [
        memcache::InvalidateAll::Users,
        memcache::InvalidateAll::Groups,
        memcache::InvalidateAll::Initgroups,
    ] {
        if let Err(e) = memcache::invalidate_all(bus, method, CALL_TIMEOUT).await {
            tracing::debug!("{method:?} not sent to {NSS_NAME}: {e}");
        }
    }
}

impl ReloadNotifier for BusReloadNotifier {
    fn reloaded(&self) {
        let bus = self.bus.clone();
        tokio::spawn(async move { announce(&bus).await });
    }
}
