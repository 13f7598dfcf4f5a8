//! `libsss_sudo.so`: the library sudo's `sssd` backend `dlopen`s when nsswitch.conf says
//! `sudoers: ... sss`, with SSSD 2.8's C interface (`sss_sudo_send_recv`,
//! `sss_sudo_send_recv_defaults`, `sss_sudo_free_result`, `sss_sudo_get_values`,
//! `sss_sudo_free_values`) and structures (`struct sss_sudo_result`, `sss_sudo_rule`,
//! `sss_sudo_attr`), allocated with the C allocator as SSSD's are.
//!
//! A call sends one request to `/var/lib/sss/pipes/sudo` (`SSS_SUDO_SOCKET` overrides it
//! outside setuid programs) and reads one reply, all before a deadline, on a connection
//! (protocol version 1) kept for the next call as SSSD's client keeps it: sudo asks again
//! after dropping root, and the socket is root-only. A kept connection is dropped after a
//! fork (pid check), when the program reused its descriptor, or when the responder hung
//! up. The library starts no thread. No panic crosses the C boundary.

pub mod cabi;
pub mod client;
pub mod ffi;

pub use client::{ClientError, SOCKET_PATH, request};
