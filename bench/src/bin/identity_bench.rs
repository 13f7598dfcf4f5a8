//! Identity benchmark (issue 2): the same glibc client loops against our daemon and Debian's
//! sssd 2.8, one after the other in one run, on the same private slapd holding the 5,000-user
//! rfc2307 tree. Memory caches are off on both sides (`memcache_timeout = 0` and
//! `SSS_NSS_USE_MEMCACHE=NO`), so every lookup goes through the responder.
//!
//! A warm lookup is a round trip between two processes, so its rate depends as much on where
//! the scheduler puts them as on their code: on one CPU a call costs a context switch each
//! way, on two it waits for the other CPU to wake (or to preempt whatever runs there), and
//! the scheduler picks one or the other per run (issue 8: a 2× spread between runs). By
//! default the loop and sssd_nss are therefore pinned to one CPU, for both implementations;
//! `--free` leaves placement to the scheduler. Warm figures also give the CPU time per call
//! (client plus responder), which placement and other load disturb far less than the rate.
//!
//! Usage (root; release artifacts built; Debian's sssd unpacked by scripts/debian-sssd.sh):
//!   identity_bench [--ours-only | --theirs-only] [--seconds N] [--free]
//! Prints one line per figure and implementation, then the ratios against the targets.

use anyhow::{Result, bail};
use sssd_bench::{Figures, allowed_cpus, loop_binary, option_value, pin_processes, run_nss_loop};
use sssd_tests::interop::debian_root;
use sssd_tests::ldif::{self, Schema};
use sssd_tests::namespace::Namespace;
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{Sssd, SssdConf};
use sssd_tests::stage;
use std::path::Path;

/// The environment every loop runs with: no memory cache on the client side.
const ENV: &[(&str, &str)] = &[("SSS_NSS_USE_MEMCACHE", "NO")];

/// What one measurement run shares.
struct Run<'a> {
    ns: &'a Namespace,
    bin: &'a Path,
    /// The CPU the loop and sssd_nss are pinned to, if any.
    cpu: Option<usize>,
    figures: Figures,
}

impl Run<'_> {
    /// Runs nss_loop with `args` and records its `key` value as `name`.
    fn once(&mut self, name: &'static str, args: &[&str], key: &str) -> Result<()> {
        let cpus = self.cpu.map(|c| vec![c]);
        let r = run_nss_loop(self.ns, self.bin, ENV, cpus.as_deref(), args)?;
        println!("    {}", r.line);
        self.figures.insert(name, r.get(key)?);
        Ok(())
    }

    /// Runs a warm loop; records its rate as `name` and its CPU per call as `cpu_name`.
    fn warm(&mut self, name: &'static str, cpu_name: &'static str, args: &[&str]) -> Result<()> {
        let cpus = self.cpu.map(|c| vec![c]);
        let r = run_nss_loop(self.ns, self.bin, ENV, cpus.as_deref(), args)?;
        println!("    {} responder_cpu_us={:.1}", r.line, r.responder_cpu_us);
        self.figures.insert(name, r.get("ops_per_s")?);
        self.figures.insert(cpu_name, r.cpu_us()?);
        Ok(())
    }
}

fn measure(label: &str, root: &Path, slapd: &Slapd, secs: &str, free: bool) -> Result<Figures> {
    println!("== {label} ({})", root.display());
    let bin = loop_binary("nss_loop")?;
    let ns = Namespace::new(Some(root))?;
    let conf = SssdConf::ldap(slapd, Schema::Rfc2307)
        .set("nss", "memcache_timeout", "0")
        .set("nss", "debug_level", "0")
        .domain("debug_level", "0");
    let sssd = Sssd::start(&ns, &conf).map_err(|e| anyhow::anyhow!("{label}: {e}"))?;
    let cpu = if free {
        None
    } else {
        let Some(&c) = allowed_cpus().first() else {
            bail!("no CPU to pin to");
        };
        pin_processes(&ns, "sssd_nss", &[c])?;
        println!("    (loop and sssd_nss pinned to CPU {c})");
        Some(c)
    };
    let mut run = Run {
        ns: &ns,
        bin: &bin,
        cpu,
        figures: Figures::new(),
    };
    // Cold figures first, on an empty cache.
    run.once(
        "cold getpwnam median (us)",
        &["cold-pwnam", "user", "1001", "50"],
        "median_us",
    )?;
    run.once(
        "cold initgroups of `many` (us)",
        &["once-initgr", "many", "20001"],
        "us",
    )?;
    run.once(
        "cold getgrnam allusers (us)",
        &["once-grnam", "allusers"],
        "us",
    )?;
    // Warm figures: everything below is cached and fresh.
    run.warm(
        "warm getpwnam (ops/s)",
        "warm getpwnam CPU (us/call)",
        &["warm-pwnam", "user", "1", "100", secs],
    )?;
    run.warm(
        "warm getgrnam (ops/s)",
        "warm getgrnam CPU (us/call)",
        &["warm-grnam", "two_user_group", secs],
    )?;
    run.warm(
        "warm getgrouplist user1 (ops/s)",
        "warm getgrouplist user1 CPU (us/call)",
        &["warm-initgr", "user1", "2001", secs],
    )?;
    run.warm(
        "warm getgrouplist `many` (ops/s)",
        "warm getgrouplist `many` CPU (us/call)",
        &["warm-initgr", "many", "20001", secs],
    )?;
    let figures = run.figures;
    drop(sssd);
    Ok(figures)
}

/// The target for the ratio ours / sssd 2.8 of figure `k`, if it sets one.
fn target(k: &str) -> &'static str {
    match k {
        "warm getpwnam (ops/s)" => ">= 2.0",
        "cold getpwnam median (us)" => "<= 0.25",
        "cold initgroups of `many` (us)" | "cold getgrnam allusers (us)" => "<= 0.2",
        _ => "",
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let ours_only = args.iter().any(|a| a == "--ours-only");
    let secs = option_value(&args, "--seconds").unwrap_or("5").to_owned();
    let free = args.iter().any(|a| a == "--free");
    let tree = ldif::rfc2307();
    let slapd = Slapd::new(&tree)?;
    if args.iter().any(|a| a == "--theirs-only") {
        measure("sssd 2.8", &debian_root()?, &slapd, &secs, free)?;
        return Ok(());
    }
    let ours = measure("ours", stage::shared_stage()?, &slapd, &secs, free)?;
    if ours_only {
        return Ok(());
    }
    let theirs = measure("sssd 2.8", &debian_root()?, &slapd, &secs, free)?;
    println!(
        "\n{:<40} {:>12} {:>12} {:>8}  target",
        "figure", "ours", "sssd 2.8", "ratio"
    );
    for (k, v) in &ours {
        let t = theirs.get(k).copied().unwrap_or(f64::NAN);
        println!("{k:<40} {v:>12.1} {t:>12.1} {:>8.3}  {}", v / t, target(k));
    }
    for (label, f) in [("ours", &ours), ("sssd 2.8", &theirs)] {
        let rate = |k: &str| f.get(k).copied().unwrap_or(f64::NAN);
        println!(
            "{label}: warm getgrouplist `many` is {:.2}x slower than warm getpwnam (issue 8: <= 2)",
            rate("warm getpwnam (ops/s)") / rate("warm getgrouplist `many` (ops/s)")
        );
    }
    Ok(())
}
