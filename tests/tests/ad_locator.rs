//! The AD DC locator against a Samba AD DC ([`sssd_tests::samba`]): a CLDAP ping decodes the
//! DC's NETLOGON_SAM_LOGON_RESPONSE_EX (names, NetBIOS names, sites), and site-aware
//! discovery puts the client's site's DCs first, with `ad_site` overriding the site the DC
//! names. `cldap-ping` (tests/src/bin) runs inside the DC's network namespace, where DNS is
//! the DC's.
//!
//! Needs root (namespaces) and the samba packages of scripts/deps.sh.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

use sssd_tests::samba::{ADMIN_PASSWORD, DC_FQDN, DC_IP, DNS_DOMAIN, NETBIOS_DOMAIN, SambaDc};
use std::collections::HashMap;

const CLDAP_PING: &str = env!("CARGO_BIN_EXE_cldap-ping");
const DEFAULT_SITE: &str = "Default-First-Site-Name";

/// Runs `cldap-ping args` in the DC's namespaces; its `name<TAB>value` lines, in order.
fn run(dc: &SambaDc, args: &[&str]) -> Vec<(String, String)> {
    let mut argv = vec![CLDAP_PING];
    argv.extend_from_slice(args);
    let out = dc.run(&argv).unwrap();
    assert!(out.success(), "cldap-ping {args:?}: {out:?}");
    eprintln!("cldap-ping {args:?}:\n{}", out.stdout);
    out.stdout
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn fields(lines: &[(String, String)]) -> HashMap<String, String> {
    lines.iter().cloned().collect()
}

fn servers(lines: &[(String, String)]) -> Vec<String> {
    lines
        .iter()
        .filter(|(k, _)| k == "server")
        .map(|(_, v)| v.clone())
        .collect()
}

#[test]
fn cldap_ping_and_site_aware_discovery() {
    let dc = SambaDc::new().unwrap();
    let dc1 = format!("{DC_FQDN}:389");

    // The ping: every name the DC gives about itself, and the (only) site.
    let ping = fields(&run(&dc, &["ping", DC_IP, DNS_DOMAIN]));
    assert_eq!(ping["forest"], DNS_DOMAIN);
    assert_eq!(ping["domain"], DNS_DOMAIN);
    assert_eq!(ping["dc_host"], DC_FQDN);
    assert_eq!(ping["netbios_domain"], NETBIOS_DOMAIN);
    assert_eq!(ping["netbios_host"], "DC1");
    assert_eq!(ping["dc_site"], DEFAULT_SITE);
    assert_eq!(ping["client_site"], DEFAULT_SITE);
    let flags = u32::from_str_radix(ping["flags"].trim_start_matches("0x"), 16).unwrap();
    // An LDAP server, a directory server, a KDC, a GC, writable, in the client's site.
    for bit in [0x8, 0x10, 0x20, 0x4, 0x100, 0x80] {
        assert_ne!(flags & bit, 0, "flag {bit:#x} missing from {flags:#x}");
    }

    // Discovery with one site: the site's SRV names the DC; nothing after it.
    let found = run(&dc, &["locate", DNS_DOMAIN]);
    let f = fields(&found);
    assert_eq!(f["site"], DEFAULT_SITE);
    assert_eq!(f["forest"], DNS_DOMAIN);
    assert_eq!(f["primaries"], "1");
    assert_eq!(servers(&found), vec![dc1.clone()]);

    // A second site holding the client's subnet, whose DC (dc2, made up: only its SRV
    // record exists) comes first; the domain's own DC follows.
    dc.samba_tool(&["sites", "create", "Branch"]).unwrap();
    dc.samba_tool(&["sites", "subnet", "create", "10.53.0.0/24", "Branch"])
        .unwrap();
    let admin = format!("--username=Administrator%{ADMIN_PASSWORD}");
    dc.samba_tool(&[
        "dns",
        "add",
        DC_IP,
        DNS_DOMAIN,
        "_ldap._tcp.Branch._sites",
        "SRV",
        "dc2.corp.example.com 389 0 100",
        &admin,
    ])
    .unwrap();
    let ping = fields(&run(&dc, &["ping", DC_IP, DNS_DOMAIN]));
    assert_eq!(ping["dc_site"], DEFAULT_SITE);
    assert_eq!(ping["client_site"], "Branch");
    // The DC is no longer in the client's site: no DS_CLOSEST_FLAG.
    let flags = u32::from_str_radix(ping["flags"].trim_start_matches("0x"), 16).unwrap();
    assert_eq!(flags & 0x80, 0, "{flags:#x}");
    let dc2 = "dc2.corp.example.com:389".to_string();
    let found = run(&dc, &["locate", DNS_DOMAIN]);
    let f = fields(&found);
    assert_eq!(f["site"], "Branch");
    assert_eq!(f["forest"], DNS_DOMAIN);
    assert_eq!(f["primaries"], "1");
    assert_eq!(servers(&found), vec![dc2.clone(), dc1.clone()]);

    // ad_site wins over the site the DC names.
    let found = run(&dc, &["locate", DNS_DOMAIN, DEFAULT_SITE]);
    let f = fields(&found);
    assert_eq!(f["site"], DEFAULT_SITE);
    assert_eq!(f["primaries"], "1");
    assert_eq!(servers(&found), vec![dc1.clone()]);
    // ad_site = Branch: its DC does not answer pings (no address), the domain's does.
    let found = run(&dc, &["locate", DNS_DOMAIN, "Branch"]);
    let f = fields(&found);
    assert_eq!(f["site"], "Branch");
    assert_eq!(servers(&found), vec![dc2, dc1]);
}
