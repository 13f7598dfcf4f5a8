//! Feeds arbitrary bytes to every decoder that reads another process's bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
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
});
