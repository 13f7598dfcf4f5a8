//! `sssd_be --domain NAME [-d LEVEL] [--logger=stderr|files] [-c FILE]`: the backend of one
//! domain. Serves `sssd.dataprovider` and `sssd.service` on the private bus as
//! `sssd.domain_<NAME>`, registers with the monitor, and keeps the domain cache filled from
//! LDAP (or, for `id_provider = files`, from the passwd and group files; for `id_provider =
//! proxy`, from an NSS module through proxy_child) until SIGTERM.

use anyhow::{Context, Result, bail};
use sssd::backend::Backend;
use sssd::backend::ldap::sasl::{DEFAULT_KRB5_CONFIG, GssapiOptions, KRB5_CONFIG, KRB5CCNAME};
use sssd::backend::nss_notify::BusNotifier;
use sssd::backend::store::CacheStore;
use sssd::cache::Cache;
use sssd::config::{AuthOptions, Config, DomainOptions, LdapOptions, PamOptions, options};
use sssd::privilege;
use sssd::sbus;
use sssd::service::{self, ChildOptions};
use std::sync::Arc;

#[path = "sssd_be/proxy.rs"]
mod proxy;

/// Every freed heap block is wiped: passwords pass through this process.
#[global_allocator]
static ALLOC: sss_proto::wipe_alloc::WipeOnFree = sss_proto::wipe_alloc::WipeOnFree;

fn main() -> Result<()> {
    // Sets _SSS_LOOPS=NO before any thread exists, then parses the command line.
    let opts = ChildOptions::from_args()?;
    let Some(domain) = opts.domain.clone() else {
        bail!("--domain NAME is required");
    };
    let snippets = opts.paths.config_snippets.clone();
    let cfg = Config::load(
        &opts.config_file,
        snippets.is_dir().then_some(snippets.as_path()),
    )
    .with_context(|| format!("cannot load {}", opts.config_file.display()))?;
    // As SSSD 2.8: the configuration is read as root, then the process becomes the
    // `[sssd] user` for good, keeping in its bounding set only what its helpers need.
    if let Some(who) = opts.run_as {
        privilege::user::become_user(who, privilege::HELPER_CAPS)?;
    }
    let level = options::debug_level(&cfg, &format!("domain/{domain}"))?;
    let format = sssd::logging::LineFormat::resolve(
        &cfg,
        &format!("domain/{domain}"),
        opts.debug_timestamps,
        opts.debug_microseconds,
    )?;
    service::init_logging(&domain, &opts, (level != 0).then_some(level), format)?;
    sssd::backend::krb5::child::configure_logging(opts.logger.clone(), &domain);
    // Every option first, id_provider before the rest: the error names the option at fault.
    if let Err(e) = sssd::domains::check(&cfg, &domain) {
        tracing::error!("domain {domain} cannot be served: {e}");
        return Err(e).with_context(|| format!("domain {domain} cannot be served"));
    }
    // The identity provider picks the main loop (the domain check accepted it).
    let files = cfg.get(&format!("domain/{domain}"), "id_provider") == Some("files");
    let is_proxy = proxy::is_proxy(&cfg, &domain);
    if !files && !is_proxy {
        set_gssapi_env(&cfg, &domain, &opts)?;
    }
    // One thread: a request hops between the D-Bus reader, the LDAP driver and the handler
    // tasks, and keeping them on one thread spares a thread wake-up at each hop.
    let period = sssd::watchdog::period_from_config(&cfg, &format!("domain/{domain}"))?;
    let rt = sssd::watchdog::watched_runtime(period, "sssd_be")
        .context("cannot start the async runtime")?;
    let res = rt.block_on(async move {
        if files {
            let paths = opts.paths.clone();
            sssd::backend::files::serve::run(&paths, cfg, domain).await
        } else if is_proxy {
            proxy::run(opts, cfg, domain).await
        } else {
            run(opts, cfg, domain).await
        }
    });
    if let Err(e) = &res {
        tracing::error!("{e:#}");
    }
    res
}

/// With `ldap_sasl_mech = GSSAPI` and `ldap_krb5_init_creds`, points `KRB5CCNAME` at the
/// ccache ldap_child fills, so GSSAPI binds use the keytab TGT, and appends to `KRB5_CONFIG`
/// a profile naming the realm's `krb5_server` KDCs. Must run while the process has
/// one thread (before the runtime starts). A bad SASL configuration stops the backend here.
fn set_gssapi_env(cfg: &Config, domain: &str, opts: &ChildOptions) -> Result<()> {
    let auth = AuthOptions::from_config(cfg, domain)?;
    let Some(gssapi) = GssapiOptions::from_auth(&auth, domain, &opts.paths.db)? else {
        return Ok(());
    };
    if let Some(profile) = gssapi.kdc_profile() {
        let path = gssapi.kdc_profile_path(&opts.paths.db);
        std::fs::write(&path, profile)
            .with_context(|| format!("cannot write the KDC list {}", path.display()))?;
        let base = std::env::var(KRB5_CONFIG).unwrap_or_else(|_| DEFAULT_KRB5_CONFIG.into());
        let value = format!("{base}:{}", path.display());
        // SAFETY: as below, single-threaded.
        unsafe { std::env::set_var(KRB5_CONFIG, &value) };
        tracing::debug!("{KRB5_CONFIG}={value} for GSSAPI service tickets");
    }
    if let Some(ccache) = gssapi.ccache_env() {
        // SAFETY: called from `main` before the async runtime (or any other thread) exists,
        // so nothing reads the environment concurrently.
        unsafe { std::env::set_var(KRB5CCNAME, ccache) };
        tracing::debug!("{KRB5CCNAME}={ccache} for GSSAPI binds");
    }
    Ok(())
}

async fn run(opts: ChildOptions, cfg: Config, domain: String) -> Result<()> {
    let dom = DomainOptions::from_config(&cfg, &domain)?;
    let mut ldap = LdapOptions::from_config(&cfg, &domain)?;
    ldap.apply_ldap_conf(&sssd::config::ldap_conf::LdapConf::load())?;
    let sudo = sssd::backend::ldap::sudo::SudoOptions::from_config(&cfg, &domain)?;
    let auth = AuthOptions::from_config(&cfg, &domain)?;
    let pam = PamOptions::from_config(&cfg)?;
    let autofs = sssd::backend::ldap::autofs::AutofsOptions::from_config(&cfg, &domain)?;
    let renewal = sssd::backend::ad::renewal::RenewalOptions::from_config(&cfg, &domain)?;
    drop(cfg);
    let db = opts.paths.db.clone();
    let name = domain.clone();
    // On a thread that ends before the capabilities are dropped (see below).
    let cache = privilege::startup_thread("cache", move || Cache::open(&db, &name)).await??;
    let cache = Arc::new(cache);
    sssd::backend::ldap::sudo::install(sudo, cache.clone());
    let backend = Backend::new(&dom, ldap, auth, pam, Arc::new(CacheStore(cache.clone())));
    if let Some(o) = autofs {
        backend.set_autofs(o);
    }

    let bus = sbus::connect(&opts.paths, &sbus::domain_bus_name(&domain)).await?;
    backend.set_nss_notifier(Arc::new(BusNotifier::new(bus.clone())));
    sbus::serve_data_provider(&bus, Arc::new(backend.clone())).await?;
    sbus::serve_service(&bus, Arc::new(backend.clone())).await?;
    sbus::failover::serve_failover(&bus, Arc::new(backend.clone())).await?;
    // The responders' hot path: a direct connection, without the broker in between.
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
    // Cache and sockets open: keep only what krb5_child and ldap_child need.
    privilege::drop_backend()?;
    tracing::debug!("capabilities limited to what the helpers need");
    tokio::spawn(backend.clone().run_domain_discovery());
    tokio::spawn(backend.clone().run_online_checks());
    tokio::spawn(backend.clone().run_online_announcements(bus.clone()));
    tokio::spawn(backend.clone().run_enumeration());
    tokio::spawn(backend.clone().run_refresh());
    tokio::spawn(backend.clone().run_krb5_tasks());
    tokio::spawn(backend.clone().run_machine_password_renewal(renewal));
    tokio::spawn(sssd::backend::ldap::sudo::schedule::run(
        backend.clone(),
        cache,
    ));
    sbus::register_service(&bus, &domain)
        .await
        .context("cannot register with the monitor")?;
    tracing::info!("backend for domain {domain} ready");

    service::wait_for_termination(Arc::new(backend)).await?;
    tracing::info!("backend for domain {domain} exiting");
    Ok(())
}
