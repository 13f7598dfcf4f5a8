//! A libpam client loop in one process: `pam_start` / `pam_authenticate` / `pam_end` for a
//! number of seconds, the password supplied by a conversation callback, and one `key=value`
//! line of results (what pamtester does once, repeated without process start-up).
//!
//! Usage: pam_loop SERVICE USER SECONDS   (the password is the first line of stdin)
//! Output: `auths=N failures=F seconds=S auths_per_s=X last_status=C`

use anyhow::{Context, Result, bail};
use sssd_tests::pam_app::{PAM_SUCCESS, authenticate};
use std::ffi::CString;
use std::io::BufRead;
use std::time::{Duration, Instant};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, service, user, seconds] = args.as_slice() else {
        bail!("usage: pam_loop SERVICE USER SECONDS (password on stdin)");
    };
    let seconds: f64 = seconds.parse().context("SECONDS")?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = CString::new(line.trim_end_matches('\n')).context("password has a NUL")?;
    let service = CString::new(service.as_str())?;
    let user = CString::new(user.as_str())?;
    // One untimed login first (resolves the user, warms caches and connections).
    let first = authenticate(&service, &user, &password);
    if first != PAM_SUCCESS {
        bail!("first authentication failed: PAM status {first}");
    }
    let budget = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let (mut auths, mut failures, mut last) = (0u64, 0u64, PAM_SUCCESS);
    while start.elapsed() < budget {
        last = authenticate(&service, &user, &password);
        auths += 1;
        if last != PAM_SUCCESS {
            failures += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "auths={auths} failures={failures} seconds={secs:.2} auths_per_s={:.1} last_status={last}",
        auths as f64 / secs
    );
    Ok(())
}
