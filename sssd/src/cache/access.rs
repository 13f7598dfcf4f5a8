//! What the last online `access_provider = ldap` check of a user learned, so the same rules
//! can decide while the directory cannot be reached (as SSSD does with its cached access
//! results): whether the entry matched `ldap_access_filter`, and the shadow expiry value it
//! had.

/// Format version of an encoded record.
const VERSION: u8 = 1;

/// The facts one online ldap access check established; a rule it did not reach is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessRecord {
    /// Whether the user's entry matched `ldap_access_filter`.
    pub filter_matched: Option<bool>,
    /// The `expire` rule's attribute as read (`Some(None)`: the entry had none).
    pub shadow_expire: Option<Option<String>>,
}

impl AccessRecord {
    /// The stored form.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = vec![VERSION];
        out.push(match self.filter_matched {
            None => 0,
            Some(false) => 1,
            Some(true) => 2,
        });
        match &self.shadow_expire {
            None => out.push(0),
            Some(None) => out.push(1),
            Some(Some(v)) => {
                out.push(2);
                out.extend_from_slice(v.as_bytes());
            }
        }
        out
    }

    /// Parses a stored record; `None` when it is not one this build wrote.
    pub(crate) fn decode(raw: &[u8]) -> Option<AccessRecord> {
        let [version, filter, expire, rest @ ..] = raw else {
            return None;
        };
        if *version != VERSION {
            return None;
        }
        let filter_matched = match filter {
            0 => None,
            1 => Some(false),
            2 => Some(true),
            _ => return None,
        };
        let shadow_expire = match (expire, rest) {
            (0, []) => None,
            (1, []) => Some(None),
            (2, v) => Some(Some(std::str::from_utf8(v).ok()?.to_owned())),
            _ => return None,
        };
        Some(AccessRecord {
            filter_matched,
            shadow_expire,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_bad_ones_are_refused() {
        for filter_matched in [None, Some(false), Some(true)] {
            for shadow_expire in [None, Some(None), Some(Some("19000".to_owned()))] {
                let r = AccessRecord {
                    filter_matched,
                    shadow_expire,
                };
                assert_eq!(AccessRecord::decode(&r.encode()), Some(r.clone()));
            }
        }
        assert_eq!(AccessRecord::decode(&[]), None);
        assert_eq!(AccessRecord::decode(&[1, 2]), None);
        assert_eq!(AccessRecord::decode(&[9, 0, 0]), None);
        assert_eq!(AccessRecord::decode(&[1, 3, 0]), None);
        assert_eq!(AccessRecord::decode(&[1, 0, 1, b'x']), None);
        assert_eq!(AccessRecord::decode(&[1, 0, 2, 0xff]), None);
    }
}
