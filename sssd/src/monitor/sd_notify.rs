//! systemd's readiness protocol (units with `Type=notify`, as SSSD's `sssd.service`): when
//! `$NOTIFY_SOCKET` is set, the monitor sends `READY=1` once every service is up and
//! `STOPPING=1` when it shuts down. Without the variable nothing is sent.

use std::os::unix::net::{SocketAddr, UnixDatagram};

/// The variable systemd sets for `Type=notify` services.
pub const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";

/// Sends `state` (newline-separated `KEY=value` lines) to `$NOTIFY_SOCKET`; `Ok(false)`
/// when the variable is not set.
pub fn notify(state: &str) -> std::io::Result<bool> {
    match std::env::var_os(NOTIFY_SOCKET) {
        Some(addr) if !addr.is_empty() => {
            send_to(&addr.to_string_lossy(), state)?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Sends `state` to the datagram socket `addr`: a path, or an abstract name written with a
/// leading `@`.
pub fn send_to(addr: &str, state: &str) -> std::io::Result<()> {
    let target = match addr.strip_prefix('@') {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            SocketAddr::from_abstract_name(name.as_bytes())?
        }
        None => SocketAddr::from_pathname(addr)?,
    };
    let sock = UnixDatagram::unbound()?;
    sock.send_to_addr(state.as_bytes(), &target)?;
    Ok(())
}

/// The readiness message for the monitor (process `pid`).
pub fn ready_message(pid: u32) -> String {
    format!("READY=1\nMAINPID={pid}\nSTATUS=Running\n")
}

/// Sends [`ready_message`] for this process, logging (not failing) when it cannot.
pub fn ready() {
    notify_or_warn(&ready_message(std::process::id()));
}

/// Tells systemd the monitor is stopping.
pub fn stopping() {
    notify_or_warn("STOPPING=1\n");
}

fn notify_or_warn(state: &str) {
    if let Err(e) = notify(state) {
        tracing::warn!("cannot notify systemd through ${NOTIFY_SOCKET}: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn recv(sock: &UnixDatagram) -> String {
        sock.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut buf = [0u8; 256];
        let n = sock.recv(&mut buf).expect("a datagram");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    #[test]
    fn sends_to_a_path_and_to_an_abstract_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("notify");
        let sock = UnixDatagram::bind(&path).expect("bind");
        send_to(path.to_str().expect("utf-8"), &ready_message(42)).expect("send");
        assert_eq!(recv(&sock), "READY=1\nMAINPID=42\nSTATUS=Running\n");

        use std::os::linux::net::SocketAddrExt;
        let name = format!("sssd-test-notify-{}", std::process::id());
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).expect("name");
        let sock = UnixDatagram::bind_addr(&addr).expect("bind abstract");
        send_to(&format!("@{name}"), "STOPPING=1\n").expect("send");
        assert_eq!(recv(&sock), "STOPPING=1\n");
    }

    #[test]
    fn nobody_listening_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("absent");
        assert!(send_to(path.to_str().expect("utf-8"), "READY=1\n").is_err());
    }
}
