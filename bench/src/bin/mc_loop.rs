//! The memory-cache loop (issue 8): one kind of glibc lookup over a set of keys, timed for a
//! few rounds in THREADS threads of one process, through whatever nsswitch.conf points at.
//! Prints one `key=value` line.
//!
//! Usage:
//!   mc_loop KIND THREADS SECONDS ROUNDS KEY...
//!     KIND: pwnam (KEY = login) | pwuid (KEY = uid) | grnam (KEY = group name)
//!           | grouplist (KEY = LOGIN:GID, getgrouplist's user and primary gid)
//!           | spin (KEY ignored: no lookup, thread-local arithmetic only; the control that
//!             tells whether the machine gave the process all its cores)
//!           | floor (KEY = login: getpwnam_r counted whatever it answers; with an
//!             nsswitch.conf naming a module that does not exist, glibc's own cost)
//!
//! First one lookup of each key on the main thread (the warm-up; every key must be found, or
//! the loop exits 1 naming it). Then ROUNDS rounds (0 = warm-up only) of SECONDS seconds
//! (fractions allowed) in which THREADS threads each cycle through all keys, from different
//! starting points. Output fields: `kind threads keys found members|groups` (the warm-up:
//! keys found, members of the first group, groups of the first user), then `rounds ops failed
//! ops_per_s` (ops/s is the median over rounds) and `round_ops_per_s` (each round, `/`-separated).

use anyhow::{Context, Result, bail};
use sssd_bench::{median, nss};
use std::ffi::CString;
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// Which lookup to time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pwnam,
    Pwuid,
    Grnam,
    Grouplist,
    Spin,
    Floor,
}

/// One key, parsed for its kind.
#[derive(Debug)]
enum Key {
    /// getpwnam_r.
    Login(CString),
    /// getpwuid_r.
    Uid(libc::uid_t),
    /// getgrnam_r.
    Group(CString),
    /// getgrouplist: login and primary gid.
    User(CString, libc::gid_t),
    /// No lookup: a fixed amount of arithmetic on thread-local data (the control).
    Spin,
    /// getpwnam_r whatever it answers (glibc's own cost, with a module that is not there).
    Floor(CString),
}

/// Steps of arithmetic per `spin` operation (a few hundred nanoseconds, like a lookup).
const SPIN_STEPS: u32 = 200;

/// A thread's buffers, reused across lookups.
struct Buffers {
    buf: Vec<u8>,
    groups: Vec<libc::gid_t>,
}

impl Buffers {
    fn new() -> Buffers {
        Buffers {
            buf: vec![0; 1 << 16],
            groups: vec![0; 1024],
        }
    }

    /// Looks `key` up; None when not found, else the member or group count (1 for users).
    fn lookup(&mut self, key: &Key) -> Option<usize> {
        match key {
            Key::Login(n) => nss::getpwnam(n, &mut self.buf).then_some(1),
            Key::Uid(u) => nss::getpwuid(*u, &mut self.buf).then_some(1),
            Key::Group(n) => nss::getgrnam(n, &mut self.buf),
            Key::User(n, g) => nss::getgrouplist(n, *g, &mut self.groups),
            Key::Floor(n) => {
                nss::getpwnam(n, &mut self.buf);
                Some(1)
            }
            Key::Spin => {
                let mut x = std::hint::black_box(self.buf.len() as u32);
                for _ in 0..SPIN_STEPS {
                    x = std::hint::black_box(x.wrapping_mul(1_103_515_245).wrapping_add(12_345));
                }
                std::hint::black_box(x);
                Some(1)
            }
        }
    }
}

fn parse_kind(s: &str) -> Result<Kind> {
    Ok(match s {
        "pwnam" => Kind::Pwnam,
        "pwuid" => Kind::Pwuid,
        "grnam" => Kind::Grnam,
        "grouplist" => Kind::Grouplist,
        "spin" => Kind::Spin,
        "floor" => Kind::Floor,
        other => bail!("unknown KIND {other:?} (pwnam, pwuid, grnam, grouplist, spin, floor)"),
    })
}

fn parse_key(kind: Kind, s: &str) -> Result<Key> {
    let cstr = |s: &str| CString::new(s).with_context(|| format!("key {s:?} contains NUL"));
    Ok(match kind {
        Kind::Pwnam => Key::Login(cstr(s)?),
        Kind::Grnam => Key::Group(cstr(s)?),
        Kind::Pwuid => Key::Uid(s.parse().with_context(|| format!("uid {s:?}"))?),
        Kind::Grouplist => {
            let (name, gid) = s
                .rsplit_once(':')
                .with_context(|| format!("grouplist key {s:?} is not LOGIN:GID"))?;
            Key::User(
                cstr(name)?,
                gid.parse().with_context(|| format!("gid in {s:?}"))?,
            )
        }
        Kind::Spin => Key::Spin,
        Kind::Floor => Key::Floor(cstr(s)?),
    })
}

/// One round: `threads` threads cycle through `keys` for `dur`; returns (found, not found,
/// elapsed seconds).
fn round(keys: &[Key], threads: usize, dur: Duration) -> (u64, u64, f64) {
    let barrier = Barrier::new(threads + 1);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let barrier = &barrier;
                s.spawn(move || {
                    let mut b = Buffers::new();
                    let mut i = t * keys.len() / threads;
                    let (mut ok, mut fail) = (0u64, 0u64);
                    barrier.wait();
                    let end = Instant::now() + dur;
                    while Instant::now() < end {
                        for _ in 0..8 {
                            i = (i + 1) % keys.len();
                            match keys.get(i).and_then(|k| b.lookup(k)) {
                                Some(_) => ok += 1,
                                None => fail += 1,
                            }
                        }
                    }
                    (ok, fail)
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        let (mut ok, mut fail) = (0, 0);
        for h in handles {
            let (o, f) = h.join().unwrap_or((0, u64::MAX / 2));
            ok += o;
            fail += f;
        }
        (ok, fail, start.elapsed().as_secs_f64())
    })
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kind_arg, threads, seconds, rounds, key_args @ ..] = args.as_slice() else {
        bail!("usage: mc_loop KIND THREADS SECONDS ROUNDS KEY...");
    };
    let kind = parse_kind(kind_arg)?;
    let threads: usize = threads.parse().context("THREADS must be a number")?;
    let seconds: f64 = seconds.parse().context("SECONDS must be a number")?;
    let rounds: usize = rounds.parse().context("ROUNDS must be a number")?;
    if threads == 0 || key_args.is_empty() || !(seconds.is_finite() && seconds >= 0.0) {
        bail!("need THREADS >= 1, SECONDS >= 0 and at least one KEY");
    }
    let keys: Vec<Key> = key_args
        .iter()
        .map(|k| parse_key(kind, k))
        .collect::<Result<_>>()?;

    // Warm-up: one lookup of each key; all must be found.
    let mut b = Buffers::new();
    let mut first = None;
    for (k, text) in keys.iter().zip(key_args) {
        match b.lookup(k) {
            Some(n) => {
                first.get_or_insert(n);
            }
            None => bail!("warm-up: {kind_arg} {text} not found"),
        }
    }
    let count = match kind {
        Kind::Pwnam | Kind::Pwuid | Kind::Spin | Kind::Floor => String::new(),
        Kind::Grnam => format!(" members={}", first.unwrap_or(0)),
        Kind::Grouplist => format!(" groups={}", first.unwrap_or(0)),
    };
    let mut line = format!(
        "kind={kind_arg} threads={threads} keys={n} found={n}{count} rounds={rounds}",
        n = keys.len()
    );

    let dur = Duration::from_secs_f64(seconds);
    let (mut ops, mut failed, mut per_round) = (0u64, 0u64, Vec::new());
    for _ in 0..rounds {
        let (ok, fail, el) = round(&keys, threads, dur);
        ops += ok;
        failed += fail;
        per_round.push(ok as f64 / el.max(f64::MIN_POSITIVE));
    }
    if rounds > 0 {
        let each: Vec<String> = per_round.iter().map(|r| format!("{r:.0}")).collect();
        line.push_str(&format!(
            " ops={ops} failed={failed} ops_per_s={:.0} round_ops_per_s={}",
            median(&per_round),
            each.join("/")
        ));
    }
    println!("{line}");
    Ok(())
}
