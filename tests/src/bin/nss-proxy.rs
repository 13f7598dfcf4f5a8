//! A counting relay in front of the NSS responder socket, for the memory-cache tests: proves
//! which lookups reach the responder, whatever the implementation behind it.
//!
//! ```text
//! nss-proxy LISTEN UPSTREAM
//! ```
//! Listens on the UNIX socket LISTEN (created root-owned, mode 0666, as the clients require),
//! prints `ready`, and relays every connection to UPSTREAM (the responder's socket, renamed
//! by the test). Each request a client sends is printed as one line, `req <cmd> <pid> <body>`
//! (command number in hex, the client's PID from SO_PEERCRED, body with non-printable bytes
//! escaped), before it is forwarded.
//! Runs until killed.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::Mutex;

use anyhow::{Context, Result, bail};

static OUT: Mutex<()> = Mutex::new(());

fn printable(body: &[u8]) -> String {
    let mut s = String::new();
    for &b in body {
        if b.is_ascii_graphic() {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s
}

/// The client's PID (0 if unknown).
fn peer_pid(s: &UnixStream) -> i32 {
    // SAFETY: all-zero is a valid ucred.
    let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
    let mut len = size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: valid fd, buffer and length for SO_PEERCRED.
    let r = unsafe {
        libc::getsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&raw mut cred).cast(),
            &mut len,
        )
    };
    if r == 0 { cred.pid } else { 0 }
}

/// Relays one client: requests are read frame by frame and logged, replies copied as bytes.
fn relay(mut client: UnixStream, upstream: &str) -> Result<()> {
    let pid = peer_pid(&client);
    let mut server =
        UnixStream::connect(upstream).with_context(|| format!("connect {upstream}"))?;
    let mut back_client = client.try_clone()?;
    let mut back_server = server.try_clone()?;
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut back_server, &mut back_client);
        let _ = back_client.shutdown(std::net::Shutdown::Both);
    });
    loop {
        let mut head = [0u8; 16];
        if client.read_exact(&mut head).is_err() {
            break;
        }
        let len = u32::from_ne_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let cmd = u32::from_ne_bytes([head[4], head[5], head[6], head[7]]);
        let mut body = vec![0u8; len.saturating_sub(16).min(1 << 20)];
        if client.read_exact(&mut body).is_err() {
            break;
        }
        {
            let _g = OUT.lock();
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "req {cmd:#06x} {pid} {}", printable(&body));
            let _ = out.flush();
        }
        server.write_all(&head)?;
        server.write_all(&body)?;
    }
    let _ = server.shutdown(std::net::Shutdown::Both);
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [listen, upstream] = args.as_slice() else {
        bail!("usage: nss-proxy LISTEN UPSTREAM");
    };
    let _ = std::fs::remove_file(listen);
    let l = UnixListener::bind(listen).with_context(|| format!("bind {listen}"))?;
    std::fs::set_permissions(listen, std::fs::Permissions::from_mode(0o666))
        .with_context(|| format!("chmod {listen}"))?;
    {
        let _g = OUT.lock();
        println!("ready");
        std::io::stdout().flush()?;
    }
    for c in l.incoming() {
        let Ok(c) = c else { continue };
        let up = upstream.clone();
        std::thread::spawn(move || {
            if let Err(e) = relay(c, &up) {
                eprintln!("nss-proxy: {e:#}");
            }
        });
    }
    Ok(())
}
