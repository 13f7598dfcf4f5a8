//! `libnss_sss.so.2`: the glibc NSS module. A thin `extern "C"` layer ([`ffi`]) over a
//! plain-Rust client core that unit tests drive directly.
//!
//! Single lookups are answered from SSSD's memory cache (`/var/lib/sss/mc`, [`mc`]) when it
//! holds a fresh entry. Otherwise the core talks to the SSSD NSS responder on
//! `/var/lib/sss/pipes/nss` with the SSSD 2.x wire protocol ([`sss_proto`]): one cached
//! connection per thread for lookups, a dedicated connection for enumeration, and a deadline
//! on every wait. Nothing here may panic across the
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
pub mod fuzzing;
mod initgr;
mod lookup;
pub mod mc;
pub mod netgroup;
mod nss;
pub mod resolver;
pub mod services;
mod status;
mod sys;
#[cfg(test)]
mod testutil;

pub use client::{Client, REQUEST_TIMEOUT};
pub use enumerate::{EnumKind, Enumeration, GroupKind, PasswdKind};
pub use initgr::{append_gids, initgroups, initgroups_dyn};
pub use lookup::{getgrgid, getgrnam, getpwnam, getpwuid};
pub use mc::MemCache;
pub use nss::Nss;
pub use status::{NssError, NssStatus};
