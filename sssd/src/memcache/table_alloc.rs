//! Slot allocation for [`MapWriter`]: SSSD's search of the free bitmap for a run of free
//! slots from `next_slot`, and FIFO eviction at `next_slot` when there is none; plus the
//! writer's private index of record starts.

use super::{MapWriter, OUTSIDE, TableError};
use sss_proto::memcache::{RegionMut, slots_for};

type Result<T> = std::result::Result<T, TableError>;

/// A set of bits, one per slot (the writer's private index of record starts).
#[derive(Debug, Clone, Default)]
pub(super) struct Bits(Vec<u64>);

impl Bits {
    pub(super) fn new(n: u32) -> Bits {
        Bits(vec![0; (n as usize).div_ceil(64)])
    }
    pub(super) fn get(&self, i: u32) -> bool {
        self.0
            .get(i as usize / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
    pub(super) fn set(&mut self, i: u32, on: bool) {
        if let Some(w) = self.0.get_mut(i as usize / 64) {
            if on {
                *w |= 1 << (i % 64);
            } else {
                *w &= !(1 << (i % 64));
            }
        }
    }
    /// The highest set bit at or below `i`.
    pub(super) fn last_at_or_below(&self, i: u32) -> Option<u32> {
        let mut word = i as usize / 64;
        let mut mask = if i % 64 == 63 {
            u64::MAX
        } else {
            (1u64 << (i % 64 + 1)) - 1
        };
        loop {
            let w = self.0.get(word).copied().unwrap_or(0) & mask;
            if w != 0 {
                return Some((word * 64) as u32 + 63 - w.leading_zeros());
            }
            if word == 0 {
                return None;
            }
            word -= 1;
            mask = u64::MAX;
        }
    }
    pub(super) fn clear(&mut self) {
        self.0.fill(0);
    }
}

impl<R: RegionMut> MapWriter<R> {
    // ---- allocation --------------------------------------------------------------------

    /// `n` consecutive slots for a new record: free ones if there are, else the ones at
    /// `next_slot` after evicting whatever occupies them. Marks them used.
    pub(super) fn allocate(&mut self, n: u32) -> Result<u32> {
        let slot = match self.find_free(n)? {
            Some(s) => s,
            None => self.evict(n)?,
        };
        self.set_used(slot, n, true)?;
        self.starts.set(slot, true);
        Ok(slot)
    }

    /// Where eviction or the free search starts for a run of `n` slots.
    pub(super) fn run_start(&self, n: u32) -> u32 {
        if u64::from(self.next_slot) + u64::from(n) > u64::from(self.geo.slots) {
            0
        } else {
            self.next_slot
        }
    }

    /// The first run of `n` free slots, searching from `next_slot` and wrapping to 0 when
    /// a run would pass the end of the table; each slot is examined about once.
    fn find_free(&self, n: u32) -> Result<Option<u32>> {
        let slots = self.geo.slots;
        if n == 0 || n > slots {
            return Ok(None);
        }
        let mut cur = self.run_start(n);
        let mut budget = u64::from(slots) + u64::from(n);
        while budget > 0 {
            if cur + n > slots {
                budget = budget.saturating_sub(u64::from(slots - cur));
                cur = 0;
                continue;
            }
            // Skip whole used words, then bytes, quickly (the free table is 8-aligned).
            if cur.is_multiple_of(64) && cur + 64 <= slots {
                let word = self
                    .r
                    .load_u64(self.geo.free_table as usize + cur as usize / 8)
                    .ok_or(OUTSIDE)?;
                if word == u64::MAX {
                    cur += 64;
                    budget = budget.saturating_sub(64);
                    continue;
                }
            }
            if cur.is_multiple_of(8) {
                let byte = self
                    .r
                    .load_u8(self.geo.free_table as usize + cur as usize / 8)
                    .ok_or(OUTSIDE)?;
                if byte == 0xff {
                    cur += 8;
                    budget = budget.saturating_sub(8);
                    continue;
                }
            }
            let mut blocked = None;
            for s in cur..cur + n {
                if self.used(s)? {
                    blocked = Some(s);
                    break;
                }
            }
            match blocked {
                None => return Ok(Some(cur)),
                Some(u) => {
                    budget = budget.saturating_sub(u64::from(u + 1 - cur));
                    cur = u + 1;
                }
            }
        }
        Ok(None)
    }

    /// Frees the `n` slots at `next_slot` (or 0 when they would pass the end) by
    /// invalidating every record that overlaps them, whatever their expiry.
    fn evict(&mut self, n: u32) -> Result<u32> {
        let cur = self.run_start(n);
        if cur == 0 {
            self.full_events += 1;
            tracing::warn!(
                "mmap cache of type '{}' is full; if this is logged often, consider a larger \
                 memcache_size_{}",
                self.kind.label(),
                self.kind.file_name()
            );
        }
        for s in cur..cur + n {
            if !self.used(s)? {
                continue;
            }
            let start = self
                .starts
                .last_at_or_below(s)
                .ok_or(TableError::Corrupt("used slot that belongs to no record"))?;
            let h = self.record(start)?;
            if u64::from(start) + u64::from(slots_for(h.len)) <= u64::from(s) {
                return Err(TableError::Corrupt("used slot that belongs to no record"));
            }
            self.invalidate_slot(start)?;
        }
        self.next_slot = cur + n;
        Ok(cur)
    }
}
