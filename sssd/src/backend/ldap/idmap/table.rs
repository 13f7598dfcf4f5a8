//! The table of domains and their id slices, with SSSD 2.8's library semantics
//! (`src/lib/idmap/sss_idmap.c`): slice choice by hash and linear probing, primary slices,
//! precomputed secondary ("helper") slices and slices added on demand for large RIDs.
//!
//! Domains are searched newest first, as SSSD keeps them in a list it prepends to; the
//! order decides which slices are free when a new one is chosen, so it is kept exactly.

use super::{IdmapError, Sid};
use sss_proto::memcache::murmurhash3;

/// Seed of the hash that places a domain's slice.
pub const SLICE_HASH_SEED: u32 = 0xdead_beef;

/// The numeric parameters of slice allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SliceParams {
    /// Lowest id of slice 0.
    pub lower: u32,
    /// Upper bound of the id space (slices end below it).
    pub upper: u32,
    /// Ids per slice.
    pub range_size: u32,
    /// Take the first free slice instead of the hashed one.
    pub autorid: bool,
    /// Secondary slices precomputed per domain (0: none and no slices on demand;
    /// negative: none precomputed but added on demand).
    pub helpers: i32,
}

impl SliceParams {
    /// Number of whole slices between `lower` and `upper`.
    pub fn slice_count(&self) -> u32 {
        self.upper.saturating_sub(self.lower) / self.range_size.max(1)
    }

    /// The ids of slice `slice`, None when they do not fit 32 bits.
    fn slice_range(&self, slice: u32) -> Option<IdRange> {
        let min = self
            .range_size
            .checked_mul(slice)?
            .checked_add(self.lower)?;
        let max = min.checked_add(self.range_size - 1)?;
        Some(IdRange { min, max })
    }
}

/// An inclusive range of POSIX ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    /// First id.
    pub min: u32,
    /// Last id.
    pub max: u32,
}

/// A range of ids and the RID its first id stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RidRange {
    ids: IdRange,
    first_rid: u32,
}

impl RidRange {
    /// The id of `rid`, when this range holds it.
    fn id_of(&self, rid: u32) -> Option<u32> {
        let offset = rid.checked_sub(self.first_rid)?;
        if u32::MAX - self.ids.min <= offset {
            return None;
        }
        let id = self.ids.min + offset;
        (id <= self.ids.max).then_some(id)
    }

    /// The RID of `id`, when this range holds it (id 0 never maps).
    fn rid_of(&self, id: u32) -> Option<u32> {
        (id != 0 && id >= self.ids.min && id <= self.ids.max)
            .then(|| self.first_rid.wrapping_add(id - self.ids.min))
    }
}

/// A secondary slice computed ahead of use: its name (`DOMAIN-SID-FIRSTRID`) and ids.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Helper {
    name: String,
    range: RidRange,
}

/// One entry of the table: a primary slice, or a secondary slice added for large RIDs.
#[derive(Debug, Clone)]
struct Entry {
    name: String,
    sid: Sid,
    sid_text: String,
    range: RidRange,
    /// Index into `Table::helpers` of the secondary slices this entry may use.
    helpers: Option<usize>,
    /// Whether this entry owns (rather than shares) its helper list.
    helpers_owner: bool,
    /// Whether RIDs beyond the slice get secondary slices.
    auto_add: bool,
    /// The slice number of a primary slice that was chosen as a slice (recorded for reuse).
    slice: Option<u32>,
}

/// A primary slice as SSSD records it for reuse after a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrimarySlice {
    /// The domain's name in the map.
    pub name: String,
    /// The domain SID.
    pub sid: Sid,
    /// The slice number.
    pub slice: u32,
}

/// What the lookup of a SID found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// The SID's id.
    Id(u32),
    /// No domain of the table holds the SID.
    NoDomain,
}

/// Domains and slices of one mapper.
#[derive(Debug, Clone)]
pub struct Table {
    params: SliceParams,
    /// Oldest first; searched from the end.
    entries: Vec<Entry>,
    helpers: Vec<Vec<Helper>>,
}

impl Table {
    /// An empty table.
    pub fn new(params: SliceParams) -> Table {
        Table {
            params,
            entries: Vec::new(),
            helpers: Vec::new(),
        }
    }

    /// Whether some entry's ids overlap `min..=max` (SSSD's overlap test).
    fn used(&self, r: IdRange) -> bool {
        self.entries.iter().any(|e| {
            let o = e.range.ids;
            (o.min <= r.min && o.max >= r.max)
                || (o.min >= r.min && o.min <= r.max)
                || (o.max >= r.min && o.max <= r.max)
        })
    }

    /// The slice for `range_id` (a domain SID, or `DOMAIN-SID-FIRSTRID` for secondary
    /// slices): `explicit` when given and free, else the hashed (or, with autorid, the
    /// first) slice, probing upwards with wrap-around past used ones.
    pub fn choose_slice(
        &self,
        range_id: &str,
        explicit: Option<u32>,
    ) -> Result<(u32, IdRange), IdmapError> {
        let p = self.params;
        if let Some(slice) = explicit {
            let r = p
                .slice_range(slice)
                .ok_or(IdmapError::SliceBeyondRange { slice })?;
            if self.used(r) {
                return Err(IdmapError::SliceInUse { slice });
            }
            return Ok((slice, r));
        }
        let count = p.slice_count();
        if count == 0 {
            return Err(IdmapError::OutOfSlices);
        }
        let first = if p.autorid {
            0
        } else {
            murmurhash3(range_id.as_bytes(), SLICE_HASH_SEED) % count
        };
        let mut slice = first;
        loop {
            let r = p
                .slice_range(slice)
                .ok_or(IdmapError::SliceBeyondRange { slice })?;
            if !self.used(r) {
                return Ok((slice, r));
            }
            slice = if slice + 1 >= count { 0 } else { slice + 1 };
            if slice == first {
                return Err(IdmapError::OutOfSlices);
            }
        }
    }

    /// Adds an entry after SSSD's consistency checks: its ids must not overlap another
    /// entry's, a name must keep one SID (and a SID one name, both compared without
    /// case), and one domain's RID ranges must not overlap.
    fn insert(&mut self, new: Entry) -> Result<(), IdmapError> {
        if !new.sid.is_domain_sid() {
            return Err(IdmapError::NotDomainSid(new.sid_text));
        }
        let (name, sid_text, range) = (&new.name, &new.sid_text, new.range);
        let n = range.ids;
        for e in &self.entries {
            let o = e.range.ids;
            if (n.min >= o.min && n.min <= o.max) || (n.max >= o.min && n.max <= o.max) {
                return Err(IdmapError::RangeCollision {
                    name: name.to_string(),
                    other: e.name.clone(),
                });
            }
            let same_name = e.name.eq_ignore_ascii_case(name);
            let same_sid = e.sid_text.eq_ignore_ascii_case(sid_text);
            if same_name != same_sid {
                return Err(IdmapError::NameSidMismatch {
                    name: name.to_string(),
                    sid: sid_text.clone(),
                    other_name: e.name.clone(),
                    other_sid: e.sid_text.clone(),
                });
            }
            // The end of the other RID range is computed in 32 bits, wrapping, as in SSSD.
            let last_rid = e
                .range
                .first_rid
                .wrapping_add(e.range.ids.max - e.range.ids.min);
            if same_name && range.first_rid >= e.range.first_rid && range.first_rid <= last_rid {
                return Err(IdmapError::RangeCollision {
                    name: name.to_string(),
                    other: e.name.clone(),
                });
            }
        }
        self.entries.push(new);
        Ok(())
    }

    /// Adds a domain's primary range `ids` (RIDs from `first_rid`; `slice` is its slice
    /// number when it is one) and, when secondary slices are enabled, computes its helper
    /// slices. The entry stays even when a later step fails, as in SSSD.
    pub fn add_primary(
        &mut self,
        name: &str,
        sid: &Sid,
        ids: IdRange,
        first_rid: u32,
        slice: Option<u32>,
    ) -> Result<(), IdmapError> {
        let range = RidRange { ids, first_rid };
        self.insert(Entry {
            name: name.to_string(),
            sid: sid.clone(),
            sid_text: sid.to_string(),
            range,
            helpers: None,
            helpers_owner: false,
            auto_add: false,
            slice,
        })?;
        let idx = self.entries.len() - 1;
        let p = self.params;
        if u64::from(ids.max) - u64::from(ids.min) + 1 != u64::from(p.range_size) {
            return Err(IdmapError::Internal(format!(
                "slice {}-{} of {name} is not {} ids long",
                ids.min, ids.max, p.range_size
            )));
        }
        if p.helpers == 0 {
            return Ok(());
        }
        let sid_text = sid.to_string();
        let mut list = Vec::new();
        let mut rid = first_rid.wrapping_add(p.range_size);
        for _ in 0..p.helpers.max(0) {
            let name = format!("{sid_text}-{rid}");
            match self.choose_slice(&name, None) {
                Ok((_, ids)) => list.push(Helper {
                    name,
                    range: RidRange {
                        ids,
                        first_rid: rid,
                    },
                }),
                // Running out of slices only disables secondary slices.
                Err(IdmapError::OutOfSlices) => return Ok(()),
                Err(e) => return Err(e),
            }
            rid = rid.wrapping_add(p.range_size);
        }
        self.helpers.push(list);
        let e = &mut self.entries[idx];
        e.helpers = Some(self.helpers.len() - 1);
        e.helpers_owner = true;
        e.auto_add = true;
        Ok(())
    }

    /// Adds a domain with a fixed range and no secondary slices (SSSD's plain
    /// `sss_idmap_add_domain_ex`, used by its tests).
    #[cfg(test)]
    pub fn add_fixed(
        &mut self,
        name: &str,
        sid: &Sid,
        ids: IdRange,
        first_rid: u32,
    ) -> Result<(), IdmapError> {
        self.insert(Entry {
            name: name.to_string(),
            sid: sid.clone(),
            sid_text: sid.to_string(),
            range: RidRange { ids, first_rid },
            helpers: None,
            helpers_owner: false,
            auto_add: false,
            slice: None,
        })
    }

    /// Adds the secondary slice `helper` for the domain of entry `parent`, sharing its
    /// helper list.
    fn spawn(&mut self, parent: usize, helper: &Helper) -> Result<(), IdmapError> {
        let p = &self.entries[parent];
        let entry = Entry {
            range: helper.range,
            helpers_owner: false,
            slice: None,
            ..p.clone()
        };
        self.insert(entry)
    }

    /// The id of `sid`: the first domain (newest first) whose slice holds its RID, else a
    /// secondary slice of the oldest domain that matched, added on the way.
    pub fn sid_to_id(&mut self, sid: &Sid) -> Result<Lookup, IdmapError> {
        if is_builtin(sid) {
            return Err(IdmapError::Builtin(sid.to_string()));
        }
        let mut matched = None;
        for (i, e) in self.entries.iter().enumerate().rev() {
            let Some(rest) = strip_domain(&e.sid, sid) else {
                continue;
            };
            let [rid] = rest else {
                return Err(IdmapError::NotDomainSid(sid.to_string()));
            };
            if let Some(id) = e.range.id_of(*rid) {
                return Ok(Lookup::Id(id));
            }
            matched = Some((i, *rid));
        }
        let Some((i, rid)) = matched else {
            return Ok(Lookup::NoDomain);
        };
        if !self.entries[i].auto_add {
            return Err(IdmapError::NoRange {
                sid: sid.to_string(),
                range_size: self.params.range_size,
            });
        }
        let first_rid = (rid / self.params.range_size) * self.params.range_size;
        let name = format!("{}-{first_rid}", self.entries[i].sid_text);
        let known = self.entries[i]
            .helpers
            .and_then(|h| self.helpers[h].iter().find(|x| x.name == name))
            .cloned();
        let helper = match known {
            Some(h) => h,
            None => {
                let (_, ids) = self.choose_slice(&name, None)?;
                Helper {
                    name,
                    range: RidRange { ids, first_rid },
                }
            }
        };
        self.spawn(i, &helper)?;
        helper
            .range
            .id_of(rid)
            .map(Lookup::Id)
            .ok_or_else(|| IdmapError::Internal(format!("RID {rid} outside its new slice")))
    }

    /// The SID of `id`: from the slices in use (newest first), else from a helper slice of a
    /// domain, which then comes into use.
    pub fn id_to_sid(&mut self, id: u32) -> Option<Sid> {
        for e in self.entries.iter().rev() {
            if let Some(rid) = e.range.rid_of(id) {
                return Some(e.sid.with_rid(rid));
            }
        }
        let mut found = None;
        'outer: for (i, e) in self.entries.iter().enumerate().rev() {
            let (Some(h), true) = (e.helpers, e.helpers_owner) else {
                continue;
            };
            for helper in &self.helpers[h] {
                if let Some(rid) = helper.range.rid_of(id) {
                    found = Some((i, helper.clone(), rid));
                    break 'outer;
                }
            }
        }
        let (i, helper, rid) = found?;
        self.spawn(i, &helper).ok()?;
        Some(self.entries[i].sid.with_rid(rid))
    }

    /// The domains' primary slices, oldest first (secondary slices are not recorded).
    pub fn primary_slices(&self) -> Vec<PrimarySlice> {
        self.entries
            .iter()
            .filter_map(|e| {
                Some(PrimarySlice {
                    name: e.name.clone(),
                    sid: e.sid.clone(),
                    slice: e.slice?,
                })
            })
            .collect()
    }
}

/// The sub-authorities of `sid` after those of `domain`, when `sid` lies in `domain` and
/// has at least one more.
fn strip_domain<'a>(domain: &Sid, sid: &'a Sid) -> Option<&'a [u32]> {
    if domain.revision() != sid.revision() || domain.authority() != sid.authority() {
        return None;
    }
    let rest = sid
        .sub_authorities()
        .strip_prefix(domain.sub_authorities())?;
    (!rest.is_empty()).then_some(rest)
}

/// Whether `sid` is in the BUILTIN domain (`S-1-5-32-…`), which SSSD never maps.
pub fn is_builtin(sid: &Sid) -> bool {
    sid.revision() == 1
        && sid.authority() == 5
        && sid.sub_authorities().len() >= 2
        && sid.sub_authorities()[0] == 32
}
