//! The lookups black-box tests make through glibc's NSS path in a namespace with the staged
//! product, and their assertions.

use crate::namespace::Namespace;
use crate::proc::Output;
use crate::sssd::{Sssd, SssdConf};
use crate::stage;

/// A mount namespace with the staged product.
///
/// # Panics
/// When the product cannot be staged or the namespace created (test set-up).
#[allow(clippy::expect_used)] // test set-up: failing loudly is the point
pub fn namespace() -> Namespace {
    let root = stage::shared_stage().expect("stage the product with install.sh");
    Namespace::new(Some(root)).expect("create the mount namespace")
}

/// Starts the daemon with `conf` in `ns`.
///
/// # Panics
/// When it does not start, with its logs.
pub fn start<'ns>(ns: &'ns Namespace, conf: &SssdConf) -> Sssd<'ns> {
    Sssd::start(ns, conf).unwrap_or_else(|e| panic!("sssd did not start: {e}"))
}

/// `getent ARGS` in `ns`.
///
/// # Panics
/// When getent cannot be run.
#[allow(clippy::unwrap_used)] // test helper
pub fn getent(ns: &Namespace, args: &[&str]) -> Output {
    let mut argv = vec!["getent"];
    argv.extend_from_slice(args);
    ns.run(&argv).unwrap()
}

/// Asserts `getent ARGS` prints exactly `line`.
#[track_caller]
pub fn assert_line(ns: &Namespace, sssd: &Sssd<'_>, args: &[&str], line: &str) {
    let out = getent(ns, args);
    assert_eq!(
        (out.code(), out.stdout.as_str()),
        (0, format!("{line}\n").as_str()),
        "getent {args:?}: {out:?}\n{}",
        sssd.logs()
    );
}

/// Asserts `getent ARGS` finds nothing (exit 2, no output).
#[track_caller]
pub fn assert_notfound(ns: &Namespace, args: &[&str]) {
    let out = getent(ns, args);
    assert_eq!(
        (out.code(), out.stdout.as_str()),
        (2, ""),
        "getent {args:?}: {out:?}"
    );
}
