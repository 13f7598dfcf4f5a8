//! One client process of `fault_bench`: drops to a uid with `setresuid`, then for a number
//! of seconds looks up cached users and groups through glibc (getpwnam_r, getgrnam_r,
//! getgrouplist) and logs a user in through libpam (`pam_start`/`pam_authenticate`/`pam_end`),
//! at a fixed pace. The first answer of each lookup (taken before the loop, when the driver
//! says the entries are cached) is the reference every later answer must equal; one login
//! before the loop must succeed too.
//!
//! Usage: fault_client UID GID SECONDS PACE_MS LOGIN_EVERY_MS SERVICE LOGIN_USER USERS GROUPS
//! (USERS and GROUPS comma-separated; the login password is the first line of stdin).
//! Output, one line: per call type `T_ops`, `T_fail`, `T_max_ms` (T = pwnam, grnam, initgr,
//! login), then `fail_at=` the failures' wall-clock times in ms since the epoch (at most 100,
//! comma-separated, with the call type: `pwnam@1700000000123`).

use anyhow::{Context, Result, bail};
use sssd_bench::nss;
use sssd_tests::pam_app::{PAM_SUCCESS, authenticate};
use std::ffi::CString;
use std::io::BufRead;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Counts, failures and the worst latency of one call type.
#[derive(Default)]
struct Tally {
    ops: u64,
    fail: u64,
    max: Duration,
}

/// Drops every privilege to `uid`/`gid` (no supplementary groups).
fn become_user(uid: u32, gid: u32) -> Result<()> {
    // SAFETY: plain syscalls with valid arguments.
    unsafe {
        if libc::setgroups(0, std::ptr::null()) != 0
            || libc::setresgid(gid, gid, gid) != 0
            || libc::setresuid(uid, uid, uid) != 0
        {
            bail!("setresuid({uid}): {}", std::io::Error::last_os_error());
        }
    }
    Ok(())
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// The reference answers, taken once before the loop.
struct Reference {
    users: Vec<(CString, (u32, u32))>,
    groups: Vec<(CString, usize)>,
    /// Number of groups of each user (getgrouplist with its primary gid).
    initgr: Vec<usize>,
}

fn reference(users: &[CString], groups: &[CString]) -> Result<Reference> {
    let mut buf = vec![0u8; 1 << 16];
    let mut gl = vec![0 as libc::gid_t; 4096];
    let mut r = Reference {
        users: Vec::new(),
        groups: Vec::new(),
        initgr: Vec::new(),
    };
    for u in users {
        let ids =
            nss::getpwnam_ids(u, &mut buf).with_context(|| format!("reference getpwnam {u:?}"))?;
        let n = nss::getgrouplist(u, ids.1, &mut gl)
            .with_context(|| format!("reference getgrouplist {u:?}"))?;
        r.users.push((u.clone(), ids));
        r.initgr.push(n);
    }
    for g in groups {
        let n = nss::getgrnam(g, &mut buf).with_context(|| format!("reference getgrnam {g:?}"))?;
        r.groups.push((g.clone(), n));
    }
    Ok(r)
}

fn list(s: &str) -> Result<Vec<CString>> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(|x| CString::new(x).context("NUL in name"))
        .collect()
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [
        _,
        uid,
        gid,
        secs,
        pace,
        login_every,
        service,
        login,
        users,
        groups,
    ] = args.as_slice()
    else {
        bail!(
            "usage: fault_client UID GID SECONDS PACE_MS LOGIN_EVERY_MS SERVICE LOGIN_USER USERS GROUPS"
        );
    };
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = CString::new(line.trim_end_matches('\n')).context("password has a NUL")?;
    become_user(uid.parse()?, gid.parse()?)?;
    let budget = Duration::from_secs(secs.parse()?);
    let pace = Duration::from_millis(pace.parse()?);
    let login_every = Duration::from_millis(login_every.parse()?);
    let service = CString::new(service.as_str())?;
    let login = CString::new(login.as_str())?;
    let refs = reference(&list(users)?, &list(groups)?)?;
    // One login before the loop: online during the warm-up (caches the credentials).
    let first = authenticate(&service, &login, &password);
    if first != PAM_SUCCESS {
        bail!("first login of {login:?} failed: PAM status {first}");
    }
    if refs.users.is_empty() || refs.groups.is_empty() {
        bail!("no users or groups to look up");
    }
    let mut buf = vec![0u8; 1 << 16];
    let mut gl = vec![0 as libc::gid_t; 4096];
    let mut t = [
        Tally::default(),
        Tally::default(),
        Tally::default(),
        Tally::default(),
    ];
    const NAMES: [&str; 4] = ["pwnam", "grnam", "initgr", "login"];
    let mut fails: Vec<String> = Vec::new();
    let start = Instant::now();
    // Stagger the first login so the clients do not all log in together.
    let mut next_login = start + login_every.mul_f64(f64::from(std::process::id() % 97) / 97.0);
    let mut i = 0usize;
    while start.elapsed() < budget {
        let tick = Instant::now();
        let (kind, ok) = if tick >= next_login {
            next_login = tick + login_every;
            (3, authenticate(&service, &login, &password) == PAM_SUCCESS)
        } else {
            i += 1;
            match i % 3 {
                0 => {
                    let (u, ids) = &refs.users[(i / 3) % refs.users.len()];
                    (0, nss::getpwnam_ids(u, &mut buf) == Some(*ids))
                }
                1 => {
                    let (g, n) = &refs.groups[(i / 3) % refs.groups.len()];
                    (1, nss::getgrnam(g, &mut buf) == Some(*n))
                }
                _ => {
                    let k = (i / 3) % refs.users.len();
                    let (u, ids) = &refs.users[k];
                    (
                        2,
                        nss::getgrouplist(u, ids.1, &mut gl) == Some(refs.initgr[k]),
                    )
                }
            }
        };
        let took = tick.elapsed();
        let tally = &mut t[kind];
        tally.ops += 1;
        tally.max = tally.max.max(took);
        if !ok {
            tally.fail += 1;
            if fails.len() < 100 {
                fails.push(format!("{}@{}", NAMES[kind], now_ms()));
            }
        }
        if let Some(rest) = pace.checked_sub(took) {
            std::thread::sleep(rest);
        }
    }
    let mut out = String::new();
    for (name, tally) in NAMES.iter().zip(&t) {
        out.push_str(&format!(
            "{name}_ops={} {name}_fail={} {name}_max_ms={:.1} ",
            tally.ops,
            tally.fail,
            tally.max.as_secs_f64() * 1e3
        ));
    }
    out.push_str(&format!("fail_at={}", fails.join(",")));
    println!("{out}");
    Ok(())
}
