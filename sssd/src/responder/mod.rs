//! Responders: serve client sockets from the cache, ask the backend when needed.
//!
//! [`common`] is what every responder shares: the socket server (framing, version
//! negotiation, peer credentials, idle timeout) and the lookup engine (cache_req,
//! negative cache, names); [`nss`] answers the NSS commands, [`pam`] the PAM commands.

pub mod autofs;
pub mod common;
pub mod nss;
pub mod pam;
pub mod ssh;
pub mod sudo;
