//! `sssctl`: the administrator's tool, SSSD's subcommands that apply to what this daemon
//! implements: `config-check` (see [`crate::config::check`]), `domain-list`, `domain-status`
//! and `debug-level` (asked of the running processes over the private bus), `user-show` and
//! `group-show` (read from the cache), `cache-expire` (the options of `sss_cache`),
//! `logs-remove`, `logs-fetch` and `analyze` (see [`super::analyze`]).

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
    ("domain-status", "Print information about domain"),
    (
        "user-checks",
        "Print information about a user and check authentication",
    ),
    ("user-show", "Information about cached user"),
    ("group-show", "Information about cached group"),
    (
        "cache-remove",
        "Backup local data and remove cached content",
    ),
    ("cache-expire", "Invalidate cached objects"),
    ("client-data-backup", "Backup local data"),
    ("client-data-restore", "Restore local data from backup"),
    ("logs-remove", "Remove existing SSSD log files"),
    ("logs-fetch", "Archive SSSD log files in tarball"),
    (
        "debug-level",
        "Change or print information about SSSD debug level",
    ),
    ("analyze", "Analyze logged data"),
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

/// A failed command with `stderr` as its message.
pub(super) fn fail(stderr: String) -> Outcome {
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
        "domain-status" => domain_status(ctx, rest),
        "user-checks" => super::user_checks::run(rest),
        "user-show" => cache_show(ctx, rest, Object::User),
        "group-show" => cache_show(ctx, rest, Object::Group),
        "cache-expire" => sss_cache::run(ctx, rest),
        "cache-remove" => super::client_data::cache_remove(ctx, rest),
        "client-data-backup" => super::client_data::client_data_backup(ctx, rest),
        "client-data-restore" => super::client_data::client_data_restore(ctx, rest),
        "debug-level" => debug_level(ctx, rest),
        "logs-remove" => logs_remove(ctx, rest),
        "logs-fetch" => logs_fetch(ctx, rest),
        "analyze" => super::analyze::run(ctx, rest),
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
    let cfg = match load_config(ctx) {
        Ok(c) => c,
        Err(out) => return out,
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

/// What `domain-status` shows.
#[derive(Debug, Default, Clone, Copy)]
struct StatusParts {
    online: bool,
    active: bool,
    servers: bool,
}

/// `domain-status DOMAIN [--online] [--active-server] [--servers]` (all three without a
/// flag), asked of the domain's backend.
fn domain_status(ctx: &Context<'_>, args: &[String]) -> Outcome {
    let mut parts = StatusParts::default();
    let mut domain = None;
    for a in args {
        match a.as_str() {
            "-o" | "--online" => parts.online = true,
            "-a" | "--active-server" => parts.active = true,
            "-r" | "--servers" => parts.servers = true,
            f if f.starts_with('-') => return fail(format!("domain-status: unknown option {f}\n")),
            d if domain.is_none() => domain = Some(d.to_string()),
            d => return fail(format!("domain-status: unexpected argument {d}\n")),
        }
    }
    let Some(domain) = domain else {
        return fail("domain-status: specify the domain name\n".into());
    };
    if !(parts.online || parts.active || parts.servers) {
        parts = StatusParts {
            online: true,
            active: true,
            servers: true,
        };
    }
    let cfg = match load_config(ctx) {
        Ok(c) => c,
        Err(out) => return out,
    };
    let Some(name) = cfg
        .domains()
        .unwrap_or_default()
        .into_iter()
        .find(|d| d.eq_ignore_ascii_case(&domain))
    else {
        return fail(format!("Unknown domain: {domain}\n"));
    };
    if let Ok(plan) = crate::domains::plan(&cfg)
        && let Some(d) = plan.disabled.iter().find(|d| d.name == name)
    {
        return fail(format!(
            "Domain {name} is disabled: {}\nsssd does not serve it until its configuration is fixed.\n",
            d.error
        ));
    }
    block_on(status_of(ctx, &name, parts))
}

/// How long the backend may take to answer one question.
const STATUS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

async fn status_of(ctx: &Context<'_>, domain: &str, parts: StatusParts) -> Outcome {
    use crate::sbus::failover;
    let me = format!("sssd.sssctl.p{}", std::process::id());
    let Ok(bus) = crate::sbus::connect(ctx.paths, &me).await else {
        return fail("SSSD is not running.\n".into());
    };
    let dest = crate::sbus::domain_bus_name(domain);
    let not_running = |e: crate::sbus::SbusError| {
        fail(format!(
            "The backend of domain {domain} does not answer: {e}\n"
        ))
    };
    let mut out = String::new();
    if parts.online {
        match failover::is_online(&bus, &dest, STATUS_TIMEOUT).await {
            Ok(online) => out.push_str(&format!(
                "Online status: {}\n\n",
                if online { "Online" } else { "Offline" }
            )),
            Err(e) => return not_running(e),
        }
    }
    let mut services = Vec::new();
    for service in ["LDAP", "KERBEROS"] {
        match failover::list_servers(&bus, &dest, service, STATUS_TIMEOUT).await {
            Ok(list) if !list.is_empty() => services.push((service, list)),
            Ok(_) => {}
            Err(e) => return not_running(e),
        }
    }
    if parts.active {
        if services.is_empty() {
            out.push_str("This domain has no active servers.\n");
        } else {
            out.push_str("Active servers:\n");
            for (service, _) in &services {
                let server =
                    match failover::active_server(&bus, &dest, service, STATUS_TIMEOUT).await {
                        Ok(s) if !s.is_empty() => s,
                        Ok(_) => "not connected".to_string(),
                        Err(e) => return not_running(e),
                    };
                out.push_str(&format!("{service}: {server}\n"));
            }
        }
        out.push('\n');
    }
    if parts.servers {
        if services.is_empty() {
            out.push_str("No servers discovered.\n");
        }
        for (service, list) in &services {
            out.push_str(&format!("Discovered {service} servers:\n"));
            for (server, state) in list {
                out.push_str(&format!("- {server} ({state})\n"));
            }
            out.push('\n');
        }
    }
    Outcome {
        code: EXIT_OK,
        stdout: out,
        stderr: String::new(),
    }
}

/// What `user-show` / `group-show` look up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Object {
    User,
    Group,
}

/// A time as SSSD's tool prints it (`strftime("%x %X")` in local time).
fn local_time(ts: i64) -> String {
    let t = ts as libc::time_t;
    // SAFETY: `tm` is written by localtime_r before it is read; the buffer is large enough
    // and strftime never writes past the length it is given.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return ts.to_string();
        }
        let mut buf = [0u8; 64];
        let n = libc::strftime(buf.as_mut_ptr().cast(), buf.len(), c"%x %X".as_ptr(), &tm);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}

/// An expiry as SSSD's tool prints it: `Expired` once past.
fn expiry(ts: i64, now: i64) -> String {
    if ts <= now {
        "Expired".to_string()
    } else {
        local_time(ts)
    }
}

/// `user-show NAME [-u]`, `group-show NAME [-g]`: what the cache holds for the object, in
/// every domain with a cache (or the one of `NAME@DOMAIN`).
fn cache_show(ctx: &Context<'_>, args: &[String], what: Object) -> Outcome {
    let mut by_id = false;
    let mut value = None;
    for a in args {
        match a.as_str() {
            "-u" | "--uid" if what == Object::User => by_id = true,
            "-g" | "--gid" if what == Object::Group => by_id = true,
            f if f.starts_with('-') => return fail(format!("unknown option {f}\n")),
            v if value.is_none() => value = Some(v.to_string()),
            v => return fail(format!("unexpected argument {v}\n")),
        }
    }
    let Some(value) = value else {
        return fail("Specify name.\n".into());
    };
    let cfg = match load_config(ctx) {
        Ok(c) => c,
        Err(out) => return out,
    };
    let domains = cfg.domains().unwrap_or_default();
    let (name, only) = match value.rsplit_once('@') {
        Some((n, d)) if !by_id && domains.iter().any(|x| x.eq_ignore_ascii_case(d)) => {
            (n.to_string(), Some(d.to_string()))
        }
        _ => (value.clone(), None),
    };
    let id: Option<u32> = if by_id {
        match name.parse() {
            Ok(id) => Some(id),
            Err(_) => return fail(format!("{name} is not a number\n")),
        }
    } else {
        None
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    for domain in &domains {
        if only
            .as_ref()
            .is_some_and(|d| !d.eq_ignore_ascii_case(domain))
        {
            continue;
        }
        if !ctx.paths.db.join(format!("cache_{domain}")).is_dir() {
            continue;
        }
        let cache = match crate::cache::Cache::open(&ctx.paths.db, domain) {
            Ok(c) => c,
            Err(e) => return fail(format!("cache of domain {domain}: {e}\n")),
        };
        let shown = match what {
            Object::User => show_user(&cache, domain, &name, id, now),
            Object::Group => show_group(&cache, domain, &name, id, now),
        };
        match shown {
            Ok(Some(text)) => {
                return Outcome {
                    code: EXIT_OK,
                    stdout: text,
                    stderr: String::new(),
                };
            }
            Ok(None) => {}
            Err(e) => return fail(format!("cache of domain {domain}: {e}\n")),
        }
    }
    let kind = match what {
        Object::User => "User",
        Object::Group => "Group",
    };
    fail(format!("{kind} {value} is not present in cache.\n"))
}

fn show_user(
    cache: &crate::cache::Cache,
    domain: &str,
    name: &str,
    uid: Option<u32>,
    now: i64,
) -> Result<Option<String>, crate::cache::CacheError> {
    let found = match uid {
        Some(uid) => cache.user_by_uid(uid)?,
        None => match cache.user_by_name(name)? {
            Some(u) => Some(u),
            None => cache.user_by_name(&name.to_lowercase())?,
        },
    };
    let Some(c) = found else { return Ok(None) };
    let u = &c.value;
    let initgroups = match cache.initgroups(&u.name)? {
        Some(i) => expiry(i.expire, now),
        None => "Not cached".to_string(),
    };
    let mut out = format!(
        "Name: {}\nCache entry last update time: {}\nCache entry expiration time: {}\n\
         Initgroups expiration time: {initgroups}\nDomain: {domain}\nUID: {}\nGID: {}\n\
         Home directory: {}\nShell: {}\n",
        u.name,
        local_time(c.last_update),
        expiry(c.expire, now),
        u.uid,
        u.gid,
        u.home,
        u.shell
    );
    if let Some(p) = &u.upn {
        out.push_str(&format!("Principal: {p}\n"));
    }
    for m in &u.emails {
        out.push_str(&format!("E-mail: {m}\n"));
    }
    Ok(Some(out))
}

fn show_group(
    cache: &crate::cache::Cache,
    domain: &str,
    name: &str,
    gid: Option<u32>,
    now: i64,
) -> Result<Option<String>, crate::cache::CacheError> {
    let found = match gid {
        Some(gid) => cache.group_by_gid(gid)?,
        None => match cache.group_by_name(name)? {
            Some(g) => Some(g),
            None => cache.group_by_name(&name.to_lowercase())?,
        },
    };
    let Some(c) = found else { return Ok(None) };
    let g = &c.value;
    Ok(Some(format!(
        "Name: {}\nCache entry last update time: {}\nCache entry expiration time: {}\n\
         Domain: {domain}\nGID: {}\nMembers: {}\n",
        g.name,
        local_time(c.last_update),
        expiry(c.expire, now),
        g.gid,
        g.members.join(", ")
    )))
}

/// The processes `debug-level` can name besides domains (`--sssd` is the monitor, `--nss`
/// and so on the responders).
const SERVICE_TARGETS: [&str; 6] = ["sssd", "nss", "pam", "sudo", "ssh", "autofs"];

/// `debug-level [LEVEL] [--domain=NAME]... [--sssd] [--nss] [--pam] [--sudo] [--ssh]
/// [--autofs]`: prints the level of each running process, or sets LEVEL (0-10 or a bit mask)
/// in them without a restart. Without a target, in SSSD's order: the monitor, every
/// responder of `[sssd] services`, then every domain's backend.
fn debug_level(ctx: &Context<'_>, args: &[String]) -> Outcome {
    let mut targets: Vec<String> = Vec::new();
    let mut level = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if let Some(d) = a.strip_prefix("--domain=") {
            targets.push(format!("domain/{d}"));
        } else if a == "--domain" {
            match it.next() {
                Some(d) => targets.push(format!("domain/{d}")),
                None => return fail("debug-level: --domain needs a name\n".into()),
            }
        } else if let Some(r) = a.strip_prefix("--").filter(|r| SERVICE_TARGETS.contains(r)) {
            targets.push(r.to_string());
        } else if a.starts_with('-') {
            return fail(format!("debug-level: unknown option {a}\n"));
        } else if level.is_none() {
            match crate::logging::parse_debug_level(a) {
                Ok(l) => level = Some(l),
                Err(e) => return fail(format!("debug-level: {e}\n")),
            }
        } else {
            return fail(format!("debug-level: unexpected argument {a}\n"));
        }
    }
    // SSSD's order: the monitor and responders first, then the domains.
    targets.sort_by_key(|t| t.starts_with("domain/"));
    let all = targets.is_empty();
    if all {
        let cfg = match load_config(ctx) {
            Ok(c) => c,
            Err(out) => return out,
        };
        targets.push("sssd".to_string());
        for s in cfg.services() {
            if SERVICE_TARGETS.contains(&s.as_str()) && s != "sssd" {
                targets.push(s);
            }
        }
        for d in crate::domains::plan(&cfg)
            .map(|p| p.usable)
            .unwrap_or_default()
        {
            targets.push(format!("domain/{d}"));
        }
    }
    block_on(debug_level_of(ctx, &targets, level, all))
}

/// `%#.4x` as C prints it (no `0x` for zero).
fn hex_level(v: u32) -> String {
    if v == 0 {
        "0000".to_string()
    } else {
        format!("{v:#06x}")
    }
}

async fn debug_level_of(
    ctx: &Context<'_>,
    targets: &[String],
    level: Option<u32>,
    all: bool,
) -> Outcome {
    let me = format!("sssd.sssctl.p{}", std::process::id());
    let Ok(bus) = crate::sbus::connect(ctx.paths, &me).await else {
        return fail("SSSD is not running.\n".into());
    };
    let mut out = String::new();
    let mut code = EXIT_OK;
    for t in targets {
        let dest = match t.strip_prefix("domain/") {
            Some(d) => crate::sbus::domain_bus_name(d),
            None if t == "sssd" => crate::sbus::MONITOR_NAME.to_string(),
            None => format!("sssd.{t}"),
        };
        let unreachable = if t.starts_with("domain/") {
            "Unknown domain"
        } else {
            "Unreachable service"
        };
        let result = match level {
            None => crate::sbus::get_debug_level(&bus, &dest, STATUS_TIMEOUT)
                .await
                .map(|v| format!("{t:<25} {}\n", hex_level(v))),
            Some(l) => crate::sbus::set_debug_level(&bus, &dest, l, STATUS_TIMEOUT)
                .await
                .map(|_| String::new()),
        };
        match result {
            Ok(line) => out.push_str(&line),
            // As SSSD's tool: a process that is not running is reported only when named.
            Err(_) if all => {}
            Err(_) => {
                out.push_str(&format!("{t:<25} {unreachable}\n"));
                code = EXIT_FAILURE;
            }
        }
    }
    Outcome {
        code,
        stdout: out,
        stderr: String::new(),
    }
}

/// The `*.log` files of the log directory, in name order.
fn log_files(ctx: &Context<'_>) -> Result<Vec<PathBuf>, String> {
    let dir = &ctx.paths.log;
    let rd = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "log") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// `logs-remove [--delete]`: empties every log file (the processes keep appending to
/// them); with `--delete`, removes them and has the monitor reopen its children's logs
/// (SIGHUP).
fn logs_remove(ctx: &Context<'_>, args: &[String]) -> Outcome {
    let mut delete = false;
    for a in args {
        match a.as_str() {
            "-d" | "--delete" => delete = true,
            other => return fail(format!("logs-remove: unexpected argument {other}\n")),
        }
    }
    let files = match log_files(ctx) {
        Ok(f) => f,
        Err(e) => return fail(format!("Unable to list the log files: {e}\n")),
    };
    let mut out = String::new();
    if delete {
        out.push_str("Deleting log files...\n");
        for f in &files {
            if let Err(e) = std::fs::remove_file(f) {
                return fail(format!(
                    "{out}Unable to remove log files: {}: {e}\n",
                    f.display()
                ));
            }
        }
        // Running processes write to the files they have open until told to reopen them.
        super::common::hup_monitor(ctx.paths, ctx.proc_root);
    } else {
        out.push_str("Truncating log files...\n");
        for f in &files {
            let r = std::fs::OpenOptions::new()
                .write(true)
                .open(f)
                .and_then(|h| h.set_len(0));
            if let Err(e) = r {
                return fail(format!(
                    "{out}Unable to truncate log files: {}: {e}\n",
                    f.display()
                ));
            }
        }
    }
    Outcome {
        code: EXIT_OK,
        stdout: out,
        stderr: String::new(),
    }
}

/// `logs-fetch FILE`: a gzip-compressed tarball of the log files (with `tar`).
fn logs_fetch(ctx: &Context<'_>, args: &[String]) -> Outcome {
    let [file] = args else {
        return fail("logs-fetch: specify the output file\n".into());
    };
    let files = match log_files(ctx) {
        Ok(f) => f,
        Err(e) => return fail(format!("Unable to list the log files: {e}\n")),
    };
    let mut out = format!("Archiving log files into {file}...\n");
    let status = std::process::Command::new("tar")
        .arg("-czf")
        .arg(file)
        .arg("-C")
        .arg("/")
        .args(files.iter().map(|f| f.strip_prefix("/").unwrap_or(f)))
        .status();
    match status {
        Ok(s) if s.success() => Outcome {
            code: EXIT_OK,
            stdout: out,
            stderr: String::new(),
        },
        Ok(s) => {
            out.push_str(&format!(
                "Unable to archive log files: tar exited with {s}\n"
            ));
            fail(out)
        }
        Err(e) => {
            out.push_str(&format!("Unable to archive log files: tar: {e}\n"));
            fail(out)
        }
    }
}

/// The configuration as the daemon reads it, or the outcome saying why it cannot be read.
fn load_config(ctx: &Context<'_>) -> Result<Config, Outcome> {
    Config::load(&ctx.paths.config_file, Some(&ctx.paths.config_snippets))
        .map_err(|e| fail(format!("Unable to read the configuration: {e}\n")))
}

/// Runs `fut` (a question to the running daemon) on a runtime of this thread.
fn block_on(fut: impl std::future::Future<Output = Outcome>) -> Outcome {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r.block_on(fut),
        Err(e) => fail(format!("cannot start the async runtime: {e}\n")),
    }
}
