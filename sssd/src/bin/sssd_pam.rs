//! `sssd_pam`: the PAM responder. Serves `/var/lib/sss/pipes/pam` (0666) and, for root
//! clients of SSSD before 2.10, `/var/lib/sss/pipes/private/pam` (0600), resolves users
//! from the domains' caches and forwards each PAM command to the user's backend
//! (`pamHandler`).

use anyhow::Context;
use sssd::cache::Cache;
use sssd::config::Config;
use sssd::responder::common::peer::resolve_uids;
use sssd::responder::common::source::{CacheSource, DomainSource, SystemClock};
use sssd::responder::common::{ServerConfig, bind_socket, serve};
use sssd::responder::pam::PamResponder;
use sssd::responder::pam::settings::{PAM_MAX_REQUEST_LEN, PamSettings};
use sssd::sbus::{self, DataProviderClient};
use sssd::service::{self, ChildOptions};
use std::sync::Arc;
use std::time::Duration;

fn main() -> anyhow::Result<()> {
    // Sets _SSS_LOOPS=NO before anything else (and before any thread exists), so the
    // getpwnam below never loops back into our own NSS responder.
    let opts = ChildOptions::from_args()?;
    let cfg = Config::load(&opts.config_file, Some(&opts.paths.config_snippets))
        .with_context(|| format!("loading {}", opts.config_file.display()))?;
    let level = cfg
        .get("pam", "debug_level")
        .or_else(|| cfg.get("pam", "debug"))
        .and_then(|v| sssd::logging::parse_debug_level(v).ok());
    service::init_logging("pam", &opts, level)?;
    let settings = PamSettings::from_config(&cfg, |name| {
        nix::unistd::User::from_name(name)
            .ok()
            .flatten()
            .map(|u| u.uid.as_raw())
    })
    .context("reading the [pam] and domain options")?;
    if let Some(t) = &settings.trusted
        && !t.names.is_empty()
    {
        tracing::info!(
            "pam_trusted_users: {} not known to the system; matched against the cache \
             per request",
            t.names.join(", ")
        );
    }
    // One thread, as sssd_nss: the work per request is short and nothing blocks.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    rt.block_on(run(opts, settings))
}

async fn run(opts: ChildOptions, settings: PamSettings) -> anyhow::Result<()> {
    let paths = &opts.paths;
    let bus = sbus::connect(paths, sbus::PAM_NAME)
        .await
        .with_context(|| format!("joining the private bus {}", paths.bus_address()))?;
    let dp = DataProviderClient::with_direct(bus.clone(), paths);
    let mut sources: Vec<Arc<dyn DomainSource>> = Vec::new();
    for d in &settings.lookup.domains {
        let cache = Cache::open(&paths.db, &d.name)
            .with_context(|| format!("opening the cache of domain {}", d.name))?;
        sources.push(Arc::new(CacheSource::new(
            &d.name,
            Arc::new(cache),
            Some(dp.clone()),
            settings.lookup.dp_timeout,
        )));
    }
    let mut public = ServerConfig::nss(paths.pam_socket());
    public.versions = sss_proto::command::PAM_PROTOCOL_VERSIONS.to_vec();
    public.max_request_len = PAM_MAX_REQUEST_LEN;
    public.idle_timeout = Duration::from_secs(u64::from(settings.client_idle_timeout));
    if !settings.allowed_uids.is_empty() {
        let uids = resolve_uids(&settings.allowed_uids).map_err(anyhow::Error::msg)?;
        public.allowed_uids = Some(uids);
    }
    let mut private = public.clone();
    private.socket_path = paths.pam_private_socket();
    private.socket_mode = 0o600;
    private.dir_mode = 0o700;
    let responder = Arc::new(PamResponder::new(
        settings,
        sources,
        Arc::new(dp),
        Arc::new(SystemClock),
    ));
    let handler = responder.service_handler();
    sbus::serve_service(&bus, handler.clone())
        .await
        .context("serving sssd.service")?;
    let mut tasks = Vec::new();
    for server in [public, private] {
        let listener = bind_socket(&server)?;
        tracing::info!("serving {}", server.socket_path.display());
        let responder = responder.clone();
        tasks.push((
            server.socket_path.clone(),
            tokio::spawn(async move { serve(listener, responder, &server).await }),
        ));
    }
    match sbus::register_service(&bus, "pam").await {
        Ok(v) => tracing::debug!("registered with the monitor (version {v})"),
        Err(e) => tracing::warn!("could not register with the monitor: {e}"),
    }
    service::wait_for_termination(handler).await?;
    for (path, task) in tasks {
        task.abort();
        let _ = std::fs::remove_file(&path);
    }
    Ok(())
}
