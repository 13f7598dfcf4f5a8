//! SSSD's memory-mapped cache (`/var/lib/sss/mc/{passwd,group,initgroups}`), byte for byte:
//! file geometry, header, record layout, MurmurHash3 buckets, the barrier protocol, and the
//! lock-free lookups clients do.
//!
//! A file is a 56-byte header, then the data table (40-byte slots holding records), the
//! free table (one bit per slot, set = used, most significant bit first) and the hash table
//! (one u32 slot index per bucket, `0xffffffff` = empty). A record starts with a 40-byte
//! header and occupies `ceil(len / 40)` consecutive slots; its payload layout depends on the
//! map. Each record is in two hash chains: `hash1` (its name) and `hash2` (its id, or for
//! initgroups its unique name). Hash values stored in records are bucket indexes.
//!
//! Writers bracket every change with the barriers `b1`/`b2` (header and records alike):
//! `b2 = next(b1)`, full fence, write, full fence, `b1 = b2`. Readers copy between reading
//! `b1` and re-reading `b2` and retry up to [`READ_ATTEMPTS`] times.

mod lookup;
mod murmur;
mod payload;
mod region;
#[cfg(test)]
mod tests;

pub use lookup::{GidSink, GroupHit, McError, PasswdHit, Table};
pub use murmur::{murmurhash3, murmurhash3_nul};
pub use payload::{
    IdKey, encode_group, encode_initgroups, encode_passwd, id_key, name_key, split_strings,
};
pub use region::{BytesRegion, Region, RegionMut, SharedRegion};

/// Size of one data-table slot.
pub const SLOT_SIZE: u32 = 40;
/// Size of the file header (52 bytes packed, padded to 8).
pub const HEADER_SIZE: u32 = 56;
/// Bytes of the header covered by its barriers (`b1` .. `b2` inclusive).
pub const HEADER_FIELDS_LEN: usize = 52;
/// Size of a record header; the payload starts right after it.
pub const RECORD_HEADER_SIZE: u32 = 40;
/// The smallest `len` a valid record may have (SSSD's reader refuses shorter ones).
pub const MIN_RECORD_LEN: u32 = HEADER_SIZE;
/// Format version written and accepted.
pub const MAJOR_VNO: u32 = 1;
/// Format version written and accepted.
pub const MINOR_VNO: u32 = 1;
/// Header status: being set up.
pub const STATUS_UNINIT: u32 = 0;
/// Header status: current and in use.
pub const STATUS_ALIVE: u32 = 1;
/// Header status: replaced; readers must drop the file and reopen.
pub const STATUS_RECYCLED: u32 = 2;
/// The all-ones value of invalid fields, empty buckets and chain ends.
pub const INVALID32: u32 = u32::MAX;
/// The all-ones value of an invalidated record's expiry.
pub const INVALID64: u64 = u64::MAX;
/// Slots per MiB of configured size (SSSD: 1 MiB / 40, rounded down).
pub const SLOTS_PER_MIB: u32 = 1024 * 1024 / SLOT_SIZE;
/// How many times a reader retries a copy torn by a concurrent write.
pub const READ_ATTEMPTS: u32 = 5;
/// Longest hash chain followed before the file is declared corrupt (a loop guard; real
/// chains are a few records long).
pub const MAX_CHAIN: u32 = 1024;
/// Offset of the header's `status` field (written alone by `sss_cache` and at recycling).
pub const STATUS_OFFSET: u64 = 12;
/// Name of the flag file `sss_cache` creates before asking for a memory-cache reset.
pub const CLEAR_FLAG: &str = "clear_mc_flag";

/// Whether `v` is a barrier value a consistent record or header can carry.
#[inline]
pub fn valid_barrier(v: u32) -> bool {
    v & 0xff00_0000 == 0xf000_0000
}

/// The barrier value that follows `v`.
pub fn next_barrier(v: u32) -> u32 {
    (v.wrapping_add(1) & 0x00ff_ffff) | 0xf000_0000
}

/// Rounds up to a multiple of 8.
pub fn align8(v: u32) -> Option<u32> {
    v.checked_add(7).map(|x| x & !7)
}

/// Number of slots a record of `len` bytes occupies.
pub fn slots_for(len: u32) -> u32 {
    len.div_ceil(SLOT_SIZE)
}

/// The three maps `libnss_sss` reads (the `sid` map is not implemented).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MapKind {
    /// `passwd`: users by name and uid.
    Passwd,
    /// `group`: groups by name and gid.
    Group,
    /// `initgroups`: a user's group ids by the name the client asked for.
    Initgroups,
}

impl MapKind {
    /// Every map, in SSSD's order.
    pub const ALL: [MapKind; 3] = [MapKind::Passwd, MapKind::Group, MapKind::Initgroups];

    /// The file name under the memory-cache directory.
    pub fn file_name(self) -> &'static str {
        match self {
            MapKind::Passwd => "passwd",
            MapKind::Group => "group",
            MapKind::Initgroups => "initgroups",
        }
    }

    /// SSSD's default data-table size in MiB (`memcache_size_*`).
    pub fn default_mib(self) -> u32 {
        match self {
            MapKind::Passwd => 8,
            MapKind::Group => 6,
            MapKind::Initgroups => 10,
        }
    }

    /// The name SSSD's logs use for the map.
    pub fn label(self) -> &'static str {
        match self {
            MapKind::Passwd => "PASSWD",
            MapKind::Group => "GROUP",
            MapKind::Initgroups => "INITGROUPS",
        }
    }
}

/// Where the tables of a file are and how big they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Number of data-table slots.
    pub slots: u32,
    /// Data table bytes (`slots * 40`).
    pub dt_size: u32,
    /// Free table bytes (`slots / 8`).
    pub ft_size: u32,
    /// Hash table bytes (`slots * 4`).
    pub ht_size: u32,
    /// Offset of the data table.
    pub data_table: u32,
    /// Offset of the free table.
    pub free_table: u32,
    /// Offset of the hash table.
    pub hash_table: u32,
    /// Size of the whole file.
    pub file_size: u32,
}

impl Geometry {
    /// SSSD's layout for `slots` slots (rounded up to a multiple of 8); `None` for 0 or a
    /// file that would not fit 32-bit offsets.
    pub fn for_slots(slots: u32) -> Option<Geometry> {
        if slots == 0 {
            return None;
        }
        let slots = align8(slots)?;
        let dt_size = slots.checked_mul(SLOT_SIZE)?;
        let ft_size = slots / 8;
        let ht_size = slots.checked_mul(4)?;
        let data_table = HEADER_SIZE;
        let free_table = data_table.checked_add(align8(dt_size)?)?;
        let hash_table = free_table.checked_add(align8(ft_size)?)?;
        let file_size = hash_table.checked_add(align8(ht_size)?)?;
        Some(Geometry {
            slots,
            dt_size,
            ft_size,
            ht_size,
            data_table,
            free_table,
            hash_table,
            file_size,
        })
    }

    /// The layout for `memcache_size_*` = `mib` (0 = map disabled → `None`).
    pub fn for_mib(mib: u32) -> Option<Geometry> {
        Geometry::for_slots(mib.checked_mul(SLOTS_PER_MIB)?)
    }

    /// Number of hash buckets.
    #[inline]
    pub fn buckets(&self) -> u32 {
        self.ht_size / 4
    }

    /// The geometry a header describes, if it is safe to use on a file of `file_len`
    /// bytes: tables aligned, inside the file, data table a whole number of slots.
    /// The free table is only checked when `need_free_table` (readers never touch it).
    pub fn from_header(h: &Header, file_len: usize, need_free_table: bool) -> Option<Geometry> {
        let inside = |off: u32, size: u32| {
            let end = u64::from(off) + u64::from(size);
            end <= file_len as u64 && off >= HEADER_SIZE
        };
        let ok = h.dt_size >= SLOT_SIZE
            && h.dt_size.is_multiple_of(SLOT_SIZE)
            && h.ht_size >= 4
            && h.ht_size.is_multiple_of(4)
            && h.data_table.is_multiple_of(8)
            && h.hash_table.is_multiple_of(4)
            && inside(h.data_table, h.dt_size)
            && inside(h.hash_table, h.ht_size)
            && (!need_free_table
                || (h.ft_size >= (h.dt_size / SLOT_SIZE).div_ceil(8)
                    && inside(h.free_table, h.ft_size)));
        ok.then(|| Geometry {
            slots: h.dt_size / SLOT_SIZE,
            dt_size: h.dt_size,
            ft_size: h.ft_size,
            ht_size: h.ht_size,
            data_table: h.data_table,
            free_table: h.free_table,
            hash_table: h.hash_table,
            file_size: u32::try_from(file_len).unwrap_or(u32::MAX),
        })
    }
}

/// The file header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Barrier 1.
    pub b1: u32,
    /// Major format version (1).
    pub major_vno: u32,
    /// Minor format version (1).
    pub minor_vno: u32,
    /// [`STATUS_UNINIT`], [`STATUS_ALIVE`] or [`STATUS_RECYCLED`].
    pub status: u32,
    /// Hash seed.
    pub seed: u32,
    /// Data table bytes.
    pub dt_size: u32,
    /// Free table bytes.
    pub ft_size: u32,
    /// Hash table bytes.
    pub ht_size: u32,
    /// Data table offset.
    pub data_table: u32,
    /// Free table offset.
    pub free_table: u32,
    /// Hash table offset.
    pub hash_table: u32,
    /// Reserved (0).
    pub reserved: u32,
    /// Barrier 2.
    pub b2: u32,
}

impl Header {
    /// An `ALIVE` header for `geo` with `seed` and barriers `b`.
    pub fn alive(geo: &Geometry, seed: u32, b: u32) -> Header {
        Header {
            b1: b,
            major_vno: MAJOR_VNO,
            minor_vno: MINOR_VNO,
            status: STATUS_ALIVE,
            seed,
            dt_size: geo.dt_size,
            ft_size: geo.ft_size,
            ht_size: geo.ht_size,
            data_table: geo.data_table,
            free_table: geo.free_table,
            hash_table: geo.hash_table,
            reserved: 0,
            b2: b,
        }
    }

    /// The 13 fields in file order.
    pub fn fields(&self) -> [u32; 13] {
        [
            self.b1,
            self.major_vno,
            self.minor_vno,
            self.status,
            self.seed,
            self.dt_size,
            self.ft_size,
            self.ht_size,
            self.data_table,
            self.free_table,
            self.hash_table,
            self.reserved,
            self.b2,
        ]
    }

    /// The header from its 13 fields in file order.
    #[inline]
    pub fn from_fields(f: [u32; 13]) -> Header {
        let [
            b1,
            major_vno,
            minor_vno,
            status,
            seed,
            dt_size,
            ft_size,
            ht_size,
            data_table,
            free_table,
            hash_table,
            reserved,
            b2,
        ] = f;
        Header {
            b1,
            major_vno,
            minor_vno,
            status,
            seed,
            dt_size,
            ft_size,
            ht_size,
            data_table,
            free_table,
            hash_table,
            reserved,
            b2,
        }
    }

    /// The header's 52 bytes (host-endian).
    pub fn encode(&self) -> [u8; HEADER_FIELDS_LEN] {
        let mut out = [0u8; HEADER_FIELDS_LEN];
        for (chunk, v) in out.chunks_exact_mut(4).zip(self.fields()) {
            chunk.copy_from_slice(&v.to_ne_bytes());
        }
        out
    }

    /// Reads only the `status` field with the barrier protocol (what a reader checks on every
    /// call); `None` after [`READ_ATTEMPTS`] torn reads or if the region is too small.
    #[inline]
    pub fn read_status<R: Region + ?Sized>(r: &R) -> Option<u32> {
        for _ in 0..READ_ATTEMPTS {
            let b1 = r.load_u32(0)?;
            if !valid_barrier(b1) {
                continue;
            }
            r.load_fence();
            let status = r.load_u32(STATUS_OFFSET as usize)?;
            r.load_fence();
            if r.load_u32(48)? == b1 {
                return Some(status);
            }
        }
        None
    }

    /// Reads the header with the barrier protocol: a copy whose barriers agree, or `None`
    /// after [`READ_ATTEMPTS`] torn copies (or if the region is too small).
    #[inline]
    pub fn read<R: Region + ?Sized>(r: &R) -> Option<Header> {
        for _ in 0..READ_ATTEMPTS {
            let b1 = r.load_u32(0)?;
            if !valid_barrier(b1) {
                continue;
            }
            r.load_fence();
            let mut f = [0u32; 13];
            for (i, v) in f.iter_mut().enumerate() {
                *v = r.load_u32(i * 4)?;
            }
            r.load_fence();
            let h = Header::from_fields(f);
            if r.load_u32(48)? == b1 && h.b1 == b1 {
                return Some(h);
            }
        }
        None
    }

    /// Whether the header is a version-1.1 header that is not recycled.
    pub fn usable(&self) -> bool {
        self.major_vno == MAJOR_VNO && self.minor_vno == MINOR_VNO && self.status != STATUS_RECYCLED
    }
}

/// A record header (the first slot of every record).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// Barrier 1.
    pub b1: u32,
    /// Total record length, header included.
    pub len: u32,
    /// Absolute expiry (seconds since the epoch).
    pub expire: u64,
    /// Next record in the chain of `hash1`.
    pub next1: u32,
    /// Next record in the chain of `hash2`.
    pub next2: u32,
    /// Bucket of the record's first key.
    pub hash1: u32,
    /// Bucket of the record's second key.
    pub hash2: u32,
    /// Unused (all ones).
    pub padding: u32,
    /// Barrier 2.
    pub b2: u32,
}

/// Offsets of the record header fields.
pub mod rec {
    /// `b1`.
    pub const B1: usize = 0;
    /// `len`.
    pub const LEN: usize = 4;
    /// `expire` (u64).
    pub const EXPIRE: usize = 8;
    /// `next1`.
    pub const NEXT1: usize = 16;
    /// `next2`.
    pub const NEXT2: usize = 20;
    /// `hash1`.
    pub const HASH1: usize = 24;
    /// `hash2`.
    pub const HASH2: usize = 28;
    /// `padding`.
    pub const PADDING: usize = 32;
    /// `b2`.
    pub const B2: usize = 36;
}

impl RecordHeader {
    /// Loads the header fields of the record at `off` (no barrier check).
    #[inline]
    pub fn load<R: Region + ?Sized>(r: &R, off: usize) -> Option<RecordHeader> {
        Some(RecordHeader {
            b1: r.load_u32(off + rec::B1)?,
            len: r.load_u32(off + rec::LEN)?,
            expire: r.load_u64(off + rec::EXPIRE)?,
            next1: r.load_u32(off + rec::NEXT1)?,
            next2: r.load_u32(off + rec::NEXT2)?,
            hash1: r.load_u32(off + rec::HASH1)?,
            hash2: r.load_u32(off + rec::HASH2)?,
            padding: r.load_u32(off + rec::PADDING)?,
            b2: r.load_u32(off + rec::B2)?,
        })
    }

    /// The next slot in the chain of `bucket` (SSSD: `hash1`'s chain first).
    #[inline]
    pub fn next_for(&self, bucket: u32) -> u32 {
        if self.hash1 == bucket {
            self.next1
        } else if self.hash2 == bucket {
            self.next2
        } else {
            INVALID32
        }
    }
}
