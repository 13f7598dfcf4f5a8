//! The id mapper of one LDAP/AD provider (`ldap_id_mapping = true`), behaving as SSSD
//! 2.8's `src/providers/ldap/sdap_idmap.c`: domains are added the first time one of their
//! SIDs is seen, named by their SID, and the configured default domain takes slice 0.

use super::table::{Lookup, PrimarySlice, SliceParams, Table, is_builtin};
use super::{IdmapError, IdmapOptions, Sid};

/// The mapper of one provider: domains (by SID) and their slices, added lazily.
#[derive(Debug, Clone)]
pub struct IdMapper {
    opts: IdmapOptions,
    table: Table,
}

impl IdMapper {
    /// A mapper on first start (nothing recorded yet). With `default_domain_sid`, that
    /// domain takes slice 0, named by `default_domain` or else by its SID. The options
    /// should come from [`IdmapOptions::from_config`] or [`IdmapOptions::defaults`]; an
    /// invalid default domain SID is logged and left out.
    pub fn new(opts: IdmapOptions) -> IdMapper {
        let name = opts
            .default_domain
            .clone()
            .or_else(|| opts.default_domain_sid.clone())
            .unwrap_or_default();
        match IdMapper::start(opts.clone(), &name, &[]) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!("ID mapping: default domain left out: {e}");
                IdMapper::empty(opts)
            }
        }
    }

    /// A mapper as SSSD sets one up when the provider starts: the slices recorded by an
    /// earlier run (`stored`, from [`IdMapper::primary_slices`]) are restored as they were;
    /// with none recorded, `default_domain_sid` takes slice 0 (with or without autorid
    /// compatibility), named by `default_domain` or else `sssd_domain`.
    pub fn start(
        opts: IdmapOptions,
        sssd_domain: &str,
        stored: &[PrimarySlice],
    ) -> Result<IdMapper, IdmapError> {
        let mut m = IdMapper::empty(opts);
        if !stored.is_empty() {
            for s in stored {
                m.add_domain_at(&s.name, &s.sid, Some(s.slice))?;
            }
            return Ok(m);
        }
        match m.opts.default_domain_sid.clone() {
            Some(text) => {
                let sid = Sid::parse(&text)?;
                let name = m
                    .opts
                    .default_domain
                    .clone()
                    .unwrap_or_else(|| sssd_domain.to_string());
                m.add_domain_at(&name, &sid, Some(0))?;
            }
            None if m.opts.autorid_compat => tracing::warn!(
                "ldap_idmap_autorid_compat is set but ldap_idmap_default_domain_sid is not: \
                 ids may differ between clients"
            ),
            None => {}
        }
        Ok(m)
    }

    fn empty(opts: IdmapOptions) -> IdMapper {
        let params = SliceParams {
            lower: opts.range_min,
            upper: opts.range_max,
            range_size: opts.range_size.max(1),
            autorid: opts.autorid_compat,
            helpers: opts.helper_table_size,
        };
        IdMapper {
            opts,
            table: Table::new(params),
        }
    }

    /// The options in use.
    pub fn options(&self) -> &IdmapOptions {
        &self.opts
    }

    /// The POSIX id of `sid`, adding its domain (named by its SID) on first sight and a
    /// secondary slice when its RID lies beyond the domain's slices. BUILTIN SIDs and SIDs
    /// outside `S-1-5-21-X-Y-Z-RID` are refused.
    pub fn sid_to_id(&mut self, sid: &Sid) -> Result<u32, IdmapError> {
        if let Lookup::Id(id) = self.table.sid_to_id(sid)? {
            return Ok(id);
        }
        let domain = object_domain(sid)?;
        self.add_domain(&domain.to_string(), &domain)?;
        match self.table.sid_to_id(sid)? {
            Lookup::Id(id) => Ok(id),
            Lookup::NoDomain => Err(IdmapError::Internal(format!(
                "{sid}: domain {domain} was added but does not hold it"
            ))),
        }
    }

    /// The SID of a POSIX id, for domains already known. An id in a secondary slice that
    /// was computed but not used yet puts that slice into use, as SSSD does.
    pub fn id_to_sid(&mut self, id: u32) -> Option<Sid> {
        self.table.id_to_sid(id)
    }

    /// Adds domain `name` with SID `domain_sid` in a newly chosen slice.
    pub fn add_domain(&mut self, name: &str, domain_sid: &Sid) -> Result<(), IdmapError> {
        self.add_domain_at(name, domain_sid, None)
    }

    /// Adds a domain in slice `slice` (or a newly chosen one).
    fn add_domain_at(
        &mut self,
        name: &str,
        sid: &Sid,
        slice: Option<u32>,
    ) -> Result<(), IdmapError> {
        if !sid.is_domain_sid() {
            return Err(IdmapError::NotDomainSid(sid.to_string()));
        }
        let (slice, ids) = self.table.choose_slice(&sid.to_string(), slice)?;
        if ids.max > self.opts.range_max {
            return Err(IdmapError::SliceBeyondRange { slice });
        }
        tracing::debug!("ID mapping: domain {name} ({sid}) in slice {slice}");
        self.table.add_primary(name, sid, ids, 0, Some(slice))
    }

    /// The primary slice of every domain added so far, oldest first: what SSSD records so
    /// a restart restores them ([`IdMapper::start`]). Secondary slices are not recorded.
    pub fn primary_slices(&self) -> Vec<PrimarySlice> {
        self.table.primary_slices()
    }

    /// Whether `sid` is in the BUILTIN domain (`S-1-5-32-…`), which SSSD never maps
    /// ([`IdMapper::sid_to_id`] refuses it with [`IdmapError::Builtin`]; SSSD skips such
    /// groups). Other SIDs outside `S-1-5-21-…` are refused with
    /// [`IdmapError::NotDomainSid`].
    pub fn is_builtin(sid: &Sid) -> bool {
        is_builtin(sid)
    }
}

/// The domain of an object SID: `S-1-5-21-X-Y-Z` when the SID is that followed by at least
/// one more sub-authority.
fn object_domain(sid: &Sid) -> Result<Sid, IdmapError> {
    match sid.sub_authorities() {
        [21, x, y, z, _, ..] if sid.revision() == 1 && sid.authority() == 5 => {
            Sid::new(1, 5, vec![21, *x, *y, *z])
        }
        _ => Err(IdmapError::NotDomainSid(sid.to_string())),
    }
}
