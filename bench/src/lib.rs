//! Benchmarks of the identity and authentication paths, run side by side against our daemon
//! and Debian's sssd. This library holds what the bench drivers share: finding the loop
//! binaries, reading the command line and the loops' output (Debian's unpacked sssd is
//! [`sssd_tests::interop::debian_root`]).

pub mod mc;
pub mod nss;

use anyhow::{Context, Result, bail};
use sssd_tests::namespace::Namespace;
use sssd_tests::stage;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Figures of one implementation, by name.
pub type Figures = BTreeMap<&'static str, f64>;

/// The release build of the loop binary `name` (`nss_loop`, `mc_loop`, `pam_loop`).
pub fn loop_binary(name: &str) -> Result<PathBuf> {
    let p = stage::artifacts_dir().join(name);
    if !p.exists() {
        bail!(
            "{} missing: cargo build --release -p sssd-bench",
            p.display()
        );
    }
    Ok(p)
}

/// The word after `option` on the command line (`--seconds 5` → `5`).
pub fn option_value<'a>(args: &'a [String], option: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == option)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// The number after `key=` in a loop's `key=value ...` output line.
pub fn field(line: &str, key: &str) -> Result<f64> {
    for kv in line.split_whitespace() {
        if let Some(v) = kv.strip_prefix(key).and_then(|r| r.strip_prefix('=')) {
            return v.parse().with_context(|| format!("bad {key} in {line:?}"));
        }
    }
    bail!("no {key} in {line:?}")
}

/// The CPUs this process may run on (`sched_getaffinity`); `[0]` if that fails.
pub fn allowed_cpus() -> Vec<usize> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; sched_getaffinity fills it.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) };
    if rc != 0 {
        return vec![0];
    }
    let n = 8 * std::mem::size_of_val(&set);
    // SAFETY: c is below the set's size in bits.
    (0..n)
        .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
        .collect()
}

/// `taskset` CPU list text for `cpus` (`0,1`).
fn cpu_list(cpus: &[usize]) -> String {
    cpus.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Sets the CPU affinity of every process named `comm` in `ns` (all its threads) to `cpus`;
/// fails when there is none.
pub fn pin_processes(ns: &Namespace, comm: &str, cpus: &[usize]) -> Result<()> {
    let pids = ns.processes_named(comm);
    if pids.is_empty() {
        bail!("no process named {comm} in the namespace");
    }
    for pid in pids {
        let out = Command::new("taskset")
            .args(["-a", "-p", "-c", &cpu_list(cpus), &pid.to_string()])
            .output()
            .context("run taskset")?;
        if !out.status.success() {
            bail!(
                "taskset -apc {} {pid} ({comm}): {}",
                cpu_list(cpus),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    Ok(())
}

/// Restricts the calling thread to `cpus`.
pub fn pin_self(cpus: &[usize]) -> Result<()> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET stays within it for the
    // CPU numbers sched_getaffinity reported.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &c in cpus {
        unsafe { libc::CPU_SET(c, &mut set) };
    }
    // SAFETY: set is a valid cpu_set_t of the size passed.
    let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) };
    if rc != 0 {
        bail!("sched_setaffinity: {}", std::io::Error::last_os_error());
    }
    Ok(())
}

/// CPU seconds (user + system, all threads) used so far by the processes named `comm` in `ns`.
pub fn cpu_seconds(ns: &Namespace, comm: &str) -> f64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    ns.processes_named(comm)
        .into_iter()
        .map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // Fields after the command name: state is field 3, utime 14, stime 15.
            let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
            (ticks(11) + ticks(12)) / hz
        })
        .sum()
}

/// One nss_loop run: its output line and the NSS responder's CPU time per call.
#[derive(Debug, Clone)]
pub struct LoopRun {
    /// The `key=value ...` line nss_loop printed.
    pub line: String,
    /// CPU µs sssd_nss spent per call during the run (NaN when the line has no `ops`).
    pub responder_cpu_us: f64,
}

impl LoopRun {
    /// The number after `key=` in the line.
    pub fn get(&self, key: &str) -> Result<f64> {
        field(&self.line, key)
    }

    /// Client plus responder CPU µs per call.
    pub fn cpu_us(&self) -> Result<f64> {
        Ok(self.get("client_cpu_us")? + self.responder_cpu_us)
    }
}

/// Runs nss_loop (`bin`) with `args` inside `ns`, with `env` added to its environment and,
/// when `cpus` is given, restricted to those CPUs (`taskset -c`); measures sssd_nss's CPU
/// time meanwhile.
pub fn run_nss_loop(
    ns: &Namespace,
    bin: &Path,
    env: &[(&str, &str)],
    cpus: Option<&[usize]>,
    args: &[&str],
) -> Result<LoopRun> {
    let mut argv: Vec<String> = Vec::new();
    if let Some(cpus) = cpus {
        argv.extend(["taskset".into(), "-c".into(), cpu_list(cpus)]);
    }
    argv.push(bin.to_str().context("non-UTF-8 path")?.to_owned());
    argv.extend(args.iter().map(|a| (*a).to_owned()));
    let before = cpu_seconds(ns, "sssd_nss");
    let out = ns.run_env(env, &argv)?;
    let spent = cpu_seconds(ns, "sssd_nss") - before;
    if !out.success() {
        bail!("nss_loop {args:?} failed: {out:?}");
    }
    let line = out.stdout.trim().to_string();
    let ops = field(&line, "ops").unwrap_or(f64::NAN);
    Ok(LoopRun {
        line,
        responder_cpu_us: spent * 1e6 / ops,
    })
}

/// The median of `values` (the mean of the middle two for an even count); NaN when empty.
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match (v.get(n / 2), n.checked_sub(1).and_then(|m| v.get(m / 2))) {
        (Some(hi), Some(lo)) if n.is_multiple_of(2) => (hi + lo) / 2.0,
        (Some(mid), _) => *mid,
        _ => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[7.0]), 7.0);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn field_reads_the_named_value_only() {
        let line = "auths=10 failures=0 auths_per_s=12.5 last_status=0";
        assert_eq!(field(line, "auths_per_s").ok(), Some(12.5));
        assert_eq!(field(line, "auths").ok(), Some(10.0));
        assert!(field(line, "auths_per").is_err());
        assert!(field("us=x", "us").is_err());
    }

    #[test]
    fn option_value_takes_the_next_word() {
        let args: Vec<String> = ["b", "--seconds", "3"].map(String::from).to_vec();
        assert_eq!(option_value(&args, "--seconds"), Some("3"));
        assert_eq!(option_value(&args, "--other"), None);
    }

    #[test]
    fn cpu_list_and_allowed_cpus() {
        assert_eq!(cpu_list(&[0, 3]), "0,3");
        let cpus = allowed_cpus();
        assert!(!cpus.is_empty());
        assert!(cpus.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn loop_run_adds_client_and_responder_cpu() {
        let r = LoopRun {
            line: "mode=warm-pwnam ops=10 failed=0 ops_per_s=5 client_cpu_us=8.5".into(),
            responder_cpu_us: 6.0,
        };
        assert_eq!(r.cpu_us().ok(), Some(14.5));
        assert_eq!(r.get("ops_per_s").ok(), Some(5.0));
    }
}
