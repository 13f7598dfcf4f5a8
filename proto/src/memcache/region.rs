//! The memory a cache file lives in: a mapping shared with another process (volatile
//! accesses, nothing cached by the compiler) or a plain byte buffer (tests, tools).
//!
//! Every access is bounds-checked and returns `None`/`false` when out of range, so code
//! walking a hostile file can never read or write outside the region. Integers are
//! host-endian, as SSSD writes them.

use std::sync::atomic::{Ordering, fence};

/// Read access to a cache file's bytes.
pub trait Region {
    /// Size in bytes.
    fn len(&self) -> usize;

    /// Whether the region is empty.
    #[inline]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The byte at `off`.
    fn load_u8(&self, off: usize) -> Option<u8>;

    /// The u32 at `off` (a 4-aligned offset for mappings, so the load is atomic).
    fn load_u32(&self, off: usize) -> Option<u32>;

    /// The u64 at `off`.
    #[inline]
    fn load_u64(&self, off: usize) -> Option<u64> {
        let lo = self.load_u32(off)?;
        let hi = self.load_u32(off.checked_add(4)?)?;
        let (a, b) = if cfg!(target_endian = "little") {
            (lo, hi)
        } else {
            (hi, lo)
        };
        Some(u64::from(a) | (u64::from(b) << 32))
    }

    /// Copies `dst.len()` bytes starting at `off` into `dst`; false if out of range.
    fn copy_out(&self, off: usize, dst: &mut [u8]) -> bool;

    /// Copies `dst.len()` host-endian u32s starting at `off` (4-aligned) into `dst`; false if
    /// out of range.
    #[inline]
    fn copy_out_u32(&self, off: usize, dst: &mut [u32]) -> bool {
        for (i, d) in dst.iter_mut().enumerate() {
            match i
                .checked_mul(4)
                .and_then(|x| x.checked_add(off))
                .and_then(|o| self.load_u32(o))
            {
                Some(v) => *d = v,
                None => return false,
            }
        }
        true
    }

    /// Whether the bytes at `off` are `bytes` (false if out of range).
    #[inline]
    fn bytes_equal(&self, off: usize, bytes: &[u8]) -> bool {
        bytes
            .iter()
            .enumerate()
            .all(|(i, b)| off.checked_add(i).and_then(|o| self.load_u8(o)) == Some(*b))
    }

    /// Orders the loads before it before the loads after it (a reader's barrier).
    #[inline]
    fn load_fence(&self) {
        fence(Ordering::Acquire);
    }
}

/// Write access to a cache file's bytes (the writer only).
pub trait RegionMut: Region {
    /// Stores `v` at `off`; false if out of range.
    fn store_u32(&mut self, off: usize, v: u32) -> bool;

    /// Stores `v` at `off`; false if out of range.
    #[inline]
    fn store_u64(&mut self, off: usize, v: u64) -> bool {
        let b = v.to_ne_bytes();
        self.store_bytes(off, &b)
    }

    /// Copies `src` to `off`; false if out of range.
    fn store_bytes(&mut self, off: usize, src: &[u8]) -> bool;

    /// Sets `len` bytes from `off` to `byte`; false if out of range.
    fn fill(&mut self, off: usize, len: usize, byte: u8) -> bool;

    /// A full barrier: every access before it is visible before any after it.
    #[inline]
    fn full_fence(&self) {
        fence(Ordering::SeqCst);
    }
}

#[inline]
fn span(off: usize, len: usize, total: usize) -> Option<std::ops::Range<usize>> {
    let end = off.checked_add(len)?;
    (end <= total).then_some(off..end)
}

/// A cache file held in ordinary memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BytesRegion {
    bytes: Vec<u8>,
}

impl BytesRegion {
    /// `len` zero bytes (a freshly preallocated file).
    pub fn zeroed(len: usize) -> BytesRegion {
        BytesRegion {
            bytes: vec![0; len],
        }
    }

    /// A region holding `bytes`.
    pub fn from_bytes(bytes: Vec<u8>) -> BytesRegion {
        BytesRegion { bytes }
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The bytes, writable (tests corrupt files through this).
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }
}

impl Region for BytesRegion {
    #[inline]
    fn len(&self) -> usize {
        self.bytes.len()
    }

    #[inline]
    fn load_u8(&self, off: usize) -> Option<u8> {
        self.bytes.get(off).copied()
    }

    #[inline]
    fn load_u32(&self, off: usize) -> Option<u32> {
        let b = self.bytes.get(span(off, 4, self.bytes.len())?)?;
        let mut w = [0u8; 4];
        w.copy_from_slice(b);
        Some(u32::from_ne_bytes(w))
    }

    #[inline]
    fn copy_out(&self, off: usize, dst: &mut [u8]) -> bool {
        match span(off, dst.len(), self.bytes.len()).and_then(|r| self.bytes.get(r)) {
            Some(src) => {
                dst.copy_from_slice(src);
                true
            }
            None => false,
        }
    }
}

impl RegionMut for BytesRegion {
    #[inline]
    fn store_u32(&mut self, off: usize, v: u32) -> bool {
        self.store_bytes(off, &v.to_ne_bytes())
    }

    #[inline]
    fn store_bytes(&mut self, off: usize, src: &[u8]) -> bool {
        let total = self.bytes.len();
        match span(off, src.len(), total).and_then(|r| self.bytes.get_mut(r)) {
            Some(dst) => {
                dst.copy_from_slice(src);
                true
            }
            None => false,
        }
    }

    #[inline]
    fn fill(&mut self, off: usize, len: usize, byte: u8) -> bool {
        let total = self.bytes.len();
        match span(off, len, total).and_then(|r| self.bytes.get_mut(r)) {
            Some(dst) => {
                dst.fill(byte);
                true
            }
            None => false,
        }
    }
}

/// A memory mapping shared with other processes, accessed with volatile loads and stores
/// (another process may change any byte at any time).
#[derive(Debug)]
pub struct SharedRegion {
    base: *mut u8,
    len: usize,
}

// SAFETY: the region is plain shared memory; every access is a volatile load or store of
// an aligned word or a byte, and concurrent writers are expected by the protocol.
unsafe impl Send for SharedRegion {}
// SAFETY: as above; `&SharedRegion` only allows loads.
unsafe impl Sync for SharedRegion {}

impl SharedRegion {
    /// A view of `len` bytes at `base`.
    ///
    /// # Safety
    /// `base` must be valid for reads (and for writes if the region is written through
    /// [`RegionMut`]) of `len` bytes for as long as the view is used, and aligned to 8.
    pub unsafe fn new(base: *mut u8, len: usize) -> SharedRegion {
        SharedRegion { base, len }
    }

    /// The start of the mapping.
    pub fn base(&self) -> *mut u8 {
        self.base
    }

    #[inline]
    fn ptr(&self, off: usize, len: usize) -> Option<*mut u8> {
        span(off, len, self.len)?;
        // SAFETY: off + len <= self.len, within the mapping (constructor contract).
        Some(unsafe { self.base.add(off) })
    }
}

impl Region for SharedRegion {
    #[inline]
    fn len(&self) -> usize {
        self.len
    }

    #[inline]
    fn load_u8(&self, off: usize) -> Option<u8> {
        let p = self.ptr(off, 1)?;
        // SAFETY: in bounds (checked by `ptr`).
        Some(unsafe { p.read_volatile() })
    }

    #[inline]
    fn load_u32(&self, off: usize) -> Option<u32> {
        let p = self.ptr(off, 4)?;
        if off.is_multiple_of(4) {
            // SAFETY: in bounds and 4-aligned (base is 8-aligned).
            Some(unsafe { p.cast::<u32>().read_volatile() })
        } else {
            let mut b = [0u8; 4];
            for (i, x) in b.iter_mut().enumerate() {
                // SAFETY: in bounds (i < 4 within the checked span).
                *x = unsafe { p.add(i).read_volatile() };
            }
            Some(u32::from_ne_bytes(b))
        }
    }

    #[inline]
    fn copy_out(&self, off: usize, dst: &mut [u8]) -> bool {
        let Some(p) = self.ptr(off, dst.len()) else {
            return false;
        };
        let n = dst.len();
        let d = dst.as_mut_ptr();
        let mut i = 0;
        // Word copies while both sides are equally aligned, volatile bytes otherwise.
        if (p as usize) % 8 == (d as usize) % 8 {
            while i < n && !(p as usize + i).is_multiple_of(8) {
                // SAFETY: i < n: within the checked source span and the destination.
                unsafe { d.add(i).write(p.add(i).read_volatile()) };
                i += 1;
            }
            while i + 8 <= n {
                // SAFETY: within both spans and 8-aligned on both sides.
                unsafe {
                    let w = p.add(i).cast::<u64>().read_volatile();
                    d.add(i).cast::<u64>().write(w);
                }
                i += 8;
            }
        }
        while i < n {
            // SAFETY: i < n: within the checked source span and the destination.
            unsafe { d.add(i).write(p.add(i).read_volatile()) };
            i += 1;
        }
        true
    }

    #[inline]
    fn bytes_equal(&self, off: usize, bytes: &[u8]) -> bool {
        let Some(p) = self.ptr(off, bytes.len()) else {
            return false;
        };
        // Compared in place: copying first would make the comparison wait for the copy's
        // byte stores (a store-forwarding stall that costs more than the bytes).
        bytes.iter().enumerate().all(|(i, b)| {
            // SAFETY: i < bytes.len(): within the checked span.
            unsafe { p.add(i).read_volatile() == *b }
        })
    }

    #[inline]
    fn copy_out_u32(&self, off: usize, dst: &mut [u32]) -> bool {
        let Some(bytes) = dst.len().checked_mul(4) else {
            return false;
        };
        let Some(p) = self.ptr(off, bytes) else {
            return false;
        };
        if !off.is_multiple_of(4) {
            return false;
        }
        let p = p.cast::<u32>();
        for (i, d) in dst.iter_mut().enumerate() {
            // SAFETY: i < dst.len(): within the checked span; 4-aligned (base is 8-aligned).
            *d = unsafe { p.add(i).read_volatile() };
        }
        true
    }
}

impl RegionMut for SharedRegion {
    #[inline]
    fn store_u32(&mut self, off: usize, v: u32) -> bool {
        let Some(p) = self.ptr(off, 4) else {
            return false;
        };
        if off.is_multiple_of(4) {
            // SAFETY: in bounds, 4-aligned, writable (constructor contract).
            unsafe { p.cast::<u32>().write_volatile(v) };
            true
        } else {
            self.store_bytes(off, &v.to_ne_bytes())
        }
    }

    #[inline]
    fn store_bytes(&mut self, off: usize, src: &[u8]) -> bool {
        let Some(p) = self.ptr(off, src.len()) else {
            return false;
        };
        for (i, b) in src.iter().enumerate() {
            // SAFETY: i < src.len(), within the checked span, writable.
            unsafe { p.add(i).write_volatile(*b) };
        }
        true
    }

    #[inline]
    fn fill(&mut self, off: usize, len: usize, byte: u8) -> bool {
        let Some(p) = self.ptr(off, len) else {
            return false;
        };
        // SAFETY: within the checked span, writable. A bulk fill: readers detect torn
        // records through the barriers, not through the order of these bytes.
        unsafe { std::ptr::write_bytes(p, byte, len) };
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_region_is_bounds_checked() {
        let mut r = BytesRegion::zeroed(16);
        assert!(r.store_u32(12, 0xdead_beef));
        assert!(!r.store_u32(13, 1));
        assert_eq!(r.load_u32(12), Some(0xdead_beef));
        assert_eq!(r.load_u32(13), None);
        assert_eq!(r.load_u32(usize::MAX - 1), None);
        assert!(r.store_u64(0, 0x0102_0304_0506_0708));
        assert_eq!(r.load_u64(0), Some(0x0102_0304_0506_0708));
        let mut dst = [0u8; 4];
        assert!(r.copy_out(12, &mut dst));
        assert!(!r.copy_out(13, &mut dst));
        assert!(r.fill(4, 4, 0xff));
        assert!(!r.fill(15, 2, 0));
        let mut words = [0u32; 2];
        assert!(r.copy_out_u32(8, &mut words));
        assert_eq!(words[1], 0xdead_beef);
        assert!(!r.copy_out_u32(12, &mut words));
        assert!(r.bytes_equal(4, &[0xff; 4]));
        assert!(!r.bytes_equal(14, &[0, 0, 0]));
        assert_eq!(r.load_u8(7), Some(0xff));
    }

    #[test]
    fn shared_region_copies_at_any_alignment() {
        let mut backing = vec![0u64; 8];
        let base = backing.as_mut_ptr().cast::<u8>();
        // SAFETY: the vector outlives the view and is 8-aligned.
        let mut r = unsafe { SharedRegion::new(base, 64) };
        let data: Vec<u8> = (0..64).collect();
        assert!(r.store_bytes(0, &data));
        for off in 0..8 {
            for len in [0, 1, 7, 8, 9, 23, 40] {
                let mut dst = vec![0u8; len + 3];
                assert!(r.copy_out(off, &mut dst[3..]));
                assert_eq!(&dst[3..], &data[off..off + len]);
                let mut dst = vec![0u8; len];
                assert!(r.copy_out(off, &mut dst));
                assert_eq!(dst, &data[off..off + len]);
            }
        }
        let mut big = vec![0u8; 65];
        assert!(!r.copy_out(0, &mut big));
        assert!(r.store_u32(60, 7));
        assert_eq!(r.load_u32(60), Some(7));
        assert_eq!(r.load_u32(61), None);
        let mut words = [0u32; 3];
        assert!(r.copy_out_u32(4, &mut words));
        assert_eq!(words[0], u32::from_ne_bytes([4, 5, 6, 7]));
        assert!(!r.copy_out_u32(6, &mut words), "unaligned");
        assert!(!r.copy_out_u32(56, &mut words), "past the end");
        assert!(r.bytes_equal(3, &[3, 4, 5]));
        assert!(!r.bytes_equal(3, &[3, 4, 6]));
        assert!(!r.bytes_equal(63, &[63, 64]));
        assert!(r.fill(8, 8, 0xee));
        assert_eq!(r.load_u64(8), Some(u64::MAX - 0x1111_1111_1111_1111));
    }
}
