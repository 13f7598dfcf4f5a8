//! `ldap_child`: gets a TGT from a keytab for GSSAPI binds; request on stdin, reply on
//! stdout.

use std::process::ExitCode;

use sss_proto::child::{LdapChildReply, decode_ldap_request, encode_ldap_reply};
use sssd_helpers::{ldap_child, log, read_stdin, send_reply, use_private_profile};

/// Every freed heap block is wiped: keytab keys pass through this process.
#[global_allocator]
static ALLOC: sss_proto::wipe_alloc::WipeOnFree = sss_proto::wipe_alloc::WipeOnFree;

fn failure() -> LdapChildReply {
    LdapChildReply {
        result: libc::EINVAL as u32,
        ..LdapChildReply::default()
    }
}

fn main() -> ExitCode {
    // SAFETY: called first, while single-threaded.
    unsafe { libc::umask(0o077) };
    log::init("ldap_child");
    let reply = match read_stdin() {
        Err(e) => {
            log::op_failure("main", format!("cannot read the request from stdin: {e}"));
            failure()
        }
        Ok(buf) => match decode_ldap_request(&buf) {
            Err(e) => {
                log::op_failure("main", format!("malformed request from the backend: {e}"));
                failure()
            }
            Ok(req) => match use_private_profile("ldap_child", &req.realm, &req.kdcs, &[]) {
                Ok(profile) => {
                    let reply = ldap_child::run(&req);
                    drop(profile);
                    reply
                }
                Err(e) => {
                    log::op_failure("main", &e);
                    failure()
                }
            },
        },
    };
    match send_reply(&encode_ldap_reply(&reply)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::op_failure("main", format!("cannot write the reply: {e}"));
            ExitCode::FAILURE
        }
    }
}
