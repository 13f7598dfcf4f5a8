//! What the memory-cache benchmark (issue 8) looks up, in which directory, and the private
//! /etc/passwd and /etc/group of its nss_files floor.

use sssd_tests::ldif::{self, BULK_GID, BULK_USERS, Directory, Group, Member};
use std::fmt::Write as _;

/// The 20-member group the benchmark adds to the rfc2307 tree (user0001..user0020).
pub const TWENTY_GROUP: &str = "twenty_users";
/// Its gid (free in [`ldif::rfc2307`]: `mg*` end at 20300).
pub const TWENTY_GID: u32 = 20400;
/// Lines of the nss_files floor's /etc/passwd.
pub const PASSWD_LINES: usize = 10_000;
/// Spacing of the user keys among the bulk users (user0050, user0100, ..., user5000).
const KEY_STEP: u32 = 50;
/// First uid and gid of the filler users that bring /etc/passwd to [`PASSWD_LINES`].
const FILLER_ID: u32 = 40_000;

/// One measured lookup: a glibc call over a set of keys, and what each answer must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// How the table names it (`getgrnam_r 5,000 members`).
    pub figure: &'static str,
    /// mc_loop's kind: `pwnam`, `pwuid`, `grnam` or `grouplist`.
    pub kind: &'static str,
    /// mc_loop's keys (names, uids, or `NAME:GID` for grouplist).
    pub keys: Vec<String>,
    /// A field of mc_loop's warm-up report and the value it must have (`members`, 20).
    pub expect: (&'static str, u64),
}

/// The rfc2307 tree (5,000 bulk users, `allusers`, `many` in 200 groups) plus
/// [`TWENTY_GROUP`].
pub fn tree() -> Directory {
    let mut d = ldif::rfc2307();
    let members: Vec<String> = (1..=20).map(|i| format!("user{i:04}")).collect();
    let refs: Vec<&str> = members.iter().map(String::as_str).collect();
    d.groups.push(Group::new(TWENTY_GROUP, TWENTY_GID, &refs));
    d
}

/// The bulk users whose names and uids are the passwd keys: every [`KEY_STEP`]th.
fn key_users() -> impl Iterator<Item = u32> {
    (1..=BULK_USERS / KEY_STEP).map(|k| k * KEY_STEP)
}

/// The five lookups of the issue, in table order.
pub fn lookups() -> Vec<Lookup> {
    let n = u64::from(BULK_USERS / KEY_STEP);
    vec![
        Lookup {
            figure: "getpwnam_r",
            kind: "pwnam",
            keys: key_users().map(|i| format!("user{i:04}")).collect(),
            expect: ("found", n),
        },
        Lookup {
            figure: "getpwuid_r",
            kind: "pwuid",
            keys: key_users().map(|i| (BULK_GID + i).to_string()).collect(),
            expect: ("found", n),
        },
        Lookup {
            figure: "getgrnam_r 20 members",
            kind: "grnam",
            keys: vec![TWENTY_GROUP.to_owned()],
            expect: ("members", 20),
        },
        Lookup {
            figure: "getgrnam_r 5,000 members",
            kind: "grnam",
            keys: vec!["allusers".to_owned()],
            expect: ("members", u64::from(BULK_USERS)),
        },
        Lookup {
            figure: "getgrouplist 200 groups",
            kind: "grouplist",
            keys: vec!["many:20001".to_owned()],
            // The 200 groups and the primary group glibc adds.
            expect: ("groups", u64::from(ldif::MANY_GROUPS) + 1),
        },
    ]
}

/// The control: mc_loop's `spin`, no lookup, thread-local arithmetic only.
pub fn control() -> Lookup {
    Lookup {
        figure: "control (spin)",
        kind: "spin",
        keys: vec!["-".to_owned()],
        expect: ("found", 1),
    }
}

/// glibc's floor: mc_loop's `floor`, getpwnam_r of the first user key counted whatever it
/// answers (run under [`NSSWITCH_NO_MODULE`]).
pub fn floor() -> Lookup {
    Lookup {
        figure: "glibc floor getpwnam_r",
        kind: "floor",
        keys: vec![format!("user{KEY_STEP:04}")],
        expect: ("found", 1),
    }
}

/// nsswitch.conf whose passwd, group and initgroups name a module that does not exist: a
/// lookup costs only glibc's own work (reading the configuration, probing nscd).
pub const NSSWITCH_NO_MODULE: &str = "passwd: sssbenchnomodule\n\
group: sssbenchnomodule\n\
initgroups: sssbenchnomodule\n\
shadow: files\n\
hosts: files\n";

/// A passwd line.
fn passwd_line(out: &mut String, name: &str, uid: u32, gid: u32, gecos: &str, home: &str) {
    let _ = writeln!(out, "{name}:x:{uid}:{gid}:{gecos}:{home}:/bin/bash");
}

/// The nss_files floor's /etc/passwd: the host's lines (`base`), then the tree's bulk users
/// interleaved with filler users so that the keys are spread over the whole file, then the
/// tree's other users; [`PASSWD_LINES`] lines in all. None if `base` is too long.
pub fn passwd_file(base: &str, tree: &Directory) -> Option<String> {
    let base_lines = base.lines().count();
    let (bulk, other): (Vec<_>, Vec<_>) = tree.users.iter().partition(|u| u.gid == BULK_GID);
    let fillers = PASSWD_LINES.checked_sub(base_lines + bulk.len() + other.len())?;
    let mut out = String::with_capacity(PASSWD_LINES * 64);
    for l in base.lines() {
        out.push_str(l);
        out.push('\n');
    }
    let mut written = 0usize;
    for (i, u) in bulk.iter().enumerate() {
        passwd_line(&mut out, &u.name, u.uid, u.gid, u.shown_gecos(), &u.home);
        // Fillers after bulk user i so that written / fillers tracks (i + 1) / bulk.
        let due = fillers * (i + 1) / bulk.len().max(1);
        while written < due {
            let id = FILLER_ID + u32::try_from(written).ok()?;
            let name = format!("filler{written:05}");
            passwd_line(&mut out, &name, id, id, "Filler", &format!("/home/{name}"));
            written += 1;
        }
    }
    if bulk.is_empty() {
        for w in 0..fillers {
            let id = FILLER_ID + u32::try_from(w).ok()?;
            let name = format!("filler{w:05}");
            passwd_line(&mut out, &name, id, id, "Filler", &format!("/home/{name}"));
        }
    }
    for u in other {
        passwd_line(&mut out, &u.name, u.uid, u.gid, u.shown_gecos(), &u.home);
    }
    Some(out)
}

/// The nss_files floor's /etc/group: the host's lines (`base`), then every group of the tree
/// with its user members.
pub fn group_file(base: &str, tree: &Directory) -> String {
    let mut out = String::new();
    for l in base.lines() {
        out.push_str(l);
        out.push('\n');
    }
    for g in &tree.groups {
        let members: Vec<&str> = g
            .members
            .iter()
            .filter_map(|m| match m {
                Member::User(n) | Member::UserUpperDn(n) => Some(n.as_str()),
                Member::Group(_) => None,
            })
            .collect();
        let _ = writeln!(out, "{}:x:{}:{}", g.name, g.gid, members.join(","));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/:/bin/false\n";

    #[test]
    fn passwd_file_has_10000_lines_and_the_keys_spread_over_it() {
        let t = tree();
        let f = passwd_file(BASE, &t).unwrap();
        let lines: Vec<&str> = f.lines().collect();
        assert_eq!(lines.len(), PASSWD_LINES);
        assert!(f.starts_with(BASE));
        let pos = |name: &str| {
            lines
                .iter()
                .position(|l| l.starts_with(&format!("{name}:")))
                .unwrap()
        };
        // The last key sits near the end, the middle one near the middle.
        assert!(pos("user5000") > 9_900, "{}", pos("user5000"));
        let mid = pos("user2500");
        assert!((4_900..5_100).contains(&mid), "{mid}");
        assert!(lines.contains(&"user0050:x:10050:10000:User 0050:/home/user0050:/bin/bash"));
        assert!(pos("many") > pos("user5000"));
        // Names and uids unique.
        let mut names: Vec<&str> = lines.iter().map(|l| l.split(':').next().unwrap()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), PASSWD_LINES);
        let mut uids: Vec<&str> = lines.iter().map(|l| l.split(':').nth(2).unwrap()).collect();
        uids.sort_unstable();
        uids.dedup();
        assert_eq!(uids.len(), PASSWD_LINES);
        assert!(passwd_file(&"x:x:1:1::/:/bin/sh\n".repeat(9_000), &t).is_none());
    }

    #[test]
    fn group_file_holds_the_measured_groups_with_their_members() {
        let f = group_file(BASE, &tree());
        let line = |name: &str| {
            f.lines()
                .find(|l| l.starts_with(&format!("{name}:")))
                .unwrap()
                .to_owned()
        };
        assert_eq!(line("allusers").split(',').count(), 5000);
        assert!(line("allusers").starts_with("allusers:x:10000:user0001,user0002,"));
        assert_eq!(line(TWENTY_GROUP).split(',').count(), 20);
        assert_eq!(line("mg001"), "mg001:x:20101:many");
        assert_eq!(f.lines().filter(|l| l.ends_with(":many")).count(), 200);
    }

    #[test]
    fn lookups_name_existing_keys() {
        let t = tree();
        let l = lookups();
        assert_eq!(l.len(), 5);
        assert_eq!(l[0].keys.len(), 100);
        assert!(l[0].keys.iter().all(|k| t.user(k).is_some()));
        assert!(
            l[1].keys
                .iter()
                .all(|k| t.users.iter().any(|u| u.uid.to_string() == *k))
        );
        assert_eq!(t.group(TWENTY_GROUP).unwrap().members.len(), 20);
        let mut gids: Vec<u32> = t.groups.iter().map(|g| g.gid).collect();
        gids.sort_unstable();
        gids.dedup();
        assert_eq!(gids.len(), t.groups.len());
    }
}
