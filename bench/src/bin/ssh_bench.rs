//! ssh benchmark (issue 10): warm `sss_ssh_authorizedkeys alice` against our daemon and
//! Debian's sssd 2.8, one after the other in one run, on the same private slapd (alice
//! with two `sshPublicKey` values, tests/schema/openssh-lpk.schema), each daemon with its
//! own tool. Two figures per implementation:
//!
//! - `tool`: whole `sss_ssh_authorizedkeys alice` processes (exec, the request, the key
//!   lines), as sshd runs them for every key login: a shell inside the namespace runs
//!   `--calls` of them in a row per round; the figure is the median over `--rounds` of the
//!   mean time per call.
//! - `request`: the responder alone: one connection, GET_VERSION and GET_USER_PUBKEYS per
//!   call, as the tool sends them, from this process through the namespace's socket (the
//!   same client code for both daemons), with this thread and `sssd_ssh` pinned to one CPU
//!   (see README: placement); the figure is the median latency of `--requests` calls.
//!
//! Usage (root; release artifacts built; Debian's sssd unpacked by scripts/debian-sssd.sh):
//!   ssh_bench [--rounds N] [--calls N] [--requests N]

use anyhow::{Context, Result, bail};
use sssd::tools::ssh_authorizedkeys::fetch_user_keys;
use sssd_bench::{allowed_cpus, median, option_value, pin_processes, pin_self};
use sssd_tests::interop::debian_root;
use sssd_tests::ldif::{self, Schema, User};
use sssd_tests::namespace::Namespace;
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{Sssd, SssdConf};
use sssd_tests::stage;
use std::path::Path;
use std::time::{Duration, Instant};

const SSH_SOCKET: &str = "/var/lib/sss/pipes/ssh";
const KEYS: [&str; 2] = [
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGf8pQ0nAFJ6Ux9m3ljYIRuM3uGxXGqv2eA0mQ7kW7Lq alice@a",
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC7 alice@laptop",
];

/// The figures of one implementation.
struct Figures {
    /// Median over rounds of the mean µs per tool process.
    tool_us: f64,
    /// Median µs per request.
    request_us: f64,
}

fn add_alice(slapd: &Slapd) -> Result<()> {
    let tree = ldif::rfc2307_with_bulk(0);
    let mut s = ldif::user_ldif(&tree, &User::new("alice", 3001, 2001));
    s.pop();
    ldif::write_attr(&mut s, "objectClass", "ldapPublicKey");
    for k in KEYS {
        ldif::write_attr(&mut s, "sshPublicKey", k);
    }
    s.push('\n');
    slapd.add(&s)?;
    Ok(())
}

fn measure(
    root: &Path,
    slapd: &Slapd,
    rounds: usize,
    calls: usize,
    requests: usize,
) -> Result<Figures> {
    let ns = Namespace::new(Some(root))?;
    let conf = SssdConf::ldap(slapd, Schema::Rfc2307).set("sssd", "services", "nss, ssh");
    let sssd = Sssd::start(&ns, &conf)?;
    ns.wait_for_path(SSH_SOCKET, Duration::from_secs(20))?;
    let expected = format!("{}\n{}\n", KEYS[0], KEYS[1]);
    // Warm: the first call fetches alice into the cache.
    let out = ns.run(&["/usr/bin/sss_ssh_authorizedkeys", "alice"])?;
    if out.stdout != expected {
        bail!("sss_ssh_authorizedkeys alice: {out:?}\n{}", sssd.logs());
    }

    let script = format!(
        "i=0; while [ $i -lt {calls} ]; do \
         /usr/bin/sss_ssh_authorizedkeys alice > /dev/null || exit 1; i=$((i+1)); done"
    );
    let mut per_call = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        let out = ns.run(&["sh", "-c", &script])?;
        let spent = start.elapsed();
        if !out.success() {
            bail!("tool loop failed: {out:?}");
        }
        per_call.push(spent.as_secs_f64() * 1e6 / calls as f64);
    }

    let socket = ns.host_path(SSH_SOCKET);
    let cpus = allowed_cpus();
    let one = [cpus.first().copied().unwrap_or(0)];
    pin_processes(&ns, "sssd_ssh", &one)?;
    pin_self(&one)?;
    let mut lat = Vec::with_capacity(requests);
    let result = (|| -> Result<()> {
        for _ in 0..requests {
            let start = Instant::now();
            let reply = fetch_user_keys(&socket, "alice", None)
                .context("GET_USER_PUBKEYS")?
                .context("alice is not served")?;
            lat.push(start.elapsed().as_secs_f64() * 1e6);
            if reply.keys.len() != 2 {
                bail!("wrong reply: {reply:?}");
            }
        }
        Ok(())
    })();
    pin_self(&cpus)?;
    result?;
    Ok(Figures {
        tool_us: median(&per_call),
        request_us: median(&lat),
    })
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |name: &str, default: usize| -> Result<usize> {
        Ok(option_value(&args, name)
            .map(str::parse)
            .transpose()?
            .unwrap_or(default))
    };
    let rounds = num("--rounds", 5)?;
    let calls = num("--calls", 200)?;
    let requests = num("--requests", 5000)?;
    let ours = stage::shared_stage()?;
    let debian = debian_root()?;
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(0))?;
    add_alice(&slapd)?;
    let o = measure(ours, &slapd, rounds, calls, requests)?;
    let d = measure(&debian, &slapd, rounds, calls, requests)?;
    println!("figure                                   ours   sssd 2.8   ratio");
    println!(
        "sss_ssh_authorizedkeys process (µs)  {:>8.0}   {:>8.0}   {:>5.2}",
        o.tool_us,
        d.tool_us,
        d.tool_us / o.tool_us
    );
    println!(
        "  = calls/s                          {:>8.0}   {:>8.0}",
        1e6 / o.tool_us,
        1e6 / d.tool_us
    );
    println!(
        "GET_USER_PUBKEYS request (µs)        {:>8.1}   {:>8.1}   {:>5.2}",
        o.request_us,
        d.request_us,
        d.request_us / o.request_us
    );
    println!(
        "  = requests/s                       {:>8.0}   {:>8.0}",
        1e6 / o.request_us,
        1e6 / d.request_us
    );
    println!("(medians; ratio = sssd 2.8 time / ours, target >= 2)");
    Ok(())
}
