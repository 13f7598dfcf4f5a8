//! The writer side of one memory-cache map (SSSD's mmap format, see
//! [`sss_proto::memcache`]): initialising the tables, storing and invalidating records under
//! the barrier protocol, keeping the hash chains, and allocating slots from the free bitmap
//! with SSSD's FIFO eviction when the map is full.
//!
//! The writer is generic over [`RegionMut`], so the same code runs on a plain buffer in
//! tests and on the shared mapping in `sssd_nss`. Everything read back from the region is
//! checked (offsets, lengths, barriers, chain lengths): a damaged or tampered file makes an
//! operation fail with [`TableError::Corrupt`], never panic or loop.

use sss_proto::memcache::{
    Geometry, HEADER_SIZE, INVALID32, INVALID64, MAX_CHAIN, MIN_RECORD_LEN, MapKind,
    RECORD_HEADER_SIZE, RecordHeader, RegionMut, SLOT_SIZE, STATUS_ALIVE, STATUS_UNINIT,
    encode_group, encode_initgroups, encode_passwd, id_key, murmurhash3, name_key, next_barrier,
    rec, slots_for, valid_barrier,
};
use thiserror::Error;

/// Why a map operation failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TableError {
    /// The map's content breaks the format (the reason names what); the caller saves a copy
    /// and resets the map.
    #[error("memory cache corrupt: {0}")]
    Corrupt(&'static str),
    /// The region is smaller than the geometry it should hold.
    #[error("memory cache region of {have} bytes cannot hold a {need}-byte map")]
    Region {
        /// Bytes available.
        have: usize,
        /// Bytes the geometry needs.
        need: u32,
    },
    /// The record does not fit in the data table at all.
    #[error("record of {len} bytes does not fit a {dt_size}-byte data table")]
    TooLarge {
        /// Record length.
        len: u64,
        /// Data table size.
        dt_size: u32,
    },
    /// A string contains a NUL byte, or the record is too large to encode.
    #[error("record cannot be encoded (a string contains a NUL byte, or it is too large)")]
    Encoding,
    /// The operation does not exist for this map (for example by-id on initgroups).
    #[error("operation not available on the {0} map")]
    WrongMap(&'static str),
}

type Result<T> = std::result::Result<T, TableError>;

/// A passwd entry as it is stored: exactly what the responder sent on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswdRecord<'a> {
    /// pw_name (the output name).
    pub name: &'a [u8],
    /// pw_passwd (`pwfield`).
    pub passwd: &'a [u8],
    /// pw_uid.
    pub uid: u32,
    /// pw_gid.
    pub gid: u32,
    /// pw_gecos.
    pub gecos: &'a [u8],
    /// pw_dir (after templates).
    pub dir: &'a [u8],
    /// pw_shell (after shell options).
    pub shell: &'a [u8],
}

/// A group entry as it is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupRecord<'a> {
    /// gr_name (the output name).
    pub name: &'a [u8],
    /// gr_passwd.
    pub passwd: &'a [u8],
    /// gr_gid.
    pub gid: u32,
    /// gr_mem, as sent.
    pub members: &'a [&'a [u8]],
}

/// Which string of an initgroups payload a lookup compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InitgrKey {
    /// The name the client typed (`name_ptr`, chained by `hash1`).
    ClientName,
    /// The user's unique name (`unique_name_ptr`, chained by `hash2`).
    UniqueName,
}

/// The writer of one map held in a region.
#[derive(Debug)]
pub struct MapWriter<R: RegionMut> {
    r: R,
    kind: MapKind,
    geo: Geometry,
    seed: u32,
    timeout: u32,
    /// Where FIFO eviction continues (SSSD's `next_slot`).
    next_slot: u32,
    /// Which slots start a record (ours: the writer created every record in the map).
    starts: alloc::Bits,
    /// How many times eviction started again at slot 0.
    full_events: u64,
}

/// Offsets of header fields written by the writer.
mod hdr {
    pub const B1: usize = 0;
    pub const MAJOR: usize = 4;
    pub const MINOR: usize = 8;
    pub const STATUS: usize = 12;
    pub const SEED: usize = 16;
    pub const DT_SIZE: usize = 20;
    pub const FT_SIZE: usize = 24;
    pub const HT_SIZE: usize = 28;
    pub const DATA_TABLE: usize = 32;
    pub const FREE_TABLE: usize = 36;
    pub const HASH_TABLE: usize = 40;
    pub const RESERVED: usize = 44;
    pub const B2: usize = 48;
}

const OUTSIDE: TableError = TableError::Corrupt("access outside the map");

impl<R: RegionMut> MapWriter<R> {
    /// Lays out a fresh map of `geo` in `r` (data table 0xff, free table 0, hash table
    /// 0xff) and publishes an ALIVE header with `seed`. Records stored later expire
    /// `timeout` seconds after they are written.
    pub fn init(r: R, kind: MapKind, geo: Geometry, seed: u32, timeout: u32) -> Result<Self> {
        if (r.len() as u64) < u64::from(geo.file_size) || geo.data_table != HEADER_SIZE {
            return Err(TableError::Region {
                have: r.len(),
                need: geo.file_size,
            });
        }
        let mut w = MapWriter {
            r,
            kind,
            geo,
            seed,
            timeout,
            next_slot: 0,
            starts: alloc::Bits::new(geo.slots),
            full_events: 0,
        };
        w.wipe_tables()?;
        w.write_header(STATUS_ALIVE)?;
        Ok(w)
    }

    /// Empties the map in place (header UNINIT while the tables are wiped, then ALIVE
    /// again, same seed), as after a corruption or an `InvalidateAll*` call.
    pub fn reset(&mut self) -> Result<()> {
        self.write_header(STATUS_UNINIT)?;
        self.wipe_tables()?;
        self.next_slot = 0;
        self.starts.clear();
        self.write_header(STATUS_ALIVE)
    }

    /// The region (tests read it back; the file layer unmaps it).
    pub fn region(&self) -> &R {
        &self.r
    }

    /// The region, writable (tests damage it).
    pub fn region_mut(&mut self) -> &mut R {
        &mut self.r
    }

    /// Which map this is.
    pub fn kind(&self) -> MapKind {
        self.kind
    }

    /// The map's geometry.
    pub fn geometry(&self) -> &Geometry {
        &self.geo
    }

    /// The hash seed.
    pub fn seed(&self) -> u32 {
        self.seed
    }

    /// How many times the map was found full and eviction restarted at slot 0.
    pub fn full_events(&self) -> u64 {
        self.full_events
    }

    fn wipe_tables(&mut self) -> Result<()> {
        let g = self.geo;
        let ok = self.r.fill(g.data_table as usize, g.dt_size as usize, 0xff)
            && self.r.fill(g.free_table as usize, g.ft_size as usize, 0)
            && self.r.fill(g.hash_table as usize, g.ht_size as usize, 0xff);
        ok.then_some(()).ok_or(OUTSIDE)
    }

    fn write_header(&mut self, status: u32) -> Result<()> {
        let g = self.geo;
        let b = next_barrier(self.load(hdr::B1)?);
        self.store(hdr::B2, b)?;
        self.r.full_fence();
        for (off, v) in [
            (hdr::MAJOR, sss_proto::memcache::MAJOR_VNO),
            (hdr::MINOR, sss_proto::memcache::MINOR_VNO),
            (hdr::SEED, self.seed),
            (hdr::DT_SIZE, g.dt_size),
            (hdr::FT_SIZE, g.ft_size),
            (hdr::HT_SIZE, g.ht_size),
            (hdr::DATA_TABLE, g.data_table),
            (hdr::FREE_TABLE, g.free_table),
            (hdr::HASH_TABLE, g.hash_table),
            (hdr::RESERVED, 0),
            (hdr::STATUS, status),
        ] {
            self.store(off, v)?;
        }
        self.r.full_fence();
        self.store(hdr::B1, b)
    }

    // ---- raw access -------------------------------------------------------------------

    fn load(&self, off: usize) -> Result<u32> {
        self.r.load_u32(off).ok_or(OUTSIDE)
    }

    fn store(&mut self, off: usize, v: u32) -> Result<()> {
        self.r.store_u32(off, v).then_some(()).ok_or(OUTSIDE)
    }

    fn rec_off(&self, slot: u32) -> usize {
        self.geo.data_table as usize + slot as usize * SLOT_SIZE as usize
    }

    fn bucket(&self, key: &[u8]) -> u32 {
        murmurhash3(key, self.seed) % self.geo.buckets()
    }

    fn name_bucket(&self, name: &[u8]) -> u32 {
        self.bucket(&name_key(name))
    }

    fn head_off(&self, bucket: u32) -> usize {
        self.geo.hash_table as usize + bucket as usize * 4
    }

    fn used(&self, slot: u32) -> Result<bool> {
        let b = self
            .r
            .load_u8(self.geo.free_table as usize + slot as usize / 8)
            .ok_or(OUTSIDE)?;
        Ok(b & (0x80 >> (slot % 8)) != 0)
    }

    fn set_used(&mut self, first: u32, count: u32, on: bool) -> Result<()> {
        for slot in first..first.saturating_add(count) {
            let off = self.geo.free_table as usize + slot as usize / 8;
            let b = self.r.load_u8(off).ok_or(OUTSIDE)?;
            let bit = 0x80u8 >> (slot % 8);
            let nb = if on { b | bit } else { b & !bit };
            self.r
                .store_bytes(off, &[nb])
                .then_some(())
                .ok_or(OUTSIDE)?;
        }
        Ok(())
    }

    /// The header of the record starting at `slot`, checked: a record start we made, with
    /// agreeing barriers, a length inside the data table and hashes inside the hash table.
    fn record(&self, slot: u32) -> Result<RecordHeader> {
        if slot >= self.geo.slots {
            return Err(TableError::Corrupt("slot number outside the data table"));
        }
        if !self.starts.get(slot) {
            return Err(TableError::Corrupt(
                "chain points to a slot that starts no record",
            ));
        }
        let h = RecordHeader::load(&self.r, self.rec_off(slot)).ok_or(OUTSIDE)?;
        if !valid_barrier(h.b1) || h.b1 != h.b2 {
            return Err(TableError::Corrupt("record barriers disagree"));
        }
        let room = u64::from(self.geo.slots - slot) * u64::from(SLOT_SIZE);
        if h.len < MIN_RECORD_LEN || u64::from(h.len) > room {
            return Err(TableError::Corrupt("record length out of bounds"));
        }
        let buckets = self.geo.buckets();
        if h.hash1 >= buckets || h.hash2 >= buckets {
            return Err(TableError::Corrupt("record hash outside the hash table"));
        }
        // The length we wrote is the payload's own: its fixed part plus its variable data.
        let p = self.rec_off(slot) + RECORD_HEADER_SIZE as usize;
        let (fixed, var) = match self.kind {
            MapKind::Passwd | MapKind::Group => (16, self.load(p + 12)?),
            MapKind::Initgroups => (24, self.load(p + 16)?),
        };
        if u64::from(h.len) != u64::from(RECORD_HEADER_SIZE) + fixed + u64::from(var) {
            return Err(TableError::Corrupt(
                "record length disagrees with its payload",
            ));
        }
        Ok(h)
    }

    /// The slot after `h` in `bucket`'s chain (`INVALID32` at the end).
    fn next_in(&self, h: &RecordHeader, bucket: u32) -> Result<u32> {
        if h.hash1 != bucket && h.hash2 != bucket {
            return Err(TableError::Corrupt(
                "record chained in a bucket it does not hash to",
            ));
        }
        let n = h.next_for(bucket);
        if n != INVALID32 && n >= self.geo.slots {
            return Err(TableError::Corrupt("chain link outside the data table"));
        }
        Ok(n)
    }

    fn set_next(&mut self, slot: u32, h: &RecordHeader, bucket: u32, next: u32) -> Result<()> {
        let field = if h.hash1 == bucket {
            rec::NEXT1
        } else {
            rec::NEXT2
        };
        self.store(self.rec_off(slot) + field, next)
    }

    fn head(&self, bucket: u32) -> Result<u32> {
        let s = self.load(self.head_off(bucket))?;
        if s != INVALID32 && s >= self.geo.slots {
            return Err(TableError::Corrupt("hash bucket outside the data table"));
        }
        Ok(s)
    }

    /// Calls `f` on each record of `bucket`'s chain until it returns true; that record's
    /// slot and header are returned.
    fn find_in_chain(
        &self,
        bucket: u32,
        mut f: impl FnMut(u32, &RecordHeader) -> Result<bool>,
    ) -> Result<Option<(u32, RecordHeader)>> {
        let mut slot = self.head(bucket)?;
        let mut steps = 0;
        while slot != INVALID32 {
            steps += 1;
            if steps > MAX_CHAIN {
                return Err(TableError::Corrupt("hash chain too long (a loop?)"));
            }
            let h = self.record(slot)?;
            if f(slot, &h)? {
                return Ok(Some((slot, h)));
            }
            slot = self.next_in(&h, bucket)?;
        }
        Ok(None)
    }

    /// Appends the record at `slot` to `bucket`'s chain (nothing if it is already in it).
    fn chain(&mut self, slot: u32, bucket: u32) -> Result<()> {
        let head = self.head(bucket)?;
        if head == INVALID32 {
            return self.store(self.head_off(bucket), slot);
        }
        let mut cur = head;
        for _ in 0..MAX_CHAIN {
            if cur == slot {
                return Ok(());
            }
            let h = self.record(cur)?;
            let next = self.next_in(&h, bucket)?;
            if next == INVALID32 {
                return self.set_next(cur, &h, bucket, slot);
            }
            cur = next;
        }
        Err(TableError::Corrupt("hash chain too long (a loop?)"))
    }

    /// Removes the record at `slot` (header `h`) from `bucket`'s chain.
    fn unchain(&mut self, slot: u32, h: &RecordHeader, bucket: u32) -> Result<()> {
        let after = self.next_in(h, bucket)?;
        let head = self.head(bucket)?;
        if head == slot {
            return self.store(self.head_off(bucket), after);
        }
        let mut prev = head;
        for _ in 0..MAX_CHAIN {
            if prev == INVALID32 {
                return Ok(()); // not chained (already removed): nothing to do
            }
            let ph = self.record(prev)?;
            let next = self.next_in(&ph, bucket)?;
            if next == slot {
                return self.set_next(prev, &ph, bucket, after);
            }
            prev = next;
        }
        Err(TableError::Corrupt("hash chain too long (a loop?)"))
    }

    // ---- payload inspection ------------------------------------------------------------

    /// Whether the bytes at `off` are `s` and a NUL, all before `end`.
    fn cstr_at(&self, off: usize, s: &[u8], end: usize) -> Result<bool> {
        if off.saturating_add(s.len()) >= end {
            return Ok(false);
        }
        for (i, b) in s.iter().enumerate() {
            if self.r.load_u8(off + i).ok_or(OUTSIDE)? != *b {
                return Ok(false);
            }
        }
        Ok(self.r.load_u8(off + s.len()).ok_or(OUTSIDE)? == 0)
    }

    /// Payload start and end of the record at `slot`.
    fn payload(&self, slot: u32, h: &RecordHeader) -> (usize, usize) {
        let off = self.rec_off(slot);
        (off + RECORD_HEADER_SIZE as usize, off + h.len as usize)
    }

    /// For passwd/group records: `(id, strs_start, strs_end)`, checked.
    fn strs_fields(&self, slot: u32, h: &RecordHeader) -> Result<(u32, usize, usize)> {
        let (p, end) = self.payload(slot, h);
        let name_ptr = self.load(p)?;
        let id = self.load(p + 4)?;
        let strs_len = self.load(p + 12)? as usize;
        let start = p + 16;
        if name_ptr != 16 || start > end || strs_len > end - start {
            return Err(TableError::Corrupt("string area outside the record"));
        }
        Ok((id, start, start + strs_len))
    }

    /// For initgroups records: the offset of the chosen string and the end of the data.
    fn initgr_string(
        &self,
        slot: u32,
        h: &RecordHeader,
        which: InitgrKey,
    ) -> Result<(usize, usize)> {
        let (p, end) = self.payload(slot, h);
        let unique_ptr = self.load(p)? as usize;
        let name_ptr = self.load(p + 4)? as usize;
        let data_len = self.load(p + 16)? as usize;
        let num = self.load(p + 20)? as usize;
        let gids_end = 24usize.saturating_add(num.saturating_mul(4));
        let data_end = 24usize.saturating_add(data_len);
        let ptr = match which {
            InitgrKey::ClientName => name_ptr,
            InitgrKey::UniqueName => unique_ptr,
        };
        if p.saturating_add(data_end) > end || ptr < gids_end || ptr >= data_end {
            return Err(TableError::Corrupt("initgroups data outside the record"));
        }
        Ok((p + ptr, p + data_end))
    }

    fn check_map(&self, want: &[MapKind], what: &'static str) -> Result<()> {
        if want.contains(&self.kind) {
            Ok(())
        } else {
            Err(TableError::WrongMap(what))
        }
    }

    // ---- lookups ---------------------------------------------------------------------

    /// The passwd/group record named `name` (chained by its `hash1`).
    fn find_name(&self, name: &[u8]) -> Result<Option<(u32, RecordHeader)>> {
        let bucket = self.name_bucket(name);
        self.find_in_chain(bucket, |slot, h| {
            if h.hash1 != bucket {
                return Ok(false);
            }
            let (_, start, end) = self.strs_fields(slot, h)?;
            self.cstr_at(start, name, end)
        })
    }

    /// The passwd/group record with id `id`, other than the one at `except`.
    fn find_id(&self, id: u32, except: Option<u32>) -> Result<Option<(u32, RecordHeader)>> {
        let bucket = self.bucket(id_key(id).as_bytes());
        self.find_in_chain(bucket, |slot, h| {
            if h.hash2 != bucket || Some(slot) == except {
                return Ok(false);
            }
            Ok(self.strs_fields(slot, h)?.0 == id)
        })
    }

    /// The initgroups record whose `which` string is `s`, other than the one at `except`.
    fn find_initgr(
        &self,
        s: &[u8],
        which: InitgrKey,
        except: Option<u32>,
    ) -> Result<Option<(u32, RecordHeader)>> {
        let bucket = self.name_bucket(s);
        self.find_in_chain(bucket, |slot, h| {
            let chained = match which {
                InitgrKey::ClientName => h.hash1,
                InitgrKey::UniqueName => h.hash2,
            };
            if chained != bucket || Some(slot) == except {
                return Ok(false);
            }
            let (at, end) = self.initgr_string(slot, h, which)?;
            self.cstr_at(at, s, end)
        })
    }

    /// The slot of the passwd/group record named `name`, if any.
    pub fn slot_of_name(&self, name: &[u8]) -> Result<Option<u32>> {
        self.check_map(&[MapKind::Passwd, MapKind::Group], "by-name")?;
        Ok(self.find_name(name)?.map(|(s, _)| s))
    }

    /// The slot of the initgroups record of unique name `unique`, if any.
    pub fn slot_of_unique(&self, unique: &[u8]) -> Result<Option<u32>> {
        self.check_map(&[MapKind::Initgroups], "by-unique-name")?;
        Ok(self
            .find_initgr(unique, InitgrKey::UniqueName, None)?
            .map(|(s, _)| s))
    }

    // ---- stores ----------------------------------------------------------------------

    /// Stores a passwd entry (map `passwd`), fresh until `now + memcache_timeout`. A
    /// record of the same uid under another name (a rename) is invalidated.
    pub fn store_passwd(&mut self, p: &PasswdRecord<'_>, now: i64) -> Result<()> {
        self.check_map(&[MapKind::Passwd], "passwd store")?;
        let payload = encode_passwd(p.name, p.passwd, p.uid, p.gid, p.gecos, p.dir, p.shell)
            .ok_or(TableError::Encoding)?;
        self.store_named(p.name, p.uid, &payload, now)
    }

    /// Stores a group entry (map `group`), as [`MapWriter::store_passwd`].
    pub fn store_group(&mut self, g: &GroupRecord<'_>, now: i64) -> Result<()> {
        self.check_map(&[MapKind::Group], "group store")?;
        let payload =
            encode_group(g.name, g.passwd, g.gid, g.members).ok_or(TableError::Encoding)?;
        self.store_named(g.name, g.gid, &payload, now)
    }

    /// Stores an initgroups record (map `initgroups`): `name` as the client typed it
    /// (hash1), the user's `unique_name` (hash2, how the record is found again) and the
    /// gids as replied. Another record with the same client name is invalidated.
    pub fn store_initgroups(
        &mut self,
        name: &[u8],
        unique_name: &[u8],
        gids: &[u32],
        now: i64,
    ) -> Result<()> {
        self.check_map(&[MapKind::Initgroups], "initgroups store")?;
        let payload = encode_initgroups(name, unique_name, gids).ok_or(TableError::Encoding)?;
        let h1 = self.name_bucket(name);
        let h2 = self.name_bucket(unique_name);
        let old = self.find_initgr(unique_name, InitgrKey::UniqueName, None)?;
        let slot = self.place(old, h1, h2, &payload, now)?;
        // Readers take the first record with this client name: no other may remain.
        while let Some((s, _)) = self.find_initgr(name, InitgrKey::ClientName, Some(slot))? {
            self.invalidate_slot(s)?;
        }
        Ok(())
    }

    /// Stores a passwd/group payload named `name` with id `id`.
    fn store_named(&mut self, name: &[u8], id: u32, payload: &[u8], now: i64) -> Result<()> {
        let h1 = self.name_bucket(name);
        let h2 = self.bucket(id_key(id).as_bytes());
        let old = self.find_name(name)?;
        let slot = self.place(old, h1, h2, payload, now)?;
        // A by-id lookup must not find an older name for this id.
        while let Some((s, _)) = self.find_id(id, Some(slot))? {
            self.invalidate_slot(s)?;
        }
        Ok(())
    }

    /// Writes a record with hashes `h1`/`h2`: over `old` when it has the same size and
    /// hashes, else into newly allocated slots (after invalidating `old`). Returns its slot.
    fn place(
        &mut self,
        old: Option<(u32, RecordHeader)>,
        h1: u32,
        h2: u32,
        payload: &[u8],
        now: i64,
    ) -> Result<u32> {
        let len64 = u64::from(RECORD_HEADER_SIZE) + payload.len() as u64;
        let len = u32::try_from(len64)
            .ok()
            .filter(|l| *l <= self.geo.dt_size)
            .ok_or(TableError::TooLarge {
                len: len64,
                dt_size: self.geo.dt_size,
            })?;
        let n = slots_for(len);
        if let Some((slot, h)) = old {
            if slots_for(h.len) == n && h.hash1 == h1 && h.hash2 == h2 {
                self.write_record(slot, len, h1, h2, payload, now, false)?;
                return Ok(slot);
            }
            self.invalidate_slot(slot)?;
        }
        let slot = self.allocate(n)?;
        self.write_record(slot, len, h1, h2, payload, now, true)?;
        self.chain(slot, h1)?;
        if h2 != h1 {
            self.chain(slot, h2)?;
        }
        Ok(slot)
    }

    /// Writes header and payload of the record at `slot` between its barriers. A fresh
    /// record gets empty chain links; a rewritten one keeps its links.
    #[allow(clippy::too_many_arguments)]
    fn write_record(
        &mut self,
        slot: u32,
        len: u32,
        h1: u32,
        h2: u32,
        payload: &[u8],
        now: i64,
        fresh: bool,
    ) -> Result<()> {
        let off = self.rec_off(slot);
        let b = next_barrier(self.load(off + rec::B1)?);
        self.store(off + rec::B2, b)?;
        self.r.full_fence();
        let expire = u64::try_from(now)
            .unwrap_or(0)
            .saturating_add(u64::from(self.timeout));
        self.store(off + rec::LEN, len)?;
        self.r
            .store_u64(off + rec::EXPIRE, expire)
            .then_some(())
            .ok_or(OUTSIDE)?;
        if fresh {
            self.store(off + rec::NEXT1, INVALID32)?;
            self.store(off + rec::NEXT2, INVALID32)?;
        }
        self.store(off + rec::HASH1, h1)?;
        self.store(off + rec::HASH2, h2)?;
        self.store(off + rec::PADDING, INVALID32)?;
        let p = off + RECORD_HEADER_SIZE as usize;
        let total = slots_for(len) as usize * SLOT_SIZE as usize;
        let ok = self.r.store_bytes(p, payload)
            && self.r.fill(off + len as usize, total - len as usize, 0xff);
        ok.then_some(()).ok_or(OUTSIDE)?;
        self.r.full_fence();
        self.store(off + rec::B1, b)
    }

    // ---- invalidation ------------------------------------------------------------------

    /// Invalidates the record starting at `slot`: out of both chains, slots freed, payload
    /// all ones, header fields all ones, barriers all ones.
    fn invalidate_slot(&mut self, slot: u32) -> Result<()> {
        let h = self.record(slot)?;
        self.unchain(slot, &h, h.hash1)?;
        if h.hash2 != h.hash1 {
            self.unchain(slot, &h, h.hash2)?;
        }
        let n = slots_for(h.len);
        self.set_used(slot, n, false)?;
        self.starts.set(slot, false);
        let off = self.rec_off(slot);
        self.store(off + rec::B2, INVALID32)?;
        self.r.full_fence();
        let payload = n as usize * SLOT_SIZE as usize - RECORD_HEADER_SIZE as usize;
        let ok = self
            .r
            .fill(off + RECORD_HEADER_SIZE as usize, payload, 0xff)
            && self.r.store_u64(off + rec::EXPIRE, INVALID64);
        ok.then_some(()).ok_or(OUTSIDE)?;
        for f in [rec::LEN, rec::NEXT1, rec::NEXT2, rec::HASH1, rec::HASH2] {
            self.store(off + f, INVALID32)?;
        }
        self.r.full_fence();
        self.store(off + rec::B1, INVALID32)
    }

    /// Invalidates the passwd/group record named `name`; whether there was one.
    pub fn invalidate_name(&mut self, name: &[u8]) -> Result<bool> {
        self.check_map(&[MapKind::Passwd, MapKind::Group], "by-name invalidation")?;
        match self.find_name(name)? {
            Some((slot, _)) => self.invalidate_slot(slot).map(|()| true),
            None => Ok(false),
        }
    }

    /// Invalidates every passwd/group record with uid/gid `id`; whether there was one.
    pub fn invalidate_id(&mut self, id: u32) -> Result<bool> {
        self.check_map(&[MapKind::Passwd, MapKind::Group], "by-id invalidation")?;
        let mut any = false;
        while let Some((slot, _)) = self.find_id(id, None)? {
            self.invalidate_slot(slot)?;
            any = true;
        }
        Ok(any)
    }

    /// Invalidates the initgroups records stored for the client-typed `name`.
    pub fn invalidate_initgr_name(&mut self, name: &[u8]) -> Result<bool> {
        self.check_map(&[MapKind::Initgroups], "initgroups invalidation")?;
        let mut any = false;
        while let Some((slot, _)) = self.find_initgr(name, InitgrKey::ClientName, None)? {
            self.invalidate_slot(slot)?;
            any = true;
        }
        Ok(any)
    }

    /// Invalidates the initgroups record of the user with unique name `unique`.
    pub fn invalidate_initgr_unique(&mut self, unique: &[u8]) -> Result<bool> {
        self.check_map(&[MapKind::Initgroups], "initgroups invalidation")?;
        let mut any = false;
        while let Some((slot, _)) = self.find_initgr(unique, InitgrKey::UniqueName, None)? {
            self.invalidate_slot(slot)?;
            any = true;
        }
        Ok(any)
    }
}

#[path = "table_alloc.rs"]
mod alloc;

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;
