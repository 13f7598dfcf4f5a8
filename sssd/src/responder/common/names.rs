//! Name handling: splitting client-supplied names with each domain's `re_expression`
//! (`name@domain`, `DOMAIN\\name`, custom forms), `default_domain_suffix`, case folding
//! and `full_name_format` output.

use crate::config::DomainOptions;

/// What a client-supplied name designates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParsedName<'a> {
    /// A name in one domain (an index into the domain list).
    In(&'a str, usize),
    /// A name without a domain part: every domain that answers short names.
    Short(&'a str),
    /// Nothing to look up: the domain part names no configured domain, the default
    /// domain suffix is not configured, no domain's expression accepts the input, or the
    /// expressions disagree on the short name.
    Unknown,
}

impl DomainOptions {
    /// Whether `part` (the domain part of a name) names this domain: its name or its
    /// flat name, in any case.
    pub fn is_named(&self, part: &str) -> bool {
        self.name.eq_ignore_ascii_case(part)
            || self.with_flat_name(|f| f.is_some_and(|f| f.eq_ignore_ascii_case(part)))
    }

    /// Runs `f` on the flat name in use now: the one learned from the domain controllers
    /// (see [`crate::config::learned`]) once known, else the configured guess; `None` for
    /// domains without flat names (other providers than AD). Nothing is copied.
    pub fn with_flat_name<R>(&self, f: impl FnOnce(Option<&str>) -> R) -> R {
        let Some(guess) = self.flat_name.as_deref() else {
            return f(None);
        };
        match crate::config::learned::learned_flat_name(&self.name) {
            Some(learned) => f(Some(&learned)),
            None => f(Some(guess)),
        }
    }
}

/// Splits `input` as SSSD does: each domain's `re_expression` is tried in order; the
/// first whose domain part names that same domain (by name or flat name) decides. When
/// expressions only match without a domain part, they must agree on the name; the name
/// then belongs to the `default_domain_suffix` domain when one is set, else to every
/// domain.
pub fn parse<'a>(input: &'a str, domains: &[DomainOptions]) -> ParsedName<'a> {
    let mut short: Option<&'a str> = None;
    let mut disagree = false;
    for (i, d) in domains.iter().enumerate() {
        let Some((name, part)) = d.re_expression.as_ref().and_then(|re| re.split(input)) else {
            continue;
        };
        match part {
            Some(part) if d.is_named(part) => return ParsedName::In(name, i),
            Some(_) => {}
            None => match short {
                None => short = Some(name),
                Some(s) if !s.eq_ignore_ascii_case(name) => disagree = true,
                Some(_) => {}
            },
        }
    }
    match short {
        Some(name) if !disagree => {
            let suffix = domains
                .iter()
                .find_map(|d| d.default_domain_suffix.as_deref());
            match suffix {
                None => ParsedName::Short(name),
                Some(suffix) => domains
                    .iter()
                    .position(|d| d.is_named(suffix))
                    .map_or(ParsedName::Unknown, |i| ParsedName::In(name, i)),
            }
        }
        _ => ParsedName::Unknown,
    }
}

/// [`parse`] for lists of names in the configuration (filters, trusted users) and the
/// tools: the name and the index of the domain it names; an input that [`parse`] finds
/// [`ParsedName::Unknown`] is taken whole, as a short name.
pub fn parse_name<'a>(input: &'a str, domains: &[DomainOptions]) -> (&'a str, Option<usize>) {
    match parse(input, domains) {
        ParsedName::In(name, i) => (name, Some(i)),
        ParsedName::Short(name) => (name, None),
        ParsedName::Unknown => (input, None),
    }
}

/// Expands a `full_name_format`: `%1$s` name, `%2$s` domain, `%3$s` flat name, `%s` the
/// next argument in order, `%%` a percent sign. Anything else is copied literally.
pub fn format_full_name(format: &str, name: &str, domain: &str, flat: &str) -> String {
    let args = [name, domain, flat];
    let mut out = String::with_capacity(name.len() + domain.len() + 2);
    let mut next = 0usize;
    let mut rest = format;
    while let Some(p) = rest.find('%') {
        out.push_str(&rest[..p]);
        let tail = &rest[p + 1..];
        let (text, used) = if tail.starts_with('%') {
            ("%", 1)
        } else if tail.starts_with('s') {
            let a = args.get(next).copied().unwrap_or("");
            next += 1;
            (a, 1)
        } else if let Some(d) = tail.get(..3)
            && d.ends_with("$s")
            && let Some(i) = d
                .get(..1)
                .and_then(|x| x.parse::<usize>().ok())
                .filter(|i| (1..=3).contains(i))
        {
            (args[i - 1], 3)
        } else {
            ("%", 0)
        };
        out.push_str(text);
        rest = &tail[used..];
    }
    out.push_str(rest);
    out
}

impl DomainOptions {
    /// The cache key for a name given by a client (lowercased when case-insensitive).
    pub fn lookup_key(&self, name: &str) -> String {
        if self.case_sensitive {
            name.to_string()
        } else {
            name.to_lowercase()
        }
    }

    /// The short name as shown to clients (case-folded when case-insensitive).
    pub fn short_output(&self, name: &str) -> String {
        self.lookup_key(name)
    }

    /// The name as shown to clients: case-folded, fully qualified when the domain uses
    /// fully qualified names.
    pub fn output_name(&self, name: &str) -> String {
        let short = self.short_output(name);
        if self.use_fully_qualified_names {
            self.with_flat_name(|flat| {
                format_full_name(
                    &self.full_name_format,
                    &short,
                    &self.name,
                    flat.unwrap_or(&self.name),
                )
            })
        } else {
            short
        }
    }

    /// `name@domain`, the internal fully qualified name (template `%f`).
    pub fn internal_fq(&self, name: &str) -> String {
        format!("{}@{}", self.short_output(name), self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doms() -> Vec<DomainOptions> {
        vec![
            DomainOptions::defaults("LDAP", "ldap"),
            DomainOptions::defaults("example.com", "ldap"),
        ]
    }

    #[test]
    fn parses_name_at_domain() {
        let d = doms();
        assert_eq!(parse_name("user1", &d), ("user1", None));
        assert_eq!(parse_name("user1@LDAP", &d), ("user1", Some(0)));
        assert_eq!(parse_name("user1@ldap", &d), ("user1", Some(0)));
        assert_eq!(parse_name("a@b@example.com", &d), ("a@b", Some(1)));
        assert_eq!(parse_name("user1@unknown", &d), ("user1@unknown", None));
        assert_eq!(parse_name("@LDAP", &d), ("@LDAP", None));
        assert_eq!(parse_name("user1@", &d), ("user1@", None));
        assert_eq!(parse("user1@unknown", &d), ParsedName::Unknown);
        assert_eq!(parse("user1@", &d), ParsedName::Unknown);
        assert_eq!(parse("user1", &d), ParsedName::Short("user1"));
        assert_eq!(parse("LDAP\\user1", &d), ParsedName::Short("LDAP\\user1"));
    }

    fn ad_and_ldap() -> Vec<DomainOptions> {
        let cfg = crate::config::Config::parse(
            "[sssd]\ndomains = LDAP, corp.example.com\n\
             [domain/LDAP]\nid_provider = ldap\n\
             [domain/corp.example.com]\nid_provider = ad\n",
            "t",
        )
        .unwrap();
        ["LDAP", "corp.example.com"]
            .iter()
            .map(|n| DomainOptions::from_config(&cfg, n).unwrap())
            .collect()
    }

    #[test]
    fn ad_domains_take_flat_names_and_backslashes() {
        let d = ad_and_ldap();
        assert_eq!(d[1].flat_name.as_deref(), Some("CORP"));
        assert_eq!(d[0].flat_name, None);
        assert_eq!(parse("alice", &d), ParsedName::Short("alice"));
        assert_eq!(
            parse("alice@corp.example.com", &d),
            ParsedName::In("alice", 1)
        );
        assert_eq!(
            parse("Alice@CORP.EXAMPLE.COM", &d),
            ParsedName::In("Alice", 1)
        );
        assert_eq!(parse("CORP\\alice", &d), ParsedName::In("alice", 1));
        assert_eq!(parse("corp\\alice", &d), ParsedName::In("alice", 1));
        assert_eq!(parse("alice@CORP", &d), ParsedName::In("alice", 1));
        assert_eq!(parse("alice@ldap", &d), ParsedName::In("alice", 0));
        // The AD expression's domain part must name the AD domain itself; the LDAP
        // domain's expression takes the whole input as a short name.
        assert_eq!(parse("LDAP\\alice", &d), ParsedName::Short("LDAP\\alice"));
        assert_eq!(parse("OTHER\\alice", &d), ParsedName::Short("OTHER\\alice"));
        assert_eq!(parse("OTHER\\alice", &d[1..]), ParsedName::Unknown);
        assert_eq!(parse("a@b@corp.example.com", &d), ParsedName::In("a@b", 1));
        assert_eq!(parse("CORP\\a@b", &d), ParsedName::In("a@b", 1));
    }

    #[test]
    fn custom_expressions_and_default_domain_suffix() {
        let cfg = crate::config::Config::parse(
            "[sssd]\ndomains = A, B\ndefault_domain_suffix = b\n\
             re_expression = ^(?P<domain>[^+]+)\\+(?P<name>.+)$|^(?P<name>[^+]+)$\n\
             [domain/A]\nid_provider = ldap\n\
             [domain/B]\nid_provider = ldap\nre_expression = ^(?P<name>[^+]+)$\n",
            "t",
        )
        .unwrap();
        let d: Vec<_> = ["A", "B"]
            .iter()
            .map(|n| DomainOptions::from_config(&cfg, n).unwrap())
            .collect();
        assert!(d.iter().all(|x| x.use_fully_qualified_names));
        assert_eq!(parse("A+alice", &d), ParsedName::In("alice", 0));
        // B's own expression has no `+` form; A's gives a domain part B is not.
        assert_eq!(parse("B+alice", &d), ParsedName::Unknown);
        assert_eq!(parse("alice", &d), ParsedName::In("alice", 1), "the suffix");
        assert_eq!(parse("alice@A", &d), ParsedName::In("alice@A", 1));
    }

    #[test]
    fn disagreeing_short_names_and_unknown_suffixes_find_nothing() {
        let mut d = doms();
        d[1].re_expression = crate::config::name_regex::NameRegex::new("^x(?P<name>.+)$").ok();
        assert_eq!(parse("xalice", &d), ParsedName::Unknown);
        let mut d = doms();
        for x in &mut d {
            x.default_domain_suffix = Some("nowhere".into());
        }
        assert_eq!(parse("alice", &d), ParsedName::Unknown);
        assert_eq!(parse("alice@LDAP", &d), ParsedName::In("alice", 0));
    }

    #[test]
    fn full_name_format_expansion() {
        assert_eq!(format_full_name("%1$s@%2$s", "u", "D", "F"), "u@D");
        assert_eq!(format_full_name("%2$s\\%1$s", "u", "D", "F"), "D\\u");
        assert_eq!(format_full_name("%3$s\\%1$s", "u", "D", "F"), "F\\u");
        assert_eq!(format_full_name("%s@%s", "u", "D", "F"), "u@D");
        assert_eq!(format_full_name("%1$s%%x", "u", "D", "F"), "u%x");
        assert_eq!(format_full_name("%q%", "u", "D", "F"), "%q%");
        assert_eq!(format_full_name("%9$s", "u", "D", "F"), "%9$s");
    }

    #[test]
    fn case_and_fq_output() {
        let mut d = DomainOptions::defaults("LDAP", "ldap");
        assert_eq!(d.output_name("User1"), "User1");
        d.case_sensitive = false;
        assert_eq!(d.lookup_key("User1"), "user1");
        assert_eq!(d.output_name("User1"), "user1");
        d.use_fully_qualified_names = true;
        assert_eq!(d.output_name("User1"), "user1@LDAP");
        d.full_name_format = "%2$s+%1$s".into();
        assert_eq!(d.output_name("x"), "LDAP+x");
        assert_eq!(d.internal_fq("x"), "x@LDAP");
        d.full_name_format = "%3$s\\%1$s".into();
        assert_eq!(
            d.output_name("x"),
            "LDAP\\x",
            "no flat name: the domain name"
        );
        d.flat_name = Some("FLAT".into());
        assert_eq!(d.output_name("x"), "FLAT\\x");
    }

    #[test]
    fn a_flat_name_learned_from_the_domain_replaces_the_guess() {
        let mut d = DomainOptions::defaults("learned.example.com", "ad");
        d.flat_name = Some("LEARNED".into());
        d.use_fully_qualified_names = true;
        d.full_name_format = "%3$s\\%1$s".into();
        let doms = vec![d];
        assert_eq!(parse("LEARNED\\u", &doms), ParsedName::In("u", 0));
        crate::config::learned::remember_flat_name("learned.example.com", "NETBIOSNAME");
        assert_eq!(parse("NETBIOSNAME\\u", &doms), ParsedName::In("u", 0));
        assert_eq!(parse("netbiosname\\u", &doms), ParsedName::In("u", 0));
        assert_eq!(parse("LEARNED\\u", &doms), ParsedName::Unknown);
        assert_eq!(doms[0].output_name("u"), "NETBIOSNAME\\u");
        assert_eq!(
            parse("u@learned.example.com", &doms),
            ParsedName::In("u", 0)
        );
    }
}
