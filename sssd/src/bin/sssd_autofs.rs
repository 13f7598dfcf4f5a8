//! `sssd_autofs`: the autofs responder. Serves `/var/lib/sss/pipes/autofs` (0666) to
//! `libsss_autofs.so` (loaded by autofs's `lookup_sss.so`) from the domains' caches and asks
//! each domain's backend for maps that are missing or expired.

use anyhow::Context;
use sssd::cache::Cache;
use sssd::responder::autofs::settings::{AUTOFS_MAX_REQUEST_LEN, AutofsSettings};
use sssd::responder::autofs::source::{AutofsCacheSource, AutofsSource};
use sssd::responder::autofs::{AutofsResponder, BUS_NAME, socket_path};
use sssd::responder::common::source::SystemClock;
use sssd::responder::common::startup;
use sssd::service::ChildOptions;
use std::sync::Arc;

fn main() -> anyhow::Result<()> {
    // Sets _SSS_LOOPS=NO before anything else (and before any thread exists).
    let (opts, cfg) = startup::init("autofs")?;
    let settings = AutofsSettings::from_config(&cfg).context("reading the [autofs] options")?;
    // One thread (see startup::runtime): cache reads are short LMDB lookups.
    startup::runtime(&cfg, "autofs")?.block_on(run(opts, settings))
}

async fn run(opts: ChildOptions, settings: AutofsSettings) -> anyhow::Result<()> {
    let paths = &opts.paths;
    let (bus, dp) = startup::connect(paths, BUS_NAME).await?;
    let mut sources: Vec<Arc<dyn AutofsSource>> = Vec::new();
    for d in &settings.domains {
        let cache = Cache::open(&paths.db, d)
            .with_context(|| format!("opening the cache of domain {d}"))?;
        sources.push(Arc::new(AutofsCacheSource::new(
            d,
            Arc::new(cache),
            Some(dp.clone()),
            settings.dp_timeout,
        )));
    }
    let mut server = startup::server_config(socket_path(paths), settings.client_idle_timeout, &[])?;
    server.versions = vec![sss_proto::autofs::AUTOFS_PROTOCOL_VERSION];
    server.max_request_len = AUTOFS_MAX_REQUEST_LEN;
    let responder = Arc::new(AutofsResponder::new(
        settings,
        sources,
        Arc::new(SystemClock),
    ));
    let handler = responder.service_handler();
    startup::serve_until_terminated(
        &bus,
        "autofs",
        responder,
        handler,
        vec![server],
        opts.run_as,
    )
    .await?;
    Ok(())
}
