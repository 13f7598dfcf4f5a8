//! Replacing a file atomically: the new contents go to a temporary beside it (created
//! 0600, so nobody reads a half-written file), which is given its final mode, synced and
//! renamed over the old one; on failure the temporary is removed. Readers see the old
//! file or the new one, never a mix.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// How the file is written.
#[derive(Debug, Clone, Copy)]
pub struct AtomicWrite {
    /// The file's mode.
    pub mode: u32,
    /// Create the directory (recursively, with this mode) when it is missing.
    pub create_dir: Option<u32>,
    /// Give the file the directory's owner and group (best effort: only root may).
    pub owner_of_dir: bool,
}

/// A step that failed: what was being done, to which path, and the error.
#[derive(Debug, thiserror::Error)]
#[error("{what} {}: {source}", path.display())]
pub struct WriteError {
    /// `creating`, `writing`, `setting the mode of`, `syncing` or `renaming over`.
    pub what: &'static str,
    /// The path the step worked on.
    pub path: PathBuf,
    /// The error.
    #[source]
    pub source: std::io::Error,
}

impl From<WriteError> for std::io::Error {
    fn from(e: WriteError) -> std::io::Error {
        std::io::Error::new(e.source.kind(), e.to_string())
    }
}

/// Replaces `path` with `contents` as `how` says.
pub fn write_atomically(path: &Path, contents: &[u8], how: &AtomicWrite) -> Result<(), WriteError> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let step = |what, p: &Path| {
        let path = p.to_path_buf();
        move |source| WriteError { what, path, source }
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Some(mode) = how.create_dir
        && !dir.is_dir()
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(mode)
            .create(dir)
            .map_err(step("creating", dir))?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.{}.{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(step("creating", &tmp))?;
        f.write_all(contents).map_err(step("writing", &tmp))?;
        if how.mode != 0o600 {
            f.set_permissions(std::fs::Permissions::from_mode(how.mode))
                .map_err(step("setting the mode of", &tmp))?;
        }
        if how.owner_of_dir
            && let Ok(m) = std::fs::metadata(dir)
        {
            let _ = std::os::unix::fs::fchown(&f, Some(m.uid()), Some(m.gid()));
        }
        f.sync_all().map_err(step("syncing", &tmp))?;
        std::fs::rename(&tmp, path).map_err(step("renaming over", path))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIVATE: AtomicWrite = AtomicWrite {
        mode: 0o600,
        create_dir: None,
        owner_of_dir: true,
    };

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        write_atomically(&p, b"one\n", &PRIVATE).unwrap();
        write_atomically(&p, b"two\n", &PRIVATE).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two\n");
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn creates_the_directory_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/f");
        let e = write_atomically(&p, b"x", &PRIVATE).unwrap_err();
        assert_eq!(e.what, "creating");
        let public = AtomicWrite {
            mode: 0o644,
            create_dir: Some(0o755),
            owner_of_dir: false,
        };
        write_atomically(&p, b"x", &public).unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
    }
}
