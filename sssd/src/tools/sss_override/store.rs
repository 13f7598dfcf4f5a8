//! Finding the object a command names (NSS, then the domain caches, then the overrides'
//! own names) and reading and writing the override store.

use super::super::sss_cache::{Context, MC_NOT_CONFIRMED, memcache};
use super::{DEBUG_CRIT, DEBUG_TRACE_FUNC, Kind, Res, Tool};
use crate::cache::Cache;
use crate::config::DomainOptions;
use crate::overrides::OverrideSet;
use crate::responder::common::names::parse_name;
use std::ffi::CString;

impl Tool<'_> {
    /// The original name and the configured domain of `input` (`name` or `name@domain`).
    pub(super) fn locate(&mut self, kind: Kind, input: &str) -> Res<(String, usize)> {
        let (name, dom) = parse_name(input, &self.domains);
        let name = name.to_string();
        let shown = |t: &Tool<'_>| {
            dom.and_then(|i| t.domains.get(i))
                .map_or("[unknown]".to_string(), |d| d.name.clone())
        };
        // As SSSD: the object must resolve through NSS (the daemon caches it on the way).
        let sysname = match dom.and_then(|i| self.domains.get(i)) {
            Some(d) if d.use_fully_qualified_names => format!("{name}@{}", d.name),
            _ => name.clone(),
        };
        let trace = format!("Trying to find {} {sysname}", kind.word());
        self.debug(DEBUG_TRACE_FUNC, "get_object_dom", &trace);
        if !nss_knows(kind, &sysname) {
            let d = shown(self);
            return self.not_found(kind, &name, &d);
        }
        let set = self.load()?;
        let candidates: Vec<usize> = match dom {
            Some(i) => vec![i],
            None => (0..self.domains.len()).collect(),
        };
        for i in candidates {
            let d = &self.domains[i];
            let key = d.lookup_key(&name);
            if let Some(orig) = cached_name(self.ctx, d, kind, &key) {
                return Ok((orig, i));
            }
            // The name given may be an override's name.
            let renamed_in_d = |o_dom: &str, o_name: Option<&str>| {
                o_dom.eq_ignore_ascii_case(&d.name)
                    && o_name.map(|n| d.lookup_key(n)) == Some(key.clone())
            };
            let renamed = match kind {
                Kind::User => set
                    .users
                    .iter()
                    .find(|o| renamed_in_d(&o.domain, o.name.as_deref()))
                    .map(|o| o.orig.clone()),
                Kind::Group => set
                    .groups
                    .iter()
                    .find(|o| renamed_in_d(&o.domain, o.name.as_deref()))
                    .map(|o| o.orig.clone()),
            };
            if let Some(orig) = renamed {
                return Ok((orig, i));
            }
        }
        let d = shown(self);
        self.not_found(kind, &name, &d)
    }

    fn not_found<T>(&mut self, kind: Kind, name: &str, domain: &str) -> Res<T> {
        let what = kind.word();
        self.debug(
            DEBUG_CRIT,
            "get_object_dom",
            &format!("Unable to find {what} {name}@{domain}"),
        );
        self.fail(&format!("Unable to find {what} {name}@{domain}.\n"))
    }

    pub(super) fn load(&mut self) -> Res<OverrideSet> {
        match OverrideSet::load(self.ctx.paths) {
            Ok(s) => Ok(s),
            Err(e) => self.fail(&format!("Unable to read the local overrides: {e}\n")),
        }
    }

    /// Saves the store and clears the memory cache so that clients ask again.
    pub(super) fn save(&mut self, set: &OverrideSet) -> Res<()> {
        if let Err(e) = set.save(self.ctx.paths) {
            return self.fail(&format!("Unable to store the local overrides: {e}\n"));
        }
        match memcache::clear_all(self.ctx.paths, self.ctx.proc_root, self.ctx.timing) {
            Ok(memcache::Cleared::NotConfirmed) => {
                self.err(&format!("{MC_NOT_CONFIRMED}\n"));
            }
            Ok(memcache::Cleared::Here) => {
                // No map in use (no memory cache kept), so nobody was signalled: a running
                // monitor still relays SIGHUP to sssd_nss, whose negative cache may hold
                // the new name or id.
                super::super::common::hup_monitor(self.ctx.paths, self.ctx.proc_root);
            }
            Ok(memcache::Cleared::ByResponder) => {}
            // The store is written; the responders see it on their next lookup.
            Err(e) => self.err(&format!("Failed to clear the memory cache: {e}\n")),
        }
        Ok(())
    }
}

/// Whether NSS resolves the user or group `name`.
fn nss_knows(kind: Kind, name: &str) -> bool {
    let Ok(c) = CString::new(name) else {
        return false;
    };
    // SAFETY: NUL-terminated name; only the pointer's nullness is used, before any other
    // call could reuse the static buffer.
    unsafe {
        match kind {
            Kind::User => !libc::getpwnam(c.as_ptr()).is_null(),
            Kind::Group => !libc::getgrnam(c.as_ptr()).is_null(),
        }
    }
}

/// The cache name of the user or group `key` in domain `d`'s cache, if cached.
fn cached_name(ctx: &Context<'_>, d: &DomainOptions, kind: Kind, key: &str) -> Option<String> {
    let cache = Cache::open_existing(&ctx.paths.db, &d.name).ok()??;
    match kind {
        Kind::User => cache.user_by_name(key).ok()?.map(|c| c.value.name),
        Kind::Group => cache.group_by_name(key).ok()?.map(|c| c.value.name),
    }
}
