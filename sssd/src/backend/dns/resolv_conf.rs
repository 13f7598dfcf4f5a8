//! The name servers of `/etc/resolv.conf`, as the C library reads them: up to three
//! `nameserver` lines, 127.0.0.1 when there is none.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The C library's limit on name servers (`MAXNS`).
const MAX_SERVERS: usize = 3;

/// The name servers listed in `text` (a resolv.conf), port 53, in order.
pub fn nameservers(text: &str) -> Vec<SocketAddr> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        if words.next() != Some("nameserver") {
            continue;
        }
        // A scoped IPv6 address (fe80::1%eth0) cannot be parsed here: skipped.
        if let Some(ip) = words.next().and_then(|w| w.parse::<IpAddr>().ok())
            && out.len() < MAX_SERVERS
        {
            out.push(SocketAddr::new(ip, 53));
        }
    }
    if out.is_empty() {
        out.push(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 53));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nameserver_lines() {
        let text = "# comment\nsearch example.test\nnameserver 127.0.53.1\n\
                    nameserver ::1\nnameserver fe80::1%eth0\nnameserver 10.0.0.1\n\
                    nameserver 10.0.0.2\n";
        let got: Vec<String> = nameservers(text).iter().map(|s| s.to_string()).collect();
        assert_eq!(got, ["127.0.53.1:53", "[::1]:53", "10.0.0.1:53"]);
        assert_eq!(nameservers("").len(), 1);
        assert_eq!(nameservers("")[0].to_string(), "127.0.0.1:53");
    }
}
