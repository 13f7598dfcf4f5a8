//! Logging for every daemon process: SSSD's `debug_level` mapped onto `tracing` levels,
//! written to stderr or to `/var/log/sssd/<file>` with reopen on `rotateLogs`/SIGHUP.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use thiserror::Error;
use tracing::level_filters::LevelFilter;

pub mod journal;

/// Where log lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Logger {
    /// Standard error (`--logger=stderr`, the default with `-i`).
    Stderr,
    /// A file per process in this directory (`--logger=files`).
    Files(PathBuf),
    /// The systemd journal, through its native socket (`--logger=journald`).
    Journald,
}

/// Why logging could not start.
#[derive(Debug, Error)]
pub enum LoggingError {
    /// The log file could not be opened.
    #[error("log file {path}: {source}")]
    Open {
        /// The file.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A subscriber was already installed.
    #[error("logging was already initialised")]
    AlreadyInitialised,
}

/// Why a `debug_level` value was rejected.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("invalid debug level {0:?}: expected 0-10 or a bitmask such as 0x0070")]
pub struct BadDebugLevel(pub String);

/// SSSD's default `debug_level`: fatal, critical and serious failures.
pub const DEFAULT_DEBUG_LEVEL: u32 = 0x0070;

/// Parses a `debug_level` as SSSD accepts it: decimal (`6`, `0x` less) or hex (`0x0070`).
pub fn parse_debug_level(s: &str) -> Result<u32, BadDebugLevel> {
    sss_proto::debug::parse_debug_level(s).ok_or_else(|| BadDebugLevel(s.to_string()))
}

pub use sss_proto::debug::debug_level_to_mask;

/// The most verbose `tracing` level a `debug_level` (0-10 or bitmask) enables.
pub fn level_filter(debug_level: u32) -> LevelFilter {
    let mask = debug_level_to_mask(debug_level);
    if mask & 0xe000 != 0 {
        LevelFilter::TRACE
    } else if mask & 0x1400 != 0 {
        LevelFilter::DEBUG
    } else if mask & 0x0300 != 0 {
        LevelFilter::INFO
    } else if mask & 0x0080 != 0 {
        LevelFilter::WARN
    } else if mask & 0x0070 != 0 {
        LevelFilter::ERROR
    } else {
        LevelFilter::OFF
    }
}

/// The log file name of a process: `sssd.log` for the monitor (`"sssd"`), else
/// `sssd_<name>.log` (`sssd_nss.log`, `sssd_LDAP.log` for domain LDAP's backend).
pub fn log_file_name(service_name: &str) -> String {
    if service_name == "sssd" {
        "sssd.log".to_string()
    } else {
        format!("sssd_{service_name}.log")
    }
}

/// The open log file, shared with the writer so it can be swapped on reopen.
struct LogFile {
    path: PathBuf,
    file: Mutex<File>,
}

static LOG_FILE: OnceLock<Arc<LogFile>> = OnceLock::new();

fn open_log(path: &Path) -> Result<File, LoggingError> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(|source| LoggingError::Open {
            path: path.display().to_string(),
            source,
        })
}

/// How the process is named in its lines: `sssd`, `nss`, `be[LDAP]` (SSSD's
/// `debug_prg_name`).
pub fn process_label(service_name: &str) -> String {
    match service_name {
        "sssd" | "nss" | "pam" | "sudo" | "ssh" | "autofs" | "ifp" | "pac" => {
            service_name.to_string()
        }
        domain => format!("be[{domain}]"),
    }
}

/// `debug_timestamps` in force (default on).
static TIMESTAMPS: AtomicBool = AtomicBool::new(true);
/// `debug_microseconds` in force (default off).
static MICROSECONDS: AtomicBool = AtomicBool::new(false);

/// The line layout: with or without the time, with or without its microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineFormat {
    /// `debug_timestamps`: lines start with `(YYYY-MM-DD HH:MM:SS)`.
    pub timestamps: bool,
    /// `debug_microseconds`: the time ends with `:UUUUUU`.
    pub microseconds: bool,
}

impl Default for LineFormat {
    fn default() -> LineFormat {
        LineFormat {
            timestamps: true,
            microseconds: false,
        }
    }
}

impl LineFormat {
    /// The layout of `section`: the command line's `--debug-timestamps` and
    /// `--debug-microseconds` (when given) win over the section's `debug_timestamps`
    /// (default true) and `debug_microseconds` (default false).
    pub fn resolve(
        cfg: &crate::config::Config,
        section: &str,
        timestamps: Option<bool>,
        microseconds: Option<bool>,
    ) -> Result<LineFormat, crate::config::ConfigError> {
        Ok(LineFormat {
            timestamps: match timestamps {
                Some(v) => v,
                None => cfg.get_bool(section, "debug_timestamps", true)?,
            },
            microseconds: match microseconds {
                Some(v) => v,
                None => cfg.get_bool(section, "debug_microseconds", false)?,
            },
        })
    }

    /// Makes this the layout of this process's lines from now on.
    pub fn apply(self) {
        TIMESTAMPS.store(self.timestamps, Ordering::Relaxed);
        MICROSECONDS.store(self.microseconds, Ordering::Relaxed);
    }

    /// The layout in force.
    pub fn current() -> LineFormat {
        LineFormat {
            timestamps: TIMESTAMPS.load(Ordering::Relaxed),
            microseconds: MICROSECONDS.load(Ordering::Relaxed),
        }
    }
}

/// Parses the `0`/`1` value of `--debug-timestamps` and `--debug-microseconds`.
pub fn parse_flag(v: &str) -> Option<bool> {
    match v.trim() {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    }
}

/// The SSSD debug class a `tracing` level is shown with.
pub fn class_of(level: &tracing::Level) -> u32 {
    use sss_proto::debug::class;
    match *level {
        tracing::Level::ERROR => class::OP_FAILURE,
        tracing::Level::WARN => class::MINOR,
        tracing::Level::INFO => class::FUNC,
        tracing::Level::DEBUG => class::TRACE_FUNC,
        tracing::Level::TRACE => class::TRACE_INTERNAL,
    }
}

/// The last request number handed out in this process.
static LAST_REQUEST_ID: AtomicU32 = AtomicU32::new(0);

/// Request ids are `REQUEST_ID_STRIDE * n + k`, `k` this responder's slot: the ids of
/// different responders never meet in a backend's log.
const REQUEST_ID_STRIDE: u32 = 8;

/// This process's slot `k` (see [`REQUEST_ID_STRIDE`]), set by [`init_as`].
static REQUEST_ID_SLOT: AtomicU32 = AtomicU32::new(0);

/// The request-id slot of a responder service.
fn request_id_slot(service_name: &str) -> u32 {
    match service_name {
        "nss" => 1,
        "pam" => 2,
        "sudo" => 3,
        "ssh" => 4,
        "autofs" => 5,
        _ => 0,
    }
}

tokio::task_local! {
    /// The id of the client request the current task works for.
    static REQUEST_ID: u32;
}

/// A new request id (`[RID#n]`), never 0, never one another responder hands out.
pub fn next_request_id() -> u32 {
    let slot = REQUEST_ID_SLOT.load(Ordering::Relaxed);
    loop {
        let n = LAST_REQUEST_ID
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_add(1);
        let id = n.wrapping_mul(REQUEST_ID_STRIDE).wrapping_add(slot);
        if id != 0 {
            return id;
        }
    }
}

/// Runs `fut` as the work for client request `rid`: its lines carry `[RID#rid]` and
/// [`current_request_id`] gives `rid` (the responders pass it to the backend as the
/// `cli_id` of `getAccountInfo`, whose lines then carry it too).
pub async fn with_request_id<F: std::future::Future>(rid: u32, fut: F) -> F::Output {
    use tracing::Instrument;
    REQUEST_ID
        .scope(rid, fut.instrument(tracing::error_span!("request", rid)))
        .await
}

/// `fut` with the request id and span of the current task, for a task spawned on its
/// behalf: its lines carry the same `[CID#n]` and `[RID#n]`.
pub fn carry_request<F: std::future::Future>(
    fut: F,
) -> impl std::future::Future<Output = F::Output> {
    use tracing::Instrument;
    let rid = current_request_id();
    REQUEST_ID.scope(rid, fut.instrument(tracing::Span::current()))
}

/// The id of the client request the current task works for, or 0.
pub fn current_request_id() -> u32 {
    REQUEST_ID.try_with(|id| *id).unwrap_or(0)
}

/// Where the lines go.
enum Sink {
    Stderr,
    File(Arc<LogFile>),
    Journal(journal::Journal),
}

/// The chain ids of a span (`cid` and `rid` fields): every line logged inside it carries
/// `[CID#n]` and `[RID#n]`.
#[derive(Debug, Default, Clone, Copy)]
struct ChainIds {
    cid: Option<u64>,
    rid: Option<u64>,
}

impl tracing::field::Visit for ChainIds {
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        match field.name() {
            "cid" => self.cid = Some(value),
            "rid" => self.rid = Some(value),
            _ => {}
        }
    }

    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        if let Ok(v) = u64::try_from(value) {
            self.record_u64(field, v);
        }
    }

    fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
}

/// The message of an event, then its other fields as ` name=value`.
#[derive(Default)]
struct Message {
    text: String,
    rest: String,
}

impl tracing::field::Visit for Message {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.text.push_str(value);
        } else {
            let _ = write!(self.rest, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.text, "{value:?}");
        } else {
            let _ = write!(self.rest, " {}={value:?}", field.name());
        }
    }
}

/// The `tracing` layer writing SSSD's lines.
struct SssdLayer {
    program: String,
    domain: String,
    sink: Sink,
}

impl<S> tracing_subscriber::Layer<S> for SssdLayer
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut ids = ChainIds::default();
        attrs.record(&mut ids);
        if (ids.cid.is_some() || ids.rid.is_some())
            && let Some(span) = ctx.span(id)
        {
            span.extensions_mut().insert(ids);
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: tracing_subscriber::layer::Context<'_, S>) {
        let meta = event.metadata();
        let mut ids = ChainIds::default();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(found) = span.extensions().get::<ChainIds>() {
                    ids.cid = found.cid.or(ids.cid);
                    ids.rid = found.rid.or(ids.rid);
                }
            }
        }
        let mut msg = Message::default();
        event.record(&mut msg);
        let function = function_of(meta);
        let class = class_of(meta.level());
        // The line is built once: the prefix (not for the journal, which has its own
        // fields), then the chain ids and the message.
        let journal = matches!(self.sink, Sink::Journal(_));
        let mut line = String::with_capacity(msg.text.len() + msg.rest.len() + 128);
        let prefix = |line: &mut String| {
            let fmt = LineFormat::current();
            let stamp = fmt.timestamps.then(sss_proto::debug::Stamp::now_local);
            sss_proto::debug::write_prefix(
                line,
                stamp.as_ref(),
                fmt.microseconds,
                &self.program,
                function,
                class,
            );
        };
        if !journal {
            prefix(&mut line);
        }
        let body_start = line.len();
        if let Some(cid) = ids.cid {
            let _ = write!(line, "[CID#{cid}] ");
        }
        if let Some(rid) = ids.rid {
            let _ = write!(line, "[RID#{rid}] ");
        }
        line.push_str(&msg.text);
        line.push_str(&msg.rest);
        if let Sink::Journal(j) = &self.sink {
            let sent = j.send(&journal::Entry {
                message: &line[body_start..],
                class,
                program: &self.program,
                domain: &self.domain,
                function,
                file: meta.file().unwrap_or(""),
                line: meta.line().unwrap_or(0),
            });
            if sent.is_ok() {
                return;
            }
            // The journal is gone: the line goes to stderr, with its prefix.
            let body = std::mem::take(&mut line);
            prefix(&mut line);
            line.push_str(&body);
        }
        line.push('\n');
        // One line, one write: lines of several threads never mix.
        match &self.sink {
            Sink::File(log) => {
                let mut f = log.file.lock().unwrap_or_else(|p| p.into_inner());
                let _ = f.write_all(line.as_bytes());
            }
            Sink::Stderr | Sink::Journal(_) => {
                let _ = std::io::stderr().lock().write_all(line.as_bytes());
            }
        }
    }
}

/// What stands for SSSD's function name in a line: the module the event comes from,
/// without the crate name (`backend::ldap::search`).
fn function_of(meta: &'static tracing::Metadata<'static>) -> &'static str {
    let path = meta.module_path().unwrap_or_else(|| meta.target());
    match path.split_once("::") {
        Some((_, rest)) => rest,
        None => path,
    }
}

/// Installs the global subscriber for `service_name` (see [`log_file_name`]) at
/// `debug_level` (0-10 or bitmask), with the layout set by [`LineFormat::apply`]. The bus
/// broker's own chatter is limited to warnings.
pub fn init(service_name: &str, debug_level: u32, logger: Logger) -> Result<(), LoggingError> {
    init_as(
        service_name,
        &process_label(service_name),
        debug_level,
        logger,
    )
}

/// [`init`] with an explicit program label (`krb5_child[1234]`).
pub fn init_as(
    service_name: &str,
    program: &str,
    debug_level: u32,
    logger: Logger,
) -> Result<(), LoggingError> {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    REQUEST_ID_SLOT.store(request_id_slot(service_name), Ordering::Relaxed);
    let (targets, handle) = tracing_subscriber::reload::Layer::new(targets_for(debug_level));
    let _ = RELOAD.set(handle);
    CURRENT_LEVEL.store(debug_level_to_mask(debug_level), Ordering::Relaxed);
    let sink = match logger {
        Logger::Stderr => Sink::Stderr,
        Logger::Journald => Sink::Journal(journal::Journal::new()),
        Logger::Files(dir) => {
            let path = dir.join(log_file_name(service_name));
            let file = open_log(&path)?;
            let shared = Arc::new(LogFile {
                path,
                file: Mutex::new(file),
            });
            let _ = LOG_FILE.set(shared.clone());
            Sink::File(shared)
        }
    };
    let domain = if program.starts_with("be[") {
        service_name.to_string()
    } else {
        String::new()
    };
    let layer = SssdLayer {
        program: program.to_string(),
        domain,
        sink,
    };
    tracing_subscriber::registry()
        .with(layer.with_filter(targets))
        .try_init()
        .map_err(|_| LoggingError::AlreadyInitialised)
}

/// The filter for `debug_level`. The bus broker's and zbus's own chatter is limited.
fn targets_for(debug_level: u32) -> tracing_subscriber::filter::Targets {
    let level = level_filter(debug_level);
    tracing_subscriber::filter::Targets::new()
        .with_default(level)
        .with_target("busd", level.min(LevelFilter::WARN))
        // zbus warns about every name requested before its object server is set up; our
        // children register with the monitor only after serving, so that is noise.
        .with_target("zbus", level.min(LevelFilter::ERROR))
        .with_target("zruntime", level.min(LevelFilter::WARN))
}

type ReloadHandle = tracing_subscriber::reload::Handle<
    tracing_subscriber::filter::Targets,
    tracing_subscriber::Registry,
>;

/// Changes the filter of the running subscriber (see [`set_debug_level`]).
static RELOAD: OnceLock<ReloadHandle> = OnceLock::new();

/// The debug level in force, as a bit mask.
static CURRENT_LEVEL: AtomicU32 = AtomicU32::new(DEFAULT_DEBUG_LEVEL);

/// The debug level this process logs at, as a bit mask.
pub fn current_debug_level() -> u32 {
    CURRENT_LEVEL.load(Ordering::Relaxed)
}

/// Changes the debug level of this process from now on (`sssctl debug-level`); returns
/// whether logging was set up to allow it.
pub fn set_debug_level(debug_level: u32) -> bool {
    let Some(handle) = RELOAD.get() else {
        return false;
    };
    if handle.reload(targets_for(debug_level)).is_err() {
        return false;
    }
    let mask = debug_level_to_mask(debug_level);
    CURRENT_LEVEL.store(mask, Ordering::Relaxed);
    tracing::info!("debug level set to {mask:#06x}");
    true
}

/// Reopens the log file (after logrotate moved it). A no-op with the stderr logger.
pub fn reopen() {
    let Some(log) = LOG_FILE.get() else { return };
    match open_log(&log.path) {
        Ok(new) => {
            match log.file.lock() {
                Ok(mut f) => *f = new,
                Err(p) => *p.into_inner() = new,
            }
            // The first line of a rotated file says why it starts here.
            tracing::info!("log file reopened: {}", log.path.display());
        }
        Err(e) => tracing::error!("cannot reopen: {e}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn responders_have_distinct_request_id_slots() {
        let slots: Vec<u32> = ["nss", "pam", "sudo", "ssh", "autofs"]
            .iter()
            .map(|s| super::request_id_slot(s))
            .collect();
        for (i, a) in slots.iter().enumerate() {
            assert!(*a > 0 && *a < super::REQUEST_ID_STRIDE);
            assert!(!slots[i + 1..].contains(a), "{slots:?}");
        }
    }
    use super::*;

    #[test]
    fn levels_map_like_sssd() {
        assert_eq!(level_filter(0), LevelFilter::ERROR);
        assert_eq!(level_filter(2), LevelFilter::ERROR);
        assert_eq!(level_filter(3), LevelFilter::WARN);
        assert_eq!(level_filter(5), LevelFilter::INFO);
        assert_eq!(level_filter(6), LevelFilter::DEBUG);
        assert_eq!(level_filter(9), LevelFilter::TRACE);
        // SSSD's "everything": 10, and any larger value with a low bit set.
        assert_eq!(level_filter(10), LevelFilter::TRACE);
        assert_eq!(level_filter(15), LevelFilter::TRACE);
        assert_eq!(debug_level_to_mask(0), 0x0010);
        assert_eq!(debug_level_to_mask(2), 0x0070);
        assert_eq!(debug_level_to_mask(9), 0x2f7f0);
        assert_eq!(debug_level_to_mask(10), 0x3f7f0);
        assert_eq!(debug_level_to_mask(0x0070), 0x0070);
        assert_eq!(debug_level_to_mask(0x0071), 0x3f7f0);
        assert_eq!(level_filter(0x0070), LevelFilter::ERROR);
        assert_eq!(level_filter(0x00f0), LevelFilter::WARN);
        assert_eq!(level_filter(0x0400), LevelFilter::DEBUG);
        assert_eq!(level_filter(0xfff0), LevelFilter::TRACE);
        assert_eq!(level_filter(0x10000), LevelFilter::OFF);
    }

    #[test]
    fn debug_levels_parse() {
        assert_eq!(parse_debug_level("0x0070"), Ok(0x70));
        assert_eq!(parse_debug_level(" 6 "), Ok(6));
        assert!(parse_debug_level("lots").is_err());
        assert!(parse_debug_level("0xZZ").is_err());
    }

    #[test]
    fn line_format_resolves_command_line_over_section() {
        let cfg = crate::config::Config::parse(
            "[nss]\ndebug_timestamps = false\ndebug_microseconds = true\n",
            "t.conf",
        )
        .unwrap();
        let f = LineFormat::resolve(&cfg, "nss", None, None).unwrap();
        assert!(!f.timestamps && f.microseconds);
        let f = LineFormat::resolve(&cfg, "nss", Some(true), Some(false)).unwrap();
        assert!(f.timestamps && !f.microseconds);
        assert_eq!(
            LineFormat::resolve(&cfg, "pam", None, None).unwrap(),
            LineFormat::default()
        );
        assert_eq!(class_of(&tracing::Level::DEBUG), 0x0400);
        assert_eq!(parse_flag("1"), Some(true));
        assert_eq!(parse_flag("x"), None);
        assert_eq!(process_label("sudo"), "sudo");
        assert_eq!(process_label("LDAP"), "be[LDAP]");
    }

    #[test]
    fn file_names_match_sssd() {
        assert_eq!(log_file_name("sssd"), "sssd.log");
        assert_eq!(log_file_name("nss"), "sssd_nss.log");
        assert_eq!(log_file_name("LDAP"), "sssd_LDAP.log");
    }
}
