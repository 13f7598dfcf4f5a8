//! `sssctl`: the administrator's tool, SSSD's subcommands that apply to what this daemon
//! implements. So far: `config-check` (see [`crate::config::check`]), `domain-list` and
//! `cache-expire` (the options of `sss_cache`).

use super::sss_cache::{self, Context, Outcome};
use crate::config::Config;
use crate::config::check;
use std::path::PathBuf;

/// SSSD's exit code for success.
pub const EXIT_OK: i32 = 0;
/// SSSD's exit code for failure (and for an unusable command line).
pub const EXIT_FAILURE: i32 = 1;

/// The subcommands, as `sssctl --help` lists them.
const COMMANDS: &[(&str, &str)] = &[
    ("domain-list", "List available domains"),
    ("cache-expire", "Invalidate cached objects"),
    (
        "config-check",
        "Perform static analysis of SSSD configuration",
    ),
];

fn usage(program: &str) -> String {
    let mut out = format!("Usage:\n{program} COMMAND COMMAND-ARGS\n\nAvailable commands:\n");
    for (name, what) in COMMANDS {
        out.push_str(&format!("  {name:<20} {what}\n"));
    }
    out.push_str("\nHelp options:\n  -?, --help           Show this for a command\n");
    out
}

fn fail(stderr: String) -> Outcome {
    Outcome {
        code: EXIT_FAILURE,
        stdout: String::new(),
        stderr,
    }
}

/// Runs `sssctl ARGS` (without the program name) in `ctx`.
pub fn run(ctx: &Context<'_>, args: &[String]) -> Outcome {
    let Some((command, rest)) = args.split_first() else {
        return fail(usage(ctx.program));
    };
    match command.as_str() {
        "-?" | "--help" | "help" => Outcome {
            code: EXIT_OK,
            stdout: usage(ctx.program),
            stderr: String::new(),
        },
        "config-check" => config_check(ctx, rest),
        "domain-list" => domain_list(ctx, rest),
        "cache-expire" => sss_cache::run(ctx, rest),
        other => fail(format!(
            "Unknown command: {other}\n\n{}",
            usage(ctx.program)
        )),
    }
}

/// `config-check [-c FILE] [-s DIR]`: the snippet directory defaults to `conf.d` beside the
/// file. Exit 0 when nothing is wrong, 1 when there is an error.
fn config_check(ctx: &Context<'_>, args: &[String]) -> Outcome {
    let mut file: Option<PathBuf> = None;
    let mut snippets: Option<PathBuf> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        let slot = match flag {
            "-c" | "--config" => &mut file,
            "-s" | "--snippet" => &mut snippets,
            "-?" | "--help" => {
                return Outcome {
                    code: EXIT_OK,
                    stdout: format!(
                        "Usage: {} config-check [-c FILE] [-s DIR]\n  -c, --config=FILE   \
                         Specify a non-default config file\n  -s, --snippet=DIR   Specify a \
                         non-default snippet dir (default: conf.d beside the config file)\n",
                        ctx.program
                    ),
                    stderr: String::new(),
                };
            }
            _ => return fail(format!("config-check: unknown option {a}\n")),
        };
        match inline.or_else(|| it.next().cloned()) {
            Some(v) => *slot = Some(PathBuf::from(v)),
            None => return fail(format!("config-check: {flag} needs a value\n")),
        }
    }
    let file = file.unwrap_or_else(|| ctx.paths.config_file.clone());
    let snippets = snippets.unwrap_or_else(|| match file.parent() {
        Some(dir) => dir.join("conf.d"),
        None => PathBuf::from("conf.d"),
    });
    let report = check::check_files(&file, &snippets);
    Outcome {
        code: if report.has_errors() {
            EXIT_FAILURE
        } else {
            EXIT_OK
        },
        stdout: check::render(&report),
        stderr: String::new(),
    }
}

/// `domain-list`: the configured domains in lookup order, one per line; a domain the daemon
/// leaves out is marked with why.
fn domain_list(ctx: &Context<'_>, args: &[String]) -> Outcome {
    if let Some(a) = args.first() {
        return fail(format!("domain-list: unexpected argument {a}\n"));
    }
    let cfg = match Config::load(&ctx.paths.config_file, Some(&ctx.paths.config_snippets)) {
        Ok(c) => c,
        Err(e) => return fail(format!("Unable to read the configuration: {e}\n")),
    };
    let plan = match crate::domains::plan(&cfg) {
        Ok(p) => p,
        Err(e) => return fail(format!("{e}\n")),
    };
    let mut stdout = String::new();
    for name in cfg.domains().unwrap_or_default() {
        match plan.disabled.iter().find(|d| d.name == name) {
            None => stdout.push_str(&format!("{name}\n")),
            Some(d) => stdout.push_str(&format!("{name} (disabled: {})\n", d.error)),
        }
    }
    Outcome {
        code: EXIT_OK,
        stdout,
        stderr: String::new(),
    }
}
