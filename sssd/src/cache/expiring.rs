//! Which cached records expire soon: what `refresh_expired_interval`'s background task
//! refreshes (users, groups, initgroups and netgroups whose expiry is at or before a given
//! time; expired ones included).

use super::codec::Stamp;
use super::{Cache, CacheError};

/// A kind of record the background refresh renews, in the order it renews them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshKind {
    /// A user's group memberships (users that were looked up with initgroups).
    Initgroups,
    /// A user record.
    User,
    /// A group record.
    Group,
    /// A netgroup.
    Netgroup,
}

impl RefreshKind {
    /// Every kind, in refresh order (as SSSD: initgroups, users, groups, netgroups).
    pub const ALL: [RefreshKind; 4] = [
        RefreshKind::Initgroups,
        RefreshKind::User,
        RefreshKind::Group,
        RefreshKind::Netgroup,
    ];

    /// The plural name used in log messages.
    pub fn label(self) -> &'static str {
        match self {
            RefreshKind::Initgroups => "initgroups",
            RefreshKind::User => "users",
            RefreshKind::Group => "groups",
            RefreshKind::Netgroup => "netgroups",
        }
    }

    fn stamp_prefix(self) -> Option<&'static [u8]> {
        match self {
            RefreshKind::Initgroups => Some(b"i:"),
            RefreshKind::User => Some(b"u:"),
            RefreshKind::Group => Some(b"g:"),
            RefreshKind::Netgroup => None,
        }
    }
}

impl Cache {
    /// The names of the cached records of `kind` whose expiry is at or before `by` (Unix
    /// seconds; records already expired included), in name order.
    pub fn expiring(&self, kind: RefreshKind, by: i64) -> Result<Vec<String>, CacheError> {
        let Some(prefix) = kind.stamp_prefix() else {
            return self.netgroups_expiring(by);
        };
        self.read(|r| {
            let dbs = r.dbs();
            let lmdb = |source| CacheError::Lmdb {
                path: self.shared.path.clone(),
                source,
            };
            let txn = r.txn();
            let mut out = Vec::new();
            for item in dbs.stamps.prefix_iter(txn, prefix).map_err(lmdb)? {
                let (k, v) = item.map_err(lmdb)?;
                let Some(stamp) = Stamp::decode(v) else {
                    return Err(r.corrupt("stamps", k));
                };
                if stamp.expire > by {
                    continue;
                }
                let name = k.get(prefix.len()..).unwrap_or_default();
                match std::str::from_utf8(name) {
                    Ok(n) if !n.is_empty() => out.push(n.to_string()),
                    _ => return Err(r.corrupt("stamps", k)),
                }
            }
            Ok(out)
        })
    }
}
