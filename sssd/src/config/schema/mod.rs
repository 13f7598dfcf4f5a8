//! One typed entry per option of sssd.conf(5)'s `[sssd]`, `[nss]` and `[pam]` sections and
//! of the options every domain has: its name, the sections it belongs to, its type, its
//! default and its limits. The option structs ([`super::NssOptions`],
//! [`super::DomainOptions`], [`super::PamOptions`]) read through these entries, so each
//! default and each rule is written once; `sssctl config-check` validates every section
//! against [`TABLE`]; and a test keeps sssd.conf(5) in step with it (name, type, default).

use super::{Config, ConfigError, DOMAIN_PREFIX, parse_int, split_list};

mod table;
pub use table::*;

/// The sections an option belongs to: plain section names, `"domain"` for every
/// `[domain/NAME]`, or [`RESPONDERS`].
pub type Sections = &'static [&'static str];

/// Every responder section this implementation runs (for options such as
/// `client_idle_timeout`).
pub const RESPONDERS: Sections = &["nss", "pam", "sudo", "ssh", "autofs"];

/// Whether `section` (a section name as written, such as `domain/LDAP`) is one of `sections`.
fn belongs(sections: Sections, section: &str) -> bool {
    let kind = if section.starts_with(DOMAIN_PREFIX) {
        "domain"
    } else {
        section
    };
    sections.iter().any(|s| s.eq_ignore_ascii_case(kind))
}

/// A non-negative integer option (C `strtol` syntax: decimal, `0x` hex or `0` octal).
#[derive(Debug)]
pub struct Number {
    /// The option name.
    pub name: &'static str,
    /// Where it belongs.
    pub sections: Sections,
    /// The value when unset.
    pub default: u32,
    /// The smallest value accepted.
    pub min: u32,
    /// The largest value accepted.
    pub max: u32,
    /// Values below `min` (even negative ones) are raised to it instead of refused, as
    /// SSSD does for `client_idle_timeout`.
    pub raise_to_min: bool,
    /// How the man page states a default that is not `default` itself: the option whose
    /// value it takes (`entry_cache_timeout` for `entry_cache_user_timeout`, which the
    /// caller passes to [`Number::read_or`]), or what applies when it is unset.
    pub stated_default: Option<&'static str>,
}

impl Number {
    const fn new(name: &'static str, sections: Sections, default: u32) -> Number {
        Number {
            name,
            sections,
            default,
            min: 0,
            max: u32::MAX,
            raise_to_min: false,
            stated_default: None,
        }
    }

    const fn max(self, max: u32) -> Number {
        Number { max, ..self }
    }

    const fn at_least(self, min: u32) -> Number {
        Number {
            min,
            raise_to_min: true,
            ..self
        }
    }

    const fn stated(self, default: &'static str) -> Number {
        Number {
            stated_default: Some(default),
            ..self
        }
    }

    /// The value in `section`, or the default.
    pub fn read(&self, cfg: &Config, section: &str) -> Result<u32, ConfigError> {
        self.read_or(cfg, section, self.default)
    }

    /// The value in `section`, or `default` (for options that inherit another's value).
    pub fn read_or(&self, cfg: &Config, section: &str, default: u32) -> Result<u32, ConfigError> {
        let Some(raw) = cfg.get(section, self.name) else {
            return Ok(default);
        };
        let refuse = || {
            ConfigError::bad_value(
                section,
                self.name,
                raw,
                format!("expected a number from {} to {}", self.min, self.max),
            )
        };
        let v = parse_int(raw).ok_or_else(refuse)?;
        if self.raise_to_min && v < i64::from(self.min) {
            return Ok(self.min);
        }
        u32::try_from(v)
            .ok()
            .filter(|v| (self.min..=self.max).contains(v))
            .ok_or_else(refuse)
    }
}

/// A boolean option (`true` or `false`, any case).
#[derive(Debug)]
pub struct Flag {
    /// The option name.
    pub name: &'static str,
    /// Where it belongs.
    pub sections: Sections,
    /// The value when unset.
    pub default: bool,
}

impl Flag {
    /// The value in `section`, or the default.
    pub fn read(&self, cfg: &Config, section: &str) -> Result<bool, ConfigError> {
        cfg.get_bool(section, self.name, self.default)
    }
}

/// A string option; an empty value counts as unset.
#[derive(Debug)]
pub struct Text {
    /// The option name.
    pub name: &'static str,
    /// Where it belongs.
    pub sections: Sections,
    /// The value when unset (`None`: unset means "not set").
    pub default: Option<&'static str>,
}

impl Text {
    /// The value set in `section`, if any (the default is not applied).
    pub fn set(&self, cfg: &Config, section: &str) -> Option<String> {
        cfg.get(section, self.name).map(str::to_string)
    }

    /// The value in `section`, or the default.
    pub fn read(&self, cfg: &Config, section: &str) -> Option<String> {
        self.set(cfg, section)
            .or_else(|| self.default.map(str::to_string))
    }

    /// The value in `section`, or the default, or the empty string.
    pub fn read_string(&self, cfg: &Config, section: &str) -> String {
        self.read(cfg, section).unwrap_or_default()
    }
}

/// A comma-separated list option (items trimmed, empty items dropped).
#[derive(Debug)]
pub struct List {
    /// The option name.
    pub name: &'static str,
    /// Where it belongs.
    pub sections: Sections,
    /// The items when unset.
    pub default: &'static [&'static str],
}

impl List {
    /// The items set in `section`, if the option is set.
    pub fn set(&self, cfg: &Config, section: &str) -> Option<Vec<String>> {
        cfg.get(section, self.name).map(split_list)
    }

    /// The items in `section`, or the default.
    pub fn read(&self, cfg: &Config, section: &str) -> Vec<String> {
        self.set(cfg, section)
            .unwrap_or_else(|| self.default.iter().map(|s| s.to_string()).collect())
    }
}

/// An option with a fixed set of values (matched case-insensitively).
#[derive(Debug)]
pub struct Choice {
    /// The option name.
    pub name: &'static str,
    /// Where it belongs.
    pub sections: Sections,
    /// The values accepted, in lowercase.
    pub values: &'static [&'static str],
    /// The value when unset.
    pub default: &'static str,
}

impl Choice {
    /// The value in `section` (one of `values`), or the default.
    pub fn read(&self, cfg: &Config, section: &str) -> Result<&'static str, ConfigError> {
        self.read_or(cfg, section, self.default)
    }

    /// The value in `section`, or `default` (for defaults that depend on other options).
    pub fn read_or(
        &self,
        cfg: &Config,
        section: &str,
        default: &'static str,
    ) -> Result<&'static str, ConfigError> {
        let Some(raw) = cfg.get(section, self.name) else {
            return Ok(default);
        };
        self.values
            .iter()
            .find(|v| v.eq_ignore_ascii_case(raw))
            .copied()
            .ok_or_else(|| {
                ConfigError::bad_value(
                    section,
                    self.name,
                    raw,
                    format!("expected {}", or_list(self.values)),
                )
            })
    }
}

/// `a, b or c`.
fn or_list(values: &[&str]) -> String {
    match values.split_last() {
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// Any entry of [`TABLE`].
#[derive(Debug, Clone, Copy)]
pub enum Entry {
    /// An integer.
    Number(&'static Number),
    /// A boolean.
    Flag(&'static Flag),
    /// A string.
    Text(&'static Text),
    /// A list.
    List(&'static List),
    /// One of fixed values.
    Choice(&'static Choice),
}

impl Entry {
    /// The option name.
    pub fn name(&self) -> &'static str {
        match self {
            Entry::Number(o) => o.name,
            Entry::Flag(o) => o.name,
            Entry::Text(o) => o.name,
            Entry::List(o) => o.name,
            Entry::Choice(o) => o.name,
        }
    }

    /// Where it belongs.
    pub fn sections(&self) -> Sections {
        match self {
            Entry::Number(o) => o.sections,
            Entry::Flag(o) => o.sections,
            Entry::Text(o) => o.sections,
            Entry::List(o) => o.sections,
            Entry::Choice(o) => o.sections,
        }
    }

    /// Whether the option belongs in `section` (a section name as written).
    pub fn belongs_in(&self, section: &str) -> bool {
        belongs(self.sections(), section)
    }

    /// Refuses a value in `section` that the daemons would refuse.
    pub fn validate(&self, cfg: &Config, section: &str) -> Result<(), ConfigError> {
        match self {
            Entry::Number(o) => o.read(cfg, section).map(drop),
            Entry::Flag(o) => o.read(cfg, section).map(drop),
            Entry::Choice(o) => o.read(cfg, section).map(drop),
            Entry::Text(_) | Entry::List(_) => Ok(()),
        }
    }

    /// The type as sssd.conf(5) names it.
    pub fn man_type(&self) -> &'static str {
        match self {
            Entry::Number(_) => "integer",
            Entry::Flag(_) => "boolean",
            Entry::Text(_) | Entry::Choice(_) => "string",
            Entry::List(_) => "list",
        }
    }

    /// The default as sssd.conf(5) states it; `None` when there is none to state (unset,
    /// or inherited from another option).
    pub fn man_default(&self) -> Option<String> {
        match self {
            Entry::Number(o) => Some(
                o.stated_default
                    .map_or_else(|| o.default.to_string(), str::to_string),
            ),
            Entry::Flag(o) => Some(o.default.to_string()),
            Entry::Text(o) => o.default.map(str::to_string),
            Entry::List(o) if o.default.is_empty() => None,
            Entry::List(o) => Some(o.default.join(", ")),
            Entry::Choice(o) => Some(o.default.to_string()),
        }
    }
}

/// Reads the options of one section into a struct: each read gives a value (the default
/// when the option is refused) and the first refusal is kept, so a whole struct is built in
/// one expression and [`Reader::finish`] returns it or the error. Reading an empty
/// configuration therefore gives the defaults without any error path.
pub struct Reader<'a> {
    cfg: &'a Config,
    section: &'a str,
    error: Option<ConfigError>,
}

impl<'a> Reader<'a> {
    /// A reader of `section` in `cfg`.
    pub fn new(cfg: &'a Config, section: &'a str) -> Reader<'a> {
        Reader {
            cfg,
            section,
            error: None,
        }
    }

    fn keep<T>(&mut self, r: Result<T, ConfigError>, fallback: T) -> T {
        r.unwrap_or_else(|e| {
            self.error.get_or_insert(e);
            fallback
        })
    }

    /// A number, or its default.
    pub fn number(&mut self, o: &Number) -> u32 {
        self.number_or(o, o.default)
    }

    /// A number, or `default`.
    pub fn number_or(&mut self, o: &Number, default: u32) -> u32 {
        let r = o.read_or(self.cfg, self.section, default);
        self.keep(r, default)
    }

    /// A boolean, or its default.
    pub fn flag(&mut self, o: &Flag) -> bool {
        let r = o.read(self.cfg, self.section);
        self.keep(r, o.default)
    }

    /// A boolean, or `default`.
    pub fn flag_or(&mut self, o: &Flag, default: bool) -> bool {
        let r = self.cfg.get_bool(self.section, o.name, default);
        self.keep(r, default)
    }

    /// A choice, or `default`.
    pub fn choice_or(&mut self, o: &Choice, default: &'static str) -> &'static str {
        let r = o.read_or(self.cfg, self.section, default);
        self.keep(r, default)
    }

    /// A choice, or its default.
    pub fn choice(&mut self, o: &Choice) -> &'static str {
        self.choice_or(o, o.default)
    }

    /// A string, or its default.
    pub fn text(&self, o: &Text) -> Option<String> {
        o.read(self.cfg, self.section)
    }

    /// A string, or its default, or empty.
    pub fn text_string(&self, o: &Text) -> String {
        o.read_string(self.cfg, self.section)
    }

    /// A list, or its default.
    pub fn list(&self, o: &List) -> Vec<String> {
        o.read(self.cfg, self.section)
    }

    /// A list if it is set.
    pub fn list_set(&self, o: &List) -> Option<Vec<String>> {
        o.set(self.cfg, self.section)
    }

    /// The section read.
    pub fn section(&self) -> &str {
        self.section
    }

    /// Records `e` unless an earlier refusal is kept.
    pub fn refuse(&mut self, e: ConfigError) {
        self.error.get_or_insert(e);
    }

    /// `value`, or the first refusal.
    pub fn finish<T>(self, value: T) -> Result<T, ConfigError> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(value),
        }
    }
}

/// The entry for `option` in `section`, if the table has one.
pub fn lookup(section: &str, option: &str) -> Option<Entry> {
    TABLE
        .iter()
        .copied()
        .find(|e| e.name().eq_ignore_ascii_case(option) && e.belongs_in(section))
}

#[cfg(test)]
mod tests;
