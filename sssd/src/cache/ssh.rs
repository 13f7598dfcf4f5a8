//! SSH public keys of cached users, in their own database `ssh_keys` (user name -> key
//! list), written by the backend in the same transaction as the user and read by the ssh
//! responder. The user's freshness stamp covers them: the keys are part of the user entry,
//! fetched with it. An absent record means the keys were never fetched (for example a
//! user cached by a build without this table), an empty list that the user has none.
//!
//! Value layout: a version byte (1), a LEB128 key count, then per key a LEB128 length and
//! the key bytes exactly as the directory holds them.

use super::reader::Reader;
use super::writer::Writer;
use super::{Cache, CacheError};

/// Format version of an encoded key list.
const VERSION: u8 = 1;

/// Largest number of keys accepted while decoding (guards against corrupt counts).
const MAX_KEYS: u64 = 1 << 16;

/// The stored form of `keys`.
pub(crate) fn encode_keys<K: AsRef<[u8]>>(keys: &[K]) -> Vec<u8> {
    let total: usize = keys.iter().map(|k| k.as_ref().len() + 3).sum();
    let mut out = Vec::with_capacity(4 + total);
    out.push(VERSION);
    put_varint(&mut out, keys.len() as u64);
    for k in keys {
        let k = k.as_ref();
        put_varint(&mut out, k.len() as u64);
        out.extend_from_slice(k);
    }
    out
}

/// Parses a stored key list; `None` when it is not one this build wrote.
pub(crate) fn decode_keys(raw: &[u8]) -> Option<Vec<Vec<u8>>> {
    let (&version, mut rest) = raw.split_first()?;
    if version != VERSION {
        return None;
    }
    let n = take_varint(&mut rest)?;
    // Every key needs at least its length byte.
    if n > MAX_KEYS || n > rest.len() as u64 {
        return None;
    }
    let mut keys = Vec::with_capacity(usize::try_from(n).ok()?);
    for _ in 0..n {
        let len = usize::try_from(take_varint(&mut rest)?).ok()?;
        if len > rest.len() {
            return None;
        }
        let (k, tail) = rest.split_at(len);
        keys.push(k.to_vec());
        rest = tail;
    }
    rest.is_empty().then_some(keys)
}

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn take_varint(buf: &mut &[u8]) -> Option<u64> {
    let mut n: u64 = 0;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = buf.split_first()?;
        *buf = rest;
        let part = u64::from(b & 0x7f);
        if shift == 63 && part > 1 {
            return None;
        }
        n |= part << shift;
        if b & 0x80 == 0 {
            return Some(n);
        }
    }
    None
}

impl Reader<'_> {
    /// The SSH public keys stored for user `name`.
    pub(crate) fn ssh_keys(&self, name: &str) -> Result<Option<Vec<Vec<u8>>>, CacheError> {
        self.user_side_record(&self.dbs().ssh_keys, "ssh_keys", name, decode_keys)
    }
}

impl Cache {
    /// The SSH public keys of user `name` as last fetched with the user (`None`: never
    /// fetched); their freshness is the user's.
    pub fn ssh_keys(&self, name: &str) -> Result<Option<Vec<Vec<u8>>>, CacheError> {
        self.read(|r| r.ssh_keys(name))
    }
}

impl Writer<'_> {
    /// Stores the SSH public keys of user `name` (an empty list: the user has none). An
    /// unchanged list is not rewritten.
    pub fn put_ssh_keys<K: AsRef<[u8]>>(
        &mut self,
        name: &str,
        keys: &[K],
    ) -> Result<(), CacheError> {
        self.check_name("ssh keys user", name)?;
        let bytes = encode_keys(keys);
        let db = self.dbs().ssh_keys;
        if self.reader().raw(&db, name.as_bytes())? == Some(bytes.as_slice()) {
            return Ok(());
        }
        self.put(&db, name.as_bytes(), &bytes)
    }

    /// The SSH public keys of user `name` as this transaction sees them.
    pub fn ssh_keys(&self, name: &str) -> Result<Option<Vec<Vec<u8>>>, CacheError> {
        self.reader().ssh_keys(name)
    }
}

/// Public wrappers for the fuzz targets: decode and encode a `ssh_keys` value.
pub mod fuzzing {
    /// Decodes a `ssh_keys` value; `None` when it is not a valid record.
    pub fn decode_ssh_keys(value: &[u8]) -> Option<Vec<Vec<u8>>> {
        super::decode_keys(value)
    }

    /// The `ssh_keys` value of `keys`.
    pub fn encode_ssh_keys(keys: &[Vec<u8>]) -> Vec<u8> {
        super::encode_keys(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keys_round_trip_and_bad_records_are_refused() {
        let keys = vec![b"ssh-ed25519 AAAA alice".to_vec(), vec![0, 0, 0, 1, 0xff]];
        assert_eq!(decode_keys(&encode_keys(&keys)), Some(keys.clone()));
        let none: Vec<Vec<u8>> = Vec::new();
        assert_eq!(decode_keys(&encode_keys(&none)), Some(none));
        let b = encode_keys(&keys);
        for cut in 0..b.len() {
            assert_eq!(decode_keys(&b[..cut]), None, "cut at {cut}");
        }
        let mut long = b.clone();
        long.push(0);
        assert_eq!(decode_keys(&long), None);
        let mut v = b;
        v[0] = 2;
        assert_eq!(decode_keys(&v), None);
        assert_eq!(decode_keys(&[1, 0xff, 0xff, 0xff, 0xff, 0x0f]), None);
    }

    #[test]
    fn the_cache_keeps_keys_with_the_user_and_drops_them_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path(), "LDAP").unwrap();
        assert_eq!(cache.ssh_keys("alice").unwrap(), None);
        let user = crate::model::User {
            name: "alice".into(),
            uid: 1001,
            gid: 1001,
            ..Default::default()
        };
        let mut w = cache.writer().unwrap();
        w.put_user(&user, 1, 100).unwrap();
        w.put_ssh_keys("alice", &[b"ssh-ed25519 AAAA"]).unwrap();
        w.commit().unwrap();
        assert_eq!(
            cache.ssh_keys("alice").unwrap(),
            Some(vec![b"ssh-ed25519 AAAA".to_vec()])
        );
        let mut w = cache.writer().unwrap();
        w.put_ssh_keys::<&[u8]>("alice", &[]).unwrap();
        w.commit().unwrap();
        assert_eq!(cache.ssh_keys("alice").unwrap(), Some(vec![]));
        let mut w = cache.writer().unwrap();
        w.delete_user("alice").unwrap();
        w.commit().unwrap();
        assert_eq!(cache.ssh_keys("alice").unwrap(), None);
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_keys(&bytes);
        }

        #[test]
        fn key_lists_round_trip(keys in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..10)) {
            prop_assert_eq!(decode_keys(&encode_keys(&keys)), Some(keys));
        }
    }
}
