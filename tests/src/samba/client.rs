//! A client host of the DC: the sssd.conf `realm join` writes for it and a namespace in the
//! DC's network set up as a joined host (used by tests/tests/ad.rs and the AD benchmark).

use std::path::Path;

use super::{DC_FQDN, DC_IP, DNS_DOMAIN, REALM, SambaDc, krb5_conf_text};
use crate::error::{HarnessError, Result};
use crate::namespace::Namespace;
use crate::sssd::SssdConf;

/// The sssd.conf `realm join` writes for host `client` (`<client>.corp.example.com`):
/// `id_provider = ad`, `access_provider = ad`, cached credentials, ID mapping on; plus the
/// DC's name, GPOs permissive, `debug` as every debug level and the `extra` domain options.
pub fn realm_join_conf(client: &str, debug: &str, extra: &[(&str, &str)]) -> SssdConf {
    let s = format!("domain/{DNS_DOMAIN}");
    let mut c = SssdConf::new()
        .set("sssd", "services", "nss, pam")
        .set("sssd", "domains", DNS_DOMAIN)
        .set("nss", "debug_level", debug)
        .set("pam", "debug_level", debug)
        .set(&s, "debug_level", debug)
        .set(&s, "id_provider", "ad")
        .set(&s, "access_provider", "ad")
        .set(&s, "ad_domain", DNS_DOMAIN)
        .set(&s, "krb5_realm", REALM)
        .set(&s, "realmd_tags", "manages-system joined-with-adcli")
        .set(&s, "cache_credentials", "True")
        .set(&s, "krb5_store_password_if_offline", "True")
        .set(&s, "default_shell", "/bin/bash")
        .set(&s, "ad_server", DC_FQDN)
        .set(&s, "ad_hostname", &format!("{client}.{DNS_DOMAIN}"))
        .set(&s, "ad_gpo_access_control", "permissive");
    for (k, v) in extra {
        c = c.set(&s, k, v);
    }
    c
}

/// A namespace on `root` in `dc`'s network set up as a host joined with `keytab`: the DC as
/// DNS server, its name in /etc/hosts, the realm's krb5.conf and /etc/krb5.keytab.
pub fn joined_host(dc: &SambaDc, keytab: &Path, root: &Path) -> Result<Namespace> {
    let ns = Namespace::in_network_of(Some(root), dc.pid())?;
    let resolv = format!("nameserver {DC_IP}\nsearch {DNS_DOMAIN}\n");
    let keys = std::fs::read(keytab).map_err(|e| HarnessError::io("read", keytab, e))?;
    let hosts = dc.hosts_text();
    let krb5 = krb5_conf_text();
    let files: [(&str, &[u8], u32); 4] = [
        ("/etc/resolv.conf", resolv.as_bytes(), 0o644),
        ("/etc/hosts", hosts.as_bytes(), 0o644),
        ("/etc/krb5.conf", krb5.as_bytes(), 0o644),
        ("/etc/krb5.keytab", &keys, 0o600),
    ];
    for (path, data, mode) in files {
        ns.write_file(path, data, mode)?;
    }
    Ok(ns)
}
