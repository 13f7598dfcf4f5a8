//! A global allocator that wipes every block it gives back: memory freed by any code in the
//! process (zbus message buffers, ldap3's BER and TLS buffers, a `Vec` that grew) holds no
//! copy of what it held, so a password that passed through a daemon process is not left
//! readable in its free heap. Installed by the daemon processes that see secrets
//! (`sssd`, `sssd_pam`, `sssd_be`) and by the helpers:
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOC: sss_proto::wipe_alloc::WipeOnFree = sss_proto::wipe_alloc::WipeOnFree;
//! ```
//!
//! Live buffers are not touched: code that keeps a secret in a long-lived buffer must still
//! wipe it itself (see [`crate::pam::wipe`]). Memory that C libraries free with `free()`
//! (libkrb5 in `krb5_child`) is outside its reach; those helpers exit after one request.

use std::alloc::{GlobalAlloc, Layout, System};

/// The wiping allocator: [`System`] with every freed block (and the old block of every
/// reallocation) overwritten with zeros first.
#[derive(Debug, Clone, Copy, Default)]
pub struct WipeOnFree;

/// Overwrites `len` bytes at `ptr` with zeros in a way the optimiser keeps (stores right
/// before `free` are otherwise removable).
///
/// # Safety
/// `ptr` must be valid for writes of `len` bytes.
unsafe fn wipe_raw(ptr: *mut u8, len: usize) {
    // SAFETY: the caller guarantees `ptr..ptr+len` is writable.
    unsafe { std::ptr::write_bytes(ptr, 0, len) };
    // SAFETY: an empty asm block that is handed the pointer and may read memory: the
    // compiler must assume the zeros are observed, so it cannot drop the stores above.
    unsafe {
        std::arch::asm!("/* {0} */", in(reg) ptr, options(nostack, preserves_flags, readonly))
    };
}

// SAFETY: every method forwards to `System` with the same layouts; blocks are only written
// while still owned (before they are freed).
unsafe impl GlobalAlloc for WipeOnFree {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` is a live block of `layout.size()` bytes from this allocator.
        unsafe {
            wipe_raw(ptr, layout.size());
            System.dealloc(ptr, layout);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Never let the system allocator move or shrink the block itself: it would free or
        // keep the old bytes unwiped. Allocate, copy, wipe, free.
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return std::ptr::null_mut();
        };
        // SAFETY: `new_layout` has a non-zero size (the caller's guarantee for realloc).
        let new = unsafe { System.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are live, distinct, and at least `min` bytes long; the old
            // one is ours to free.
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_round_trip_and_keep_their_bytes_on_realloc() {
        let a = WipeOnFree;
        let layout = Layout::from_size_align(64, 8).unwrap();
        // SAFETY: plain use of the allocator API with matching layouts.
        unsafe {
            let p = a.alloc(layout);
            assert!(!p.is_null());
            for i in 0..64 {
                *p.add(i) = i as u8;
            }
            let q = a.realloc(p, layout, 4096);
            assert!(!q.is_null());
            for i in 0..64 {
                assert_eq!(*q.add(i), i as u8);
            }
            let big = Layout::from_size_align(4096, 8).unwrap();
            let r = a.realloc(q, big, 16);
            for i in 0..16 {
                assert_eq!(*r.add(i), i as u8);
            }
            a.dealloc(r, Layout::from_size_align(16, 8).unwrap());
            let z = a.alloc_zeroed(big);
            assert!((0..4096).all(|i| *z.add(i) == 0));
            a.dealloc(z, big);
        }
    }

    #[test]
    fn wipe_raw_zeroes() {
        let mut buf = [0xAAu8; 33];
        // SAFETY: `buf` is a writable local array of 33 bytes.
        unsafe { wipe_raw(buf.as_mut_ptr(), buf.len()) };
        assert!(buf.iter().all(|&b| b == 0));
    }
}
