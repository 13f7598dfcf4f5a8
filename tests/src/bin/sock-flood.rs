//! A local user attacking a responder socket: as `--uid/--gid`, opens up to `--hold`
//! connections (as fast as the socket takes them), opens `--trickle` more that send one
//! byte of a request per second, reopens what the server closes (at most `--reopen` per
//! second), for `--seconds`. Prints `holding` on stdout once the first wave is open, and a
//! summary line at the end.
//!
//! Usage: `sock-flood --socket PATH --uid U --gid G --hold N --trickle M --seconds S
//! [--reopen R]`

#![allow(clippy::unwrap_used, clippy::expect_used)] // test tool: failing loudly is the point

use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

struct Args {
    socket: String,
    uid: u32,
    gid: u32,
    hold: usize,
    trickle: usize,
    seconds: u64,
    reopen: usize,
}

fn args() -> Args {
    let mut a = Args {
        socket: String::new(),
        uid: 65534,
        gid: 65534,
        hold: 1000,
        trickle: 0,
        seconds: 10,
        reopen: 2000,
    };
    let v: Vec<String> = std::env::args().skip(1).collect();
    for pair in v.chunks(2) {
        let (k, val) = (pair[0].as_str(), pair.get(1).cloned().unwrap_or_default());
        match k {
            "--socket" => a.socket = val,
            "--uid" => a.uid = val.parse().unwrap(),
            "--gid" => a.gid = val.parse().unwrap(),
            "--hold" => a.hold = val.parse().unwrap(),
            "--trickle" => a.trickle = val.parse().unwrap(),
            "--seconds" => a.seconds = val.parse().unwrap(),
            "--reopen" => a.reopen = val.parse().unwrap(),
            _ => panic!("unknown argument {k}"),
        }
    }
    a
}

/// Raises the descriptor limit to the hard limit, then becomes `uid`/`gid` for good.
fn become_user(uid: u32, gid: u32) {
    unsafe {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut r);
        r.rlim_cur = r.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        assert_eq!(libc::setgroups(0, std::ptr::null()), 0, "setgroups");
        assert_eq!(libc::setresgid(gid, gid, gid), 0, "setresgid");
        assert_eq!(libc::setresuid(uid, uid, uid), 0, "setresuid");
    }
}

enum Connect {
    Open(OwnedFd),
    /// The listen queue is full (EAGAIN).
    Full,
    /// Out of descriptors or another error.
    Failed,
}

fn connect(path: &str) -> Connect {
    unsafe {
        let fd = libc::socket(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        );
        if fd < 0 {
            return Connect::Failed;
        }
        let fd = OwnedFd::from_raw_fd(fd);
        let mut sa: libc::sockaddr_un = std::mem::zeroed();
        sa.sun_family = libc::AF_UNIX as libc::sa_family_t;
        for (d, s) in sa.sun_path.iter_mut().zip(path.bytes()) {
            *d = s as libc::c_char;
        }
        let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
        let rc = libc::connect(fd.as_raw_fd(), (&raw const sa).cast(), len);
        if rc == 0 {
            return Connect::Open(fd);
        }
        match *libc::__errno_location() {
            libc::EAGAIN => Connect::Full,
            _ => Connect::Failed,
        }
    }
}

/// Whether the server has closed `fd` (EOF, reset or hang-up).
fn closed_by_server(fds: &[OwnedFd]) -> Vec<bool> {
    let mut p: Vec<libc::pollfd> = fds
        .iter()
        .map(|f| libc::pollfd {
            fd: f.as_raw_fd(),
            events: libc::POLLIN | libc::POLLRDHUP,
            revents: 0,
        })
        .collect();
    unsafe { libc::poll(p.as_mut_ptr(), p.len() as libc::nfds_t, 0) };
    p.iter()
        .map(|x| x.revents & (libc::POLLHUP | libc::POLLRDHUP | libc::POLLERR) != 0)
        .collect()
}

/// The GET_VERSION request, sent a byte at a time by the tricklers.
fn request() -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&20u32.to_ne_bytes());
    v.extend_from_slice(&1u32.to_ne_bytes());
    v.extend_from_slice(&0u32.to_ne_bytes());
    v.extend_from_slice(&0u32.to_ne_bytes());
    v.extend_from_slice(&1u32.to_ne_bytes());
    v
}

fn main() {
    let a = args();
    become_user(a.uid, a.gid);
    let end = Instant::now() + Duration::from_secs(a.seconds);
    let req = request();
    let mut holders: Vec<OwnedFd> = Vec::new();
    let mut tricklers: Vec<(OwnedFd, usize)> = Vec::new();
    let (mut opened, mut full, mut failed, mut closed, mut max_live) = (0u64, 0u64, 0u64, 0u64, 0);
    let mut announced = false;
    let mut next_tick = Instant::now();
    while Instant::now() < end {
        // Open what is missing: the first wave without limit, later at most `reopen`/s.
        let budget = if announced { a.reopen / 10 } else { usize::MAX };
        let mut made = 0;
        while (holders.len() < a.hold || tricklers.len() < a.trickle) && made < budget {
            match connect(&a.socket) {
                Connect::Open(fd) => {
                    opened += 1;
                    made += 1;
                    if tricklers.len() < a.trickle {
                        tricklers.push((fd, 0));
                    } else {
                        holders.push(fd);
                    }
                }
                Connect::Full => {
                    full += 1;
                    break;
                }
                Connect::Failed => {
                    failed += 1;
                    break;
                }
            }
        }
        max_live = max_live.max(holders.len() + tricklers.len());
        if !announced {
            announced = true;
            println!("holding {}", holders.len() + tricklers.len());
            let _ = std::io::stdout().flush();
        }
        // Drop what the server closed; it is reopened on the next rounds.
        let gone = closed_by_server(&holders);
        let before = holders.len();
        let mut keep = gone.iter().map(|g| !g);
        holders.retain(|_| keep.next().unwrap_or(true));
        closed += (before - holders.len()) as u64;
        // Once a second, each trickler sends the next byte of its request.
        if Instant::now() >= next_tick {
            next_tick += Duration::from_secs(1);
            let before = tricklers.len();
            tricklers.retain_mut(|(fd, pos)| {
                let b = req[*pos % req.len()];
                let rc = unsafe {
                    libc::send(
                        fd.as_raw_fd(),
                        (&raw const b).cast(),
                        1,
                        libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
                    )
                };
                *pos += 1;
                rc == 1
            });
            closed += (before - tricklers.len()) as u64;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    println!(
        "opened={opened} queue_full={full} failed={failed} closed_by_server={closed} \
         max_live={max_live} live_at_end={}",
        holders.len() + tricklers.len()
    );
}
