//! The ssh responder against an in-memory domain.

use super::*;
use crate::model::User;
use crate::responder::common::fake::{FakeClock, FakeSource};
use crate::responder::common::settings::{DomainSettings, NssSettings};
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
struct FakeKeys(Mutex<HashMap<String, Vec<Vec<u8>>>>);

impl KeySource for FakeKeys {
    fn ssh_keys(&self, name: &str) -> Result<Option<Vec<Vec<u8>>>, SourceError> {
        Ok(self.0.lock().unwrap().get(name).cloned())
    }
}

fn responder(keys: Arc<FakeKeys>) -> (SshResponder, Arc<FakeSource>) {
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
        lookup: NssSettings::new(vec![DomainSettings::new("LDAP")]),
    };
    let r = SshResponder::new(
        settings,
        vec![src.clone()],
        vec![keys],
        clock,
        Arc::new(|n: &str| n == "localuser"),
    );
    (r, src)
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
