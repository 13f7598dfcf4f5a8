//! A fake NSS responder on a temporary socket, for unit tests.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use sss_proto::nss::{
    GroupEntry, PasswdEntry, encode_group_reply, encode_initgr_reply, encode_passwd_reply,
};
use sss_proto::{HEADER_LEN, Header, packet};

/// What the fake does with one request.
pub enum Action {
    /// Reply with this status and body; keep the connection.
    Reply(u32, Vec<u8>),
    /// Reply, then close the connection.
    ReplyClose(u32, Vec<u8>),
    /// Write these bytes and close.
    Raw(Vec<u8>),
    /// Close without replying.
    Close,
    /// Never reply (keep the connection open).
    Silent,
}

impl Action {
    pub fn reply(status: u32, body: Vec<u8>) -> Action {
        Action::Reply(status, body)
    }
}

/// Requests received: (command, body).
type Log = Mutex<Vec<(u32, Vec<u8>)>>;

type Handler = dyn Fn(u32, &[u8]) -> Option<Action> + Send + Sync;

/// A running fake responder. Threads are left running when it is dropped (the socket goes).
pub struct Fake {
    pub path: PathBuf,
    log: Arc<Log>,
    accepts: Arc<AtomicUsize>,
    _dir: tempfile::TempDir,
}

impl Fake {
    /// Starts a responder: `handler` decides per request; `None` means the default
    /// (GET_VERSION -> 1, anything else -> not found).
    pub fn start(handler: impl Fn(u32, &[u8]) -> Option<Action> + Send + Sync + 'static) -> Fake {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nss");
        let listener = UnixListener::bind(&path).unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let accepts = Arc::new(AtomicUsize::new(0));
        let handler: Arc<Handler> = Arc::new(handler);
        let (l2, a2) = (log.clone(), accepts.clone());
        std::thread::spawn(move || {
            for s in listener.incoming() {
                let Ok(s) = s else { return };
                a2.fetch_add(1, Ordering::SeqCst);
                let (h, l) = (handler.clone(), l2.clone());
                std::thread::spawn(move || serve(s, &*h, &l));
            }
        });
        Fake {
            path,
            log,
            accepts,
            _dir: dir,
        }
    }

    /// Every request received so far: (command, body).
    pub fn log(&self) -> Vec<(u32, Vec<u8>)> {
        self.log.lock().unwrap().clone()
    }

    /// How many requests with command `cmd` arrived.
    pub fn count(&self, cmd: u32) -> usize {
        self.log().iter().filter(|(c, _)| *c == cmd).count()
    }

    /// How many connections were accepted.
    pub fn accepts(&self) -> usize {
        self.accepts.load(Ordering::SeqCst)
    }
}

fn serve(mut s: UnixStream, h: &Handler, log: &Log) {
    loop {
        let mut hb = [0u8; HEADER_LEN];
        if s.read_exact(&mut hb).is_err() {
            return;
        }
        let Ok(hdr) = Header::decode(&hb) else { return };
        let mut body = vec![0u8; hdr.body_len()];
        if s.read_exact(&mut body).is_err() {
            return;
        }
        log.lock().unwrap().push((hdr.cmd, body.clone()));
        let action = h(hdr.cmd, &body).unwrap_or_else(|| {
            if hdr.cmd == 1 {
                Action::Reply(0, 1u32.to_ne_bytes().to_vec())
            } else {
                Action::Reply(0, vec![0; 8])
            }
        });
        match action {
            Action::Reply(st, b) => {
                if s.write_all(&packet(hdr.cmd, st, &b)).is_err() {
                    return;
                }
            }
            Action::ReplyClose(st, b) => {
                let _ = s.write_all(&packet(hdr.cmd, st, &b));
                return;
            }
            Action::Raw(b) => {
                let _ = s.write_all(&b);
                return;
            }
            Action::Close => return,
            Action::Silent => {
                let mut sink = Vec::new();
                let _ = s.read_to_end(&mut sink);
                return;
            }
        }
    }
}

/// Test users: (uid, gid, name, gecos).
pub const USERS: [(u32, u32, &str, &str); 3] = [
    (10001, 10000, "alice", "Alice Liddell"),
    (10002, 10000, "bob", "Bob"),
    (10003, 10000, "carol", "Carol"),
];

pub fn passwd_entry(i: usize) -> PasswdEntry<'static> {
    let (uid, gid, name, gecos) = USERS[i];
    PasswdEntry {
        uid,
        gid,
        name: name.as_bytes(),
        passwd: b"*",
        gecos: gecos.as_bytes(),
        dir: if i == 0 {
            b"/home/alice"
        } else {
            b"/home/other"
        },
        shell: b"/bin/bash",
    }
}

pub fn group_entry(i: usize) -> GroupEntry<'static> {
    match i {
        0 => GroupEntry {
            gid: 20001,
            name: b"devs",
            passwd: b"*",
            members: vec![b"alice", b"bob"],
        },
        1 => GroupEntry {
            gid: 20002,
            name: b"ops",
            passwd: b"x",
            members: vec![],
        },
        _ => GroupEntry {
            gid: 20003,
            name: b"big",
            passwd: b"*",
            members: vec![b"alice", b"bob", b"carol", b"dave", b"erin"],
        },
    }
}

/// A handler serving USERS and the three groups by name/id, and initgroups.
pub fn directory(cmd: u32, body: &[u8]) -> Option<Action> {
    let not_found = || Some(Action::reply(0, vec![0; 8]));
    let id = || {
        body.get(0..4)
            .map(|b| u32::from_ne_bytes(b.try_into().unwrap()))
    };
    let name = || body.strip_suffix(b"\0").unwrap_or(body);
    match cmd {
        0x11 | 0x12 => {
            let found = (0..USERS.len()).map(passwd_entry).find(|e| {
                if cmd == 0x11 {
                    e.name == name()
                } else {
                    Some(e.uid) == id()
                }
            });
            match found {
                Some(e) => Some(Action::reply(0, encode_passwd_reply(&[e]))),
                None => not_found(),
            }
        }
        0x21 | 0x22 => {
            let found = (0..3).map(group_entry).find(|g| {
                if cmd == 0x21 {
                    g.name == name()
                } else {
                    Some(g.gid) == id()
                }
            });
            match found {
                Some(g) => Some(Action::reply(0, encode_group_reply(&[g]))),
                None => not_found(),
            }
        }
        0x26 => match name() {
            b"alice" => Some(Action::reply(
                0,
                encode_initgr_reply(&[20001, 10000, 20002, 20003]),
            )),
            _ => not_found(),
        },
        _ => None,
    }
}
