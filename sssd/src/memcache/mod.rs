//! The memory cache writer owned by `sssd_nss` (SSSD's mmap format, see
//! [`sss_proto::memcache`]), and the file-level handshakes `sss_cache` shares with it.

pub mod files;
pub mod table;
