//! The client socket server shared by the NSS and PAM responders.

pub mod client;
pub mod peer;
pub mod server;

pub use client::{Action, ClientInfo, CommandHandler};
pub use peer::PeerCred;
pub use server::{ServerConfig, ServerError, bind_socket, serve};
