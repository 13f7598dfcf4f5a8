//! Starting and stopping the monitor's children: one process group each, with a parent-death
//! signal so none outlives the monitor.

use super::options::MonitorOptions;
use crate::sbus::domain_bus_name;
use std::path::PathBuf;
use std::process::Stdio;

/// What a child is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ChildKind {
    /// `sssd_be --domain NAME`.
    Backend(String),
    /// `sssd_<name>` (`nss`, `pam`).
    Responder(String),
}

/// Responders this implementation provides.
pub const KNOWN_RESPONDERS: &[&str] = &["nss", "pam", "sudo", "ssh", "autofs"];

impl ChildKind {
    /// The bus name the child owns.
    pub fn bus_name(&self) -> String {
        match self {
            ChildKind::Backend(d) => domain_bus_name(d),
            ChildKind::Responder(r) => format!("sssd.{r}"),
        }
    }

    /// The name the child passes to `RegisterService`: the domain or responder name.
    pub fn registration_name(&self) -> &str {
        match self {
            ChildKind::Backend(d) | ChildKind::Responder(d) => d,
        }
    }

    /// The binary file name in libexec.
    pub fn binary(&self) -> String {
        match self {
            ChildKind::Backend(_) => "sssd_be".to_string(),
            ChildKind::Responder(r) => format!("sssd_{r}"),
        }
    }

    /// Human-readable description for logs.
    pub fn describe(&self) -> String {
        match self {
            ChildKind::Backend(d) => format!("backend of domain {d}"),
            ChildKind::Responder(r) => format!("{r} responder"),
        }
    }
}

/// The program and arguments that start `kind`.
pub fn command_line(kind: &ChildKind, opts: &MonitorOptions) -> (PathBuf, Vec<String>) {
    let program = opts.paths.libexec.join(kind.binary());
    let mut args = Vec::new();
    if let ChildKind::Backend(d) = kind {
        args.push("--domain".to_string());
        args.push(d.clone());
    }
    if let Some(level) = opts.debug_level {
        args.push("-d".to_string());
        args.push(format!("{level:#06x}"));
    }
    if let Some(on) = opts.debug_timestamps {
        args.push(format!("--debug-timestamps={}", u8::from(on)));
    }
    if let Some(on) = opts.debug_microseconds {
        args.push(format!("--debug-microseconds={}", u8::from(on)));
    }
    args.push(opts.logger_arg().to_string());
    if opts.config_file != opts.paths.config_file {
        args.push("-c".to_string());
        args.push(opts.config_file.display().to_string());
    }
    // As SSSD 2.8: the child reads the configuration as root, then becomes this user.
    if let Some(who) = opts.run_as {
        args.push("--uid".to_string());
        args.push(who.uid.to_string());
        args.push("--gid".to_string());
        args.push(who.gid.to_string());
    }
    (program, args)
}

/// Starts `kind` in its own process group, with SIGTERM as its parent-death signal.
pub fn spawn(kind: &ChildKind, opts: &MonitorOptions) -> std::io::Result<tokio::process::Child> {
    let (program, args) = command_line(kind, opts);
    let mut cmd = tokio::process::Command::new(&program);
    cmd.args(&args)
        .stdin(Stdio::null())
        // Only the monitor speaks to systemd.
        .env_remove(super::sd_notify::NOTIFY_SOCKET)
        .process_group(0)
        .kill_on_drop(false);
    if opts.daemon {
        // A daemon's children must not hold the starting terminal (or pipe) open.
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
    }
    let parent = nix::unistd::getpid();
    // As SSSD: only backends and the PAM responder may gain privileges through exec.
    let no_new_privs = matches!(kind, ChildKind::Responder(r) if r != "pam");
    // SAFETY: the closure runs in the forked child before exec and only makes
    // async-signal-safe system calls (prctl, getppid, _exit).
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if no_new_privs && libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The monitor died between fork and prctl: do not start an orphan.
            if libc::getppid() != parent.as_raw() {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    cmd.spawn().map_err(|e| {
        std::io::Error::new(e.kind(), format!("cannot start {}: {e}", program.display()))
    })
}

/// Sends `signal` to the process group led by `pid`.
pub fn signal_group(pid: u32, signal: nix::sys::signal::Signal) {
    if let Ok(raw) = i32::try_from(pid) {
        let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(raw), signal);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logging::Logger;
    use crate::paths::Paths;
    use std::path::Path;

    fn opts(debug: Option<u32>, config: &str) -> MonitorOptions {
        let paths = Paths::under(Path::new("/r"));
        MonitorOptions {
            interactive: true,
            daemon: false,
            config_file: PathBuf::from(config),
            debug_level: debug,
            logger: Logger::Files(paths.log.clone()),
            paths,
            run_as: None,
            debug_timestamps: None,
            debug_microseconds: None,
        }
    }

    #[test]
    fn backend_command_line() {
        let (prog, args) = command_line(
            &ChildKind::Backend("LDAP".into()),
            &opts(Some(0x70), "/r/etc/sssd/sssd.conf"),
        );
        assert_eq!(prog, PathBuf::from("/r/usr/libexec/sssd/sssd_be"));
        assert_eq!(args, ["--domain", "LDAP", "-d", "0x0070", "--logger=files"]);
    }

    #[test]
    fn responder_command_line_passes_custom_config() {
        let (prog, args) =
            command_line(&ChildKind::Responder("nss".into()), &opts(None, "/x.conf"));
        assert_eq!(prog, PathBuf::from("/r/usr/libexec/sssd/sssd_nss"));
        assert_eq!(args, ["--logger=files", "-c", "/x.conf"]);
    }

    #[test]
    fn line_layout_flags_are_passed_on() {
        let mut o = opts(None, "/r/etc/sssd/sssd.conf");
        o.debug_timestamps = Some(false);
        o.debug_microseconds = Some(true);
        let (_, args) = command_line(&ChildKind::Responder("nss".into()), &o);
        assert_eq!(
            args,
            [
                "--debug-timestamps=0",
                "--debug-microseconds=1",
                "--logger=files"
            ]
        );
    }

    #[test]
    fn user_is_passed_as_uid_and_gid() {
        let mut o = opts(None, "/r/etc/sssd/sssd.conf");
        o.run_as = Some(crate::privilege::user::RunAs { uid: 105, gid: 107 });
        let (_, args) = command_line(&ChildKind::Responder("nss".into()), &o);
        assert_eq!(args, ["--logger=files", "--uid", "105", "--gid", "107"]);
    }

    #[test]
    fn names() {
        let b = ChildKind::Backend("example.com".into());
        assert_eq!(b.bus_name(), "sssd.domain_example_2ecom");
        assert_eq!(b.registration_name(), "example.com");
        assert_eq!(ChildKind::Responder("pam".into()).bus_name(), "sssd.pam");
    }
}
