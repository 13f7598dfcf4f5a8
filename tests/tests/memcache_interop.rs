//! Memory-cache interop with Debian's sssd 2.8: each implementation's libnss_sss reads the
//! other's `/var/lib/sss/mc` files, and each `sss_cache` is run against the other's daemon.
//!
//! "Ours" is the staged build; with `SSSD_TESTS_STAGE_ROOT` naming Debian's root, "ours" is
//! Debian's too and every pair is Debian + Debian, which checks the tests themselves.
//! Debian's packages are unpacked by scripts/debian-sssd.sh, never installed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use sssd_tests::expected::{self, NssCall, nss_status};
use sssd_tests::interop::{debian_root, nss_module_of, with_files_from, with_nss_module};
use sssd_tests::ldif::{self, Directory, Schema};
use sssd_tests::memcache::{MC_FILES, McFile, NssProxy, mc_path, reference_stage};
use sssd_tests::namespace::Namespace;
use sssd_tests::proc::{self, Output};
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{NSS_SOCKET, Sssd, SssdConf};
use sssd_tests::stage;

const NSS_CALL: &str = env!("CARGO_BIN_EXE_nss-call");
const NSS_PROXY: &str = env!("CARGO_BIN_EXE_nss-proxy");
const NO_MC: (&str, &str) = ("SSS_NSS_USE_MEMCACHE", "NO");

fn tree() -> &'static Directory {
    static D: OnceLock<Directory> = OnceLock::new();
    D.get_or_init(|| ldif::rfc2307_with_bulk(20))
}

fn server() -> &'static Slapd {
    static S: OnceLock<Slapd> = OnceLock::new();
    S.get_or_init(|| Slapd::new(tree()).expect("start slapd"))
}

fn ours() -> &'static Path {
    stage::shared_stage().expect("stage our build")
}

fn debian() -> PathBuf {
    debian_root().expect("unpack Debian's sssd 2.8")
}

fn our_module() -> PathBuf {
    nss_module_of(ours()).unwrap_or_else(|| panic!("no libnss_sss.so.2 in {}", ours().display()))
}

fn run(ns: &Namespace, env: &[(&str, &str)], argv: &[&str]) -> Output {
    let out = ns.run_env(env, argv).unwrap();
    assert!(
        std::os::unix::process::ExitStatusExt::signal(&out.status).is_none(),
        "{argv:?} crashed: {out:?}"
    );
    out
}

fn nss_call(ns: &Namespace, env: &[(&str, &str)], args: &[&str]) -> NssCall {
    let mut argv = vec![NSS_CALL];
    argv.extend_from_slice(args);
    let out = run(ns, env, &argv);
    assert!(out.success(), "nss-call {args:?}: {out:?}");
    NssCall::parse(&out.stdout).unwrap()
}

/// The lookups checked, with what the directory says (group members sorted).
fn expectations() -> Vec<(Vec<&'static str>, String)> {
    let user1 = expected::passwd_line(tree(), "user1").unwrap();
    let two = expected::group_line(tree(), "two_user_group", None).unwrap();
    vec![
        (vec!["getpwnam", "user1"], user1.clone()),
        (vec!["getpwuid", "1001"], user1),
        (vec!["getgrnam", "two_user_group"], two.clone()),
        (vec!["getgrgid", "2012"], two),
        (vec!["initgroups", "user1", "2001"], "2012".into()),
    ]
}

/// An nss-call answer with group members sorted.
fn canonical(call: &[&str], r: &NssCall) -> Option<String> {
    let line = r.line.clone()?;
    if call[0].starts_with("getgr") {
        let (head, members) = line.rsplit_once(':')?;
        let mut m: Vec<&str> = members.split(',').filter(|s| !s.is_empty()).collect();
        m.sort_unstable();
        return Some(format!("{head}:{}", m.join(",")));
    }
    Some(line)
}

/// In a namespace over `root` (one implementation's daemon, the other's module): after one
/// lookup each, the module answers the same lookups without reaching the socket, then with
/// the daemon stopped, from the files alone (and not without them).
fn module_answers_from_the_files(root: &Path) {
    use nss_status::{SUCCESS, UNAVAIL};
    let ns = Namespace::new(Some(root)).unwrap();
    let mut sssd = Sssd::start(&ns, &SssdConf::ldap(server(), Schema::Rfc2307))
        .unwrap_or_else(|e| panic!("sssd did not start: {e}"));
    let checks = expectations();
    for (call, want) in &checks {
        let r = nss_call(&ns, &[], call);
        assert_eq!(
            canonical(call, &r).as_ref(),
            Some(want),
            "{call:?} via the socket: {r:?}"
        );
    }
    let id = expected::id_line(tree(), "user1", None).unwrap();
    assert_eq!(run(&ns, &[], &["id", "user1"]).stdout, format!("{id}\n"));
    let proxy = NssProxy::start(&ns, NSS_PROXY).unwrap();
    for (call, want) in &checks {
        let r = nss_call(&ns, &[], call);
        assert_eq!(
            canonical(call, &r).as_ref(),
            Some(want),
            "{call:?} cached: {r:?}"
        );
    }
    assert_eq!(run(&ns, &[], &["id", "user1"]).stdout, format!("{id}\n"));
    assert_eq!(
        proxy.requests(),
        Vec::<String>::new(),
        "cached lookups reached the socket"
    );
    drop(proxy);
    sssd.daemon.stop();
    proc::wait_until("the daemon to go", Duration::from_secs(10), || {
        std::os::unix::net::UnixStream::connect(ns.host_path(NSS_SOCKET)).is_err()
    })
    .unwrap();
    for (call, want) in &checks {
        let r = nss_call(&ns, &[], call);
        assert_eq!(r.status, SUCCESS, "{call:?} from the files: {r:?}");
        assert_eq!(
            canonical(call, &r).as_ref(),
            Some(want),
            "{call:?} from the files"
        );
        let r = nss_call(&ns, &[NO_MC], call);
        assert_eq!(r.status, UNAVAIL, "{call:?} without the files: {r:?}");
    }
    assert_eq!(run(&ns, &[], &["id", "user1"]).stdout, format!("{id}\n"));
}

/// Debian's libnss_sss 2.8 reads the files our daemon wrote.
#[test]
fn debian_module_reads_our_files() {
    let debian = debian();
    let root = with_nss_module(ours(), &nss_module_of(&debian).unwrap()).unwrap();
    module_answers_from_the_files(root.path());
}

/// Our libnss_sss reads the files Debian's sssd 2.8 wrote.
#[test]
fn our_module_reads_debian_files() {
    let root = with_nss_module(&debian(), &our_module()).unwrap();
    module_answers_from_the_files(root.path());
}

/// What one `sss_cache` did against the other implementation's daemon.
#[derive(Debug)]
struct ToolRun {
    args: Vec<&'static str>,
    code: i32,
    stderr: String,
    files_renewed: bool,
}

impl ToolRun {
    /// One line for the test's output.
    fn summary(&self) -> String {
        format!(
            "sss_cache {}: exit {}, files re-created: {}, stderr: {:?}",
            self.args.join(" "),
            self.code,
            self.files_renewed,
            self.stderr
        )
    }
}

/// Runs `sss_cache -E` and `sss_cache -u user3` in a namespace over `root` (the daemon of one
/// implementation, the sss_cache of the other), daemon running, then `-E` with it stopped.
///
/// What must hold whatever the tool managed to invalidate: it exits 0 or 2 (no cache object
/// it can read matched) within 5 s, never leaves clear_mc_flag behind, and the daemon keeps
/// answering correctly. With `handshake`, exit 0 must also mean the memory cache was cleared:
/// re-created files with the daemon running, no files with it stopped.
fn sss_cache_against(root: &Path, handshake: bool) -> Vec<ToolRun> {
    let ns = Namespace::new(Some(root)).unwrap();
    let mut sssd = Sssd::start(&ns, &SssdConf::ldap(server(), Schema::Rfc2307))
        .unwrap_or_else(|e| panic!("sssd did not start: {e}"));
    let user3 = expected::passwd_line(tree(), "user3").unwrap();
    let inodes = |ns: &Namespace| -> Vec<Option<u64>> {
        MC_FILES
            .iter()
            .map(|f| {
                std::fs::metadata(ns.host_path(&mc_path(f)))
                    .ok()
                    .map(|m| m.ino())
            })
            .collect()
    };
    let mut runs = Vec::new();
    let tool = |ns: &Namespace, args: Vec<&'static str>| {
        let before = inodes(ns);
        let mut argv = vec!["/usr/sbin/sss_cache"];
        argv.extend(&args);
        let out = run(ns, &[], &argv);
        assert!(
            out.elapsed < Duration::from_secs(5),
            "{args:?} took {:?}",
            out.elapsed
        );
        assert!(matches!(out.code(), 0 | 2), "sss_cache {args:?}: {out:?}");
        assert!(
            !ns.exists(&mc_path("clear_mc_flag")),
            "{args:?} left clear_mc_flag"
        );
        let after = inodes(ns);
        let renewed = before
            .iter()
            .zip(&after)
            .all(|(b, a)| a.is_some() && a != b);
        ToolRun {
            args,
            code: out.code(),
            stderr: out.stderr.trim().to_owned(),
            files_renewed: renewed,
        }
    };
    for args in [vec!["-E"], vec!["-u", "user3"]] {
        let out = run(&ns, &[], &["getent", "passwd", "user3"]);
        assert_eq!(out.stdout, format!("{user3}\n"));
        assert!(
            McFile::read(&ns, "passwd")
                .unwrap()
                .passwd("user3")
                .is_some()
        );
        runs.push(tool(&ns, args));
        let last = runs.last().unwrap();
        if handshake && last.code == 0 {
            assert!(
                last.files_renewed,
                "{last:?}: exit 0 but the files were not re-created"
            );
        }
        let out = run(&ns, &[], &["getent", "passwd", "user3"]);
        assert_eq!(out.stdout, format!("{user3}\n"), "after {last:?}");
    }
    sssd.daemon.stop();
    proc::wait_until("the daemon to go", Duration::from_secs(10), || {
        std::os::unix::net::UnixStream::connect(ns.host_path(NSS_SOCKET)).is_err()
    })
    .unwrap();
    runs.push(tool(&ns, vec!["-E"]));
    let last = runs.last().unwrap();
    let left: Vec<&str> = MC_FILES
        .iter()
        .copied()
        .filter(|f| ns.exists(&mc_path(f)))
        .collect();
    if handshake && last.code == 0 {
        assert!(
            left.is_empty(),
            "{last:?} with the daemon stopped left {left:?}"
        );
    }
    runs
}

/// Our sss_cache against Debian's sssd 2.8: the memory-cache handshake is the common part
/// (Debian's LDB cache is not ours to read), so an exit 0 must mean the files were cleared.
#[test]
fn our_sss_cache_against_debian_daemon() {
    let ours_tool = ours().join("usr/sbin/sss_cache");
    assert!(ours_tool.is_file(), "{} missing", ours_tool.display());
    let root = with_files_from(&debian(), ours(), &["usr/sbin/sss_cache"]).unwrap();
    let runs = sss_cache_against(root.path(), true);
    for r in &runs {
        eprintln!("our tool, Debian's daemon: {}", r.summary());
    }
}

/// Debian's sss_cache 2.8 against our daemon: it must do no harm. It cannot do more: it
/// reads its domains from /var/lib/sss/db/config.ldb as SSSD's monitor writes it; from a
/// config.ldb it creates itself out of sssd.conf it finds no domain ("No domains configured"
/// with --debug) and exits 0 having touched nothing (observed with Debian's own daemon too,
/// once config.ldb is removed). Against our daemon it is a no-op; the handshake is only
/// required of it against Debian's daemon (the reference run).
#[test]
fn debian_sss_cache_against_our_daemon() {
    let root = with_files_from(
        ours(),
        &debian(),
        &[
            "usr/sbin/sss_cache",
            "usr/lib/x86_64-linux-gnu/sssd",
            "usr/share/sssd",
        ],
    )
    .unwrap();
    let runs = sss_cache_against(root.path(), reference_stage());
    for r in &runs {
        eprintln!("Debian's tool, our daemon: {}", r.summary());
    }
}

/// Sanity of the expectations used above.
#[test]
fn expectations_match_the_directory() {
    let e = expectations();
    assert_eq!(e[0].1, "user1:*:1001:2001:1001:/home/user1:/bin/bash");
    assert_eq!(e[2].1, "two_user_group:*:2012:user1,user2");
    let gids: BTreeSet<u32> = expected::user_gids(tree(), "user1", None);
    assert_eq!(gids, BTreeSet::from([2012]));
}
