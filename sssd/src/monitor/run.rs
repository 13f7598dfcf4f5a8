//! The monitor's event loop: startup, supervision, signal relay and shutdown.

use super::MonitorError;
use super::children::{self, ChildKind, KNOWN_RESPONDERS};
use super::daemon::ReadyNotifier;
use super::options::MonitorOptions;
use super::pidfile;
use super::restart::{Decision, RestartPolicy};
use super::signals::{MonitorSignal, relay_plan};
use crate::responder::common::server::{ServerConfig, bind_socket};
use crate::sbus::{self, Bus, BusHost, MONITOR_NAME, MonitorHandler};
use nix::sys::signal::Signal;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::unix::AsyncFd;
use tokio::sync::Notify;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

/// How long children get to register at startup (SSSD's 7 s).
const REGISTER_TIMEOUT: Duration = Duration::from_secs(7);
/// How long children get to exit after SIGTERM before SIGKILL. Our choice: SSSD itself waits
/// without bound and leaves escalation to systemd's stop timeout.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How often startup checks whether children own their bus names.
const OWNER_POLL: Duration = Duration::from_millis(100);
/// How long a child that owns its bus name gets to call `RegisterService` before owning the
/// name counts instead: a responder takes its name before it binds its sockets, so counting
/// the name at once would report the daemon ready before clients can connect.
const OWNER_GRACE: Duration = Duration::from_secs(3);
/// Deadline of each relayed `sssd.service` call.
const RELAY_TIMEOUT: Duration = Duration::from_secs(5);

/// Something the event loop reacts to.
#[derive(Debug)]
enum Event {
    /// Child `index` (process `pid`) exited.
    Exited {
        index: usize,
        pid: u32,
        status: String,
        success: bool,
    },
    /// A client is waiting on the sockets of on-demand responder `index`.
    Activate(usize),
    /// Time to start child `index` again.
    Respawn(usize),
    /// A child called `RegisterService(name)`.
    Registered(String),
    /// A UNIX signal arrived.
    Signal(MonitorSignal),
}

/// What the loop does after an event.
enum Flow {
    Continue,
    Stop,
    Fail(MonitorError),
}

/// Feeds `RegisterService` calls into the event loop.
struct Registrar(UnboundedSender<Event>);

impl MonitorHandler for Registrar {
    fn service_registered(&self, name: &str, _version: u16) {
        let _ = self.0.send(Event::Registered(name.to_string()));
    }
}

struct Child {
    kind: ChildKind,
    pid: Option<u32>,
    policy: RestartPolicy,
    registered: bool,
    /// The restart policy gave up on this backend: it stays down, the rest keeps running.
    gave_up: bool,
    /// A responder started on demand: the monitor holds its sockets.
    on_demand: Option<OnDemand>,
}

/// The listening sockets of a responder the monitor starts when a client comes (sites
/// without a `services` line), as systemd's socket units do for SSSD.
struct OnDemand {
    /// Public socket first (SSSD's order), with their paths and `LISTEN_FDNAMES`.
    sockets: Vec<OwnedFd>,
    paths: Vec<PathBuf>,
    names: Vec<String>,
    /// Tells the watcher to look for the next client (the responder is not running).
    rearm: Arc<Notify>,
}

struct Monitor {
    opts: MonitorOptions,
    bus: Bus,
    children: Vec<Child>,
    tx: UnboundedSender<Event>,
    rx: UnboundedReceiver<Event>,
    shutting_down: bool,
    /// Responders that registered without being our children (started by systemd from
    /// their socket units): signals are relayed to them while they own their bus name.
    external: Vec<ChildKind>,
}

/// Runs the monitor until SIGTERM/SIGINT (`Ok`) or a fatal failure (`Err`, exit status 1).
/// `domains` and `services` come from the configuration; `notifier` is told when startup
/// succeeded (daemon mode).
pub async fn run(
    opts: MonitorOptions,
    domains: Vec<String>,
    services: Vec<String>,
    notifier: &mut ReadyNotifier,
) -> Result<(), MonitorError> {
    pidfile::check(&opts.paths.pidfile)?;
    let (tx, rx) = unbounded_channel();
    spawn_signal_task(tx.clone())?;
    let host = BusHost::start(&opts.paths)?;
    tracing::info!("private bus listening at {}", host.address());
    // The children's directories (and the bus socket) belong to the user they run as.
    let owner = monitor_owner(&opts);
    crate::privilege::ownership::prepare(&opts.paths, owner)?;
    if !owner.is_root() {
        tracing::info!("children run as uid {} gid {}", owner.uid, owner.gid);
    }
    let bus = sbus::connect(&opts.paths, MONITOR_NAME).await?;
    sbus::serve_monitor(&bus, Arc::new(Registrar(tx.clone()))).await?;
    let mut monitor = Monitor {
        opts,
        bus,
        children: Vec::new(),
        tx,
        rx,
        shutting_down: false,
        external: Vec::new(),
    };
    let result = match monitor.startup(domains, services, notifier).await {
        Ok(true) => monitor.supervise().await,
        Ok(false) => Ok(()),
        Err(e) => Err(e),
    };
    if let Err(e) = &result {
        tracing::error!("{e}");
    }
    super::sd_notify::stopping();
    monitor.shutdown().await;
    for child in &monitor.children {
        for path in child.on_demand.iter().flat_map(|o| &o.paths) {
            let _ = std::fs::remove_file(path);
        }
    }
    pidfile::remove(&monitor.opts.paths.pidfile);
    drop(host);
    result
}

/// Who the children's files belong to: `[sssd] user`, or root.
fn monitor_owner(opts: &MonitorOptions) -> crate::privilege::user::RunAs {
    opts.run_as.unwrap_or(crate::privilege::user::RunAs::ROOT)
}

/// Turns UNIX signals into events.
fn spawn_signal_task(tx: UnboundedSender<Event>) -> Result<(), MonitorError> {
    use tokio::signal::unix::{SignalKind, signal};
    let listen = |k| signal(k).map_err(MonitorError::Signal);
    let mut term = listen(SignalKind::terminate())?;
    let mut int = listen(SignalKind::interrupt())?;
    let mut hup = listen(SignalKind::hangup())?;
    let mut usr1 = listen(SignalKind::user_defined1())?;
    let mut usr2 = listen(SignalKind::user_defined2())?;
    tokio::spawn(async move {
        loop {
            let sig = tokio::select! {
                _ = term.recv() => MonitorSignal::Terminate,
                _ = int.recv() => MonitorSignal::Terminate,
                _ = hup.recv() => MonitorSignal::Hangup,
                _ = usr1.recv() => MonitorSignal::GoOffline,
                _ = usr2.recv() => MonitorSignal::ResetOffline,
            };
            if tx.send(Event::Signal(sig)).is_err() {
                break;
            }
        }
    });
    Ok(())
}

impl Monitor {
    /// Starts backends, then responders; `Ok(false)` when a signal stopped startup.
    async fn startup(
        &mut self,
        domains: Vec<String>,
        services: Vec<String>,
        notifier: &mut ReadyNotifier,
    ) -> Result<bool, MonitorError> {
        for domain in domains {
            self.add_child(ChildKind::Backend(domain))?;
        }
        if !self.wait_registered().await? {
            return Ok(false);
        }
        let on_demand = wants_on_demand(&services);
        for service in services {
            if !KNOWN_RESPONDERS.contains(&service.as_str()) {
                tracing::warn!("[sssd] services: {service:?} is not supported, skipping it");
                continue;
            }
            let kind = ChildKind::Responder(service);
            let binary = self.opts.paths.libexec.join(kind.binary());
            if !binary.exists() {
                tracing::warn!(
                    "{} is not installed, skipping the {}",
                    binary.display(),
                    kind.describe()
                );
                continue;
            }
            self.add_child(kind)?;
        }
        if on_demand {
            for r in ON_DEMAND {
                self.add_on_demand(r)?;
            }
        }
        if !self.wait_registered().await? {
            return Ok(false);
        }
        pidfile::write(&self.opts.paths.pidfile)?;
        tracing::info!("sssd started: {} children running", self.children.len());
        notifier.ready();
        super::sd_notify::ready();
        Ok(true)
    }

    fn add_child(&mut self, kind: ChildKind) -> Result<(), MonitorError> {
        self.children.push(Child {
            kind,
            pid: None,
            policy: RestartPolicy::new(Instant::now()),
            registered: false,
            gave_up: false,
            on_demand: None,
        });
        let index = self.children.len() - 1;
        self.start_child(index)
            .map_err(|source| MonitorError::Spawn {
                what: self.children[index].kind.describe(),
                source,
            })
    }

    /// Binds the sockets of responder `name` and starts it when the first client comes;
    /// skipped when its binary is missing or systemd's socket unit is enabled (systemd
    /// then holds the sockets).
    fn add_on_demand(&mut self, name: &str) -> Result<(), MonitorError> {
        let kind = ChildKind::Responder(name.to_string());
        let binary = self.opts.paths.libexec.join(kind.binary());
        if !binary.exists() {
            tracing::warn!("{} is not installed, not serving {name}", binary.display());
            return Ok(());
        }
        let unit = format!("sssd-{name}.socket");
        if Path::new(SYSTEMD_WANTS).join(&unit).exists() {
            tracing::info!("{unit} is enabled: systemd starts the {name} responder on demand");
            return Ok(());
        }
        let spawn_err = |what: &str, e: String| MonitorError::Spawn {
            what: format!("{what} socket of the on-demand {name} responder"),
            source: std::io::Error::other(e),
        };
        let public = ServerConfig::nss(match name {
            "pam" => self.opts.paths.pam_socket(),
            _ => self.opts.paths.nss_socket(),
        });
        let mut configs = vec![(public.clone(), unit)];
        if name == "pam" {
            let mut private = public;
            private.socket_path = self.opts.paths.pam_private_socket();
            private.socket_mode = 0o600;
            private.dir_mode = 0o700;
            configs.push((private, format!("sssd-{name}-priv.socket")));
        }
        let (mut sockets, mut paths, mut names) = (Vec::new(), Vec::new(), Vec::new());
        for (cfg, unit) in configs {
            let listener =
                bind_socket(&cfg).map_err(|e| spawn_err("binding the", e.to_string()))?;
            let std_listener = listener
                .into_std()
                .map_err(|e| spawn_err("holding the", e.to_string()))?;
            sockets.push(OwnedFd::from(std_listener));
            paths.push(cfg.socket_path);
            names.push(unit);
        }
        let mut watched = Vec::new();
        for s in &sockets {
            let dup = s
                .try_clone()
                .map_err(|e| spawn_err("watching the", e.to_string()))?;
            // SAFETY: the OwnedFd is a valid descriptor, owned by the AsyncFd for its
            // whole life, and always returns the same number.
            let afd =
                unsafe { AsyncFd::register_with_interest(dup, tokio::io::Interest::READABLE) }
                    .map_err(|e| spawn_err("watching the", e.to_string()))?;
            watched.push(afd);
        }
        let rearm = Arc::new(Notify::new());
        rearm.notify_one();
        tracing::info!(
            "{name} responder starts on demand: listening on {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        self.children.push(Child {
            kind,
            pid: None,
            policy: RestartPolicy::new(Instant::now()),
            registered: false,
            gave_up: false,
            on_demand: Some(OnDemand {
                sockets,
                paths,
                names,
                rearm: rearm.clone(),
            }),
        });
        let index = self.children.len() - 1;
        tokio::spawn(watch_sockets(index, watched, rearm, self.tx.clone()));
        Ok(())
    }

    fn start_child(&mut self, index: usize) -> std::io::Result<()> {
        let Some(child) = self.children.get_mut(index) else {
            return Ok(());
        };
        if child.pid.is_some() {
            return Ok(());
        }
        let mut process = match &child.on_demand {
            Some(od) => {
                let fds: Vec<RawFd> = od.sockets.iter().map(AsRawFd::as_raw_fd).collect();
                children::spawn_activated(&child.kind, &self.opts, &fds, &od.names)?
            }
            None => children::spawn(&child.kind, &self.opts)?,
        };
        let pid = process.id().unwrap_or(0);
        child.pid = Some(pid);
        child.registered = false;
        child.policy.started(Instant::now());
        tracing::info!("started {} as process {pid}", child.kind.describe());
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let (status, success) = match process.wait().await {
                Ok(s) => (s.to_string(), s.success()),
                Err(e) => (format!("wait failed: {e}"), false),
            };
            let _ = tx.send(Event::Exited {
                index,
                pid,
                status,
                success,
            });
        });
        Ok(())
    }

    /// Waits until every child registered; `Ok(false)` on SIGTERM/SIGINT.
    async fn wait_registered(&mut self) -> Result<bool, MonitorError> {
        let deadline = tokio::time::Instant::now() + REGISTER_TIMEOUT;
        let owner_counts_from = tokio::time::Instant::now() + OWNER_GRACE;
        let mut poll = tokio::time::interval(OWNER_POLL);
        loop {
            if self.children.iter().all(Child::ready) {
                return Ok(true);
            }
            let event = tokio::select! {
                ev = self.rx.recv() => ev,
                _ = poll.tick() => {
                    if tokio::time::Instant::now() >= owner_counts_from {
                        self.check_owned_names().await;
                    }
                    continue;
                }
                _ = tokio::time::sleep_until(deadline) => {
                    let missing: Vec<&Child> = self
                        .children
                        .iter()
                        .filter(|c| !c.ready())
                        .collect();
                    // Backends still being restarted do not hold up the domains that run.
                    let backend = |c: &Child| matches!(c.kind, ChildKind::Backend(_));
                    let one_runs = self.children.iter().any(|c| backend(c) && c.registered);
                    if one_runs && missing.iter().all(|c| backend(c)) {
                        for c in missing {
                            tracing::error!(
                                "{} did not register within {} s; starting without it \
                                 (it is restarted as long as the restart policy allows)",
                                c.kind.describe(),
                                REGISTER_TIMEOUT.as_secs()
                            );
                        }
                        return Ok(true);
                    }
                    let missing: Vec<String> =
                        missing.iter().map(|c| c.kind.describe()).collect();
                    return Err(MonitorError::StartupTimeout(
                        missing.join(", "),
                        REGISTER_TIMEOUT.as_secs(),
                    ));
                }
            };
            match self.handle(event) {
                Flow::Continue => {}
                Flow::Stop => return Ok(false),
                Flow::Fail(e) => return Err(e),
            }
        }
    }

    /// Counts a child that owns its bus name as registered, for children that do not call
    /// `RegisterService` (after [`OWNER_GRACE`]).
    async fn check_owned_names(&mut self) {
        for child in self.children.iter_mut() {
            if child.registered || child.pid.is_none() {
                continue;
            }
            if let Ok(true) = sbus::name_has_owner(&self.bus, &child.kind.bus_name()).await {
                child.registered = true;
                tracing::info!("{} owns {}", child.kind.describe(), child.kind.bus_name());
            }
        }
    }

    /// The steady state: restart children, relay signals, until told to stop.
    async fn supervise(&mut self) -> Result<(), MonitorError> {
        loop {
            let event = self.rx.recv().await;
            match self.handle(event) {
                Flow::Continue => {}
                Flow::Stop => return Ok(()),
                Flow::Fail(e) => return Err(e),
            }
        }
    }

    /// Starts child `index` unless the monitor is shutting down; a failure to start counts
    /// against its restart policy.
    fn start_unless_stopping(&mut self, index: usize) -> Flow {
        if self.shutting_down {
            return Flow::Continue;
        }
        match self.start_child(index) {
            Ok(()) => Flow::Continue,
            Err(e) => {
                tracing::error!("{e}");
                self.child_failed(index)
            }
        }
    }

    fn handle(&mut self, event: Option<Event>) -> Flow {
        let Some(event) = event else {
            return Flow::Stop;
        };
        match event {
            Event::Exited {
                index,
                pid,
                status,
                success,
            } => self.exited(index, pid, &status, success),
            Event::Activate(index) => self.start_unless_stopping(index),
            Event::Respawn(_) if self.shutting_down => Flow::Continue,
            Event::Respawn(index) => {
                // An on-demand responder starts again when the next client comes.
                if let Some(od) = self.children.get(index).and_then(|c| c.on_demand.as_ref()) {
                    od.rearm.notify_one();
                    return Flow::Continue;
                }
                self.start_unless_stopping(index)
            }
            Event::Registered(name) => {
                let running = |c: &&mut Child| c.registration_name_is(&name) && c.pid.is_some();
                let unregistered = self.children.iter().position(|c| {
                    c.registration_name_is(&name) && c.pid.is_some() && !c.registered
                });
                let found = match unregistered {
                    Some(i) => self.children.get_mut(i),
                    None => self.children.iter_mut().find(running),
                };
                match found {
                    Some(c) => {
                        c.registered = true;
                        tracing::info!("{} registered", c.kind.describe());
                    }
                    // Started by systemd from its socket units (`--socket-activated`).
                    None if KNOWN_RESPONDERS.contains(&name.as_str()) => {
                        tracing::info!(
                            "{name} responder registered (started outside the monitor, \
                             socket-activated)"
                        );
                        let kind = ChildKind::Responder(name);
                        if !self.external.contains(&kind) {
                            self.external.push(kind);
                        }
                    }
                    None => tracing::warn!("RegisterService from unexpected service {name:?}"),
                }
                Flow::Continue
            }
            Event::Signal(MonitorSignal::Terminate) => {
                tracing::info!("terminating on signal");
                Flow::Stop
            }
            Event::Signal(sig) => {
                if sig == MonitorSignal::Hangup {
                    crate::logging::reopen();
                }
                self.relay(sig);
                Flow::Continue
            }
        }
    }

    fn exited(&mut self, index: usize, pid: u32, status: &str, success: bool) -> Flow {
        let Some(child) = self.children.get_mut(index) else {
            return Flow::Continue;
        };
        if child.pid != Some(pid) {
            return Flow::Continue;
        }
        child.pid = None;
        child.registered = false;
        if self.shutting_down {
            tracing::info!(
                "{} (process {pid}) stopped: {status}",
                child.kind.describe()
            );
            return Flow::Continue;
        }
        if let Some(od) = &child.on_demand
            && success
        {
            tracing::info!(
                "{} (process {pid}) exited when idle; it starts again with the next client",
                child.kind.describe()
            );
            od.rearm.notify_one();
            return Flow::Continue;
        }
        tracing::warn!("{} (process {pid}) exited: {status}", child.kind.describe());
        self.child_failed(index)
    }

    /// Applies the restart policy to child `index`, which just failed.
    fn child_failed(&mut self, index: usize) -> Flow {
        let Some(child) = self.children.get_mut(index) else {
            return Flow::Continue;
        };
        match child.policy.on_exit(Instant::now()) {
            Decision::Restart(delay) => {
                tracing::info!(
                    "restarting {} in {} s",
                    child.kind.describe(),
                    delay.as_secs()
                );
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let _ = tx.send(Event::Respawn(index));
                });
                Flow::Continue
            }
            Decision::GiveUp => {
                let what = child.kind.describe();
                if !matches!(child.kind, ChildKind::Backend(_)) {
                    return Flow::Fail(MonitorError::GaveUp(what));
                }
                child.gave_up = true;
                let alive = self
                    .children
                    .iter()
                    .any(|c| matches!(c.kind, ChildKind::Backend(_)) && !c.gave_up);
                if !alive {
                    return Flow::Fail(MonitorError::GaveUp(what));
                }
                tracing::error!(
                    "{what} failed too often and stays down until sssd restarts; \
                     the other domains are served"
                );
                Flow::Continue
            }
        }
    }

    /// Sends the `sssd.service` calls for `sig`, each in its own task.
    fn relay(&self, sig: MonitorSignal) {
        let kinds: Vec<ChildKind> = self
            .children
            .iter()
            .filter(|c| !c.gave_up && (c.on_demand.is_none() || c.pid.is_some()))
            .map(|c| c.kind.clone())
            .collect();
        let external: Vec<String> = self.external.iter().map(ChildKind::bus_name).collect();
        let mut plan = relay_plan(sig, &kinds);
        plan.extend(relay_plan(sig, &self.external));
        for (dest, method) in plan {
            let bus = self.bus.clone();
            let only_if_running = external.contains(&dest);
            tokio::spawn(async move {
                // One started by systemd may have exited when idle.
                if only_if_running && !matches!(sbus::name_has_owner(&bus, &dest).await, Ok(true)) {
                    return;
                }
                match sbus::call_service(&bus, &dest, method, RELAY_TIMEOUT).await {
                    Ok(()) => tracing::debug!("{} sent to {dest}", method.member()),
                    Err(e) => tracing::warn!("{} to {dest} failed: {e}", method.member()),
                }
            });
        }
    }

    /// SIGTERM to every child's process group, wait (bounded), SIGKILL what is left.
    async fn shutdown(&mut self) {
        self.shutting_down = true;
        for child in &self.children {
            if let Some(pid) = child.pid {
                children::signal_group(pid, Signal::SIGTERM);
            }
        }
        let deadline = tokio::time::Instant::now() + STOP_TIMEOUT;
        while self.children.iter().any(|c| c.pid.is_some()) {
            tokio::select! {
                ev = self.rx.recv() => {
                    match ev {
                        Some(Event::Exited { index, pid, status, success }) => {
                            self.exited(index, pid, &status, success);
                        }
                        Some(_) => {}
                        None => break,
                    }
                }
                _ = tokio::time::sleep_until(deadline) => break,
            }
        }
        for child in &self.children {
            if let Some(pid) = child.pid {
                tracing::warn!(
                    "{} (process {pid}) ignored SIGTERM for {} s, killing it",
                    child.kind.describe(),
                    STOP_TIMEOUT.as_secs()
                );
                children::signal_group(pid, Signal::SIGKILL);
            }
        }
    }
}

impl Child {
    /// Registered, given up, or an on-demand responder no client has asked for yet.
    fn ready(&self) -> bool {
        self.registered || self.gave_up || (self.on_demand.is_some() && self.pid.is_none())
    }

    fn registration_name_is(&self, name: &str) -> bool {
        self.kind.registration_name() == name
    }
}

/// Responders the monitor starts on demand when `[sssd] services` names none of them.
const ON_DEMAND: [&str; 2] = ["nss", "pam"];
/// Where `systemctl enable sssd-nss.socket` links the socket units (`WantedBy=sssd.service`).
const SYSTEMD_WANTS: &str = "/etc/systemd/system/sssd.service.wants";

/// Whether the monitor serves the NSS and PAM sockets itself and starts their responders
/// on demand: when `services` (from `[sssd] services`) lists neither, as sites relying on
/// SSSD's socket activation configure it.
fn wants_on_demand(services: &[String]) -> bool {
    !services.iter().any(|s| ON_DEMAND.contains(&s.as_str()))
}

/// Whether a client waits on `fd` (a listening socket), without blocking.
fn pending(fd: RawFd) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, zero timeout.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n > 0 && p.revents & libc::POLLIN != 0
}

/// Sends `Activate(index)` whenever a client waits on one of `sockets` after `rearm`.
async fn watch_sockets(
    index: usize,
    sockets: Vec<AsyncFd<OwnedFd>>,
    rearm: Arc<Notify>,
    tx: UnboundedSender<Event>,
) {
    async fn readable(s: Option<&AsyncFd<OwnedFd>>) {
        match s {
            Some(s) => match s.readable().await {
                Ok(mut guard) => guard.clear_ready(),
                Err(e) => {
                    tracing::error!("watching an on-demand socket: {e}");
                    std::future::pending::<()>().await;
                }
            },
            None => std::future::pending::<()>().await,
        }
    }
    loop {
        rearm.notified().await;
        while !sockets.iter().any(|s| pending(s.get_ref().as_raw_fd())) {
            tokio::select! {
                () = readable(sockets.first()) => {}
                () = readable(sockets.get(1)) => {}
            }
        }
        if tx.send(Event::Activate(index)).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_demand_only_without_nss_and_pam_in_services() {
        assert!(wants_on_demand(&[]));
        assert!(wants_on_demand(&["sudo".to_string()]));
        assert!(!wants_on_demand(&["nss".to_string()]));
        assert!(!wants_on_demand(&["pam".to_string(), "ssh".to_string()]));
    }
}
