//! What the last online `access_provider = ldap` check of a user learned, so the same rules
//! can decide while the directory cannot be reached (as SSSD does with the access results
//! and user attributes it keeps in the user's cache entry): whether the entry matched
//! `ldap_access_filter`, whether the ppolicy lockout check allowed it, and the user
//! attributes the entry-based rules (`expire`, `pwd_expire_policy_*`, `authorized_service`,
//! `host`, `rhost`) read.

/// Format version of an encoded record.
const VERSION: u8 = 2;

/// One attribute as read: its (lowercased) name and its values as bytes.
pub type AccessAttr = (String, Vec<Vec<u8>>);

/// The facts one online ldap access check established; a rule it did not reach is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessRecord {
    /// Whether the user's entry matched `ldap_access_filter`.
    pub filter_matched: Option<bool>,
    /// Whether the `lockout` / `ppolicy` check allowed the user.
    pub lockout_allowed: Option<bool>,
    /// The attributes the entry-based rules read (only those the entry had).
    pub entry: Option<Vec<AccessAttr>>,
}

fn tri(v: Option<bool>) -> u8 {
    match v {
        None => 0,
        Some(false) => 1,
        Some(true) => 2,
    }
}

fn untri(b: u8) -> Option<Option<bool>> {
    match b {
        0 => Some(None),
        1 => Some(Some(false)),
        2 => Some(Some(true)),
        _ => None,
    }
}

/// A bounds-checked reader of the encoded form.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u32(&mut self) -> Option<u32> {
        let b = self.take(4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.u32()?).ok()?;
        self.take(n)
    }
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    // Attribute values come from one LDAP entry: far below 4 GiB.
    out.extend_from_slice(&u32::try_from(b.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(b);
}

impl AccessRecord {
    /// The stored form.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = vec![
            VERSION,
            tri(self.filter_matched),
            tri(self.lockout_allowed),
            u8::from(self.entry.is_some()),
        ];
        if let Some(entry) = &self.entry {
            out.extend_from_slice(&u32::try_from(entry.len()).unwrap_or(0).to_le_bytes());
            for (name, values) in entry {
                put_bytes(&mut out, name.as_bytes());
                out.extend_from_slice(&u32::try_from(values.len()).unwrap_or(0).to_le_bytes());
                for v in values {
                    put_bytes(&mut out, v);
                }
            }
        }
        out
    }

    /// Parses a stored record; `None` when it is not one this build wrote (a record of an
    /// older format is dropped: the next online check writes a new one).
    pub(crate) fn decode(raw: &[u8]) -> Option<AccessRecord> {
        let [version, filter, lockout, has_entry, rest @ ..] = raw else {
            return None;
        };
        if *version != VERSION {
            return None;
        }
        let filter_matched = untri(*filter)?;
        let lockout_allowed = untri(*lockout)?;
        let mut r = Reader(rest);
        let entry = match has_entry {
            0 => None,
            1 => {
                let n = r.u32()?;
                let mut attrs = Vec::new();
                for _ in 0..n {
                    let name = std::str::from_utf8(r.bytes()?).ok()?.to_owned();
                    let count = r.u32()?;
                    let mut values = Vec::new();
                    for _ in 0..count {
                        values.push(r.bytes()?.to_vec());
                    }
                    attrs.push((name, values));
                }
                Some(attrs)
            }
            _ => return None,
        };
        if !r.0.is_empty() {
            return None;
        }
        Some(AccessRecord {
            filter_matched,
            lockout_allowed,
            entry,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_bad_ones_are_refused() {
        let entries = [
            None,
            Some(vec![]),
            Some(vec![
                ("shadowexpire".to_owned(), vec![b"19000".to_vec()]),
                ("host".to_owned(), vec![b"a".to_vec(), vec![0xff, 0]]),
            ]),
        ];
        for filter_matched in [None, Some(false), Some(true)] {
            for lockout_allowed in [None, Some(false), Some(true)] {
                for entry in entries.clone() {
                    let r = AccessRecord {
                        filter_matched,
                        lockout_allowed,
                        entry,
                    };
                    let enc = r.encode();
                    assert_eq!(AccessRecord::decode(&enc), Some(r.clone()));
                    assert_eq!(AccessRecord::decode(&enc[..enc.len() - 1]), None);
                    let mut longer = enc.clone();
                    longer.push(0);
                    assert_eq!(AccessRecord::decode(&longer), None);
                }
            }
        }
        assert_eq!(AccessRecord::decode(&[]), None);
        assert_eq!(AccessRecord::decode(&[2, 0, 0]), None);
        assert_eq!(AccessRecord::decode(&[1, 0, 0, 0]), None, "old format");
        assert_eq!(AccessRecord::decode(&[2, 3, 0, 0]), None);
        assert_eq!(AccessRecord::decode(&[2, 0, 3, 0]), None);
        assert_eq!(AccessRecord::decode(&[2, 0, 0, 2]), None);
        assert_eq!(AccessRecord::decode(&[2, 0, 0, 1, 1, 0, 0, 0]), None);
        assert_eq!(
            AccessRecord::decode(&[2, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0xff, 0, 0, 0, 0]),
            None,
            "non-UTF-8 name"
        );
    }
}
