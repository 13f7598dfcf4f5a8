//! How NSS lookups feed the memory cache: every direct lookup answered stores exactly the
//! record sent on the wire; a lookup that finds nothing removes the name or id; the
//! backends' `sssd.nss.MemoryCache` calls drop what their refreshes made stale.

use super::NssCtx;
use super::commands::{GrOut, PwOut};
use super::names::parse_name;
use super::source::{Query, Record};
use crate::config::{Config, ConfigError, DomainOptions, NssOptions};
use crate::memcache::maps::{McSettings, MemCache};
use crate::memcache::table::{GroupRecord, PasswdRecord};
use crate::model::User;
use crate::sbus::MemoryCacheHandler;
use sss_proto::memcache::MapKind;
use sss_proto::nss::EX_FLAG_INVALIDATE_CACHE;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

/// What a single lookup asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key<'a> {
    /// A name as the client sent it.
    Name(&'a str),
    /// A uid or gid.
    Id(u32),
}

fn invalidating(flags: u32) -> bool {
    flags & EX_FLAG_INVALIDATE_CACHE != 0
}

impl NssCtx {
    fn now(&self) -> i64 {
        self.cr.clock.now()
    }

    /// The names a client-supplied `input` may be stored under: the input itself and its
    /// output form in every domain.
    fn name_forms(&self, input: &str) -> Vec<String> {
        let doms = &self.cr.settings.domains;
        let (short, _) = parse_name(input, doms);
        let mut out = vec![input.to_string()];
        for d in doms {
            let f = d.output_name(short);
            if !out.contains(&f) {
                out.push(f);
            }
        }
        out
    }

    /// After a passwd lookup by `key` (request `flags`) that answered `found`.
    pub fn memcache_passwd(&self, key: Key<'_>, flags: u32, found: Option<&PwOut>) {
        let Some(mc) = &self.mc else { return };
        match (found, key) {
            (Some(pw), _) if invalidating(flags) => mc.invalidate_passwd_name(&pw.name),
            (Some(pw), _) => mc.store_passwd(
                &PasswdRecord {
                    name: pw.name.as_bytes(),
                    passwd: pw.passwd.as_bytes(),
                    uid: pw.uid,
                    gid: pw.gid,
                    gecos: pw.gecos.as_bytes(),
                    dir: pw.dir.as_bytes(),
                    shell: pw.shell.as_bytes(),
                },
                self.now(),
            ),
            (None, Key::Name(n)) => self.forget_user_name(mc, n),
            (None, Key::Id(uid)) => mc.invalidate_uid(uid),
        }
    }

    /// After a group lookup by `key` (request `flags`) that answered `found`.
    pub fn memcache_group(&self, key: Key<'_>, flags: u32, found: Option<&GrOut>) {
        let Some(mc) = &self.mc else { return };
        match (found, key) {
            (Some(g), _) if invalidating(flags) => mc.invalidate_group_name(&g.name),
            (Some(g), _) => {
                let members: Vec<&[u8]> = g.members.iter().map(|m| m.as_bytes()).collect();
                mc.store_group(
                    &GroupRecord {
                        name: g.name.as_bytes(),
                        passwd: g.passwd.as_bytes(),
                        gid: g.gid,
                        members: &members,
                    },
                    self.now(),
                );
            }
            (None, Key::Name(n)) => {
                for f in self.name_forms(n) {
                    mc.invalidate_group_name(&f);
                }
            }
            (None, Key::Id(gid)) => mc.invalidate_gid(gid),
        }
    }

    /// After an initgroups lookup of `input` (request `flags`) that answered `found`:
    /// the user's domain, the user and the gids sent.
    pub fn memcache_initgroups(
        &self,
        input: &str,
        flags: u32,
        found: Option<(usize, &User, &[u32])>,
    ) {
        let Some(mc) = &self.mc else { return };
        let Some((d, user, gids)) = found else {
            self.forget_user_name(mc, input);
            return;
        };
        let Some(dom) = self.cr.settings.domains.get(d) else {
            return;
        };
        let unique = dom.internal_fq(&user.name);
        if invalidating(flags) {
            mc.invalidate_initgroups_unique(&unique);
            mc.invalidate_initgroups_name(input);
            mc.invalidate_passwd_name(&dom.output_name(&user.name));
        } else {
            mc.store_initgroups(input, &unique, gids, self.now());
        }
    }

    /// A user name that resolves to nothing: out of the passwd and initgroups maps in
    /// every form it may be stored under.
    fn forget_user_name(&self, mc: &MemCache, input: &str) {
        for f in self.name_forms(input) {
            mc.invalidate_passwd_name(&f);
            mc.invalidate_initgroups_name(&f);
        }
    }

    /// `UpdateInitgroups`: `user` (internal `name@domain`, or a short name) of `domain`
    /// had gids `old` before a backend refresh. When the cache now says otherwise (or the
    /// user is gone), the user's initgroups records and the group records of every gid
    /// added or removed are dropped (and the passwd record of a user that is gone).
    pub fn update_initgroups(&self, user: &str, domain: &str, old: &[u32]) {
        let Some(mc) = &self.mc else { return };
        let doms = &self.cr.settings.domains;
        let Some(d) = doms
            .iter()
            .position(|x| x.name.eq_ignore_ascii_case(domain))
        else {
            tracing::warn!("UpdateInitgroups for unknown domain {domain:?}");
            return;
        };
        let (Some(dom), Some(source)) = (doms.get(d), self.cr.sources.get(d)) else {
            return;
        };
        let short = match user.rsplit_once('@') {
            Some((n, dm)) if !n.is_empty() && dm.eq_ignore_ascii_case(&dom.name) => n,
            _ => user,
        };
        let key = dom.lookup_key(short);
        let unique = dom.internal_fq(&key);
        let old_set: BTreeSet<u32> = old.iter().copied().collect();
        let exists = match source.read(&Query::UserByName(key.clone())) {
            Ok(u) => u.is_some(),
            Err(e) => {
                tracing::warn!("UpdateInitgroups {user}: {e}");
                return;
            }
        };
        if !exists {
            tracing::debug!("{unique} is gone: dropping its memory-cache records");
            mc.invalidate_passwd_name(&dom.output_name(&key));
            mc.invalidate_initgroups_unique(&unique);
            for g in &old_set {
                mc.invalidate_gid(*g);
            }
            return;
        }
        let now: BTreeSet<u32> = match source.read(&Query::Initgroups(key)) {
            Ok(Some(c)) => match c.value {
                Record::Gids(g) => g.into_iter().collect(),
                _ => BTreeSet::new(),
            },
            Ok(None) => BTreeSet::new(),
            Err(e) => {
                tracing::warn!("UpdateInitgroups {user}: {e}");
                return;
            }
        };
        if now == old_set {
            return;
        }
        tracing::debug!("group memberships of {unique} changed: dropping stale records");
        mc.invalidate_initgroups_unique(&unique);
        for g in old_set.symmetric_difference(&now) {
            mc.invalidate_gid(*g);
        }
    }
}

/// The memory-cache settings of `[nss]` with the maps under `dir`. Warns, as SSSD does,
/// about domains whose entries expire from the cache before their memory-cache records.
pub fn settings_from_config(cfg: &Config, dir: &Path) -> Result<McSettings, ConfigError> {
    let nss = NssOptions::from_config(cfg)?;
    let s = McSettings {
        dir: dir.to_path_buf(),
        timeout: nss.memcache_timeout,
        passwd_mib: nss.memcache_size_passwd,
        group_mib: nss.memcache_size_group,
        initgroups_mib: nss.memcache_size_initgroups,
    };
    if s.timeout == 0 {
        return Ok(s);
    }
    for name in crate::domains::usable(cfg)? {
        let d = DomainOptions::from_config(cfg, &name)?;
        for (option, v, what) in [
            (
                "entry_cache_user_timeout",
                d.entry_cache_user_timeout,
                "User",
            ),
            (
                "entry_cache_group_timeout",
                d.entry_cache_group_timeout,
                "Group",
            ),
        ] {
            if v < s.timeout {
                tracing::warn!(
                    "[domain/{name}] {option} ({v}) is less than memcache_timeout ({}): {what} \
                     records will not be updated before their memory cache entries expire",
                    s.timeout
                );
            }
        }
    }
    Ok(s)
}

/// Runs `work` (it writes megabytes of memory-cache files) on a blocking thread of the
/// current runtime, or right here outside one.
fn off_event_loop(work: impl FnOnce() + Send + 'static) {
    match tokio::runtime::Handle::try_current() {
        Ok(h) => {
            h.spawn_blocking(work);
        }
        Err(_) => work(),
    }
}

/// Runs `clearMemcache` off the event loop (it creates files and fills megabytes).
pub fn clear_in_background(mc: Arc<MemCache>) {
    off_event_loop(move || {
        mc.clear_if_flagged();
    });
}

/// Empties the passwd, group and initgroups maps off the event loop: the names they hold
/// were written with a domain's flat name that has just changed (see
/// [`crate::config::learned::on_change`]); clients then ask the responder again.
pub fn forget_names_in_background(mc: Arc<MemCache>) {
    off_event_loop(move || {
        for kind in [MapKind::Passwd, MapKind::Group, MapKind::Initgroups] {
            mc.reset(kind);
        }
    });
}

/// The `sssd.nss.MemoryCache` handler of the NSS responder.
pub struct NssMemoryCache {
    ctx: Arc<NssCtx>,
}

impl NssMemoryCache {
    /// A handler working on `ctx`'s memory cache.
    pub fn new(ctx: Arc<NssCtx>) -> NssMemoryCache {
        NssMemoryCache { ctx }
    }

    fn reset(&self, kind: MapKind) {
        if let Some(mc) = self.ctx.mc.clone() {
            off_event_loop(move || mc.reset(kind));
        }
    }
}

impl MemoryCacheHandler for NssMemoryCache {
    fn update_initgroups(&self, user: &str, domain: &str, groups: &[u32]) {
        self.ctx.update_initgroups(user, domain, groups);
    }

    fn invalidate_all_users(&self) {
        self.reset(MapKind::Passwd);
    }

    fn invalidate_all_groups(&self) {
        self.reset(MapKind::Group);
    }

    fn invalidate_all_initgroups(&self) {
        self.reset(MapKind::Initgroups);
    }

    fn invalidate_group_by_id(&self, gid: u32) {
        if let Some(mc) = &self.ctx.mc {
            mc.invalidate_gid(gid);
        }
    }
}
