//! Netgroups end to end: slapd holding `nisNetgroup` entries (triples, nesting, a cycle
//! ng_a -> ng_b -> ng_a), our daemon, and glibc's `getent netgroup` and `innetgr` through
//! nsswitch.conf `netgroup: sss` and our libnss_sss; the cache serving them when slapd is
//! gone; expiry by `entry_cache_netgroup_timeout`; and interop with Debian's sssd 2.8
//! (its libnss_sss against our daemon, ours against its daemon).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use sssd_tests::interop::{debian_root, nss_module_of, with_nss_module};
use sssd_tests::ldif::{self, Schema};
use sssd_tests::namespace::{NSSWITCH_CONF, Namespace};
use sssd_tests::proc;
use sssd_tests::slapd::Slapd;
use sssd_tests::sssd::{Sssd, SssdConf};
use sssd_tests::stage;

/// The netgroup entries added to the test tree.
fn netgroups_ldif(base: &str) -> String {
    format!(
        "dn: ou=Netgroup,{base}\nobjectClass: organizationalUnit\nou: Netgroup\n\n\
         dn: cn=ng_a,ou=Netgroup,{base}\nobjectClass: nisNetgroup\ncn: ng_a\n\
         nisNetgroupTriple: (host1,alice,dom1)\nnisNetgroupTriple: (-,bob,)\n\
         memberNisNetgroup: ng_b\n\n\
         dn: cn=ng_b,ou=Netgroup,{base}\nobjectClass: nisNetgroup\ncn: ng_b\n\
         nisNetgroupTriple: (host2,carol,)\nmemberNisNetgroup: ng_a\n\n\
         dn: cn=ng_top,ou=Netgroup,{base}\nobjectClass: nisNetgroup\ncn: ng_top\n\
         nisNetgroupTriple: (host3,dave,)\n\
         memberNisNetgroup: cn=ng_a,ou=Netgroup,{base}\n\n\
         dn: cn=ng_empty,ou=Netgroup,{base}\nobjectClass: nisNetgroup\ncn: ng_empty\n\n"
    )
}

fn slapd() -> Slapd {
    let s = Slapd::new(&ldif::rfc2307_with_bulk(2)).expect("start slapd");
    s.add(&netgroups_ldif(s.base())).expect("add the netgroups");
    s
}

fn nsswitch() -> String {
    NSSWITCH_CONF.replace("netgroup: files\n", "netgroup: sss\n")
}

fn namespace(root: &Path) -> Namespace {
    Namespace::with_nsswitch(Some(root), &nsswitch()).expect("create the mount namespace")
}

/// The triples `getent netgroup NAME` printed, as a set (glibc's order follows the walk).
fn triples(out: &str) -> BTreeSet<String> {
    out.split('(')
        .skip(1)
        .filter_map(|t| t.split(')').next())
        .map(|t| t.replace(' ', ""))
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// `innetgr(netgroup, host, user, domain)` through glibc (None = NULL), from python3.
fn innetgr(ns: &Namespace, ng: &str, host: Option<&str>, user: Option<&str>) -> String {
    let arg = |v: Option<&str>| v.map_or("None".to_string(), |s| format!("b'{s}'"));
    let script = format!(
        "import ctypes; l = ctypes.CDLL('libc.so.6'); \
         print(l.innetgr(b'{ng}', {}, {}, None))",
        arg(host),
        arg(user)
    );
    let out = ns.run(&["python3", "-c", &script]).unwrap();
    assert!(out.success(), "python3 innetgr: {out:?}");
    out.stdout.trim().to_string()
}

fn getent(ns: &Namespace, name: &str) -> proc::Output {
    ns.run_env(
        &[("SSS_NSS_USE_MEMCACHE", "NO")],
        &["getent", "netgroup", name],
    )
    .unwrap()
}

#[test]
fn getent_and_innetgr_expand_nesting_and_cycles_and_work_offline() {
    let root = stage::shared_stage().expect("stage the product with install.sh");
    let mut slapd = slapd();
    let ns = namespace(root);
    let conf = SssdConf::ldap(&slapd, Schema::Rfc2307)
        .domain("entry_cache_netgroup_timeout", "2")
        .set("nss", "entry_negative_timeout", "0");
    let sssd = Sssd::start(&ns, &conf).unwrap_or_else(|e| panic!("sssd did not start: {e}"));

    // ng_a holds ng_b holds ng_a: glibc expands both once and stops.
    let all_ab = set(&["host1,alice,dom1", "-,bob,", "host2,carol,"]);
    let out = getent(&ns, "ng_a");
    assert_eq!(out.code(), 0, "{out:?}\n{}", sssd.logs());
    assert_eq!(triples(&out.stdout), all_ab, "{out:?}");
    assert!(out.stdout.starts_with("ng_a"), "{out:?}");
    let out = getent(&ns, "ng_b");
    assert_eq!(triples(&out.stdout), all_ab, "{out:?}");
    // A member given by DN (rfc2307bis style) is followed too.
    let out = getent(&ns, "ng_top");
    let mut top = all_ab.clone();
    top.insert("host3,dave,".into());
    assert_eq!(triples(&out.stdout), top, "{out:?}\n{}", sssd.logs());
    // An empty netgroup exists; an unknown one does not.
    let out = getent(&ns, "ng_empty");
    assert_eq!((out.code(), triples(&out.stdout)), (0, set(&[])), "{out:?}");
    let out = getent(&ns, "nosuch");
    assert_eq!((out.code(), out.stdout.as_str()), (2, ""), "{out:?}");

    // innetgr: direct, nested through the cycle, wildcards, and misses.
    assert_eq!(innetgr(&ns, "ng_a", Some("host1"), Some("alice")), "1");
    assert_eq!(
        innetgr(&ns, "ng_a", Some("host2"), Some("carol")),
        "1",
        "{}",
        sssd.logs()
    );
    assert_eq!(innetgr(&ns, "ng_b", None, Some("bob")), "1");
    // `-` is a host no name matches.
    assert_eq!(innetgr(&ns, "ng_b", Some("anyhost"), Some("bob")), "0");
    assert_eq!(innetgr(&ns, "ng_top", Some("host1"), None), "1");
    assert_eq!(innetgr(&ns, "ng_a", Some("host9"), Some("alice")), "0");
    assert_eq!(innetgr(&ns, "ng_b", Some("host3"), Some("dave")), "0");
    assert_eq!(innetgr(&ns, "nosuch", None, None), "0");

    // Expiry: a change in the directory shows once entry_cache_netgroup_timeout passed.
    slapd
        .modify(&format!(
            "dn: cn=ng_empty,ou=Netgroup,{}\nchangetype: modify\nadd: nisNetgroupTriple\n\
             nisNetgroupTriple: (host5,erin,)\n",
            slapd.base()
        ))
        .unwrap();
    let seen = proc::wait_until(
        "ng_empty to show its new triple",
        Duration::from_secs(20),
        || triples(&getent(&ns, "ng_empty").stdout) == set(&["host5,erin,"]),
    );
    assert!(seen.is_ok(), "{}", sssd.logs());

    // Offline: slapd gone, every entry expired; the cache still answers.
    slapd.stop().unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let out = getent(&ns, "ng_a");
    assert_eq!(
        (out.code(), triples(&out.stdout)),
        (0, all_ab.clone()),
        "offline: {out:?}\n{}",
        sssd.logs()
    );
    assert_eq!(innetgr(&ns, "ng_top", Some("host3"), Some("dave")), "1");
    let out = getent(&ns, "never_cached");
    assert_eq!(out.code(), 2, "{out:?}");
}

/// Garbage on the NSS socket after a netgroup request never takes the responder down.
#[test]
fn malformed_setnetgrent_requests_do_not_hurt_the_responder() {
    let root = stage::shared_stage().expect("stage the product with install.sh");
    let slapd = slapd();
    let ns = namespace(root);
    let conf = SssdConf::ldap(&slapd, Schema::Rfc2307);
    let sssd = Sssd::start(&ns, &conf).unwrap_or_else(|e| panic!("sssd did not start: {e}"));
    // Raw packets: header (len, cmd 0x61, status, reserved) with bad bodies.
    let script = r#"
import socket, struct
def send(body, cmd=0x61):
    s = socket.socket(socket.AF_UNIX); s.settimeout(5)
    s.connect('/var/lib/sss/pipes/nss')
    s.sendall(struct.pack('=IIII', 20, 1, 0, 0) + struct.pack('=I', 1))
    s.recv(4096)
    s.sendall(struct.pack('=IIII', 16 + len(body), cmd, 0, 0) + body)
    try:
        s.recv(4096)
    except Exception:
        pass
    s.close()
for b in [b'', b'\0', b'ng_a', b'\xff\xfe\0', b'a\0b\0', b'x' * 1000 + b'\0', b'ng_a\0' * 100]:
    send(b)
send(b'', 0x62)
send(b'', 0x63)
print('done')
"#;
    let out = ns.run(&["python3", "-c", script]).unwrap();
    assert!(out.stdout.contains("done"), "{out:?}");
    let out = getent(&ns, "ng_a");
    assert_eq!(out.code(), 0, "{out:?}\n{}", sssd.logs());
}

/// "exit code + stdout" of each netgroup query in a namespace overlaid by `root`.
fn answers(root: &Path, slapd: &Slapd) -> Vec<String> {
    let ns = namespace(root);
    let conf = SssdConf::ldap(slapd, Schema::Rfc2307).set("nss", "memcache_timeout", "0");
    let sssd = Sssd::start(&ns, &conf).unwrap_or_else(|e| panic!("sssd did not start: {e}"));
    let mut out: Vec<String> = ["ng_a", "ng_b", "ng_top", "ng_empty", "nosuch"]
        .iter()
        .map(|n| {
            let o = getent(&ns, n);
            format!("{} {n}: {:?}", o.code(), triples(&o.stdout))
        })
        .collect();
    out.push(innetgr(&ns, "ng_top", Some("host2"), Some("carol")));
    out.push(innetgr(&ns, "ng_a", Some("host3"), None));
    drop(sssd);
    out
}

#[test]
fn netgroups_interoperate_with_debian_sssd() {
    let ours = stage::shared_stage().expect("stage our build");
    let debian = debian_root().expect("unpack Debian's sssd 2.8");
    let debian_module = nss_module_of(&debian).expect("Debian's libnss_sss.so.2");
    let our_module = ours
        .join(sssd_tests::interop::LIB_DIR)
        .join("libnss_sss.so.2");
    let slapd = slapd();
    let our_daemon_debian_module = with_nss_module(ours, &debian_module).unwrap();
    let debian_daemon_our_module = with_nss_module(&debian, &our_module).unwrap();

    let ours_ours = answers(ours, &slapd);
    let ours_debian = answers(our_daemon_debian_module.path(), &slapd);
    let debian_ours = answers(debian_daemon_our_module.path(), &slapd);
    let debian_debian = answers(&debian, &slapd);
    assert!(
        debian_debian[0].starts_with("0 ng_a:") && debian_debian[0].contains("host2,carol,"),
        "reference pair: {debian_debian:#?}"
    );
    assert_eq!(
        ours_debian, ours_ours,
        "Debian's module vs ours on our daemon"
    );
    assert_eq!(
        debian_ours, debian_debian,
        "our module vs Debian's on its daemon"
    );
    assert_eq!(ours_ours, debian_debian, "our pair vs Debian's pair");
}
