//! SSH public keys from LDAP through the real `sshd`: a private slapd with the openssh-lpk
//! schema (tests/schema/openssh-lpk.schema) and users holding `sshPublicKey` values; our
//! daemon with `services = nss, pam, ssh`; `sss_ssh_authorizedkeys USER` for a user with
//! keys, one without, root, a local user and an unknown user; the real `sshd` on a
//! loopback port with `AuthorizedKeysCommand /usr/bin/sss_ssh_authorizedkeys` accepting the
//! key from LDAP and refusing another; the same after slapd stops (from the cache);
//! garbage on the ssh socket; and interop with Debian's sssd 2.8 (its
//! `sss_ssh_authorizedkeys` against our `sssd_ssh`, ours against its `sssd_ssh`).
//!
//! They need the release artifacts (`cargo build --release --workspace`) and openssh-server
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
const TOOL: &str = "/usr/bin/sss_ssh_authorizedkeys";
const SSHD: &str = "/usr/sbin/sshd";

/// A second text key alice holds (never used to log in: it is only listed).
const ALICE_SECOND_KEY: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC7 alice@laptop";

/// A fresh ed25519 key pair in `dir`: (private key path, public key line).
fn keypair(dir: &Path, name: &str) -> (String, String) {
    let path = dir.join(name);
    let out = proc::run_ok(
        std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C"])
            .arg(format!("{name}@test"))
            .arg("-f")
            .arg(&path),
        None,
        Duration::from_secs(30),
    );
    out.expect("ssh-keygen");
    let public = std::fs::read_to_string(path.with_extension("pub")).unwrap();
    (path.display().to_string(), public.trim().to_string())
}

/// The LDIF of a user entry with `keys` (the ldapPublicKey class only when there are keys).
fn user_with_keys(tree: &ldif::Directory, user: &User, keys: &[&str]) -> String {
    let mut s = ldif::user_ldif(tree, user);
    // user_ldif ends the record with a blank line: insert before it.
    s.pop();
    if !keys.is_empty() {
        ldif::write_attr(&mut s, "objectClass", "ldapPublicKey");
        for k in keys {
            ldif::write_attr(&mut s, "sshPublicKey", k);
        }
    }
    s.push('\n');
    s
}

/// A fixed ed25519 public key blob, base64 (for carol where no login is attempted).
const CAROL_FIXED_BLOB: &str =
    "AAAAC3NzaC1lZDI1NTE5AAAAIGf8pQ0nAFJ6Ux9m3ljYIRuM3uGxXGqv2eA0mQ7kW7Lq";

/// slapd with the small rfc2307 tree plus alice (two text keys, the first `alice_key`), bob
/// (no keys) and carol, whose one key is stored as a binary blob (the RFC 4253 encoding,
/// `carol_blob` in base64, as `sshPublicKey::` in LDIF).
fn slapd(alice_key: &str, carol_blob: &str) -> Slapd {
    let tree = ldif::rfc2307_with_bulk(0);
    let s = Slapd::new(&tree).expect("start slapd");
    let alice = User::new("alice", 3001, 2001);
    let bob = User::new("bob", 3002, 2001);
    let carol = User::new("carol", 3003, 2001);
    let mut add = user_with_keys(&tree, &alice, &[alice_key, ALICE_SECOND_KEY]);
    add += &user_with_keys(&tree, &bob, &[]);
    let mut c = user_with_keys(&tree, &carol, &[]);
    c.pop();
    c += &format!("objectClass: ldapPublicKey\nsshPublicKey:: {carol_blob}\n\n");
    add += &c;
    s.add(&add).expect("add the users with keys");
    s
}

fn conf(slapd: &Slapd) -> SssdConf {
    SssdConf::ldap_pam(slapd, Schema::Rfc2307)
        .set("sssd", "services", "nss, pam, ssh")
        .set("ssh", "debug_level", "0x0070")
        // Entries expire at once: every lookup after the first goes to the backend, so the
        // offline part reads the cache through an offline backend, as after an outage.
        .domain("entry_cache_timeout", "1")
}

fn namespace(root: &Path) -> Namespace {
    Namespace::new(Some(root)).expect("create the mount namespace")
}

fn start<'ns>(ns: &'ns Namespace, conf: &SssdConf) -> Sssd<'ns> {
    let sssd = Sssd::start(ns, conf).unwrap_or_else(|e| panic!("sssd did not start: {e}"));
    if let Err(e) = ns.wait_for_path(SSH_SOCKET, Duration::from_secs(20)) {
        panic!("{e}\n{}", sssd.logs());
    }
    sssd
}

fn keys(ns: &Namespace, user: &str) -> Output {
    ns.run(&[TOOL, user]).unwrap()
}

/// sshd on 127.0.0.1:`port` inside `ns` with keys only from `sss_ssh_authorizedkeys`.
fn sshd<'ns>(ns: &'ns Namespace, port: u16) -> Daemon<'ns> {
    let dir = "/etc/ssh-sssd-test";
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
        "-f",
        &host_key,
    ])
    .unwrap();
    let config = format!(
        "ListenAddress 127.0.0.1\n\
         Port {port}\n\
         HostKey {host_key}\n\
         PidFile none\n\
         UsePAM no\n\
         StrictModes no\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         PubkeyAuthentication yes\n\
         AuthenticationMethods publickey\n\
         AuthorizedKeysFile none\n\
         AuthorizedKeysCommand {TOOL} %u\n\
         AuthorizedKeysCommandUser nobody\n\
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
    d
}

/// `ssh -i identity -p port user@127.0.0.1 true` inside `ns` (no agent, no host config).
fn ssh_login(ns: &Namespace, port: u16, identity: &str, user: &str) -> Output {
    let port = port.to_string();
    ns.run(&[
        "ssh",
        "-F",
        "/dev/null",
        "-i",
        identity,
        "-p",
        &port,
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "IdentityAgent=none",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "ConnectTimeout=20",
        &format!("{user}@127.0.0.1"),
        "true",
    ])
    .unwrap()
}

#[track_caller]
fn assert_alice_keys(out: &Output, alice_key: &str, logs: &str) {
    assert_eq!(out.code(), 0, "{out:?}\n{logs}");
    assert_eq!(
        out.lines(),
        vec![alice_key, ALICE_SECOND_KEY],
        "{out:?}\n{logs}"
    );
}

#[test]
fn keys_from_ldap_log_in_through_sshd_online_and_offline() {
    assert!(
        Path::new(SSHD).exists(),
        "{SSHD} missing: install openssh-server (scripts/deps.sh)"
    );
    let root = stage::shared_stage().expect("stage the product with install.sh");
    let keydir = tempfile::tempdir().unwrap();
    let (alice_id, alice_pub) = keypair(keydir.path(), "alice");
    let (other_id, _) = keypair(keydir.path(), "other");
    let (carol_id, carol_pub) = keypair(keydir.path(), "carol");
    // The blob of carol's key is the base64 field of its public key line.
    let carol_blob = carol_pub.split(' ').nth(1).unwrap();
    let mut slapd = slapd(&alice_pub, carol_blob);
    let ns = namespace(root);
    let sssd = start(&ns, &conf(&slapd));

    // The tool: alice's keys in directory order, none for bob.
    assert_alice_keys(&keys(&ns, "alice"), &alice_pub, &sssd.logs());
    let bob = keys(&ns, "bob");
    assert_eq!((bob.code(), bob.stdout.as_str()), (0, ""), "{bob:?}");
    // A binary key is printed as its type and the blob in base64.
    let carol = keys(&ns, "carol");
    assert_eq!(
        (carol.code(), carol.stdout.as_str()),
        (0, format!("ssh-ed25519 {carol_blob}\n").as_str()),
        "{carol:?}\n{}",
        sssd.logs()
    );
    // A fully qualified name and -d DOMAIN name the same user.
    assert_alice_keys(&keys(&ns, "alice@LDAP"), &alice_pub, &sssd.logs());
    let by_domain = ns.run(&[TOOL, "-d", "LDAP", "alice"]).unwrap();
    assert_alice_keys(&by_domain, &alice_pub, &sssd.logs());
    // Users SSSD does not serve (root, a local user): nothing, exit 0, as SSSD's tool.
    for local in ["root", "nobody"] {
        let out = keys(&ns, local);
        assert_eq!(
            (out.code(), out.stdout.as_str()),
            (0, ""),
            "{local}: {out:?}"
        );
    }
    // An unknown user: SSSD's tool prints "Error looking up public keys" and exits 1.
    let unknown = keys(&ns, "nosuchuser");
    assert_eq!(unknown.code(), 1, "{unknown:?}");
    assert!(unknown.stdout.is_empty(), "{unknown:?}");
    assert!(
        unknown.stderr.contains("Error looking up public keys"),
        "{unknown:?}"
    );
    let unknown_domain = ns.run(&[TOOL, "-d", "NOSUCH", "alice"]).unwrap();
    assert_eq!(unknown_domain.code(), 1, "{unknown_domain:?}");

    // The real sshd: alice's LDAP key logs in, another key does not, bob has no key.
    let port = proc::free_port().unwrap();
    let mut sshd = sshd(&ns, port);
    for id in [&alice_id, &other_id, &carol_id] {
        ns.write_file(
            &format!(
                "/root/{}",
                Path::new(id).file_name().unwrap().to_string_lossy()
            ),
            &std::fs::read(id).unwrap(),
            0o600,
        )
        .unwrap();
    }
    let ok = ssh_login(&ns, port, "/root/alice", "alice");
    assert!(
        ok.success(),
        "ssh alice with the LDAP key: {ok:?}\n--- sshd ---\n{}\n{}",
        sshd.stderr(),
        sssd.logs()
    );
    // sshd took the key from the command (no authorized_keys file is configured).
    assert!(
        sshd.stderr().contains("Accepted publickey for alice"),
        "{}",
        sshd.stderr()
    );
    let wrong = ssh_login(&ns, port, "/root/other", "alice");
    assert_eq!(wrong.code(), 255, "another key must be refused: {wrong:?}");
    assert!(wrong.stderr.contains("Permission denied"), "{wrong:?}");
    let bob = ssh_login(&ns, port, "/root/alice", "bob");
    assert_eq!(bob.code(), 255, "bob has no key: {bob:?}");
    let carol = ssh_login(&ns, port, "/root/carol", "carol");
    assert!(carol.success(), "ssh carol with the binary key: {carol:?}");

    // Offline: slapd is gone and the entries have expired; the cache still answers.
    slapd.stop().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert_alice_keys(&keys(&ns, "alice"), &alice_pub, &sssd.logs());
    let offline = ssh_login(&ns, port, "/root/alice", "alice");
    assert!(
        offline.success(),
        "offline ssh alice: {offline:?}\n--- sshd ---\n{}\n{}",
        sshd.stderr(),
        sssd.logs()
    );
    let wrong = ssh_login(&ns, port, "/root/other", "alice");
    assert_eq!(wrong.code(), 255, "offline, another key: {wrong:?}");
    sshd.stop();
    drop(sssd);
}

/// Garbage on the ssh socket never takes the responder down.
#[test]
fn malformed_ssh_requests_do_not_hurt_the_responder() {
    let root = stage::shared_stage().expect("stage the product with install.sh");
    let slapd = slapd(
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA alice@test",
        CAROL_FIXED_BLOB,
    );
    let ns = namespace(root);
    let sssd = start(&ns, &conf(&slapd));
    let script = r#"
import socket, struct
def send(body, cmd=0xE1, version=0):
    s = socket.socket(socket.AF_UNIX); s.settimeout(5)
    s.connect('/var/lib/sss/pipes/ssh')
    s.sendall(struct.pack('=IIII', 20, 1, 0, 0) + struct.pack('=I', version))
    s.recv(4096)
    s.sendall(struct.pack('=IIII', 16 + len(body), cmd, 0, 0) + body)
    try:
        s.recv(4096)
    except Exception:
        pass
    s.close()
bodies = [b'', b'\0', b'\2\0\0\0', struct.pack('=II', 2, 0), struct.pack('=II', 2, 1000) + b'a\0',
          struct.pack('=II', 0, 6) + b'alice', struct.pack('=II', 0, 3) + b'\xff\xfe\0',
          struct.pack('=II', 0xff, 6) + b'alice\0', struct.pack('=II', 3, 6) + b'alice\0',
          struct.pack('=II', 2, 6) + b'alice\0' + struct.pack('=I', 0xffffffff),
          struct.pack('=II', 0, 0xffffffff) + b'x' * 100, b'x' * 70000]
for b in bodies:
    send(b)
    send(b, 0xE2)
send(b'', 0x11)
send(struct.pack('=II', 2, 6) + b'alice\0' + struct.pack('=I', 0), 0xE1, 7)
print('done')
"#;
    let out = ns.run(&["python3", "-c", script]).unwrap();
    assert!(out.stdout.contains("done"), "{out:?}");
    let after = keys(&ns, "alice");
    assert_eq!(after.code(), 0, "{after:?}\n{}", sssd.logs());
    assert_eq!(
        after.lines().first().copied(),
        Some("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA alice@test"),
        "{after:?}"
    );
}

/// Runs `tool` (a host path: Debian's needs its private libraries on `LD_LIBRARY_PATH`) for
/// each query; "exit code + stdout" of each.
fn tool_answers(ns: &Namespace, tool: &Path, lib_path: &str) -> Vec<String> {
    let tool = tool.to_string_lossy();
    [
        &["alice"][..],
        &["alice@LDAP"],
        &["-d", "LDAP", "alice"],
        &["bob"],
        &["carol"],
        &["root"],
        &["nobody"],
        &["nosuchuser"],
        &["-d", "NOSUCH", "alice"],
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

#[test]
fn sss_ssh_authorizedkeys_and_sssd_ssh_interoperate_with_debian_sssd() {
    let ours = stage::shared_stage().expect("stage our build");
    let debian = debian_root().expect("unpack Debian's sssd 2.8");
    let our_tool = ours.join("usr/bin/sss_ssh_authorizedkeys");
    let debian_tool = debian.join("usr/bin/sss_ssh_authorizedkeys");
    assert!(debian_tool.is_file(), "{} missing", debian_tool.display());
    let debian_libs = format!(
        "{}:{}",
        debian.join(LIB_DIR).join("sssd").display(),
        debian.join(LIB_DIR).display()
    );
    let slapd = slapd(
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA alice@test",
        CAROL_FIXED_BLOB,
    );
    let conf = conf(&slapd).domain("entry_cache_timeout", "600");

    let (ours_ours, debian_ours) = {
        let ns = namespace(ours);
        let _sssd = start(&ns, &conf);
        (
            tool_answers(&ns, &our_tool, ""),
            tool_answers(&ns, &debian_tool, &debian_libs),
        )
    };
    let (ours_debian, debian_debian) = {
        let ns = namespace(&debian);
        let _sssd = start(&ns, &conf);
        (
            tool_answers(&ns, &our_tool, ""),
            tool_answers(&ns, &debian_tool, &debian_libs),
        )
    };
    assert!(
        debian_debian[0].contains("0 \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA alice@test\\n")
            && debian_debian[0].contains(ALICE_SECOND_KEY),
        "reference pair: {debian_debian:#?}"
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
}
