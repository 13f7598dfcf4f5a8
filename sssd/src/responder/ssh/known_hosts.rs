//! The known hosts file SSSD 2.8's ssh responder keeps (`/var/lib/sss/pubconf/known_hosts`,
//! read by ssh through `GlobalKnownHostsFile`): after every host key lookup it is rewritten
//! whole, atomically (a unique temporary file in the same directory, mode 0644, renamed over
//! the old one), with one line per key of every cached host that was looked up within
//! `ssh_known_hosts_timeout` and whose cache entry has not expired.
//!
//! A line is `name,alias1,alias2 key` (`ssh_hash_known_hosts = false`), or with hashing one
//! line per name and key, `|1|base64(salt)|base64(HMAC-SHA1(salt, name)) key` with a fresh
//! random 20-byte salt, as OpenSSH's `HashKnownHosts` writes them.
//!
//! Two deviations from SSSD: a key that cannot be printed is skipped (SSSD drops the whole
//! host), and while a domain's backend is offline its hosts are listed even when their
//! cache entry has expired (the responder answers with those keys then, so ssh can use
//! them; SSSD answers with them but leaves them out of the file).

use crate::cache::maps::SshHost;
use crate::model::Cached;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use sss_proto::ssh::{base64, format_key};
use std::path::Path;
use thiserror::Error;

/// Why the file could not be written.
#[derive(Debug, Error)]
pub enum KnownHostsError {
    /// A file system operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// No random salt could be drawn.
    #[error("no random bytes for the host name salt")]
    Random,
}

/// Whether `h` belongs in the file at `now` (`offline`: its domain's backend is offline,
/// so an expired cache entry still counts).
pub fn listed(h: &Cached<SshHost>, now: i64, offline: bool) -> bool {
    let fresh = h.expire == 0 || h.expire > now || offline;
    fresh && h.value.known_hosts_expire > now
}

/// The printable keys of `h` (those `format_key` refuses are skipped, logged).
fn keys(h: &SshHost) -> Vec<Vec<u8>> {
    h.keys
        .iter()
        .filter(|k| !k.is_empty())
        .filter_map(|k| match format_key(k) {
            Ok(l) => Some(l),
            Err(e) => {
                tracing::warn!("SSH key of host {:?} left out of known_hosts: {e}", h.name);
                None
            }
        })
        .collect()
}

/// The plain lines of one host.
pub fn plain_lines(h: &SshHost) -> Vec<u8> {
    let mut names = h.name.clone();
    for a in &h.aliases {
        names.push(',');
        names.push_str(a);
    }
    let mut out = Vec::new();
    for k in keys(h) {
        out.extend_from_slice(names.as_bytes());
        out.push(b' ');
        out.extend_from_slice(&k);
        out.push(b'\n');
    }
    out
}

/// The hashed form of `name` with `salt`: `|1|salt|hash`.
pub fn hashed_name(name: &str, salt: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, salt);
    let tag = hmac::sign(&key, name.as_bytes());
    format!("|1|{}|{}", base64(salt), base64(tag.as_ref()))
}

/// The hashed lines of one host: per key, one line for the name and one per alias.
pub fn hashed_lines(h: &SshHost, rng: &dyn SecureRandom) -> Result<Vec<u8>, KnownHostsError> {
    let mut out = Vec::new();
    for k in keys(h) {
        for n in std::iter::once(&h.name).chain(&h.aliases) {
            let mut salt = [0u8; 20];
            rng.fill(&mut salt).map_err(|_| KnownHostsError::Random)?;
            out.extend_from_slice(hashed_name(n, &salt).as_bytes());
            out.push(b' ');
            out.extend_from_slice(&k);
            out.push(b'\n');
        }
    }
    Ok(out)
}

/// The whole file for `hosts` (every domain's, in domain order), each with its domain's
/// offline flag.
pub fn render(
    hosts: &[(Cached<SshHost>, bool)],
    now: i64,
    hash: bool,
) -> Result<Vec<u8>, KnownHostsError> {
    let rng = SystemRandom::new();
    let mut out = Vec::new();
    for (h, offline) in hosts {
        if !listed(h, now, *offline) {
            continue;
        }
        if hash {
            out.extend(hashed_lines(&h.value, &rng)?);
        } else {
            out.extend(plain_lines(&h.value));
        }
    }
    Ok(out)
}

/// Replaces `path` with `contents` atomically (mode 0644), creating its directory (0755)
/// when missing.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), KnownHostsError> {
    let how = crate::atomic_file::AtomicWrite {
        mode: 0o644,
        create_dir: Some(0o755),
        owner_of_dir: false,
    };
    crate::atomic_file::write_atomically(path, contents, &how).map_err(|e| KnownHostsError::Io {
        what: e.what,
        path: e.path.display().to_string(),
        source: e.source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str, aliases: &[&str], keys: &[&[u8]], kh: i64) -> SshHost {
        SshHost {
            name: name.into(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            keys: keys.iter().map(|k| k.to_vec()).collect(),
            known_hosts_expire: kh,
        }
    }

    fn cached(h: SshHost, expire: i64) -> Cached<SshHost> {
        Cached {
            value: h,
            last_update: 1,
            expire,
        }
    }

    #[test]
    fn plain_lines_list_name_and_aliases() {
        let h = host(
            "h.example.com",
            &["h"],
            &[b"ssh-ed25519 AAAA c\n", b"", b"ssh-rsa BBBB"],
            10,
        );
        assert_eq!(
            String::from_utf8(plain_lines(&h)).unwrap(),
            "h.example.com,h ssh-ed25519 AAAA c\nh.example.com,h ssh-rsa BBBB\n"
        );
    }

    #[test]
    fn hashed_names_match_openssh() {
        // RFC 2202 test case 1: HMAC-SHA1 with key 0x0b x 20 of "Hi There".
        let salt = [0x0bu8; 20];
        let want: Vec<u8> = (0..20)
            .map(|i| {
                u8::from_str_radix(
                    &"b617318655057264e28bc0b6fb378c8ef146be00"[2 * i..2 * i + 2],
                    16,
                )
                .unwrap()
            })
            .collect();
        assert_eq!(
            hashed_name("Hi There", &salt),
            format!("|1|{}|{}", base64(&salt), base64(&want))
        );
        let rng = SystemRandom::new();
        let out = hashed_lines(&host("a", &["b"], &[b"ssh-rsa K"], 10), &rng).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(
            lines
                .iter()
                .all(|l| l.starts_with("|1|") && l.ends_with(" ssh-rsa K"))
        );
        assert_ne!(lines[0], lines[1]);
    }

    #[test]
    fn only_recent_and_fresh_hosts_are_listed() {
        let now = 1000;
        let h = |kh, exp| cached(host("h", &[], &[b"k t"], kh), exp);
        assert!(listed(&h(1001, 2000), now, false));
        assert!(listed(&h(1001, 0), now, false));
        assert!(
            !listed(&h(1000, 2000), now, false),
            "known_hosts stamp passed"
        );
        assert!(!listed(&h(0, 2000), now, false), "never looked up");
        assert!(!listed(&h(1001, 999), now, false), "cache expired");
        assert!(listed(&h(1001, 999), now, true), "expired but offline");
        let out = render(&[(h(1001, 2000), false), (h(5, 2000), false)], now, false).unwrap();
        assert_eq!(out, b"h k t\n");
    }

    #[test]
    fn the_file_is_replaced_atomically_with_mode_0644() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pubconf/known_hosts");
        write_atomically(&p, b"one\n").unwrap();
        write_atomically(&p, b"two\n").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two\n");
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        let left: Vec<_> = std::fs::read_dir(p.parent().unwrap()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file left behind");
    }
}
