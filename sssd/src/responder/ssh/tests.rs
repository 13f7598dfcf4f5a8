//! The ssh responder against an in-memory domain.

use super::*;
use crate::config::DomainOptions;
use crate::model::User;
use crate::responder::common::fake::{FakeClock, FakeSource};
use crate::responder::common::settings::NssSettings;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Default)]
struct FakeKeys(Mutex<HashMap<String, Vec<Vec<u8>>>>);

impl KeySource for FakeKeys {
    fn ssh_keys(&self, name: &str) -> Result<Option<Vec<Vec<u8>>>, SourceError> {
        Ok(self.0.lock().unwrap().get(name).cloned())
    }
}

/// A domain's SSH hosts: the "directory" (what a refresh finds) and the cache.
#[derive(Default)]
struct FakeHosts {
    directory: Mutex<HashMap<String, Vec<Vec<u8>>>>,
    cache: Mutex<HashMap<String, Cached<SshHost>>>,
    offline: AtomicBool,
    refreshes: Mutex<Vec<(String, Option<String>)>>,
    now: i64,
}

impl HostKeySource for FakeHosts {
    fn host(&self, name: &str) -> Result<Option<Cached<SshHost>>, SourceError> {
        Ok(self.cache.lock().unwrap().get(name).cloned())
    }
    fn hosts(&self) -> Result<Vec<Cached<SshHost>>, SourceError> {
        Ok(self.cache.lock().unwrap().values().cloned().collect())
    }
    fn touch(&self, name: &str, expire: i64) -> Result<(), SourceError> {
        if let Some(h) = self.cache.lock().unwrap().get_mut(name) {
            h.value.known_hosts_expire = expire;
        }
        Ok(())
    }
    fn refresh(&self, name: &str, alias: Option<&str>) -> BoxFuture<DpStatus> {
        self.refreshes
            .lock()
            .unwrap()
            .push((name.to_string(), alias.map(str::to_string)));
        if self.offline.load(Ordering::Relaxed) {
            return Box::pin(async { DpStatus::Offline });
        }
        let mut cache = self.cache.lock().unwrap();
        match self.directory.lock().unwrap().get(name) {
            Some(keys) => {
                let old = cache.remove(name);
                let mut aliases = old
                    .as_ref()
                    .map(|c| c.value.aliases.clone())
                    .unwrap_or_default();
                if let Some(a) = alias
                    && !aliases.iter().any(|x| x == a)
                {
                    aliases.push(a.to_string());
                }
                cache.insert(
                    name.to_string(),
                    Cached {
                        value: SshHost {
                            name: name.to_string(),
                            aliases,
                            keys: keys.clone(),
                            known_hosts_expire: old.map_or(0, |c| c.value.known_hosts_expire),
                        },
                        last_update: self.now,
                        expire: self.now + 100,
                    },
                );
            }
            None => {
                cache.remove(name);
            }
        }
        Box::pin(async { DpStatus::Ok })
    }
}

fn responder(keys: Arc<FakeKeys>) -> (SshResponder, Arc<FakeSource>) {
    let dir = std::env::temp_dir().join(format!("ssh-resp-{}", std::process::id()));
    let (r, s, _) = responder_with_hosts(keys, Arc::new(FakeHosts::default()), dir, false);
    (r, s)
}

fn responder_with_hosts(
    keys: Arc<FakeKeys>,
    hosts: Arc<FakeHosts>,
    dir: std::path::PathBuf,
    hash: bool,
) -> (SshResponder, Arc<FakeSource>, std::path::PathBuf) {
    let clock = FakeClock::at(1000);
    let src = Arc::new(FakeSource::new(clock.clone(), 100));
    src.add_user(
        User {
            name: "alice".into(),
            uid: 1001,
            gid: 1001,
            ..User::default()
        },
        1000,
        2000,
    );
    let settings = SshSettings {
        lookup: NssSettings::new(vec![DomainOptions::defaults("LDAP", "ldap")]),
        hash_known_hosts: hash,
        known_hosts_timeout: 180,
    };
    let kh = dir.join("pubconf/known_hosts");
    let r = SshResponder::new(
        settings,
        vec![src.clone()],
        vec![keys],
        HostKeys {
            sources: vec![hosts],
            known_hosts: kh.clone(),
        },
        clock,
        Arc::new(|n: &str| n == "localuser"),
    );
    (r, src, kh)
}

fn hosts_at(now: i64) -> Arc<FakeHosts> {
    let h = FakeHosts {
        now,
        ..FakeHosts::default()
    };
    h.directory.lock().unwrap().insert(
        "h.example.com".into(),
        vec![b"ssh-ed25519 AAAAhost root@h".to_vec()],
    );
    Arc::new(h)
}

#[tokio::test]
async fn host_keys_are_fetched_each_time_and_written_to_known_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let hosts = hosts_at(1000);
    let (r, _, kh) = responder_with_hosts(
        Arc::new(FakeKeys::default()),
        hosts.clone(),
        dir.path().into(),
        false,
    );
    let req = ssh::encode_request("h.example.com", Some("h"), None);
    let (st, body) = status_and_body(r.host_pubkeys(&req).await);
    assert_eq!(st, 0);
    let reply = ssh::decode_reply(&body).unwrap();
    assert_eq!(reply.name.as_deref(), Some("h.example.com"));
    assert_eq!(reply.keys, vec![b"ssh-ed25519 AAAAhost root@h".to_vec()]);
    assert_eq!(
        std::fs::read_to_string(&kh).unwrap(),
        "h.example.com,h ssh-ed25519 AAAAhost root@h\n"
    );
    // The cache is bypassed: a second lookup asks the backend again.
    let _ = r.host_pubkeys(&req).await;
    assert_eq!(hosts.refreshes.lock().unwrap().len(), 2);
    // `name@domain` and an explicit domain reach the same host; another domain does not.
    let (st, _) = status_and_body(
        r.host_pubkeys(&ssh::encode_request("h.example.com@LDAP", None, None))
            .await,
    );
    assert_eq!(st, 0);
    let (st, _) = status_and_body(
        r.host_pubkeys(&ssh::encode_request("h.example.com", None, Some("X")))
            .await,
    );
    assert_eq!(st, ENOENT);
}

#[tokio::test]
async fn unknown_hosts_are_enoent_and_removed_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let hosts = hosts_at(1000);
    let (r, _, kh) = responder_with_hosts(
        Arc::new(FakeKeys::default()),
        hosts.clone(),
        dir.path().into(),
        false,
    );
    let req = ssh::encode_request("h.example.com", None, None);
    assert_eq!(status_and_body(r.host_pubkeys(&req).await).0, 0);
    hosts.directory.lock().unwrap().clear();
    assert_eq!(status_and_body(r.host_pubkeys(&req).await).0, ENOENT);
    assert_eq!(std::fs::read_to_string(&kh).unwrap(), "");
    let other = ssh::encode_request("nope.example.com", None, None);
    assert_eq!(status_and_body(r.host_pubkeys(&other).await).0, ENOENT);
    assert_eq!(status_and_body(r.host_pubkeys(b"\x01\0\0").await).0, EINVAL);
}

#[tokio::test]
async fn offline_the_cached_keys_are_served_and_listed_even_expired() {
    let dir = tempfile::tempdir().unwrap();
    let hosts = hosts_at(500); // cached entries expire at 600, before the clock's 1000
    let (r, _, kh) = responder_with_hosts(
        Arc::new(FakeKeys::default()),
        hosts.clone(),
        dir.path().into(),
        true,
    );
    let req = ssh::encode_request("h.example.com", Some("h"), None);
    assert_eq!(status_and_body(r.host_pubkeys(&req).await).0, 0);
    // Online but expired: left out of the file, as SSSD does.
    assert_eq!(std::fs::read_to_string(&kh).unwrap(), "");
    hosts.offline.store(true, Ordering::Relaxed);
    let (st, body) = status_and_body(r.host_pubkeys(&req).await);
    assert_eq!(st, 0);
    assert_eq!(ssh::decode_reply(&body).unwrap().keys.len(), 1);
    let text = std::fs::read_to_string(&kh).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "hashed: one line per name: {text}");
    assert!(lines.iter().all(|l| l.starts_with("|1|")));
}

fn status_and_body(a: Action) -> (u32, Vec<u8>) {
    match a {
        Action::Reply { status, body } => (status, body),
        Action::Close => panic!("closed"),
    }
}

#[tokio::test]
async fn keys_of_a_cached_user_come_back_with_the_qualified_name() {
    let keys = Arc::new(FakeKeys::default());
    keys.0.lock().unwrap().insert(
        "alice".into(),
        vec![
            b"ssh-ed25519 AAAA one".to_vec(),
            b"ssh-rsa BBBB two".to_vec(),
        ],
    );
    let (r, _) = responder(keys);
    let (st, body) = status_and_body(
        r.user_pubkeys(&ssh::encode_request("alice", None, None))
            .await,
    );
    assert_eq!(st, 0);
    let reply = ssh::decode_reply(&body).unwrap();
    assert_eq!(reply.name.as_deref(), Some("alice@LDAP"));
    assert_eq!(reply.keys.len(), 2);
    let (st, _) = status_and_body(
        r.user_pubkeys(&ssh::encode_request("alice", None, Some("LDAP")))
            .await,
    );
    assert_eq!(st, 0);
    let (st, _) = status_and_body(
        r.user_pubkeys(&ssh::encode_request("alice", None, Some("OTHER")))
            .await,
    );
    assert_eq!(st, ENOENT);
}

#[tokio::test]
async fn root_local_unknown_and_malformed_requests_get_sssds_statuses() {
    let (r, _) = responder(Arc::new(FakeKeys::default()));
    let st = |a| status_and_body(a).0;
    assert_eq!(
        st(r.user_pubkeys(&ssh::encode_request("root", None, None))
            .await),
        ssh::ERR_NON_SSSD_USER
    );
    assert_eq!(
        st(
            r.user_pubkeys(&ssh::encode_request("localuser", None, None))
                .await
        ),
        ssh::ERR_NON_SSSD_USER
    );
    assert_eq!(
        st(r.user_pubkeys(&ssh::encode_request("nobody-x", None, None))
            .await),
        ENOENT
    );
    assert_eq!(st(r.user_pubkeys(b"\x09\0\0\0").await), EINVAL);
}

#[tokio::test]
async fn a_user_without_stored_keys_is_fetched_again_once() {
    let (r, src) = responder(Arc::new(FakeKeys::default()));
    let before = src.refresh_count();
    let (st, body) = status_and_body(
        r.user_pubkeys(&ssh::encode_request("alice", None, None))
            .await,
    );
    assert_eq!(st, 0);
    assert_eq!(ssh::decode_reply(&body).unwrap().keys.len(), 0);
    assert_eq!(src.refresh_count(), before + 1);
}
