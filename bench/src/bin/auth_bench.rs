//! Authentication benchmark (issue 3): authentications per second through libpam in one
//! process (`pam_loop`: pam_start/pam_authenticate/pam_end with `pam_sss.so`), against our
//! daemon and Debian's sssd 2.8 one after the other, on the same private slapd and MIT KDC,
//! for `auth_provider = ldap` and `krb5`. Every authentication reaches the backend
//! (`cached_auth_timeout = 0`, the default).
//!
//! Usage (root; release artifacts built; Debian's sssd unpacked by scripts/debian-sssd.sh):
//!   auth_bench [--ours-only | --theirs-only] [--seconds N]
//! Prints one line per run, then a table with the ratios against the target (>= 1.5).

use anyhow::{Context, Result, bail};
use sssd_bench::{Figures, field, loop_binary, option_value};
use sssd_tests::interop::debian_root;
use sssd_tests::kdc::{Kdc, REALM};
use sssd_tests::ldif::{self, Schema};
use sssd_tests::namespace::Namespace;
use sssd_tests::pam::{self, CCACHE_DIR, krb5_password};
use sssd_tests::proc;
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{Sssd, SssdConf};
use sssd_tests::stage;
use std::path::Path;
use std::time::Duration;

const SERVICE: &str = "sssd-bench";

/// Runs pam_loop for `user` inside `ns` and returns its auths_per_s.
fn run_loop(ns: &Namespace, user: &str, password: &str, secs: u64) -> Result<f64> {
    let bin = loop_binary("pam_loop")?;
    let argv = [
        bin.to_str().context("non-UTF-8 path")?.to_owned(),
        SERVICE.to_owned(),
        user.to_owned(),
        secs.to_string(),
    ];
    let out = proc::run(
        &mut ns.command(&argv),
        Some(format!("{password}\n").as_bytes()),
        Duration::from_secs(secs + 60),
    )?;
    if !out.success() {
        bail!("pam_loop {user} failed: {out:?}");
    }
    let line = out.stdout.trim().to_string();
    println!("    {line}");
    if !line.contains("failures=0 ") {
        bail!("some authentications failed: {line}");
    }
    field(&line, "auths_per_s")
}

fn quiet(conf: SssdConf) -> SssdConf {
    conf.set("nss", "debug_level", "0")
        .set("pam", "debug_level", "0")
        .domain("debug_level", "0")
}

fn measure(label: &str, root: &Path, slapd: &Slapd, kdc: &Kdc, secs: u64) -> Result<Figures> {
    println!("== {label} ({})", root.display());
    let mut f = Figures::new();
    {
        let ns = Namespace::new(Some(root))?;
        let conf = quiet(SssdConf::ldap_pam(slapd, Schema::Rfc2307));
        let sssd = Sssd::start(&ns, &conf).map_err(|e| anyhow::anyhow!("{label}: {e}"))?;
        pam::wait_for_socket(&ns)?;
        pam::install_service(&ns, SERVICE, "")?;
        f.insert(
            "ldap auths/s",
            run_loop(&ns, "user1", "Password1001", secs)?,
        );
        drop(sssd);
    }
    {
        let ns = Namespace::new(Some(root))?;
        pam::setup_krb5(&ns, kdc, None, false)?;
        let conf = quiet(SssdConf::ldap_pam(slapd, Schema::Rfc2307))
            .domain("auth_provider", "krb5")
            .domain("krb5_server", &kdc.server())
            .domain("krb5_realm", REALM)
            .domain("krb5_ccachedir", CCACHE_DIR)
            .domain("krb5_ccname_template", "FILE:%d/krb5cc_%U");
        let sssd = Sssd::start(&ns, &conf).map_err(|e| anyhow::anyhow!("{label}: {e}"))?;
        pam::wait_for_socket(&ns)?;
        pam::install_service(&ns, SERVICE, "")?;
        f.insert(
            "krb5 auths/s",
            run_loop(&ns, "user1", &krb5_password(1001), secs)?,
        );
        drop(sssd);
    }
    Ok(f)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let secs: u64 = option_value(&args, "--seconds")
        .map(str::parse)
        .transpose()
        .context("--seconds N")?
        .unwrap_or(5);
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(20))?;
    let kdc = Kdc::new()?;
    kdc.add_principal("user1", &krb5_password(1001))?;
    if args.iter().any(|a| a == "--theirs-only") {
        measure("sssd 2.8", &debian_root()?, &slapd, &kdc, secs)?;
        return Ok(());
    }
    let ours = measure("ours", stage::shared_stage()?, &slapd, &kdc, secs)?;
    if args.iter().any(|a| a == "--ours-only") {
        return Ok(());
    }
    let theirs = measure("sssd 2.8", &debian_root()?, &slapd, &kdc, secs)?;
    println!(
        "\n{:<16} {:>10} {:>10} {:>8}  target",
        "figure", "ours", "sssd 2.8", "ratio"
    );
    for (k, v) in &ours {
        let t = theirs.get(k).copied().unwrap_or(f64::NAN);
        println!("{k:<16} {v:>10.1} {t:>10.1} {:>8.2}  >= 1.5", v / t);
    }
    Ok(())
}
