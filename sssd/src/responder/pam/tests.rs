//! Request-flow tests: the responder over fake domain sources and a scripted backend.

use super::PamResponder;
use super::backend::PamBackend;
use super::request::{self, forward_of};
use super::settings::{InitgroupsScheme, PamSettings, TrustedUsers};
use crate::config::DomainOptions;
use crate::model::User;
use crate::responder::common::ClientInfo;
use crate::responder::common::PeerCred;
use crate::responder::common::fake::{FakeClock, FakeSource};
use crate::responder::common::settings::NssSettings;
use crate::responder::common::source::{DomainSource, DpStatus};
use crate::sbus::{BoxFuture, PamForward, PamResult};
use sss_proto::Command;
use sss_proto::pam::{AuthTok, PamReply, PamRequest, authtok, encode_request, response, status};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the scripted backend saw (tokens kept only so tests can check them).
#[derive(Debug, Clone)]
pub(super) struct Seen {
    pub cmd: u16,
    pub domain: String,
    pub user: String,
    pub service: String,
    pub token: Vec<u8>,
    pub cli_flags: u32,
}

/// A backend that accepts one password per user and answers with scripted items.
#[derive(Default)]
pub(super) struct FakePam {
    pub passwords: Mutex<Vec<(String, String)>>,
    pub items: Mutex<Vec<(u32, Vec<u8>)>>,
    pub fail: Mutex<bool>,
    pub seen: Mutex<Vec<Seen>>,
}

impl FakePam {
    pub fn calls(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
    pub fn last(&self) -> Seen {
        self.seen.lock().unwrap().last().cloned().unwrap()
    }
}

impl PamBackend for Arc<FakePam> {
    fn pam_handler(
        &self,
        req: PamForward,
        _timeout: Duration,
    ) -> BoxFuture<Result<PamResult, String>> {
        let me = self.clone();
        Box::pin(async move {
            me.seen.lock().unwrap().push(Seen {
                cmd: req.cmd,
                domain: req.domain.clone(),
                user: req.user.clone(),
                service: req.service.clone(),
                token: req.authtok.to_vec(),
                cli_flags: req.cli_flags,
            });
            if *me.fail.lock().unwrap() {
                return Err("backend gone".into());
            }
            let items = me.items.lock().unwrap().clone();
            let st = if u32::from(req.cmd) == Command::PamAuthenticate.code() {
                let ok = me
                    .passwords
                    .lock()
                    .unwrap()
                    .iter()
                    .any(|(u, p)| *u == req.user && p.as_bytes() == req.authtok.as_slice());
                if ok {
                    status::SUCCESS
                } else {
                    status::AUTH_ERR
                }
            } else {
                status::SUCCESS
            };
            Ok(PamResult {
                pam_status: st,
                items,
            })
        })
    }
}

pub(super) struct Fixture {
    pub responder: PamResponder,
    pub ldap: FakeSource,
    pub backend: Arc<FakePam>,
    pub clock: Arc<FakeClock>,
}

fn user(name: &str, uid: u32) -> User {
    User {
        name: name.into(),
        uid,
        gid: uid,
        home: format!("/home/{name}"),
        shell: "/bin/sh".into(),
        ..User::default()
    }
}

/// Domains LDAP (user0001, uid 10001; root also in the directory) and PUB (pubuser,
/// uid 20001); `tweak` adjusts the settings.
pub(super) fn fixture(tweak: impl FnOnce(&mut PamSettings)) -> Fixture {
    let clock = FakeClock::at(1_000_000);
    let ldap = FakeSource::new(clock.clone(), 100);
    ldap.add_user(user("user0001", 10001), 1_000_000, 1_000_100);
    ldap.with(|s| {
        s.directory.users.push(crate::model::Cached {
            value: user("root", 0),
            last_update: 0,
            expire: 0,
        })
    });
    let public = FakeSource::new(clock.clone(), 100);
    public.add_user(user("pubuser", 20001), 1_000_000, 1_000_100);
    let lookup = NssSettings::new(vec![
        DomainOptions::defaults("LDAP", "ldap"),
        DomainOptions::defaults("PUB", "ldap"),
    ]);
    let mut s = PamSettings::new(lookup);
    s.session_dir = None;
    s.proc_dir = None;
    s.pam.pam_public_domains = vec!["PUB".into()];
    tweak(&mut s);
    let backend = Arc::new(FakePam::default());
    backend.passwords.lock().unwrap().extend([
        ("user0001".to_string(), "secret".to_string()),
        ("pubuser".to_string(), "pubpass".to_string()),
    ]);
    let sources: Vec<Arc<dyn DomainSource>> = vec![Arc::new(ldap.clone()), Arc::new(public)];
    let responder = PamResponder::new(s, sources, Arc::new(backend.clone()), clock.clone());
    Fixture {
        responder,
        ldap,
        backend,
        clock,
    }
}

pub(super) fn auth_request(user: &str, password: &str, domains: Option<&str>) -> Vec<u8> {
    encode_request(&PamRequest {
        user: Some(user.into()),
        service: Some("login".into()),
        tty: Some("/dev/pts/1".into()),
        requested_domains: domains.map(str::to_string),
        cli_pid: Some(4242),
        authtok: Some(AuthTok {
            kind: authtok::PASSWORD,
            data: password.as_bytes().to_vec(),
        }),
        ..PamRequest::default()
    })
}

fn client(uid: u32) -> ClientInfo {
    ClientInfo {
        id: 1,
        peer: PeerCred {
            uid,
            gid: uid,
            pid: Some(1),
        },
        version: 3,
    }
}

async fn run(f: &Fixture, uid: u32, cmd: Command, body: &[u8]) -> PamReply {
    request::process(f.responder.ctx(), &client(uid), cmd.code(), body).await
}

fn domain_item(r: &PamReply) -> Option<Vec<u8>> {
    r.items
        .iter()
        .find(|i| i.kind == response::DOMAIN_NAME)
        .map(|i| i.data.clone())
}

#[tokio::test]
async fn right_and_wrong_password() {
    let f = fixture(|_| {});
    let r = run(
        &f,
        0,
        Command::PamAuthenticate,
        &auth_request("user0001", "secret", None),
    )
    .await;
    assert_eq!(r.status, status::SUCCESS);
    assert_eq!(domain_item(&r), Some(b"LDAP\0".to_vec()));
    let seen = f.backend.last();
    assert_eq!(
        (
            seen.cmd,
            seen.domain.as_str(),
            seen.user.as_str(),
            seen.service.as_str()
        ),
        (0xF1, "LDAP", "user0001", "login")
    );
    assert_eq!(seen.token, b"secret");
    let r = run(
        &f,
        0,
        Command::PamAuthenticate,
        &auth_request("user0001", "nope", None),
    )
    .await;
    assert_eq!(r.status, status::AUTH_ERR);
    // Qualified names pick the domain.
    let r = run(
        &f,
        0,
        Command::PamAuthenticate,
        &auth_request("pubuser@PUB", "pubpass", None),
    )
    .await;
    assert_eq!(r.status, status::SUCCESS);
    assert_eq!(domain_item(&r), Some(b"PUB\0".to_vec()));
    let r = run(
        &f,
        0,
        Command::PamAuthenticate,
        &auth_request("user0001@PUB", "secret", None),
    )
    .await;
    assert_eq!(r.status, status::USER_UNKNOWN);
    assert_eq!(domain_item(&r), Some(b"PUB\0".to_vec()));
}

#[tokio::test]
async fn unknown_root_and_missing_user() {
    let f = fixture(|_| {});
    let r = run(
        &f,
        0,
        Command::PamAuthenticate,
        &auth_request("ghost", "x", None),
    )
    .await;
    assert_eq!(r.status, status::USER_UNKNOWN);
    assert!(r.items.is_empty());
    // root is in the fake directory, but always filtered.
    let r = run(
        &f,
        0,
        Command::PamAuthenticate,
        &auth_request("root", "x", None),
    )
    .await;
    assert_eq!(r.status, status::USER_UNKNOWN);
    assert_eq!(f.backend.calls(), 0);
    let body = encode_request(&PamRequest {
        service: Some("login".into()),
        cli_pid: Some(1),
        ..PamRequest::default()
    });
    let r = run(&f, 0, Command::PamAcctMgmt, &body).await;
    assert_eq!(r.status, status::CRED_INSUFFICIENT);
}

#[tokio::test]
async fn malformed_requests_are_system_errors() {
    let f = fixture(|_| {});
    let good = auth_request("user0001", "secret", None);
    // Missing end marker.
    let r = run(&f, 0, Command::PamAuthenticate, &good[..good.len() - 4]).await;
    assert_eq!(r.status, status::SYSTEM_ERR);
    // No CLI_PID in a v3 request.
    let body = encode_request(&PamRequest {
        user: Some("user0001".into()),
        ..PamRequest::default()
    });
    let r = run(&f, 0, Command::PamAuthenticate, &body).await;
    assert_eq!(r.status, status::SYSTEM_ERR);
    let r = run(&f, 0, Command::PamAuthenticate, b"").await;
    assert_eq!(r.status, status::SYSTEM_ERR);
    // Version 1 bodies are not supported.
    let mut c = client(0);
    c.version = 1;
    let r = request::process(f.responder.ctx(), &c, 0xF1, &good).await;
    assert_eq!(r.status, status::SYSTEM_ERR);
    assert_eq!(f.backend.calls(), 0);
}

#[tokio::test]
async fn id_timeout_limits_backend_refreshes() {
    let f = fixture(|_| {});
    let req = auth_request("user0001", "secret", None);
    run(&f, 0, Command::PamAuthenticate, &req).await;
    let first = f.ldap.refresh_count();
    assert!(first >= 1, "the first request refreshes the user");
    f.clock.advance(4);
    run(&f, 0, Command::PamAcctMgmt, &req).await;
    run(&f, 0, Command::PamOpenSession, &req).await;
    assert_eq!(f.ldap.refresh_count(), first, "within pam_id_timeout");
    f.clock.advance(2);
    run(&f, 0, Command::PamAuthenticate, &req).await;
    assert!(f.ldap.refresh_count() > first, "after pam_id_timeout");
    // An offline backend: the cached user still authenticates.
    f.ldap.with(|s| s.status = DpStatus::Offline);
    f.clock.advance(10);
    let r = run(&f, 0, Command::PamAuthenticate, &req).await;
    assert_eq!(r.status, status::SUCCESS);
}

#[tokio::test]
async fn no_session_scheme_skips_the_refresh_for_active_users() {
    let logind = tempfile::tempdir().unwrap();
    std::fs::write(logind.path().join("10001"), "SESSIONS=4\n").unwrap();
    let dir = logind.path().to_path_buf();
    let f = fixture(|s| s.session_dir = Some(dir));
    run(
        &f,
        0,
        Command::PamAuthenticate,
        &auth_request("user0001", "secret", None),
    )
    .await;
    assert_eq!(f.ldap.refresh_count(), 0, "user0001 has a session");
    let g = fixture(|s| s.pam.pam_initgroups_scheme = InitgroupsScheme::NoSession);
    run(
        &g,
        0,
        Command::PamAuthenticate,
        &auth_request("user0001", "secret", None),
    )
    .await;
    assert!(g.ldap.refresh_count() > 0, "no session: refreshed");
}

#[tokio::test]
async fn initgroups_scheme_never_uses_the_cache() {
    let f = fixture(|s| s.pam.pam_initgroups_scheme = InitgroupsScheme::Never);
    run(
        &f,
        0,
        Command::PamAuthenticate,
        &auth_request("user0001", "secret", None),
    )
    .await;
    assert_eq!(f.ldap.refresh_count(), 0);
}

#[tokio::test]
async fn backend_failure_statuses() {
    let f = fixture(|_| {});
    *f.backend.fail.lock().unwrap() = true;
    let req = auth_request("user0001", "secret", None);
    let r = run(&f, 0, Command::PamAuthenticate, &req).await;
    assert_eq!(r.status, status::AUTHINFO_UNAVAIL);
    let r = run(&f, 0, Command::PamChAuthTok, &req).await;
    assert_eq!(r.status, status::AUTHINFO_UNAVAIL);
    let r = run(&f, 0, Command::PamAcctMgmt, &req).await;
    assert_eq!(r.status, status::SYSTEM_ERR);
}

#[tokio::test]
async fn requested_domains_for_root_and_others() {
    let f = fixture(|_| {});
    // Root may pick any domain; a user outside the picked ones is unknown.
    let r = run(
        &f,
        0,
        Command::PamAuthenticate,
        &auth_request("user0001", "secret", Some("PUB")),
    )
    .await;
    assert_eq!(r.status, status::USER_UNKNOWN);
    let r = run(
        &f,
        0,
        Command::PamAuthenticate,
        &auth_request("user0001", "secret", Some("ldap")),
    )
    .await;
    assert_eq!(r.status, status::SUCCESS);
    // A non-root client naming a non-public domain is refused before any lookup.
    let calls = f.ldap.refresh_count();
    let r = run(
        &f,
        1000,
        Command::PamAuthenticate,
        &auth_request("user0001", "secret", Some("LDAP")),
    )
    .await;
    assert_eq!(r.status, status::PERM_DENIED);
    let r = run(
        &f,
        1000,
        Command::PamAuthenticate,
        &auth_request("user0001", "secret", Some("PUB,LDAP")),
    )
    .await;
    assert_eq!(r.status, status::PERM_DENIED);
    assert_eq!(f.ldap.refresh_count(), calls);
    // Public domains are fine.
    let r = run(
        &f,
        1000,
        Command::PamAuthenticate,
        &auth_request("pubuser", "pubpass", Some("PUB")),
    )
    .await;
    assert_eq!(r.status, status::SUCCESS);
    // Without domains= a non-root client is trusted by default (SSSD).
    let r = run(
        &f,
        1000,
        Command::PamAuthenticate,
        &auth_request("user0001", "secret", None),
    )
    .await;
    assert_eq!(r.status, status::SUCCESS);
}

#[tokio::test]
async fn untrusted_uids_only_reach_public_domains() {
    let f = fixture(|s| {
        s.trusted = Some(TrustedUsers {
            uids: vec![500],
            names: vec!["user0001".into()],
        })
    });
    let r = run(
        &f,
        1000,
        Command::PamAuthenticate,
        &auth_request("user0001", "secret", None),
    )
    .await;
    assert_eq!(r.status, status::PERM_DENIED);
    assert_eq!(domain_item(&r), Some(b"LDAP\0".to_vec()));
    let r = run(
        &f,
        1000,
        Command::PamAuthenticate,
        &auth_request("pubuser", "pubpass", None),
    )
    .await;
    assert_eq!(r.status, status::SUCCESS);
    // domains= limits an untrusted client's lookup too.
    let r = run(
        &f,
        1000,
        Command::PamAuthenticate,
        &auth_request("user0001", "secret", Some("PUB")),
    )
    .await;
    assert_eq!(r.status, status::USER_UNKNOWN);
    // Listed by uid, or by name through the cache (user0001 is uid 10001).
    for uid in [500, 10001, 0] {
        let r = run(
            &f,
            uid,
            Command::PamAuthenticate,
            &auth_request("user0001", "secret", Some("LDAP")),
        )
        .await;
        assert_eq!(r.status, status::SUCCESS, "uid {uid}");
    }
}

#[tokio::test]
async fn verbosity_and_response_filter_apply() {
    let f = fixture(|s| s.pam.pam_verbosity = 1);
    let mut offline0 = 1u32.to_ne_bytes().to_vec();
    offline0.extend_from_slice(&0i64.to_ne_bytes());
    f.backend.items.lock().unwrap().extend([
        (0x8000_0001, b"tgt lifetime".to_vec()),
        (response::USER_INFO, offline0),
        (
            response::PAM_ENV_ITEM,
            b"KRB5CCNAME=FILE:/tmp/krb5cc_10001\0".to_vec(),
        ),
    ]);
    let sudo = encode_request(&PamRequest {
        user: Some("user0001".into()),
        service: Some("sudo".into()),
        cli_pid: Some(7),
        authtok: Some(AuthTok {
            kind: authtok::PASSWORD,
            data: b"secret".to_vec(),
        }),
        ..PamRequest::default()
    });
    let r = run(&f, 0, Command::PamAuthenticate, &sudo).await;
    assert_eq!(r.status, status::SUCCESS);
    let kinds: Vec<u32> = r.items.iter().map(|i| i.kind).collect();
    assert_eq!(kinds, vec![response::DOMAIN_NAME]);
    let r = run(
        &f,
        0,
        Command::PamAuthenticate,
        &auth_request("user0001", "secret", None),
    )
    .await;
    let kinds: Vec<u32> = r.items.iter().map(|i| i.kind).collect();
    assert_eq!(kinds, vec![response::DOMAIN_NAME, response::PAM_ENV_ITEM]);
}

#[tokio::test]
async fn chauthtok_by_root_flag_only_from_root() {
    let f = fixture(|_| {});
    let flags = request::CLI_FLAG_ALLOW_CHAUTHTOK_BY_ROOT | 1;
    let body = encode_request(&PamRequest {
        user: Some("user0001".into()),
        service: Some("passwd".into()),
        cli_pid: Some(5),
        flags: Some(flags),
        ..PamRequest::default()
    });
    run(&f, 1000, Command::PamChAuthTokPrelim, &body).await;
    assert_eq!(f.backend.last().cli_flags, 1);
    run(&f, 0, Command::PamChAuthTokPrelim, &body).await;
    assert_eq!(f.backend.last().cli_flags, flags);
}

#[test]
fn forward_moves_tokens_and_hides_them() {
    let mut req = PamRequest {
        user: Some("u".into()),
        service: Some("passwd".into()),
        cli_pid: Some(9),
        flags: Some(4),
        authtok: Some(AuthTok {
            kind: authtok::PASSWORD,
            data: b"old-secret".to_vec(),
        }),
        newauthtok: Some(AuthTok {
            kind: authtok::PASSWORD,
            data: b"new-secret".to_vec(),
        }),
        ..PamRequest::default()
    };
    let fwd = forward_of(0xF6, "LDAP", "u", &mut req);
    assert_eq!(fwd.authtok.as_slice(), b"old-secret");
    assert_eq!(fwd.new_authtok.as_slice(), b"new-secret");
    assert_eq!((fwd.cmd, fwd.cli_pid, fwd.cli_flags), (0xF6, 9, 4));
    assert!(req.authtok.as_ref().unwrap().data.is_empty(), "moved out");
    let dbg = format!("{fwd:?}");
    assert!(!dbg.contains("secret"), "{dbg}");
    let mut none = PamRequest::default();
    let fwd = forward_of(0xF3, "LDAP", "u", &mut none);
    assert_eq!(fwd.authtok_type, authtok::EMPTY);
    assert!(fwd.authtok.is_empty());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Any body, any command, any version: a PAM status, never a panic; the backend
    /// only sees requests that decoded.
    #[test]
    fn arbitrary_bodies_never_panic(
        body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
        cmd in 0xF1u32..=0xF9,
        version in 1u32..=3,
        uid in proptest::prop_oneof![proptest::strategy::Just(0u32), 1u32..70000],
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let f = fixture(|_| {});
        let mut c = client(uid);
        c.version = version;
        let r = rt.block_on(request::process(f.responder.ctx(), &c, cmd, &body));
        proptest::prop_assert!((0..=31).contains(&r.status));
    }
}
