//! What the administration tools do, as plain functions over their arguments and the
//! [`crate::paths::Paths`] they work on, so that tests drive them without a terminal; the
//! binaries under `src/bin/` only collect the process's arguments and print the outcome.

pub mod analyze;
pub mod client_data;
pub mod common;
pub mod service;
pub mod ssh_authorizedkeys;
pub mod ssh_knownhostsproxy;
pub mod sss_cache;
pub mod sss_override;
pub mod sssctl;
pub mod user_checks;
