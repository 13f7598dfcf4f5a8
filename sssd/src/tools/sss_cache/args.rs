//! `sss_cache`'s command line, read the way SSSD's (popt) reads it: bundled short options
//! (`-EU`), values glued (`-ualice`, `--user=alice`) or separate (`-u alice`, where the
//! next argument is taken whatever it looks like), `--` ending the options, the last of
//! repeated values winning, `--help` acting as soon as it is met, and left-over arguments
//! refused after the options were read.

use crate::logging::{debug_level_to_mask, parse_debug_level};

/// The kinds of cached objects `sss_cache` knows, in the order it processes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    /// Users (`-u`/`-U`).
    User,
    /// Groups (`-g`/`-G`).
    Group,
    /// Netgroups (`-n`/`-N`).
    Netgroup,
    /// Services (`-s`/`-S`).
    Service,
    /// Autofs maps (`-a`/`-A`).
    AutofsMap,
    /// SSH host keys (`-h`/`-H`): accepted, never cached here (no-ops).
    SshHost,
    /// Sudo rules (`-r`/`-R`).
    SudoRule,
}

impl ObjectKind {
    /// Every kind, in processing order.
    pub const ALL: [ObjectKind; 7] = [
        ObjectKind::User,
        ObjectKind::Group,
        ObjectKind::Netgroup,
        ObjectKind::Service,
        ObjectKind::AutofsMap,
        ObjectKind::SshHost,
        ObjectKind::SudoRule,
    ];

    /// The word SSSD's messages use for one object of this kind.
    pub fn label(self) -> &'static str {
        match self {
            ObjectKind::User => "user",
            ObjectKind::Group => "group",
            ObjectKind::Netgroup => "netgroup",
            ObjectKind::Service => "service",
            ObjectKind::AutofsMap => "autofs map",
            ObjectKind::SshHost => "ssh_host",
            ObjectKind::SudoRule => "sudo_rule",
        }
    }

    fn index(self) -> usize {
        match self {
            ObjectKind::User => 0,
            ObjectKind::Group => 1,
            ObjectKind::Netgroup => 2,
            ObjectKind::Service => 3,
            ObjectKind::AutofsMap => 4,
            ObjectKind::SshHost => 5,
            ObjectKind::SudoRule => 6,
        }
    }
}

/// What to expire of one kind.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Target {
    /// Nothing.
    #[default]
    Nothing,
    /// Every cached object of the kind (`-U`, `-E`, ...).
    All,
    /// The object with this name, possibly `name@domain` (`-u NAME`, ...).
    Named(String),
}

/// A valid command line: what to expire, where.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Request {
    targets: [Target; 7],
    /// `-d`/`--domain`: only this domain.
    pub domain: Option<String>,
    /// `--debug LEVEL` as a bitmask (SSSD's hidden option); `None` when not given.
    pub debug: Option<u32>,
}

impl Request {
    /// What to expire of `kind`.
    pub fn target(&self, kind: ObjectKind) -> &Target {
        &self.targets[kind.index()]
    }
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Expire objects.
    Expire(Request),
    /// `-?`/`--help`: print the option list on stdout, exit 0.
    Help,
    /// `--usage`: print the short usage on stdout, exit 0.
    Usage,
}

/// A command line SSSD's `sss_cache` would refuse: the usage is printed on stderr followed
/// by this message, and the exit code is 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

/// The message for left-over arguments (SSSD's wording, which scripts may match).
pub const UNEXPECTED_ARGUMENTS: &str = "Unexpected argument(s) provided, options that \
invalidate a single object only accept a single provided argument.";

/// The message when no object was selected (SSSD's wording).
pub const NOTHING_SELECTED: &str = "Please select at least one object to invalidate";

/// What one option does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Everything,
    All(ObjectKind),
    Named(ObjectKind),
    Domain,
    Debug,
    Help,
    Usage,
}

impl Action {
    fn takes_value(self) -> bool {
        matches!(self, Action::Named(_) | Action::Domain | Action::Debug)
    }
}

/// One option: short letter, long name, value placeholder, help text.
struct Spec {
    short: Option<char>,
    long: &'static str,
    action: Action,
    value: &'static str,
    help: &'static str,
    hidden: bool,
}

const fn spec(
    short: char,
    long: &'static str,
    action: Action,
    value: &'static str,
    help: &'static str,
) -> Spec {
    Spec {
        short: Some(short),
        long,
        action,
        value,
        help,
        hidden: false,
    }
}

use ObjectKind as K;

/// The options, in the order the help lists them.
const SPECS: &[Spec] = &[
    spec(
        'E',
        "everything",
        Action::Everything,
        "",
        "Expire every cached object",
    ),
    spec(
        'u',
        "user",
        Action::Named(K::User),
        "NAME",
        "Expire one user and its group memberships",
    ),
    spec('U', "users", Action::All(K::User), "", "Expire every user"),
    spec(
        'g',
        "group",
        Action::Named(K::Group),
        "NAME",
        "Expire one group",
    ),
    spec(
        'G',
        "groups",
        Action::All(K::Group),
        "",
        "Expire every group",
    ),
    spec(
        'n',
        "netgroup",
        Action::Named(K::Netgroup),
        "NAME",
        "Expire one netgroup",
    ),
    spec(
        'N',
        "netgroups",
        Action::All(K::Netgroup),
        "",
        "Expire every netgroup",
    ),
    spec(
        's',
        "service",
        Action::Named(K::Service),
        "NAME",
        "Expire one service",
    ),
    spec(
        'S',
        "services",
        Action::All(K::Service),
        "",
        "Expire every service",
    ),
    spec(
        'a',
        "autofs-map",
        Action::Named(K::AutofsMap),
        "NAME",
        "Expire one autofs map",
    ),
    spec(
        'A',
        "autofs-maps",
        Action::All(K::AutofsMap),
        "",
        "Expire every autofs map",
    ),
    spec(
        'h',
        "ssh-host",
        Action::Named(K::SshHost),
        "HOST",
        "Accepted; no SSH host is cached",
    ),
    spec(
        'H',
        "ssh-hosts",
        Action::All(K::SshHost),
        "",
        "Accepted; no SSH host is cached",
    ),
    spec(
        'r',
        "sudo-rule",
        Action::Named(K::SudoRule),
        "NAME",
        "Expire one sudo rule",
    ),
    spec(
        'R',
        "sudo-rules",
        Action::All(K::SudoRule),
        "",
        "Expire every sudo rule",
    ),
    spec(
        'd',
        "domain",
        Action::Domain,
        "DOMAIN",
        "Only look in this domain",
    ),
    Spec {
        short: None,
        long: "debug",
        action: Action::Debug,
        value: "LEVEL",
        help: "Print diagnostics of this debug level on stderr",
        hidden: true,
    },
    spec('?', "help", Action::Help, "", "Show this help and exit"),
    Spec {
        short: None,
        long: "usage",
        action: Action::Usage,
        value: "",
        help: "Show the short usage and exit",
        hidden: false,
    },
];

/// The short usage (`--usage`, and before every usage error).
pub fn usage() -> String {
    let mut items = vec![
        "[-?EUGNSAHR]".to_string(),
        "[-?|--help]".into(),
        "[--usage]".into(),
    ];
    for s in SPECS.iter().filter(|s| !s.hidden && s.short != Some('?')) {
        let mut item = String::from("[");
        if let Some(c) = s.short {
            item.push('-');
            item.push(c);
            item.push('|');
        }
        item.push_str("--");
        item.push_str(s.long);
        if !s.value.is_empty() {
            item.push('=');
            item.push_str(s.value);
        }
        item.push(']');
        if s.long != "usage" {
            items.push(item);
        }
    }
    crate::tools::common::popt_usage("Usage: sss_cache", &items)
}

/// The option list (`-?`/`--help`).
pub fn help() -> String {
    let mut out = String::from("Usage: sss_cache [OPTION...]\n");
    let line = |out: &mut String, s: &Spec| {
        let mut left = match s.short {
            Some(c) => format!("  -{c}, --{}", s.long),
            None => format!("      --{}", s.long),
        };
        if !s.value.is_empty() {
            left.push('=');
            left.push_str(s.value);
        }
        out.push_str(&format!("{left:<30}{}\n", s.help));
    };
    for s in SPECS
        .iter()
        .filter(|s| !s.hidden && !matches!(s.action, Action::Help | Action::Usage))
    {
        line(&mut out, s);
    }
    out.push_str("\nHelp options:\n");
    for s in SPECS
        .iter()
        .filter(|s| matches!(s.action, Action::Help | Action::Usage))
    {
        line(&mut out, s);
    }
    out
}

/// What the options seen so far asked for.
#[derive(Default)]
struct State {
    everything: bool,
    all: [bool; 7],
    named: [Option<String>; 7],
    domain: Option<String>,
    debug: Option<u32>,
}

impl State {
    /// Applies one option; `Some` when it ends parsing (help, usage).
    fn apply(
        &mut self,
        action: Action,
        value: Option<String>,
    ) -> Result<Option<Command>, UsageError> {
        match action {
            Action::Everything => self.everything = true,
            Action::All(k) => self.all[k.index()] = true,
            Action::Named(k) => self.named[k.index()] = value,
            Action::Domain => self.domain = value,
            Action::Debug => {
                let v = value.unwrap_or_default();
                let level = parse_debug_level(&v)
                    .map_err(|_| UsageError("invalid numeric value".into()))?;
                self.debug = Some(debug_level_to_mask(level));
            }
            Action::Help => return Ok(Some(Command::Help)),
            Action::Usage => return Ok(Some(Command::Usage)),
        }
        Ok(None)
    }

    fn finish(self) -> Result<Request, UsageError> {
        let any_named = self.named.iter().any(Option::is_some);
        if !self.everything && !self.all.iter().any(|&a| a) && !any_named {
            return Err(UsageError(NOTHING_SELECTED.into()));
        }
        let mut req = Request {
            domain: self.domain,
            debug: self.debug,
            ..Request::default()
        };
        for k in ObjectKind::ALL {
            let i = k.index();
            req.targets[i] = if self.everything || self.all[i] {
                // "All" overrides a name of the same kind, as in SSSD.
                Target::All
            } else {
                match &self.named[i] {
                    Some(n) => Target::Named(n.clone()),
                    None => Target::Nothing,
                }
            };
        }
        Ok(req)
    }
}

fn by_long(name: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.long == name)
}

fn by_short(c: char) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.short == Some(c))
}

const UNKNOWN: &str = "unknown option";
const MISSING: &str = "missing argument";
const NO_VALUE: &str = "option does not take an argument";

/// Reads the arguments (without the program name).
pub fn parse(args: &[String]) -> Result<Command, UsageError> {
    let mut st = State::default();
    let mut leftovers = 0usize;
    let mut only_args = false;
    let mut it = args.iter();
    let err = |m: &str| Err(UsageError(m.to_string()));
    while let Some(arg) = it.next() {
        if only_args || arg == "-" || !arg.starts_with('-') {
            leftovers += 1;
            continue;
        }
        if arg == "--" {
            only_args = true;
            continue;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let Some(spec) = by_long(name) else {
                return err(UNKNOWN);
            };
            let value = if spec.action.takes_value() {
                match inline.or_else(|| it.next().cloned()) {
                    Some(v) => Some(v),
                    None => return err(MISSING),
                }
            } else if inline.is_some() {
                return err(NO_VALUE);
            } else {
                None
            };
            if let Some(done) = st.apply(spec.action, value)? {
                return Ok(done);
            }
            continue;
        }
        // A bundle of short options: "-EU", "-ualice", "-Eu alice".
        let bundle = &arg[1..];
        for (pos, c) in bundle.char_indices() {
            let rest = &bundle[pos + c.len_utf8()..];
            let Some(spec) = by_short(c) else {
                return err(UNKNOWN);
            };
            if spec.action.takes_value() {
                let value = if rest.is_empty() {
                    match it.next() {
                        Some(v) => v.clone(),
                        None => return err(MISSING),
                    }
                } else {
                    rest.strip_prefix('=').unwrap_or(rest).to_string()
                };
                if let Some(done) = st.apply(spec.action, Some(value))? {
                    return Ok(done);
                }
                break;
            }
            if rest.starts_with('=') {
                return err(NO_VALUE);
            }
            if let Some(done) = st.apply(spec.action, None)? {
                return Ok(done);
            }
        }
    }
    if leftovers > 0 {
        return err(UNEXPECTED_ARGUMENTS);
    }
    st.finish().map(Command::Expire)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Command, UsageError> {
        parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    fn req(args: &[&str]) -> Request {
        match p(args) {
            Ok(Command::Expire(r)) => r,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    fn usage_err(args: &[&str]) -> String {
        match p(args) {
            Err(UsageError(m)) => m,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    fn named(n: &str) -> Target {
        Target::Named(n.into())
    }

    #[test]
    fn long_and_short_forms_select_the_same_objects() {
        let pairs: &[(&[&str], &[&str], ObjectKind, Target)] = &[
            (
                &["-u", "alice"],
                &["--user", "alice"],
                K::User,
                named("alice"),
            ),
            (&["-ualice"], &["--user=alice"], K::User, named("alice")),
            (&["-U"], &["--users"], K::User, Target::All),
            (&["-g", "g1"], &["--group=g1"], K::Group, named("g1")),
            (&["-G"], &["--groups"], K::Group, Target::All),
            (&["-n", "ng"], &["--netgroup=ng"], K::Netgroup, named("ng")),
            (&["-N"], &["--netgroups"], K::Netgroup, Target::All),
            (&["-s", "ssh"], &["--service=ssh"], K::Service, named("ssh")),
            (&["-S"], &["--services"], K::Service, Target::All),
            (
                &["-a", "auto.home"],
                &["--autofs-map=auto.home"],
                K::AutofsMap,
                named("auto.home"),
            ),
            (&["-A"], &["--autofs-maps"], K::AutofsMap, Target::All),
            (&["-h", "h1"], &["--ssh-host=h1"], K::SshHost, named("h1")),
            (&["-H"], &["--ssh-hosts"], K::SshHost, Target::All),
            (&["-r", "r1"], &["--sudo-rule=r1"], K::SudoRule, named("r1")),
            (&["-R"], &["--sudo-rules"], K::SudoRule, Target::All),
        ];
        for (short, long, kind, want) in pairs {
            for args in [*short, *long] {
                let r = req(args);
                assert_eq!(r.target(*kind), want, "{args:?}");
                for other in ObjectKind::ALL.iter().filter(|k| *k != kind) {
                    assert_eq!(r.target(*other), &Target::Nothing, "{args:?} {other:?}");
                }
                assert_eq!(r.domain, None);
            }
        }
    }

    #[test]
    fn everything_selects_every_kind_and_overrides_names() {
        for args in [
            &["-E"][..],
            &["--everything"],
            &["-u", "x", "-E"],
            &["-E", "-u", "x"],
        ] {
            let r = req(args);
            for k in ObjectKind::ALL {
                assert_eq!(r.target(k), &Target::All, "{args:?} {k:?}");
            }
        }
    }

    #[test]
    fn all_of_a_kind_overrides_a_name_of_that_kind_only() {
        let r = req(&["-u", "alice", "-U", "-g", "g1"]);
        assert_eq!(r.target(K::User), &Target::All);
        assert_eq!(r.target(K::Group), &named("g1"));
        let r = req(&["-U", "-u", "alice"]);
        assert_eq!(r.target(K::User), &Target::All);
    }

    #[test]
    fn options_combine_and_bundle() {
        let r = req(&["-UG"]);
        assert_eq!(r.target(K::User), &Target::All);
        assert_eq!(r.target(K::Group), &Target::All);
        assert_eq!(r.target(K::Netgroup), &Target::Nothing);
        let r = req(&["-Gu", "alice", "-dLDAP"]);
        assert_eq!(r.target(K::User), &named("alice"));
        assert_eq!(r.target(K::Group), &Target::All);
        assert_eq!(r.domain.as_deref(), Some("LDAP"));
        let r = req(&["-u", "alice", "-g", "g1", "--domain", "D", "-n", "ng"]);
        assert_eq!(r.target(K::User), &named("alice"));
        assert_eq!(r.target(K::Group), &named("g1"));
        assert_eq!(r.target(K::Netgroup), &named("ng"));
        assert_eq!(r.domain.as_deref(), Some("D"));
    }

    #[test]
    fn values_are_taken_as_popt_takes_them() {
        // The next argument is the value whatever it looks like.
        assert_eq!(req(&["-u", "-E"]).target(K::User), &named("-E"));
        assert_eq!(req(&["-u", "--bogus"]).target(K::User), &named("--bogus"));
        // Glued with '=', empty values, the last of repeated values.
        assert_eq!(req(&["-u=alice"]).target(K::User), &named("alice"));
        assert_eq!(req(&["--user="]).target(K::User), &named(""));
        assert_eq!(req(&["-u", ""]).target(K::User), &named(""));
        assert_eq!(req(&["-u", "a", "-u", "b"]).target(K::User), &named("b"));
        assert_eq!(
            req(&["-u", "alice@LDAP"]).target(K::User),
            &named("alice@LDAP")
        );
        // "-user" is -u with the value "ser", as in popt.
        assert_eq!(req(&["-user"]).target(K::User), &named("ser"));
        assert_eq!(req(&["-E", "--"]).target(K::User), &Target::All);
    }

    #[test]
    fn debug_level_is_accepted_as_sssd_reads_it() {
        assert_eq!(req(&["-E", "--debug", "0"]).debug, Some(0x0010));
        assert_eq!(req(&["--debug=6", "-E"]).debug, Some(0x07f0));
        assert_eq!(req(&["--debug", "0x0270", "-E"]).debug, Some(0x0270));
        assert_eq!(req(&["-E"]).debug, None);
        assert_eq!(usage_err(&["--debug", "x", "-E"]), "invalid numeric value");
    }

    #[test]
    fn refusals_carry_popts_messages() {
        assert_eq!(usage_err(&[]), NOTHING_SELECTED);
        assert_eq!(usage_err(&["-d", "LDAP"]), NOTHING_SELECTED);
        assert_eq!(usage_err(&["--debug", "5"]), NOTHING_SELECTED);
        assert_eq!(usage_err(&["-u"]), MISSING);
        assert_eq!(usage_err(&["-E", "-u"]), MISSING);
        assert_eq!(usage_err(&["-EUu"]), MISSING);
        assert_eq!(usage_err(&["--user"]), MISSING);
        assert_eq!(usage_err(&["-E", "-d"]), MISSING);
        assert_eq!(usage_err(&["--bogus"]), UNKNOWN);
        assert_eq!(usage_err(&["-x"]), UNKNOWN);
        assert_eq!(usage_err(&["-Ex"]), UNKNOWN);
        assert_eq!(usage_err(&["--use", "alice"]), UNKNOWN, "no abbreviations");
        assert_eq!(usage_err(&["--USER", "alice"]), UNKNOWN, "case matters");
        assert_eq!(usage_err(&["--everything=1"]), NO_VALUE);
        assert_eq!(usage_err(&["-E=1"]), NO_VALUE);
        assert_eq!(usage_err(&["-u", "a", "b"]), UNEXPECTED_ARGUMENTS);
        assert_eq!(usage_err(&["-U", "-u", "x", "y"]), UNEXPECTED_ARGUMENTS);
        assert_eq!(usage_err(&[""]), UNEXPECTED_ARGUMENTS);
        assert_eq!(usage_err(&["-"]), UNEXPECTED_ARGUMENTS);
        assert_eq!(usage_err(&["--", "-E"]), UNEXPECTED_ARGUMENTS);
        assert_eq!(usage_err(&["-E", "--", "x"]), UNEXPECTED_ARGUMENTS);
        // An option error met while reading wins over left-over arguments.
        assert_eq!(usage_err(&["-E", "x", "--bogus"]), UNKNOWN);
    }

    #[test]
    fn help_and_usage_act_when_met() {
        assert_eq!(p(&["--help"]), Ok(Command::Help));
        assert_eq!(p(&["-?"]), Ok(Command::Help));
        assert_eq!(p(&["-E?"]), Ok(Command::Help));
        assert_eq!(p(&["--help", "--bogus"]), Ok(Command::Help));
        assert_eq!(p(&["--bogus", "--help"]), Err(UsageError(UNKNOWN.into())));
        assert_eq!(p(&["--usage"]), Ok(Command::Usage));
    }

    #[test]
    fn help_lists_every_visible_option_once() {
        let h = help();
        for s in SPECS.iter().filter(|s| !s.hidden) {
            let sep = if s.value.is_empty() { " " } else { "=" };
            let opt = format!("--{}{sep}", s.long);
            assert_eq!(h.matches(&opt).count(), 1, "{}", s.long);
            if let Some(c) = s.short {
                assert!(h.contains(&format!("-{c}, --{}", s.long)), "{}", s.long);
            }
        }
        assert!(!h.contains("--debug"));
        let u = usage();
        assert!(u.starts_with("Usage: sss_cache [-?EUGNSAHR] [-?|--help] [--usage]"));
        assert!(u.contains("[-u|--user=NAME]") && u.contains("[-d|--domain=DOMAIN]"));
        assert!(u.lines().all(|l| l.len() <= 80), "{u}");
    }
}
