//! `sss_ssh_knownhostsproxy`: ssh's `ProxyCommand` that has SSSD publish a host's keys in
//! `/var/lib/sss/pubconf/known_hosts` before connecting (see
//! `sssd::tools::ssh_knownhostsproxy`).

use sssd::paths::Paths;
use sssd::tools::ssh_knownhostsproxy;

fn main() {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let code = ssh_knownhostsproxy::run(&Paths::system().pipes.join("ssh"), &args);
    std::process::exit(code);
}
