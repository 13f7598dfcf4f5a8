//! The SSSD daemon tree: configuration, cache, private bus, backend and responders.
//!
//! Each module is a room with one job; the binaries under `src/bin/` wire them together.

pub mod args;
pub mod atomic_file;
pub mod backend;
pub mod cache;
pub mod config;
pub mod domains;
pub mod fd_limit;
pub mod logging;
pub mod memcache;
pub mod model;
pub mod monitor;
pub mod overrides;
pub mod paths;
pub mod privilege;
pub mod responder;
pub mod sbus;
pub mod service;
pub mod tools;
pub mod watchdog;
