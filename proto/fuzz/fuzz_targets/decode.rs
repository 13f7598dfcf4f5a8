//! Feeds arbitrary bytes to every decoder that reads another process's bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sss_proto::memcache::{BytesRegion, Header as McHeader, Table};
use sss_proto::{child, nss, pam, Header};

fuzz_target!(|data: &[u8]| {
    let _ = Header::decode(data);
    let _ = nss::decode_passwd_reply(data);
    let _ = nss::decode_group_reply(data);
    let _ = nss::decode_initgr_reply(data);
    let _ = nss::decode_name_request(data, false);
    let _ = nss::decode_name_request(data, true);
    let _ = nss::decode_id_request(data, false);
    let _ = nss::decode_id_request(data, true);
    let _ = nss::decode_enum_request(data);
    let _ = pam::decode_request(data, 2);
    let _ = pam::decode_request(data, 3);
    let _ = pam::decode_reply(data);
    let _ = child::decode_krb5_request(data);
    let _ = child::decode_krb5_reply(data);
    let _ = child::decode_ldap_request(data);
    let _ = child::decode_ldap_reply(data);
    // A memory-cache file: header, tables and records all from the input.
    let region = BytesRegion::from_bytes(data.to_vec());
    if let Some(h) = McHeader::read(&region) {
        if let Ok(t) = Table::new(&region, &h) {
            let mut buf = [0u8; 512];
            let mut gids = Vec::new();
            let _ = t.passwd_by_name(b"user1", 0, &mut buf);
            let _ = t.passwd_by_uid(1001, 0, &mut buf);
            let _ = t.group_by_name(b"group1", 0, &mut buf);
            let _ = t.group_by_gid(2001, 0, &mut buf);
            let _ = t.initgroups(b"user1", 0, &mut gids);
        }
    }
});
