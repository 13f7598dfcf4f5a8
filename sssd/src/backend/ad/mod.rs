//! Pieces of SSSD's AD provider: the DC locator (CLDAP ping, site-aware DC discovery).

pub mod cldap;
pub mod gpo;
pub mod locate;
