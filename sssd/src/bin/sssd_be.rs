//! `sssd_be --domain NAME [-d LEVEL] [--logger=stderr|files] [-c FILE]`: the backend of one
//! domain. Serves `sssd.dataprovider` and `sssd.service` on the private bus as
//! `sssd.domain_<NAME>`, keeps the domain cache filled from LDAP.

use anyhow::{Context, Result, bail};
use sssd::backend::Backend;
use sssd::backend::store::CacheStore;
use sssd::cache::Cache;
use sssd::config::{Config, DomainOptions, LdapOptions};
use sssd::paths::Paths;
use sssd::sbus;
use std::path::PathBuf;
use std::sync::Arc;

/// Command-line arguments.
#[derive(Debug, Default)]
struct Args {
    domain: Option<String>,
    debug_level: Option<String>,
    logger: Option<String>,
    config: Option<PathBuf>,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args> {
    let mut a = Args::default();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => it.next().with_context(|| format!("{name} needs a value")),
            }
        };
        match flag.as_str() {
            "--domain" => a.domain = Some(value("--domain")?),
            "-d" | "--debug-level" | "--debug" => a.debug_level = Some(value("--debug-level")?),
            "--logger" => a.logger = Some(value("--logger")?),
            "-c" | "--config" => a.config = Some(PathBuf::from(value("--config")?)),
            "--debug-to-files" => a.logger = Some("files".into()),
            "-h" | "--help" => {
                println!(
                    "usage: sssd_be --domain NAME [-d LEVEL] [--logger=stderr|files] [-c FILE]"
                );
                std::process::exit(0);
            }
            // Options SSSD's monitor may pass that do not matter here.
            "--uid" | "--gid" | "--debug-timestamps" | "--debug-microseconds" => {
                if inline.is_none() {
                    let _ = it.next();
                }
            }
            "-i" | "--interactive" | "--dumpable" => {}
            other => bail!("unknown option {other:?}"),
        }
    }
    Ok(a)
}

/// SSSD debug level (0-9 or a 0x bitmask) to a tracing level.
fn level(s: Option<&str>) -> tracing::Level {
    use tracing::Level;
    let Some(s) = s else { return Level::ERROR };
    let s = s.trim();
    let n = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => match u32::from_str_radix(hex, 16) {
            Ok(mask) if mask >= 0x2000 => 9,
            Ok(mask) if mask >= 0x0400 => 7,
            Ok(mask) if mask >= 0x0100 => 5,
            Ok(mask) if mask >= 0x0080 => 3,
            _ => 0,
        },
        None => s.parse::<u32>().unwrap_or(0),
    };
    match n {
        0..=2 => Level::ERROR,
        3 => Level::WARN,
        4 => Level::INFO,
        5 | 6 => Level::DEBUG,
        _ => Level::TRACE,
    }
}

fn init_logging(args: &Args, paths: &Paths, domain: &str) -> Result<()> {
    let lvl = level(args.debug_level.as_deref());
    let builder = tracing_subscriber::fmt()
        .with_max_level(lvl)
        .with_ansi(false);
    if args.logger.as_deref() == Some("files") {
        let path = paths.log.join(format!("sssd_{domain}.log"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot open log file {}", path.display()))?;
        builder.with_writer(std::sync::Mutex::new(file)).init();
    } else {
        builder.with_writer(std::io::stderr).init();
    }
    Ok(())
}

fn main() -> Result<()> {
    // SAFETY: single-threaded at this point; nothing else reads the environment yet.
    // _SSS_LOOPS=NO keeps our own NSS lookups from looping back into sssd.
    unsafe { std::env::set_var("_SSS_LOOPS", "NO") };
    let args = parse_args(std::env::args().skip(1))?;
    let Some(domain) = args.domain.clone() else {
        bail!("--domain NAME is required");
    };
    let paths = Paths::system();
    init_logging(&args, &paths, &domain)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let res = rt.block_on(run(args, paths, domain));
    if let Err(e) = &res {
        tracing::error!("{e:#}");
    }
    res
}

async fn run(args: Args, paths: Paths, domain: String) -> Result<()> {
    let file = args
        .config
        .clone()
        .unwrap_or_else(|| paths.config_file.clone());
    let snippets = paths.config_snippets.clone();
    let cfg = tokio::task::spawn_blocking(move || {
        let snip = snippets.is_dir().then_some(snippets.as_path());
        Config::load(&file, snip)
    })
    .await??;
    let dom = DomainOptions::from_config(&cfg, &domain)?;
    if dom.id_provider != "ldap" {
        bail!(
            "[domain/{domain}] id_provider = {:?} is not supported by this backend (only ldap)",
            dom.id_provider
        );
    }
    let ldap = LdapOptions::from_config(&cfg, &domain)?;
    let db = paths.db.clone();
    let name = domain.clone();
    let cache = tokio::task::spawn_blocking(move || Cache::open(&db, &name)).await??;
    let backend = Backend::new(&dom, ldap, Arc::new(CacheStore(Arc::new(cache))));

    let bus = sbus::connect(&paths, &sbus::domain_bus_name(&domain)).await?;
    sbus::serve_data_provider(&bus, Arc::new(backend.clone())).await?;
    sbus::serve_service(&bus, Arc::new(backend.clone())).await?;
    tracing::info!("backend for domain {domain} ready");

    tokio::spawn(backend.clone().run_online_checks());
    tokio::spawn(backend.clone().run_enumeration());
    wait_for_signals(&backend).await?;
    tracing::info!("backend for domain {domain} exiting");
    Ok(())
}

/// Handles SIGUSR1/SIGUSR2 sent directly to us, until SIGTERM or SIGINT.
async fn wait_for_signals(backend: &Backend) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut usr1 = signal(SignalKind::user_defined1())?;
    let mut usr2 = signal(SignalKind::user_defined2())?;
    loop {
        tokio::select! {
            _ = term.recv() => return Ok(()),
            _ = int.recv() => return Ok(()),
            _ = usr1.recv() => backend.go_offline().await,
            _ = usr2.recv() => backend.reset_offline(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Result<Args> {
        parse_args(v.iter().map(|s| s.to_string()))
    }

    #[test]
    fn parses_sssd_style_arguments() {
        let a = args(&[
            "--domain",
            "LDAP",
            "-d",
            "0x0070",
            "--logger=files",
            "-c",
            "/x.conf",
        ])
        .unwrap();
        assert_eq!(a.domain.as_deref(), Some("LDAP"));
        assert_eq!(a.logger.as_deref(), Some("files"));
        assert_eq!(a.config, Some(PathBuf::from("/x.conf")));
        assert_eq!(level(a.debug_level.as_deref()), tracing::Level::ERROR);
        assert_eq!(
            args(&["--domain=x", "--uid", "0"])
                .unwrap()
                .domain
                .as_deref(),
            Some("x")
        );
        assert!(args(&["--bogus"]).is_err());
        assert!(args(&["--domain"]).is_err());
        assert_eq!(level(Some("6")), tracing::Level::DEBUG);
        assert_eq!(level(Some("0x3ff0")), tracing::Level::TRACE);
    }
}
