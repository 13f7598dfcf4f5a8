//! `sssctl`: SSSD's administration tool (see `sssd::tools::sssctl`).

use sssd::paths::Paths;
use sssd::tools::sss_cache::{Context, memcache::Timing};
use sssd::tools::sssctl;
use std::io::Write;
use std::path::Path;

fn main() {
    let mut argv = std::env::args_os().map(|a| a.to_string_lossy().into_owned());
    let program = argv.next().unwrap_or_else(|| "sssctl".to_string());
    let args: Vec<String> = argv.collect();
    let paths = Paths::system();
    let ctx = Context {
        paths: &paths,
        proc_root: Path::new("/proc"),
        // SAFETY: getuid(2) cannot fail.
        uid: unsafe { libc::getuid() },
        program: &program,
        systemd_offline: false,
        timing: Timing::default(),
    };
    let out = sssctl::run(&ctx, &args);
    let _ = std::io::stdout().write_all(out.stdout.as_bytes());
    let _ = std::io::stderr().write_all(out.stderr.as_bytes());
    std::process::exit(out.code);
}
