//! Start-up shared by the responder binaries (`sssd_nss`, `sssd_pam`): command line, config
//! and logging; the private bus and the domains' cache sources; serving the client sockets
//! until SIGTERM.

use crate::cache::{Cache, CacheError};
use crate::config::DomainOptions;
use crate::config::{Config, ConfigError};
use crate::logging::Logger;
use crate::paths::Paths;
use crate::privilege::user::{RunAs, become_user};
use crate::privilege::{CapSet, PrivilegeError};
use crate::responder::common::CommandHandler;
use crate::responder::common::activation;
use crate::responder::common::admission::{Admission, ConnLimits};
use crate::responder::common::peer::resolve_uids;
use crate::responder::common::server::{ServerConfig, ServerError, bind_socket, serve};
use crate::responder::common::source::{CacheSource, DomainSource};
use crate::sbus::{self, Bus, DataProviderClient, SbusError, ServiceHandler};
use crate::service::{self, ChildOptions, ServiceError};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// Why a responder could not start or serve.
#[derive(Debug, Error)]
pub enum StartupError {
    /// Command line, logging or signal handling.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// The configuration could not be loaded.
    #[error("loading {}: {source}", file.display())]
    Config {
        /// The main config file.
        file: PathBuf,
        /// The underlying error.
        source: ConfigError,
    },
    /// An option read at start-up has a bad value (the error names it).
    #[error(transparent)]
    Option(#[from] ConfigError),
    /// The async runtime could not start.
    #[error("starting the tokio runtime: {0}")]
    Runtime(std::io::Error),
    /// The private bus could not be joined.
    #[error("joining the private bus {address}: {source}")]
    Bus {
        /// The bus address.
        address: String,
        /// The underlying error.
        source: SbusError,
    },
    /// `sssd.service` could not be served on the bus.
    #[error("serving sssd.service: {0}")]
    ServeService(SbusError),
    /// A domain's cache could not be opened.
    #[error("opening the cache of domain {domain}: {source}")]
    Cache {
        /// The domain.
        domain: String,
        /// The underlying error.
        source: CacheError,
    },
    /// `allowed_uids` names an unknown user.
    #[error("{0}")]
    AllowedUids(String),
    /// A client socket could not be bound.
    #[error(transparent)]
    Socket(#[from] ServerError),
    /// Becoming `[sssd] user` or dropping capabilities failed.
    #[error(transparent)]
    Privilege(#[from] PrivilegeError),
}

/// Parses the command line (setting `_SSS_LOOPS=NO` first), loads the configuration,
/// becomes the `[sssd] user` the monitor passed (`--uid/--gid`, with an empty bounding
/// set; the PAM responder does so in [`serve_until_terminated`]), starts logging at
/// `[section] debug_level` (or `debug`) and applies `fd_limit`. Call first thing in `main`.
pub fn init(section: &str) -> Result<(ChildOptions, Config), StartupError> {
    let opts = ChildOptions::from_args()?;
    let cfg =
        Config::load(&opts.config_file, Some(&opts.paths.config_snippets)).map_err(|source| {
            StartupError::Config {
                file: opts.config_file.clone(),
                source,
            }
        })?;
    if opts.socket_activated {
        // Before any thread exists: the LISTEN_* variables are unset here.
        super::activation::adopt_from_env(&cfg, section)?;
    }
    match opts.run_as {
        // As SSSD 2.8: the PAM responder binds its sockets as root (pam_sss trusts only
        // root-owned sockets served by root) and becomes the user after; its log file is
        // handed over now.
        Some(who) if binds_as_root(section) => {
            if let Logger::Files(dir) = &opts.logger {
                let path = dir.join(crate::logging::log_file_name(section));
                crate::privilege::ownership::create_owned(&path, who)?;
            }
        }
        Some(who) => become_user(who, CapSet::EMPTY)?,
        None => {}
    }
    let level = cfg
        .get(section, "debug_level")
        .or_else(|| cfg.get(section, "debug"))
        .and_then(|v| crate::logging::parse_debug_level(v).ok());
    let format = crate::logging::LineFormat::resolve(
        &cfg,
        section,
        opts.debug_timestamps,
        opts.debug_microseconds,
    )?;
    service::init_logging(section, &opts, level, format)?;
    raise_fd_limit(&cfg, section)?;
    Ok((opts, cfg))
}

/// Applies `[section] fd_limit` (8192 when unset), logging where the hard limit kept it
/// lower. Refuses a value that is not a positive number.
fn raise_fd_limit(cfg: &Config, section: &str) -> Result<(), StartupError> {
    let default = i64::try_from(crate::fd_limit::DEFAULT_FD_LIMIT).unwrap_or(8192);
    let wanted = cfg.get_int(section, "fd_limit", default)?;
    let wanted = u64::try_from(wanted)
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| {
            ConfigError::bad_value(
                section,
                "fd_limit",
                &wanted.to_string(),
                "expected a positive number of descriptors",
            )
        })?;
    match crate::fd_limit::apply(wanted) {
        Ok(a) if a.capped => tracing::warn!(
            "fd_limit = {wanted}: the hard limit is {}, so at most {} descriptors; raise \
             LimitNOFILE (or limits.conf) or run with CAP_SYS_RESOURCE",
            a.hard,
            a.soft
        ),
        Ok(a) => tracing::debug!("descriptor limit {} (fd_limit)", a.soft),
        Err(e) => tracing::warn!("fd_limit = {wanted}: setrlimit failed: {e}"),
    }
    Ok(())
}

/// Whether the responder `section` binds its sockets as root before becoming
/// `[sssd] user` (the PAM responder, whose clients check that a root process serves them).
pub fn binds_as_root(section: &str) -> bool {
    section == "pam"
}

/// A single-threaded runtime, like SSSD's event loop: a request is a few microseconds of
/// work, and handing each wake-up to another worker costs more than that. The watchdog
/// (`[section] timeout`) watches it.
pub fn runtime(
    cfg: &Config,
    section: &'static str,
) -> Result<tokio::runtime::Runtime, StartupError> {
    let period = crate::watchdog::period_from_config(cfg, section)?;
    crate::watchdog::watched_runtime(period, section).map_err(StartupError::Runtime)
}

/// Joins the private bus as `bus_name`; returns the bus and a data-provider client on it.
pub async fn connect(
    paths: &Paths,
    bus_name: &str,
) -> Result<(Bus, DataProviderClient), StartupError> {
    let bus = sbus::connect(paths, bus_name)
        .await
        .map_err(|source| StartupError::Bus {
            address: paths.bus_address(),
            source,
        })?;
    let dp = DataProviderClient::with_direct(bus.clone(), paths);
    Ok((bus, dp))
}

/// One cache source per domain, refreshing through `dp` with `dp_timeout`.
pub fn open_sources(
    paths: &Paths,
    domains: &[DomainOptions],
    dp: &DataProviderClient,
    dp_timeout: Duration,
) -> Result<Vec<Arc<dyn DomainSource>>, StartupError> {
    let mut sources: Vec<Arc<dyn DomainSource>> = Vec::new();
    let overrides = Arc::new(crate::overrides::OverrideStore::new(paths));
    let mut flat_named = Vec::new();
    for d in domains {
        let cache = Cache::open(&paths.db, &d.name).map_err(|source| StartupError::Cache {
            domain: d.name.clone(),
            source,
        })?;
        if d.flat_name.is_some() {
            take_learned_flat_name(&d.name, &cache);
            flat_named.push((d.name.clone(), cache.clone()));
        }
        let inner = Arc::new(CacheSource::new(
            &d.name,
            Arc::new(cache),
            Some(dp.clone()),
            dp_timeout,
        ));
        sources.push(Arc::new(super::overrides::OverrideSource::new(
            inner,
            overrides.clone(),
            d.clone(),
        )));
    }
    if !flat_named.is_empty() {
        let learner = Arc::new(FlatNameRefresh {
            domains: flat_named,
            dp: dp.clone(),
            timeout: dp_timeout.min(FLAT_NAME_ASK_TIMEOUT),
            last_asked: std::sync::Mutex::new(None),
        });
        let on_miss = learner.clone();
        crate::config::learned::set_refresher(move || {
            let l = on_miss.clone();
            Box::pin(async move { l.refresh().await })
        });
        if tokio::runtime::Handle::try_current().is_ok() {
            tokio::spawn(follow_learned_flat_names(learner));
        }
    }
    Ok(sources)
}

/// How often the responders look for a flat name the backend learned (a domain's first
/// connection to its controllers, or a renamed domain).
const FLAT_NAME_CHECK: Duration = Duration::from_secs(1);

/// The longest a client waits while a backend reads its domain's flat name, and the least
/// time between two such requests to the backends.
const FLAT_NAME_ASK_TIMEOUT: Duration = Duration::from_secs(5);

/// What a name with an unknown domain part triggers (see [`crate::config::learned`]): the
/// flat names recorded in the caches are read again, and backends whose domain has none
/// yet are asked to read it from their DCs (at most once per [`FLAT_NAME_ASK_TIMEOUT`]).
struct FlatNameRefresh {
    domains: Vec<(String, Cache)>,
    dp: DataProviderClient,
    timeout: Duration,
    last_asked: std::sync::Mutex<Option<std::time::Instant>>,
}

impl FlatNameRefresh {
    async fn refresh(&self) -> bool {
        let mut changed = self.reread();
        let unknown: Vec<&String> = self
            .domains
            .iter()
            .filter(|(name, _)| crate::config::learned::learned_flat_name(name).is_none())
            .map(|(name, _)| name)
            .collect();
        if unknown.is_empty() || !self.may_ask() {
            return changed;
        }
        for name in unknown {
            match self.dp.get_domains(name, self.timeout).await {
                Ok(r) if r.dp_error == crate::sbus::DP_ERR_OK => {}
                Ok(r) => tracing::debug!("domain {name}: getDomains: {}", r.message),
                Err(e) => tracing::debug!("domain {name}: getDomains: {e}"),
            }
        }
        changed |= self.reread();
        changed
    }

    fn reread(&self) -> bool {
        self.domains.iter().fold(false, |changed, (name, cache)| {
            take_learned_flat_name(name, cache) | changed
        })
    }

    /// Whether the backends may be asked now (and records that they are).
    fn may_ask(&self) -> bool {
        let mut last = self
            .last_asked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = std::time::Instant::now();
        if last.is_some_and(|t| now.duration_since(t) < FLAT_NAME_ASK_TIMEOUT) {
            return false;
        }
        *last = Some(now);
        true
    }
}

/// Takes the flat name the backend of `domain` recorded in `cache`, if any, as the one this
/// process uses (see [`crate::config::learned`]); whether that changed it.
fn take_learned_flat_name(domain: &str, cache: &Cache) -> bool {
    match cache.adopt_flat_name(domain) {
        Ok(Some(flat)) => {
            tracing::info!("domain {domain}: flat name {flat} (learned from its controllers)");
            true
        }
        Ok(None) => false,
        Err(e) => {
            tracing::warn!("domain {domain}: reading the learned flat name: {e}");
            false
        }
    }
}

/// Re-reads the learned flat names every [`FLAT_NAME_CHECK`] (one short LMDB read per AD
/// domain), so that a name learned after this responder started applies without a restart.
async fn follow_learned_flat_names(learner: Arc<FlatNameRefresh>) {
    let mut tick = tokio::time::interval(FLAT_NAME_CHECK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        learner.reread();
    }
}

/// A client socket at `socket_path` with the responder's idle timeout and `allowed_uids`
/// (names or numbers; empty = everyone).
pub fn server_config(
    socket_path: PathBuf,
    client_idle_timeout: u32,
    allowed_uids: &[String],
) -> Result<ServerConfig, StartupError> {
    let mut server = ServerConfig::nss(socket_path);
    server.idle_timeout = Duration::from_secs(u64::from(client_idle_timeout));
    if !allowed_uids.is_empty() {
        let uids = resolve_uids(allowed_uids).map_err(StartupError::AllowedUids)?;
        server.allowed_uids = Some(uids);
    }
    Ok(server)
}

/// Serves `sssd.service` on `bus`, binds each of `servers`, becomes `run_as` (when the
/// responder did not yet), drops every capability and sets `no_new_privs`
/// ([`crate::privilege::drop_responder`]), serves them with `responder`,
/// registers with the monitor as `service_name`, and waits for SIGTERM; then stops the
/// servers and removes their sockets.
pub async fn serve_until_terminated<H: CommandHandler>(
    bus: &Bus,
    service_name: &str,
    responder: Arc<H>,
    handler: Arc<dyn ServiceHandler>,
    servers: Vec<ServerConfig>,
    run_as: Option<RunAs>,
) -> Result<(), StartupError> {
    sbus::serve_service(bus, handler.clone())
        .await
        .map_err(StartupError::ServeService)?;
    let limits = ConnLimits::for_this_process();
    tracing::info!(
        "client connections: at most {} in all, {} per uid, {} kept for root",
        limits.total,
        limits.per_uid,
        limits.reserve
    );
    let admission = Admission::new(limits);
    let mut tasks = Vec::new();
    let mut listeners = Vec::new();
    for (position, server) in servers.into_iter().enumerate() {
        let (listener, adopted) = listener_for(&server, position, service_name)?;
        tracing::info!(
            "serving {}{}",
            server.socket_path.display(),
            if adopted { " (socket-activated)" } else { "" }
        );
        listeners.push((server, listener, adopted));
    }
    // Sockets bound, caches open: nothing left needs root or a capability.
    crate::privilege::drop_responder(run_as)?;
    tracing::debug!("dropped every capability; no_new_privs set");
    for (server, listener, adopted) in listeners {
        let responder = responder.clone();
        let admission = admission.clone();
        // A passed socket belongs to whoever passed it: its file stays at exit.
        let own_file = (!adopted).then(|| server.socket_path.clone());
        tasks.push((
            own_file,
            tokio::spawn(async move { serve(listener, responder, &server, admission).await }),
        ));
    }
    match sbus::register_service(bus, service_name).await {
        Ok(v) => tracing::debug!("registered with the monitor (version {v})"),
        Err(e) => tracing::warn!("could not register with the monitor: {e}"),
    }
    let idle = activation::active_idle_timeout();
    if let Some(t) = idle {
        tracing::info!(
            "socket-activated: exiting after {} s without a client",
            t.as_secs()
        );
    }
    tokio::select! {
        r = service::wait_for_termination(handler) => r?,
        () = exit_when_idle(&admission, idle) => {
            tracing::info!("no client for {} s: exiting until the next one comes",
                idle.map_or(0, |t| t.as_secs()));
        }
    }
    for (path, task) in tasks {
        task.abort();
        if let Some(path) = path {
            let _ = std::fs::remove_file(&path);
        }
    }
    Ok(())
}

/// The listener for `server`: the passed socket when socket-activated (SSSD's order:
/// `position` 0 public, 1 private; names as the systemd units), else a newly bound one.
/// The flag says whether it was passed.
fn listener_for(
    server: &ServerConfig,
    position: usize,
    service_name: &str,
) -> Result<(tokio::net::UnixListener, bool), StartupError> {
    if activation::is_active() {
        let unit = if position == 0 {
            format!("sssd-{service_name}.socket")
        } else {
            format!("sssd-{service_name}-priv.socket")
        };
        if let Some(fd) = activation::take_socket(&server.socket_path, position, &unit) {
            let std_listener = std::os::unix::net::UnixListener::from(fd);
            let io = |source| ServerError::Io {
                path: server.socket_path.display().to_string(),
                what: "adopting the passed socket",
                source,
            };
            std_listener.set_nonblocking(true).map_err(io)?;
            let listener = tokio::net::UnixListener::from_std(std_listener).map_err(io)?;
            return Ok((listener, true));
        }
        tracing::warn!(
            "socket-activated, but no passed socket for {}; binding it",
            server.socket_path.display()
        );
    }
    Ok((bind_socket(server)?, false))
}

/// Completes once no client has been connected for `idle` (never when `None`).
async fn exit_when_idle(admission: &Admission, idle: Option<Duration>) {
    let Some(idle) = idle else {
        return std::future::pending().await;
    };
    loop {
        let wait = match admission.quiet_since() {
            Some(since) => {
                let quiet = since.elapsed();
                if quiet >= idle {
                    return;
                }
                idle - quiet
            }
            // Connections are held: look again soon, so that the exit comes at most a
            // tenth of the timeout late once the last one closes.
            None => (idle / 10).max(Duration::from_secs(1)),
        };
        tokio::time::sleep(wait.max(Duration::from_millis(100))).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_config_sets_idle_timeout_and_allowed_uids() {
        let s = server_config(PathBuf::from("/x/nss"), 30, &[]).unwrap();
        assert_eq!(s.socket_path, PathBuf::from("/x/nss"));
        assert_eq!(s.idle_timeout, Duration::from_secs(30));
        assert_eq!(s.allowed_uids, None);
        let s = server_config(PathBuf::from("/x/pam"), 60, &["0".into(), "1001".into()]).unwrap();
        assert_eq!(s.allowed_uids, Some(vec![0, 1001]));
    }

    #[test]
    fn server_config_rejects_an_unknown_user() {
        let err = server_config(PathBuf::from("/x/nss"), 60, &["no-such-user-x9".into()]);
        assert!(matches!(err, Err(StartupError::AllowedUids(_))), "{err:?}");
    }
}
