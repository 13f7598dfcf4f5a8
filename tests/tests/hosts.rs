//! End-to-end hosts and networks maps: slapd seeded with `ipHost` and `ipNetwork` entries
//! (nis.schema), our daemon in a private namespace with `resolver_provider = ldap`, nsswitch
//! `hosts: sss` and `networks: sss` only, and the real glibc path: `getent hosts` (by name,
//! alias, IPv4 and IPv6 address), `getent ahosts*` (getaddrinfo), `getent networks` (by name
//! and number), enumeration with `enumerate = true`, offline answers from an expired cache,
//! `h_errno` through Python's socket module and ctypes, garbage on the NSS socket for every
//! hosts and networks command, and interop with Debian's sssd 2.8 in both directions.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use std::collections::BTreeSet;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use sssd_tests::interop::{debian_root, nss_module_of, with_nss_module};
use sssd_tests::ldif::{self, Schema};
use sssd_tests::namespace::Namespace;
use sssd_tests::proc::Output;
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{NSS_SOCKET, Sssd, SssdConf};
use sssd_tests::stage;

/// `hosts: sss` and `networks: sss` alone, so that every answer comes from the sss module.
const NSSWITCH: &str = "passwd: files sss\ngroup: files sss\nhosts: sss\nnetworks: sss\n";

/// (primary name, aliases, addresses) of the `ipHost` entries under `ou=Hosts`.
const HOSTS: &[(&str, &[&str], &[&str])] = &[
    ("web.rsssd.test", &["www"], &["10.0.0.5"]),
    ("dual.rsssd.test", &[], &["10.0.0.7", "fd00::7"]),
    ("multi.rsssd.test", &["multi"], &["10.0.0.8", "10.0.0.9"]),
    ("v6only.rsssd.test", &["v6"], &["fd00::6"]),
    // Spelled unlike inet_ntop: found by its canonical address.
    ("odd.rsssd.test", &[], &["FD00:0:0::8"]),
];

/// (primary name, aliases, number) of the `ipNetwork` entries under `ou=Networks`.
const NETWORKS: &[(&str, &[&str], &str)] = &[
    ("rsssd-lan", &["rsssd-office"], "10.1.0.0"),
    ("rsssd-dmz", &[], "192.168.77.0"),
];

fn host_ldif(base: &str, ou: &str, name: &str, aliases: &[&str], addrs: &[&str]) -> String {
    let mut s = format!(
        "dn: cn={name},ou={ou},{base}\nobjectClass: device\nobjectClass: ipHost\ncn: {name}\n"
    );
    for a in aliases {
        s.push_str(&format!("cn: {a}\n"));
    }
    for a in addrs {
        s.push_str(&format!("ipHostNumber: {a}\n"));
    }
    s.push('\n');
    s
}

fn network_ldif(base: &str, ou: &str, name: &str, aliases: &[&str], number: &str) -> String {
    let mut s = format!(
        "dn: cn={name},ou={ou},{base}\nobjectClass: ipNetwork\ncn: {name}\n\
         ipNetworkNumber: {number}\n"
    );
    for a in aliases {
        s.push_str(&format!("cn: {a}\n"));
    }
    s.push('\n');
    s
}

/// `ou=Hosts` and `ou=Networks` with `hosts` and [`NETWORKS`], and a decoy host and network
/// under `ou=Decoys`, outside the configured search bases.
fn maps_ldif(base: &str, hosts: &[(&str, &[&str], &[&str])]) -> String {
    let mut s = String::new();
    for ou in ["Hosts", "Networks", "Decoys"] {
        s.push_str(&format!(
            "dn: ou={ou},{base}\nobjectClass: organizationalUnit\nou: {ou}\n\n"
        ));
    }
    for (name, aliases, addrs) in hosts {
        s.push_str(&host_ldif(base, "Hosts", name, aliases, addrs));
    }
    for (name, aliases, number) in NETWORKS {
        s.push_str(&network_ldif(base, "Networks", name, aliases, number));
    }
    s.push_str(&host_ldif(
        base,
        "Decoys",
        "decoy.rsssd.test",
        &[],
        &["10.0.0.66"],
    ));
    s.push_str(&network_ldif(
        base,
        "Decoys",
        "rsssd-decoy",
        &[],
        "10.66.0.0",
    ));
    s
}

fn slapd_with(hosts: &[(&str, &[&str], &[&str])]) -> Slapd {
    let slapd = Slapd::new(&ldif::rfc2307_with_bulk(2)).unwrap();
    let out = slapd.add(&maps_ldif(slapd.base(), hosts)).unwrap();
    assert!(out.success(), "ldapadd: {out:?}");
    slapd
}

/// The domain with hosts and networks from LDAP, searched under `ou=Hosts`/`ou=Networks`.
fn conf(slapd: &Slapd, enumerate: bool) -> SssdConf {
    let base = slapd.base().to_owned();
    SssdConf::ldap(slapd, Schema::Rfc2307)
        .domain("resolver_provider", "ldap")
        .domain("ldap_iphost_search_base", &format!("ou=Hosts,{base}"))
        .domain("ldap_ipnetwork_search_base", &format!("ou=Networks,{base}"))
        .domain("enumerate", if enumerate { "true" } else { "false" })
}

fn setup(enumerate: bool) -> (Slapd, Namespace, SssdConf) {
    let slapd = slapd_with(HOSTS);
    let root = stage::shared_stage().expect("stage the product with install.sh");
    let ns = Namespace::with_nsswitch(Some(root), NSSWITCH).unwrap();
    let conf = conf(&slapd, enumerate);
    (slapd, ns, conf)
}

fn getent(ns: &Namespace, args: &[&str]) -> Output {
    let mut argv = vec!["getent"];
    argv.extend_from_slice(args);
    ns.run(&argv).unwrap()
}

/// Each line of `text` as its whitespace-separated fields.
fn fields(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect()
}

/// Expected lines, as fields, from `"a b c"` strings.
fn want(lines: &[&str]) -> Vec<Vec<String>> {
    lines.iter().map(|l| fields(l).remove(0)).collect()
}

/// `getent ARGS` exits 0 and prints exactly `lines` (compared field by field, in order).
#[track_caller]
fn assert_lines(ns: &Namespace, sssd: &Sssd<'_>, args: &[&str], lines: &[&str]) {
    let out = getent(ns, args);
    assert_eq!(
        (out.code(), fields(&out.stdout)),
        (0, want(lines)),
        "getent {args:?}: {out:?}\n{}",
        sssd.logs()
    );
}

/// Like [`assert_lines`], in any order.
#[track_caller]
fn assert_lines_unordered(ns: &Namespace, sssd: &Sssd<'_>, args: &[&str], lines: &[&str]) {
    let out = getent(ns, args);
    let mut got = fields(&out.stdout);
    got.sort();
    let mut expected = want(lines);
    expected.sort();
    assert_eq!(
        (out.code(), got),
        (0, expected),
        "getent {args:?}: {out:?}\n{}",
        sssd.logs()
    );
}

/// `getent ARGS` finds nothing: exit status 2, no output.
#[track_caller]
fn assert_missing(ns: &Namespace, sssd: &Sssd<'_>, args: &[&str]) {
    let out = getent(ns, args);
    assert_eq!(
        (out.code(), out.stdout.as_str()),
        (2, ""),
        "getent {args:?}: {out:?}\n{}",
        sssd.logs()
    );
}

/// Whether this host has a non-loopback IPv6 address (getaddrinfo's `AI_ADDRCONFIG`, which
/// `getent ahosts*` sets, drops IPv6 answers without one).
fn host_has_ipv6() -> bool {
    std::fs::read_to_string("/proc/net/if_inet6")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split_whitespace().last() != Some("lo"))
}

/// The addresses (first column) of `getent ahosts*` output.
fn ahosts_addresses(out: &Output) -> BTreeSet<String> {
    out.stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// The lookups of the end-to-end test (the directory holds all of [`HOSTS`]).
fn lookup_checks(ns: &Namespace, sssd: &Sssd<'_>) {
    let web = "10.0.0.5 web.rsssd.test www";
    assert_lines(ns, sssd, &["hosts", "web.rsssd.test"], &[web]);
    assert_lines(ns, sssd, &["hosts", "www"], &[web]);
    assert_lines(ns, sssd, &["hosts", "10.0.0.5"], &[web]);
    // IPv6 only: found by the first (AF_INET6) lookup getent makes, and by address.
    let v6 = "fd00::6 v6only.rsssd.test v6";
    assert_lines(ns, sssd, &["hosts", "v6only.rsssd.test"], &[v6]);
    assert_lines(ns, sssd, &["hosts", "v6"], &[v6]);
    assert_lines(ns, sssd, &["hosts", "fd00::6"], &[v6]);
    // Dual stack: getent hosts asks AF_INET6 first and shows only that family.
    assert_lines(
        ns,
        sssd,
        &["hosts", "dual.rsssd.test"],
        &["fd00::7 dual.rsssd.test"],
    );
    assert_lines(
        ns,
        sssd,
        &["hosts", "10.0.0.7"],
        &["10.0.0.7 dual.rsssd.test"],
    );
    assert_lines(
        ns,
        sssd,
        &["hosts", "fd00::7"],
        &["fd00::7 dual.rsssd.test"],
    );
    // (By address only once cached: the directory is searched with the canonical spelling;
    // see the enumeration test.)
    assert_lines(
        ns,
        sssd,
        &["hosts", "odd.rsssd.test"],
        &["fd00::8 odd.rsssd.test"],
    );
    // Two IPv4 addresses: one line each, found by either.
    let multi = [
        "10.0.0.8 multi.rsssd.test multi",
        "10.0.0.9 multi.rsssd.test multi",
    ];
    for key in ["multi.rsssd.test", "multi", "10.0.0.8", "10.0.0.9"] {
        assert_lines_unordered(ns, sssd, &["hosts", key], &multi);
    }
    // getaddrinfo.
    let out = getent(ns, &["ahostsv4", "dual.rsssd.test"]);
    assert_eq!(out.code(), 0, "{out:?}\n{}", sssd.logs());
    assert_eq!(
        ahosts_addresses(&out),
        BTreeSet::from(["10.0.0.7".to_owned()]),
        "{out:?}"
    );
    assert!(
        out.stdout
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .nth(2)
            == Some("dual.rsssd.test"),
        "canonical name on the first line: {out:?}"
    );
    let out = getent(ns, &["ahosts", "dual.rsssd.test"]);
    assert_eq!(out.code(), 0, "{out:?}\n{}", sssd.logs());
    let got = ahosts_addresses(&out);
    let both = BTreeSet::from(["10.0.0.7".to_owned(), "fd00::7".to_owned()]);
    if host_has_ipv6() {
        assert_eq!(got, both, "{out:?}");
    } else {
        assert!(got.contains("10.0.0.7") && got.is_subset(&both), "{out:?}");
    }
    if host_has_ipv6() {
        let out = getent(ns, &["ahostsv6", "v6only.rsssd.test"]);
        assert_eq!(out.code(), 0, "{out:?}\n{}", sssd.logs());
        assert_eq!(
            ahosts_addresses(&out),
            BTreeSet::from(["fd00::6".to_owned()]),
            "{out:?}"
        );
    }
    // Unknown names and addresses, and the decoys outside the search bases.
    for key in [
        "nosuch.rsssd.test",
        "10.9.9.9",
        "fd00::99",
        "decoy.rsssd.test",
        "10.0.0.66",
    ] {
        assert_missing(ns, sssd, &["hosts", key]);
    }
    assert_missing(ns, sssd, &["ahosts", "nosuch.rsssd.test"]);

    // Networks.
    let lan = "rsssd-lan 10.1.0.0 rsssd-office";
    assert_lines(ns, sssd, &["networks", "rsssd-lan"], &[lan]);
    assert_lines(ns, sssd, &["networks", "rsssd-office"], &[lan]);
    assert_lines(ns, sssd, &["networks", "10.1.0.0"], &[lan]);
    let dmz = "rsssd-dmz 192.168.77.0";
    assert_lines(ns, sssd, &["networks", "rsssd-dmz"], &[dmz]);
    assert_lines(ns, sssd, &["networks", "192.168.77.0"], &[dmz]);
    for key in ["nosuchnet", "10.99.0.0", "rsssd-decoy", "10.66.0.0"] {
        assert_missing(ns, sssd, &["networks", key]);
    }
}

/// A Python program calling the resolver functions through glibc: socket.gethostbyname_ex
/// and socket.gethostbyaddr (h_errno as socket.herror, getaddrinfo failures as
/// socket.gaierror), gethostbyname2_r and getnetbyname/getnetbyaddr through ctypes.
/// Arguments are `kind:key`; it prints `kind:key -> result` per argument.
const PY_RESOLVE: &str = r#"
import ctypes, socket, sys

libc = ctypes.CDLL("libc.so.6")

class Hostent(ctypes.Structure):
    _fields_ = [("h_name", ctypes.c_char_p),
                ("h_aliases", ctypes.POINTER(ctypes.c_char_p)),
                ("h_addrtype", ctypes.c_int),
                ("h_length", ctypes.c_int),
                ("h_addr_list", ctypes.POINTER(ctypes.c_void_p))]

class Netent(ctypes.Structure):
    _fields_ = [("n_name", ctypes.c_char_p),
                ("n_aliases", ctypes.POINTER(ctypes.c_char_p)),
                ("n_addrtype", ctypes.c_int),
                ("n_net", ctypes.c_uint32)]

libc.gethostbyname2_r.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(Hostent),
                                  ctypes.c_char_p, ctypes.c_size_t,
                                  ctypes.POINTER(ctypes.POINTER(Hostent)),
                                  ctypes.POINTER(ctypes.c_int)]
libc.getnetbyname.restype = ctypes.POINTER(Netent)
libc.getnetbyname.argtypes = [ctypes.c_char_p]
libc.getnetbyaddr.restype = ctypes.POINTER(Netent)
libc.getnetbyaddr.argtypes = [ctypes.c_uint32, ctypes.c_int]

def strings(p):
    out, i = [], 0
    while p[i]:
        out.append(p[i].decode())
        i += 1
    return out

def host(h):
    addrs, i = [], 0
    while h.h_addr_list[i]:
        raw = ctypes.string_at(h.h_addr_list[i], h.h_length)
        addrs.append(socket.inet_ntop(h.h_addrtype, raw))
        i += 1
    return "%s aliases=%s addrs=%s" % (h.h_name.decode(), strings(h.h_aliases), addrs)

def net(p):
    if not p:
        return "NULL"
    n = p.contents
    addr = socket.inet_ntoa(n.n_net.to_bytes(4, "big"))
    return "%s aliases=%s af=%d net=%s" % (n.n_name.decode(), strings(n.n_aliases),
                                          n.n_addrtype, addr)

for arg in sys.argv[1:]:
    kind, _, key = arg.partition(":")
    try:
        if kind == "ex":
            r = socket.gethostbyname_ex(key)
        elif kind == "addr":
            r = socket.gethostbyaddr(key)
        elif kind in ("v4", "v6"):
            af = socket.AF_INET if kind == "v4" else socket.AF_INET6
            h = Hostent()
            buf = ctypes.create_string_buffer(8192)
            res = ctypes.POINTER(Hostent)()
            err = ctypes.c_int(-1)
            libc.gethostbyname2_r(key.encode(), af, ctypes.byref(h), buf, len(buf),
                                  ctypes.byref(res), ctypes.byref(err))
            r = host(res.contents) if res else "NULL h_errno=%d" % err.value
        elif kind == "gai":
            r = sorted({(a[0].name, a[4][0])
                        for a in socket.getaddrinfo(key, None, 0, socket.SOCK_STREAM)})
        elif kind == "net":
            r = net(libc.getnetbyname(key.encode()))
        elif kind == "netaddr":
            r = net(libc.getnetbyaddr(int.from_bytes(socket.inet_aton(key), "big"),
                                      socket.AF_INET))
        else:
            r = "bad kind"
    except socket.herror:
        # Python reports the global h_errno, which gethostbyaddr_r does not set.
        r = "herror"
    except socket.gaierror as e:
        r = "gaierror %d" % e.args[0]
    print("%s -> %s" % (arg, r))
"#;

/// The queries [`PY_RESOLVE`] answers in both the end-to-end and the interop test.
const PY_QUERIES: &[&str] = &[
    "ex:web.rsssd.test",
    "ex:www",
    "addr:10.0.0.5",
    "addr:fd00::7",
    "addr:10.9.9.9",
    "ex:nosuch.rsssd.test",
    "v4:web.rsssd.test",
    "v6:web.rsssd.test",
    "v6:dual.rsssd.test",
    "v4:nosuch.rsssd.test",
    "gai:dual.rsssd.test",
    "net:rsssd-lan",
    "net:rsssd-office",
    "netaddr:192.168.77.0",
    "net:nosuchnet",
    "netaddr:10.99.0.0",
];

fn python(ns: &Namespace, queries: &[&str]) -> Output {
    let mut argv = vec!["/usr/bin/python3", "-c", PY_RESOLVE];
    argv.extend_from_slice(queries);
    ns.run(&argv).unwrap()
}

#[test]
fn hosts_and_networks_by_name_alias_and_address_then_offline() {
    let (mut slapd, ns, conf) = setup(false);
    let conf = conf.domain("entry_cache_resolver_timeout", "1");
    let sssd = Sssd::start(&ns, &conf).unwrap();
    lookup_checks(&ns, &sssd);

    // h_errno and the Python socket module through glibc.
    let out = python(&ns, PY_QUERIES);
    assert_eq!(out.code(), 0, "{out:?}");
    let expected = [
        "ex:web.rsssd.test -> ('web.rsssd.test', ['www'], ['10.0.0.5'])",
        "ex:www -> ('web.rsssd.test', ['www'], ['10.0.0.5'])",
        "addr:10.0.0.5 -> ('web.rsssd.test', ['www'], ['10.0.0.5'])",
        "addr:fd00::7 -> ('dual.rsssd.test', [], ['fd00::7'])",
        "addr:10.9.9.9 -> herror",
        // EAI_NONAME
        "ex:nosuch.rsssd.test -> gaierror -2",
        "v4:web.rsssd.test -> web.rsssd.test aliases=['www'] addrs=['10.0.0.5']",
        // NO_DATA: the name exists without an address of that family.
        "v6:web.rsssd.test -> NULL h_errno=4",
        "v6:dual.rsssd.test -> dual.rsssd.test aliases=[] addrs=['fd00::7']",
        "v4:nosuch.rsssd.test -> NULL h_errno=1",
        "gai:dual.rsssd.test -> [('AF_INET', '10.0.0.7'), ('AF_INET6', 'fd00::7')]",
        "net:rsssd-lan -> rsssd-lan aliases=['rsssd-office'] af=2 net=10.1.0.0",
        "net:rsssd-office -> rsssd-lan aliases=['rsssd-office'] af=2 net=10.1.0.0",
        "netaddr:192.168.77.0 -> rsssd-dmz aliases=[] af=2 net=192.168.77.0",
        "net:nosuchnet -> NULL",
        "netaddr:10.99.0.0 -> NULL",
    ];
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        expected,
        "{out:?}\n{}",
        sssd.logs()
    );

    let user1 = getent(&ns, &["passwd", "user1"]);
    assert_eq!(user1.code(), 0, "{user1:?}");

    // Offline: the entries expired (entry_cache_resolver_timeout = 1) and still come from
    // the cache.
    slapd.stop().unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let web = "10.0.0.5 web.rsssd.test www";
    assert_lines(&ns, &sssd, &["hosts", "web.rsssd.test"], &[web]);
    assert_lines(&ns, &sssd, &["hosts", "www"], &[web]);
    assert_lines(&ns, &sssd, &["hosts", "10.0.0.5"], &[web]);
    assert_lines(
        &ns,
        &sssd,
        &["hosts", "v6only.rsssd.test"],
        &["fd00::6 v6only.rsssd.test v6"],
    );
    assert_lines(
        &ns,
        &sssd,
        &["hosts", "fd00::7"],
        &["fd00::7 dual.rsssd.test"],
    );
    let lan = "rsssd-lan 10.1.0.0 rsssd-office";
    assert_lines(&ns, &sssd, &["networks", "rsssd-office"], &[lan]);
    assert_lines(&ns, &sssd, &["networks", "10.1.0.0"], &[lan]);
    assert_missing(&ns, &sssd, &["hosts", "never-asked.rsssd.test"]);
    assert_missing(&ns, &sssd, &["networks", "never-asked-net"]);
    // The cached user still resolves as well.
    let out = getent(&ns, &["passwd", "user1"]);
    assert_eq!(out.stdout, user1.stdout, "{out:?}");
}

/// `getent hosts` lists IPv4 addresses (IPv6 for a host without any); `getent networks`
/// lists every network; both only with `enumerate = true`, filled by the enumeration that
/// runs at startup.
#[test]
fn hosts_and_networks_enumeration() {
    let (_slapd, ns, conf) = setup(true);
    let sssd = Sssd::start(&ns, &conf).unwrap();
    let mut hosts_want = want(&[
        "10.0.0.5 web.rsssd.test www",
        "10.0.0.7 dual.rsssd.test",
        "10.0.0.8 multi.rsssd.test multi",
        "10.0.0.9 multi.rsssd.test multi",
        "fd00::6 v6only.rsssd.test v6",
        "fd00::8 odd.rsssd.test",
    ]);
    hosts_want.sort();
    let mut nets_want = want(&["rsssd-lan 10.1.0.0 rsssd-office", "rsssd-dmz 192.168.77.0"]);
    nets_want.sort();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let hosts = getent(&ns, &["hosts"]);
        let nets = getent(&ns, &["networks"]);
        let mut h = fields(&hosts.stdout);
        h.sort();
        let mut n = fields(&nets.stdout);
        n.sort();
        if (hosts.code(), &h, nets.code(), &n) == (0, &hosts_want, 0, &nets_want) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "getent hosts: {hosts:?}\ngetent networks: {nets:?}\n{}",
            sssd.logs()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    // Cached by the enumeration in canonical form: found by its canonical address although
    // the directory spells it FD00:0:0::8.
    assert_lines(
        &ns,
        &sssd,
        &["hosts", "fd00::8"],
        &["fd00::8 odd.rsssd.test"],
    );
    // A second enumeration (a new setent) lists the same entries again.
    let again = getent(&ns, &["hosts"]);
    let mut h = fields(&again.stdout);
    h.sort();
    assert_eq!(h, hosts_want, "{again:?}");
}

/// Without `enumerate`, `getent hosts`/`getent networks` list nothing, while lookups work.
#[test]
fn no_enumeration_without_enumerate() {
    let (_slapd, ns, conf) = setup(false);
    let sssd = Sssd::start(&ns, &conf).unwrap();
    assert_lines(
        &ns,
        &sssd,
        &["hosts", "web.rsssd.test"],
        &["10.0.0.5 web.rsssd.test www"],
    );
    for db in ["hosts", "networks"] {
        let out = getent(&ns, &[db]);
        assert_eq!(out.stdout, "", "getent {db}: {out:?}\n{}", sssd.logs());
    }
}

/// `resolver_provider = none`: hosts and networks are not served (and users still are).
#[test]
fn resolver_provider_none_serves_no_hosts_or_networks() {
    let slapd = slapd_with(HOSTS);
    let root = stage::shared_stage().expect("stage the product with install.sh");
    let ns = Namespace::with_nsswitch(Some(root), NSSWITCH).unwrap();
    let conf = SssdConf::ldap(&slapd, Schema::Rfc2307).domain("resolver_provider", "none");
    let sssd = Sssd::start(&ns, &conf).unwrap();
    assert_missing(&ns, &sssd, &["hosts", "web.rsssd.test"]);
    assert_missing(&ns, &sssd, &["hosts", "10.0.0.5"]);
    assert_missing(&ns, &sssd, &["networks", "rsssd-lan"]);
    let out = getent(&ns, &["passwd", "user1"]);
    assert_eq!(out.code(), 0, "{out:?}\n{}", sssd.logs());
}

/// One connection to the NSS socket, exchanging raw packets.
struct Raw(UnixStream);

impl Raw {
    /// Connects and negotiates protocol version 1.
    fn hello(ns: &Namespace) -> Raw {
        let s = UnixStream::connect(ns.host_path(NSS_SOCKET)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut r = Raw(s);
        let reply = r.exchange(0x0001, &1u32.to_ne_bytes());
        assert_eq!(
            reply,
            Some((0, 1u32.to_ne_bytes().to_vec())),
            "GET_VERSION 1"
        );
        r
    }

    /// Sends `cmd` with `body`; the reply's status and body, or None when the responder
    /// closed the connection. A reply that never comes (a hang) fails the test.
    fn exchange(&mut self, cmd: u32, body: &[u8]) -> Option<(u32, Vec<u8>)> {
        // The responder may close while we are still writing an oversized request.
        if self.0.write_all(&sss_proto::packet(cmd, 0, body)).is_err() {
            return None;
        }
        let mut h = [0u8; 16];
        match self.0.read_exact(&mut h) {
            Ok(()) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset
                ) =>
            {
                return None;
            }
            Err(e) => panic!("no reply to {cmd:#x} {body:?}: {e}"),
        }
        let len = u32::from_ne_bytes(h[0..4].try_into().unwrap()) as usize;
        let status = u32::from_ne_bytes(h[8..12].try_into().unwrap());
        assert!((16..=64 << 20).contains(&len), "reply length {len}");
        let mut b = vec![0u8; len - 16];
        self.0.read_exact(&mut b).unwrap();
        Some((status, b))
    }

    /// GETHOSTBYNAME2 web.rsssd.test answers one host with its name and address.
    fn assert_serves(&mut self) {
        let (status, body) = self.exchange(0x0052, b"web.rsssd.test\0").expect("a reply");
        assert_eq!(status, 0, "{body:?}");
        assert_eq!(&body[0..4], &1u32.to_ne_bytes(), "one result: {body:?}");
        let strings: Vec<&[u8]> = body[16..].split(|b| *b == 0).collect();
        assert!(
            strings.contains(&&b"web.rsssd.test"[..]) && strings.contains(&&b"10.0.0.5"[..]),
            "{body:?}"
        );
    }
}

fn addr_body(af: u32, len: u32, addr: &[u8]) -> Vec<u8> {
    let mut b = af.to_ne_bytes().to_vec();
    b.extend_from_slice(&len.to_ne_bytes());
    b.extend_from_slice(addr);
    b
}

#[test]
fn garbage_for_hosts_and_networks_commands_never_takes_the_responder_down() {
    let (_slapd, ns, conf) = setup(true);
    let sssd = Sssd::start(&ns, &conf).unwrap();
    let pids = ns.processes_named("sssd_nss");
    assert_eq!(pids.len(), 1, "{pids:?}");
    let mut bystander = Raw::hello(&ns);
    bystander.assert_serves();

    const HOST_COMMANDS: [u32; 6] = [0x51, 0x52, 0x53, 0x54, 0x55, 0x56];
    const NET_COMMANDS: [u32; 5] = [0x71, 0x72, 0x73, 0x74, 0x75];
    let mut long = vec![b'h'; 4000];
    long.push(0);
    let targeted: Vec<(u32, Vec<u8>)> = vec![
        (0x51, b"no terminator".to_vec()),
        (0x51, b"\0".to_vec()),
        (0x52, Vec::new()),
        (0x52, b"we\xffb.rsssd.test\0".to_vec()),
        (0x52, b"web\0trailing\0".to_vec()),
        (0x52, long.clone()),
        // Address family and length that do not match the bytes.
        (0x53, addr_body(2, 16, &[10, 0, 0, 5])),
        (0x53, addr_body(10, 4, &[10, 0, 0, 5])),
        (0x53, addr_body(2, 4, &[10, 0])),
        (0x53, addr_body(2, u32::MAX, &[10, 0, 0, 5])),
        (0x53, addr_body(99, 4, &[10, 0, 0, 5])),
        (0x53, addr_body(10, 16, &[0xfd; 16])),
        (0x53, vec![2]),
        (0x54, b"unexpected body".to_vec()),
        (0x55, Vec::new()),
        (0x55, u32::MAX.to_ne_bytes().to_vec()),
        (0x55, 0u32.to_ne_bytes().to_vec()),
        (0x56, vec![0xff; 7]),
        (0x71, b"no terminator".to_vec()),
        (0x71, b"\xc3\x28\0".to_vec()),
        (0x71, long),
        (0x72, addr_body(2, 16, &[10, 1, 0, 0])),
        (0x72, addr_body(10, 16, &[0xfd; 16])),
        (0x72, addr_body(2, 4, &[10])),
        (0x72, addr_body(0, 4, &[10, 1, 0, 0])),
        (0x72, vec![1, 2, 3]),
        (0x73, vec![0; 3]),
        (0x74, Vec::new()),
        (0x74, u32::MAX.to_ne_bytes().to_vec()),
        (0x75, b"x".to_vec()),
    ];
    for (cmd, body) in &targeted {
        let mut c = Raw::hello(&ns);
        // Closed, or answered (an error, or nothing found) on a connection that goes on
        // serving.
        if c.exchange(*cmd, body).is_some() {
            c.assert_serves();
        }
    }
    // Random bodies (xorshift, reproducible), several per connection.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let commands: Vec<u32> = HOST_COMMANDS.iter().chain(&NET_COMMANDS).copied().collect();
    for _ in 0..40 {
        let mut c = Raw::hello(&ns);
        for _ in 0..10 {
            let r = next();
            let cmd = commands[(r % commands.len() as u64) as usize];
            let len = (next() % 48) as usize;
            let body: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if c.exchange(cmd, &body).is_none() {
                break;
            }
        }
    }
    // A truncated packet (header announces more than is sent), then the peer goes away.
    {
        let mut c = Raw::hello(&ns);
        let mut p = sss_proto::packet(0x0052, 0, b"web.rsssd.test\0");
        p.truncate(20);
        c.0.write_all(&p).unwrap();
    }
    // Still the same process, still answering everyone.
    assert_eq!(ns.processes_named("sssd_nss"), pids, "{}", sssd.logs());
    bystander.assert_serves();
    assert_lines(
        &ns,
        &sssd,
        &["hosts", "web.rsssd.test"],
        &["10.0.0.5 web.rsssd.test www"],
    );
    assert_lines(
        &ns,
        &sssd,
        &["networks", "10.1.0.0"],
        &["rsssd-lan 10.1.0.0 rsssd-office"],
    );
    let out = getent(&ns, &["passwd", "user1"]);
    assert_eq!(out.code(), 0, "{out:?}");
}

// Interop with Debian's sssd 2.8.

/// The queries compared across the four daemon/module pairs.
const INTEROP_QUERIES: &[&[&str]] = &[
    &["getent", "hosts", "web.rsssd.test"],
    &["getent", "hosts", "www"],
    &["getent", "hosts", "10.0.0.5"],
    &["getent", "hosts", "dual.rsssd.test"],
    &["getent", "hosts", "10.0.0.7"],
    &["getent", "hosts", "fd00::7"],
    &["getent", "hosts", "multi"],
    &["getent", "hosts", "10.0.0.9"],
    &["getent", "hosts", "nosuch.rsssd.test"],
    &["getent", "hosts", "10.9.9.9"],
    &["getent", "hosts", "decoy.rsssd.test"],
    &["getent", "ahostsv4", "dual.rsssd.test"],
    &["getent", "ahostsv6", "dual.rsssd.test"],
    &["getent", "ahostsv4", "www"],
    &["getent", "networks", "rsssd-lan"],
    &["getent", "networks", "rsssd-office"],
    &["getent", "networks", "10.1.0.0"],
    &["getent", "networks", "192.168.77.0"],
    &["getent", "networks", "nosuchnet"],
    &["getent", "networks", "10.99.0.0"],
];

/// Asked after the enumeration was read, once the IPv6-only host was added: Debian's
/// module ends a `gethostent` enumeration at a host without an IPv4 address, so that host
/// is kept out of the enumerated directory.
const INTEROP_V6_QUERIES: &[&[&str]] = &[
    &["getent", "hosts", "v6only.rsssd.test"],
    &["getent", "hosts", "v6"],
    &["getent", "hosts", "fd00::6"],
    &["getent", "ahostsv6", "v6only.rsssd.test"],
];

/// "exit code + stdout" per query, the Python answers, the sorted enumerations (polled
/// until the startup enumeration has filled the cache), then the IPv6-only host's answers.
fn answers(root: &Path, slapd: &Slapd) -> Vec<String> {
    let ns = Namespace::with_nsswitch(Some(root), NSSWITCH).unwrap();
    let conf = conf(slapd, true);
    let sssd = Sssd::start(&ns, &conf).unwrap_or_else(|e| panic!("sssd did not start: {e}"));
    let run = |q: &[&str]| {
        let o = ns.run(q).unwrap();
        format!("{} {:?}: {}", o.code(), q, o.stdout)
    };
    let mut out: Vec<String> = INTEROP_QUERIES.iter().map(|q| run(q)).collect();
    out.extend(python(&ns, PY_QUERIES).stdout.lines().map(str::to_owned));
    for (db, min) in [("hosts", 4), ("networks", 2)] {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut lines;
        loop {
            let o = ns.run(&["getent", db]).unwrap();
            lines = o.stdout.lines().map(str::to_owned).collect::<Vec<_>>();
            lines.sort();
            if lines.len() >= min || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        out.push(format!("enumeration {db}: {lines:?}"));
    }
    let (name, aliases, addrs) = HOSTS[3];
    let added = slapd
        .add(&host_ldif(slapd.base(), "Hosts", name, aliases, addrs))
        .unwrap();
    assert!(added.success(), "ldapadd: {added:?}");
    out.extend(INTEROP_V6_QUERIES.iter().map(|q| run(q)));
    let deleted = slapd
        .delete(&format!("cn={name},ou=Hosts,{}", slapd.base()))
        .unwrap();
    assert!(deleted.success(), "ldapdelete: {deleted:?}");
    drop(sssd);
    out
}

#[test]
fn hosts_and_networks_modules_and_daemons_are_interchangeable() {
    let ours = stage::shared_stage().expect("stage our build");
    let debian = debian_root().expect("unpack Debian's sssd 2.8");
    let debian_module = nss_module_of(&debian).expect("Debian's libnss_sss.so.2");
    let our_module = ours
        .join(sssd_tests::interop::LIB_DIR)
        .join("libnss_sss.so.2");

    // Every host but the IPv6-only one (see INTEROP_V6_QUERIES).
    let slapd = slapd_with(&HOSTS[..3]);
    let our_daemon_debian_module = with_nss_module(ours, &debian_module).unwrap();
    let debian_daemon_our_module = with_nss_module(&debian, &our_module).unwrap();

    let ours_ours = answers(ours, &slapd);
    let ours_debian = answers(our_daemon_debian_module.path(), &slapd);
    let debian_ours = answers(debian_daemon_our_module.path(), &slapd);
    let debian_debian = answers(&debian, &slapd);

    // Debian's own pair answers what the directory holds.
    let joined = debian_debian.join("\n");
    for needle in [
        "0 [\"getent\", \"hosts\", \"web.rsssd.test\"]: 10.0.0.5",
        "0 [\"getent\", \"networks\", \"10.1.0.0\"]: rsssd-lan",
        "0 [\"getent\", \"hosts\", \"v6\"]: fd00::6",
        "2 [\"getent\", \"hosts\", \"nosuch.rsssd.test\"]: \n",
        "v6:web.rsssd.test -> NULL h_errno=4",
    ] {
        assert!(joined.contains(needle), "{needle}\n{debian_debian:#?}");
    }
    let enumeration = debian_debian
        .iter()
        .find(|l| l.starts_with("enumeration hosts"))
        .unwrap();
    assert!(
        enumeration.contains("web.rsssd.test") && enumeration.contains("10.0.0.9"),
        "{enumeration}"
    );
    assert_eq!(ours_ours.len(), debian_debian.len());
    for (i, q) in ours_ours.iter().enumerate() {
        assert_eq!(ours_debian[i], *q, "Debian's module vs ours on our daemon");
        assert_eq!(
            debian_ours[i], debian_debian[i],
            "our module vs Debian's on Debian's daemon"
        );
        assert_eq!(*q, debian_debian[i], "our pair vs Debian's pair");
    }
}
