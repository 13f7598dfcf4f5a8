//! The target bodies. Each feeds its input to one decoder (or one family of decoders that
//! read the same bytes) exactly as the program that receives those bytes does, and checks
//! what the decoder promises: no panic, and where an encoder exists, that what was decoded
//! encodes back to something that decodes to the same value.

use std::path::Path;
use std::sync::OnceLock;

use sss_proto::command::{NSS_PROTOCOL_VERSION, PAM_PROTOCOL_VERSIONS};
use sss_proto::memcache::{BytesRegion, Header as McHeader, Table};
use sss_proto::{Header, child, nss, pam, resolver, services};
use sssd::config::DomainOptions;
use sssd::responder::common::client::negotiate_version;
use sssd::responder::common::names::parse_name;

/// Two configured domains for the name parsing of the responders: one case-sensitive, one
/// case-insensitive and fully qualified.
fn domains() -> &'static [DomainOptions] {
    static DOMAINS: OnceLock<Vec<DomainOptions>> = OnceLock::new();
    DOMAINS.get_or_init(|| {
        let plain = DomainOptions::defaults("example.com", "ldap");
        let mut fq = DomainOptions::defaults("LDAP", "ldap");
        fq.case_sensitive = false;
        fq.use_fully_qualified_names = true;
        fq.full_name_format = "%1$s@%2$s".to_string();
        vec![plain, fq]
    })
}

/// A client-supplied name through the responders' `name[@domain]` handling.
fn resolve_name(input: &str) {
    let (name, dom) = parse_name(input, domains());
    assert!(name.len() <= input.len(), "parse_name grew {input:?}");
    match dom.and_then(|i| domains().get(i)) {
        Some(d) => {
            let key = d.lookup_key(name);
            let _ = d.output_name(&key);
            let _ = d.internal_fq(&key);
        }
        None => assert_eq!(name, input, "no domain, yet the name was cut"),
    }
}

/// `nss_request`: what the NSS responder reads from a client: the packet header,
/// GET_VERSION, and the by-name, by-id (plain and `_EX`) and enumeration bodies, with the
/// name then split into `name@domain` as a lookup does.
pub fn nss_request(data: &[u8]) {
    if let Ok(h) = Header::decode(data) {
        assert_eq!(Header::decode(&h.encode()), Ok(h));
        let _ = h.body_len();
    }
    let _ = negotiate_version(&[NSS_PROTOCOL_VERSION], data);
    for ex in [false, true] {
        if let Ok((name, flags)) = nss::decode_name_request(data, ex) {
            let again = nss::encode_name_request(name.as_bytes(), ex.then_some(flags));
            assert_eq!(again, data, "name request does not encode back");
            resolve_name(name);
        }
        if let Ok((id, flags)) = nss::decode_id_request(data, ex) {
            let again = nss::encode_id_request(id, ex.then_some(flags));
            assert_eq!(again, data, "id request does not encode back");
        }
    }
    if let Ok(n) = nss::decode_enum_request(data) {
        assert_eq!(n.to_ne_bytes().as_slice(), data);
    }
    if let Ok((name, proto)) = services::decode_by_name_request(data) {
        let again = services::encode_by_name_request(name.as_bytes(), proto.map(str::as_bytes));
        assert_eq!(again, data, "getservbyname request does not encode back");
    }
    if let Ok((port, proto)) = services::decode_by_port_request(data) {
        let again = services::encode_by_port_request(port, proto.map(str::as_bytes));
        assert_eq!(
            services::decode_by_port_request(&again),
            Ok((port, proto)),
            "getservbyport request"
        );
    }
    if let Ok(name) = resolver::decode_by_name_request(data) {
        let again = resolver::encode_by_name_request(name.as_bytes());
        assert_eq!(
            again, data,
            "host/network by name request does not encode back"
        );
    }
    if let Ok(addr) = resolver::decode_by_addr_request(data) {
        let again = resolver::encode_by_addr_request(addr);
        assert_eq!(
            again, data,
            "host/network by address request does not encode back"
        );
    }
}

/// `pam_request`: a PAM request body as the PAM responder decodes it (protocol versions 2
/// and 3), then its `domains=` list and user name as the responder reads them.
pub fn pam_request(data: &[u8]) {
    let _ = negotiate_version(&PAM_PROTOCOL_VERSIONS, data);
    let v3 = pam::decode_request(data, 3);
    let Ok(req) = pam::decode_request(data, 2) else {
        assert!(v3.is_err(), "accepted as v3 but not as v2");
        return;
    };
    // Empty strings and empty tokens are normalised by one round; after that it is exact.
    let once = pam::decode_request(&pam::encode_request(&req), 2);
    let once = match once {
        Ok(r) => r,
        Err(e) => panic!("re-encoded PAM request does not decode: {e}"),
    };
    let twice = pam::decode_request(&pam::encode_request(&once), 2);
    assert_eq!(twice.as_ref(), Ok(&once), "PAM request round trip");
    let _ = sssd::responder::pam::trust::requested_domains(req.requested_domains.as_deref());
    if let Some(user) = req.user.as_deref().filter(|u| !u.is_empty()) {
        resolve_name(user);
    }
}

/// `krb5_child_request`: what `krb5_child` reads on stdin, and what it does with the
/// request before talking to libkrb5 (ccache name, private profile).
pub fn krb5_child_request(data: &[u8]) {
    let Ok(req) = child::decode_krb5_request(data) else {
        return;
    };
    let again = child::decode_krb5_request(&child::encode_krb5_request(&req));
    assert!(again.as_ref() == Ok(&req), "krb5_child request round trip");
    let _ = sssd_helpers::ccache::CcName::parse(&req.ccname);
    let _ = sssd_helpers::private_profile_text("krb5_child", &req.realm, &req.kdcs, &req.kpasswd);
}

/// `ldap_child_request`: what `ldap_child` reads on stdin, and the principal and profile
/// it derives from it.
pub fn ldap_child_request(data: &[u8]) {
    let Ok(req) = child::decode_ldap_request(data) else {
        return;
    };
    let again = child::decode_ldap_request(&child::encode_ldap_request(&req));
    assert_eq!(again.as_ref(), Ok(&req), "ldap_child request round trip");
    let _ = sssd_helpers::ldap_child::principal_name(&req);
    let _ = sssd_helpers::private_profile_text("ldap_child", &req.realm, &req.kdcs, &[]);
}

/// `proxy_child`: what `sssd_be` reads from `proxy_child` (NSS and PAM replies, frame
/// headers) and what `proxy_child` reads from `sssd_be` (NSS and PAM requests), each with a
/// re-encode round trip.
pub fn proxy_child(data: &[u8]) {
    use sss_proto::proxy::{self, NssReply, NssRequest, PamReply, PamRequest};
    if let Ok(r) = NssReply::decode(data) {
        assert_eq!(
            NssReply::decode(&r.encode()).as_ref(),
            Ok(&r),
            "NSS reply round trip"
        );
    }
    if let Ok(r) = NssRequest::decode(data) {
        assert_eq!(
            NssRequest::decode(&r.encode()).as_ref(),
            Ok(&r),
            "NSS request round trip"
        );
    }
    if let Ok(r) = PamReply::decode(data) {
        assert_eq!(
            PamReply::decode(&r.encode()).as_ref(),
            Ok(&r),
            "PAM reply round trip"
        );
    }
    if let Ok(r) = PamRequest::decode(data) {
        assert!(
            PamRequest::decode(&r.encode()) == Ok(r),
            "PAM request round trip"
        );
    }
    if let Some(h) = data.first_chunk::<4>() {
        let _ = proxy::frame_len(*h, proxy::MAX_FRAME);
    }
}

/// `child_reply`: what `sssd_be` reads from `krb5_child` and `ldap_child` on their stdout
/// (the same bytes fed to both), including the ccache name it takes from the items.
pub fn child_reply(data: &[u8]) {
    if let Ok(reply) = child::decode_krb5_reply(data) {
        let again = child::decode_krb5_reply(&child::encode_krb5_reply(&reply));
        assert_eq!(again.as_ref(), Ok(&reply), "krb5_child reply round trip");
        for (kind, item) in &reply.messages {
            let _ = sssd::backend::krb5::ccname_of(*kind, item);
        }
    }
    if let Ok(reply) = child::decode_ldap_reply(data) {
        let again = child::decode_ldap_reply(&child::encode_ldap_reply(&reply));
        assert_eq!(again.as_ref(), Ok(&reply), "ldap_child reply round trip");
    }
    gpo(data);
}

/// What the GPO check reads from `gpo_child` (its reply, and the request the helper reads)
/// and from the DC (a GPO's security descriptor, a policy file, a `gPLink` value).
fn gpo(data: &[u8]) {
    use sss_proto::gpo_child as g;
    use sssd::backend::ad::gpo::{inf, links, security_descriptor};
    if let Ok(files) = g::decode_gpo_reply(data) {
        let again = g::decode_gpo_reply(&g::encode_gpo_reply(&files));
        assert_eq!(again.as_ref(), Ok(&files), "gpo_child reply round trip");
    }
    if let Ok(req) = g::decode_gpo_request(data) {
        let again = g::decode_gpo_request(&g::encode_gpo_request(&req));
        assert_eq!(again.as_ref(), Ok(&req), "gpo_child request round trip");
    }
    if let Ok(sd) = security_descriptor::parse(data) {
        let _ = security_descriptor::applies(&sd, &[]);
    }
    if let Ok(text) = inf::decode("fuzz", data) {
        let _ = inf::value(&text, "Privilege Rights", "SeInteractiveLogonRight");
        let _ = links::parse_gplink("DC=fuzz", &text, false);
        let _ = links::scopes(&text);
    }
}

/// `cache_record`: a value read from the LMDB cache, decoded as every kind of record the
/// cache keeps (a damaged or foreign database may hold anything).
pub fn cache_record(data: &[u8]) {
    use sssd::cache::fuzzing as c;
    if let Some(u) = c::decode_user(data) {
        assert_eq!(
            c::decode_user(&c::encode_user(&u)),
            Some(u),
            "user round trip"
        );
    }
    if let Some(g) = c::decode_group(data) {
        let head = c::decode_group_head(data);
        assert_eq!(head, Some((g.name.as_str(), g.gid)), "group head disagrees");
        assert_eq!(
            c::decode_group(&c::encode_group(&g)),
            Some(g),
            "group round trip"
        );
    } else {
        let _ = c::decode_group_head(data);
    }
    if let Some(gids) = c::decode_gids(data) {
        assert_eq!(
            c::decode_gids(&c::encode_gids(&gids)),
            Some(gids),
            "gids round trip"
        );
    }
    if let Some((last, expire)) = c::decode_stamp(data) {
        assert_eq!(
            c::encode_stamp(last, expire).as_slice(),
            data,
            "stamp round trip"
        );
    }
    if let Some(creds) = c::decode_credentials(data) {
        let again = c::decode_credentials(&c::encode_credentials(&creds));
        assert!(again.as_ref() == Some(&creds), "credentials round trip");
    }
    if let Some(rec) = c::decode_access(data) {
        assert_eq!(c::encode_access(&rec), data, "access record round trip");
    }
}

/// `memcache`: a memory-cache file (`/var/lib/sss/mc/*`) as the client-side reader sees
/// it: header, hash table and records all from the input, then every kind of lookup.
pub fn memcache(data: &[u8]) {
    let region = BytesRegion::from_bytes(data.to_vec());
    let Some(h) = McHeader::read(&region) else {
        return;
    };
    let _ = h.usable();
    let Ok(t) = Table::new(&region, &h) else {
        return;
    };
    let mut buf = [0u8; 512];
    let mut gids = Vec::new();
    for name in [&b"user1"[..], b"group1", b""] {
        let _ = t.passwd_by_name(name, 0, &mut buf);
        let _ = t.group_by_name(name, 0, &mut buf);
        let _ = t.initgroups(name, 0, &mut gids);
    }
    for id in [0, 1001, 2001, u32::MAX] {
        let _ = t.passwd_by_uid(id, 0, &mut buf);
        let _ = t.group_by_gid(id, 0, &mut buf);
    }
    // A tiny output buffer takes the ERANGE paths.
    let mut tiny = [0u8; 8];
    let _ = t.passwd_by_name(b"user1", 0, &mut tiny);
    let _ = t.group_by_gid(2001, 0, &mut tiny);
}

/// `config`: an `sssd.conf` (or a conf.d snippet) through the parser and every typed
/// option set the daemons build from it.
pub fn config(data: &[u8]) {
    use sssd::config::options::{DomainOptions, LdapOptions, NssOptions, SssdOptions, debug_level};
    use sssd::config::{Config, auth_options};
    let text = String::from_utf8_lossy(data);
    let Ok(cfg) = Config::parse(&text, "fuzz.conf") else {
        return;
    };
    let _ = cfg.unknown_sections();
    let _ = cfg.unknown_options();
    let _ = cfg.services();
    let _ = SssdOptions::from_config(&cfg);
    let _ = NssOptions::from_config(&cfg);
    let _ = auth_options::PamOptions::from_config(&cfg);
    for section in cfg.sections() {
        let _ = debug_level(&cfg, section);
        let _ = sssd::config::schema::CLIENT_IDLE_TIMEOUT.read(&cfg, section);
    }
    if let Ok(domains) = cfg.domains() {
        for d in &domains {
            let _ = DomainOptions::from_config(&cfg, d);
            let _ = LdapOptions::from_config(&cfg, d);
            let _ = auth_options::AuthOptions::from_config(&cfg, d);
        }
    }
    let _ = sssd::responder::common::settings::NssSettings::from_config(&cfg, "/bin/sh\n");
    let _ = sssd::responder::pam::settings::PamSettings::from_config(&cfg, |_| None);
    let _ = sssd::responder::nss::memcache::settings_from_config(&cfg, Path::new("/nonexistent"));
}

/// `nss_reply`: what `libnss_sss` reads from the NSS responder: the header, and the body
/// as a passwd, group, enumeration batch or initgroups reply, filled into C structs.
pub fn nss_reply(data: &[u8]) {
    if let Ok(h) = Header::decode(data) {
        let _ = h.body_len();
    }
    if let Ok(e) = nss::decode_passwd_reply(data) {
        let again = nss::encode_passwd_reply(&e);
        assert_eq!(
            nss::decode_passwd_reply(&again).as_ref(),
            Ok(&e),
            "passwd reply"
        );
    }
    if let Ok(e) = nss::decode_group_reply(data) {
        let again = nss::encode_group_reply(&e);
        assert_eq!(
            nss::decode_group_reply(&again).as_ref(),
            Ok(&e),
            "group reply"
        );
    }
    if let Ok(g) = nss::decode_initgr_reply(data) {
        let again = nss::encode_initgr_reply(&g);
        assert_eq!(nss::decode_initgr_reply(&again), Ok(g), "initgroups reply");
    }
    if let Ok(e) = services::decode_reply(data) {
        let again = services::encode_reply(&e);
        assert_eq!(services::decode_reply(&again), Ok(e), "services reply");
    }
    if let Ok(e) = resolver::decode_host_reply(data) {
        let again = resolver::encode_host_reply(&e);
        assert_eq!(resolver::decode_host_reply(&again), Ok(e), "hosts reply");
    }
    if let Ok(e) = resolver::decode_net_reply(data) {
        let again = resolver::encode_net_reply(&e);
        assert_eq!(resolver::decode_net_reply(&again), Ok(e), "networks reply");
    }
    let mut small = [0u8; 48];
    let _ = nss_sss::fuzzing::read_reply(data, &mut small);
    let mut big = vec![0u8; 4096];
    let _ = nss_sss::fuzzing::read_reply(data, &mut big);
}

/// `netgroup_reply`: a SETNETGRENT reply as libnss_sss reads it (`sss_proto::netgroup`,
/// then `nss_sss::netgroup::walk_reply`, entry by entry into a small and a large buffer as
/// `getnetgrent_r` does), and a SETNETGRENT request as `sssd_nss` reads it.
pub fn netgroup_reply(data: &[u8]) {
    use sss_proto::netgroup;
    if let Ok(Some(entries)) = netgroup::decode_setnetgrent_reply(data) {
        let again = netgroup::encode_setnetgrent_reply(&entries);
        assert_eq!(
            netgroup::decode_setnetgrent_reply(&again),
            Ok(Some(entries)),
            "netgroup reply"
        );
    }
    let mut small = [0u8; 16];
    let _ = nss_sss::netgroup::walk_reply(data, &mut small);
    let mut big = vec![0u8; 1024];
    let _ = nss_sss::netgroup::walk_reply(data, &mut big);
    if let Ok(name) = netgroup::decode_setnetgrent_request(data) {
        resolve_name(name);
    }
}

/// A PAM handle that accepts everything and keeps nothing.
struct NullHandler;

impl pam_sss::PamHandler for NullHandler {
    fn item(&mut self, _: pam_sss::Item) -> Result<Option<Vec<u8>>, i32> {
        Ok(None)
    }
    fn authtok(&mut self, _: pam_sss::Tok) -> Result<Option<pam_sss::Secret>, i32> {
        Ok(None)
    }
    fn set_authtok(&mut self, _: pam_sss::Tok, _: Option<&[u8]>) -> Result<(), i32> {
        Ok(())
    }
    fn prompt_secret(&mut self, _: &str) -> Result<Option<pam_sss::Secret>, i32> {
        Ok(None)
    }
    fn info(&mut self, _: &str) -> Result<(), i32> {
        Ok(())
    }
    fn error(&mut self, _: &str) -> Result<(), i32> {
        Ok(())
    }
    fn putenv(&mut self, _: &str) -> Result<(), i32> {
        Ok(())
    }
    fn process_putenv(&mut self, _: &str) -> Result<(), i32> {
        Ok(())
    }
    fn set_data(&mut self, _: &str, _: &[u8]) -> Result<(), i32> {
        Ok(())
    }
    fn has_data(&mut self, _: &str) -> bool {
        false
    }
    fn syslog(&mut self, _: pam_sss::Level, _: &str) {}
}

/// `pam_reply`: what `pam_sss` reads from the PAM responder: the reply body, then every
/// item acted on (messages, environment, domain name) as the module does.
pub fn pam_reply(data: &[u8]) {
    let Ok(reply) = pam::decode_reply(data) else {
        return;
    };
    let sent: Vec<_> = reply
        .items
        .iter()
        .filter(|i| i.kind & pam::response::SERVER_INFO_BIT == 0)
        .cloned()
        .collect();
    let again = pam::decode_reply(&pam::encode_reply(&reply));
    let expected = pam::PamReply {
        status: reply.status,
        items: sent,
    };
    assert_eq!(again, Ok(expected), "PAM reply round trip");
    let _ = pam_sss::response::apply(&mut NullHandler, &reply);
}

/// `sudo_request`: what `sssd_sudo` reads from a client (`sss_proto::sudo::decode_request`).
pub fn sudo_request(data: &[u8]) {
    if let Ok(r) = sss_proto::sudo::decode_request(data) {
        let again = sss_proto::sudo::encode_request(r.uid, r.name.as_bytes());
        assert_eq!(again.as_slice(), data, "sudo request round trip");
    }
}

/// `sudo_reply`: what `libsss_sudo.so` reads from the sudo responder: the reply body, then
/// the C structures sudo receives (built, searched and freed as sudo does).
pub fn sudo_reply(data: &[u8]) {
    use sss_proto::sudo::{SudoReply, decode_reply, encode_rules};
    let Ok(SudoReply::Rules(rules)) = decode_reply(data) else {
        return;
    };
    assert_eq!(
        decode_reply(&encode_rules(&rules)),
        Ok(SudoReply::Rules(rules.clone())),
        "sudo reply round trip"
    );
    let res = sss_sudo::cabi::to_c(&rules);
    assert!(!res.is_null(), "sudo result allocation");
    // SAFETY: res is a fresh result from to_c, freed once below.
    unsafe {
        for i in 0..(*res).num_rules as usize {
            let rule = &*(*res).rules.add(i);
            if let Ok(v) = sss_sudo::cabi::get_values(rule, b"sudoUser") {
                sss_sudo::cabi::free_values(v);
            }
        }
        sss_sudo::cabi::free_result(res);
    }
}

/// `autofs`: both directions of the autofs socket. The first byte picks the command
/// (`0xD1 + b % 4`); the rest is fed to the responder's request decoder and to the three
/// reply decoders `libsss_autofs` uses; whatever decodes must re-encode to the same value.
pub fn autofs(data: &[u8]) {
    use sss_proto::autofs as a;
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let cmd = a::SETAUTOMNTENT + u32::from(first % 4);
    if let Ok(req) = a::decode_request(cmd, body) {
        let (c, b) = a::encode_request(&req);
        assert_eq!(
            a::decode_request(c, &b),
            Ok(req),
            "autofs request round trip"
        );
    }
    let _ = a::decode_setent_reply(body);
    if let Ok(v) = a::decode_byname_reply(body) {
        let again = a::decode_byname_reply(&a::encode_byname_reply(v.as_deref()));
        assert_eq!(again, Ok(v), "autofs by-name reply round trip");
    }
    if let Ok(entries) = a::decode_getent_reply(body) {
        let again = a::decode_getent_reply(&a::encode_getent_reply(&entries));
        assert_eq!(again, Ok(entries), "autofs getent reply round trip");
    }
}

/// `ssh`: the bodies of the ssh commands. The request as `sssd_ssh` reads it
/// (`sss_proto::ssh::decode_request`, then the name through `name@domain` parsing), the
/// reply as `sss_ssh_authorizedkeys` reads it (`decode_reply`, then every key through
/// `format_key`), and the `ssh_keys` cache record (`sssd::cache::ssh::fuzzing`).
pub fn ssh(data: &[u8]) {
    use sss_proto::ssh;
    if let Ok(r) = ssh::decode_request(data) {
        resolve_name(r.name);
        if r.domain_given {
            // The client always sends a domain field: such a request encodes back.
            let again = ssh::encode_request(r.name, r.alias, r.domain);
            assert_eq!(ssh::decode_request(&again), Ok(r), "ssh request");
        }
    }
    if let Ok(reply) = ssh::decode_reply(data) {
        for k in &reply.keys {
            if let Ok(line) = ssh::format_key(k) {
                assert!(!line.contains(&b'\n'), "a key line holds a line break");
            }
        }
        if let Some(name) = &reply.name {
            let again = ssh::encode_reply(name, &reply.keys);
            let decoded = ssh::decode_reply(&again).map(|r| r.keys);
            let kept: Vec<Vec<u8>> = reply.keys.into_iter().filter(|k| !k.is_empty()).collect();
            assert_eq!(decoded, Ok(kept), "ssh reply");
        }
    }
    if let Some(keys) = sssd::cache::ssh::fuzzing::decode_ssh_keys(data) {
        let again = sssd::cache::ssh::fuzzing::encode_ssh_keys(&keys);
        assert_eq!(
            sssd::cache::ssh::fuzzing::decode_ssh_keys(&again),
            Some(keys),
            "ssh_keys record"
        );
    }
}
