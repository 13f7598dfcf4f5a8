//! `krb5_child`: one Kerberos request from the backend on stdin, the reply on stdout.

use std::io::Write;
use std::process::ExitCode;

use sss_proto::child::{Krb5Reply, decode_krb5_request, encode_krb5_reply};
use sss_proto::pam::status;
use sssd_helpers::{krb5_child, read_stdin, use_private_profile};

fn main() -> ExitCode {
    // SAFETY: called first, while single-threaded.
    unsafe { libc::umask(0o077) };
    let reply = match read_stdin() {
        Err(e) => {
            eprintln!("krb5_child: cannot read the request from stdin: {e}");
            Krb5Reply {
                status: status::SYSTEM_ERR,
                messages: vec![],
            }
        }
        Ok(buf) => match decode_krb5_request(&buf) {
            Err(e) => {
                eprintln!("krb5_child: malformed request from the backend: {e}");
                Krb5Reply {
                    status: status::SYSTEM_ERR,
                    messages: vec![],
                }
            }
            Ok(req) => {
                match use_private_profile("krb5_child", &req.realm, &req.kdcs, &req.kpasswd) {
                    Ok(profile) => krb5_child::run(&req, profile),
                    Err(e) => {
                        eprintln!("{e}");
                        Krb5Reply {
                            status: status::SYSTEM_ERR,
                            messages: vec![],
                        }
                    }
                }
            }
        },
    };
    let mut out = std::io::stdout().lock();
    match out
        .write_all(&encode_krb5_reply(&reply))
        .and_then(|()| out.flush())
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("krb5_child: cannot write the reply: {e}");
            ExitCode::FAILURE
        }
    }
}
