//! sudo benchmark (issue 10): warm `sudo -n -l -U user1` (sudoers: files sss) against our
//! daemon and Debian's sssd 2.8, one after the other in one run, on the same private slapd
//! with the same sudo rules (tests/schema/sudo.schema). Each call is a whole `sudo`
//! process: exec, its sudoers parsing, two requests on the sudo socket (defaults and rules)
//! and the listing, so the rate measures what an administrator waits for.
//!
//! Usage (root; release artifacts built; Debian's sssd unpacked by scripts/debian-sssd.sh):
//!   sudo_bench [--seconds N]

use anyhow::{Result, bail};
use sssd_bench::option_value;
use sssd_tests::interop::debian_root;
use sssd_tests::ldif::{self, Schema};
use sssd_tests::namespace::{NSSWITCH_CONF, Namespace};
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{Sssd, SssdConf};
use sssd_tests::stage;
use std::path::Path;
use std::time::{Duration, Instant};

fn rules(base: &str) -> String {
    let mut s = format!("dn: ou=SUDOers,{base}\nobjectClass: organizationalUnit\nou: SUDOers\n\n");
    for (cn, user, cmd) in [
        ("r_user", "user1", "/usr/bin/true"),
        ("r_group", "%one_user_group1", "/usr/bin/id"),
        ("r_nested", "%group_one_user_group", "/usr/bin/whoami"),
        ("r_all", "ALL", "/usr/bin/env"),
    ] {
        s += &format!(
            "dn: cn={cn},ou=SUDOers,{base}\nobjectClass: sudoRole\ncn: {cn}\nsudoUser: {user}\n\
             sudoHost: ALL\nsudoCommand: {cmd}\nsudoOption: !authenticate\n\n"
        );
    }
    s
}

/// Calls per second of `sudo -n -l -U user1` with the product under `root`.
fn rate(root: &Path, slapd: &Slapd, seconds: u64) -> Result<f64> {
    let nss = format!("{NSSWITCH_CONF}sudoers: files sss\n");
    let ns = Namespace::with_nsswitch(Some(root), &nss)?;
    let conf = SssdConf::ldap(slapd, Schema::Rfc2307bis)
        .set("sssd", "services", "nss, sudo")
        .domain(
            "ldap_sudo_search_base",
            &format!("ou=SUDOers,{}", slapd.base()),
        );
    let _sssd = Sssd::start(&ns, &conf)?;
    let argv = ["sudo", "-n", "-l", "-U", "user1"];
    let warm = Instant::now() + Duration::from_secs(30);
    loop {
        let out = ns.run(&argv)?;
        if out.stdout.contains("/usr/bin/whoami") {
            break;
        }
        if Instant::now() > warm {
            bail!("the rules never showed up: {out:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(seconds) {
        let out = ns.run(&argv)?;
        if !out.stdout.contains("/usr/bin/whoami") {
            bail!("sudo -l lost the rules: {out:?}");
        }
        n += 1;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seconds = option_value(&args, "--seconds")
        .map(|v| v.parse())
        .transpose()?
        .unwrap_or(5);
    let ours = stage::shared_stage()?;
    let debian = debian_root()?;
    let tree = ldif::rfc2307bis();
    let slapd = Slapd::new(&tree)?;
    slapd.add(&rules(slapd.base()))?;
    let r_ours = rate(ours, &slapd, seconds)?;
    println!("ours:   warm sudo -l -U user1: {r_ours:.1}/s");
    let r_theirs = rate(&debian, &slapd, seconds)?;
    println!("debian: warm sudo -l -U user1: {r_theirs:.1}/s");
    println!("ratio ours/debian: {:.2} (target >= 2)", r_ours / r_theirs);
    Ok(())
}
