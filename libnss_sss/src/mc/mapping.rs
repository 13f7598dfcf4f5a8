//! One memory-cache file (`passwd`, `group` or `initgroups`) mapped once and shared by every
//! thread of the process, with a lifecycle that never unmaps memory a thread is reading.
//!
//! # The scheme
//!
//! A [`MapFile`] owns a few [`Slot`]s. Each slot holds at most one mapping and one state
//! word, `phase << 62 | readers`, changed only by atomic read-modify-writes (all `SeqCst`):
//!
//! ```text
//!   FREE --claim (installer)--> INSTALLING --ok: publish with readers=1--> LIVE
//!     ^                             |                                       |
//!     |                             +--failed------------------> FREE       | retire
//!     |                                                                      v
//!     +---- unmap + close by the thread that takes readers 1 -> 0 ---- RETIRED
//! ```
//!
//! - A reader enters only by a compare-and-swap from `(LIVE, n)` to `(LIVE, n + 1)`: the
//!   phase and the count live in the same word, so no reader can slip in between a check of
//!   the phase and the increment (SSSD's client checks its state and bumps a separate
//!   counter, so a thread can start reading a mapping another thread is unmapping).
//! - A reader leaves with `fetch_sub(1)`. Once a slot is RETIRED nothing increments its count
//!   again, so exactly one `fetch_sub` sees `(RETIRED, 1)`: that thread owns the slot alone.
//!   It unmaps, closes the descriptor (if it is still ours) and stores `FREE`.
//! - Retiring (`LIVE -> RETIRED`, count kept) is only done by a thread that holds a
//!   reference, so the count is at least 1 at that moment and the unmapping always happens
//!   in some reader's exit, after every reader's last access (each exit is an RMW on the
//!   word, so all earlier accesses happen-before the last one).
//! - The mapping description is written only by the slot's exclusive owner (INSTALLING, or
//!   the unmapping thread) and published by the `SeqCst` store/RMW of the state; readers read
//!   it after their successful CAS, which synchronises with that store. It never changes
//!   while readers can see it.
//! - Installing is serialised by a lock word holding the installer's pid. A thread finding
//!   its own pid there backs off to the socket (never waits); a different pid can only be
//!   the parent's, inherited by a child forked mid-install, whose installing thread does not
//!   exist in the child: the child takes the lock over.
//! - A freed slot may be installed again while a slow reader still holds the old index: its
//!   CAS succeeds only on a LIVE slot, whose (new) mapping it then reads, which is harmless.
//!
//! # Reopening
//!
//! Opening is attempted at most once per period (1 s for the system cache), measured with
//! `CLOCK_MONOTONIC_COARSE` from the previous attempt: a missing or broken file costs a clock
//! read per lookup, and a file that appears is mapped within a period. A mapping retired
//! (replaced, recycled, unlinked) is reopened by the next call once a period has passed since
//! it was opened, so a long-lived mapping is replaced at once.
//!
//! # Fork
//!
//! The child inherits the mappings, the descriptors and the state words. It keeps answering
//! from the cache. A thread of the parent that was inside a mapping at fork time does not
//! exist in the child but its count does: that slot can never reach zero readers in the
//! child, so if the child retires it the mapping and descriptor leak (in the child only) and
//! the child installs the new file in another slot. The parent is unaffected: each process
//! unmaps its own address space and closes its own descriptor copy, so nothing is unmapped
//! or closed twice. With [`SLOTS`] slots a child would need that many such stuck slots
//! before it stops using the cache (then it uses the socket, still correct). The same holds
//! for a slot left INSTALLING or half-unmapped by a parent thread at fork time.
//!
//! # Limits
//!
//! Each call re-reads the header (a RECYCLED file is dropped at once). The file itself is
//! checked with fstat (still linked, same inode, the size that was mapped) at most once per
//! [`sys::CHECK_TICKS`], tens of microseconds: the system call costs more than the whole
//! lookup otherwise does (145 of 285 ns per hit here), and the one thing only it catches,
//! a file unlinked without being marked or shrunk in place, is not something any writer
//! does. A file shrunk under a reader is therefore noticed within that period; a process
//! reading in a tight loop at that moment can still die of SIGBUS (SSSD's client always
//! does); only root can write these files.

use std::cell::UnsafeCell;
use std::ffi::{CStr, CString};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};
use std::time::Duration;

use sss_proto::memcache::{Geometry, HEADER_SIZE, Header, STATUS_ALIVE, SharedRegion, Table};

use super::sys;

/// Slots per map: how many mappings stuck in a forked child (see the module docs) it takes
/// before the child stops using the cache.
pub const SLOTS: usize = 4;

/// Largest file accepted (tables end below 8 GiB: 32-bit offsets and sizes).
const MAX_FILE: u64 = 8 << 30;

const PHASE_SHIFT: u32 = 62;
const COUNT_MASK: u64 = (1 << PHASE_SHIFT) - 1;
const FREE: u64 = 0;
const INSTALLING: u64 = 1;
const LIVE: u64 = 2;
const RETIRED: u64 = 3;

fn phase(s: u64) -> u64 {
    s >> PHASE_SHIFT
}

fn readers(s: u64) -> u64 {
    s & COUNT_MASK
}

const fn word(phase: u64, readers: u64) -> u64 {
    (phase << PHASE_SHIFT) | (readers & COUNT_MASK)
}

/// Why the cache file could not be used for this call (the caller asks the responder).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unusable {
    /// `SSS_NSS_USE_MEMCACHE=NO`.
    Disabled,
    /// No usable mapping and the last attempt to open the file was too recent.
    Pacing,
    /// Another thread is opening the file right now.
    Busy,
    /// Every slot is in use (mappings stuck in a forked child).
    NoSlot,
    /// open/fstat/mmap failed with this errno.
    Os(i32),
    /// The file is not a usable cache file (the reason names what).
    Invalid(&'static str),
    /// The mapping no longer matches the file (unlinked, replaced, resized, recycled): it was
    /// retired; the next call opens the file again.
    Stale,
}

/// Where a map file lives: a static path (the system cache) or one built at run time (tests).
#[derive(Debug)]
enum FilePath {
    Static(&'static CStr),
    Owned(CString),
}

/// A mapped cache file, as installed.
#[derive(Debug, Clone, Copy)]
pub struct Mapping {
    base: *mut u8,
    len: usize,
    fd: RawFd,
    dev: u64,
    ino: u64,
    header: Header,
    /// The tables' geometry, validated against the file size when mapped.
    geometry: Geometry,
}

impl Mapping {
    /// A view of the mapped bytes.
    pub fn region(&self) -> SharedRegion {
        // SAFETY: `base` maps `len` readable bytes (page-aligned) for as long as a reader
        // holds the slot, which outlives every use of this view (see `Guard`).
        unsafe { SharedRegion::new(self.base, self.len) }
    }

    /// The header read when the file was mapped (geometry and seed).
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The file's tables over `region` (this mapping's), as validated when it was mapped.
    pub fn table<'r>(&self, region: &'r SharedRegion) -> Table<'r, SharedRegion> {
        Table::with_geometry(region, self.geometry, self.header.seed)
    }

    /// Unmaps and closes, unless the descriptor number now names another file (the program
    /// closed ours and reused the number): then it is left alone.
    ///
    /// # Safety
    /// Nobody may use the mapping afterwards.
    unsafe fn destroy(self) {
        // SAFETY: caller contract; base/len are the mapping made at install.
        unsafe { sys::unmap(self.base, self.len) };
        if let Ok(st) = sys::fstat(self.fd)
            && (st.dev, st.ino) == (self.dev, self.ino)
        {
            sys::close(self.fd);
        }
    }
}

/// A slot: a state word and the mapping it guards.
struct Slot {
    state: AtomicU64,
    mapping: UnsafeCell<Option<Mapping>>,
    /// When ([`sys::ticks`]) the file behind the mapping was last checked with fstat.
    checked: AtomicU64,
}

// SAFETY: `mapping` is written only by the slot's exclusive owner (phase INSTALLING, or the
// thread that took a RETIRED slot to zero readers) and read only by threads holding a
// reader count on a LIVE/RETIRED slot; the SeqCst operations on `state` order the two (see
// the module docs).
unsafe impl Sync for Slot {}
// SAFETY: the mapping and descriptor belong to the process, not to a thread.
unsafe impl Send for Slot {}

impl Slot {
    const fn new() -> Slot {
        Slot {
            state: AtomicU64::new(word(FREE, 0)),
            mapping: UnsafeCell::new(None),
            checked: AtomicU64::new(0),
        }
    }

    /// Takes a reader reference if the slot is LIVE.
    fn try_enter(&self) -> Option<Mapping> {
        let mut s = self.state.load(SeqCst);
        loop {
            if phase(s) != LIVE {
                return None;
            }
            match self
                .state
                .compare_exchange_weak(s, s.wrapping_add(1), SeqCst, SeqCst)
            {
                Ok(_) => break,
                Err(now) => s = now,
            }
        }
        // SAFETY: we hold a reference on a LIVE slot: the mapping is set and immutable.
        let m = unsafe { *self.mapping.get() };
        if m.is_none() {
            self.exit();
        }
        m
    }

    /// Drops a reader reference; the last reader out of a RETIRED slot unmaps it.
    fn exit(&self) {
        let prev = self.state.fetch_sub(1, SeqCst);
        if phase(prev) == RETIRED && readers(prev) == 1 {
            // SAFETY: (RETIRED, 0): no reader holds the slot and none can enter; we are the
            // only thread that saw this transition, so we own the slot.
            unsafe { self.reclaim() };
        }
    }

    /// Unmaps and frees the slot.
    ///
    /// # Safety
    /// The caller must own the slot: RETIRED with no readers, reached by its own RMW.
    unsafe fn reclaim(&self) {
        // SAFETY: exclusive owner (caller contract).
        let m = unsafe { (*self.mapping.get()).take() };
        if let Some(m) = m {
            // SAFETY: no reader remains and none can enter.
            unsafe { m.destroy() };
        }
        self.state.store(word(FREE, 0), SeqCst);
    }

    /// LIVE -> RETIRED, keeping the count (the caller holds a reference).
    fn retire(&self) {
        let mut s = self.state.load(SeqCst);
        while phase(s) == LIVE {
            match self
                .state
                .compare_exchange_weak(s, word(RETIRED, readers(s)), SeqCst, SeqCst)
            {
                Ok(_) => return,
                Err(now) => s = now,
            }
        }
    }
}

/// A reader's reference on a mapping: the mapping stays valid until the guard drops.
pub struct Guard<'a> {
    slot: &'a Slot,
    map: Mapping,
}

impl Guard<'_> {
    /// The mapping.
    pub fn mapping(&self) -> &Mapping {
        &self.map
    }

    /// Marks the mapping as no longer to be used; it is unmapped when the last reader
    /// (possibly this one) leaves.
    pub fn retire(&self) {
        self.slot.retire();
    }

    /// Checks the mapping still reflects the file. Every call: the header is still ALIVE
    /// (every writer, SSSD's and ours, and `sss_cache` mark a file RECYCLED before removing
    /// it). Once per [`sys::CHECK_TICKS`] (tens of microseconds): fstat shows the same
    /// inode, still linked, of the mapped size (a file removed without the mark, or shrunk
    /// under us), and the header keeps the seed and geometry it had when mapped.
    fn still_current(&self) -> bool {
        let m = &self.map;
        let region = m.region();
        let now = sys::ticks();
        if now.wrapping_sub(self.slot.checked.load(Relaxed)) >= sys::CHECK_TICKS {
            let Ok(st) = sys::fstat(m.fd) else {
                return false;
            };
            if st.nlink == 0 || (st.dev, st.ino) != (m.dev, m.ino) || st.size != m.len as u64 {
                return false;
            }
            if !Header::read(&region).is_some_and(|h| same_layout(&h, &m.header)) {
                return false;
            }
            self.slot.checked.store(now, Relaxed);
        }
        Header::read_status(&region) == Some(STATUS_ALIVE)
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.slot.exit();
    }
}

/// Whether two headers describe the same file layout (version, seed, tables). Written as
/// one OR of differences so it stays a handful of register operations (a chain of `==` on
/// adjacent fields becomes a `memcmp` call).
fn same_layout(a: &Header, b: &Header) -> bool {
    ((a.major_vno ^ b.major_vno)
        | (a.minor_vno ^ b.minor_vno)
        | (a.seed ^ b.seed)
        | (a.dt_size ^ b.dt_size)
        | (a.ft_size ^ b.ft_size)
        | (a.ht_size ^ b.ht_size)
        | (a.data_table ^ b.data_table)
        | (a.free_table ^ b.free_table)
        | (a.hash_table ^ b.hash_table))
        == 0
}

/// One cache file shared by the process's threads.
pub struct MapFile {
    path: FilePath,
    period_ns: u64,
    /// The slot most recently installed (a hint; the slot's own state decides).
    current: AtomicUsize,
    /// Coarse-monotonic time before which no new open is attempted.
    next_attempt: AtomicU64,
    /// 0, or the pid of the process one of whose threads is installing.
    installer: AtomicI32,
    slots: [Slot; SLOTS],
}

impl std::fmt::Debug for MapFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MapFile")
            .field("path", &self.path)
            .field("period_ns", &self.period_ns)
            .finish_non_exhaustive()
    }
}

fn period_ns(period: Duration) -> u64 {
    u64::try_from(period.as_nanos()).unwrap_or(u64::MAX)
}

impl MapFile {
    /// The file at `path`, opened at most once per `period_ns` nanoseconds (counted from the
    /// previous attempt, whether it worked or not).
    pub const fn at_static(path: &'static CStr, period_ns: u64) -> MapFile {
        MapFile::with_path(FilePath::Static(path), period_ns)
    }

    /// As [`MapFile::at_static`] for a path known at run time.
    pub fn at(path: CString, period: Duration) -> MapFile {
        MapFile::with_path(FilePath::Owned(path), period_ns(period))
    }

    const fn with_path(path: FilePath, period_ns: u64) -> MapFile {
        MapFile {
            path,
            period_ns,
            current: AtomicUsize::new(0),
            next_attempt: AtomicU64::new(0),
            installer: AtomicI32::new(0),
            slots: [const { Slot::new() }; SLOTS],
        }
    }

    fn path(&self) -> &CStr {
        match &self.path {
            FilePath::Static(p) => p,
            FilePath::Owned(p) => p,
        }
    }

    /// A checked reference on the current mapping, mapping the file first if needed (at most
    /// once per period). A mapping that no longer matches the file is retired and this call
    /// gets [`Unusable::Stale`].
    pub fn enter(&self) -> Result<Guard<'_>, Unusable> {
        let guard = match self.enter_current() {
            Some(g) => g,
            None => self.install()?,
        };
        if guard.still_current() {
            Ok(guard)
        } else {
            guard.retire();
            Err(Unusable::Stale)
        }
    }

    fn enter_current(&self) -> Option<Guard<'_>> {
        let i = self.current.load(SeqCst);
        let slot = self.slots.get(i)?;
        let map = slot.try_enter()?;
        Some(Guard { slot, map })
    }

    /// Maps the file into a free slot (rate-limited, one installer at a time) and returns a
    /// reference on it.
    fn install(&self) -> Result<Guard<'_>, Unusable> {
        let now = sys::coarse_now_ns();
        if now < self.next_attempt.load(SeqCst) {
            return Err(Unusable::Pacing);
        }
        let me = sys_getpid();
        let held = self.installer.load(SeqCst);
        // `held` is 0, our pid (another thread of ours is installing: do not wait), or a
        // parent's pid inherited mid-install across fork (nobody here holds it: take over).
        if held == me
            || self
                .installer
                .compare_exchange(held, me, SeqCst, SeqCst)
                .is_err()
        {
            return Err(Unusable::Busy);
        }
        let res = self.install_locked(now);
        self.installer.store(0, SeqCst);
        res
    }

    fn install_locked(&self, now: u64) -> Result<Guard<'_>, Unusable> {
        // Another thread may have installed while we were getting here.
        if let Some(g) = self.enter_current() {
            return Ok(g);
        }
        if now < self.next_attempt.load(SeqCst) {
            return Err(Unusable::Pacing);
        }
        self.next_attempt
            .store(now.saturating_add(self.period_ns), SeqCst);
        let (i, slot) = self
            .slots
            .iter()
            .enumerate()
            .find(|(_, s)| {
                s.state
                    .compare_exchange(word(FREE, 0), word(INSTALLING, 0), SeqCst, SeqCst)
                    .is_ok()
            })
            .ok_or(Unusable::NoSlot)?;
        match open_mapping(self.path()) {
            Ok(map) => {
                // SAFETY: INSTALLING: we own the slot exclusively.
                unsafe { *slot.mapping.get() = Some(map) };
                // Just checked by open_mapping: the next fstat is due one period from now.
                slot.checked.store(sys::ticks(), Relaxed);
                self.current.store(i, SeqCst);
                // Published with our own reference, so nobody can retire and unmap it before
                // we use it.
                slot.state.store(word(LIVE, 1), SeqCst);
                Ok(Guard { slot, map })
            }
            Err(e) => {
                slot.state.store(word(FREE, 0), SeqCst);
                Err(e)
            }
        }
    }

    /// Test hook: the phase and reader count of every slot.
    #[cfg(test)]
    pub fn slot_states(&self) -> Vec<(u64, u64)> {
        self.slots
            .iter()
            .map(|s| {
                let w = s.state.load(SeqCst);
                (phase(w), readers(w))
            })
            .collect()
    }
}

impl Drop for MapFile {
    fn drop(&mut self) {
        // Only non-static instances (tests, tools) drop, and `&mut self` means no reader.
        for s in &self.slots {
            let w = s.state.load(SeqCst);
            if matches!(phase(w), LIVE | RETIRED) && readers(w) == 0 {
                // SAFETY: exclusive access through `&mut self`, no readers.
                unsafe { s.reclaim() };
            }
        }
    }
}

fn sys_getpid() -> i32 {
    sss_client::sys::getpid()
}

/// Opens, checks and maps the file at `path`. The size is checked against the header's
/// tables before anything past the header is touched.
fn open_mapping(path: &CStr) -> Result<Mapping, Unusable> {
    let fd = sys::open_readonly(path).map_err(Unusable::Os)?;
    match map_fd(fd) {
        Ok(m) => Ok(m),
        Err(e) => {
            sys::close(fd);
            Err(e)
        }
    }
}

fn map_fd(fd: RawFd) -> Result<Mapping, Unusable> {
    let st = sys::fstat(fd).map_err(Unusable::Os)?;
    if !st.regular {
        return Err(Unusable::Invalid("not a regular file"));
    }
    if st.size < u64::from(HEADER_SIZE) {
        return Err(Unusable::Invalid("smaller than a header"));
    }
    if st.size > MAX_FILE {
        return Err(Unusable::Invalid("larger than any valid cache file"));
    }
    let len = usize::try_from(st.size).map_err(|_| Unusable::Invalid("too large to map"))?;
    let base = sys::map_shared_readonly(fd, len).map_err(Unusable::Os)?;
    // SAFETY: the mapping just made, `len` readable bytes, page-aligned.
    let region = unsafe { SharedRegion::new(base, len) };
    match check_header(&region) {
        Ok((header, geometry)) => Ok(Mapping {
            base,
            len,
            fd,
            dev: st.dev,
            ino: st.ino,
            header,
            geometry,
        }),
        Err(e) => {
            // SAFETY: our fresh mapping, not published.
            unsafe { sys::unmap(base, len) };
            Err(e)
        }
    }
}

/// The header of a freshly mapped file, if usable, and its tables' geometry checked
/// against the file size.
fn check_header(region: &SharedRegion) -> Result<(Header, Geometry), Unusable> {
    let h = Header::read(region).ok_or(Unusable::Invalid("header unreadable"))?;
    if !h.usable() || h.status != STATUS_ALIVE {
        return Err(Unusable::Invalid("header not version 1.1 and ALIVE"));
    }
    let t =
        Table::new(region, &h).map_err(|_| Unusable::Invalid("header tables outside the file"))?;
    Ok((h, *t.geometry()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_word_packs_phase_and_count() {
        let w = word(RETIRED, 5);
        assert_eq!((phase(w), readers(w)), (RETIRED, 5));
        assert_eq!(phase(w - 5), RETIRED);
        assert_eq!(word(LIVE, 0) + 1, word(LIVE, 1));
        assert_eq!(phase(word(FREE, 0)), FREE);
    }

    #[test]
    fn last_reader_of_a_retired_slot_reclaims_it() {
        let s = Slot::new();
        s.state.store(word(INSTALLING, 0), SeqCst);
        // A fake mapping over a real one-page anonymous mapping and a real fd.
        // SAFETY: anonymous private mapping.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(base, libc::MAP_FAILED);
        let f = tempfile::tempfile().unwrap();
        let fd = std::os::fd::IntoRawFd::into_raw_fd(f);
        let st = sys::fstat(fd).unwrap();
        // SAFETY: INSTALLING, exclusive.
        unsafe {
            *s.mapping.get() = Some(Mapping {
                base: base.cast(),
                len: 4096,
                fd,
                dev: st.dev,
                ino: st.ino,
                header: Header::from_fields([0; 13]),
                geometry: Geometry::for_slots(8).unwrap(),
            })
        };
        s.state.store(word(LIVE, 0), SeqCst);
        let a = s.try_enter().unwrap();
        let _b = s.try_enter().unwrap();
        assert_eq!(readers(s.state.load(SeqCst)), 2);
        s.retire();
        assert!(s.try_enter().is_none(), "no entry once retired");
        s.exit();
        assert_eq!(s.state.load(SeqCst), word(RETIRED, 1));
        assert!(sys::fstat(a.fd).is_ok(), "still mapped and open");
        s.exit();
        assert_eq!(s.state.load(SeqCst), word(FREE, 0));
        assert_eq!(
            sys::fstat(fd),
            Err(libc::EBADF),
            "closed by the last reader"
        );
        // SAFETY: reading the cell of a FREE slot we own.
        assert!(unsafe { (*s.mapping.get()).is_none() });
    }
}
