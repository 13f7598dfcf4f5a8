//! Who may hold a connection to a responder: a cap per uid and a cap in total, so that no
//! local user can take every descriptor the responder has.
//!
//! Every connection is registered here for its lifetime. When a uid is at its cap, or the
//! responder at its total, the uid's oldest idle connection (one waiting between requests)
//! is closed to make room: a client reconnects transparently, so that costs an idle
//! process nothing. When there is nothing idle to close, the new connection is refused.
//! Root, and every connection on a socket only root can reach (the private PAM socket),
//! draw on a reserve that unprivileged uids cannot touch.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::Notify;

/// Descriptors kept aside for everything that is not a client (cache, bus, logs, memory
/// cache, helper pipes), at most a quarter of the limit.
const OTHER_FDS: u64 = 64;

/// The connection caps of one responder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    /// Connections in all, privileged ones included.
    pub total: usize,
    /// Connections of one unprivileged uid.
    pub per_uid: usize,
    /// Part of `total` only privileged connections may use.
    pub reserve: usize,
}

impl ConnLimits {
    /// The caps for a process allowed `fd_limit` descriptors: what is left after the
    /// responder's own files, an eighth of it per uid and an eighth kept for root.
    pub fn for_fd_limit(fd_limit: u64) -> ConnLimits {
        let total = fd_limit.saturating_sub(OTHER_FDS.min(fd_limit / 4)).max(16);
        let total = usize::try_from(total).unwrap_or(usize::MAX);
        ConnLimits {
            total,
            per_uid: (total / 8).max(4),
            reserve: (total / 8).max(2),
        }
    }

    /// The caps for this process's current soft `RLIMIT_NOFILE`.
    pub fn for_this_process() -> ConnLimits {
        let soft = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
            .map(|(soft, _)| soft)
            .unwrap_or(1024);
        ConnLimits::for_fd_limit(soft)
    }
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The uid holds `per_uid` connections and none of them is idle.
    UidAtCap,
    /// The responder is full and no idle connection can be closed.
    Full,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refused::UidAtCap => "this uid holds its maximum of busy connections",
            Refused::Full => "the responder holds its maximum of busy connections",
        })
    }
}

struct Entry {
    uid: u32,
    privileged: bool,
    /// Position in its uid's idle queue while idle.
    idle_seq: Option<u64>,
    close: Arc<Notify>,
}

#[derive(Default)]
struct PerUid {
    count: usize,
    /// Idle connections, oldest first: (idle since sequence number, connection id).
    idle: BTreeSet<(u64, u64)>,
}

#[derive(Default)]
struct Inner {
    conns: HashMap<u64, Entry>,
    uids: HashMap<u32, PerUid>,
    unprivileged: usize,
    next_seq: u64,
    /// When a connection last came, went, or started or finished a request (`None`:
    /// not since the registry was made).
    last_activity: Option<std::time::Instant>,
}

impl Inner {
    fn per_uid(&mut self, uid: u32) -> &mut PerUid {
        self.uids.entry(uid).or_default()
    }

    /// Closes the oldest idle connection of `uid`, if it has one.
    fn evict_idle_of(&mut self, uid: u32) -> bool {
        let Some(&(seq, id)) = self.uids.get(&uid).and_then(|u| u.idle.first()) else {
            return false;
        };
        if let Some(u) = self.uids.get_mut(&uid) {
            u.idle.remove(&(seq, id));
        }
        match self.conns.get_mut(&id) {
            Some(e) => {
                e.idle_seq = None;
                e.close.notify_one();
                true
            }
            None => false,
        }
    }

    /// Closes the oldest idle connection of the uid holding the most connections (of
    /// unprivileged uids when `unprivileged_only`).
    fn evict_idle_of_heaviest(&mut self, unprivileged_only: bool) -> bool {
        let mut candidates: Vec<(usize, u32)> = self
            .uids
            .iter()
            .filter(|(uid, u)| !(u.idle.is_empty() || unprivileged_only && **uid == 0))
            .map(|(uid, u)| (u.count, *uid))
            .collect();
        candidates.sort_unstable_by(|a, b| b.cmp(a));
        candidates
            .into_iter()
            .any(|(_, uid)| self.evict_idle_of(uid))
    }

    fn remove(&mut self, id: u64) {
        let Some(e) = self.conns.remove(&id) else {
            return;
        };
        if !e.privileged {
            self.unprivileged = self.unprivileged.saturating_sub(1);
        }
        if let Some(u) = self.uids.get_mut(&e.uid) {
            u.count = u.count.saturating_sub(1);
            if let Some(seq) = e.idle_seq {
                u.idle.remove(&(seq, id));
            }
            if u.count == 0 {
                self.uids.remove(&e.uid);
            }
        }
    }
}

/// The connection registry of one responder, shared by its sockets.
pub struct Admission {
    limits: ConnLimits,
    inner: Mutex<Inner>,
    /// When the registry was made (the activity before the first connection).
    created: std::time::Instant,
}

impl Admission {
    /// An empty registry enforcing `limits`.
    pub fn new(limits: ConnLimits) -> Arc<Admission> {
        Arc::new(Admission {
            limits,
            inner: Mutex::new(Inner::default()),
            created: std::time::Instant::now(),
        })
    }

    /// Since when no connection has been held (`None` while one is): what a
    /// socket-activated responder's idle timeout counts from.
    pub fn quiet_since(&self) -> Option<std::time::Instant> {
        let inner = self.lock();
        if !inner.conns.is_empty() {
            return None;
        }
        Some(inner.last_activity.unwrap_or(self.created))
    }

    /// Connections currently held (all, of `uid`).
    pub fn held(&self, uid: u32) -> (usize, usize) {
        let inner = self.lock();
        (
            inner.conns.len(),
            inner.uids.get(&uid).map_or(0, |u| u.count),
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers connection `id` of `uid` (idle: no request has started), closing idle
    /// connections to make room as the module describes. `privileged_socket` marks a
    /// socket only root can reach.
    pub fn admit(
        self: &Arc<Admission>,
        id: u64,
        uid: u32,
        privileged_socket: bool,
    ) -> Result<Ticket, Refused> {
        let privileged = uid == 0 || privileged_socket;
        let mut inner = self.lock();
        inner.last_activity = Some(std::time::Instant::now());
        if !privileged {
            let held = inner.uids.get(&uid).map_or(0, |u| u.count);
            if held >= self.limits.per_uid && !inner.evict_idle_of(uid) {
                return Err(Refused::UidAtCap);
            }
            let shared = self.limits.total.saturating_sub(self.limits.reserve);
            if inner.unprivileged >= shared
                && !inner.evict_idle_of(uid)
                && !inner.evict_idle_of_heaviest(true)
            {
                return Err(Refused::Full);
            }
        }
        if inner.conns.len() >= self.limits.total
            && !inner.evict_idle_of_heaviest(true)
            && !inner.evict_idle_of_heaviest(false)
        {
            return Err(Refused::Full);
        }
        let close = Arc::new(Notify::new());
        let seq = inner.next_seq;
        inner.next_seq = seq.wrapping_add(1);
        inner.conns.insert(
            id,
            Entry {
                uid,
                privileged,
                idle_seq: Some(seq),
                close: close.clone(),
            },
        );
        if !privileged {
            inner.unprivileged = inner.unprivileged.saturating_add(1);
        }
        let u = inner.per_uid(uid);
        u.count = u.count.saturating_add(1);
        u.idle.insert((seq, id));
        Ok(Ticket {
            admission: self.clone(),
            id,
            uid,
            close,
        })
    }
}

/// A registered connection; dropping it unregisters the connection.
pub struct Ticket {
    admission: Arc<Admission>,
    id: u64,
    uid: u32,
    close: Arc<Notify>,
}

impl Ticket {
    /// Marks the connection idle (waiting for a request) or busy (a request has started).
    /// Only idle connections may be closed to make room.
    pub fn set_idle(&self, idle: bool) {
        let mut inner = self.admission.lock();
        let inner = &mut *inner;
        inner.last_activity = Some(std::time::Instant::now());
        let Some(e) = inner.conns.get_mut(&self.id) else {
            return;
        };
        match (idle, e.idle_seq) {
            (true, None) => {
                let seq = inner.next_seq;
                inner.next_seq = seq.wrapping_add(1);
                e.idle_seq = Some(seq);
                if let Some(u) = inner.uids.get_mut(&self.uid) {
                    u.idle.insert((seq, self.id));
                }
            }
            (false, Some(seq)) => {
                e.idle_seq = None;
                if let Some(u) = inner.uids.get_mut(&self.uid) {
                    u.idle.remove(&(seq, self.id));
                }
            }
            _ => {}
        }
    }

    /// Completes when the registry wants this connection closed to make room.
    pub async fn evicted(&self) {
        self.close.notified().await;
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut inner = self.admission.lock();
        inner.remove(self.id);
        inner.last_activity = Some(std::time::Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn small() -> Arc<Admission> {
        Admission::new(ConnLimits {
            total: 10,
            per_uid: 4,
            reserve: 2,
        })
    }

    async fn was_evicted(t: &Ticket) -> bool {
        tokio::time::timeout(Duration::from_millis(10), t.evicted())
            .await
            .is_ok()
    }

    #[test]
    fn limits_follow_the_descriptor_limit() {
        let l = ConnLimits::for_fd_limit(8192);
        assert_eq!(l.total, 8128);
        assert_eq!(l.per_uid, 1016);
        assert_eq!(l.reserve, 1016);
        let l = ConnLimits::for_fd_limit(1024);
        assert_eq!((l.total, l.per_uid, l.reserve), (960, 120, 120));
        let tiny = ConnLimits::for_fd_limit(8);
        assert!(tiny.total >= 16 && tiny.per_uid >= 4 && tiny.reserve >= 2);
    }

    #[tokio::test]
    async fn a_uid_over_its_cap_loses_its_oldest_idle_connection() {
        let a = small();
        let t: Vec<Ticket> = (0..4).map(|i| a.admit(i, 1000, false).unwrap()).collect();
        t[0].set_idle(false);
        let t4 = a.admit(4, 1000, false).unwrap();
        assert!(!was_evicted(&t[0]).await, "busy connections are kept");
        assert!(was_evicted(&t[1]).await, "the oldest idle one goes");
        assert!(!was_evicted(&t[2]).await);
        drop(t4);
        assert_eq!(a.held(1000), (4, 4));
    }

    #[tokio::test]
    async fn a_uid_whose_connections_are_all_busy_is_refused() {
        let a = small();
        let t: Vec<Ticket> = (0..4).map(|i| a.admit(i, 1000, false).unwrap()).collect();
        for x in &t {
            x.set_idle(false);
        }
        assert_eq!(a.admit(9, 1000, false).err(), Some(Refused::UidAtCap));
        let other = a.admit(10, 1001, false);
        assert!(other.is_ok(), "another uid is not affected");
        t[2].set_idle(true);
        assert!(a.admit(11, 1000, false).is_ok());
        assert!(was_evicted(&t[2]).await);
    }

    #[tokio::test]
    async fn root_keeps_a_reserve_when_unprivileged_uids_fill_the_rest() {
        let a = small();
        let mut held = Vec::new();
        for (i, uid) in [1000, 1000, 1000, 1000, 1001, 1001, 1001, 1001]
            .into_iter()
            .enumerate()
        {
            let t = a.admit(i as u64, uid, false).unwrap();
            t.set_idle(false);
            held.push(t);
        }
        assert_eq!(a.admit(20, 1002, false).err(), Some(Refused::Full));
        let r1 = a.admit(21, 0, false).unwrap();
        let r2 = a.admit(22, 1002, true).unwrap();
        assert_eq!(a.held(0).0, 10);
        r1.set_idle(false);
        r2.set_idle(false);
        assert_eq!(a.admit(23, 0, false).err(), Some(Refused::Full));
        drop((r1, r2));
    }

    #[tokio::test]
    async fn a_full_responder_closes_an_idle_connection_of_the_heaviest_uid() {
        let a = small();
        let mut held = Vec::new();
        for (i, uid) in [1000, 1000, 1000, 1001, 1001, 1002, 1002, 1003]
            .into_iter()
            .enumerate()
        {
            held.push(a.admit(i as u64, uid, false).unwrap());
        }
        let _new = a.admit(30, 1004, false).unwrap();
        assert!(was_evicted(&held[0]).await, "uid 1000 holds the most");
        assert!(!was_evicted(&held[3]).await);
    }

    #[test]
    fn dropping_a_ticket_frees_its_place() {
        let a = small();
        let t = a.admit(1, 1000, false).unwrap();
        t.set_idle(false);
        t.set_idle(true);
        drop(t);
        assert_eq!(a.held(1000), (0, 0));
        assert!(a.lock().uids.is_empty());
    }
}
