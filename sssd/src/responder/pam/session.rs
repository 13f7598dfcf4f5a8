//! Whether a user already has a session, for `pam_initgroups_scheme = no_session`: logind's
//! per-user record first (`/run/systemd/users/<uid>` with a non-empty `SESSIONS=`, what
//! `sd_uid_get_sessions` reads), then, as SSSD falls back to, any process of that uid
//! under `/proc`. Both are file system reads, so they run on the blocking pool.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Whether logind lists a session of `uid` in `users_dir`.
pub fn logind_has_session(users_dir: &Path, uid: u32) -> bool {
    std::fs::read_to_string(users_dir.join(uid.to_string()))
        .map(|text| {
            text.lines().any(|l| {
                l.strip_prefix("SESSIONS=")
                    .is_some_and(|v| !v.trim().is_empty())
            })
        })
        .unwrap_or(false)
}

/// Whether a process directory (`<proc>/<pid>`) in `proc_dir` belongs to `uid`.
pub fn uid_has_process(proc_dir: &Path, uid: u32) -> bool {
    let Ok(entries) = std::fs::read_dir(proc_dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let numeric = e
            .file_name()
            .to_str()
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        numeric && e.metadata().is_ok_and(|m| m.is_dir() && m.uid() == uid)
    })
}

/// Whether `uid` has a session (logind) or, failing that, a running process.
pub async fn uid_is_active(
    users_dir: Option<PathBuf>,
    proc_dir: Option<PathBuf>,
    uid: u32,
) -> bool {
    if users_dir.is_none() && proc_dir.is_none() {
        return false;
    }
    tokio::task::spawn_blocking(move || {
        users_dir.is_some_and(|d| logind_has_session(&d, uid))
            || proc_dir.is_some_and(|d| uid_has_process(&d, uid))
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logind_records() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("1000"), "NAME=a\nSESSIONS=3 7\n").unwrap();
        std::fs::write(d.path().join("1001"), "NAME=b\nSESSIONS=\n").unwrap();
        assert!(logind_has_session(d.path(), 1000));
        assert!(!logind_has_session(d.path(), 1001));
        assert!(!logind_has_session(d.path(), 1002));
    }

    #[tokio::test]
    async fn process_scan() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("123")).unwrap();
        std::fs::create_dir(d.path().join("self")).unwrap();
        let me = nix::unistd::geteuid().as_raw();
        assert!(uid_has_process(d.path(), me));
        assert!(!uid_has_process(d.path(), me.wrapping_add(4242)));
        assert!(uid_is_active(None, Some(d.path().to_path_buf()), me).await);
        assert!(!uid_is_active(None, None, me).await);
        // The real /proc holds this test's own process.
        assert!(uid_has_process(Path::new("/proc"), me));
    }
}
