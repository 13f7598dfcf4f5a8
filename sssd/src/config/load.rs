//! Reading sssd.conf and its conf.d snippets from disk, with SSSD's ownership and mode check.

use super::{Config, ConfigError, parse};
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use zeroize::Zeroize;

/// Whether a conf.d entry name is a snippet SSSD reads (`^[^.].*\.conf$`).
pub(super) fn is_snippet_name(name: &str) -> bool {
    !name.starts_with('.') && name.len() > ".conf".len() && name.ends_with(".conf")
}

/// Checks that `meta` (of `path`) is owned by root:root and has no "other" permission bits.
pub(super) fn check_permissions(path: &str, meta: &std::fs::Metadata) -> Result<(), ConfigError> {
    let mode = meta.mode() & 0o7777;
    let (uid, gid) = (meta.uid(), meta.gid());
    if uid != 0 || gid != 0 {
        return Err(ConfigError::Permission {
            path: path.to_string(),
            message: format!(
                "owned by uid {uid} gid {gid} (mode {mode:04o}); must be owned by root \
                 (uid 0, gid 0) with mode 0600 or 0640"
            ),
        });
    }
    if mode & 0o007 != 0 {
        return Err(ConfigError::Permission {
            path: path.to_string(),
            message: format!(
                "mode {mode:04o} gives access to others; must be 0600 or 0640, owned by root"
            ),
        });
    }
    Ok(())
}

/// Opens `path`, checks it and returns its text; `Ok(None)` when it does not exist.
fn read_checked(path: &Path) -> Result<Option<String>, ConfigError> {
    let shown = path.display().to_string();
    let io = |source| ConfigError::Io {
        path: shown.clone(),
        source,
    };
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(ConfigError::Io {
            path: shown.clone(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"),
        });
    }
    check_permissions(&shown, &meta)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(io)?;
    String::from_utf8(bytes).map(Some).map_err(|_| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "file is not valid UTF-8",
        ))
    })
}

/// The snippet files of `dir` in name order; an absent directory has none.
pub(super) fn snippet_files(dir: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    let io = |source| ConfigError::Io {
        path: dir.display().to_string(),
        source,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io)?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if !is_snippet_name(&name) {
            continue;
        }
        // Follow symlinks; skip directories and other non-files.
        match std::fs::metadata(entry.path()) {
            Ok(m) if m.is_file() => names.push(name),
            _ => continue,
        }
    }
    names.sort();
    Ok(names.into_iter().map(|n| dir.join(n)).collect())
}

pub(super) fn load(file: &Path, snippets: Option<&Path>) -> Result<Config, ConfigError> {
    let mut cfg = Config::default();
    let main_found = match read_checked(file)? {
        Some(mut text) => {
            let origin = file.display().to_string();
            let parsed = parse::parse_into(&mut cfg, &text, &origin);
            text.zeroize();
            parsed?;
            cfg.files.push(origin);
            true
        }
        None => false,
    };
    if let Some(dir) = snippets {
        for path in snippet_files(dir)? {
            // A snippet removed between listing and opening is simply skipped; one with the
            // wrong owner or mode is left out and remembered, as SSSD skips it.
            let text = match read_checked(&path) {
                Err(ConfigError::Permission { path, message }) => {
                    cfg.skipped.push((path, message));
                    continue;
                }
                other => other?,
            };
            if let Some(mut text) = text {
                let mut snippet = Config::default();
                let origin = path.display().to_string();
                let parsed = parse::parse_into(&mut snippet, &text, &origin);
                text.zeroize();
                parsed?;
                snippet.files.push(origin);
                cfg.merge(snippet);
            }
        }
    }
    super::implicit_files::apply(&mut cfg)?;
    if !main_found && cfg.domains().is_err() {
        return Err(ConfigError::Io {
            path: file.display().to_string(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "configuration file not found and no snippet configures a domain",
            ),
        });
    }
    // The AD provider is the LDAP and Kerberos providers with SSSD's AD defaults.
    super::ad::apply_defaults(&mut cfg);
    Ok(cfg)
}
