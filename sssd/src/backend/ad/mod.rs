//! Pieces of SSSD's AD provider: the DC locator (CLDAP ping, site-aware DC discovery) and
//! the machine account password renewal.

pub mod cldap;
pub mod flat_name;
pub mod global_catalog;
pub mod gpo;
pub mod locate;
pub mod renewal;
