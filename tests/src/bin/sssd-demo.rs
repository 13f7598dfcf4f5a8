//! The demo (run by scripts/demo.sh): a small slapd on 127.0.0.1, the product staged with
//! install.sh, `sssd -i` in a private mount namespace, the real getent/id resolving LDAP
//! users through nsswitch.conf, and real logins through libpam (pamtester) and pam_sss.so.
//! Nothing on the host changes.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use sssd_tests::ldif::{self, Schema};
use sssd_tests::namespace::Namespace;
use sssd_tests::pam::{self, Caller};
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{CONF_PATH, Sssd, SssdConf};
use sssd_tests::stage;

fn section(title: &str) {
    println!("\n=== {title} ===");
}

fn show(ns: &Namespace, argv: &[&str]) -> Result<()> {
    println!("$ {}", argv.join(" "));
    let out = ns.run(argv).with_context(|| format!("running {argv:?}"))?;
    print!("{}", out.stdout);
    eprint!("{}", out.stderr);
    if !out.success() {
        println!("(exit status {})", out.code());
    }
    Ok(())
}

fn main() -> Result<()> {
    let mut bulk = 20u32;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bulk" => {
                bulk = args
                    .next()
                    .context("--bulk needs a number")?
                    .parse()
                    .context("--bulk needs a number")?;
            }
            "-h" | "--help" => {
                println!("usage: sssd-demo [--bulk N]   (N extra users user0001.., default 20)");
                return Ok(());
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    if unsafe_geteuid() != 0 {
        bail!("run as root: the demo uses a private mount namespace (unshare --mount)");
    }

    section("1. a private slapd on loopback");
    let dir = ldif::rfc2307_with_bulk(bulk);
    let slapd = Slapd::new(&dir).context("starting slapd")?;
    println!(
        "slapd pid {} at {} (base {}), {} users, {} groups",
        slapd.pid().unwrap_or(0),
        slapd.uri(),
        slapd.base(),
        dir.users.len(),
        dir.groups.len()
    );

    section("2. the product, staged with install.sh");
    let artifacts = stage::artifacts_dir();
    let missing = stage::missing_artifacts(&artifacts);
    if !missing.is_empty() {
        bail!(
            "missing {} in {}: run `cargo build --release --workspace`",
            missing.join(", "),
            artifacts.display()
        );
    }
    let root = tempfile::Builder::new()
        .prefix("sssd-demo-stage.")
        .tempdir()
        .context("creating the staging directory")?;
    stage::install(&artifacts, root.path()).context("install.sh")?;
    println!("installed into {}", root.path().display());

    section("3. sssd -i in a private mount namespace");
    let ns = Namespace::new(Some(root.path())).context("creating the mount namespace")?;
    let conf = SssdConf::ldap_pam(&slapd, Schema::Rfc2307).domain("cache_credentials", "true");
    println!("{CONF_PATH} (0600):\n{}", conf.render());
    let sssd = match Sssd::start(&ns, &conf) {
        Ok(s) => s,
        Err(e) => bail!("sssd did not start: {e}"),
    };
    println!("sssd running, pid {}", sssd.daemon.pid());
    show(
        &ns,
        &["grep", "-E", "^(passwd|group):", "/etc/nsswitch.conf"],
    )?;

    section("4. lookups through nsswitch.conf -> libnss_sss.so.2 -> sssd_nss -> sssd_be -> LDAP");
    show(&ns, &["getent", "passwd", "user1"])?;
    show(&ns, &["getent", "passwd", "1002"])?;
    show(&ns, &["id", "user1"])?;
    show(&ns, &["getent", "group", "two_user_group"])?;
    show(&ns, &["getent", "initgroups", "user1"])?;
    show(&ns, &["getent", "passwd", "zoe"])?;
    show(&ns, &["getent", "passwd", "nonexistent"])?;

    section("5. logins through libpam -> pam_sss.so -> sssd_pam -> sssd_be -> LDAP bind");
    pam::wait_for_socket(&ns).context("waiting for the PAM responder")?;
    pam::install_service(&ns, "demo-login", "")?;
    show(&ns, &["cat", "/etc/pam.d/demo-login"])?;
    login(&ns, "user1", "Password1001", "the right password")?;
    login(&ns, "user1", "wrong", "a wrong password")?;
    login(&ns, "nonexistent", "x", "an unknown user")?;
    login(&ns, "root", "x", "root (never handled by pam_sss)")?;

    section("6. the directory goes down: answers and logins come from the cache");
    let mut slapd = slapd;
    slapd.stop().context("stopping slapd")?;
    show(&ns, &["getent", "passwd", "user1"])?;
    login(&ns, "user1", "Password1001", "the cached password, offline")?;
    login(&ns, "user1", "wrong", "a wrong password, offline")?;

    section("7. the host is untouched");
    let host = std::fs::read_to_string("/etc/nsswitch.conf").unwrap_or_default();
    let host_passwd = host
        .lines()
        .find(|l| l.starts_with("passwd:"))
        .unwrap_or("(none)");
    println!("host /etc/nsswitch.conf: {host_passwd}");
    drop(sssd);
    std::thread::sleep(Duration::from_millis(100));
    println!("\ndemo finished; namespace, daemon and slapd are stopped");
    Ok(())
}

/// Runs `pamtester demo-login USER authenticate acct_mgmt open_session close_session` as
/// an ordinary uid (the public socket) with `password` and prints the result.
fn login(ns: &Namespace, user: &str, password: &str, what: &str) -> Result<()> {
    println!(
        "$ echo '***' | setpriv --reuid=65534 pamtester demo-login {user} authenticate acct_mgmt open_session close_session   # {what}"
    );
    let out = pam::pamtester(
        ns,
        Caller::User(65534, 65534),
        "demo-login",
        user,
        &["authenticate", "acct_mgmt", "open_session", "close_session"],
        &format!("{password}\n"),
    )?;
    let text = format!("{}{}", out.output.stdout, out.output.stderr);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        println!("{line}");
    }
    println!("(PAM status {})", out.code);
    Ok(())
}

fn unsafe_geteuid() -> u32 {
    // SAFETY: geteuid(2) cannot fail and has no preconditions.
    unsafe { libc::geteuid() }
}
