//! `sssd`: the monitor. Reads the configuration, hosts the private bus, starts and supervises
//! the backends and responders, relays signals. See sssd(8).

use anyhow::Context;
use sssd::config::Config;
use sssd::logging::{self, Logger};
use sssd::monitor::{self, Command, MonitorOptions, daemon::ReadyNotifier};
use sssd::privilege::user::RunAs;
use sssd::service;
use std::process::ExitCode;

/// Every freed heap block is wiped: the private bus runs through this process (PAM tokens
/// cross it only as descriptors; this is defence in depth).
#[global_allocator]
static ALLOC: sss_proto::wipe_alloc::WipeOnFree = sss_proto::wipe_alloc::WipeOnFree;

fn main() -> ExitCode {
    // Before anything else, and while single-threaded: our own lookups must not loop
    // back into sssd.
    service::set_no_loops();
    let paths = service::paths_from_env();
    let opts = match monitor::options::parse(std::env::args().skip(1), paths) {
        Ok(Command::Run(opts)) => *opts,
        Ok(Command::Version) => {
            println!("{}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Ok(Command::Help) => {
            println!("{}", monitor::options::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("sssd: {e}\n{}", monitor::options::USAGE);
            return ExitCode::FAILURE;
        }
    };
    match run(opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sssd: {}", describe(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes, each cause shown once (many errors already include their
/// source in their own message).
fn describe(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

fn run(mut opts: MonitorOptions) -> anyhow::Result<()> {
    let snippets = opts.paths.config_snippets.clone();
    // The error names the file (and its line or mode).
    let config = Config::load(&opts.config_file, snippets.is_dir().then_some(&*snippets))?;
    // Domains whose options a backend cannot use are disabled alone; with none left the
    // daemon does not start.
    let plan = sssd::domains::plan(&config)?;
    if plan.usable.is_empty() {
        let reasons: Vec<String> = plan
            .disabled
            .iter()
            .map(|d| format!("domain {}: {}", d.name, d.error))
            .collect();
        anyhow::bail!("no domain can be served: {}", reasons.join("; "));
    }
    let domains = plan.usable.clone();
    let services = config.services();
    // `[sssd] user`: the monitor stays root, its children run as this user.
    if let Some(user) = config.get("sssd", "user").filter(|u| !u.is_empty()) {
        opts.run_as = Some(RunAs::lookup(user)?);
    }
    let config_level = match config.get("sssd", "debug_level") {
        Some(v) => Some(logging::parse_debug_level(v).context("[sssd] debug_level")?),
        None => None,
    };
    let level = opts
        .debug_level
        .or(config_level)
        .unwrap_or(logging::DEFAULT_DEBUG_LEVEL);

    // Mistakes that do not stop the start (misspelt options, unknown sections, responders
    // we lack): said on the console now and in sssd.log below. Disabled domains have their
    // own error line.
    let warnings: Vec<String> = sssd::config::check::check_config(&config)
        .into_iter()
        .filter(|f| !f.message.contains(" is disabled at start"))
        .chain(sssd::config::check::skipped_snippets(&config))
        .map(|f| f.to_string())
        .collect();
    if !matches!(opts.logger, Logger::Stderr) {
        for w in &warnings {
            eprintln!("sssd: {w}");
        }
    }
    let mut notifier = if opts.daemon {
        monitor::daemon::daemonize().context("cannot fork into the background")?
    } else {
        ReadyNotifier::none()
    };
    if let Logger::Files(dir) = &opts.logger {
        std::fs::create_dir_all(dir).with_context(|| format!("log directory {}", dir.display()))?;
    }
    logging::LineFormat::resolve(
        &config,
        "sssd",
        opts.debug_timestamps,
        opts.debug_microseconds,
    )?
    .apply();
    logging::init("sssd", level, opts.logger.clone())?;
    // At error level, so that the default debug_level shows them.
    for w in &warnings {
        tracing::error!("{w}");
    }
    for d in &plan.disabled {
        tracing::error!(
            "domain {} is disabled: {}; the other domains are served",
            d.name,
            d.error
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(monitor::run(opts, domains, services, &mut notifier))?;
    Ok(())
}
