//! Identity objects as the cache stores them and the backend produces them.

/// A POSIX user as fetched from the directory, before responder-side formatting
/// (homedir/shell overrides and fully qualified names are applied when answering).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct User {
    /// Login name, as the cache keys it (lowercased when the domain is case-insensitive).
    pub name: String,
    /// uidNumber.
    pub uid: u32,
    /// gidNumber (primary group).
    pub gid: u32,
    /// gecos, or cn when the entry has no gecos.
    pub gecos: String,
    /// homeDirectory as in the directory (may be empty).
    pub home: String,
    /// loginShell as in the directory (may be empty).
    pub shell: String,
    /// Distinguished name of the entry in the directory.
    pub dn: String,
    /// Kerberos principal, when the entry has one.
    pub upn: Option<String>,
    /// modifyTimestamp of the entry, when the server provides it.
    pub modify_timestamp: Option<String>,
}

/// A POSIX group with its members flattened to user names (nested groups expanded by the
/// backend up to `ldap_group_nesting_level`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Group {
    /// Group name, as the cache keys it.
    pub name: String,
    /// gidNumber.
    pub gid: u32,
    /// Member user names, deduplicated, in directory order.
    pub members: Vec<String>,
    /// Distinguished name of the entry in the directory.
    pub dn: String,
    /// modifyTimestamp of the entry, when the server provides it.
    pub modify_timestamp: Option<String>,
}

/// A cached value with its freshness stamps (seconds since the epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cached<T> {
    /// The value.
    pub value: T,
    /// When the backend last stored or confirmed it.
    pub last_update: i64,
    /// When it stops being fresh (`last_update + entry_cache_*_timeout`); 0 = expired.
    pub expire: i64,
}
