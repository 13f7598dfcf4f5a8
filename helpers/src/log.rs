//! The helpers' log lines, in SSSD's layout, on stderr: the backend makes stderr
//! `/var/log/sssd/krb5_child.log` (or `ldap_child.log`) with `--logger=files`, as SSSD's
//! `--debug-fd` does, and passes the domain's debug level and line layout:
//!
//! ```text
//! krb5_child --debug-level=0x0070 --debug-timestamps=1 --debug-microseconds=0 \
//!     --logger=files --domain=LDAP
//! ```
//!
//! Lines read `(2026-12-06 19:55:01): [krb5_child[1234]] [run] (0x0400): [LDAP] message`:
//! the domain the helper works for leads every message.

use sss_proto::debug::{Stamp, class, write_prefix};
use std::io::Write;
use std::sync::OnceLock;

/// What the command line set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// `krb5_child[1234]`.
    pub program: String,
    /// `--domain`: the domain the helper works for (empty when not given).
    pub domain: String,
    /// `--debug-level` as a bit mask (default 0x0070, SSSD's).
    pub mask: u32,
    /// `--debug-timestamps` (default on).
    pub timestamps: bool,
    /// `--debug-microseconds` (default off).
    pub microseconds: bool,
    /// `--logger=journald`: lines go to the journal (with stderr as the fallback).
    pub journald: bool,
}

static CONFIG: OnceLock<LogConfig> = OnceLock::new();

/// Parses a `debug_level` as SSSD does (decimal level or `0x` bit mask) into a bit mask.
fn parse_level(s: &str) -> Option<u32> {
    sss_proto::debug::parse_debug_level(s).map(sss_proto::debug::debug_level_to_mask)
}

impl LogConfig {
    /// Reads the options SSSD passes its helpers (others are ignored: the helpers take
    /// their work on stdin).
    pub fn from_args<I: IntoIterator<Item = String>>(name: &str, args: I) -> LogConfig {
        let mut c = LogConfig {
            program: format!("{name}[{}]", std::process::id()),
            domain: String::new(),
            mask: 0x0070,
            timestamps: true,
            microseconds: false,
            journald: false,
        };
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            let (key, inline) = match arg.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (arg.clone(), None),
            };
            let takes_value = matches!(
                key.as_str(),
                "-d" | "--debug-level"
                    | "--debug-timestamps"
                    | "--debug-microseconds"
                    | "--logger"
                    | "--domain"
            );
            if !takes_value {
                continue;
            }
            let Some(value) = inline.or_else(|| it.next()) else {
                break;
            };
            match key.as_str() {
                "-d" | "--debug-level" => c.mask = parse_level(&value).unwrap_or(c.mask),
                "--debug-timestamps" => c.timestamps = value.trim() != "0",
                "--debug-microseconds" => c.microseconds = value.trim() == "1",
                "--logger" => c.journald = value == "journald",
                _ => c.domain = value,
            }
        }
        c
    }
}

/// Sets up logging for helper `name` from this process's command line.
pub fn init(name: &str) {
    let _ = CONFIG.set(LogConfig::from_args(name, std::env::args().skip(1)));
}

fn config() -> &'static LogConfig {
    CONFIG.get_or_init(|| LogConfig::from_args("helper", std::iter::empty()))
}

/// The line for `message` (without its newline).
pub fn format_line(
    c: &LogConfig,
    stamp: Option<&Stamp>,
    function: &str,
    level: u32,
    message: &str,
) -> String {
    let mut line = String::with_capacity(message.len() + 96);
    write_prefix(
        &mut line,
        stamp,
        c.microseconds,
        &c.program,
        function,
        level,
    );
    if !c.domain.is_empty() {
        line.push('[');
        line.push_str(&c.domain);
        line.push_str("] ");
    }
    line.push_str(message);
    line
}

/// Logs `message` from `function` in debug class `level` (see [`class`]) when the debug
/// level enables it.
pub fn log(function: &str, level: u32, message: &str) {
    let c = config();
    if c.mask & level == 0 {
        return;
    }
    if c.journald && journal(c, function, level, message).is_ok() {
        return;
    }
    let stamp = c.timestamps.then(Stamp::now_local);
    let mut line = format_line(c, stamp.as_ref(), function, level, message);
    line.push('\n');
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Sends one line to the journal's native socket.
fn journal(c: &LogConfig, function: &str, level: u32, message: &str) -> std::io::Result<()> {
    use sss_proto::debug::{JOURNAL_SOCKET, JournalEntry};
    let datagram = JournalEntry {
        message,
        class: level,
        identifier: c.program.split('[').next().unwrap_or("helper"),
        program: &c.program,
        domain: &c.domain,
        function,
        file: "",
        line: 0,
    }
    .encode();
    let s = std::os::unix::net::UnixDatagram::unbound()?;
    s.send_to(&datagram, JOURNAL_SOCKET).map(|_| ())
}

/// A failure of the operation (0x0040).
pub fn op_failure(function: &str, message: impl std::fmt::Display) {
    log(function, class::OP_FAILURE, &message.to_string());
}

/// A trace of what the helper does (0x0400).
pub fn trace(function: &str, message: impl std::fmt::Display) {
    log(function, class::TRACE_FUNC, &message.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> LogConfig {
        LogConfig::from_args("krb5_child", v.iter().map(|s| s.to_string()))
    }

    #[test]
    fn reads_what_the_backend_passes() {
        let c = args(&[
            "--debug-level=0x0470",
            "--debug-timestamps=0",
            "--debug-microseconds=1",
            "--logger=files",
            "--domain",
            "LDAP",
        ]);
        assert_eq!(c.mask, 0x0470);
        assert!(!c.timestamps && c.microseconds && !c.journald);
        assert_eq!(c.domain, "LDAP");
        assert!(c.program.starts_with("krb5_child["));
        let d = args(&[]);
        assert_eq!((d.mask, d.timestamps, d.microseconds), (0x70, true, false));
        assert_eq!(args(&["-d", "6"]).mask, 0x07f0);
    }

    #[test]
    fn lines_name_the_domain() {
        let mut c = args(&["--domain=LDAP"]);
        c.program = "krb5_child[7]".into();
        assert_eq!(
            format_line(&c, None, "run", 0x400, "hello"),
            "[krb5_child[7]] [run] (0x0400): [LDAP] hello"
        );
    }
}
