//! `sssd_nss`: the NSS responder. Serves `/var/lib/sss/pipes/nss` from the domains'
//! caches and asks each domain's backend (`sssd.domain_NAME` on the private bus) to
//! refresh missing or expired entries.

use anyhow::Context;
use sssd::cache::Cache;
use sssd::config::Config;
use sssd::paths::Paths;
use sssd::responder::common::peer::resolve_uids;
use sssd::responder::common::{ServerConfig, bind_socket, serve};
use sssd::responder::nss::NssResponder;
use sssd::responder::nss::settings::NssSettings;
use sssd::responder::nss::source::{CacheSource, DomainSource, SystemClock};
use sssd::sbus::{self, DataProviderClient};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Relocates every path under a directory (tests only), as the other daemons do.
const TEST_ROOT_ENV: &str = "SSSD_TEST_ROOT";

struct Options {
    config_file: PathBuf,
    paths: Paths,
}

fn parse_args() -> anyhow::Result<Options> {
    let paths = match std::env::var_os(TEST_ROOT_ENV) {
        Some(r) if !r.is_empty() => Paths::under(std::path::Path::new(&r)),
        _ => Paths::system(),
    };
    let mut o = Options {
        config_file: paths.config_file.clone(),
        paths,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-c" | "--config" => {
                o.config_file = PathBuf::from(args.next().context("--config needs a file")?)
            }
            s if s.starts_with("--config=") => o.config_file = PathBuf::from(&s[9..]),
            // Options the monitor passes that this responder does not need.
            "--uid" | "--gid" | "-d" | "--debug-level" | "--logger" => {
                args.next();
            }
            _ => {}
        }
    }
    Ok(o)
}

fn main() -> anyhow::Result<()> {
    // SAFETY: first statement of main; no other thread exists yet.
    unsafe { std::env::set_var("_SSS_LOOPS", "NO") };
    let opts = parse_args()?;
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::INFO)
        .init();
    let cfg = Config::load(&opts.config_file, Some(&opts.paths.config_snippets))
        .with_context(|| format!("loading {}", opts.config_file.display()))?;
    let etc_shells = std::fs::read_to_string("/etc/shells").unwrap_or_default();
    let settings =
        NssSettings::from_config(&cfg, &etc_shells).context("reading [nss] and domain options")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    rt.block_on(run(opts, settings))
}

async fn run(opts: Options, settings: NssSettings) -> anyhow::Result<()> {
    let paths = &opts.paths;
    let bus = sbus::connect(paths, sbus::NSS_NAME)
        .await
        .with_context(|| format!("joining the private bus {}", paths.bus_address()))?;
    let dp = DataProviderClient::new(bus.clone());
    let mut sources: Vec<Arc<dyn DomainSource>> = Vec::new();
    for d in &settings.domains {
        let cache = Cache::open(&paths.db, &d.name)
            .with_context(|| format!("opening the cache of domain {}", d.name))?;
        sources.push(Arc::new(CacheSource::new(
            &d.name,
            Arc::new(cache),
            Some(dp.clone()),
            settings.dp_timeout,
        )));
    }
    let mut server = ServerConfig::nss(paths.nss_socket());
    server.idle_timeout = Duration::from_secs(u64::from(settings.client_idle_timeout));
    if !settings.allowed_uids.is_empty() {
        let uids = resolve_uids(&settings.allowed_uids).map_err(anyhow::Error::msg)?;
        server.allowed_uids = Some(uids);
    }
    let responder = Arc::new(NssResponder::new(settings, sources, Arc::new(SystemClock)));
    sbus::serve_service(&bus, responder.service_handler())
        .await
        .context("serving sssd.service")?;
    let listener = bind_socket(&server)?;
    tracing::info!("serving {}", server.socket_path.display());
    let accept = {
        let server = server.clone();
        let responder = responder.clone();
        tokio::spawn(async move { serve(listener, responder, &server).await })
    };
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    tracing::info!("terminating on signal");
    accept.abort();
    let _ = std::fs::remove_file(&server.socket_path);
    Ok(())
}
