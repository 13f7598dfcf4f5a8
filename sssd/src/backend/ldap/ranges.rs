//! Range retrieval (AD's MaxValRange): a server may return only part of a large
//! multi-valued attribute, named `member;range=0-1499`; the rest is read with further base
//! searches for `member;range=1500-*` until a range ends in `*`. Values are merged under the
//! plain attribute name, so the rest of the provider never sees ranges.

use super::search::Entry;

/// The most follow-up reads one attribute of one entry may take (1500 values each, so far
/// beyond any real group): a server that never finishes cannot keep a request going.
pub const MAX_ROUNDS: usize = 1000;

/// A partial attribute of an entry: its plain name and the first value index still missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// The attribute name without the range option (lowercase).
    pub attr: String,
    /// The index of the first value not received yet.
    pub next: u64,
}

impl Missing {
    /// The attribute description that asks for the rest: `member;range=1500-*`.
    pub fn request(&self) -> String {
        format!("{};range={}-*", self.attr, self.next)
    }
}

/// Splits `name;range=LOW-HIGH` into the plain name and the range end (`None` for `*`);
/// `None` when `name` has no range option or a malformed one.
fn parse_ranged(name: &str) -> Option<(String, Option<u64>)> {
    let lower = name.to_ascii_lowercase();
    let (attr, range) = lower.split_once(";range=")?;
    let (low, high) = range.split_once('-')?;
    low.parse::<u64>().ok()?;
    let end = match high {
        "*" => None,
        h => Some(h.parse::<u64>().ok()?),
    };
    Some((attr.to_string(), end))
}

/// Moves ranged attributes of `e` under their plain names and returns what is still
/// missing (one item per attribute whose range did not end in `*`).
pub fn merge(e: &mut Entry) -> Vec<Missing> {
    let mut missing = Vec::new();
    if !e.has_attribute_options() {
        return missing;
    }
    for name in e.attribute_names() {
        let Some((attr, end)) = parse_ranged(&name) else {
            continue;
        };
        for v in e.take_raw(&name) {
            e.add_value(&attr, v);
        }
        if let Some(high) = end {
            missing.push(Missing {
                attr,
                next: high.saturating_add(1),
            });
        }
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranged_values_merge_under_the_plain_name() {
        let mut e = Entry::new(
            "cn=g",
            &[
                ("member;range=0-1", &["cn=a", "cn=b"]),
                ("cn", &["g"]),
                ("uniqueMember;range=0-*", &["cn=c"]),
            ],
        );
        let missing = merge(&mut e);
        assert_eq!(e.values("member"), ["cn=a", "cn=b"]);
        assert_eq!(e.values("uniquemember"), ["cn=c"]);
        assert_eq!(e.values("member;range=0-1"), [] as [String; 0]);
        assert_eq!(
            missing,
            [Missing {
                attr: "member".into(),
                next: 2
            }]
        );
        assert_eq!(missing[0].request(), "member;range=2-*");
    }

    #[test]
    fn malformed_ranges_are_left_alone() {
        for name in ["member;range=x-1", "member;range=0", "member;range=0-y"] {
            let mut e = Entry::new("cn=g", &[(name, &["v"])]);
            assert!(merge(&mut e).is_empty(), "{name}");
            assert_eq!(e.values(name), ["v"]);
        }
    }
}
