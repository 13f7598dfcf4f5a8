//! `sssd_ssh`: the ssh responder. Serves `/var/lib/sss/pipes/ssh` (0666, protocol version
//! 0) for `sss_ssh_authorizedkeys` and `sss_ssh_knownhostsproxy`: users' SSH public keys
//! from the domains' caches, refreshed through the backends as NSS lookups are, and hosts'
//! keys fetched through the backends (`hostid_provider`), also kept in
//! `/var/lib/sss/pubconf/known_hosts` for ssh.

use anyhow::Context;
use sssd::cache::Cache;
use sssd::responder::common::source::SystemClock;
use sssd::responder::common::startup;
use sssd::responder::ssh::settings::SshSettings;
use sssd::responder::ssh::{
    CacheHosts, CacheKeys, HostKeySource, HostKeys, KeySource, SshResponder,
};
use sssd::service::ChildOptions;
use std::sync::Arc;

fn main() -> anyhow::Result<()> {
    // Sets _SSS_LOOPS=NO first: the local-user check below never loops back into SSSD.
    let (opts, cfg) = startup::init("ssh")?;
    let settings =
        SshSettings::from_config(&cfg).context("reading the [ssh] and domain options")?;
    startup::runtime(&cfg, "ssh")?.block_on(run(opts, settings))
}

async fn run(opts: ChildOptions, settings: SshSettings) -> anyhow::Result<()> {
    let paths = &opts.paths;
    let (bus, dp) = startup::connect(paths, "sssd.ssh").await?;
    let lookup = &settings.lookup;
    let sources = startup::open_sources(paths, &lookup.domains, &dp, lookup.dp_timeout)?;
    let mut keys: Vec<Arc<dyn KeySource>> = Vec::new();
    let mut hosts: Vec<Arc<dyn HostKeySource>> = Vec::new();
    for d in &lookup.domains {
        let cache = Arc::new(
            Cache::open(&paths.db, &d.name)
                .with_context(|| format!("opening the cache of domain {}", d.name))?,
        );
        keys.push(Arc::new(CacheKeys::new(&d.name, cache.clone())));
        hosts.push(Arc::new(CacheHosts::new(
            &d.name,
            cache,
            Some(dp.clone()),
            lookup.dp_timeout,
        )));
    }
    let hosts = HostKeys {
        sources: hosts,
        known_hosts: paths.known_hosts(),
    };
    let mut server = startup::server_config(
        paths.pipes.join("ssh"),
        lookup.nss.client_idle_timeout,
        &lookup.nss.allowed_uids,
    )?;
    server.versions = vec![sss_proto::ssh::SSH_PROTOCOL_VERSION];
    let responder = Arc::new(SshResponder::new(
        settings,
        sources,
        keys,
        hosts,
        Arc::new(SystemClock),
        Arc::new(|name: &str| nix::unistd::User::from_name(name).ok().flatten().is_some()),
    ));
    let handler = responder.service_handler();
    startup::serve_until_terminated(&bus, "ssh", responder, handler, vec![server], opts.run_as)
        .await?;
    Ok(())
}
