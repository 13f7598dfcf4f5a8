//! What the NSS and PAM responders share: the client socket server (framing, versions,
//! peer credentials, idle timeout) and the lookup engine (`cache_req` over per-domain
//! sources, the negative cache, name parsing and the lookup settings).

pub mod activation;
pub mod admission;
pub mod cache_req;
pub mod client;
pub mod fake;
pub mod names;
pub mod negcache;
pub mod overrides;
pub mod peer;
pub mod ratelimit;
pub mod server;
pub mod settings;
pub mod source;
pub mod startup;

pub use client::{Action, ClientInfo, CommandHandler};
pub use peer::PeerCred;
pub use server::{ServerConfig, ServerError, bind_socket, serve};
