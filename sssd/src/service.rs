//! Common startup for the child processes the monitor spawns (`sssd_be --domain NAME`,
//! `sssd_nss`, `sssd_pam`).
//!
//! A child's `main` is a plain `fn main` (no `#[tokio::main]`), because the environment
//! must be changed before any thread exists:
//!
//! ```no_run
//! use sssd::service;
//! fn main() -> anyhow::Result<()> {
//!     let opts = service::ChildOptions::from_args()?; // sets _SSS_LOOPS=NO first
//!     let format = sssd::logging::LineFormat::default();
//!     service::init_logging("nss", &opts, None, format)?; // sssd_nss.log (--logger=files)
//!     let rt = tokio::runtime::Runtime::new()?;
//!     rt.block_on(async {
//!         // ... connect to the bus, serve interfaces, sbus::register_service(..) ...
//!         # let handler: std::sync::Arc<dyn sssd::sbus::ServiceHandler> = todo!();
//!         service::wait_for_termination(handler).await // SIGUSR1/2, SIGHUP handled here
//!     })?;
//!     Ok(())
//! }
//! ```

use crate::args::{Args, DebugArgs, UsageError};
use crate::logging::{self, Logger, LoggingError};
use crate::paths::Paths;
use crate::privilege::user::RunAs;
use crate::sbus::ServiceHandler;
use std::path::PathBuf;
use std::sync::Arc;
use thiserror::Error;

/// Environment variable that relocates every path under a directory (tests only).
pub const TEST_ROOT_ENV: &str = "SSSD_TEST_ROOT";
/// Environment variable that overrides where the monitor finds the child binaries.
pub const LIBEXEC_ENV: &str = "SSSD_LIBEXEC_DIR";

/// Why a child could not start.
#[derive(Debug, Error)]
pub enum ServiceError {
    /// Bad command line.
    #[error("command line: {0}")]
    Usage(#[from] UsageError),
    /// Logging could not start.
    #[error(transparent)]
    Logging(#[from] LoggingError),
    /// Installing a signal handler failed.
    #[error("signal handler for {signal}: {source}")]
    Signal {
        /// The signal name.
        signal: &'static str,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// Sets `_SSS_LOOPS=NO` so this process's own NSS lookups never loop back into sssd.
/// Call before any thread is started ([`ChildOptions::from_args`] does).
pub fn set_no_loops() {
    // SAFETY: documented precondition: called first thing in `main`, while the process has
    // only one thread, so nothing reads the environment concurrently.
    unsafe { std::env::set_var("_SSS_LOOPS", "NO") };
}

/// The standard paths, relocated under `$SSSD_TEST_ROOT` when set, with the child binary
/// directory taken from `$SSSD_LIBEXEC_DIR` when set.
pub fn paths_from_env() -> Paths {
    let mut paths = match std::env::var_os(TEST_ROOT_ENV) {
        Some(root) if !root.is_empty() => Paths::under(std::path::Path::new(&root)),
        _ => Paths::system(),
    };
    if let Some(dir) = std::env::var_os(LIBEXEC_ENV).filter(|d| !d.is_empty()) {
        paths.libexec = PathBuf::from(dir);
    }
    paths
}

/// Parses a `--logger` value.
pub fn parse_logger(value: &str, paths: &Paths) -> Result<Logger, UsageError> {
    match value {
        "stderr" => Ok(Logger::Stderr),
        "journald" => Ok(Logger::Journald),
        "files" => Ok(Logger::Files(paths.log.clone())),
        other => Err(UsageError(format!(
            "--logger={other}: expected stderr, files or journald"
        ))),
    }
}

/// The options every child takes, as the monitor passes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildOptions {
    /// `--domain NAME` (backends).
    pub domain: Option<String>,
    /// `-d/--debug-level N` (0-9 or a bitmask); `None` when not given.
    pub debug_level: Option<u32>,
    /// `--logger=stderr|files` (default stderr).
    pub logger: Logger,
    /// `-c/--config FILE` (default `/etc/sssd/sssd.conf`).
    pub config_file: PathBuf,
    /// Where everything lives (see [`paths_from_env`]).
    pub paths: Paths,
    /// `--uid N --gid N`: the `[sssd] user` to become once the configuration is read
    /// (`None` when not given; uid 0 means stay root).
    pub run_as: Option<RunAs>,
    /// `--socket-activated`: adopt the listening sockets passed with `LISTEN_FDS` and exit
    /// when idle (responders).
    pub socket_activated: bool,
    /// `--debug-timestamps=0|1`, when given.
    pub debug_timestamps: Option<bool>,
    /// `--debug-microseconds=0|1`, when given.
    pub debug_microseconds: Option<bool>,
}

impl ChildOptions {
    /// Sets `_SSS_LOOPS=NO`, then parses this process's command line. Call first in `main`,
    /// before any thread exists.
    pub fn from_args() -> Result<ChildOptions, ServiceError> {
        set_no_loops();
        Ok(ChildOptions::parse(
            std::env::args().skip(1),
            paths_from_env(),
        )?)
    }

    /// Parses `args` (without the program name); `--uid` and `--gid` go together.
    pub fn parse<I: IntoIterator<Item = String>>(
        args: I,
        paths: Paths,
    ) -> Result<ChildOptions, UsageError> {
        let mut a = Args::new(args);
        let mut opts = ChildOptions {
            domain: None,
            debug_level: None,
            logger: Logger::Stderr,
            config_file: paths.config_file.clone(),
            paths,
            run_as: None,
            socket_activated: false,
            debug_timestamps: None,
            debug_microseconds: None,
        };
        let (mut uid, mut gid) = (None, None);
        let mut debug = DebugArgs::default();
        while let Some(opt) = a.next_option() {
            match opt.as_str() {
                o if debug.take(o, &mut a)? => {}
                "--domain" => opts.domain = Some(a.value()?),
                "--logger" => opts.logger = parse_logger(&a.value()?, &opts.paths)?,
                "-c" | "--config" => opts.config_file = PathBuf::from(a.value()?),
                "--uid" | "--gid" => {
                    let v = a.value()?;
                    let n = v
                        .parse::<u32>()
                        .map_err(|_| UsageError(format!("{opt}: {v:?} is not a number")))?;
                    *(if opt == "--uid" { &mut uid } else { &mut gid }) = Some(n);
                }
                "--socket-activated" => {
                    a.no_value()?;
                    opts.socket_activated = true;
                }
                "--dbus-activated" | "-i" | "--interactive" => a.no_value()?,
                _ => return Err(a.unknown()),
            }
        }
        opts.debug_level = debug.level;
        opts.debug_timestamps = debug.timestamps;
        opts.debug_microseconds = debug.microseconds;
        if opts.domain.as_deref() == Some("") {
            return Err(UsageError("--domain needs a non-empty name".into()));
        }
        opts.run_as = match (uid, gid) {
            (Some(uid), Some(gid)) => Some(RunAs { uid, gid }),
            (None, None) => None,
            _ => return Err(UsageError("--uid and --gid go together".into())),
        };
        Ok(opts)
    }

    /// The debug level to use: the command line wins, then `config_level` (the process's
    /// section `debug_level`), then SSSD's default 0x0070.
    pub fn effective_debug_level(&self, config_level: Option<u32>) -> u32 {
        self.debug_level
            .or(config_level)
            .unwrap_or(logging::DEFAULT_DEBUG_LEVEL)
    }
}

/// The PAM responder's private socket (`/var/lib/sss/pipes/private/pam`, for root clients
/// of SSSD before 2.10): `public`'s settings at the private path, 0600 in a 0700 directory.
/// One definition for `sssd_pam` and for the monitor, which binds it for an on-demand
/// responder.
pub fn pam_private_server(
    public: &crate::responder::common::server::ServerConfig,
    paths: &Paths,
) -> crate::responder::common::server::ServerConfig {
    let mut private = public.clone();
    private.socket_path = paths.pam_private_socket();
    private.socket_mode = 0o600;
    private.dir_mode = 0o700;
    private
}

/// Starts logging for `service_name` (the domain name for a backend, `nss`, `pam`), with
/// the line layout `format` (see [`logging::LineFormat::resolve`]).
pub fn init_logging(
    service_name: &str,
    opts: &ChildOptions,
    config_level: Option<u32>,
    format: logging::LineFormat,
) -> Result<(), ServiceError> {
    format.apply();
    if let Logger::Files(dir) = &opts.logger {
        // Best effort: the open below reports a clear error when this did not help.
        let _ = std::fs::create_dir_all(dir);
    }
    logging::init(
        service_name,
        opts.effective_debug_level(config_level),
        opts.logger.clone(),
    )?;
    Ok(())
}

/// Sends SIGTERM to this process's own process group (its helper children) when this process
/// leads the group, as the monitor arranges. Our own SIGTERM handler absorbs the copy we get.
pub fn terminate_own_children() {
    let me = nix::unistd::getpid();
    if nix::unistd::getpgrp() == me {
        let _ = nix::sys::signal::killpg(me, nix::sys::signal::Signal::SIGTERM);
    }
}

/// Handles signals until SIGTERM or SIGINT: SIGUSR1 → `go_offline`, SIGUSR2 →
/// `reset_offline`, SIGHUP → reopen logs and `rotate_logs`. On SIGTERM/SIGINT it terminates
/// the process group's other members ([`terminate_own_children`]) and returns, so the caller
/// can exit cleanly.
pub async fn wait_for_termination(handler: Arc<dyn ServiceHandler>) -> Result<(), ServiceError> {
    use tokio::signal::unix::{SignalKind, signal};
    let listen = |kind: SignalKind, name: &'static str| {
        signal(kind).map_err(|source| ServiceError::Signal {
            signal: name,
            source,
        })
    };
    let mut term = listen(SignalKind::terminate(), "SIGTERM")?;
    let mut int = listen(SignalKind::interrupt(), "SIGINT")?;
    let mut usr1 = listen(SignalKind::user_defined1(), "SIGUSR1")?;
    let mut usr2 = listen(SignalKind::user_defined2(), "SIGUSR2")?;
    let mut hup = listen(SignalKind::hangup(), "SIGHUP")?;
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = usr1.recv() => handler.go_offline(),
            _ = usr2.recv() => handler.reset_offline(),
            _ = hup.recv() => {
                logging::reopen();
                handler.rotate_logs();
            }
        }
    }
    tracing::info!("terminating on signal");
    terminate_own_children();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parse(v: &[&str]) -> Result<ChildOptions, UsageError> {
        ChildOptions::parse(
            v.iter().map(|s| s.to_string()),
            Paths::under(Path::new("/r")),
        )
    }

    #[test]
    fn parses_what_the_monitor_passes() {
        let o = parse(&[
            "--domain",
            "LDAP",
            "--uid",
            "0",
            "--gid",
            "0",
            "-d",
            "0x00f0",
            "--logger=files",
            "-c",
            "/x.conf",
        ])
        .unwrap();
        assert_eq!(o.domain.as_deref(), Some("LDAP"));
        assert_eq!(o.debug_level, Some(0xf0));
        assert_eq!(o.logger, Logger::Files(PathBuf::from("/r/var/log/sssd")));
        assert_eq!(o.config_file, PathBuf::from("/x.conf"));
        assert_eq!(o.effective_debug_level(Some(3)), 0xf0);
        assert_eq!(o.run_as, Some(RunAs::ROOT));
        assert!(!o.socket_activated);
        assert!(parse(&["--socket-activated"]).unwrap().socket_activated);
    }

    #[test]
    fn line_layout_flags_and_journald() {
        let o = parse(&[
            "--debug-timestamps=0",
            "--debug-microseconds",
            "1",
            "--logger=journald",
        ])
        .unwrap();
        assert_eq!(o.debug_timestamps, Some(false));
        assert_eq!(o.debug_microseconds, Some(true));
        assert_eq!(o.logger, Logger::Journald);
        assert_eq!(parse(&[]).unwrap().debug_timestamps, None);
        assert!(
            parse(&["--debug-timestamps=yes"])
                .unwrap_err()
                .0
                .contains("0 or 1")
        );
    }

    #[test]
    fn uid_and_gid_go_together() {
        let o = parse(&["--uid", "105", "--gid=107"]).unwrap();
        assert_eq!(o.run_as, Some(RunAs { uid: 105, gid: 107 }));
        assert_eq!(parse(&[]).unwrap().run_as, None);
        assert!(parse(&["--uid", "105"]).unwrap_err().0.contains("together"));
        assert!(
            parse(&["--uid", "x", "--gid", "1"])
                .unwrap_err()
                .0
                .contains("--uid")
        );
    }

    #[test]
    fn defaults_and_errors() {
        let o = parse(&[]).unwrap();
        assert_eq!(o.logger, Logger::Stderr);
        assert_eq!(o.config_file, PathBuf::from("/r/etc/sssd/sssd.conf"));
        assert_eq!(o.effective_debug_level(None), logging::DEFAULT_DEBUG_LEVEL);
        assert_eq!(o.effective_debug_level(Some(6)), 6);
        assert!(
            parse(&["--logger=syslog"])
                .unwrap_err()
                .0
                .contains("syslog")
        );
        assert!(parse(&["-d", "x"]).unwrap_err().0.contains("-d"));
        assert!(parse(&["--bogus"]).unwrap_err().0.contains("--bogus"));
        assert!(parse(&["--domain="]).is_err());
    }
}
