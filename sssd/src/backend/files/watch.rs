//! Noticing changes of the passwd and group files with inotify. The directories holding
//! them are watched, not the files: tools like useradd, vipw or `sed -i` replace a file by
//! renaming a new one over it, which a watch on the old file would never report.

use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};
use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;
use tokio::io::unix::AsyncFd;

/// How long the watcher waits for more events after one, so that a file written in
/// several steps is read once, complete.
pub const SETTLE: Duration = Duration::from_millis(20);
/// The longest a burst of events may delay a reload.
pub const SETTLE_MAX: Duration = Duration::from_millis(200);

/// Why watching failed.
#[derive(Debug, Error)]
pub enum WatchError {
    /// inotify could not be set up.
    #[error("inotify: {0}")]
    Init(nix::Error),
    /// Reading events failed.
    #[error("reading inotify events: {0}")]
    Read(std::io::Error),
}

/// Watches the directories of a set of files.
pub struct Watcher {
    ino: Inotify,
    /// A duplicate of the inotify descriptor, for readiness.
    fd: AsyncFd<OwnedFd>,
    /// Names of interest in each watched directory.
    names: HashMap<WatchDescriptor, HashSet<OsString>>,
}

/// The events that mean "the file may have new content".
fn mask() -> AddWatchFlags {
    AddWatchFlags::IN_CLOSE_WRITE
        | AddWatchFlags::IN_MODIFY
        | AddWatchFlags::IN_MOVED_TO
        | AddWatchFlags::IN_MOVED_FROM
        | AddWatchFlags::IN_CREATE
        | AddWatchFlags::IN_DELETE
        | AddWatchFlags::IN_ATTRIB
}

impl Watcher {
    /// Watches the directory of each of `files`. A directory that cannot be watched (it
    /// does not exist) is logged, naming the file whose changes will go unnoticed.
    pub fn new<'a>(files: impl IntoIterator<Item = &'a PathBuf>) -> Result<Watcher, WatchError> {
        let ino = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)
            .map_err(WatchError::Init)?;
        let mut names: HashMap<WatchDescriptor, HashSet<OsString>> = HashMap::new();
        for f in files {
            let (Some(dir), Some(name)) = (f.parent(), f.file_name()) else {
                tracing::error!("{}: not a file path, changes are not watched", f.display());
                continue;
            };
            let dir = if dir.as_os_str().is_empty() {
                Path::new("/")
            } else {
                dir
            };
            match ino.add_watch(dir, mask()) {
                Ok(wd) => {
                    names.entry(wd).or_default().insert(name.to_os_string());
                }
                Err(e) => tracing::error!(
                    "cannot watch {} for changes of {}: {e}; they are seen at the next restart",
                    dir.display(),
                    f.display()
                ),
            }
        }
        let dup = ino.as_fd().try_clone_to_owned().map_err(WatchError::Read)?;
        // SAFETY: `dup` is a valid descriptor, owned by the AsyncFd for its whole life,
        // and always returns the same number.
        let fd = unsafe { AsyncFd::register_with_interest(dup, tokio::io::Interest::READABLE) }
            .map_err(|e| WatchError::Read(e.into()))?;
        Ok(Watcher { ino, fd, names })
    }

    /// Reads the pending events; true when one concerns a watched file.
    async fn next_batch(&self) -> Result<bool, WatchError> {
        loop {
            let mut guard = self.fd.readable().await.map_err(WatchError::Read)?;
            match self.ino.read_events() {
                Ok(events) => {
                    // A queue overflow lost events: count it as a change.
                    return Ok(events.iter().any(|e| {
                        e.mask.contains(AddWatchFlags::IN_Q_OVERFLOW)
                            || e.name.as_ref().is_some_and(|n| {
                                self.names.get(&e.wd).is_some_and(|set| set.contains(n))
                            })
                    }));
                }
                Err(nix::errno::Errno::EAGAIN) => guard.clear_ready(),
                Err(e) => return Err(WatchError::Read(e.into())),
            }
        }
    }

    /// Waits until a watched file changed, then until the changes settle (no event for
    /// [`SETTLE`], at most [`SETTLE_MAX`]).
    pub async fn changed(&self) -> Result<(), WatchError> {
        while !self.next_batch().await? {}
        let deadline = tokio::time::Instant::now() + SETTLE_MAX;
        loop {
            let wait = SETTLE.min(deadline.saturating_duration_since(tokio::time::Instant::now()));
            if wait.is_zero() {
                return Ok(());
            }
            match tokio::time::timeout(wait, self.next_batch()).await {
                Err(_) => return Ok(()),
                Ok(r) => {
                    r?;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn write_rename_and_other_files() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("passwd");
        std::fs::write(&p, "a\n").expect("w");
        let w = Watcher::new([&p]).expect("watch");
        // An unrelated file is not a change.
        std::fs::write(dir.path().join("other"), "x").expect("w");
        assert!(
            tokio::time::timeout(Duration::from_millis(150), w.changed())
                .await
                .is_err()
        );
        // In place.
        std::fs::write(&p, "b\n").expect("w");
        assert!(matches!(
            tokio::time::timeout(Duration::from_secs(2), w.changed()).await,
            Ok(Ok(()))
        ));
        // Atomic rename over it.
        let tmp = dir.path().join("passwd.new");
        std::fs::write(&tmp, "c\n").expect("w");
        std::fs::rename(&tmp, &p).expect("rename");
        assert!(matches!(
            tokio::time::timeout(Duration::from_secs(2), w.changed()).await,
            Ok(Ok(()))
        ));
    }
}
