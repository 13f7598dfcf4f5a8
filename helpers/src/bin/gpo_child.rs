//! `gpo_child`: reads Group Policy files from a DC's sysvol over SMB (libsmbclient, Kerberos
//! with the machine account's ccache); request on stdin, reply on stdout.

use std::process::ExitCode;

use sss_proto::gpo_child::{decode_gpo_request, encode_gpo_reply};
use sssd_helpers::{gpo_child, log, read_stdin, send_reply};

fn main() -> ExitCode {
    // SAFETY: called first, while single-threaded.
    unsafe { libc::umask(0o077) };
    log::init("gpo_child");
    let reply = match read_stdin() {
        Err(e) => {
            log::op_failure("main", format!("cannot read the request from stdin: {e}"));
            return ExitCode::FAILURE;
        }
        Ok(buf) => match decode_gpo_request(&buf) {
            Err(e) => {
                log::op_failure("main", format!("malformed request from the backend: {e}"));
                return ExitCode::FAILURE;
            }
            Ok(req) => gpo_child::run(&req),
        },
    };
    match send_reply(&encode_gpo_reply(&reply)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::op_failure("main", format!("cannot write the reply: {e}"));
            ExitCode::FAILURE
        }
    }
}
