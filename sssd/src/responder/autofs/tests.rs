//! Dispatch tests on an in-memory source: fresh, expired, missing and offline maps, the
//! master-map refresh, paging, and malformed requests.

use super::*;
use crate::responder::common::PeerCred;
use sss_proto::autofs::{
    ENDAUTOMNTENT, GETAUTOMNTBYNAME, GETAUTOMNTENT, SETAUTOMNTENT, decode_byname_reply,
    decode_getent_reply, decode_setent_reply, encode_request,
};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};

type Map = Vec<(String, String)>;

/// One domain: a cache, a directory the "backend" copies from, and a switch to go offline.
#[derive(Default)]
struct Fake {
    cache: Mutex<HashMap<String, (Map, i64)>>,
    directory: Mutex<HashMap<String, Map>>,
    offline: AtomicBool,
    refreshes: AtomicUsize,
    now: Arc<AtomicI64>,
}

impl AutofsSource for Fake {
    fn domain(&self) -> &str {
        "d"
    }

    fn map(&self, name: &str) -> Result<Option<crate::cache::CachedMap>, SourceError> {
        Ok(self.cache.lock().unwrap().get(name).map(|(m, e)| Cached {
            value: m.clone(),
            last_update: 0,
            expire: *e,
        }))
    }

    fn entry(&self, map: &str, key: &str) -> Result<Option<Cached<Option<String>>>, SourceError> {
        Ok(self.cache.lock().unwrap().get(map).map(|(m, e)| Cached {
            value: m.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()),
            last_update: 0,
            expire: *e,
        }))
    }

    fn refresh(&self, name: &str) -> crate::sbus::BoxFuture<DpStatus> {
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        let st = if self.offline.load(Ordering::SeqCst) {
            DpStatus::Offline
        } else {
            let now = self.now.load(Ordering::SeqCst);
            let mut c = self.cache.lock().unwrap();
            match self.directory.lock().unwrap().get(name) {
                Some(m) => {
                    c.insert(name.to_string(), (m.clone(), now + 100));
                }
                None => {
                    c.remove(name);
                }
            }
            if name == "auto.master" {
                for (_, e) in c.values_mut() {
                    *e = 0;
                }
                if let Some(m) = c.get_mut("auto.master") {
                    m.1 = now + 100;
                }
            }
            DpStatus::Ok
        };
        Box::pin(async move { st })
    }
}

struct TestClock(Arc<AtomicI64>);

impl Clock for TestClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

fn map(entries: &[(&str, &str)]) -> Map {
    entries
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn setup() -> (AutofsResponder, Arc<Fake>) {
    let now = Arc::new(AtomicI64::new(1000));
    let fake = Arc::new(Fake {
        now: now.clone(),
        ..Fake::default()
    });
    {
        let mut d = fake.directory.lock().unwrap();
        d.insert(
            "auto.master".into(),
            map(&[("/home", "auto.home"), ("/data", "auto.data")]),
        );
        d.insert(
            "auto.home".into(),
            map(&[("alice", "-rw srv:/home/alice"), ("*", "srv:/home/&")]),
        );
    }
    let r = AutofsResponder::new(
        AutofsSettings::new(vec!["d".into()]),
        vec![fake.clone() as Arc<dyn AutofsSource>],
        Arc::new(TestClock(now)),
    );
    (r, fake)
}

const CLIENT: ClientInfo = ClientInfo {
    id: 1,
    peer: PeerCred {
        uid: 0,
        gid: 0,
        pid: Some(1),
    },
    version: 1,
};

async fn ask(r: &AutofsResponder, req: Request) -> (u32, Vec<u8>) {
    let (cmd, body) = encode_request(&req);
    match r.handle(&mut (), &CLIENT, cmd, &body).await {
        Action::Reply { status, body } => (status, body),
        Action::Close => panic!("closed"),
    }
}

fn setent(m: &str) -> Request {
    Request::SetEnt { map: m.into() }
}

fn getent(m: &str, cursor: u32, max: u32) -> Request {
    Request::GetEnt {
        map: m.into(),
        cursor,
        max,
    }
}

fn byname(m: &str, k: &str) -> Request {
    Request::GetByName {
        map: m.into(),
        key: k.into(),
    }
}

#[tokio::test]
async fn maps_are_fetched_once_then_served_from_the_cache() {
    let (r, fake) = setup();
    let (st, b) = ask(&r, setent("auto.home")).await;
    assert_eq!((st, decode_setent_reply(&b)), (0, Ok(true)));
    assert_eq!(fake.refreshes.load(Ordering::SeqCst), 1);
    let (st, b) = ask(&r, getent("auto.home", 0, 512)).await;
    assert_eq!(st, 0);
    let got = decode_getent_reply(&b).unwrap();
    assert_eq!(got.len(), 2);
    let (_, b) = ask(&r, byname("auto.home", "alice")).await;
    assert_eq!(
        decode_byname_reply(&b),
        Ok(Some(b"-rw srv:/home/alice".to_vec()))
    );
    // A key absent from the fresh map: not found, no backend trip.
    let (st, b) = ask(&r, byname("auto.home", "bob")).await;
    assert_eq!((st, decode_byname_reply(&b)), (0, Ok(None)));
    assert_eq!(fake.refreshes.load(Ordering::SeqCst), 1);
    let (st, b) = ask(&r, Request::EndEnt).await;
    assert_eq!((st, b.len()), (0, 0));
}

#[tokio::test]
async fn missing_maps_are_empty_replies_online_and_err_offline_offline() {
    let (r, fake) = setup();
    let (st, b) = ask(&r, setent("auto.none")).await;
    assert_eq!((st, b), (0, vec![0; 8]));
    let (st, b) = ask(&r, getent("auto.none", 0, 512)).await;
    assert_eq!((st, b), (0, vec![0; 8]));
    let (st, b) = ask(&r, byname("auto.none", "x")).await;
    assert_eq!((st, b), (0, vec![0; 8]));
    fake.offline.store(true, Ordering::SeqCst);
    let (st, b) = ask(&r, setent("auto.other")).await;
    assert_eq!((st, b.len()), (ERR_OFFLINE, 0));
    let (st, _) = ask(&r, byname("auto.other", "x")).await;
    assert_eq!(st, ERR_OFFLINE);
    let (st, _) = ask(&r, getent("auto.other", 0, 512)).await;
    assert_eq!(st, ERR_OFFLINE);
}

#[tokio::test]
async fn expired_maps_are_refreshed_online_and_served_stale_offline() {
    let (r, fake) = setup();
    ask(&r, setent("auto.home")).await;
    fake.now.fetch_add(1000, Ordering::SeqCst);
    fake.directory
        .lock()
        .unwrap()
        .insert("auto.home".into(), map(&[("carol", "srv:/c")]));
    let (_, b) = ask(&r, byname("auto.home", "carol")).await;
    assert_eq!(decode_byname_reply(&b), Ok(Some(b"srv:/c".to_vec())));
    assert_eq!(fake.refreshes.load(Ordering::SeqCst), 2);
    fake.now.fetch_add(1000, Ordering::SeqCst);
    fake.offline.store(true, Ordering::SeqCst);
    let (st, b) = ask(&r, byname("auto.home", "carol")).await;
    assert_eq!(
        (st, decode_byname_reply(&b)),
        (0, Ok(Some(b"srv:/c".to_vec())))
    );
    let (st, b) = ask(&r, getent("auto.home", 0, 10)).await;
    assert_eq!(st, 0);
    assert_eq!(decode_getent_reply(&b).unwrap().len(), 1);
    // As SSSD: a key not cached while offline is ERR_OFFLINE (autofs retries).
    let (st, _) = ask(&r, byname("auto.home", "dave")).await;
    assert_eq!(st, ERR_OFFLINE);
}

#[tokio::test]
async fn the_master_map_is_always_refreshed_and_expires_the_others() {
    let (r, fake) = setup();
    let (_, b) = ask(&r, setent("auto.master")).await;
    assert_eq!(decode_setent_reply(&b), Ok(true));
    ask(&r, setent("auto.home")).await;
    assert_eq!(fake.refreshes.load(Ordering::SeqCst), 2);
    ask(&r, setent("auto.master")).await;
    assert_eq!(fake.refreshes.load(Ordering::SeqCst), 3, "forced");
    // auto.home was marked expired by the master refresh: fetched again.
    ask(&r, setent("auto.home")).await;
    assert_eq!(fake.refreshes.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn enumeration_pages_through_a_snapshot() {
    let (r, fake) = setup();
    let many: Vec<(String, String)> = (0..25)
        .map(|i| (format!("k{i:02}"), format!("v{i}")))
        .collect();
    fake.directory
        .lock()
        .unwrap()
        .insert("auto.big".into(), many.clone());
    let mut got = Vec::new();
    let mut cursor = 0u32;
    loop {
        let (st, b) = ask(&r, getent("auto.big", cursor, 10)).await;
        assert_eq!(st, 0);
        let page = decode_getent_reply(&b).unwrap();
        if page.is_empty() {
            break;
        }
        if cursor == 10 {
            // Changed in the cache while being read: the snapshot still pages on.
            fake.cache.lock().unwrap().remove("auto.big");
        }
        cursor += u32::try_from(page.len()).unwrap();
        got.extend(page);
    }
    assert_eq!(got.len(), 25);
    assert_eq!(got[24], (b"k24".to_vec(), b"v24".to_vec()));
    // Past the end, and a cursor far out of range: the empty reply.
    let (_, b) = ask(&r, getent("auto.big", u32::MAX, u32::MAX)).await;
    assert_eq!(b, vec![0; 8]);
}

#[tokio::test]
async fn malformed_requests_are_einval_and_other_commands_close() {
    let (r, _) = setup();
    for (cmd, body) in [
        (SETAUTOMNTENT, b"no-nul".to_vec()),
        (SETAUTOMNTENT, Vec::new()),
        (GETAUTOMNTENT, vec![1, 2]),
        (GETAUTOMNTBYNAME, vec![255; 40]),
    ] {
        assert_eq!(
            r.handle(&mut (), &CLIENT, cmd, &body).await,
            Action::error(EINVAL),
            "cmd {cmd:#x}"
        );
    }
    assert_eq!(
        r.handle(&mut (), &CLIENT, ENDAUTOMNTENT, b"ignored").await,
        Action::ok(Vec::new())
    );
    assert_eq!(r.handle(&mut (), &CLIENT, 0x11, b"").await, Action::Close);
}
