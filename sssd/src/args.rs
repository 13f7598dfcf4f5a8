//! A tiny command-line reader for the options SSSD's daemons take (`-d N`, `--debug-level=N`,
//! `--logger=files`, ...), shared by the monitor and the child processes.

use thiserror::Error;

/// A command-line problem, naming the option.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Walks the arguments, splitting `--name=value` and taking separate values on demand.
pub struct Args {
    items: std::vec::IntoIter<String>,
    /// The value glued to the current option with `=` (or after a short option letter).
    inline: Option<String>,
    current: String,
}

impl Args {
    /// Reads `args` (without the program name).
    pub fn new<I: IntoIterator<Item = String>>(args: I) -> Args {
        Args {
            items: args.into_iter().collect::<Vec<_>>().into_iter(),
            inline: None,
            current: String::new(),
        }
    }

    /// The next option name (`--debug-level`, `-d`), or `None` at the end.
    pub fn next_option(&mut self) -> Option<String> {
        let arg = self.items.next()?;
        self.inline = None;
        let name = if arg.starts_with("--") {
            match arg.split_once('=') {
                Some((n, v)) => {
                    self.inline = Some(v.to_string());
                    n.to_string()
                }
                None => arg,
            }
        } else if arg.starts_with('-') && arg.len() > 2 && arg.is_char_boundary(2) {
            self.inline = Some(arg[2..].to_string());
            arg[..2].to_string()
        } else {
            arg
        };
        self.current = name.clone();
        Some(name)
    }

    /// The value of the current option (inline or the next argument).
    pub fn value(&mut self) -> Result<String, UsageError> {
        match self.inline.take().or_else(|| self.items.next()) {
            Some(v) => Ok(v),
            None => Err(UsageError(format!("option {} needs a value", self.current))),
        }
    }

    /// Fails when the current option was given a value it does not take.
    pub fn no_value(&mut self) -> Result<(), UsageError> {
        match self.inline.take() {
            Some(v) => Err(UsageError(format!(
                "option {} takes no value (got {v:?})",
                self.current
            ))),
            None => Ok(()),
        }
    }

    /// The error for the current, unknown option.
    pub fn unknown(&self) -> UsageError {
        UsageError(format!("unknown option {}", self.current))
    }
}

/// The logging options the monitor and its children share: `-d/--debug-level LEVEL`,
/// `--debug-timestamps=0|1` and `--debug-microseconds=0|1` (each `None` when not given).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DebugArgs {
    /// `-d/--debug-level`: an old-style level or a bitmask.
    pub level: Option<u32>,
    /// `--debug-timestamps`.
    pub timestamps: Option<bool>,
    /// `--debug-microseconds`.
    pub microseconds: Option<bool>,
}

impl DebugArgs {
    /// Takes `opt` and its value from `a` when it is one of these options; whether it was.
    pub fn take(&mut self, opt: &str, a: &mut Args) -> Result<bool, UsageError> {
        match opt {
            "-d" | "--debug-level" => {
                let v = a.value()?;
                let level = crate::logging::parse_debug_level(&v)
                    .map_err(|e| UsageError(format!("{opt}: {e}")))?;
                self.level = Some(level);
            }
            "--debug-timestamps" | "--debug-microseconds" => {
                let v = a.value()?;
                let on = crate::logging::parse_flag(&v)
                    .ok_or_else(|| UsageError(format!("{opt}: expected 0 or 1, got {v:?}")))?;
                *(if opt == "--debug-timestamps" {
                    &mut self.timestamps
                } else {
                    &mut self.microseconds
                }) = Some(on);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Args {
        Args::new(v.iter().map(|s| s.to_string()))
    }

    #[test]
    fn splits_forms() {
        let mut a = args(&["--logger=files", "-d", "5", "-d7", "--domain", "LDAP", "-i"]);
        assert_eq!(a.next_option().as_deref(), Some("--logger"));
        assert_eq!(a.value().unwrap(), "files");
        assert_eq!(a.next_option().as_deref(), Some("-d"));
        assert_eq!(a.value().unwrap(), "5");
        assert_eq!(a.next_option().as_deref(), Some("-d"));
        assert_eq!(a.value().unwrap(), "7");
        assert_eq!(a.next_option().as_deref(), Some("--domain"));
        assert_eq!(a.value().unwrap(), "LDAP");
        assert_eq!(a.next_option().as_deref(), Some("-i"));
        assert!(a.no_value().is_ok());
        assert_eq!(a.next_option(), None);
    }

    #[test]
    fn missing_value_names_option() {
        let mut a = args(&["--config"]);
        a.next_option();
        assert_eq!(a.value().unwrap_err().0, "option --config needs a value");
    }
}
