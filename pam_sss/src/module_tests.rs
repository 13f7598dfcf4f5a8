use super::*;
use crate::pam::{PRELIM_CHECK, UPDATE_AUTHTOK};
use crate::response::user_info;
use crate::testutil::{Fake, Scripted, context_for, reply};
use sss_proto::pam::{response, status};

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// A responder accepting password "right" for AUTHENTICATE and PRELIM.
fn password_checker() -> Fake {
    Fake::start(|cmd, req| {
        let ok = req.authtok.as_ref().is_some_and(|t| t.data == b"right");
        let st = match cmd {
            0xF1 | 0xF7 if !ok => status::AUTH_ERR,
            _ => status::SUCCESS,
        };
        Some(reply(st, &[(response::DOMAIN_NAME, b"LDAP\0")]))
    })
}

#[test]
fn auth_success_prompts_and_sends_v3_request() {
    let fake = password_checker();
    let mut h = Scripted::new("alice").answer("right");
    h.items.insert("tty", b"tty1".to_vec());
    let rc = run(
        &mut h,
        Task::Authenticate,
        0,
        &args(&["domains=LDAP"]),
        &fake.context(),
    );
    assert_eq!(rc, code::SUCCESS);
    assert_eq!(h.prompts, vec!["Password: "]);
    let seen = fake.seen();
    assert_eq!(seen.len(), 1);
    let (cmd, req) = &seen[0];
    assert_eq!(*cmd, 0xF1);
    assert_eq!(req.user.as_deref(), Some("alice"));
    assert_eq!(req.service.as_deref(), Some("login"));
    assert_eq!(req.tty.as_deref(), Some("tty1"));
    assert_eq!(req.requested_domains.as_deref(), Some("LDAP"));
    assert_eq!(req.cli_pid, Some(std::process::id()));
    assert_eq!(req.flags, Some(0));
    assert_eq!(req.authtok.as_ref().unwrap().kind, authtok::PASSWORD);
    assert_eq!(h.data.get(crate::response::DOMAIN_DATA).unwrap(), b"LDAP");
    // Without forward_pass the password stays off the stack.
    assert_eq!(h.authtok, None);
}

#[test]
fn auth_failure_and_retry() {
    let fake = password_checker();
    let mut h = Scripted::new("alice").answer("wrong");
    assert_eq!(
        run(&mut h, Task::Authenticate, 0, &[], &fake.context()),
        code::AUTH_ERR
    );
    assert!(h.log.iter().any(|l| l.contains("authentication failure")));
    // retry=2: wrong, then right on the second prompt.
    let mut h = Scripted::new("alice").answer("wrong").answer("right");
    let rc = run(
        &mut h,
        Task::Authenticate,
        0,
        &args(&["retry=2"]),
        &fake.context(),
    );
    assert_eq!(rc, code::SUCCESS);
    assert_eq!(h.prompts.len(), 2);
    // retry=1 with two wrong answers: fails after two attempts.
    let mut h = Scripted::new("alice")
        .answer("a")
        .answer("b")
        .answer("right");
    let rc = run(
        &mut h,
        Task::Authenticate,
        0,
        &args(&["retry=1"]),
        &fake.context(),
    );
    assert_eq!(rc, code::AUTH_ERR);
    assert_eq!(h.prompts.len(), 2);
}

#[test]
fn use_first_pass_and_forward_pass() {
    let fake = password_checker();
    let mut h = Scripted::new("alice");
    h.authtok = Some(b"right".to_vec());
    let rc = run(
        &mut h,
        Task::Authenticate,
        0,
        &args(&["use_first_pass"]),
        &fake.context(),
    );
    assert_eq!(rc, code::SUCCESS);
    assert!(h.prompts.is_empty());
    assert_eq!(fake.seen()[0].1.flags, Some(flag::USE_FIRST_PASS));
    // use_first_pass with nothing stacked sends an empty password: failure, no prompt.
    let mut h = Scripted::new("alice");
    let rc = run(
        &mut h,
        Task::Authenticate,
        0,
        &args(&["use_first_pass"]),
        &fake.context(),
    );
    assert_eq!(rc, code::AUTH_ERR);
    assert!(h.prompts.is_empty());
    // forward_pass stacks the prompted password.
    let mut h = Scripted::new("alice").answer("right");
    let rc = run(
        &mut h,
        Task::Authenticate,
        0,
        &args(&["forward_pass"]),
        &fake.context(),
    );
    assert_eq!(rc, code::SUCCESS);
    assert_eq!(h.authtok.as_deref(), Some(b"right".as_slice()));
}

#[test]
fn root_is_refused_without_contacting_the_daemon() {
    let fake = password_checker();
    let mut h = Scripted::new("root").answer("right");
    assert_eq!(
        run(&mut h, Task::Authenticate, 0, &[], &fake.context()),
        code::USER_UNKNOWN
    );
    assert_eq!(
        run(
            &mut h,
            Task::AcctMgmt,
            0,
            &args(&["ignore_unknown_user"]),
            &fake.context()
        ),
        code::IGNORE
    );
    assert!(fake.seen().is_empty());
    assert!(h.prompts.is_empty());
}

#[test]
fn missing_user_and_empty_domains() {
    let fake = password_checker();
    let mut h = Scripted::new("alice");
    h.items.remove("user");
    assert_eq!(
        run(&mut h, Task::AcctMgmt, 0, &[], &fake.context()),
        code::BAD_ITEM
    );
    let mut h = Scripted::new("alice");
    assert_eq!(
        run(
            &mut h,
            Task::AcctMgmt,
            0,
            &args(&["domains="]),
            &fake.context()
        ),
        code::SYSTEM_ERR
    );
    assert!(fake.seen().is_empty());
}

#[test]
fn acct_mgmt_missing_socket_is_user_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let cx = context_for(dir.path().join("pam"));
    let mut h = Scripted::new("alice");
    assert_eq!(run(&mut h, Task::AcctMgmt, 0, &[], &cx), code::USER_UNKNOWN);
    // Other tasks: the daemon is unavailable.
    let mut h = Scripted::new("alice").answer("x");
    assert_eq!(
        run(&mut h, Task::Authenticate, 0, &[], &cx),
        code::AUTHINFO_UNAVAIL
    );
    assert!(h.log.iter().any(|l| l.contains("Request to sssd failed")));
    let mut h = Scripted::new("alice");
    assert_eq!(
        run(
            &mut h,
            Task::OpenSession,
            0,
            &args(&["ignore_authinfo_unavail"]),
            &cx
        ),
        code::IGNORE
    );
}

#[test]
fn socket_with_wrong_owner_or_mode_is_refused() {
    let fake = password_checker();
    let mut cx = fake.context();
    cx.client.trust.uid = cx.client.trust.uid.wrapping_add(1);
    let mut h = Scripted::new("alice");
    assert_eq!(
        run(&mut h, Task::AcctMgmt, 0, &[], &cx),
        code::AUTHINFO_UNAVAIL
    );
    assert!(h.log.iter().any(|l| l.contains("wrong type, ownership")));
    let err = cx.client.request(Command::PamAcctMgmt, b"").unwrap_err();
    assert_eq!(err.code(), crate::client::ESSS_BAD_SOCKET);
    let mut cx = fake.context();
    cx.client.trust.perm = 0o600;
    let err = cx.client.request(Command::PamAcctMgmt, b"").unwrap_err();
    assert_eq!(err.code(), crate::client::ESSS_BAD_SOCKET);
    assert!(fake.seen().is_empty());
    // A regular file in place of the socket.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pam");
    std::fs::write(&p, b"").unwrap();
    let err = context_for(p)
        .client
        .request(Command::PamAcctMgmt, b"")
        .unwrap_err();
    assert_eq!(err.code(), crate::client::ESSS_BAD_SOCKET);
}

#[test]
fn env_items_and_messages() {
    let mut offline = user_info::OFFLINE_AUTH.to_ne_bytes().to_vec();
    offline.extend_from_slice(&0i64.to_ne_bytes());
    let fake = Fake::start(move |_, _| {
        Some(reply(
            status::SUCCESS,
            &[
                (response::PAM_ENV_ITEM, b"KRB5CCNAME=FILE:/tmp/krb5cc_1\0"),
                (response::ENV_ITEM, b"ONLY_PROC=1\0"),
                (response::ALL_ENV_ITEM, b"BOTH=2\0"),
                (response::ENV_ITEM, b"unterminated"),
                (response::USER_INFO, &offline),
                (response::TEXT_MSG, b"hello\0"),
                (response::SYSTEM_INFO, b"from server\0"),
                (99, b"ignored"),
            ],
        ))
    });
    let mut h = Scripted::new("alice").answer("pw");
    assert_eq!(
        run(&mut h, Task::Authenticate, 0, &[], &fake.context()),
        code::SUCCESS
    );
    assert_eq!(h.pam_env, vec!["KRB5CCNAME=FILE:/tmp/krb5cc_1", "BOTH=2"]);
    assert_eq!(h.proc_env, vec!["ONLY_PROC=1", "BOTH=2"]);
    assert_eq!(
        h.infos,
        vec!["Authenticated with cached credentials.", "hello"]
    );
    assert!(
        h.log
            .iter()
            .any(|l| l.contains("system info: [from server]"))
    );
    assert!(
        h.log
            .iter()
            .any(|l| l.contains("malformed environment item"))
    );
}

#[test]
fn bad_reply_bytes_are_errors_not_panics() {
    // Too short, items past the end, a header for another command.
    let short = Fake::start(|_, _| Some(vec![0, 0, 0]));
    let mut h = Scripted::new("alice");
    assert_eq!(
        run(&mut h, Task::AcctMgmt, 0, &[], &short.context()),
        code::SYSTEM_ERR
    );
    let past = Fake::start(|_, _| {
        let mut r = reply(0, &[]);
        r[4] = 5;
        Some(r)
    });
    let mut h = Scripted::new("alice");
    assert_eq!(
        run(&mut h, Task::AcctMgmt, 0, &[], &past.context()),
        code::BUF_ERR
    );
    let hangup = Fake::start(|_, _| None);
    let mut h = Scripted::new("alice");
    assert_eq!(
        run(&mut h, Task::AcctMgmt, 0, &[], &hangup.context()),
        code::AUTHINFO_UNAVAIL
    );
    // Random bodies never panic.
    for seed in 0u32..64 {
        let body: Vec<u8> = (0..(seed % 40))
            .map(|i| (seed.wrapping_mul(31) ^ i) as u8)
            .collect();
        let fake = Fake::start(move |_, _| Some(body.clone()));
        let mut h = Scripted::new("alice");
        let _ = run(&mut h, Task::AcctMgmt, 0, &[], &fake.context());
    }
}

#[test]
fn acct_mgmt_after_expired_password_demands_change() {
    let fake = Fake::start(|cmd, _| {
        let st = if cmd == 0xF1 {
            status::NEW_AUTHTOK_REQD
        } else {
            status::SUCCESS
        };
        Some(reply(st, &[]))
    });
    let mut h = Scripted::new("alice").answer("pw");
    assert_eq!(
        run(&mut h, Task::Authenticate, 0, &[], &fake.context()),
        code::NEW_AUTHTOK_REQD
    );
    assert!(h.data.contains_key(PWEXP_DATA));
    assert_eq!(
        run(&mut h, Task::AcctMgmt, 0, &[], &fake.context()),
        code::NEW_AUTHTOK_REQD
    );
    assert_eq!(h.infos, vec!["Password expired. Change your password now."]);
}

#[test]
fn chauthtok_prelim_then_update() {
    let fake = password_checker();
    let cx = fake.context();
    let mut h = Scripted::new("alice")
        .answer("right")
        .answer("new1")
        .answer("new1");
    assert_eq!(
        run(&mut h, Task::ChAuthTok, PRELIM_CHECK, &[], &cx),
        code::SUCCESS
    );
    assert_eq!(h.oldauthtok.as_deref(), Some(b"right".as_slice()));
    assert_eq!(
        run(&mut h, Task::ChAuthTok, UPDATE_AUTHTOK, &[], &cx),
        code::SUCCESS
    );
    assert_eq!(
        h.prompts,
        vec![
            "Current Password: ",
            "New Password: ",
            "Reenter new Password: "
        ]
    );
    let seen = fake.seen();
    assert_eq!(seen[0].0, 0xF7);
    assert_eq!(seen[0].1.authtok.as_ref().unwrap().data, b"right");
    assert_eq!(seen[1].0, 0xF6);
    assert_eq!(seen[1].1.authtok.as_ref().unwrap().data, b"right");
    assert_eq!(seen[1].1.newauthtok.as_ref().unwrap().data, b"new1");
}

#[test]
fn chauthtok_mismatch_wrong_old_and_root() {
    let fake = password_checker();
    let cx = fake.context();
    let mut h = Scripted::new("alice").answer("a").answer("b");
    h.oldauthtok = Some(b"right".to_vec());
    assert_eq!(
        run(&mut h, Task::ChAuthTok, UPDATE_AUTHTOK, &[], &cx),
        code::CRED_ERR
    );
    assert_eq!(h.errors, vec!["Passwords do not match"]);
    // Wrong old password fails PRELIM.
    let mut h = Scripted::new("alice").answer("bad");
    assert_eq!(
        run(&mut h, Task::ChAuthTok, PRELIM_CHECK, &[], &cx),
        code::AUTH_ERR
    );
    // use_authtok takes the new password from the stack.
    let mut h = Scripted::new("alice");
    h.oldauthtok = Some(b"right".to_vec());
    h.authtok = Some(b"stacked".to_vec());
    assert_eq!(
        run(
            &mut h,
            Task::ChAuthTok,
            UPDATE_AUTHTOK,
            &args(&["use_authtok"]),
            &cx
        ),
        code::SUCCESS
    );
    assert!(h.prompts.is_empty());
    let last = fake.seen().pop().unwrap().1;
    assert_eq!(last.newauthtok.unwrap().data, b"stacked");
    // Root is not asked for the old password.
    let mut cx = fake.context();
    cx.uid = 0;
    let mut h = Scripted::new("alice");
    let rc = run(&mut h, Task::ChAuthTok, PRELIM_CHECK, &[], &cx);
    assert_eq!(rc, code::AUTH_ERR);
    assert!(h.prompts.is_empty());
    assert_eq!(fake.seen().pop().unwrap().1.authtok, None);
}

#[test]
fn failed_update_clears_stacked_tokens() {
    let fake = Fake::start(|_, _| Some(reply(status::AUTHTOK_ERR, &[])));
    let mut h = Scripted::new("alice").answer("n").answer("n");
    h.oldauthtok = Some(b"old".to_vec());
    h.authtok = Some(b"x".to_vec());
    assert_eq!(
        run(
            &mut h,
            Task::ChAuthTok,
            UPDATE_AUTHTOK,
            &[],
            &fake.context()
        ),
        code::AUTHTOK_ERR
    );
    assert_eq!(h.authtok, None);
    assert_eq!(h.oldauthtok, None);
}

#[test]
fn peer_not_running_as_trusted_user_is_refused() {
    // Needs root to give the socket file another owner than the serving process.
    // SAFETY: no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return;
    }
    let fake = password_checker();
    let c = std::ffi::CString::new(fake.path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: valid path.
    assert_eq!(unsafe { libc::chown(c.as_ptr(), 4321, 4321) }, 0);
    let mut cx = fake.context();
    cx.client.trust.uid = 4321;
    cx.client.trust.gid = 4321;
    let err = cx.client.request(Command::PamAcctMgmt, b"").unwrap_err();
    assert_eq!(err.code(), crate::client::ESSS_SERVER_NOT_TRUSTED);
    let mut h = Scripted::new("alice");
    assert_eq!(
        run(&mut h, Task::AcctMgmt, 0, &[], &cx),
        code::AUTHINFO_UNAVAIL
    );
    assert!(
        h.log
            .iter()
            .any(|l| l.contains("not run by the trusted user"))
    );
    assert!(fake.seen().is_empty());
}

#[test]
fn preauth_is_sent_when_announced() {
    let fake = password_checker();
    let dir = tempfile::tempdir().unwrap();
    let mut cx = fake.context();
    cx.preauth_indicator = dir.path().join("pam_preauth_available");
    std::fs::write(&cx.preauth_indicator, b"").unwrap();
    let mut h = Scripted::new("alice").answer("right");
    assert_eq!(run(&mut h, Task::Authenticate, 0, &[], &cx), code::SUCCESS);
    let cmds: Vec<u32> = fake.seen().iter().map(|(c, _)| *c).collect();
    assert_eq!(cmds, vec![0xF9, 0xF1]);
    assert_eq!(fake.seen()[0].1.authtok, None);
    // Not with use_first_pass.
    let mut h = Scripted::new("alice");
    h.authtok = Some(b"right".to_vec());
    assert_eq!(
        run(
            &mut h,
            Task::Authenticate,
            0,
            &args(&["use_first_pass"]),
            &cx
        ),
        code::SUCCESS
    );
    assert_eq!(fake.seen().last().unwrap().0, 0xF1);
    assert_eq!(fake.seen().len(), 3);
}

#[test]
fn root_reset_refused_shows_message() {
    let fake = Fake::start(|_, _| {
        Some(reply(
            status::PERM_DENIED,
            &[(response::DOMAIN_NAME, b"LDAP\0")],
        ))
    });
    let mut cx = fake.context();
    cx.uid = 0;
    let mut h = Scripted::new("alice");
    assert_eq!(
        run(&mut h, Task::ChAuthTok, PRELIM_CHECK, &[], &cx),
        code::PERM_DENIED
    );
    assert_eq!(h.infos, vec!["Password reset by root is not supported."]);
}

#[test]
fn a_request_the_dying_responder_left_unanswered_is_sent_once_more() {
    use std::sync::atomic::{AtomicU32, Ordering};
    // The first authentication is read and left unanswered (the responder was killed),
    // the second is answered.
    let calls = std::sync::Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let fake = Fake::start(move |_, _| {
        (c.fetch_add(1, Ordering::SeqCst) > 0).then(|| reply(status::SUCCESS, &[]))
    });
    let mut h = Scripted::new("alice").answer("pw");
    assert_eq!(
        run(&mut h, Task::Authenticate, 0, &[], &fake.context()),
        code::SUCCESS
    );
    assert_eq!(fake.seen().len(), 2);
    // A password change is never sent twice: the first one may have been carried out.
    let calls = std::sync::Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let fake = Fake::start(move |cmd, _| {
        let n = c.fetch_add(1, Ordering::SeqCst);
        (cmd != 0xF6 || n > 10).then(|| reply(status::SUCCESS, &[]))
    });
    let body = sss_proto::pam::encode_request(&sss_proto::pam::PamRequest {
        user: Some("alice".into()),
        cli_pid: Some(std::process::id()),
        ..Default::default()
    });
    let client = fake.context().client;
    assert!(client.request(Command::PamChAuthTok, &body).is_err());
    let updates = fake.seen().iter().filter(|(cmd, _)| *cmd == 0xF6).count();
    assert_eq!(updates, 1);
    // The same responder answers a second, separate request.
    assert!(client.request(Command::PamChAuthTokPrelim, &body).is_ok());
}
