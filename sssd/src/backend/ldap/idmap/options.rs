//! The `ldap_idmap_*` options, with SSSD 2.8's names, defaults
//! (`src/providers/ldap/ldap_opts.c`) and start-up validation
//! (`src/providers/ldap/sdap_idmap.c`).

use super::Sid;
use crate::config::options::domain_section;
use crate::config::{Config, ConfigError};

/// Options (SSSD's names and defaults): ldap_idmap_range_min (200000),
/// ldap_idmap_range_max (2000200000), ldap_idmap_range_size (200000),
/// ldap_idmap_default_domain_sid, ldap_idmap_default_domain, ldap_idmap_autorid_compat
/// (false), ldap_idmap_helper_table_size (10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdmapOptions {
    /// `ldap_idmap_range_min`: the first id of slice 0.
    pub range_min: u32,
    /// `ldap_idmap_range_max`: the bound slices stay below.
    pub range_max: u32,
    /// `ldap_idmap_range_size`: ids per slice (and so the RIDs a primary slice holds).
    pub range_size: u32,
    /// `ldap_idmap_default_domain_sid`: the domain that gets slice 0 on first start.
    pub default_domain_sid: Option<String>,
    /// `ldap_idmap_default_domain`: that domain's name (SSSD falls back to its own domain
    /// name).
    pub default_domain: Option<String>,
    /// `ldap_idmap_autorid_compat`: first free slice instead of a hashed one.
    pub autorid_compat: bool,
    /// `ldap_idmap_helper_table_size`: secondary slices computed per domain; 0 disables
    /// secondary slices, a negative value computes none ahead but still adds them on
    /// demand (as SSSD's signed option does).
    pub helper_table_size: i32,
}

impl Default for IdmapOptions {
    fn default() -> Self {
        IdmapOptions::defaults()
    }
}

impl IdmapOptions {
    /// SSSD's defaults.
    pub fn defaults() -> IdmapOptions {
        IdmapOptions {
            range_min: 200_000,
            range_max: 2_000_200_000,
            range_size: 200_000,
            default_domain_sid: None,
            default_domain: None,
            autorid_compat: false,
            helper_table_size: 10,
        }
    }

    /// The options of a domain (`domain` is its name or its full `domain/NAME` section),
    /// checked as SSSD checks them when the provider starts.
    pub fn from_config(cfg: &Config, domain: &str) -> Result<IdmapOptions, ConfigError> {
        let section = if cfg.has_section(domain) {
            domain.to_string()
        } else {
            domain_section(cfg, domain)?
        };
        let s = section.as_str();
        let d = IdmapOptions::defaults();
        let opts = IdmapOptions {
            range_min: id_number(cfg, s, "ldap_idmap_range_min", d.range_min)?,
            range_max: id_number(cfg, s, "ldap_idmap_range_max", d.range_max)?,
            range_size: id_number(cfg, s, "ldap_idmap_range_size", d.range_size)?,
            default_domain_sid: cfg
                .get(s, "ldap_idmap_default_domain_sid")
                .map(str::to_string),
            default_domain: cfg.get(s, "ldap_idmap_default_domain").map(str::to_string),
            autorid_compat: cfg.get_bool(s, "ldap_idmap_autorid_compat", d.autorid_compat)?,
            helper_table_size: {
                let v = cfg.get_int(
                    s,
                    "ldap_idmap_helper_table_size",
                    i64::from(d.helper_table_size),
                )?;
                i32::try_from(v).map_err(|_| {
                    bad(
                        cfg,
                        s,
                        "ldap_idmap_helper_table_size",
                        "expected a 32-bit integer",
                    )
                })?
            },
        };
        opts.validate(cfg, s)?;
        Ok(opts)
    }

    /// SSSD's start-up checks, each error naming the option at fault.
    fn validate(&self, cfg: &Config, s: &str) -> Result<(), ConfigError> {
        if self.range_size == 0 {
            return Err(bad(
                cfg,
                s,
                "ldap_idmap_range_size",
                "must be greater than 0",
            ));
        }
        if self.range_max <= self.range_min {
            return Err(bad(
                cfg,
                s,
                "ldap_idmap_range_max",
                format!(
                    "must be greater than ldap_idmap_range_min ({})",
                    self.range_min
                ),
            ));
        }
        if self.range_max - self.range_min < self.range_size {
            return Err(bad(
                cfg,
                s,
                "ldap_idmap_range_size",
                format!(
                    "larger than ldap_idmap_range_max - ldap_idmap_range_min ({})",
                    self.range_max - self.range_min
                ),
            ));
        }
        if let Some(text) = &self.default_domain_sid {
            let ok = Sid::parse(text).is_ok_and(|sid| sid.is_domain_sid());
            if !ok {
                return Err(bad(
                    cfg,
                    s,
                    "ldap_idmap_default_domain_sid",
                    "expected a domain SID S-1-5-21-X-Y-Z",
                ));
            }
        }
        Ok(())
    }
}

/// An id option: SSSD reads a C int, so 0 to 2147483647.
fn id_number(cfg: &Config, s: &str, option: &str, default: u32) -> Result<u32, ConfigError> {
    let v = cfg.get_int(s, option, i64::from(default))?;
    u32::try_from(v)
        .ok()
        .filter(|v| i32::try_from(*v).is_ok())
        .ok_or_else(|| bad(cfg, s, option, "expected a number from 0 to 2147483647"))
}

/// A [`ConfigError::BadValue`] for `option` with its configured value.
fn bad(cfg: &Config, s: &str, option: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::bad_value(s, option, cfg.get(s, option).unwrap_or_default(), message)
}
