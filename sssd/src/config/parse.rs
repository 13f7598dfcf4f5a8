//! The line parser: SSSD's (ding-libs) INI dialect, strictly.
//!
//! Checked against libini_config 0.6.2 with SSSD's flags (`INI_PARSE_NOWRAP`,
//! `INI_MV1S_OVERWRITE`):
//!
//! * `#` or `;` in column 0 starts a comment; blank (or whitespace-only) lines are skipped.
//! * An indented comment or section header is an error (ding-libs: "Equal sign is missing");
//!   an indented `key = value` line is accepted, its indentation ignored.
//! * `[name]` opens a section (name trimmed, the line must end with `]`); a repeated section,
//!   in any letter case, merges into the first.
//! * `key = value`: the `=` is required; key and value are trimmed; no quotes, escapes or
//!   inline comments (`#`, `;` and `\` are literal); a repeated key (in any letter case)
//!   replaces the earlier value.
//! * An option before any section header is an error (ding-libs files it under a `default`
//!   section that SSSD never reads; we refuse it instead of ignoring it silently).

use super::{Config, ConfigError};

fn syntax(origin: &str, line: usize, message: impl Into<String>) -> ConfigError {
    ConfigError::Syntax {
        path: origin.to_string(),
        line,
        message: message.into(),
    }
}

/// Parses `text` and merges its sections and options into `cfg`.
pub(super) fn parse_into(cfg: &mut Config, text: &str, origin: &str) -> Result<(), ConfigError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut current: Option<String> = None;
    for (idx, raw) in text.lines().enumerate() {
        let lineno = idx + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let indented = line.starts_with(char::is_whitespace);
        let line = line.trim_start();
        if indented && (line.starts_with(['#', ';', '['])) {
            let what = if line.starts_with('[') {
                "section header"
            } else {
                "comment"
            };
            return Err(syntax(
                origin,
                lineno,
                format!(
                    "equal sign is missing: indented {what} {:?} (comments and section \
                     headers must start in column 0)",
                    shown(line)
                ),
            ));
        }
        if let Some(rest) = line.strip_prefix('[') {
            let rest = rest.trim_end();
            let Some(name) = rest.strip_suffix(']') else {
                return Err(syntax(
                    origin,
                    lineno,
                    format!("section header is missing ']': {line:?}"),
                ));
            };
            let name = name.trim();
            if name.is_empty() {
                return Err(syntax(origin, lineno, "empty section name"));
            }
            // Record the section even if it stays empty.
            cfg.section_mut(name);
            cfg.record(name, None, origin, lineno);
            current = Some(name.to_string());
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(syntax(
                origin,
                lineno,
                format!(
                    "equal sign is missing: expected `key = value`, found {:?}",
                    shown(line)
                ),
            ));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(syntax(
                origin,
                lineno,
                "property name is missing before '='",
            ));
        }
        let Some(section) = &current else {
            return Err(syntax(
                origin,
                lineno,
                format!("option {key:?} appears before any [section] header"),
            ));
        };
        cfg.section_mut(section).set(key, value.trim());
        cfg.record(section, Some(key), origin, lineno);
    }
    Ok(())
}

/// What of a bad line to quote in an error: the part before `=` or the first word, so a
/// mistyped secret value is never echoed.
fn shown(line: &str) -> String {
    let t = line.trim();
    let head = match t.split_once('=') {
        Some((k, _)) => format!("{} = ...", k.trim()),
        None => t.split_whitespace().next().unwrap_or("").to_string(),
    };
    if head.len() < t.len() && !head.ends_with("...") {
        format!("{head} ...")
    } else {
        head
    }
}
