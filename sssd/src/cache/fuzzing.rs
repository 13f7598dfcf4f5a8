//! The record codec as the fuzz targets (`fuzz/`) and their seed corpus see it: every
//! decoder the cache applies to a value read from LMDB, and the encoders that write them.
//! The daemons use the codec directly; these are thin public wrappers over it.

use super::codec::{self, Stamp};
use super::{AccessRecord, Credentials};
use crate::model::{Group, User};

/// Decodes a `users` value; `None` when it is not a valid record.
pub fn decode_user(value: &[u8]) -> Option<User> {
    codec::decode_user(value)
}

/// The `users` value of `user`.
pub fn encode_user(user: &User) -> Vec<u8> {
    codec::encode_user(user)
}

/// Decodes a `groups` value; `None` when it is not a valid record.
pub fn decode_group(value: &[u8]) -> Option<Group> {
    codec::decode_group(value)
}

/// The name and gid at the head of a `groups` value (what gid lookups read).
pub fn decode_group_head(value: &[u8]) -> Option<(&str, u32)> {
    codec::decode_group_head(value)
}

/// The `groups` value of `group`.
pub fn encode_group(group: &Group) -> Vec<u8> {
    codec::encode_group(group)
}

/// Decodes an `initgroups` value (a list of gids).
pub fn decode_gids(value: &[u8]) -> Option<Vec<u32>> {
    codec::decode_gids(value)
}

/// The `initgroups` value of `gids`.
pub fn encode_gids(gids: &[u32]) -> Vec<u8> {
    codec::encode_gids(gids)
}

/// Decodes a `stamps` value as `(last_update, expire)`.
pub fn decode_stamp(value: &[u8]) -> Option<(i64, i64)> {
    Stamp::decode(value).map(|s| (s.last_update, s.expire))
}

/// The `stamps` value of `(last_update, expire)`.
pub fn encode_stamp(last_update: i64, expire: i64) -> [u8; 16] {
    Stamp {
        last_update,
        expire,
    }
    .encode()
}

/// Decodes a `credentials` value.
pub fn decode_credentials(value: &[u8]) -> Option<Credentials> {
    Credentials::decode(value)
}

/// The `credentials` value of `creds` (wiped when dropped).
pub fn encode_credentials(creds: &Credentials) -> zeroize::Zeroizing<Vec<u8>> {
    creds.encode()
}

/// Decodes an `access` value.
pub fn decode_access(value: &[u8]) -> Option<AccessRecord> {
    AccessRecord::decode(value)
}

/// The `access` value of `record`.
pub fn encode_access(record: &AccessRecord) -> Vec<u8> {
    record.encode()
}
