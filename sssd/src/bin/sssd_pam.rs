//! `sssd_pam`: the PAM responder. Serves `/var/lib/sss/pipes/pam` (0666) and, for root
//! clients of SSSD before 2.10, `/var/lib/sss/pipes/private/pam` (0600), resolves users
//! from the domains' caches and forwards each PAM command to the user's backend
//! (`pamHandler`).

use anyhow::Context;
use sssd::responder::common::source::SystemClock;
use sssd::responder::common::startup;
use sssd::responder::pam::PamResponder;
use sssd::responder::pam::settings::{PAM_MAX_REQUEST_LEN, PamSettings};
use sssd::sbus;
use sssd::service::ChildOptions;
use std::sync::Arc;

/// Every freed heap block is wiped: passwords pass through this process.
#[global_allocator]
static ALLOC: sss_proto::wipe_alloc::WipeOnFree = sss_proto::wipe_alloc::WipeOnFree;

fn main() -> anyhow::Result<()> {
    // Sets _SSS_LOOPS=NO before anything else (and before any thread exists), so the
    // getpwnam below never loops back into our own NSS responder.
    let (opts, cfg) = startup::init("pam")?;
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
    startup::runtime(&cfg, "pam")?.block_on(run(opts, settings))
}

async fn run(opts: ChildOptions, settings: PamSettings) -> anyhow::Result<()> {
    let paths = &opts.paths;
    let (bus, dp) = startup::connect(paths, sbus::PAM_NAME).await?;
    let lookup = &settings.lookup;
    let sources = startup::open_sources(paths, &lookup.domains, &dp, lookup.dp_timeout)?;
    let mut public = startup::server_config(
        paths.pam_socket(),
        settings.pam.client_idle_timeout,
        &settings.pam.allowed_uids,
    )?;
    public.versions = sss_proto::command::PAM_PROTOCOL_VERSIONS.to_vec();
    public.max_request_len = PAM_MAX_REQUEST_LEN;
    let private = sssd::service::pam_private_server(&public, paths);
    let responder = Arc::new(PamResponder::new(
        settings,
        sources,
        Arc::new(dp),
        Arc::new(SystemClock),
    ));
    let handler = responder.service_handler();
    startup::serve_until_terminated(
        &bus,
        "pam",
        responder,
        handler,
        vec![public, private],
        opts.run_as,
    )
    .await?;
    Ok(())
}
