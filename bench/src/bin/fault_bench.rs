//! Load with faults (issue 9): N client processes (`fault_client`, each under its own uid)
//! look up cached users and groups through glibc and log users with cached credentials in
//! through libpam, while the driver injects faults on a schedule: slapd stopped and
//! restarted, `sssd_be`, `sssd_nss` and `sssd_pam` killed with SIGKILL, the KDC stopped and
//! restarted, SIGUSR1, SIGUSR2 and SIGHUP sent to the monitor. It reports (and fails on)
//! client or daemon crashes, calls slower than the clients' 60 s deadline, failed lookups or
//! logins; it reports the daemons' memory in the first and the last minute, the time from
//! each kill to the service answering again, and from slapd's restart to the domain online.
//!
//! Two domains on one slapd: `LDAP` (auth_provider = ldap) and `KRB` (auth_provider = krb5,
//! fully qualified names), both `cache_credentials = true`, so a slapd outage takes both
//! identity and LDAP logins offline while a KDC outage takes only the krb5 logins offline,
//! and both offline-authentication paths are exercised.
//!
//! Usage (root; release artifacts built; Debian's sssd unpacked by scripts/debian-sssd.sh
//! for `--theirs`):
//!   fault_bench [--theirs] [--clients N] [--seconds S] [--interval S]

use anyhow::{Context, Result, bail};
use sssd_bench::{loop_binary, median, option_value};
use sssd_tests::interop::debian_root;
use sssd_tests::kdc::{Kdc, REALM};
use sssd_tests::ldif::{self, Directory, Schema, User};
use sssd_tests::namespace::Namespace;
use sssd_tests::pam::{self, CCACHE_DIR, PAM_SOCKET, krb5_password};
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{NSS_SOCKET, Sssd, SssdConf};
use sssd_tests::stage;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const SERVICE: &str = "fault-bench";
/// The client libraries' per-call deadline (sss_client::REQUEST_TIMEOUT).
const DEADLINE: Duration = Duration::from_secs(60);
/// The daemon processes whose deaths and memory are watched.
const DAEMONS: &[&str] = &["sssd", "sssd_be", "sssd_nss", "sssd_pam"];
/// How long slapd and the KDC stay down.
const OUTAGE: Duration = Duration::from_secs(5);
/// The backends' `offline_timeout` (default 60 s, plus up to 30 s at random in sssd 2.8):
/// how long after going offline a backend first tries the server again. 10 s, no random
/// offset, so that the time from slapd's restart to online measures the reconnection rather
/// than the default wait, and ends before the next fault but one.
const OFFLINE_TIMEOUT: &str = "10";
/// First uid of the bulk users (`user0001`).
const BULK_UID: u32 = 10001;

/// The faults, in the order they are injected (then again from the start).
#[derive(Clone, Copy, Debug)]
enum Fault {
    KillBe(&'static str),
    SlapdRestart,
    KillNss,
    Usr1,
    KillPam,
    KdcRestart,
    Usr2,
    Hup,
}

/// slapd first, so the LDAP domain has 50 s to come back online on its own (the backends
/// retry after [`OFFLINE_TIMEOUT`]) before SIGUSR1/SIGUSR2 and the backend kills.
const SCHEDULE: &[Fault] = &[
    Fault::SlapdRestart,
    Fault::KillNss,
    Fault::KillPam,
    Fault::Hup,
    Fault::KdcRestart,
    Fault::Usr1,
    Fault::Usr2,
    Fault::KillBe("LDAP"),
    Fault::KillBe("KRB"),
];

/// The command name of `pid` (`/proc/PID/comm`).
fn comm(pid: u32) -> Option<String> {
    let c = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    Some(c.trim().to_owned())
}

/// The parent of `pid` (field 4 of `/proc/PID/stat`, after the command in parentheses).
fn ppid(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// One daemon process as seen in /proc: command name plus `--domain` for backends. A
/// service counts only when its parent is the monitor: a backend's child between fork and
/// exec (of krb5_child, ldap_child) has the backend's name and command line too.
fn daemon_key(pid: u32) -> Option<String> {
    let comm = comm(pid)?;
    let comm = comm.as_str();
    if !DAEMONS.contains(&comm) {
        return None;
    }
    if comm != "sssd" && comm_of_parent(pid).as_deref() != Some("sssd") {
        return None;
    }
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    let domain = args
        .iter()
        .position(|a| *a == b"--domain")
        .and_then(|i| args.get(i + 1))
        .map(|d| String::from_utf8_lossy(d).into_owned());
    Some(match domain {
        Some(d) => format!("{comm}[{d}]"),
        None => comm.to_owned(),
    })
}

fn comm_of_parent(pid: u32) -> Option<String> {
    comm(ppid(pid)?)
}

fn vm_rss_kb(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Watches the daemon processes: deaths nobody asked for, memory over time.
struct Watch {
    start: Instant,
    /// pid → key of every daemon process seen alive.
    known: BTreeMap<u32, String>,
    /// pids the bench killed on purpose.
    killed: BTreeSet<u32>,
    /// Unexpected deaths: (seconds into the run, key, pid).
    deaths: Vec<(f64, String, u32)>,
    /// key → (seconds into the run, VmRSS kB).
    rss: BTreeMap<String, Vec<(f64, u64)>>,
}

impl Watch {
    fn new() -> Watch {
        Watch {
            start: Instant::now(),
            known: BTreeMap::new(),
            killed: BTreeSet::new(),
            deaths: Vec::new(),
            rss: BTreeMap::new(),
        }
    }

    /// The live daemon pids, by key.
    fn live(ns: &Namespace) -> BTreeMap<String, Vec<u32>> {
        let mut m: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for pid in ns.processes() {
            if let Some(k) = daemon_key(pid) {
                m.entry(k).or_default().push(pid);
            }
        }
        m
    }

    fn sample(&mut self, ns: &Namespace, memory: bool) {
        let t = self.start.elapsed().as_secs_f64();
        let live = Watch::live(ns);
        let alive: BTreeSet<u32> = live.values().flatten().copied().collect();
        let gone: Vec<u32> = self
            .known
            .keys()
            .filter(|p| !alive.contains(p))
            .copied()
            .collect();
        for pid in gone {
            let key = self.known.remove(&pid).unwrap_or_default();
            if !self.killed.contains(&pid) {
                println!("!! {key} (pid {pid}) died at {t:.1} s without being killed");
                self.deaths.push((t, key, pid));
            }
        }
        for (k, pids) in &live {
            for &p in pids {
                self.known.insert(p, k.clone());
            }
            if memory && let Some(kb) = pids.iter().filter_map(|&p| vm_rss_kb(p)).max() {
                self.rss.entry(k.clone()).or_default().push((t, kb));
            }
        }
    }

    /// Kills the one live process named `key` with SIGKILL; returns its pid.
    fn kill(&mut self, ns: &Namespace, key: &str) -> Result<u32> {
        self.sample(ns, false);
        let live = Watch::live(ns);
        let Some(&pid) = live.get(key).and_then(|p| p.first()) else {
            bail!("no live {key} to kill");
        };
        self.killed.insert(pid);
        sssd_tests::proc::signal(pid, libc::SIGKILL);
        Ok(pid)
    }
}

/// One request over a responder socket: GET_VERSION first, then `cmd` with `body`; returns
/// the reply body of `cmd`, or None on any failure (connect refused, EOF, timeout).
fn ask(path: &Path, version: u32, cmd: u32, body: &[u8]) -> Option<Vec<u8>> {
    let mut s = UnixStream::connect(path).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.set_write_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut exchange = |cmd: u32, body: &[u8]| -> Option<Vec<u8>> {
        let len = u32::try_from(16 + body.len()).ok()?;
        let mut pkt = Vec::with_capacity(16 + body.len());
        for v in [len, cmd, 0, 0] {
            pkt.extend_from_slice(&v.to_ne_bytes());
        }
        pkt.extend_from_slice(body);
        s.write_all(&pkt).ok()?;
        let mut hdr = [0u8; 16];
        s.read_exact(&mut hdr).ok()?;
        let word = |i: usize| u32::from_ne_bytes([hdr[i], hdr[i + 1], hdr[i + 2], hdr[i + 3]]);
        let (len, status) = (word(0) as usize, word(8));
        if status != 0 || !(16..1 << 20).contains(&len) {
            return None;
        }
        let mut rest = vec![0u8; len - 16];
        s.read_exact(&mut rest).ok()?;
        Some(rest)
    };
    exchange(1, &version.to_ne_bytes())?;
    if cmd == 1 {
        return Some(Vec::new());
    }
    exchange(cmd, body)
}

/// Whether the responder at `path` answers GET_VERSION.
fn answers(path: &Path, version: u32) -> bool {
    ask(path, version, 1, &[]).is_some()
}

/// Whether `name` resolves through the NSS socket (GETPWNAM, one entry).
fn resolves(nss: &Path, name: &str) -> bool {
    let mut body = name.as_bytes().to_vec();
    body.push(0);
    ask(nss, 1, 0x11, &body).is_some_and(|b| b.get(..4) == Some(&1u32.to_ne_bytes()[..]))
}

/// Configuration of one run: two domains on one slapd (see the module documentation).
fn conf(slapd: &Slapd, kdc: &Kdc) -> SssdConf {
    let mut c = SssdConf::ldap_pam(slapd, Schema::Rfc2307)
        .set("sssd", "domains", "LDAP, KRB")
        .set("nss", "debug_level", "0")
        .set("pam", "debug_level", "0")
        // The driver's probes of new entries must not be answered from a negative cache.
        .set("nss", "entry_negative_timeout", "0")
        .domain("debug_level", "0x0070")
        .domain("cache_credentials", "true")
        .domain("offline_timeout", OFFLINE_TIMEOUT)
        .domain("offline_timeout_random_offset", "0");
    let krb = [
        ("offline_timeout", OFFLINE_TIMEOUT.to_owned()),
        ("offline_timeout_random_offset", "0".to_owned()),
        ("debug_level", "0x0070".to_owned()),
        ("id_provider", "ldap".to_owned()),
        ("auth_provider", "krb5".to_owned()),
        ("ldap_uri", slapd.uri()),
        ("ldap_search_base", slapd.base().to_owned()),
        ("ldap_schema", Schema::Rfc2307.as_conf().to_owned()),
        ("ldap_id_use_start_tls", "false".to_owned()),
        ("use_fully_qualified_names", "true".to_owned()),
        ("cache_credentials", "true".to_owned()),
        ("krb5_server", kdc.server()),
        ("krb5_realm", REALM.to_owned()),
        ("krb5_ccachedir", CCACHE_DIR.to_owned()),
        ("krb5_ccname_template", "FILE:%d/krb5cc_%U".to_owned()),
    ];
    for (k, v) in krb {
        c = c.set("domain/KRB", k, &v);
    }
    c
}

/// Client `k`: its uid, its login name (LDAP for even k, KRB for odd) and password.
fn client_identity(k: u32) -> (u32, String, String) {
    let uid = BULK_UID + k;
    let name = format!("user{:04}", k + 1);
    if k.is_multiple_of(2) {
        (uid, name, format!("Password{uid}"))
    } else {
        (uid, format!("{name}@KRB"), krb5_password(uid))
    }
}

const LOOKUP_USERS: &str = "user1,user2,user0001,user0002,user1@KRB,user0003@KRB";
const LOOKUP_GROUPS: &str = "two_user_group,group1,allusers,two_user_group@KRB,allusers@KRB";

/// Starts `fault_client` for client `k` inside `ns`.
fn spawn_client(ns: &Namespace, bin: &Path, k: u32, secs: u64) -> Result<Child> {
    let (uid, login, password) = client_identity(k);
    let argv = [
        bin.to_string_lossy().into_owned(),
        uid.to_string(),
        "10000".into(),
        secs.to_string(),
        "50".into(),
        "5000".into(),
        SERVICE.into(),
        login,
        LOOKUP_USERS.into(),
        LOOKUP_GROUPS.into(),
    ];
    let mut child = ns
        .command(&argv)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("spawn fault_client")?;
    if let Some(mut i) = child.stdin.take() {
        i.write_all(format!("{password}\n").as_bytes())?;
    }
    Ok(child)
}

/// Waits for `child` until `deadline`, then kills it; returns (exit status text, success,
/// stdout, stderr).
fn collect(mut child: Child, deadline: Instant) -> (String, bool, String, String) {
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                break;
            }
        }
    }
    let status = child.wait();
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_string(&mut out);
    }
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    match status {
        Ok(s) => (s.to_string(), s.success(), out, err),
        Err(e) => (e.to_string(), false, out, err),
    }
}

/// Times of one kind of recovery, in seconds (None: not within the limit).
type Recoveries = BTreeMap<&'static str, Vec<Option<f64>>>;

/// What a pending recovery waits for.
enum Probe {
    /// The responder socket answers GET_VERSION (protocol version).
    Answers(PathBuf, u32),
    /// A never-looked-up entry resolves through the NSS socket.
    Resolves(String),
}

/// A recovery being timed, checked on every tick of the driver's loop.
struct Pending {
    what: &'static str,
    since: Instant,
    probe: Probe,
}

struct Bench<'a> {
    ns: &'a Namespace,
    dir: &'a Directory,
    slapd: &'a mut Slapd,
    kdc: &'a mut Kdc,
    watch: Watch,
    recover: Recoveries,
    nss: PathBuf,
    pam: PathBuf,
    /// Next never-looked-up LDAP entry for online probes.
    next_new: u32,
    monitor: u32,
    pending: Vec<Pending>,
}

impl Bench<'_> {
    fn new_entry(&mut self) -> Result<String> {
        self.next_new += 1;
        let name = format!("faultnew{:04}", self.next_new);
        let u = User::new(&name, 30000 + self.next_new, 30000);
        let out = self.slapd.add(&ldif::user_ldif(self.dir, &u))?;
        if !out.success() {
            bail!("ldapadd {name}: {out:?}");
        }
        Ok(name)
    }

    fn record(&mut self, what: &'static str, t: Option<f64>) {
        match t {
            Some(s) => println!("    {what}: {:.0} ms", s * 1e3),
            None => println!("    {what}: not within {DEADLINE:?} or the run"),
        }
        self.recover.entry(what).or_default().push(t);
    }

    fn wait_for(&mut self, what: &'static str, probe: Probe) {
        self.pending.push(Pending {
            what,
            since: Instant::now(),
            probe,
        });
    }

    /// Checks the pending recoveries once; records those that are complete or timed out
    /// (all of them when `last`).
    fn check(&mut self, last: bool) {
        let mut keep = Vec::new();
        for p in std::mem::take(&mut self.pending) {
            let ok = match &p.probe {
                Probe::Answers(path, v) => answers(path, *v),
                Probe::Resolves(name) => resolves(&self.nss, name),
            };
            if ok {
                self.record(p.what, Some(p.since.elapsed().as_secs_f64()));
            } else if last || p.since.elapsed() > DEADLINE {
                self.record(p.what, None);
            } else {
                keep.push(p);
            }
        }
        self.pending = keep;
    }

    fn inject(&mut self, fault: Fault) -> Result<()> {
        let t = self.watch.start.elapsed().as_secs_f64();
        println!("  [{t:6.1} s] {fault:?}");
        match fault {
            Fault::KillNss => {
                self.watch.kill(self.ns, "sssd_nss")?;
                let nss = self.nss.clone();
                self.wait_for("sssd_nss kill -9 → socket answers", Probe::Answers(nss, 1));
            }
            Fault::KillPam => {
                self.watch.kill(self.ns, "sssd_pam")?;
                let pam = self.pam.clone();
                self.wait_for("sssd_pam kill -9 → socket answers", Probe::Answers(pam, 3));
            }
            Fault::KillBe(domain) => {
                let name = self.new_entry()?;
                let probe = if domain == "KRB" {
                    format!("{name}@KRB")
                } else {
                    name
                };
                self.watch.kill(self.ns, &format!("sssd_be[{domain}]"))?;
                self.wait_for(
                    "sssd_be kill -9 → new entry resolves",
                    Probe::Resolves(probe),
                );
            }
            Fault::SlapdRestart => {
                self.slapd.stop()?;
                std::thread::sleep(OUTAGE);
                self.slapd.start()?;
                let name = self.new_entry()?;
                self.wait_for("slapd restart → LDAP domain online", Probe::Resolves(name));
            }
            Fault::KdcRestart => {
                self.kdc.stop();
                std::thread::sleep(OUTAGE);
                self.kdc.start()?;
            }
            Fault::Usr1 => sssd_tests::proc::signal(self.monitor, libc::SIGUSR1),
            Fault::Usr2 => sssd_tests::proc::signal(self.monitor, libc::SIGUSR2),
            Fault::Hup => sssd_tests::proc::signal(self.monitor, libc::SIGHUP),
        }
        Ok(())
    }
}

/// Parsed totals of all clients.
#[derive(Default)]
struct Totals {
    ops: BTreeMap<String, u64>,
    fail: BTreeMap<String, u64>,
    max_ms: BTreeMap<String, f64>,
    fail_at: Vec<String>,
}

impl Totals {
    fn add(&mut self, line: &str) {
        for kv in line.split_whitespace() {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            if k == "fail_at" {
                self.fail_at
                    .extend(v.split(',').filter(|s| !s.is_empty()).map(str::to_owned));
            } else if let Some(t) = k.strip_suffix("_max_ms") {
                let v: f64 = v.parse().unwrap_or(f64::NAN);
                let m = self.max_ms.entry(t.to_owned()).or_insert(0.0);
                *m = m.max(v);
            } else if let Some(t) = k.strip_suffix("_ops") {
                *self.ops.entry(t.to_owned()).or_default() += v.parse().unwrap_or(0);
            } else if let Some(t) = k.strip_suffix("_fail") {
                *self.fail.entry(t.to_owned()).or_default() += v.parse().unwrap_or(0);
            }
        }
    }
}

fn run(label: &str, root: &Path, clients: u32, secs: u64, interval: u64) -> Result<bool> {
    println!(
        "== {label} ({}): {clients} clients, {secs} s",
        root.display()
    );
    let bulk = clients.max(10) + 5;
    let dir = ldif::rfc2307_with_bulk(bulk);
    let mut slapd = Slapd::new(&dir)?;
    let mut kdc = Kdc::new()?;
    for k in (1..clients).step_by(2) {
        let uid = BULK_UID + k;
        kdc.add_principal(&format!("user{:04}", k + 1), &krb5_password(uid))?;
    }
    let ns = Namespace::new(Some(root))?;
    pam::setup_krb5(&ns, &kdc, None, false)?;
    let sssd = Sssd::start(&ns, &conf(&slapd, &kdc)).map_err(|e| anyhow::anyhow!("{e}"))?;
    pam::wait_for_socket(&ns)?;
    pam::install_service(&ns, SERVICE, "")?;
    let bin = loop_binary("fault_client")?;
    // Warm-up: each client once, no loop: caches the lookups and each login's credentials.
    println!("  warm-up: every client's lookups and one online login each");
    let warm: Vec<Child> = (0..clients)
        .map(|k| spawn_client(&ns, &bin, k, 0))
        .collect::<Result<_>>()?;
    for (k, c) in warm.into_iter().enumerate() {
        let (status, ok, out, err) = collect(c, Instant::now() + DEADLINE);
        if !ok {
            bail!("warm-up client {k} failed ({status}): {out} {err}");
        }
    }
    let monitor = sssd.daemon.pid();
    let mut bench = Bench {
        ns: &ns,
        dir: &dir,
        slapd: &mut slapd,
        kdc: &mut kdc,
        watch: Watch::new(),
        recover: Recoveries::new(),
        nss: ns.host_path(NSS_SOCKET),
        pam: ns.host_path(PAM_SOCKET),
        next_new: 0,
        monitor,
        pending: Vec::new(),
    };
    bench.watch.sample(&ns, true);
    println!("  load: {clients} clients; faults every {interval} s");
    let children: Vec<Child> = (0..clients)
        .map(|k| spawn_client(&ns, &bin, k, secs))
        .collect::<Result<_>>()?;
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let mut next_fault = start + Duration::from_secs(interval.min(5));
    let mut next_sample = start;
    let mut i = 0usize;
    while Instant::now() + Duration::from_secs(2) < end {
        if Instant::now() >= next_sample {
            bench.watch.sample(&ns, true);
            next_sample += Duration::from_secs(1);
        }
        if Instant::now() >= next_fault && Instant::now() + Duration::from_secs(interval) < end {
            let f = SCHEDULE[i % SCHEDULE.len()];
            bench.inject(f)?;
            i += 1;
            next_fault = Instant::now() + Duration::from_secs(interval);
        }
        bench.check(false);
        std::thread::sleep(Duration::from_millis(20));
    }
    bench.check(true);
    let mut totals = Totals::default();
    let mut client_crashes = Vec::new();
    for (k, c) in children.into_iter().enumerate() {
        let (status, ok, out, err) = collect(c, end + DEADLINE + Duration::from_secs(30));
        if !ok {
            client_crashes.push(format!("client {k}: {status} {}", err.trim()));
        }
        totals.add(out.trim());
    }
    bench.watch.sample(&ns, true);
    // Every service is back.
    let live = Watch::live(&ns);
    let missing: Vec<&str> = [
        "sssd",
        "sssd_be[LDAP]",
        "sssd_be[KRB]",
        "sssd_nss",
        "sssd_pam",
    ]
    .into_iter()
    .filter(|k| !live.contains_key(*k))
    .collect();
    let watch = &bench.watch;
    // Report.
    println!("\n  calls (all clients):");
    println!(
        "  {:<8} {:>9} {:>8} {:>12}  (deadline {} s)",
        "call",
        "count",
        "failed",
        "max ms",
        DEADLINE.as_secs()
    );
    let mut ok = true;
    for (t, n) in &totals.ops {
        let f = totals.fail.get(t).copied().unwrap_or(0);
        let m = totals.max_ms.get(t).copied().unwrap_or(f64::NAN);
        println!("  {t:<8} {n:>9} {f:>8} {m:>12.1}");
        if f > 0 || m >= DEADLINE.as_secs_f64() * 1e3 {
            ok = false;
        }
    }
    if !totals.fail_at.is_empty() {
        let first: Vec<String> = totals
            .fail_at
            .iter()
            .take(20)
            .map(|s| {
                let (k, ms) = s.split_once('@').unwrap_or((s, "0"));
                let ms: u128 = ms.parse().unwrap_or(0);
                let since = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis())
                    .unwrap_or(0)
                    .saturating_sub(ms);
                let at = watch.start.elapsed().as_secs_f64() - since as f64 / 1e3;
                format!("{k}@{at:.1}s")
            })
            .collect();
        println!(
            "  first failures (call@seconds into the run): {}",
            first.join(" ")
        );
    }
    println!("\n  recoveries (median, max, count):");
    for (what, v) in &bench.recover {
        let got: Vec<f64> = v.iter().flatten().map(|s| s * 1e3).collect();
        let lost = v.len() - got.len();
        let max = got.iter().copied().fold(0.0, f64::max);
        println!(
            "  {what:<40} median {:>7.0} ms  max {:>7.0} ms  n={}{}",
            median(&got),
            max,
            v.len(),
            if lost > 0 {
                format!("  ({lost} not within {} s)", DEADLINE.as_secs())
            } else {
                String::new()
            }
        );
        if lost > 0 {
            ok = false;
        }
    }
    println!("\n  memory (VmRSS kB, median of samples in the first and the last minute):");
    let window = (secs as f64 / 2.0).min(60.0);
    let total = watch.start.elapsed().as_secs_f64();
    for (k, s) in &watch.rss {
        let first: Vec<f64> = s
            .iter()
            .filter(|(t, _)| *t <= window)
            .map(|x| x.1 as f64)
            .collect();
        let last: Vec<f64> = s
            .iter()
            .filter(|(t, _)| *t >= total - window)
            .map(|x| x.1 as f64)
            .collect();
        let (a, b) = (median(&first), median(&last));
        let grows = b > a * 1.25 + 2048.0;
        println!(
            "  {k:<14} first {a:>8.0}  last {b:>8.0}{}",
            if grows { "  GROWS" } else { "" }
        );
        if grows {
            ok = false;
        }
    }
    println!(
        "\n  crashes: clients {}, daemons {} (killed on purpose: {}); services missing at the end: {:?}",
        client_crashes.len(),
        watch.deaths.len(),
        watch.killed.len(),
        missing
    );
    for c in &client_crashes {
        println!("    {c}");
    }
    if !client_crashes.is_empty() || !watch.deaths.is_empty() || !missing.is_empty() {
        ok = false;
    }
    println!("  {label}: {}", if ok { "PASS" } else { "FAIL" });
    drop(sssd);
    Ok(ok)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let num = |opt: &str, default: u64| -> Result<u64> {
        option_value(&args, opt)
            .map(str::parse)
            .transpose()
            .with_context(|| format!("{opt} N"))
            .map(|v| v.unwrap_or(default))
    };
    let clients = u32::try_from(num("--clients", 50)?)?;
    let secs = num("--seconds", 300)?;
    let interval = num("--interval", 10)?;
    let ok = if args.iter().any(|a| a == "--theirs") {
        run("sssd 2.8", &debian_root()?, clients, secs, interval)?
    } else {
        run("ours", stage::shared_stage()?, clients, secs, interval)?
    };
    if !ok {
        bail!("fault_bench found failures (see above)");
    }
    Ok(())
}
