//! `sssd_sudo`: the sudo responder. Serves `/var/lib/sss/pipes/sudo` (what
//! `libsss_sudo.so` asks when nsswitch.conf says `sudoers: sss`) from the domains' cached
//! sudo rules, asking each domain's backend to refresh expired ones.

use anyhow::Context;
use sssd::cache::Cache;
use sssd::responder::common::cache_req::CacheReq;
use sssd::responder::common::negcache::NegCache;
use sssd::responder::common::settings::NssSettings;
use sssd::responder::common::source::SystemClock;
use sssd::responder::common::startup;
use sssd::responder::sudo::{SudoDomain, SudoResponder, SudoSettings};
use sssd::service::ChildOptions;
use std::sync::Arc;

/// The responder's name on the private bus.
const BUS_NAME: &str = "sssd.sudo";

fn main() -> anyhow::Result<()> {
    // Sets _SSS_LOOPS=NO before anything else (and before any thread exists).
    let (opts, cfg) = startup::init("sudo")?;
    let mut settings = NssSettings::from_config(&cfg, "").context("reading the domain options")?;
    let sudo = SudoSettings::from_config(&cfg).context("reading the [sudo] options")?;
    settings.cache_first = sudo.cache_first;
    startup::runtime(&cfg, "sudo")?.block_on(run(opts, settings, sudo))
}

async fn run(opts: ChildOptions, settings: NssSettings, sudo: SudoSettings) -> anyhow::Result<()> {
    let paths = &opts.paths;
    let (bus, dp) = startup::connect(paths, BUS_NAME).await?;
    let sources = startup::open_sources(paths, &settings.domains, &dp, settings.dp_timeout)?;
    let mut domains = Vec::new();
    for d in &settings.domains {
        let cache = Cache::open(&paths.db, &d.name)
            .with_context(|| format!("opening the cache of domain {}", d.name))?;
        domains.push(SudoDomain {
            name: d.name.clone(),
            cache: Arc::new(cache),
        });
    }
    let mut server = startup::server_config(
        paths.nss_socket().with_file_name("sudo"),
        sudo.client_idle_timeout,
        &sudo.allowed_uids,
    )?;
    server.versions = vec![sss_proto::sudo::SUDO_PROTOCOL_VERSION];
    // As SSSD: only root (sudo) may ask for sudo rules.
    server.socket_mode = 0o600;
    let dp_timeout = settings.dp_timeout;
    let negcache = Arc::new(NegCache::new(settings.nss.entry_negative_timeout));
    let cr = CacheReq::new(Arc::new(settings), sources, negcache, Arc::new(SystemClock));
    let responder = Arc::new(SudoResponder::new(cr, domains, Some(dp), dp_timeout, sudo));
    let handler: Arc<dyn sssd::sbus::ServiceHandler> = Arc::new(NoService);
    startup::serve_until_terminated(&bus, "sudo", responder, handler, vec![server], opts.run_as)
        .await?;
    Ok(())
}

/// `sssd.service` with the default (no-op) methods: the sudo responder keeps no
/// negative or memory cache of its own.
struct NoService;

impl sssd::sbus::ServiceHandler for NoService {}
