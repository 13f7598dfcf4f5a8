//! Mixed roots for interop tests: one implementation's daemon with the other's NSS module.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tempfile::TempDir;

use crate::error::{HarnessError, Result};
use crate::proc;
use crate::stage;

/// Where glibc finds NSS modules on this architecture (relative to a root).
pub const LIB_DIR: &str = "usr/lib/x86_64-linux-gnu";

/// Debian's sssd 2.8 unpacked by `scripts/debian-sssd.sh` (downloaded once, never installed).
pub fn debian_root() -> Result<PathBuf> {
    let script = stage::workspace_root().join("scripts/debian-sssd.sh");
    let out = proc::run_ok(
        Command::new("bash").arg(&script),
        None,
        Duration::from_secs(600),
    )?;
    Ok(PathBuf::from(out.stdout.trim()))
}

/// Where Debian ships the NSS module (the merged-/usr alias of [`LIB_DIR`]).
const DEBIAN_LIB_DIR: &str = "lib/x86_64-linux-gnu";

/// Debian's `libnss_sss.so.2` inside `root` (it ships it under /lib, the merged-/usr alias).
pub fn nss_module_of(root: &Path) -> Option<PathBuf> {
    module_of(root, [DEBIAN_LIB_DIR, LIB_DIR], "libnss_sss.so.2")
}

/// A copy of `base` whose `libnss_sss.so.2` is `module` (every other copy removed).
pub fn with_nss_module(base: &Path, module: &Path) -> Result<TempDir> {
    with_module(base, [DEBIAN_LIB_DIR, LIB_DIR], "libnss_sss.so.2", module)
}

/// Where PAM modules live inside a root (relative; /lib is /usr/lib on merged-/usr hosts).
pub const PAM_DIR: &str = "usr/lib/x86_64-linux-gnu/security";

/// Where Debian ships PAM modules (the merged-/usr alias of [`PAM_DIR`]).
const DEBIAN_PAM_DIR: &str = "lib/x86_64-linux-gnu/security";

/// The `pam_sss.so` inside `root` (Debian ships it under /lib, ours is under /usr/lib).
pub fn pam_module_of(root: &Path) -> Option<PathBuf> {
    module_of(root, [DEBIAN_PAM_DIR, PAM_DIR], "pam_sss.so")
}

/// A copy of `base` whose `pam_sss.so` is `module` (every other copy removed).
pub fn with_pam_module(base: &Path, module: &Path) -> Result<TempDir> {
    with_module(base, [DEBIAN_PAM_DIR, PAM_DIR], "pam_sss.so", module)
}

/// The first of `dirs` (relative to `root`) holding the file `name`.
fn module_of(root: &Path, dirs: [&str; 2], name: &str) -> Option<PathBuf> {
    dirs.iter()
        .map(|d| root.join(d).join(name))
        .find(|p| p.is_file())
}

/// A copy of `base` without `name` in any of `dirs`, then `module` copied as `name` into
/// the last of `dirs` (ours).
fn with_module(base: &Path, dirs: [&str; 2], name: &str, module: &Path) -> Result<TempDir> {
    let dir = tempfile::Builder::new()
        .prefix("sssd-tests-interop.")
        .tempdir()
        .map_err(|e| HarnessError::io("create temporary directory", "/tmp", e))?;
    proc::run_ok(
        Command::new("cp")
            .arg("-a")
            .arg(format!("{}/.", base.display()))
            .arg(dir.path()),
        None,
        Duration::from_secs(60),
    )?;
    for d in dirs {
        let p = dir.path().join(d).join(name);
        if p.exists() {
            std::fs::remove_file(&p).map_err(|e| HarnessError::io("remove", &p, e))?;
        }
    }
    let lib = dir.path().join(dirs[1]);
    std::fs::create_dir_all(&lib).map_err(|e| HarnessError::io("create", &lib, e))?;
    let dest = lib.join(name);
    std::fs::copy(module, &dest).map_err(|e| HarnessError::io("copy", &dest, e))?;
    Ok(dir)
}

/// A copy of `base` in which each of `paths` (relative: files or directories) is replaced by
/// the one in `other` (e.g. Debian's `usr/sbin/sss_cache` and the libraries it needs, in a
/// copy of our staged root).
pub fn with_files_from(base: &Path, other: &Path, paths: &[&str]) -> Result<TempDir> {
    let dir = tempfile::Builder::new()
        .prefix("sssd-tests-interop.")
        .tempdir()
        .map_err(|e| HarnessError::io("create temporary directory", "/tmp", e))?;
    let copy = |from: &Path, to: &Path| {
        proc::run_ok(
            Command::new("cp").arg("-a").arg(from).arg(to),
            None,
            Duration::from_secs(60),
        )
    };
    copy(&PathBuf::from(format!("{}/.", base.display())), dir.path())?;
    for p in paths {
        let (src, dest) = (other.join(p), dir.path().join(p));
        if !src.exists() {
            return Err(HarnessError::Setup(format!("{} missing", src.display())));
        }
        if dest.is_dir() {
            std::fs::remove_dir_all(&dest).map_err(|e| HarnessError::io("remove", &dest, e))?;
        } else if dest.exists() {
            std::fs::remove_file(&dest).map_err(|e| HarnessError::io("remove", &dest, e))?;
        }
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(|e| HarnessError::io("create", parent, e))?;
        }
        copy(&src, &dest)?;
    }
    Ok(dir)
}
