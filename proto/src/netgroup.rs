//! Netgroup bodies (SSSD 2.x `SSS_NSS_SETNETGRENT`).
//!
//! The request is `name\0`. The reply carries the whole netgroup at once (SSSD's responder
//! serves neither GETNETGRENT nor ENDNETGRENT): `u32 count, u32 reserved(0)`, then entries
//! of `u32 type` followed by strings: [`REP_TRIPLE`] = `host\0user\0domain\0` (an empty
//! string is a wildcard), [`REP_GROUP`] = `netgroup\0` (a member netgroup the client
//! expands). `count` is 0 when the netgroup does not exist, else 1 + the number of entries
//! (SSSD counts the netgroup itself); clients walk the entries by position, not by count.

use crate::ProtoError;
use crate::wire::{Reader, put_cstr, put_u32};

/// Entry type of a `(host,user,domain)` triple (`SSS_NETGR_REP_TRIPLE`).
pub const REP_TRIPLE: u32 = 1;
/// Entry type of a member netgroup name (`SSS_NETGR_REP_GROUP`).
pub const REP_GROUP: u32 = 2;
/// Length of the reply prefix (count and reserved words).
pub const PREFIX_LEN: usize = 8;

/// One entry of a netgroup reply; strings without their NUL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetgrEntry<'a> {
    /// A triple; an empty part is a wildcard.
    Triple {
        /// Host part.
        host: &'a [u8],
        /// User part.
        user: &'a [u8],
        /// Domain part.
        domain: &'a [u8],
    },
    /// A member netgroup.
    Group(&'a [u8]),
}

impl NetgrEntry<'_> {
    /// Appends the wire form.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            NetgrEntry::Triple { host, user, domain } => {
                put_u32(out, REP_TRIPLE);
                put_cstr(out, host);
                put_cstr(out, user);
                put_cstr(out, domain);
            }
            NetgrEntry::Group(g) => {
                put_u32(out, REP_GROUP);
                put_cstr(out, g);
            }
        }
    }

    /// Bytes of the wire form.
    pub fn wire_len(&self) -> usize {
        4 + match self {
            NetgrEntry::Triple { host, user, domain } => host.len() + user.len() + domain.len() + 3,
            NetgrEntry::Group(g) => g.len() + 1,
        }
    }
}

/// Decodes a SETNETGRENT request: a non-empty UTF-8 `name\0` and nothing after it.
pub fn decode_setnetgrent_request(body: &[u8]) -> Result<&str, ProtoError> {
    crate::nss::decode_name_request(body, false).map(|(n, _)| n)
}

/// Encodes a SETNETGRENT reply for a netgroup that exists (count = 1 + entries).
pub fn encode_setnetgrent_reply(entries: &[NetgrEntry<'_>]) -> Vec<u8> {
    let len: usize = entries.iter().map(NetgrEntry::wire_len).sum();
    let mut v = Vec::with_capacity(PREFIX_LEN + len);
    put_u32(
        &mut v,
        u32::try_from(entries.len()).unwrap_or(u32::MAX - 1) + 1,
    );
    put_u32(&mut v, 0);
    for e in entries {
        e.encode_into(&mut v);
    }
    v
}

/// The entry starting at offset `pos` of a reply body, and the offset after it.
pub fn decode_entry_at(body: &[u8], pos: usize) -> Result<(NetgrEntry<'_>, usize), ProtoError> {
    let mut r = Reader::new(body);
    r.take(pos)?;
    let kind = r.u32()?;
    let e = match kind {
        REP_TRIPLE => NetgrEntry::Triple {
            host: r.cstr_bytes()?,
            user: r.cstr_bytes()?,
            domain: r.cstr_bytes()?,
        },
        REP_GROUP => NetgrEntry::Group(r.cstr_bytes()?),
        value => {
            return Err(ProtoError::InvalidValue {
                field: "netgroup entry type",
                value,
            });
        }
    };
    Ok((e, r.position()))
}

/// Decodes a whole SETNETGRENT reply: `None` when the netgroup does not exist (count 0),
/// else its entries. Every byte after the prefix must belong to an entry.
pub fn decode_setnetgrent_reply(body: &[u8]) -> Result<Option<Vec<NetgrEntry<'_>>>, ProtoError> {
    let mut r = Reader::new(body);
    let count = r.u32()?;
    r.u32()?;
    if count == 0 {
        return Ok(None);
    }
    let mut out = Vec::new();
    let mut pos = PREFIX_LEN;
    while pos < body.len() {
        let (e, next) = decode_entry_at(body, pos)?;
        out.push(e);
        pos = next;
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<NetgrEntry<'static>> {
        vec![
            NetgrEntry::Triple {
                host: b"host1",
                user: b"alice",
                domain: b"",
            },
            NetgrEntry::Group(b"ng2"),
            NetgrEntry::Triple {
                host: b"",
                user: b"",
                domain: b"",
            },
        ]
    }

    #[test]
    fn replies_round_trip_with_sssd_counting() {
        let body = encode_setnetgrent_reply(&sample());
        assert_eq!(&body[..4], &4u32.to_ne_bytes(), "1 + entries, as SSSD");
        assert_eq!(decode_setnetgrent_reply(&body).unwrap(), Some(sample()));
        let empty = encode_setnetgrent_reply(&[]);
        assert_eq!(decode_setnetgrent_reply(&empty).unwrap(), Some(vec![]));
        assert_eq!(decode_setnetgrent_reply(&[0; 8]).unwrap(), None);
        let (e, next) = decode_entry_at(&body, PREFIX_LEN).unwrap();
        assert_eq!(e, sample()[0]);
        assert_eq!(next, PREFIX_LEN + sample()[0].wire_len());
    }

    #[test]
    fn bad_replies_are_errors() {
        let body = encode_setnetgrent_reply(&sample());
        let mut bounds = vec![PREFIX_LEN];
        for e in sample() {
            bounds.push(bounds[bounds.len() - 1] + e.wire_len());
        }
        for cut in 9..body.len() {
            let r = decode_setnetgrent_reply(&body[..cut]);
            assert_eq!(r.is_ok(), bounds.contains(&cut), "cut {cut}");
        }
        let mut bad = body.clone();
        bad[8] = 3;
        assert!(decode_setnetgrent_reply(&bad).is_err());
        assert!(decode_entry_at(&body, body.len() + 5).is_err());
        assert!(decode_entry_at(&body, usize::MAX).is_err());
        assert!(decode_setnetgrent_reply(&[1, 0, 0]).is_err());
    }

    #[test]
    fn requests_need_one_terminated_name() {
        assert_eq!(decode_setnetgrent_request(b"ng1\0"), Ok("ng1"));
        assert!(decode_setnetgrent_request(b"ng1").is_err());
        assert!(decode_setnetgrent_request(b"\0").is_err());
        assert!(decode_setnetgrent_request(b"a\0b").is_err());
        assert!(decode_setnetgrent_request(b"\xff\0").is_err());
    }

    mod prop {
        use super::super::*;
        use proptest::prelude::*;

        fn part() -> impl Strategy<Value = Vec<u8>> {
            proptest::collection::vec(1u8..=255, 0..12)
        }

        proptest! {
            #[test]
            fn any_bytes_decode_without_panic(data in proptest::collection::vec(any::<u8>(), 0..300), pos in 0usize..400) {
                let _ = decode_setnetgrent_reply(&data);
                let _ = decode_entry_at(&data, pos);
                let _ = decode_setnetgrent_request(&data);
            }

            #[test]
            fn encoded_replies_decode_back(
                items in proptest::collection::vec((any::<bool>(), part(), part(), part()), 0..20)
            ) {
                let entries: Vec<NetgrEntry<'_>> = items
                    .iter()
                    .map(|(t, a, b, c)| if *t {
                        NetgrEntry::Triple { host: a, user: b, domain: c }
                    } else {
                        NetgrEntry::Group(a)
                    })
                    .collect();
                let body = encode_setnetgrent_reply(&entries);
                prop_assert_eq!(decode_setnetgrent_reply(&body), Ok(Some(entries)));
            }

            #[test]
            fn requests_round_trip(name in "[a-zA-Z0-9_.@-]{1,64}") {
                let mut body = name.as_bytes().to_vec();
                body.push(0);
                prop_assert_eq!(decode_setnetgrent_request(&body), Ok(name.as_str()));
            }
        }
    }
}
