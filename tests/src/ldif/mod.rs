//! A small directory model (users, groups, memberships) and its LDIF form.
//!
//! The same model produces the LDIF that slapd loads and the lines that `getent`/`id` must
//! print (see [`crate::expected`]), so data and expectations cannot drift apart.

mod data;

use std::fmt::Write as _;

pub use data::{
    BULK_GID, BULK_USERS, LONG_NAME_LEN, MANY_GROUPS, NONASCII_GECOS, long_name, rfc2307,
    rfc2307_with_bulk, rfc2307bis, rfc2307bis_nesting0,
};

/// The base DN every generated tree uses.
pub const BASE_DN: &str = "dc=example,dc=com";

/// Which LDAP schema a tree follows (how group membership is stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// `memberUid: <login>` values on `posixGroup` entries.
    Rfc2307,
    /// `member: <DN>` values (users or other groups) on `posixGroup` + `extensibleObject`.
    Rfc2307bis,
}

impl Schema {
    /// The value of sssd.conf's `ldap_schema`.
    pub fn as_conf(self) -> &'static str {
        match self {
            Schema::Rfc2307 => "rfc2307",
            Schema::Rfc2307bis => "rfc2307bis",
        }
    }
}

/// A POSIX user entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Login name (`uid`).
    pub name: String,
    /// `uidNumber`.
    pub uid: u32,
    /// `gidNumber` (primary group; may name no group).
    pub gid: u32,
    /// `gecos`, if the entry has one.
    pub gecos: Option<String>,
    /// `cn` (what gecos falls back to).
    pub cn: String,
    /// `homeDirectory`.
    pub home: String,
    /// `loginShell`.
    pub shell: String,
    /// `userPassword`, stored in clear: `Password<uidNumber>`.
    pub password: String,
}

impl User {
    /// A user with the conventions of the test trees: home `/home/NAME`, shell `/bin/bash`,
    /// password `Password<uid>`, `cn` = the uid number, no gecos.
    pub fn new(name: &str, uid: u32, gid: u32) -> User {
        User {
            name: name.to_owned(),
            uid,
            gid,
            gecos: None,
            cn: uid.to_string(),
            home: format!("/home/{name}"),
            shell: "/bin/bash".to_owned(),
            password: format!("Password{uid}"),
        }
    }

    /// Sets gecos (and cn to the same text).
    pub fn with_gecos(mut self, gecos: &str) -> User {
        self.gecos = Some(gecos.to_owned());
        self.cn = gecos.to_owned();
        self
    }

    /// Sets cn only (the entry keeps no gecos).
    pub fn with_cn(mut self, cn: &str) -> User {
        self.cn = cn.to_owned();
        self
    }

    /// What the passwd gecos field shows: gecos, else cn.
    pub fn shown_gecos(&self) -> &str {
        self.gecos.as_deref().unwrap_or(&self.cn)
    }
}

/// One member value of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Member {
    /// A user, by login name.
    User(String),
    /// A user whose member DN is written in upper case (`uid=USER1,...`); rfc2307bis only.
    UserUpperDn(String),
    /// Another group, by name; rfc2307bis only.
    Group(String),
}

/// A POSIX group entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// `cn`.
    pub name: String,
    /// `gidNumber`.
    pub gid: u32,
    /// Direct members, in LDIF order.
    pub members: Vec<Member>,
}

impl Group {
    /// A group with direct user members.
    pub fn new(name: &str, gid: u32, users: &[&str]) -> Group {
        Group {
            name: name.to_owned(),
            gid,
            members: users
                .iter()
                .map(|u| Member::User((*u).to_owned()))
                .collect(),
        }
    }

    /// Adds nested group members.
    pub fn with_groups(mut self, groups: &[&str]) -> Group {
        self.members
            .extend(groups.iter().map(|g| Member::Group((*g).to_owned())));
        self
    }
}

/// A whole directory tree: base, `ou=People` and `ou=Groups`.
#[derive(Debug, Clone)]
pub struct Directory {
    /// Base DN.
    pub base: String,
    /// How memberships are stored.
    pub schema: Schema,
    /// Users in `ou=People`.
    pub users: Vec<User>,
    /// Groups in `ou=Groups`.
    pub groups: Vec<Group>,
}

impl Directory {
    /// An empty tree of the given schema under [`BASE_DN`].
    pub fn new(schema: Schema) -> Directory {
        Directory {
            base: BASE_DN.to_owned(),
            schema,
            users: Vec::new(),
            groups: Vec::new(),
        }
    }

    /// The user named `name`.
    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    /// The group named `name`.
    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// The group with gid `gid`.
    pub fn group_by_gid(&self, gid: u32) -> Option<&Group> {
        self.groups.iter().find(|g| g.gid == gid)
    }

    /// DN of a user entry.
    pub fn user_dn(&self, name: &str) -> String {
        format!("uid={name},ou=People,{}", self.base)
    }

    /// DN of a group entry.
    pub fn group_dn(&self, name: &str) -> String {
        format!("cn={name},ou=Groups,{}", self.base)
    }

    /// The admin (rootdn) of this tree.
    pub fn admin_dn(&self) -> String {
        format!("cn=admin,{}", self.base)
    }

    /// The complete tree as LDIF, ready for `slapadd`.
    pub fn to_ldif(&self) -> String {
        let mut out = String::with_capacity(300 * (self.users.len() + self.groups.len()) + 1024);
        let dc = self
            .base
            .split(',')
            .next()
            .and_then(|rdn| rdn.strip_prefix("dc="))
            .unwrap_or("example");
        write_entry(
            &mut out,
            &self.base,
            &[
                ("objectClass", "dcObject"),
                ("objectClass", "organization"),
                ("dc", dc),
                ("o", dc),
            ],
        );
        for ou in ["People", "Groups"] {
            write_entry(
                &mut out,
                &format!("ou={ou},{}", self.base),
                &[("objectClass", "organizationalUnit"), ("ou", ou)],
            );
        }
        for u in &self.users {
            out.push_str(&user_ldif(self, u));
        }
        for g in &self.groups {
            out.push_str(&group_ldif(self, g));
        }
        out
    }
}

/// LDIF for one user entry (also usable with `ldapadd`).
pub fn user_ldif(dir: &Directory, u: &User) -> String {
    let uid = u.uid.to_string();
    let gid = u.gid.to_string();
    let mut attrs = vec![
        ("objectClass", "top"),
        ("objectClass", "account"),
        ("objectClass", "posixAccount"),
        ("uid", u.name.as_str()),
        ("cn", u.cn.as_str()),
        ("uidNumber", uid.as_str()),
        ("gidNumber", gid.as_str()),
        ("homeDirectory", u.home.as_str()),
        ("loginShell", u.shell.as_str()),
        ("userPassword", u.password.as_str()),
    ];
    if let Some(g) = &u.gecos {
        attrs.push(("gecos", g.as_str()));
    }
    let mut out = String::new();
    write_entry(&mut out, &dir.user_dn(&u.name), &attrs);
    out
}

/// LDIF for one group entry (also usable with `ldapadd`).
pub fn group_ldif(dir: &Directory, g: &Group) -> String {
    let gid = g.gid.to_string();
    let values: Vec<(&str, String)> = g
        .members
        .iter()
        .map(|m| match (dir.schema, m) {
            (Schema::Rfc2307, Member::User(n) | Member::UserUpperDn(n)) => ("memberUid", n.clone()),
            (Schema::Rfc2307, Member::Group(n)) => ("memberUid", n.clone()),
            (Schema::Rfc2307bis, Member::User(n)) => ("member", dir.user_dn(n)),
            (Schema::Rfc2307bis, Member::UserUpperDn(n)) => (
                "member",
                format!("uid={},ou=People,{}", n.to_uppercase(), dir.base),
            ),
            (Schema::Rfc2307bis, Member::Group(n)) => ("member", dir.group_dn(n)),
        })
        .collect();
    let mut attrs = vec![("objectClass", "top"), ("objectClass", "posixGroup")];
    if dir.schema == Schema::Rfc2307bis {
        attrs.push(("objectClass", "extensibleObject"));
    }
    attrs.push(("cn", g.name.as_str()));
    attrs.push(("gidNumber", gid.as_str()));
    attrs.extend(values.iter().map(|(a, v)| (*a, v.as_str())));
    let mut out = String::new();
    write_entry(&mut out, &dir.group_dn(&g.name), &attrs);
    out
}

/// Appends one LDIF record (`dn:` line, attribute lines, blank line).
pub fn write_entry(out: &mut String, dn: &str, attrs: &[(&str, &str)]) {
    write_attr(out, "dn", dn);
    for (a, v) in attrs {
        write_attr(out, a, v);
    }
    out.push('\n');
}

/// Appends `attr: value`, or `attr:: base64` when RFC 2849 requires it.
pub fn write_attr(out: &mut String, attr: &str, value: &str) {
    if is_safe_string(value) {
        let _ = writeln!(out, "{attr}: {value}");
    } else {
        let _ = writeln!(out, "{attr}:: {}", base64(value.as_bytes()));
    }
}

/// RFC 2849 SAFE-STRING: ASCII without NUL/LF/CR, not starting with space, ':' or '<',
/// not ending with a space.
pub fn is_safe_string(v: &str) -> bool {
    let b = v.as_bytes();
    if let Some(&first) = b.first()
        && matches!(first, b' ' | b':' | b'<')
    {
        return false;
    }
    if b.last() == Some(&b' ') {
        return false;
    }
    b.iter()
        .all(|&c| c.is_ascii() && c != 0 && c != b'\n' && c != b'\r')
}

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk.len();
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= n {
                let idx = ((v >> (18 - 6 * i)) & 63) as usize;
                out.push(char::from(ALPHABET[idx]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn non_ascii_and_leading_space_are_base64() {
        let mut s = String::new();
        write_attr(&mut s, "gecos", "Zoë");
        assert_eq!(s, "gecos:: Wm/Dqw==\n");
        s.clear();
        write_attr(&mut s, "cn", " x");
        assert!(s.starts_with("cn:: "));
        s.clear();
        write_attr(&mut s, "cn", "plain text");
        assert_eq!(s, "cn: plain text\n");
    }

    #[test]
    fn rfc2307bis_members_are_dns() {
        let mut d = Directory::new(Schema::Rfc2307bis);
        d.users.push(User::new("user1", 1001, 2001));
        d.groups
            .push(Group::new("g", 5, &["user1"]).with_groups(&["h"]));
        d.groups.push(Group {
            name: "c".into(),
            gid: 6,
            members: vec![Member::UserUpperDn("user1".into())],
        });
        let l = d.to_ldif();
        assert!(l.contains("member: uid=user1,ou=People,dc=example,dc=com\n"));
        assert!(l.contains("member: cn=h,ou=Groups,dc=example,dc=com\n"));
        assert!(l.contains("member: uid=USER1,ou=People,dc=example,dc=com\n"));
        assert!(l.contains("objectClass: extensibleObject\n"));
    }
}
