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
    /// E-mail addresses (`ldap_user_email`), by which the user can also be looked up.
    pub emails: Vec<String>,
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

/// How storing a group (`new`) over its previous version (`old`, same name) changes one
/// user's memberships: the user named `user` gains (`added`) or loses the group `gid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberChange<'a> {
    /// The member's user name.
    pub user: &'a str,
    /// The group's gid.
    pub gid: u32,
    /// Whether the user became a member (else it stopped being one).
    pub added: bool,
}

/// The membership changes between two versions of a group (either may be absent: a new or
/// a deleted group). A changed gid counts as leaving the old gid and joining the new one.
pub fn member_changes<'a>(old: Option<&'a Group>, new: Option<&'a Group>) -> Vec<MemberChange<'a>> {
    use std::collections::HashSet;
    let set = |g: Option<&'a Group>| -> (Option<u32>, HashSet<&'a str>) {
        g.map_or((None, HashSet::new()), |g| {
            (Some(g.gid), g.members.iter().map(String::as_str).collect())
        })
    };
    let (old_gid, old_set) = set(old);
    let (new_gid, new_set) = set(new);
    let mut out = Vec::new();
    if let Some(g) = old {
        for m in &g.members {
            if new_gid != old_gid || !new_set.contains(m.as_str()) {
                out.push(MemberChange {
                    user: m,
                    gid: g.gid,
                    added: false,
                });
            }
        }
    }
    if let Some(g) = new {
        for m in &g.members {
            if new_gid != old_gid || !old_set.contains(m.as_str()) {
                out.push(MemberChange {
                    user: m,
                    gid: g.gid,
                    added: true,
                });
            }
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    fn group(gid: u32, members: &[&str]) -> Group {
        Group {
            name: "g".into(),
            gid,
            members: members.iter().map(|m| (*m).to_string()).collect(),
            ..Group::default()
        }
    }

    fn changes(old: Option<&Group>, new: Option<&Group>) -> Vec<(String, u32, bool)> {
        member_changes(old, new)
            .into_iter()
            .map(|c| (c.user.to_string(), c.gid, c.added))
            .collect()
    }

    #[test]
    fn member_changes_cover_joins_leaves_new_deleted_and_renumbered_groups() {
        let (a, b) = (group(10, &["al", "bo"]), group(10, &["bo", "cy"]));
        assert_eq!(
            changes(Some(&a), Some(&b)),
            [("al".into(), 10, false), ("cy".into(), 10, true)]
        );
        assert!(changes(Some(&a), Some(&a)).is_empty());
        assert_eq!(
            changes(None, Some(&group(7, &["al"]))),
            [("al".into(), 7, true)]
        );
        assert_eq!(changes(Some(&a), None).len(), 2);
        assert_eq!(
            changes(Some(&group(10, &["al"])), Some(&group(11, &["al"]))),
            [("al".into(), 10, false), ("al".into(), 11, true)]
        );
    }
}
