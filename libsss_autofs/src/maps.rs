//! The enumeration state and the request/reply logic behind the C interface, in plain Rust
//! over a `send` function (the socket in production, a script in tests).
//!
//! As SSSD's client: `GETAUTOMNTENT` fetches up to [`BATCH`] entries at the context's
//! cursor and later calls are served from that batch while it lasts; a batch belongs to
//! one map, and reading another map (or `setautomntent`/`endautomntent`) drops it.

use sss_proto::autofs::{
    self as wire, BATCH, ENDAUTOMNTENT, Entry, MAX_KEY, MAX_MAP_NAME, Request,
};
use std::collections::VecDeque;

/// Sends a request (command, body) and returns the reply body or an errno.
pub type Send<'a> = dyn FnMut(u32, &[u8]) -> Result<Vec<u8>, i32> + 'a;

/// What `_sss_setautomntent` hands to autofs: the map and the enumeration cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The map name.
    pub map: String,
    /// Index of the next entry to read.
    pub cursor: u32,
}

/// Entries fetched and not yet handed out.
#[derive(Debug, Default)]
struct Batch {
    map: String,
    entries: VecDeque<Entry>,
}

/// The per-process state of the library.
#[derive(Debug, Default)]
pub struct State {
    batch: Option<Batch>,
}

impl State {
    /// An empty state (usable in a `static`).
    pub const fn new() -> State {
        State { batch: None }
    }
}

/// A name of at most `max - 1` bytes (SSSD's `sss_strnlen` bound), valid UTF-8.
fn checked(name: &[u8], max: usize) -> Result<&str, i32> {
    if name.len() >= max {
        return Err(libc::EINVAL);
    }
    std::str::from_utf8(name).map_err(|_| libc::EINVAL)
}

/// Sends `req`.
fn ask(send: &mut Send<'_>, req: &Request) -> Result<Vec<u8>, i32> {
    let (cmd, body) = wire::encode_request(req);
    send(cmd, &body)
}

/// `setautomntent(map)`: a context when the map exists, `ENOENT` when it does not.
pub fn setautomntent(state: &mut State, map: &[u8], send: &mut Send<'_>) -> Result<Context, i32> {
    state.batch = None;
    let map = checked(map, MAX_MAP_NAME)?;
    let reply = ask(
        send,
        &Request::SetEnt {
            map: map.to_string(),
        },
    )?;
    match wire::decode_setent_reply(&reply) {
        Ok(true) => Ok(Context {
            map: map.to_string(),
            cursor: 0,
        }),
        Ok(false) => Err(libc::ENOENT),
        Err(_) => Err(libc::EIO),
    }
}

/// `getautomntent`: the next (key, value) of the context's map, `None` at the end.
pub fn getautomntent(
    state: &mut State,
    ctx: &mut Context,
    send: &mut Send<'_>,
) -> Result<Option<Entry>, i32> {
    checked(ctx.map.as_bytes(), MAX_MAP_NAME)?;
    if let Some(b) = state.batch.as_mut().filter(|b| b.map == ctx.map)
        && let Some(e) = b.entries.pop_front()
    {
        ctx.cursor = ctx.cursor.saturating_add(1);
        return Ok(Some(e));
    }
    state.batch = None;
    let reply = ask(
        send,
        &Request::GetEnt {
            map: ctx.map.clone(),
            cursor: ctx.cursor,
            max: BATCH,
        },
    )?;
    let mut entries: VecDeque<Entry> = wire::decode_getent_reply(&reply)
        .map_err(|_| libc::EIO)?
        .into();
    let Some(first) = entries.pop_front() else {
        return Ok(None);
    };
    state.batch = Some(Batch {
        map: ctx.map.clone(),
        entries,
    });
    ctx.cursor = ctx.cursor.saturating_add(1);
    Ok(Some(first))
}

/// `getautomntbyname(key)`: the key's value in the context's map, `None` when absent.
pub fn getautomntbyname(
    ctx: &Context,
    key: &[u8],
    send: &mut Send<'_>,
) -> Result<Option<Vec<u8>>, i32> {
    let map = checked(ctx.map.as_bytes(), MAX_MAP_NAME)?;
    let key = checked(key, MAX_KEY)?;
    let reply = ask(
        send,
        &Request::GetByName {
            map: map.to_string(),
            key: key.to_string(),
        },
    )?;
    wire::decode_byname_reply(&reply).map_err(|_| libc::EIO)
}

/// `endautomntent`: drops the batch and tells the responder.
pub fn endautomntent(state: &mut State, send: &mut Send<'_>) -> Result<(), i32> {
    state.batch = None;
    send(ENDAUTOMNTENT, &[]).map(|_| ())
}

/// The errno autofs gets: with protocol 0 (autofs before 5.1.5) `EHOSTDOWN` ("try later")
/// reads as `ENOENT`, as SSSD does.
pub fn for_protocol(errno: i32, protocol: u32) -> i32 {
    if errno == libc::EHOSTDOWN && protocol == 0 {
        return libc::ENOENT;
    }
    errno
}

#[cfg(test)]
mod tests {
    use super::*;
    use sss_proto::autofs::{
        GETAUTOMNTBYNAME, GETAUTOMNTENT, SETAUTOMNTENT, decode_request, encode_byname_reply,
        encode_getent_reply, encode_setent_reply,
    };

    /// A responder over one map of `n` entries, recording the requests.
    fn responder(
        n: usize,
        log: &mut Vec<Request>,
    ) -> impl FnMut(u32, &[u8]) -> Result<Vec<u8>, i32> + '_ {
        let entries: Vec<(String, String)> =
            (0..n).map(|i| (format!("k{i}"), format!("v{i}"))).collect();
        move |cmd, body| {
            let req = decode_request(cmd, body).map_err(|_| libc::EINVAL)?;
            log.push(req.clone());
            Ok(match req {
                Request::SetEnt { map } => encode_setent_reply(map == "auto.home"),
                Request::GetEnt { cursor, max, .. } => {
                    let page: Vec<_> = entries
                        .iter()
                        .skip(cursor as usize)
                        .take(max as usize)
                        .cloned()
                        .collect();
                    encode_getent_reply(&page)
                }
                Request::GetByName { key, .. } => encode_byname_reply(
                    entries
                        .iter()
                        .find(|(k, _)| *k == key)
                        .map(|(_, v)| v.as_bytes()),
                ),
                Request::EndEnt => Vec::new(),
            })
        }
    }

    #[test]
    fn enumeration_fetches_batches_and_ends_with_none() {
        let mut log = Vec::new();
        let mut st = State::new();
        let mut got = Vec::new();
        {
            let mut send = responder(1100, &mut log);
            let mut ctx = setautomntent(&mut st, b"auto.home", &mut send).unwrap();
            while let Some((k, _)) = getautomntent(&mut st, &mut ctx, &mut send).unwrap() {
                got.push(k);
            }
            assert_eq!(ctx.cursor, 1100);
            assert_eq!(
                getautomntbyname(&ctx, b"k7", &mut send).unwrap(),
                Some(b"v7".to_vec())
            );
            assert_eq!(getautomntbyname(&ctx, b"zz", &mut send).unwrap(), None);
            endautomntent(&mut st, &mut send).unwrap();
        }
        assert_eq!(got.len(), 1100);
        assert_eq!(got[1099], b"k1099");
        let cmds: Vec<u32> = log.iter().map(|r| wire::encode_request(r).0).collect();
        // set, 3 batches of 512 (the last one empty: 1100 = 512 + 512 + 76, then the end),
        // two lookups, end.
        assert_eq!(
            cmds,
            [
                SETAUTOMNTENT,
                GETAUTOMNTENT,
                GETAUTOMNTENT,
                GETAUTOMNTENT,
                GETAUTOMNTENT,
                GETAUTOMNTBYNAME,
                GETAUTOMNTBYNAME,
                ENDAUTOMNTENT
            ]
        );
    }

    #[test]
    fn missing_maps_bad_names_and_garbage_replies() {
        let mut log = Vec::new();
        let mut st = State::new();
        let mut send = responder(1, &mut log);
        assert_eq!(
            setautomntent(&mut st, b"auto.none", &mut send),
            Err(libc::ENOENT)
        );
        assert_eq!(
            setautomntent(&mut st, &[b'x'; 300], &mut send),
            Err(libc::EINVAL)
        );
        assert_eq!(
            setautomntent(&mut st, b"\xff", &mut send),
            Err(libc::EINVAL)
        );
        let ctx = Context {
            map: "m".into(),
            cursor: 0,
        };
        assert_eq!(
            getautomntbyname(&ctx, &[b'k'; 5000], &mut send),
            Err(libc::EINVAL)
        );
        let mut garbage = |_: u32, _: &[u8]| Ok(vec![1, 0, 0, 0, 200, 0, 0, 0, 1]);
        let mut ctx = ctx;
        assert_eq!(
            getautomntent(&mut st, &mut ctx, &mut garbage),
            Err(libc::EIO)
        );
        assert_eq!(getautomntbyname(&ctx, b"k", &mut garbage), Err(libc::EIO));
        let mut offline = |_: u32, _: &[u8]| Err(libc::EHOSTDOWN);
        assert_eq!(
            setautomntent(&mut st, b"m", &mut offline),
            Err(libc::EHOSTDOWN)
        );
        assert_eq!(for_protocol(libc::EHOSTDOWN, 0), libc::ENOENT);
        assert_eq!(for_protocol(libc::EHOSTDOWN, 1), libc::EHOSTDOWN);
    }
}
