//! The POSIX ids of directory entries: read from `uidNumber`/`gidNumber`, or, with
//! `ldap_id_mapping`, computed from the entry's objectSid as SSSD computes them (a user's
//! primary group is its domain SID with the `primaryGroupID` RID).

use super::connection::Connection;
use super::idmap::{IdMapper, Sid};
use super::search::{Entry, SearchError};
use super::{MapCtx, filter, users::parse_id};
use ldap3::Scope;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

/// The attribute holding an object's SID.
pub const OBJECT_SID: &str = "objectSid";

/// The attribute holding the RID of a user's primary group.
pub const PRIMARY_GROUP_ID: &str = "primaryGroupID";

/// The mapper of a provider with `ldap_id_mapping`, shared by its requests. The lock is
/// only held while computing, never across I/O.
pub type SharedMapper = Arc<Mutex<IdMapper>>;

/// The SID of entry `e`, if it has a well-formed one.
pub fn entry_sid(e: &Entry) -> Option<Sid> {
    let raw = e.raw_values(OBJECT_SID);
    let first = raw.first()?;
    match Sid::from_bytes(first) {
        Ok(s) => Some(s),
        Err(err) => {
            tracing::warn!("entry {:?} has a malformed objectSid: {err}", e.dn);
            None
        }
    }
}

impl MapCtx {
    /// Runs `f` on the id mapper (`None` without `ldap_id_mapping`).
    fn with_mapper<T>(&self, f: impl FnOnce(&mut IdMapper) -> T) -> Option<T> {
        let m = self.idmap.as_ref()?;
        let mut guard = m.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Some(f(&mut guard))
    }

    /// Whether ids come from SIDs.
    pub fn id_mapping(&self) -> bool {
        self.idmap.is_some()
    }

    /// The POSIX id of `sid`; `None` (logged) for SIDs SSSD does not map (BUILTIN, well-known).
    pub fn sid_to_id(&self, sid: &Sid) -> Option<u32> {
        match self.with_mapper(|m| m.sid_to_id(sid))? {
            Ok(id) => Some(id),
            Err(e) => {
                tracing::debug!("{sid} is not mapped to an id: {e}");
                None
            }
        }
    }

    /// A user entry's uid and primary gid.
    pub fn user_ids(&self, e: &Entry) -> Option<(u32, u32)> {
        if !self.id_mapping() {
            let o = &self.opts;
            return Some((
                parse_id(e.first(&o.user_uid_number)?)?,
                parse_id(e.first(&o.user_gid_number)?)?,
            ));
        }
        let sid = entry_sid(e)?;
        let uid = self.sid_to_id(&sid)?;
        let rid = parse_id(e.first(PRIMARY_GROUP_ID)?)?;
        let gid = self.sid_to_id(&sid.domain()?.with_rid(rid))?;
        Some((uid, gid))
    }

    /// A group entry's gid.
    pub fn group_gid(&self, e: &Entry) -> Option<u32> {
        if self.id_mapping() {
            self.sid_to_id(&entry_sid(e)?)
        } else {
            parse_id(e.first(&self.opts.group_gid_number)?)
        }
    }

    /// The SID mapped to `id`, learning the domain's SID from the search base first when it
    /// has not been read yet (a lookup by id right after start).
    async fn sid_of_id(&self, conn: &Connection, id: u32) -> Result<Option<Sid>, SearchError> {
        if let Some(sid) = self.with_mapper(|m| m.id_to_sid(id)).flatten() {
            return Ok(Some(sid));
        }
        if self.base_sid_read.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let domain = self
            .search_with(
                conn,
                &conn.bases.base,
                Scope::Base,
                "(objectClass=*)",
                vec![OBJECT_SID.into()],
                self.search_timeout(),
            )
            .await?;
        let Some(sid) = domain.first().and_then(entry_sid) else {
            return Ok(None);
        };
        let name = sid.to_string();
        if let Some(Err(e)) = self.with_mapper(|m| m.add_domain(&name, &sid)) {
            tracing::debug!("domain {sid} not added to the id map: {e}");
        }
        self.base_sid_read.store(true, Ordering::Relaxed);
        Ok(self.with_mapper(|m| m.id_to_sid(id)).flatten())
    }

    /// The filter component selecting the entry with uid or gid `id` (`number_attr` without
    /// id mapping); `None` when no SID maps to `id`.
    pub async fn id_filter(
        &self,
        conn: &Connection,
        number_attr: &str,
        id: u32,
    ) -> Result<Option<String>, SearchError> {
        if !self.id_mapping() {
            return Ok(Some(filter::eq(number_attr, &id.to_string())));
        }
        Ok(self
            .sid_of_id(conn, id)
            .await?
            .map(|sid| format!("({OBJECT_SID}={})", sid.ldap_filter_value())))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::backend::ldap::idmap::IdmapOptions;
    use crate::backend::ldap::test_ctx;

    fn mapped() -> MapCtx {
        let mut c = test_ctx(false);
        c.idmap = Some(Arc::new(Mutex::new(
            IdMapper::new(IdmapOptions::defaults()),
        )));
        c
    }

    fn with_sid(sid: &str, attrs: &[(&str, &[&str])]) -> Entry {
        let mut e = Entry::new("cn=x,dc=example,dc=com", attrs);
        e.add_value(OBJECT_SID, Sid::parse(sid).unwrap().to_bytes());
        e
    }

    const DOMAIN: &str = "S-1-5-21-2153326666-2176343378-3404031434";

    #[test]
    fn ids_come_from_the_sid_and_primary_group_rid() {
        let c = mapped();
        let e = with_sid(&format!("{DOMAIN}-500"), &[(PRIMARY_GROUP_ID, &["513"])]);
        // SSSD's slice for this domain starts at 770800000.
        assert_eq!(c.user_ids(&e), Some((770_800_500, 770_800_513)));
        let g = with_sid(&format!("{DOMAIN}-1105"), &[]);
        assert_eq!(c.group_gid(&g), Some(770_801_105));
    }

    #[test]
    fn builtin_and_malformed_sids_have_no_id() {
        let c = mapped();
        assert_eq!(c.group_gid(&with_sid("S-1-5-32-545", &[])), None);
        let mut e = Entry::new("cn=x", &[]);
        e.add_value(OBJECT_SID, vec![1, 5, 0]);
        assert_eq!(c.group_gid(&e), None);
        let no_pg = with_sid(&format!("{DOMAIN}-500"), &[]);
        assert_eq!(c.user_ids(&no_pg), None);
    }

    #[test]
    fn without_mapping_the_number_attributes_are_read() {
        let c = test_ctx(true);
        let e = Entry::new("cn=x", &[("uidNumber", &["10"]), ("gidNumber", &["20"])]);
        assert_eq!(c.user_ids(&e), Some((10, 20)));
        let g = Entry::new("cn=g", &[("gidNumber", &["20"])]);
        assert_eq!(c.group_gid(&g), Some(20));
    }
}
