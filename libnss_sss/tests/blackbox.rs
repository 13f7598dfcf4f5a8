//! Ignored by default (needs root, unshare and overlayfs): runs `tests/blackbox.sh`, which
//! drives getent/id through the built module against a fake responder in a private mount
//! namespace. Run with `cargo test -p libnss_sss --test blackbox -- --ignored --nocapture`.

use std::process::Command;

#[test]
#[ignore = "needs root, unshare and overlayfs"]
fn glibc_tools_resolve_through_the_module() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/blackbox.sh");
    let out = Command::new("sh").arg(script).output();
    let out = match out {
        Ok(o) => o,
        Err(e) => panic!("cannot run {script}: {e}"),
    };
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "black-box transcript had mismatches");
    assert!(!text.contains("MISMATCH"));
}
