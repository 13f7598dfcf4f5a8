//! The deterministic test trees.

use super::{Directory, Group, Member, Schema, User};

/// Number of bulk users `user0001`..`user5000` in [`rfc2307`].
pub const BULK_USERS: u32 = 5000;
/// Primary gid of the bulk users, and gid of the group `allusers` that lists them all.
pub const BULK_GID: u32 = 10000;
/// Number of groups `mg001`..`mg200` the user `many` belongs to.
pub const MANY_GROUPS: u32 = 200;
/// Length of the long login name.
pub const LONG_NAME_LEN: usize = 200;
/// The non-ASCII gecos of user `zoe` (base64 in the LDIF).
pub const NONASCII_GECOS: &str = "Zoë Ångström-Ñúñez";

/// The 200-character login name: `longname` followed by `x`s.
pub fn long_name() -> String {
    let mut s = String::from("longname");
    while s.len() < LONG_NAME_LEN {
        s.push('x');
    }
    s
}

/// The users every tree starts with: user1/2/3 = uid 1001-1003, gid 2001-2003, cn = uid
/// number, no gecos (spec 8.3).
fn spec_users(d: &mut Directory) {
    for i in 1..=3u32 {
        d.users
            .push(User::new(&format!("user{i}"), 1000 + i, 2000 + i));
    }
}

/// The rfc2307 tree with [`BULK_USERS`] bulk users. Contents:
/// - user1..user3 (1001-1003 / 2001-2003), groups group1..group3 (2001-2003, no members),
///   `empty_group` (2010), `two_user_group` (2012 ∋ user1, user2);
/// - `user0001`..`user5000`: uid 10001.., gid 10000, gecos/cn "User NNNN";
///   group `allusers` (10000) with all of them as memberUid;
/// - `many` (20001/20001, group `many` 20001 empty) in `mg001`..`mg200` (20101..20300);
/// - `zoe` (20002/10000) with gecos [`NONASCII_GECOS`];
/// - [`long_name`] (20003/10000), gecos "Long Name";
/// - `orphan` (20004/29999): no group has gid 29999;
/// - `nogecos` (20005/10000): no gecos, cn "No Gecos Person".
pub fn rfc2307() -> Directory {
    rfc2307_with_bulk(BULK_USERS)
}

/// [`rfc2307`] with `bulk` bulk users instead of 5,000 (small trees for quick tests, demo).
pub fn rfc2307_with_bulk(bulk: u32) -> Directory {
    let mut d = Directory::new(Schema::Rfc2307);
    spec_users(&mut d);
    for i in 1..=3u32 {
        d.groups
            .push(Group::new(&format!("group{i}"), 2000 + i, &[]));
    }
    d.groups.push(Group::new("empty_group", 2010, &[]));
    d.groups
        .push(Group::new("two_user_group", 2012, &["user1", "user2"]));

    let mut all = Group::new("allusers", BULK_GID, &[]);
    for i in 1..=bulk {
        let name = format!("user{i:04}");
        d.users
            .push(User::new(&name, BULK_GID + i, BULK_GID).with_gecos(&format!("User {i:04}")));
        all.members.push(Member::User(name));
    }
    d.groups.push(all);

    d.users
        .push(User::new("many", 20001, 20001).with_gecos("Many Groups"));
    d.groups.push(Group::new("many", 20001, &[]));
    for i in 1..=MANY_GROUPS {
        d.groups
            .push(Group::new(&format!("mg{i:03}"), 20100 + i, &["many"]));
    }
    d.users
        .push(User::new("zoe", 20002, BULK_GID).with_gecos(NONASCII_GECOS));
    d.users
        .push(User::new(&long_name(), 20003, BULK_GID).with_gecos("Long Name"));
    d.users
        .push(User::new("orphan", 20004, 29999).with_gecos("Orphan Primary"));
    d.users
        .push(User::new("nogecos", 20005, BULK_GID).with_cn("No Gecos Person"));
    d
}

/// The rfc2307bis tree of spec 8.3 scenarios 3 and 4, plus a 3-level chain:
/// - user1..user3, memberless primary groups group1..group3 (2001-2003);
/// - empty_group1 2010, empty_group2 2011, two_user_group 2012 ∋ user1,user2,
///   group_empty_group 2013 ∋ empty_group1, group_two_empty_groups 2014 ∋ empty_group1,2,
///   one_user_group1 2015 ∋ user1, one_user_group2 2016 ∋ user2,
///   group_one_user_group 2017 ∋ one_user_group1, group_two_user_group 2018 ∋ two_user_group,
///   group_two_one_user_groups 2019 ∋ one_user_group1, one_user_group2;
/// - chain nest_l3 2023 ∋ nest_l2 2022 ∋ nest_l1 2021 ∋ user3;
/// - case_dn_group 2025 whose member DN is `uid=USER3,ou=People,...`.
pub fn rfc2307bis() -> Directory {
    let mut d = Directory::new(Schema::Rfc2307bis);
    spec_users(&mut d);
    let g = |n: &str, gid: u32, users: &[&str], groups: &[&str]| {
        Group::new(n, gid, users).with_groups(groups)
    };
    d.groups.extend([
        g("group1", 2001, &[], &[]),
        g("group2", 2002, &[], &[]),
        g("group3", 2003, &[], &[]),
        g("empty_group1", 2010, &[], &[]),
        g("empty_group2", 2011, &[], &[]),
        g("two_user_group", 2012, &["user1", "user2"], &[]),
        g("group_empty_group", 2013, &[], &["empty_group1"]),
        g(
            "group_two_empty_groups",
            2014,
            &[],
            &["empty_group1", "empty_group2"],
        ),
        g("one_user_group1", 2015, &["user1"], &[]),
        g("one_user_group2", 2016, &["user2"], &[]),
        g("group_one_user_group", 2017, &[], &["one_user_group1"]),
        g("group_two_user_group", 2018, &[], &["two_user_group"]),
        g(
            "group_two_one_user_groups",
            2019,
            &[],
            &["one_user_group1", "one_user_group2"],
        ),
        g("nest_l1", 2021, &["user3"], &[]),
        g("nest_l2", 2022, &[], &["nest_l1"]),
        g("nest_l3", 2023, &[], &["nest_l2"]),
        Group {
            name: "case_dn_group".into(),
            gid: 2025,
            members: vec![Member::UserUpperDn("user3".into())],
        },
    ]);
    d
}

/// The rfc2307bis tree for `ldap_group_nesting_level = 0` (spec 8.3 scenario 3):
/// user1 (1001/2001), primarygroup 2001, parentgroup 2010 ∋ user1,
/// nestedgroup 2011 ∋ parentgroup.
pub fn rfc2307bis_nesting0() -> Directory {
    let mut d = Directory::new(Schema::Rfc2307bis);
    d.users.push(User::new("user1", 1001, 2001));
    d.groups.extend([
        Group::new("primarygroup", 2001, &[]),
        Group::new("parentgroup", 2010, &["user1"]),
        Group::new("nestedgroup", 2011, &[]).with_groups(&["parentgroup"]),
    ]);
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2307_has_the_promised_shape() {
        let d = rfc2307();
        assert_eq!(d.users.len(), 3 + 5000 + 5);
        let all = d.group("allusers").unwrap();
        assert_eq!(all.members.len(), 5000);
        assert_eq!(d.user("user0001").unwrap().uid, 10001);
        assert_eq!(d.user("user5000").unwrap().home, "/home/user5000");
        assert_eq!(long_name().len(), 200);
        assert!(d.user(&long_name()).is_some());
        assert!(d.group_by_gid(29999).is_none());
        let many_groups = d
            .groups
            .iter()
            .filter(|g| g.members.contains(&Member::User("many".into())))
            .count();
        assert_eq!(many_groups, 200);
        // Unique names and ids.
        let mut uids: Vec<u32> = d.users.iter().map(|u| u.uid).collect();
        uids.sort_unstable();
        uids.dedup();
        assert_eq!(uids.len(), d.users.len());
        let mut gids: Vec<u32> = d.groups.iter().map(|g| g.gid).collect();
        gids.sort_unstable();
        gids.dedup();
        assert_eq!(gids.len(), d.groups.len());
    }

    #[test]
    fn ldif_is_deterministic_and_encodes_non_ascii() {
        let a = rfc2307_with_bulk(10).to_ldif();
        assert_eq!(a, rfc2307_with_bulk(10).to_ldif());
        assert!(a.contains("gecos:: "));
        assert!(!a.contains("Zoë"));
        assert!(a.contains("userPassword: Password1001\n"));
    }
}
