//! sssd.conf and conf.d/*.conf: a strict parser matching SSSD's (ding-libs) syntax, and
//! typed options with SSSD's names and defaults.
//!
//! API contract (implementations must keep these signatures): [`Config::load`],
//! [`Config::parse`], [`Config::get`], [`Config::get_bool`], [`Config::get_int`],
//! [`Config::get_list`], [`Config::domains`], [`Config::services`], and the typed option
//! structs in [`options`] built by their `from_config` functions.

pub mod access_options;
pub mod ad;
pub mod ad_gpo;
pub mod auth_options;
pub mod check;
pub mod ciphers;
pub mod dns_options;
pub mod implicit_files;
mod known;
pub mod ldap_conf;
pub mod learned;
mod load;
pub mod maps;
pub mod name_regex;
pub mod netgroup_options;
pub mod options;
#[cfg(test)]
mod options_tests;
mod parse;
pub mod schema;
#[cfg(test)]
mod tests;
pub mod tls_options;

use std::path::Path;
use thiserror::Error;

pub use access_options::{AccessAttrs, LdapAccessOptions};
pub use auth_options::{AuthOptions, Krb5Options, PamOptions, SaslOptions, SimpleAccessOptions};
pub use maps::MapOptions;
pub use options::{DomainOptions, LdapOptions, NssOptions, PrivateGroups, SssdOptions};
pub use tls_options::TlsOptions;

/// Prefix of domain section names (`[domain/NAME]`).
pub const DOMAIN_PREFIX: &str = "domain/";

/// Why the configuration is unusable.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A syntax error.
    #[error("{path}:{line}: {message}")]
    Syntax {
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Ownership or mode is unsafe.
    #[error("{path}: {message}")]
    Permission {
        /// The file.
        path: String,
        /// What is wrong, naming owner and mode.
        message: String,
    },
    /// An option has a value of the wrong kind.
    #[error("[{section}] {option} = {value:?}: {message}")]
    BadValue {
        /// Section name.
        section: String,
        /// Option name.
        option: String,
        /// The value found.
        value: String,
        /// What was expected.
        message: String,
    },
    /// Something required is missing (for example no domain is configured).
    #[error("{0}")]
    Missing(String),
}

impl ConfigError {
    /// A [`ConfigError::BadValue`] for `[section] option = value`.
    pub fn bad_value(section: &str, option: &str, value: &str, message: impl Into<String>) -> Self {
        ConfigError::BadValue {
            section: section.to_string(),
            option: option.to_string(),
            value: value.to_string(),
            message: message.into(),
        }
    }
}

/// One `[name]` section: options in order of first appearance, later values replacing
/// earlier ones. Option names compare case-insensitively (as in ding-libs and SSSD's confdb);
/// the first spelling is kept.
#[derive(Clone, Default, PartialEq, Eq)]
struct Section {
    name: String,
    options: Vec<(String, String)>,
}

impl Section {
    fn set(&mut self, key: &str, value: &str) {
        match self
            .options
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
        {
            Some(slot) => slot.1 = value.to_string(),
            None => self.options.push((key.to_string(), value.to_string())),
        }
    }
}

/// A parsed configuration: sections in file order, options within them. Section and option
/// names are matched case-insensitively, as SSSD does.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Config {
    sections: Vec<Section>,
    /// Files that contributed, in merge order (main file first).
    files: Vec<String>,
    /// Where each section header and option line was read, in reading order.
    locations: Vec<Location>,
    /// conf.d snippets left out because of their owner or mode, with the reason.
    skipped: Vec<(String, String)>,
}

/// Where a section header or an option was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The section.
    pub section: String,
    /// The option, or `None` for the section header.
    pub option: Option<String>,
    /// The file (or origin) it was read from.
    pub file: String,
    /// Its line number, from 1.
    pub line: usize,
}

/// Whether an option's value is a secret that must never be printed.
pub fn is_secret_option(option: &str) -> bool {
    option.contains("authtok") || option.contains("password") || option.ends_with("_secret")
}

impl Drop for Section {
    fn drop(&mut self) {
        for (k, v) in &mut self.options {
            if is_secret_option(k) {
                zeroize::Zeroize::zeroize(v);
            }
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut map = f.debug_map();
        for s in &self.sections {
            let opts: Vec<(&str, &str)> = s
                .options
                .iter()
                .map(|(k, v)| {
                    let shown = if is_secret_option(k) {
                        "<redacted>"
                    } else {
                        v.as_str()
                    };
                    (k.as_str(), shown)
                })
                .collect();
            map.entry(&s.name, &opts);
        }
        map.finish()
    }
}

impl Config {
    /// Reads `file` and, when `snippets` is given, every `*.conf` there not starting with `.`
    /// (in name order, later values win). Each file must be owned by root, and have no
    /// "other" permission bits: the main file fails the load, a snippet is left out (as
    /// SSSD does) and listed by [`Config::skipped_snippets`].
    pub fn load(file: &Path, snippets: Option<&Path>) -> Result<Config, ConfigError> {
        load::load(file, snippets)
    }

    /// Parses configuration text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let mut cfg = Config::default();
        parse::parse_into(&mut cfg, text, origin)?;
        cfg.files.push(origin.to_string());
        Ok(cfg)
    }

    /// Merges `other` over `self`: its sections are appended or merged, its values win.
    pub fn merge(&mut self, mut other: Config) {
        for sec in std::mem::take(&mut other.sections) {
            let target = self.section_mut(&sec.name);
            for (k, v) in &sec.options {
                target.set(k, v);
            }
        }
        self.files.extend(std::mem::take(&mut other.files));
        self.locations.extend(std::mem::take(&mut other.locations));
    }

    /// Where `option` of `section` was last set (`None` option: where the section was
    /// last opened), if it was read from a file.
    pub fn location(&self, section: &str, option: Option<&str>) -> Option<&Location> {
        self.locations.iter().rev().find(|l| {
            l.section.eq_ignore_ascii_case(section)
                && match (option, &l.option) {
                    (None, None) => true,
                    (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                    _ => false,
                }
        })
    }

    fn record(&mut self, section: &str, option: Option<&str>, file: &str, line: usize) {
        self.locations.push(Location {
            section: section.to_string(),
            option: option.map(str::to_string),
            file: file.to_string(),
            line,
        });
    }

    /// The files (or origins) this configuration was read from, in merge order.
    pub fn files(&self) -> &[String] {
        &self.files
    }

    /// The conf.d snippets that were not read because of their owner or mode: (path, why).
    pub fn skipped_snippets(&self) -> &[(String, String)] {
        &self.skipped
    }

    /// Sets `option` in `section` (creating the section), replacing any earlier value.
    pub fn set(&mut self, section: &str, option: &str, value: &str) {
        self.section_mut(section).set(option, value);
    }

    fn section_mut(&mut self, name: &str) -> &mut Section {
        let idx = match self
            .sections
            .iter()
            .position(|s| s.name.eq_ignore_ascii_case(name))
        {
            Some(i) => i,
            None => {
                self.sections.push(Section {
                    name: name.to_string(),
                    options: Vec::new(),
                });
                self.sections.len() - 1
            }
        };
        &mut self.sections[idx]
    }

    fn section(&self, name: &str) -> Option<&Section> {
        self.sections
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }

    /// Whether `[section]` appears in the configuration.
    pub fn has_section(&self, section: &str) -> bool {
        self.section(section).is_some()
    }

    /// The options of `section` as `(name, raw value)` pairs, in order of first appearance.
    pub fn options(&self, section: &str) -> Vec<(&str, &str)> {
        self.section(section)
            .map(|s| {
                s.options
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The raw value of `option` in `section` (for example `"domain/LDAP"`, `"ldap_uri"`).
    /// An empty value counts as unset (`None`), as in SSSD, which drops empty values.
    pub fn get(&self, section: &str, option: &str) -> Option<&str> {
        self.section(section)?
            .options
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(option))
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// A boolean option (`true`/`false`, case-insensitive), or `default` when absent.
    pub fn get_bool(
        &self,
        section: &str,
        option: &str,
        default: bool,
    ) -> Result<bool, ConfigError> {
        match self.get(section, option) {
            None => Ok(default),
            Some(v) => parse_bool(v).ok_or_else(|| {
                ConfigError::bad_value(section, option, v, "expected true or false")
            }),
        }
    }

    /// An integer option (decimal, `0x` hexadecimal or `0` octal, as C's `strtol`), or
    /// `default` when absent.
    pub fn get_int(&self, section: &str, option: &str, default: i64) -> Result<i64, ConfigError> {
        match self.get(section, option) {
            None => Ok(default),
            Some(v) => parse_int(v)
                .ok_or_else(|| ConfigError::bad_value(section, option, v, "expected an integer")),
        }
    }

    /// A comma-separated list option, items trimmed, empty items dropped.
    pub fn get_list(&self, section: &str, option: &str) -> Vec<String> {
        self.get(section, option)
            .map(split_list)
            .unwrap_or_default()
    }

    /// Section names in order of first appearance.
    pub fn sections(&self) -> Vec<&str> {
        self.sections.iter().map(|s| s.name.as_str()).collect()
    }

    /// Domains to serve, in `[sssd] domains` order, plus sections with `enabled = true`.
    /// Errors when there is none.
    pub fn domains(&self) -> Result<Vec<String>, ConfigError> {
        let mut out: Vec<String> = Vec::new();
        for d in self.get_list("sssd", "domains") {
            if !out.iter().any(|o| o.eq_ignore_ascii_case(&d)) {
                out.push(d);
            }
        }
        for sec in &self.sections {
            let Some(name) = sec.name.strip_prefix(DOMAIN_PREFIX) else {
                continue;
            };
            if self.get(&sec.name, "enabled").is_none() {
                continue;
            }
            if self.get_bool(&sec.name, "enabled", false)? {
                if !out.iter().any(|d| d.eq_ignore_ascii_case(name)) {
                    out.push(name.to_string());
                }
            } else {
                out.retain(|d| !d.eq_ignore_ascii_case(name));
            }
        }
        for d in &out {
            if !self.has_section(&format!("{DOMAIN_PREFIX}{d}")) {
                return Err(ConfigError::Missing(format!(
                    "domain {d:?} is listed in [sssd] domains but there is no [{DOMAIN_PREFIX}{d}] section"
                )));
            }
        }
        if out.is_empty() {
            return Err(ConfigError::Missing(
                "no domain is enabled: set [sssd] domains or enabled = true in a [domain/NAME] section"
                    .to_string(),
            ));
        }
        Ok(out)
    }

    /// Responders listed in `[sssd] services`.
    pub fn services(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for s in self.get_list("sssd", "services") {
            if !out.contains(&s) {
                out.push(s);
            }
        }
        out
    }

    /// Sections whose names SSSD does not accept (for example a misspelt `[domian/X]`), so
    /// the caller can warn; their options are never read.
    pub fn unknown_sections(&self) -> Vec<String> {
        self.sections
            .iter()
            .filter(|s| !known::is_known_section(&s.name))
            .map(|s| s.name.clone())
            .collect()
    }

    /// Options that SSSD does not know for their kind of section (`[sssd]`, `[nss]`,
    /// `[pam]`, `[domain/*]`, ...), as `(section, option)` pairs, so the caller can warn.
    /// Sections of kinds this list does not cover are not reported; options of the
    /// [`schema`] table are known wherever the table places them.
    pub fn unknown_options(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for sec in &self.sections {
            for (k, _) in &sec.options {
                // Our own additions (such as `[nss] allowed_uids`) are in the option table.
                if known::is_known(&sec.name, k) == Some(false)
                    && schema::lookup(&sec.name, k).is_none()
                {
                    out.push((sec.name.clone(), k.clone()));
                }
            }
        }
        out
    }
}

/// Parses SSSD's booleans: `true`/`false`, case-insensitive.
pub fn parse_bool(v: &str) -> Option<bool> {
    if v.eq_ignore_ascii_case("true") {
        Some(true)
    } else if v.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Parses an integer like C's `strtol(value, .., 0)`, as SSSD does: optional sign, then
/// `0x` hexadecimal, `0` octal or decimal digits, and nothing after them.
pub fn parse_int(v: &str) -> Option<i64> {
    let (negative, rest) = match v.as_bytes().first() {
        Some(b'-') => (true, &v[1..]),
        Some(b'+') => (false, &v[1..]),
        _ => (false, v),
    };
    let (radix, digits) =
        if let Some(hex) = rest.strip_prefix("0x").or_else(|| rest.strip_prefix("0X")) {
            (16, hex)
        } else if rest.len() > 1 && rest.starts_with('0') {
            (8, &rest[1..])
        } else {
            (10, rest)
        };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = i128::from_str_radix(digits, radix).ok()?;
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

/// Splits a comma-separated list: items trimmed, empty items dropped.
pub fn split_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}
