//! Identity benchmark (issue 2): the same glibc client loops against our daemon and Debian's
//! sssd 2.8, one after the other in one run, on the same private slapd holding the 5,000-user
//! rfc2307 tree. Memory caches are off on both sides (`memcache_timeout = 0` and
//! `SSS_NSS_USE_MEMCACHE=NO`), so every lookup goes through the responder.
//!
//! Usage (root; release artifacts built; Debian's sssd unpacked by scripts/debian-sssd.sh):
//!   identity_bench [--ours-only | --theirs-only] [--seconds N]
//! Prints one line per figure and implementation, then the ratios against the targets.

use anyhow::{Context, Result, bail};
use sssd_bench::{Figures, field, loop_binary, option_value};
use sssd_tests::interop::debian_root;
use sssd_tests::ldif::{self, Schema};
use sssd_tests::namespace::Namespace;
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{Sssd, SssdConf};
use sssd_tests::stage;
use std::path::Path;

/// Runs nss_loop inside `ns` and returns the value of `key` in its output line.
fn run_loop(ns: &Namespace, bin: &Path, args: &[&str], key: &str) -> Result<f64> {
    let mut argv = vec![bin.to_str().context("non-UTF-8 path")?];
    argv.extend_from_slice(args);
    let out = ns.run_env(&[("SSS_NSS_USE_MEMCACHE", "NO")], &argv)?;
    if !out.success() {
        bail!("nss_loop {args:?} failed: {out:?}");
    }
    let line = out.stdout.trim().to_string();
    println!("    {line}");
    field(&line, key)
}

fn measure(label: &str, root: &Path, slapd: &Slapd, secs: &str) -> Result<Figures> {
    println!("== {label} ({})", root.display());
    let bin = loop_binary("nss_loop")?;
    let ns = Namespace::new(Some(root))?;
    let conf = SssdConf::ldap(slapd, Schema::Rfc2307)
        .set("nss", "memcache_timeout", "0")
        .set("nss", "debug_level", "0")
        .domain("debug_level", "0");
    let sssd = Sssd::start(&ns, &conf).map_err(|e| anyhow::anyhow!("{label}: {e}"))?;
    let mut f = Figures::new();
    // Cold figures first, on an empty cache.
    f.insert(
        "cold getpwnam median (us)",
        run_loop(
            &ns,
            &bin,
            &["cold-pwnam", "user", "1001", "50"],
            "median_us",
        )?,
    );
    f.insert(
        "cold initgroups of `many` (us)",
        run_loop(&ns, &bin, &["once-initgr", "many", "20001"], "us")?,
    );
    f.insert(
        "cold getgrnam allusers (us)",
        run_loop(&ns, &bin, &["once-grnam", "allusers"], "us")?,
    );
    // Warm figures: everything below is cached and fresh.
    f.insert(
        "warm getpwnam (ops/s)",
        run_loop(
            &ns,
            &bin,
            &["warm-pwnam", "user", "1", "100", secs],
            "ops_per_s",
        )?,
    );
    f.insert(
        "warm getgrnam (ops/s)",
        run_loop(
            &ns,
            &bin,
            &["warm-grnam", "two_user_group", secs],
            "ops_per_s",
        )?,
    );
    f.insert(
        "warm getgrouplist (ops/s)",
        run_loop(
            &ns,
            &bin,
            &["warm-initgr", "user1", "2001", secs],
            "ops_per_s",
        )?,
    );
    drop(sssd);
    Ok(f)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let ours_only = args.iter().any(|a| a == "--ours-only");
    let secs = option_value(&args, "--seconds").unwrap_or("5").to_owned();
    let tree = ldif::rfc2307();
    let slapd = Slapd::new(&tree)?;
    if args.iter().any(|a| a == "--theirs-only") {
        measure("sssd 2.8", &debian_root()?, &slapd, &secs)?;
        return Ok(());
    }
    let ours = measure("ours", stage::shared_stage()?, &slapd, &secs)?;
    if ours_only {
        return Ok(());
    }
    let theirs = measure("sssd 2.8", &debian_root()?, &slapd, &secs)?;
    println!(
        "\n{:<34} {:>12} {:>12} {:>8}  target",
        "figure", "ours", "sssd 2.8", "ratio"
    );
    for (k, v) in &ours {
        let t = theirs.get(k).copied().unwrap_or(f64::NAN);
        let (ratio, target) = if k.contains("ops/s") {
            (
                v / t,
                if k.starts_with("warm getpwnam") {
                    ">= 2.0"
                } else {
                    ""
                },
            )
        } else {
            (
                v / t,
                match *k {
                    "cold getpwnam median (us)" => "<= 0.25",
                    _ => "<= 0.2",
                },
            )
        };
        println!("{k:<34} {v:>12.0} {t:>12.0} {ratio:>8.3}  {target}");
    }
    Ok(())
}
