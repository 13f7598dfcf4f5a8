//! The options the ssh responder uses: the lookup settings it shares with NSS (domains,
//! filters, negative cache) and `[ssh]`.

use crate::config::{Config, ConfigError};
use crate::responder::common::settings::NssSettings;

/// Everything the ssh responder is configured with.
#[derive(Debug, Clone)]
pub struct SshSettings {
    /// Domains, filters and lookup options (shared with NSS).
    pub lookup: NssSettings,
}

impl SshSettings {
    /// Builds the settings: `[nss]`/domain lookup options, with `[ssh] client_idle_timeout`
    /// (default 60, at least 10) and `[ssh] allowed_uids`.
    pub fn from_config(cfg: &Config) -> Result<SshSettings, ConfigError> {
        let mut lookup = NssSettings::from_config(cfg, "")?;
        let idle = cfg.get_int("ssh", "client_idle_timeout", 60)?;
        lookup.client_idle_timeout = u32::try_from(idle.max(10)).unwrap_or(60);
        lookup.allowed_uids = cfg.get_list("ssh", "allowed_uids");
        Ok(SshSettings { lookup })
    }
}
