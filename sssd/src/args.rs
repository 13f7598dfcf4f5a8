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
