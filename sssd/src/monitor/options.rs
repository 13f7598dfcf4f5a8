//! The monitor's command line.

use crate::args::{Args, DebugArgs, UsageError};
use crate::logging::Logger;
use crate::paths::Paths;
use crate::privilege::user::RunAs;
use crate::service::parse_logger;
use std::path::PathBuf;

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run the monitor.
    Run(Box<MonitorOptions>),
    /// `--version`: print the version and exit.
    Version,
    /// `-h/--help`: print the usage and exit.
    Help,
}

/// Options of a monitor run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorOptions {
    /// `-i/--interactive`: stay in the foreground, log to stderr by default.
    pub interactive: bool,
    /// `-D/--daemon`: fork into the background.
    pub daemon: bool,
    /// `-c/--config FILE`.
    pub config_file: PathBuf,
    /// `-d/--debug-level N`, when given (passed on to every child).
    pub debug_level: Option<u32>,
    /// `--logger`: given, or stderr with `-i`, files otherwise.
    pub logger: Logger,
    /// Where everything lives.
    pub paths: Paths,
    /// `[sssd] user` (from the configuration, not the command line): the user the children
    /// run as; `None` keeps them root.
    pub run_as: Option<RunAs>,
    /// `--debug-timestamps=0|1`, when given (passed on to every child).
    pub debug_timestamps: Option<bool>,
    /// `--debug-microseconds=0|1`, when given (passed on to every child).
    pub debug_microseconds: Option<bool>,
}

/// Short usage text.
pub const USAGE: &str = "Usage: sssd [-i|--interactive] [-D|--daemon] [-c|--config FILE] \
[-d|--debug-level LEVEL] [--debug-timestamps=0|1] [--debug-microseconds=0|1] \
[--logger=stderr|files|journald] [--version]";

/// Parses the monitor's arguments (without the program name).
pub fn parse<I: IntoIterator<Item = String>>(args: I, paths: Paths) -> Result<Command, UsageError> {
    let mut a = Args::new(args);
    let mut interactive = false;
    let mut daemon = false;
    let mut config_file = paths.config_file.clone();
    let mut logger = None;
    let mut debug = DebugArgs::default();
    while let Some(opt) = a.next_option() {
        match opt.as_str() {
            o if debug.take(o, &mut a)? => {}
            "-i" | "--interactive" => {
                a.no_value()?;
                interactive = true;
            }
            "-D" | "--daemon" => {
                a.no_value()?;
                daemon = true;
            }
            "-c" | "--config" => config_file = PathBuf::from(a.value()?),
            "--logger" => logger = Some(parse_logger(&a.value()?, &paths)?),
            "--version" => return Ok(Command::Version),
            "-h" | "--help" | "-?" => return Ok(Command::Help),
            _ => return Err(a.unknown()),
        }
    }
    if interactive && daemon {
        return Err(UsageError(
            "-i/--interactive and -D/--daemon exclude each other".into(),
        ));
    }
    let logger = logger.unwrap_or_else(|| {
        if interactive {
            Logger::Stderr
        } else {
            Logger::Files(paths.log.clone())
        }
    });
    Ok(Command::Run(Box::new(MonitorOptions {
        interactive,
        daemon,
        config_file,
        debug_level: debug.level,
        logger,
        paths,
        run_as: None,
        debug_timestamps: debug.timestamps,
        debug_microseconds: debug.microseconds,
    })))
}

impl MonitorOptions {
    /// The `--logger=...` argument passed to children.
    pub fn logger_arg(&self) -> &'static str {
        match self.logger {
            Logger::Stderr => "--logger=stderr",
            Logger::Files(_) => "--logger=files",
            Logger::Journald => "--logger=journald",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn run(v: &[&str]) -> Result<MonitorOptions, UsageError> {
        match parse(
            v.iter().map(|s| s.to_string()),
            Paths::under(Path::new("/r")),
        )? {
            Command::Run(o) => Ok(*o),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn logger_defaults_follow_mode() {
        assert_eq!(run(&["-i"]).unwrap().logger, Logger::Stderr);
        let d = run(&["-D"]).unwrap();
        assert!(d.daemon);
        assert_eq!(d.logger, Logger::Files(PathBuf::from("/r/var/log/sssd")));
        assert_eq!(d.logger_arg(), "--logger=files");
        assert_eq!(
            run(&["-D", "--logger=stderr"]).unwrap().logger,
            Logger::Stderr
        );
    }

    #[test]
    fn options_parse() {
        let o = run(&["-i", "-c", "/a.conf", "--debug-level=9"]).unwrap();
        assert_eq!(o.config_file, PathBuf::from("/a.conf"));
        assert_eq!(o.debug_level, Some(9));
        assert_eq!(
            run(&[]).unwrap().config_file,
            PathBuf::from("/r/etc/sssd/sssd.conf")
        );
        assert!(run(&["-i", "-D"]).is_err());
        assert!(run(&["-x"]).unwrap_err().0.contains("-x"));
        assert_eq!(
            parse(["--version".to_string()], Paths::system()),
            Ok(Command::Version)
        );
    }
}
