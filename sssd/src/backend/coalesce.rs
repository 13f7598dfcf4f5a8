//! Coalescing of identical concurrent requests: the first caller's work runs once (in its
//! own task, so a cancelled caller does not cancel it) and every caller gets its result.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// In-flight operations by key.
pub struct Coalescer<K, V> {
    inflight: Arc<Mutex<HashMap<K, broadcast::Sender<V>>>>,
}

impl<K, V> Default for Coalescer<K, V> {
    fn default() -> Self {
        Coalescer {
            inflight: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

impl<K, V> Coalescer<K, V>
where
    K: Hash + Eq + Clone + Send + 'static,
    V: Clone + Send + 'static,
{
    /// Runs `work` for `key` unless an identical operation is in flight, in which case its
    /// result is awaited instead. `lost` is returned if the work task dies without a result.
    pub async fn run<F>(&self, key: K, work: F, lost: V) -> V
    where
        F: Future<Output = V> + Send + 'static,
    {
        let mut rx = {
            let mut map = match self.inflight.lock() {
                Ok(m) => m,
                Err(p) => p.into_inner(),
            };
            if let Some(tx) = map.get(&key) {
                tx.subscribe()
            } else {
                let (tx, rx) = broadcast::channel(1);
                map.insert(key.clone(), tx);
                let inflight = self.inflight.clone();
                tokio::spawn(async move {
                    // Removes the entry even if `work` panics, so later calls start afresh.
                    let guard = Remove {
                        map: inflight,
                        key: Some(key),
                    };
                    let v = work.await;
                    if let Some(tx) = guard.take() {
                        let _ = tx.send(v);
                    }
                });
                rx
            }
        };
        rx.recv().await.unwrap_or(lost)
    }

    /// Number of operations in flight.
    pub fn in_flight(&self) -> usize {
        self.inflight.lock().map(|m| m.len()).unwrap_or(0)
    }
}

struct Remove<K: Hash + Eq, V> {
    map: Arc<Mutex<HashMap<K, broadcast::Sender<V>>>>,
    key: Option<K>,
}

impl<K: Hash + Eq, V> Remove<K, V> {
    fn take(mut self) -> Option<broadcast::Sender<V>> {
        let key = self.key.take()?;
        let mut map = match self.map.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        map.remove(&key)
    }
}

impl<K: Hash + Eq, V> Drop for Remove<K, V> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut map = match self.map.lock() {
                Ok(m) => m,
                Err(p) => p.into_inner(),
            };
            map.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn identical_requests_share_one_run() {
        let c: Arc<Coalescer<String, u32>> = Arc::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::new();
        for _ in 0..10 {
            let (c, runs) = (c.clone(), runs.clone());
            handles.push(tokio::spawn(async move {
                c.run(
                    "user:alice".to_string(),
                    async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        7
                    },
                    0,
                )
                .await
            }));
        }
        for h in handles {
            assert_eq!(h.await.unwrap(), 7);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(c.in_flight(), 0);
        // Different keys are not coalesced; a later identical call runs again.
        let a = c.run("a".into(), async { 1 }, 0);
        let b = c.run("b".into(), async { 2 }, 0);
        assert_eq!(tokio::join!(a, b), (1, 2));
        assert_eq!(c.run("user:alice".into(), async { 8 }, 0).await, 8);
    }

    #[tokio::test]
    async fn a_panicking_run_yields_the_fallback() {
        let c: Coalescer<u8, u32> = Coalescer::default();
        let work = async {
            if std::hint::black_box(true) {
                panic!("boom");
            }
            1
        };
        let v = c.run(1, work, 99).await;
        assert_eq!(v, 99);
        assert_eq!(c.in_flight(), 0);
    }
}
