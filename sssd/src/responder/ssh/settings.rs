//! The options the ssh responder uses: the lookup settings it shares with NSS (domains,
//! filters, negative cache) and `[ssh]`.

use crate::config::{Config, ConfigError};
use crate::responder::common::settings::NssSettings;

/// SSSD 2.8's `ssh_known_hosts_timeout` default (seconds).
pub const DEFAULT_KNOWN_HOSTS_TIMEOUT: u32 = 180;

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
        let mut lookup = NssSettings::from_config(cfg, "")?;
        let idle = cfg.get_int("ssh", "client_idle_timeout", 60)?;
        lookup.client_idle_timeout = u32::try_from(idle.max(10)).unwrap_or(60);
        lookup.allowed_uids = cfg.get_list("ssh", "allowed_uids");
        let hash_known_hosts = cfg.get_bool("ssh", "ssh_hash_known_hosts", false)?;
        let t = cfg.get_int(
            "ssh",
            "ssh_known_hosts_timeout",
            i64::from(DEFAULT_KNOWN_HOSTS_TIMEOUT),
        )?;
        let known_hosts_timeout = u32::try_from(t).map_err(|_| {
            ConfigError::bad_value(
                "ssh",
                "ssh_known_hosts_timeout",
                &t.to_string(),
                "must be a number of seconds from 0 to 4294967295",
            )
        })?;
        Ok(SshSettings {
            lookup,
            hash_known_hosts,
            known_hosts_timeout,
        })
    }
}
