//! The CLDAP ping (MS-ADTS 6.3.3): an LDAP search of the rootDSE over UDP for the
//! `NetLogon` attribute, which a DC answers with its names, flags and the client's site.
//!
//! As SSSD, the request asks for `NETLOGON_NT_VERSION_5EX | NETLOGON_NT_VERSION_WITH_CLOSEST_SITE`
//! and sends one datagram per DC; redundancy comes from pinging several DCs
//! ([`super::locate`]). Everything in a reply is checked against its bounds.

pub mod ber;
pub mod netlogon;

use ber::{BOOLEAN, BerError, ENUMERATED, INTEGER, OCTET_STRING, Reader, SEQUENCE, SET};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use thiserror::Error;
use tokio::net::UdpSocket;

/// The port DCs answer CLDAP on.
pub const CLDAP_PORT: u16 = 389;
/// The `NtVer` SSSD sends: `NETLOGON_NT_VERSION_5EX | NETLOGON_NT_VERSION_WITH_CLOSEST_SITE`.
pub const NT_VERSION_REQUESTED: u32 =
    netlogon::NT_VERSION_5EX | netlogon::NT_VERSION_WITH_CLOSEST_SITE;

/// `DS_PDC_FLAG`: the DC holds the PDC role.
pub const DS_PDC_FLAG: u32 = 0x0000_0001;
/// `DS_GC_FLAG`: the DC is a Global Catalog.
pub const DS_GC_FLAG: u32 = 0x0000_0004;
/// `DS_LDAP_FLAG`: the DC serves LDAP.
pub const DS_LDAP_FLAG: u32 = 0x0000_0008;
/// `DS_DS_FLAG`: the DC is a directory server.
pub const DS_DS_FLAG: u32 = 0x0000_0010;
/// `DS_KDC_FLAG`: the DC runs a KDC.
pub const DS_KDC_FLAG: u32 = 0x0000_0020;
/// `DS_CLOSEST_FLAG`: the DC is in the client's site.
pub const DS_CLOSEST_FLAG: u32 = 0x0000_0080;
/// `DS_WRITABLE_FLAG`: the DC is writable (not an RODC).
pub const DS_WRITABLE_FLAG: u32 = 0x0000_0100;

/// LDAP application tags of the messages involved.
const SEARCH_REQUEST: u8 = 0x63;
const SEARCH_RES_ENTRY: u8 = 0x64;
const SEARCH_RES_DONE: u8 = 0x65;
/// Filter choices: `and` [0], `equalityMatch` [3].
const FILTER_AND: u8 = 0xa0;
const FILTER_EQUALITY: u8 = 0xa3;
/// Largest datagram read.
const MAX_DATAGRAM: usize = 65_535;

/// What a DC says about itself and the client in its ping reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetlogonInfo {
    /// `DS_*_FLAG` bits of the DC.
    pub flags: u32,
    /// DNS name of the forest.
    pub forest: String,
    /// DNS name of the domain.
    pub domain: String,
    /// DNS host name of the DC.
    pub dc_host: String,
    /// NetBIOS name of the domain.
    pub netbios_domain: String,
    /// NetBIOS name of the DC.
    pub netbios_host: String,
    /// Site of the DC.
    pub dc_site: String,
    /// Site of the client's address (empty when no subnet matches).
    pub client_site: String,
    /// The site nearest the client's when the client's has no DC (empty if not given).
    pub next_closest_site: String,
    /// GUID of the domain, as on the wire.
    pub domain_guid: [u8; 16],
}

impl NetlogonInfo {
    /// The client's site as SSSD takes it: the client site, else the next closest site.
    pub fn site(&self) -> Option<&str> {
        [&self.client_site, &self.next_closest_site]
            .into_iter()
            .find(|s| !s.is_empty())
            .map(String::as_str)
    }
}

/// Why a ping got no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CldapError {
    /// The socket failed (including ICMP "port unreachable").
    #[error("CLDAP ping of {addr}: {message}")]
    Io {
        /// The DC.
        addr: SocketAddr,
        /// The system's word for it.
        message: String,
    },
    /// Nothing usable arrived in time.
    #[error("CLDAP ping of {addr}: no reply within {} ms", .waited.as_millis())]
    Timeout {
        /// The DC.
        addr: SocketAddr,
        /// The limit.
        waited: Duration,
    },
    /// The reply is not well-formed BER/LDAP.
    #[error("malformed CLDAP reply: {0}")]
    Malformed(String),
    /// The reply answers another request.
    #[error("CLDAP reply has message id {got}, expected {want}")]
    WrongMessageId {
        /// The id we sent.
        want: i32,
        /// The id received.
        got: i32,
    },
    /// The search failed on the DC.
    #[error("CLDAP search failed with LDAP result {code}: {message}")]
    Search {
        /// LDAP result code.
        code: i32,
        /// Diagnostic message.
        message: String,
    },
    /// The reply holds no `NetLogon` value, or more than one.
    #[error("CLDAP reply holds {0} NetLogon values, expected one")]
    NetlogonCount(usize),
    /// The `NetLogon` value is not a usable response.
    #[error(transparent)]
    Netlogon(#[from] netlogon::NetlogonError),
}

impl From<BerError> for CldapError {
    fn from(e: BerError) -> CldapError {
        CldapError::Malformed(e.to_string())
    }
}

fn octets(s: &[u8]) -> Vec<u8> {
    ber::tlv(OCTET_STRING, s)
}

fn equality(attr: &str, value: &[u8]) -> Vec<u8> {
    let mut c = octets(attr.as_bytes());
    c.extend(octets(value));
    ber::tlv(FILTER_EQUALITY, &c)
}

/// The ping datagram: a search of the rootDSE, scope base, for `NetLogon` with the filter
/// `(&(DnsDomain=<domain>)(NtVer=<NT_VERSION_REQUESTED, little endian>))`.
pub fn encode_request(message_id: i32, domain: &str) -> Vec<u8> {
    let mut filter = equality("DnsDomain", domain.as_bytes());
    filter.extend(equality("NtVer", &NT_VERSION_REQUESTED.to_le_bytes()));
    let mut search = octets(b""); // baseObject
    search.extend(ber::tlv(ENUMERATED, &[0])); // scope: baseObject
    search.extend(ber::tlv(ENUMERATED, &[0])); // derefAliases: never
    search.extend(ber::tlv(INTEGER, &[0])); // sizeLimit
    search.extend(ber::tlv(INTEGER, &[0])); // timeLimit
    search.extend(ber::tlv(BOOLEAN, &[0])); // typesOnly
    search.extend(ber::tlv(FILTER_AND, &filter));
    search.extend(ber::tlv(SEQUENCE, &octets(b"NetLogon")));
    let mut msg = ber::tlv(INTEGER, &ber::int_content(message_id));
    msg.extend(ber::tlv(SEARCH_REQUEST, &search));
    ber::tlv(SEQUENCE, &msg)
}

/// The `NetLogon` values of a searchResEntry's attribute list.
fn netlogon_values<'a>(entry: &mut Reader<'a>) -> Result<Vec<&'a [u8]>, CldapError> {
    entry.expect(OCTET_STRING)?; // objectName
    let mut attrs = entry.nested(SEQUENCE)?;
    let mut found = Vec::new();
    while !attrs.is_empty() {
        let mut attr = attrs.nested(SEQUENCE)?;
        let kind = attr.expect(OCTET_STRING)?;
        let mut vals = attr.nested(SET)?;
        while !vals.is_empty() {
            let v = vals.expect(OCTET_STRING)?;
            if kind.eq_ignore_ascii_case(b"NetLogon") {
                found.push(v);
            }
        }
    }
    Ok(found)
}

/// Reads a ping reply datagram (a searchResEntry and a searchResDone, both with
/// `message_id`) and decodes its `NetLogon` value.
pub fn decode_reply(message_id: i32, bytes: &[u8]) -> Result<NetlogonInfo, CldapError> {
    let mut datagram = Reader::new(bytes);
    let mut value: Option<Vec<&[u8]>> = None;
    while !datagram.is_empty() {
        let mut msg = datagram.nested(SEQUENCE)?;
        let id = msg.int(INTEGER)?;
        if id != message_id {
            return Err(CldapError::WrongMessageId {
                want: message_id,
                got: id,
            });
        }
        let (tag, op) = msg.any()?;
        let mut op = Reader::new(op);
        match tag {
            SEARCH_RES_ENTRY => {
                value
                    .get_or_insert_with(Vec::new)
                    .extend(netlogon_values(&mut op)?);
            }
            SEARCH_RES_DONE => {
                let code = op.int(ENUMERATED)?;
                op.expect(OCTET_STRING)?; // matchedDN
                let diag = op.expect(OCTET_STRING)?;
                if code != 0 {
                    return Err(CldapError::Search {
                        code,
                        message: String::from_utf8_lossy(diag).into_owned(),
                    });
                }
                break;
            }
            other => {
                return Err(CldapError::Malformed(format!(
                    "unexpected LDAP operation {other:#04x}"
                )));
            }
        }
    }
    let values = value.unwrap_or_default();
    let [one] = values[..] else {
        return Err(CldapError::NetlogonCount(values.len()));
    };
    let r = netlogon::decode(one)?;
    Ok(NetlogonInfo {
        flags: r.flags,
        forest: r.forest,
        domain: r.domain,
        dc_host: r.dc_host,
        netbios_domain: r.netbios_domain,
        netbios_host: r.netbios_host,
        dc_site: r.dc_site,
        client_site: r.client_site,
        next_closest_site: r.next_closest_site,
        domain_guid: r.domain_guid,
    })
}

/// A fresh message id in `1..=i32::MAX`.
fn next_message_id() -> i32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let seed = std::process::id();
    let n = NEXT
        .fetch_add(1, Ordering::Relaxed)
        .wrapping_add(seed.wrapping_mul(7919));
    i32::try_from(n & 0x7fff_ffff).unwrap_or(1).max(1)
}

/// Pings the DC at `addr` for `domain`: one request, then waits up to `timeout` for a reply
/// from that address. Datagrams that do not decode are skipped (the last such error is
/// returned if nothing better arrives in time).
pub async fn ping(
    addr: SocketAddr,
    domain: &str,
    timeout: Duration,
) -> Result<NetlogonInfo, CldapError> {
    let io = |e: std::io::Error| CldapError::Io {
        addr,
        message: e.to_string(),
    };
    let local: SocketAddr = if addr.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let id = next_message_id();
    let request = encode_request(id, domain);
    let mut last = None;
    let exchange = async {
        let sock = UdpSocket::bind(local).await.map_err(io)?;
        sock.connect(addr).await.map_err(io)?;
        sock.send(&request).await.map_err(io)?;
        let mut buf = vec![0u8; MAX_DATAGRAM];
        loop {
            let n = sock.recv(&mut buf).await.map_err(io)?;
            match decode_reply(id, buf.get(..n).unwrap_or_default()) {
                Ok(info) => return Ok(info),
                Err(e) => {
                    tracing::debug!("CLDAP ping of {addr}: skipping a reply: {e}");
                    last = Some(e);
                }
            }
        }
    };
    let outcome = tokio::time::timeout(timeout, exchange).await;
    match outcome {
        Ok(r) => r,
        Err(_) => Err(last.unwrap_or(CldapError::Timeout {
            addr,
            waited: timeout,
        })),
    }
}

#[cfg(test)]
mod tests;
