//! `proxy_child`: the blocking work of a proxy domain, out of the backend's event loop.
//!
//! `proxy_child --nss-lib NAME`: loads `libnss_NAME.so.2`, greets with a Ready frame (or an
//! Unavail frame naming what failed, then exits), then answers framed NSS requests on stdin
//! until stdin closes. `proxy_child --pam-target SERVICE`: reads one PAM request (all of
//! stdin), runs it against the PAM service and writes one reply. See `sss_proto::proxy`.

use std::io::{Read, Write};
use std::process::ExitCode;

use sss_proto::proxy::{MAX_REQUEST, NssReply, NssRequest, PamReply, PamRequest, frame, frame_len};
use sssd_helpers::proxy_nss::NssModule;
use sssd_helpers::{log, proxy_pam, read_stdin, send_reply};

/// Every freed heap block is wiped: passwords pass through this process.
#[global_allocator]
static ALLOC: sss_proto::wipe_alloc::WipeOnFree = sss_proto::wipe_alloc::WipeOnFree;

/// The value following `flag` on the command line (`--flag VALUE` or `--flag=VALUE`).
fn arg_value(args: &[String], flag: &str) -> Option<String> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == flag {
            return it.next().cloned();
        }
        if let Some(v) = a.strip_prefix(flag).and_then(|r| r.strip_prefix('=')) {
            return Some(v.to_string());
        }
    }
    None
}

fn write_frame(out: &mut impl Write, body: &[u8]) -> std::io::Result<()> {
    out.write_all(&frame(body))?;
    out.flush()
}

/// One request frame from `input`; `Ok(None)` at a clean end of input.
fn read_frame(input: &mut impl Read) -> std::io::Result<Option<Vec<u8>>> {
    let mut header = [0u8; 4];
    match input.read_exact(&mut header) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = frame_len(header, MAX_REQUEST)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    let mut body = vec![0u8; len];
    input.read_exact(&mut body)?;
    Ok(Some(body))
}

fn nss_mode(lib: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    let module = match NssModule::open(lib) {
        Ok(m) => m,
        Err(e) => {
            log::op_failure("nss_mode", &e);
            let _ = write_frame(&mut out, &NssReply::Unavail(e).encode());
            return ExitCode::FAILURE;
        }
    };
    log::trace("nss_mode", format!("libnss_{lib}.so.2 loaded"));
    if write_frame(&mut out, &NssReply::Ready.encode()).is_err() {
        return ExitCode::FAILURE;
    }
    let mut input = std::io::stdin().lock();
    loop {
        let body = match read_frame(&mut input) {
            Ok(Some(b)) => b,
            Ok(None) => return ExitCode::SUCCESS,
            Err(e) => {
                log::op_failure("nss_mode", format!("cannot read a request: {e}"));
                return ExitCode::FAILURE;
            }
        };
        let reply = match NssRequest::decode(&body) {
            Ok(req) => {
                log::trace("nss_mode", format!("{req:?}"));
                module.handle(&req)
            }
            Err(e) => {
                log::op_failure(
                    "nss_mode",
                    format!("malformed request from the backend: {e}"),
                );
                return ExitCode::FAILURE;
            }
        };
        if let Err(e) = write_frame(&mut out, &reply.encode()) {
            log::op_failure("nss_mode", format!("cannot write the reply: {e}"));
            return ExitCode::FAILURE;
        }
    }
}

fn pam_mode(target: &str) -> ExitCode {
    let reply = match read_stdin() {
        Err(e) => PamReply {
            status: 4,
            message: format!("cannot read the request from stdin: {e}"),
        },
        Ok(buf) => match PamRequest::decode(&buf) {
            Err(e) => PamReply {
                status: 4,
                message: format!("malformed request from the backend: {e}"),
            },
            Ok(req) => {
                log::trace(
                    "pam_mode",
                    format!("{:?} of {} through {target}", req.op, req.user),
                );
                proxy_pam::run(target, &req)
            }
        },
    };
    log::trace(
        "pam_mode",
        format!("result {}: {}", reply.status, reply.message),
    );
    match send_reply(&reply.encode()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::op_failure("pam_mode", format!("cannot write the reply: {e}"));
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    // SAFETY: called first, while single-threaded.
    unsafe { libc::umask(0o077) };
    log::init("proxy_child");
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(lib) = arg_value(&args, "--nss-lib") {
        return nss_mode(&lib);
    }
    if let Some(target) = arg_value(&args, "--pam-target") {
        return pam_mode(&target);
    }
    log::op_failure("main", "neither --nss-lib nor --pam-target given");
    ExitCode::FAILURE
}
