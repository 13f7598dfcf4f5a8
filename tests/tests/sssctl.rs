//! `sssctl` through the installed binary inside the namespace: `config-check` on a
//! configuration with mistakes (placed by file and line, with suggestions, ignored conf.d
//! files listed) and on a clean one, `domain-list` with a domain the daemon leaves out,
//! `user-show` / `group-show` and `cache-expire` against a running daemon, `domain-status`
//! while the directory goes away and comes back, and the monitor naming a misspelt option in
//! sssd.log at start.
//!
//! They need the release artifacts (`cargo build --release --workspace`, done by
//! scripts/test.sh).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use sssd_tests::ldif::{self, Schema};
use sssd_tests::namespace::Namespace;
use sssd_tests::pam;
use sssd_tests::proc::{self, Output};
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{CONF_PATH, Sssd, SssdConf};
use sssd_tests::stage;
use std::time::Duration;

fn namespace() -> Namespace {
    let root = stage::shared_stage().expect("stage the product with install.sh");
    Namespace::new(Some(root)).expect("create the mount namespace")
}

fn sssctl(ns: &Namespace, args: &[&str]) -> Output {
    let mut argv = vec!["sssctl"];
    argv.extend_from_slice(args);
    ns.run(&argv).unwrap()
}

const MISTAKES: &str = "[sssd]
services = nss, pam, ifp
domains = LDAP

[domain/LDAP]
id_provider = ldap
ldap_uri = ldap://127.0.0.1
ldap_search_bsae = dc=example,dc=com
entry_cache_timeout = soon

[nsss]
filter_users = root
";

#[test]
fn config_check_places_every_mistake() {
    let ns = namespace();
    ns.write_file(CONF_PATH, MISTAKES.as_bytes(), 0o600)
        .unwrap();
    ns.write_file(
        "/etc/sssd/conf.d/10-pam.conf",
        b"[pam]\npam_verbosity = 2\n",
        0o600,
    )
    .unwrap();
    ns.write_file("/etc/sssd/conf.d/20-old.conf.bak", b"[nss]\n", 0o600)
        .unwrap();
    ns.write_file("/etc/sssd/conf.d/.hidden.conf", b"[nss]\n", 0o600)
        .unwrap();
    // Others may read it: left out, as SSSD leaves it out, and said.
    ns.write_file("/etc/sssd/conf.d/30-open.conf", b"[nss]\n", 0o644)
        .unwrap();
    let out = sssctl(&ns, &["config-check"]);
    assert_eq!(out.code(), 1, "{out:?}");
    let text = &out.stdout;
    let expect = [
        "Issues identified by validators: 4",
        "/etc/sssd/sssd.conf:11: error: unknown section [nsss]: its options are never read; \
         did you mean [nss]?",
        "/etc/sssd/sssd.conf:8: error: [domain/LDAP]: unknown option ldap_search_bsae: it has \
         no effect; did you mean ldap_search_base?",
        "/etc/sssd/sssd.conf:2: error: [sssd] services: the ifp responder is not implemented",
        "/etc/sssd/sssd.conf:9: error: domain LDAP is disabled at start: [domain/LDAP] \
         entry_cache_timeout = \"soon\"",
        "Messages generated during configuration merging: 3",
        "/etc/sssd/conf.d/.hidden.conf: warning: not read: its name starts with '.'",
        "/etc/sssd/conf.d/20-old.conf.bak: warning: not read: its name does not end in \
         \".conf\"",
        "/etc/sssd/conf.d/30-open.conf: warning: not read: mode 0644 gives access to others",
        "Used configuration snippet files: 1\n/etc/sssd/conf.d/10-pam.conf\n",
    ];
    for e in expect {
        assert!(text.contains(e), "missing {e:?} in:\n{text}");
    }

    // Fixed, it is clean.
    let fixed = "[sssd]\nservices = nss, pam\ndomains = LDAP\n\n[domain/LDAP]\n\
        id_provider = ldap\nldap_uri = ldap://127.0.0.1\nldap_search_base = dc=example,dc=com\n";
    ns.write_file(CONF_PATH, fixed.as_bytes(), 0o600).unwrap();
    let out = sssctl(&ns, &["config-check"]);
    assert_eq!(out.code(), 0, "{out:?}");
    assert!(
        out.stdout
            .starts_with("Issues identified by validators: 0\n"),
        "{out:?}"
    );
    // A file others can read stops sssd from starting: the one issue.
    ns.write_file(CONF_PATH, fixed.as_bytes(), 0o644).unwrap();
    let out = sssctl(&ns, &["config-check"]);
    assert_eq!(out.code(), 1, "{out:?}");
    assert!(
        out.stdout
            .contains("Issues identified by validators: 1\n/etc/sssd/sssd.conf: error:")
            && out.stdout.contains("mode 0644"),
        "{out:?}"
    );
    // Another file, named on the command line.
    ns.write_file("/root/other.conf", MISTAKES.as_bytes(), 0o600)
        .unwrap();
    let out = sssctl(&ns, &["config-check", "-c", "/root/other.conf"]);
    assert_eq!(out.code(), 1, "{out:?}");
    assert!(out.stdout.contains("/root/other.conf:11: error"), "{out:?}");
    let out = sssctl(&ns, &["no-such-command"]);
    assert_eq!(out.code(), 1, "{out:?}");
    assert!(out.stderr.contains("Unknown command"), "{out:?}");
}

#[test]
fn domain_list_and_cache_expire_with_a_running_daemon() {
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(3)).unwrap();
    let ns = namespace();
    let conf = SssdConf::ldap(&slapd, Schema::Rfc2307)
        .set("sssd", "domains", "LDAP, IPA")
        .set("domain/IPA", "id_provider", "ipa")
        .domain("ldap_search_bsae", "dc=nowhere");
    ns.write_file(
        "/etc/sssd/conf.d/50-open.conf",
        b"[nss]\nfilter_users = user1\n",
        0o644,
    )
    .unwrap();
    let sssd = Sssd::start(&ns, &conf).unwrap();
    // The misspelt option is named in sssd.log at start, with its place.
    let log =
        String::from_utf8_lossy(&ns.read_file("/var/log/sssd/sssd.log").unwrap()).into_owned();
    assert!(
        log.contains("/etc/sssd/sssd.conf:")
            && log.contains("unknown option ldap_search_bsae")
            && log.contains("did you mean ldap_search_base?")
            && log.contains("/etc/sssd/conf.d/50-open.conf: warning: not read: mode 0644"),
        "{log}"
    );
    let out = sssctl(&ns, &["domain-list"]);
    assert_eq!(out.code(), 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{out:?}");
    assert_eq!(lines[0], "LDAP");
    assert!(
        lines[1].starts_with("IPA (disabled: ") && lines[1].contains("id_provider"),
        "{out:?}"
    );
    let out = ns.run(&["getent", "passwd", "user1"]).unwrap();
    assert!(out.success(), "{out:?}\n{}", sssd.logs());
    let out = sssctl(&ns, &["user-show", "user1"]);
    assert_eq!(out.code(), 0, "{out:?}");
    for line in [
        "Name: user1\n",
        "Initgroups expiration time: Not cached\n",
        "Domain: LDAP\nUID: 1001\nGID: 2001\nHome directory: /home/user1\nShell: /bin/bash\n",
    ] {
        assert!(out.stdout.contains(line), "{line:?} in {out:?}");
    }
    assert!(!out.stdout.contains("expiration time: Expired"), "{out:?}");
    assert!(ns.run(&["id", "user1"]).unwrap().success());
    let out = sssctl(&ns, &["user-show", "-u", "1001"]);
    assert!(
        out.stdout.starts_with("Name: user1\n") && !out.stdout.contains("Not cached"),
        "{out:?}"
    );
    let out = sssctl(&ns, &["group-show", "two_user_group"]);
    assert_eq!(out.code(), 0, "{out:?}");
    assert!(out.stdout.contains("GID: 2012\nMembers: "), "{out:?}");
    let out = sssctl(&ns, &["user-show", "nobody"]);
    assert_eq!(
        (out.code(), out.stderr.as_str()),
        (1, "User nobody is not present in cache.\n")
    );
    let out = sssctl(&ns, &["cache-expire", "-u", "user1"]);
    assert_eq!(out.code(), 0, "{out:?}");
    let out = sssctl(&ns, &["user-show", "user1"]);
    assert!(
        out.stdout
            .contains("Cache entry expiration time: Expired\n"),
        "{out:?}"
    );
    let out = sssctl(&ns, &["cache-expire", "-E"]);
    assert_eq!(out.code(), 0, "{out:?}");
    let out = ns.run(&["getent", "passwd", "user1"]).unwrap();
    assert!(out.success(), "{out:?}");
}

#[test]
fn domain_status_follows_the_directory() {
    let mut slapd = Slapd::new(&ldif::rfc2307_with_bulk(3)).unwrap();
    let ns = namespace();
    let conf = SssdConf::ldap(&slapd, Schema::Rfc2307)
        .set("sssd", "domains", "LDAP, IPA")
        .set("domain/IPA", "id_provider", "ipa")
        .domain("offline_timeout", "1")
        .domain("offline_timeout_max", "1")
        .domain("offline_timeout_random_offset", "0");
    let sssd = Sssd::start(&ns, &conf).unwrap();
    assert!(ns.run(&["getent", "passwd", "user1"]).unwrap().success());
    let out = sssctl(&ns, &["domain-status", "LDAP"]);
    assert_eq!(out.code(), 0, "{out:?}\n{}", sssd.logs());
    let uri = slapd.uri();
    let expect = format!(
        "Online status: Online\n\nActive servers:\nLDAP: {uri}\n\n\
         Discovered LDAP servers:\n- {uri} (working)\n\n"
    );
    assert_eq!(out.stdout, expect);
    // The directory goes away: the next lookup finds it gone.
    slapd.stop().unwrap();
    let _ = ns.run(&["getent", "passwd", "nosuchuser"]).unwrap();
    let out = sssctl(&ns, &["domain-status", "LDAP", "--online"]);
    assert_eq!(out.stdout, "Online status: Offline\n\n", "{out:?}");
    let out = sssctl(&ns, &["domain-status", "LDAP", "--active-server"]);
    assert_eq!(
        out.stdout, "Active servers:\nLDAP: not connected\n\n",
        "{out:?}"
    );
    // Back: online again at the next retry.
    slapd.start().unwrap();
    proc::wait_until("online again", Duration::from_secs(15), || {
        sssctl(&ns, &["domain-status", "LDAP", "-o"]).stdout == "Online status: Online\n\n"
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", sssd.logs()));
    // A disabled domain says why; an unknown one is an error.
    let out = sssctl(&ns, &["domain-status", "IPA"]);
    assert_eq!(out.code(), 1, "{out:?}");
    assert!(
        out.stderr.starts_with("Domain IPA is disabled: ") && out.stderr.contains("id_provider"),
        "{out:?}"
    );
    let out = sssctl(&ns, &["domain-status", "NOPE"]);
    assert_eq!(
        (out.code(), out.stderr.as_str()),
        (1, "Unknown domain: NOPE\n")
    );
}

#[test]
fn debug_level_and_the_log_tools_on_a_running_daemon() {
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(3)).unwrap();
    let ns = namespace();
    let sssd = Sssd::start(&ns, &SssdConf::ldap(&slapd, Schema::Rfc2307)).unwrap();
    let backend_log = || {
        String::from_utf8_lossy(
            &ns.read_file("/var/log/sssd/sssd_LDAP.log")
                .unwrap_or_default(),
        )
        .into_owned()
    };
    let out = sssctl(&ns, &["debug-level"]);
    assert_eq!(
        (out.code(), out.stdout.as_str()),
        (
            0,
            "sssd                      0x0070\nnss                       0x0070\n\
             domain/LDAP               0x0070\n"
        ),
        "{out:?}\n{}\n{:?}\n{:?}",
        sssd.logs(),
        ns.run(&["ps", "-eo", "pid,ppid,sid,comm"]).unwrap().stdout,
        ns.run(&["ls", "-la", "/var/lib/sss/pipes", "/run"])
            .unwrap()
            .stdout
    );
    assert!(ns.run(&["getent", "passwd", "user1"]).unwrap().success());
    assert!(
        !backend_log().contains("getAccountInfo"),
        "{}",
        backend_log()
    );
    // Level 9 in the backend only, without a restart.
    let out = sssctl(&ns, &["debug-level", "9", "--domain=LDAP"]);
    assert_eq!(out.code(), 0, "{out:?}");
    let out = sssctl(&ns, &["debug-level", "--domain", "LDAP", "--nss"]);
    assert_eq!(
        out.stdout,
        "nss                       0x0070\ndomain/LDAP               0x2f7f0\n"
    );
    assert!(ns.run(&["getent", "passwd", "user2"]).unwrap().success());
    let log = backend_log();
    assert!(
        log.lines()
            .any(|l| l.contains("getAccountInfo") && l.contains("user2")),
        "{log}"
    );
    // The logs as a tarball, then emptied, then deleted (and reopened by the processes).
    let out = sssctl(&ns, &["logs-fetch", "/root/logs.tgz"]);
    assert_eq!(out.code(), 0, "{out:?}");
    let listing = ns.run(&["tar", "-tzf", "/root/logs.tgz"]).unwrap();
    assert!(
        listing.stdout.contains("var/log/sssd/sssd_LDAP.log"),
        "{listing:?}"
    );
    let out = sssctl(&ns, &["logs-remove"]);
    assert_eq!(
        (out.code(), out.stdout.as_str()),
        (0, "Truncating log files...\n")
    );
    assert!(backend_log().is_empty());
    assert!(ns.run(&["getent", "passwd", "user3"]).unwrap().success());
    assert!(backend_log().contains("user3"), "appended after truncation");
    let out = sssctl(&ns, &["logs-remove", "--delete"]);
    assert_eq!(
        (out.code(), out.stdout.as_str()),
        (0, "Deleting log files...\n")
    );
    proc::wait_until("the backend log reopened", Duration::from_secs(10), || {
        ns.exists("/var/log/sssd/sssd_LDAP.log")
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", sssd.logs()));
    let out = sssctl(&ns, &["debug-level", "--domain=NOPE", "--sudo"]);
    assert_eq!(out.code(), 1, "{out:?}");
    assert_eq!(
        out.stdout,
        "sudo                      Unreachable service\ndomain/NOPE               Unknown domain\n"
    );
}

/// The corpus of realistic configurations (tests/data/config-corpus): each file's first
/// line says `# expect: clean` or `# expect: TEXT`, a part of the report it must produce.
#[test]
fn config_corpus_verdicts() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/config-corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    assert!(
        files.len() >= 30,
        "{} files in {}",
        files.len(),
        dir.display()
    );
    let ns = namespace();
    let mut wrong = Vec::new();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(f).unwrap();
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{name}: no `# expect:` line"))
            .to_string();
        let path = format!("/root/corpus/{name}");
        ns.write_file(&path, text.as_bytes(), 0o600).unwrap();
        let out = sssctl(
            &ns,
            &["config-check", "-c", &path, "-s", "/root/corpus/none.d"],
        );
        let ok = if expect == "clean" {
            out.code() == 0
                && out
                    .stdout
                    .starts_with("Issues identified by validators: 0\n")
        } else {
            out.code() == 1 && out.stdout.contains(&expect)
        };
        if !ok {
            wrong.push(format!("{name}: expected {expect:?}, got {out:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn user_checks_runs_the_nss_lookup_and_a_pam_step() {
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(3)).unwrap();
    let ns = namespace();
    pam::install_service(&ns, pam::SERVICE, "").unwrap();
    let sssd = Sssd::start(&ns, &SssdConf::ldap_pam(&slapd, Schema::Rfc2307)).unwrap();
    pam::wait_for_socket(&ns).unwrap();
    let out = sssctl(&ns, &["user-checks", "user1", "-s", pam::SERVICE]);
    assert_eq!(out.code(), 0, "{out:?}\n{}", sssd.logs());
    assert_eq!(
        out.stdout,
        format!(
            "user: user1\naction: acct\nservice: {}\n\nSSSD nss user lookup result:\n \
             - user name: user1\n - user id: 1001\n - group id: 2001\n - gecos: 1001\n \
             - home directory: /home/user1\n - shell: /bin/bash\n\ntesting pam_acct_mgmt\n\n",
            pam::SERVICE
        )
    );
    assert_eq!(
        out.stderr,
        "pam_acct_mgmt: Success\n\nPAM Environment:\n - no env -\n"
    );
    // Authentication reads the password from standard input.
    let auth = |password: &str| {
        ns.run_input(
            &[
                "sssctl",
                "user-checks",
                "user1",
                "-a",
                "auth",
                "-s",
                pam::SERVICE,
            ],
            format!("{password}\n").as_bytes(),
        )
        .unwrap()
    };
    let out = auth("Password1001");
    assert_eq!(out.code(), 0, "{out:?}");
    assert!(
        out.stderr
            .contains("pam_authenticate for user [user1]: Success\n"),
        "{out:?}"
    );
    let out = auth("wrong");
    assert_eq!(out.code(), 1, "{out:?}");
    assert!(
        out.stderr
            .contains("pam_authenticate for user [user1]: Authentication failure\n"),
        "{out:?}"
    );
    let out = sssctl(&ns, &["user-checks", "nobody", "-s", pam::SERVICE]);
    assert_eq!(out.code(), 1, "{out:?}");
    assert!(
        out.stderr
            .contains("User name lookup with [nobody] failed.\n")
            && out
                .stderr
                .contains("pam_acct_mgmt: User not known to the underlying authentication module"),
        "{out:?}"
    );
}

/// `client-data-restore -s` starts a stopped daemon (`sssd -D`, found beside sssctl) when
/// there is nothing to import, and asks before a restart; "no" leaves it running.
#[test]
fn client_data_restore_starts_a_stopped_daemon() {
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(3)).unwrap();
    let ns = namespace();
    let mut sssd = Sssd::start(
        &ns,
        &SssdConf::ldap(&slapd, Schema::Rfc2307)
            .set("nss", "debug_level", "9")
            .set("sssd", "debug_level", "9"),
    )
    .unwrap();
    sssd.daemon.stop();
    assert!(!ns.run(&["getent", "passwd", "user1"]).unwrap().success());
    let out = ns
        .run_input(&["sssctl", "client-data-restore", "-s"], b"no\n")
        .unwrap();
    assert_eq!(out.code(), 0, "{out:?}\n{}", sssd.logs());
    assert_eq!(
        out.stdout,
        "SSSD needs to be restarted. Restart SSSD now? (yes/no) [yes] "
    );
    let pid = String::from_utf8(ns.read_file("/run/sssd.pid").unwrap()).unwrap();
    let out = ns.run(&["getent", "passwd", "user1"]).unwrap();
    assert!(
        out.stdout.starts_with("user1:*:1001:"),
        "{out:?}\n{}\n{:?}\n{:?}",
        sssd.logs(),
        ns.run(&["ps", "-eo", "pid,ppid,sid,comm"]).unwrap().stdout,
        ns.run(&["ls", "-la", "/var/lib/sss/pipes", "/run"])
            .unwrap()
            .stdout
    );
    // "yes" restarts it: another monitor.
    let out = ns
        .run_input(&["sssctl", "client-data-restore"], b"\n")
        .unwrap();
    assert_eq!(out.code(), 0, "{out:?}");
    let again = String::from_utf8(ns.read_file("/run/sssd.pid").unwrap()).unwrap();
    assert_ne!(pid, again);
    let out = ns.run(&["getent", "passwd", "user2"]).unwrap();
    assert!(
        out.success(),
        "{out:?}\n{}\n{:?}",
        sssd.logs(),
        ns.run(&["ls", "-la", "--time-style=full-iso", "/var/lib/sss/pipes"])
            .unwrap()
            .stdout
    );
}

/// `cache-remove` refuses while the daemon runs and the administrator says no; with `-p -s`
/// it stops the daemon, backs up the overrides of `sss_override`, empties the cache and
/// starts the daemon again (`sssd -D`), and the overrides went with the cache, as in SSSD;
/// `client-data-restore` brings them back from the backup, and `cache-remove -r` keeps them.
#[test]
fn cache_remove_keeps_the_local_overrides() {
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(3)).unwrap();
    let ns = namespace();
    let mut sssd = Sssd::start(&ns, &SssdConf::ldap(&slapd, Schema::Rfc2307)).unwrap();
    assert!(ns.run(&["getent", "passwd", "user1"]).unwrap().success());
    let out = ns
        .run(&[
            "sss_override",
            "user-add",
            "user1",
            "-u",
            "5001",
            "-n",
            "alias1",
        ])
        .unwrap();
    assert!(out.success(), "{out:?}");

    let out = ns.run_input(&["sssctl", "cache-remove"], b"no\n").unwrap();
    assert_eq!(out.code(), 1, "{out:?}");
    assert_eq!(
        out.stderr,
        "Unable to remove the cache unless SSSD is stopped.\n"
    );
    assert!(sssd.daemon.is_running());

    let out = sssctl(&ns, &["cache-remove", "-p", "-s"]);
    assert_eq!(out.code(), 0, "{out:?}\n{}", sssd.logs());
    assert_eq!(
        out.stdout,
        "Creating backup of local data...\nRemoving cache files...\n"
    );
    assert!(sssd.daemon.wait_exit(Duration::from_secs(10)).is_some());
    let backup = String::from_utf8(
        ns.read_file("/var/lib/sss/backup/sssd_user_overrides.bak")
            .unwrap(),
    )
    .unwrap();
    assert!(backup.starts_with("user1@LDAP:alias1:5001:"), "{backup}");
    // The cache was emptied: nothing about user1 until it is looked up again.
    let out = sssctl(&ns, &["user-show", "user1"]);
    assert_eq!(out.code(), 1, "{out:?}");
    let out = ns.run(&["getent", "passwd", "alias1"]).unwrap();
    assert!(!out.success(), "the override went with the cache: {out:?}");
    let out = ns.run(&["getent", "passwd", "user1"]).unwrap();
    assert!(out.stdout.starts_with("user1:*:1001:"), "{out:?}");

    // The backup brings them back.
    let out = sssctl(&ns, &["client-data-restore", "-s", "-r"]);
    assert_eq!(out.code(), 0, "{out:?}");
    let out = ns.run(&["getent", "passwd", "alias1"]).unwrap();
    assert!(out.stdout.starts_with("alias1:*:5001:"), "{out:?}");

    // With -r they survive the removal; -o replaces the earlier backup without asking.
    let out = sssctl(&ns, &["cache-remove", "-p", "-s", "-r", "-o"]);
    assert_eq!(out.code(), 0, "{out:?}\n{}", sssd.logs());
    assert_eq!(
        out.stdout,
        "Creating backup of local data...\nRemoving cache files...\nRestoring local data...\n"
    );
    let out = ns.run(&["getent", "passwd", "alias1"]).unwrap();
    assert!(out.stdout.starts_with("alias1:*:5001:"), "{out:?}");
    assert!(ns.run(&["getent", "passwd", "5001"]).unwrap().success());
}
