//! Memory-cache benchmark (issue 8): glibc lookups answered from the memory cache
//! (getpwnam_r, getpwuid_r, getgrnam_r of a 20-member and of a 5,000-member group,
//! getgrouplist of a user in 200 groups), single-threaded and in THREADS threads of one
//! process, for our daemon + our module, Debian's sssd 2.8 + Debian's module, and nss_files on
//! a 10,000-line /etc/passwd (the floor), side by side in one run.
//!
//! Each sssd runs in its own private namespace against the same private slapd (the 5,000-user
//! rfc2307 tree plus a 20-member group), with `memcache_timeout = 3600` so nothing expires
//! during the run. It starts under the default nsswitch.conf (`files sss`: sssd 2.8 must
//! resolve its user, root, at start); then the namespace switches to `sss` alone for passwd,
//! group and initgroups, and one lookup of each key through the daemon warms the memory cache
//! up. The files side is a namespace with `files` alone and a private /etc/passwd and
//! /etc/group. Timed rounds, daemons still running: for each lookup, round by round, each
//! side in turn runs mc_loop for one round in 1 thread then one in THREADS (so all sides, and
//! both thread counts, see the same machine load); ops/s are medians over rounds, the scaling
//! the median of the rounds' THREADS ÷ 1 ratios. A control (mc_loop `spin`: arithmetic on
//! thread-local data) runs in 1 and THREADS threads before and after each round; when it
//! scaled below 1.6 (other load took a core: the machine is shared) the round is run again,
//! up to RETRIES times, then kept as disturbed: a lookup's figures use its calm rounds when
//! it has any, and the table flags (`!`) those that had none. Last, the memory-cache check: with the
//! NSS socket renamed away, one lookup of each key must still succeed (a lookup that reached
//! for the socket would fail), then the socket is put back. After the table, glibc's floor:
//! getpwnam_r through an nsswitch.conf naming a module that does not exist (what every hit
//! of any module pays), measured the same way.
//!
//! Usage (root; release artifacts built; Debian's sssd unpacked by scripts/debian-sssd.sh):
//!   mc_bench [--ours-only | --theirs-only] [--no-files] [--seconds S] [--rounds R]
//!            [--threads T] [--retries N]
//! Defaults: 1-second rounds, 3 rounds, 8 threads, 10 retries. Prints each round, then the
//! table.

use anyhow::{Context, Result, bail};
use sssd_bench::mc::{self, Lookup};
use sssd_bench::{field, loop_binary, median, option_value};
use sssd_tests::interop::debian_root;
use sssd_tests::ldif::{Directory, Schema};
use sssd_tests::namespace::{NSSWITCH_FILES_ONLY, NSSWITCH_SSS_ONLY, Namespace};
use sssd_tests::proc;
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{NSS_SOCKET, Sssd, SssdConf};
use sssd_tests::stage;
use std::time::Duration;

/// The control's lowest scaling (1 → THREADS threads) for a round to count as undisturbed.
const CONTROL_SCALING: f64 = 1.6;
/// How long each control run lasts.
const CONTROL_SECONDS: f64 = 0.3;

/// How a run is shaped.
#[derive(Debug, Clone, Copy)]
struct Plan {
    seconds: f64,
    rounds: u32,
    threads: u32,
    retries: u32,
}

/// One side's figures for one lookup: median ops/s in one thread and in `threads` threads,
/// and the median over rounds of many ÷ one.
#[derive(Debug, Clone, Copy)]
struct Figure {
    one: f64,
    many: f64,
    scaling: f64,
    /// No round of this lookup was calm: the figures come from disturbed rounds.
    disturbed_only: bool,
}

/// One side's results, in [`mc::lookups`] order, and whether the memory-cache check passed
/// (None: not applicable, nss_files).
#[derive(Debug, Clone)]
struct Side {
    figures: Vec<Figure>,
    memcache_only: Option<bool>,
}

/// Runs mc_loop inside `ns` and returns its output line (failing on any failed lookup).
fn run_loop(ns: &Namespace, l: &Lookup, threads: u32, plan: &Plan, rounds: u32) -> Result<String> {
    let bin = loop_binary("mc_loop")?;
    let mut argv = vec![
        bin.to_str().context("non-UTF-8 path")?.to_owned(),
        l.kind.to_owned(),
        threads.to_string(),
        plan.seconds.to_string(),
        rounds.to_string(),
    ];
    argv.extend(l.keys.iter().cloned());
    let mut cmd = ns.command(&argv);
    cmd.env_remove("SSS_NSS_USE_MEMCACHE")
        .env("RUST_BACKTRACE", "0")
        .env("RUST_LIB_BACKTRACE", "0");
    let limit = Duration::from_secs_f64(plan.seconds * f64::from(rounds) + 120.0);
    let out = proc::run(&mut cmd, None, limit)?;
    let line = out.stdout.trim().to_owned();
    if !out.success() {
        bail!("mc_loop {} {threads} failed: {}", l.kind, out.stderr.trim());
    }
    let (key, want) = l.expect;
    let got = field(&line, key)?;
    if got != want as f64 {
        bail!("{}: {key}={got}, expected {want}: {line}", l.figure);
    }
    if rounds > 0 && field(&line, "failed")? != 0.0 {
        bail!("{}: some lookups failed: {line}", l.figure);
    }
    Ok(line)
}

/// The ops/s of one timed round of `l` in `threads` threads inside `ns`.
fn one_round(ns: &Namespace, l: &Lookup, threads: u32, plan: &Plan) -> Result<f64> {
    let line = run_loop(ns, l, threads, plan, 1)?;
    field(&line, "ops_per_s")
}

/// One side's rounds of one lookup: (1-thread ops/s, `threads`-thread ops/s) per round.
type Rounds = Vec<Round>;

/// One side's round of one lookup.
#[derive(Debug, Clone, Copy)]
struct Round {
    /// ops/s in one thread.
    one: f64,
    /// ops/s in `threads` threads, right after.
    many: f64,
    /// Whether the control scaled >= [`CONTROL_SCALING`] before and after.
    calm: bool,
}

/// The figure of a side's rounds: medians of each column, and the median of the per-round
/// scaling (each round's two runs are back to back, so they share the machine's load), over
/// the calm rounds, or over all rounds when none was calm (then flagged).
fn summarize(rounds: &Rounds) -> Figure {
    let calm: Vec<Round> = rounds.iter().copied().filter(|r| r.calm).collect();
    let used = if calm.is_empty() { rounds } else { &calm };
    let col = |f: fn(&Round) -> f64| median(&used.iter().map(f).collect::<Vec<_>>());
    Figure {
        one: col(|r| r.one),
        many: col(|r| r.many),
        scaling: col(|r| r.many / r.one),
        disturbed_only: calm.is_empty(),
    }
}

/// The control's scaling right now: mc_loop `spin` (thread-local arithmetic, nothing shared)
/// for [`CONTROL_SECONDS`] in 1 thread, then in `plan.threads`.
fn control(ns: &Namespace, plan: &Plan) -> Result<f64> {
    let spin = mc::control();
    let short = Plan {
        seconds: CONTROL_SECONDS,
        ..*plan
    };
    let one = one_round(ns, &spin, 1, &short)?;
    let many = one_round(ns, &spin, plan.threads, &short)?;
    Ok(many / one)
}

/// The timed rounds of every lookup for every side. In each round every side runs in turn
/// (the first side rotating) one round in one thread then one in `plan.threads`, so that all
/// sides, and both thread counts, see the same machine load. The control runs before and
/// after each round; a round during which it scaled below [`CONTROL_SCALING`] (other load
/// took a core) is run again, up to `plan.retries` times, then kept, marked disturbed (figures
/// use a lookup's calm rounds when it has any). Returns the figures per side, in `sides`
/// order, and the number of disturbed rounds kept.
fn measure(
    sides: &[(&str, &Namespace)],
    lookups: &[Lookup],
    plan: &Plan,
) -> Result<(Vec<Vec<Figure>>, u32)> {
    let n = sides.len();
    let ctl_ns = sides
        .first()
        .map(|(_, ns)| *ns)
        .context("no side to measure")?;
    let mut figures: Vec<Vec<Figure>> = vec![Vec::new(); n];
    let mut disturbed = 0;
    for l in lookups {
        let mut rounds: Vec<Rounds> = vec![Vec::new(); n];
        for r in 0..plan.rounds as usize {
            for attempt in 0..=plan.retries {
                let before = control(ctl_ns, plan)?;
                let mut pairs = Vec::new();
                for k in 0..n {
                    let i = (k + r) % n;
                    let (label, ns) = sides.get(i).context("side index")?;
                    let run = |threads| {
                        one_round(ns, l, threads, plan)
                            .with_context(|| format!("{label}: {} in {threads} threads", l.figure))
                    };
                    pairs.push((i, run(1)?, run(plan.threads)?));
                }
                let after = control(ctl_ns, plan)?;
                let calm = before.min(after) >= CONTROL_SCALING;
                if calm || attempt == plan.retries {
                    if !calm {
                        disturbed += 1;
                        println!(
                            "      {} round {}: control {before:.2}/{after:.2}, kept anyway",
                            l.figure,
                            r + 1
                        );
                    }
                    for (i, one, many) in pairs {
                        let round = Round { one, many, calm };
                        rounds.get_mut(i).context("side index")?.push(round);
                    }
                    break;
                }
                println!(
                    "      {} round {}: control {before:.2}/{after:.2}, disturbed, again",
                    l.figure,
                    r + 1
                );
            }
        }
        println!(
            "    {} (ops/s in 1 / {} threads, per round):",
            l.figure, plan.threads
        );
        for ((label, _), (rounds, figures)) in sides.iter().zip(rounds.iter().zip(&mut figures)) {
            let each: Vec<String> = rounds
                .iter()
                .map(|r| {
                    let mark = if r.calm { "" } else { "(disturbed)" };
                    format!("{:.0}/{:.0}{mark}", r.one, r.many)
                })
                .collect();
            println!("      {label:<9} {}", each.join("  "));
            figures.push(summarize(rounds));
        }
    }
    Ok((figures, disturbed))
}

/// Starts one sssd (ours or Debian's, per the namespace's staged root) against `slapd`,
/// switches the namespace to `sss` alone, and warms the memory cache up with one lookup of
/// each key through the daemon.
fn start_sssd<'ns>(
    label: &str,
    ns: &'ns Namespace,
    slapd: &Slapd,
    plan: &Plan,
) -> Result<Sssd<'ns>> {
    println!("== {label}: starting sssd");
    // The daemon starts under the default `files sss`: sssd 2.8 resolves its service user
    // (root) with getpwnam at start and exits 4 when it cannot. The loops, started after the
    // switch, see `sss` alone.
    let conf = SssdConf::ldap(slapd, Schema::Rfc2307)
        .set("nss", "memcache_timeout", "3600")
        .set("nss", "debug_level", "0")
        .domain("debug_level", "0");
    let sssd = Sssd::start(ns, &conf).map_err(|e| anyhow::anyhow!("{label}: {e}"))?;
    ns.set_nsswitch(NSSWITCH_SSS_ONLY)?;
    for l in mc::lookups() {
        let line = run_loop(ns, &l, 1, plan, 0)
            .with_context(|| format!("{label}: warm-up of {}", l.figure))?;
        println!("    warm-up {line}");
    }
    Ok(sssd)
}

/// Renames the NSS socket away, runs one lookup of each key, and puts it back: true when
/// every key was still answered (so from the memory cache).
fn memcache_check(label: &str, ns: &Namespace, plan: &Plan) -> Result<bool> {
    let socket = ns.host_path(NSS_SOCKET);
    let hidden = ns.host_path(&format!("{NSS_SOCKET}.hidden-by-mc-bench"));
    std::fs::rename(&socket, &hidden)
        .with_context(|| format!("rename {} away", socket.display()))?;
    let mut ok = true;
    for l in mc::lookups() {
        match run_loop(ns, &l, 1, plan, 0) {
            Ok(line) => println!("    {label}, socket hidden: {line}"),
            Err(e) => {
                println!("    {label}, socket hidden: {}: {e:#}", l.figure);
                ok = false;
            }
        }
    }
    std::fs::rename(&hidden, &socket).with_context(|| format!("put {} back", socket.display()))?;
    Ok(ok)
}

/// A namespace with nss_files alone on a private 10,000-line /etc/passwd and the matching
/// /etc/group.
fn files_namespace(tree: &Directory) -> Result<Namespace> {
    println!("== files: nss_files on {} passwd lines", mc::PASSWD_LINES);
    let ns = Namespace::with_nsswitch(None, NSSWITCH_FILES_ONLY)?;
    let base = |path: &str| -> Result<String> {
        Ok(String::from_utf8_lossy(&ns.read_file(path)?).into_owned())
    };
    let passwd = mc::passwd_file(&base("/etc/passwd")?, tree)
        .context("the host's /etc/passwd is too long for a 10,000-line file")?;
    ns.write_file("/etc/passwd", passwd.as_bytes(), 0o644)?;
    let group = mc::group_file(&base("/etc/group")?, tree);
    ns.write_file("/etc/group", group.as_bytes(), 0o644)?;
    Ok(ns)
}

/// glibc's own cost of a getpwnam_r, in a namespace like the others (overlayfs /etc) whose
/// nsswitch.conf names a module that does not exist, measured like the lookups.
fn glibc_floor(plan: &Plan) -> Result<Figure> {
    println!("== glibc floor");
    let ns = Namespace::with_nsswitch(None, mc::NSSWITCH_NO_MODULE)?;
    let (figures, _) = measure(&[("floor", &ns)], &[mc::floor()], plan)?;
    figures
        .first()
        .and_then(|f| f.first())
        .copied()
        .context("no floor figure")
}

/// The three rows of the table per lookup.
#[derive(Debug, Clone, Copy)]
enum Row {
    One,
    Many,
    Scaling,
}

impl Row {
    fn value(self, f: &Figure) -> f64 {
        match self {
            Row::One => f.one,
            Row::Many => f.many,
            Row::Scaling => f.scaling,
        }
    }

    fn label(self, figure: &str, threads: u32) -> String {
        match self {
            Row::One => format!("{figure} ops/s, 1 thread"),
            Row::Many => format!("{figure} ops/s, {threads} threads"),
            Row::Scaling => format!("{figure} scaling {threads}/1"),
        }
    }

    fn decimals(self) -> usize {
        match self {
            Row::One | Row::Many => 0,
            Row::Scaling => 2,
        }
    }

    fn target(self) -> &'static str {
        match self {
            Row::One | Row::Many => ">= 1.3 (aim 1.5)",
            Row::Scaling => "ours >= 1.6",
        }
    }
}

/// A cell of the table: the value, or `pending`/`-` when that side did not run.
fn cell(v: Option<f64>, decimals: usize, missing: &str) -> String {
    match v {
        Some(v) => format!("{v:.decimals$}"),
        None => missing.to_owned(),
    }
}

fn print_table(
    plan: &Plan,
    disturbed: u32,
    ours: Option<&Side>,
    theirs: Option<&Side>,
    files: Option<&Side>,
) {
    println!(
        "\n{:<42} {:>10} {:>10} {:>10} {:>9}  target",
        "figure", "ours", "sssd 2.8", "files", "ours/sssd"
    );
    let mut flagged = false;
    for (i, l) in mc::lookups().iter().enumerate() {
        let uncertain = [ours, theirs, files]
            .iter()
            .flatten()
            .any(|s| s.figures.get(i).is_some_and(|f| f.disturbed_only));
        flagged |= uncertain;
        for row in [Row::One, Row::Many, Row::Scaling] {
            let get = |s: Option<&Side>| s.and_then(|s| s.figures.get(i)).map(|f| row.value(f));
            let (o, t, x) = (get(ours), get(theirs), get(files));
            let ratio = o.zip(t).map(|(o, t)| o / t);
            let d = row.decimals();
            let mark = if uncertain { " !" } else { "" };
            println!(
                "{:<42} {:>10} {:>10} {:>10} {:>9}  {}",
                row.label(l.figure, plan.threads) + mark,
                cell(o, d, "pending"),
                cell(t, d, "-"),
                cell(x, d, "-"),
                cell(ratio, 2, "-"),
                row.target(),
            );
        }
    }
    let check = |s: Option<&Side>| match s.and_then(|s| s.memcache_only) {
        Some(true) => "passed",
        Some(false) => "FAILED (so its figures are not all memory-cache hits)",
        None => "not run",
    };
    println!(
        "memory-cache check (all keys answered with the NSS socket hidden): ours {}, sssd 2.8 {}",
        check(ours),
        check(theirs)
    );
    let total = plan.rounds * mc::lookups().len() as u32;
    if disturbed > 0 {
        println!(
            "control: {disturbed} of {total} rounds stayed disturbed after the retries (the \
             control, spin with nothing shared, scaled below {CONTROL_SCALING} around them: other \
             load took a core); figures use a lookup's calm rounds when it has any"
        );
        if flagged {
            println!(
                "WARNING: `!` = no calm round for that lookup: its figures, the scaling above \
                 all, are low; rerun on a quieter machine"
            );
        }
    } else {
        println!(
            "control: all {total} rounds ran with the control (spin, nothing shared) scaling \
             >= {CONTROL_SCALING} before and after"
        );
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let num = |opt: &str, default: f64| -> Result<f64> {
        option_value(&args, opt)
            .map(str::parse)
            .transpose()
            .with_context(|| format!("{opt} takes a number"))
            .map(|v| v.unwrap_or(default))
    };
    let plan = Plan {
        seconds: num("--seconds", 1.0)?,
        rounds: num("--rounds", 3.0)? as u32,
        threads: num("--threads", 8.0)? as u32,
        retries: num("--retries", 10.0)? as u32,
    };
    if plan.seconds <= 0.0 || plan.rounds == 0 || plan.threads == 0 {
        bail!("--seconds, --rounds and --threads must be positive");
    }
    let ours_only = args.iter().any(|a| a == "--ours-only");
    let theirs_only = args.iter().any(|a| a == "--theirs-only");
    if ours_only && theirs_only {
        bail!("--ours-only and --theirs-only exclude each other");
    }
    println!(
        "plan: {} rounds of {} s per figure (median kept), 1 and {} threads; load average {}",
        plan.rounds,
        plan.seconds,
        plan.threads,
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    let tree = mc::tree();
    let slapd = Slapd::new(&tree)?;
    let debian = if ours_only {
        None
    } else {
        Some(debian_root()?)
    };
    let ours_ns = match theirs_only {
        true => None,
        false => Some(Namespace::new(Some(stage::shared_stage()?))?),
    };
    let theirs_ns = match &debian {
        Some(root) => Some(Namespace::new(Some(root))?),
        None => None,
    };
    let files_ns = match args.iter().any(|a| a == "--no-files") {
        true => None,
        false => Some(files_namespace(&tree)?),
    };
    let mut daemons = Vec::new();
    let mut sides: Vec<(&str, &Namespace)> = Vec::new();
    for (label, ns) in [("ours", &ours_ns), ("sssd 2.8", &theirs_ns)] {
        if let Some(ns) = ns {
            daemons.push(start_sssd(label, ns, &slapd, &plan)?);
            sides.push((label, ns));
        }
    }
    if let Some(ns) = &files_ns {
        sides.push(("files", ns));
    }
    println!("== timed rounds, sides in turn");
    let (figures, disturbed) = measure(&sides, &mc::lookups(), &plan)?;
    let mut results: Vec<(&str, Side)> = Vec::new();
    for ((label, ns), figures) in sides.iter().zip(figures) {
        let memcache_only = match *label {
            "files" => None,
            _ => Some(memcache_check(label, ns, &plan)?),
        };
        results.push((
            label,
            Side {
                figures,
                memcache_only,
            },
        ));
    }
    drop(daemons);
    let floor = glibc_floor(&plan)?;
    let side = |name: &str| results.iter().find(|(l, _)| *l == name).map(|(_, s)| s);
    print_table(
        &plan,
        disturbed,
        side("ours"),
        side("sssd 2.8"),
        side("files"),
    );
    println!(
        "glibc floor: getpwnam_r through an nsswitch.conf naming no existing module (no lookup \
         work; every hit of any module pays this): {:.0} ops/s in 1 thread, {:.0} in {}, \
         scaling {:.2}{}",
        floor.one,
        floor.many,
        plan.threads,
        floor.scaling,
        if floor.disturbed_only {
            " (disturbed rounds only)"
        } else {
            ""
        }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_is_the_median_of_each_rounds_ratio() {
        let r = |one, many| Round {
            one,
            many,
            calm: true,
        };
        let f = summarize(&vec![r(1.0, 2.0), r(2.0, 2.0), r(4.0, 12.0)]);
        assert_eq!((f.one, f.many), (2.0, 2.0));
        // Ratios 2, 1, 3: not many/one of the medians (1.0).
        assert_eq!(f.scaling, 2.0);
        assert!(!f.disturbed_only);
    }

    #[test]
    fn calm_rounds_win_over_disturbed_ones() {
        let r = |one, many, calm| Round { one, many, calm };
        let f = summarize(&vec![
            r(1.0, 1.0, false),
            r(2.0, 3.0, true),
            r(1.0, 1.0, false),
        ]);
        assert_eq!((f.one, f.many, f.scaling), (2.0, 3.0, 1.5));
        assert!(!f.disturbed_only);
        let f = summarize(&vec![r(1.0, 1.0, false), r(3.0, 3.0, false)]);
        assert_eq!(f.one, 2.0);
        assert!(f.disturbed_only);
    }
}
