//! What `getent` and `id` must print for a [`Directory`], and parsers for what they did print.
//!
//! Member lists and group lists are compared as sets: SSSD does not promise an order.

use std::collections::BTreeSet;

use crate::ldif::{Directory, Member};

/// The `getent passwd NAME` line: `name:*:uid:gid:gecos-or-cn:home:shell`.
pub fn passwd_line(dir: &Directory, name: &str) -> Option<String> {
    let u = dir.user(name)?;
    Some(format!(
        "{}:*:{}:{}:{}:{}:{}",
        u.name,
        u.uid,
        u.gid,
        u.shown_gecos(),
        u.home,
        u.shell
    ))
}

/// The users a group lists, following nested groups up to `max_depth` levels
/// (`None` = unlimited, `Some(0)` = direct members only).
pub fn group_members(dir: &Directory, group: &str, max_depth: Option<usize>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut seen = BTreeSet::new();
    collect_members(dir, group, 0, max_depth, &mut out, &mut seen);
    out
}

fn collect_members(
    dir: &Directory,
    group: &str,
    depth: usize,
    max_depth: Option<usize>,
    out: &mut BTreeSet<String>,
    seen: &mut BTreeSet<String>,
) {
    if !seen.insert(group.to_owned()) {
        return;
    }
    let Some(g) = dir.group(group) else { return };
    for m in &g.members {
        match m {
            Member::User(u) | Member::UserUpperDn(u) => {
                out.insert(u.clone());
            }
            Member::Group(sub) => {
                if max_depth.is_none_or(|max| depth < max) {
                    collect_members(dir, sub, depth + 1, max_depth, out, seen);
                }
            }
        }
    }
}

/// The `getent group NAME` line with members sorted by name.
pub fn group_line(dir: &Directory, name: &str, max_depth: Option<usize>) -> Option<String> {
    let g = dir.group(name)?;
    let members: Vec<String> = group_members(dir, name, max_depth).into_iter().collect();
    Some(format!("{}:*:{}:{}", g.name, g.gid, members.join(",")))
}

/// The gids of the groups `user` is a member of (directly or through nesting up to
/// `max_depth`); the primary gid only if the user is also listed as a member.
pub fn user_gids(dir: &Directory, user: &str, max_depth: Option<usize>) -> BTreeSet<u32> {
    dir.groups
        .iter()
        .filter(|g| group_members(dir, &g.name, max_depth).contains(user))
        .map(|g| g.gid)
        .collect()
}

/// The `id NAME` line (`uid=1001(user1) gid=2001(group1) groups=2001(group1),2012(...)`), with
/// supplementary groups sorted by gid after the primary one.
pub fn id_line(dir: &Directory, user: &str, max_depth: Option<usize>) -> Option<String> {
    let u = dir.user(user)?;
    let label = |gid: u32| match dir.group_by_gid(gid) {
        Some(g) => format!("{gid}({})", g.name),
        None => gid.to_string(),
    };
    let mut groups = vec![label(u.gid)];
    groups.extend(
        user_gids(dir, user, max_depth)
            .into_iter()
            .filter(|&g| g != u.gid)
            .map(label),
    );
    Some(format!(
        "uid={}({}) gid={} groups={}",
        u.uid,
        u.name,
        label(u.gid),
        groups.join(",")
    ))
}

/// A parsed `getent group` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    /// Group name.
    pub name: String,
    /// Password field.
    pub passwd: String,
    /// Group id.
    pub gid: u32,
    /// Member names.
    pub members: BTreeSet<String>,
}

impl GroupEntry {
    /// Parses `name:passwd:gid:m1,m2,...`.
    pub fn parse(line: &str) -> Option<GroupEntry> {
        let mut f = line.trim_end_matches('\n').splitn(4, ':');
        let name = f.next()?.to_owned();
        let passwd = f.next()?.to_owned();
        let gid = f.next()?.parse().ok()?;
        let members = f
            .next()?
            .split(',')
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
            .collect();
        Some(GroupEntry {
            name,
            passwd,
            gid,
            members,
        })
    }
}

/// A parsed `id NAME` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdEntry {
    /// `uid=N(name)`.
    pub uid: (u32, Option<String>),
    /// `gid=N(name)`.
    pub gid: (u32, Option<String>),
    /// `groups=...` entries.
    pub groups: BTreeSet<(u32, Option<String>)>,
}

fn parse_id_item(s: &str) -> Option<(u32, Option<String>)> {
    match s.split_once('(') {
        Some((n, rest)) => Some((n.parse().ok()?, Some(rest.strip_suffix(')')?.to_owned()))),
        None => Some((s.parse().ok()?, None)),
    }
}

impl IdEntry {
    /// Parses `uid=..(..) gid=..(..) groups=..,..` (names may contain spaces, not commas).
    pub fn parse(line: &str) -> Option<IdEntry> {
        let line = line.trim_end();
        let rest = line.strip_prefix("uid=")?;
        let (uid, rest) = rest.split_once(" gid=")?;
        let (gid, groups) = match rest.split_once(" groups=") {
            Some((g, gs)) => (g, Some(gs)),
            None => (rest, None),
        };
        let groups = match groups {
            Some(gs) => gs
                .split(',')
                .map(parse_id_item)
                .collect::<Option<BTreeSet<_>>>()?,
            None => BTreeSet::new(),
        };
        Some(IdEntry {
            uid: parse_id_item(uid)?,
            gid: parse_id_item(gid)?,
            groups,
        })
    }
}

/// Parses a `getent initgroups NAME` line: the name, then the gids.
pub fn parse_initgroups(line: &str) -> Option<(String, BTreeSet<u32>)> {
    let mut it = line.split_whitespace();
    let name = it.next()?.to_owned();
    let gids = it
        .map(|g| g.parse().ok())
        .collect::<Option<BTreeSet<u32>>>()?;
    Some((name, gids))
}

/// NSS status codes (`enum nss_status`).
pub mod nss_status {
    /// Try again later (errno ERANGE: buffer too small).
    pub const TRYAGAIN: i32 = -2;
    /// The service (daemon) is not available.
    pub const UNAVAIL: i32 = -1;
    /// No such entry.
    pub const NOTFOUND: i32 = 0;
    /// Found.
    pub const SUCCESS: i32 = 1;
}

/// What the `nss-call` helper printed: raw status, errno, and the entry line on SUCCESS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NssCall {
    /// `enum nss_status` value (see [`nss_status`]).
    pub status: i32,
    /// `*errnop` after the call.
    pub errno: i32,
    /// The entry in getent format (initgroups: space-separated gids).
    pub line: Option<String>,
}

impl NssCall {
    /// Parses `status=N errno=E` and the optional entry line.
    pub fn parse(stdout: &str) -> Option<NssCall> {
        let mut lines = stdout.lines();
        let first = lines.next()?;
        let (st, er) = first.split_once(' ')?;
        Some(NssCall {
            status: st.strip_prefix("status=")?.parse().ok()?,
            errno: er.strip_prefix("errno=")?.parse().ok()?,
            line: lines.next().map(str::to_owned),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ldif::{long_name, rfc2307_with_bulk, rfc2307bis, rfc2307bis_nesting0};

    #[test]
    fn spec_8_3_scenario_1_line() {
        let d = rfc2307_with_bulk(3);
        assert_eq!(
            passwd_line(&d, "user1").unwrap(),
            "user1:*:1001:2001:1001:/home/user1:/bin/bash"
        );
        assert_eq!(
            passwd_line(&d, "zoe").unwrap(),
            "zoe:*:20002:10000:Zoë Ångström-Ñúñez:/home/zoe:/bin/bash"
        );
        assert_eq!(
            passwd_line(&d, "nogecos").unwrap(),
            "nogecos:*:20005:10000:No Gecos Person:/home/nogecos:/bin/bash"
        );
        let ln = long_name();
        assert!(
            passwd_line(&d, &ln)
                .unwrap()
                .starts_with(&format!("{ln}:*:20003:"))
        );
        assert!(passwd_line(&d, "nonexistent").is_none());
    }

    #[test]
    fn rfc2307_groups_and_id() {
        let d = rfc2307_with_bulk(3);
        assert_eq!(
            group_line(&d, "two_user_group", None).unwrap(),
            "two_user_group:*:2012:user1,user2"
        );
        assert_eq!(
            group_line(&d, "empty_group", None).unwrap(),
            "empty_group:*:2010:"
        );
        assert_eq!(
            id_line(&d, "user1", None).unwrap(),
            "uid=1001(user1) gid=2001(group1) groups=2001(group1),2012(two_user_group)"
        );
        assert_eq!(
            id_line(&d, "orphan", None).unwrap(),
            "uid=20004(orphan) gid=29999 groups=29999"
        );
        assert_eq!(user_gids(&d, "many", None).len(), 200);
    }

    #[test]
    fn spec_8_3_scenarios_3_and_4() {
        let d = rfc2307bis();
        assert_eq!(
            user_gids(&d, "user1", None),
            BTreeSet::from([2012, 2015, 2017, 2018, 2019])
        );
        assert_eq!(
            group_members(&d, "group_two_one_user_groups", None),
            BTreeSet::from(["user1".to_owned(), "user2".to_owned()])
        );
        assert!(group_members(&d, "group_two_empty_groups", None).is_empty());
        assert_eq!(
            group_line(&d, "nest_l3", None).unwrap(),
            "nest_l3:*:2023:user3"
        );
        assert!(group_members(&d, "nest_l3", Some(1)).is_empty());
        assert_eq!(
            user_gids(&d, "user3", None),
            BTreeSet::from([2021, 2022, 2023, 2025])
        );
        let n0 = rfc2307bis_nesting0();
        assert!(group_members(&n0, "nestedgroup", Some(0)).is_empty());
        assert_eq!(user_gids(&n0, "user1", Some(0)), BTreeSet::from([2010]));
    }

    #[test]
    fn nss_call_output_parses() {
        let c = NssCall::parse("status=1 errno=0\nroot:x:0:0:root:/root:/bin/bash\n").unwrap();
        assert_eq!(c.status, nss_status::SUCCESS);
        assert_eq!(c.line.as_deref(), Some("root:x:0:0:root:/root:/bin/bash"));
        let n = NssCall::parse("status=-1 errno=2\n").unwrap();
        assert_eq!((n.status, n.errno, n.line), (nss_status::UNAVAIL, 2, None));
        assert!(NssCall::parse("garbage").is_none());
    }

    #[test]
    fn parsers_round_trip() {
        let g = GroupEntry::parse("two_user_group:*:2012:user2,user1\n").unwrap();
        assert_eq!(g.gid, 2012);
        assert_eq!(g.members.len(), 2);
        assert!(GroupEntry::parse("e:*:5:").unwrap().members.is_empty());
        let id = IdEntry::parse(
            "uid=1001(user1) gid=2001(group1) groups=2001(group1),2012(two_user_group)",
        )
        .unwrap();
        assert_eq!(id.uid, (1001, Some("user1".into())));
        assert_eq!(id.groups.len(), 2);
        let o = IdEntry::parse("uid=20004(orphan) gid=29999 groups=29999").unwrap();
        assert_eq!(o.gid, (29999, None));
        let (n, gids) = parse_initgroups("user1                 2012 2015\n").unwrap();
        assert_eq!(n, "user1");
        assert_eq!(gids, BTreeSet::from([2012, 2015]));
    }
}
