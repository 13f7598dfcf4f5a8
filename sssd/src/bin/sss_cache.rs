//! `sss_cache`: expires cached users and groups so that the next lookup asks the directory
//! again, and clears the memory cache (see `sssd::tools::sss_cache`).

use sssd::paths::Paths;
use sssd::tools::sss_cache::{self, Context, memcache::Timing};
use std::io::Write;
use std::path::Path;

fn main() {
    let mut argv = std::env::args_os().map(|a| a.to_string_lossy().into_owned());
    let program = argv.next().unwrap_or_else(|| "sss_cache".to_string());
    let args: Vec<String> = argv.collect();
    let paths = Paths::system();
    let ctx = Context {
        paths: &paths,
        proc_root: Path::new("/proc"),
        // SAFETY: getuid(2) cannot fail.
        uid: unsafe { libc::getuid() },
        program: &program,
        systemd_offline: std::env::var_os("SYSTEMD_OFFLINE").is_some_and(|v| v == "1"),
        timing: Timing::default(),
    };
    let out = sss_cache::run(&ctx, &args);
    let _ = std::io::stdout().write_all(out.stdout.as_bytes());
    let _ = std::io::stderr().write_all(out.stderr.as_bytes());
    std::process::exit(out.code);
}
