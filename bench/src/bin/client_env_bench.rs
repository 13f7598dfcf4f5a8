//! Issue 8's report "with SSS_NSS_USE_MEMCACHE unset the client is 2× slower than with it set
//! to NO": warm getpwnam through the responder (`memcache_timeout = 0`, `passwd: sss` alone in
//! nsswitch.conf), the variable unset and `NO` in alternation, under three placements of the
//! loop and sssd_nss: left to the scheduler, on one CPU, on two different CPUs.
//!
//! Usage (root; release artifacts built):
//!   client_env_bench [--theirs] [--rounds N] [--seconds N]
//! `--theirs` runs Debian's sssd 2.8 (daemon and client) instead of ours. Prints every run,
//! then the median rate and CPU time per call for each placement and setting.

use anyhow::{Result, bail};
use sssd_bench::{LoopRun, allowed_cpus, loop_binary, option_value, pin_processes, run_nss_loop};
use sssd_tests::interop::debian_root;
use sssd_tests::ldif::{self, Schema};
use sssd_tests::namespace::Namespace;
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{Sssd, SssdConf};
use sssd_tests::stage;

/// nsswitch.conf with sss alone for users and groups. Written once the daemon runs: sssd 2.8
/// refuses to start when it cannot resolve root through NSS.
const SSS_ONLY: &str = "passwd: sss\ngroup: sss\nshadow: files\nhosts: files\n";

/// Where the loop and the responder may run.
struct Placement {
    name: &'static str,
    client: Vec<usize>,
    responder: Vec<usize>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let theirs = args.iter().any(|a| a == "--theirs");
    let rounds: usize = option_value(&args, "--rounds").unwrap_or("3").parse()?;
    let secs = option_value(&args, "--seconds").unwrap_or("2").to_owned();
    let cpus = allowed_cpus();
    let (Some(&c0), Some(&c1)) = (cpus.first(), cpus.get(1)) else {
        bail!("needs two CPUs, has {cpus:?}");
    };
    let placements = [
        Placement {
            name: "free",
            client: cpus.clone(),
            responder: cpus.clone(),
        },
        Placement {
            name: "one CPU",
            client: vec![c0],
            responder: vec![c0],
        },
        Placement {
            name: "two CPUs",
            client: vec![c0],
            responder: vec![c1],
        },
    ];
    let settings: [(&str, &[(&str, &str)]); 2] =
        [("unset", &[]), ("NO", &[("SSS_NSS_USE_MEMCACHE", "NO")])];

    let slapd = Slapd::new(&ldif::rfc2307())?;
    let root = if theirs {
        debian_root()?
    } else {
        stage::shared_stage()?.to_path_buf()
    };
    let ns = Namespace::new(Some(&root))?;
    let conf = SssdConf::ldap(&slapd, Schema::Rfc2307)
        .set("nss", "memcache_timeout", "0")
        .set("nss", "debug_level", "0")
        .domain("debug_level", "0");
    let _sssd = Sssd::start(&ns, &conf).map_err(|e| anyhow::anyhow!("{e}"))?;
    ns.write_file("/etc/nsswitch.conf", SSS_ONLY.as_bytes(), 0o644)?;
    let bin = loop_binary("nss_loop")?;
    let loop_args = ["warm-pwnam", "user", "1", "100", secs.as_str()];
    println!(
        "== {} ({}), passwd: sss only",
        if theirs { "sssd 2.8" } else { "ours" },
        root.display()
    );

    let mut results: Vec<(&str, &str, Vec<LoopRun>)> = Vec::new();
    for p in &placements {
        pin_processes(&ns, "sssd_nss", &p.responder)?;
        for (setting, _) in &settings {
            results.push((p.name, setting, Vec::new()));
        }
        for round in 1..=rounds {
            for (i, (setting, env)) in settings.iter().enumerate() {
                let r = run_nss_loop(&ns, &bin, env, Some(&p.client), &loop_args)?;
                println!(
                    "{:<9} round {round} {setting:<5} {} responder_cpu_us={:.1}",
                    p.name, r.line, r.responder_cpu_us
                );
                let at = results.len() - settings.len() + i;
                if let Some(slot) = results.get_mut(at) {
                    slot.2.push(r);
                }
            }
        }
    }

    println!(
        "\n{:<9} {:<6} {:>12} {:>12} {:>14} {:>14}",
        "placement", "var", "ops/s", "us/call", "client CPU us", "resp. CPU us"
    );
    for (placement, setting, runs) in &results {
        let m = |f: &dyn Fn(&LoopRun) -> f64| median(runs.iter().map(f).collect());
        let rate = m(&|r| r.get("ops_per_s").unwrap_or(f64::NAN));
        println!(
            "{placement:<9} {setting:<6} {rate:>12.0} {:>12.1} {:>14.1} {:>14.1}",
            1e6 / rate,
            m(&|r| r.get("client_cpu_us").unwrap_or(f64::NAN)),
            m(&|r| r.responder_cpu_us),
        );
    }
    Ok(())
}
