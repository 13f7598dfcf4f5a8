//! Name handling: `name@domain` input parsing, case folding and `full_name_format` output.

use crate::config::DomainOptions;

/// Splits `input` into a name and the index of the domain it names, following the default
/// `re_expression`: the part after the last `@` is a domain when it names a configured
/// domain (case-insensitively); otherwise the whole input is a short name.
pub fn parse_name<'a>(input: &'a str, domains: &[DomainOptions]) -> (&'a str, Option<usize>) {
    if let Some(at) = input.rfind('@')
        && at > 0
    {
        let (name, dom) = (&input[..at], &input[at + 1..]);
        if let Some(i) = domains
            .iter()
            .position(|d| d.name.eq_ignore_ascii_case(dom))
        {
            return (name, Some(i));
        }
    }
    (input, None)
}

/// Expands a `full_name_format`: `%1$s` name, `%2$s` domain, `%3$s` flat name (the
/// domain name here), `%s` the next argument in order, `%%` a percent sign. Anything else
/// is copied literally.
pub fn format_full_name(format: &str, name: &str, domain: &str) -> String {
    let args = [name, domain, domain];
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
            format_full_name(&self.full_name_format, &short, &self.name)
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
    }

    #[test]
    fn full_name_format_expansion() {
        assert_eq!(format_full_name("%1$s@%2$s", "u", "D"), "u@D");
        assert_eq!(format_full_name("%2$s\\%1$s", "u", "D"), "D\\u");
        assert_eq!(format_full_name("%1$s@%3$s", "u", "D"), "u@D");
        assert_eq!(format_full_name("%s@%s", "u", "D"), "u@D");
        assert_eq!(format_full_name("%1$s%%x", "u", "D"), "u%x");
        assert_eq!(format_full_name("%q%", "u", "D"), "%q%");
        assert_eq!(format_full_name("%9$s", "u", "D"), "%9$s");
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
    }
}
