//! `libsss_sudo.so`: the library sudo's `sssd` backend `dlopen`s when nsswitch.conf says
//! `sudoers: ... sss`, with SSSD 2.8's C interface (`sss_sudo_send_recv`,
//! `sss_sudo_send_recv_defaults`, `sss_sudo_free_result`, `sss_sudo_get_values`,
//! `sss_sudo_free_values`) and structures (`struct sss_sudo_result`, `sss_sudo_rule`,
//! `sss_sudo_attr`), allocated with the C allocator as SSSD's are.
//!
//! Each call opens one connection to `/var/lib/sss/pipes/sudo` (`SSS_SUDO_SOCKET`
//! overrides it outside setuid programs), negotiates protocol version 1, sends one request
//! and reads one reply, all before a deadline; nothing is kept between calls, so the
//! library is fork-safe and starts no thread. No panic crosses the C boundary.

pub mod cabi;
pub mod client;
pub mod ffi;

pub use client::{ClientError, SOCKET_PATH, request};
