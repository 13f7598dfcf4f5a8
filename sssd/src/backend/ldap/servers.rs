//! The LDAP servers of a domain: `ldap_uri` then `ldap_backup_uri`, with each `_srv_` (and an
//! unset `ldap_uri`) replaced by the servers DNS names for `_ldap._tcp` in the discovery
//! domain, and the servers that failed lately set aside for a while.

use super::connection::ConnectError;
use crate::backend::ad::locate::{LocateError, LocateOptions, SystemLocator, locate};
use crate::backend::dns::{self, DnsError};
use crate::config::LdapOptions;
use crate::config::ad::AdDiscovery;
use crate::config::dns_options::{DnsOptions, is_srv_keyword};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long an AD discovery (site and DCs) is kept before it is done again.
const AD_DISCOVERY_KEEP: Duration = Duration::from_secs(900);

/// The URI of a discovered DC: LDAP on its SRV port, or LDAPS on 636 with `ad_use_ldaps`.
fn dc_uri(host: &str, port: u16, ldaps: bool) -> String {
    let host = host.trim_end_matches('.');
    if ldaps {
        format!("ldaps://{host}:636")
    } else {
        format!("ldap://{host}:{port}")
    }
}

/// How long a server that failed is skipped (SSSD's fixed 30 seconds).
pub const RETRY_AFTER: Duration = Duration::from_secs(30);
/// Bounds on how long a discovery is kept (the records' TTL, within these).
const DISCOVERY_MIN: Duration = Duration::from_secs(30);
const DISCOVERY_MAX: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone)]
struct Discovered {
    uris: Vec<String>,
    at: Instant,
    keep: Duration,
}

/// The configured server lists and what discovery made of them.
#[derive(Debug)]
pub struct ServerList {
    /// Primaries then backups as configured (may hold `_srv_`).
    configured: Vec<String>,
    primaries: usize,
    dns: DnsOptions,
    /// AD domains: DCs found by site (CLDAP ping), not plain SRV order.
    ad: Option<AdDiscovery>,
    /// The site the last AD discovery found (its DCs are pinged first next time).
    site: Mutex<Option<String>>,
    discovered: Mutex<Option<Discovered>>,
    /// The list as last expanded, and its number of primaries.
    current: Mutex<(Vec<String>, usize)>,
    primaries_now: AtomicUsize,
    failed: Mutex<HashMap<String, Instant>>,
}

impl ServerList {
    /// The lists of `opts`.
    pub fn new(opts: &LdapOptions) -> ServerList {
        let configured = opts.servers();
        let primaries = opts.uris.len();
        let static_list =
            (!configured.iter().any(|s| is_srv_keyword(s))).then(|| configured.clone());
        ServerList {
            current: Mutex::new((static_list.clone().unwrap_or_default(), primaries)),
            primaries_now: AtomicUsize::new(primaries),
            configured,
            primaries,
            dns: opts.dns.clone(),
            ad: opts.ad_discovery.clone(),
            site: Mutex::new(None),
            discovered: Mutex::new(None),
            failed: Mutex::new(HashMap::new()),
        }
    }

    fn uses_discovery(&self) -> bool {
        self.configured.iter().any(|s| is_srv_keyword(s))
    }

    /// The number of primaries in the list as last expanded.
    pub fn primaries_now(&self) -> usize {
        self.primaries_now.load(Ordering::Relaxed)
    }

    /// The list as last expanded.
    pub fn current(&self) -> Vec<String> {
        lock(&self.current).0.clone()
    }

    /// The servers to try now (primaries first) and the number of primaries, asking DNS when
    /// `_srv_` is used and the last answer is too old. Err only when the list comes out
    /// empty because discovery failed.
    pub async fn expand(&self) -> Result<(Vec<String>, usize), ConnectError> {
        if !self.uses_discovery() {
            return Ok((self.configured.clone(), self.primaries));
        }
        let cached = lock(&self.discovered).clone();
        let fresh = cached.as_ref().filter(|d| d.at.elapsed() < d.keep).cloned();
        let (found, error) = match fresh {
            Some(d) => (d.uris, None),
            None => match self.discover().await {
                Ok((uris, keep)) => {
                    *lock(&self.discovered) = Some(Discovered {
                        uris: uris.clone(),
                        at: Instant::now(),
                        keep,
                    });
                    (uris, None)
                }
                Err(e) => {
                    tracing::error!(
                        "domain {}: {e} (ldap_uri _srv_; dns_discovery_domain {})",
                        self.dns.sssd_domain,
                        self.dns.discovery_domain.as_deref().unwrap_or("unset")
                    );
                    // The servers found before, if any, rather than none.
                    (cached.map(|d| d.uris).unwrap_or_default(), Some(e))
                }
            },
        };
        let (list, primaries) = splice(&self.configured, self.primaries, &found);
        *lock(&self.current) = (list.clone(), primaries);
        self.primaries_now.store(primaries, Ordering::Relaxed);
        if list.is_empty() {
            let why = error.unwrap_or(DnsError::NotFound(Vec::new()));
            return Err(ConnectError::NotDiscovered(why.to_string()));
        }
        Ok((list, primaries))
    }

    /// The servers DNS (and, for AD, the DCs' CLDAP answers) name now, and how long to keep
    /// the answer.
    async fn discover(&self) -> Result<(Vec<String>, Duration), DnsError> {
        if let Some(ad) = self.ad.as_ref().filter(|a| a.sites) {
            return self.locate_dcs(ad).await;
        }
        let records = dns::discover(&self.dns, "ldap", &["tcp"]).await?;
        let keep = records
            .iter()
            .map(|r| Duration::from_secs(u64::from(r.ttl)))
            .min()
            .unwrap_or(DISCOVERY_MIN)
            .clamp(DISCOVERY_MIN, DISCOVERY_MAX);
        let ldaps = self.ad.as_ref().is_some_and(|a| a.ldaps);
        let uris = records
            .iter()
            .map(|r| dc_uri(&r.target, r.port, ldaps))
            .collect();
        Ok((uris, keep))
    }

    /// AD: the DCs of this host's site first (found by a CLDAP ping, or `ad_site`), then
    /// the rest of the domain's, as SSSD orders them.
    async fn locate_dcs(&self, ad: &AdDiscovery) -> Result<(Vec<String>, Duration), DnsError> {
        let domain = self
            .dns
            .discovery_domain
            .clone()
            .unwrap_or_else(|| self.dns.sssd_domain.clone());
        let opts = LocateOptions {
            ad_site: ad.site.clone(),
            cached_site: lock(&self.site).clone(),
            op_timeout: self.dns.op_timeout,
        };
        let locator = SystemLocator::new(self.dns.clone());
        let found = locate(&locator, &domain, &opts)
            .await
            .map_err(|LocateError::NoServers { source, .. }| source)?;
        if let Some(site) = &found.site {
            tracing::info!("domain {domain}: site {site}, DCs {:?}", found.servers);
        }
        *lock(&self.site) = found.site.clone();
        let uris = found
            .servers
            .iter()
            .map(|s| dc_uri(&s.host, s.port, ad.ldaps))
            .collect();
        Ok((uris, AD_DISCOVERY_KEEP))
    }

    /// Makes the next [`ServerList::expand`] ask DNS again.
    pub fn forget_discovery(&self) {
        if let Some(d) = lock(&self.discovered).as_mut() {
            d.keep = Duration::ZERO;
        }
    }

    /// Records that `uri` could not be used.
    pub fn failed(&self, uri: &str) {
        lock(&self.failed).insert(uri.to_string(), Instant::now());
    }

    /// Whether `uri` failed within the last [`RETRY_AFTER`].
    pub fn failed_lately(&self, uri: &str) -> bool {
        lock(&self.failed)
            .get(uri)
            .is_some_and(|t| t.elapsed() < RETRY_AFTER)
    }

    /// Records that `uri` works again.
    pub fn succeeded(&self, uri: &str) {
        lock(&self.failed).remove(uri);
    }

    /// `order` without the servers that failed within [`RETRY_AFTER`], unless that leaves
    /// none (then every server is tried: the domain is about to go offline otherwise).
    pub fn skip_recently_failed(&self, servers: &[String], order: Vec<usize>) -> Vec<usize> {
        let failed = lock(&self.failed);
        let kept: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&i| {
                failed
                    .get(&servers[i])
                    .is_none_or(|t| t.elapsed() >= RETRY_AFTER)
            })
            .collect();
        if kept.is_empty() {
            order
        } else {
            if kept.len() < order.len() {
                tracing::debug!(
                    "skipping {} LDAP server(s) that failed within the last {} s",
                    order.len() - kept.len(),
                    RETRY_AFTER.as_secs()
                );
            }
            kept
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `configured` (its first `primaries` entries primary) with each `_srv_` replaced by
/// `found`, duplicates dropped; returns the list and its number of primaries.
fn splice(configured: &[String], primaries: usize, found: &[String]) -> (Vec<String>, usize) {
    let mut list: Vec<String> = Vec::new();
    let mut count = 0;
    for (i, entry) in configured.iter().enumerate() {
        let items: Vec<&String> = if is_srv_keyword(entry) {
            found.iter().collect()
        } else {
            vec![entry]
        };
        for u in items {
            if !list.contains(u) {
                list.push(u.clone());
                if i < primaries {
                    count += 1;
                }
            }
        }
    }
    (list, count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn srv_keyword_is_replaced_in_place() {
        let found = s(&["ldap://a:389", "ldap://b:389"]);
        let (list, p) = splice(&s(&["_srv_", "ldap://fixed"]), 2, &found);
        assert_eq!(list, s(&["ldap://a:389", "ldap://b:389", "ldap://fixed"]));
        assert_eq!(p, 3);
        let (list, p) = splice(&s(&["ldap://fixed", "_SRV_"]), 1, &found);
        assert_eq!(list, s(&["ldap://fixed", "ldap://a:389", "ldap://b:389"]));
        assert_eq!(p, 1);
        let (list, p) = splice(&s(&["_srv_", "ldap://a:389"]), 1, &found);
        assert_eq!(list, s(&["ldap://a:389", "ldap://b:389"]));
        assert_eq!(p, 2);
        assert_eq!(splice(&s(&["_srv_"]), 1, &[]), (vec![], 0));
    }

    #[test]
    fn failed_servers_are_skipped_unless_all_failed() {
        let mut o = crate::backend::ldap::test_options();
        o.uris = s(&["ldap://a", "ldap://b", "ldap://c"]);
        let l = ServerList::new(&o);
        let servers = o.servers();
        l.failed("ldap://a");
        assert_eq!(l.skip_recently_failed(&servers, vec![0, 1, 2]), [1, 2]);
        l.failed("ldap://b");
        l.failed("ldap://c");
        assert_eq!(l.skip_recently_failed(&servers, vec![0, 1, 2]), [0, 1, 2]);
        l.succeeded("ldap://c");
        assert_eq!(l.skip_recently_failed(&servers, vec![0, 1, 2]), [2]);
    }
}
