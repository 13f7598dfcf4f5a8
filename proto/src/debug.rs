//! SSSD's debug-log line layout, shared by the daemons and their helpers:
//!
//! ```text
//! (2026-12-06 19:55:01): [be[LDAP]] [function] (0x0400): message
//! (2026-12-06 19:55:01:123456): [be[LDAP]] [function] (0x0400): [RID#7] message
//! ```
//!
//! The time part is there with `debug_timestamps` (the default), the microseconds with
//! `debug_microseconds`. Also the journal's native datagram format (`--logger=journald`).

use std::fmt::Write;

/// SSSD's debug classes (the bits of a `debug_level` bit mask).
pub mod class {
    /// Fatal failures: the process cannot go on.
    pub const FATAL: u32 = 0x0010;
    /// Critical failures: a feature is broken.
    pub const CRITICAL: u32 = 0x0020;
    /// Failures of one operation.
    pub const OP_FAILURE: u32 = 0x0040;
    /// Minor failures.
    pub const MINOR: u32 = 0x0080;
    /// Configuration settings.
    pub const CONFIG: u32 = 0x0100;
    /// Function data.
    pub const FUNC: u32 = 0x0200;
    /// Function traces.
    pub const TRACE_FUNC: u32 = 0x0400;
    /// Library traces.
    pub const TRACE_LIBS: u32 = 0x1000;
    /// Internal traces.
    pub const TRACE_INTERNAL: u32 = 0x2000;
    /// Everything.
    pub const TRACE_ALL: u32 = 0x4000;
}

/// A local time broken down, as `localtime_r` gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Year (2026).
    pub year: i32,
    /// Month 1-12.
    pub month: u32,
    /// Day 1-31.
    pub day: u32,
    /// Hour 0-23.
    pub hour: u32,
    /// Minute 0-59.
    pub minute: u32,
    /// Second 0-60.
    pub second: u32,
    /// Microseconds 0-999999.
    pub micros: u32,
}

impl Stamp {
    /// The local time now (`localtime_r`, so `TZ` applies).
    pub fn now_local() -> Stamp {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let secs = libc::time_t::try_from(now.as_secs()).unwrap_or(0);
        // SAFETY: an all-zero `tm` is valid; localtime_r only writes into it.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        // SAFETY: both pointers are valid for the call.
        unsafe { libc::localtime_r(&secs, &mut tm) };
        let u = |v: libc::c_int| u32::try_from(v).unwrap_or(0);
        Stamp {
            year: tm.tm_year + 1900,
            month: u(tm.tm_mon + 1),
            day: u(tm.tm_mday),
            hour: u(tm.tm_hour),
            minute: u(tm.tm_min),
            second: u(tm.tm_sec),
            micros: now.subsec_micros(),
        }
    }
}

/// Writes the start of a line up to the message: the time (`stamp`, with its microseconds
/// when `micros`), the program (`be[LDAP]`, `nss`, `krb5_child[1234]`), the function and
/// the debug class, as SSSD 2.8 lays them out.
pub fn write_prefix(
    out: &mut String,
    stamp: Option<&Stamp>,
    micros: bool,
    program: &str,
    function: &str,
    class: u32,
) {
    if let Some(t) = stamp {
        // SSSD pads the hour with a space, not a zero.
        let _ = write!(
            out,
            "({}-{:02}-{:02} {:2}:{:02}:{:02}",
            t.year, t.month, t.day, t.hour, t.minute, t.second
        );
        if micros {
            let _ = write!(out, ":{:06}", t.micros);
        }
        out.push_str("): ");
    }
    let _ = write!(out, "[{program}] [{function}] ({class:#06x}): ");
}

/// Parses a `debug_level` value as SSSD reads it: decimal (`6`) or hex (`0x0070`).
pub fn parse_debug_level(s: &str) -> Option<u32> {
    let t = s.trim();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => t.parse().ok(),
    }
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
    ADDED
        .iter()
        .take(level.min(10) as usize)
        .fold(class::FATAL, |m, b| m | b)
}

/// Where journald reads native-protocol datagrams.
pub const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";

/// One log line's journal fields: SSSD's (`SSSD_PRG_NAME`, `SSSD_DOMAIN`,
/// `SSSD_DEBUG_LEVEL`) beside the standard ones.
pub struct JournalEntry<'a> {
    /// `MESSAGE`.
    pub message: &'a str,
    /// SSSD's debug class (gives `PRIORITY` and `SSSD_DEBUG_LEVEL`).
    pub class: u32,
    /// `SYSLOG_IDENTIFIER`: the program's file name.
    pub identifier: &'a str,
    /// `be[LDAP]`, `nss`, `krb5_child[1234]` (`SSSD_PRG_NAME=sssd[...]`).
    pub program: &'a str,
    /// The domain of a backend or helper, else empty.
    pub domain: &'a str,
    /// `CODE_FUNC`.
    pub function: &'a str,
    /// `CODE_FILE` (with `CODE_LINE`; left out when empty).
    pub file: &'a str,
    /// `CODE_LINE`.
    pub line: u32,
}

impl JournalEntry<'_> {
    /// The native-protocol datagram.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.message.len() + 256);
        journal_field(&mut out, "MESSAGE", self.message.as_bytes());
        let priority = syslog_priority(self.class).to_string();
        journal_field(&mut out, "PRIORITY", priority.as_bytes());
        journal_field(&mut out, "SYSLOG_IDENTIFIER", self.identifier.as_bytes());
        let program = format!("sssd[{}]", self.program);
        journal_field(&mut out, "SSSD_PRG_NAME", program.as_bytes());
        journal_field(&mut out, "SSSD_DOMAIN", self.domain.as_bytes());
        let level = format!("{:x}", self.class);
        journal_field(&mut out, "SSSD_DEBUG_LEVEL", level.as_bytes());
        journal_field(&mut out, "CODE_FUNC", self.function.as_bytes());
        if !self.file.is_empty() {
            journal_field(&mut out, "CODE_FILE", self.file.as_bytes());
            journal_field(&mut out, "CODE_LINE", self.line.to_string().as_bytes());
        }
        out
    }
}

/// Appends one field in the journal's native format: `KEY=value\n`, or for a value with a
/// newline `KEY\n`, its length as 64-bit little endian, the value and `\n`.
pub fn journal_field(out: &mut Vec<u8>, key: &str, value: &[u8]) {
    out.extend_from_slice(key.as_bytes());
    if value.contains(&b'\n') {
        out.push(b'\n');
        out.extend_from_slice(&(value.len() as u64).to_le_bytes());
    } else {
        out.push(b'=');
    }
    out.extend_from_slice(value);
    out.push(b'\n');
}

/// The syslog priority (`PRIORITY=`) of a debug class: 2 (critical) for fatal, 3 (error)
/// for critical and operation failures, 4 (warning) for minor ones, 6 (info) for settings
/// and 7 (debug) for traces.
pub fn syslog_priority(class: u32) -> u8 {
    match class {
        c if c & class::FATAL != 0 => 2,
        c if c & (class::CRITICAL | class::OP_FAILURE) != 0 => 3,
        c if c & class::MINOR != 0 => 4,
        c if c & class::CONFIG != 0 => 6,
        _ => 7,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp() -> Stamp {
        Stamp {
            year: 2026,
            month: 12,
            day: 6,
            hour: 9,
            minute: 5,
            second: 1,
            micros: 1234,
        }
    }

    #[test]
    fn prefix_is_sssd_28s() {
        let mut s = String::new();
        write_prefix(&mut s, Some(&stamp()), false, "be[LDAP]", "f", 0x400);
        assert_eq!(s, "(2026-12-06  9:05:01): [be[LDAP]] [f] (0x0400): ");
        s.clear();
        write_prefix(&mut s, Some(&stamp()), true, "nss", "g", 0x10);
        assert_eq!(s, "(2026-12-06  9:05:01:001234): [nss] [g] (0x0010): ");
        s.clear();
        write_prefix(&mut s, None, true, "sssd", "h", 0x2000);
        assert_eq!(s, "[sssd] [h] (0x2000): ");
    }

    #[test]
    fn debug_levels_as_sssd_reads_them() {
        assert_eq!(parse_debug_level(" 6 "), Some(6));
        assert_eq!(parse_debug_level("0x0270"), Some(0x270));
        assert_eq!(parse_debug_level("x"), None);
        assert_eq!(debug_level_to_mask(0), 0x0010);
        assert_eq!(debug_level_to_mask(2), 0x0070);
        assert_eq!(debug_level_to_mask(6), 0x07f0);
        assert_eq!(debug_level_to_mask(0x0270), 0x0270);
        assert_eq!(debug_level_to_mask(99), debug_level_to_mask(10));
    }

    #[test]
    fn journal_fields() {
        let mut v = Vec::new();
        journal_field(&mut v, "MESSAGE", b"hi");
        journal_field(&mut v, "MESSAGE", b"a\nb");
        let mut want = b"MESSAGE=hi\nMESSAGE\n".to_vec();
        want.extend_from_slice(&3u64.to_le_bytes());
        want.extend_from_slice(b"a\nb\n");
        assert_eq!(v, want);
        assert_eq!(syslog_priority(0x0010), 2);
        assert_eq!(syslog_priority(0x0080), 4);
        assert_eq!(syslog_priority(0x0400), 7);
    }
}
