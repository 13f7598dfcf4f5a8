//! SSSD 2.x client wire protocol, shared by the client libraries, the responders and tools.
//!
//! Everything here is std only and total: decoders return an error for any malformed input
//! and never panic.

#![cfg_attr(not(test), deny(clippy::panic, clippy::indexing_slicing))]

pub mod autofs;
pub mod child;
pub mod command;
pub mod debug;
pub mod error;
pub mod gpo_child;
pub mod header;
pub mod memcache;
pub mod netgroup;
pub mod nss;
pub mod pam;
pub mod proxy;
pub mod resolver;
pub mod services;
pub mod ssh;
pub mod sudo;
pub mod wipe_alloc;
pub mod wire;

pub use command::Command;
pub use error::ProtoError;
pub use header::{HEADER_LEN, Header, MAX_REQUEST_LEN, packet};
