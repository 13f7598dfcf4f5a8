//! A tiny stand-in for the SSSD NSS responder, serving fixed test data on a socket path given
//! as the only argument. Used by `tests/blackbox.sh` to drive the real glibc tools through
//! `libnss_sss.so.2`; it is not part of the module.
//!
//! Users: alice 10001, bob 10002 (gid 10000). Groups: sssusers 10000, devs 20001 [alice, bob],
//! ops 20002 [alice]. For glibc's ERANGE retry: user `longgecos` (10003, 6000-byte GECOS) and
//! group `biggroup` (20003, 500 members). Enumeration hands out everything in one batch.

use std::io::{self, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::OnceLock;

use sss_proto::nss::{
    GroupEntry, PasswdEntry, decode_enum_request, decode_id_request, decode_name_request,
    encode_group_reply, encode_initgr_reply, encode_passwd_reply, not_found_body,
};
use sss_proto::{Command, HEADER_LEN, Header, MAX_REQUEST_LEN, packet};

fn long_gecos() -> &'static [u8] {
    static G: OnceLock<Vec<u8>> = OnceLock::new();
    G.get_or_init(|| vec![b'g'; 6000])
}

fn big_members() -> Vec<&'static [u8]> {
    static M: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    M.get_or_init(|| {
        (0..500)
            .map(|i| format!("member{i:03}").into_bytes())
            .collect()
    })
    .iter()
    .map(Vec::as_slice)
    .collect()
}

fn users() -> Vec<PasswdEntry<'static>> {
    vec![
        PasswdEntry {
            uid: 10003,
            gid: 10000,
            name: b"longgecos",
            passwd: b"*",
            gecos: long_gecos(),
            dir: b"/home/longgecos",
            shell: b"/bin/sh",
        },
        PasswdEntry {
            uid: 10001,
            gid: 10000,
            name: b"alice",
            passwd: b"*",
            gecos: b"Alice Liddell",
            dir: b"/home/alice",
            shell: b"/bin/bash",
        },
        PasswdEntry {
            uid: 10002,
            gid: 10000,
            name: b"bob",
            passwd: b"*",
            gecos: b"Bob Builder",
            dir: b"/home/bob",
            shell: b"/bin/sh",
        },
    ]
}

fn groups() -> Vec<GroupEntry<'static>> {
    vec![
        GroupEntry {
            gid: 10000,
            name: b"sssusers",
            passwd: b"*",
            members: vec![],
        },
        GroupEntry {
            gid: 20001,
            name: b"devs",
            passwd: b"*",
            members: vec![b"alice", b"bob"],
        },
        GroupEntry {
            gid: 20002,
            name: b"ops",
            passwd: b"*",
            members: vec![b"alice"],
        },
        GroupEntry {
            gid: 20003,
            name: b"biggroup",
            passwd: b"*",
            members: big_members(),
        },
    ]
}

/// Per-connection enumeration progress (the real responder also keeps it per connection).
#[derive(Default)]
struct EnumState {
    pw_sent: bool,
    gr_sent: bool,
}

/// The reply body for one request, or None to drop the connection (unknown command, bad body).
fn answer(cmd: Command, body: &[u8], st: &mut EnumState) -> Option<(u32, Vec<u8>)> {
    let ok = |b: Vec<u8>| Some((0, b));
    match cmd {
        Command::GetVersion => ok(1u32.to_ne_bytes().to_vec()),
        Command::GetPwNam | Command::GetPwUid => {
            let hit: Vec<_> = if cmd == Command::GetPwNam {
                let (name, _) = decode_name_request(body, false).ok()?;
                users()
                    .into_iter()
                    .filter(|u| u.name == name.as_bytes())
                    .collect()
            } else {
                let (uid, _) = decode_id_request(body, false).ok()?;
                users().into_iter().filter(|u| u.uid == uid).collect()
            };
            ok(encode_passwd_reply(&hit))
        }
        Command::GetGrNam | Command::GetGrGid => {
            let hit: Vec<_> = if cmd == Command::GetGrNam {
                let (name, _) = decode_name_request(body, false).ok()?;
                groups()
                    .into_iter()
                    .filter(|g| g.name == name.as_bytes())
                    .collect()
            } else {
                let (gid, _) = decode_id_request(body, false).ok()?;
                groups().into_iter().filter(|g| g.gid == gid).collect()
            };
            ok(encode_group_reply(&hit))
        }
        Command::InitGr => {
            let (name, _) = decode_name_request(body, false).ok()?;
            let gids: Vec<u32> = groups()
                .iter()
                .filter(|g| g.members.contains(&name.as_bytes()))
                .map(|g| g.gid)
                .collect();
            if users().iter().any(|u| u.name == name.as_bytes()) {
                ok(encode_initgr_reply(&gids))
            } else {
                ok(not_found_body())
            }
        }
        Command::SetPwEnt => {
            st.pw_sent = false;
            ok(Vec::new())
        }
        Command::SetGrEnt => {
            st.gr_sent = false;
            ok(Vec::new())
        }
        Command::GetPwEnt => {
            decode_enum_request(body).ok()?;
            let all = if st.pw_sent { Vec::new() } else { users() };
            st.pw_sent = true;
            ok(encode_passwd_reply(&all))
        }
        Command::GetGrEnt => {
            decode_enum_request(body).ok()?;
            let all = if st.gr_sent { Vec::new() } else { groups() };
            st.gr_sent = true;
            ok(encode_group_reply(&all))
        }
        Command::EndPwEnt | Command::EndGrEnt => ok(Vec::new()),
        _ => None,
    }
}

fn serve(mut s: UnixStream) -> io::Result<()> {
    let mut st = EnumState::default();
    loop {
        let mut hb = [0u8; HEADER_LEN];
        s.read_exact(&mut hb)?;
        let h = Header::decode(&hb).map_err(io::Error::other)?;
        if h.len > MAX_REQUEST_LEN {
            return Ok(());
        }
        let mut body = vec![0u8; h.body_len()];
        s.read_exact(&mut body)?;
        let Some(cmd) = Command::from_u32(h.cmd) else {
            return Ok(());
        };
        let Some((status, reply)) = answer(cmd, &body, &mut st) else {
            return Ok(());
        };
        let arg = match decode_name_request(&body, false) {
            Ok((name, _)) => name.to_string(),
            Err(_) => String::new(),
        };
        eprintln!("fake_responder: {cmd:?} {arg} -> {} bytes", reply.len());
        s.write_all(&packet(h.cmd, status, &reply))?;
    }
}

fn main() -> io::Result<()> {
    let path = std::env::args()
        .nth(1)
        .ok_or_else(|| io::Error::other("usage: fake_responder SOCKET_PATH"))?;
    let listener = UnixListener::bind(&path)?;
    for conn in listener.incoming() {
        let conn = conn?;
        std::thread::spawn(move || serve(conn));
    }
    Ok(())
}
