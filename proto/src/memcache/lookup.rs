//! Lock-free lookups in a cache file, as clients do them: hash the key, walk the bucket's
//! chain, copy the matching record between its barriers, check its expiry.
//!
//! Everything read from the file is distrusted: every offset is bounds-checked against the
//! region, chains are cut after [`MAX_CHAIN`] records, and a record is used only if its
//! barriers agree before and after the copy. A lookup never panics and never loops.

use super::payload::{GIDS_OFFSET, STRS_OFFSET};
use super::{
    Geometry, Header, MAX_CHAIN, MIN_RECORD_LEN, READ_ATTEMPTS, RECORD_HEADER_SIZE, RecordHeader,
    Region, SLOT_SIZE, id_key, murmurhash3, murmurhash3_nul, rec, valid_barrier,
};
use thiserror::Error;

/// Why a lookup gave no entry. Every case but [`McError::Range`] means "ask the responder".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum McError {
    /// No record for the key.
    #[error("not in the memory cache")]
    NotFound,
    /// The record has expired.
    #[error("memory-cache record expired")]
    Expired,
    /// The caller's buffer is too small for the record (which exists and is fresh).
    #[error("buffer too small for the memory-cache record")]
    Range,
    /// The record kept changing while being read.
    #[error("memory-cache record changed during every read attempt")]
    Busy,
    /// The file breaks the format (the reason names what).
    #[error("memory cache corrupt: {0}")]
    Corrupt(&'static str),
}

/// A passwd entry found: ids, and its five strings copied to the start of the caller's
/// buffer (`name, passwd, gecos, dir, shell`, each NUL-terminated, `strs_len` bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswdHit {
    /// pw_uid.
    pub uid: u32,
    /// pw_gid.
    pub gid: u32,
    /// Bytes of strings copied.
    pub strs_len: usize,
}

/// A group entry found: gid, and `name, passwd, member...` copied to the start of the
/// caller's buffer (`strs_len` bytes, `members` member strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupHit {
    /// gr_gid.
    pub gid: u32,
    /// Number of member strings after name and passwd.
    pub members: u32,
    /// Bytes of strings copied.
    pub strs_len: usize,
}

/// A validated view of one cache file's tables.
#[derive(Debug)]
pub struct Table<'r, R: Region + ?Sized> {
    r: &'r R,
    geo: Geometry,
    seed: u32,
}

/// What the record at an offset is, once its barriers agreed.
struct Seen {
    off: usize,
    hdr: RecordHeader,
}

impl<'r, R: Region + ?Sized> Table<'r, R> {
    /// The tables `header` describes in `r`, if they lie inside it.
    pub fn new(r: &'r R, header: &Header) -> Result<Table<'r, R>, McError> {
        let geo = Geometry::from_header(header, r.len(), false)
            .ok_or(McError::Corrupt("header tables outside the file"))?;
        Ok(Table {
            r,
            geo,
            seed: header.seed,
        })
    }

    /// A table over `r` with a geometry [`Table::new`] already validated for a region of the
    /// same size (a reader keeps it with its mapping instead of re-deriving it per lookup).
    /// Every access stays bounds-checked by the region whatever `geo` says.
    pub fn with_geometry(r: &'r R, geo: Geometry, seed: u32) -> Table<'r, R> {
        Table { r, geo, seed }
    }

    /// The validated geometry.
    pub fn geometry(&self) -> &Geometry {
        &self.geo
    }

    /// The bucket of a hash key (NUL included).
    pub fn bucket(&self, key: &[u8]) -> u32 {
        murmurhash3(key, self.seed) % self.geo.buckets()
    }

    /// The bucket of a name (hashed with its NUL, without copying it).
    fn name_bucket(&self, name: &[u8]) -> u32 {
        murmurhash3_nul(name, self.seed) % self.geo.buckets()
    }

    /// The first slot of `bucket`'s chain (anything ≥ the slot count ends it).
    fn first_slot(&self, bucket: u32) -> Result<u32, McError> {
        let off = self.geo.hash_table as usize + bucket as usize * 4;
        self.r
            .load_u32(off)
            .ok_or(McError::Corrupt("hash table outside the file"))
    }

    fn record_offset(&self, slot: u32) -> usize {
        self.geo.data_table as usize + slot as usize * SLOT_SIZE as usize
    }

    /// End of the data table.
    fn dt_end(&self) -> usize {
        self.geo.data_table as usize + self.geo.dt_size as usize
    }

    /// Whether the bytes at `off` are `key` followed by a NUL, all before `limit`.
    fn cstr_equals(&self, off: usize, key: &[u8], limit: usize) -> bool {
        let Some(end) = off.checked_add(key.len()) else {
            return false;
        };
        if end >= limit {
            return false;
        }
        self.r.bytes_equal(off, key) && self.r.load_u8(end) == Some(0)
    }

    fn load(&self, off: usize) -> Result<u32, McError> {
        self.r
            .load_u32(off)
            .ok_or(McError::Corrupt("record outside the file"))
    }

    /// Walks `bucket`'s chain. For each record whose barriers agree, `matches` says whether
    /// it is the one; for the match, `extract` copies what the caller needs. Both run
    /// between the barrier reads, and their results count only if the barriers still agree
    /// afterwards (otherwise the record is read again, at most [`READ_ATTEMPTS`] times).
    fn walk<T>(
        &self,
        bucket: u32,
        mut matches: impl FnMut(&Seen) -> Result<bool, McError>,
        mut extract: impl FnMut(&Seen) -> Result<T, McError>,
    ) -> Result<T, McError> {
        let mut slot = self.first_slot(bucket)?;
        let mut steps = 0;
        while slot < self.geo.slots {
            steps += 1;
            if steps > MAX_CHAIN {
                return Err(McError::Corrupt("hash chain too long (a loop?)"));
            }
            let off = self.record_offset(slot);
            let mut next = None;
            for _ in 0..READ_ATTEMPTS {
                let b1 = self.load(off + rec::B1)?;
                self.r.load_fence();
                let len = self.load(off + rec::LEN)?;
                self.r.load_fence();
                let b2 = self.load(off + rec::B2)?;
                if !valid_barrier(b1) || b1 != b2 {
                    continue;
                }
                if len < MIN_RECORD_LEN || len as usize > self.dt_end() - off {
                    return Err(McError::Corrupt("record length out of bounds"));
                }
                let hdr = RecordHeader::load(self.r, off)
                    .ok_or(McError::Corrupt("record outside the file"))?;
                let seen = Seen {
                    off,
                    hdr: RecordHeader { len, ..hdr },
                };
                let m = matches(&seen);
                self.r.load_fence();
                if self.load(off + rec::B2)? != b1 {
                    continue;
                }
                if !m? {
                    next = Some(seen.hdr.next_for(bucket));
                    break;
                }
                let v = extract(&seen);
                self.r.load_fence();
                if self.load(off + rec::B2)? != b1 {
                    continue;
                }
                return v;
            }
            slot = next.ok_or(McError::Busy)?;
        }
        Err(McError::NotFound)
    }

    fn payload(&self, s: &Seen) -> usize {
        s.off + RECORD_HEADER_SIZE as usize
    }

    fn record_end(&self, s: &Seen) -> usize {
        s.off + s.hdr.len as usize
    }

    /// The fixed fields of a passwd/group payload (`name_ptr, a, b, strs_len`), checked:
    /// the name starts the strings and the strings lie inside the record.
    fn strs_fields(&self, s: &Seen) -> Result<StrsFields, McError> {
        let p = self.payload(s);
        let name_ptr = self.load(p)?;
        let a = self.load(p + 4)?;
        let b = self.load(p + 8)?;
        let strs_len = self.load(p + 12)? as usize;
        let room = self.record_end(s).saturating_sub(p + STRS_OFFSET as usize);
        if name_ptr != STRS_OFFSET || strs_len > room {
            return Err(McError::Corrupt("string area outside the record"));
        }
        Ok(StrsFields { a, b, strs_len })
    }

    /// Whether the passwd/group record `s` is named `name` (and chained by it in `bucket`).
    fn name_matches(&self, s: &Seen, bucket: u32, name: &[u8]) -> Result<bool, McError> {
        if s.hdr.hash1 != bucket {
            return Ok(false);
        }
        let f = self.strs_fields(s)?;
        let start = self.payload(s) + STRS_OFFSET as usize;
        Ok(self.cstr_equals(start, name, start + f.strs_len))
    }

    /// Whether the passwd/group record `s` has id `id` (and is chained by it in `bucket`).
    fn id_matches(&self, s: &Seen, bucket: u32, id: u32) -> Result<bool, McError> {
        if s.hdr.hash2 != bucket {
            return Ok(false);
        }
        Ok(self.strs_fields(s)?.a == id)
    }

    fn fresh(s: &Seen, now: i64) -> Result<(), McError> {
        // SSSD compares as time_t: all-ones (an invalidated record) is in the past.
        match i64::try_from(s.hdr.expire) {
            Ok(e) if e >= now => Ok(()),
            _ => Err(McError::Expired),
        }
    }

    /// Checks freshness and copies the strings of a passwd/group record to `out`.
    fn copy_strs(&self, s: &Seen, now: i64, out: &mut [u8]) -> Result<StrsFields, McError> {
        Self::fresh(s, now)?;
        let f = self.strs_fields(s)?;
        let dst = out.get_mut(..f.strs_len).ok_or(McError::Range)?;
        if !self.r.copy_out(self.payload(s) + STRS_OFFSET as usize, dst) {
            return Err(McError::Corrupt("string area outside the file"));
        }
        Ok(f)
    }

    fn find_strs(
        &self,
        bucket: u32,
        matches: impl FnMut(&Seen) -> Result<bool, McError>,
        now: i64,
        out: &mut [u8],
    ) -> Result<StrsFields, McError> {
        self.walk(bucket, matches, |s| self.copy_strs(s, now, out))
    }

    fn passwd_hit(f: StrsFields, out: &[u8]) -> Result<PasswdHit, McError> {
        match out.get(..f.strs_len).and_then(count_strings) {
            Some(5) => Ok(PasswdHit {
                uid: f.a,
                gid: f.b,
                strs_len: f.strs_len,
            }),
            _ => Err(McError::Corrupt("passwd record does not hold five strings")),
        }
    }

    fn group_hit(f: StrsFields, out: &[u8]) -> Result<GroupHit, McError> {
        match out.get(..f.strs_len).and_then(count_strings) {
            Some(n) if n >= 2 && n - 2 == f.b as usize => Ok(GroupHit {
                gid: f.a,
                members: f.b,
                strs_len: f.strs_len,
            }),
            _ => Err(McError::Corrupt("group record member count disagrees")),
        }
    }

    /// The passwd entry named `name`, fresh at `now`, strings copied to `out`.
    pub fn passwd_by_name(
        &self,
        name: &[u8],
        now: i64,
        out: &mut [u8],
    ) -> Result<PasswdHit, McError> {
        let bucket = self.name_bucket(name);
        let f = self.find_strs(bucket, |s| self.name_matches(s, bucket, name), now, out)?;
        Self::passwd_hit(f, out)
    }

    /// The passwd entry with `uid`, fresh at `now`, strings copied to `out`.
    pub fn passwd_by_uid(&self, uid: u32, now: i64, out: &mut [u8]) -> Result<PasswdHit, McError> {
        let bucket = self.bucket(id_key(uid).as_bytes());
        let f = self.find_strs(bucket, |s| self.id_matches(s, bucket, uid), now, out)?;
        Self::passwd_hit(f, out)
    }

    /// The group named `name`, fresh at `now`, strings copied to `out`.
    pub fn group_by_name(
        &self,
        name: &[u8],
        now: i64,
        out: &mut [u8],
    ) -> Result<GroupHit, McError> {
        let bucket = self.name_bucket(name);
        let f = self.find_strs(bucket, |s| self.name_matches(s, bucket, name), now, out)?;
        Self::group_hit(f, out)
    }

    /// The group with `gid`, fresh at `now`, strings copied to `out`.
    pub fn group_by_gid(&self, gid: u32, now: i64, out: &mut [u8]) -> Result<GroupHit, McError> {
        let bucket = self.bucket(id_key(gid).as_bytes());
        let f = self.find_strs(bucket, |s| self.id_matches(s, bucket, gid), now, out)?;
        Self::group_hit(f, out)
    }

    /// The fixed fields of an initgroups payload, checked to lie inside the record:
    /// `(name_ptr, num_groups, data_len)`.
    fn initgr_fields(&self, s: &Seen) -> Result<(usize, usize, usize), McError> {
        let p = self.payload(s);
        let name_ptr = self.load(p + 4)? as usize;
        let strs_len = self.load(p + 12)? as usize;
        let data_len = self.load(p + 16)? as usize;
        let num = self.load(p + 20)? as usize;
        let room = self.record_end(s).saturating_sub(p + GIDS_OFFSET as usize);
        let gids_end = GIDS_OFFSET as usize + num.saturating_mul(4);
        let data_end = GIDS_OFFSET as usize + data_len;
        if data_len > room
            || strs_len > data_len
            || num.saturating_mul(4) > data_len
            || name_ptr < gids_end
            || name_ptr >= data_end
        {
            return Err(McError::Corrupt("initgroups data outside the record"));
        }
        Ok((name_ptr, num, data_len))
    }

    /// The group ids of the user the client called `name`, fresh at `now`, appended to
    /// `gids` (which is left as it was on any error).
    pub fn initgroups(&self, name: &[u8], now: i64, gids: &mut Vec<u32>) -> Result<(), McError> {
        let mut sink = VecSink {
            start: gids.len(),
            gids,
        };
        let res = self.initgroups_into(name, now, &mut sink);
        if res.is_err() {
            sink.gids.truncate(sink.start);
        }
        res.map(|_| ())
    }

    /// The group ids of the user the client called `name`, fresh at `now`, copied straight
    /// into the room `sink` gives for them; returns how many were copied (the room's size).
    pub fn initgroups_into(
        &self,
        name: &[u8],
        now: i64,
        sink: &mut impl GidSink,
    ) -> Result<usize, McError> {
        let bucket = self.name_bucket(name);
        let matches = |s: &Seen| {
            if s.hdr.hash1 != bucket {
                return Ok(false);
            }
            let (name_ptr, _, data_len) = self.initgr_fields(s)?;
            let p = self.payload(s);
            Ok(self.cstr_equals(p + name_ptr, name, p + GIDS_OFFSET as usize + data_len))
        };
        self.walk(bucket, matches, |s| {
            Self::fresh(s, now)?;
            let (_, num, _) = self.initgr_fields(s)?;
            let room = sink.room(num)?;
            let room = room.get_mut(..num.min(room.len())).unwrap_or_default();
            let at = self.payload(s) + GIDS_OFFSET as usize;
            if !self.r.copy_out_u32(at, room) {
                return Err(McError::Corrupt("initgroups gids outside the file"));
            }
            Ok(room.len())
        })
    }
}

/// Where [`Table::initgroups_into`] copies a record's group ids.
pub trait GidSink {
    /// Room for the record's `num` gids: at most `num` entries are filled (fewer if the
    /// slice is shorter). Called between the record's barrier reads, so possibly again for
    /// the same record if it changed meanwhile; the last call's room holds the answer.
    fn room(&mut self, num: usize) -> Result<&mut [u32], McError>;
}

/// Appends to a vector, starting over from `start` on every call.
struct VecSink<'a> {
    gids: &'a mut Vec<u32>,
    start: usize,
}

impl GidSink for VecSink<'_> {
    fn room(&mut self, num: usize) -> Result<&mut [u32], McError> {
        self.gids.truncate(self.start);
        self.gids
            .try_reserve(num)
            .map_err(|_| McError::Corrupt("too many groups to allocate"))?;
        self.gids.resize(self.start + num, 0);
        Ok(self.gids.get_mut(self.start..).unwrap_or_default())
    }
}

/// `a` and `b` are uid/gid (passwd) or gid/member count (group).
#[derive(Debug, Clone, Copy)]
struct StrsFields {
    a: u32,
    b: u32,
    strs_len: usize,
}

/// How many NUL-terminated strings fill `buf` exactly (`None` if the last is unterminated).
#[inline]
pub fn count_strings(buf: &[u8]) -> Option<usize> {
    if buf.last().is_some_and(|b| *b != 0) {
        return None;
    }
    // Summing 0/1 bytes per 255-byte chunk vectorises well (a byte sum cannot overflow).
    let mut n = 0usize;
    for chunk in buf.chunks(255) {
        let c: u8 = chunk
            .iter()
            .fold(0u8, |acc, b| acc.wrapping_add(u8::from(*b == 0)));
        n += usize::from(c);
    }
    Some(n)
}
