//! The seed corpus, made by the project's own encoders (and, for `sssd.conf`, by hand):
//! small realistic inputs for each target. `fuzz-seeds` writes them to `corpus-seed/`; a
//! test checks that the committed files are exactly what this module makes.

use std::path::{Path, PathBuf};

use sss_proto::child::{self, Krb5Cmd, Krb5Reply, Krb5Request, LdapChildReply, LdapChildRequest};
use sss_proto::memcache::{BytesRegion, Geometry, MapKind};
use sss_proto::nss::{self, GroupEntry, PasswdEntry};
use sss_proto::pam::{self, AuthTok, PamReply, PamRequest, ResponseItem};
use sss_proto::{Command, packet};
use sssd::cache::fuzzing as cache;
use sssd::cache::{AccessRecord, Credentials};
use sssd::memcache::table::{GroupRecord, MapWriter, PasswdRecord};
use sssd::model::{Group, User};

/// One seed file: its target, its file name and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seed {
    /// The target it feeds.
    pub target: &'static str,
    /// File name inside `corpus-seed/<target>/`.
    pub name: String,
    /// The input.
    pub bytes: Vec<u8>,
}

/// Where the committed seed corpus lives: `corpus-seed/` beside this crate's manifest.
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus-seed")
}

/// Every seed of every target.
pub fn all() -> Vec<Seed> {
    let mut out = Vec::new();
    let mut add = |target: &'static str, name: &str, bytes: Vec<u8>| {
        out.push(Seed {
            target,
            name: name.to_string(),
            bytes,
        })
    };
    for (name, bytes) in nss_request() {
        add("nss_request", name, bytes);
    }
    for (name, bytes) in pam_request() {
        add("pam_request", name, bytes);
    }
    for (name, bytes) in krb5_child_request() {
        add("krb5_child_request", name, bytes);
    }
    for (name, bytes) in ldap_child_request() {
        add("ldap_child_request", name, bytes);
    }
    for (name, bytes) in child_reply() {
        add("child_reply", name, bytes);
    }
    for (name, bytes) in proxy_child() {
        add("proxy_child", name, bytes);
    }
    for (name, bytes) in cache_record() {
        add("cache_record", name, bytes);
    }
    for (name, bytes) in memcache() {
        add("memcache", name, bytes);
    }
    for (name, bytes) in config() {
        add("config", name, bytes.as_bytes().to_vec());
    }
    for (name, bytes) in nss_reply() {
        add("nss_reply", name, bytes);
    }
    for (name, bytes) in pam_reply() {
        add("pam_reply", name, bytes);
    }
    for (name, bytes) in netgroup_reply() {
        add("netgroup_reply", name, bytes);
    }
    for (name, bytes) in sudo_request() {
        add("sudo_request", name, bytes);
    }
    for (name, bytes) in sudo_reply() {
        add("sudo_reply", name, bytes);
    }
    for (name, bytes) in autofs() {
        add("autofs", name, bytes);
    }
    for (name, bytes) in ssh() {
        add("ssh", name, bytes);
    }
    out
}

fn sudo_request() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("alice", sss_proto::sudo::encode_request(1001, b"alice")),
        (
            "qualified",
            sss_proto::sudo::encode_request(0, b"alice@LDAP"),
        ),
    ]
}

fn sudo_reply() -> Vec<(&'static str, Vec<u8>)> {
    use sss_proto::sudo::{SudoAttr, SudoRule, encode_error, encode_rules};
    let attr = |n: &str, vs: &[&str]| SudoAttr {
        name: n.as_bytes().to_vec(),
        values: vs.iter().map(|v| v.as_bytes().to_vec()).collect(),
    };
    let rule = SudoRule {
        attrs: vec![
            attr("objectClass", &["sudoRule"]),
            attr("cn", &["r1"]),
            attr("sudoUser", &["alice", "%admins", "#1001"]),
            attr("sudoHost", &["ALL"]),
            attr("sudoCommand", &["/usr/bin/true"]),
            attr("sudoOrder", &["10"]),
        ],
    };
    vec![
        ("rules", encode_rules(&[rule.clone(), SudoRule::default()])),
        ("empty", encode_rules(&[])),
        ("enoent", encode_error(2)),
    ]
}

fn nss_request() -> Vec<(&'static str, Vec<u8>)> {
    let name_body = nss::encode_name_request(b"alice", None);
    vec![
        ("getpwnam", name_body.clone()),
        (
            "getpwnam-packet",
            packet(Command::GetPwNam.code(), 0, &name_body),
        ),
        (
            "getpwnam-ex-qualified",
            nss::encode_name_request(b"alice@example.com", Some(0)),
        ),
        (
            "initgr-ex-nocache",
            nss::encode_name_request(b"Bob@LDAP", Some(nss::EX_FLAG_NO_CACHE)),
        ),
        ("getpwuid", nss::encode_id_request(1001, None)),
        (
            "getgrgid-ex-invalidate",
            nss::encode_id_request(2001, Some(nss::EX_FLAG_INVALIDATE_CACHE)),
        ),
        ("getpwent", nss::ENUM_BATCH.to_ne_bytes().to_vec()),
        (
            "get-version",
            sss_proto::command::NSS_PROTOCOL_VERSION
                .to_ne_bytes()
                .to_vec(),
        ),
    ]
}

fn pam_request() -> Vec<(&'static str, Vec<u8>)> {
    let auth = PamRequest {
        user: Some("alice".into()),
        service: Some("login".into()),
        tty: Some("/dev/pts/1".into()),
        ruser: Some("root".into()),
        rhost: Some("client.example.com".into()),
        cli_pid: Some(4242),
        authtok: Some(AuthTok {
            kind: pam::authtok::PASSWORD,
            data: b"Secret123".to_vec(),
        }),
        flags: Some(0),
        ..PamRequest::default()
    };
    let chauthtok = PamRequest {
        user: Some("alice@example.com".into()),
        service: Some("passwd".into()),
        requested_domains: Some("example.com, LDAP".into()),
        cli_pid: Some(4243),
        child_pid: Some(4244),
        authtok: Some(AuthTok {
            kind: pam::authtok::PASSWORD,
            data: b"old".to_vec(),
        }),
        newauthtok: Some(AuthTok {
            kind: pam::authtok::PASSWORD,
            data: b"new-Secret".to_vec(),
        }),
        flags: Some(pam::cli_flag::ALLOW_CHAUTHTOK_BY_ROOT),
        ..PamRequest::default()
    };
    let acct = PamRequest {
        user: Some("bob".into()),
        service: Some("sshd".into()),
        cli_pid: Some(7),
        ..PamRequest::default()
    };
    vec![
        ("authenticate", pam::encode_request(&auth)),
        ("chauthtok", pam::encode_request(&chauthtok)),
        ("acct-mgmt", pam::encode_request(&acct)),
    ]
}

fn krb5_request(cmd: Krb5Cmd, new_password: &[u8]) -> Krb5Request {
    Krb5Request {
        cmd,
        uid: 1001,
        gid: 1001,
        validate: cmd == Krb5Cmd::Authenticate,
        canonicalize: false,
        enterprise: false,
        principal: "alice@EXAMPLE.COM".into(),
        realm: "EXAMPLE.COM".into(),
        ccname: "FILE:/tmp/krb5cc_1001_XXXXXX".into(),
        keytab: "/etc/krb5.keytab".into(),
        lifetime: "1h".into(),
        renewable_lifetime: String::new(),
        kdcs: vec!["127.0.0.1:88".into(), "kdc.example.com".into()],
        kpasswd: vec!["127.0.0.1:464".into()],
        password: b"Secret123".to_vec().into(),
        new_password: new_password.to_vec().into(),
    }
}

fn krb5_child_request() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "authenticate",
            child::encode_krb5_request(&krb5_request(Krb5Cmd::Authenticate, b"")).to_vec(),
        ),
        (
            "chpass",
            child::encode_krb5_request(&krb5_request(Krb5Cmd::Chpass, b"new-Secret")).to_vec(),
        ),
        (
            "chpass-prelim",
            child::encode_krb5_request(&krb5_request(Krb5Cmd::ChpassPrelim, b"")).to_vec(),
        ),
    ]
}

fn ldap_child_request() -> Vec<(&'static str, Vec<u8>)> {
    let req = LdapChildRequest {
        realm: "EXAMPLE.COM".into(),
        principal: "host/client.example.com".into(),
        keytab: "/etc/krb5.keytab".into(),
        lifetime: 86400,
        ccache: "FILE:/var/lib/sss/db/ccache_EXAMPLE.COM".into(),
        kdcs: vec!["127.0.0.1:88".into()],
    };
    let defaults = LdapChildRequest {
        realm: String::new(),
        principal: String::new(),
        keytab: String::new(),
        lifetime: 0,
        kdcs: Vec::new(),
        ..req.clone()
    };
    vec![
        ("get-tgt", child::encode_ldap_request(&req)),
        ("get-tgt-defaults", child::encode_ldap_request(&defaults)),
    ]
}

fn proxy_child() -> Vec<(&'static str, Vec<u8>)> {
    use sss_proto::proxy::{
        GroupEnt, NssReply, NssRequest, PamOp, PamReply, PamRequest, PasswdEnt,
    };
    let user = PasswdEnt {
        name: "alice".into(),
        uid: 5001,
        gid: 5001,
        gecos: "Alice".into(),
        dir: "/home/alice".into(),
        shell: "/bin/sh".into(),
    };
    let group = GroupEnt {
        name: "staff".into(),
        gid: 5001,
        members: vec!["alice".into(), "bob".into()],
    };
    let pam = PamRequest {
        op: PamOp::Chauthtok,
        user: "alice".into(),
        rhost: "host".into(),
        tty: "pts/0".into(),
        ruser: String::new(),
        authtok: b"old".to_vec().into(),
        new_authtok: b"new".to_vec().into(),
    };
    vec![
        ("ready", NssReply::Ready.encode()),
        ("users", NssReply::Users(vec![user.clone(), user]).encode()),
        ("groups", NssReply::Groups(vec![group]).encode()),
        ("gids", NssReply::Gids(vec![5001, 5002]).encode()),
        ("notfound", NssReply::NotFound.encode()),
        (
            "unavail",
            NssReply::Unavail("no such function".into()).encode(),
        ),
        ("getpwnam", NssRequest::PwNam("alice".into()).encode()),
        (
            "initgroups",
            NssRequest::Initgroups("alice".into(), 5001).encode(),
        ),
        ("enum-groups", NssRequest::EnumGroups.encode()),
        ("pam-chauthtok", pam.encode().to_vec()),
        (
            "pam-reply",
            PamReply {
                status: 7,
                message: "Authentication failure".into(),
            }
            .encode(),
        ),
    ]
}

fn child_reply() -> Vec<(&'static str, Vec<u8>)> {
    let ok = Krb5Reply {
        status: pam::status::SUCCESS,
        messages: vec![(
            pam::response::ALL_ENV_ITEM,
            b"KRB5CCNAME=FILE:/tmp/krb5cc_1001_a1B2c3\0".to_vec(),
        )],
    };
    let expired = Krb5Reply {
        status: pam::status::NEW_AUTHTOK_REQD,
        messages: vec![(
            pam::response::USER_INFO,
            pam::ResponseItem::user_info_message(
                pam::user_info::CHPASS_ERROR,
                "Password has expired",
            )
            .data,
        )],
    };
    let ldap = LdapChildReply {
        result: 0,
        krb5_error: 0,
        ccache: "FILE:/var/lib/sss/db/ccache_EXAMPLE.COM".into(),
        expire_time: 1_700_086_400,
    };
    vec![
        ("krb5-success", child::encode_krb5_reply(&ok)),
        ("krb5-expired", child::encode_krb5_reply(&expired)),
        ("ldap-success", child::encode_ldap_reply(&ldap)),
        (
            "ldap-failure",
            child::encode_ldap_reply(&LdapChildReply {
                result: 5,
                krb5_error: -1_765_328_378,
                ccache: String::new(),
                expire_time: 0,
            }),
        ),
    ]
}

fn cache_record() -> Vec<(&'static str, Vec<u8>)> {
    let user = User {
        name: "alice".into(),
        uid: 1001,
        gid: 2001,
        gecos: "Alice Example".into(),
        home: "/home/alice".into(),
        shell: "/bin/bash".into(),
        dn: "uid=alice,ou=people,dc=example,dc=com".into(),
        upn: Some("alice@EXAMPLE.COM".into()),
        modify_timestamp: Some("20240101000000Z".into()),
        emails: vec!["alice@example.com".into()],
    };
    let group = Group {
        name: "group1".into(),
        gid: 2001,
        members: vec!["alice".into(), "bob".into()],
        dn: "cn=group1,ou=groups,dc=example,dc=com".into(),
        modify_timestamp: None,
    };
    let creds = Credentials {
        hash: "$6$saltsaltsalt$hash".to_string().into(),
        last_online_auth: 1_700_000_000,
        last_password_change: 1_690_000_000,
        last_login: 1_700_000_100,
        last_failed_login: 0,
        failed_attempts: 1,
        cached_auth_fresh: 1_700_000_000,
    };
    let access = AccessRecord {
        filter_matched: Some(true),
        lockout_allowed: Some(false),
        entry: Some(vec![("shadowexpire".into(), vec![b"19800".to_vec()])]),
    };
    vec![
        ("user", cache::encode_user(&user)),
        ("group", cache::encode_group(&group)),
        ("initgroups", cache::encode_gids(&[2001, 2002, 100])),
        (
            "stamp",
            cache::encode_stamp(1_700_000_000, 1_700_005_400).to_vec(),
        ),
        ("credentials", cache::encode_credentials(&creds).to_vec()),
        ("access", cache::encode_access(&access)),
    ]
}

/// A small map of `kind` as the NSS responder writes it, with the entries the target
/// looks up.
fn memcache_map(kind: MapKind) -> Option<Vec<u8>> {
    let geo = Geometry::for_slots(64)?;
    let region = BytesRegion::zeroed(usize::try_from(geo.file_size).ok()?);
    let mut w = MapWriter::init(region, kind, geo, 0x5eed_1234, 300).ok()?;
    let now = 1_700_000_000;
    match kind {
        MapKind::Passwd => {
            for (name, uid) in [(&b"user1"[..], 1001), (b"user2", 1002)] {
                let rec = PasswdRecord {
                    name,
                    passwd: b"*",
                    uid,
                    gid: 2001,
                    gecos: b"User One",
                    dir: b"/home/user1",
                    shell: b"/bin/bash",
                };
                w.store_passwd(&rec, now).ok()?;
            }
        }
        MapKind::Group => {
            let members: [&[u8]; 2] = [b"user1", b"user2"];
            let rec = GroupRecord {
                name: b"group1",
                passwd: b"*",
                gid: 2001,
                members: &members,
            };
            w.store_group(&rec, now).ok()?;
        }
        MapKind::Initgroups => {
            w.store_initgroups(b"user1", b"user1@example.com", &[2001, 2002], now)
                .ok()?;
        }
    }
    Some(w.region().bytes().to_vec())
}

fn memcache() -> Vec<(&'static str, Vec<u8>)> {
    [
        ("passwd", MapKind::Passwd),
        ("group", MapKind::Group),
        ("initgroups", MapKind::Initgroups),
    ]
    .into_iter()
    .filter_map(|(name, kind)| memcache_map(kind).map(|b| (name, b)))
    .collect()
}

fn config() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "ldap-krb5.conf",
            "[sssd]\n\
             services = nss, pam\n\
             domains = example.com\n\
             \n\
             [nss]\n\
             filter_users = root\n\
             memcache_timeout = 300\n\
             \n\
             [pam]\n\
             pam_verbosity = 2\n\
             pam_id_timeout = 5\n\
             \n\
             [domain/example.com]\n\
             id_provider = ldap\n\
             auth_provider = krb5\n\
             ldap_uri = ldap://127.0.0.1\n\
             ldap_search_base = dc=example,dc=com\n\
             krb5_server = 127.0.0.1:88\n\
             krb5_realm = EXAMPLE.COM\n\
             cache_credentials = true\n\
             case_sensitive = false\n\
             use_fully_qualified_names = True\n",
        ),
        (
            "two-domains.conf",
            "# comment\n\
             ; another\n\
             [sssd]\n\
             domains = LDAP, files\n\
             debug_level = 0x0270\n\
             \n\
             [domain/LDAP]\n\
             id_provider = ldap\n\
             ldap_uri = ldaps://ldap.example.com, ldap://backup.example.com\n\
             ldap_tls_reqcert = never\n\
             access_provider = simple\n\
             simple_allow_groups = admins, staff\n\
             override_homedir = /home/%d/%u\n\
             entry_cache_timeout = 600\n\
             \n\
             [domain/files]\n\
             id_provider = ldap\n\
             min_id = 1000\n\
             max_id = 60000\n",
        ),
        ("snippet.conf", "[nss]\r\n  entry_negative_timeout = 30\r\n"),
    ]
}

fn nss_reply() -> Vec<(&'static str, Vec<u8>)> {
    let alice = PasswdEntry {
        uid: 1001,
        gid: 2001,
        name: b"alice",
        passwd: b"*",
        gecos: b"Alice Example",
        dir: b"/home/alice",
        shell: b"/bin/bash",
    };
    let bob = PasswdEntry {
        uid: 1002,
        name: b"bob",
        dir: b"/home/bob",
        ..alice.clone()
    };
    let group = GroupEntry {
        gid: 2001,
        name: b"group1",
        passwd: b"*",
        members: vec![b"alice", b"bob"],
    };
    let empty = GroupEntry {
        gid: 2002,
        name: b"empty",
        passwd: b"*",
        members: vec![],
    };
    vec![
        (
            "passwd",
            nss::encode_passwd_reply(std::slice::from_ref(&alice)),
        ),
        ("passwd-batch", nss::encode_passwd_reply(&[alice, bob])),
        (
            "group",
            nss::encode_group_reply(std::slice::from_ref(&group)),
        ),
        ("group-batch", nss::encode_group_reply(&[group, empty])),
        ("initgroups", nss::encode_initgr_reply(&[2001, 2002, 100])),
        ("not-found", nss::not_found_body()),
    ]
}

fn netgroup_reply() -> Vec<(&'static str, Vec<u8>)> {
    use sss_proto::netgroup::{NetgrEntry, encode_setnetgrent_reply};
    vec![
        (
            "nested",
            encode_setnetgrent_reply(&[
                NetgrEntry::Triple {
                    host: b"host1",
                    user: b"alice",
                    domain: b"dom1",
                },
                NetgrEntry::Triple {
                    host: b"-",
                    user: b"bob",
                    domain: b"",
                },
                NetgrEntry::Group(b"ng_b"),
            ]),
        ),
        ("empty", encode_setnetgrent_reply(&[])),
        ("not-found", nss::not_found_body()),
    ]
}

fn ssh() -> Vec<(&'static str, Vec<u8>)> {
    use sss_proto::ssh;
    let mut blob = Vec::new();
    blob.extend_from_slice(&11u32.to_be_bytes());
    blob.extend_from_slice(b"ssh-ed25519");
    blob.extend_from_slice(&32u32.to_be_bytes());
    blob.extend_from_slice(&[0x5a; 32]);
    let text: &[u8] = b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA alice@host";
    vec![
        ("request", ssh::encode_request("alice", None, None)),
        (
            "request-domain",
            ssh::encode_request("alice", None, Some("LDAP")),
        ),
        (
            "request-host",
            ssh::encode_request("host1", Some("host1.example.com"), None),
        ),
        ("reply", ssh::encode_reply("alice@LDAP", &[text, &blob])),
        ("reply-none", ssh::encode_reply::<&[u8]>("bob@LDAP", &[])),
        (
            "cache-record",
            sssd::cache::ssh::fuzzing::encode_ssh_keys(&[text.to_vec(), blob]),
        ),
    ]
}

fn pam_reply() -> Vec<(&'static str, Vec<u8>)> {
    let item = |kind, data: &[u8]| ResponseItem {
        kind,
        data: data.to_vec(),
    };
    let success = PamReply {
        status: pam::status::SUCCESS,
        items: vec![
            item(pam::response::DOMAIN_NAME, b"example.com\0"),
            item(
                pam::response::PAM_ENV_ITEM,
                b"KRB5CCNAME=FILE:/tmp/krb5cc_1001\0",
            ),
            ResponseItem::user_info(
                pam::user_info::OFFLINE_AUTH,
                &1_700_086_400i64.to_ne_bytes(),
            ),
        ],
    };
    let expired = PamReply {
        status: pam::status::NEW_AUTHTOK_REQD,
        items: vec![
            item(pam::response::DOMAIN_NAME, b"LDAP\0"),
            item(
                pam::response::TEXT_MSG,
                b"Password expired. Change your password now.\0",
            ),
            item(pam::response::SYSTEM_INFO, b"account expired\0"),
        ],
    };
    vec![
        ("success", pam::encode_reply(&success)),
        ("new-authtok-reqd", pam::encode_reply(&expired)),
        (
            "user-unknown",
            pam::encode_reply(&PamReply {
                status: pam::status::USER_UNKNOWN,
                items: Vec::new(),
            }),
        ),
    ]
}

/// Writes every seed under `dir/<target>/<name>`, replacing what was there.
pub fn write_all(dir: &Path) -> std::io::Result<usize> {
    let seeds = all();
    for t in crate::TARGETS {
        let d = dir.join(t.name);
        if d.exists() {
            std::fs::remove_dir_all(&d)?;
        }
        std::fs::create_dir_all(&d)?;
    }
    for s in &seeds {
        std::fs::write(dir.join(s.target).join(&s.name), &s.bytes)?;
    }
    Ok(seeds.len())
}

/// Autofs seeds: a command byte (`0xD1 + b % 4`) then a request or reply body.
fn autofs() -> Vec<(&'static str, Vec<u8>)> {
    use sss_proto::autofs as a;
    let with = |cmd: u32, body: Vec<u8>| {
        let mut v = vec![u8::try_from(cmd - a::SETAUTOMNTENT).unwrap_or(0)];
        v.extend(body);
        v
    };
    let req = |r: a::Request| {
        let (cmd, body) = a::encode_request(&r);
        with(cmd, body)
    };
    vec![
        (
            "setautomntent",
            req(a::Request::SetEnt {
                map: "auto.master".into(),
            }),
        ),
        (
            "getautomntent",
            req(a::Request::GetEnt {
                map: "auto.home".into(),
                cursor: 0,
                max: a::BATCH,
            }),
        ),
        (
            "getautomntbyname",
            req(a::Request::GetByName {
                map: "auto.home".into(),
                key: "alice".into(),
            }),
        ),
        (
            "getent-reply",
            with(
                a::GETAUTOMNTENT,
                a::encode_getent_reply(&[("*", "srv:/home/&"), ("alice", "-rw srv:/a")]),
            ),
        ),
        (
            "byname-reply",
            with(
                a::GETAUTOMNTBYNAME,
                a::encode_byname_reply(Some(b"-fstype=nfs srv:/h")),
            ),
        ),
        ("empty-reply", with(a::SETAUTOMNTENT, a::empty_reply())),
    ]
}
