//! `SSS_NSS_SETNETGRENT`: the whole netgroup in one reply, as SSSD 2.8's
//! `nss_protocol_netgr.c` writes it: the triples, then the names of the member netgroups.
//!
//! Nested netgroups are not expanded here: SSSD sends member names and glibc asks for each
//! of them (remembering the names it has seen, which ends cycles such as A -> B -> A).
//! GETNETGRENT and ENDNETGRENT are not served, as in SSSD: the client keeps the reply and
//! walks it itself.

use super::NssCtx;
use crate::cache::Netgroup;
use crate::responder::common::cache_req::Mode;
use crate::responder::common::source::SourceError;
use sss_proto::netgroup::{NetgrEntry, PREFIX_LEN, encode_setnetgrent_reply};
use sss_proto::nss::not_found_body;

/// Largest reply body sent for one netgroup (the client refuses replies over 64 MiB).
pub const MAX_REPLY_BODY: usize = 16 * 1024 * 1024;

/// Why a netgroup could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum NetgroupError {
    /// The cache could not be read.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The netgroup is larger than one reply may be.
    #[error(
        "netgroup {name:?} needs a {bytes}-byte reply, more than the limit of {MAX_REPLY_BODY}"
    )]
    TooLarge {
        /// The netgroup.
        name: String,
        /// Size its reply would have.
        bytes: usize,
    },
}

/// The reply body for netgroup `ng`: triples, then member netgroups (empty names skipped,
/// as SSSD refuses them).
pub fn reply_body(ng: &Netgroup) -> Result<Vec<u8>, NetgroupError> {
    fn b(s: &Option<String>) -> &[u8] {
        s.as_deref().unwrap_or("").as_bytes()
    }
    let mut entries: Vec<NetgrEntry<'_>> = ng
        .triples
        .iter()
        .map(|t| NetgrEntry::Triple {
            host: b(&t.host),
            user: b(&t.user),
            domain: b(&t.domain),
        })
        .collect();
    entries.extend(
        ng.members
            .iter()
            .filter(|m| !m.is_empty())
            .map(|m| NetgrEntry::Group(m.as_bytes())),
    );
    let bytes = PREFIX_LEN
        + entries
            .iter()
            .map(NetgrEntry::wire_len)
            .fold(0usize, usize::saturating_add);
    if bytes > MAX_REPLY_BODY {
        return Err(NetgroupError::TooLarge {
            name: ng.name.clone(),
            bytes,
        });
    }
    Ok(encode_setnetgrent_reply(&entries))
}

/// Answers SETNETGRENT for the client-supplied `name`: the netgroup's reply, or "not found"
/// (count 0) when no domain has it.
pub async fn setnetgrent(ctx: &NssCtx, name: &str) -> Result<Vec<u8>, NetgroupError> {
    match ctx.cr.netgroup_by_name(name, Mode::Normal).await? {
        Some((_, ng)) => reply_body(&ng),
        None => Ok(not_found_body()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::NetgroupTriple;
    use sss_proto::netgroup::decode_setnetgrent_reply;

    #[test]
    fn triples_come_before_members_and_empty_parts_are_empty_strings() {
        let ng = Netgroup {
            name: "ng1".into(),
            triples: vec![NetgroupTriple {
                host: Some("h".into()),
                user: None,
                domain: Some("d".into()),
            }],
            members: vec!["ng2".into(), String::new()],
            ..Netgroup::default()
        };
        let body = reply_body(&ng).unwrap();
        let got = decode_setnetgrent_reply(&body).unwrap().unwrap();
        assert_eq!(
            got,
            vec![
                NetgrEntry::Triple {
                    host: b"h",
                    user: b"",
                    domain: b"d"
                },
                NetgrEntry::Group(b"ng2"),
            ]
        );
        assert_eq!(&body[..4], &3u32.to_ne_bytes());
    }

    #[test]
    fn oversized_netgroups_are_refused() {
        let ng = Netgroup {
            name: "big".into(),
            members: vec!["m".repeat(1024 * 1024); 17],
            ..Netgroup::default()
        };
        assert!(matches!(
            reply_body(&ng),
            Err(NetgroupError::TooLarge { .. })
        ));
    }

    mod dispatching {
        use super::super::super::NssResponder;
        use super::super::super::commands::{NssConn, dispatch};
        use super::super::super::fake::{FakeClock, FakeSource};
        use super::super::super::settings::NssSettings;
        use super::super::super::source::{DomainSource, DpStatus};
        use crate::cache::{Netgroup, NetgroupTriple};
        use crate::config::DomainOptions;
        use crate::model::Cached;
        use crate::responder::common::Action;
        use sss_proto::netgroup::{NetgrEntry, decode_setnetgrent_reply};
        use std::sync::Arc;

        const T0: i64 = 1_000_000;

        fn setup() -> (NssResponder, FakeSource, Arc<FakeClock>) {
            let clock = FakeClock::at(T0);
            let src = FakeSource::new(clock.clone(), 100);
            let mut s = NssSettings::new(vec![DomainOptions::defaults("LDAP", "ldap")]);
            s.nss.entry_negative_timeout = 15;
            let sources: Vec<Arc<dyn DomainSource>> = vec![Arc::new(src.clone())];
            (NssResponder::new(s, sources, clock.clone()), src, clock)
        }

        fn ng(name: &str, user: &str, members: &[&str]) -> Netgroup {
            Netgroup {
                name: name.into(),
                triples: vec![NetgroupTriple {
                    host: None,
                    user: Some(user.into()),
                    domain: None,
                }],
                members: members.iter().map(|m| m.to_string()).collect(),
                ..Netgroup::default()
            }
        }

        async fn call(r: &NssResponder, body: &[u8]) -> Action {
            dispatch(r.ctx(), &mut NssConn::default(), 0, 0x61, body).await
        }

        fn body(a: Action) -> Vec<u8> {
            match a {
                Action::Reply { status: 0, body } => body,
                other => panic!("unexpected {other:?}"),
            }
        }

        #[tokio::test]
        async fn fetches_serves_offline_and_negative_caches() {
            let (r, src, clock) = setup();
            src.with(|s| {
                s.directory.netgroups.insert(
                    "ng_a".into(),
                    Cached {
                        value: ng("ng_a", "alice", &["ng_b"]),
                        last_update: 0,
                        expire: 0,
                    },
                )
            });
            let b = body(call(&r, b"ng_a\0").await);
            assert_eq!(
                decode_setnetgrent_reply(&b).unwrap().unwrap(),
                vec![
                    NetgrEntry::Triple {
                        host: b"",
                        user: b"alice",
                        domain: b""
                    },
                    NetgrEntry::Group(b"ng_b")
                ]
            );
            // Unknown: count 0, then negative-cached (no second backend call).
            assert_eq!(body(call(&r, b"nope\0").await), vec![0; 8]);
            let asked = src.with(|s| s.refreshes.len());
            assert_eq!(body(call(&r, b"nope\0").await), vec![0; 8]);
            assert_eq!(src.with(|s| s.refreshes.len()), asked);
            // Expired and the backend offline: the cached netgroup is served.
            clock.advance(1000);
            src.with(|s| s.status = DpStatus::Offline);
            assert_eq!(body(call(&r, b"ng_a\0").await), b);
            // Malformed requests are EINVAL.
            for bad in [&b""[..], b"ng_a", b"\0", b"a\0b", b"\xff\0"] {
                assert!(matches!(
                    call(&r, bad).await,
                    Action::Reply { status: 22, .. }
                ));
            }
        }
    }
}
