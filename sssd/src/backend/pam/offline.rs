//! Cached credentials: the `$6$` hash stored after an online login, and the offline
//! decision of SSSD's `sysdb_cache_auth` (expiry, failed-attempt delay, hash check).

use crate::cache::Credentials;
use crate::config::PamOptions;
use sha_crypt::{PasswordHashRef, PasswordHasher, PasswordVerifier, ShaCrypt};
use zeroize::Zeroizing;

/// Random salt bytes: 12 bytes encode to the 16 characters glibc's crypt() reads.
const SALT_LEN: usize = 12;
/// Seconds in a day.
const DAY: i64 = 86_400;

/// A SHA-512-crypt hash of `password` with a fresh random salt (5000 rounds).
pub fn hash_password(password: &[u8]) -> Result<Zeroizing<String>, String> {
    let mut salt = [0u8; SALT_LEN];
    let mut filled = 0;
    while filled < SALT_LEN {
        let rest = &mut salt[filled..];
        // SAFETY: getrandom(2) writes at most `rest.len()` bytes into `rest`.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(format!("getrandom: {e}"));
        }
        filled += usize::try_from(n).unwrap_or(0);
    }
    let hash = ShaCrypt::SHA512
        .hash_password_with_salt(password, &salt)
        .map(|h| Zeroizing::new(h.to_string()))
        .map_err(|e| format!("cannot hash the password: {e}"));
    scrub_stack();
    hash
}

/// Whether `password` matches the crypt(3)-style `hash` (constant-time comparison).
pub fn verify_password(password: &[u8], hash: &str) -> bool {
    let ok = PasswordHashRef::new(hash)
        .ok()
        .is_some_and(|h| ShaCrypt::SHA512.verify_password(password, h).is_ok());
    scrub_stack();
    ok
}

/// Stack below the caller that [`scrub_stack`] overwrites: far more than sha-crypt's frames.
const SCRUB_LEN: usize = 16 * 1024;

/// Overwrites the stack just below the caller, where the hashing functions it called kept
/// their state (SHA-512 block buffers that held the password), so the thread's stack holds no
/// copy once they returned. The allocator wipes heap copies; this covers the stack ones.
#[inline(never)]
fn scrub_stack() {
    let mut area = [0u8; SCRUB_LEN];
    zeroize::Zeroize::zeroize(&mut area[..]);
    std::hint::black_box(&area);
}

/// The `[pam]` limits of offline authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfflinePolicy {
    /// `offline_credentials_expiration` days (0 = never).
    pub expiration_days: u32,
    /// `offline_failed_login_attempts` (0 = unlimited).
    pub max_failed: u32,
    /// `offline_failed_login_delay` minutes (0 = locked until an online login).
    pub delay_minutes: u32,
}

impl OfflinePolicy {
    /// The policy configured in `[pam]`.
    pub fn from_pam(p: &PamOptions) -> OfflinePolicy {
        OfflinePolicy {
            expiration_days: p.offline_credentials_expiration,
            max_failed: p.offline_failed_login_attempts,
            delay_minutes: p.offline_failed_login_delay,
        }
    }
}

/// The outcome of an offline authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Password matches; the cached password expires at this time (0 = never).
    Success {
        /// Expiry of the cached password.
        expires: i64,
    },
    /// Password does not match.
    AuthErr,
    /// Cached password expired, or locked until an online login.
    PermDenied,
    /// Too many failures: no attempt allowed before this time.
    Delayed {
        /// When logins are allowed again.
        until: i64,
    },
    /// No cached password for this user (SSSD answers PAM_PERM_DENIED).
    NoCachedPassword,
}

/// Decides an offline login of `password` against `creds` at `now`; returns the verdict and
/// the updated record to store (None when nothing changes).
pub fn offline_auth(
    creds: Option<&Credentials>,
    password: &[u8],
    policy: OfflinePolicy,
    now: i64,
) -> (Verdict, Option<Credentials>) {
    let Some(c) = creds.filter(|c| !c.hash.is_empty()) else {
        return (Verdict::NoCachedPassword, None);
    };
    let expires = if policy.expiration_days > 0 {
        c.last_online_auth
            .saturating_add(i64::from(policy.expiration_days).saturating_mul(DAY))
    } else {
        0
    };
    if expires != 0 && now > expires {
        return (Verdict::PermDenied, None);
    }
    let mut next = c.clone();
    if policy.max_failed > 0 && c.failed_attempts >= policy.max_failed {
        if policy.delay_minutes == 0 {
            return (Verdict::PermDenied, None);
        }
        let until = c
            .last_failed_login
            .saturating_add(i64::from(policy.delay_minutes).saturating_mul(60));
        if until > now {
            return (Verdict::Delayed { until }, None);
        }
        // The delay is over: count afresh.
        next.failed_attempts = 0;
    }
    if verify_password(password, &c.hash) {
        next.failed_attempts = 0;
        next.last_login = now;
        (Verdict::Success { expires }, Some(next))
    } else {
        next.failed_attempts = next.failed_attempts.saturating_add(1);
        next.last_failed_login = now;
        (Verdict::AuthErr, Some(next))
    }
}

/// Whether `cached_auth_timeout` lets a login be checked against the cache while online.
pub fn cached_auth_applies(creds: Option<&Credentials>, timeout: u32, now: i64) -> bool {
    timeout > 0
        && creds.is_some_and(|c| {
            !c.hash.is_empty()
                && c.cached_auth_fresh > 0
                && now >= c.cached_auth_fresh
                && now - c.cached_auth_fresh < i64::from(timeout)
        })
}

/// The record to store after a successful online password login (or change) at `now`.
pub fn after_online_success(
    old: Option<&Credentials>,
    hash: Zeroizing<String>,
    now: i64,
    fresh: bool,
) -> Credentials {
    let mut c = old.cloned().unwrap_or_default();
    c.hash = hash;
    c.last_online_auth = now;
    c.last_password_change = now;
    c.last_login = now;
    c.failed_attempts = 0;
    c.last_failed_login = 0;
    c.cached_auth_fresh = if fresh { now } else { 0 };
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(pw: &str, last_online: i64) -> Credentials {
        let h = hash_password(pw.as_bytes()).unwrap();
        after_online_success(None, h, last_online, true)
    }

    const P: OfflinePolicy = OfflinePolicy {
        expiration_days: 0,
        max_failed: 0,
        delay_minutes: 5,
    };

    #[test]
    fn hashes_are_sha512_crypt_with_16_char_salt() {
        let h = hash_password(b"S3cret!").unwrap();
        assert!(h.starts_with("$6$"), "{}", h.as_str());
        let salt = h
            .trim_start_matches("$6$")
            .trim_start_matches("rounds=5000$");
        let salt = salt.split('$').next().unwrap();
        assert_eq!(salt.len(), 16);
        assert!(verify_password(b"S3cret!", &h));
        assert!(!verify_password(b"S3cret", &h));
        assert!(!verify_password(b"S3cret!", "garbage"));
        assert_ne!(hash_password(b"S3cret!").unwrap(), h, "salt must be random");
    }

    #[test]
    fn glibc_crypt_accepts_our_hashes() {
        let h = hash_password(b"pass word").unwrap();
        let out = std::process::Command::new("python3")
            .args([
                "-W",
                "ignore",
                "-c",
                "import crypt,sys; print(crypt.crypt(sys.argv[1], sys.argv[2]) == sys.argv[2])",
                "pass word",
                &h,
            ])
            .output();
        match out {
            Ok(o) if o.status.success() => {
                assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "True");
            }
            _ => eprintln!("NOTE: python3 crypt module unavailable; glibc check skipped"),
        }
    }

    #[test]
    fn offline_success_failure_and_unavailable() {
        let c = creds("pw", 1000);
        let (v, next) = offline_auth(Some(&c), b"pw", P, 2000);
        assert_eq!(v, Verdict::Success { expires: 0 });
        assert_eq!(next.unwrap().last_login, 2000);
        let (v, next) = offline_auth(Some(&c), b"bad", P, 2000);
        assert_eq!(v, Verdict::AuthErr);
        let next = next.unwrap();
        assert_eq!((next.failed_attempts, next.last_failed_login), (1, 2000));
        assert_eq!(
            offline_auth(None, b"pw", P, 2000).0,
            Verdict::NoCachedPassword
        );
        let empty = Credentials::default();
        assert_eq!(
            offline_auth(Some(&empty), b"", P, 2000).0,
            Verdict::NoCachedPassword
        );
    }

    #[test]
    fn cached_password_expires() {
        let c = creds("pw", 1000);
        let p = OfflinePolicy {
            expiration_days: 1,
            ..P
        };
        assert_eq!(
            offline_auth(Some(&c), b"pw", p, 1000 + DAY).0,
            Verdict::Success {
                expires: 1000 + DAY
            }
        );
        assert_eq!(
            offline_auth(Some(&c), b"pw", p, 1001 + DAY).0,
            Verdict::PermDenied
        );
    }

    #[test]
    fn failed_attempts_delay_then_allow_again() {
        let p = OfflinePolicy {
            expiration_days: 0,
            max_failed: 2,
            delay_minutes: 5,
        };
        let mut c = creds("pw", 1000);
        for t in [2000, 2001] {
            let (v, next) = offline_auth(Some(&c), b"bad", p, t);
            assert_eq!(v, Verdict::AuthErr);
            c = next.unwrap();
        }
        // Locked: even the right password is refused until the delay is over.
        let (v, next) = offline_auth(Some(&c), b"pw", p, 2100);
        assert_eq!(v, Verdict::Delayed { until: 2301 });
        assert!(next.is_none());
        let (v, next) = offline_auth(Some(&c), b"pw", p, 2302);
        assert_eq!(v, Verdict::Success { expires: 0 });
        assert_eq!(next.unwrap().failed_attempts, 0);
        // Delay 0: locked until an online login.
        let p0 = OfflinePolicy {
            delay_minutes: 0,
            ..p
        };
        assert_eq!(
            offline_auth(Some(&c), b"pw", p0, 99_999).0,
            Verdict::PermDenied
        );
    }

    #[test]
    fn cached_auth_timeout_window() {
        let c = creds("pw", 1000);
        assert!(cached_auth_applies(Some(&c), 60, 1059));
        assert!(!cached_auth_applies(Some(&c), 60, 1060));
        assert!(!cached_auth_applies(Some(&c), 0, 1001));
        assert!(!cached_auth_applies(None, 60, 1001));
        let stale = after_online_success(Some(&c), c.hash.clone(), 1000, false);
        assert!(!cached_auth_applies(Some(&stale), 60, 1001));
    }
}
