//! A fleet after a directory outage (issue 11, `offline_timeout_random_offset`): N backends
//! (the real `Backend`, with its LDAP provider, online/offline state and retry loop; N
//! simulated hosts in one process) use one private slapd. Each looks a user up (online),
//! slapd stops, each looks the user up again and goes offline, slapd starts again at once,
//! and the backends' retry loops bring them back. The first retry of each backend is a new
//! TCP connection to slapd, so slapd's connection log (`-d stats`, each line stamped by
//! slapd) shows when the fleet came back: the figures are the ACCEPT times after the
//! restart, relative to the moment the last backend went offline, for
//! `offline_timeout_random_offset = 0` and then for the random offset given.
//!
//! Usage (root not needed; slapd from Debian):
//!   offline_fleet [--hosts N] [--offline-timeout S] [--random-offset S]
//!
//! It asserts only that every backend came back online, within its window.

use anyhow::{Context, Result, bail};
use sssd::backend::Backend;
use sssd::backend::store::MemStore;
use sssd::config::{AuthOptions, Config, DomainOptions, LdapOptions, PamOptions};
use sssd::sbus::{AccountRequest, EntryType, Filter};
use sssd_bench::{median, option_value};
use sssd_tests::ldif::{Directory, Schema, User};
use sssd_tests::slapd::{Slapd, SlapdConfig, SlapdOptions};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The domain options of one simulated host.
fn options(slapd: &Slapd, base: u32, offset: u32) -> Result<(DomainOptions, LdapOptions)> {
    let text = format!(
        "[sssd]\ndomains = LDAP\n[domain/LDAP]\nid_provider = ldap\nldap_uri = {}\n\
         ldap_search_base = {}\nldap_schema = rfc2307\nldap_id_use_start_tls = false\n\
         entry_cache_timeout = 1\noffline_timeout = {base}\n\
         offline_timeout_random_offset = {offset}\nldap_network_timeout = 2\n",
        slapd.uri(),
        slapd.base()
    );
    let cfg = Config::parse(&text, "offline_fleet.conf")?;
    Ok((
        DomainOptions::from_config(&cfg, "LDAP")?,
        LdapOptions::from_config(&cfg, "LDAP")?,
    ))
}

fn lookup() -> AccountRequest {
    AccountRequest {
        dp_flags: 0,
        entry_type: EntryType::User,
        filter: Filter::Name("alice".into()),
        domain: String::new(),
        extra: String::new(),
        cli_id: 0,
    }
}

/// Times (Unix seconds) of the connections slapd accepted, from its `-d stats` log: each
/// line starts with `SECONDS_HEX.NANOS_HEX`.
fn accepts(log: &str) -> Vec<f64> {
    log.lines()
        .filter(|l| l.contains(" ACCEPT from "))
        .filter_map(|l| {
            let stamp = l.split_whitespace().next()?;
            let (s, n) = stamp.split_once('.')?;
            let s = u64::from_str_radix(s, 16).ok()?;
            let n = u64::from_str_radix(n, 16).ok()?;
            Some(s as f64 + n as f64 / 1e9)
        })
        .collect()
}

/// One outage for `hosts` backends; returns the first-retry times (s after the last backend
/// went offline) seen by slapd.
async fn outage(slapd: &mut Slapd, hosts: usize, base: u32, offset: u32) -> Result<Vec<f64>> {
    let (dom, ldap) = options(slapd, base, offset)?;
    let cfg = Config::parse("[sssd]\n", "empty.conf")?;
    let fleet: Vec<Backend> = (0..hosts)
        .map(|_| -> Result<Backend> {
            Ok(Backend::new(
                &dom,
                ldap.clone(),
                AuthOptions::from_config(
                    &Config::parse(
                        "[sssd]\ndomains = LDAP\n[domain/LDAP]\nid_provider = ldap\n",
                        "auth.conf",
                    )?,
                    "LDAP",
                )?,
                PamOptions::from_config(&cfg)?,
                Arc::new(MemStore::default()),
            ))
        })
        .collect::<Result<_>>()?;
    for b in &fleet {
        let r = b.handle(lookup()).await;
        if r.dp_error != 0 {
            bail!("online lookup failed: {}", r.message);
        }
    }
    slapd.stop()?;
    for b in &fleet {
        b.handle(lookup()).await;
        if !b.is_offline() {
            bail!("a backend stayed online with slapd stopped");
        }
    }
    let offline_at = unix_now();
    let log_len = std::fs::read_to_string(slapd.log_path())
        .map(|l| l.len())
        .unwrap_or(0);
    slapd.start()?;
    let tasks: Vec<_> = fleet
        .iter()
        .map(|b| tokio::spawn(b.clone().run_online_checks()))
        .collect();
    let limit = f64::from(base + offset) + 5.0;
    while fleet.iter().any(Backend::is_offline) {
        if unix_now() - offline_at > limit {
            bail!("not every backend was back online after {limit} s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for t in tasks {
        t.abort();
    }
    let log = std::fs::read_to_string(slapd.log_path()).context("slapd log")?;
    let mut times: Vec<f64> = accepts(log.get(log_len..).unwrap_or_default())
        .into_iter()
        .map(|t| t - offline_at)
        // The harness's own readiness probe comes right at the restart.
        .filter(|t| *t >= f64::from(base) - 0.5)
        .collect();
    times.sort_by(f64::total_cmp);
    if times.len() < hosts {
        bail!(
            "slapd logged {} reconnections for {hosts} hosts",
            times.len()
        );
    }
    times.truncate(hosts);
    Ok(times)
}

fn report(label: &str, times: &[f64]) {
    let (min, max) = (times[0], times[times.len() - 1]);
    println!(
        "{label}: {} first retries, min {min:.2} s, median {:.2} s, max {max:.2} s, spread \
         {:.2} s",
        times.len(),
        median(times),
        max - min
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let num = |o: &str, d: u32| -> Result<u32> {
        option_value(&args, o).map_or(Ok(d), |v| v.parse().context(o.to_owned()))
    };
    let hosts = usize::try_from(num("--hosts", 50)?)?;
    let base = num("--offline-timeout", 5)?;
    let offset = num("--random-offset", 10)?;
    let mut d = Directory::new(Schema::Rfc2307);
    d.users.push(User::new("alice", 3001, 3001));
    let mut slapd = Slapd::with_config(&d, SlapdOptions::default(), |_| {
        Ok(SlapdConfig {
            debug: Some("stats".into()),
            ..SlapdConfig::default()
        })
    })?;
    println!("{hosts} backends on one slapd, offline_timeout = {base} s");
    let flat = outage(&mut slapd, hosts, base, 0).await?;
    report("offline_timeout_random_offset = 0", &flat);
    let spread = outage(&mut slapd, hosts, base, offset).await?;
    report(
        &format!("offline_timeout_random_offset = {offset}"),
        &spread,
    );
    let late = spread[spread.len() - 1];
    if late > f64::from(base + offset) + 1.5 {
        bail!("a first retry came {late:.2} s after going offline");
    }
    Ok(())
}
