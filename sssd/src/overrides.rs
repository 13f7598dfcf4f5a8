//! Local overrides of user and group attributes (`sss_override`), kept apart from the
//! domain caches in two files under `/var/lib/sss/db/` written in SSSD's own export
//! format (`sss_override user-export` / `group-export`):
//!
//! ```text
//! users:  name@domain:name:uid:gid:gecos:home:shell:base64cert
//! groups: name@domain:name:gid
//! ```
//!
//! The first field names the original object (its cache name and its domain); an empty
//! field means "not overridden" (SSSD writes uid or gid 0 as empty). `sss_override` is the
//! only writer (whole file to a temporary, then rename); the responders read through
//! [`OverrideStore`], which reloads a file when its stamp (inode, size, mtime) changes, so
//! a change is seen by the next lookup without a restart.

use crate::atomic_file::{AtomicWrite, write_atomically};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// One user override.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserOverride {
    /// The original user's cache name.
    pub orig: String,
    /// The domain of the original user.
    pub domain: String,
    /// New name.
    pub name: Option<String>,
    /// New uid (0: not overridden).
    pub uid: u32,
    /// New primary gid (0: not overridden).
    pub gid: u32,
    /// New gecos.
    pub gecos: Option<String>,
    /// New home directory.
    pub home: Option<String>,
    /// New shell.
    pub shell: Option<String>,
    /// Base64 certificate (kept and exported; not used by the responders).
    pub cert: Option<String>,
}

/// One group override.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupOverride {
    /// The original group's cache name.
    pub orig: String,
    /// The domain of the original group.
    pub domain: String,
    /// New name.
    pub name: Option<String>,
    /// New gid (0: not overridden).
    pub gid: u32,
}

/// A line that does not have the fields the format asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError(pub String);

/// A user line as read from an import file: the first field as typed (`name` or
/// `name@domain`), and the override.
pub type UserLine = (String, UserOverride);
/// A group line as read from an import file.
pub type GroupLine = (String, GroupOverride);

/// Splits a colon-separated line into exactly `n` fields (SSSD's colondb: empty = absent).
fn fields(line: &str, n: usize) -> Result<Vec<Option<&str>>, FormatError> {
    let line = line.strip_suffix('\n').unwrap_or(line);
    let parts: Vec<&str> = line.split(':').collect();
    if parts.len() < n {
        return Err(FormatError(
            "Line contains less values than expected!".into(),
        ));
    }
    if parts.len() > n {
        return Err(FormatError(
            "Line contains more values than expected!".into(),
        ));
    }
    Ok(parts
        .into_iter()
        .map(|p| (!p.is_empty()).then_some(p))
        .collect())
}

/// A number field as SSSD reads it: empty or not a number gives 0.
fn number(f: Option<&str>) -> u32 {
    f.and_then(|s| s.parse().ok()).unwrap_or(0)
}

fn owned(f: Option<&str>) -> Option<String> {
    f.map(str::to_string)
}

/// Parses one user line (`input:name:uid:gid:gecos:home:shell:cert`).
pub fn parse_user_line(line: &str) -> Result<UserLine, FormatError> {
    let f = fields(line, 8)?;
    let input = f[0].ok_or_else(|| FormatError("the name is empty".into()))?;
    Ok((
        input.to_string(),
        UserOverride {
            name: owned(f[1]),
            uid: number(f[2]),
            gid: number(f[3]),
            gecos: owned(f[4]),
            home: owned(f[5]),
            shell: owned(f[6]),
            cert: owned(f[7]),
            ..UserOverride::default()
        },
    ))
}

/// Parses one group line (`input:name:gid`).
pub fn parse_group_line(line: &str) -> Result<GroupLine, FormatError> {
    let f = fields(line, 3)?;
    let input = f[0].ok_or_else(|| FormatError("the name is empty".into()))?;
    Ok((
        input.to_string(),
        GroupOverride {
            name: owned(f[1]),
            gid: number(f[2]),
            ..GroupOverride::default()
        },
    ))
}

fn num_field(n: u32) -> String {
    if n == 0 { String::new() } else { n.to_string() }
}

impl UserOverride {
    /// The export line (with its newline), first field `orig@domain`.
    pub fn line(&self) -> String {
        let s = |o: &Option<String>| o.clone().unwrap_or_default();
        format!(
            "{}@{}:{}:{}:{}:{}:{}:{}:{}\n",
            self.orig,
            self.domain,
            s(&self.name),
            num_field(self.uid),
            num_field(self.gid),
            s(&self.gecos),
            s(&self.home),
            s(&self.shell),
            s(&self.cert)
        )
    }
}

impl GroupOverride {
    /// The export line (with its newline), first field `orig@domain`.
    pub fn line(&self) -> String {
        format!(
            "{}@{}:{}:{}\n",
            self.orig,
            self.domain,
            self.name.clone().unwrap_or_default(),
            num_field(self.gid)
        )
    }
}

/// Splits a stored first field `orig@domain` at its last `@`.
fn split_stored(input: &str) -> Option<(String, String)> {
    let (n, d) = input.rsplit_once('@')?;
    (!n.is_empty() && !d.is_empty()).then(|| (n.to_string(), d.to_string()))
}

/// Every override.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OverrideSet {
    /// User overrides, in the order they were added.
    pub users: Vec<UserOverride>,
    /// Group overrides, in the order they were added.
    pub groups: Vec<GroupOverride>,
}

impl OverrideSet {
    /// Whether there is no override at all.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.groups.is_empty()
    }

    /// Reads the store of `paths` (missing files are empty; malformed lines are skipped).
    pub fn load(paths: &crate::paths::Paths) -> std::io::Result<OverrideSet> {
        Ok(OverrideSet {
            users: read_users(&paths.user_overrides())?,
            groups: read_groups(&paths.group_overrides())?,
        })
    }

    /// Writes the store of `paths` (each file replaced atomically, mode 0600, owned by
    /// the owner of the cache directory so that responders running as that user read it).
    pub fn save(&self, paths: &crate::paths::Paths) -> std::io::Result<()> {
        let users: String = self.users.iter().map(UserOverride::line).collect();
        let groups: String = self.groups.iter().map(GroupOverride::line).collect();
        write_atomic(&paths.user_overrides(), users.as_bytes())?;
        write_atomic(&paths.group_overrides(), groups.as_bytes())
    }

    /// Adds or replaces (as SSSD: the whole override) the override of `o.orig` in
    /// `o.domain`.
    pub fn put_user(&mut self, o: UserOverride) {
        match self
            .users
            .iter_mut()
            .find(|u| u.orig == o.orig && u.domain.eq_ignore_ascii_case(&o.domain))
        {
            Some(u) => *u = o,
            None => self.users.push(o),
        }
    }

    /// Adds or replaces the override of group `o.orig` in `o.domain`.
    pub fn put_group(&mut self, o: GroupOverride) {
        match self
            .groups
            .iter_mut()
            .find(|g| g.orig == o.orig && g.domain.eq_ignore_ascii_case(&o.domain))
        {
            Some(g) => *g = o,
            None => self.groups.push(o),
        }
    }
}

fn read_lines(path: &Path) -> std::io::Result<Vec<String>> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(s.lines().map(str::to_string).collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Where a stored override names its object: the original name and the domain.
trait Stored {
    fn place(&mut self, orig: String, domain: String);
}

impl Stored for UserOverride {
    fn place(&mut self, orig: String, domain: String) {
        self.orig = orig;
        self.domain = domain;
    }
}

impl Stored for GroupOverride {
    fn place(&mut self, orig: String, domain: String) {
        self.orig = orig;
        self.domain = domain;
    }
}

/// The overrides stored in `path`, read with `parse` (a line: `name@domain` and the
/// override); lines that cannot be read are logged and skipped.
fn read_stored<T: Stored>(
    path: &Path,
    parse: fn(&str) -> Result<(String, T), FormatError>,
) -> std::io::Result<Vec<T>> {
    let mut out = Vec::new();
    for l in read_lines(path)? {
        match parse(&l) {
            Ok((input, mut o)) => match split_stored(&input) {
                Some((n, d)) => {
                    o.place(n, d);
                    out.push(o);
                }
                None => tracing::warn!("{}: no domain in {input:?}", path.display()),
            },
            Err(FormatError(m)) => tracing::warn!("{}: {m}", path.display()),
        }
    }
    Ok(out)
}

fn read_users(path: &Path) -> std::io::Result<Vec<UserOverride>> {
    read_stored(path, parse_user_line)
}

fn read_groups(path: &Path) -> std::io::Result<Vec<GroupOverride>> {
    read_stored(path, parse_group_line)
}

/// Replaces `path` with `data` (0600, owned like its directory).
fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    const PRIVATE: AtomicWrite = AtomicWrite {
        mode: 0o600,
        create_dir: None,
        owner_of_dir: true,
    };
    Ok(write_atomically(path, data, &PRIVATE)?)
}

/// What identifies one version of a file.
type Stamp = Option<(u64, u64, i64, i64)>;

fn stamp(path: &Path) -> Stamp {
    std::fs::metadata(path)
        .ok()
        .map(|m| (m.ino(), m.size(), m.mtime(), m.mtime_nsec()))
}

/// The responders' view of the store: the overrides as last read, reread when a file
/// changed (one `stat` per file and call).
pub struct OverrideStore {
    users: PathBuf,
    groups: PathBuf,
    state: Mutex<(Stamp, Stamp, Arc<OverrideSet>)>,
    generation: AtomicU64,
}

impl OverrideStore {
    /// The store of `paths` (nothing is read until [`OverrideStore::current`]).
    pub fn new(paths: &crate::paths::Paths) -> OverrideStore {
        OverrideStore {
            users: paths.user_overrides(),
            groups: paths.group_overrides(),
            state: Mutex::new((None, None, Arc::new(OverrideSet::default()))),
            generation: AtomicU64::new(0),
        }
    }

    /// A number that changes whenever the overrides are reread (checks the files first).
    pub fn generation(&self) -> u64 {
        let _ = self.current();
        self.generation.load(Ordering::Relaxed)
    }

    /// The current overrides.
    pub fn current(&self) -> Arc<OverrideSet> {
        let (su, sg) = (stamp(&self.users), stamp(&self.groups));
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if st.0 != su || st.1 != sg {
            let users = read_users(&self.users).unwrap_or_else(|e| {
                tracing::warn!("{}: {e}", self.users.display());
                Vec::new()
            });
            let groups = read_groups(&self.groups).unwrap_or_else(|e| {
                tracing::warn!("{}: {e}", self.groups.display());
                Vec::new()
            });
            tracing::info!(
                "local overrides: {} user(s), {} group(s)",
                users.len(),
                groups.len()
            );
            *st = (su, sg, Arc::new(OverrideSet { users, groups }));
            self.generation.fetch_add(1, Ordering::Relaxed);
        }
        st.2.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_lines_round_trip_in_sssd_format() {
        let (input, o) = parse_user_line("user1@LDAP:newname:5000::Gecos:/h:/bin/sh:\n").unwrap();
        assert_eq!(input, "user1@LDAP");
        assert_eq!(o.name.as_deref(), Some("newname"));
        assert_eq!((o.uid, o.gid), (5000, 0));
        assert_eq!(o.cert, None);
        let o = UserOverride {
            orig: "user1".into(),
            domain: "LDAP".into(),
            ..o
        };
        assert_eq!(o.line(), "user1@LDAP:newname:5000::Gecos:/h:/bin/sh:\n");
        assert!(parse_user_line("a:b:c").is_err());
        assert!(parse_user_line("a:b:1:2:g:h:s:c:extra").is_err());
        assert!(parse_user_line("").is_err());
    }

    #[test]
    fn group_lines_and_store_round_trip() {
        let (input, g) = parse_group_line("grp@d:new:7000").unwrap();
        assert_eq!(input, "grp@d");
        assert_eq!(g.gid, 7000);
        let dir = tempfile::tempdir().unwrap();
        let paths = crate::paths::Paths::under(dir.path());
        std::fs::create_dir_all(&paths.db).unwrap();
        let store = OverrideStore::new(&paths);
        assert!(store.current().is_empty());
        let mut set = OverrideSet::default();
        set.put_group(GroupOverride {
            orig: "grp".into(),
            domain: "d".into(),
            ..g.clone()
        });
        set.put_user(UserOverride {
            orig: "u".into(),
            domain: "d".into(),
            uid: 1,
            ..UserOverride::default()
        });
        set.put_user(UserOverride {
            orig: "u".into(),
            domain: "d".into(),
            uid: 2,
            ..UserOverride::default()
        });
        set.save(&paths).unwrap();
        assert_eq!(set.users.len(), 1);
        assert_eq!(OverrideSet::load(&paths).unwrap(), set);
        let g = store.generation();
        assert_eq!(*store.current(), set);
        assert_eq!(store.generation(), g);
        std::fs::remove_file(paths.user_overrides()).unwrap();
        assert!(store.generation() > g);
        assert_eq!(store.current().users.len(), 0);
        set.save(&paths).unwrap();
        let mode = std::fs::metadata(paths.user_overrides()).unwrap().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
