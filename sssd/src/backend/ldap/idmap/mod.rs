//! ID mapping: POSIX uids and gids computed from Windows SIDs exactly as SSSD 2.8 computes
//! them (`ldap_id_mapping = true`), so a user gets the same ids here as on a host running
//! SSSD.
//!
//! Each domain SID gets a slice of `ldap_idmap_range_size` ids, chosen by a MurmurHash3 of
//! the SID text (or the first free slice in autorid compatibility mode); a RID maps to
//! `slice start + RID`. RIDs beyond the slice get secondary slices, placed the same way by
//! the hash of `DOMAIN-SID-FIRSTRID`.

mod mapper;
mod options;
mod sid;
mod table;

#[cfg(test)]
mod sid_tests;
#[cfg(test)]
mod tests;

pub use mapper::IdMapper;
pub use options::IdmapOptions;
pub use sid::{MAX_SUB_AUTHORITIES, Sid};
pub use table::{PrimarySlice, SLICE_HASH_SEED};

/// Why a SID or id could not be mapped, or a domain not added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdmapError {
    /// The SID's bytes or text are malformed.
    #[error("invalid SID: {0}")]
    InvalidSid(String),
    /// The SID is not a domain SID `S-1-5-21-X-Y-Z` or an account SID in one.
    #[error("{0} is not in a Windows domain (S-1-5-21-X-Y-Z-RID); it cannot be mapped")]
    NotDomainSid(String),
    /// The SID is in the BUILTIN domain (`S-1-5-32-…`), which is never mapped.
    #[error("{0} is a BUILTIN SID; it is not mapped")]
    Builtin(String),
    /// The RID lies beyond the domain's slice and secondary slices are disabled.
    #[error(
        "{sid}: RID beyond ldap_idmap_range_size ({range_size}) and \
         ldap_idmap_helper_table_size is 0"
    )]
    NoRange {
        /// The SID.
        sid: String,
        /// The slice size.
        range_size: u32,
    },
    /// Every slice of the id range is in use.
    #[error("no free slice left between ldap_idmap_range_min and ldap_idmap_range_max")]
    OutOfSlices,
    /// A requested slice is already used by another domain.
    #[error("slice {slice} is already in use")]
    SliceInUse {
        /// The slice number.
        slice: u32,
    },
    /// A requested slice lies beyond `ldap_idmap_range_max`.
    #[error("slice {slice} lies beyond ldap_idmap_range_max")]
    SliceBeyondRange {
        /// The slice number.
        slice: u32,
    },
    /// A new range overlaps the ids or RIDs of an existing one.
    #[error("the id range of {name} overlaps that of {other}")]
    RangeCollision {
        /// The domain being added.
        name: String,
        /// The domain already present.
        other: String,
    },
    /// A domain name already stands for another SID, or the SID for another name.
    #[error("domain {name} ({sid}) conflicts with domain {other_name} ({other_sid})")]
    NameSidMismatch {
        /// The domain being added.
        name: String,
        /// Its SID.
        sid: String,
        /// The domain already present.
        other_name: String,
        /// Its SID.
        other_sid: String,
    },
    /// An inconsistency that should not happen.
    #[error("ID mapping: {0}")]
    Internal(String),
}
