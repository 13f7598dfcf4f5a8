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

/// Debian's `libnss_sss.so.2` inside `root` (it ships it under /lib, the merged-/usr alias).
pub fn nss_module_of(root: &Path) -> Option<PathBuf> {
    ["lib/x86_64-linux-gnu", LIB_DIR]
        .iter()
        .map(|d| root.join(d).join("libnss_sss.so.2"))
        .find(|p| p.is_file())
}

/// A copy of `base` whose `libnss_sss.so.2` is `module` (every other copy removed).
pub fn with_nss_module(base: &Path, module: &Path) -> Result<TempDir> {
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
    for d in ["lib/x86_64-linux-gnu", LIB_DIR] {
        let p = dir.path().join(d).join("libnss_sss.so.2");
        if p.exists() {
            std::fs::remove_file(&p).map_err(|e| HarnessError::io("remove", &p, e))?;
        }
    }
    let lib = dir.path().join(LIB_DIR);
    std::fs::create_dir_all(&lib).map_err(|e| HarnessError::io("create", &lib, e))?;
    let dest = lib.join("libnss_sss.so.2");
    std::fs::copy(module, &dest).map_err(|e| HarnessError::io("copy", &dest, e))?;
    Ok(dir)
}

/// Where PAM modules live inside a root (relative; /lib is /usr/lib on merged-/usr hosts).
pub const PAM_DIR: &str = "usr/lib/x86_64-linux-gnu/security";

/// The `pam_sss.so` inside `root` (Debian ships it under /lib, ours is under /usr/lib).
pub fn pam_module_of(root: &Path) -> Option<PathBuf> {
    ["lib/x86_64-linux-gnu/security", PAM_DIR]
        .iter()
        .map(|d| root.join(d).join("pam_sss.so"))
        .find(|p| p.is_file())
}

/// A copy of `base` whose `pam_sss.so` is `module` (every other copy removed).
pub fn with_pam_module(base: &Path, module: &Path) -> Result<TempDir> {
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
    for d in ["lib/x86_64-linux-gnu/security", PAM_DIR] {
        let p = dir.path().join(d).join("pam_sss.so");
        if p.exists() {
            std::fs::remove_file(&p).map_err(|e| HarnessError::io("remove", &p, e))?;
        }
    }
    let lib = dir.path().join(PAM_DIR);
    std::fs::create_dir_all(&lib).map_err(|e| HarnessError::io("create", &lib, e))?;
    let dest = lib.join("pam_sss.so");
    std::fs::copy(module, &dest).map_err(|e| HarnessError::io("copy", &dest, e))?;
    Ok(dir)
}
