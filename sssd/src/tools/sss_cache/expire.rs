//! The domains `sss_cache` works on (read from sssd.conf) and expiring the selected objects
//! in each domain's cache, with SSSD's rules for what counts as a match.
//!
//! A match, per kind and domain, as SSSD's `sss_cache` counts it: "every object of a kind"
//! always matches (even when none is cached: there is nothing to expire, which is not a
//! failure); a named object matches when it is cached in that domain. Users, groups and
//! services are expired in the domain's main transaction; netgroups, autofs maps and sudo
//! rules live in databases of their own and are expired after it (`super::separate`).
//!
//! Expiring keeps the object (for offline use) and its last-update stamp, and sets its
//! expiry to 0, so the next lookup asks the backend: `getent services`, the autofs
//! responder and the sudo responder (which asks for a rules refresh of the user when any
//! of the user's rules expired) all check it.
//!
//! SSH hosts (`-h`/`-H`) are accepted for compatibility but are no-ops: this
//! implementation serves no SSH host keys (SSH user keys are part of the user entry and
//! expire with it, `-u`/`-U`), so naming a host never matches and asking for all of them
//! matches without expiring anything.

use super::args::{ObjectKind, Request, Target};
use crate::cache::maps::Service;
use crate::cache::{Cache, CacheError, Writer};
use crate::config::{Config, ConfigError, DomainOptions};
use crate::paths::Paths;
use crate::responder::common::names::parse_name;

/// The domains sssd.conf enables, with what name lookups need; `None` when none is
/// configured (no `[sssd] domains` and no `enabled = true` domain, or no configuration).
pub fn configured_domains(paths: &Paths) -> Result<Option<Vec<DomainOptions>>, ConfigError> {
    match Config::load(&paths.config_file, Some(&paths.config_snippets)) {
        Ok(cfg) => {
            let domains = domains_of(&cfg)?;
            if let Some(d) = &domains {
                crate::cache::load_learned_flat_names(&paths.db, d);
            }
            Ok(domains)
        }
        // No sssd.conf and no snippet configuring a domain.
        Err(ConfigError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// [`configured_domains`] of a loaded configuration.
pub fn domains_of(cfg: &Config) -> Result<Option<Vec<DomainOptions>>, ConfigError> {
    let listed = !cfg.get_list("sssd", "domains").is_empty();
    let enabled = cfg
        .sections()
        .iter()
        .filter(|s| s.starts_with(crate::config::DOMAIN_PREFIX))
        .any(|s| cfg.get_bool(s, "enabled", false).unwrap_or(false));
    if !listed && !enabled {
        return Ok(None);
    }
    let names = cfg.domains()?;
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        out.push(DomainOptions::from_config(cfg, &name)?);
    }
    Ok(Some(out))
}

/// The configured domain `wanted` (compared case-insensitively, as SSSD does).
pub fn find_domain<'d>(domains: &'d [DomainOptions], wanted: &str) -> Option<&'d DomainOptions> {
    domains.iter().find(|d| d.name.eq_ignore_ascii_case(wanted))
}

/// What happened in one domain.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DomainReport {
    /// Whether anything matched (SSSD's "not skipped").
    pub matched: bool,
    /// Lines for stderr (objects that could not be expired).
    pub errors: Vec<String>,
    /// Diagnostics for `--debug` (level bit, text).
    pub debug: Vec<(u32, String)>,
}

/// SSSD's debug bit for minor failures and for function traces.
pub const DEBUG_MINOR: u32 = 0x0080;
/// SSSD's debug bit for function-level traces.
pub const DEBUG_TRACE_FUNC: u32 = 0x0400;

/// Expires what `req` selects in `domain`, whose cache is `cache` (`None` when the domain
/// has no cache yet); `all` are every configured domain (for `name@domain` parsing).
pub fn expire_in_domain(
    cache: Option<&Cache>,
    domain: &DomainOptions,
    all: &[DomainOptions],
    req: &Request,
) -> DomainReport {
    let mut report = DomainReport::default();
    let mut writer = match cache.map(Cache::writer).transpose() {
        Ok(w) => w,
        Err(e) => {
            report.errors.push(format!(
                "Couldn't invalidate entries of domain {}: {e}",
                domain.name
            ));
            return report;
        }
    };
    for kind in ObjectKind::ALL {
        let target = req.target(kind);
        if super::separate::KINDS.contains(&kind) {
            // Expired after the main transaction; without a cache, "all" still matches.
            report.matched |= cache.is_none() && *target == Target::All;
            continue;
        }
        let matched = match target {
            Target::Nothing => false,
            Target::All => expire_all(writer.as_mut(), kind, domain, &mut report),
            Target::Named(input) => {
                expire_named(writer.as_mut(), kind, input, domain, all, &mut report)
            }
        };
        report.matched |= matched;
    }
    if let Some(w) = writer
        && let Err(e) = w.commit()
    {
        report.errors.push(format!(
            "Couldn't invalidate entries of domain {}: {e}",
            domain.name
        ));
        report.matched = false;
    }
    if let Some(c) = cache {
        report.matched |= super::separate::expire(c, domain, all, req, &mut report);
    }
    report
}

/// Every object of `kind`: always a match (SSSD: nothing cached is nothing to do).
fn expire_all(
    writer: Option<&mut Writer<'_>>,
    kind: ObjectKind,
    domain: &DomainOptions,
    report: &mut DomainReport,
) -> bool {
    let result: Result<usize, CacheError> = match (writer, kind) {
        (Some(w), ObjectKind::User) => w.expire_all_users(),
        (Some(w), ObjectKind::Group) => w.expire_all_groups(),
        (Some(w), ObjectKind::Service) => w.expire_map::<Service>(None),
        // No cache, or SSH hosts (never cached).
        _ => Ok(0),
    };
    match result {
        Ok(n) => {
            report.debug.push((
                DEBUG_TRACE_FUNC,
                format!(
                    "domain {}: {n} {} object(s) expired",
                    domain.name,
                    kind.label()
                ),
            ));
            true
        }
        Err(e) => {
            report.errors.push(format!(
                "Couldn't invalidate {} entries of domain {}: {e}",
                kind.label(),
                domain.name
            ));
            false
        }
    }
}

/// The object `input` (`name` or `name@domain`) of `kind`: a match when it is cached here.
fn expire_named(
    writer: Option<&mut Writer<'_>>,
    kind: ObjectKind,
    input: &str,
    domain: &DomainOptions,
    all: &[DomainOptions],
    report: &mut DomainReport,
) -> bool {
    let (short, named_domain) = parse_name(input, all);
    if let Some(d) = named_domain.and_then(|i| all.get(i))
        && !d.name.eq_ignore_ascii_case(&domain.name)
    {
        // Qualified with another domain: not looked for here.
        return false;
    }
    let key = domain.lookup_key(short);
    let result: Result<bool, CacheError> = match (writer, kind) {
        (Some(w), ObjectKind::User) => w.expire_user(&key),
        (Some(w), ObjectKind::Group) => w.expire_group(&key),
        (Some(w), ObjectKind::Service) => w.expire_map::<Service>(Some(&key)).map(|n| n > 0),
        _ => Ok(false),
    };
    match result {
        Ok(found) => {
            let what = if found { "expired" } else { "not found" };
            report.debug.push((
                DEBUG_TRACE_FUNC,
                format!(
                    "'{}' {key}: {what} in domain '{}'",
                    kind.label(),
                    domain.name
                ),
            ));
            found
        }
        Err(e) => {
            report
                .errors
                .push(format!("Couldn't invalidate {} {key}: {e}", kind.label()));
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::args::{Command, parse};
    use super::*;
    use crate::model::{Group, User};

    fn request(args: &[&str]) -> Request {
        match parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>()) {
            Ok(Command::Expire(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    fn user(name: &str, uid: u32) -> User {
        User {
            name: name.into(),
            uid,
            gid: uid,
            ..User::default()
        }
    }

    fn group(name: &str, gid: u32) -> Group {
        Group {
            name: name.into(),
            gid,
            ..Group::default()
        }
    }

    /// A cache with users alice and bob, group g1, alice's initgroups; all fresh.
    fn filled(dir: &std::path::Path, domain: &str) -> Cache {
        let c = Cache::open(dir, domain).unwrap();
        let mut w = c.writer().unwrap();
        w.put_user(&user("alice", 1000), 10, i64::MAX).unwrap();
        w.put_user(&user("bob", 1001), 10, i64::MAX).unwrap();
        w.put_group(&group("g1", 2000), 10, i64::MAX).unwrap();
        w.set_initgroups("alice", &[2000], 10, i64::MAX).unwrap();
        w.commit().unwrap();
        c
    }

    fn expires(c: &Cache) -> (i64, i64, i64, i64) {
        (
            c.user_by_name("alice").unwrap().unwrap().expire,
            c.initgroups("alice").unwrap().unwrap().expire,
            c.user_by_name("bob").unwrap().unwrap().expire,
            c.group_by_name("g1").unwrap().unwrap().expire,
        )
    }

    const FRESH: i64 = i64::MAX;

    #[test]
    fn configured_domains_follow_sssd_conf() {
        let cfg = Config::parse(
            "[sssd]\ndomains = A, b\n[domain/A]\nid_provider = ldap\n\
             [domain/b]\nid_provider = ldap\ncase_sensitive = false\n\
             [domain/C]\nid_provider = ldap\n",
            "t.conf",
        )
        .unwrap();
        let d = domains_of(&cfg).unwrap().unwrap();
        assert_eq!(
            d.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(),
            ["A", "b"]
        );
        assert!(d[0].case_sensitive && !d[1].case_sensitive);
        assert_eq!(find_domain(&d, "B").map(|d| d.name.as_str()), Some("b"));
        assert!(find_domain(&d, "C").is_none(), "not enabled");
        // No domain at all: nothing to do (not an error).
        let none = Config::parse("[sssd]\nservices = nss\n", "t.conf").unwrap();
        assert_eq!(domains_of(&none).unwrap(), None);
        assert_eq!(domains_of(&Config::default()).unwrap(), None);
        // Enabled by its own section.
        let en = Config::parse("[domain/E]\nid_provider = ldap\nenabled = true\n", "t").unwrap();
        assert_eq!(domains_of(&en).unwrap().unwrap()[0].name, "E");
        // A listed domain without a section is a configuration error.
        let bad = Config::parse("[sssd]\ndomains = X\n", "t.conf").unwrap();
        assert!(domains_of(&bad).is_err());
    }

    #[test]
    fn configured_domains_read_the_files_under_paths() {
        let root = tempfile::tempdir().unwrap();
        let paths = Paths::under(root.path());
        assert_eq!(configured_domains(&paths).unwrap(), None, "no sssd.conf");
        std::fs::create_dir_all(paths.config_file.parent().unwrap()).unwrap();
        std::fs::write(
            &paths.config_file,
            "[sssd]\ndomains = LDAP\n[domain/LDAP]\nid_provider = ldap\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&paths.config_file, std::fs::Permissions::from_mode(0o600))
            .unwrap();
        let d = configured_domains(&paths).unwrap().unwrap();
        assert_eq!(d[0].name, "LDAP");
    }

    #[test]
    fn one_user_is_expired_with_its_initgroups_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let c = filled(dir.path(), "LDAP");
        let doms = vec![DomainOptions::defaults("LDAP", "ldap")];
        let r = expire_in_domain(Some(&c), &doms[0], &doms, &request(&["-u", "alice"]));
        assert!(r.matched && r.errors.is_empty(), "{r:?}");
        assert_eq!(expires(&c), (0, 0, FRESH, FRESH));
    }

    #[test]
    fn unknown_names_match_nothing_and_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let c = filled(dir.path(), "LDAP");
        let doms = vec![DomainOptions::defaults("LDAP", "ldap")];
        for args in [
            &["-u", "nobody"][..],
            &["-g", "nogroup"],
            &["-u", "g1"],
            &["-g", "alice"],
            &["-u", "ALICE"],
            &["-u", ""],
            &["-n", "ng"],
            &["-s", "ssh"],
            &["-a", "auto.home"],
            &["-h", "host"],
            &["-r", "rule"],
        ] {
            let r = expire_in_domain(Some(&c), &doms[0], &doms, &request(args));
            assert!(!r.matched && r.errors.is_empty(), "{args:?}: {r:?}");
        }
        assert_eq!(expires(&c), (FRESH, FRESH, FRESH, FRESH));
    }

    #[test]
    fn case_insensitive_domains_fold_the_name() {
        let dir = tempfile::tempdir().unwrap();
        let c = filled(dir.path(), "LDAP");
        let mut d = DomainOptions::defaults("LDAP", "ldap");
        d.case_sensitive = false;
        let doms = vec![d];
        let r = expire_in_domain(Some(&c), &doms[0], &doms, &request(&["-u", "ALICE"]));
        assert!(r.matched);
        assert_eq!(expires(&c), (0, 0, FRESH, FRESH));
    }

    #[test]
    fn qualified_names_match_only_their_domain() {
        let dir = tempfile::tempdir().unwrap();
        let a = filled(dir.path(), "A");
        let b = filled(dir.path(), "B");
        let doms = vec![
            DomainOptions::defaults("A", "ldap"),
            DomainOptions::defaults("B", "ldap"),
        ];
        let req = request(&["-u", "alice@b"]);
        let ra = expire_in_domain(Some(&a), &doms[0], &doms, &req);
        let rb = expire_in_domain(Some(&b), &doms[1], &doms, &req);
        assert!(!ra.matched && rb.matched);
        assert_eq!(expires(&a), (FRESH, FRESH, FRESH, FRESH));
        assert_eq!(expires(&b), (0, 0, FRESH, FRESH));
    }

    #[test]
    fn all_users_all_groups_and_everything() {
        let dir = tempfile::tempdir().unwrap();
        let doms = vec![DomainOptions::defaults("LDAP", "ldap")];
        let c = filled(dir.path(), "U");
        assert!(expire_in_domain(Some(&c), &doms[0], &doms, &request(&["-U"])).matched);
        assert_eq!(expires(&c), (0, 0, 0, FRESH));
        let c = filled(dir.path(), "G");
        assert!(expire_in_domain(Some(&c), &doms[0], &doms, &request(&["-G"])).matched);
        // Memberships are the groups' data: alice's group list expires with the groups.
        assert_eq!(expires(&c), (FRESH, 0, FRESH, 0));
        let c = filled(dir.path(), "E");
        assert!(expire_in_domain(Some(&c), &doms[0], &doms, &request(&["-E"])).matched);
        assert_eq!(expires(&c), (0, 0, 0, 0));
        let c = filled(dir.path(), "UG");
        let r = expire_in_domain(
            Some(&c),
            &doms[0],
            &doms,
            &request(&["-g", "g1", "-u", "bob"]),
        );
        assert!(r.matched);
        assert_eq!(expires(&c), (FRESH, FRESH, 0, 0));
    }

    #[test]
    fn kinds_never_cached_match_only_when_all_are_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let c = filled(dir.path(), "LDAP");
        let doms = vec![DomainOptions::defaults("LDAP", "ldap")];
        for args in [&["-N"][..], &["-S"], &["-A"], &["-H"], &["-R"]] {
            let r = expire_in_domain(Some(&c), &doms[0], &doms, &request(args));
            assert!(r.matched, "{args:?}");
        }
        assert_eq!(expires(&c), (FRESH, FRESH, FRESH, FRESH));
    }

    #[test]
    fn a_domain_without_a_cache_matches_only_all_requests() {
        let doms = vec![DomainOptions::defaults("LDAP", "ldap")];
        assert!(expire_in_domain(None, &doms[0], &doms, &request(&["-U"])).matched);
        assert!(expire_in_domain(None, &doms[0], &doms, &request(&["-E"])).matched);
        assert!(!expire_in_domain(None, &doms[0], &doms, &request(&["-u", "alice"])).matched);
    }
}
