//! A glibc NSS client loop: times getpwnam_r, getgrnam_r and getgrouplist through whatever
//! nsswitch.conf points at, and prints one `key=value` line.
//!
//! Usage:
//!   nss_loop warm-pwnam PREFIX FIRST COUNT SECONDS   lookups/s over PREFIX<FIRST..FIRST+COUNT>
//!   nss_loop warm-grnam NAME SECONDS                 getgrnam_r/s of one group
//!   nss_loop warm-initgr NAME GID SECONDS            getgrouplist/s of one user
//!   nss_loop cold-pwnam PREFIX FIRST COUNT           median latency of first lookups
//!   nss_loop once-pwnam NAME | once-grnam NAME | once-initgr NAME GID   one timed call

use anyhow::{Context, Result, bail};
use sssd_bench::nss;
use std::ffi::CString;
use std::time::{Duration, Instant};

fn getpwnam(name: &CString, buf: &mut Vec<u8>) -> Result<bool> {
    Ok(nss::getpwnam(name, buf))
}

fn getgrnam(name: &CString, buf: &mut Vec<u8>) -> Result<Option<usize>> {
    Ok(nss::getgrnam(name, buf))
}

fn getgrouplist(name: &CString, gid: u32) -> usize {
    let mut groups = vec![0 as libc::gid_t; 4096];
    nss::getgrouplist(name, gid, &mut groups).unwrap_or(0)
}

fn arg<'a>(args: &'a [String], i: usize, what: &str) -> Result<&'a str> {
    args.get(i)
        .map(String::as_str)
        .with_context(|| format!("missing argument {what}"))
}

fn num(args: &[String], i: usize, what: &str) -> Result<u64> {
    arg(args, i, what)?
        .parse()
        .with_context(|| format!("{what} must be a number"))
}

fn cstr(s: &str) -> Result<CString> {
    CString::new(s).context("name contains NUL")
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// User plus system CPU time this process has used so far.
fn cpu_time() -> Duration {
    // SAFETY: getrusage fills the zeroed struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Runs `op` for `seconds`; returns (successes, failures, client CPU µs per call).
fn run_for(seconds: u64, mut op: impl FnMut() -> Result<bool>) -> Result<(u64, u64, f64)> {
    let end = Instant::now() + Duration::from_secs(seconds);
    let cpu0 = cpu_time();
    let (mut ok, mut fail) = (0u64, 0u64);
    while Instant::now() < end {
        for _ in 0..64 {
            if op()? { ok += 1 } else { fail += 1 }
        }
    }
    let calls = (ok + fail).max(1) as f64;
    Ok((ok, fail, (cpu_time() - cpu0).as_secs_f64() * 1e6 / calls))
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let mode = arg(&args, 1, "mode")?;
    let mut buf = vec![0u8; 1 << 16];
    match mode {
        "warm-pwnam" => {
            let (prefix, first, count, secs) = (
                arg(&args, 2, "PREFIX")?,
                num(&args, 3, "FIRST")?,
                num(&args, 4, "COUNT")?,
                num(&args, 5, "SECONDS")?,
            );
            let names: Vec<CString> = (first..first + count)
                .map(|i| cstr(&format!("{prefix}{i:04}")))
                .collect::<Result<_>>()?;
            for n in &names {
                getpwnam(n, &mut buf)?;
            }
            let mut i = 0usize;
            let start = Instant::now();
            let (ok, fail, cpu) = run_for(secs, || {
                i = (i + 1) % names.len();
                getpwnam(&names[i], &mut buf)
            })?;
            let el = start.elapsed().as_secs_f64();
            println!(
                "mode=warm-pwnam ops={ok} failed={fail} ops_per_s={:.0} client_cpu_us={cpu:.1}",
                ok as f64 / el
            );
        }
        "warm-grnam" => {
            let (name, secs) = (cstr(arg(&args, 2, "NAME")?)?, num(&args, 3, "SECONDS")?);
            getgrnam(&name, &mut buf)?;
            let start = Instant::now();
            let (ok, fail, cpu) = run_for(secs, || Ok(getgrnam(&name, &mut buf)?.is_some()))?;
            let el = start.elapsed().as_secs_f64();
            println!(
                "mode=warm-grnam ops={ok} failed={fail} ops_per_s={:.0} client_cpu_us={cpu:.1}",
                ok as f64 / el
            );
        }
        "warm-initgr" => {
            let (name, gid, secs) = (
                cstr(arg(&args, 2, "NAME")?)?,
                num(&args, 3, "GID")? as u32,
                num(&args, 4, "SECONDS")?,
            );
            getgrouplist(&name, gid);
            let start = Instant::now();
            let (ok, fail, cpu) = run_for(secs, || Ok(getgrouplist(&name, gid) > 1))?;
            let el = start.elapsed().as_secs_f64();
            println!(
                "mode=warm-initgr ops={ok} failed={fail} ops_per_s={:.0} client_cpu_us={cpu:.1}",
                ok as f64 / el
            );
        }
        "cold-pwnam" => {
            let (prefix, first, count) = (
                arg(&args, 2, "PREFIX")?,
                num(&args, 3, "FIRST")?,
                num(&args, 4, "COUNT")?,
            );
            let mut lat = Vec::new();
            let mut fail = 0;
            for i in first..first + count {
                let n = cstr(&format!("{prefix}{i:04}"))?;
                let t = Instant::now();
                if !getpwnam(&n, &mut buf)? {
                    fail += 1;
                }
                lat.push(t.elapsed());
            }
            println!(
                "mode=cold-pwnam count={count} failed={fail} median_us={}",
                median(lat).as_micros()
            );
        }
        "once-pwnam" => {
            let n = cstr(arg(&args, 2, "NAME")?)?;
            let t = Instant::now();
            let found = getpwnam(&n, &mut buf)?;
            println!(
                "mode=once-pwnam found={found} us={}",
                t.elapsed().as_micros()
            );
        }
        "once-grnam" => {
            let n = cstr(arg(&args, 2, "NAME")?)?;
            let t = Instant::now();
            let members = getgrnam(&n, &mut buf)?;
            println!(
                "mode=once-grnam members={} us={}",
                members.map_or(-1, |m| m as i64),
                t.elapsed().as_micros()
            );
        }
        "once-initgr" => {
            let (n, gid) = (cstr(arg(&args, 2, "NAME")?)?, num(&args, 3, "GID")? as u32);
            let t = Instant::now();
            let groups = getgrouplist(&n, gid);
            println!(
                "mode=once-initgr groups={groups} us={}",
                t.elapsed().as_micros()
            );
        }
        other => bail!("unknown mode {other}"),
    }
    Ok(())
}
