//! Searching: paged subtree searches with a deadline, and a panic-free entry decoder.

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::asn1::{PL, StructureTag};
use ldap3::controls::RawControl;
use ldap3::{Ldap, ResultEntry, Scope};
use std::collections::HashMap;
use std::time::Duration;
use thiserror::Error;

/// A directory entry: its DN and its attributes (names lowercased). UTF-8 values are in
/// [`Entry::values`]; the others (binary values, such as an `sshPublicKey` blob) only in
/// [`Entry::raw_values`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    /// The entry's DN as the server sent it.
    pub dn: String,
    attrs: HashMap<String, Vec<String>>,
    binary: HashMap<String, Vec<Vec<u8>>>,
}

impl Entry {
    /// An entry built from parts (tests and synthetic entries).
    pub fn new(dn: &str, attrs: &[(&str, &[&str])]) -> Entry {
        let mut e = Entry {
            dn: dn.to_string(),
            ..Entry::default()
        };
        for (a, vs) in attrs {
            e.attrs
                .entry(a.to_ascii_lowercase())
                .or_default()
                .extend(vs.iter().map(|v| v.to_string()));
        }
        e
    }

    /// Every value of `attr` (case-insensitive name).
    pub fn values(&self, attr: &str) -> &[String] {
        self.attrs
            .get(&attr.to_ascii_lowercase())
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Every value of `attr` as bytes: the UTF-8 ones, then the binary ones.
    pub fn raw_values(&self, attr: &str) -> Vec<&[u8]> {
        let name = attr.to_ascii_lowercase();
        let text = self.values(attr).iter().map(|v| v.as_bytes());
        let binary = self.binary.get(&name).into_iter().flatten();
        text.chain(binary.map(Vec::as_slice)).collect()
    }

    /// Adds a value of `attr`: kept as text when it is UTF-8, as bytes otherwise.
    pub fn add_value(&mut self, attr: &str, value: Vec<u8>) {
        match String::from_utf8(value) {
            Ok(s) => self
                .attrs
                .entry(attr.to_ascii_lowercase())
                .or_default()
                .push(s),
            Err(e) => self
                .binary
                .entry(attr.to_ascii_lowercase())
                .or_default()
                .push(e.into_bytes()),
        }
    }

    /// The names of the attributes present (lowercase), text or binary.
    pub fn attribute_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .attrs
            .keys()
            .chain(self.binary.keys())
            .cloned()
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Whether some attribute name carries an option (`member;range=0-1499`).
    pub fn has_attribute_options(&self) -> bool {
        self.attrs
            .keys()
            .chain(self.binary.keys())
            .any(|k| k.contains(';'))
    }

    /// Removes `attr` and returns its values as bytes (text ones first).
    pub fn take_raw(&mut self, attr: &str) -> Vec<Vec<u8>> {
        let name = attr.to_ascii_lowercase();
        let text = self.attrs.remove(&name).unwrap_or_default();
        let binary = self.binary.remove(&name).unwrap_or_default();
        text.into_iter()
            .map(String::into_bytes)
            .chain(binary)
            .collect()
    }

    /// The first value of `attr`.
    pub fn first(&self, attr: &str) -> Option<&str> {
        self.values(attr).first().map(String::as_str)
    }

    /// True when the entry lists `class` in objectClass (case-insensitive).
    pub fn has_class(&self, class: &str) -> bool {
        self.values("objectClass")
            .iter()
            .any(|c| c.eq_ignore_ascii_case(class))
    }
}

/// Why a search failed.
#[derive(Debug, Error)]
pub enum SearchError {
    /// The connection broke or the server did not answer: reconnect (or go offline).
    #[error("LDAP server {uri}: {message}")]
    Transport {
        /// The server.
        uri: String,
        /// What went wrong.
        message: String,
    },
    /// The server refused the search with a result code.
    #[error("LDAP server {uri}: search under {base:?} failed: rc={rc} {text}")]
    Server {
        /// The server.
        uri: String,
        /// Search base.
        base: String,
        /// LDAP result code.
        rc: u32,
        /// Diagnostic text from the server.
        text: String,
    },
}

/// Decodes a SearchResultEntry without panicking; `None` for malformed BER or a non-UTF-8 DN.
pub fn decode_entry(re: ResultEntry) -> Option<Entry> {
    let mut parts = re.0.match_id(4)?.expect_constructed()?.into_iter();
    let dn = String::from_utf8(parts.next()?.expect_primitive()?).ok()?;
    let mut e = Entry {
        dn,
        ..Entry::default()
    };
    for pa in parts.next()?.expect_constructed()? {
        let mut pa = pa.expect_constructed()?.into_iter();
        let name = String::from_utf8(pa.next()?.expect_primitive()?).ok()?;
        let vals = pa.next()?.expect_constructed()?;
        e.attrs.entry(name.to_ascii_lowercase()).or_default();
        for v in vals.into_iter().filter_map(primitive) {
            e.add_value(&name, v);
        }
    }
    Some(e)
}

fn primitive(t: StructureTag) -> Option<Vec<u8>> {
    match t.payload {
        PL::P(b) => Some(b),
        PL::C(_) => None,
    }
}

/// Parameters of one search.
#[derive(Debug, Clone)]
pub struct SearchSpec<'a> {
    /// Search base.
    pub base: &'a str,
    /// Scope.
    pub scope: Scope,
    /// Filter (values already escaped).
    pub filter: &'a str,
    /// Attributes to return.
    pub attrs: Vec<String>,
    /// Page size; 0 disables paging.
    pub page_size: u32,
    /// Deadline for the whole search.
    pub timeout: Duration,
    /// Request controls sent with the search (besides paging).
    pub controls: Vec<RawControl>,
}

impl<'a> SearchSpec<'a> {
    /// An unpaged search without controls.
    pub fn unpaged(
        base: &'a str,
        scope: Scope,
        filter: &'a str,
        attrs: Vec<String>,
        timeout: Duration,
    ) -> SearchSpec<'a> {
        SearchSpec {
            base,
            scope,
            filter,
            attrs,
            page_size: 0,
            timeout,
            controls: Vec::new(),
        }
    }
}

/// Runs a search and collects its entries (all pages). `noSuchObject` yields no entries and
/// `sizeLimitExceeded` the entries received so far.
pub async fn search(
    ldap: &Ldap,
    uri: &str,
    spec: SearchSpec<'_>,
) -> Result<Vec<Entry>, SearchError> {
    let transport = |message: String| SearchError::Transport {
        uri: uri.to_string(),
        message,
    };
    let timeout = spec.timeout;
    let base = spec.base.to_string();
    match tokio::time::timeout(timeout, run(ldap.clone(), spec)).await {
        Err(_) => Err(transport(format!(
            "search under {base:?} timed out after {} s",
            timeout.as_secs()
        ))),
        Ok(Err(e)) => Err(transport(e.to_string())),
        Ok(Ok((entries, rc, text))) => match rc {
            0 | 4 | 32 => Ok(entries),
            // busy, unavailable, and ldap3's synthetic "stream closed"/"cancelled" codes:
            // this server cannot serve us now, so reconnect (or fail over).
            51 | 52 | 80 | 88 => Err(transport(format!(
                "search under {base:?} failed: rc={rc} {text}"
            ))),
            rc => Err(SearchError::Server {
                uri: uri.to_string(),
                base,
                rc,
                text,
            }),
        },
    }
}

async fn run(
    mut ldap: Ldap,
    spec: SearchSpec<'_>,
) -> Result<(Vec<Entry>, u32, String), ldap3::LdapError> {
    let mut adapters: Vec<Box<dyn Adapter<String, Vec<String>>>> =
        vec![Box::new(EntriesOnly::new())];
    if spec.page_size > 0 {
        let size = i32::try_from(spec.page_size).unwrap_or(i32::MAX);
        adapters.push(Box::new(PagedResults::new(size)));
    }
    if !spec.controls.is_empty() {
        ldap.with_controls(spec.controls);
    }
    let mut stream = ldap
        .streaming_search_with(adapters, spec.base, spec.scope, spec.filter, spec.attrs)
        .await?;
    let mut entries = Vec::new();
    while let Some(re) = stream.next().await? {
        match decode_entry(re) {
            Some(e) => entries.push(e),
            None => tracing::warn!("skipping a malformed entry returned for {:?}", spec.filter),
        }
    }
    let res = stream.finish().await;
    Ok((entries, res.rc, res.text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ldap3::asn1::TagClass;

    fn prim(id: u64, b: &[u8]) -> StructureTag {
        StructureTag {
            class: TagClass::Universal,
            id,
            payload: PL::P(b.to_vec()),
        }
    }
    fn seq(id: u64, class: TagClass, inner: Vec<StructureTag>) -> StructureTag {
        StructureTag {
            class,
            id,
            payload: PL::C(inner),
        }
    }

    #[test]
    fn decodes_entries_and_rejects_garbage() {
        let attr = seq(
            16,
            TagClass::Universal,
            vec![
                prim(4, b"UID"),
                seq(
                    17,
                    TagClass::Universal,
                    vec![prim(4, b"alice"), prim(4, &[0xff, 0xfe])],
                ),
            ],
        );
        let entry = seq(
            4,
            TagClass::Application,
            vec![
                prim(4, b"uid=alice,dc=x"),
                seq(16, TagClass::Universal, vec![attr]),
            ],
        );
        let e = decode_entry(ResultEntry::new(entry)).unwrap_or_default();
        assert_eq!(e.dn, "uid=alice,dc=x");
        assert_eq!(e.values("uid"), ["alice".to_string()]);
        assert_eq!(e.first("Uid"), Some("alice"));
        // The non-UTF-8 value is not a text value but survives as bytes.
        assert_eq!(
            e.raw_values("uid"),
            [b"alice".as_slice(), [0xff, 0xfe].as_slice()]
        );
        assert!(e.raw_values("cn").is_empty());
        // Wrong tag, missing parts, non-UTF-8 DN: no panic, just None.
        assert!(decode_entry(ResultEntry::new(prim(4, b"x"))).is_none());
        let short = seq(4, TagClass::Application, vec![prim(4, b"dn")]);
        assert!(decode_entry(ResultEntry::new(short)).is_none());
        let bad_dn = seq(
            4,
            TagClass::Application,
            vec![prim(4, &[0xff]), seq(16, TagClass::Universal, vec![])],
        );
        assert!(decode_entry(ResultEntry::new(bad_dn)).is_none());
    }
}
