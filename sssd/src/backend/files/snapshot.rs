//! The whole content of a files domain: the users and groups of every `passwd_files` and
//! `group_files` entry merged as SSSD 2.8 does, and the cache writes that make the domain
//! cache hold exactly that (stores, memberships, and pruning of whatever is gone).

use super::parse::{self, BadLine};
use crate::backend::store::CacheOp;
use crate::model::{Group, User};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Expiry stamp of files entries: they never expire; a change of the files replaces them.
pub const NEVER: i64 = i64::MAX;

/// A file that exists but cannot be read (a missing file counts as empty, as SSSD).
#[derive(Debug, Error)]
#[error("cannot read {}: {source}", path.display())]
pub struct ReadError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub source: std::io::Error,
}

/// The users and groups of a files domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Users, in file order.
    pub users: Vec<User>,
    /// Groups, in file order.
    pub groups: Vec<Group>,
}

/// What merging found besides the entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notes {
    /// Lines that are not entries.
    pub bad: Vec<BadLine>,
    /// Entries left out (a name or id already given by an earlier line), as messages.
    pub skipped: Vec<String>,
}

/// A user SSSD never serves: root, uid 0 or primary gid 0 (left to nss_files).
fn is_root_user(u: &User) -> bool {
    u.name == "root" || u.uid == 0 || u.gid == 0
}

/// A group SSSD never serves: root or gid 0.
fn is_root_group(g: &Group) -> bool {
    g.name == "root" || g.gid == 0
}

/// Reads `path`; a missing file is empty.
fn read(path: &Path) -> Result<String, ReadError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::info!("{} does not exist: no entries from it", path.display());
            Ok(String::new())
        }
        Err(source) => Err(ReadError {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Reads and merges the files (blocking: call off the event loop). Names are lowercased
/// when `case_sensitive` is false, as the cache keys them.
pub fn load(
    passwd_files: &[PathBuf],
    group_files: &[PathBuf],
    case_sensitive: bool,
) -> Result<(Snapshot, Notes), ReadError> {
    let mut users = Vec::new();
    let mut groups = Vec::new();
    let mut notes = Notes::default();
    for f in passwd_files {
        let p = parse::passwd(&read(f)?, f);
        users.push((f.clone(), p.entries));
        notes.bad.extend(p.bad);
    }
    for f in group_files {
        let p = parse::group(&read(f)?, f);
        groups.push((f.clone(), p.entries));
        notes.bad.extend(p.bad);
    }
    let snap = merge(users, groups, case_sensitive, &mut notes);
    Ok((snap, notes))
}

fn fold(s: &str, case_sensitive: bool) -> String {
    if case_sensitive {
        s.to_string()
    } else {
        s.to_lowercase()
    }
}

/// Merges the per-file entries: root entries are left out; the first user (group) of a
/// name wins, and a later one with an id already taken is left out (the cache maps an id
/// to one entry).
pub fn merge(
    users: Vec<(PathBuf, Vec<User>)>,
    groups: Vec<(PathBuf, Vec<Group>)>,
    case_sensitive: bool,
    notes: &mut Notes,
) -> Snapshot {
    let mut snap = Snapshot::default();
    let (mut names, mut ids) = (HashSet::new(), HashSet::new());
    for (file, list) in users {
        for mut u in list {
            if is_root_user(&u) {
                continue;
            }
            u.name = fold(&u.name, case_sensitive);
            if names.contains(&u.name) {
                notes.skipped.push(format!(
                    "{}: user {} already defined earlier, this one is ignored",
                    file.display(),
                    u.name
                ));
                continue;
            }
            if !ids.insert(u.uid) {
                notes.skipped.push(format!(
                    "{}: user {} has uid {}, already used by an earlier user; ignored",
                    file.display(),
                    u.name,
                    u.uid
                ));
                continue;
            }
            names.insert(u.name.clone());
            snap.users.push(u);
        }
    }
    let (mut names, mut ids) = (HashSet::new(), HashSet::new());
    for (file, list) in groups {
        for mut g in list {
            if is_root_group(&g) {
                continue;
            }
            g.name = fold(&g.name, case_sensitive);
            if names.contains(&g.name) {
                notes.skipped.push(format!(
                    "{}: group {} already defined earlier, this one is ignored",
                    file.display(),
                    g.name
                ));
                continue;
            }
            if !ids.insert(g.gid) {
                notes.skipped.push(format!(
                    "{}: group {} has gid {}, already used by an earlier group; ignored",
                    file.display(),
                    g.name,
                    g.gid
                ));
                continue;
            }
            let mut members: Vec<String> = Vec::new();
            for m in g.members.drain(..) {
                let m = fold(&m, case_sensitive);
                if !members.contains(&m) {
                    members.push(m);
                }
            }
            g.members = members;
            names.insert(g.name.clone());
            snap.groups.push(g);
        }
    }
    snap
}

impl Snapshot {
    /// The gids of the groups listing `user` as a member, in group order.
    fn member_gids(&self) -> HashMap<&str, Vec<u32>> {
        let mut out: HashMap<&str, Vec<u32>> = HashMap::new();
        for g in &self.groups {
            for m in &g.members {
                out.entry(m.as_str()).or_default().push(g.gid);
            }
        }
        out
    }

    /// The cache writes that make a domain cache hold exactly this snapshot: every user
    /// and group stored (never expiring), every user's group memberships (the groups
    /// listing it as a member), and every other cached user and group removed.
    pub fn ops(&self) -> Vec<CacheOp> {
        let mut ops = Vec::with_capacity(2 * self.users.len() + self.groups.len() + 2);
        let member_of = self.member_gids();
        for u in &self.users {
            ops.push(CacheOp::PutUser(u.clone(), NEVER));
        }
        for g in &self.groups {
            ops.push(CacheOp::PutGroup(g.clone(), NEVER));
        }
        for u in &self.users {
            ops.push(CacheOp::SetInitgroups {
                name: u.name.clone(),
                gids: member_of.get(u.name.as_str()).cloned().unwrap_or_default(),
                expire: NEVER,
            });
        }
        ops.push(CacheOp::PruneUsers(
            self.users.iter().map(|u| u.name.clone()).collect(),
        ));
        ops.push(CacheOp::PruneGroups(
            self.groups.iter().map(|g| g.name.clone()).collect(),
        ));
        ops
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::store::{MemStore, Store};

    fn user(name: &str, uid: u32, gid: u32) -> User {
        User {
            name: name.into(),
            uid,
            gid,
            ..User::default()
        }
    }

    fn group(name: &str, gid: u32, members: &[&str]) -> Group {
        Group {
            name: name.into(),
            gid,
            members: members.iter().map(|m| m.to_string()).collect(),
            ..Group::default()
        }
    }

    #[test]
    fn root_and_duplicates_are_left_out() {
        let mut notes = Notes::default();
        let users = vec![
            (
                PathBuf::from("/a"),
                vec![
                    user("root", 0, 0),
                    user("toor", 0, 5),
                    user("zero", 7, 0),
                    user("alice", 10, 10),
                ],
            ),
            (
                PathBuf::from("/b"),
                vec![
                    user("alice", 11, 11),
                    user("bob", 10, 10),
                    user("carol", 12, 12),
                ],
            ),
        ];
        let groups = vec![(
            PathBuf::from("/g"),
            vec![
                group("root", 0, &[]),
                group("staff", 50, &["Alice", "alice"]),
                group("staff", 51, &[]),
                group("other", 50, &[]),
            ],
        )];
        let s = merge(users, groups, false, &mut notes);
        let names: Vec<&str> = s.users.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["alice", "carol"]);
        assert_eq!(s.users[0].uid, 10);
        assert_eq!(s.groups, vec![group("staff", 50, &["alice"])]);
        assert_eq!(notes.skipped.len(), 4, "{:?}", notes.skipped);
        assert!(notes.skipped[0].starts_with("/b: user alice already defined"));
        assert!(notes.skipped[1].contains("uid 10"));
    }

    #[test]
    fn load_reads_files_and_treats_missing_ones_as_empty() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("passwd");
        let g = dir.path().join("group");
        std::fs::write(&p, "alice:x:10:10::/h:/bin/sh\nbad line\n").expect("w");
        std::fs::write(&g, "staff:x:50:alice\n").expect("w");
        let missing = dir.path().join("nope");
        let (s, notes) = load(&[p.clone(), missing], std::slice::from_ref(&g), true).expect("load");
        assert_eq!(s.users.len(), 1);
        assert_eq!(s.groups.len(), 1);
        assert_eq!(notes.bad.len(), 1);
        assert_eq!(notes.bad[0].file, p);
        assert_eq!(notes.bad[0].line, 2);
    }

    #[test]
    fn ops_store_memberships_and_prune_what_is_gone() {
        let store = MemStore::default();
        let first = Snapshot {
            users: vec![user("alice", 10, 10), user("bob", 11, 11)],
            groups: vec![group("staff", 50, &["alice", "bob"]), group("old", 51, &[])],
        };
        store.apply(&first.ops(), 1).expect("apply");
        let bob = store.user("bob").expect("read").expect("bob");
        let names = store.group_names(&bob).expect("groups");
        assert_eq!(names.names, ["staff"]);
        assert_eq!(names.missing, [11]);
        // bob removed, old group removed, alice joins a new group.
        let second = Snapshot {
            users: vec![user("alice", 10, 10)],
            groups: vec![group("staff", 50, &["alice"]), group("new", 52, &["alice"])],
        };
        store.apply(&second.ops(), 2).expect("apply");
        assert_eq!(store.user("bob").expect("read"), None);
        let alice = store.user("alice").expect("read").expect("alice");
        let names = store.group_names(&alice).expect("groups");
        assert_eq!(names.names, ["staff", "new"]);
        let data = store.snapshot();
        assert!(!data.groups.contains_key("old"));
        assert_eq!(
            data.initgroups.get("alice").map(|x| x.0.clone()),
            Some(vec![50, 52])
        );
    }
}
