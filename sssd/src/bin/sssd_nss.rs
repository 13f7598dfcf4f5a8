//! `sssd_nss`: the NSS responder. Serves `/var/lib/sss/pipes/nss` from the domains'
//! caches and asks each domain's backend (`sssd.domain_NAME` on the private bus) to
//! refresh missing or expired entries.

use anyhow::Context;
use sssd::cache::Cache;
use sssd::config::Config;
use sssd::responder::common::peer::resolve_uids;
use sssd::responder::common::{ServerConfig, bind_socket, serve};
use sssd::responder::nss::NssResponder;
use sssd::responder::nss::settings::NssSettings;
use sssd::responder::nss::source::{CacheSource, DomainSource, SystemClock};
use sssd::sbus::{self, DataProviderClient};
use sssd::service::{self, ChildOptions};
use std::sync::Arc;
use std::time::Duration;

fn main() -> anyhow::Result<()> {
    // Sets _SSS_LOOPS=NO before anything else (and before any thread exists).
    let opts = ChildOptions::from_args()?;
    let cfg = Config::load(&opts.config_file, Some(&opts.paths.config_snippets))
        .with_context(|| format!("loading {}", opts.config_file.display()))?;
    let level = cfg
        .get("nss", "debug_level")
        .or_else(|| cfg.get("nss", "debug"))
        .and_then(|v| sssd::logging::parse_debug_level(v).ok());
    service::init_logging("nss", &opts, level)?;
    let etc_shells = std::fs::read_to_string("/etc/shells").unwrap_or_default();
    let settings = NssSettings::from_config(&cfg, &etc_shells)
        .context("reading the [nss] and domain options")?;
    // One thread, like SSSD's event loop: a lookup is a few microseconds of work, and
    // handing each wake-up to another worker costs more than that. Nothing on this
    // runtime blocks (cache reads are short LMDB lookups; enumeration scans run in
    // spawn_blocking).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    rt.block_on(run(opts, settings))
}

async fn run(opts: ChildOptions, settings: NssSettings) -> anyhow::Result<()> {
    let paths = &opts.paths;
    let bus = sbus::connect(paths, sbus::NSS_NAME)
        .await
        .with_context(|| format!("joining the private bus {}", paths.bus_address()))?;
    let dp = DataProviderClient::with_direct(bus.clone(), paths);
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
    let handler = responder.service_handler();
    sbus::serve_service(&bus, handler.clone())
        .await
        .context("serving sssd.service")?;
    let listener = bind_socket(&server)?;
    tracing::info!("serving {}", server.socket_path.display());
    let accept = {
        let server = server.clone();
        tokio::spawn(async move { serve(listener, responder, &server).await })
    };
    match sbus::register_service(&bus, "nss").await {
        Ok(v) => tracing::debug!("registered with the monitor (version {v})"),
        Err(e) => tracing::warn!("could not register with the monitor: {e}"),
    }
    service::wait_for_termination(handler).await?;
    accept.abort();
    let _ = std::fs::remove_file(&server.socket_path);
    Ok(())
}
