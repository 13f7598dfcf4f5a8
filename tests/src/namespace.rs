//! A private mount namespace in which the daemon runs and getent/id resolve through it.
//!
//! A long-lived holder process (`unshare --mount --propagation private sh -c SETUP`) creates
//! the namespace and keeps it alive. Inside it /etc, /var and /run are overlays whose upper
//! layers live on a tmpfs (the host's files are never written), with fresh tmpfs on
//! /var/lib/sss (db/, pipes/, pipes/private/, mc/), /var/log/sssd and /etc/sssd, a private
//! /etc/nsswitch.conf (`passwd`/`group`: `files sss`) and, if given, a staged install root
//! overlaid onto /usr. Commands enter it with `nsenter --mount --target <holder>`; files are
//! reached from the host through `/proc/<holder>/root`. Dropping the namespace kills every
//! process in it by PID; the holder also exits by itself when the test process dies (its
//! stdin is a pipe from us).

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::marker::PhantomData;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::error::{HarnessError, Result};
use crate::proc::{self, COMMAND_TIMEOUT, Output, Watchdog};

/// The nsswitch.conf every namespace gets unless [`Namespace::with_nsswitch`] says otherwise.
pub const NSSWITCH_CONF: &str = "passwd: files sss\n\
group: files sss\n\
shadow: files\n\
gshadow: files\n\
hosts: files dns\n\
networks: files\n\
protocols: files\n\
services: files\n\
ethers: files\n\
rpc: files\n\
netgroup: files\n";

/// nsswitch.conf with `sss` alone for passwd, group and initgroups (benchmarks of the
/// memory cache: no lookup is answered by, or costs a scan of, /etc/passwd or /etc/group).
pub const NSSWITCH_SSS_ONLY: &str = "passwd: sss\n\
group: sss\n\
initgroups: sss\n\
shadow: files\n\
gshadow: files\n\
hosts: files dns\n\
networks: files\n\
protocols: files\n\
services: files\n\
ethers: files\n\
rpc: files\n\
netgroup: files\n";

/// nsswitch.conf with `files` alone for passwd, group and initgroups (the nss_files floor of
/// the memory-cache benchmark, on a private /etc/passwd and /etc/group).
pub const NSSWITCH_FILES_ONLY: &str = "passwd: files\n\
group: files\n\
initgroups: files\n\
shadow: files\n\
gshadow: files\n\
hosts: files dns\n\
networks: files\n\
protocols: files\n\
services: files\n\
ethers: files\n\
rpc: files\n\
netgroup: files\n";

const SETUP: &str = r#"
set -eu
S=$1
STAGE=$2
mount -t tmpfs -o mode=0700 sssd-tests-scratch "$S"
# Overlay directory $1 with a tmpfs upper layer; re-attach the mounts that were below it.
private_dir() {
    d=$1; n=$2
    mkdir -p "$S/$n/up" "$S/$n/work" "$S/$n/saved"
    : > "$S/$n/list"
    i=0; kept=""
    for m in $(awk -v d="$d/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo); do
        skip=0
        for k in $kept; do case "$m" in "$k"/*) skip=1 ;; esac; done
        [ "$skip" = 1 ] && continue
        i=$((i + 1))
        if [ -d "$m" ]; then mkdir "$S/$n/saved/$i"; else : > "$S/$n/saved/$i"; fi
        mount --rbind "$m" "$S/$n/saved/$i"
        kept="$kept $m"
        echo "$i $m" >> "$S/$n/list"
    done
    mount -t overlay overlay -o "lowerdir=$d,upperdir=$S/$n/up,workdir=$S/$n/work" "$d"
    while read -r i m; do mount --rbind "$S/$n/saved/$i" "$m"; done < "$S/$n/list"
}
private_dir /etc etc
private_dir /var var
private_dir /run run
mkdir -p /var/lib/sss /var/log/sssd /etc/sssd
mount -t tmpfs -o mode=0755 sssd-tests-lib /var/lib/sss
mkdir -m 0700 /var/lib/sss/db
mkdir -m 0755 /var/lib/sss/pipes /var/lib/sss/mc /var/lib/sss/pubconf
mkdir -m 0700 /var/lib/sss/pipes/private
mount -t tmpfs -o mode=0750 sssd-tests-log /var/log/sssd
mount -t tmpfs -o mode=0711 sssd-tests-etc /etc/sssd
mkdir -m 0711 /etc/sssd/conf.d
rm -f /etc/nsswitch.conf
cat > /etc/nsswitch.conf <<'EOF'
@NSSWITCH@EOF
chmod 0644 /etc/nsswitch.conf
if [ -n "$STAGE" ]; then
    lower="$STAGE/usr"
    # A root unpacked from Debian packages may ship /lib/<multiarch>/... (the merged-/usr
    # alias): copy it into a layer as usr/lib (overlays cannot be stacked everywhere).
    if [ -d "$STAGE/lib" ] && [ ! -L "$STAGE/lib" ]; then
        mkdir "$S/stage-lib"
        cp -a "$STAGE/lib" "$S/stage-lib/lib"
        lower="$lower:$S/stage-lib"
    fi
    mount -t overlay overlay -o "lowerdir=$lower:/usr" /usr
fi
echo ready
exec cat > /dev/null
"#;

/// How long the namespace setup may take.
const SETUP_TIMEOUT: Duration = Duration::from_secs(30);

/// A private mount namespace (see the module documentation).
#[derive(Debug)]
pub struct Namespace {
    holder: Child,
    /// Our end of the holder's stdin: closing it (process exit) makes the holder exit.
    _lifeline: Option<ChildStdin>,
    mnt_ns: PathBuf,
    /// Mounted over by a tmpfs inside the namespace; empty on the host.
    _scratch: TempDir,
    /// Host-visible directory for daemon stdout/stderr.
    host_dir: TempDir,
    /// Commands also enter the holder's network namespace (see
    /// [`Namespace::in_network_of`]).
    enter_net: bool,
}

impl Namespace {
    /// Creates the namespace; `stage_root` (an `install.sh DESTDIR=` tree) is overlaid onto
    /// /usr when given. Its nsswitch.conf is [`NSSWITCH_CONF`].
    pub fn new(stage_root: Option<&Path>) -> Result<Namespace> {
        Namespace::with_nsswitch(stage_root, NSSWITCH_CONF)
    }

    /// Like [`Namespace::new`] with `nsswitch` as the namespace's /etc/nsswitch.conf (e.g.
    /// [`NSSWITCH_SSS_ONLY`]); it must end with a newline and have no line `EOF`.
    pub fn with_nsswitch(stage_root: Option<&Path>, nsswitch: &str) -> Result<Namespace> {
        Namespace::create(stage_root, nsswitch, None)
    }

    /// Like [`Namespace::new`], inside the network namespace of process `pid` (for example
    /// a [`crate::samba::SambaDc`], whose fixed ports live in their own network namespace).
    pub fn in_network_of(stage_root: Option<&Path>, pid: u32) -> Result<Namespace> {
        Namespace::create(stage_root, NSSWITCH_CONF, Some(pid))
    }

    fn create(stage_root: Option<&Path>, nsswitch: &str, net_of: Option<u32>) -> Result<Namespace> {
        if !nsswitch.ends_with('\n') || nsswitch.lines().any(|l| l == "EOF") {
            return Err(HarnessError::Setup(format!(
                "nsswitch.conf text must end with a newline and have no line EOF: {nsswitch:?}"
            )));
        }
        if let Some(root) = stage_root
            && !root.join("usr").is_dir()
        {
            return Err(HarnessError::Setup(format!(
                "staged root {} has no usr/ directory",
                root.display()
            )));
        }
        let tmp = |prefix: &str| {
            tempfile::Builder::new()
                .prefix(prefix)
                .tempdir()
                .map_err(|e| HarnessError::io("create temporary directory", "/tmp", e))
        };
        let scratch = tmp("sssd-tests-ns.")?;
        let host_dir = tmp("sssd-tests-nslog.")?;
        let script = SETUP.replace("@NSSWITCH@", nsswitch);
        let stage = stage_root
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut holder = match net_of {
            None => Command::new("unshare"),
            Some(pid) => {
                let mut c = Command::new("nsenter");
                c.arg(format!("--net=/proc/{pid}/ns/net")).arg("unshare");
                c
            }
        };
        let mut holder = holder
            .args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .arg("sssd-tests-namespace")
            .arg(scratch.path())
            .arg(&stage)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| HarnessError::Spawn {
                program: "unshare".into(),
                source,
            })?;
        let lifeline = holder.stdin.take();
        let stdout = holder.stdout.take();
        let stderr = holder.stderr.take();
        // Wait for "ready" (or EOF when the setup failed), bounded.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            if let Some(out) = stdout {
                let _ = BufReader::new(out).read_line(&mut line);
            }
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(SETUP_TIMEOUT).unwrap_or_default();
        if line.trim() != "ready" {
            let _ = holder.kill();
            let _ = holder.wait();
            let mut err = String::new();
            if let Some(mut e) = stderr {
                let _ = e.read_to_string(&mut err);
            }
            return Err(HarnessError::Setup(format!(
                "mount namespace setup failed: {}",
                err.trim()
            )));
        }
        drop(stderr);
        let mnt_ns = fs::read_link(format!("/proc/{}/ns/mnt", holder.id()))
            .map_err(|e| HarnessError::io("read", format!("/proc/{}/ns/mnt", holder.id()), e))?;
        let own = fs::read_link("/proc/self/ns/mnt")
            .map_err(|e| HarnessError::io("read", "/proc/self/ns/mnt", e))?;
        if own == mnt_ns {
            let _ = holder.kill();
            let _ = holder.wait();
            return Err(HarnessError::Setup(
                "holder is not in a new mount namespace".into(),
            ));
        }
        Ok(Namespace {
            holder,
            _lifeline: lifeline,
            mnt_ns,
            _scratch: scratch,
            host_dir,
            enter_net: net_of.is_some(),
        })
    }

    /// Replaces the namespace's /etc/nsswitch.conf with `nsswitch` (e.g. [`NSSWITCH_SSS_ONLY`]
    /// once a daemon that resolves its own user at start is up); programs started afterwards
    /// read the new file.
    pub fn set_nsswitch(&self, nsswitch: &str) -> Result<()> {
        self.write_file("/etc/nsswitch.conf", nsswitch.as_bytes(), 0o644)
    }

    /// PID of the holder process (the `nsenter --target`).
    pub fn pid(&self) -> u32 {
        self.holder.id()
    }

    /// A command that runs `argv` inside the namespace.
    pub fn command<S: AsRef<std::ffi::OsStr>>(&self, argv: &[S]) -> Command {
        let mut c = Command::new("nsenter");
        if self.enter_net {
            c.arg("--net");
        }
        c.arg("--mount")
            .arg("--target")
            .arg(self.pid().to_string())
            .arg("--");
        c.args(argv);
        c
    }

    /// Runs `argv` inside the namespace to completion (60 s deadline).
    pub fn run<S: AsRef<std::ffi::OsStr>>(&self, argv: &[S]) -> Result<Output> {
        proc::run(&mut self.command(argv), None, COMMAND_TIMEOUT)
    }

    /// Runs `argv` inside the namespace with extra environment variables.
    pub fn run_env<S: AsRef<std::ffi::OsStr>>(
        &self,
        env: &[(&str, &str)],
        argv: &[S],
    ) -> Result<Output> {
        let mut c = self.command(argv);
        c.envs(env.iter().copied());
        proc::run(&mut c, None, COMMAND_TIMEOUT)
    }

    /// Runs `argv` inside the namespace feeding `stdin` (e.g. a password to pamtester).
    pub fn run_input<S: AsRef<std::ffi::OsStr>>(&self, argv: &[S], stdin: &[u8]) -> Result<Output> {
        proc::run(&mut self.command(argv), Some(stdin), COMMAND_TIMEOUT)
    }

    /// Writes `/etc/pam.d/<service>` inside the namespace (the host's /etc/pam.d is
    /// untouched: /etc is an overlay here).
    pub fn write_pam_service(&self, service: &str, contents: &str) -> Result<()> {
        if service.is_empty() || service.contains('/') || service.starts_with('.') {
            return Err(HarnessError::Setup(format!(
                "bad PAM service name {service:?}"
            )));
        }
        self.write_file(&format!("/etc/pam.d/{service}"), contents.as_bytes(), 0o644)
    }

    /// Runs `argv` inside the namespace and fails unless it exits 0.
    pub fn run_ok<S: AsRef<std::ffi::OsStr>>(&self, argv: &[S]) -> Result<Output> {
        proc::run_ok(&mut self.command(argv), None, COMMAND_TIMEOUT)
    }

    /// The host path through which `path` inside the namespace is reached.
    pub fn host_path(&self, path: &str) -> PathBuf {
        PathBuf::from(format!(
            "/proc/{}/root/{}",
            self.pid(),
            path.trim_start_matches('/')
        ))
    }

    /// Writes a file inside the namespace with `mode` (e.g. 0o600).
    pub fn write_file(&self, path: &str, contents: &[u8], mode: u32) -> Result<()> {
        let p = self.host_path(path);
        if let Some(dir) = p.parent() {
            fs::create_dir_all(dir).map_err(|e| HarnessError::io("create directory", path, e))?;
        }
        fs::write(&p, contents).map_err(|e| HarnessError::io("write", path, e))?;
        fs::set_permissions(&p, fs::Permissions::from_mode(mode))
            .map_err(|e| HarnessError::io("chmod", path, e))
    }

    /// Reads a file inside the namespace.
    pub fn read_file(&self, path: &str) -> Result<Vec<u8>> {
        fs::read(self.host_path(path)).map_err(|e| HarnessError::io("read", path, e))
    }

    /// Whether `path` exists inside the namespace.
    pub fn exists(&self, path: &str) -> bool {
        self.host_path(path).symlink_metadata().is_ok()
    }

    /// Waits until `path` exists inside the namespace.
    pub fn wait_for_path(&self, path: &str, timeout: Duration) -> Result<()> {
        proc::wait_until(&format!("{path} to appear"), timeout, || self.exists(path))
    }

    /// Starts a long-running program inside the namespace; its stdout and stderr go to files
    /// readable with [`Daemon::stderr`]. The handle kills it by PID when dropped.
    pub fn spawn<S: AsRef<std::ffi::OsStr>>(&self, argv: &[S]) -> Result<Daemon<'_>> {
        let name = argv
            .first()
            .map(|a| a.as_ref().to_string_lossy().replace('/', "_"))
            .unwrap_or_default();
        let n = fs::read_dir(self.host_dir.path())
            .map(|d| d.count())
            .unwrap_or(0);
        let out_path = self.host_dir.path().join(format!("{n}-{name}.stdout"));
        let err_path = self.host_dir.path().join(format!("{n}-{name}.stderr"));
        let open = |p: &Path| fs::File::create(p).map_err(|e| HarnessError::io("create", p, e));
        let child = self
            .command(argv)
            .stdin(Stdio::null())
            .stdout(open(&out_path)?)
            .stderr(open(&err_path)?)
            .spawn()
            .map_err(|source| HarnessError::Spawn {
                program: name.clone(),
                source,
            })?;
        let watchdog = Watchdog::new(child.id())?;
        Ok(Daemon {
            child,
            _watchdog: watchdog,
            name,
            out_path,
            err_path,
            _ns: PhantomData,
        })
    }

    /// PIDs of all processes in this namespace except the holder.
    pub fn processes(&self) -> Vec<u32> {
        let Ok(entries) = fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|&pid| pid != self.pid())
            .filter(|pid| {
                fs::read_link(format!("/proc/{pid}/ns/mnt")).is_ok_and(|l| l == self.mnt_ns)
            })
            .collect()
    }

    /// The PIDs of the processes in the namespace whose command name (`/proc/PID/comm`) is
    /// `comm`.
    pub fn processes_named(&self, comm: &str) -> Vec<u32> {
        self.processes()
            .into_iter()
            .filter(|pid| {
                fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm)
            })
            .collect()
    }

    /// Kills every process in the namespace (SIGTERM, then SIGKILL after `grace`).
    pub fn kill_all(&self, grace: Duration) {
        let pids = self.processes();
        for &p in &pids {
            proc::signal(p, libc::SIGTERM);
        }
        let start = Instant::now();
        while start.elapsed() < grace && pids.iter().any(|&p| proc::alive(p)) {
            std::thread::sleep(Duration::from_millis(20));
        }
        for p in self.processes() {
            proc::signal(p, libc::SIGKILL);
        }
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        self.kill_all(Duration::from_secs(3));
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

/// A long-running program started with [`Namespace::spawn`].
#[derive(Debug)]
pub struct Daemon<'ns> {
    child: Child,
    _watchdog: Watchdog,
    name: String,
    out_path: PathBuf,
    err_path: PathBuf,
    _ns: PhantomData<&'ns Namespace>,
}

impl Daemon<'_> {
    /// Its PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it still runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits up to `timeout` for it to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            if start.elapsed() > timeout {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends a signal (e.g. `libc::SIGUSR1`).
    pub fn signal(&self, signal: libc::c_int) {
        proc::signal(self.pid(), signal);
    }

    /// Stops it: SIGTERM, then SIGKILL after 10 s; returns how it exited.
    pub fn stop(&mut self) -> Option<ExitStatus> {
        proc::terminate(&mut self.child, Duration::from_secs(10))
    }

    /// What it printed on stdout so far.
    pub fn stdout(&self) -> String {
        fs::read_to_string(&self.out_path).unwrap_or_default()
    }

    /// What it printed on stderr so far.
    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.err_path).unwrap_or_default()
    }

    /// The program name (argv[0]).
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Daemon<'_> {
    fn drop(&mut self) {
        self.stop();
    }
}
