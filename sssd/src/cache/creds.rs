//! Cached credentials of one user (`cache_credentials = true`): the password hash and the
//! offline-login bookkeeping, kept in their own database so that no NSS lookup ever reads
//! them.

use zeroize::Zeroizing;

/// Format version of an encoded record.
const VERSION: u8 = 1;
/// Fixed part of a record: version byte, five i64 and one u32.
const FIXED: usize = 1 + 5 * 8 + 4;

/// What the cache keeps to authenticate a user offline.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// SHA-512-crypt (`$6$`) hash of the last password used successfully online; empty when
    /// only the bookkeeping is known.
    pub hash: Zeroizing<String>,
    /// Last successful online password authentication (seconds since the epoch).
    pub last_online_auth: i64,
    /// When the hash was last stored.
    pub last_password_change: i64,
    /// Last successful login (online or offline).
    pub last_login: i64,
    /// Last failed offline login.
    pub last_failed_login: i64,
    /// Failed offline logins since the last success.
    pub failed_attempts: u32,
    /// Time of the online authentication that makes `cached_auth_timeout` apply (0 = none;
    /// cleared by a password change).
    pub cached_auth_fresh: i64,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field(
                "hash",
                &if self.hash.is_empty() {
                    "<none>"
                } else {
                    "<redacted>"
                },
            )
            .field("last_online_auth", &self.last_online_auth)
            .field("last_password_change", &self.last_password_change)
            .field("last_login", &self.last_login)
            .field("last_failed_login", &self.last_failed_login)
            .field("failed_attempts", &self.failed_attempts)
            .field("cached_auth_fresh", &self.cached_auth_fresh)
            .finish()
    }
}

impl Credentials {
    /// The stored form.
    pub(crate) fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(FIXED + self.hash.len()));
        out.push(VERSION);
        for v in [
            self.last_online_auth,
            self.last_password_change,
            self.last_login,
            self.last_failed_login,
            self.cached_auth_fresh,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.failed_attempts.to_le_bytes());
        out.extend_from_slice(self.hash.as_bytes());
        out
    }

    /// Parses a stored record; `None` when it is not one this build wrote.
    pub(crate) fn decode(raw: &[u8]) -> Option<Credentials> {
        if raw.len() < FIXED || raw[0] != VERSION {
            return None;
        }
        let i = |k: usize| -> Option<i64> {
            let b = raw.get(1 + 8 * k..9 + 8 * k)?;
            Some(i64::from_le_bytes(b.try_into().ok()?))
        };
        let failed = u32::from_le_bytes(raw.get(41..45)?.try_into().ok()?);
        let hash = std::str::from_utf8(&raw[FIXED..]).ok()?;
        Some(Credentials {
            hash: Zeroizing::new(hash.to_string()),
            last_online_auth: i(0)?,
            last_password_change: i(1)?,
            last_login: i(2)?,
            last_failed_login: i(3)?,
            cached_auth_fresh: i(4)?,
            failed_attempts: failed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_bad_ones_are_refused() {
        let c = Credentials {
            hash: Zeroizing::new("$6$salt$hash".into()),
            last_online_auth: 1,
            last_password_change: -2,
            last_login: 3,
            last_failed_login: 4,
            failed_attempts: 5,
            cached_auth_fresh: 6,
        };
        let raw = c.encode();
        assert_eq!(Credentials::decode(&raw), Some(c.clone()));
        assert_eq!(Credentials::decode(&raw[..FIXED - 1]), None);
        let mut bad = raw.to_vec();
        bad[0] = 9;
        assert_eq!(Credentials::decode(&bad), None);
        assert!(!format!("{c:?}").contains("$6$"));
    }
}
