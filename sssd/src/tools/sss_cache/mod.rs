//! `sss_cache`: marks cached objects expired so that the next lookup asks the directory
//! again, then clears the whole memory cache; compatible with SSSD 2.8's tool (options,
//! messages on stderr, exit codes).
//!
//! Steps, as SSSD's: `SYSTEMD_OFFLINE=1` → nothing, success; the command line (usage errors
//! exit 1); the caller must be root (exit 1); the domains of sssd.conf (none configured:
//! success, because shadow-utils runs `sss_cache` after every account change whether SSSD
//! is used or not; an unknown `-d` domain: exit 2); per domain, one write transaction on
//! its cache expiring what was selected; nothing matched anywhere: "No cache object matched
//! the specified search", exit 2; otherwise the memory-cache step (exit 5 if it fails).
//!
//! Exit codes: 0 success, 1 usage or not root, 2 (ENOENT) nothing matched or unknown
//! domain, 5 (EIO) the configuration, a cache or the memory cache could not be used.

pub mod args;
pub mod expire;
pub mod memcache;
pub mod separate;

use crate::cache::Cache;
use crate::config::DomainOptions;
use crate::paths::Paths;
use args::{Command, Request};
use std::path::Path;

/// Success.
pub const EXIT_OK: i32 = 0;
/// A usage error, or not run as root (SSSD: `EXIT_FAILURE`).
pub const EXIT_USAGE: i32 = 1;
/// Nothing matched, or the `-d` domain is unknown (SSSD: `ENOENT`).
pub const EXIT_NOT_FOUND: i32 = libc::ENOENT;
/// The configuration, a cache or the memory cache could not be used (SSSD: `EIO`).
pub const EXIT_IO: i32 = libc::EIO;

/// SSSD's message when no cached object matched.
pub const NO_MATCH: &str = "No cache object matched the specified search";
/// SSSD's message when `sssd_nss` did not confirm the memory-cache reset in time.
pub const MC_NOT_CONFIRMED: &str = "The memcache was not invalidated by NSS responder.";

/// The process's circumstances, passed in so that tests can set them.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// Where sssd.conf, the caches, the memory cache and the pidfile are.
    pub paths: &'a Paths,
    /// Where `/proc` is (to check the monitor's process name).
    pub proc_root: &'a Path,
    /// The real uid of the caller.
    pub uid: u32,
    /// How the program was called (`argv[0]`), for messages.
    pub program: &'a str,
    /// Whether `SYSTEMD_OFFLINE=1` is set (offline updates: do nothing).
    pub systemd_offline: bool,
    /// Pacing of the wait for `sssd_nss`.
    pub timing: memcache::Timing,
}

/// What the program prints and how it exits.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    /// The exit code.
    pub code: i32,
    /// Text for stdout.
    pub stdout: String,
    /// Text for stderr.
    pub stderr: String,
}

impl Outcome {
    fn line(&mut self, text: &str) {
        self.stderr.push_str(text);
        if !text.ends_with('\n') {
            self.stderr.push('\n');
        }
    }

    fn exit(mut self, code: i32) -> Outcome {
        self.code = code;
        self
    }
}

/// Diagnostics for `--debug`, in SSSD's tool format (`[program] [step] (0xBIT): text`).
struct Debug<'a> {
    mask: u32,
    program: &'a str,
}

/// SSSD's debug bit for failures worth a diagnostic line.
const DEBUG_CRIT: u32 = 0x0020;

impl Debug<'_> {
    fn log(&self, out: &mut Outcome, bit: u32, step: &str, text: &str) {
        if self.mask & bit != 0 {
            out.line(&format!(
                "[{}] [{step}] (0x{bit:04x}): {text}",
                self.program
            ));
        }
    }
}

/// Runs `sss_cache` with `args` (without the program name).
pub fn run(ctx: &Context<'_>, args: &[String]) -> Outcome {
    let mut out = Outcome::default();
    if ctx.systemd_offline {
        return out.exit(EXIT_OK);
    }
    let req = match args::parse(args) {
        Ok(Command::Expire(r)) => r,
        Ok(Command::Help) => {
            out.stdout = args::help();
            return out.exit(EXIT_OK);
        }
        Ok(Command::Usage) => {
            out.stdout = args::usage();
            return out.exit(EXIT_OK);
        }
        Err(args::UsageError(msg)) => {
            out.stderr = args::usage();
            out.line(&msg);
            return out.exit(EXIT_USAGE);
        }
    };
    let dbg = Debug {
        mask: req.debug.unwrap_or(0x0010),
        program: ctx.program,
    };
    if ctx.uid != 0 {
        dbg.log(
            &mut out,
            DEBUG_CRIT,
            "init",
            &format!("Running under {}, must be root", ctx.uid),
        );
        out.line(&format!("{} must be run as root", ctx.program));
        return out.exit(EXIT_USAGE);
    }
    let domains = match expire::configured_domains(ctx.paths) {
        Ok(Some(d)) => d,
        Ok(None) if req.domain.is_none() => {
            dbg.log(
                &mut out,
                expire::DEBUG_TRACE_FUNC,
                "init",
                "no domain is configured",
            );
            return out.exit(EXIT_OK);
        }
        Ok(None) => Vec::new(),
        Err(e) => {
            out.line("Could not open available domains");
            out.line(&e.to_string());
            return out.exit(EXIT_IO);
        }
    };
    let selected: Vec<_> = match &req.domain {
        None => domains.iter().collect(),
        Some(want) => match expire::find_domain(&domains, want) {
            Some(d) => vec![d],
            None => {
                out.line(&format!(
                    "Could not open domain {want}. If the domain is a subdomain (trusted \
                     domain), use fully qualified name instead of --domain/-d parameter."
                ));
                return out.exit(EXIT_NOT_FOUND);
            }
        },
    };
    let mut caches = Vec::with_capacity(selected.len());
    for d in &selected {
        match Cache::open_existing(&ctx.paths.db, &d.name) {
            Ok(c) => caches.push(c),
            Err(e) => {
                out.line("Could not open available domains");
                out.line(&e.to_string());
                return out.exit(EXIT_IO);
            }
        }
    }
    let matched = expire_all_domains(&mut out, &dbg, &selected, &caches, &domains, &req);
    if !matched {
        out.line(NO_MATCH);
        return out.exit(EXIT_NOT_FOUND);
    }
    match memcache::clear_all(ctx.paths, ctx.proc_root, ctx.timing) {
        Ok(memcache::Cleared::Here) => {
            dbg.log(
                &mut out,
                expire::DEBUG_TRACE_FUNC,
                "memcache",
                "maps recycled",
            );
        }
        Ok(memcache::Cleared::ByResponder) => {
            dbg.log(
                &mut out,
                expire::DEBUG_TRACE_FUNC,
                "memcache",
                "reset by sssd_nss",
            );
        }
        Ok(memcache::Cleared::NotConfirmed) => out.line(MC_NOT_CONFIRMED),
        Err(e) => {
            out.line(&format!("Failed to clear the memory cache: {e}"));
            return out.exit(EXIT_IO);
        }
    }
    out.exit(EXIT_OK)
}

/// Expires the selection in every selected domain; whether anything matched.
fn expire_all_domains(
    out: &mut Outcome,
    dbg: &Debug<'_>,
    selected: &[&DomainOptions],
    caches: &[Option<Cache>],
    all: &[DomainOptions],
    req: &Request,
) -> bool {
    let mut matched = false;
    for (d, cache) in selected.iter().zip(caches) {
        let report = expire::expire_in_domain(cache.as_ref(), d, all, req);
        for (bit, text) in &report.debug {
            dbg.log(out, *bit, "invalidate", text);
        }
        for e in &report.errors {
            out.line(e);
        }
        matched |= report.matched;
    }
    matched
}

#[cfg(test)]
mod tests;

/// The body of a tool's `main`: builds the [`Context`] of this process (system paths,
/// `/proc`, the real uid, `SYSTEMD_OFFLINE`), runs `run` on the arguments, prints the
/// outcome and exits with its code.
pub fn process_main(default_name: &str, run: fn(&Context<'_>, &[String]) -> Outcome) -> ! {
    use std::io::Write;
    let mut argv = std::env::args_os().map(|a| a.to_string_lossy().into_owned());
    let program = argv.next().unwrap_or_else(|| default_name.to_string());
    let args: Vec<String> = argv.collect();
    let paths = Paths::system();
    let ctx = Context {
        paths: &paths,
        proc_root: Path::new("/proc"),
        // SAFETY: getuid(2) cannot fail.
        uid: unsafe { libc::getuid() },
        program: &program,
        systemd_offline: std::env::var_os("SYSTEMD_OFFLINE").is_some_and(|v| v == "1"),
        timing: memcache::Timing::default(),
    };
    let out = run(&ctx, &args);
    let _ = std::io::stdout().write_all(out.stdout.as_bytes());
    let _ = std::io::stderr().write_all(out.stderr.as_bytes());
    std::process::exit(out.code);
}
