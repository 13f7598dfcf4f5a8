//! End-to-end automount maps: slapd seeded with `auto.master` and `auto.home` (a key and a
//! wildcard `*`), in the rfc2307 (`nisMap`/`nisObject`) and rfc2307bis
//! (`automountMap`/`automount`, tests/schema/autofs.schema) layouts; our daemon with
//! `services = nss, pam, autofs` in a private namespace whose nsswitch.conf says
//! `automount: sss`; and the real autofs reading them:
//!
//! - `automount -m` (autofs 5.1.8 through its `lookup_sss.so` and our `libsss_autofs.so`)
//!   prints the master map and the maps it names;
//! - `autofs-call` (tests/src/bin) calls the library's five functions directly: keys, the
//!   wildcard, missing keys and maps, and offline (slapd stopped): cached maps still served,
//!   a map never fetched `EHOSTDOWN` (autofs retries later rather than concluding the map
//!   does not exist);
//! - garbage on the autofs socket never takes the responder down;
//! - interop: Debian's `libsss_autofs.so` against our `sssd_autofs`, and ours against
//!   Debian's sssd 2.8, print exactly what the same-implementation pairs print.
//!
//! What is not shown: a real automount. This kernel has no autofs filesystem
//! (`/proc/filesystems` lacks `autofs`, and there is no modprobe), so the automount daemon
//! cannot mount its trigger points and nothing can be `ls`ed under `/home`; `automount -m`
//! runs the whole map-reading path (nsswitch, lookup_sss, our library, the responder, the
//! backend) without mounting.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use std::path::Path;
use std::time::Duration;

use sssd_tests::interop::debian_root;
use sssd_tests::ldif::{self, Schema};
use sssd_tests::namespace::Namespace;
use sssd_tests::proc::Output;
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{Sssd, SssdConf};
use sssd_tests::stage;

const NSSWITCH: &str = "passwd: files sss\ngroup: files sss\nautomount: sss\n";
const AUTOFS_CALL: &str = env!("CARGO_BIN_EXE_autofs-call");
const SOCKET: &str = "/var/lib/sss/pipes/autofs";
/// Where autofs's lookup_sss.so loads the client library from.
const MODULE: &str = "/usr/lib/x86_64-linux-gnu/sssd/modules/libsss_autofs.so";

/// (map, [(key, value)]) as the directory holds them.
const MAPS: &[(&str, &[(&str, &str)])] = &[
    (
        "auto.master",
        &[("/home", "auto.home"), ("/data", "auto.data")],
    ),
    (
        "auto.home",
        &[
            ("alice", "-fstype=tmpfs,size=1m tmpfs"),
            ("*", "-fstype=nfs,rw fileserver:/export/home/&"),
        ],
    ),
    ("auto.data", &[("scratch", "-fstype=tmpfs tmpfs")]),
];

fn maps_ldif(base: &str, schema: Schema) -> String {
    let ou = format!("ou=automount,{base}");
    let mut s = format!("dn: {ou}\nobjectClass: organizationalUnit\nou: automount\n\n");
    for (map, entries) in MAPS {
        let (map_dn, map_entry) = match schema {
            Schema::Rfc2307 => (
                format!("nisMapName={map},{ou}"),
                format!("objectClass: nisMap\nnisMapName: {map}\n"),
            ),
            _ => (
                format!("automountMapName={map},{ou}"),
                format!("objectClass: automountMap\nautomountMapName: {map}\n"),
            ),
        };
        s.push_str(&format!("dn: {map_dn}\n{map_entry}\n"));
        for (k, v) in *entries {
            match schema {
                Schema::Rfc2307 => s.push_str(&format!(
                    "dn: cn={k},{map_dn}\nobjectClass: nisObject\ncn: {k}\nnisMapEntry: {v}\n\
                     nisMapName: {map}\n\n"
                )),
                _ => s.push_str(&format!(
                    "dn: automountKey={k},{map_dn}\nobjectClass: automount\nautomountKey: {k}\n\
                     automountInformation: {v}\n\n"
                )),
            }
        }
    }
    s
}

fn slapd_with_maps(schema: Schema) -> Slapd {
    let d = match schema {
        Schema::Rfc2307 => ldif::rfc2307(),
        _ => ldif::rfc2307bis(),
    };
    let slapd = Slapd::new(&d).unwrap();
    let out = slapd.add(&maps_ldif(slapd.base(), schema)).unwrap();
    assert!(out.success(), "ldapadd: {out:?}");
    slapd
}

fn conf(slapd: &Slapd, schema: Schema) -> SssdConf {
    SssdConf::ldap(slapd, schema)
        .set("sssd", "services", "nss, pam, autofs")
        .set("autofs", "debug_level", "0x0070")
        .domain("autofs_provider", "ldap")
        .domain(
            "ldap_autofs_search_base",
            &format!("ou=automount,{}", slapd.base()),
        )
        .domain("entry_cache_autofs_timeout", "1")
}

fn start<'ns>(ns: &'ns Namespace, conf: &SssdConf) -> Sssd<'ns> {
    let sssd = Sssd::start(ns, conf).unwrap();
    if let Err(e) = ns.wait_for_path(SOCKET, Duration::from_secs(20)) {
        panic!("{SOCKET}: {e}\n{}", sssd.logs());
    }
    sssd
}

fn call(ns: &Namespace, lib: &str, args: &[&str]) -> Output {
    let mut argv = vec![AUTOFS_CALL, lib];
    argv.extend_from_slice(args);
    ns.run(&argv).unwrap()
}

/// `automount -m`: the master map and the maps it names, as autofs reads them.
fn dump(ns: &Namespace) -> Output {
    ns.run(&["automount", "-m"]).unwrap()
}

#[track_caller]
fn assert_call(ns: &Namespace, sssd: &Sssd<'_>, args: &[&str], want: &str) {
    let out = call(ns, MODULE, args);
    assert_eq!(
        out.stdout,
        want,
        "autofs-call {args:?}: {out:?}\n{}",
        sssd.logs()
    );
}

const HOME: &str = "protocol 1\nsetautomntent auto.home: ok\n\
*\t-fstype=nfs,rw fileserver:/export/home/&\nalice\t-fstype=tmpfs,size=1m tmpfs\n\
getautomntent end: ENOENT\n\
alice = -fstype=tmpfs,size=1m tmpfs (ok)\n* = -fstype=nfs,rw fileserver:/export/home/& (ok)\n\
bob = (null) (ENOENT)\nendautomntent: ok\n";

fn maps_end_to_end(schema: Schema) {
    let mut slapd = slapd_with_maps(schema);
    let root = stage::shared_stage().expect("stage the product with install.sh");
    let ns = Namespace::with_nsswitch(Some(root), NSSWITCH).unwrap();
    let sssd = start(&ns, &conf(&slapd, schema));

    assert_call(&ns, &sssd, &["auto.home", "alice", "*", "bob"], HOME);
    assert_call(
        &ns,
        &sssd,
        &["auto.none"],
        "protocol 1\nsetautomntent auto.none: ENOENT\nendautomntent: ok\n",
    );

    let out = dump(&ns);
    println!("automount -m: {out:?}");
    for want in [
        "/home",
        "auto.home",
        "alice | -fstype=tmpfs,size=1m tmpfs",
        "* | -fstype=nfs,rw fileserver:/export/home/&",
        "/data",
        "scratch | -fstype=tmpfs tmpfs",
    ] {
        assert!(
            out.stdout.contains(want),
            "automount -m lacks {want:?}: {out:?}\n{}",
            sssd.logs()
        );
    }

    // Offline: the cached maps (expired after 1 s) are still served; a map never fetched is
    // "try later" (EHOSTDOWN), not "no such map".
    slapd.stop().unwrap();
    std::thread::sleep(Duration::from_secs(2));
    assert_call(
        &ns,
        &sssd,
        &["auto.home", "alice", "*", "bob"],
        &HOME.replace("bob = (null) (ENOENT)", "bob = (null) (EHOSTDOWN)"),
    );
    assert_call(
        &ns,
        &sssd,
        &["auto.never"],
        "protocol 1\nsetautomntent auto.never: EHOSTDOWN\nendautomntent: ok\n",
    );
    // autofs before 5.1.5 (protocol 0) reads "offline" as "not found".
    let out = ns
        .run_env(
            &[("AUTOFS_PROTOCOL", "0")],
            &[AUTOFS_CALL, MODULE, "auto.never"],
        )
        .unwrap();
    assert!(
        out.stdout.contains("setautomntent auto.never: ENOENT"),
        "{out:?}"
    );
    let out = dump(&ns);
    assert!(
        out.stdout.contains("alice | -fstype=tmpfs,size=1m tmpfs"),
        "automount -m offline: {out:?}\n{}",
        sssd.logs()
    );
}

/// `sss_cache -a MAP` and `-A` expire cached maps: an entry changed in LDAP is read on the
/// next lookup, long before `entry_cache_autofs_timeout`; without `sss_cache` the cached
/// value stays.
#[test]
fn sss_cache_expires_autofs_maps_before_their_timeout() {
    let slapd = slapd_with_maps(Schema::Rfc2307bis);
    let root = stage::shared_stage().expect("stage the product with install.sh");
    let ns = Namespace::with_nsswitch(Some(root), NSSWITCH).unwrap();
    let conf = conf(&slapd, Schema::Rfc2307bis).domain("entry_cache_autofs_timeout", "600");
    let sssd = start(&ns, &conf);
    let alice = |v: &str| {
        format!(
            "protocol 1\nsetautomntent auto.home: ok\n\
             *\t-fstype=nfs,rw fileserver:/export/home/&\nalice\t{v}\n\
             getautomntent end: ENOENT\nalice = {v} (ok)\nendautomntent: ok\n"
        )
    };
    let set_alice = |v: &str| {
        let out = slapd
            .modify(&format!(
                "dn: automountKey=alice,automountMapName=auto.home,ou=automount,{}\n\
                 changetype: modify\nreplace: automountInformation\n\
                 automountInformation: {v}\n",
                slapd.base()
            ))
            .unwrap();
        assert!(out.success(), "ldapmodify: {out:?}");
    };
    let sss_cache = |args: &[&str]| {
        let mut argv = vec!["/usr/sbin/sss_cache"];
        argv.extend_from_slice(args);
        let out = ns.run(&argv).unwrap();
        assert!(
            out.success(),
            "sss_cache {args:?}: {out:?}\n{}",
            sssd.logs()
        );
    };
    let v1 = "-fstype=tmpfs,size=1m tmpfs";
    assert_call(&ns, &sssd, &["auto.home", "alice"], &alice(v1));

    let v2 = "-fstype=tmpfs,size=2m tmpfs";
    set_alice(v2);
    assert_call(&ns, &sssd, &["auto.home", "alice"], &alice(v1));
    sss_cache(&["-a", "auto.home"]);
    assert_call(&ns, &sssd, &["auto.home", "alice"], &alice(v2));

    let v3 = "-fstype=tmpfs,size=3m tmpfs";
    set_alice(v3);
    assert_call(&ns, &sssd, &["auto.home", "alice"], &alice(v2));
    sss_cache(&["-A"]);
    assert_call(&ns, &sssd, &["auto.home", "alice"], &alice(v3));
}

#[test]
fn rfc2307_maps_through_automount_and_the_library_then_offline() {
    maps_end_to_end(Schema::Rfc2307);
}

#[test]
fn rfc2307bis_maps_through_automount_and_the_library_then_offline() {
    maps_end_to_end(Schema::Rfc2307bis);
}

/// Where Debian's 2.8 library lives inside its unpacked root.
const DEBIAN_MODULE: &str = "usr/lib/x86_64-linux-gnu/sssd/modules/libsss_autofs.so";

/// The library's answers with the enumeration lines sorted (the order of a map's entries
/// is the cache's, which differs between implementations; autofs does not depend on it).
fn sorted_call(ns: &Namespace, lib: &Path, args: &[&str]) -> String {
    let out = call(ns, lib.to_str().unwrap(), args);
    let mut head = Vec::new();
    let mut entries = Vec::new();
    for l in out.stdout.lines() {
        if l.contains('\t') {
            entries.push(l.to_owned());
        } else {
            head.push(l.to_owned());
        }
    }
    entries.sort();
    format!("{}\n{}\n", head.join("\n"), entries.join("\n"))
}

/// Every library against the daemon of `root`: (library name, answers) for each query.
fn answers(root: &Path, slapd: &Slapd, libs: &[(&str, &Path)]) -> Vec<(String, String)> {
    let ns = Namespace::with_nsswitch(Some(root), NSSWITCH).unwrap();
    let sssd = start(&ns, &conf(slapd, Schema::Rfc2307bis));
    let mut out = Vec::new();
    for args in [
        &["auto.master"][..],
        &["auto.home", "alice", "*", "bob", "/x/y"][..],
        &["auto.data", "scratch"][..],
        &["auto.none"][..],
    ] {
        for (name, lib) in libs {
            out.push((format!("{name} {args:?}"), sorted_call(&ns, lib, args)));
        }
    }
    let dump = dump(&ns);
    assert!(
        dump.stdout.contains("scratch | -fstype=tmpfs tmpfs"),
        "automount -m with {}: {dump:?}\n{}",
        root.display(),
        sssd.logs()
    );
    out
}

#[test]
fn libraries_and_daemons_are_interchangeable_with_debians_sssd_2_8() {
    let ours = stage::shared_stage().expect("stage our build");
    let debian = debian_root().expect("unpack Debian's sssd 2.8");
    let debian_lib = debian.join(DEBIAN_MODULE);
    assert!(debian_lib.is_file(), "{} missing", debian_lib.display());
    let our_lib = ours.join(&MODULE[1..]);
    let slapd = slapd_with_maps(Schema::Rfc2307bis);
    let libs = [
        ("ours", our_lib.as_path()),
        ("debian", debian_lib.as_path()),
    ];

    let on_ours = answers(ours, &slapd, &libs);
    // Debian's daemon, with our library where automount -m loads it.
    let debian_with_our_lib =
        sssd_tests::interop::with_files_from(&debian, ours, &[&MODULE[1..]]).unwrap();
    let on_debian = answers(debian_with_our_lib.path(), &slapd, &libs);

    // Debian's own pair answers what the maps hold.
    let home = &on_debian
        .iter()
        .find(|(q, _)| q.starts_with("debian [\"auto.home\""))
        .unwrap()
        .1;
    assert!(
        home.contains("alice = -fstype=tmpfs,size=1m tmpfs (ok)")
            && home.contains("bob = (null) (ENOENT)")
            && home.contains("*\t-fstype=nfs,rw fileserver:/export/home/&"),
        "{home}"
    );
    for (a, b) in on_ours.iter().zip(&on_debian) {
        assert_eq!(a, b, "our daemon vs Debian's");
    }
    for pair in on_ours.chunks(2) {
        assert_eq!(pair[0].1, pair[1].1, "our library vs Debian's: {pair:?}");
    }
}

/// One raw exchange on the autofs socket: `cmd` with `body` (after GET_VERSION when
/// `hello`); the reply header's status, or None when the responder closed the connection.
fn raw(ns: &Namespace, hello: bool, cmd: u32, body: &[u8]) -> Option<u32> {
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(ns.host_path(SOCKET)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut exchange = |cmd: u32, body: &[u8]| -> Option<(u32, Vec<u8>)> {
        s.write_all(&sss_proto::packet(cmd, 0, body)).ok()?;
        let mut h = [0u8; 16];
        s.read_exact(&mut h).ok()?;
        let len = u32::from_ne_bytes(h[0..4].try_into().unwrap()) as usize;
        let status = u32::from_ne_bytes(h[8..12].try_into().unwrap());
        let mut b = vec![0u8; len.saturating_sub(16)];
        s.read_exact(&mut b).ok()?;
        Some((status, b))
    };
    if hello {
        let (st, v) = exchange(0x0001, &1u32.to_ne_bytes())?;
        assert_eq!((st, v), (0, 1u32.to_ne_bytes().to_vec()), "GET_VERSION 1");
    }
    exchange(cmd, body).map(|(st, _)| st)
}

#[test]
fn garbage_on_the_autofs_socket_never_takes_the_responder_down() {
    let slapd = slapd_with_maps(Schema::Rfc2307);
    let root = stage::shared_stage().expect("stage the product with install.sh");
    let ns = Namespace::with_nsswitch(Some(root), NSSWITCH).unwrap();
    let sssd = start(&ns, &conf(&slapd, Schema::Rfc2307));
    let pids = ns.processes_named("sssd_autofs");
    assert_eq!(pids.len(), 1, "{pids:?}");
    const EINVAL: u32 = 22;
    // Before GET_VERSION: closed.
    assert_eq!(raw(&ns, false, 0xD1, b"auto.home\0"), None);
    // Malformed bodies: EINVAL, connection kept.
    for (cmd, body) in [
        (0xD1u32, &b"no terminator"[..]),
        (0xD1, &b""[..]),
        (0xD2, &[0xff, 0xff, 0xff, 0xff, b'a', 0][..]),
        (0xD2, &[1, 0, 0, 0, b'a', b'b'][..]),
        (0xD3, &[1, 0, 0, 0, b'a', 0, 200, 0, 0, 0, b'k', 0][..]),
        (0xD3, &[2, 0, 0, 0, 0xc3, 0x28, 0][..]),
    ] {
        assert_eq!(raw(&ns, true, cmd, body), Some(EINVAL), "{cmd:#x} {body:?}");
    }
    // Not an autofs command: closed.
    assert_eq!(raw(&ns, true, 0x11, b"alice\0"), None);
    // A map name longer than any the client sends, and random bytes.
    let mut long = vec![b'm'; 6000];
    long.push(0);
    assert_eq!(raw(&ns, true, 0xD1, &long), None, "over the size limit");
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..300 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let len = (seed % 64) as usize;
        let body: Vec<u8> = (0..len).map(|i| (seed >> (i % 56)) as u8).collect();
        let _ = raw(&ns, true, 0xD1 + (seed % 4) as u32, &body);
    }
    // Still the same process, still answering.
    assert_eq!(ns.processes_named("sssd_autofs"), pids);
    assert_call(&ns, &sssd, &["auto.home", "alice", "*", "bob"], HOME);
}

#[test]
fn without_a_daemon_both_libraries_answer_enoent_at_once() {
    let ours = stage::shared_stage().expect("stage our build");
    let debian = debian_root().expect("unpack Debian's sssd 2.8");
    let ns = Namespace::with_nsswitch(Some(ours), NSSWITCH).unwrap();
    let want = "protocol 1\nsetautomntent auto.master: ENOENT\nendautomntent: ENOENT\n";
    for lib in [ours.join(&MODULE[1..]), debian.join(DEBIAN_MODULE)] {
        let started = std::time::Instant::now();
        let out = call(&ns, lib.to_str().unwrap(), &["auto.master", "x"]);
        assert_eq!(out.stdout, want, "{}: {out:?}", lib.display());
        assert!(started.elapsed() < Duration::from_secs(10), "{out:?}");
    }
}
