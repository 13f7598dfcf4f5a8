//! Staging the built product with `install.sh DESTDIR=...` for overlaying onto /usr.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::error::{HarnessError, Result};
use crate::proc;

/// The artifacts a full stage needs (file names in `target/<profile>/`).
pub const REQUIRED_ARTIFACTS: &[&str] = &[
    "sssd",
    "sssd_be",
    "sssd_nss",
    "sssd_pam",
    "krb5_child",
    "ldap_child",
    "gpo_child",
    "proxy_child",
    "libnss_sss.so",
    "libpam_sss.so",
    "sssd_autofs",
    "libsss_autofs.so",
    "sssd_ssh",
    "sss_ssh_authorizedkeys",
    "sss_ssh_knownhostsproxy",
    "sss_override",
];

/// The workspace root (where install.sh lives).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// `target/<profile>` of the running test binary (`target/release/deps/x` → `target/release`).
pub fn artifacts_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("SSSD_TESTS_ARTIFACTS") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.pop();
    }
    dir
}

/// Required artifacts missing from `dir`.
pub fn missing_artifacts(dir: &Path) -> Vec<&'static str> {
    REQUIRED_ARTIFACTS
        .iter()
        .copied()
        .filter(|a| !dir.join(a).is_file())
        .collect()
}

/// Runs `install.sh --no-build --target-dir <artifacts> DESTDIR=<destdir>`.
pub fn install(artifacts: &Path, destdir: &Path) -> Result<()> {
    install_with(artifacts, destdir, &[])
}

/// [`install`] with more `install.sh` arguments (e.g. `--helper-group 4242`).
pub fn install_with(artifacts: &Path, destdir: &Path, extra: &[&str]) -> Result<()> {
    let script = workspace_root().join("install.sh");
    proc::run_ok(
        Command::new("bash")
            .arg(&script)
            .arg("--no-build")
            .arg("--target-dir")
            .arg(artifacts)
            .args(extra)
            .arg(format!("DESTDIR={}", destdir.display())),
        None,
        Duration::from_secs(120),
    )?;
    Ok(())
}

/// The product staged with `install.sh <extra>` for this test process under
/// `target/<profile>/sssd-tests-stage-<name>/<pid>` (stages of finished processes are
/// removed); fails when the binaries have not been built.
pub fn stage_variant(name: &str, extra: &[&str]) -> Result<PathBuf> {
    let artifacts = artifacts_dir();
    let missing = missing_artifacts(&artifacts);
    if !missing.is_empty() {
        return Err(HarnessError::Setup(format!(
            "missing {} in {}: run `cargo build --release --workspace` first",
            missing.join(", "),
            artifacts.display()
        )));
    }
    let parent = artifacts.join(format!("sssd-tests-stage-{name}"));
    remove_stale(&parent);
    let dest = parent.join(std::process::id().to_string());
    let _ = std::fs::remove_dir_all(&dest);
    install_with(&artifacts, &dest, extra)?;
    Ok(dest)
}

/// Environment variable naming an already staged root to use instead of installing
/// `target/<profile>` (e.g. Debian's sssd unpacked by scripts/debian-sssd.sh, to check the
/// tests' expectations against the reference implementation).
pub const STAGE_ROOT_ENV: &str = "SSSD_TESTS_STAGE_ROOT";

/// The product staged once per test process under `target/<profile>/sssd-tests-stage/<pid>`;
/// fails with a clear message when the binaries have not been built. Honours
/// [`STAGE_ROOT_ENV`].
pub fn shared_stage() -> Result<&'static Path> {
    static STAGE: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();
    let r = STAGE.get_or_init(|| {
        if let Ok(root) = std::env::var(STAGE_ROOT_ENV) {
            return Ok(PathBuf::from(root));
        }
        let artifacts = artifacts_dir();
        let missing = missing_artifacts(&artifacts);
        if !missing.is_empty() {
            return Err(format!(
                "missing {} in {}: run `cargo build --release --workspace` first",
                missing.join(", "),
                artifacts.display()
            ));
        }
        let parent = artifacts.join("sssd-tests-stage");
        remove_stale(&parent);
        let dest = parent.join(std::process::id().to_string());
        let _ = std::fs::remove_dir_all(&dest);
        install(&artifacts, &dest).map_err(|e| e.to_string())?;
        Ok(dest)
    });
    match r {
        Ok(p) => Ok(p.as_path()),
        Err(e) => Err(HarnessError::Setup(e.clone())),
    }
}

/// Removes stage directories left by test processes that no longer run.
fn remove_stale(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        let pid = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok());
        if let Some(pid) = pid
            && !proc::alive(pid)
        {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}
