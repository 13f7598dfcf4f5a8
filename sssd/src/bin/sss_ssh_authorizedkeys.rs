//! `sss_ssh_authorizedkeys`: prints a user's SSH public keys from SSSD (see
//! `sssd::tools::ssh_authorizedkeys`).

use sssd::paths::Paths;
use sssd::tools::ssh_authorizedkeys;
use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let out = ssh_authorizedkeys::run(&Paths::system().pipes.join("ssh"), &args);
    // sshd may close the pipe once it found the key: a write error is not a failure.
    let _ = std::io::stdout().write_all(&out.stdout);
    let _ = std::io::stderr().write_all(out.stderr.as_bytes());
    std::process::exit(out.code);
}
