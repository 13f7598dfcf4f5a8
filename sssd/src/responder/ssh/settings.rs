//! The options the ssh responder uses: the lookup settings it shares with NSS (domains,
//! filters, negative cache) and `[ssh]`.

use crate::config::{Config, ConfigError, schema};
use crate::responder::common::settings::NssSettings;

/// Everything the ssh responder is configured with.
#[derive(Debug, Clone)]
pub struct SshSettings {
    /// Domains, filters and lookup options (shared with NSS).
    pub lookup: NssSettings,
    /// `ssh_hash_known_hosts` (false): write host names hashed (`|1|salt|hash`) in the
    /// known hosts file.
    pub hash_known_hosts: bool,
    /// `ssh_known_hosts_timeout` seconds (180): how long a host looked up stays in the
    /// known hosts file.
    pub known_hosts_timeout: u32,
}

impl SshSettings {
    /// Builds the settings: `[nss]`/domain lookup options, with `[ssh] client_idle_timeout`
    /// (default 60, at least 10), `[ssh] allowed_uids`, `ssh_hash_known_hosts` and
    /// `ssh_known_hosts_timeout`.
    pub fn from_config(cfg: &Config) -> Result<SshSettings, ConfigError> {
        const S: &str = "ssh";
        let mut lookup = NssSettings::from_config(cfg, "")?;
        lookup.nss.client_idle_timeout = schema::CLIENT_IDLE_TIMEOUT.read(cfg, S)?;
        lookup.nss.allowed_uids = schema::ALLOWED_UIDS.read(cfg, S);
        lookup.cache_first = schema::CACHE_FIRST.read(cfg, S)?;
        let hash_known_hosts = schema::SSH_HASH_KNOWN_HOSTS.read(cfg, S)?;
        let known_hosts_timeout = schema::SSH_KNOWN_HOSTS_TIMEOUT.read(cfg, S)?;
        Ok(SshSettings {
            lookup,
            hash_known_hosts,
            known_hosts_timeout,
        })
    }
}
