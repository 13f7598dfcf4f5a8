//! Site-aware DC discovery, in SSSD's order: find the domain's DCs by DNS SRV, CLDAP-ping
//! them (in batches, the first good answer wins) to learn the client's site and the forest,
//! then list the site's DCs first and the domain's other DCs after them.
//!
//! SRV names are SSSD's: `_ldap._tcp.<domain>` and `_ldap._tcp.<site>._sites.<domain>`.

use super::cldap::{self, NetlogonInfo};
use crate::backend::dns::{self, DnsError, Srv};
use crate::config::dns_options::DnsOptions;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use std::future::Future;
use std::time::Duration;
use thiserror::Error;

/// Pings sent at once in each of the first two batches (MS-DISO 5.4.5.3, as SSSD).
const BATCH: usize = 5;
/// Wait after the first batch before the second; the second waits half of it.
const FIRST_BATCH_WAIT: Duration = Duration::from_millis(400);

/// What discovery needs from the network; [`SystemLocator`] is the real one.
pub trait Locator: Sync {
    /// The SRV records of the first of the full `names` that has any, with that name.
    fn srv(
        &self,
        names: &[String],
    ) -> impl Future<Output = Result<(String, Vec<Srv>), DnsError>> + Send;
    /// A CLDAP ping of `host` (port `port`) for the AD domain `domain`.
    fn ping(
        &self,
        host: &str,
        port: u16,
        domain: &str,
    ) -> impl Future<Output = Result<NetlogonInfo, String>> + Send;
}

/// DNS through `/etc/resolv.conf` with the domain's `dns_resolver_*` options, and CLDAP
/// pings over UDP.
#[derive(Debug, Clone)]
pub struct SystemLocator {
    dns: DnsOptions,
    ping_timeout: Duration,
}

impl SystemLocator {
    /// A locator with `dns`; each ping waits `dns_resolver_server_timeout` rounded down to
    /// whole seconds, at least one (as SSSD).
    pub fn new(dns: DnsOptions) -> SystemLocator {
        let ping_timeout = Duration::from_secs(dns.server_timeout.as_secs().max(1));
        SystemLocator { dns, ping_timeout }
    }
}

impl Locator for SystemLocator {
    async fn srv(&self, names: &[String]) -> Result<(String, Vec<Srv>), DnsError> {
        dns::lookup_srv(&self.dns, names).await
    }

    async fn ping(&self, host: &str, port: u16, domain: &str) -> Result<NetlogonInfo, String> {
        let mut addrs = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| format!("{host}: {e}"))?;
        let addr = addrs.next().ok_or_else(|| format!("{host}: no address"))?;
        cldap::ping(addr, domain, self.ping_timeout)
            .await
            .map_err(|e| format!("{host}: {e}"))
    }
}

/// What to look for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocateOptions {
    /// `ad_site`: use this site whatever the DCs say.
    pub ad_site: Option<String>,
    /// The site found last time (SSSD keeps it in the cache); its DCs are pinged first.
    pub cached_site: Option<String>,
    /// `dns_resolver_op_timeout`: bounds each round of SRV lookup and pings.
    pub op_timeout: Duration,
}

/// A DC to connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DcServer {
    /// DNS host name.
    pub host: String,
    /// LDAP port from the SRV record.
    pub port: u16,
}

/// The outcome of discovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DcLocation {
    /// The DCs in the order to try them: the site's first, then the rest of the domain's.
    pub servers: Vec<DcServer>,
    /// How many of `servers` are the primaries (the site's, or all when no site is known).
    pub primaries: usize,
    /// The client's site (`ad_site` when set), if known.
    pub site: Option<String>,
    /// The forest (from the ping; the domain when `ad_site` is set and no DC answered).
    pub forest: Option<String>,
    /// The ping answer used, if any.
    pub netlogon: Option<NetlogonInfo>,
}

/// Why no DC was found.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LocateError {
    /// No SRV records for the domain (nor its site).
    #[error("no domain controller found for {domain}: {source}")]
    NoServers {
        /// The AD domain.
        domain: String,
        /// What DNS said.
        source: DnsError,
    },
}

/// `_ldap._tcp.<domain>`.
pub fn domain_srv_name(domain: &str) -> String {
    format!("_ldap._tcp.{domain}")
}

/// `_ldap._tcp.<site>._sites.<domain>`.
pub fn site_srv_name(site: &str, domain: &str) -> String {
    format!("_ldap._tcp.{site}._sites.{domain}")
}

/// Whether `host` is `domain` or a name inside it.
fn host_in_domain(host: &str, domain: &str) -> bool {
    let h = host.trim_end_matches('.').as_bytes();
    let d = domain.trim_end_matches('.').as_bytes();
    match h.len().checked_sub(d.len()) {
        Some(0) => h.eq_ignore_ascii_case(d),
        Some(extra) => {
            h.get(extra - 1) == Some(&b'.')
                && h.get(extra..).is_some_and(|t| t.eq_ignore_ascii_case(d))
        }
        None => false,
    }
}

/// Within each run of equal priority, hosts inside `domain` move ahead of the others
/// (keeping their relative order), as SSSD prefers DCs of its own domain over the forest's.
pub fn sort_by_domain(records: Vec<Srv>, domain: &str) -> Vec<Srv> {
    let mut out = Vec::with_capacity(records.len());
    for group in crate::backend::dns::srv::priority_runs(records) {
        let (inside, outside): (Vec<Srv>, Vec<Srv>) = group
            .into_iter()
            .partition(|r| host_in_domain(&r.target, domain));
        out.extend(inside);
        out.extend(outside);
    }
    out
}

/// Pings `dcs` in batches (5 at once, 5 more after 400 ms, the rest after 200 ms more, or
/// sooner when every ping sent has failed); the first good answer wins.
pub async fn ping_parallel<L: Locator>(
    l: &L,
    dcs: &[Srv],
    domain: &str,
) -> Result<NetlogonInfo, Vec<String>> {
    let mut running = FuturesUnordered::new();
    let mut errors = Vec::new();
    let mut next = 0;
    let mut batch = 1u32;
    while next < dcs.len() {
        let (limit, wait) = match batch {
            1 | 2 => (
                (next + BATCH).min(dcs.len()),
                Some(FIRST_BATCH_WAIT / batch),
            ),
            _ => (dcs.len(), None),
        };
        for dc in &dcs[next..limit] {
            let host = dc.target.clone();
            running.push(async move {
                let r = l.ping(&dc.target, dc.port, domain).await;
                (host, r)
            });
        }
        next = limit;
        batch += 1;
        let timer = async {
            match wait {
                Some(w) => tokio::time::sleep(w).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(timer);
        loop {
            tokio::select! {
                done = running.next(), if !running.is_empty() => match done {
                    Some((host, Ok(info))) => {
                        tracing::debug!("CLDAP ping: {host} answered first");
                        return Ok(info);
                    }
                    Some((_, Err(e))) => {
                        tracing::debug!("CLDAP ping failed: {e}");
                        errors.push(e);
                        if running.is_empty() {
                            break;
                        }
                    }
                    None => break,
                },
                () = &mut timer => break,
                else => break,
            }
        }
    }
    // Every DC has been asked: wait for the pings still out.
    while let Some((host, r)) = running.next().await {
        match r {
            Ok(info) => {
                tracing::debug!("CLDAP ping: {host} answered first");
                return Ok(info);
            }
            Err(e) => errors.push(e),
        }
    }
    Err(errors)
}

/// One round: the DCs of SRV `name`, pinged; bounded by `op_timeout`.
async fn ping_round<L: Locator>(
    l: &L,
    name: String,
    domain: &str,
    op_timeout: Duration,
) -> Result<NetlogonInfo, String> {
    let work = async {
        let (_, dcs) = l
            .srv(std::slice::from_ref(&name))
            .await
            .map_err(|e| e.to_string())?;
        ping_parallel(l, &dcs, domain)
            .await
            .map_err(|e| format!("{name}: no DC answered: {}", e.join("; ")))
    };
    match tokio::time::timeout(op_timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "{name}: no answer within {} s",
            op_timeout.as_secs()
        )),
    }
}

/// Learns the site and forest by pinging: the known site's DCs first, then the domain's.
async fn ping_for_site<L: Locator>(
    l: &L,
    domain: &str,
    opts: &LocateOptions,
) -> Option<NetlogonInfo> {
    let known = opts.ad_site.as_ref().or(opts.cached_site.as_ref());
    if let Some(site) = known {
        match ping_round(l, site_srv_name(site, domain), domain, opts.op_timeout).await {
            Ok(info) => return Some(info),
            Err(e) => tracing::info!("CLDAP ping in site {site}: {e}"),
        }
    }
    match ping_round(l, domain_srv_name(domain), domain, opts.op_timeout).await {
        Ok(info) => Some(info),
        Err(e) => {
            tracing::warn!("unable to learn the AD site and forest of {domain}: {e}");
            None
        }
    }
}

fn servers(records: Vec<Srv>, domain: &str) -> Vec<DcServer> {
    sort_by_domain(records, domain)
        .into_iter()
        .map(|r| DcServer {
            host: r.target,
            port: r.port,
        })
        .collect()
}

/// The DCs of the AD domain `domain` in the order to try them, with the client's site and
/// the forest.
pub async fn locate<L: Locator>(
    l: &L,
    domain: &str,
    opts: &LocateOptions,
) -> Result<DcLocation, LocateError> {
    let netlogon = ping_for_site(l, domain, opts).await;
    let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_string());
    let mut site = netlogon.as_ref().and_then(|n| n.site().map(str::to_string));
    let mut forest = netlogon.as_ref().and_then(|n| nonempty(&n.forest));
    if let Some(s) = &opts.ad_site {
        if site.as_ref().is_some_and(|found| found != s) {
            tracing::debug!("ignoring the site the DC names ({site:?}); ad_site is {s}");
        }
        site = Some(s.clone());
        forest = forest.or_else(|| Some(domain.to_string()));
    }
    let whole = domain_srv_name(domain);
    let mut names = Vec::new();
    if let Some(s) = &site {
        names.push(site_srv_name(s, domain));
    }
    names.push(whole.clone());
    let (answered, found) = l
        .srv(&names)
        .await
        .map_err(|source| LocateError::NoServers {
            domain: domain.to_string(),
            source,
        })?;
    let mut primary = servers(found, domain);
    dedup(&mut primary, &[]);
    let mut backup = if answered != whole {
        match l.srv(std::slice::from_ref(&whole)).await {
            Ok((_, found)) => servers(found, domain),
            Err(e) => {
                tracing::info!("no backup servers for {domain}: {e}");
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    dedup(&mut backup, &primary);
    let primaries = primary.len();
    primary.extend(backup);
    Ok(DcLocation {
        servers: primary,
        primaries,
        site,
        forest,
        netlogon,
    })
}

/// Drops from `list` the servers already in `before` or earlier in `list`.
fn dedup(list: &mut Vec<DcServer>, before: &[DcServer]) {
    let same =
        |a: &DcServer, b: &DcServer| a.port == b.port && a.host.eq_ignore_ascii_case(&b.host);
    let mut kept: Vec<DcServer> = Vec::with_capacity(list.len());
    for s in list.drain(..) {
        if !before.iter().chain(kept.iter()).any(|b| same(b, &s)) {
            kept.push(s);
        }
    }
    *list = kept;
}

#[cfg(test)]
mod tests;
