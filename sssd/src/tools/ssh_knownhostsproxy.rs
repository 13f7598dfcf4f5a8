//! `sss_ssh_knownhostsproxy [-p PORT] [-d DOMAIN] [-k] HOST [PROXY_COMMAND]`: ssh's
//! `ProxyCommand` that first asks SSSD for HOST's public keys (so that the ssh responder
//! puts them into `/var/lib/sss/pubconf/known_hosts`, which ssh reads as its
//! `GlobalKnownHostsFile`), then connects to HOST and relays standard input and output.
//!
//! As SSSD 2.8's tool: HOST is canonicalised first (a numeric address is turned into its
//! name by a reverse lookup that must succeed; a name into its canonical name from
//! `getaddrinfo`), and the keys are asked for that name with HOST as the alias; a failed
//! lookup is not an error (ssh then decides with the keys it has). With `-k` the keys are
//! printed, one per line, and the tool exits 0. With a PROXY_COMMAND (an absolute path and
//! its arguments) that command replaces the tool; otherwise the addresses of HOST are tried
//! in `getaddrinfo` order on PORT (22) and the data is relayed until either side ends.
//! Errors: "sss_ssh_knownhostsproxy: connect to host HOST port PORT: REASON",
//! "sss_ssh_knownhostsproxy: Could not resolve hostname HOST", "... unable to proxy data:
//! REASON", each with exit code 1; bad options print the usage and exit 1.

use super::ssh_authorizedkeys::fetch_keys;
use sss_proto::ssh;
use std::ffi::{CStr, CString};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;

const USAGE: &str = "Usage: sss_ssh_knownhostsproxy [-?] [-p|--port=INT] [-d|--domain=STRING] \
                     [-k|--pubkey] HOST [PROXY_COMMAND]\n";

/// Parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Args {
    /// Run for `host`.
    Run {
        /// `-p`.
        port: u16,
        /// `-d`.
        domain: Option<String>,
        /// `-k`.
        pubkeys: bool,
        /// HOST.
        host: String,
        /// PROXY_COMMAND and its arguments.
        command: Vec<String>,
    },
    /// `-?`.
    Help,
    /// A usage error with its message.
    Bad(String),
}

/// Parses the arguments (without the program name) as SSSD's popt table does; options may
/// follow HOST, and `--` ends them (needed when the proxy command has options of its own).
pub fn parse(args: &[String]) -> Args {
    let mut port: i64 = 22;
    let mut domain = None;
    let mut pubkeys = false;
    let mut positional: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str, inline: Option<&str>| -> Result<String, Args> {
            match inline {
                Some(v) => Ok(v.to_string()),
                None => it
                    .next()
                    .cloned()
                    .ok_or_else(|| Args::Bad(format!("{name}: missing argument"))),
            }
        };
        let num = |s: String| -> Result<i64, Args> {
            s.trim()
                .parse::<i64>()
                .map_err(|_| Args::Bad(format!("{s}: invalid numeric value")))
        };
        let step: Result<(), Args> = match a.as_str() {
            "--" => {
                positional.extend(it.by_ref().cloned());
                break;
            }
            "-?" | "--help" | "--usage" => return Args::Help,
            "-k" | "--pubkey" => {
                pubkeys = true;
                Ok(())
            }
            "-p" | "--port" => value(a, None).and_then(num).map(|p| port = p),
            "-d" | "--domain" => value(a, None).map(|d| domain = Some(d)),
            "--debug" => value(a, None).and_then(num).map(|_| ()),
            s if s.starts_with("--port=") => {
                num(s["--port=".len()..].to_string()).map(|p| port = p)
            }
            s if s.starts_with("--domain=") => {
                domain = Some(s["--domain=".len()..].to_string());
                Ok(())
            }
            s if s.starts_with("--debug=") => num(s["--debug=".len()..].to_string()).map(|_| ()),
            s if s.starts_with("-p") && s.len() > 2 => num(s[2..].to_string()).map(|p| port = p),
            s if s.starts_with("-d") && s.len() > 2 => {
                domain = Some(s[2..].to_string());
                Ok(())
            }
            s if s.starts_with('-') && s.len() > 1 => {
                Err(Args::Bad(format!("{s}: unknown option")))
            }
            s => {
                positional.push(s.to_string());
                Ok(())
            }
        };
        if let Err(bad) = step {
            return bad;
        }
    }
    let Some(port) = u16::try_from(port).ok().filter(|p| *p >= 1) else {
        return Args::Bad("Invalid port".into());
    };
    let mut positional = positional.into_iter();
    let Some(host) = positional.next() else {
        return Args::Bad("Host not specified".into());
    };
    let command: Vec<String> = positional.collect();
    if command.first().is_some_and(|c| !c.starts_with('/')) {
        return Args::Bad("The path to the proxy command must be absolute".into());
    }
    Args::Run {
        port,
        domain,
        pubkeys,
        host,
        command,
    }
}

/// What `getaddrinfo` gave for a host: its addresses in order and the name to ask SSSD for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    /// Addresses, in `getaddrinfo` order.
    pub addrs: Vec<SocketAddr>,
    /// The canonical name (or, for a numeric HOST, the name its address maps back to).
    pub canonical: Option<String>,
}

/// Canonicalises `host` as SSSD's tool: a numeric address first (`AI_NUMERICHOST`) and its
/// name from `getnameinfo(NI_NAMEREQD)`; otherwise a lookup with `AI_CANONNAME`.
pub fn resolve(host: &str, port: u16) -> Resolved {
    let Ok(c_host) = CString::new(host) else {
        return Resolved::default();
    };
    let base = libc::AI_ADDRCONFIG | libc::AI_NUMERICSERV;
    if let Some((addrs, _)) = getaddrinfo(&c_host, port, base | libc::AI_NUMERICHOST) {
        let canonical = addrs.first().and_then(|a| name_of(*a));
        return Resolved { addrs, canonical };
    }
    match getaddrinfo(&c_host, port, base | libc::AI_CANONNAME) {
        Some((addrs, canonical)) => Resolved { addrs, canonical },
        None => Resolved::default(),
    }
}

/// `getaddrinfo(host, port)` for TCP streams with `flags`: the addresses and the first
/// result's canonical name; `None` when the lookup fails.
fn getaddrinfo(host: &CStr, port: u16, flags: i32) -> Option<(Vec<SocketAddr>, Option<String>)> {
    let c_port = CString::new(port.to_string()).ok()?;
    // SAFETY: an all-zero addrinfo is the documented "no hints" value; fields set below.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = libc::AF_UNSPEC;
    hints.ai_socktype = libc::SOCK_STREAM;
    hints.ai_protocol = libc::IPPROTO_TCP;
    hints.ai_flags = flags;
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: both strings are NUL-terminated and live across the call; `res` receives a
    // list owned by libc that is freed below with freeaddrinfo.
    let rc = unsafe { libc::getaddrinfo(host.as_ptr(), c_port.as_ptr(), &hints, &mut res) };
    if rc != 0 || res.is_null() {
        return None;
    }
    let mut addrs = Vec::new();
    let mut canonical = None;
    let mut cur = res;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getaddrinfo returned, not yet freed.
        let ai = unsafe { &*cur };
        if canonical.is_none() && !ai.ai_canonname.is_null() {
            // SAFETY: ai_canonname, when set, is a NUL-terminated string in the list.
            let c = unsafe { CStr::from_ptr(ai.ai_canonname) };
            canonical = Some(c.to_string_lossy().into_owned());
        }
        // SAFETY: ai_addr points to ai_addrlen bytes of a sockaddr of family ai_family.
        if let Some(a) = unsafe { sockaddr_to_std(ai.ai_addr, ai.ai_addrlen) } {
            addrs.push(a);
        }
        cur = ai.ai_next;
    }
    // SAFETY: `res` came from a successful getaddrinfo and is freed exactly once.
    unsafe { libc::freeaddrinfo(res) };
    Some((addrs, canonical))
}

/// # Safety
/// `sa` must be null or point to `len` readable bytes of a socket address.
unsafe fn sockaddr_to_std(sa: *const libc::sockaddr, len: libc::socklen_t) -> Option<SocketAddr> {
    if sa.is_null() {
        return None;
    }
    let len = usize::try_from(len).ok()?;
    // SAFETY: the caller guarantees `sa` is readable; the family field comes first.
    let family = i32::from(unsafe { (*sa).sa_family });
    match family {
        libc::AF_INET if len >= std::mem::size_of::<libc::sockaddr_in>() => {
            // SAFETY: family and length say this is a sockaddr_in.
            let v4 = unsafe { std::ptr::read_unaligned(sa.cast::<libc::sockaddr_in>()) };
            let ip = std::net::Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr));
            Some(SocketAddr::from((ip, u16::from_be(v4.sin_port))))
        }
        libc::AF_INET6 if len >= std::mem::size_of::<libc::sockaddr_in6>() => {
            // SAFETY: family and length say this is a sockaddr_in6.
            let v6 = unsafe { std::ptr::read_unaligned(sa.cast::<libc::sockaddr_in6>()) };
            let ip = std::net::Ipv6Addr::from(v6.sin6_addr.s6_addr);
            Some(SocketAddr::V6(std::net::SocketAddrV6::new(
                ip,
                u16::from_be(v6.sin6_port),
                v6.sin6_flowinfo,
                v6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// The name `addr` maps back to (`getnameinfo` with `NI_NAMEREQD`).
fn name_of(addr: SocketAddr) -> Option<String> {
    let mut host = [0 as libc::c_char; libc::NI_MAXHOST as usize];
    let rc = match addr {
        SocketAddr::V4(a) => {
            // SAFETY: an all-zero sockaddr_in is valid; fields set below.
            let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
            sa.sin_family = libc::AF_INET as libc::sa_family_t;
            sa.sin_port = a.port().to_be();
            sa.sin_addr.s_addr = u32::from(*a.ip()).to_be();
            // SAFETY: `sa` is a complete sockaddr_in of the given size; `host` is a
            // writable buffer of the given length.
            unsafe {
                libc::getnameinfo(
                    (&sa as *const libc::sockaddr_in).cast(),
                    std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                    host.as_mut_ptr(),
                    host.len() as libc::socklen_t,
                    std::ptr::null_mut(),
                    0,
                    libc::NI_NAMEREQD,
                )
            }
        }
        SocketAddr::V6(a) => {
            // SAFETY: an all-zero sockaddr_in6 is valid; fields set below.
            let mut sa: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
            sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sa.sin6_port = a.port().to_be();
            sa.sin6_addr.s6_addr = a.ip().octets();
            sa.sin6_scope_id = a.scope_id();
            // SAFETY: as above, for a sockaddr_in6.
            unsafe {
                libc::getnameinfo(
                    (&sa as *const libc::sockaddr_in6).cast(),
                    std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                    host.as_mut_ptr(),
                    host.len() as libc::socklen_t,
                    std::ptr::null_mut(),
                    0,
                    libc::NI_NAMEREQD,
                )
            }
        }
    };
    if rc != 0 {
        return None;
    }
    // SAFETY: on success getnameinfo wrote a NUL-terminated name into `host`.
    let c = unsafe { CStr::from_ptr(host.as_ptr()) };
    Some(c.to_string_lossy().into_owned())
}

/// The lines `-k` prints for `reply` (malformed keys skipped, each reported on stderr).
pub fn key_lines(reply: &ssh::KeyReply, stderr: &mut String) -> Vec<u8> {
    let mut out = Vec::new();
    for k in &reply.keys {
        match ssh::format_key(k) {
            Ok(line) => {
                out.extend_from_slice(&line);
                out.push(b'\n');
            }
            Err(e) => stderr.push_str(&format!("SSH key is malformed: {e}\n")),
        }
    }
    out
}

/// The text of an errno, as `strerror` gives it.
fn reason(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => nix::errno::Errno::from_raw(n).desc().to_string(),
        None => e.to_string(),
    }
}

/// Relays standard input to `sock` and `sock` to standard output until either side ends
/// (end of file, a hang-up or a broken pipe), as SSSD's tool: the first end stops both.
pub fn relay(sock: TcpStream) -> std::io::Result<()> {
    let (tx, rx) = std::sync::mpsc::channel::<std::io::Result<()>>();
    let mut to_server = sock.try_clone()?;
    let tx2 = tx.clone();
    std::thread::spawn(move || {
        let _ = tx2.send(copy(&mut std::io::stdin().lock(), &mut to_server));
    });
    let mut from_server = sock;
    std::thread::spawn(move || {
        let _ = tx.send(copy(&mut from_server, &mut std::io::stdout().lock()));
    });
    rx.recv().unwrap_or(Ok(()))
}

/// Copies until end of file; a peer that went away (broken pipe, reset) ends it quietly.
fn copy(from: &mut dyn Read, to: &mut dyn Write) -> std::io::Result<()> {
    let mut buf = [0u8; 8192];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Ok(()),
            Err(e) => return Err(e),
        };
        let chunk = buf.get(..n).unwrap_or_default();
        match to.write_all(chunk).and_then(|()| to.flush()) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

/// Runs the tool with `args` (without the program name) against the ssh responder socket
/// `socket`; returns the exit code (or does not return: the proxy command replaces it).
pub fn run(socket: &Path, args: &[String]) -> i32 {
    let (port, domain, pubkeys, host, command) = match parse(args) {
        Args::Run {
            port,
            domain,
            pubkeys,
            host,
            command,
        } => (port, domain, pubkeys, host, command),
        Args::Help => {
            print!("{USAGE}");
            return 0;
        }
        Args::Bad(m) => {
            eprintln!("{USAGE}{m}");
            return 1;
        }
    };
    let resolved = resolve(&host, port);
    let mut reply = None;
    if let Some(name) = &resolved.canonical {
        match fetch_keys(
            socket,
            ssh::GET_HOST_PUBKEYS,
            name,
            Some(&host),
            domain.as_deref(),
        ) {
            Ok(r) => reply = r,
            Err(e) => tracing::debug!("host keys of {name}: {e}"),
        }
    }
    if pubkeys {
        if let Some(r) = &reply {
            let mut err = String::new();
            let out = key_lines(r, &mut err);
            eprint!("{err}");
            if std::io::stdout().write_all(&out).is_err() {
                return 1;
            }
        }
        return 0;
    }
    if let Some((prog, rest)) = command.split_first() {
        use std::os::unix::process::CommandExt;
        let e = std::process::Command::new(prog).args(rest).exec();
        tracing::debug!("execv({prog}) failed: {e}");
        return 1;
    }
    if resolved.addrs.is_empty() {
        eprintln!("sss_ssh_knownhostsproxy: Could not resolve hostname {host}");
        return 1;
    }
    let mut last = None;
    for a in &resolved.addrs {
        match TcpStream::connect(a) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return match relay(s) {
                    Ok(()) => 0,
                    Err(e) => {
                        eprintln!(
                            "sss_ssh_knownhostsproxy: unable to proxy data: {}",
                            reason(&e)
                        );
                        1
                    }
                };
            }
            Err(e) => last = Some(e),
        }
    }
    let why = last.map(|e| reason(&e)).unwrap_or_default();
    eprintln!("sss_ssh_knownhostsproxy: connect to host {host} port {port}: {why}");
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn options_as_sssds_tool() {
        assert_eq!(
            parse(&s(&["-p", "2222", "h"])),
            Args::Run {
                port: 2222,
                domain: None,
                pubkeys: false,
                host: "h".into(),
                command: vec![]
            }
        );
        assert_eq!(
            parse(&s(&["h", "-k", "--domain=LDAP", "--port=7"])),
            Args::Run {
                port: 7,
                domain: Some("LDAP".into()),
                pubkeys: true,
                host: "h".into(),
                command: vec![]
            }
        );
        assert_eq!(
            parse(&s(&["-dLDAP", "h", "--", "/usr/bin/nc", "-q0", "h", "22"])),
            Args::Run {
                port: 22,
                domain: Some("LDAP".into()),
                pubkeys: false,
                host: "h".into(),
                command: s(&["/usr/bin/nc", "-q0", "h", "22"])
            }
        );
        assert_eq!(parse(&s(&[])), Args::Bad("Host not specified".into()));
        assert_eq!(
            parse(&s(&["-p", "0", "h"])),
            Args::Bad("Invalid port".into())
        );
        assert_eq!(
            parse(&s(&["-p", "65536", "h"])),
            Args::Bad("Invalid port".into())
        );
        assert!(matches!(parse(&s(&["-p", "x", "h"])), Args::Bad(_)));
        assert_eq!(
            parse(&s(&["h", "nc"])),
            Args::Bad("The path to the proxy command must be absolute".into())
        );
        assert!(matches!(parse(&s(&["-x", "h"])), Args::Bad(_)));
        assert_eq!(parse(&s(&["-?"])), Args::Help);
    }

    #[test]
    fn numeric_hosts_keep_their_address() {
        let r = resolve("127.0.0.1", 2222);
        assert_eq!(r.addrs, vec!["127.0.0.1:2222".parse().unwrap()]);
        assert!(resolve("no-such-host.invalid", 22).addrs.is_empty());
    }

    #[test]
    fn keys_print_one_per_line_and_bad_ones_are_reported() {
        let reply = ssh::KeyReply {
            name: Some("h".into()),
            keys: vec![b"ssh-ed25519 AAAA c\n".to_vec(), b"a\nb".to_vec()],
        };
        let mut err = String::new();
        assert_eq!(key_lines(&reply, &mut err), b"ssh-ed25519 AAAA c\n");
        assert!(err.starts_with("SSH key is malformed"));
    }

    #[test]
    fn copy_stops_at_end_of_file() {
        let mut out = Vec::new();
        copy(&mut &b"hello"[..], &mut out).unwrap();
        assert_eq!(out, b"hello");
    }
}
