//! The responder's memory-cache glue against the in-memory source: what lookups store and
//! remove, read back from the map files as clients read them.

use super::NssResponder;
use super::commands::{NssConn, dispatch};
use super::fake::{FakeClock, FakeSource};
use super::settings::NssSettings;
use super::source::DomainSource;
use super::tests::group;
use crate::config::DomainOptions;
use crate::memcache::maps::{McSettings, MemCache};
use crate::model::User;
use crate::responder::common::Action;
use sss_proto::Command;
use sss_proto::memcache::{BytesRegion, Header, MapKind, McError, Table};
use sss_proto::nss::{
    EX_FLAG_INVALIDATE_CACHE, decode_group_reply, decode_initgr_reply, decode_passwd_reply,
    encode_id_request, encode_name_request,
};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const T0: i64 = 1_000_000;

struct Env {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    resp: NssResponder,
    src: FakeSource,
}

fn env_with(tweak: impl FnOnce(&mut NssSettings)) -> Env {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mc");
    let clock = FakeClock::at(T0);
    let src = FakeSource::new(clock.clone(), 100);
    let mut s = NssSettings::new(vec![DomainOptions::defaults("LDAP", "ldap")]);
    tweak(&mut s);
    let mut mcs = McSettings::new(&dir);
    (mcs.passwd_mib, mcs.group_mib, mcs.initgroups_mib) = (1, 1, 1);
    let mc = Arc::new(MemCache::open(mcs));
    let sources: Vec<Arc<dyn DomainSource>> = vec![Arc::new(src.clone())];
    let resp = NssResponder::with_memcache(s, sources, clock, Some(mc));
    Env {
        _tmp: tmp,
        dir,
        resp,
        src,
    }
}

fn user(name: &str, uid: u32) -> User {
    User {
        name: name.into(),
        uid,
        gid: 500,
        gecos: format!("User {name}"),
        home: String::new(),
        shell: "/bin/zsh".into(),
        ..User::default()
    }
}

impl Env {
    async fn call(&self, cmd: Command, body: &[u8]) -> Vec<u8> {
        let mut c = NssConn::default();
        match dispatch(self.resp.ctx(), &mut c, 0, cmd.code(), body).await {
            Action::Reply { status: 0, body } => body,
            other => panic!("unexpected {other:?}"),
        }
    }

    fn map(&self, k: MapKind) -> BytesRegion {
        BytesRegion::from_bytes(std::fs::read(self.dir.join(k.file_name())).unwrap())
    }

    /// The strings of passwd entry `name` in the memory cache.
    fn mc_pw(&self, name: &str) -> Result<(u32, u32, Vec<u8>), McError> {
        let r = self.map(MapKind::Passwd);
        let h = Header::read(&r).unwrap();
        let t = Table::new(&r, &h)?;
        let mut buf = vec![0u8; 1024];
        let hit = t.passwd_by_name(name.as_bytes(), T0, &mut buf)?;
        Ok((hit.uid, hit.gid, buf[..hit.strs_len].to_vec()))
    }

    fn mc_pw_uid(&self, uid: u32) -> Result<Vec<u8>, McError> {
        let r = self.map(MapKind::Passwd);
        let h = Header::read(&r).unwrap();
        let t = Table::new(&r, &h)?;
        let mut buf = vec![0u8; 1024];
        let hit = t.passwd_by_uid(uid, T0, &mut buf)?;
        Ok(buf[..hit.strs_len].to_vec())
    }

    fn mc_gr_gid(&self, gid: u32) -> Result<Vec<u8>, McError> {
        let r = self.map(MapKind::Group);
        let h = Header::read(&r).unwrap();
        let t = Table::new(&r, &h)?;
        let mut buf = vec![0u8; 1024];
        let hit = t.group_by_gid(gid, T0, &mut buf)?;
        Ok(buf[..hit.strs_len].to_vec())
    }

    fn mc_gr(&self, name: &str) -> Result<Vec<u8>, McError> {
        let r = self.map(MapKind::Group);
        let h = Header::read(&r).unwrap();
        let t = Table::new(&r, &h)?;
        let mut buf = vec![0u8; 1024];
        let hit = t.group_by_name(name.as_bytes(), T0, &mut buf)?;
        Ok(buf[..hit.strs_len].to_vec())
    }

    fn mc_initgr(&self, name: &str) -> Result<Vec<u32>, McError> {
        let r = self.map(MapKind::Initgroups);
        let h = Header::read(&r).unwrap();
        let t = Table::new(&r, &h)?;
        let mut g = Vec::new();
        t.initgroups(name.as_bytes(), T0, &mut g).map(|()| g)
    }

    fn forget_users(&self) {
        self.src.with(|s| {
            s.cache.users.clear();
            s.directory.users.clear();
            s.cache.initgroups.clear();
            s.directory.initgroups.clear();
        });
    }
}

fn strs(parts: &[&[u8]]) -> Vec<u8> {
    let mut v = Vec::new();
    for p in parts {
        v.extend_from_slice(p);
        v.push(0);
    }
    v
}

#[tokio::test]
async fn a_passwd_lookup_stores_exactly_the_record_sent() {
    let e = env_with(|s| {
        s.nss.fallback_homedir = Some("/home/%d/%u".into());
        s.nss.pwfield = "x".into();
        s.nss.override_shell = Some("/bin/bash".into());
    });
    e.src.add_user(user("user1", 1001), T0, T0 + 100);
    let body = e
        .call(Command::GetPwNam, &encode_name_request(b"user1", None))
        .await;
    let wire = decode_passwd_reply(&body).unwrap();
    let p = &wire[0];
    let want = strs(&[p.name, p.passwd, p.gecos, p.dir, p.shell]);
    assert_eq!(
        want,
        strs(&[
            b"user1",
            b"x",
            b"User user1",
            b"/home/LDAP/user1",
            b"/bin/bash"
        ]),
        "templates and shell options applied"
    );
    assert_eq!(e.mc_pw("user1"), Ok((1001, 500, want.clone())));
    assert_eq!(e.mc_pw_uid(1001), Ok(want));
    // By uid too (the record is rewritten in place).
    e.call(Command::GetPwUid, &encode_id_request(1001, None))
        .await;
    assert_eq!(e.mc_pw("user1").map(|x| x.0), Ok(1001));
}

#[tokio::test]
async fn a_user_that_is_not_found_leaves_both_maps() {
    let e = env_with(|_| {});
    e.src.add_user(user("user1", 1001), T0, T0 + 100);
    e.src.set_initgroups("user1", vec![20], T0, T0 + 100);
    e.call(Command::GetPwNam, &encode_name_request(b"user1", None))
        .await;
    e.call(Command::InitGr, &encode_name_request(b"user1", None))
        .await;
    assert!(e.mc_pw("user1").is_ok());
    assert_eq!(e.mc_initgr("user1"), Ok(vec![20]));
    e.forget_users();
    let body = e
        .call(Command::GetPwNam, &encode_name_request(b"user1", None))
        .await;
    assert!(decode_passwd_reply(&body).unwrap().is_empty());
    assert_eq!(e.mc_pw("user1"), Err(McError::NotFound));
    assert_eq!(e.mc_initgr("user1"), Err(McError::NotFound));
    // By uid: passwd by uid.
    e.src.add_user(user("user2", 1002), T0, T0 + 100);
    e.call(Command::GetPwUid, &encode_id_request(1002, None))
        .await;
    assert!(e.mc_pw_uid(1002).is_ok());
    e.forget_users();
    e.call(Command::GetPwUid, &encode_id_request(1002, None))
        .await;
    assert_eq!(e.mc_pw_uid(1002), Err(McError::NotFound));
}

#[tokio::test]
async fn groups_are_stored_as_sent_and_removed_when_gone() {
    let e = env_with(|_| {});
    e.src
        .add_group(group("staff", 300, &["a", "root", "b"]), T0, T0 + 100);
    let body = e
        .call(Command::GetGrNam, &encode_name_request(b"staff", None))
        .await;
    let g = &decode_group_reply(&body).unwrap()[0];
    let mut want = strs(&[g.name, g.passwd]);
    for m in &g.members {
        want.extend_from_slice(m);
        want.push(0);
    }
    assert_eq!(e.mc_gr_gid(300), Ok(want.clone()));
    assert_eq!(e.mc_gr("staff"), Ok(want));
    e.src.with(|s| {
        s.cache.groups.clear();
        s.directory.groups.clear();
    });
    e.call(Command::GetGrGid, &encode_id_request(300, None))
        .await;
    assert_eq!(e.mc_gr_gid(300), Err(McError::NotFound));
    // (Another group: the negative cache now answers for gid 300 and "staff".)
    e.src.add_group(group("wheel", 301, &[]), T0, T0 + 100);
    e.call(Command::GetGrGid, &encode_id_request(301, None))
        .await;
    assert!(e.mc_gr("wheel").is_ok());
    e.src.with(|s| {
        s.cache.groups.clear();
        s.directory.groups.clear();
    });
    e.call(Command::GetGrNam, &encode_name_request(b"wheel", None))
        .await;
    assert_eq!(e.mc_gr("wheel"), Err(McError::NotFound));
}

#[tokio::test]
async fn initgroups_are_stored_under_the_typed_name_and_the_unique_name() {
    let e = env_with(|s| s.domains[0].case_sensitive = false);
    e.src.add_user(user("user1", 1001), T0, T0 + 100);
    e.src.set_initgroups("user1", vec![20, 30], T0, T0 + 100);
    let body = e
        .call(Command::InitGr, &encode_name_request(b"USER1", None))
        .await;
    let gids = decode_initgr_reply(&body).unwrap();
    assert_eq!(e.mc_initgr("USER1"), Ok(gids.clone()));
    assert_eq!(gids, vec![20, 30]);
    assert_eq!(e.mc_initgr("user1"), Err(McError::NotFound));
    // The unique name is the internal name@domain: looking the user up under another
    // spelling replaces the record.
    e.call(Command::InitGr, &encode_name_request(b"user1", None))
        .await;
    assert_eq!(e.mc_initgr("user1"), Ok(vec![20, 30]));
    assert_eq!(e.mc_initgr("USER1"), Err(McError::NotFound));
    // Through the ctx: the update call finds it by user1@LDAP.
    e.src.set_initgroups("user1", vec![20], T0, T0 + 100);
    e.resp
        .ctx()
        .update_initgroups("user1@LDAP", "LDAP", &[20, 30]);
    assert_eq!(e.mc_initgr("user1"), Err(McError::NotFound));
}

#[tokio::test]
async fn the_invalidate_flag_removes_instead_of_storing() {
    let e = env_with(|_| {});
    e.src.add_user(user("user1", 1001), T0, T0 + 100);
    e.src.set_initgroups("user1", vec![20], T0, T0 + 100);
    let inv = Some(EX_FLAG_INVALIDATE_CACHE);
    e.call(Command::GetPwNamEx, &encode_name_request(b"user1", inv))
        .await;
    assert_eq!(e.mc_pw("user1"), Err(McError::NotFound), "not stored");
    e.call(Command::GetPwNam, &encode_name_request(b"user1", None))
        .await;
    e.call(Command::InitGr, &encode_name_request(b"user1", None))
        .await;
    assert!(e.mc_pw("user1").is_ok());
    e.call(Command::InitGrEx, &encode_name_request(b"user1", inv))
        .await;
    assert_eq!(e.mc_initgr("user1"), Err(McError::NotFound));
    assert_eq!(e.mc_pw("user1"), Err(McError::NotFound));
}

#[tokio::test]
async fn enumeration_stores_nothing() {
    let e = env_with(|s| s.domains[0].enumerate = true);
    e.src.add_user(user("user1", 1001), T0, T0 + 100);
    e.src.add_group(group("staff", 300, &[]), T0, T0 + 100);
    e.call(Command::SetPwEnt, &[]).await;
    let body = e.call(Command::GetPwEnt, &10u32.to_ne_bytes()).await;
    assert_eq!(decode_passwd_reply(&body).unwrap().len(), 1);
    let body = e.call(Command::GetGrEnt, &10u32.to_ne_bytes()).await;
    assert_eq!(decode_group_reply(&body).unwrap().len(), 1);
    assert_eq!(e.mc_pw("user1"), Err(McError::NotFound));
    assert_eq!(e.mc_gr("staff"), Err(McError::NotFound));
}

#[tokio::test]
async fn update_initgroups_drops_what_changed() {
    let e = env_with(|_| {});
    e.src.add_user(user("user1", 1001), T0, T0 + 100);
    e.src.set_initgroups("user1", vec![20, 30], T0, T0 + 100);
    for (n, gid) in [("g20", 20), ("g30", 30), ("g40", 40)] {
        e.src.add_group(group(n, gid, &["user1"]), T0, T0 + 100);
        e.call(Command::GetGrGid, &encode_id_request(gid, None))
            .await;
    }
    e.call(Command::InitGr, &encode_name_request(b"user1", None))
        .await;
    e.call(Command::GetPwNam, &encode_name_request(b"user1", None))
        .await;
    let ctx = e.resp.ctx();
    // Same set (any order): nothing dropped.
    ctx.update_initgroups("user1@LDAP", "LDAP", &[30, 20]);
    ctx.update_initgroups("user1", "ldap", &[30, 20]);
    assert_eq!(e.mc_initgr("user1"), Ok(vec![20, 30]));
    // Unknown domain: ignored.
    ctx.update_initgroups("user1", "OTHER", &[1]);
    assert_eq!(e.mc_initgr("user1"), Ok(vec![20, 30]));
    // Was 20 and 40; now 20 and 30: 30 added, 40 removed.
    ctx.update_initgroups("user1@LDAP", "LDAP", &[20, 40]);
    assert_eq!(e.mc_initgr("user1"), Err(McError::NotFound));
    assert!(e.mc_gr_gid(20).is_ok(), "unchanged group kept");
    assert_eq!(e.mc_gr_gid(30), Err(McError::NotFound));
    assert_eq!(e.mc_gr_gid(40), Err(McError::NotFound));
    assert!(e.mc_pw("user1").is_ok(), "the user is still there");
    // The user is gone: passwd too, and every old group.
    e.call(Command::InitGr, &encode_name_request(b"user1", None))
        .await;
    e.forget_users();
    ctx.update_initgroups("user1@LDAP", "LDAP", &[20]);
    assert_eq!(e.mc_pw("user1"), Err(McError::NotFound));
    assert_eq!(e.mc_initgr("user1"), Err(McError::NotFound));
    assert_eq!(e.mc_gr_gid(20), Err(McError::NotFound));
}

#[tokio::test]
async fn the_bus_handler_resets_and_invalidates() {
    let e = env_with(|_| {});
    e.src.add_user(user("user1", 1001), T0, T0 + 100);
    e.src.add_group(group("staff", 300, &[]), T0, T0 + 100);
    e.call(Command::GetPwNam, &encode_name_request(b"user1", None))
        .await;
    e.call(Command::GetGrNam, &encode_name_request(b"staff", None))
        .await;
    let h = e.resp.memcache_handler();
    h.invalidate_group_by_id(300);
    assert_eq!(e.mc_gr("staff"), Err(McError::NotFound));
    h.invalidate_all_users();
    // The reset runs on a blocking thread.
    for _ in 0..100 {
        if e.mc_pw("user1") == Err(McError::NotFound) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(e.mc_pw("user1"), Err(McError::NotFound));
}

#[tokio::test]
async fn clear_memcache_recreates_the_maps_when_sss_cache_asks() {
    let e = env_with(|_| {});
    e.src.add_user(user("user1", 1001), T0, T0 + 100);
    e.call(Command::GetPwNam, &encode_name_request(b"user1", None))
        .await;
    let svc = e.resp.service_handler();
    svc.clear_memcache();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(e.mc_pw("user1").is_ok(), "no flag: nothing cleared");
    let flag = e.dir.join("clear_mc_flag");
    std::fs::write(&flag, b"").unwrap();
    svc.clear_memcache();
    for _ in 0..100 {
        if !flag.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!flag.exists(), "flag deleted when done");
    assert_eq!(e.mc_pw("user1"), Err(McError::NotFound));
}
