use super::*;

/// A real reply of a Samba 4 AD DC (corp.example.com, one site) to
/// `encode_request(7, "corp.example.com")`, captured by tests/tests/ad_locator.rs.
const SAMBA_ONE_SITE: &str = "307a020107647504003071306f04086e65746c6f676f6e3163046117000000fd130000\
fc7b7ef47f5d8543aaf9d0a9a0c0ff6604636f7270076578616d706c6503636f6d00c01803646331c01804434f5250\
000344433100001744656661756c742d46697273742d536974652d4e616d6500c03e05000000ffffffff300c020107\
65070a010004000400";

/// The same DC once the client's subnet belongs to site "Branch" (the DC stays in the
/// default site); its first message has a long-form length.
const SAMBA_BRANCH: &str = "308180020107647b04003077307504086e65746c6f676f6e316904671700000\
07d1300006dab8a4577ed3f469d08740e40378f3804636f7270076578616d706c6503636f6d00c01803646331c0180\
4434f5250000344433100001744656661756c742d46697273742d536974652d4e616d6500064272616e636800050000\
00ffffffff300c02010765070a010004000400";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The LDAP messages of a datagram as (id, operation tag, operation content).
fn messages(d: &[u8]) -> Vec<(i32, u8, Vec<u8>)> {
    let mut r = Reader::new(d);
    let mut out = Vec::new();
    while !r.is_empty() {
        let mut m = r.nested(SEQUENCE).unwrap();
        let id = m.int(INTEGER).unwrap();
        let (tag, c) = m.any().unwrap();
        out.push((id, tag, c.to_vec()));
    }
    out
}

fn datagram(msgs: &[(i32, u8, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (id, tag, c) in msgs {
        let mut m = ber::tlv(INTEGER, &ber::int_content(*id));
        m.extend(ber::tlv(*tag, c));
        out.extend(ber::tlv(SEQUENCE, &m));
    }
    out
}

/// `d` with every message id replaced by `id`.
fn with_id(d: &[u8], id: i32) -> Vec<u8> {
    let msgs: Vec<_> = messages(d)
        .into_iter()
        .map(|(_, t, c)| (id, t, c))
        .collect();
    datagram(&msgs)
}

/// The searchResEntry content carrying `values` as NetLogon.
fn entry(values: &[&[u8]]) -> Vec<u8> {
    let mut set = Vec::new();
    for v in values {
        set.extend(ber::tlv(OCTET_STRING, v));
    }
    let mut attr = ber::tlv(OCTET_STRING, b"netlogon");
    attr.extend(ber::tlv(SET, &set));
    let mut c = ber::tlv(OCTET_STRING, b"");
    c.extend(ber::tlv(SEQUENCE, &ber::tlv(SEQUENCE, &attr)));
    c
}

fn done(code: u8, diag: &str) -> Vec<u8> {
    let mut c = ber::tlv(ENUMERATED, &[code]);
    c.extend(ber::tlv(OCTET_STRING, b""));
    c.extend(ber::tlv(OCTET_STRING, diag.as_bytes()));
    c
}

/// The NetLogon value of the one-site vector.
fn samba_netlogon() -> Vec<u8> {
    let entry = &messages(&hex(SAMBA_ONE_SITE))[0].2;
    let mut r = Reader::new(entry);
    netlogon_values(&mut r).unwrap()[0].to_vec()
}

#[test]
fn decodes_a_real_samba_reply() {
    let info = decode_reply(7, &hex(SAMBA_ONE_SITE)).unwrap();
    assert_eq!(info.forest, "corp.example.com");
    assert_eq!(info.domain, "corp.example.com");
    assert_eq!(info.dc_host, "dc1.corp.example.com");
    assert_eq!(info.netbios_domain, "CORP");
    assert_eq!(info.netbios_host, "DC1");
    assert_eq!(info.dc_site, "Default-First-Site-Name");
    assert_eq!(info.client_site, "Default-First-Site-Name");
    assert_eq!(info.next_closest_site, "");
    assert_eq!(info.site(), Some("Default-First-Site-Name"));
    assert_eq!(info.flags, 0x13fd);
    assert_ne!(info.flags & DS_CLOSEST_FLAG, 0);
    assert_eq!(info.domain_guid[..4], [0xfc, 0x7b, 0x7e, 0xf4]);

    let branch = decode_reply(7, &hex(SAMBA_BRANCH)).unwrap();
    assert_eq!(branch.dc_site, "Default-First-Site-Name");
    assert_eq!(branch.client_site, "Branch");
    assert_eq!(branch.site(), Some("Branch"));
    assert_eq!(branch.flags & DS_CLOSEST_FLAG, 0);
}

#[test]
fn the_request_is_the_search_sssd_sends() {
    let req = encode_request(0x1234, "corp.example.com");
    let msgs = messages(&req);
    assert_eq!(msgs.len(), 1);
    let (id, tag, body) = &msgs[0];
    assert_eq!((*id, *tag), (0x1234, SEARCH_REQUEST));
    let mut s = Reader::new(body);
    assert_eq!(s.expect(OCTET_STRING).unwrap(), b"");
    assert_eq!(s.int(ENUMERATED).unwrap(), 0);
    assert_eq!(s.int(ENUMERATED).unwrap(), 0);
    assert_eq!(s.int(INTEGER).unwrap(), 0);
    assert_eq!(s.int(INTEGER).unwrap(), 0);
    assert_eq!(s.expect(BOOLEAN).unwrap(), &[0]);
    let mut and = s.nested(FILTER_AND).unwrap();
    let mut eq = and.nested(FILTER_EQUALITY).unwrap();
    assert_eq!(eq.expect(OCTET_STRING).unwrap(), b"DnsDomain");
    assert_eq!(eq.expect(OCTET_STRING).unwrap(), b"corp.example.com");
    let mut eq = and.nested(FILTER_EQUALITY).unwrap();
    assert_eq!(eq.expect(OCTET_STRING).unwrap(), b"NtVer");
    // NETLOGON_NT_VERSION_5EX | NETLOGON_NT_VERSION_WITH_CLOSEST_SITE, little endian.
    assert_eq!(eq.expect(OCTET_STRING).unwrap(), &[0x14, 0, 0, 0]);
    assert!(and.is_empty());
    let mut attrs = s.nested(SEQUENCE).unwrap();
    assert_eq!(attrs.expect(OCTET_STRING).unwrap(), b"NetLogon");
    assert!(attrs.is_empty() && s.is_empty());
}

#[test]
fn wrong_message_id_is_refused() {
    assert_eq!(
        decode_reply(8, &hex(SAMBA_ONE_SITE)),
        Err(CldapError::WrongMessageId { want: 8, got: 7 })
    );
    // The entry right, the done for someone else.
    let mut msgs = messages(&hex(SAMBA_ONE_SITE));
    msgs[1].0 = 99;
    assert!(matches!(
        decode_reply(7, &datagram(&msgs)),
        Err(CldapError::WrongMessageId { got: 99, .. })
    ));
}

#[test]
fn every_truncation_fails_cleanly() {
    for vector in [SAMBA_ONE_SITE, SAMBA_BRANCH] {
        let full = hex(vector);
        for n in 0..full.len() {
            let r = decode_reply(7, &full[..n]);
            // Only the entry without its done message is still usable.
            assert_eq!(r.is_ok(), n == full.len() - 14, "cut at {n}: {r:?}");
        }
    }
}

#[test]
fn oversize_and_garbage_lengths_are_refused() {
    let mut full = hex(SAMBA_ONE_SITE);
    // The outer SEQUENCE claims 0x7f bytes (more than the datagram).
    full[1] = 0x7f;
    assert!(matches!(
        decode_reply(7, &full),
        Err(CldapError::Malformed(_))
    ));
    // A four-byte length of 4 GiB - 1.
    let huge = [0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x02, 0x01, 0x07];
    assert!(matches!(
        decode_reply(7, &huge),
        Err(CldapError::Malformed(_))
    ));
    // Indefinite length, a message id wider than 32 bits, an unknown operation.
    assert!(matches!(
        decode_reply(7, &[0x30, 0x80, 0, 0]),
        Err(CldapError::Malformed(_))
    ));
    let wide = [0x30, 0x07, 0x02, 0x05, 1, 0, 0, 0, 7];
    assert!(matches!(
        decode_reply(7, &wide),
        Err(CldapError::Malformed(_))
    ));
    let op = datagram(&[(7, 0x61, vec![])]);
    assert!(matches!(
        decode_reply(7, &op),
        Err(CldapError::Malformed(_))
    ));
    // The NetLogon value's NtVersion tail beyond the value: truncated value.
    let nl = samba_netlogon();
    let short = datagram(&[
        (7, SEARCH_RES_ENTRY, entry(&[&nl[..20]])),
        (7, SEARCH_RES_DONE, done(0, "")),
    ]);
    assert!(matches!(
        decode_reply(7, &short),
        Err(CldapError::Netlogon(netlogon::NetlogonError::Truncated(_)))
    ));
}

#[test]
fn pointer_loops_in_the_real_value_are_refused() {
    let nl = samba_netlogon();
    // The domain name is a pointer (c0 18) at offset 42: make it point at itself, then
    // forward.
    assert_eq!(&nl[42..44], &[0xc0, 0x18]);
    for target in [42u8, 43, 60] {
        let mut bad = nl.clone();
        bad[43] = target;
        let d = datagram(&[
            (7, SEARCH_RES_ENTRY, entry(&[&bad])),
            (7, SEARCH_RES_DONE, done(0, "")),
        ]);
        assert!(
            matches!(
                decode_reply(7, &d),
                Err(CldapError::Netlogon(netlogon::NetlogonError::BadName(42)))
            ),
            "pointer to {target}"
        );
    }
}

#[test]
fn results_without_one_netlogon_value() {
    let nl = samba_netlogon();
    let d = datagram(&[(7, SEARCH_RES_DONE, done(0, ""))]);
    assert_eq!(decode_reply(7, &d), Err(CldapError::NetlogonCount(0)));
    let d = datagram(&[
        (7, SEARCH_RES_ENTRY, entry(&[&nl, &nl])),
        (7, SEARCH_RES_DONE, done(0, "")),
    ]);
    assert_eq!(decode_reply(7, &d), Err(CldapError::NetlogonCount(2)));
    let d = datagram(&[(7, SEARCH_RES_DONE, done(53, "unwilling"))]);
    assert_eq!(
        decode_reply(7, &d),
        Err(CldapError::Search {
            code: 53,
            message: "unwilling".into()
        })
    );
    assert_eq!(decode_reply(7, &[]), Err(CldapError::NetlogonCount(0)));
    // An entry alone (no done) is enough.
    let d = datagram(&[(7, SEARCH_RES_ENTRY, entry(&[&nl]))]);
    assert!(decode_reply(7, &d).is_ok());
}

/// A UDP "DC" on loopback that answers each request with `replies(request id)`.
async fn fake_dc(
    replies: impl Fn(i32) -> Vec<Vec<u8>> + Send + 'static,
) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = sock.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut buf = vec![0u8; 2048];
        loop {
            let (n, peer) = sock.recv_from(&mut buf).await.unwrap();
            let id = messages(&buf[..n])[0].0;
            for r in replies(id) {
                sock.send_to(&r, peer).await.unwrap();
            }
        }
    });
    (addr, task)
}

#[tokio::test]
async fn ping_skips_strays_and_takes_its_answer() {
    let (addr, task) = fake_dc(|id| {
        vec![
            b"junk".to_vec(),
            with_id(&hex(SAMBA_ONE_SITE), id.wrapping_add(1)),
            with_id(&hex(SAMBA_BRANCH), id),
        ]
    })
    .await;
    let info = ping(addr, "corp.example.com", Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(info.client_site, "Branch");
    task.abort();
}

#[tokio::test]
async fn ping_gives_up_at_its_deadline() {
    // Only strays: the last one's error is reported at the deadline.
    let (addr, task) = fake_dc(|id| vec![with_id(&hex(SAMBA_ONE_SITE), id.wrapping_add(1))]).await;
    let started = std::time::Instant::now();
    let r = ping(addr, "corp.example.com", Duration::from_millis(200)).await;
    assert!(matches!(r, Err(CldapError::WrongMessageId { .. })), "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(1));
    task.abort();
    // Silence.
    let (addr, task) = fake_dc(|_| Vec::new()).await;
    let r = ping(addr, "corp.example.com", Duration::from_millis(200)).await;
    assert!(matches!(r, Err(CldapError::Timeout { .. })), "{r:?}");
    task.abort();
}

#[tokio::test]
async fn ping_of_a_closed_port_fails_fast() {
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = sock.local_addr().unwrap();
    drop(sock);
    let started = std::time::Instant::now();
    let r = ping(addr, "corp.example.com", Duration::from_secs(2)).await;
    assert!(
        matches!(r, Err(CldapError::Io { .. } | CldapError::Timeout { .. })),
        "{r:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}
