//! Identity benchmark (issue 2): the same glibc client loops against our daemon and Debian's
//! sssd 2.8, one after the other in one run, on the same private slapd holding the 5,000-user
//! rfc2307 tree. Memory caches are off on both sides (`memcache_timeout = 0` and
//! `SSS_NSS_USE_MEMCACHE=NO`), so every lookup goes through the responder.
//!
//! Usage (root; release artifacts built; Debian's sssd unpacked by scripts/debian-sssd.sh):
//!   identity_bench [--ours-only | --theirs-only] [--seconds N]
//! Prints one line per figure and implementation, then the ratios against the targets.

use anyhow::{Context, Result, bail};
use sssd_tests::ldif::{self, Schema};
use sssd_tests::namespace::Namespace;
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{Sssd, SssdConf};
use sssd_tests::stage;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Figures of one implementation, by name.
type Figures = BTreeMap<&'static str, f64>;

fn loop_binary() -> Result<PathBuf> {
    let p = stage::artifacts_dir().join("nss_loop");
    if !p.exists() {
        bail!(
            "{} missing: cargo build --release -p sssd-bench",
            p.display()
        );
    }
    Ok(p)
}

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
    for kv in line.split_whitespace() {
        if let Some(v) = kv.strip_prefix(key).and_then(|r| r.strip_prefix('=')) {
            return v.parse().with_context(|| format!("bad {key} in {line:?}"));
        }
    }
    bail!("no {key} in {line:?}")
}

fn measure(label: &str, root: &Path, slapd: &Slapd, secs: &str) -> Result<Figures> {
    println!("== {label} ({})", root.display());
    let bin = loop_binary()?;
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

fn debian_root() -> Result<PathBuf> {
    let script = stage::workspace_root().join("scripts/debian-sssd.sh");
    let out = Command::new("bash").arg(&script).output()?;
    if !out.status.success() {
        bail!(
            "{}: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let ours_only = args.iter().any(|a| a == "--ours-only");
    let secs = args
        .iter()
        .position(|a| a == "--seconds")
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| "5".into());
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
