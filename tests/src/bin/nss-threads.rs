//! Looks names up through glibc (`getpwnam_r`, `getgrnam_r`, ... and so nsswitch.conf and
//! libnss_sss), in one process, for the memory-cache tests.
//!
//! ```text
//! nss-threads check THREADS ITERATIONS KEY=EXPECTED...   every answer must equal EXPECTED
//! nss-threads loop SECONDS KEY[=EXPECTED]...             look up until SECONDS pass
//! nss-threads hold KEY...                                one round per stdin line
//! ```
//! A KEY is `pw:NAME`, `uid:UID`, `gr:NAME`, `gid:GID` or `ig:NAME:GID` (getgrouplist). An
//! answer is printed as `getent` prints it, group members and initgroups gids sorted
//! (`name:passwd:gid:a,b`, `ig:1,2,3`), or `notfound` / `error=<errno>`.
//!
//! `check` runs THREADS threads doing ITERATIONS lookups each, cycling through the keys, and
//! prints `lookups=N ok=N wrong=N` plus the first wrong answers; it exits 1 if any was wrong.
//! `loop` prints `done=N wrong=N` after every 100 lookups (so a test can see progress while
//! it runs) and once at the end; it exits 1 if any answer was wrong. `hold` does one round of
//! lookups per line read on stdin, printing `KEY ANSWER` per key then `end`, and exits at EOF
//! (a reader that keeps its memory-cache mapping between rounds). Exit code 2: bad usage.

use std::ffi::{CString, c_char, c_int};
use std::io::{BufRead, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use sssd_tests::ent::{group_line, passwd_line};

/// What to look up.
#[derive(Debug, Clone)]
enum Key {
    Pw(CString),
    Uid(libc::uid_t),
    Gr(CString),
    Gid(libc::gid_t),
    Ig(CString, libc::gid_t),
}

impl Key {
    fn parse(s: &str) -> Result<Key> {
        let (kind, arg) = s.split_once(':').context("KEY must be KIND:ARG")?;
        let cstr = |a: &str| CString::new(a).context("name contains NUL");
        Ok(match kind {
            "pw" => Key::Pw(cstr(arg)?),
            "uid" => Key::Uid(arg.parse().context("bad uid")?),
            "gr" => Key::Gr(cstr(arg)?),
            "gid" => Key::Gid(arg.parse().context("bad gid")?),
            "ig" => {
                let (name, gid) = arg.rsplit_once(':').context("ig:NAME:GID")?;
                Key::Ig(cstr(name)?, gid.parse().context("bad gid")?)
            }
            _ => bail!("unknown key kind {kind:?}"),
        })
    }
}

/// Reusable buffers of one thread.
struct Lookup {
    buf: Vec<c_char>,
    gids: Vec<libc::gid_t>,
}

impl Lookup {
    fn new() -> Lookup {
        Lookup {
            buf: vec![0; 1 << 16],
            gids: vec![0; 1024],
        }
    }

    /// Calls a `get*_r` function, growing the buffer on ERANGE.
    fn reentrant(&mut self, mut f: impl FnMut(*mut c_char, usize) -> c_int) -> c_int {
        loop {
            let r = f(self.buf.as_mut_ptr(), self.buf.len());
            if r == libc::ERANGE && self.buf.len() < 64 << 20 {
                let n = self.buf.len() * 4;
                self.buf.resize(n, 0);
                continue;
            }
            return r;
        }
    }

    fn answer(&mut self, key: &Key) -> String {
        match key {
            Key::Pw(_) | Key::Uid(_) => {
                // SAFETY: all-zero is a valid passwd.
                let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
                let mut res: *mut libc::passwd = std::ptr::null_mut();
                let r = self.reentrant(|b, l| match key {
                    // SAFETY: valid pointers for the duration of the call.
                    Key::Pw(n) => unsafe { libc::getpwnam_r(n.as_ptr(), &mut pw, b, l, &mut res) },
                    // SAFETY: as above.
                    Key::Uid(u) => unsafe { libc::getpwuid_r(*u, &mut pw, b, l, &mut res) },
                    _ => libc::EINVAL,
                });
                match (r, res.is_null()) {
                    // SAFETY: a successful lookup left valid strings in the buffer.
                    (0, false) => unsafe { passwd_line(&pw) },
                    (0, true) => "notfound".into(),
                    (e, _) => format!("error={e}"),
                }
            }
            Key::Gr(_) | Key::Gid(_) => {
                // SAFETY: all-zero is a valid group.
                let mut gr: libc::group = unsafe { std::mem::zeroed() };
                let mut res: *mut libc::group = std::ptr::null_mut();
                let r = self.reentrant(|b, l| match key {
                    // SAFETY: valid pointers for the duration of the call.
                    Key::Gr(n) => unsafe { libc::getgrnam_r(n.as_ptr(), &mut gr, b, l, &mut res) },
                    // SAFETY: as above.
                    Key::Gid(g) => unsafe { libc::getgrgid_r(*g, &mut gr, b, l, &mut res) },
                    _ => libc::EINVAL,
                });
                match (r, res.is_null()) {
                    // SAFETY: a successful lookup left valid strings in the buffer.
                    (0, false) => unsafe { group_line(&gr, true) },
                    (0, true) => "notfound".into(),
                    (e, _) => format!("error={e}"),
                }
            }
            Key::Ig(name, gid) => loop {
                let mut n = c_int::try_from(self.gids.len()).unwrap_or(c_int::MAX);
                // SAFETY: `gids` holds `n` entries; glibc writes at most `n`.
                let r = unsafe {
                    libc::getgrouplist(name.as_ptr(), *gid, self.gids.as_mut_ptr(), &mut n)
                };
                let n = usize::try_from(n).unwrap_or(0);
                if r == -1 && n > self.gids.len() {
                    self.gids.resize(n, 0);
                    continue;
                }
                if r == -1 {
                    break "error=getgrouplist".into();
                }
                let mut got: Vec<_> = self.gids.iter().take(n).copied().collect();
                got.sort_unstable();
                got.dedup();
                let list: Vec<String> = got.iter().map(u32::to_string).collect();
                break format!("ig:{}", list.join(","));
            },
        }
    }
}

/// `KEY=EXPECTED` pairs (EXPECTED optional).
fn keys(args: &[String], need_expected: bool) -> Result<Vec<(Key, Option<String>)>> {
    if args.is_empty() {
        bail!("usage: no keys given");
    }
    args.iter()
        .map(|a| {
            // The key part never contains '=': split at the first one.
            let (k, e) = match a.split_once('=') {
                Some((k, e)) => (k, Some(e.to_owned())),
                None => (a.as_str(), None),
            };
            if need_expected && e.is_none() {
                bail!("usage: {a:?} needs =EXPECTED");
            }
            Ok((Key::parse(k)?, e))
        })
        .collect()
}

fn check(threads: usize, iterations: u64, keys: Vec<(Key, Option<String>)>) -> Result<bool> {
    let keys = Arc::new(keys);
    let ok = Arc::new(AtomicU64::new(0));
    let wrong = Arc::new(AtomicU64::new(0));
    let samples = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (keys, ok, wrong, samples) =
                (keys.clone(), ok.clone(), wrong.clone(), samples.clone());
            std::thread::spawn(move || {
                let mut l = Lookup::new();
                for i in 0..iterations {
                    let idx = usize::try_from(i).unwrap_or(0).wrapping_add(t) % keys.len();
                    let Some((key, want)) = keys.get(idx) else {
                        continue;
                    };
                    let got = l.answer(key);
                    if Some(&got) == want.as_ref() {
                        ok.fetch_add(1, Ordering::Relaxed);
                    } else {
                        wrong.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut s) = samples.lock()
                            && s.len() < 10
                        {
                            s.push(format!("thread {t} lookup {i} {key:?}: got {got:?}"));
                        }
                    }
                }
            })
        })
        .collect();
    for h in handles {
        if h.join().is_err() {
            bail!("a lookup thread panicked");
        }
    }
    let (ok, wrong) = (ok.load(Ordering::Relaxed), wrong.load(Ordering::Relaxed));
    println!("lookups={} ok={ok} wrong={wrong}", ok + wrong);
    for s in samples.lock().map(|s| s.clone()).unwrap_or_default() {
        println!("{s}");
    }
    Ok(wrong == 0)
}

fn run_loop(seconds: u64, keys: &[(Key, Option<String>)]) -> bool {
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut l = Lookup::new();
    let (mut done, mut wrong) = (0u64, 0u64);
    let out = std::io::stdout();
    while Instant::now() < end {
        for (key, want) in keys {
            let got = l.answer(key);
            done += 1;
            if want.as_ref().is_some_and(|w| *w != got) {
                wrong += 1;
                if wrong <= 10 {
                    let _ = writeln!(out.lock(), "wrong {key:?}: {got:?}");
                }
            }
            if done.is_multiple_of(100) {
                let _ = writeln!(out.lock(), "done={done} wrong={wrong}");
                let _ = out.lock().flush();
            }
        }
    }
    let _ = writeln!(out.lock(), "done={done} wrong={wrong}");
    wrong == 0
}

fn hold(keys: &[(Key, Option<String>)], names: &[String]) -> Result<()> {
    let mut l = Lookup::new();
    let stdin = std::io::stdin();
    let mut out = std::io::stdout();
    writeln!(out, "ready")?;
    out.flush()?;
    for line in stdin.lock().lines() {
        line?;
        for ((key, _), name) in keys.iter().zip(names) {
            writeln!(out, "{name} {}", l.answer(key))?;
        }
        writeln!(out, "end")?;
        out.flush()?;
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = (|| -> Result<bool> {
        match args.first().map(String::as_str) {
            Some("check") if args.len() > 3 => {
                let threads = args[1].parse().context("usage: THREADS")?;
                let iterations = args[2].parse().context("usage: ITERATIONS")?;
                check(threads, iterations, keys(&args[3..], true)?)
            }
            Some("loop") if args.len() > 2 => {
                let seconds = args[1].parse().context("usage: SECONDS")?;
                Ok(run_loop(seconds, &keys(&args[2..], false)?))
            }
            Some("hold") if args.len() > 1 => {
                let names: Vec<String> = args[1..]
                    .iter()
                    .map(|a| a.split('=').next().unwrap_or_default().to_owned())
                    .collect();
                hold(&keys(&args[1..], false)?, &names)?;
                Ok(true)
            }
            _ => bail!(
                "usage: nss-threads check THREADS ITERATIONS KEY=EXPECTED... | loop SECONDS KEY... | hold KEY..."
            ),
        }
    })();
    match r {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("nss-threads: {e:#}");
            std::process::exit(2);
        }
    }
}
