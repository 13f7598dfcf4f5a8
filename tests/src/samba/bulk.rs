//! Bulk directory shapes for the Samba DC, as LDIF for [`SambaDc::load_ldif`]: thousands of
//! objects in seconds (samba-tool costs ~0.5 s and LDAP adds ~40 ms per object).
//!
//! The entries carry only what an AD administration tool would set by hand: `objectClass`,
//! `sAMAccountName`, a `userPrincipalName`, RFC 2307 `uidNumber`/`gidNumber`, and for users
//! with a password `unicodePwd` plus `userAccountControl: 512` (a normal enabled account).
//! Samba's own modules fill in the rest while ldbadd adds them, as for any other add:
//! `objectSid` (domain SID + next RID), `primaryGroupID: 513` (Domain Users), the Kerberos
//! keys derived from `unicodePwd`, and the `memberOf` back-links.
//!
//! The two shapes of the AD performance issue:
//! - [`BigGroup`]: one group with `count` user members `<prefix>0000`, `<prefix>0001`, ...
//!   (`getent group` of a 3,000-member group);
//! - [`NestedGroups`]: one user in `groups` groups, a direct member of the first `direct`
//!   ones and an indirect member of the rest through chains of nested groups
//!   (`id` of a user in 150 groups).
//!
//! ```no_run
//! # fn main() -> sssd_tests::Result<()> {
//! use sssd_tests::samba::SambaDc;
//! use sssd_tests::samba::bulk::{BigGroup, NestedGroups, PASSWORD};
//! let dc = SambaDc::new()?;
//! let big = BigGroup::new("biggroup", 3000);
//! dc.load_ldif(&big.ldif())?; // bulk0000 .. bulk2999, all members of biggroup
//! let nested = NestedGroups::new("nesteduser", 150);
//! dc.load_ldif(&nested.ldif())?; // nesteduser in ng000 .. ng149, depth 3
//! dc.check_users(&["bulk0000", "nesteduser"], Some(PASSWORD))?; // objectSids, kinit works
//! # Ok(())
//! # }
//! ```

use std::fmt::Write as _;

use super::{BASE_DN, DNS_DOMAIN, SambaDc};
use crate::error::{HarnessError, Result};
use crate::proc;

/// The password [`BigGroup::new`] and [`NestedGroups::new`] give their users.
pub const PASSWORD: &str = "Bulk123!pw";

/// The DN of user or group `name` in the `CN=Users` container.
pub fn users_dn(name: &str) -> String {
    format!("CN={name},CN=Users,{BASE_DN}")
}

/// AD's `unicodePwd` value for `password`: UTF-16LE of the password in double quotes,
/// base64 as LDIF's `unicodePwd:: ` wants it.
pub fn unicode_pwd(password: &str) -> String {
    let quoted = format!("\"{password}\"");
    let bytes: Vec<u8> = quoted.encode_utf16().flat_map(u16::to_le_bytes).collect();
    crate::ldif::base64(&bytes)
}

/// One user entry (ending in a blank line). Without a password Samba creates the account
/// disabled (no keys), as it does for any user added without one.
pub fn user_entry(name: &str, password: Option<&str>, uid: u32, gid: u32) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "dn: {}", users_dn(name));
    let _ = writeln!(s, "objectClass: user");
    let _ = writeln!(s, "sAMAccountName: {name}");
    let _ = writeln!(s, "userPrincipalName: {name}@{DNS_DOMAIN}");
    let _ = writeln!(s, "uidNumber: {uid}");
    let _ = writeln!(s, "gidNumber: {gid}");
    let _ = writeln!(s, "loginShell: /bin/bash");
    let _ = writeln!(s, "unixHomeDirectory: /home/{name}");
    if let Some(pw) = password {
        let _ = writeln!(s, "unicodePwd:: {}", unicode_pwd(pw));
        let _ = writeln!(s, "userAccountControl: 512");
    }
    s.push('\n');
    s
}

/// One global security group entry with `members` (DNs that must already exist), ending
/// in a blank line.
pub fn group_entry(name: &str, gid: u32, members: &[String]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "dn: {}", users_dn(name));
    let _ = writeln!(s, "objectClass: group");
    let _ = writeln!(s, "sAMAccountName: {name}");
    let _ = writeln!(s, "gidNumber: {gid}");
    for m in members {
        let _ = writeln!(s, "member: {m}");
    }
    s.push('\n');
    s
}

/// A group of `count` users named `<user_prefix>NNNN` (four digits from 0000).
#[derive(Clone, Debug)]
pub struct BigGroup {
    /// The group's name.
    pub group: String,
    /// The group's RFC 2307 gidNumber (also the users' gidNumber).
    pub gid: u32,
    /// The members' name prefix.
    pub user_prefix: String,
    /// How many members.
    pub count: u32,
    /// uidNumber of the first member; the others follow.
    pub first_uid: u32,
    /// The password of the first [`BigGroup::passwords`] members; the others have none and
    /// so are disabled accounts (NSS lookups do not mind). Samba derives Kerberos keys for
    /// every password, ~30 ms each: 3,000 users with passwords take ~100 s, without ~3 s.
    pub password: Option<String>,
    /// How many members (from the first) get [`BigGroup::password`].
    pub passwords: u32,
}

impl BigGroup {
    /// `group` with `count` members `bulk0000`.. (uids from 40000, gid 39999), the first
    /// ten with password [`PASSWORD`] (set [`BigGroup::passwords`] for more).
    pub fn new(group: &str, count: u32) -> BigGroup {
        BigGroup {
            group: group.to_string(),
            gid: 39999,
            user_prefix: "bulk".to_string(),
            count,
            first_uid: 40000,
            password: Some(PASSWORD.to_string()),
            passwords: 10,
        }
    }

    /// The members' names, in order.
    pub fn member_names(&self) -> Vec<String> {
        (0..self.count)
            .map(|i| format!("{}{i:04}", self.user_prefix))
            .collect()
    }

    /// The LDIF: the users first, then the group naming them all as members.
    pub fn ldif(&self) -> String {
        let names = self.member_names();
        let mut s = String::with_capacity(names.len() * 400);
        for (i, n) in names.iter().enumerate() {
            let password = if (i as u32) < self.passwords {
                self.password.as_deref()
            } else {
                None
            };
            s.push_str(&user_entry(
                n,
                password,
                self.first_uid + i as u32,
                self.gid,
            ));
        }
        let dns: Vec<String> = names.iter().map(|n| users_dn(n)).collect();
        s.push_str(&group_entry(&self.group, self.gid, &dns));
        s
    }
}

/// One user in `groups` groups `<group_prefix>NNN`: a direct member of the first `direct`
/// ones; group `i >= direct` has group `i - direct` as its member, so the user reaches it
/// through a chain of `i / direct` nested groups (with 150 groups and 50 direct ones:
/// three levels, depth 2 below the direct groups).
#[derive(Clone, Debug)]
pub struct NestedGroups {
    /// The user's name.
    pub user: String,
    /// The user's uidNumber.
    pub uid: u32,
    /// The user's password.
    pub password: Option<String>,
    /// The groups' name prefix.
    pub group_prefix: String,
    /// How many groups in all.
    pub groups: u32,
    /// How many of them the user is a direct member of (at least 1).
    pub direct: u32,
    /// gidNumber of the first group; the others follow.
    pub first_gid: u32,
}

impl NestedGroups {
    /// `user` (uid 38000, password [`PASSWORD`]) in `groups` groups `ng000`.. (gids from
    /// 38001), a direct member of a third of them.
    pub fn new(user: &str, groups: u32) -> NestedGroups {
        NestedGroups {
            user: user.to_string(),
            uid: 38000,
            password: Some(PASSWORD.to_string()),
            group_prefix: "ng".to_string(),
            groups,
            direct: (groups / 3).max(1),
            first_gid: 38001,
        }
    }

    /// The groups' names, in order.
    pub fn group_names(&self) -> Vec<String> {
        (0..self.groups)
            .map(|i| format!("{}{i:03}", self.group_prefix))
            .collect()
    }

    /// How many groups deep the deepest membership is (1: all direct).
    pub fn depth(&self) -> u32 {
        let direct = self.direct.max(1);
        self.groups.div_ceil(direct)
    }

    /// The LDIF: the user, then the groups in an order where every member exists already.
    pub fn ldif(&self) -> String {
        let direct = self.direct.max(1);
        let names = self.group_names();
        let mut s = user_entry(
            &self.user,
            self.password.as_deref(),
            self.uid,
            self.first_gid,
        );
        for (i, n) in names.iter().enumerate() {
            let member = match i.checked_sub(direct as usize) {
                None => users_dn(&self.user),
                Some(inner) => users_dn(&names[inner]),
            };
            s.push_str(&group_entry(n, self.first_gid + i as u32, &[member]));
        }
        s
    }
}

/// The 3,000-member group of the AD performance issue (`biggroup`, `bulk0000`..`bulk2999`).
pub fn big_group_ldif() -> String {
    BigGroup::new("biggroup", 3000).ldif()
}

/// The issue's user in 150 nested groups (`nesteduser` in `ng000`..`ng149`).
pub fn nested_groups_ldif() -> String {
    NestedGroups::new("nesteduser", 150).ldif()
}

impl SambaDc {
    /// Checks that `users` (added by [`SambaDc::load_ldif`] or otherwise) have an
    /// `objectSid` in the directory (asked over LDAP as Administrator) and, given their
    /// `password`, get a TGT with `kinit`.
    pub fn check_users(&self, users: &[&str], password: Option<&str>) -> Result<()> {
        for u in users {
            let out = self.run(&[
                "ldapsearch",
                "-x",
                "-LLL",
                "-H",
                &self.ldap_uri(),
                "-D",
                &format!("Administrator@{}", super::REALM),
                "-w",
                super::ADMIN_PASSWORD,
                "-b",
                BASE_DN,
                &format!("(sAMAccountName={u})"),
                "objectSid",
            ])?;
            if !out.success() || !out.stdout.contains("objectSid:: ") {
                return Err(HarnessError::Setup(format!(
                    "{u} has no objectSid: {out:?}"
                )));
            }
            let Some(password) = password else {
                continue;
            };
            let ccache = self.dir().join(format!("ccache-check-{u}"));
            let out = proc::run(
                self.command(&["kinit", "-c", &ccache.display().to_string(), u])
                    .env("KRB5_CONFIG", self.krb5_conf()),
                Some(format!("{password}\n").as_bytes()),
                proc::COMMAND_TIMEOUT,
            )?;
            let _ = std::fs::remove_file(&ccache);
            if !out.success() {
                return Err(HarnessError::Setup(format!("kinit {u} failed: {out:?}")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unicode_pwd_is_quoted_utf16le() {
        // "\"a\"" = 22 00 61 00 22 00
        assert_eq!(unicode_pwd("a"), crate::ldif::base64(b"\"\0a\0\"\0"));
    }

    #[test]
    fn big_group_lists_every_member_after_the_users() {
        let mut g = BigGroup::new("g", 3);
        g.passwords = 2;
        let l = g.ldif();
        assert_eq!(g.member_names(), ["bulk0000", "bulk0001", "bulk0002"]);
        assert_eq!(l.matches("objectClass: user").count(), 3);
        assert_eq!(l.matches("\nmember: ").count(), 3);
        assert!(l.find("dn: CN=g,").unwrap() > l.find("dn: CN=bulk0002,").unwrap());
        assert_eq!(l.matches("userAccountControl: 512").count(), 2);
        assert_eq!(l.matches("unicodePwd:: ").count(), 2);
    }

    #[test]
    fn nested_groups_chain_below_the_direct_ones() {
        let n = NestedGroups::new("u", 150);
        assert_eq!(n.direct, 50);
        assert_eq!(n.depth(), 3);
        let l = n.ldif();
        assert_eq!(l.matches("objectClass: group").count(), 150);
        // ng000 holds the user; ng050 holds ng000; ng100 holds ng050.
        assert!(l.contains(&format!(
            "dn: {}\nobjectClass: group\nsAMAccountName: ng000\ngidNumber: 38001\nmember: {}\n",
            users_dn("ng000"),
            users_dn("u")
        )));
        assert!(l.contains(&format!(
            "sAMAccountName: ng050\ngidNumber: 38051\nmember: {}\n",
            users_dn("ng000")
        )));
        assert!(l.contains(&format!(
            "sAMAccountName: ng149\ngidNumber: 38150\nmember: {}\n",
            users_dn("ng099")
        )));
        // Every member is defined before the group naming it.
        for i in 50..150 {
            let g = l
                .find(&format!("dn: {}", users_dn(&format!("ng{i:03}"))))
                .unwrap();
            let m = l
                .find(&format!("dn: {}", users_dn(&format!("ng{:03}", i - 50))))
                .unwrap();
            assert!(m < g);
        }
    }
}
