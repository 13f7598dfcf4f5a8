//! `sudo_provider = ldap`: sudo rules (`sudoRole` entries) from the directory into the
//! domain cache ([`crate::cache::SudoRuleRecord`]), as SSSD 2.8's LDAP sudo provider does.
//!
//! - full refresh (`BE_REQ_SUDO_FULL`, every `ldap_sudo_full_refresh_interval`): every rule
//!   passing the host filter replaces the cached set;
//! - smart refresh (every `ldap_sudo_smart_refresh_interval`): only rules whose
//!   `entryUSN` (or, on servers without it, `modifyTimestamp`) is above the highest one
//!   seen: one search, which finds nothing when nothing changed;
//! - rules refresh (`BE_REQ_SUDO_RULES`, asked by the responder when a user's cached rules
//!   expired): the rules that name the user, its uid, its groups, `ALL` or a netgroup,
//!   and `cn=defaults`; cached ones the server no longer returns are removed.
//!
//! Requests reach [`fetch`] through the backend's `getAccountInfo` path (online state,
//! failover, coalescing). The periodic ones use [`Filter::IdNumber`] markers
//! ([`FULL_REFRESH`], [`SMART_REFRESH`]); the sudo responder sends the user's name.

pub mod options;
pub mod schedule;

use super::MapCtx;
use super::connection::{Connection, SearchBase};
use super::filter::{escape, or};
use super::search::{Entry, SearchError};
use crate::cache::{Cache, CacheError, SudoMeta, SudoRuleRecord};
use crate::sbus::{EntryType, Filter};
pub use options::SudoOptions;
use std::sync::{Arc, OnceLock};

/// `SudoFull` + `IdNumber(FULL_REFRESH)`: a full refresh.
pub const FULL_REFRESH: u32 = 0;
/// `SudoFull` + `IdNumber(SMART_REFRESH)`: a smart refresh.
pub const SMART_REFRESH: u32 = 1;

/// The sudo state of this backend process (one domain per `sssd_be`).
struct SudoCtx {
    opts: SudoOptions,
    cache: Arc<Cache>,
    hostnames: Vec<String>,
    ips: Vec<String>,
}

static CTX: OnceLock<SudoCtx> = OnceLock::new();

/// Enables the sudo provider of this process with `opts`, writing into `cache`. Only the
/// first call counts; does nothing unless `sudo_provider = ldap`.
pub fn install(opts: SudoOptions, cache: Arc<Cache>) {
    if !opts.enabled {
        return;
    }
    let hostnames = if opts.hostnames.is_empty() {
        options::local_hostnames()
    } else {
        opts.hostnames.clone()
    };
    let ips = if opts.ips.is_empty() {
        options::local_ips()
    } else {
        opts.ips.clone()
    };
    tracing::info!(
        "sudo rules from LDAP; host filter {}: {hostnames:?} {ips:?}",
        if opts.use_host_filter { "on" } else { "off" }
    );
    let _ = CTX.set(SudoCtx {
        opts,
        cache,
        hostnames,
        ips,
    });
}

/// The installed options (None: no sudo provider in this process).
pub fn installed() -> Option<&'static SudoOptions> {
    CTX.get().map(|c| &c.opts)
}

fn cache_err(e: CacheError) -> SearchError {
    SearchError::Server {
        uri: "cache".into(),
        base: String::new(),
        rc: 80,
        text: format!("storing sudo rules: {e}"),
    }
}

/// Runs one sudo request on `conn` and stores what it found.
pub async fn fetch(
    ctx: &MapCtx,
    conn: &Connection,
    entry_type: EntryType,
    filter: &Filter,
) -> Result<(), SearchError> {
    let Some(s) = CTX.get() else {
        tracing::debug!("sudo request ignored: sudo_provider is not ldap");
        return Ok(());
    };
    match (entry_type, filter) {
        (EntryType::SudoFull, Filter::IdNumber(SMART_REFRESH)) => smart(s, ctx, conn).await,
        (EntryType::SudoFull, _) => full(s, ctx, conn).await,
        (EntryType::SudoRules, Filter::Name(user)) => user_rules(s, ctx, conn, user).await,
        _ => Ok(()),
    }
}

/// The host part of every search: rules for any host, for this host's names and
/// addresses, `+netgroup` hosts (checked by sudo) and `cn=defaults` without a host.
fn host_filter(s: &SudoCtx) -> String {
    if !s.opts.use_host_filter {
        return String::new();
    }
    let m = &s.opts.map;
    let h = &m.host;
    let mut f = format!("(|(&(!({h}=*))({}=defaults))({h}=ALL)", m.name);
    for v in s.hostnames.iter().chain(&s.ips) {
        f.push_str(&format!("({h}={})", escape(v)));
    }
    if s.opts.include_netgroups {
        f.push_str(&format!("({h}=+*)"));
    }
    if s.opts.include_regexp {
        f.push_str(&format!("(|({h}=*\\5c*)({h}=*?*)({h}=*\\2a*)({h}=*[*]*))"));
    }
    f.push(')');
    f
}

fn class_filter(s: &SudoCtx, extra: &str) -> String {
    format!(
        "(&({}={}){extra}{})",
        s.opts.map.object_class_attr,
        escape(&s.opts.map.object_class),
        host_filter(s)
    )
}

fn attrs(s: &SudoCtx) -> Vec<String> {
    let m = &s.opts.map;
    let mut a: Vec<String> = m.pairs().iter().map(|(l, _)| l.to_string()).collect();
    a.push(m.name.clone());
    a.push("entryUSN".into());
    a.push("modifyTimestamp".into());
    a
}

async fn search(
    s: &SudoCtx,
    ctx: &MapCtx,
    conn: &Connection,
    filter: &str,
) -> Result<Vec<SudoRuleRecord>, SearchError> {
    let base = match &s.opts.search_base {
        Some(b) => SearchBase::parse(b),
        None => SearchBase {
            dn: conn.bases.user.clone(),
            scope: ldap3::Scope::Subtree,
            filter: None,
        },
    };
    let f = match &base.filter {
        Some(extra) => format!("(&{filter}{extra})"),
        None => filter.to_string(),
    };
    let entries = ctx
        .search_with(
            conn,
            &base.dn,
            base.scope,
            &f,
            attrs(s),
            ctx.search_timeout(),
        )
        .await?;
    let expire = super::now().saturating_add(i64::from(s.opts.cache_timeout));
    Ok(entries
        .iter()
        .filter_map(|e| to_record(s, e, expire))
        .collect())
}

/// The cached form of a `sudoRole` entry (None without a name).
fn to_record(s: &SudoCtx, e: &Entry, expire: i64) -> Option<SudoRuleRecord> {
    let name = e.values(&s.opts.map.name).first()?.clone();
    if name.is_empty() || name.contains('\0') {
        return None;
    }
    let mut attrs = vec![
        ("objectClass".to_string(), vec!["sudoRule".to_string()]),
        ("cn".to_string(), vec![name.clone()]),
    ];
    for (ldap, ours) in s.opts.map.pairs() {
        let vs: Vec<String> = e
            .values(ldap)
            .iter()
            .filter(|v| !v.contains('\0'))
            .cloned()
            .collect();
        if !vs.is_empty() {
            attrs.push((ours.to_string(), vs));
        }
    }
    let usn = e
        .values("entryUSN")
        .first()
        .or_else(|| e.values("modifyTimestamp").first())
        .cloned()
        .unwrap_or_default();
    Some(SudoRuleRecord {
        name,
        attrs,
        usn,
        expire,
    })
}

/// The number in an `entryUSN` or `modifyTimestamp` value and its suffix (`Z` for a
/// timestamp), as SSSD reads it.
fn usn_parts(v: &str) -> Option<(u64, &str)> {
    let end = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let n = v.get(..end)?.parse().ok()?;
    Some((n, v.get(end..).unwrap_or("")))
}

/// The highest of `current` and the rules' stamps.
fn highest(current: &str, rules: &[SudoRuleRecord]) -> String {
    let mut best = current.to_string();
    let mut best_n = usn_parts(current).map(|p| p.0).unwrap_or(0);
    for r in rules {
        if let Some((n, _)) = usn_parts(&r.usn)
            && n > best_n
        {
            best_n = n;
            best = r.usn.clone();
        }
    }
    best
}

/// The smart refresh filter part: stamps above `usn`, on `entryUSN` or `modifyTimestamp`.
fn newer_than(usn: &str) -> Option<String> {
    let (n, suffix) = usn_parts(usn)?;
    let attr = if suffix.is_empty() {
        "entryUSN"
    } else {
        "modifyTimestamp"
    };
    Some(format!("({attr}>={}{suffix})", n.saturating_add(1)))
}

async fn write(
    s: &SudoCtx,
    f: impl FnOnce(&mut crate::cache::SudoWriter<'_>) -> Result<(), CacheError> + Send + 'static,
) -> Result<(), SearchError> {
    let cache = s.cache.clone();
    tokio::task::spawn_blocking(move || {
        let mut w = cache.sudo_writer()?;
        f(&mut w)?;
        w.commit()
    })
    .await
    .map_err(|e| {
        cache_err(CacheError::Invalid {
            path: s.cache.path().to_string(),
            reason: format!("writer task failed: {e}"),
        })
    })?
    .map_err(cache_err)
}

async fn full(s: &SudoCtx, ctx: &MapCtx, conn: &Connection) -> Result<(), SearchError> {
    let rules = search(s, ctx, conn, &class_filter(s, "")).await?;
    let usn = highest("", &rules);
    tracing::info!("sudo full refresh: {} rules", rules.len());
    write(s, move |w| {
        w.clear()?;
        for r in &rules {
            if let Err(e) = w.put(r) {
                tracing::warn!("sudo rule {:?} not stored: {e}", r.name);
            }
        }
        w.set_meta(&SudoMeta {
            usn,
            last_full: super::now(),
        })
    })
    .await
}

async fn smart(s: &SudoCtx, ctx: &MapCtx, conn: &Connection) -> Result<(), SearchError> {
    let meta = s.cache.sudo_meta().map_err(cache_err)?;
    let Some(newer) = newer_than(&meta.usn) else {
        // No stamp known yet: nothing to compare with, so fetch everything.
        return full(s, ctx, conn).await;
    };
    let rules = search(s, ctx, conn, &class_filter(s, &newer)).await?;
    tracing::info!("sudo smart refresh: {} new or changed rules", rules.len());
    if rules.is_empty() {
        return Ok(());
    }
    let usn = highest(&meta.usn, &rules);
    write(s, move |w| {
        for r in &rules {
            if let Err(e) = w.put(r) {
                tracing::warn!("sudo rule {:?} not stored: {e}", r.name);
            }
        }
        w.set_meta(&SudoMeta {
            usn,
            last_full: meta.last_full,
        })
    })
    .await
}

/// What the cache knows of a user for rule selection.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SudoUser {
    /// The name.
    pub name: String,
    /// The uid.
    pub uid: u32,
    /// Names of its groups (primary, memberships, nested ones included).
    pub groups: Vec<String>,
    /// Gids of its groups (primary first).
    pub gids: Vec<u32>,
}

impl SudoUser {
    /// The `sudoUser` values that select a rule for this user: the name, `#uid`,
    /// `%group`, `%#gid` and `ALL` (netgroup `+` values are matched by sudo itself).
    pub fn user_values(&self) -> Vec<String> {
        let mut v = vec![
            "ALL".to_string(),
            self.name.clone(),
            format!("#{}", self.uid),
        ];
        v.extend(self.groups.iter().map(|g| format!("%{g}")));
        v.extend(self.gids.iter().map(|g| format!("%#{g}")));
        v
    }
}

/// The user `name` and its groups from `cache` (None when it is not cached).
pub fn cached_user(cache: &Cache, name: &str) -> Result<Option<SudoUser>, CacheError> {
    let Some(u) = cache.user_by_name(name)? else {
        return Ok(None);
    };
    let u = u.value;
    let mut gids = vec![u.gid];
    if let Some(ig) = cache.initgroups(&u.name)? {
        for g in ig.value {
            if !gids.contains(&g) {
                gids.push(g);
            }
        }
    }
    let mut groups = Vec::new();
    for g in &gids {
        if let Some(grp) = cache.group_by_gid(*g)? {
            groups.push(grp.value.name);
        }
    }
    Ok(Some(SudoUser {
        name: u.name,
        uid: u.uid,
        groups,
        gids,
    }))
}

/// Whether `rule` names `user` (or is a netgroup rule, or `cn=defaults`): what a rules
/// refresh for that user covers.
fn covers(rule: &SudoRuleRecord, values: &[String]) -> bool {
    rule.name == "defaults"
        || rule
            .values("sudoUser")
            .iter()
            .any(|u| u.starts_with('+') || values.contains(u))
}

async fn user_rules(
    s: &SudoCtx,
    ctx: &MapCtx,
    conn: &Connection,
    name: &str,
) -> Result<(), SearchError> {
    let user = cached_user(&s.cache, name).map_err(cache_err)?;
    let Some(user) = user else {
        tracing::debug!("sudo rules of {name:?}: user not cached, nothing to refresh");
        return Ok(());
    };
    let values = user.user_values();
    let m = &s.opts.map;
    let mut parts: Vec<String> = values
        .iter()
        .map(|v| format!("({}={})", m.user, escape(v)))
        .collect();
    parts.push(format!("({}=+*)", m.user));
    parts.push(format!("({}=defaults)", m.name));
    let rules = search(s, ctx, conn, &class_filter(s, &or(&parts))).await?;
    tracing::debug!("sudo rules of {name:?}: {} from the server", rules.len());
    let cache = s.cache.clone();
    write(s, move |w| {
        let fetched: std::collections::HashSet<&str> =
            rules.iter().map(|r| r.name.as_str()).collect();
        for old in cache.sudo_rules(|r| covers(r, &values))? {
            if !fetched.contains(old.name.as_str()) {
                w.delete(&old.name)?;
            }
        }
        for r in &rules {
            if let Err(e) = w.put(r) {
                tracing::warn!("sudo rule {:?} not stored: {e}", r.name);
            }
        }
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn ctx(cfg: &str) -> SudoCtx {
        let dir = tempfile::tempdir().unwrap();
        let c = Config::parse(cfg, "t").unwrap();
        SudoCtx {
            opts: SudoOptions::from_config(&c, "d").unwrap(),
            cache: Arc::new(Cache::open(dir.path(), "d").unwrap()),
            hostnames: vec!["h1.example".into(), "h1".into()],
            ips: vec!["192.0.2.7".into(), "192.0.2.0/24".into()],
        }
    }

    #[test]
    fn host_filter_as_sssd() {
        let s = ctx("[domain/d]\nid_provider = ldap\n");
        assert_eq!(
            class_filter(&s, ""),
            "(&(objectClass=sudoRole)(|(&(!(sudoHost=*))(cn=defaults))(sudoHost=ALL)\
             (sudoHost=h1.example)(sudoHost=h1)(sudoHost=192.0.2.7)(sudoHost=192.0.2.0/24)\
             (sudoHost=+*)))"
        );
        let off = ctx("[domain/d]\nid_provider = ldap\nldap_sudo_use_host_filter = false\n");
        assert_eq!(
            class_filter(&off, "(x=1)"),
            "(&(objectClass=sudoRole)(x=1))"
        );
    }

    #[test]
    fn smart_filter_follows_the_highest_stamp() {
        assert_eq!(
            newer_than("20261205101010Z").as_deref(),
            Some("(modifyTimestamp>=20261205101011Z)")
        );
        assert_eq!(newer_than("41").as_deref(), Some("(entryUSN>=42)"));
        assert_eq!(newer_than(""), None);
        let r = |u: &str| SudoRuleRecord {
            usn: u.into(),
            ..Default::default()
        };
        assert_eq!(highest("5", &[r("7"), r("6")]), "7");
        assert_eq!(highest("9", &[r("7")]), "9");
        assert_eq!(highest("", &[r("20261205101010Z")]), "20261205101010Z");
    }

    #[test]
    fn entries_become_records() {
        let s = ctx("[domain/d]\nid_provider = ldap\n");
        let e = Entry::new(
            "cn=r1,ou=sudo",
            &[
                ("cn", &["r1"]),
                ("sudoUser", &["alice"]),
                ("sudoCommand", &["/bin/true"]),
                ("sudoOrder", &["3"]),
                ("modifyTimestamp", &["20261205101010Z"]),
            ],
        );
        let r = to_record(&s, &e, 9).unwrap();
        assert_eq!(r.name, "r1");
        assert_eq!(r.values("objectClass"), ["sudoRule".to_string()]);
        assert_eq!(r.values("sudoCommand"), ["/bin/true".to_string()]);
        assert_eq!(r.values("sudoOrder"), ["3".to_string()]);
        assert_eq!(r.usn, "20261205101010Z");
        assert_eq!(r.expire, 9);
        assert!(to_record(&s, &Entry::new("cn=x", &[("sudoUser", &["a"])]), 0).is_none());
    }

    #[test]
    fn user_values_and_coverage() {
        let u = SudoUser {
            name: "alice".into(),
            uid: 1001,
            groups: vec!["devs".into()],
            gids: vec![2000],
        };
        let v = u.user_values();
        assert_eq!(v, ["ALL", "alice", "#1001", "%devs", "%#2000"]);
        let rule = |users: &[&str]| SudoRuleRecord {
            name: "r".into(),
            attrs: vec![(
                "sudoUser".into(),
                users.iter().map(|s| s.to_string()).collect(),
            )],
            ..Default::default()
        };
        assert!(covers(&rule(&["%devs"]), &v));
        assert!(covers(&rule(&["+ng"]), &v));
        assert!(!covers(&rule(&["bob"]), &v));
    }
}
