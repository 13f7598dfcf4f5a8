//! `sssctl` side by side (issue 12): our sssctl on our daemon and Debian's sssctl 2.8 on
//! Debian's daemon, for the same state, one after the other in one run, on the same private
//! slapd. Each implementation runs in its own mount namespace with the same sssd.conf,
//! except that Debian's also starts its InfoPipe responder (`ifp`, on a private system bus
//! started in the namespace), which its `domain-list`, `domain-status` and `user-checks`
//! need; ours answers those over its private bus.
//!
//! The same script of commands runs on both: while the directory is up, after a cache
//! expiry, with the directory stopped, and with the daemon stopped. For each command the
//! tool prints both exit codes and outputs, then a Markdown table of the exit codes and
//! first lines.
//!
//! Usage (root; release artifacts built; Debian's sssd unpacked by scripts/debian-sssd.sh):
//!   sssctl_side_by_side [--only ours|debian]

use anyhow::{Context, Result, bail};
use sssd_bench::option_value;
use sssd_tests::interop::debian_root;
use sssd_tests::ldif::{self, Schema};
use sssd_tests::namespace::{Daemon, Namespace};
use sssd_tests::pam;
use sssd_tests::proc::{self, Output};
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{Sssd, SssdConf};
use sssd_tests::stage;
use std::path::Path;
use std::time::Duration;

/// The PAM service `user-checks` is given.
const SERVICE: &str = "sssctl-check";

/// What an implementation printed for one step.
struct Step {
    /// The state the step ran in and the command line.
    label: String,
    /// Exit code, stdout and stderr.
    out: Output,
}

/// The sssctl commands run in each state.
const UP: &[&[&str]] = &[
    &["config-check"],
    &["domain-list"],
    &["domain-status", "LDAP"],
    &["domain-status", "LDAP", "--online"],
    &["domain-status", "LDAP", "--active-server"],
    &["domain-status", "LDAP", "--servers"],
    &["domain-status", "NOSUCH"],
    &["user-show", "user1"],
    &["user-show", "-u", "1001"],
    &["user-show", "nosuchuser"],
    &["group-show", "two_user_group"],
    &["group-show", "-g", "2012"],
    &["user-checks", "user1", "-s", SERVICE],
    &["user-checks", "user1", "-a", "open", "-s", SERVICE],
    &["user-checks", "nosuchuser", "-s", SERVICE],
    &["debug-level"],
    &["debug-level", "--domain=LDAP", "6"],
    &["debug-level", "--domain=LDAP", "--sssd"],
    &["cache-expire", "-E"],
    &["user-show", "user1"],
    &["analyze", "request", "list"],
    &["analyze", "request", "list", "-v"],
    &["logs-fetch", "/tmp/sssd-logs.tgz"],
    &["logs-remove"],
];

const DIRECTORY_DOWN: &[&[&str]] = &[
    &["domain-status", "LDAP", "--online"],
    &["domain-status", "LDAP", "--servers"],
];

const DAEMON_STOPPED: &[&[&str]] = &[
    &["domain-list"],
    &["domain-status", "LDAP"],
    &["user-show", "user1"],
    &["debug-level"],
];

/// A configuration with four mistakes, for `config-check -c`: a misspelt option, a
/// misspelt section, an option of another section and one SSSD supports and we do not.
const TYPO_CONF: &str = "[sssd]\nservices = nss, pam\ndomains = LDAP\n\n\
[domain/LDAP]\nid_provider = ldap\nldap_uri = ldap://127.0.0.1\nldap_serach_base = dc=example,dc=com\n\n\
[nsss]\nfilter_users = root\n\n[pam]\npam_cert_auth = true\nentry_cache_nowait_percentage = 5\n";

fn run(ns: &Namespace, state: &str, args: &[&str], steps: &mut Vec<Step>) -> Result<()> {
    let mut argv = vec!["sssctl"];
    argv.extend_from_slice(args);
    let out = ns.run(&argv)?;
    steps.push(Step {
        label: format!("{state}: sssctl {}", args.join(" ")),
        out,
    });
    Ok(())
}

/// A private system bus in `ns` (Debian's InfoPipe registers on it).
fn system_bus(ns: &Namespace) -> Result<Daemon<'_>> {
    if !proc::have_program("dbus-daemon") {
        bail!("dbus-daemon is not installed (apt-get install dbus)");
    }
    ns.run_ok(&["mkdir", "-p", "/run/dbus"])?;
    let bus = ns.spawn(&[
        "dbus-daemon",
        "--system",
        "--nofork",
        "--nopidfile",
        "--nosyslog",
    ])?;
    ns.wait_for_path("/run/dbus/system_bus_socket", Duration::from_secs(10))
        .context("the private system bus did not start")?;
    Ok(bus)
}

fn script(root: &Path, slapd: &mut Slapd, debian: bool) -> Result<Vec<Step>> {
    let ns = Namespace::new(Some(root))?;
    let bus = if debian { Some(system_bus(&ns)?) } else { None };
    let services = if debian { "nss, pam, ifp" } else { "nss, pam" };
    let conf = SssdConf::ldap_pam(slapd, Schema::Rfc2307)
        .set("sssd", "services", services)
        .set("nss", "memcache_timeout", "0");
    pam::install_service(&ns, SERVICE, "")?;
    let mut sssd = Sssd::start(&ns, &conf)?;
    pam::wait_for_socket(&ns)?;
    for q in [
        &["getent", "passwd", "user1"][..],
        &["id", "user1"],
        &["getent", "group", "two_user_group"],
    ] {
        ns.run_ok(q)?;
    }
    let mut steps = Vec::new();
    for args in UP {
        run(&ns, "up", args, &mut steps)?;
    }
    ns.write_file("/tmp/typo.conf", TYPO_CONF.as_bytes(), 0o600)?;
    run(
        &ns,
        "up",
        &["config-check", "-c", "/tmp/typo.conf"],
        &mut steps,
    )?;

    slapd.stop()?;
    // A lookup that must go to the directory makes the backend notice.
    let _ = ns.run(&["getent", "passwd", "user2"]);
    std::thread::sleep(Duration::from_secs(1));
    for args in DIRECTORY_DOWN {
        run(&ns, "slapd stopped", args, &mut steps)?;
    }
    slapd.start()?;

    sssd.daemon.stop();
    for args in DAEMON_STOPPED {
        run(&ns, "sssd stopped", args, &mut steps)?;
    }
    drop(sssd);
    drop(bus);
    Ok(steps)
}

fn first_line(out: &Output) -> String {
    let text = if out.stdout.trim().is_empty() {
        &out.stderr
    } else {
        &out.stdout
    };
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .replace('|', "\\|")
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let only = option_value(&args, "--only");
    let ours_root = stage::shared_stage().context("stage our build with install.sh")?;
    let debian = debian_root().context("unpack Debian's sssd 2.8")?;
    let mut slapd = Slapd::new(&ldif::rfc2307_with_bulk(5))?;

    let ours = if only != Some("debian") {
        script(ours_root, &mut slapd, false)?
    } else {
        Vec::new()
    };
    let theirs = if only != Some("ours") {
        script(&debian, &mut slapd, true)?
    } else {
        Vec::new()
    };

    let steps = ours.len().max(theirs.len());
    for i in 0..steps {
        let (a, b) = (ours.get(i), theirs.get(i));
        let label = a.or(b).map(|s| s.label.as_str()).unwrap_or("");
        println!("=== {label}");
        for (who, step) in [("ours", a), ("Debian 2.8", b)] {
            if let Some(s) = step {
                println!("--- {who}: exit {}", s.out.code());
                print!("{}", s.out.stdout);
                if !s.out.stderr.trim().is_empty() {
                    println!("[stderr] {}", s.out.stderr.trim_end());
                }
            }
        }
    }
    println!("\n| command | ours | Debian 2.8 |\n|---|---|---|");
    for i in 0..steps {
        let (a, b) = (ours.get(i), theirs.get(i));
        let label = a.or(b).map(|s| s.label.as_str()).unwrap_or("");
        let cell = |s: Option<&Step>| {
            s.map(|s| format!("{}: {}", s.out.code(), first_line(&s.out)))
                .unwrap_or_default()
        };
        println!("| `{label}` | {} | {} |", cell(a), cell(b));
    }
    Ok(())
}
