//! Where the ccache goes: parsing `FILE:`/`DIR:` names, making a trailing `XXXXXX`
//! unique, creating missing directories, and becoming the user before any of it.

use std::ffi::CString;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// Why the ccache location could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum CcacheError {
    /// The name is not usable.
    #[error("bad ccache name {0:?}: {1}")]
    BadName(String, &'static str),
    /// A file system operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// The operation.
        what: &'static str,
        /// The path.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// Privileges could not be dropped.
    #[error("cannot become uid {uid} gid {gid}: {source}")]
    Drop {
        /// Target uid.
        uid: u32,
        /// Target gid.
        gid: u32,
        /// The error.
        source: std::io::Error,
    },
}

/// A parsed ccache name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CcName {
    /// `FILE:path` (or a plain absolute path).
    File(PathBuf),
    /// `DIR:path` (a collection directory).
    Dir(PathBuf),
    /// Any other type (`KEYRING:`, `KCM:`, ...), passed to libkrb5 as is.
    Other(String),
}

impl CcName {
    /// Parses `name`.
    pub fn parse(name: &str) -> Result<CcName, CcacheError> {
        let bad = |why| CcacheError::BadName(name.to_string(), why);
        let (kind, path) = if let Some(p) = name.strip_prefix("FILE:") {
            ("FILE", p)
        } else if let Some(p) = name.strip_prefix("DIR:") {
            ("DIR", p)
        } else if name.starts_with('/') {
            ("FILE", name)
        } else if name.contains(':') {
            return Ok(CcName::Other(name.to_string()));
        } else {
            return Err(bad("not an absolute path and no type prefix"));
        };
        if !path.starts_with('/') {
            return Err(bad("the path must be absolute"));
        }
        if path.split('/').any(|c| c == "..") {
            return Err(bad("the path must not contain .."));
        }
        let p = PathBuf::from(path);
        Ok(if kind == "DIR" {
            CcName::Dir(p)
        } else {
            CcName::File(p)
        })
    }
}

/// Becomes `uid`/`gid` for good (no supplementary groups), then keeps no capability.
/// Works as root and as the daemon's unprivileged user when this program has the file
/// capabilities `cap_setuid,cap_setgid` (install.sh `--user`); a process already running
/// as `uid` without them only drops what it holds.
pub fn become_user(uid: u32, gid: u32) -> Result<(), CcacheError> {
    let err = |source| CcacheError::Drop { uid, gid, source };
    // SAFETY: plain syscalls without pointers except setgroups' NULL with count 0.
    unsafe {
        let already = libc::getuid() == uid && libc::geteuid() == uid;
        if !already
            && (libc::setgroups(0, std::ptr::null()) != 0
                || libc::setresgid(gid, gid, gid) != 0
                || libc::setresuid(uid, uid, uid) != 0)
        {
            return Err(err(std::io::Error::last_os_error()));
        }
    }
    // From uid 0 the kernel empties the sets itself; from the daemon's user (file
    // capabilities) they survive the change and must go.
    crate::caps::drop_all().map_err(err)?;
    // SAFETY: as above.
    unsafe {
        if uid != 0 && (libc::setuid(0) == 0 || libc::geteuid() != uid) {
            return Err(err(std::io::Error::from_raw_os_error(libc::EPERM)));
        }
    }
    Ok(())
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> CcacheError {
    let path = path.display().to_string();
    move |source| CcacheError::Io { what, path, source }
}

/// Creates the missing directories of `dir` with mode 0700 (as the current user).
pub fn create_dirs(dir: &Path) -> Result<(), CcacheError> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io("create directory", dir))
}

fn unique(path: &Path, dir: bool) -> Result<PathBuf, CcacheError> {
    let c = CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| CcacheError::BadName(path.display().to_string(), "contains NUL"))?;
    let mut bytes = c.into_bytes_with_nul();
    // SAFETY: NUL-terminated writable template ending in XXXXXX.
    let ok = unsafe {
        if dir {
            !libc::mkdtemp(bytes.as_mut_ptr().cast()).is_null()
        } else {
            let fd = libc::mkstemp(bytes.as_mut_ptr().cast());
            fd >= 0 && libc::close(fd) == 0
        }
    };
    if !ok {
        return Err(io("create unique", path)(std::io::Error::last_os_error()));
    }
    bytes.pop();
    Ok(PathBuf::from(String::from_utf8_lossy(&bytes).into_owned()))
}

/// Prepares the ccache location (as the current user) and returns the libkrb5 name.
pub fn prepare(name: &CcName) -> Result<String, CcacheError> {
    match name {
        CcName::Other(s) => Ok(s.clone()),
        CcName::File(p) => {
            if let Some(parent) = p.parent() {
                create_dirs(parent)?;
            }
            let p = if p.as_os_str().as_encoded_bytes().ends_with(b"XXXXXX") {
                unique(p, false)?
            } else {
                p.clone()
            };
            Ok(format!("FILE:{}", p.display()))
        }
        CcName::Dir(p) => {
            let p = if p.as_os_str().as_encoded_bytes().ends_with(b"XXXXXX") {
                if let Some(parent) = p.parent() {
                    create_dirs(parent)?;
                }
                unique(p, true)?
            } else {
                create_dirs(p)?;
                p.clone()
            };
            Ok(format!("DIR:{}", p.display()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse() {
        assert_eq!(
            CcName::parse("FILE:/tmp/a").ok(),
            Some(CcName::File("/tmp/a".into()))
        );
        assert_eq!(
            CcName::parse("/tmp/a").ok(),
            Some(CcName::File("/tmp/a".into()))
        );
        assert_eq!(
            CcName::parse("DIR:/run/u").ok(),
            Some(CcName::Dir("/run/u".into()))
        );
        assert_eq!(
            CcName::parse("KEYRING:persistent:1").ok(),
            Some(CcName::Other("KEYRING:persistent:1".into()))
        );
        assert!(CcName::parse("FILE:rel").is_err());
        assert!(CcName::parse("rel").is_err());
        assert!(CcName::parse("FILE:/tmp/../etc/x").is_err());
    }

    #[test]
    fn unique_file_and_dirs_are_created() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let name = CcName::File(d.path().join("sub/krb5cc_1_XXXXXX"));
        let got = prepare(&name).unwrap_or_else(|e| panic!("{e}"));
        let path = got.strip_prefix("FILE:").unwrap_or_else(|| panic!("{got}"));
        assert!(!path.ends_with("XXXXXX"));
        assert!(Path::new(path).is_file());
        use std::os::unix::fs::PermissionsExt;
        let md = std::fs::metadata(d.path().join("sub")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(md.permissions().mode() & 0o777, 0o700);
        let dir = prepare(&CcName::Dir(d.path().join("coll"))).unwrap_or_else(|e| panic!("{e}"));
        assert!(d.path().join("coll").is_dir());
        assert!(dir.starts_with("DIR:"));
    }
}
