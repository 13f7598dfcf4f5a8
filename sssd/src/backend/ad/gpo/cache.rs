//! The GPO cache directory (`/var/lib/sss/gpo_cache`, as SSSD): the downloaded policy files
//! under their sysvol path, and per domain a state file with each GPO's version and cache
//! deadline, the resultant logon-right settings of the last online evaluation, and the
//! SIDs of the users it was made for (for offline decisions).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::rights::Resultant;
use crate::atomic_file::{AtomicWrite, write_atomically};

/// A cache read or write that failed.
#[derive(Debug, Error)]
pub enum CacheError {
    /// File system error on `path`.
    #[error("GPO cache {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A sysvol path that cannot be stored safely.
    #[error("GPO cache: unusable sysvol path {0:?}")]
    BadPath(String),
    /// A malformed state file line.
    #[error("GPO cache {}: malformed line {line:?}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The line.
        line: String,
    },
}

/// A GPO's cached version and until when its files are used without asking the DC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachedGpo {
    /// The `GPT.INI` version of the cached files.
    pub version: i32,
    /// Seconds since the epoch.
    pub valid_until: i64,
}

/// One domain's GPO state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GpoState {
    /// By GPO GUID.
    pub gpos: BTreeMap<String, CachedGpo>,
    /// The resultant settings; `None` when the last evaluation found no GPO to apply.
    pub result: Option<Resultant>,
    /// User name → its SIDs (own, groups, Authenticated Users), from the last online check.
    pub users: BTreeMap<String, Vec<String>>,
}

/// The GPO cache directory.
#[derive(Debug, Clone)]
pub struct GpoCache {
    dir: PathBuf,
}

const FILE_MODE: AtomicWrite = AtomicWrite {
    mode: 0o600,
    create_dir: Some(0o700),
    owner_of_dir: false,
};

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CacheError + '_ {
    move |source| CacheError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl GpoCache {
    /// The cache in `dir`.
    pub fn new(dir: PathBuf) -> GpoCache {
        GpoCache { dir }
    }

    /// Where the file at sysvol `path` (`/<domain>/Policies/{GUID}/...`) is kept; only plain
    /// components are accepted.
    pub fn file(&self, path: &str) -> Result<PathBuf, CacheError> {
        let mut p = self.dir.clone();
        for c in path.split('/').filter(|c| !c.is_empty()) {
            if c == "." || c == ".." || c.contains('\0') {
                return Err(CacheError::BadPath(path.to_string()));
            }
            p.push(c);
        }
        if p == self.dir {
            return Err(CacheError::BadPath(path.to_string()));
        }
        Ok(p)
    }

    /// Stores (or, with `None`, removes) the cached copy of sysvol file `path`.
    pub fn store(&self, path: &str, data: Option<&[u8]>) -> Result<(), CacheError> {
        let f = self.file(path)?;
        match data {
            Some(d) => write_atomically(&f, d, &FILE_MODE).map_err(|e| CacheError::Io {
                path: f.clone(),
                source: e.into(),
            }),
            None => match std::fs::remove_file(&f) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(&f)(e)),
                _ => Ok(()),
            },
        }
    }

    /// The cached copy of sysvol file `path`, if any.
    pub fn load(&self, path: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let f = self.file(path)?;
        match std::fs::read(&f) {
            Ok(d) => Ok(Some(d)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&f)(e)),
        }
    }

    fn state_path(&self, domain: &str) -> PathBuf {
        self.dir.join(format!("state_{domain}"))
    }

    /// The state of `domain` (empty when never written).
    pub fn state(&self, domain: &str) -> Result<GpoState, CacheError> {
        let path = self.state_path(domain);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(GpoState::default()),
            Err(e) => return Err(io(&path)(e)),
        };
        parse_state(&text).map_err(|line| CacheError::Malformed { path, line })
    }

    /// Replaces the state of `domain`.
    pub fn save_state(&self, domain: &str, state: &GpoState) -> Result<(), CacheError> {
        let path = self.state_path(domain);
        write_atomically(&path, format_state(state).as_bytes(), &FILE_MODE).map_err(|e| {
            CacheError::Io {
                path: path.clone(),
                source: e.into(),
            }
        })
    }
}

/// `gpo GUID VERSION VALID_UNTIL`, `result` (a result exists), `setting KEY VALUE`,
/// `user NAME SID,SID,...`; tab-separated.
fn format_state(s: &GpoState) -> String {
    let mut out = String::new();
    for (guid, g) in &s.gpos {
        out.push_str(&format!("gpo\t{guid}\t{}\t{}\n", g.version, g.valid_until));
    }
    if let Some(r) = &s.result {
        out.push_str("result\n");
        for (k, v) in &r.settings {
            out.push_str(&format!("setting\t{k}\t{v}\n"));
        }
    }
    for (name, sids) in &s.users {
        out.push_str(&format!("user\t{name}\t{}\n", sids.join(",")));
    }
    out
}

fn parse_state(text: &str) -> Result<GpoState, String> {
    let mut s = GpoState::default();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split('\t').collect();
        match f.as_slice() {
            ["gpo", guid, version, until] => {
                let version = version.parse().map_err(|_| line.to_string())?;
                let valid_until = until.parse().map_err(|_| line.to_string())?;
                s.gpos.insert(
                    guid.to_string(),
                    CachedGpo {
                        version,
                        valid_until,
                    },
                );
            }
            ["result"] => s.result = Some(Resultant::default()),
            ["setting", k, v] => {
                s.result
                    .get_or_insert_with(Resultant::default)
                    .settings
                    .insert(k.to_string(), v.to_string());
            }
            ["user", name, sids] => {
                let sids = sids
                    .split(',')
                    .filter(|x| !x.is_empty())
                    .map(str::to_string)
                    .collect();
                s.users.insert(name.to_string(), sids);
            }
            _ => return Err(line.to_string()),
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn state_and_files_round_trip() {
        let d = tempfile::tempdir().unwrap();
        let c = GpoCache::new(d.path().join("gpo_cache"));
        assert_eq!(c.state("D").unwrap(), GpoState::default());
        let mut s = GpoState::default();
        s.gpos.insert(
            "{A}".into(),
            CachedGpo {
                version: 3,
                valid_until: 10,
            },
        );
        let mut r = Resultant::default();
        r.settings
            .insert("SeInteractiveLogonRight".into(), "*S-1-5-11".into());
        s.result = Some(r);
        s.users
            .insert("alice".into(), vec!["S-1-5-21-1".into(), "S-1-5-11".into()]);
        c.save_state("D", &s).unwrap();
        assert_eq!(c.state("D").unwrap(), s);
        let p = "/corp/Policies/{A}/GPT.INI";
        c.store(p, Some(b"x")).unwrap();
        assert_eq!(c.load(p).unwrap(), Some(b"x".to_vec()));
        c.store(p, None).unwrap();
        assert_eq!(c.load(p).unwrap(), None);
        assert!(c.file("/corp/../x").is_err());
        assert!(parse_state("gpo\tx\n").is_err());
    }
}
