//! Logging for every daemon process: SSSD's `debug_level` mapped onto `tracing` levels,
//! written to stderr or to `/var/log/sssd/<file>` with reopen on `rotateLogs`/SIGHUP.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use thiserror::Error;
use tracing::level_filters::LevelFilter;

/// Where log lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Logger {
    /// Standard error (`--logger=stderr`, the default with `-i`).
    Stderr,
    /// A file per process in this directory (`--logger=files`).
    Files(PathBuf),
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
    let t = s.trim();
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => t.parse(),
    };
    parsed.map_err(|_| BadDebugLevel(s.to_string()))
}

/// Converts an old-style level (0-10; SSSD reads any value that is 0 or has one of the
/// low four bits set as one) into SSSD's bitmask; other values are bitmasks already.
pub fn debug_level_to_mask(level: u32) -> u32 {
    if level != 0 && level & 0xf == 0 {
        return level;
    }
    // What each old level adds to the one below it, from level 1 (level 0: fatal only).
    const ADDED: [u32; 10] = [
        0x0020,                    // 1 critical failures
        0x0040,                    // 2 operation failures
        0x0080,                    // 3 minor failures
        0x0100,                    // 4 configuration settings
        0x0200,                    // 5 function data
        0x0400,                    // 6 function traces
        0x1000,                    // 7 library traces
        0x2000,                    // 8 internal traces
        0x4000 | 0x8000 | 0x20000, // 9 everything, failover, performance
        0x10000,                   // 10 cache database traces
    ];
    let mut mask = 0x0010;
    for (i, bits) in ADDED.iter().enumerate() {
        if level as usize > i {
            mask |= bits;
        }
    }
    mask
}

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

/// A writer appending to the current log file.
struct FileWriter(Arc<LogFile>);

impl Write for FileWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.file.lock() {
            Ok(mut f) => f.write(buf),
            Err(p) => p.into_inner().write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// How a process is named in shared stderr output: `sssd`, `nss`, `be[LDAP]`.
fn process_label(service_name: &str) -> String {
    match service_name {
        "sssd" | "nss" | "pam" => service_name.to_string(),
        domain => format!("be[{domain}]"),
    }
}

/// A writer to stderr that prefixes each log line with the process label, so the output
/// of the monitor and its children can be told apart.
struct StderrWriter(Arc<str>);

impl Write for StderrWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // One formatted event arrives as one write; emit it with its prefix in one go.
        let mut line = Vec::with_capacity(self.0.len() + buf.len());
        line.extend_from_slice(self.0.as_bytes());
        line.extend_from_slice(buf);
        std::io::stderr().lock().write_all(&line)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Installs the global subscriber for `service_name` (see [`log_file_name`]) at
/// `debug_level` (0-10 or bitmask). The bus broker's own chatter is limited to warnings.
pub fn init(service_name: &str, debug_level: u32, logger: Logger) -> Result<(), LoggingError> {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let (targets, handle) = tracing_subscriber::reload::Layer::new(targets_for(debug_level));
    let _ = RELOAD.set(handle);
    CURRENT_LEVEL.store(debug_level_to_mask(debug_level), Ordering::Relaxed);
    let fmt = tracing_subscriber::fmt::layer().with_target(false);
    let result = match logger {
        Logger::Stderr => {
            use std::io::IsTerminal;
            let prefix: Arc<str> = Arc::from(format!("[{}] ", process_label(service_name)));
            tracing_subscriber::registry()
                .with(
                    fmt.with_ansi(std::io::stderr().is_terminal())
                        .with_writer(move || StderrWriter(prefix.clone()))
                        .with_filter(targets),
                )
                .try_init()
        }
        Logger::Files(dir) => {
            let path = dir.join(log_file_name(service_name));
            let file = open_log(&path)?;
            let shared = Arc::new(LogFile {
                path,
                file: Mutex::new(file),
            });
            let _ = LOG_FILE.set(shared.clone());
            tracing_subscriber::registry()
                .with(
                    fmt.with_ansi(false)
                        .with_writer(move || FileWriter(shared.clone()))
                        .with_filter(targets),
                )
                .try_init()
        }
    };
    result.map_err(|_| LoggingError::AlreadyInitialised)
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
    fn file_names_match_sssd() {
        assert_eq!(log_file_name("sssd"), "sssd.log");
        assert_eq!(log_file_name("nss"), "sssd_nss.log");
        assert_eq!(log_file_name("LDAP"), "sssd_LDAP.log");
    }
}
