//! `sss_cache -n`/`-N` (netgroups), `-r`/`-R` (sudo rules) and `-a`/`-A` (autofs maps):
//! kinds kept in databases of their own (see `cache::netgroups`, `cache::sudo`,
//! `cache::autofs`), each expired in a write transaction of its own after the domain's main
//! transaction is committed (opening those databases needs a transaction of its own).
//! Databases the backend never created are not created here: nothing is cached, so a
//! named object does not match and "every object" matches without expiring anything.

use super::args::{ObjectKind, Request, Target};
use super::expire::{DEBUG_TRACE_FUNC, DomainReport};
use crate::cache::{Cache, CacheError};
use crate::config::DomainOptions;
use crate::responder::common::names::parse_name;

/// The kinds this module expires, in processing order.
pub const KINDS: [ObjectKind; 3] = [
    ObjectKind::Netgroup,
    ObjectKind::AutofsMap,
    ObjectKind::SudoRule,
];

/// Expires what `req` selects of the kinds in [`KINDS`] in `domain`'s cache; whether
/// anything matched: "every object of a kind" matches when it could be done, a named object
/// when it was cached.
pub fn expire(
    cache: &Cache,
    domain: &DomainOptions,
    all: &[DomainOptions],
    req: &Request,
    report: &mut DomainReport,
) -> bool {
    let mut matched = false;
    for kind in KINDS {
        let name = match req.target(kind) {
            Target::Nothing => continue,
            Target::All => None,
            Target::Named(input) => {
                let (short, named) = parse_name(input, all);
                if named
                    .and_then(|i| all.get(i))
                    .is_some_and(|d| !d.name.eq_ignore_ascii_case(&domain.name))
                {
                    // Qualified with another domain: not looked for here.
                    continue;
                }
                Some(short.to_string())
            }
        };
        match expire_kind(cache, domain, kind, name.as_deref()) {
            Ok(n) => {
                report.debug.push((
                    DEBUG_TRACE_FUNC,
                    format!(
                        "domain {}: {n} {} object(s) expired{}",
                        domain.name,
                        kind.label(),
                        name.as_deref()
                            .map(|n| format!(" named '{n}'"))
                            .unwrap_or_default()
                    ),
                ));
                matched |= name.is_none() || n > 0;
            }
            Err(e) => report.errors.push(format!(
                "Couldn't invalidate {} entries of domain {}: {e}",
                kind.label(),
                domain.name
            )),
        }
    }
    matched
}

/// Expires the object `name` of `kind` (every one when `None`); how many were expired.
///
/// Names are compared as SSSD's `sss_cache` compares them: netgroups by the domain's lookup
/// key (lowercased in case-insensitive domains), autofs maps exactly (their names are
/// always case-sensitive), sudo rules by `cn`, ignoring ASCII case in case-insensitive
/// domains.
fn expire_kind(
    cache: &Cache,
    domain: &DomainOptions,
    kind: ObjectKind,
    name: Option<&str>,
) -> Result<usize, CacheError> {
    match kind {
        ObjectKind::Netgroup => match name {
            None => cache.expire_netgroups(),
            Some(n) => cache
                .expire_netgroup(&domain.lookup_key(n))
                .map(usize::from),
        },
        ObjectKind::AutofsMap => cache.autofs_expire(name),
        ObjectKind::SudoRule => {
            let Some(mut w) = cache.sudo_writer_existing()? else {
                return Ok(0);
            };
            let n = w.expire_matching(|rule| match name {
                None => true,
                Some(want) if domain.case_sensitive => rule == want,
                Some(want) => rule.eq_ignore_ascii_case(want),
            })?;
            if n > 0 {
                w.commit()?;
            }
            Ok(n)
        }
        _ => Ok(0),
    }
}
