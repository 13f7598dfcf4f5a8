//! Facts about domains that the backend learns from the directory at run time and that
//! override what the configuration implies: the flat (NetBIOS) name of an AD domain,
//! which SSSD reads from a domain controller rather than derive it. Process-wide, since
//! every name a client sends or receives may consult it; the backend records it in the
//! domain's cache and each process takes it from there ([`remember_flat_name`]).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

static FLAT_NAMES: RwLock<Option<HashMap<String, Arc<str>>>> = RwLock::new(None);

/// A future resolving to whether the learned facts changed.
pub type RefreshFuture = Pin<Box<dyn Future<Output = bool> + Send>>;

/// Learns the facts again (set by the responders, which know the caches and backends).
type Refresher = Box<dyn Fn() -> RefreshFuture + Send + Sync>;
static REFRESHER: OnceLock<Refresher> = OnceLock::new();

/// Sets how [`refresh`] learns the facts again (only the first call counts); the future
/// `f` returns resolves to whether anything changed.
pub fn set_refresher(f: impl Fn() -> RefreshFuture + Send + Sync + 'static) {
    let _ = REFRESHER.set(Box::new(f));
}

/// Learns the facts again now (a client named a domain no one knows: its flat name may
/// just have been learned, or not asked for yet); whether anything changed. False
/// without a refresher.
pub async fn refresh() -> bool {
    match REFRESHER.get() {
        Some(f) => f().await,
        None => false,
    }
}

/// What runs when a domain's learned flat name changes (its argument: the domain).
type ChangeHook = Box<dyn Fn(&str) + Send + Sync>;
static ON_CHANGE: OnceLock<ChangeHook> = OnceLock::new();

/// Sets what runs each time [`remember_flat_name`] changes a domain's name from then on
/// (only the first call counts): the NSS responder forgets the names its memory cache
/// holds, written with the guessed or the old flat name.
pub fn on_change(f: impl Fn(&str) + Send + Sync + 'static) {
    let _ = ON_CHANGE.set(Box::new(f));
}

/// Records `flat` as the flat name learned for `domain` (the SSSD domain name); returns
/// whether that changed what this process knew.
pub fn remember_flat_name(domain: &str, flat: &str) -> bool {
    {
        let mut guard = FLAT_NAMES.write().unwrap_or_else(PoisonError::into_inner);
        let map = guard.get_or_insert_with(HashMap::new);
        if map.get(domain).is_some_and(|f| &**f == flat) {
            return false;
        }
        map.insert(domain.to_string(), Arc::from(flat));
    }
    if let Some(hook) = ON_CHANGE.get() {
        hook(domain);
    }
    true
}

/// The flat name learned for `domain`, if any (shared: no copy per lookup).
pub fn learned_flat_name(domain: &str) -> Option<Arc<str>> {
    let guard = FLAT_NAMES.read().unwrap_or_else(PoisonError::into_inner);
    guard.as_ref()?.get(domain).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_learned_name_is_remembered_per_domain() {
        assert_eq!(learned_flat_name("learned-test.example"), None);
        assert!(remember_flat_name("learned-test.example", "LEARNT"));
        assert!(!remember_flat_name("learned-test.example", "LEARNT"));
        assert_eq!(
            learned_flat_name("learned-test.example").as_deref(),
            Some("LEARNT")
        );
        assert_eq!(learned_flat_name("other-test.example"), None);
    }

    #[test]
    fn changes_run_the_hook_once_each() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static SEEN: AtomicUsize = AtomicUsize::new(0);
        on_change(|d| {
            if d == "hook-test.example" {
                SEEN.fetch_add(1, Ordering::SeqCst);
            }
        });
        assert!(remember_flat_name("hook-test.example", "GUESS"));
        assert!(!remember_flat_name("hook-test.example", "GUESS"));
        assert!(remember_flat_name("hook-test.example", "REAL"));
        assert_eq!(SEEN.load(Ordering::SeqCst), 2);
    }
}
