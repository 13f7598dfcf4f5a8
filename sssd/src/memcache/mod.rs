//! The memory cache writer owned by `sssd_nss` (SSSD's mmap format, see
//! [`sss_proto::memcache`]), and the file-level handshakes `sss_cache` shares with it.
//!
//! - [`table`]: the format logic of one map, over any [`sss_proto::memcache::RegionMut`];
//! - [`mapfile`]: one map's file (create, lock, map, health, corrupt copies);
//! - [`maps`]: the responder's three maps with their locking and recovery;
//! - [`files`]: locks, recycling and the `clear_mc_flag` paths;
//! - [`sigbus`]: surviving a map file shrunk under the responder.

pub mod files;
pub mod mapfile;
pub mod maps;
pub mod sigbus;
pub mod table;
