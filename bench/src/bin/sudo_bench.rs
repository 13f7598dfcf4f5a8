//! sudo benchmark (issue 10): our daemon and Debian's sssd 2.8, one after the other in one
//! run, on the same private slapd with the same sudo rules (tests/schema/sudo.schema).
//! Three figures per implementation:
//!
//! - `sudo -l`: warm `sudo -n -l -U user1` processes (`sudoers: files sss`) per second:
//!   exec, sudo's own sudoers parsing, two requests on the sudo socket and the listing;
//!   what an administrator waits for, mostly sudo itself.
//! - `request`: the responder alone: SUDO_GET_SUDORULES then SUDO_GET_DEFAULTS for user1,
//!   as `libsss_sudo` sends them for one `sudo` run, from this process on one kept
//!   connection (the same client code for both daemons), with this thread and
//!   `sssd_sudo` pinned to one CPU; the figure is the median latency of `--requests` pairs.
//! - `searches per smart refresh`: with `ldap_sudo_smart_refresh_interval = 1` and
//!   nothing changing in the directory, the searches slapd logs (`-d stats`) over
//!   `--window` seconds divided by the smart-refresh searches among them.
//!
//! Usage (root; release artifacts built; Debian's sssd unpacked by scripts/debian-sssd.sh):
//!   sudo_bench [--seconds N] [--requests N] [--window N]

use anyhow::{Context, Result, bail};
use sss_proto::sudo::{SUDO_GET_DEFAULTS, SUDO_GET_SUDORULES, SudoReply};
use sss_sudo::client::request;
use sssd_bench::{allowed_cpus, median, option_value, pin_processes, pin_self};
use sssd_tests::interop::debian_root;
use sssd_tests::ldif::{self, Schema};
use sssd_tests::namespace::{NSSWITCH_CONF, Namespace};
use sssd_tests::slapd::{Slapd, SlapdConfig, SlapdOptions};
use sssd_tests::sssd::{Sssd, SssdConf};
use sssd_tests::stage;
use std::path::Path;
use std::time::{Duration, Instant};

const SUDO_SOCKET: &str = "/var/lib/sss/pipes/sudo";

fn rules(base: &str) -> String {
    let mut s = format!("dn: ou=SUDOers,{base}\nobjectClass: organizationalUnit\nou: SUDOers\n\n");
    for (cn, user, cmd) in [
        ("r_user", "user1", "/usr/bin/true"),
        ("r_group", "%one_user_group1", "/usr/bin/id"),
        ("r_nested", "%group_one_user_group", "/usr/bin/whoami"),
        ("r_all", "ALL", "/usr/bin/env"),
    ] {
        s += &format!(
            "dn: cn={cn},ou=SUDOers,{base}\nobjectClass: sudoRole\ncn: {cn}\nsudoUser: {user}\n\
             sudoHost: ALL\nsudoCommand: {cmd}\nsudoOption: !authenticate\n\n"
        );
    }
    s
}

/// The figures of one implementation.
struct Figures {
    /// Warm `sudo -l` processes per second.
    sudo_rate: f64,
    /// Median µs per GET_SUDORULES + GET_DEFAULTS pair.
    request_us: f64,
    /// Searches slapd saw per smart refresh, and the smart refreshes counted.
    per_refresh: (f64, usize),
}

/// The SRCH lines slapd has logged so far.
fn searches(slapd: &Slapd) -> Vec<String> {
    std::fs::read_to_string(slapd.log_path())
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(" SRCH base="))
        .map(str::to_string)
        .collect()
}

fn measure(
    root: &Path,
    slapd: &Slapd,
    seconds: u64,
    requests: usize,
    window: u64,
) -> Result<Figures> {
    let nss = format!("{NSSWITCH_CONF}sudoers: files sss\n");
    let ns = Namespace::with_nsswitch(Some(root), &nss)?;
    let conf = SssdConf::ldap(slapd, Schema::Rfc2307bis)
        .set("sssd", "services", "nss, sudo")
        .domain(
            "ldap_sudo_search_base",
            &format!("ou=SUDOers,{}", slapd.base()),
        )
        .domain("ldap_sudo_smart_refresh_interval", "1")
        .domain("ldap_sudo_full_refresh_interval", "86400");
    let sssd = Sssd::start(&ns, &conf)?;
    let argv = ["sudo", "-n", "-l", "-U", "user1"];
    let warm = Instant::now() + Duration::from_secs(30);
    loop {
        let out = ns.run(&argv)?;
        if out.stdout.contains("/usr/bin/whoami") {
            break;
        }
        if Instant::now() > warm {
            bail!("the rules never showed up: {out:?}\n{}", sssd.logs());
        }
        std::thread::sleep(Duration::from_millis(200));
    }

    // Smart refreshes with nothing changed: every search slapd logs in the window.
    let before = searches(slapd).len();
    std::thread::sleep(Duration::from_secs(window));
    let seen: Vec<String> = searches(slapd).into_iter().skip(before).collect();
    let smart = seen
        .iter()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("sudorole") && (l.contains("modifytimestamp") || l.contains("entryusn"))
        })
        .count();
    let per_refresh = if smart == 0 {
        (f64::NAN, 0)
    } else {
        (seen.len() as f64 / smart as f64, smart)
    };

    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(seconds) {
        let out = ns.run(&argv)?;
        if !out.stdout.contains("/usr/bin/whoami") {
            bail!("sudo -l lost the rules: {out:?}");
        }
        n += 1;
    }
    let sudo_rate = n as f64 / start.elapsed().as_secs_f64();

    let socket = ns.host_path(SUDO_SOCKET);
    let cpus = allowed_cpus();
    let one = [cpus.first().copied().unwrap_or(0)];
    pin_processes(&ns, "sssd_sudo", &one)?;
    pin_self(&one)?;
    let mut lat = Vec::with_capacity(requests);
    let result = (|| -> Result<()> {
        for _ in 0..requests {
            let t = Instant::now();
            let deadline = t + Duration::from_secs(5);
            let r = request(&socket, SUDO_GET_SUDORULES, 1001, b"user1", deadline)
                .map_err(|e| anyhow::anyhow!("GET_SUDORULES: {e:?}"))?;
            let d = request(&socket, SUDO_GET_DEFAULTS, 1001, b"user1", deadline)
                .map_err(|e| anyhow::anyhow!("GET_DEFAULTS: {e:?}"))?;
            lat.push(t.elapsed().as_secs_f64() * 1e6);
            match (&r, &d) {
                (SudoReply::Rules(rules), SudoReply::Rules(_)) if rules.len() >= 4 => {}
                _ => bail!("user1 should have 4 rules: {r:?} {d:?}"),
            }
        }
        Ok(())
    })();
    pin_self(&cpus)?;
    result?;
    Ok(Figures {
        sudo_rate,
        request_us: median(&lat),
        per_refresh,
    })
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |name: &str, default: u64| -> Result<u64> {
        Ok(option_value(&args, name)
            .map(str::parse)
            .transpose()
            .with_context(|| format!("{name} takes a number"))?
            .unwrap_or(default))
    };
    let seconds = num("--seconds", 5)?;
    let requests = usize::try_from(num("--requests", 5000)?)?;
    let window = num("--window", 10)?;
    let ours = stage::shared_stage()?;
    let debian = debian_root()?;
    let tree = ldif::rfc2307bis();
    let slapd = Slapd::with_config(&tree, SlapdOptions::default(), |_| {
        Ok(SlapdConfig {
            debug: Some("stats".into()),
            ..SlapdConfig::default()
        })
    })?;
    slapd.add(&rules(slapd.base()))?;
    let o = measure(ours, &slapd, seconds, requests, window)?;
    let d = measure(&debian, &slapd, seconds, requests, window)?;
    println!("figure                                   ours   sssd 2.8   ratio");
    println!(
        "warm sudo -l -U user1 (calls/s)      {:>8.1}   {:>8.1}   {:>5.2}",
        o.sudo_rate,
        d.sudo_rate,
        o.sudo_rate / d.sudo_rate
    );
    println!(
        "GET_SUDORULES+GET_DEFAULTS (µs)      {:>8.1}   {:>8.1}   {:>5.2}",
        o.request_us,
        d.request_us,
        d.request_us / o.request_us
    );
    println!(
        "  = pairs/s                          {:>8.0}   {:>8.0}",
        1e6 / o.request_us,
        1e6 / d.request_us
    );
    println!(
        "LDAP searches per smart refresh      {:>8.2}   {:>8.2}   ({} and {} refreshes seen)",
        o.per_refresh.0, d.per_refresh.0, o.per_refresh.1, d.per_refresh.1
    );
    println!("(medians; ratios: ours faster when > 1, target >= 2)");
    Ok(())
}
