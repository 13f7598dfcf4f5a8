//! Socket activation: a responder started with `--socket-activated` adopts the listening
//! sockets passed with systemd's protocol (`LISTEN_PID`, `LISTEN_FDS`, `LISTEN_FDNAMES`;
//! descriptors from 3 on) instead of binding them, and exits after `responder_idle_timeout`
//! seconds without a client (SSSD: default 300, at least 60, 0 = never). Whoever passed the
//! sockets (systemd, `systemd-socket-activate`, or our monitor for sites without a
//! `services` line) keeps them and starts the responder again on the next connection.

use crate::config::{Config, ConfigError};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// The first passed descriptor (`SD_LISTEN_FDS_START`).
pub const LISTEN_FDS_START: RawFd = 3;
/// SSSD's `responder_idle_timeout` default, in seconds.
pub const DEFAULT_IDLE_TIMEOUT: i64 = 300;
/// SSSD's smallest `responder_idle_timeout`: lower values are raised to it.
pub const MIN_IDLE_TIMEOUT: u64 = 60;

/// A listening socket handed to this process.
#[derive(Debug)]
pub struct Inherited {
    /// The socket.
    pub fd: OwnedFd,
    /// Its `LISTEN_FDNAMES` entry, when given.
    pub name: Option<String>,
    /// The path it is bound to, when it is a UNIX socket with one.
    pub path: Option<PathBuf>,
}

/// What `init` found for a `--socket-activated` start.
#[derive(Debug)]
struct Activation {
    fds: Vec<Inherited>,
    idle_timeout: Option<Duration>,
}

static ACTIVATION: Mutex<Option<Activation>> = Mutex::new(None);

/// Parses `LISTEN_PID`, `LISTEN_FDS` and `LISTEN_FDNAMES` for process `pid`: the number
/// of descriptors and their names (empty when no names were given). `None` when the
/// variables are missing, malformed or meant for another process.
pub fn parse_listen_env(
    listen_pid: Option<&str>,
    listen_fds: Option<&str>,
    names: Option<&str>,
    pid: u32,
) -> Option<(usize, Vec<String>)> {
    let for_pid: u32 = listen_pid?.trim().parse().ok()?;
    if for_pid != pid {
        return None;
    }
    let n: usize = listen_fds?.trim().parse().ok()?;
    let names = names
        .map(|s| s.split(':').map(str::to_string).collect::<Vec<_>>())
        .filter(|v| v.len() == n)
        .unwrap_or_default();
    Some((n, names))
}

/// Takes the passed descriptors out of the environment (and unsets the variables, so no
/// child inherits them), marks them close-on-exec, and records the idle timeout of
/// `section`. Call while the process has one thread (from `startup::init`).
pub fn adopt_from_env(cfg: &Config, section: &str) -> Result<usize, ConfigError> {
    let idle_timeout = idle_timeout(cfg, section)?;
    let var = |k: &str| std::env::var(k).ok();
    let parsed = parse_listen_env(
        var("LISTEN_PID").as_deref(),
        var("LISTEN_FDS").as_deref(),
        var("LISTEN_FDNAMES").as_deref(),
        std::process::id(),
    );
    for k in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
        // SAFETY: documented precondition: the process has a single thread here.
        unsafe { std::env::remove_var(k) };
    }
    let mut fds = Vec::new();
    if let Some((n, names)) = parsed {
        for i in 0..n {
            let Some(raw) = i32::try_from(i)
                .ok()
                .and_then(|i| LISTEN_FDS_START.checked_add(i))
            else {
                break;
            };
            // The descriptor must be open: fcntl(F_GETFD) fails on a closed one.
            // SAFETY: fcntl on an integer descriptor has no memory effects.
            if unsafe { libc::fcntl(raw, libc::F_GETFD) } < 0 {
                tracing::warn!("LISTEN_FDS: descriptor {raw} is not open; ignoring it");
                continue;
            }
            // SAFETY: the descriptor is open (checked above) and was handed to this
            // process to own by the activation protocol; nothing else in it refers to it.
            let fd = unsafe { OwnedFd::from_raw_fd(raw) };
            // SAFETY: as above; sets close-on-exec on a descriptor we own.
            unsafe { libc::fcntl(raw, libc::F_SETFD, libc::FD_CLOEXEC) };
            let path = bound_path(&fd);
            fds.push(Inherited {
                fd,
                name: names.get(i).cloned(),
                path,
            });
        }
    }
    let count = fds.len();
    *ACTIVATION.lock().unwrap_or_else(PoisonError::into_inner) =
        Some(Activation { fds, idle_timeout });
    Ok(count)
}

/// Whether this process was started `--socket-activated` (after [`adopt_from_env`]).
pub fn is_active() -> bool {
    ACTIVATION
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .is_some()
}

/// The idle timeout of a socket-activated responder (`None`: never exits when idle).
pub fn active_idle_timeout() -> Option<Duration> {
    ACTIVATION
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .and_then(|a| a.idle_timeout)
}

/// Takes the passed socket for `path`: the one bound to it, else the one named `name`,
/// else the passed socket at `position` (SSSD's order: public, then private). `None` when
/// not socket-activated or nothing fits.
pub fn take_socket(path: &Path, position: usize, name: &str) -> Option<OwnedFd> {
    let mut guard = ACTIVATION.lock().unwrap_or_else(PoisonError::into_inner);
    let fds = &mut guard.as_mut()?.fds;
    let index = pick(fds, path, position, name)?;
    Some(fds.remove(index).fd)
}

fn pick(fds: &[Inherited], path: &Path, position: usize, name: &str) -> Option<usize> {
    if let Some(i) = fds.iter().position(|f| f.path.as_deref() == Some(path)) {
        return Some(i);
    }
    if let Some(i) = fds.iter().position(|f| f.name.as_deref() == Some(name)) {
        return Some(i);
    }
    // Only sockets whose path we could not read are taken by position.
    if fds.get(position).is_some_and(|f| f.path.is_none()) {
        return Some(position);
    }
    None
}

/// The path a UNIX socket is bound to.
fn bound_path(fd: &OwnedFd) -> Option<PathBuf> {
    let addr: nix::sys::socket::UnixAddr = nix::sys::socket::getsockname(fd.as_raw_fd()).ok()?;
    addr.path().map(Path::to_path_buf)
}

/// `[section] responder_idle_timeout` as SSSD reads it: 300 s by default, 0 = never,
/// anything lower than 60 s raised to 60 s.
pub fn idle_timeout(cfg: &Config, section: &str) -> Result<Option<Duration>, ConfigError> {
    let default = DEFAULT_IDLE_TIMEOUT;
    let v = cfg.get_int(section, "responder_idle_timeout", default)?;
    Ok(idle_timeout_from(v))
}

/// See [`idle_timeout`].
pub fn idle_timeout_from(value: i64) -> Option<Duration> {
    if value == 0 {
        return None;
    }
    let secs = u64::try_from(value)
        .unwrap_or(MIN_IDLE_TIMEOUT)
        .max(MIN_IDLE_TIMEOUT);
    Some(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_env_is_for_this_process_only() {
        assert_eq!(
            parse_listen_env(Some("42"), Some("2"), Some("pam:pam-priv"), 42),
            Some((2, vec!["pam".to_string(), "pam-priv".to_string()]))
        );
        assert_eq!(parse_listen_env(Some("41"), Some("1"), None, 42), None);
        assert_eq!(parse_listen_env(None, Some("1"), None, 42), None);
        assert_eq!(parse_listen_env(Some("42"), Some("x"), None, 42), None);
        // Names that do not match the count are ignored.
        assert_eq!(
            parse_listen_env(Some("42"), Some("2"), Some("one"), 42),
            Some((2, vec![]))
        );
    }

    #[test]
    fn idle_timeout_as_sssd() {
        assert_eq!(idle_timeout_from(0), None);
        assert_eq!(idle_timeout_from(10), Some(Duration::from_secs(60)));
        assert_eq!(idle_timeout_from(-5), Some(Duration::from_secs(60)));
        assert_eq!(idle_timeout_from(300), Some(Duration::from_secs(300)));
    }

    #[test]
    fn picks_by_path_then_name_then_position() {
        let dev = |name: Option<&str>, path: Option<&str>| Inherited {
            fd: std::fs::File::open("/dev/null").unwrap().into(),
            name: name.map(str::to_string),
            path: path.map(PathBuf::from),
        };
        let fds = vec![
            dev(Some("sssd-pam.socket"), Some("/p/pam")),
            dev(Some("sssd-pam-priv.socket"), Some("/p/private/pam")),
        ];
        assert_eq!(pick(&fds, Path::new("/p/private/pam"), 1, "x"), Some(1));
        assert_eq!(pick(&fds, Path::new("/p/pam"), 1, "x"), Some(0));
        assert_eq!(
            pick(&fds, Path::new("/q/pam"), 0, "sssd-pam-priv.socket"),
            Some(1)
        );
        assert_eq!(pick(&fds, Path::new("/q/pam"), 0, "x"), None);
        let unnamed = vec![dev(None, None), dev(None, None)];
        assert_eq!(pick(&unnamed, Path::new("/q/pam"), 1, "x"), Some(1));
    }
}
