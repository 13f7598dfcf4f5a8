//! Service discovery (RFC 2782) for the `_srv_` keyword of server lists and for domains
//! without a configured server: SRV queries to the name servers of `/etc/resolv.conf`,
//! bounded by the `dns_resolver_*` timeouts, in the discovery domain SSSD would use.

pub mod message;
mod resolv_conf;
pub mod srv;
mod transport;

use crate::config::dns_options::DnsOptions;
pub use message::Srv;
use std::ffi::{CStr, CString};
use thiserror::Error;

/// Where the name servers are read from (on every discovery, so edits apply at once).
pub const RESOLV_CONF: &str = "/etc/resolv.conf";

/// Why discovery found no server.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DnsError {
    /// No SRV record in any discovery domain; one reason per name asked.
    #[error("DNS service discovery found no server: {}", .0.join("; "))]
    NotFound(Vec<String>),
    /// `dns_resolver_timeout` ran out.
    #[error(
        "DNS service discovery of {what} did not finish within dns_resolver_timeout ({secs} s)"
    )]
    Timeout {
        /// The service asked for.
        what: String,
        /// The limit.
        secs: u64,
    },
}

/// The domains searched, in order: `dns_discovery_domain` alone when set, otherwise the
/// domain of the host's fully qualified name, then the SSSD domain's name.
pub async fn discovery_domains(opts: &DnsOptions) -> Vec<String> {
    if let Some(d) = &opts.discovery_domain {
        return vec![d.clone()];
    }
    let detected = tokio::task::spawn_blocking(host_domain)
        .await
        .ok()
        .flatten();
    let mut out: Vec<String> = detected.into_iter().collect();
    if !out
        .iter()
        .any(|d| d.eq_ignore_ascii_case(&opts.sssd_domain))
    {
        out.push(opts.sssd_domain.clone());
    }
    out
}

/// Finds the servers of `service` (`ldap`, `kerberos`, ...), trying `protocols` in order
/// (`tcp`, or `udp` then `tcp` for Kerberos) in each discovery domain; the first name with
/// records wins. The servers come in the order they are to be tried.
pub async fn discover(
    opts: &DnsOptions,
    service: &str,
    protocols: &[&str],
) -> Result<Vec<Srv>, DnsError> {
    let what = format!("_{service}");
    let work = async {
        let mut names = Vec::new();
        for domain in discovery_domains(opts).await {
            for proto in protocols {
                names.push(format!("_{service}._{proto}.{domain}"));
            }
        }
        first_answer(opts, &names).await.map(|(_, srv)| srv)
    };
    match tokio::time::timeout(opts.resolver_timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(DnsError::Timeout {
            what,
            secs: opts.resolver_timeout.as_secs(),
        }),
    }
}

/// Asks for the SRV records of each full name in `names` in turn (such as
/// `_ldap._tcp.corp.example.com`); the first name with records wins and comes back with its
/// servers in the order they are to be tried. Bounded by `dns_resolver_timeout` as a whole
/// and `dns_resolver_op_timeout` per name.
pub async fn lookup_srv(
    opts: &DnsOptions,
    names: &[String],
) -> Result<(String, Vec<Srv>), DnsError> {
    let what = names.first().cloned().unwrap_or_default();
    match tokio::time::timeout(opts.resolver_timeout, first_answer(opts, names)).await {
        Ok(r) => r,
        Err(_) => Err(DnsError::Timeout {
            what,
            secs: opts.resolver_timeout.as_secs(),
        }),
    }
}

/// The first of `names` with SRV records, and its records in the order to try them.
async fn first_answer(opts: &DnsOptions, names: &[String]) -> Result<(String, Vec<Srv>), DnsError> {
    let text = tokio::fs::read_to_string(RESOLV_CONF)
        .await
        .unwrap_or_default();
    let servers = resolv_conf::nameservers(&text);
    let mut reasons = Vec::new();
    for name in names {
        let asked = tokio::time::timeout(
            opts.op_timeout,
            transport::query(&servers, name, message::TYPE_SRV, opts.server_timeout),
        )
        .await;
        match asked {
            Ok(Ok(reply)) if reply.rcode == 0 && !reply.srv.is_empty() => {
                let ordered = srv::order(reply.srv, random_up_to);
                if ordered.is_empty() {
                    reasons.push(format!("{name}: the service is not offered (target .)"));
                    continue;
                }
                tracing::info!(
                    "SRV {name}: {}",
                    ordered
                        .iter()
                        .map(|s| format!(
                            "{}:{} (priority {}, weight {})",
                            s.target, s.port, s.priority, s.weight
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                return Ok((name.clone(), ordered));
            }
            Ok(Ok(reply)) if reply.rcode == 3 => {
                reasons.push(format!("{name}: no such name"));
            }
            Ok(Ok(reply)) if reply.rcode == 0 => {
                reasons.push(format!("{name}: no SRV records"));
            }
            Ok(Ok(reply)) => reasons.push(format!("{name}: rcode {}", reply.rcode)),
            Ok(Err(e)) => reasons.push(format!("{name}: {e}")),
            Err(_) => reasons.push(format!(
                "{name}: no answer within dns_resolver_op_timeout ({} s)",
                opts.op_timeout.as_secs()
            )),
        }
    }
    Err(DnsError::NotFound(reasons))
}

/// A random number in `0..=n` (for the weighted order of SRV targets).
fn random_up_to(n: u32) -> u32 {
    use ring::rand::{SecureRandom, SystemRandom};
    let mut b = [0u8; 4];
    if SystemRandom::new().fill(&mut b).is_err() {
        return 0;
    }
    let r = u32::from_ne_bytes(b);
    if n == u32::MAX { r } else { r % (n + 1) }
}

/// The domain part of the host's fully qualified name: the host name when it holds a dot,
/// otherwise the canonical name the resolver gives for it (files, then DNS).
fn host_domain() -> Option<String> {
    let name = nix::unistd::gethostname().ok()?.into_string().ok()?;
    let fqdn = if name.contains('.') {
        name
    } else {
        canonical_name(&name).unwrap_or(name)
    };
    fqdn.split_once('.')
        .map(|(_, d)| d.trim_end_matches('.').to_string())
        .filter(|d| !d.is_empty())
}

/// `getaddrinfo(name, AI_CANONNAME)`'s canonical name (blocking).
fn canonical_name(name: &str) -> Option<String> {
    let c = CString::new(name).ok()?;
    // SAFETY: zeroed addrinfo is a valid "no hints" value; the fields set are plain ints.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_flags = libc::AI_CANONNAME;
    hints.ai_socktype = libc::SOCK_STREAM;
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: valid C string, hints and result pointers; res is freed below.
    let rc = unsafe { libc::getaddrinfo(c.as_ptr(), std::ptr::null(), &hints, &mut res) };
    if rc != 0 || res.is_null() {
        return None;
    }
    // SAFETY: res is a list from getaddrinfo; ai_canonname is NULL or a C string.
    unsafe {
        let p = (*res).ai_canonname;
        let out = (!p.is_null()).then(|| CStr::from_ptr(p).to_string_lossy().into_owned());
        libc::freeaddrinfo(res);
        out
    }
}
