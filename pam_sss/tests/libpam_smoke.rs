//! Real libpam smoke test: pamtester loads the built `libpam_sss.so` from a service file in a
//! private mount namespace (tmpfs over /etc/pam.d) and talks to a fake responder on a
//! root-owned 0600 socket named by `SSS_PAM_PRIV_SOCKET`. Skipped unless run as root with
//! `unshare` and `pamtester` available. The host's /etc/pam.d is never touched.

// Test code: a failed setup step should abort the test.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sss_proto::pam::{PamRequest, decode_request, response};

type Seen = Arc<Mutex<Vec<(u32, PamRequest)>>>;

fn serve(l: UnixListener, seen: Seen) {
    for s in l.incoming() {
        let Ok(mut s) = s else { return };
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        loop {
            let mut h = [0u8; 16];
            if s.read_exact(&mut h).is_err() {
                break;
            }
            let len = u32::from_ne_bytes(h[..4].try_into().unwrap()) as usize;
            let cmd = u32::from_ne_bytes(h[4..8].try_into().unwrap());
            let mut body = vec![0u8; len - 16];
            s.read_exact(&mut body).unwrap();
            let out = if cmd == 1 {
                3u32.to_ne_bytes().to_vec()
            } else {
                let req = decode_request(&body, 3).unwrap();
                let ok = req.authtok.as_ref().is_some_and(|t| t.data == b"Secret123");
                let status: i32 = match cmd {
                    0xF1 if !ok => 7,
                    0xF3 if req.user.as_deref() == Some("denied") => 6,
                    _ => 0,
                };
                seen.lock().unwrap().push((cmd, req));
                let mut r = status.to_ne_bytes().to_vec();
                r.extend_from_slice(&1u32.to_ne_bytes());
                r.extend_from_slice(&response::TEXT_MSG.to_ne_bytes());
                r.extend_from_slice(&6u32.to_ne_bytes());
                r.extend_from_slice(b"hello\0");
                r
            };
            s.write_all(&sss_proto::packet(cmd, 0, &out)).unwrap();
        }
    }
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn module_path() -> PathBuf {
    // target/debug/deps/libpam_smoke-* → target/debug/libpam_sss.so
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("libpam_sss.so")
}

/// Runs pamtester in a private mount namespace with `service` installed; returns (rc, output).
fn pamtester(socket: &Path, module_args: &str, argv: &str, input: &str) -> (i32, String) {
    pamtester_as("", socket, module_args, argv, input)
}

/// Like [`pamtester`], with `prefix` (e.g. a `setpriv` command line) before pamtester.
fn pamtester_as(
    prefix: &str,
    socket: &Path,
    module_args: &str,
    argv: &str,
    input: &str,
) -> (i32, String) {
    let service = format!(
        "auth required {m} {a}\naccount required {m} {a}\npassword required {m} {a}\nsession required {m} {a}\n",
        m = module_path().display(),
        a = module_args
    );
    let script = format!(
        "mount -t tmpfs -o mode=0755 tmpfs /etc/pam.d && printf '%s' \"$SERVICE\" > /etc/pam.d/sss-smoke && exec {prefix} pamtester -v sss-smoke {argv}"
    );
    let mut child = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .env("SERVICE", service)
        .env("SSS_PAM_PRIV_SOCKET", socket)
        .env("SSS_PAM_SOCKET", socket)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn pamtester_through_real_libpam() {
    // SAFETY: no preconditions.
    if unsafe { libc::geteuid() } != 0 || !have("unshare") || !have("pamtester") {
        eprintln!("skipped: needs root, unshare and pamtester");
        return;
    }
    assert!(
        module_path().exists(),
        "{} not built",
        module_path().display()
    );
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("pam");
    let l = UnixListener::bind(&sock).unwrap();
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o600)).unwrap();
    let seen: Seen = Arc::default();
    let seen2 = Arc::clone(&seen);
    std::thread::spawn(move || serve(l, seen2));

    let (rc, out) = pamtester(&sock, "", "alice authenticate", "Secret123\n");
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("Password: "), "{out}");
    assert!(out.contains("hello"), "{out}");
    let (rc, out) = pamtester(&sock, "", "alice authenticate", "wrong\n");
    assert_ne!(rc, 0, "{out}");
    assert!(out.contains("Authentication failure"), "{out}");
    // Root is refused without a request.
    let before = seen.lock().unwrap().len();
    let (rc, out) = pamtester(&sock, "", "root authenticate", "Secret123\n");
    assert_ne!(rc, 0);
    assert!(out.contains("User not known"), "{out}");
    assert_eq!(seen.lock().unwrap().len(), before);
    // Account management and sessions.
    let (rc, out) = pamtester(&sock, "", "alice acct_mgmt open_session close_session", "");
    assert_eq!(rc, 0, "{out}");
    let (rc, out) = pamtester(&sock, "", "denied acct_mgmt", "");
    assert_ne!(rc, 0);
    assert!(out.contains("Permission denied"), "{out}");
    // Password change as root: no old password prompt, new one asked twice.
    let (rc, out) = pamtester(&sock, "", "alice chauthtok", "New1\nNew1\n");
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("Reenter new Password: "), "{out}");
    let last = seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(last.0, 0xF6);
    assert_eq!(last.1.newauthtok.unwrap().data, b"New1");
    // Missing socket: account management says user unknown, authentication unavailable.
    let gone = dir.path().join("nothing");
    let (rc, out) = pamtester(&gone, "", "alice acct_mgmt", "");
    assert_ne!(rc, 0);
    assert!(out.contains("User not known"), "{out}");
    let (rc, out) = pamtester(&gone, "ignore_unknown_user", "alice acct_mgmt", "");
    // All modules ignored: libpam reports a failure, but not "user unknown".
    assert!(rc != 0 && !out.contains("User not known"), "{out}");
}

#[test]
fn non_root_caller_uses_the_public_socket() {
    // SAFETY: no preconditions.
    if unsafe { libc::geteuid() } != 0 || !have("unshare") || !have("pamtester") || !have("setpriv")
    {
        eprintln!("skipped: needs root, unshare, setpriv and pamtester");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let sock = dir.path().join("pam");
    let l = UnixListener::bind(&sock).unwrap();
    let seen: Seen = Arc::default();
    let seen2 = Arc::clone(&seen);
    std::thread::spawn(move || serve(l, seen2));
    let nobody = "setpriv --reuid=65534 --regid=65534 --clear-groups";
    // A 0600 socket is the private one: a non-root caller refuses it (needs 0666).
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (rc, out) = pamtester_as(nobody, &sock, "", "alice authenticate", "Secret123\n");
    assert_ne!(rc, 0, "{out}");
    assert!(seen.lock().unwrap().is_empty());
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    let (rc, out) = pamtester_as(nobody, &sock, "", "alice authenticate", "Secret123\n");
    assert_eq!(rc, 0, "{out}");
    let (rc, out) = pamtester_as(nobody, &sock, "", "alice authenticate", "nope\n");
    assert_ne!(rc, 0, "{out}");
    // As a user, password change asks for the current password first.
    let (rc, out) = pamtester_as(nobody, &sock, "", "alice chauthtok", "Secret123\nN1\nN1\n");
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("Current Password: "), "{out}");
    let all = seen.lock().unwrap().clone();
    let prelim = all.iter().find(|(c, _)| *c == 0xF7).unwrap();
    assert_eq!(prelim.1.authtok.as_ref().unwrap().data, b"Secret123");
}
