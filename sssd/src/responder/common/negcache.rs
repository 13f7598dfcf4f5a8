//! The negative cache (spec 5.3): names and ids recently confirmed missing, plus permanent
//! entries for filtered names and for root / uid 0 / gid 0.
//!
//! Keys follow SSSD's layout: `NCE/USER/<domain>/<name>`, `NCE/GROUP/<domain>/<name>`,
//! `NCE/UID/<domain>/<id>`, `NCE/GID/<domain>/<id>`, and domain-less `NCE/UID/<id>`,
//! `NCE/GID/<id>` for the permanent id entries.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// When an entry stops counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Until {
    /// Filter entries: until the process exits.
    Forever,
    /// Temporary entries: until this time (seconds since the epoch).
    Time(i64),
}

/// Kind of a negative entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A user name.
    User,
    /// A group name.
    Group,
    /// A uid.
    Uid,
    /// A gid.
    Gid,
}

impl Kind {
    fn tag(self) -> &'static str {
        match self {
            Kind::User => "USER",
            Kind::Group => "GROUP",
            Kind::Uid => "UID",
            Kind::Gid => "GID",
        }
    }
}

/// The key of an entry in `domain` (or every domain when `None`).
pub fn key(kind: Kind, domain: Option<&str>, what: &str) -> String {
    match domain {
        Some(d) => format!("NCE/{}/{d}/{what}", kind.tag()),
        None => format!("NCE/{}/{what}", kind.tag()),
    }
}

/// The negative cache of one responder.
#[derive(Debug)]
pub struct NegCache {
    ttl: i64,
    map: Mutex<HashMap<String, Until>>,
}

impl NegCache {
    /// An empty cache whose temporary entries live `ttl` seconds (0 disables them).
    /// Root, uid 0 and gid 0 are always present.
    pub fn new(ttl: u32) -> NegCache {
        let nc = NegCache {
            ttl: i64::from(ttl),
            map: Mutex::new(HashMap::new()),
        };
        nc.add_builtin();
        nc
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Until>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn add_builtin(&self) {
        let mut m = self.lock();
        m.insert(key(Kind::Uid, None, "0"), Until::Forever);
        m.insert(key(Kind::Gid, None, "0"), Until::Forever);
    }

    /// Adds a permanent entry (a filter).
    pub fn set_permanent(&self, kind: Kind, domain: Option<&str>, what: &str) {
        self.lock().insert(key(kind, domain, what), Until::Forever);
    }

    /// Records that `what` is missing in `domain` for the negative timeout, from `now`.
    /// Never downgrades a permanent entry.
    pub fn set(&self, kind: Kind, domain: &str, what: &str, now: i64) {
        if self.ttl <= 0 {
            return;
        }
        let mut m = self.lock();
        let e = m
            .entry(key(kind, Some(domain), what))
            .or_insert(Until::Time(0));
        if *e != Until::Forever {
            *e = Until::Time(now.saturating_add(self.ttl));
        }
    }

    fn hit(m: &HashMap<String, Until>, k: &str, now: i64, temporary: bool) -> bool {
        match m.get(k) {
            Some(Until::Forever) => true,
            Some(Until::Time(t)) => temporary && *t > now,
            None => false,
        }
    }

    /// Whether `what` is negative in `domain` (domain-specific or global entries).
    /// `temporary = false` checks permanent (filter) entries only.
    pub fn is_set(&self, kind: Kind, domain: &str, what: &str, now: i64, temporary: bool) -> bool {
        let m = self.lock();
        Self::hit(&m, &key(kind, Some(domain), what), now, temporary)
            || Self::hit(&m, &key(kind, None, what), now, temporary)
    }

    /// Whether `what` is filtered (a permanent entry) in `domain`.
    pub fn is_filtered(&self, kind: Kind, domain: &str, what: &str) -> bool {
        self.is_set(kind, domain, what, 0, false)
    }

    /// Drops every temporary entry (`clearNegcache`); filters stay.
    pub fn clear_temporary(&self) {
        self.lock().retain(|_, v| *v == Until::Forever);
    }

    /// Drops expired temporary entries.
    pub fn prune(&self, now: i64) {
        self.lock().retain(|_, v| match v {
            Until::Forever => true,
            Until::Time(t) => *t > now,
        });
    }

    /// Number of entries (for tests and logs).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the cache holds no entries at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_entries_expire_after_ttl() {
        let nc = NegCache::new(15);
        nc.set(Kind::User, "LDAP", "ghost", 1000);
        assert!(nc.is_set(Kind::User, "LDAP", "ghost", 1000, true));
        assert!(nc.is_set(Kind::User, "LDAP", "ghost", 1014, true));
        assert!(!nc.is_set(Kind::User, "LDAP", "ghost", 1015, true));
        assert!(!nc.is_set(Kind::User, "OTHER", "ghost", 1000, true));
        assert!(!nc.is_filtered(Kind::User, "LDAP", "ghost"));
        nc.prune(1015);
        assert_eq!(nc.len(), 2);
    }

    #[test]
    fn zero_ttl_disables_temporary_entries() {
        let nc = NegCache::new(0);
        nc.set(Kind::Uid, "LDAP", "42", 1000);
        assert!(!nc.is_set(Kind::Uid, "LDAP", "42", 1000, true));
    }

    #[test]
    fn builtin_and_filters_are_permanent() {
        let nc = NegCache::new(15);
        assert!(nc.is_filtered(Kind::Uid, "ANY", "0"));
        assert!(nc.is_filtered(Kind::Gid, "ANY", "0"));
        nc.set_permanent(Kind::User, Some("LDAP"), "user2");
        nc.set(Kind::User, "LDAP", "user2", 10);
        nc.set(Kind::User, "LDAP", "tmp", 10);
        assert!(nc.is_set(Kind::User, "LDAP", "user2", 1_000_000, true));
        nc.clear_temporary();
        assert!(nc.is_filtered(Kind::User, "LDAP", "user2"));
        assert!(!nc.is_set(Kind::User, "LDAP", "tmp", 10, true));
        assert!(!nc.is_filtered(Kind::User, "OTHER", "user2"));
    }
}
