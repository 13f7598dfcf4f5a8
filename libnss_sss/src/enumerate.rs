//! setXXent/getXXent/endXXent: a process-wide cursor over batches fetched on a dedicated
//! connection (the responder keeps enumeration state per connection).
//!
//! The state lives in a `Mutex` that is never held across I/O: a call takes the cursor out
//! (leaving `Busy`), talks to the responder, and puts it back unless `setent`/`endent`
//! started a new generation meanwhile. A poisoned lock is recovered, never unwrapped.

use std::marker::PhantomData;
use std::sync::{Mutex, MutexGuard, PoisonError};

use sss_proto::Command;
use sss_proto::nss::{
    ENUM_BATCH, GroupEntry, PasswdEntry, decode_group_reply, decode_passwd_reply,
};
use sss_proto::wire::Reader;

use crate::client::Client;
use crate::conn::Conn;
use crate::fill::{fill_group, fill_passwd};
use crate::status::NssError;
use crate::sys;

/// Offset of the first record in a reply body (after `num_results, reserved`).
pub(crate) const RECORDS_OFFSET: usize = 8;

/// What an enumeration walks: its commands and how to decode and fill one record.
pub trait EnumKind {
    /// Start command (SETPWENT / SETGRENT).
    const SET: Command;
    /// Next-batch command (GETPWENT / GETGRENT).
    const GET: Command;
    /// End command (ENDPWENT / ENDGRENT).
    const END: Command;
    /// The C struct a record fills.
    type Out;
    /// Checks a whole batch reply and returns its record count.
    fn validate(body: &[u8]) -> Result<u32, NssError>;
    /// Decodes the record at `r` and fills `out`, strings in `buf`.
    fn fill(r: &mut Reader<'_>, out: &mut Self::Out, buf: &mut [u8]) -> Result<(), NssError>;
}

/// passwd enumeration.
#[derive(Debug)]
pub struct PasswdKind;

impl EnumKind for PasswdKind {
    const SET: Command = Command::SetPwEnt;
    const GET: Command = Command::GetPwEnt;
    const END: Command = Command::EndPwEnt;
    type Out = libc::passwd;
    fn validate(body: &[u8]) -> Result<u32, NssError> {
        let n = decode_passwd_reply(body)?.len();
        u32::try_from(n).map_err(|_| NssError::BadReply("too many records".into()))
    }
    fn fill(r: &mut Reader<'_>, out: &mut libc::passwd, buf: &mut [u8]) -> Result<(), NssError> {
        fill_passwd(&PasswdEntry::decode_from(r)?, out, buf)
    }
}

/// group enumeration.
#[derive(Debug)]
pub struct GroupKind;

impl EnumKind for GroupKind {
    const SET: Command = Command::SetGrEnt;
    const GET: Command = Command::GetGrEnt;
    const END: Command = Command::EndGrEnt;
    type Out = libc::group;
    fn validate(body: &[u8]) -> Result<u32, NssError> {
        let n = decode_group_reply(body)?.len();
        u32::try_from(n).map_err(|_| NssError::BadReply("too many records".into()))
    }
    fn fill(r: &mut Reader<'_>, out: &mut libc::group, buf: &mut [u8]) -> Result<(), NssError> {
        fill_group(&GroupEntry::decode_from(r)?, out, buf)
    }
}

/// Fills `out` from the record at `offset` of a batch reply `batch`; returns the offset of
/// the record after it.
pub(crate) fn fill_at<K: EnumKind>(
    batch: &[u8],
    offset: usize,
    out: &mut K::Out,
    buf: &mut [u8],
) -> Result<usize, NssError> {
    let rest = batch
        .get(offset..)
        .ok_or_else(|| NssError::BadReply("enumeration cursor past the batch".into()))?;
    let mut r = Reader::new(rest);
    K::fill(&mut r, out, buf)?;
    Ok(offset.saturating_add(r.position()))
}

#[derive(Debug)]
struct Cursor {
    conn: Conn,
    pid: i32,
    batch: Vec<u8>,
    offset: usize,
    left: u32,
    done: bool,
}

#[derive(Debug)]
enum Slot {
    Idle,
    Busy,
    Active(Cursor),
}

#[derive(Debug)]
struct Inner {
    slot: Slot,
    generation: u64,
}

/// Process-wide enumeration state for one database.
#[derive(Debug)]
pub struct Enumeration<K> {
    inner: Mutex<Inner>,
    _kind: PhantomData<fn() -> K>,
}

impl<K: EnumKind> Default for Enumeration<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: EnumKind> Enumeration<K> {
    /// No enumeration in progress.
    pub const fn new() -> Self {
        Enumeration {
            inner: Mutex::new(Inner {
                slot: Slot::Idle,
                generation: 0,
            }),
            _kind: PhantomData,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts `cur` back (or Idle for None) if no setent/endent intervened since `generation`.
    fn put_back(&self, generation: u64, cur: Option<Cursor>) {
        let mut g = self.lock();
        if g.generation == generation {
            g.slot = cur.map_or(Slot::Idle, Slot::Active);
        }
    }

    /// Opens a dedicated connection and sends the start command.
    fn start(client: &Client) -> Result<Cursor, NssError> {
        let deadline = client.deadline();
        let mut conn = client.open(deadline)?;
        let reply = conn
            .exchange(K::SET, &[], deadline)
            .map_err(|e| e.into_error())?;
        if reply.status != 0 {
            return Err(NssError::Server(reply.status));
        }
        Ok(Cursor {
            conn,
            pid: sys::getpid(),
            batch: Vec::new(),
            offset: 0,
            left: 0,
            done: false,
        })
    }

    /// `setXXent`: (re)starts the enumeration from the beginning.
    pub fn setent(&self, client: &Client) -> Result<(), NssError> {
        let (old, generation) = {
            let mut g = self.lock();
            g.generation = g.generation.wrapping_add(1);
            (std::mem::replace(&mut g.slot, Slot::Busy), g.generation)
        };
        drop(old);
        let res = Self::start(client);
        match res {
            Ok(cur) => {
                self.put_back(generation, Some(cur));
                Ok(())
            }
            Err(e) => {
                self.put_back(generation, None);
                Err(e)
            }
        }
    }

    /// `getXXent_r`: fills `out` with the next record. [`NssError::NotFound`] at the end;
    /// [`NssError::Range`] leaves the cursor on the same record for a retry.
    pub fn getent(
        &self,
        client: &Client,
        out: &mut K::Out,
        buf: &mut [u8],
    ) -> Result<(), NssError> {
        let (cur, generation) = {
            let mut g = self.lock();
            match std::mem::replace(&mut g.slot, Slot::Busy) {
                Slot::Busy => return Err(NssError::Busy),
                Slot::Idle => (None, g.generation),
                Slot::Active(c) => (Some(c), g.generation),
            }
        };
        // A cursor inherited across fork is not ours: start over in the child.
        let cur = cur.and_then(|c| {
            if c.pid == sys::getpid() {
                Some(c)
            } else {
                let _ = c.conn.revalidate();
                None
            }
        });
        let mut cur = match cur {
            Some(c) => c,
            None => match Self::start(client) {
                Ok(c) => c,
                Err(e) => {
                    self.put_back(generation, None);
                    return Err(e);
                }
            },
        };
        let res = Self::next(&mut cur, client, out, buf);
        let keep = matches!(res, Ok(()) | Err(NssError::Range | NssError::NotFound));
        self.put_back(generation, keep.then_some(cur));
        res
    }

    fn next(
        cur: &mut Cursor,
        client: &Client,
        out: &mut K::Out,
        buf: &mut [u8],
    ) -> Result<(), NssError> {
        loop {
            if cur.left > 0 {
                cur.offset = fill_at::<K>(&cur.batch, cur.offset, out, buf)?;
                cur.left -= 1;
                return Ok(());
            }
            if cur.done {
                return Err(NssError::NotFound);
            }
            let reply = cur
                .conn
                .exchange(K::GET, &ENUM_BATCH.to_ne_bytes(), client.deadline())
                .map_err(|e| e.into_error())?;
            if reply.status != 0 {
                return Err(NssError::Server(reply.status));
            }
            let n = K::validate(&reply.body)?;
            if n == 0 {
                cur.done = true;
                cur.batch = Vec::new();
                return Err(NssError::NotFound);
            }
            cur.batch = reply.body;
            cur.offset = RECORDS_OFFSET;
            cur.left = n;
        }
    }

    /// `endXXent`: tells the responder and drops the cursor and its buffer.
    pub fn endent(&self, client: &Client) -> Result<(), NssError> {
        let old = {
            let mut g = self.lock();
            g.generation = g.generation.wrapping_add(1);
            std::mem::replace(&mut g.slot, Slot::Idle)
        };
        if let Slot::Active(mut cur) = old {
            if cur.pid == sys::getpid() {
                let _ = cur.conn.exchange(K::END, &[], client.deadline());
            } else {
                let _ = cur.conn.revalidate();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NssStatus;
    use crate::fill::tests::{read_group, read_passwd, zero_group, zero_passwd};
    use crate::testutil::{Action, Fake, group_entry, passwd_entry};
    use sss_proto::nss::{encode_group_reply, encode_passwd_reply};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// GETPWENT answers batch 0 = [alice, bob], batch 1 = [carol], then empty.
    fn pw_fake() -> Fake {
        let calls = Arc::new(AtomicUsize::new(0));
        Fake::start(move |cmd, body| match cmd {
            0x13 | 0x15 => Some(Action::reply(0, vec![])),
            0x14 => {
                assert_eq!(body, 256u32.to_ne_bytes());
                let b = match calls.fetch_add(1, Ordering::SeqCst) {
                    0 => encode_passwd_reply(&[passwd_entry(0), passwd_entry(1)]),
                    1 => encode_passwd_reply(&[passwd_entry(2)]),
                    _ => encode_passwd_reply(&[]),
                };
                Some(Action::reply(0, b))
            }
            _ => None,
        })
    }

    #[test]
    fn passwd_enumeration_across_batches_with_erange() {
        let fake = pw_fake();
        let c = Client::new(&fake.path);
        let e: Enumeration<PasswdKind> = Enumeration::new();
        e.setent(&c).unwrap();
        let mut pwd = zero_passwd();
        let mut buf = vec![0u8; 256];
        let mut small = vec![0u8; 4];
        let mut names = Vec::new();
        e.getent(&c, &mut pwd, &mut buf).unwrap();
        names.push(read_passwd(&pwd).0);
        // Too small: TRYAGAIN/ERANGE and the cursor stays on bob.
        let err = e.getent(&c, &mut pwd, &mut small).unwrap_err();
        assert_eq!(
            (err.status(), err.errno()),
            (NssStatus::TryAgain, libc::ERANGE)
        );
        e.getent(&c, &mut pwd, &mut buf).unwrap();
        names.push(read_passwd(&pwd).0);
        // Next batch; ERANGE on its first record too.
        assert_eq!(e.getent(&c, &mut pwd, &mut small), Err(NssError::Range));
        e.getent(&c, &mut pwd, &mut buf).unwrap();
        names.push(read_passwd(&pwd).0);
        assert_eq!(names, ["alice", "bob", "carol"]);
        assert_eq!(e.getent(&c, &mut pwd, &mut buf), Err(NssError::NotFound));
        assert_eq!(e.getent(&c, &mut pwd, &mut buf), Err(NssError::NotFound));
        e.endent(&c).unwrap();
        let cmds: Vec<u32> = fake.log().iter().map(|(c, _)| *c).collect();
        assert_eq!(cmds, [1, 0x13, 0x14, 0x14, 0x14, 0x15]);
    }

    #[test]
    fn getent_without_setent_starts_implicitly_and_setent_restarts() {
        let fake = Fake::start(|cmd, _| match cmd {
            0x13 | 0x15 => Some(Action::reply(0, vec![])),
            0x14 => Some(Action::reply(0, encode_passwd_reply(&[passwd_entry(0)]))),
            _ => None,
        });
        let c = Client::new(&fake.path);
        let e: Enumeration<PasswdKind> = Enumeration::new();
        let mut pwd = zero_passwd();
        let mut buf = vec![0u8; 256];
        e.getent(&c, &mut pwd, &mut buf).unwrap();
        assert_eq!(fake.count(0x13), 1);
        e.setent(&c).unwrap();
        e.getent(&c, &mut pwd, &mut buf).unwrap();
        assert_eq!(read_passwd(&pwd).0, "alice");
        assert_eq!(fake.count(0x13), 2);
        e.endent(&c).unwrap();
        // endent when idle sends nothing.
        e.endent(&c).unwrap();
        assert_eq!(fake.count(0x15), 1);
    }

    #[test]
    fn group_enumeration() {
        let calls = Arc::new(AtomicUsize::new(0));
        let fake = Fake::start(move |cmd, _| match cmd {
            0x23 | 0x25 => Some(Action::reply(0, vec![])),
            0x24 => Some(Action::reply(
                0,
                if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    encode_group_reply(&[group_entry(0), group_entry(2)])
                } else {
                    encode_group_reply(&[])
                },
            )),
            _ => None,
        });
        let c = Client::new(&fake.path);
        let e: Enumeration<GroupKind> = Enumeration::new();
        e.setent(&c).unwrap();
        let mut grp = zero_group();
        let mut buf = vec![0u8; 256];
        e.getent(&c, &mut grp, &mut buf).unwrap();
        assert_eq!(read_group(&grp).0, "devs");
        assert_eq!(e.getent(&c, &mut grp, &mut buf[..20]), Err(NssError::Range));
        e.getent(&c, &mut grp, &mut buf).unwrap();
        assert_eq!(read_group(&grp).3.len(), 5);
        assert_eq!(e.getent(&c, &mut grp, &mut buf), Err(NssError::NotFound));
        e.endent(&c).unwrap();
        assert_eq!(fake.count(0x25), 1);
    }

    #[test]
    fn daemon_absent_and_garbage_batches() {
        let dir = tempfile::tempdir().unwrap();
        let c = Client::new(dir.path().join("nss"));
        let e: Enumeration<PasswdKind> = Enumeration::new();
        let mut pwd = zero_passwd();
        let mut buf = vec![0u8; 256];
        assert_eq!(e.setent(&c), Err(NssError::Transport(libc::ENOENT)));
        assert_eq!(
            e.getent(&c, &mut pwd, &mut buf),
            Err(NssError::Transport(libc::ENOENT))
        );

        let fake = Fake::start(|cmd, _| match cmd {
            0x13 => Some(Action::reply(0, vec![])),
            0x14 => Some(Action::reply(0, vec![5, 0, 0, 0, 0, 0, 0, 0, 1, 2])),
            _ => None,
        });
        let c = Client::new(&fake.path);
        e.setent(&c).unwrap();
        let err = e.getent(&c, &mut pwd, &mut buf).unwrap_err();
        assert_eq!(
            (err.status(), err.errno()),
            (NssStatus::Unavail, libc::EBADMSG)
        );
        assert!(pwd.pw_name.is_null());
    }

    #[test]
    fn concurrent_getent_is_busy_not_blocked() {
        let fake = Fake::start(|cmd, _| match cmd {
            0x13 => Some(Action::reply(0, vec![])),
            0x14 => Some(Action::Silent),
            _ => None,
        });
        let c = Client::new(&fake.path).with_timeout(Duration::from_millis(600));
        let e: Arc<Enumeration<PasswdKind>> = Arc::new(Enumeration::new());
        e.setent(&c).unwrap();
        let (e2, c2) = (e.clone(), c.clone());
        let t = std::thread::spawn(move || {
            let mut pwd = zero_passwd();
            let mut buf = vec![0u8; 64];
            e2.getent(&c2, &mut pwd, &mut buf)
        });
        std::thread::sleep(Duration::from_millis(200));
        let mut pwd = zero_passwd();
        let mut buf = vec![0u8; 64];
        assert_eq!(e.getent(&c, &mut pwd, &mut buf), Err(NssError::Busy));
        assert_eq!(t.join().unwrap(), Err(NssError::Transport(libc::ETIMEDOUT)));
        // After the failure the state is idle again: endent works and setent restarts.
        e.endent(&c).unwrap();
        e.setent(&c).unwrap();
    }

    #[test]
    fn poisoned_lock_is_recovered() {
        let e: Arc<Enumeration<PasswdKind>> = Arc::new(Enumeration::new());
        let e2 = e.clone();
        let _ = std::thread::spawn(move || {
            let _g = e2.inner.lock().unwrap();
            panic!("poison it");
        })
        .join();
        assert!(e.inner.is_poisoned());
        let dir = tempfile::tempdir().unwrap();
        let c = Client::new(dir.path().join("nss"));
        assert_eq!(e.endent(&c), Ok(()));
        assert_eq!(e.setent(&c), Err(NssError::Transport(libc::ENOENT)));
    }
}
