//! Single-entry lookups: passwd/group by name or id.
//!
//! A group reply that did not fit the caller's buffer is kept (per thread, briefly) so that
//! glibc's retry with a bigger buffer is answered without asking the responder again.

use std::cell::Cell;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use sss_proto::Command;
use sss_proto::nss::{
    GroupEntry, MAX_NAME_LEN, PasswdEntry, decode_reply_prefix, encode_id_request,
    encode_name_request,
};

use sss_proto::memcache::McError;

use crate::client::Client;
use crate::fill::{fill_group, fill_passwd};
use crate::mc::Miss;
use crate::nss::Nss;
use crate::status::NssError;

/// How long a kept group reply stays valid for the ERANGE retry.
const KEEP_FOR_RETRY: Duration = Duration::from_secs(5);

/// Which group a kept reply answers.
#[derive(Debug, Clone, PartialEq, Eq)]
enum GroupKey {
    Name(Vec<u8>),
    Gid(u32),
}

#[derive(Debug)]
struct KeptReply {
    path: PathBuf,
    key: GroupKey,
    body: Vec<u8>,
    at: Instant,
}

thread_local! {
    static LAST_GROUP: Cell<Option<KeptReply>> = const { Cell::new(None) };
}

/// Rejects names the responder would never find: empty, longer than LOGIN_NAME_MAX (the
/// entry points already answer those with [`NssError::BadName`]) or with a NUL inside.
fn check_name(name: &[u8]) -> Result<(), NssError> {
    if name.len() > MAX_NAME_LEN {
        return Err(NssError::BadName);
    }
    if name.is_empty() || name.contains(&0) {
        return Err(NssError::NotFound);
    }
    Ok(())
}

/// The single record reader of a lookup reply: NotFound for 0 results, Ambiguous for >1.
fn single(body: &[u8]) -> Result<sss_proto::wire::Reader<'_>, NssError> {
    let (n, r) = decode_reply_prefix(body)?;
    match n {
        0 => Err(NssError::NotFound),
        1 => Ok(r),
        n => Err(NssError::Ambiguous(n)),
    }
}

pub(crate) fn fill_single_passwd(
    body: &[u8],
    pwd: &mut libc::passwd,
    buf: &mut [u8],
) -> Result<(), NssError> {
    let mut r = single(body)?;
    let e = PasswdEntry::decode_from(&mut r)?;
    fill_passwd(&e, pwd, buf)
}

pub(crate) fn fill_single_group(
    body: &[u8],
    grp: &mut libc::group,
    buf: &mut [u8],
) -> Result<(), NssError> {
    let mut r = single(body)?;
    let e = GroupEntry::decode_from(&mut r)?;
    fill_group(&e, grp, buf)
}

/// What a memory-cache answer means for the caller: `Some` to return it (a hit, or
/// TRYAGAIN/ERANGE so glibc retries with a bigger buffer), `None` to ask the responder.
fn cache_answer(res: Result<(), Miss>) -> Option<Result<(), NssError>> {
    match res {
        Ok(()) => Some(Ok(())),
        Err(Miss::Lookup(McError::Range)) => Some(Err(NssError::Range)),
        Err(_) => None,
    }
}

/// `getpwnam_r`: looks `name` up and fills `pwd` with strings in `buf`.
pub fn getpwnam(
    nss: &Nss<'_>,
    name: &[u8],
    pwd: &mut libc::passwd,
    buf: &mut [u8],
) -> Result<(), NssError> {
    check_name(name)?;
    if let Some(mc) = nss.mc()
        && let Some(res) = cache_answer(mc.passwd_by_name(name, pwd, buf))
    {
        return res;
    }
    let body =
        nss.with_client(|c| c.request(Command::GetPwNam, &encode_name_request(name, None)))?;
    fill_single_passwd(&body, pwd, buf)
}

/// `getpwuid_r`: looks `uid` up and fills `pwd` with strings in `buf`.
pub fn getpwuid(
    nss: &Nss<'_>,
    uid: u32,
    pwd: &mut libc::passwd,
    buf: &mut [u8],
) -> Result<(), NssError> {
    if let Some(mc) = nss.mc()
        && let Some(res) = cache_answer(mc.passwd_by_uid(uid, pwd, buf))
    {
        return res;
    }
    let body = nss.with_client(|c| c.request(Command::GetPwUid, &encode_id_request(uid, None)))?;
    fill_single_passwd(&body, pwd, buf)
}

/// `getgrnam_r`: looks `name` up and fills `grp` with strings and members in `buf`.
pub fn getgrnam(
    nss: &Nss<'_>,
    name: &[u8],
    grp: &mut libc::group,
    buf: &mut [u8],
) -> Result<(), NssError> {
    check_name(name)?;
    if let Some(mc) = nss.mc()
        && let Some(res) = cache_answer(mc.group_by_name(name, grp, buf))
    {
        return res;
    }
    nss.with_client(|client| {
        let req = encode_name_request(name, None);
        group_lookup(
            client,
            GroupKey::Name(name.to_vec()),
            Command::GetGrNam,
            &req,
            grp,
            buf,
        )
    })
}

/// `getgrgid_r`: looks `gid` up and fills `grp` with strings and members in `buf`.
pub fn getgrgid(
    nss: &Nss<'_>,
    gid: u32,
    grp: &mut libc::group,
    buf: &mut [u8],
) -> Result<(), NssError> {
    if let Some(mc) = nss.mc()
        && let Some(res) = cache_answer(mc.group_by_gid(gid, grp, buf))
    {
        return res;
    }
    nss.with_client(|client| {
        let req = encode_id_request(gid, None);
        group_lookup(
            client,
            GroupKey::Gid(gid),
            Command::GetGrGid,
            &req,
            grp,
            buf,
        )
    })
}

fn group_lookup(
    client: &Client,
    key: GroupKey,
    cmd: Command,
    req: &[u8],
    grp: &mut libc::group,
    buf: &mut [u8],
) -> Result<(), NssError> {
    let body = match take_kept(client, &key) {
        Some(b) => b,
        None => client.request(cmd, req)?,
    };
    let res = fill_single_group(&body, grp, buf);
    if res == Err(NssError::Range) {
        keep(KeptReply {
            path: client.path().to_path_buf(),
            key,
            body,
            at: Instant::now(),
        });
    }
    res
}

/// The kept reply for `key`, if fresh; any kept reply is consumed either way.
fn take_kept(client: &Client, key: &GroupKey) -> Option<Vec<u8>> {
    let kept = LAST_GROUP.try_with(Cell::take).ok().flatten()?;
    let fresh = kept.at.elapsed() < KEEP_FOR_RETRY;
    (fresh && kept.key == *key && kept.path == client.path()).then_some(kept.body)
}

fn keep(k: KeptReply) {
    let _ = LAST_GROUP.try_with(move |c| c.set(Some(k)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NssStatus;
    use crate::fill::tests::{read_group, read_passwd, zero_group, zero_passwd};
    use crate::testutil::{Action, Fake, directory, passwd_entry};
    use sss_proto::nss::encode_passwd_reply;

    #[test]
    fn by_name_and_by_id() {
        let fake = Fake::start(directory);
        let c = Client::new(&fake.path);
        let n = Nss::socket_only(&c);
        let mut buf = vec![0u8; 512];
        let mut pwd = zero_passwd();
        getpwnam(&n, b"alice", &mut pwd, &mut buf).unwrap();
        assert_eq!(
            read_passwd(&pwd),
            (
                "alice".into(),
                "*".into(),
                10001,
                10000,
                "Alice Liddell".into(),
                "/home/alice".into(),
                "/bin/bash".into()
            )
        );
        let mut pwd = zero_passwd();
        getpwuid(&n, 10002, &mut pwd, &mut buf).unwrap();
        assert_eq!(read_passwd(&pwd).0, "bob");
        let mut grp = zero_group();
        getgrnam(&n, b"devs", &mut grp, &mut buf).unwrap();
        assert_eq!(
            read_group(&grp),
            (
                "devs".into(),
                "*".into(),
                20001,
                vec!["alice".into(), "bob".into()]
            )
        );
        let mut grp = zero_group();
        getgrgid(&n, 20002, &mut grp, &mut buf).unwrap();
        assert_eq!(read_group(&grp), ("ops".into(), "x".into(), 20002, vec![]));
        let log = fake.log();
        let bodies: Vec<_> = log.iter().skip(1).cloned().collect();
        assert_eq!(
            bodies,
            vec![
                (0x11, b"alice\0".to_vec()),
                (0x12, 10002u32.to_ne_bytes().to_vec()),
                (0x21, b"devs\0".to_vec()),
                (0x22, 20002u32.to_ne_bytes().to_vec()),
            ]
        );
    }

    #[test]
    fn not_found_and_long_names() {
        let fake = Fake::start(directory);
        let c = Client::new(&fake.path);
        let n = Nss::socket_only(&c);
        let mut buf = vec![0u8; 512];
        let mut pwd = zero_passwd();
        let e = getpwnam(&n, b"nobody-here", &mut pwd, &mut buf).unwrap_err();
        assert_eq!((e.status(), e.errno()), (NssStatus::NotFound, 0));
        let mut grp = zero_group();
        assert_eq!(
            getgrgid(&n, 4242, &mut grp, &mut buf),
            Err(NssError::NotFound)
        );
        let before = fake.log().len();
        let long = vec![b'a'; MAX_NAME_LEN + 1];
        assert_eq!(
            getpwnam(&n, &long, &mut pwd, &mut buf),
            Err(NssError::BadName)
        );
        assert_eq!(
            getgrnam(&n, &long, &mut grp, &mut buf),
            Err(NssError::BadName)
        );
        assert_eq!(
            getpwnam(&n, b"", &mut pwd, &mut buf),
            Err(NssError::NotFound)
        );
        assert_eq!(fake.log().len(), before, "no request for impossible names");
        // Exactly LOGIN_NAME_MAX is still asked.
        let max = vec![b'a'; MAX_NAME_LEN];
        assert_eq!(
            getpwnam(&n, &max, &mut pwd, &mut buf),
            Err(NssError::NotFound)
        );
        assert_eq!(fake.log().len(), before + 1);
    }

    #[test]
    fn group_erange_retry_does_not_requery() {
        let fake = Fake::start(directory);
        let c = Client::new(&fake.path);
        let n = Nss::socket_only(&c);
        let mut grp = zero_group();
        let mut small = vec![0u8; 16];
        let e = getgrnam(&n, b"big", &mut grp, &mut small).unwrap_err();
        assert_eq!((e.status(), e.errno()), (NssStatus::TryAgain, libc::ERANGE));
        assert!(grp.gr_name.is_null());
        let mut big = vec![0u8; 1024];
        getgrnam(&n, b"big", &mut grp, &mut big).unwrap();
        assert_eq!(read_group(&grp).3.len(), 5);
        assert_eq!(fake.count(0x21), 1, "the retry used the kept reply");
        // The kept reply was consumed: the next lookup asks again.
        getgrnam(&n, b"big", &mut grp, &mut big).unwrap();
        assert_eq!(fake.count(0x21), 2);
        // By gid too, and a kept reply never answers a different key.
        assert_eq!(
            getgrgid(&n, 20003, &mut grp, &mut small),
            Err(NssError::Range)
        );
        getgrgid(&n, 20001, &mut grp, &mut big).unwrap();
        assert_eq!(read_group(&grp).0, "devs");
        assert_eq!(fake.count(0x22), 2);
    }

    #[test]
    fn passwd_erange_then_bigger_buffer() {
        let fake = Fake::start(directory);
        let c = Client::new(&fake.path);
        let n = Nss::socket_only(&c);
        let mut pwd = zero_passwd();
        let mut small = vec![0u8; 8];
        assert_eq!(
            getpwnam(&n, b"alice", &mut pwd, &mut small),
            Err(NssError::Range)
        );
        assert!(pwd.pw_name.is_null());
        let mut big = vec![0u8; 128];
        getpwnam(&n, b"alice", &mut pwd, &mut big).unwrap();
        assert_eq!(read_passwd(&pwd).0, "alice");
    }

    #[test]
    fn several_results_or_broken_records() {
        let two = encode_passwd_reply(&[passwd_entry(0), passwd_entry(1)]);
        let mut truncated = encode_passwd_reply(&[passwd_entry(0)]);
        truncated.truncate(20);
        let fake = Fake::start(move |cmd, body| match (cmd, body) {
            (0x11, b"two\0") => Some(Action::reply(0, two.clone())),
            (0x11, b"cut\0") => Some(Action::reply(0, truncated.clone())),
            (0x11, b"short\0") => Some(Action::reply(0, vec![1, 0, 0])),
            (0x11, b"busy\0") => Some(Action::reply(libc::EAGAIN as u32, vec![])),
            (0x11, b"inval\0") => Some(Action::reply(libc::EINVAL as u32, vec![])),
            _ => None,
        });
        let c = Client::new(&fake.path);
        let n = Nss::socket_only(&c);
        let mut pwd = zero_passwd();
        let mut buf = vec![0u8; 512];
        let mut status = |name: &[u8]| {
            let e = getpwnam(&n, name, &mut pwd, &mut buf).unwrap_err();
            (e.status(), e.errno())
        };
        assert_eq!(status(b"two"), (NssStatus::TryAgain, libc::EBADMSG));
        assert_eq!(status(b"cut"), (NssStatus::Unavail, libc::EBADMSG));
        assert_eq!(status(b"short"), (NssStatus::Unavail, libc::EBADMSG));
        assert_eq!(status(b"busy"), (NssStatus::TryAgain, libc::EAGAIN));
        assert_eq!(status(b"inval"), (NssStatus::Unavail, libc::EINVAL));
        assert!(pwd.pw_name.is_null());
    }

    #[test]
    fn daemon_absent_is_unavail() {
        let dir = tempfile::tempdir().unwrap();
        let c = Client::new(dir.path().join("nss"));
        let n = Nss::socket_only(&c);
        let mut pwd = zero_passwd();
        let mut buf = vec![0u8; 64];
        let t0 = Instant::now();
        let e = getpwnam(&n, b"alice", &mut pwd, &mut buf).unwrap_err();
        assert_eq!((e.status(), e.errno()), (NssStatus::Unavail, libc::ENOENT));
        let mut grp = zero_group();
        let e = getgrgid(&n, 1, &mut grp, &mut buf).unwrap_err();
        assert_eq!(e.status(), NssStatus::Unavail);
        assert!(t0.elapsed() < Duration::from_secs(1));
    }
}
