//! `re_expression`: the regular expression that splits a client-supplied name into its
//! `name` and `domain` parts, with SSSD's semantics (PCRE with duplicate group names and
//! extended syntax, a match anywhere in the input, empty matches rejected).

use regex::{Regex, RegexBuilder};
use thiserror::Error;

/// Why an `re_expression` is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NameRegexError {
    /// The pattern does not compile.
    #[error("not a valid regular expression: {0}")]
    Invalid(String),
    /// The pattern has no `(?P<name>...)` group, so it can never give a user name.
    #[error("it has no (?P<name>...) group")]
    NoNameGroup,
}

/// A compiled `re_expression`. Two values are equal when their patterns are.
#[derive(Debug, Clone)]
pub struct NameRegex {
    pattern: String,
    re: Regex,
    /// The option-visible group name of each capture group, by group index.
    bases: Vec<Option<String>>,
}

impl PartialEq for NameRegex {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern
    }
}

impl Eq for NameRegex {}

/// Prefix of the internal names given to the second and later groups sharing a name.
const DUP_MARK: &str = "__sssd_dup";

impl NameRegex {
    /// Compiles `pattern` as SSSD does (groups may share a name; whitespace and `#`
    /// comments outside classes are ignored). Refused when it does not compile or has no
    /// `name` group.
    pub fn new(pattern: &str) -> Result<NameRegex, NameRegexError> {
        let (rewritten, renamed) = rename_duplicates(pattern);
        let re = RegexBuilder::new(&rewritten)
            .ignore_whitespace(true)
            .build()
            .map_err(|e| NameRegexError::Invalid(one_line(&e.to_string())))?;
        let bases: Vec<Option<String>> = re
            .capture_names()
            .map(|n| {
                n.map(|n| {
                    renamed
                        .iter()
                        .find(|(internal, _)| internal == n)
                        .map(|(_, base)| base.clone())
                        .unwrap_or_else(|| n.to_string())
                })
            })
            .collect();
        if !bases.iter().any(|b| b.as_deref() == Some("name")) {
            return Err(NameRegexError::NoNameGroup);
        }
        Ok(NameRegex {
            pattern: pattern.to_string(),
            re,
            bases,
        })
    }

    /// The pattern as configured.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Splits `input` into its name and, when the expression gives a non-empty one, its
    /// domain part. `None` when the expression does not match (no non-empty match, or
    /// no `name` group took part in it).
    pub fn split<'a>(&self, input: &'a str) -> Option<(&'a str, Option<&'a str>)> {
        let caps = self
            .re
            .captures_iter(input)
            .find(|c| c.get(0).is_some_and(|m| !m.is_empty()))?;
        let group = |want: &str| {
            self.bases
                .iter()
                .enumerate()
                .filter(|(_, b)| b.as_deref() == Some(want))
                .find_map(|(i, _)| caps.get(i))
                .map(|m| m.as_str())
        };
        let name = group("name")?;
        let domain = group("domain").filter(|d| !d.is_empty());
        Some((name, domain))
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `pattern` with the second and later groups of each name renamed (the `regex` crate
/// refuses duplicate names), and the (internal, original) names of the renamed ones.
fn rename_duplicates(pattern: &str) -> (String, Vec<(String, String)>) {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut seen: Vec<String> = Vec::new();
    let mut renamed = Vec::new();
    let mut in_class = false;
    let mut class_start = false;
    let mut rest = pattern;
    while let Some(c) = rest.chars().next() {
        let len = c.len_utf8();
        if c == '\\' {
            // An escape and the character it escapes are copied as they are.
            let esc = rest[len..].chars().next().map_or(0, char::len_utf8);
            out.push_str(&rest[..len + esc]);
            rest = &rest[len + esc..];
            class_start = false;
            continue;
        }
        if in_class {
            if rest.starts_with("[:")
                && let Some(end) = rest.find(":]")
            {
                out.push_str(&rest[..end + 2]);
                rest = &rest[end + 2..];
            } else {
                if c == ']' && !class_start {
                    in_class = false;
                }
                class_start = class_start && c == '^';
                if c.is_whitespace() || c == '#' {
                    // PCRE's extended mode keeps these inside classes; `regex` would not.
                    out.push_str(&format!("\\x{{{:x}}}", u32::from(c)));
                } else {
                    out.push(c);
                }
                rest = &rest[len..];
            }
            continue;
        }
        if c == '[' {
            in_class = true;
            class_start = true;
            out.push(c);
            rest = &rest[len..];
            if rest.starts_with('^') {
                out.push('^');
                rest = &rest[1..];
            }
            continue;
        }
        let open = ["(?P<", "(?<"]
            .into_iter()
            .find(|o| rest.starts_with(o) && !rest[o.len()..].starts_with(['=', '!']));
        if let Some(open) = open
            && let Some(close) = rest[open.len()..].find('>')
        {
            let name = &rest[open.len()..open.len() + close];
            out.push_str(open);
            if seen.iter().any(|s| s == name) {
                let internal = format!("{DUP_MARK}{}_{name}", renamed.len());
                out.push_str(&internal);
                renamed.push((internal, name.to_string()));
            } else {
                seen.push(name.to_string());
                out.push_str(name);
            }
            out.push('>');
            rest = &rest[open.len() + close + 1..];
            continue;
        }
        out.push(c);
        rest = &rest[len..];
    }
    (out, renamed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::schema::{DEFAULT_AD_RE_EXPRESSION, DEFAULT_RE_EXPRESSION};

    fn split(re: &str, input: &str) -> Option<(String, Option<String>)> {
        NameRegex::new(re)
            .unwrap()
            .split(input)
            .map(|(n, d)| (n.to_string(), d.map(str::to_string)))
    }

    fn nd(n: &str, d: Option<&str>) -> Option<(String, Option<String>)> {
        Some((n.to_string(), d.map(str::to_string)))
    }

    #[test]
    fn the_generic_default() {
        let re = DEFAULT_RE_EXPRESSION;
        assert_eq!(split(re, "alice"), nd("alice", None));
        assert_eq!(
            split(re, "alice@corp.example.com"),
            nd("alice", Some("corp.example.com"))
        );
        assert_eq!(
            split(re, "Alice@CORP.EXAMPLE.COM"),
            nd("Alice", Some("CORP.EXAMPLE.COM"))
        );
        // No backslash form: the whole input is a short name.
        assert_eq!(split(re, "CORP\\alice"), nd("CORP\\alice", None));
        // The domain is what follows the last `@`.
        assert_eq!(split(re, "a@b@corp"), nd("a@b", Some("corp")));
        assert_eq!(split(re, "@corp"), None, "empty name before @");
        assert_eq!(split(re, "alice@"), None);
        assert_eq!(split(re, ""), None);
    }

    #[test]
    fn the_ad_and_ipa_default() {
        let re = DEFAULT_AD_RE_EXPRESSION;
        assert_eq!(split(re, "alice"), nd("alice", None));
        assert_eq!(
            split(re, "alice@corp.example.com"),
            nd("alice", Some("corp.example.com"))
        );
        assert_eq!(split(re, "CORP\\alice"), nd("alice", Some("CORP")));
        assert_eq!(
            split(re, "Alice@CORP.EXAMPLE.COM"),
            nd("Alice", Some("CORP.EXAMPLE.COM"))
        );
        assert_eq!(split(re, "CORP\\a@b"), nd("a@b", Some("CORP")));
        assert_eq!(split(re, "a@b@corp"), nd("a@b", Some("corp")));
        assert_eq!(split(re, "a\\b\\c"), nd("b\\c", Some("a")));
        assert_eq!(split(re, "alice@"), None);
        assert_eq!(split(re, "\\alice"), None);
    }

    #[test]
    fn custom_expressions() {
        assert_eq!(split("^(?P<name>.+)$", "a@b"), nd("a@b", None));
        let plus = r"^(?P<domain>[^+]+)\+(?P<name>.+)$|^(?P<name>[^+]+)$";
        assert_eq!(split(plus, "LDAP+alice"), nd("alice", Some("LDAP")));
        assert_eq!(split(plus, "alice"), nd("alice", None));
        // Unanchored, as PCRE: the first non-empty match anywhere.
        assert_eq!(split("(?P<name>[a-z]+)", "ALICE bob"), nd("bob", None));
        // Extended syntax: whitespace outside classes is ignored.
        assert_eq!(split("^ (?P<name> .+ ) $", "alice"), nd("alice", None));
        // ... but kept inside them, `#` too, as PCRE does.
        assert_eq!(split("^(?P<name>[^ #]+)", "al ice"), nd("al", None));
        assert_eq!(split("^(?P<name>[ #a-z]+)$", "a b#c"), nd("a b#c", None));
        // Brackets and escaped parentheses do not start groups.
        assert_eq!(
            NameRegex::new(r"^[(?P<name>]+$"),
            Err(NameRegexError::NoNameGroup)
        );
        assert_eq!(
            NameRegex::new(r"^\(?P<name>x\)$"),
            Err(NameRegexError::NoNameGroup)
        );
        assert_eq!(
            split(r"^(?<name>[a-z]+)|(?<name>[0-9]+)$", "42"),
            nd("42", None)
        );
    }

    #[test]
    fn bad_expressions_are_refused() {
        assert!(matches!(
            NameRegex::new("^(?P<name>.+"),
            Err(NameRegexError::Invalid(_))
        ));
        assert_eq!(
            NameRegex::new("^(?P<user>.+)$"),
            Err(NameRegexError::NoNameGroup)
        );
        assert_eq!(
            NameRegex::new("^(?P<domain>.+)$"),
            Err(NameRegexError::NoNameGroup)
        );
    }

    #[test]
    fn duplicate_names_are_renamed_outside_classes() {
        let (r, renamed) = rename_duplicates(r"(?P<a>x)|[(?P<a>]|(?P<a>\))");
        assert_eq!(r, r"(?P<a>x)|[(?P<a>]|(?P<__sssd_dup0_a>\))");
        assert_eq!(
            renamed,
            vec![("__sssd_dup0_a".to_string(), "a".to_string())]
        );
    }
}
