//! `sss_cache -n NAME` / `-N`: expiring cached netgroups (their own database, see
//! `cache::netgroups`), after the main transaction of a domain is committed.

use super::args::{ObjectKind, Request, Target};
use super::expire::{DEBUG_TRACE_FUNC, DomainReport};
use crate::cache::Cache;
use crate::responder::common::names::parse_name;
use crate::responder::common::settings::DomainSettings;

/// Expires the netgroups `req` selects in `domain`'s cache; whether a named one matched
/// (every-netgroup requests already count as a match).
pub fn expire(
    cache: &Cache,
    domain: &DomainSettings,
    all: &[DomainSettings],
    req: &Request,
    report: &mut DomainReport,
) -> bool {
    let result = match req.target(ObjectKind::Netgroup) {
        Target::Nothing => return false,
        Target::All => cache.expire_netgroups().map(|n| n > 0),
        Target::Named(input) => {
            let (short, named) = parse_name(input, all);
            if named
                .and_then(|i| all.get(i))
                .is_some_and(|d| !d.name.eq_ignore_ascii_case(&domain.name))
            {
                return false;
            }
            cache.expire_netgroup(&domain.lookup_key(short))
        }
    };
    match result {
        Ok(found) => {
            report.debug.push((
                DEBUG_TRACE_FUNC,
                format!("domain {}: netgroups expired: {found}", domain.name),
            ));
            found
        }
        Err(e) => {
            report.errors.push(format!(
                "Couldn't invalidate netgroup entries of domain {}: {e}",
                domain.name
            ));
            false
        }
    }
}
