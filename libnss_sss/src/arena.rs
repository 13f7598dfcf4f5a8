//! A bump allocator over the caller's buffer: strings and pointer arrays for the C structs.

use libc::c_char;

use crate::status::NssError;

/// Hands out pieces of a caller-provided buffer; runs out with [`NssError::Range`].
#[derive(Debug)]
pub struct Arena<'a> {
    buf: &'a mut [u8],
    used: usize,
}

impl<'a> Arena<'a> {
    /// An empty arena over `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Arena { buf, used: 0 }
    }

    /// Bytes handed out so far (alignment padding included).
    #[cfg(test)]
    pub fn used(&self) -> usize {
        self.used
    }

    /// Reserves `len` bytes at an offset aligned to `align`; returns (offset, slice).
    fn reserve(&mut self, len: usize, align: usize) -> Result<(usize, &mut [u8]), NssError> {
        let here = self.buf.as_ptr().wrapping_add(self.used);
        let pad = here.align_offset(align);
        let start = self.used.checked_add(pad).ok_or(NssError::Range)?;
        let end = start.checked_add(len).ok_or(NssError::Range)?;
        let slot = self.buf.get_mut(start..end).ok_or(NssError::Range)?;
        self.used = end;
        Ok((start, slot))
    }

    fn ptr_at(&mut self, offset: usize) -> *mut u8 {
        self.buf.as_mut_ptr().wrapping_add(offset)
    }

    /// Copies `s` plus a NUL into the buffer; returns the C string pointer.
    pub fn string(&mut self, s: &[u8]) -> Result<*mut c_char, NssError> {
        let len = s.len().checked_add(1).ok_or(NssError::Range)?;
        let (off, slot) = self.reserve(len, 1)?;
        let (text, nul) = slot.split_at_mut_checked(s.len()).ok_or(NssError::Range)?;
        text.copy_from_slice(s);
        nul.fill(0);
        Ok(self.ptr_at(off).cast::<c_char>())
    }

    /// Copies `b` (no NUL) at an offset aligned to `align`; returns its address.
    pub fn bytes(&mut self, b: &[u8], align: usize) -> Result<*mut c_char, NssError> {
        let (off, slot) = self.reserve(b.len(), align)?;
        slot.copy_from_slice(b);
        Ok(self.ptr_at(off).cast::<c_char>())
    }

    /// Stores `ptrs` plus a terminating NULL as an aligned `char *[]`; returns its address.
    pub fn ptr_array(&mut self, ptrs: &[*mut c_char]) -> Result<*mut *mut c_char, NssError> {
        const W: usize = std::mem::size_of::<*mut c_char>();
        let count = ptrs.len().checked_add(1).ok_or(NssError::Range)?;
        let len = count.checked_mul(W).ok_or(NssError::Range)?;
        let (off, slot) = self.reserve(len, std::mem::align_of::<*mut c_char>())?;
        let values = ptrs
            .iter()
            .map(|p| p.expose_provenance())
            .chain(std::iter::once(0usize));
        for (cell, v) in slot.chunks_exact_mut(W).zip(values) {
            cell.copy_from_slice(&v.to_ne_bytes());
        }
        Ok(self.ptr_at(off).cast::<*mut c_char>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn strings_are_packed_and_nul_terminated() {
        let mut buf = [0xAAu8; 16];
        let mut a = Arena::new(&mut buf);
        let p1 = a.string(b"abc").unwrap();
        let p2 = a.string(b"").unwrap();
        assert_eq!(a.used(), 5);
        assert_eq!(a.string(b"0123456789ab"), Err(NssError::Range));
        assert_eq!(a.used(), 5);
        // SAFETY: pointers into buf, NUL-terminated by the arena.
        unsafe {
            assert_eq!(CStr::from_ptr(p1).to_bytes(), b"abc");
            assert_eq!(CStr::from_ptr(p2).to_bytes(), b"");
        }
        assert_eq!(&buf[..5], b"abc\0\0");
        assert_eq!(buf[5], 0xAA);
    }

    #[test]
    fn pointer_arrays_are_aligned_and_null_terminated() {
        let mut buf = [0u8; 64];
        let mut a = Arena::new(&mut buf);
        let s = a.string(b"x").unwrap();
        let arr = a.ptr_array(&[s, s]).unwrap();
        assert_eq!(arr as usize % std::mem::align_of::<*mut c_char>(), 0);
        // SAFETY: arr points to three initialised pointers inside buf.
        unsafe {
            assert_eq!(*arr, s);
            assert_eq!(*arr.add(1), s);
            assert!((*arr.add(2)).is_null());
        }
    }

    #[test]
    fn empty_buffer_is_range() {
        let mut a = Arena::new(&mut []);
        assert_eq!(a.string(b""), Err(NssError::Range));
        assert_eq!(a.ptr_array(&[]), Err(NssError::Range));
    }
}
