//! krb5_child and ldap_child against a private MIT KDC (and kadmind for kpasswd) on
//! 127.0.0.1. The children run as root (the test's uid) and write ccaches as uid 65534.

use std::io::Write;
use std::net::{TcpListener, UdpSocket};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sss_proto::child::{
    Krb5Cmd, Krb5Reply, Krb5Request, LdapChildRequest, decode_krb5_reply, decode_ldap_reply,
    encode_krb5_request, encode_ldap_request,
};
use sss_proto::pam::{response, status};
use sssd::backend::krb5::{Krb5Op, Krb5User, run_child_at};
use sssd::config::Krb5Options;
use sssd_tests::kdc::{Kadmind, Kdc, REALM};
use zeroize::Zeroizing;

const NOBODY: u32 = 65534;

struct Realm {
    kdc: Kdc,
    kadmind: Option<Kadmind>,
}

/// The children drop to uid 65534: only root can do that.
fn need_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        eprintln!("skipped: needs root (the child drops privileges to uid {NOBODY})");
    }
    root
}

fn realm() -> &'static Realm {
    static R: OnceLock<Realm> = OnceLock::new();
    R.get_or_init(|| {
        let kdc = Kdc::new().unwrap_or_else(|e| panic!("KDC: {e}"));
        for (p, pw) in [
            ("alice", "AlicePw1"),
            ("bob", "BobPw1"),
            ("carol", "CarolPw1"),
            ("dave", "DavePw1"),
            ("erin", "ErinPw1"),
            ("frank", "FrankPw1"),
        ] {
            kdc.add_principal(p, pw)
                .unwrap_or_else(|e| panic!("add {p}: {e}"));
        }
        kdc.kadmin_local("addpol -minlength 12 strict")
            .unwrap_or_else(|e| panic!("addpol: {e}"));
        for q in [
            "modprinc -policy strict dave",
            "modprinc +requires_preauth erin",
            "modprinc -pwexpire yesterday frank",
        ] {
            kdc.kadmin_local(q).unwrap_or_else(|e| panic!("{q}: {e}"));
        }
        let kadmind = match kdc.start_kadmind() {
            Ok(k) => Some(k),
            Err(e) => {
                eprintln!("kadmind not available: {e}");
                None
            }
        };
        Realm { kdc, kadmind }
    })
}

fn bin(name: &str) -> PathBuf {
    match name {
        "krb5_child" => PathBuf::from(env!("CARGO_BIN_EXE_krb5_child")),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_ldap_child")),
    }
}

/// A directory user 65534 may write in.
fn shared_dir() -> tempfile::TempDir {
    let d = tempfile::Builder::new()
        .prefix("krb5-child-test.")
        .tempdir()
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o1777))
        .unwrap_or_else(|e| panic!("{e}"));
    d
}

fn run_raw(program: &Path, input: &[u8]) -> (Vec<u8>, String) {
    let mut c = Command::new(program)
        .env("KRB5_CONFIG", "/nonexistent/krb5.conf")
        .env("KRB5RCACHETYPE", "none")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", program.display()));
    if let Some(mut s) = c.stdin.take() {
        s.write_all(input).unwrap_or_else(|e| panic!("{e}"));
    }
    let out = c.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    (
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn request(cmd: Krb5Cmd, principal: &str, pw: &str, ccname: &str) -> Krb5Request {
    Krb5Request {
        cmd,
        uid: NOBODY,
        gid: NOBODY,
        validate: false,
        canonicalize: false,
        enterprise: false,
        principal: format!("{principal}@{REALM}"),
        realm: REALM.into(),
        ccname: ccname.into(),
        keytab: String::new(),
        lifetime: "1h".into(),
        renewable_lifetime: String::new(),
        kdcs: vec![format!("127.0.0.1:{}", realm().kdc.port())],
        kpasswd: realm()
            .kadmind
            .as_ref()
            .map(|k| vec![format!("127.0.0.1:{}", k.kpasswd_port())])
            .unwrap_or_default(),
        password: Zeroizing::new(pw.as_bytes().to_vec()),
        new_password: Zeroizing::new(Vec::new()),
    }
}

fn krb5_child(req: &Krb5Request) -> (Krb5Reply, String) {
    let (out, err) = run_raw(&bin("krb5_child"), &encode_krb5_request(req));
    let reply = decode_krb5_reply(&out).unwrap_or_else(|e| panic!("reply: {e}; stderr {err}"));
    (reply, err)
}

fn ccache_of(reply: &Krb5Reply) -> String {
    reply
        .messages
        .iter()
        .find_map(|(t, d)| {
            (*t == response::PAM_ENV_ITEM)
                .then(|| String::from_utf8_lossy(d.strip_suffix(&[0]).unwrap_or(d)).into_owned())
                .and_then(|s| s.strip_prefix("KRB5CCNAME=").map(String::from))
        })
        .unwrap_or_else(|| panic!("no KRB5CCNAME in {reply:?}"))
}

fn klist(ccache: &str) -> String {
    let out = Command::new("klist")
        .args(["-c", ccache])
        .output()
        .unwrap_or_else(|e| panic!("klist: {e}"));
    assert!(
        out.status.success(),
        "klist -c {ccache}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn assert_owned_by_nobody(ccache: &str) {
    let path = ccache.strip_prefix("FILE:").unwrap_or(ccache);
    let md = std::fs::metadata(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(md.uid(), NOBODY, "{path} owner");
    assert_eq!(md.gid(), NOBODY, "{path} group");
    assert_eq!(md.mode() & 0o777, 0o600, "{path} mode");
}

#[test]
fn right_password_writes_a_user_owned_ccache() {
    if !need_root() {
        return;
    }
    let d = shared_dir();
    let tpl = format!("FILE:{}/cc/krb5cc_{NOBODY}_XXXXXX", d.path().display());
    let mut req = request(Krb5Cmd::Authenticate, "alice", "AlicePw1", &tpl);
    req.renewable_lifetime = "2h".into();
    let (reply, err) = krb5_child(&req);
    assert_eq!(reply.status, status::SUCCESS, "stderr: {err}");
    let cc = ccache_of(&reply);
    assert!(cc.starts_with(&format!("FILE:{}/cc/krb5cc_{NOBODY}_", d.path().display())));
    assert!(!cc.ends_with("XXXXXX"), "{cc}");
    assert_owned_by_nobody(&cc);
    let dir = std::fs::metadata(d.path().join("cc")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((dir.uid(), dir.mode() & 0o777), (NOBODY, 0o700));
    let listing = klist(&cc);
    assert!(listing.contains(&format!("alice@{REALM}")), "{listing}");
    assert!(
        listing.contains(&format!("krbtgt/{REALM}@{REALM}")),
        "{listing}"
    );
}

#[test]
fn dir_ccache_and_plain_path() {
    if !need_root() {
        return;
    }
    let d = shared_dir();
    let coll = format!("DIR:{}/coll", d.path().display());
    let (reply, err) = krb5_child(&request(Krb5Cmd::Authenticate, "alice", "AlicePw1", &coll));
    assert_eq!(reply.status, status::SUCCESS, "stderr: {err}");
    assert_eq!(ccache_of(&reply), coll);
    assert!(klist(&coll).contains("alice@"));
    let plain = format!("{}/plain_cc", d.path().display());
    let (reply, err) = krb5_child(&request(Krb5Cmd::Authenticate, "alice", "AlicePw1", &plain));
    assert_eq!(reply.status, status::SUCCESS, "stderr: {err}");
    assert_eq!(ccache_of(&reply), format!("FILE:{plain}"));
    assert_owned_by_nobody(&plain);
}

#[test]
fn wrong_password_is_auth_err() {
    if !need_root() {
        return;
    }
    let d = shared_dir();
    let tpl = format!("FILE:{}/krb5cc_XXXXXX", d.path().display());
    let (reply, err) = krb5_child(&request(Krb5Cmd::Authenticate, "alice", "nope", &tpl));
    assert_eq!(reply.status, status::AUTH_ERR, "stderr: {err}");
    assert!(reply.messages.is_empty());
    assert!(
        !err.contains("nope"),
        "the password leaked to stderr: {err}"
    );
    assert_eq!(std::fs::read_dir(d.path()).map(|r| r.count()).ok(), Some(0));
}

#[test]
fn wrong_password_with_preauth_is_auth_err() {
    if !need_root() {
        return;
    }
    let d = shared_dir();
    let tpl = format!("FILE:{}/krb5cc_XXXXXX", d.path().display());
    let (reply, err) = krb5_child(&request(Krb5Cmd::Authenticate, "erin", "nope", &tpl));
    assert_eq!(reply.status, status::AUTH_ERR, "stderr: {err}");
    let (reply, err) = krb5_child(&request(Krb5Cmd::Authenticate, "erin", "ErinPw1", &tpl));
    assert_eq!(reply.status, status::SUCCESS, "stderr: {err}");
}

#[test]
fn expired_password_is_new_authtok_reqd() {
    if !need_root() {
        return;
    }
    let d = shared_dir();
    let tpl = format!("FILE:{}/krb5cc_XXXXXX", d.path().display());
    let (reply, err) = krb5_child(&request(Krb5Cmd::Authenticate, "frank", "FrankPw1", &tpl));
    assert_eq!(reply.status, status::NEW_AUTHTOK_REQD, "stderr: {err}");
    assert_eq!(std::fs::read_dir(d.path()).map(|r| r.count()).ok(), Some(0));
}

#[test]
fn unknown_principal_is_user_unknown() {
    if !need_root() {
        return;
    }
    let d = shared_dir();
    let tpl = format!("FILE:{}/krb5cc_XXXXXX", d.path().display());
    let (reply, err) = krb5_child(&request(Krb5Cmd::Authenticate, "nobody-here", "x", &tpl));
    // SSSD 2.8.2 answers PAM_SYSTEM_ERR for a principal the KDC does not know.
    assert_eq!(reply.status, status::SYSTEM_ERR, "stderr: {err}");
}

#[test]
fn closed_kdc_port_is_authinfo_unavail_fast() {
    if !need_root() {
        return;
    }
    let d = shared_dir();
    let tpl = format!("FILE:{}/krb5cc_XXXXXX", d.path().display());
    let port = sssd_tests::proc::free_port().unwrap_or_else(|e| panic!("{e}"));
    let mut req = request(Krb5Cmd::Authenticate, "alice", "AlicePw1", &tpl);
    req.kdcs = vec![format!("127.0.0.1:{port}")];
    let start = Instant::now();
    let (reply, err) = krb5_child(&req);
    assert_eq!(reply.status, status::AUTHINFO_UNAVAIL, "stderr: {err}");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn validation_with_a_keytab() {
    if !need_root() {
        return;
    }
    let d = shared_dir();
    let kt = d.path().join("host.keytab");
    realm()
        .kdc
        .add_keytab_principal("host/validate.example.com", &kt)
        .unwrap_or_else(|e| panic!("{e}"));
    let tpl = format!("FILE:{}/krb5cc_XXXXXX", d.path().display());
    let mut req = request(Krb5Cmd::Authenticate, "bob", "BobPw1", &tpl);
    req.validate = true;
    req.keytab = format!("FILE:{}", kt.display());
    let (reply, err) = krb5_child(&req);
    assert_eq!(reply.status, status::SUCCESS, "stderr: {err}");
    // A keytab without any key of the realm: validation fails, no ccache.
    req.keytab = format!("FILE:{}/missing.keytab", d.path().display());
    let (reply, err) = krb5_child(&req);
    assert_eq!(reply.status, status::SYSTEM_ERR, "stderr: {err}");
    assert!(err.contains("validation"), "{err}");
}

#[test]
fn password_change_through_kadmind() {
    if !need_root() {
        return;
    }
    if realm().kadmind.is_none() {
        panic!("kadmind did not start");
    }
    let d = shared_dir();
    let tpl = format!("FILE:{}/krb5cc_XXXXXX", d.path().display());
    let (reply, err) = krb5_child(&request(Krb5Cmd::ChpassPrelim, "carol", "CarolPw1", &tpl));
    assert_eq!(reply.status, status::SUCCESS, "prelim: {err}");
    let (reply, err) = krb5_child(&request(Krb5Cmd::ChpassPrelim, "carol", "wrong", &tpl));
    assert_eq!(reply.status, status::AUTH_ERR, "prelim wrong: {err}");
    let (t, data) = reply
        .messages
        .first()
        .unwrap_or_else(|| panic!("{reply:?}"));
    assert_eq!(*t, response::USER_INFO);
    assert_eq!(&data[8..], b"Old password not accepted.");

    let mut req = request(Krb5Cmd::Chpass, "carol", "CarolPw1", &tpl);
    req.new_password = Zeroizing::new(b"CarolNew2".to_vec());
    let (reply, err) = krb5_child(&req);
    assert_eq!(reply.status, status::SUCCESS, "chpass: {err}");
    assert!(klist(&ccache_of(&reply)).contains("carol@"));

    let (reply, _) = krb5_child(&request(Krb5Cmd::Authenticate, "carol", "CarolPw1", &tpl));
    assert_eq!(reply.status, status::AUTH_ERR, "old password still works");
    let (reply, err) = krb5_child(&request(Krb5Cmd::Authenticate, "carol", "CarolNew2", &tpl));
    assert_eq!(reply.status, status::SUCCESS, "new password: {err}");
}

#[test]
fn refused_password_change_reports_the_reason() {
    if !need_root() {
        return;
    }
    if realm().kadmind.is_none() {
        panic!("kadmind did not start");
    }
    let d = shared_dir();
    let tpl = format!("FILE:{}/krb5cc_XXXXXX", d.path().display());
    let mut req = request(Krb5Cmd::Chpass, "dave", "DavePw1", &tpl);
    req.new_password = Zeroizing::new(b"short".to_vec());
    let (reply, err) = krb5_child(&req);
    assert_eq!(reply.status, status::AUTHTOK_ERR, "stderr: {err}");
    let (t, data) = reply
        .messages
        .first()
        .unwrap_or_else(|| panic!("no message: {reply:?}"));
    assert_eq!(*t, response::USER_INFO);
    assert_eq!(&data[0..4], &5u32.to_ne_bytes());
    let text = String::from_utf8_lossy(&data[8..]);
    assert!(text.to_lowercase().contains("password"), "{text}");
    let (reply, _) = krb5_child(&request(Krb5Cmd::Authenticate, "dave", "DavePw1", &tpl));
    assert_eq!(reply.status, status::SUCCESS);
}

#[test]
fn malformed_request_is_a_system_error() {
    if !need_root() {
        return;
    }
    let (out, err) = run_raw(&bin("krb5_child"), b"\x01\x02garbage");
    let reply = decode_krb5_reply(&out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reply.status, status::SYSTEM_ERR);
    assert!(err.contains("malformed request"), "{err}");
}

#[test]
fn ldap_child_gets_a_tgt_from_a_keytab() {
    if !need_root() {
        return;
    }
    let d = shared_dir();
    let kt = d.path().join("ldap.keytab");
    realm()
        .kdc
        .add_keytab_principal("host/ldapclient.example.com", &kt)
        .unwrap_or_else(|e| panic!("{e}"));
    let cc = format!("FILE:{}/ccache_{REALM}", d.path().display());
    let req = LdapChildRequest {
        realm: REALM.into(),
        principal: "host/ldapclient.example.com".into(),
        keytab: format!("FILE:{}", kt.display()),
        lifetime: 3600,
        ccache: cc.clone(),
        kdcs: vec![format!("127.0.0.1:{}", realm().kdc.port())],
    };
    let (out, err) = run_raw(&bin("ldap_child"), &encode_ldap_request(&req));
    let reply = decode_ldap_reply(&out).unwrap_or_else(|e| panic!("{e}; {err}"));
    assert_eq!((reply.result, reply.krb5_error), (0, 0), "stderr: {err}");
    assert_eq!(reply.ccache, cc);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    assert!(
        reply.expire_time > now && reply.expire_time <= now + 3700,
        "{reply:?}"
    );
    assert!(klist(&cc).contains("host/ldapclient.example.com@"));

    // Through the backend. A principal the keytab has no key for: as SSSD, the keytab's
    // closest principal (here its host principal) gets the TGT instead.
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let mut other = req.clone();
    other.principal = "host/unknown.example.com".into();
    rt.block_on(sssd::backend::krb5::ldap_child::get_keytab_tgt(
        &bin("ldap_child"),
        &other,
        Duration::from_secs(8),
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(klist(&cc).contains("Default principal: host/ldapclient.example.com@"));
    // No keytab at all: the failure names the principal asked for.
    let mut bad = other.clone();
    bad.keytab = format!("FILE:{}/missing.keytab", d.path().display());
    let got = rt.block_on(sssd::backend::krb5::ldap_child::get_keytab_tgt(
        &bin("ldap_child"),
        &bad,
        Duration::from_secs(8),
    ));
    let e = got.err().unwrap_or_else(|| panic!("no error"));
    assert!(e.to_string().contains("host/unknown.example.com"), "{e}");
    let ok = rt
        .block_on(sssd::backend::krb5::ldap_child::get_keytab_tgt(
            &bin("ldap_child"),
            &req,
            Duration::from_secs(8),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ok.ccache, cc);
}

fn opts(kdc: String, timeout: u32, dir: &Path) -> Krb5Options {
    Krb5Options {
        servers: vec![kdc],
        kpasswd: vec![],
        realm: Some(REALM.into()),
        auth_timeout: timeout,
        validate: false,
        keytab: String::new(),
        ccachedir: dir.display().to_string(),
        ccname_template: "FILE:%d/krb5cc_%U_XXXXXX".into(),
        lifetime: None,
        renewable_lifetime: None,
        canonicalize: false,
        use_enterprise_principal: false,
        store_password_if_offline: false,
        renew_interval: 0,
    }
}

fn user(principal: &str) -> Krb5User<'_> {
    Krb5User {
        name: "alice",
        uid: NOBODY,
        gid: NOBODY,
        principal,
        domain: "LDAP",
        home: None,
        pid: 0,
    }
}

#[test]
fn backend_run_child_succeeds() {
    if !need_root() {
        return;
    }
    let d = shared_dir();
    let o = opts(format!("127.0.0.1:{}", realm().kdc.port()), 6, d.path());
    let principal = format!("alice@{REALM}");
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let out = rt.block_on(run_child_at(
        &bin("krb5_child"),
        &o,
        &user(&principal),
        Krb5Op::Authenticate,
        b"AlicePw1",
        b"",
    ));
    assert_eq!(out.pam_status, status::SUCCESS, "{out:?}");
    let cc = out.ccname.unwrap_or_else(|| panic!("no ccname"));
    assert!(cc.starts_with(&format!("FILE:{}/krb5cc_{NOBODY}_", d.path().display())));
    assert_owned_by_nobody(&cc);
}

#[test]
fn backend_run_child_times_out_on_a_blackhole_kdc() {
    if !need_root() {
        return;
    }
    // Bound but never answered: UDP datagrams vanish, TCP connections are never accepted.
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = tcp.local_addr().map(|a| a.port()).unwrap_or(0);
    let _udp = UdpSocket::bind(("127.0.0.1", port)).unwrap_or_else(|e| panic!("{e}"));
    let d = shared_dir();
    let o = opts(format!("127.0.0.1:{port}"), 2, d.path());
    let principal = format!("alice@{REALM}");
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let start = Instant::now();
    let out = rt.block_on(run_child_at(
        &bin("krb5_child"),
        &o,
        &user(&principal),
        Krb5Op::Authenticate,
        b"AlicePw1",
        b"",
    ));
    let took = start.elapsed();
    assert_eq!(out.pam_status, status::AUTHINFO_UNAVAIL, "{out:?}");
    assert!(out.kdc_unreachable);
    assert!(took >= Duration::from_secs(2), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    drop(tcp);
}
