//! sssd.conf and conf.d/*.conf: a strict parser matching SSSD's (ding-libs) syntax, and
//! typed options with SSSD's names and defaults.
//!
//! API contract (implementations must keep these signatures): [`Config::load`],
//! [`Config::parse`], [`Config::get`], [`Config::get_bool`], [`Config::get_int`],
//! [`Config::get_list`], [`Config::domains`], [`Config::services`], and the typed option
//! structs in [`options`] built by their `from_config` functions.

pub mod options;

use std::path::Path;
use thiserror::Error;

pub use options::{DomainOptions, LdapOptions, NssOptions, SssdOptions};

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

/// A parsed configuration: sections in file order, options within them.
#[derive(Debug, Clone, Default)]
pub struct Config {
    _private: (),
}

impl Config {
    /// Reads `file` and, when `snippets` is given, every `*.conf` there not starting with `.`
    /// (in name order, later values win). Each file must be owned by root, and have no
    /// "other" permission bits.
    pub fn load(file: &Path, snippets: Option<&Path>) -> Result<Config, ConfigError> {
        let _ = (file, snippets);
        todo!("Config::load")
    }

    /// Parses configuration text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let _ = (text, origin);
        todo!("Config::parse")
    }

    /// The raw value of `option` in `section` (for example `"domain/LDAP"`, `"ldap_uri"`).
    pub fn get(&self, section: &str, option: &str) -> Option<&str> {
        let _ = (section, option);
        todo!()
    }

    /// A boolean option (`true`/`false`, case-insensitive), or `default` when absent.
    pub fn get_bool(
        &self,
        section: &str,
        option: &str,
        default: bool,
    ) -> Result<bool, ConfigError> {
        let _ = (section, option, default);
        todo!()
    }

    /// An integer option, or `default` when absent.
    pub fn get_int(&self, section: &str, option: &str, default: i64) -> Result<i64, ConfigError> {
        let _ = (section, option, default);
        todo!()
    }

    /// A comma-separated list option, items trimmed, empty items dropped.
    pub fn get_list(&self, section: &str, option: &str) -> Vec<String> {
        let _ = (section, option);
        todo!()
    }

    /// Section names in order of first appearance.
    pub fn sections(&self) -> Vec<&str> {
        todo!()
    }

    /// Domains to serve, in `[sssd] domains` order, plus sections with `enabled = true`.
    /// Errors when there is none.
    pub fn domains(&self) -> Result<Vec<String>, ConfigError> {
        todo!()
    }

    /// Responders listed in `[sssd] services`.
    pub fn services(&self) -> Vec<String> {
        todo!()
    }
}
