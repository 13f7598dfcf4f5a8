//! Test harness: throwaway slapd, generated LDIF, private mount namespaces.
//!
//! Everything here runs real programs (slapd, unshare, nsenter, getent, id) and never changes
//! the host: servers listen only on 127.0.0.1, and every file under /etc, /var, /run or /usr
//! that a test needs is private to a mount namespace held by [`namespace::Namespace`].

pub mod dns;
pub mod ent;
pub mod error;
pub mod expected;
pub mod interop;
pub mod kdc;
pub mod ldif;
pub mod lookups;
pub mod memcache;
pub mod namespace;
pub mod pam;
pub mod pam_app;
pub mod proc;
pub mod samba;
pub mod sasl;
pub mod slapd;
pub mod sssd;
pub mod stage;
pub mod tls;

pub use error::{HarnessError, Result};
