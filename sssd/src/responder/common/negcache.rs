//! The negative cache (spec 5.3): names and ids recently confirmed missing, plus permanent
//! entries for filtered names and for root / uid 0 / gid 0.
//!
//! Entries follow SSSD's layout (`NCE/USER/<domain>/<name>`, `NCE/GROUP/<domain>/<name>`,
//! `NCE/UID/<domain>/<id>`, `NCE/GID/<domain>/<id>`, and the domain-less `NCE/UID/<id>`,
//! `NCE/GID/<id>` permanent id entries): a kind, a domain or none, and the name or id. They are kept
//! per (kind, domain) scope, permanent apart from temporary, so that a lookup allocates
//! nothing and the filters of one scope can be listed without walking the misses.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

/// Kind of a negative entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A user name.
    User,
    /// A group name.
    Group,
    /// A uid.
    Uid,
    /// A user's e-mail address or principal (lowercased).
    Alias,
    /// A gid.
    Gid,
    /// A netgroup name (`NCE/NETGR`).
    Netgroup,
    /// A service name with its protocol (`name/proto`).
    Service,
    /// A service port with its protocol (`port/proto`).
    ServicePort,
    /// A host name.
    Host,
    /// A host address.
    HostAddr,
    /// A network name.
    Network,
    /// A network number.
    NetworkAddr,
}

/// The entries of one kind in one domain (or in every domain).
#[derive(Debug)]
struct Scope {
    kind: Kind,
    domain: Option<String>,
    /// Filters: until the process exits (or the filters are reloaded).
    permanent: HashSet<String>,
    /// Confirmed misses: until this time (seconds since the epoch).
    temporary: HashMap<String, i64>,
}

impl Scope {
    fn is(&self, kind: Kind, domain: Option<&str>) -> bool {
        self.kind == kind && self.domain.as_deref() == domain
    }

    fn hit(&self, what: &str, now: i64, temporary: bool) -> bool {
        self.permanent.contains(what)
            || (temporary && self.temporary.get(what).is_some_and(|&t| t > now))
    }
}

/// All scopes; a handful (4 kinds × (domains + 1)), so a linear search finds one.
#[derive(Debug, Default)]
struct Scopes(Vec<Scope>);

impl Scopes {
    fn get(&self, kind: Kind, domain: Option<&str>) -> Option<&Scope> {
        self.0.iter().find(|s| s.is(kind, domain))
    }

    fn get_mut(&mut self, kind: Kind, domain: Option<&str>) -> &mut Scope {
        let i = match self.0.iter().position(|s| s.is(kind, domain)) {
            Some(i) => i,
            None => {
                self.0.push(Scope {
                    kind,
                    domain: domain.map(str::to_owned),
                    permanent: HashSet::new(),
                    temporary: HashMap::new(),
                });
                self.0.len() - 1
            }
        };
        &mut self.0[i]
    }
}

/// The negative cache of one responder.
#[derive(Debug)]
pub struct NegCache {
    ttl: i64,
    scopes: Mutex<Scopes>,
}

impl NegCache {
    /// An empty cache whose temporary entries live `ttl` seconds (0 disables them).
    /// Root, uid 0 and gid 0 are always present.
    pub fn new(ttl: u32) -> NegCache {
        let nc = NegCache {
            ttl: i64::from(ttl),
            scopes: Mutex::new(Scopes::default()),
        };
        nc.add_builtin();
        nc
    }

    fn lock(&self) -> MutexGuard<'_, Scopes> {
        self.scopes.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn add_builtin(&self) {
        self.set_permanent(Kind::Uid, None, "0");
        self.set_permanent(Kind::Gid, None, "0");
    }

    /// Adds a permanent entry (a filter).
    pub fn set_permanent(&self, kind: Kind, domain: Option<&str>, what: &str) {
        let mut m = self.lock();
        let s = m.get_mut(kind, domain);
        s.temporary.remove(what);
        s.permanent.insert(what.to_owned());
    }

    /// Records that `what` is missing in `domain` for the negative timeout, from `now`.
    /// Never downgrades a permanent entry.
    pub fn set(&self, kind: Kind, domain: &str, what: &str, now: i64) {
        if self.ttl <= 0 {
            return;
        }
        let mut m = self.lock();
        let s = m.get_mut(kind, Some(domain));
        if !s.permanent.contains(what) {
            s.temporary
                .insert(what.to_owned(), now.saturating_add(self.ttl));
        }
    }

    /// Whether `what` is negative in `domain` (domain-specific or global entries).
    /// `temporary = false` checks permanent (filter) entries only.
    pub fn is_set(&self, kind: Kind, domain: &str, what: &str, now: i64, temporary: bool) -> bool {
        let m = self.lock();
        [Some(domain), None]
            .into_iter()
            .any(|d| m.get(kind, d).is_some_and(|s| s.hit(what, now, temporary)))
    }

    /// Whether `what` is filtered (a permanent entry) in `domain`.
    pub fn is_filtered(&self, kind: Kind, domain: &str, what: &str) -> bool {
        self.is_set(kind, domain, what, 0, false)
    }

    /// Every permanent entry of `kind` that applies to `domain` (its own and the global
    /// ones), in no particular order: the filters a caller may resolve once instead of
    /// asking [`NegCache::is_filtered`] per object.
    pub fn filtered(&self, kind: Kind, domain: &str) -> Vec<String> {
        let m = self.lock();
        let mut out: Vec<String> = Vec::new();
        for d in [Some(domain), None] {
            for w in m.get(kind, d).map(|s| &s.permanent).into_iter().flatten() {
                if !out.contains(w) {
                    out.push(w.clone());
                }
            }
        }
        out
    }

    /// Drops every temporary entry (`clearNegcache`); filters stay.
    pub fn clear_temporary(&self) {
        for s in &mut self.lock().0 {
            s.temporary.clear();
        }
    }

    /// Drops expired temporary entries.
    pub fn prune(&self, now: i64) {
        for s in &mut self.lock().0 {
            s.temporary.retain(|_, t| *t > now);
        }
    }

    /// Number of entries (for tests and logs).
    pub fn len(&self) -> usize {
        self.lock()
            .0
            .iter()
            .map(|s| s.permanent.len() + s.temporary.len())
            .sum()
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

    #[test]
    fn filtered_lists_domain_and_global_permanent_entries_only() {
        let nc = NegCache::new(15);
        nc.set_permanent(Kind::Group, Some("LDAP"), "root");
        nc.set_permanent(Kind::Group, Some("LDAP"), "wheel");
        nc.set_permanent(Kind::Group, None, "wheel");
        nc.set_permanent(Kind::Group, None, "adm");
        nc.set_permanent(Kind::Group, Some("OTHER"), "other");
        nc.set(Kind::Group, "LDAP", "missing", 10);
        let mut f = nc.filtered(Kind::Group, "LDAP");
        f.sort();
        assert_eq!(f, ["adm", "root", "wheel"]);
        assert_eq!(nc.filtered(Kind::Gid, "LDAP"), ["0"]);
        assert!(nc.filtered(Kind::User, "LDAP").is_empty());
    }

    #[test]
    fn a_filter_replaces_a_temporary_entry_and_is_never_downgraded() {
        let nc = NegCache::new(15);
        nc.set(Kind::User, "LDAP", "x", 10);
        nc.set_permanent(Kind::User, Some("LDAP"), "x");
        assert_eq!(nc.len(), 3);
        nc.set(Kind::User, "LDAP", "x", 10);
        nc.clear_temporary();
        assert!(nc.is_filtered(Kind::User, "LDAP", "x"));
        assert_eq!(nc.len(), 3);
    }
}
