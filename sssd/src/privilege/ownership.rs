//! What the monitor hands to the children's user before starting them, as SSSD does for
//! `[sssd] user`: the caches, logs, sockets and memory-cache files.

use super::PrivilegeError;
use super::user::RunAs;
use crate::paths::Paths;
use std::path::Path;

/// Gives `path` and everything below it (symbolic links themselves, never their targets)
/// to `who`. A missing `path` is fine.
pub fn chown_tree(path: &Path, who: RunAs) -> Result<(), PrivilegeError> {
    let err = |p: &Path, source| PrivilegeError::Chown {
        path: p.display().to_string(),
        uid: who.uid,
        gid: who.gid,
        source,
    };
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(err(path, e)),
    };
    std::os::unix::fs::lchown(path, Some(who.uid), Some(who.gid)).map_err(|e| err(path, e))?;
    if meta.is_dir() {
        for entry in std::fs::read_dir(path).map_err(|e| err(path, e))? {
            let entry = entry.map_err(|e| err(path, e))?;
            chown_tree(&entry.path(), who)?;
        }
    }
    Ok(())
}

/// Creates `path` (mode 0600) when missing and gives it to `who`: a file a process opens
/// as root and keeps using as `who` (the PAM responder's log, reopened on SIGHUP).
pub fn create_owned(path: &Path, who: RunAs) -> Result<(), PrivilegeError> {
    use std::os::unix::fs::OpenOptionsExt;
    let err = |source| PrivilegeError::Chown {
        path: path.display().to_string(),
        uid: who.uid,
        gid: who.gid,
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(err)?;
    std::os::unix::fs::fchown(&file, Some(who.uid), Some(who.gid)).map_err(err)
}

/// The directories the children write, created when missing, given to `who` with their
/// contents: the cache (`db`), the client sockets (`pipes`, `pipes/private` with the bus
/// socket), the memory caches (`mc`) and the logs. Root gets them back the same way, so
/// root children that keep no capability can still write files a previous `user` left.
pub fn prepare(paths: &Paths, who: RunAs) -> Result<(), PrivilegeError> {
    for dir in [&paths.db, &paths.pipes, &paths.mc, &paths.log] {
        std::fs::create_dir_all(dir).map_err(|source| PrivilegeError::Chown {
            path: dir.display().to_string(),
            uid: who.uid,
            gid: who.gid,
            source,
        })?;
        chown_tree(dir, who)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn chown_tree_reaches_every_file_and_tolerates_missing_paths() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a/b");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join("f"), b"x").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("link")).unwrap();
        // SAFETY: no preconditions.
        let me = unsafe {
            RunAs {
                uid: libc::getuid(),
                gid: libc::getgid(),
            }
        };
        chown_tree(dir.path(), me).unwrap();
        assert_eq!(std::fs::metadata(sub.join("f")).unwrap().uid(), me.uid);
        chown_tree(&dir.path().join("missing"), me).unwrap();
    }
}
