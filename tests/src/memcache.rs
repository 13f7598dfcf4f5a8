//! Memory-cache test helpers: an independent reader of `/var/lib/sss/mc/*` files, a
//! counting relay in front of the NSS socket, and a long-running lookup process.
//!
//! The file reader here is written from the format description (spec section 3), not with
//! the product's lookup code, so a test that parses a file the daemon wrote checks the
//! writer against the format rather than against itself. Only MurmurHash3 is shared (it has
//! known-answer tests, and Debian's files confirm it).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use sss_proto::memcache::murmurhash3;

use crate::error::{HarnessError, Result};
use crate::namespace::{Daemon, Namespace};
use crate::proc::{self, Watchdog};
use crate::sssd::NSS_SOCKET;
use crate::stage;

/// The memory-cache directory.
pub const MC_DIR: &str = "/var/lib/sss/mc";

/// The three files both implementations write (SSSD 2.8 also writes `sid`).
pub const MC_FILES: [&str; 3] = ["passwd", "group", "initgroups"];

/// Where the relay moves the responder's socket.
pub const NSS_SOCKET_MOVED: &str = "/var/lib/sss/pipes/nss.daemon";

/// `/var/lib/sss/mc/<name>`.
pub fn mc_path(name: &str) -> String {
    format!("{MC_DIR}/{name}")
}

/// Whether the staged product is Debian's sssd (the reference implementation):
/// [`stage::STAGE_ROOT_ENV`] names a root holding Debian's package documentation.
pub fn reference_stage() -> bool {
    std::env::var_os(stage::STAGE_ROOT_ENV)
        .is_some_and(|r| Path::new(&r).join("usr/share/doc/sssd-common").is_dir())
}

/// Bytes per slot.
const SLOT: usize = 40;

/// The header of a cache file, field by field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct McHeader {
    /// Barrier 1.
    pub b1: u32,
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// 0 uninitialised, 1 alive, 2 recycled.
    pub status: u32,
    /// Hash seed.
    pub seed: u32,
    /// Data table bytes.
    pub dt_size: u32,
    /// Free table bytes.
    pub ft_size: u32,
    /// Hash table bytes.
    pub ht_size: u32,
    /// Data table offset.
    pub data_table: u32,
    /// Free table offset.
    pub free_table: u32,
    /// Hash table offset.
    pub hash_table: u32,
    /// Reserved.
    pub reserved: u32,
    /// Barrier 2.
    pub b2: u32,
}

/// One record as found in the data table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McRecord {
    /// First slot.
    pub slot: u32,
    /// Barrier 1.
    pub b1: u32,
    /// Total length, header included.
    pub len: u32,
    /// Absolute expiry (epoch seconds).
    pub expire: u64,
    /// Next slot in hash1's chain.
    pub next1: u32,
    /// Next slot in hash2's chain.
    pub next2: u32,
    /// Bucket of the first key.
    pub hash1: u32,
    /// Bucket of the second key.
    pub hash2: u32,
    /// Barrier 2.
    pub b2: u32,
    /// The bytes after the 40-byte record header.
    pub payload: Vec<u8>,
}

/// A passwd record's payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McPasswd {
    /// pw_uid.
    pub uid: u32,
    /// pw_gid.
    pub gid: u32,
    /// name, passwd, gecos, dir, shell.
    pub strs: Vec<String>,
}

impl McPasswd {
    /// The entry as `getent passwd` prints it.
    pub fn line(&self) -> String {
        let f = |i: usize| self.strs.get(i).map(String::as_str).unwrap_or_default();
        format!(
            "{}:{}:{}:{}:{}:{}:{}",
            f(0),
            f(1),
            self.uid,
            self.gid,
            f(2),
            f(3),
            f(4)
        )
    }
}

/// A copy of one cache file, read without the product's code.
#[derive(Debug, Clone)]
pub struct McFile {
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
}

fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    let s = b.get(off..off.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_ne_bytes(a))
}

/// Splits NUL-terminated strings.
fn cstrings(b: &[u8]) -> Vec<String> {
    let mut v: Vec<String> = b
        .split(|&c| c == 0)
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    // The last NUL leaves an empty tail.
    if b.last() == Some(&0) {
        v.pop();
    }
    v
}

impl McFile {
    /// Reads `/var/lib/sss/mc/<name>` inside `ns`.
    pub fn read(ns: &Namespace, name: &str) -> Result<McFile> {
        Ok(McFile {
            bytes: ns.read_file(&mc_path(name))?,
        })
    }

    /// The header (no barrier protocol: call it on a quiet file).
    pub fn header(&self) -> Option<McHeader> {
        let f = |i: usize| u32_at(&self.bytes, i * 4);
        Some(McHeader {
            b1: f(0)?,
            major: f(1)?,
            minor: f(2)?,
            status: f(3)?,
            seed: f(4)?,
            dt_size: f(5)?,
            ft_size: f(6)?,
            ht_size: f(7)?,
            data_table: f(8)?,
            free_table: f(9)?,
            hash_table: f(10)?,
            reserved: f(11)?,
            b2: f(12)?,
        })
    }

    fn slots(&self) -> u32 {
        self.header().map(|h| h.dt_size / SLOT as u32).unwrap_or(0)
    }

    /// The record starting at `slot`, if its barriers are valid and equal.
    pub fn record(&self, slot: u32) -> Option<McRecord> {
        let h = self.header()?;
        if slot >= self.slots() {
            return None;
        }
        let off = h.data_table as usize + slot as usize * SLOT;
        let b = &self.bytes;
        let b1 = u32_at(b, off)?;
        let len = u32_at(b, off + 4)?;
        let b2 = u32_at(b, off + 36)?;
        let valid = b1 >> 24 == 0xF0 && b1 == b2;
        if !valid || (len as usize) < SLOT || len as usize > h.dt_size as usize {
            return None;
        }
        Some(McRecord {
            slot,
            b1,
            len,
            expire: u64_at(b, off + 8)?,
            next1: u32_at(b, off + 16)?,
            next2: u32_at(b, off + 20)?,
            hash1: u32_at(b, off + 24)?,
            hash2: u32_at(b, off + 28)?,
            b2,
            payload: b.get(off + SLOT..off + len as usize)?.to_vec(),
        })
    }

    /// Every record, walking the data table slot by slot.
    pub fn records(&self) -> Vec<McRecord> {
        let mut out = Vec::new();
        let mut slot = 0;
        while slot < self.slots() {
            match self.record(slot) {
                Some(r) => {
                    slot += r.len.div_ceil(SLOT as u32);
                    out.push(r);
                }
                None => slot += 1,
            }
        }
        out
    }

    /// The bucket of a hash key (bytes including the NUL).
    pub fn bucket(&self, key: &[u8]) -> Option<u32> {
        let h = self.header()?;
        Some(murmurhash3(key, h.seed) % (h.ht_size / 4))
    }

    /// The records of the chain that starts in `key`'s bucket, in chain order.
    pub fn chain(&self, key: &[u8]) -> Vec<McRecord> {
        let (Some(h), Some(bucket)) = (self.header(), self.bucket(key)) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut slot =
            u32_at(&self.bytes, h.hash_table as usize + bucket as usize * 4).unwrap_or(u32::MAX);
        while slot < self.slots() && out.len() < 4096 {
            let Some(r) = self.record(slot) else { break };
            slot = if r.hash1 == bucket {
                r.next1
            } else if r.hash2 == bucket {
                r.next2
            } else {
                u32::MAX
            };
            out.push(r);
        }
        out
    }

    /// Decodes a passwd payload: `name_ptr (16), uid, gid, strs_len`, five strings.
    pub fn decode_passwd(payload: &[u8]) -> Option<McPasswd> {
        let name_ptr = u32_at(payload, 0)? as usize;
        let strs_len = u32_at(payload, 12)? as usize;
        let strs = cstrings(payload.get(name_ptr..name_ptr.checked_add(strs_len)?)?);
        (name_ptr == 16 && strs.len() == 5).then(|| McPasswd {
            uid: u32_at(payload, 4).unwrap_or_default(),
            gid: u32_at(payload, 8).unwrap_or_default(),
            strs,
        })
    }

    /// The passwd record of `name`, found through its bucket (as a client finds it).
    pub fn passwd(&self, name: &str) -> Option<McPasswd> {
        let mut key = name.as_bytes().to_vec();
        key.push(0);
        self.chain(&key)
            .iter()
            .filter_map(|r| McFile::decode_passwd(&r.payload))
            .find(|p| p.strs.first().is_some_and(|n| n == name))
    }

    /// The passwd record of `uid`, found through the bucket of its decimal form.
    pub fn passwd_by_uid(&self, uid: u32) -> Option<McPasswd> {
        let key = format!("{uid}\0");
        self.chain(key.as_bytes())
            .iter()
            .filter_map(|r| McFile::decode_passwd(&r.payload))
            .find(|p| p.uid == uid)
    }

    /// The group record of `name`: `(gid, [name, passwd, members...])`.
    pub fn group(&self, name: &str) -> Option<(u32, Vec<String>)> {
        let key = format!("{name}\0");
        self.chain(key.as_bytes()).iter().find_map(|r| {
            let p = &r.payload;
            let name_ptr = u32_at(p, 0)? as usize;
            let gid = u32_at(p, 4)?;
            let members = u32_at(p, 8)? as usize;
            let strs_len = u32_at(p, 12)? as usize;
            let strs = cstrings(p.get(name_ptr..name_ptr.checked_add(strs_len)?)?);
            (name_ptr == 16 && strs.len() == members + 2 && strs[0] == name).then_some((gid, strs))
        })
    }

    /// The initgroups record for `name` as typed: its gids.
    pub fn initgroups(&self, name: &str) -> Option<Vec<u32>> {
        let key = format!("{name}\0");
        self.chain(key.as_bytes()).iter().find_map(|r| {
            let p = &r.payload;
            let name_ptr = u32_at(p, 4)? as usize;
            let num = u32_at(p, 20)? as usize;
            let typed = cstrings(p.get(name_ptr..)?).into_iter().next()?;
            if typed != name {
                return None;
            }
            (0..num).map(|i| u32_at(p, 24 + 4 * i)).collect()
        })
    }
}

/// The counting relay (`nss-proxy`) in front of the responder's socket.
#[derive(Debug)]
pub struct NssProxy<'ns> {
    daemon: Daemon<'ns>,
}

impl<'ns> NssProxy<'ns> {
    /// Moves the responder's socket to [`NSS_SOCKET_MOVED`] and starts `proxy_bin` (the
    /// `nss-proxy` binary) listening on [`NSS_SOCKET`]; waits until it listens.
    pub fn start(ns: &'ns Namespace, proxy_bin: &str) -> Result<NssProxy<'ns>> {
        let from = ns.host_path(NSS_SOCKET);
        let to = ns.host_path(NSS_SOCKET_MOVED);
        std::fs::rename(&from, &to).map_err(|e| HarnessError::io("rename", &from, e))?;
        let daemon = ns.spawn(&[proxy_bin, NSS_SOCKET, NSS_SOCKET_MOVED])?;
        proc::wait_until("nss-proxy to listen", Duration::from_secs(10), || {
            daemon.stdout().starts_with("ready\n")
        })?;
        Ok(NssProxy { daemon })
    }

    /// The requests relayed so far, except GET_VERSION: `"0x0011 user1\x00"` and the like
    /// (command in hex, then the body).
    pub fn requests(&self) -> Vec<String> {
        self.requests_with_pid()
            .into_iter()
            .map(|(_, r)| r)
            .collect()
    }

    /// [`NssProxy::requests`] with the PID of the client that sent each.
    pub fn requests_with_pid(&self) -> Vec<(u32, String)> {
        self.daemon
            .stdout()
            .lines()
            .filter_map(|l| l.strip_prefix("req "))
            .filter(|l| !l.starts_with("0x0001"))
            .filter_map(|l| {
                let mut f = l.splitn(3, ' ');
                let (cmd, pid, body) = (f.next()?, f.next()?, f.next().unwrap_or_default());
                Some((pid.parse().ok()?, format!("{cmd} {body}")))
            })
            .collect()
    }

    /// What the relay printed on stderr.
    pub fn stderr(&self) -> String {
        self.daemon.stderr()
    }
}

/// A long-running `nss-threads hold` process: one round of lookups per [`HoldReader::round`],
/// keeping its memory-cache mappings between rounds.
#[derive(Debug)]
pub struct HoldReader {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    _watchdog: Watchdog,
}

impl HoldReader {
    /// Starts `nss-threads hold KEYS...` (`bin` is the binary's path) inside `ns` with `env`.
    pub fn start(
        ns: &Namespace,
        bin: &str,
        env: &[(&str, &str)],
        keys: &[&str],
    ) -> Result<HoldReader> {
        let mut cmd = ns.command(&[bin, "hold"]);
        cmd.args(keys)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().map_err(|source| HarnessError::Spawn {
            program: bin.into(),
            source,
        })?;
        let watchdog = Watchdog::new(child.id())?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            if let Some(out) = stdout {
                for line in BufReader::new(out).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            }
        });
        let mut r = HoldReader {
            child,
            stdin,
            lines: rx,
            _watchdog: watchdog,
        };
        match r.lines.recv_timeout(Duration::from_secs(30)) {
            Ok(l) if l == "ready" => Ok(r),
            other => {
                let status = r.finish();
                Err(HarnessError::Setup(format!(
                    "nss-threads hold did not start: {other:?}, {status:?}"
                )))
            }
        }
    }

    /// One round: `Ok(answers)` (one `KEY ANSWER` line per key), or `Err(exit status)` when
    /// the process died during the round (e.g. killed by SIGBUS).
    pub fn round(&mut self) -> std::result::Result<Vec<String>, Option<ExitStatus>> {
        let sent = self
            .stdin
            .as_mut()
            .is_some_and(|s| s.write_all(b"go\n").and_then(|()| s.flush()).is_ok());
        let mut out = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        if !sent {
            return Err(self.finish());
        }
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if l == "end" => return Ok(out),
                Ok(l) => out.push(l),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    return Err(self.finish());
                }
            }
        }
    }

    /// Closes stdin and waits for the exit status (killing it after 10 s).
    pub fn finish(&mut self) -> Option<ExitStatus> {
        drop(self.stdin.take());
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        proc::terminate(&mut self.child, Duration::from_secs(1))
    }
}

impl Drop for HoldReader {
    fn drop(&mut self) {
        self.finish();
    }
}
