//! `cldap-ping ping ADDR DOMAIN`: sends one CLDAP ping to ADDR (UDP port 389 unless given)
//! and prints the raw reply as `raw <hex>`, then the decoded fields as `name<TAB>value`.
//!
//! `cldap-ping locate DOMAIN [AD_SITE]`: runs the AD DC locator with `/etc/resolv.conf` and
//! prints `site`, `forest`, `primaries` and one `server<TAB>host:port` line per DC in order.
//!
//! Meant to run inside a test DC's network namespace.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test tool: failing loudly is the point

use sssd::backend::ad::cldap;
use sssd::backend::ad::locate::{self, LocateOptions, SystemLocator};
use sssd::config::dns_options::DnsOptions;
use std::net::SocketAddr;
use std::time::Duration;

fn print_info(i: &cldap::NetlogonInfo) {
    println!("flags\t{:#x}", i.flags);
    println!("forest\t{}", i.forest);
    println!("domain\t{}", i.domain);
    println!("dc_host\t{}", i.dc_host);
    println!("netbios_domain\t{}", i.netbios_domain);
    println!("netbios_host\t{}", i.netbios_host);
    println!("dc_site\t{}", i.dc_site);
    println!("client_site\t{}", i.client_site);
    println!("next_closest_site\t{}", i.next_closest_site);
}

async fn ping(addr: &str, domain: &str) {
    let addr: SocketAddr = addr
        .parse()
        .or_else(|_| format!("{addr}:{}", cldap::CLDAP_PORT).parse())
        .expect("address");
    let sock = tokio::net::UdpSocket::bind("0.0.0.0:0").await.unwrap();
    sock.connect(addr).await.unwrap();
    sock.send(&cldap::encode_request(7, domain)).await.unwrap();
    let mut buf = vec![0u8; 65_535];
    let n = tokio::time::timeout(Duration::from_secs(3), sock.recv(&mut buf))
        .await
        .expect("no reply within 3 s")
        .unwrap();
    let raw: String = buf[..n].iter().map(|b| format!("{b:02x}")).collect();
    println!("raw\t{raw}");
    print_info(&cldap::decode_reply(7, &buf[..n]).expect("decode"));
    // The library's own exchange must agree.
    let again = cldap::ping(addr, domain, Duration::from_secs(3))
        .await
        .expect("ping");
    assert_eq!(again, cldap::decode_reply(7, &buf[..n]).unwrap());
}

async fn locate(domain: &str, ad_site: Option<&str>) {
    let dns = DnsOptions::defaults(domain);
    let opts = LocateOptions {
        ad_site: ad_site.map(str::to_string),
        cached_site: None,
        op_timeout: dns.op_timeout,
    };
    let found = locate::locate(&SystemLocator::new(dns), domain, &opts)
        .await
        .expect("locate");
    println!("site\t{}", found.site.unwrap_or_default());
    println!("forest\t{}", found.forest.unwrap_or_default());
    println!("primaries\t{}", found.primaries);
    for s in found.servers {
        println!("server\t{}:{}", s.host, s.port);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["ping", addr, domain] => rt.block_on(ping(addr, domain)),
        ["locate", domain] => rt.block_on(locate(domain, None)),
        ["locate", domain, site] => rt.block_on(locate(domain, Some(site))),
        _ => {
            eprintln!("usage: cldap-ping ping ADDR DOMAIN | cldap-ping locate DOMAIN [AD_SITE]");
            std::process::exit(2);
        }
    }
}
