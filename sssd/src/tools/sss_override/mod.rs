//! `sss_override`: local overrides of user and group attributes, as SSSD 2.8's tool
//! (commands, options, the colon-separated import/export format, messages on stderr, exit
//! 1 on any failure). The overrides live in their own store ([`crate::overrides`]), which
//! the responders apply on the next lookup; every change also clears the memory cache (as
//! `sss_cache -E` does) so that no client keeps an old answer. Certificates (`-x`) are not
//! supported.
//!
//! An object is found as SSSD's tool finds it: `getpwnam`/`getgrnam` through NSS first
//! (which makes the daemon fetch it into its cache), then the domain caches in order.
//!
//! The rooms: [`args`] reads the command line, [`store`] finds objects and reads and
//! writes the override store, [`commands`] does what each command asks.

mod args;
mod commands;
mod store;

use super::sss_cache::{Context, Outcome};
use crate::config::DomainOptions;
use args::{COMMANDS, Common};

/// A failure: the message (already printed into the outcome) and exit 1.
struct Failed;

type Res<T> = Result<T, Failed>;

/// SSSD's debug bit for critical failures (`SSSDBG_CRIT_FAILURE`).
const DEBUG_CRIT: u32 = 0x0020;
/// SSSD's debug bit for function traces (`SSSDBG_TRACE_FUNC`).
const DEBUG_TRACE_FUNC: u32 = 0x0400;

/// The tool's state while a command runs.
struct Tool<'a> {
    ctx: &'a Context<'a>,
    out: Outcome,
    domains: Vec<DomainOptions>,
    /// The debug mask (`--debug LEVEL`; SSSD's tools default to fatal failures only).
    debug: u32,
}

/// Whether a user or a group.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    User,
    Group,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Group => "group",
        }
    }
}

/// Runs `sss_override` with `args` (without the program name).
pub fn run(ctx: &Context<'_>, args: &[String]) -> Outcome {
    let mut tool = Tool {
        ctx,
        out: Outcome::default(),
        domains: Vec::new(),
        debug: args::DEBUG_DEFAULT,
    };
    let code = match tool.main(args) {
        Ok(()) => 0,
        Err(Failed) => 1,
    };
    let mut out = tool.out;
    out.code = code;
    out
}

impl Tool<'_> {
    fn err(&mut self, text: &str) {
        self.out.stderr.push_str(text);
    }

    fn fail<T>(&mut self, text: &str) -> Res<T> {
        self.err(text);
        Err(Failed)
    }

    /// A diagnostic line on stderr when `bit` is in the debug mask, in SSSD's tool layout
    /// (`[program] [function] (0xBIT): text`).
    fn debug(&mut self, bit: u32, function: &str, text: &str) {
        if self.debug & bit != 0 {
            let line = format!(
                "[{}] [{function}] (0x{bit:04x}): {text}\n",
                self.ctx.program
            );
            self.err(&line);
        }
    }

    fn main(&mut self, args: &[String]) -> Res<()> {
        let Some(cmd) = args.first() else {
            self.usage();
            return Err(Failed);
        };
        let Some(&(cmd, free)) = COMMANDS.iter().find(|(c, _)| c == cmd) else {
            self.usage();
            return Err(Failed);
        };
        let opts = args::options(cmd);
        let rest = match args::common(&args[1..]) {
            Ok(Common::Help) => {
                self.out.stdout = args::command_help(self.ctx.program, cmd, free, opts);
                return Ok(());
            }
            Ok(Common::Usage) => {
                self.out.stdout = args::command_usage(self.ctx.program, cmd, free, opts);
                return Ok(());
            }
            Ok(Common::Run { debug, rest }) => {
                if let Some(mask) = debug {
                    self.debug = mask;
                }
                rest
            }
            Err(e) => {
                let help = args::command_help(self.ctx.program, cmd, free, opts);
                return self.fail(&format!("Invalid option {e}\n\n{help}"));
            }
        };
        if self.ctx.uid != 0 {
            self.debug(
                DEBUG_CRIT,
                "sss_tool_main",
                &format!("Running under {}, must be root", self.ctx.uid),
            );
            return self.fail(&format!("'{cmd}' must be run as root\n"));
        }
        match super::sss_cache::expire::configured_domains(self.ctx.paths) {
            Ok(d) => self.domains = d.unwrap_or_default(),
            Err(e) => return self.fail(&format!("Unable to read the configuration: {e}\n")),
        }
        let line = self.parse(cmd, free, opts, &rest)?;
        let kind = if cmd.starts_with("user") {
            Kind::User
        } else {
            Kind::Group
        };
        let verb = cmd.split_once('-').map_or("", |(_, v)| v);
        match verb {
            "add" => self.add(kind, &line),
            "del" => self.del(kind, &line.free[0]),
            "find" => self.find(kind, line.get("domain")),
            "show" => self.show(kind, &line.free[0]),
            "import" => self.import(kind, &line.free[0]),
            _ => self.export(kind, &line.free[0]),
        }
    }
}

#[cfg(test)]
mod tests;
