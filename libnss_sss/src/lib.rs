//! `libnss_sss.so.2`: the glibc NSS module. A thin `extern "C"` layer ([`ffi`]) over a
//! plain-Rust client core that unit tests drive directly.
//!
//! The core talks to the SSSD NSS responder on `/var/lib/sss/pipes/nss` with the SSSD 2.x wire
//! protocol ([`sss_proto`]): one cached connection per thread for lookups, a dedicated
//! connection for enumeration, and a deadline on every wait. Nothing here may panic across the
//! C boundary, start threads or hold a lock during I/O.

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

mod arena;
mod client;
mod conn;
mod enumerate;
mod env;
pub mod ffi;
mod fill;
mod initgr;
mod lookup;
mod status;
mod sys;
#[cfg(test)]
mod testutil;

pub use client::{Client, REQUEST_TIMEOUT};
pub use enumerate::{EnumKind, Enumeration, GroupKind, PasswdKind};
pub use initgr::{append_gids, initgroups};
pub use lookup::{getgrgid, getgrnam, getpwnam, getpwuid};
pub use status::{NssError, NssStatus};
