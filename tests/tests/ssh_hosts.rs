//! SSH host keys from LDAP through the real `ssh`: slapd holds `ipHost` entries (with the
//! test `fqdn` schema, tests/schema/host-fqdn.schema, and openssh-lpk's `sshPublicKey`)
//! for two names that `/etc/hosts` in the namespace maps to a loopback sshd:
//! `sshhost.rsssd.test` with the sshd's real host key and `wronghost.rsssd.test` with
//! another key. Our daemon runs with `services = nss, pam, ssh` and `hostid_provider`
//! following `id_provider = ldap`. The real `ssh` with
//! `ProxyCommand=sss_ssh_knownhostsproxy -p %p %h`,
//! `GlobalKnownHostsFile=/var/lib/sss/pubconf/known_hosts` and `StrictHostKeyChecking=yes`
//! logs in to the first name and refuses the second; the same holds after slapd stops and
//! the cached entries expired; `-k` prints the keys; garbage on 0xE2 leaves the responder
//! serving; and interop with Debian's sssd 2.8 (its `sss_ssh_knownhostsproxy -k` against
//! our `sssd_ssh`, ours against its `sssd_ssh`, and the known hosts files both write).
//!
//! They need the release artifacts (`cargo build --release --workspace`) and openssh
//! (scripts/deps.sh installs it).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use std::path::Path;
use std::time::Duration;

use sssd_tests::interop::{LIB_DIR, debian_root};
use sssd_tests::ldif::{self, Schema, User};
use sssd_tests::namespace::{Daemon, Namespace};
use sssd_tests::proc::{self, Output};
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{Sssd, SssdConf};
use sssd_tests::stage;

const SSH_SOCKET: &str = "/var/lib/sss/pipes/ssh";
const KEYS_TOOL: &str = "/usr/bin/sss_ssh_authorizedkeys";
const PROXY: &str = "/usr/bin/sss_ssh_knownhostsproxy";
const KNOWN_HOSTS: &str = "/var/lib/sss/pubconf/known_hosts";
const SSHD: &str = "/usr/sbin/sshd";
const GOOD: &str = "sshhost.rsssd.test";
const WRONG: &str = "wronghost.rsssd.test";
/// A valid ed25519 public key that is not the sshd's.
const WRONG_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGf8pQ0nAFJ6Ux9m3ljYIRuM3uGxXGqv2eA0mQ7kW7Lq wrong@test";

/// A fresh ed25519 key pair in `dir`: (private key path, public key line).
fn keypair(dir: &Path, name: &str) -> (String, String) {
    let path = dir.join(name);
    proc::run_ok(
        std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C"])
            .arg(format!("{name}@test"))
            .arg("-f")
            .arg(&path),
        None,
        Duration::from_secs(30),
    )
    .expect("ssh-keygen");
    let public = std::fs::read_to_string(path.with_extension("pub")).unwrap();
    (path.display().to_string(), public.trim().to_string())
}

/// slapd with alice (whose key logs in) in the small rfc2307 tree.
fn slapd(alice_key: &str) -> Slapd {
    let tree = ldif::rfc2307_with_bulk(0);
    let s = Slapd::new(&tree).expect("start slapd");
    let mut a = ldif::user_ldif(&tree, &User::new("alice", 3001, 2001));
    a.pop();
    ldif::write_attr(&mut a, "objectClass", "ldapPublicKey");
    ldif::write_attr(&mut a, "sshPublicKey", alice_key);
    a.push('\n');
    let out = s.add(&a).expect("add alice");
    assert!(out.success(), "{out:?}");
    s
}

/// The `ipHost` entry of `fqdn` (short name as a second cn) with `key`.
fn host_ldif(base: &str, fqdn: &str, key: &str) -> String {
    let short = fqdn.split('.').next().unwrap();
    format!(
        "dn: cn={fqdn},ou=Hosts,{base}\nobjectClass: device\nobjectClass: ipHost\n\
         objectClass: ldapPublicKey\nobjectClass: rsssdHostFqdn\ncn: {fqdn}\ncn: {short}\n\
         ipHostNumber: 127.0.0.1\nfqdn: {fqdn}\nsshPublicKey: {key}\n\n"
    )
}

/// sshd on 127.0.0.1:`port` inside `ns`, user keys from `sss_ssh_authorizedkeys`; its host
/// public key line.
fn sshd<'ns>(ns: &'ns Namespace, port: u16) -> (Daemon<'ns>, String) {
    let dir = "/etc/ssh-sssd-hosts-test";
    ns.run_ok(&["mkdir", "-p", "-m", "0755", "/run/sshd"])
        .unwrap();
    ns.run_ok(&["mkdir", "-p", "-m", "0700", dir]).unwrap();
    let host_key = format!("{dir}/ssh_host_ed25519_key");
    ns.run_ok(&[
        "ssh-keygen",
        "-q",
        "-t",
        "ed25519",
        "-N",
        "",
        "-C",
        "root@sshhost",
        "-f",
        &host_key,
    ])
    .unwrap();
    let public = String::from_utf8(ns.read_file(&format!("{host_key}.pub")).unwrap()).unwrap();
    let config = format!(
        "ListenAddress 127.0.0.1\nPort {port}\nHostKey {host_key}\nPidFile none\nUsePAM no\n\
         StrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
         PubkeyAuthentication yes\nAuthenticationMethods publickey\nAuthorizedKeysFile none\n\
         AuthorizedKeysCommand {KEYS_TOOL} %u\nAuthorizedKeysCommandUser nobody\n\
         LogLevel VERBOSE\n"
    );
    let config_path = format!("{dir}/sshd_config");
    ns.write_file(&config_path, config.as_bytes(), 0o600)
        .unwrap();
    let mut d = ns
        .spawn(&[SSHD, "-D", "-e", "-f", &config_path])
        .expect("start sshd");
    let ready = proc::wait_until("sshd to listen", Duration::from_secs(20), || {
        !d.is_running() || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(
        ready.is_ok() && d.is_running(),
        "sshd did not start: {}",
        d.stderr()
    );
    (d, public.trim().to_string())
}

/// `ssh alice@host true` through the proxy, trusting only SSSD's known hosts file.
fn ssh_via_proxy(ns: &Namespace, port: u16, host: &str) -> Output {
    let port = port.to_string();
    ns.run(&[
        "ssh",
        "-F",
        "/dev/null",
        "-i",
        "/root/alice",
        "-p",
        &port,
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "IdentityAgent=none",
        "-o",
        "BatchMode=yes",
        "-o",
        &format!("ProxyCommand={PROXY} -p %p %h"),
        "-o",
        &format!("GlobalKnownHostsFile={KNOWN_HOSTS}"),
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "ConnectTimeout=20",
        &format!("alice@{host}"),
        "echo",
        "logged-in",
    ])
    .unwrap()
}

fn known_hosts(ns: &Namespace) -> String {
    String::from_utf8(ns.read_file(KNOWN_HOSTS).unwrap_or_default()).unwrap()
}

#[test]
fn host_keys_from_ldap_verify_the_server_online_and_offline() {
    assert!(
        Path::new(SSHD).exists(),
        "{SSHD} missing: install openssh-server (scripts/deps.sh)"
    );
    let root = stage::shared_stage().expect("stage the product with install.sh");
    let keydir = tempfile::tempdir().unwrap();
    let (alice_id, alice_pub) = keypair(keydir.path(), "alice");
    let mut slapd = slapd(&alice_pub);
    let ns = Namespace::new(Some(root)).expect("create the mount namespace");
    ns.write_file(
        "/etc/hosts",
        format!("127.0.0.1 {GOOD} sshhost\n127.0.0.1 {WRONG} wronghost\n127.0.0.1 localhost\n")
            .as_bytes(),
        0o644,
    )
    .unwrap();
    ns.write_file("/root/alice", &std::fs::read(&alice_id).unwrap(), 0o600)
        .unwrap();
    let conf = SssdConf::ldap_pam(&slapd, Schema::Rfc2307)
        .set("sssd", "services", "nss, pam, ssh")
        .set("ssh", "debug_level", "0x0070")
        .domain(
            "ldap_host_search_base",
            &format!("ou=Hosts,{}", slapd.base()),
        )
        // Entries expire at once: the offline part reads expired entries.
        .domain("entry_cache_timeout", "1");
    let sssd = Sssd::start(&ns, &conf).unwrap_or_else(|e| panic!("sssd did not start: {e}"));
    if let Err(e) = ns.wait_for_path(SSH_SOCKET, Duration::from_secs(20)) {
        panic!("{e}\n{}", sssd.logs());
    }
    let port = proc::free_port().unwrap();
    let (mut sshd, host_pub) = sshd(&ns, port);
    let out = slapd
        .add(&format!(
            "dn: ou=Hosts,{b}\nobjectClass: organizationalUnit\nou: Hosts\n\n{}{}",
            host_ldif(slapd.base(), GOOD, &host_pub),
            host_ldif(slapd.base(), WRONG, WRONG_KEY),
            b = slapd.base()
        ))
        .unwrap();
    assert!(out.success(), "{out:?}");

    // -k prints the keys of the canonical name (the short name resolves to it).
    let k = ns.run(&[PROXY, "-k", "sshhost"]).unwrap();
    assert_eq!(
        (k.code(), k.stdout.as_str()),
        (0, format!("{host_pub}\n").as_str()),
        "{k:?}\n{}",
        sssd.logs()
    );
    assert!(
        known_hosts(&ns).contains(&format!("{GOOD},sshhost {host_pub}\n")),
        "{}",
        known_hosts(&ns)
    );
    // An unknown host: nothing printed, exit 0, as SSSD's tool.
    let none = ns.run(&[PROXY, "-k", "localhost"]).unwrap();
    assert_eq!((none.code(), none.stdout.as_str()), (0, ""), "{none:?}");

    // The real ssh: the server's key from LDAP is trusted, a wrong one is refused.
    let ok = ssh_via_proxy(&ns, port, GOOD);
    assert!(
        ok.success() && ok.stdout.contains("logged-in"),
        "ssh through the proxy: {ok:?}\n--- sshd ---\n{}\n--- known_hosts ---\n{}\n{}",
        sshd.stderr(),
        known_hosts(&ns),
        sssd.logs()
    );
    let short = ssh_via_proxy(&ns, port, "sshhost");
    assert!(short.success(), "by the short name: {short:?}");
    let wrong = ssh_via_proxy(&ns, port, WRONG);
    assert_eq!(
        wrong.code(),
        255,
        "a wrong LDAP key must be refused: {wrong:?}"
    );
    assert!(
        wrong.stderr.contains("Host key verification failed")
            || wrong.stderr.contains("HOST IDENTIFICATION HAS CHANGED"),
        "{wrong:?}"
    );
    assert!(known_hosts(&ns).contains(&format!("{WRONG},{WRONG} {WRONG_KEY}\n")));

    // Garbage on GET_HOST_PUBKEYS: the responder keeps serving.
    let script = r#"
import socket, struct
def send(body):
    s = socket.socket(socket.AF_UNIX); s.settimeout(5)
    s.connect('/var/lib/sss/pipes/ssh')
    s.sendall(struct.pack('=IIIII', 20, 1, 0, 0, 0)); s.recv(4096)
    s.sendall(struct.pack('=IIII', 16 + len(body), 0xE2, 0, 0) + body)
    try:
        s.recv(4096)
    except Exception:
        pass
    s.close()
for b in [b'', b'\1\0\0\0', struct.pack('=II', 1, 5) + b'host\0', struct.pack('=II', 0, 9) + b'a\0',
          struct.pack('=II', 3, 2) + b'a\0' + struct.pack('=I', 77), struct.pack('=II', 0, 3) + b'\xff\xfe\0',
          struct.pack('=II', 2, 2) + b'a\0' + struct.pack('=I', 0xffffffff), b'x' * 70000]:
    send(b)
print('done')
"#;
    let g = ns.run(&["python3", "-c", script]).unwrap();
    assert!(g.stdout.contains("done"), "{g:?}");

    // Offline: slapd is gone and the cached hosts expired; the cache still vouches.
    slapd.stop().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let offline = ssh_via_proxy(&ns, port, GOOD);
    assert!(
        offline.success(),
        "offline ssh: {offline:?}\n--- known_hosts ---\n{}\n{}",
        known_hosts(&ns),
        sssd.logs()
    );
    let wrong = ssh_via_proxy(&ns, port, WRONG);
    assert_eq!(wrong.code(), 255, "offline, a wrong key: {wrong:?}");
    let k = ns.run(&[PROXY, "-k", GOOD]).unwrap();
    assert_eq!(k.stdout, format!("{host_pub}\n"), "{k:?}");
    sshd.stop();
    drop(sssd);
}

/// The tool's own errors: usage, a relative proxy command, a name that does not resolve, a
/// refused connection (SSSD's messages and exit codes).
#[test]
fn knownhostsproxy_errors_match_sssd() {
    let root = stage::shared_stage().expect("stage the product with install.sh");
    let ns = Namespace::new(Some(root)).expect("create the mount namespace");
    let code = |args: &[&str]| {
        let mut argv = vec![PROXY];
        argv.extend_from_slice(args);
        ns.run(&argv).unwrap()
    };
    let none = code(&[]);
    assert_eq!(none.code(), 1);
    assert!(none.stderr.contains("Host not specified"), "{none:?}");
    let port = code(&["-p", "70000", "h"]);
    assert!(port.stderr.contains("Invalid port"), "{port:?}");
    let rel = code(&["h", "nc"]);
    assert!(rel.stderr.contains("must be absolute"), "{rel:?}");
    let unres = code(&["no-such-host.invalid"]);
    assert_eq!(unres.code(), 1);
    assert!(
        unres
            .stderr
            .contains("Could not resolve hostname no-such-host.invalid"),
        "{unres:?}"
    );
    let closed = proc::free_port().unwrap().to_string();
    let refused = code(&["-p", &closed, "127.0.0.1"]);
    assert_eq!(refused.code(), 1);
    assert!(
        refused.stderr.contains(&format!(
            "connect to host 127.0.0.1 port {closed}: Connection refused"
        )),
        "{refused:?}"
    );
    // A proxy command replaces the tool (its output and exit code are the command's).
    let cmd = code(&[
        "127.0.0.1",
        "--",
        "/bin/sh",
        "-c",
        "echo via-command; exit 3",
    ]);
    assert_eq!(
        (cmd.code(), cmd.stdout.as_str()),
        (3, "via-command\n"),
        "{cmd:?}"
    );
}

const HOSTS_FILE: &str = "127.0.0.1 sshhost.rsssd.test sshhost\n127.0.0.1 wronghost.rsssd.test wronghost\n127.0.0.1 localhost\n";
const HOST_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA host@test";

/// Runs `tool -k` (a host path; Debian's needs its libraries) for each query: "code stdout".
fn proxy_answers(ns: &Namespace, tool: &Path, lib_path: &str) -> Vec<String> {
    let tool = tool.to_string_lossy();
    [
        &["-k", "sshhost"][..],
        &["-k", GOOD],
        &["-k", WRONG],
        &["-k", "localhost"],
        &["-k", "-d", "LDAP", "sshhost"],
        &["-k", "-d", "NOSUCH", "sshhost"],
        &["-k", "-p", "2222", "sshhost"],
    ]
    .iter()
    .map(|args| {
        let mut argv = vec![tool.as_ref()];
        argv.extend_from_slice(args);
        let out = ns.run_env(&[("LD_LIBRARY_PATH", lib_path)], &argv).unwrap();
        format!("{args:?}: {} {:?}", out.code(), out.stdout)
    })
    .collect()
}

/// The known hosts file's lines, sorted.
fn known_lines(ns: &Namespace) -> Vec<String> {
    let mut v: Vec<String> = known_hosts(ns).lines().map(str::to_string).collect();
    v.sort();
    v
}

#[test]
fn sss_ssh_knownhostsproxy_and_sssd_ssh_interoperate_with_debian_sssd() {
    let ours = stage::shared_stage().expect("stage our build");
    let debian = debian_root().expect("unpack Debian's sssd 2.8");
    let our_tool = ours.join("usr/bin/sss_ssh_knownhostsproxy");
    let debian_tool = debian.join("usr/bin/sss_ssh_knownhostsproxy");
    assert!(debian_tool.is_file(), "{} missing", debian_tool.display());
    let debian_libs = format!(
        "{}:{}",
        debian.join(LIB_DIR).join("sssd").display(),
        debian.join(LIB_DIR).display()
    );
    let slapd = slapd("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA alice@test");
    let out = slapd
        .add(&format!(
            "dn: ou=Hosts,{b}\nobjectClass: organizationalUnit\nou: Hosts\n\n{}{}",
            host_ldif(slapd.base(), GOOD, HOST_KEY),
            host_ldif(slapd.base(), WRONG, WRONG_KEY),
            b = slapd.base()
        ))
        .unwrap();
    assert!(out.success(), "{out:?}");
    let conf = SssdConf::ldap_pam(&slapd, Schema::Rfc2307)
        .set("sssd", "services", "nss, pam, ssh")
        .domain(
            "ldap_host_search_base",
            &format!("ou=Hosts,{}", slapd.base()),
        )
        .domain("entry_cache_timeout", "600");
    let run = |root: &Path| {
        let ns = Namespace::new(Some(root)).expect("namespace");
        ns.write_file("/etc/hosts", HOSTS_FILE.as_bytes(), 0o644)
            .unwrap();
        let sssd = Sssd::start(&ns, &conf).unwrap_or_else(|e| panic!("sssd: {e}"));
        if let Err(e) = ns.wait_for_path(SSH_SOCKET, Duration::from_secs(20)) {
            panic!("{e}\n{}", sssd.logs());
        }
        let with_ours = proxy_answers(&ns, &our_tool, "");
        let file_ours = known_lines(&ns);
        let with_debian = proxy_answers(&ns, &debian_tool, &debian_libs);
        let file_debian = known_lines(&ns);
        (with_ours, file_ours, with_debian, file_debian)
    };
    let (ours_ours, file_oo, debian_ours, file_do) = run(ours);
    let (ours_debian, file_od, debian_debian, file_dd) = run(&debian);
    assert!(
        debian_debian[0].contains(&format!("0 \"{HOST_KEY}\\n\"")),
        "reference: {debian_debian:#?}\n{file_dd:#?}"
    );
    assert_eq!(
        debian_ours, ours_ours,
        "Debian's tool vs ours on our sssd_ssh"
    );
    assert_eq!(
        ours_debian, debian_debian,
        "our tool vs Debian's on its sssd_ssh"
    );
    assert_eq!(ours_ours, debian_debian, "our pair vs Debian's pair");
    assert_eq!(
        file_oo, file_od,
        "known_hosts: our sssd_ssh vs Debian's (our tool)"
    );
    assert_eq!(
        file_do, file_dd,
        "known_hosts: our sssd_ssh vs Debian's (its tool)"
    );
}
