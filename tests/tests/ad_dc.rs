//! Self-test of the Samba AD DC fixture ([`sssd_tests::samba`]): a DC provisioned into a
//! private directory and running in network/mount/PID namespaces of its own serves LDAP
//! (simple bind, RFC 2307 attributes, objectSid), the Global Catalog on 3268, Kerberos and
//! DNS SRV records. Every client command runs inside the DC's namespaces
//! (`nsenter --target <pid> --net --mount`); nothing on the host changes.
//!
//! Needs root (namespaces) and the samba packages of scripts/deps.sh.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use sssd_tests::samba::{ADMIN_PASSWORD, BASE_DN, DC_FQDN, DC_IP, DNS_DOMAIN, REALM, SambaDc};

const USER_PASSWORD: &str = "Passw0rd!Usr";

/// The value of `attr: value` (or the base64 of `attr:: value`) in LDIF output.
fn ldif_value<'a>(ldif: &'a str, attr: &str) -> Option<&'a str> {
    ldif.lines().find_map(|l| {
        l.strip_prefix(&format!("{attr}:: "))
            .or_else(|| l.strip_prefix(&format!("{attr}: ")))
    })
}

fn base64_decode(text: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {text}"),
    };
    let digits: Vec<u8> = text.bytes().filter(|&c| c != b'=').map(val).collect();
    let mut out = Vec::new();
    for chunk in digits.chunks(4) {
        let mut n = 0u32;
        for (i, d) in chunk.iter().enumerate() {
            n |= u32::from(*d) << (18 - 6 * i);
        }
        for i in 0..chunk.len().saturating_sub(1) {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}

/// A binary SID as `S-1-5-21-...`.
fn sid_string(b: &[u8]) -> String {
    assert!(b.len() >= 8, "short SID {b:?}");
    let auth = b[2..8].iter().fold(0u64, |a, x| (a << 8) | u64::from(*x));
    let subs: Vec<String> = b[8..]
        .chunks(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]).to_string())
        .collect();
    format!("S-{}-{auth}-{}", b[0], subs.join("-"))
}

fn search(dc: &SambaDc, uri: &str, base: &str, filter: &str, attrs: &[&str]) -> String {
    let admin = format!("Administrator@{REALM}");
    let mut argv = vec![
        "ldapsearch",
        "-o",
        "ldif-wrap=no",
        "-LLL",
        "-x",
        "-H",
        uri,
        "-D",
        &admin,
        "-w",
        ADMIN_PASSWORD,
        "-b",
        base,
        filter,
    ];
    argv.extend_from_slice(attrs);
    let out = dc.run(&argv).unwrap();
    assert!(out.success(), "ldapsearch {uri} failed: {}", out.stderr);
    out.stdout
}

#[test]
fn samba_dc_serves_ldap_kerberos_and_dns() {
    let start = std::time::Instant::now();
    let dc = SambaDc::new().unwrap();
    eprintln!("DC ready after {:?}", start.elapsed());
    assert_eq!(dc.realm(), REALM);
    assert_eq!(dc.base_dn(), BASE_DN);
    assert_eq!(dc.ldap_uri(), format!("ldap://{DC_IP}"));

    dc.add_group("unixgroup", 20000).unwrap();
    dc.add_user("alice", USER_PASSWORD, 10001, 20000).unwrap();
    dc.add_member("unixgroup", "alice").unwrap();

    // The domain SID, from the domain object.
    let domain = search(
        &dc,
        &dc.ldap_uri(),
        BASE_DN,
        "(objectClass=domain)",
        &["objectSid"],
    );
    let domain_sid = sid_string(&base64_decode(ldif_value(&domain, "objectSid").unwrap()));
    assert!(domain_sid.starts_with("S-1-5-21-"), "{domain_sid}");

    // LDAP, simple bind as Administrator: alice's SID is a domain SID with a fresh RID.
    let user = search(
        &dc,
        &dc.ldap_uri(),
        BASE_DN,
        "(sAMAccountName=alice)",
        &[
            "objectSid",
            "uidNumber",
            "gidNumber",
            "memberOf",
            "unixHomeDirectory",
        ],
    );
    assert_eq!(ldif_value(&user, "uidNumber"), Some("10001"), "{user}");
    assert_eq!(ldif_value(&user, "gidNumber"), Some("20000"), "{user}");
    assert_eq!(ldif_value(&user, "unixHomeDirectory"), Some("/home/alice"));
    assert_eq!(
        ldif_value(&user, "memberOf"),
        Some(format!("CN=unixgroup,CN=Users,{BASE_DN}").as_str())
    );
    let user_sid = sid_string(&base64_decode(ldif_value(&user, "objectSid").unwrap()));
    let rid: u32 = user_sid
        .strip_prefix(&format!("{domain_sid}-"))
        .unwrap_or_else(|| panic!("{user_sid} not in {domain_sid}"))
        .parse()
        .unwrap();
    assert!(rid >= 1000, "{user_sid}");

    let group = search(
        &dc,
        &dc.ldap_uri(),
        BASE_DN,
        "(sAMAccountName=unixgroup)",
        &["gidNumber", "member"],
    );
    assert_eq!(ldif_value(&group, "gidNumber"), Some("20000"), "{group}");
    assert_eq!(
        ldif_value(&group, "member"),
        Some(format!("CN=alice,CN=Users,{BASE_DN}").as_str())
    );

    // Global Catalog (whole forest from the empty base), by the DC's name.
    let gc = search(
        &dc,
        &format!("ldap://{DC_FQDN}:3268"),
        "",
        "(sAMAccountName=alice)",
        &["objectSid", "uidNumber"],
    );
    assert_eq!(ldif_value(&gc, "uidNumber"), Some("10001"), "{gc}");
    assert_eq!(
        sid_string(&base64_decode(ldif_value(&gc, "objectSid").unwrap())),
        user_sid
    );

    // Kerberos: a TGT for alice from the DC's KDC with a private krb5.conf.
    let ccache = dc.dir().join("alice.ccache");
    let kinit = dc
        .command(&["kinit", &format!("alice@{REALM}")])
        .env("KRB5_CONFIG", dc.krb5_conf())
        .env("KRB5CCNAME", format!("FILE:{}", ccache.display()))
        .output_with(USER_PASSWORD);
    assert!(kinit.0, "kinit failed: {}", kinit.1);
    let klist = dc
        .command(&["klist"])
        .env("KRB5_CONFIG", dc.krb5_conf())
        .env("KRB5CCNAME", format!("FILE:{}", ccache.display()))
        .output_with("");
    assert!(klist.0, "{}", klist.1);
    assert!(
        klist
            .1
            .contains(&format!("Default principal: alice@{REALM}")),
        "{}",
        klist.1
    );
    assert!(
        klist.1.contains(&format!("krbtgt/{REALM}@{REALM}")),
        "{}",
        klist.1
    );

    // DNS: the DC's SRV and A records.
    let dig = dc
        .run(&[
            "dig",
            "+short",
            &format!("@{DC_IP}"),
            &format!("_ldap._tcp.{DNS_DOMAIN}"),
            "SRV",
        ])
        .unwrap();
    assert!(dig.success(), "{}", dig.stderr);
    assert_eq!(dig.stdout.trim(), format!("0 100 389 {DC_FQDN}."));
    let a = dc
        .run(&["dig", "+short", &format!("@{DC_IP}"), DC_FQDN, "A"])
        .unwrap();
    assert_eq!(a.stdout.trim(), DC_IP);

    let dir = dc.dir().to_path_buf();
    let pid = dc.pid();
    drop(dc);
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert!(!sssd_tests::proc::alive(pid), "unshare {pid} still running");
    eprintln!("test done after {:?}", start.elapsed());
}

/// Runs a command with `input` on stdin: (success, stdout + stderr).
trait OutputWith {
    fn output_with(&mut self, input: &str) -> (bool, String);
}

impl OutputWith for std::process::Command {
    fn output_with(&mut self, input: &str) -> (bool, String) {
        let input = format!("{input}\n");
        let out = sssd_tests::proc::run(
            self,
            Some(input.as_bytes()),
            sssd_tests::proc::COMMAND_TIMEOUT,
        )
        .unwrap();
        (out.success(), format!("{}{}", out.stdout, out.stderr))
    }
}

/// Our daemon with `id_provider = ldap` and `ldap_schema = ad` (SSSD's AD attribute map:
/// `user`/`group` objects named by `sAMAccountName`, `unixHomeDirectory`,
/// `userPrincipalName`), bound as the administrator's UPN, resolves a directory user and
/// their group through glibc's NSS path, inside the DC's network namespace.
#[test]
fn ldap_schema_ad_resolves_users_and_groups_from_the_dc() {
    let dc = SambaDc::new().unwrap();
    dc.add_group("adgroup", 20010).unwrap();
    dc.add_user("bob", USER_PASSWORD, 10011, 20010).unwrap();
    dc.add_member("adgroup", "bob").unwrap();
    let root = sssd_tests::stage::shared_stage().expect("stage the product with install.sh");
    let ns = sssd_tests::namespace::Namespace::in_network_of(Some(root), dc.pid()).unwrap();
    let conf = sssd_tests::sssd::SssdConf::ldap_uri(
        &dc.ldap_uri(),
        BASE_DN,
        sssd_tests::ldif::Schema::Rfc2307bis,
    )
    .domain("ldap_schema", "ad")
    .domain("ldap_default_bind_dn", &format!("Administrator@{REALM}"))
    .domain("ldap_default_authtok", ADMIN_PASSWORD);
    let sssd = sssd_tests::sssd::Sssd::start(&ns, &conf).unwrap();
    let out = ns.run(&["getent", "passwd", "bob"]).unwrap();
    assert!(out.success(), "{out:?}\n{}", sssd.logs());
    let fields: Vec<&str> = out.stdout.trim_end().split(':').collect();
    assert_eq!(fields[0], "bob", "{out:?}");
    assert_eq!((fields[2], fields[3]), ("10011", "20010"), "{out:?}");
    let out = ns.run(&["getent", "group", "adgroup"]).unwrap();
    assert!(out.success(), "{out:?}\n{}", sssd.logs());
    assert_eq!(out.stdout.trim_end(), "adgroup:*:20010:bob", "{out:?}");
    let out = ns.run(&["id", "-Gn", "bob"]).unwrap();
    assert!(out.success(), "{out:?}\n{}", sssd.logs());
    assert!(
        out.stdout.split_whitespace().any(|g| g == "adgroup"),
        "{out:?}"
    );
}
