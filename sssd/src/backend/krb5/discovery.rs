//! `_srv_` in `krb5_server`, `krb5_backup_server`, `krb5_kpasswd` and
//! `krb5_backup_kpasswd`: replaced, for each request, by the KDCs (`_kerberos`) or password
//! servers (`_kpasswd`) DNS names in the discovery domain, UDP records first then TCP.

use crate::backend::dns;
use crate::config::Krb5Options;
use crate::config::dns_options::{DnsOptions, is_srv_keyword};
use std::borrow::Cow;

/// `opts` with every `_srv_` of its server lists replaced by the servers found in DNS
/// (`host:port`, in RFC 2782 order); unchanged (borrowed) when no list uses `_srv_`. A
/// discovery that finds nothing is logged and contributes no server: libkrb5 then falls
/// back to krb5.conf and its own DNS lookups for the realm.
pub async fn with_discovered_servers<'a>(
    opts: &'a Krb5Options,
    dns: &DnsOptions,
) -> Cow<'a, Krb5Options> {
    let uses = |l: &[String]| l.iter().any(|s| is_srv_keyword(s));
    if !uses(&opts.servers) && !uses(&opts.kpasswd) {
        return Cow::Borrowed(opts);
    }
    let mut out = opts.clone();
    if uses(&opts.servers) {
        out.servers = expand(&opts.servers, dns, "kerberos").await;
    }
    if uses(&opts.kpasswd) {
        out.kpasswd = expand(&opts.kpasswd, dns, "kpasswd").await;
    }
    Cow::Owned(out)
}

async fn expand(list: &[String], dns: &DnsOptions, service: &str) -> Vec<String> {
    let found = match dns::discover(dns, service, &["udp", "tcp"]).await {
        Ok(records) => records
            .iter()
            .map(|r| format!("{}:{}", r.target, r.port))
            .collect(),
        Err(e) => {
            tracing::error!(
                "domain {}: {e} (krb5 _srv_; dns_discovery_domain {})",
                dns.sssd_domain,
                dns.discovery_domain.as_deref().unwrap_or("unset")
            );
            Vec::new()
        }
    };
    let mut out: Vec<String> = Vec::new();
    for entry in list {
        let items: Vec<&String> = if is_srv_keyword(entry) {
            found.iter().collect()
        } else {
            vec![entry]
        };
        for s in items {
            if !out.contains(s) {
                out.push(s.clone());
            }
        }
    }
    out
}
