//! Which log files of the log directory the analyzer reads, as SSSD's analyzer picks them:
//! the responder's own file (`sssd_nss.log`, `sssd_pam.log`), and for the backends every
//! `sssd_*.log` that is not a responder's (with `--child`, every `*.log` that is not a
//! responder's, so that `krb5_child.log` and `ldap_child.log` are read too). Rotated
//! (`.gz`) files are left out.

use std::path::{Path, PathBuf};

/// Why the logs cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum LogsError {
    /// The log directory cannot be listed.
    #[error("Unable to read the log directory {dir}: {source}")]
    Dir {
        /// The directory.
        dir: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// A log file exists but cannot be read.
    #[error("Unable to read {file}: {source}")]
    File {
        /// The file.
        file: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The directory holds no backend log file.
    #[error("No backend log files found in {0}")]
    NoBackend(PathBuf),
}

/// The responder whose clients are analyzed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Responder {
    /// `sssd_nss`: identity lookups.
    Nss,
    /// `sssd_pam`: authentication.
    Pam,
}

impl Responder {
    /// `nss` or `pam`.
    pub fn name(self) -> &'static str {
        match self {
            Responder::Nss => "nss",
            Responder::Pam => "pam",
        }
    }
}

/// Parts of names of the files that are not the backends' (SSSD's list).
const NOT_BACKEND: [&str; 8] = ["ifp", "nss", "pam", "sudo", "autofs", "ssh", "pac", "kcm"];

/// A log file's text; a missing file reads as empty (a responder that never ran has none).
pub fn read(file: &Path) -> Result<String, LogsError> {
    match std::fs::read(file) {
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(source) => Err(LogsError::File {
            file: file.to_path_buf(),
            source,
        }),
    }
}

/// The responder's log file in `dir`; an error when `dir` itself cannot be read.
pub fn responder_file(dir: &Path, responder: Responder) -> Result<PathBuf, LogsError> {
    std::fs::read_dir(dir).map_err(|source| LogsError::Dir {
        dir: dir.to_path_buf(),
        source,
    })?;
    Ok(dir.join(format!("sssd_{}.log", responder.name())))
}

/// The backends' log files in `dir` (and the helpers' with `child`), in name order.
pub fn backend_files(dir: &Path, child: bool) -> Result<Vec<PathBuf>, LogsError> {
    let entries = std::fs::read_dir(dir).map_err(|source| LogsError::Dir {
        dir: dir.to_path_buf(),
        source,
    })?;
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| is_backend_file(n, child))
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(LogsError::NoBackend(dir.to_path_buf()));
    }
    Ok(names.into_iter().map(|n| dir.join(n)).collect())
}

/// Whether the file called `name` is a backend's (or, with `child`, a helper's) log.
fn is_backend_file(name: &str, child: bool) -> bool {
    let picked = if child {
        name.ends_with(".log")
    } else {
        name.starts_with("sssd_")
    };
    picked && !name.ends_with(".gz") && !NOT_BACKEND.iter().any(|r| name.contains(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_backend_files_as_sssd() {
        assert!(is_backend_file("sssd_LDAP.log", false));
        assert!(is_backend_file("sssd_LDAP.log", true));
        assert!(!is_backend_file("sssd_nss.log", false));
        assert!(!is_backend_file("sssd_pam.log", true));
        assert!(!is_backend_file("sssd_LDAP.log.1.gz", false));
        assert!(!is_backend_file("krb5_child.log", false));
        assert!(is_backend_file("krb5_child.log", true));
        assert!(!is_backend_file("sssd_ssh.log", false));
    }

    #[test]
    fn lists_a_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("logs");
        std::fs::create_dir(&dir).unwrap();
        for f in [
            "sssd.log",
            "sssd_nss.log",
            "sssd_LDAP.log",
            "krb5_child.log",
        ] {
            std::fs::write(dir.join(f), "").unwrap();
        }
        let names = |files: Vec<PathBuf>| {
            files
                .iter()
                .filter_map(|p| p.file_name()?.to_str().map(str::to_string))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(backend_files(&dir, false).unwrap()),
            ["sssd_LDAP.log"]
        );
        assert_eq!(
            names(backend_files(&dir, true).unwrap()),
            ["krb5_child.log", "sssd.log", "sssd_LDAP.log"]
        );
        assert_eq!(read(&dir.join("sssd_pam.log")).unwrap(), "");
        assert!(responder_file(&dir.join("nope"), Responder::Nss).is_err());
        for f in [
            "sssd.log",
            "sssd_nss.log",
            "sssd_LDAP.log",
            "krb5_child.log",
        ] {
            std::fs::remove_file(dir.join(f)).unwrap();
        }
        std::fs::remove_dir(&dir).unwrap();
        assert!(matches!(
            backend_files(&dir, false),
            Err(LogsError::Dir { .. })
        ));
    }
}
