//! `libsss_autofs.so`: the library autofs's `lookup_sss.so` loads from
//! `<libdir>/sssd/modules` to read automount maps from the SSSD autofs responder
//! (`/var/lib/sss/pipes/autofs`), with SSSD 2.8's C interface (`_sss_setautomntent`,
//! `_sss_getautomntent_r`, `_sss_getautomntbyname_r`, `_sss_endautomntent`,
//! `_sss_auto_protocol_version`).
//!
//! [`client`] talks to the socket (one connection per request, every wait bounded by a
//! deadline), [`maps`] keeps the enumeration state and turns replies into results, and
//! [`ffi`] is the thin `extern "C"` layer: no panic crosses it, no thread is started,
//! and every string handed out is `malloc`ed (autofs frees them with `free`).

#![cfg_attr(not(test), deny(clippy::panic, clippy::indexing_slicing))]

pub mod client;
pub mod ffi;
pub mod maps;
