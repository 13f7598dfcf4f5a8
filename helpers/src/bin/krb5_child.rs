//! `krb5_child`: one Kerberos request from the backend on stdin, the reply on stdout.

use std::process::ExitCode;

use sss_proto::child::{Krb5Reply, decode_krb5_request, encode_krb5_reply};
use sss_proto::pam::status;
use sssd_helpers::{krb5_child, log, preload, read_stdin, send_reply, use_private_profile};

/// Every freed heap block is wiped: passwords pass through this process.
#[global_allocator]
static ALLOC: sss_proto::wipe_alloc::WipeOnFree = sss_proto::wipe_alloc::WipeOnFree;

fn main() -> ExitCode {
    // SAFETY: called first, while single-threaded.
    unsafe { libc::umask(0o077) };
    log::init("krb5_child");
    // The backend may start this program before it has a request: load what libkrb5 will
    // load anyway while nobody waits.
    if let Some(dir) = preload::preauth_plugin_dir() {
        preload::load_plugins(&dir);
    }
    let reply = match read_stdin() {
        // The backend closed stdin without a request (a spare helper it no longer needs).
        Ok(buf) if buf.is_empty() => return ExitCode::SUCCESS,
        Err(e) => {
            log::op_failure("main", format!("cannot read the request from stdin: {e}"));
            Krb5Reply {
                status: status::SYSTEM_ERR,
                messages: vec![],
            }
        }
        Ok(buf) => match decode_krb5_request(&buf) {
            Err(e) => {
                log::op_failure("main", format!("malformed request from the backend: {e}"));
                Krb5Reply {
                    status: status::SYSTEM_ERR,
                    messages: vec![],
                }
            }
            Ok(req) => {
                match use_private_profile("krb5_child", &req.realm, &req.kdcs, &req.kpasswd) {
                    Ok(profile) => krb5_child::run(&req, profile),
                    Err(e) => {
                        log::op_failure("main", &e);
                        Krb5Reply {
                            status: status::SYSTEM_ERR,
                            messages: vec![],
                        }
                    }
                }
            }
        },
    };
    match send_reply(&encode_krb5_reply(&reply)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::op_failure("main", format!("cannot write the reply: {e}"));
            ExitCode::FAILURE
        }
    }
}
