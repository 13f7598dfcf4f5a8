//! The monitor's event loop: startup, supervision, signal relay and shutdown.
//!
//! The rooms: this one holds the loop's state and [`run`]; [`startup`] starts the children
//! and waits for them to register; [`supervise`] restarts them, relays signals and stops
//! them; [`on_demand`] holds the sockets of responders started when a client comes.

mod on_demand;
mod startup;
mod supervise;

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
use on_demand::OnDemand;
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

impl Child {
    /// A child not started yet; `on_demand` holds the sockets of an on-demand responder.
    fn new(kind: ChildKind, on_demand: Option<OnDemand>) -> Child {
        Child {
            kind,
            pid: None,
            policy: RestartPolicy::new(Instant::now()),
            registered: false,
            gave_up: false,
            on_demand,
        }
    }

    /// Registered, given up, or an on-demand responder no client has asked for yet.
    fn ready(&self) -> bool {
        self.registered || self.gave_up || (self.on_demand.is_some() && self.pid.is_none())
    }

    fn registration_name_is(&self, name: &str) -> bool {
        self.kind.registration_name() == name
    }
}
