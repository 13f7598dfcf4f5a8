//! `sss_cache` as a whole against a temporary tree: messages, exit codes, what changes.

use super::memcache::tests::{FakeSssd, tree};
use super::*;
use crate::memcache::files;
use crate::model::User;
use sss_proto::memcache::MapKind;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

const CONF: &str = "[sssd]\nservices = nss\ndomains = LDAP, other\n\
[domain/LDAP]\nid_provider = ldap\n[domain/other]\nid_provider = ldap\ncase_sensitive = false\n";

struct Tree {
    _dir: tempfile::TempDir,
    paths: Paths,
}

impl Tree {
    /// Maps present, no sssd.conf.
    fn bare() -> Tree {
        let (dir, paths) = tree();
        Tree { _dir: dir, paths }
    }

    /// Maps present, sssd.conf with domains LDAP and other; LDAP's cache holds alice and
    /// bob (fresh), other has no cache yet.
    fn configured() -> Tree {
        let t = Tree::bare();
        t.write_conf(CONF);
        let c = Cache::open(&t.paths.db, "LDAP").unwrap();
        let mut w = c.writer().unwrap();
        for (n, id) in [("alice", 1000), ("bob", 1001)] {
            let u = User {
                name: n.into(),
                uid: id,
                gid: id,
                ..User::default()
            };
            w.put_user(&u, 10, i64::MAX).unwrap();
            w.set_initgroups(n, &[id], 10, i64::MAX).unwrap();
        }
        w.commit().unwrap();
        t
    }

    fn write_conf(&self, text: &str) {
        let f = &self.paths.config_file;
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, text).unwrap();
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    fn ctx(&self) -> Context<'_> {
        Context {
            paths: &self.paths,
            proc_root: Path::new("/proc"),
            uid: 0,
            program: "sss_cache",
            systemd_offline: false,
            timing: memcache::Timing {
                poll: Duration::from_millis(5),
                wait: Duration::from_millis(300),
            },
        }
    }

    fn run(&self, args: &[&str]) -> Outcome {
        self.run_ctx(&self.ctx(), args)
    }

    fn run_ctx(&self, ctx: &Context<'_>, args: &[&str]) -> Outcome {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        run(ctx, &args)
    }

    fn expire_of(&self, name: &str) -> (i64, i64) {
        let c = Cache::open(&self.paths.db, "LDAP").unwrap();
        (
            c.user_by_name(name).unwrap().unwrap().expire,
            c.initgroups(name).unwrap().unwrap().expire,
        )
    }

    fn maps_present(&self) -> usize {
        MapKind::ALL
            .iter()
            .filter(|m| files::map_path(&self.paths.mc, **m).exists())
            .count()
    }
}

fn ok(o: &Outcome) {
    assert_eq!(
        (o.code, o.stderr.as_str(), o.stdout.as_str()),
        (0, "", ""),
        "{o:?}"
    );
}

#[test]
fn a_named_user_is_expired_and_the_memory_cache_cleared() {
    let t = Tree::configured();
    ok(&t.run(&["-u", "alice"]));
    assert_eq!(t.expire_of("alice"), (0, 0));
    assert_eq!(t.expire_of("bob"), (i64::MAX, i64::MAX));
    assert_eq!(t.maps_present(), 0);
    assert!(
        !t.paths.db.join("cache_other").exists(),
        "no cache is created for a domain without one"
    );
    // Qualified, and restricted to the domain.
    ok(&t.run(&["-u", "bob@LDAP"]));
    assert_eq!(t.expire_of("bob").0, 0);
    ok(&t.run(&["-d", "ldap", "-U"]));
}

#[test]
fn nothing_matched_is_reported_with_sssds_message_and_enoent() {
    let t = Tree::configured();
    for args in [
        &["-u", "nobody"][..],
        &["-g", "nogroup"],
        &["-u", "alice@other"],
        &["-u", "alice", "-d", "other"],
        &["-n", "ng"],
        &["-s", "ssh"],
        &["-a", "auto.home"],
        &["-h", "host1"],
        &["-r", "rule1"],
    ] {
        let o = t.run(args);
        assert_eq!(o.code, 2, "{args:?}: {o:?}");
        assert_eq!(o.stderr, format!("{NO_MATCH}\n"), "{args:?}");
        assert_eq!(o.stdout, "");
    }
    assert_eq!(t.expire_of("alice"), (i64::MAX, i64::MAX));
    assert_eq!(t.maps_present(), 3, "the memory cache is left alone");
}

#[test]
fn all_of_a_kind_succeeds_even_when_nothing_of_it_is_cached() {
    for args in [
        &["-N"][..],
        &["-S"],
        &["-A"],
        &["-H"],
        &["-R"],
        &["-G"],
        &["-E"],
    ] {
        let t = Tree::configured();
        ok(&t.run(args));
        assert_eq!(t.maps_present(), 0, "{args:?}");
    }
    let t = Tree::configured();
    ok(&t.run(&["-E"]));
    assert_eq!(t.expire_of("alice"), (0, 0));
    assert_eq!(t.expire_of("bob"), (0, 0));
}

/// LDAP's cache of [`Tree::configured`] plus services ssh (alias secure) and http, sudo
/// rules r1 and defaults, autofs maps auto.home and auto.data; all fresh until `FRESH`.
fn with_maps(t: &Tree) -> Cache {
    use crate::cache::maps::Service;
    use crate::cache::{AutofsMap, AutofsOp};
    let c = Cache::open(&t.paths.db, "LDAP").unwrap();
    let mut w = c.writer().unwrap();
    for (n, alias, port) in [("ssh", "secure", 22), ("http", "www", 80)] {
        let s = Service {
            name: n.into(),
            aliases: vec![alias.into()],
            port,
            protocols: vec!["tcp".into()],
        };
        w.put_map(&s, 10, FRESH).unwrap();
    }
    w.commit().unwrap();
    let mut w = c.sudo_writer().unwrap();
    for n in ["r1", "defaults"] {
        w.put(&crate::cache::SudoRuleRecord {
            name: n.into(),
            attrs: vec![("cn".into(), vec![n.into()])],
            usn: "1".into(),
            expire: FRESH,
        })
        .unwrap();
    }
    w.commit().unwrap();
    let ops: Vec<AutofsOp> = ["auto.home", "auto.data"]
        .iter()
        .map(|m| {
            let map = AutofsMap {
                name: m.to_string(),
                entries: vec![("k".into(), "srv:/k".into())],
            };
            AutofsOp::PutMap(map, FRESH)
        })
        .collect();
    c.autofs_apply(&ops, 10).unwrap();
    c
}

const FRESH: i64 = i64::MAX;

/// Expiry stamps: services ssh and http, rules r1 and defaults, maps auto.home and
/// auto.data.
fn map_stamps(c: &Cache) -> [i64; 6] {
    let rule = |n: &str| c.sudo_rules(|r| r.name == n).unwrap()[0].expire;
    let map = |n: &str| c.autofs_map(n).unwrap().unwrap().expire;
    [
        c.service_by_name("ssh").unwrap().unwrap().expire,
        c.service_by_name("http").unwrap().unwrap().expire,
        rule("r1"),
        rule("defaults"),
        map("auto.home"),
        map("auto.data"),
    ]
}

#[test]
fn services_sudo_rules_and_autofs_maps_are_expired_by_name_or_all() {
    let cases: &[(&[&str], [i64; 6])] = &[
        (&["-s", "ssh"], [0, FRESH, FRESH, FRESH, FRESH, FRESH]),
        (&["-s", "www@LDAP"], [FRESH, 0, FRESH, FRESH, FRESH, FRESH]),
        (&["-S"], [0, 0, FRESH, FRESH, FRESH, FRESH]),
        (&["-r", "r1"], [FRESH, FRESH, 0, FRESH, FRESH, FRESH]),
        (&["-R"], [FRESH, FRESH, 0, 0, FRESH, FRESH]),
        (&["-a", "auto.home"], [FRESH, FRESH, FRESH, FRESH, 0, FRESH]),
        (&["-A"], [FRESH, FRESH, FRESH, FRESH, 0, 0]),
        (&["-E"], [0; 6]),
        (
            &["-s", "http", "-r", "defaults", "-A"],
            [FRESH, 0, FRESH, 0, 0, 0],
        ),
    ];
    for (args, want) in cases {
        let t = Tree::configured();
        let c = with_maps(&t);
        ok(&t.run(args));
        assert_eq!(&map_stamps(&c), want, "{args:?}");
        assert_eq!(t.maps_present(), 0, "{args:?}");
        // Kept for offline use.
        assert_eq!(c.service_by_port(22).unwrap().unwrap().value.name, "ssh");
        assert_eq!(c.autofs_map("auto.home").unwrap().unwrap().value.len(), 1);
    }
    // Names not cached (or qualified with another domain) match nothing: ENOENT, and
    // nothing changes. SSH hosts are never cached.
    let t = Tree::configured();
    let c = with_maps(&t);
    for args in [
        &["-s", "ftp"][..],
        &["-s", "ssh@other"],
        &["-r", "r2"],
        &["-a", "auto.nope"],
        &["-a", "AUTO.HOME"],
        &["-h", "host1"],
    ] {
        let o = t.run(args);
        assert_eq!(
            (o.code, o.stderr.as_str()),
            (
                2,
                "No cache object matched the specified search
"
            ),
            "{args:?}"
        );
    }
    assert_eq!(map_stamps(&c), [FRESH; 6]);
    ok(&t.run(&["-H"]));
    assert_eq!(map_stamps(&c), [FRESH; 6]);
}

#[test]
fn without_domains_it_succeeds_and_touches_nothing() {
    let t = Tree::bare();
    ok(&t.run(&["-E"]));
    ok(&t.run(&["-u", "alice"]));
    assert_eq!(t.maps_present(), 3);
    t.write_conf("[sssd]\nservices = nss\n");
    ok(&t.run(&["-U"]));
    assert_eq!(t.maps_present(), 3);
    assert!(!t.paths.db.exists());
}

#[test]
fn an_unknown_domain_is_refused_with_enoent() {
    for t in [Tree::configured(), Tree::bare()] {
        let o = t.run(&["-E", "-d", "nosuch"]);
        assert_eq!(o.code, 2, "{o:?}");
        assert_eq!(
            o.stderr,
            "Could not open domain nosuch. If the domain is a subdomain (trusted domain), \
             use fully qualified name instead of --domain/-d parameter.\n"
        );
        assert_eq!(t.maps_present(), 3);
    }
}

#[test]
fn a_bad_configuration_is_an_io_error_naming_the_problem() {
    let t = Tree::configured();
    t.write_conf("[sssd]\ndomains = LDAP, missing\n[domain/LDAP]\nid_provider = ldap\n");
    let o = t.run(&["-E"]);
    assert_eq!(o.code, 5, "{o:?}");
    assert!(
        o.stderr.starts_with("Could not open available domains\n"),
        "{o:?}"
    );
    assert!(o.stderr.contains("missing"), "{o:?}");
    std::fs::set_permissions(&t.paths.config_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = t.run(&["-E"]);
    assert_eq!(o.code, 5, "{o:?}");
    assert!(o.stderr.contains("sssd.conf"), "{o:?}");
    assert_eq!(t.expire_of("alice").0, i64::MAX);
}

#[test]
fn not_root_is_refused_after_the_command_line_is_read() {
    let t = Tree::configured();
    let mut ctx = t.ctx();
    ctx.uid = 1000;
    ctx.program = "/usr/sbin/sss_cache";
    let o = t.run_ctx(&ctx, &["-E"]);
    assert_eq!(o.code, 1);
    assert_eq!(o.stderr, "/usr/sbin/sss_cache must be run as root\n");
    assert_eq!(t.expire_of("alice").0, i64::MAX);
    assert_eq!(t.maps_present(), 3);
    // Usage errors come first.
    let o = t.run_ctx(&ctx, &[]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.ends_with(&format!("{}\n", args::NOTHING_SELECTED)));
    // --debug shows SSSD's diagnostic too.
    let o = t.run_ctx(&ctx, &["-E", "--debug", "1"]);
    assert_eq!(
        o.stderr,
        "[/usr/sbin/sss_cache] [init] (0x0020): Running under 1000, must be root\n\
         /usr/sbin/sss_cache must be run as root\n"
    );
}

#[test]
fn usage_errors_print_the_usage_then_the_message() {
    let t = Tree::configured();
    for (args, msg) in [
        (&[][..], args::NOTHING_SELECTED),
        (&["--bogus"], "unknown option"),
        (&["-u"], "missing argument"),
        (&["-u", "a", "b"], args::UNEXPECTED_ARGUMENTS),
    ] {
        let o = t.run(args);
        assert_eq!(o.code, 1, "{args:?}");
        assert_eq!(o.stdout, "");
        assert!(o.stderr.starts_with("Usage: sss_cache "), "{o:?}");
        assert!(o.stderr.ends_with(&format!("\n{msg}\n")), "{o:?}");
    }
    assert_eq!(t.maps_present(), 3);
}

#[test]
fn help_and_usage_go_to_stdout() {
    let t = Tree::configured();
    let mut ctx = t.ctx();
    ctx.uid = 1000;
    let o = t.run_ctx(&ctx, &["--help"]);
    assert_eq!((o.code, o.stderr.as_str()), (0, ""));
    assert_eq!(o.stdout, args::help());
    let o = t.run_ctx(&ctx, &["--usage"]);
    assert_eq!((o.code, o.stdout.clone()), (0, args::usage()));
}

#[test]
fn systemd_offline_does_nothing() {
    let t = Tree::configured();
    let mut ctx = t.ctx();
    ctx.systemd_offline = true;
    ctx.uid = 1000;
    ok(&t.run_ctx(&ctx, &["--bogus"]));
    ok(&t.run_ctx(&ctx, &["-E"]));
    assert_eq!(t.expire_of("alice").0, i64::MAX);
    assert_eq!(t.maps_present(), 3);
}

#[test]
fn a_running_responder_is_asked_through_the_monitor() {
    let t = Tree::configured();
    let flag = files::clear_flag_path(&t.paths.mc);
    let fake = FakeSssd::start(&files::map_path(&t.paths.mc, MapKind::Passwd), Some(&flag));
    fake.write_pidfile(&t.paths);
    ok(&t.run(&["-u", "alice"]));
    assert!(!flag.exists());
    assert_eq!(t.expire_of("alice").0, 0);
}

#[test]
fn a_silent_responder_gets_sssds_warning_but_success() {
    let t = Tree::configured();
    let fake = FakeSssd::start(&files::map_path(&t.paths.mc, MapKind::Passwd), None);
    fake.write_pidfile(&t.paths);
    let o = t.run(&["-U"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert_eq!(o.stderr, format!("{MC_NOT_CONFIRMED}\n"));
    assert_eq!(t.expire_of("alice").0, 0);
}

#[test]
fn a_responder_without_a_monitor_is_an_io_error() {
    let t = Tree::configured();
    let _fake = FakeSssd::start(&files::map_path(&t.paths.mc, MapKind::Group), None);
    let o = t.run(&["-E"]);
    assert_eq!(o.code, 5, "{o:?}");
    assert!(
        o.stderr.starts_with("Failed to clear the memory cache: "),
        "{o:?}"
    );
    assert!(o.stderr.contains("sssd.pid"), "{o:?}");
    // The cache entries were expired all the same (as SSSD, which commits first).
    assert_eq!(t.expire_of("alice").0, 0);
}

#[test]
fn debug_traces_what_was_done() {
    let t = Tree::configured();
    let o = t.run(&["-u", "alice", "--debug", "6"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(
        o.stderr
            .contains("[sss_cache] [invalidate] (0x0400): 'user' alice: expired in domain 'LDAP'"),
        "{o:?}"
    );
    assert!(o.stderr.contains("maps recycled"), "{o:?}");
}
