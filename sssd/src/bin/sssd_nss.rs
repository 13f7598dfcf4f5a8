//! `sssd_nss`: the NSS responder. Serves `/var/lib/sss/pipes/nss` from the domains'
//! caches and asks each domain's backend (`sssd.domain_NAME` on the private bus) to
//! refresh missing or expired entries.

use anyhow::Context;
use sssd::memcache::maps::{McSettings, MemCache};
use sssd::responder::common::startup;
use sssd::responder::nss::settings::NssSettings;
use sssd::responder::nss::source::SystemClock;
use sssd::responder::nss::{NssResponder, memcache};
use sssd::sbus;
use sssd::service::ChildOptions;
use std::sync::Arc;

fn main() -> anyhow::Result<()> {
    // Sets _SSS_LOOPS=NO before anything else (and before any thread exists).
    let (opts, cfg) = startup::init("nss")?;
    let etc_shells = std::fs::read_to_string("/etc/shells").unwrap_or_default();
    let settings = NssSettings::from_config(&cfg, &etc_shells)
        .context("reading the [nss] and domain options")?;
    let mc_settings = memcache::settings_from_config(&cfg, &opts.paths.mc)
        .context("reading the memory cache options")?;
    // A map file shrunk under us must not kill the responder (see memcache::sigbus).
    sssd::memcache::sigbus::install().context("installing the SIGBUS handler")?;
    // One thread (see startup::runtime). Nothing on this runtime blocks (cache reads are
    // short LMDB lookups; enumeration scans run in spawn_blocking; a memory-cache store is
    // microseconds, recreating the maps runs in spawn_blocking).
    startup::runtime(&cfg, "nss")?.block_on(run(opts, settings, mc_settings))
}

async fn run(
    opts: ChildOptions,
    settings: NssSettings,
    mc_settings: McSettings,
) -> anyhow::Result<()> {
    let paths = &opts.paths;
    let (bus, dp) = startup::connect(paths, sbus::NSS_NAME).await?;
    let sources = startup::open_sources(paths, &settings.domains, &dp, settings.dp_timeout)?;
    let server = startup::server_config(
        paths.nss_socket(),
        settings.nss.client_idle_timeout,
        &settings.nss.allowed_uids,
    )?;
    // Before serving: the files are created (and old ones recycled) once, at start, on a
    // thread that ends before the capabilities are dropped.
    let mc = sssd::privilege::startup_thread("memory cache", move || MemCache::open(mc_settings))
        .await?;
    let responder = Arc::new(NssResponder::with_memcache(
        settings,
        sources,
        Arc::new(SystemClock),
        Some(Arc::new(mc)),
    ));
    if let Some(mc) = responder.ctx().mc.clone() {
        // Names written before a domain's flat name was learned (or renamed) carry the old
        // one: forget them all.
        sssd::config::learned::on_change(move |domain| {
            tracing::info!("domain {domain}: flat name changed; emptying the memory cache");
            sssd::responder::nss::memcache::forget_names_in_background(mc.clone());
        });
    }
    sbus::serve_memcache(&bus, responder.memcache_handler())
        .await
        .context("serving sssd.nss.MemoryCache")?;
    let handler = responder.service_handler();
    startup::serve_until_terminated(&bus, "nss", responder, handler, vec![server], opts.run_as)
        .await?;
    Ok(())
}
