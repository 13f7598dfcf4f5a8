//! AD benchmark: `id_provider = ad` against a private Samba AD DC, our daemon and Debian's
//! sssd 2.8 one after the other in one run, each in client namespaces of its own in the DC's
//! network, with the sssd.conf `realm join` writes (tests/tests/ad.rs `conf()`: id mapping,
//! GSSAPI as the joined machine account `client1$`).
//!
//! The directory holds the AD performance issue's shapes, bulk-loaded with ldbadd
//! ([`sssd_tests::samba::bulk`]): `biggroup` with 3,000 members `bulk0000`..`bulk2999` and
//! `nesteduser` in 150 groups (50 direct, 100 reached through two more levels of nesting).
//!
//! Figures:
//! - cold `id nesteduser` and cold `getent group biggroup`: each of `--reps` rounds starts a
//!   fresh daemon on a fresh (empty) cache in a fresh namespace, makes one unrelated lookup
//!   (`getent passwd administrator`: the LDAP connection, GSSAPI bind and any start-up
//!   discovery are done before the clock starts), then times the two commands (bash's `time`
//!   inside the namespace); the median over the rounds;
//! - warm `getpwnam` of 100 cached users (`nss_loop warm-pwnam`, client memory cache off with
//!   `SSS_NSS_USE_MEMCACHE=NO`, loop and sssd_nss pinned to one CPU as identity_bench does),
//!   plus warm getgrouplist of nesteduser and getgrnam of biggroup for information;
//! - Kerberos logins per second: `pam_loop` (pam_authenticate through pam_sss in a loop) as
//!   `bulk0001`, each one a Kerberos AS exchange with the DC and ticket validation against
//!   the host keytab (the AD provider's default `krb5_validate = true`).
//!
//! It also prints what each side answered (members of biggroup, groups of nesteduser), which
//! must be 3,000 and 151 (150 plus Domain Users) on both sides.
//!
//! Usage (root; release artifacts built; samba installed; Debian's sssd unpacked by
//! scripts/debian-sssd.sh):
//!   ad_bench [--ours-only | --theirs-only] [--reps N] [--seconds N] [--debug LEVEL]
//!            [--logs DIR]
//! `--debug` sets the daemons' debug level (`sssd -d`, default 0x0070 as in tests/ad.rs);
//! `--logs` keeps each daemon's /var/log/sssd under DIR/<side>-cold<round>/ and
//! DIR/<side>-warm/. `--hold` only sets the DC up and keeps it running (for investigation)
//! until SIGTERM or SIGINT, then stops it and removes its data.

use anyhow::{Context, Result, anyhow, bail};
use sssd_bench::{
    Figures, allowed_cpus, field, loop_binary, median, option_value, pin_processes, run_nss_loop,
};
use sssd_tests::interop::debian_root;
use sssd_tests::namespace::Namespace;
use sssd_tests::pam::{self, CCACHE_DIR};
use sssd_tests::proc;
use sssd_tests::samba::SambaDc;
use sssd_tests::samba::bulk::{BigGroup, NestedGroups, PASSWORD};
use sssd_tests::sssd::{Sssd, SssdConf};
use sssd_tests::stage;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The joined client's short host name.
const CLIENT: &str = "client1";
/// The PAM service pam_loop uses.
const SERVICE: &str = "sssd-bench";
/// The user of the login figure.
const LOGIN_USER: &str = "bulk0001";
/// The big group's size and the nested user's group count (the shapes).
const BIG: u32 = 3000;
const GROUPS: u32 = 150;
/// A cold lookup of a big shape may take SSSD a long time.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(900);

/// The DC with the shapes and the joined client's keytab.
struct Domain {
    dc: SambaDc,
    keytab: PathBuf,
    big: BigGroup,
    nested: NestedGroups,
}

/// Command-line settings.
struct Settings {
    reps: usize,
    secs: String,
    debug: String,
    logs: Option<PathBuf>,
}

fn setup() -> Result<Domain> {
    let t = Instant::now();
    let dc = SambaDc::new().map_err(|e| anyhow!("start the Samba DC: {e}"))?;
    println!("DC ready in {:.1} s", t.elapsed().as_secs_f64());
    // In the DC's directory (removed with it).
    let keytab = dc.dir().join("client1.keytab");
    dc.join(CLIENT, &keytab)
        .map_err(|e| anyhow!("join {CLIENT}: {e}"))?;
    let big = BigGroup::new("biggroup", BIG);
    let nested = NestedGroups::new("nesteduser", GROUPS);
    let t = Instant::now();
    dc.load_ldif(&big.ldif())
        .map_err(|e| anyhow!("load biggroup: {e}"))?;
    println!(
        "ldbadd: {BIG} users ({} with passwords) + biggroup in {:.1} s",
        big.passwords,
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    dc.load_ldif(&nested.ldif())
        .map_err(|e| anyhow!("load nested groups: {e}"))?;
    println!(
        "ldbadd: nesteduser + {GROUPS} nested groups (depth {}) in {:.1} s",
        nested.depth(),
        t.elapsed().as_secs_f64()
    );
    let last = format!("bulk{:04}", big.passwords - 1);
    dc.check_users(&["bulk0000", &last, "nesteduser"], Some(PASSWORD))
        .map_err(|e| anyhow!("check the loaded users: {e}"))?;
    let unset = format!("bulk{:04}", BIG - 1);
    dc.check_users(&[&unset, "ng149"], None)
        .map_err(|e| anyhow!("check the loaded objects: {e}"))?;
    println!(
        "checked: bulk0000, {last}, nesteduser have objectSids and get TGTs; {unset}, ng149 \
         have objectSids"
    );
    Ok(Domain {
        dc,
        keytab,
        big,
        nested,
    })
}

/// The sssd.conf `realm join` writes (id mapping on) with `debug` as every debug level and
/// `extra` domain options.
fn conf(debug: &str, extra: &[(&str, &str)]) -> SssdConf {
    sssd_tests::samba::client::realm_join_conf(CLIENT, debug, extra)
}

/// A fresh namespace on `root` in the DC's network, set up as a joined host.
fn client_on(d: &Domain, root: &Path) -> Result<Namespace> {
    Ok(sssd_tests::samba::client::joined_host(
        &d.dc, &d.keytab, root,
    )?)
}

/// Runs `argv` in `ns` under bash's `time`: (milliseconds, stdout), or the failure.
fn timed(ns: &Namespace, argv: &[&str]) -> Result<(f64, String)> {
    let mut full = vec!["bash", "-c", "TIMEFORMAT=%3R; time \"$@\"", "timed"];
    full.extend_from_slice(argv);
    let out = proc::run(&mut ns.command(&full), None, LOOKUP_TIMEOUT)?;
    let secs: Option<f64> = out
        .stderr
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok());
    match secs {
        Some(secs) if out.success() => Ok((secs * 1000.0, out.stdout)),
        _ => bail!(
            "{argv:?} failed (exit {}) after {:.1} s",
            out.code(),
            out.elapsed.as_secs_f64()
        ),
    }
}

/// A timed lookup of one round: its milliseconds (NaN when it failed, which is printed)
/// and its output (empty when it failed).
fn lookup(ns: &Namespace, argv: &[&str]) -> Result<(f64, String)> {
    match timed(ns, argv) {
        Ok(r) => Ok(r),
        Err(e) => {
            println!("    FAILED: {e:#}");
            Ok((f64::NAN, String::new()))
        }
    }
}

/// The number of members in a `getent group` line.
fn member_count(line: &str) -> usize {
    line.trim_end()
        .split(':')
        .nth(3)
        .map_or(0, |m| m.split(',').filter(|s| !s.is_empty()).count())
}

/// The number of groups `id` lists.
fn id_group_count(line: &str) -> usize {
    line.trim_end()
        .split_once("groups=")
        .map_or(0, |(_, g)| g.split(',').count())
}

/// Copies the namespace's /var/log/sssd to `<logs>/<name>/` when `--logs` is given.
fn keep_logs(s: &Settings, ns: &Namespace, name: &str) -> Result<()> {
    let Some(dir) = &s.logs else {
        return Ok(());
    };
    let to = dir.join(name);
    std::fs::create_dir_all(&to)?;
    let from = ns.host_path("/var/log/sssd");
    for e in std::fs::read_dir(&from)?.flatten() {
        std::fs::copy(e.path(), to.join(e.file_name()))?;
    }
    Ok(())
}

/// Starts the daemon as [`Sssd::start`] does but with `-d <--debug>` (the command line's
/// level overrides sssd.conf's).
fn start<'ns>(ns: &'ns Namespace, s: &Settings, conf: &SssdConf) -> Result<Sssd<'ns>> {
    let argv = ["/usr/sbin/sssd", "-i", "-d", &s.debug, "--logger=files"];
    let mut conf = conf.clone();
    if s.logs.is_some() {
        // Kept logs are for finding where the time goes: stamp them to the microsecond.
        let domain = format!("domain/{}", sssd_tests::samba::DNS_DOMAIN);
        for section in ["sssd", "nss", "pam", domain.as_str()] {
            conf = conf.set(section, "debug_microseconds", "true");
        }
    }
    Ok(Sssd::start_with_argv(ns, &conf, &argv)?)
}

/// What one side answered for the shapes.
#[derive(Debug, Default, PartialEq)]
struct Answers {
    members: usize,
    groups: usize,
}

fn measure(label: &str, d: &Domain, root: &Path, s: &Settings) -> Result<(Figures, Answers)> {
    println!("== {label} ({})", root.display());
    let mut f = Figures::new();
    let mut answers = Answers::default();
    let (mut id_ms, mut group_ms) = (Vec::new(), Vec::new());
    let side = if label == "ours" { "ours" } else { "sssd28" };
    for round in 0..s.reps {
        let ns = client_on(d, root)?;
        let sssd = start(&ns, s, &conf(&s.debug, &[])).map_err(|e| anyhow!("{label}: {e}"))?;
        let t = Instant::now();
        let out = proc::run(
            &mut ns.command(&["getent", "passwd", "administrator"]),
            None,
            LOOKUP_TIMEOUT,
        )?;
        if !out.success() {
            bail!(
                "{label}: getent passwd administrator: {out:?}\n{}",
                sssd.logs()
            );
        }
        let first_ms = t.elapsed().as_secs_f64() * 1000.0;
        let (ms, id_out) = lookup(&ns, &["id", &d.nested.user])?;
        id_ms.push(ms);
        let (gms, group_out) = lookup(&ns, &["getent", "group", &d.big.group])?;
        group_ms.push(gms);
        keep_logs(s, &ns, &format!("{side}-cold{round}"))?;
        let a = Answers {
            members: member_count(&group_out),
            groups: id_group_count(&id_out),
        };
        println!(
            "    round {round}: first lookup {first_ms:.0} ms, id {ms:.0} ms ({} groups), \
             getent group {gms:.0} ms ({} members)",
            a.groups, a.members
        );
        if round > 0 && a != answers {
            println!("    (answers differ from round 0: {answers:?})");
        }
        answers = a;
        drop(sssd);
    }
    // A failed round fails the figure (NaN).
    let med = |v: &[f64]| {
        if v.iter().any(|x| x.is_nan()) {
            f64::NAN
        } else {
            median(v)
        }
    };
    f.insert("cold id nesteduser (ms)", med(&id_ms));
    f.insert("cold getent group biggroup (ms)", med(&group_ms));

    // Warm lookups and logins on one more daemon.
    let ns = client_on(d, root)?;
    let extra = [
        ("krb5_ccachedir", CCACHE_DIR),
        ("krb5_ccname_template", "FILE:%d/krb5cc_%U"),
    ];
    let sssd = start(&ns, s, &conf(&s.debug, &extra)).map_err(|e| anyhow!("{label}: {e}"))?;
    pam::wait_for_socket(&ns)?;
    pam::install_service(&ns, SERVICE, "")?;
    pam::prepare_ccache_dir(&ns)?;
    let Some(&cpu) = allowed_cpus().first() else {
        bail!("no CPU to pin to");
    };
    pin_processes(&ns, "sssd_nss", &[cpu])?;
    println!("    (warm loops and sssd_nss pinned to CPU {cpu})");
    let bin = loop_binary("nss_loop")?;
    let env = [("SSS_NSS_USE_MEMCACHE", "NO")];
    let cpus = [cpu];
    let r = run_nss_loop(
        &ns,
        &bin,
        &env,
        Some(&cpus),
        &["warm-pwnam", &d.big.user_prefix, "0", "100", &s.secs],
    )?;
    println!("    {} responder_cpu_us={:.1}", r.line, r.responder_cpu_us);
    f.insert("warm getpwnam (ops/s)", r.get("ops_per_s")?);
    let gid = ns.run(&["id", "-g", &d.nested.user])?;
    let gid = gid.stdout.trim().to_string();
    if gid.is_empty() {
        bail!("{label}: no primary gid for {}", d.nested.user);
    }
    let r = run_nss_loop(
        &ns,
        &bin,
        &env,
        Some(&cpus),
        &["warm-initgr", &d.nested.user, &gid, &s.secs],
    )?;
    println!("    {} responder_cpu_us={:.1}", r.line, r.responder_cpu_us);
    f.insert("warm getgrouplist nesteduser (ops/s)", r.get("ops_per_s")?);

    let pam_bin = loop_binary("pam_loop")?;
    let argv = [
        pam_bin.to_str().context("non-UTF-8 path")?,
        SERVICE,
        LOGIN_USER,
        &s.secs,
    ];
    let secs: u64 = s.secs.parse().context("--seconds N")?;
    let out = proc::run(
        &mut ns.command(&argv),
        Some(format!("{PASSWORD}\n").as_bytes()),
        Duration::from_secs(secs + 120),
    )?;
    let line = out.stdout.trim().to_string();
    println!("    {line}");
    if !out.success() || !line.contains("failures=0 ") {
        bail!("{label}: pam_loop failed: {out:?}\n{}", sssd.logs());
    }
    f.insert("krb5 logins/s", field(&line, "auths_per_s")?);
    // Last: a failure here may take the backend offline.
    let r = run_nss_loop(
        &ns,
        &bin,
        &env,
        Some(&cpus),
        &["warm-grnam", &d.big.group, &s.secs],
    )?;
    println!("    {} responder_cpu_us={:.1}", r.line, r.responder_cpu_us);
    f.insert("warm getgrnam biggroup (ops/s)", r.get("ops_per_s")?);
    keep_logs(s, &ns, &format!("{side}-warm"))?;
    drop(sssd);
    Ok((f, answers))
}

/// A target: its text and the check of the ratio ours / sssd 2.8.
type Target = (&'static str, fn(f64) -> bool);

/// The target for figure `k`.
fn target(k: &str) -> Option<Target> {
    match k {
        "cold id nesteduser (ms)" | "cold getent group biggroup (ms)" => {
            Some(("<= 0.3", |r| r <= 0.3))
        }
        "warm getpwnam (ops/s)" => Some((">= 2.0", |r| r >= 2.0)),
        "krb5 logins/s" => Some((">= 1.5", |r| r >= 1.5)),
        _ => None,
    }
}

/// The accepted command line.
const USAGE: &str = "usage: ad_bench [--ours-only | --theirs-only | --hold] [--reps N] \
                     [--seconds N] [--debug LEVEL] [--logs DIR]";

/// Options that take a value.
const VALUED: &[&str] = &["--reps", "--seconds", "--debug", "--logs"];
/// Options that take none.
const FLAGS: &[&str] = &["--ours-only", "--theirs-only", "--hold"];

/// Refuses an argument this program does not know (`--help` included) with the usage.
fn check_args(args: &[String]) -> Result<()> {
    let mut rest = args.iter().skip(1);
    while let Some(a) = rest.next() {
        if VALUED.contains(&a.as_str()) {
            rest.next()
                .with_context(|| format!("{a} needs a value\n{USAGE}"))?;
        } else if !FLAGS.contains(&a.as_str()) {
            bail!("unknown argument {a:?}\n{USAGE}");
        }
    }
    Ok(())
}

/// Blocks SIGTERM and SIGINT in this thread and the threads it starts from now on, so that
/// [`wait_for_stop`] receives them instead of the process dying without its clean-up.
fn block_stop_signals() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data initialised by sigemptyset; valid pointers.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

/// Waits until one of the signals in `set` (blocked by [`block_stop_signals`]) arrives.
fn wait_for_stop(set: &libc::sigset_t) -> i32 {
    let mut sig = 0;
    // SAFETY: a valid signal set and out pointer.
    unsafe { libc::sigwait(set, &mut sig) };
    sig
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    check_args(&args)?;
    let hold = args.iter().any(|a| a == "--hold");
    let stop_signals = hold.then(block_stop_signals);
    let s = Settings {
        reps: option_value(&args, "--reps")
            .map(str::parse)
            .transpose()
            .context("--reps N")?
            .unwrap_or(5),
        secs: option_value(&args, "--seconds").unwrap_or("5").to_owned(),
        debug: option_value(&args, "--debug")
            .unwrap_or("0x0070")
            .to_owned(),
        logs: option_value(&args, "--logs").map(PathBuf::from),
    };
    if s.reps == 0 {
        bail!("--reps must be at least 1");
    }
    let d = setup()?;
    if let Some(set) = stop_signals {
        // For investigation: the loaded DC stays up until this process is told to stop.
        println!(
            "holding the DC: nsenter --target {} --net --mount -- ... (data in {}); \
             stop with kill -TERM {}",
            d.dc.pid(),
            d.dc.dir().display(),
            std::process::id()
        );
        let sig = wait_for_stop(&set);
        println!("signal {sig}: stopping the DC");
        drop(d);
        return Ok(());
    }
    if args.iter().any(|a| a == "--theirs-only") {
        measure("sssd 2.8", &d, &debian_root()?, &s)?;
        return Ok(());
    }
    let (ours, our_answers) = measure("ours", &d, stage::shared_stage()?, &s)?;
    if args.iter().any(|a| a == "--ours-only") {
        return Ok(());
    }
    let (theirs, their_answers) = measure("sssd 2.8", &d, &debian_root()?, &s)?;
    println!(
        "\n{:<38} {:>10} {:>10} {:>8}  {:<7} result",
        "figure", "ours", "sssd 2.8", "ratio", "target"
    );
    for (k, v) in &ours {
        let t = theirs.get(k).copied().unwrap_or(f64::NAN);
        let ratio = v / t;
        let (text, verdict) = match target(k) {
            Some((text, ok)) => (text, if ok(ratio) { "pass" } else { "FAIL" }),
            None => ("", ""),
        };
        println!("{k:<38} {v:>10.1} {t:>10.1} {ratio:>8.3}  {text:<7} {verdict}");
    }
    let expected = Answers {
        members: BIG as usize,
        groups: GROUPS as usize + 1,
    };
    println!(
        "\nanswers: ours biggroup members={} nesteduser groups={}; sssd 2.8 members={} \
         groups={}; expected {} and {}: {}",
        our_answers.members,
        our_answers.groups,
        their_answers.members,
        their_answers.groups,
        expected.members,
        expected.groups,
        if our_answers == their_answers && our_answers == expected {
            "same"
        } else {
            "DIFFERENT"
        }
    );
    Ok(())
}
