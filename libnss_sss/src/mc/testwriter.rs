//! A minimal memory-cache writer for the reader's tests and the timing example; not shipped
//! (sssd_nss has the real one). It creates a file in SSSD's layout, adds records with the
//! barrier protocol, rewrites them in place and changes the header status, all through a
//! writable shared mapping of the file, as sssd_nss does.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use sss_proto::memcache::{
    Geometry, HEADER_FIELDS_LEN, Header, INVALID32, RECORD_HEADER_SIZE, Region, RegionMut,
    SLOT_SIZE, SharedRegion, encode_group, encode_initgroups, encode_passwd, id_key, murmurhash3,
    name_key, next_barrier, rec, slots_for,
};

/// A writable mapping of a cache file.
pub struct McWriter {
    region: SharedRegion,
    base: *mut u8,
    len: usize,
    geo: Geometry,
    seed: u32,
    next_slot: u32,
}

fn os_err() -> io::Error {
    io::Error::last_os_error()
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, what.to_owned())
}

fn cpath(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| bad("path with NUL"))
}

/// Maps `len` bytes of the file at `path` read-write and shared.
fn map_rw(path: &Path, create: bool, len: Option<usize>) -> io::Result<(*mut u8, usize)> {
    let c = cpath(path)?;
    let flags = libc::O_RDWR
        | libc::O_CLOEXEC
        | if create {
            libc::O_CREAT | libc::O_TRUNC
        } else {
            0
        };
    // SAFETY: NUL-terminated path.
    let fd = unsafe { libc::open(c.as_ptr(), flags, 0o664) };
    if fd < 0 {
        return Err(os_err());
    }
    let res = (|| {
        let len = match len {
            Some(l) => {
                // SAFETY: our fd.
                if unsafe { libc::ftruncate(fd, l as libc::off_t) } != 0 {
                    return Err(os_err());
                }
                l
            }
            None => {
                let mut st = std::mem::MaybeUninit::<libc::stat>::zeroed();
                // SAFETY: writable stat buffer.
                if unsafe { libc::fstat(fd, st.as_mut_ptr()) } != 0 {
                    return Err(os_err());
                }
                // SAFETY: fstat succeeded.
                usize::try_from(unsafe { st.assume_init() }.st_size).map_err(|_| bad("size"))?
            }
        };
        // SAFETY: a fresh shared mapping of our fd.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(os_err());
        }
        Ok((p.cast::<u8>(), len))
    })();
    // SAFETY: our fd; the mapping keeps the file.
    unsafe { libc::close(fd) };
    res
}

impl McWriter {
    /// Creates (or truncates) `path` as an empty ALIVE cache of `slots` slots.
    pub fn create(path: &Path, slots: u32, seed: u32) -> io::Result<McWriter> {
        let geo = Geometry::for_slots(slots).ok_or_else(|| bad("slots"))?;
        let (base, len) = map_rw(path, true, Some(geo.file_size as usize))?;
        // SAFETY: `len` writable bytes, page-aligned, unmapped on drop.
        let region = unsafe { SharedRegion::new(base, len) };
        let mut w = McWriter {
            region,
            base,
            len,
            geo,
            seed,
            next_slot: 0,
        };
        w.region
            .fill(geo.data_table as usize, geo.dt_size as usize, 0xff);
        w.region
            .fill(geo.free_table as usize, geo.ft_size as usize, 0);
        w.region
            .fill(geo.hash_table as usize, geo.ht_size as usize, 0xff);
        w.store_header(&Header::alive(&geo, seed, 0xf000_0001));
        Ok(w)
    }

    /// Maps an existing cache file written by [`McWriter::create`] (a second writer over the
    /// same file, e.g. in another thread).
    pub fn open(path: &Path) -> io::Result<McWriter> {
        let (base, len) = map_rw(path, false, None)?;
        // SAFETY: as in `create`.
        let region = unsafe { SharedRegion::new(base, len) };
        let h = Header::read(&region).ok_or_else(|| bad("header"))?;
        let geo = Geometry::from_header(&h, len, true).ok_or_else(|| bad("geometry"))?;
        Ok(McWriter {
            region,
            base,
            len,
            geo,
            seed: h.seed,
            next_slot: geo.slots,
        })
    }

    /// The file's geometry.
    pub fn geometry(&self) -> Geometry {
        self.geo
    }

    /// The raw region (tests corrupt files through it).
    pub fn region(&mut self) -> &mut SharedRegion {
        &mut self.region
    }

    /// Writes `h` with the header barriers (b1/b2 taken from the current header).
    pub fn store_header(&mut self, h: &Header) {
        let old = self.region.load_u32(0).unwrap_or(INVALID32);
        let b = next_barrier(old);
        let bytes = Header { b1: b, b2: b, ..*h }.encode();
        self.region.store_u32(48, b);
        self.region.full_fence();
        self.region
            .store_bytes(4, bytes.get(4..48).unwrap_or_default());
        self.region.full_fence();
        self.region.store_u32(0, b);
        debug_assert_eq!(bytes.len(), HEADER_FIELDS_LEN);
    }

    /// Sets the header status (e.g. `STATUS_RECYCLED`).
    pub fn set_status(&mut self, status: u32) {
        if let Some(h) = Header::read(&self.region) {
            self.store_header(&Header { status, ..h });
        }
    }

    fn bucket(&self, key: &[u8]) -> u32 {
        murmurhash3(key, self.seed) % self.geo.buckets()
    }

    fn record_offset(&self, slot: u32) -> usize {
        (self.geo.data_table + slot * SLOT_SIZE) as usize
    }

    /// Writes a record's header fields and payload between the barriers.
    fn write_record(&mut self, slot: u32, hr: (u32, u32, u32, u32), payload: &[u8], expire: u64) {
        let off = self.record_offset(slot);
        let len = RECORD_HEADER_SIZE + payload.len() as u32;
        let b = next_barrier(self.region.load_u32(off + rec::B1).unwrap_or(INVALID32));
        self.region.store_u32(off + rec::B2, b);
        self.region.full_fence();
        self.region.store_u32(off + rec::LEN, len);
        self.region.store_u64(off + rec::EXPIRE, expire);
        self.region.store_u32(off + rec::NEXT1, hr.0);
        self.region.store_u32(off + rec::NEXT2, hr.1);
        self.region.store_u32(off + rec::HASH1, hr.2);
        self.region.store_u32(off + rec::HASH2, hr.3);
        self.region.store_u32(off + rec::PADDING, INVALID32);
        self.region
            .store_bytes(off + RECORD_HEADER_SIZE as usize, payload);
        self.region.full_fence();
        self.region.store_u32(off + rec::B1, b);
    }

    /// Adds a record chained under `key1` and `key2` (hash keys, NUL included); returns its
    /// first slot.
    pub fn add_record(
        &mut self,
        key1: &[u8],
        key2: &[u8],
        payload: &[u8],
        expire: u64,
    ) -> io::Result<u32> {
        let n = slots_for(RECORD_HEADER_SIZE + payload.len() as u32);
        let slot = self.next_slot;
        if slot + n > self.geo.slots {
            return Err(bad("cache file full"));
        }
        self.next_slot += n;
        for s in slot..slot + n {
            let at = self.geo.free_table as usize + (s / 8) as usize;
            let byte = self.region.load_u8(at).unwrap_or(0) | (0x80 >> (s % 8));
            self.region.store_bytes(at, &[byte]);
        }
        let (h1, h2) = (self.bucket(key1), self.bucket(key2));
        let head = |w: &Self, h: u32| {
            w.region
                .load_u32(w.geo.hash_table as usize + h as usize * 4)
                .unwrap_or(INVALID32)
        };
        let next1 = head(self, h1);
        let next2 = if h2 == h1 { INVALID32 } else { head(self, h2) };
        self.write_record(slot, (next1, next2, h1, h2), payload, expire);
        self.region.full_fence();
        self.region
            .store_u32(self.geo.hash_table as usize + h1 as usize * 4, slot);
        if h2 != h1 {
            self.region
                .store_u32(self.geo.hash_table as usize + h2 as usize * 4, slot);
        }
        Ok(slot)
    }

    /// Rewrites the record at `slot` in place (same chains) with a payload needing no more
    /// slots than before.
    pub fn rewrite(&mut self, slot: u32, payload: &[u8], expire: u64) {
        let off = self.record_offset(slot);
        let load = |w: &Self, at: usize| w.region.load_u32(off + at).unwrap_or(INVALID32);
        let hr = (
            load(self, rec::NEXT1),
            load(self, rec::NEXT2),
            load(self, rec::HASH1),
            load(self, rec::HASH2),
        );
        self.write_record(slot, hr, payload, expire);
    }

    /// The payload of a passwd record.
    pub fn passwd_payload(
        name: &str,
        uid: u32,
        gid: u32,
        gecos: &str,
        dir: &str,
        shell: &str,
    ) -> io::Result<Vec<u8>> {
        encode_passwd(
            name.as_bytes(),
            b"*",
            uid,
            gid,
            gecos.as_bytes(),
            dir.as_bytes(),
            shell.as_bytes(),
        )
        .ok_or_else(|| bad("passwd strings"))
    }

    /// Adds a passwd record (password `*`).
    #[allow(clippy::too_many_arguments)]
    pub fn passwd(
        &mut self,
        name: &str,
        uid: u32,
        gid: u32,
        gecos: &str,
        dir: &str,
        shell: &str,
        expire: u64,
    ) -> io::Result<u32> {
        let p = Self::passwd_payload(name, uid, gid, gecos, dir, shell)?;
        self.add_record(
            &name_key(name.as_bytes()),
            id_key(uid).as_bytes(),
            &p,
            expire,
        )
    }

    /// The payload of a group record (password `*`).
    pub fn group_payload(name: &str, gid: u32, members: &[&str]) -> io::Result<Vec<u8>> {
        let m: Vec<&[u8]> = members.iter().map(|s| s.as_bytes()).collect();
        encode_group(name.as_bytes(), b"*", gid, &m).ok_or_else(|| bad("group strings"))
    }

    /// Adds a group record.
    pub fn group(
        &mut self,
        name: &str,
        gid: u32,
        members: &[&str],
        expire: u64,
    ) -> io::Result<u32> {
        let p = Self::group_payload(name, gid, members)?;
        self.add_record(
            &name_key(name.as_bytes()),
            id_key(gid).as_bytes(),
            &p,
            expire,
        )
    }

    /// Adds an initgroups record for the name the client asks (`name`).
    pub fn initgroups(
        &mut self,
        name: &str,
        unique: &str,
        gids: &[u32],
        expire: u64,
    ) -> io::Result<u32> {
        let p = encode_initgroups(name.as_bytes(), unique.as_bytes(), gids)
            .ok_or_else(|| bad("initgroups record"))?;
        self.add_record(
            &name_key(name.as_bytes()),
            &name_key(unique.as_bytes()),
            &p,
            expire,
        )
    }
}

impl Drop for McWriter {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `create`/`open`; the region is not used afterwards.
        unsafe { libc::munmap(self.base.cast(), self.len) };
    }
}

// SAFETY: the mapping is plain shared memory owned by the writer; moving it to another
// thread is fine (tests run writers in their own threads).
unsafe impl Send for McWriter {}
