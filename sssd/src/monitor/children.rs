//! Starting and stopping the monitor's children: one process group each, with a parent-death
//! signal so none outlives the monitor.

use super::options::MonitorOptions;
use crate::sbus::domain_bus_name;
use std::ffi::CString;
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};
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
    spawn_with(kind, opts, None)
}

/// Starts the responder `kind` with `--socket-activated`, handing it the listening sockets
/// `fds` (public first) by systemd's protocol: descriptors 3, 4, ... with `LISTEN_FDS`,
/// `LISTEN_FDNAMES` (`names`) and `LISTEN_PID` set to its own process id.
pub fn spawn_activated(
    kind: &ChildKind,
    opts: &MonitorOptions,
    fds: &[RawFd],
    names: &[String],
) -> std::io::Result<tokio::process::Child> {
    spawn_with(kind, opts, Some((fds, names)))
}

fn spawn_with(
    kind: &ChildKind,
    opts: &MonitorOptions,
    activation: Option<(&[RawFd], &[String])>,
) -> std::io::Result<tokio::process::Child> {
    let (program, mut args) = command_line(kind, opts);
    let plan = match activation {
        Some((fds, names)) => {
            args.push("--socket-activated".to_string());
            Some(ExecPlan::new(&program, &args, fds, names)?)
        }
        None => None,
    };
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
        if let Some(mut plan) = plan {
            // SAFETY: as above: the closure only moves descriptors, writes into memory
            // allocated before the fork and calls execve.
            cmd.pre_exec(move || Err(plan.exec()));
        }
    }
    cmd.spawn().map_err(|e| {
        std::io::Error::new(e.kind(), format!("cannot start {}: {e}", program.display()))
    })
}

/// Everything a socket-activated child's `execve` needs, allocated before the fork: the
/// forked child only fills in its process id and moves the descriptors into place.
struct ExecPlan {
    program: CString,
    _strings: Vec<CString>,
    /// `LISTEN_PID=` followed by room for the digits and the terminating NUL.
    _pid_entry: Box<[u8]>,
    /// Where the digits go (inside `_pid_entry`).
    pid_digits: *mut u8,
    argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
    fds: Vec<RawFd>,
}

// SAFETY: the raw pointers point into `_strings` and `pid_entry`, owned by the plan and
// never moved (heap allocations); the plan is used by one thread at a time.
unsafe impl Send for ExecPlan {}
// SAFETY: as above; shared references never read through the pointers.
unsafe impl Sync for ExecPlan {}

/// Variables a child never inherits from the monitor: only the monitor speaks to systemd,
/// and the activation variables are set for the child itself.
const NOT_INHERITED: &[&str] = &[
    super::sd_notify::NOTIFY_SOCKET,
    "LISTEN_PID",
    "LISTEN_FDS",
    "LISTEN_FDNAMES",
];

const PID_PREFIX: &[u8] = b"LISTEN_PID=";

impl ExecPlan {
    fn new(
        program: &Path,
        args: &[String],
        fds: &[RawFd],
        names: &[String],
    ) -> std::io::Result<ExecPlan> {
        use std::os::unix::ffi::OsStrExt;
        let bad = |e: std::ffi::NulError| std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
        let program_c = CString::new(program.as_os_str().as_bytes()).map_err(bad)?;
        let mut strings = vec![program_c.clone()];
        for a in args {
            strings.push(CString::new(a.as_bytes()).map_err(bad)?);
        }
        let argc = strings.len();
        for (k, v) in std::env::vars_os() {
            if NOT_INHERITED.iter().any(|n| k.as_bytes() == n.as_bytes()) {
                continue;
            }
            let mut entry = k.as_bytes().to_vec();
            entry.push(b'=');
            entry.extend_from_slice(v.as_bytes());
            if let Ok(c) = CString::new(entry) {
                strings.push(c);
            }
        }
        strings.push(CString::new(format!("LISTEN_FDS={}", fds.len())).map_err(bad)?);
        strings.push(CString::new(format!("LISTEN_FDNAMES={}", names.join(":"))).map_err(bad)?);
        let mut pid_entry = vec![0u8; PID_PREFIX.len() + 12].into_boxed_slice();
        if let Some(head) = pid_entry.get_mut(..PID_PREFIX.len()) {
            head.copy_from_slice(PID_PREFIX);
        }
        let mut argv: Vec<*const libc::c_char> =
            strings.iter().take(argc).map(|c| c.as_ptr()).collect();
        argv.push(std::ptr::null());
        let mut envp: Vec<*const libc::c_char> =
            strings.iter().skip(argc).map(|c| c.as_ptr()).collect();
        let entry_ptr = pid_entry.as_mut_ptr();
        envp.push(entry_ptr.cast_const().cast());
        // SAFETY: the entry is PID_PREFIX.len() + 12 bytes long.
        let pid_digits = unsafe { entry_ptr.add(PID_PREFIX.len()) };
        envp.push(std::ptr::null());
        Ok(ExecPlan {
            program: program_c,
            _strings: strings,
            _pid_entry: pid_entry,
            pid_digits,
            argv,
            envp,
            fds: fds.to_vec(),
        })
    }

    /// In the forked child: moves the sockets to 3, 4, ..., writes the process id into
    /// `LISTEN_PID` and execs. Returns only on failure. Async-signal-safe: no allocation.
    fn exec(&mut self) -> std::io::Error {
        let n = i32::try_from(self.fds.len()).unwrap_or(i32::MAX);
        let first = crate::responder::common::activation::LISTEN_FDS_START;
        let mut moved = [-1; 8];
        if self.fds.len() > moved.len() {
            return std::io::Error::from_raw_os_error(libc::EMFILE);
        }
        // First out of the way of 3..3+n (close-on-exec copies), then into place.
        for (slot, fd) in moved.iter_mut().zip(&self.fds) {
            // SAFETY: fcntl on descriptors of this process; no memory is touched.
            *slot = unsafe { libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, first + n) };
            if *slot < 0 {
                return std::io::Error::last_os_error();
            }
        }
        for (target, fd) in (first..).zip(moved.iter().take(self.fds.len())) {
            // SAFETY: as above; dup2 leaves the target without close-on-exec.
            if unsafe { libc::dup2(*fd, target) } < 0 {
                return std::io::Error::last_os_error();
            }
        }
        // SAFETY: getpid has no preconditions.
        let mut pid = u32::try_from(unsafe { libc::getpid() }).unwrap_or(0);
        let mut digits = [0u8; 10];
        let mut len = 0;
        for d in digits.iter_mut() {
            *d = b'0' + u8::try_from(pid % 10).unwrap_or(0);
            len += 1;
            pid /= 10;
            if pid == 0 {
                break;
            }
        }
        let reversed = digits.iter().take(len).rev().copied().chain([0u8]);
        for (offset, b) in reversed.enumerate() {
            // SAFETY: at most 11 bytes (10 digits and NUL) of the 12 reserved.
            unsafe { *self.pid_digits.add(offset) = b };
        }
        // SAFETY: program, argv and envp are NUL-terminated strings and NULL-terminated
        // pointer arrays owned by `self`, alive for the call.
        unsafe {
            libc::execve(
                self.program.as_ptr(),
                self.argv.as_ptr(),
                self.envp.as_ptr(),
            )
        };
        std::io::Error::last_os_error()
    }
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
