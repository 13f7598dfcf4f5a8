//! The `sssd_be` main loop of a files domain: open the cache, serve the data provider,
//! service and failover interfaces, load and watch the files, register with the monitor.

use super::FilesBackend;
use super::notify::BusReloadNotifier;
use super::options::FilesOptions;
use crate::backend::store::CacheStore;
use crate::cache::Cache;
use crate::config::{Config, DomainOptions};
use crate::paths::Paths;
use crate::{privilege, sbus, service};
use anyhow::{Context, Result};
use std::sync::Arc;

/// Serves files domain `domain` as `cfg` configures it until SIGTERM.
pub async fn run(paths: &Paths, cfg: Config, domain: String) -> Result<()> {
    let dom = DomainOptions::from_config(&cfg, &domain)?;
    let opts = FilesOptions::from_config(&cfg, &domain)?;
    drop(cfg);
    let db = paths.db.clone();
    let name = domain.clone();
    // On a thread that ends before the capabilities are dropped (see below).
    let cache = privilege::startup_thread("cache", move || Cache::open(&db, &name)).await??;
    let runs_pam = opts.pam_target.is_some();
    let backend = FilesBackend::new(&dom, opts, Arc::new(CacheStore(Arc::new(cache))));
    let bus = sbus::connect(paths, &sbus::domain_bus_name(&domain)).await?;
    backend.set_notifier(Arc::new(BusReloadNotifier::new(bus.clone())));
    sbus::serve_data_provider(&bus, Arc::new(backend.clone())).await?;
    sbus::serve_service(&bus, Arc::new(backend.clone())).await?;
    sbus::failover::serve_failover(&bus, Arc::new(backend.clone())).await?;
    let _direct =
        match sbus::serve_data_provider_direct(paths, &domain, Arc::new(backend.clone())).await {
            Ok(server) => Some(server),
            Err(e) => {
                tracing::warn!("no direct data provider socket (the bus still works): {e}");
                None
            }
        };
    // As a proxy domain's: the modules of proxy_pam_target run in our children as in any
    // PAM application (pam_unix rewriting /etc/shadow needs root's capabilities).
    if runs_pam {
        tracing::info!("proxy_pam_target in use: capabilities kept for its PAM modules");
    } else {
        privilege::drop_backend()?;
    }
    tokio::spawn(backend.clone().run());
    sbus::register_service(&bus, &domain)
        .await
        .context("cannot register with the monitor")?;
    tracing::info!("backend for files domain {domain} ready");
    service::wait_for_termination(Arc::new(backend)).await?;
    tracing::info!("backend for domain {domain} exiting");
    Ok(())
}
