//! setpwent/getpwent/endpwent and the group equivalents: a responder-side snapshot of the
//! enumerable domains' caches, valid for `enum_cache_timeout`, read by per-connection
//! cursors in batches.

use super::NssCtx;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::Mutex;

/// Most records in one GETPWENT/GETGRENT reply, whatever the client asks (SSSD's client
/// asks for 256 at a time).
pub const MAX_ENUM_BATCH: u32 = 256;

/// Most bytes of records in one reply; a single larger record is still sent alone.
pub const MAX_ENUM_REPLY: usize = 1 << 20;

/// Encoded records of one enumeration snapshot.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// When it was built (seconds since the epoch).
    pub built: i64,
    /// Wire records, ready to concatenate.
    pub records: Vec<Vec<u8>>,
    /// [`EnumCache`] generation it was built under.
    pub generation: u64,
}

/// Which database is enumerated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    /// passwd.
    Passwd,
    /// group.
    Group,
}

/// The shared snapshots.
#[derive(Debug, Default)]
pub struct EnumCache {
    pw: Mutex<Option<Arc<Snapshot>>>,
    gr: Mutex<Option<Arc<Snapshot>>>,
    /// Bumped by [`EnumCache::clear`]; a snapshot built under an older generation is stale.
    generation: AtomicU64,
}

impl EnumCache {
    fn slot(&self, db: Db) -> &Mutex<Option<Arc<Snapshot>>> {
        match db {
            Db::Passwd => &self.pw,
            Db::Group => &self.gr,
        }
    }

    /// Invalidates both snapshots (`clearEnumCache`); open cursors keep theirs.
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }
}

/// The current snapshot of `db`, rebuilt (in the blocking pool) when missing or older than
/// `enum_cache_timeout`. Concurrent callers wait for one build.
pub async fn snapshot(ctx: &Arc<NssCtx>, db: Db) -> Arc<Snapshot> {
    let mut slot = ctx.enums.slot(db).lock().await;
    let now = ctx.cr.clock.now();
    let generation = ctx.enums.generation.load(Ordering::SeqCst);
    if let Some(s) = slot.as_ref()
        && s.generation == generation
        && now
            < s.built
                .saturating_add(i64::from(ctx.cr.settings.nss.enum_cache_timeout))
    {
        return s.clone();
    }
    let c = ctx.clone();
    let records = tokio::task::spawn_blocking(move || build(&c, db))
        .await
        .unwrap_or_default();
    let s = Arc::new(Snapshot {
        built: now,
        records,
        generation,
    });
    *slot = Some(s.clone());
    s
}

fn build(ctx: &NssCtx, db: Db) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (d, dom) in ctx.cr.settings.domains.iter().enumerate() {
        if !dom.enumerate {
            continue;
        }
        let Some(src) = ctx.cr.sources.get(d) else {
            continue;
        };
        match db {
            Db::Passwd => match src.all_users() {
                Ok(users) => {
                    for u in users {
                        let r = super::source::Record::User(u);
                        if let super::source::Record::User(u) = &r
                            && ctx.cr.acceptable(d, &r)
                        {
                            let mut v = Vec::new();
                            ctx.format_user(d, u).encode_into(&mut v);
                            out.push(v);
                        }
                    }
                }
                Err(e) => tracing::error!("enumerating users: {e}"),
            },
            Db::Group => match src.all_groups() {
                Ok(groups) => {
                    for g in groups {
                        let r = super::source::Record::Group(g);
                        if let super::source::Record::Group(g) = &r
                            && ctx.cr.acceptable(d, &r)
                        {
                            let mut v = Vec::new();
                            ctx.format_group(d, g).encode_into(&mut v);
                            out.push(v);
                        }
                    }
                }
                Err(e) => tracing::error!("enumerating groups: {e}"),
            },
        }
    }
    out
}

/// A connection's position in a snapshot.
#[derive(Debug, Default)]
pub struct Cursor {
    snap: Option<Arc<Snapshot>>,
    pos: usize,
}

impl Cursor {
    /// Starts over on `snap`.
    pub fn reset(&mut self, snap: Arc<Snapshot>) {
        self.snap = Some(snap);
        self.pos = 0;
    }

    /// Forgets the snapshot (endpwent).
    pub fn end(&mut self) {
        self.snap = None;
        self.pos = 0;
    }

    /// Whether a snapshot is attached.
    pub fn started(&self) -> bool {
        self.snap.is_some()
    }

    /// The next up to `max` records as a reply body (at most [`MAX_ENUM_BATCH`] records
    /// and, past the first record, [`MAX_ENUM_REPLY`] bytes); `num = 0` at the end.
    pub fn next_batch(&mut self, max: u32) -> Vec<u8> {
        let recs: &[Vec<u8>] = self
            .snap
            .as_ref()
            .map(|s| s.records.as_slice())
            .unwrap_or(&[]);
        let start = self.pos.min(recs.len());
        let end = start
            .saturating_add(max.min(MAX_ENUM_BATCH) as usize)
            .min(recs.len());
        let mut bytes = 0usize;
        let batch: Vec<&Vec<u8>> = recs
            .get(start..end)
            .unwrap_or(&[])
            .iter()
            .take_while(|r| {
                let fits = bytes == 0 || bytes.saturating_add(r.len()) <= MAX_ENUM_REPLY;
                bytes = bytes.saturating_add(r.len());
                fits
            })
            .collect();
        let mut body = sss_proto::nss::reply_prefix(batch.len() as u32);
        body.reserve(batch.iter().map(|r| r.len()).sum());
        for r in &batch {
            body.extend_from_slice(r);
        }
        self.pos = start.saturating_add(batch.len());
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(records: Vec<Vec<u8>>) -> Cursor {
        let mut c = Cursor::default();
        c.reset(Arc::new(Snapshot {
            built: 0,
            records,
            generation: 0,
        }));
        c
    }

    fn count(body: &[u8]) -> u32 {
        u32::from_ne_bytes(body[..4].try_into().unwrap())
    }

    #[test]
    fn a_batch_is_clamped_whatever_the_client_asks() {
        let mut c = cursor(vec![vec![7u8; 10]; 1000]);
        let b = c.next_batch(u32::MAX);
        assert_eq!(count(&b), MAX_ENUM_BATCH);
        let b = c.next_batch(100);
        assert_eq!(count(&b), 100);
        let mut seen = MAX_ENUM_BATCH + 100;
        loop {
            let n = count(&c.next_batch(u32::MAX));
            if n == 0 {
                break;
            }
            seen += n;
        }
        assert_eq!(seen, 1000, "nothing is skipped");
    }

    #[test]
    fn a_batch_stops_at_the_byte_cap_but_always_carries_one_record() {
        let big = MAX_ENUM_REPLY / 2 + 1;
        let mut c = cursor(vec![vec![1u8; big], vec![2u8; big], vec![3u8; 3 * big]]);
        assert_eq!(count(&c.next_batch(10)), 1);
        assert_eq!(count(&c.next_batch(10)), 1);
        let last = c.next_batch(10);
        assert_eq!((count(&last), last.len() > 3 * big), (1, true));
        assert_eq!(count(&c.next_batch(10)), 0);
    }
}
