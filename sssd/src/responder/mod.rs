//! Responders: serve client sockets from the cache, ask the backend when needed.
//!
//! [`common`] is the socket server shared by every responder (framing, version
//! negotiation, peer credentials, idle timeout); [`nss`] answers the NSS commands.

pub mod common;
pub mod nss;
