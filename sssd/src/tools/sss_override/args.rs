//! The command line: the commands, their options, popt's help and usage texts, the
//! common options (`--debug`, `--help`, `--usage`) and popt-like parsing of the rest.

use super::{Res, Tool};
use crate::logging::{debug_level_to_mask, parse_debug_level};

/// The commands and the free argument each takes.
pub(super) const COMMANDS: [(&str, &str); 12] = [
    ("user-add", "NAME"),
    ("user-del", "NAME"),
    ("user-find", ""),
    ("user-show", "NAME"),
    ("user-import", "FILE"),
    ("user-export", "FILE"),
    ("group-add", "NAME"),
    ("group-del", "NAME"),
    ("group-find", ""),
    ("group-show", "NAME"),
    ("group-import", "FILE"),
    ("group-export", "FILE"),
];

/// SSSD's tools log fatal failures only unless `--debug` asks for more.
pub(super) const DEBUG_DEFAULT: u32 = 0x0010;

/// How a command's option takes its value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Value {
    Text,
    /// An id: 1 to 4294967295 (0 means "not overridden" and is refused, as SSSD's help
    /// says "non-zero value").
    Id,
}

/// One option a command takes.
pub(super) struct Opt {
    short: char,
    long: &'static str,
    value: Value,
}

const fn opt(short: char, long: &'static str, value: Value) -> Opt {
    Opt { short, long, value }
}

const USER_OPTS: [Opt; 7] = [
    opt('n', "name", Value::Text),
    opt('u', "uid", Value::Id),
    opt('g', "gid", Value::Id),
    opt('h', "home", Value::Text),
    opt('s', "shell", Value::Text),
    opt('c', "gecos", Value::Text),
    opt('x', "certificate", Value::Text),
];

const GROUP_OPTS: [Opt; 2] = [opt('n', "name", Value::Text), opt('g', "gid", Value::Id)];

const FIND_OPTS: [Opt; 1] = [opt('d', "domain", Value::Text)];

/// The options of command `cmd`.
pub(super) fn options(cmd: &str) -> &'static [Opt] {
    match cmd {
        "user-add" => &USER_OPTS,
        "group-add" => &GROUP_OPTS,
        "user-find" | "group-find" => &FIND_OPTS,
        _ => &[],
    }
}

/// Parsed command line of one command: options by long name, free arguments.
#[derive(Default)]
pub(super) struct Cmdline {
    pub opts: Vec<(&'static str, String)>,
    pub free: Vec<String>,
}

impl Cmdline {
    pub fn get(&self, long: &str) -> Option<&str> {
        self.opts
            .iter()
            .rev()
            .find(|(l, _)| *l == long)
            .map(|(_, v)| v.as_str())
    }

    /// An id option's value (0 when not given).
    pub fn num(&self, long: &str) -> u32 {
        self.get(long).and_then(|v| v.parse().ok()).unwrap_or(0)
    }
}

/// What the options every command shares ask for.
pub(super) enum Common {
    /// `-?` / `--help`: the command's option list on stdout.
    Help,
    /// `--usage`: the command's brief usage on stdout.
    Usage,
    /// Run the command: the `--debug` mask if given, and the other arguments.
    Run {
        debug: Option<u32>,
        rest: Vec<String>,
    },
}

/// Takes SSSD's common options out of `args` (the command's arguments); an error is
/// `OPTION: reason` for popt's "Invalid option" message.
pub(super) fn common(args: &[String]) -> Result<Common, String> {
    let mut debug = None;
    let mut rest = Vec::with_capacity(args.len());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let level = match a.as_str() {
            "-?" | "--help" => return Ok(Common::Help),
            "--usage" => return Ok(Common::Usage),
            "--debug" => match it.next() {
                Some(v) => v.as_str(),
                None => return Err(format!("{a}: missing argument")),
            },
            _ => match a.strip_prefix("--debug=") {
                Some(v) => v,
                None => {
                    rest.push(a.clone());
                    continue;
                }
            },
        };
        let level = parse_debug_level(level).map_err(|_| format!("{a}: invalid numeric value"))?;
        debug = Some(debug_level_to_mask(level));
    }
    Ok(Common::Run { debug, rest })
}

/// The first line of a command's help and usage: `PROGRAM COMMAND [FREE ][OPTIONS...]`.
fn synopsis(program: &str, cmd: &str, free: &str) -> String {
    if free.is_empty() {
        format!("{program} {cmd} [OPTIONS...]")
    } else {
        format!("{program} {cmd} {free} [OPTIONS...]")
    }
}

fn arg_name(o: &Opt) -> &'static str {
    match o.value {
        Value::Id => "INT",
        Value::Text => "STRING",
    }
}

/// The command's option list (`--help`, and after every usage error).
pub(super) fn command_help(program: &str, cmd: &str, free: &str, opts: &[Opt]) -> String {
    let mut s = format!("Usage: {}\n", synopsis(program, cmd, free));
    for o in opts {
        s.push_str(&format!("  -{}, --{}={}\n", o.short, o.long, arg_name(o)));
    }
    s.push_str("\nHelp options:\n  -?, --help     Show this help message\n");
    s.push_str("      --usage    Display brief usage message\n");
    s
}

/// The command's brief usage (`--usage`), laid out as popt's `poptPrintUsage`: the short
/// flags, every option, the help options, then the synopsis.
pub(super) fn command_usage(program: &str, cmd: &str, free: &str, opts: &[Opt]) -> String {
    let mut items = vec!["[-?]".to_string()];
    for o in opts {
        items.push(format!("[-{}|--{}={}]", o.short, o.long, arg_name(o)));
    }
    items.push("[-?|--help]".into());
    items.push("[--usage]".into());
    items.push(synopsis(program, cmd, free));
    super::super::common::popt_usage("Usage:", &items)
}

/// Checks an id option's value: a number from 1 to 4294967295; the reason otherwise.
fn check_id(value: &str) -> Result<(), &'static str> {
    let t = value.trim();
    if t.is_empty()
        || !t
            .trim_start_matches(['-', '+'])
            .bytes()
            .all(|b| b.is_ascii_digit())
    {
        return Err("invalid numeric value");
    }
    match t.parse::<u32>() {
        Ok(0) => Err("invalid numeric value"),
        Ok(_) => Ok(()),
        Err(_) => Err("number too large or too small"),
    }
}

impl Tool<'_> {
    /// The tool's usage (no command, or an unknown one).
    pub(super) fn usage(&mut self) {
        let p = self.ctx.program.to_string();
        self.err(&format!(
            "Usage:\n{p} COMMAND COMMAND-ARGS\n\nAvailable commands:\n"
        ));
        for (c, _) in COMMANDS {
            self.err(&format!("* {c:<12}\t \n"));
        }
        self.err(
            "\nHelp options:\n  -?, --help    \t Show this for a command\n  \
             --usage       \t Show brief usage message for a command\n",
        );
    }

    /// popt-like parsing: `-xVAL`, `-x VAL`, `--long=VAL`, `--long VAL`, free arguments.
    pub(super) fn parse(
        &mut self,
        cmd: &str,
        free: &str,
        opts: &[Opt],
        args: &[String],
    ) -> Res<Cmdline> {
        let help = command_help(self.ctx.program, cmd, free, opts);
        let mut line = Cmdline::default();
        let mut i = 0;
        while i < args.len() {
            let a = &args[i];
            i += 1;
            let (opt, inline) = if let Some(l) = a.strip_prefix("--").filter(|l| !l.is_empty()) {
                let (l, v) = match l.split_once('=') {
                    Some((l, v)) => (l, Some(v.to_string())),
                    None => (l, None),
                };
                (opts.iter().find(|o| o.long == l), v)
            } else if let Some(s) = a.strip_prefix('-').filter(|s| !s.is_empty()) {
                let mut ch = s.chars();
                let c = ch.next();
                let v: String = ch.collect();
                (
                    opts.iter().find(|o| Some(o.short) == c),
                    (!v.is_empty()).then_some(v),
                )
            } else {
                line.free.push(a.clone());
                continue;
            };
            let Some(opt) = opt else {
                return self.fail(&format!("Invalid option {a}: unknown option\n\n{help}"));
            };
            let value = match inline {
                Some(v) => v,
                None if i < args.len() => {
                    i += 1;
                    args[i - 1].clone()
                }
                None => {
                    return self.fail(&format!("Invalid option {a}: missing argument\n\n{help}"));
                }
            };
            if opt.value == Value::Id
                && let Err(why) = check_id(&value)
            {
                return self.fail(&format!("Invalid option {a}: {why}\n\n{help}"));
            }
            line.opts
                .push((opt.long, value.trim().trim_start_matches('+').to_string()));
        }
        self.check_free(cmd, free, &line, &help)?;
        if cmd.ends_with("-add") && line.opts.is_empty() {
            return self.fail(&format!("At least one option is required!\n\n{help}"));
        }
        Ok(line)
    }

    /// The free argument: required and single where the command takes one, else none.
    fn check_free(&mut self, cmd: &str, free: &str, line: &Cmdline, help: &str) -> Res<()> {
        if free.is_empty() {
            if let Some(f) = line.free.first() {
                return self.fail(&format!("Unexpected parameter: {f}\n\n{help}"));
            }
            return Ok(());
        }
        if line.free.is_empty() {
            let what = match free {
                "NAME" => "Specify name.",
                _ if cmd.ends_with("import") => "File to import the data from.",
                _ => "File to export the data to.",
            };
            return self.fail(&format!("Missing option: {what}\n\n{help}"));
        }
        if line.free.len() > 1 {
            return self.fail(&format!("Only one free argument is expected!\n\n{help}"));
        }
        Ok(())
    }
}
