//! `pam_sss.so`: the Linux-PAM module of SSSD. A thin `extern "C"` layer ([`ffi`]) over a
//! plain-Rust core ([`module::run`]) that talks to the PAM responder with protocol v3
//! ([`sss_proto::pam`]) through a [`PamHandler`].
//!
//! Every PAM call opens its own connection (fork-safe, no shared state), every wait has a
//! deadline, passwords live in wiped buffers, and no panic crosses the C boundary.

#![cfg_attr(
    not(test),
    deny(
        clippy::panic,
        clippy::indexing_slicing,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]

pub mod client;
pub mod ffi;
pub mod handler;
pub mod module;
pub mod options;
pub mod pam;
mod reset_msg;
pub mod response;
mod sys;
#[cfg(test)]
mod testutil;

pub use client::{ClientConfig, ClientError, Trust};
pub use handler::{Item, Level, PamHandler, Secret, Tok};
pub use module::{Context, Task, run};
pub use options::Options;
