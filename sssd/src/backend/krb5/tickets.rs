//! What the backend remembers about its users' Kerberos tickets between requests:
//!
//! - [`PendingLogins`] (`krb5_store_password_if_offline`): the password of a user who logged
//!   in offline with cached credentials, kept until the KDC answers again so the TGT can be
//!   obtained then. Kept in this process's memory only, wiped (zeroize) when used, replaced
//!   or dropped; never written anywhere.
//! - [`RenewTable`] (`krb5_renew_interval`): the renewable TGTs written for users, renewed
//!   by the backend once half of their lifetime has passed.
//!
//! Both are plain data structures; the backend's background task drives them.

use std::collections::HashMap;
use std::sync::Mutex;

use sss_proto::child::TgtTimes;
use zeroize::Zeroizing;

use crate::model::User;

/// A login waiting for the KDC.
pub struct Pending {
    /// The user as cached when they logged in offline.
    pub user: User,
    /// Their password (wiped on drop).
    pub password: Zeroizing<Vec<u8>>,
    /// The PAM client's process id at the login (for `%P`).
    pub pid: u32,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("user", &self.user.name)
            .finish_non_exhaustive()
    }
}

/// Offline logins whose TGT is still to be obtained, one per uid (a newer login replaces
/// an older one, as SSSD keeps one per uid).
#[derive(Debug, Default)]
pub struct PendingLogins {
    users: Mutex<HashMap<u32, Pending>>,
}

impl PendingLogins {
    /// Remembers `user`'s `password` and the client `pid` of the login (replacing, and
    /// wiping, an older one of the same uid).
    pub fn insert(&self, user: User, password: &[u8], pid: u32) {
        let p = Pending {
            password: Zeroizing::new(password.to_vec()),
            user,
            pid,
        };
        let mut m = self.users.lock().unwrap_or_else(|e| e.into_inner());
        m.insert(p.user.uid, p);
    }

    /// Takes every pending login out.
    pub fn take_all(&self) -> Vec<Pending> {
        let mut m = self.users.lock().unwrap_or_else(|e| e.into_inner());
        m.drain().map(|(_, p)| p).collect()
    }

    /// Puts `p` back unless a newer login of the same uid arrived meanwhile.
    pub fn put_back(&self, p: Pending) {
        let mut m = self.users.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(p.user.uid).or_insert(p);
    }

    /// How many logins wait.
    pub fn len(&self) -> usize {
        self.users.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// True when none waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A renewable TGT in a user's ccache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renewable {
    /// The user it belongs to.
    pub user: User,
    /// The principal (the table's key).
    pub principal: String,
    /// The ccache holding it (`FILE:...`, `DIR:...`, `KEYRING:...`).
    pub ccname: String,
    /// Its times.
    pub times: TgtTimes,
}

impl Renewable {
    /// When renewal is due: half-way through the ticket's lifetime, as SSSD does.
    pub fn renew_at(&self) -> i64 {
        self.times.start + (self.times.end - self.times.start) / 2
    }

    /// True while the ticket can still be renewed at `now`.
    pub fn renewable_at(&self, now: i64) -> bool {
        self.times.renew_till > now && self.times.end > now
    }
}

/// The renewable TGTs, one per principal (the last login's ccache wins).
#[derive(Debug, Default)]
pub struct RenewTable {
    tickets: Mutex<HashMap<String, Renewable>>,
}

impl RenewTable {
    /// Adds (or replaces) `r` when its ticket is renewable beyond its end time; returns
    /// whether it was added.
    pub fn add(&self, r: Renewable) -> bool {
        if r.times.renew_till <= r.times.end {
            return false;
        }
        let mut m = self.tickets.lock().unwrap_or_else(|e| e.into_inner());
        m.insert(r.principal.clone(), r);
        true
    }

    /// Takes out the entries due for renewal at `now`, and drops those that can no longer
    /// be renewed.
    pub fn take_due(&self, now: i64) -> Vec<Renewable> {
        let mut m = self.tickets.lock().unwrap_or_else(|e| e.into_inner());
        m.retain(|p, r| {
            let keep = r.renewable_at(now);
            if !keep {
                tracing::info!("TGT of {p} in {} can no longer be renewed", r.ccname);
            }
            keep
        });
        let due: Vec<String> = m
            .iter()
            .filter(|(_, r)| r.renew_at() <= now)
            .map(|(p, _)| p.clone())
            .collect();
        due.iter().filter_map(|p| m.remove(p)).collect()
    }

    /// Puts `r` back (renewal failed for a reason that may pass) unless a newer entry for
    /// its principal arrived meanwhile.
    pub fn put_back(&self, r: Renewable) {
        let mut m = self.tickets.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(r.principal.clone()).or_insert(r);
    }

    /// How many tickets are watched.
    pub fn len(&self) -> usize {
        self.tickets.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// True when none is watched.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// True when some process runs with real uid `uid` (the user is "still logged in", SSSD's
/// test before using a stored password). Reads /proc: call it off the event loop.
pub fn uid_has_processes(uid: u32) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    dir.flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("status")).ok())
        .any(|status| real_uid(&status) == Some(uid))
}

/// The real uid in the text of /proc/PID/status (`Uid:\treal\teffective\t...`).
fn real_uid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, uid: u32) -> User {
        User {
            name: name.into(),
            uid,
            gid: uid,
            ..User::default()
        }
    }

    fn ticket(principal: &str, start: i64, end: i64, renew_till: i64) -> Renewable {
        Renewable {
            user: user("u", 1),
            principal: principal.into(),
            ccname: "FILE:/tmp/cc".into(),
            times: TgtTimes {
                start,
                end,
                renew_till,
            },
        }
    }

    #[test]
    fn pending_keeps_one_per_uid_and_newest_wins() {
        let p = PendingLogins::default();
        p.insert(user("a", 1), b"old", 7);
        p.insert(user("a", 1), b"new", 7);
        p.insert(user("b", 2), b"pw", 8);
        assert_eq!(p.len(), 2);
        let mut all = p.take_all();
        assert!(p.is_empty());
        all.sort_by_key(|x| x.user.uid);
        assert_eq!(&all[0].password[..], b"new");
        p.insert(user("a", 1), b"newest", 9);
        let first = all.remove(0);
        p.put_back(first);
        assert_eq!(&p.take_all()[0].password[..], b"newest");
    }

    #[test]
    fn renewal_is_due_half_way_and_ends_with_renew_till() {
        let t = RenewTable::default();
        assert!(!t.add(ticket("norenew", 100, 200, 200)));
        assert!(t.add(ticket("p", 100, 200, 1000)));
        assert!(t.take_due(149).is_empty());
        let due = t.take_due(150);
        assert_eq!(due.len(), 1);
        assert!(t.is_empty());
        t.put_back(due[0].clone());
        // Past the end time: dropped, not renewed.
        assert!(t.take_due(250).is_empty());
        assert!(t.is_empty());
    }

    #[test]
    fn status_uid_is_read() {
        let s = "Name:\tsleep\nUid:\t1001\t1001\t1001\t1001\nGid:\t1\n";
        assert_eq!(real_uid(s), Some(1001));
        assert_eq!(real_uid("Name: x\n"), None);
        // This test runs as some uid: it has processes.
        // SAFETY: getuid has no preconditions.
        assert!(uid_has_processes(unsafe { libc::getuid() }));
    }
}
