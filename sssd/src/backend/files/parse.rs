//! Parsing passwd(5) and group(5) text. A line that is not a valid entry is skipped and
//! reported as a [`BadLine`] naming the file and line; nothing here panics on input.

use crate::model::{Group, User};
use std::fmt;
use std::path::{Path, PathBuf};

/// A skipped line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// The file.
    pub file: PathBuf,
    /// Its 1-based line number.
    pub line: usize,
    /// Why it was skipped.
    pub reason: String,
}

impl fmt::Display for BadLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: line skipped: {}",
            self.file.display(),
            self.line,
            self.reason
        )
    }
}

/// The entries of one file and the lines skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed<T> {
    /// The entries, in file order.
    pub entries: Vec<T>,
    /// The lines that were not entries.
    pub bad: Vec<BadLine>,
}

impl<T> Default for Parsed<T> {
    fn default() -> Self {
        Parsed {
            entries: Vec::new(),
            bad: Vec::new(),
        }
    }
}

/// The lines worth parsing: (1-based number, text) without blank lines and `#` comments.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| {
            let t = l.trim_start();
            !t.is_empty() && !t.starts_with('#')
        })
}

/// An id field: a decimal number that fits in 32 bits (not the "-1" of no id).
fn id(field: &str, what: &str) -> Result<u32, String> {
    let v: u32 = field
        .parse()
        .map_err(|_| format!("{what} {field:?} is not a number"))?;
    if v == u32::MAX {
        return Err(format!("{what} {field:?} is not a valid id"));
    }
    Ok(v)
}

/// A name field: not empty, and not a NIS compat entry (`+name`, `-name`).
fn name(field: &str) -> Result<&str, String> {
    if field.is_empty() {
        return Err("the name is empty".into());
    }
    if field.starts_with('+') || field.starts_with('-') {
        return Err(format!("{field:?} is a NIS compat entry, not supported"));
    }
    if field.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("the name {field:?} contains white space"));
    }
    Ok(field)
}

fn passwd_line(line: &str) -> Result<User, String> {
    let f: Vec<&str> = line.split(':').collect();
    if f.len() != 7 {
        return Err(format!("{} fields instead of 7", f.len()));
    }
    Ok(User {
        name: name(f[0])?.to_string(),
        uid: id(f[2], "uid")?,
        gid: id(f[3], "gid")?,
        gecos: f[4].to_string(),
        home: f[5].to_string(),
        shell: f[6].to_string(),
        ..User::default()
    })
}

fn group_line(line: &str) -> Result<Group, String> {
    let f: Vec<&str> = line.split(':').collect();
    if f.len() != 4 {
        return Err(format!("{} fields instead of 4", f.len()));
    }
    let mut members: Vec<String> = Vec::new();
    for m in f[3].split(',').map(str::trim).filter(|m| !m.is_empty()) {
        if !members.iter().any(|x| x == m) {
            members.push(m.to_string());
        }
    }
    Ok(Group {
        name: name(f[0])?.to_string(),
        gid: id(f[2], "gid")?,
        members,
        ..Group::default()
    })
}

fn parse<T>(text: &str, file: &Path, one: fn(&str) -> Result<T, String>) -> Parsed<T> {
    let mut out = Parsed::default();
    for (n, l) in lines(text) {
        match one(l) {
            Ok(e) => out.entries.push(e),
            Err(reason) => out.bad.push(BadLine {
                file: file.to_path_buf(),
                line: n,
                reason,
            }),
        }
    }
    out
}

/// The users of passwd(5) `text`, read from `file` (named in the bad lines).
pub fn passwd(text: &str, file: &Path) -> Parsed<User> {
    parse(text, file, passwd_line)
}

/// The groups of group(5) `text`, read from `file`.
pub fn group(text: &str, file: &Path) -> Parsed<Group> {
    parse(text, file, group_line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_entries_and_bad_lines() {
        let text = "# comment\n\nalice:x:1000:1000:Alice A,,,:/home/alice:/bin/bash\n\
            bob:*:1001:1001::/home/bob:\nbroken:x:12\nnum:x:abc:1:::\n+nis::::::\n\
            carol:x:1002:1002:::/bin/sh\r\n:x:5:5:::\nneg:x:-1:3:::\n";
        let p = passwd(text, Path::new("/t/passwd"));
        let names: Vec<&str> = p.entries.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["alice", "bob", "carol"]);
        assert_eq!(p.entries[0].gecos, "Alice A,,,");
        assert_eq!(p.entries[0].home, "/home/alice");
        assert_eq!(p.entries[0].shell, "/bin/bash");
        assert_eq!((p.entries[1].uid, p.entries[1].gid), (1001, 1001));
        assert_eq!(p.entries[1].shell, "");
        assert_eq!(p.entries[2].shell, "/bin/sh");
        let lines: Vec<usize> = p.bad.iter().map(|b| b.line).collect();
        assert_eq!(lines, [5, 6, 7, 9, 10]);
        let shown = p.bad[0].to_string();
        assert!(
            shown.starts_with("/t/passwd:5: line skipped: 3 fields"),
            "{shown}"
        );
        assert!(p.bad[1].reason.contains("uid \"abc\""), "{:?}", p.bad[1]);
        assert!(p.bad[2].reason.contains("NIS"), "{:?}", p.bad[2]);
    }

    #[test]
    fn group_members_are_split_and_deduplicated() {
        let text = "staff:x:50:alice,bob, alice,,\nempty:x:51:\nbad:x:52\nbig:x:4294967296:\n";
        let p = group(text, Path::new("/t/group"));
        assert_eq!(p.entries.len(), 2);
        assert_eq!(p.entries[0].members, ["alice", "bob"]);
        assert!(p.entries[1].members.is_empty());
        assert_eq!(p.bad.len(), 2);
        assert_eq!(p.bad[0].line, 3);
        assert_eq!(p.bad[1].line, 4);
    }

    #[test]
    fn garbage_never_panics() {
        for text in [
            "::::::::",
            ":::",
            "\u{0}:\u{0}",
            "a:b:c:d:e:f:g:h",
            "ä:x:1:1:::",
        ] {
            let _ = passwd(text, Path::new("p"));
            let _ = group(text, Path::new("g"));
        }
    }
}
