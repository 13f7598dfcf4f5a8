//! `sssd_be` for an `id_provider = proxy` domain: the proxy backend on the private bus.

use anyhow::{Context, Result};
use sssd::backend::nss_notify::BusNotifier;
use sssd::backend::proxy::ProxyBackend;
use sssd::backend::proxy::options::ProxyOptions;
use sssd::backend::store::CacheStore;
use sssd::cache::Cache;
use sssd::config::{Config, DomainOptions, PamOptions};
use sssd::privilege;
use sssd::sbus;
use sssd::service::{self, ChildOptions};
use std::sync::Arc;

/// Whether domain `domain` is a proxy domain.
pub fn is_proxy(cfg: &Config, domain: &str) -> bool {
    cfg.get(&format!("domain/{domain}"), "id_provider") == Some("proxy")
}

/// Serves the proxy domain `domain` until SIGTERM.
pub async fn run(opts: ChildOptions, cfg: Config, domain: String) -> Result<()> {
    let dom = DomainOptions::from_config(&cfg, &domain)?;
    let proxy = ProxyOptions::from_config(&cfg, &domain)?;
    let pam = PamOptions::from_config(&cfg)?;
    drop(cfg);
    let db = opts.paths.db.clone();
    let name = domain.clone();
    let cache = privilege::startup_thread("cache", move || Cache::open(&db, &name)).await??;
    let lib = proxy.lib_name.clone();
    let runs_pam = proxy.runs_pam();
    let backend = ProxyBackend::new(
        &dom,
        proxy,
        pam,
        Arc::new(CacheStore(Arc::new(cache))),
        sssd::backend::proxy::helper_path(),
    );
    // As SSSD: a module that cannot be loaded stops the backend at start.
    backend
        .check_module()
        .await
        .with_context(|| format!("proxy_lib_name = {lib}"))?;

    let bus = sbus::connect(&opts.paths, &sbus::domain_bus_name(&domain)).await?;
    backend.set_nss_notifier(Arc::new(BusNotifier::new(bus.clone())));
    sbus::serve_data_provider(&bus, Arc::new(backend.clone())).await?;
    sbus::serve_service(&bus, Arc::new(backend.clone())).await?;
    sbus::failover::serve_failover(&bus, Arc::new(backend.clone())).await?;
    let _direct =
        match sbus::serve_data_provider_direct(&opts.paths, &domain, Arc::new(backend.clone()))
            .await
        {
            Ok(server) => Some(server),
            Err(e) => {
                tracing::warn!("no direct data provider socket (the bus still works): {e}");
                None
            }
        };
    // The modules of proxy_pam_target run in our children as in any PAM application
    // (pam_unix rewriting /etc/shadow needs root's capabilities): keep them then.
    if runs_pam {
        tracing::info!("proxy_pam_target in use: capabilities kept for its PAM modules");
    } else {
        privilege::drop_backend()?;
    }
    tokio::spawn(backend.clone().run_enumeration());
    sbus::register_service(&bus, &domain)
        .await
        .context("cannot register with the monitor")?;
    tracing::info!("backend for proxy domain {domain} (libnss_{lib}.so.2) ready");
    service::wait_for_termination(Arc::new(backend)).await?;
    tracing::info!("backend for domain {domain} exiting");
    Ok(())
}
