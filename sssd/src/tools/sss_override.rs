//! `sss_override`: local overrides of user and group attributes, as SSSD 2.8's tool
//! (commands, options, the colon-separated import/export format, messages on stderr, exit
//! 1 on any failure). The overrides live in their own store ([`crate::overrides`]), which
//! the responders apply on the next lookup; every change also clears the memory cache (as
//! `sss_cache -E` does) so that no client keeps an old answer. Certificates (`-x`) are not
//! supported.
//!
//! An object is found as SSSD's tool finds it: `getpwnam`/`getgrnam` through NSS first
//! (which makes the daemon fetch it into its cache), then the domain caches in order.

use super::sss_cache::{Context, Outcome, memcache};
use crate::cache::Cache;
use crate::config::DomainOptions;
use crate::overrides::{self, GroupOverride, OverrideSet, UserOverride};
use crate::responder::common::names::parse_name;
use std::ffi::CString;

const COMMANDS: [(&str, &str); 12] = [
    ("user-add", "NAME"),
    ("user-del", "NAME"),
    ("user-find", ""),
    ("user-show", "NAME"),
    ("user-import", "FILE"),
    ("user-export", "FILE"),
    ("group-add", "NAME"),
    ("group-del", "NAME"),
    ("group-find", ""),
    ("group-show", "NAME"),
    ("group-import", "FILE"),
    ("group-export", "FILE"),
];

/// A failure: the message (already printed into the outcome) and exit 1.
struct Failed;

type Res<T> = Result<T, Failed>;

/// The tool's state while a command runs.
struct Tool<'a> {
    ctx: &'a Context<'a>,
    out: Outcome,
    domains: Vec<DomainOptions>,
}

/// Whether a user or a group.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    User,
    Group,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Group => "group",
        }
    }
}

/// One option a command takes.
struct Opt {
    short: char,
    long: &'static str,
    numeric: bool,
}

const USER_OPTS: [Opt; 7] = [
    Opt {
        short: 'n',
        long: "name",
        numeric: false,
    },
    Opt {
        short: 'u',
        long: "uid",
        numeric: true,
    },
    Opt {
        short: 'g',
        long: "gid",
        numeric: true,
    },
    Opt {
        short: 'h',
        long: "home",
        numeric: false,
    },
    Opt {
        short: 's',
        long: "shell",
        numeric: false,
    },
    Opt {
        short: 'c',
        long: "gecos",
        numeric: false,
    },
    Opt {
        short: 'x',
        long: "certificate",
        numeric: false,
    },
];

const GROUP_OPTS: [Opt; 2] = [
    Opt {
        short: 'n',
        long: "name",
        numeric: false,
    },
    Opt {
        short: 'g',
        long: "gid",
        numeric: true,
    },
];

const FIND_OPTS: [Opt; 1] = [Opt {
    short: 'd',
    long: "domain",
    numeric: false,
}];

/// Parsed command line of one command: options by long name, free arguments.
#[derive(Default)]
struct Cmdline {
    opts: Vec<(&'static str, String)>,
    free: Vec<String>,
}

impl Cmdline {
    fn get(&self, long: &str) -> Option<&str> {
        self.opts
            .iter()
            .rev()
            .find(|(l, _)| *l == long)
            .map(|(_, v)| v.as_str())
    }

    fn num(&self, long: &str) -> u32 {
        self.get(long).and_then(|v| v.parse().ok()).unwrap_or(0)
    }
}

/// Runs `sss_override` with `args` (without the program name).
pub fn run(ctx: &Context<'_>, args: &[String]) -> Outcome {
    let mut tool = Tool {
        ctx,
        out: Outcome::default(),
        domains: Vec::new(),
    };
    let code = match tool.main(args) {
        Ok(()) => 0,
        Err(Failed) => 1,
    };
    let mut out = tool.out;
    out.code = code;
    out
}

impl Tool<'_> {
    fn err(&mut self, text: &str) {
        self.out.stderr.push_str(text);
    }

    fn fail<T>(&mut self, text: &str) -> Res<T> {
        self.err(text);
        Err(Failed)
    }

    fn usage(&mut self) {
        let p = self.ctx.program.to_string();
        self.err(&format!(
            "Usage:\n{p} COMMAND COMMAND-ARGS\n\nAvailable commands:\n"
        ));
        for (c, _) in COMMANDS {
            self.err(&format!("* {c:<12}\t \n"));
        }
        self.err(
            "\nHelp options:\n  -?, --help    \t Show this for a command\n  \
             --usage       \t Show brief usage message for a command\n",
        );
    }

    fn command_help(&self, cmd: &str, free: &str, opts: &[Opt]) -> String {
        let mut s = format!(
            "Usage: {} {cmd} {}[OPTIONS...]\n",
            self.ctx.program,
            if free.is_empty() {
                String::new()
            } else {
                format!("{free} ")
            }
        );
        for o in opts {
            let arg = if o.numeric { "INT" } else { "STRING" };
            s.push_str(&format!("  -{}, --{}={arg}\n", o.short, o.long));
        }
        s.push_str("\nHelp options:\n  -?, --help     Show this help message\n");
        s
    }

    fn main(&mut self, args: &[String]) -> Res<()> {
        let Some(cmd) = args.first() else {
            self.usage();
            return Err(Failed);
        };
        let Some(&(cmd, free)) = COMMANDS.iter().find(|(c, _)| c == cmd) else {
            self.usage();
            return Err(Failed);
        };
        // SSSD's common option `--debug LEVEL` (diagnostics are not kept here).
        let mut rest: Vec<String> = Vec::with_capacity(args.len());
        let mut it = args[1..].iter();
        while let Some(a) = it.next() {
            if a == "--debug" {
                it.next();
            } else if !a.starts_with("--debug=") {
                rest.push(a.clone());
            }
        }
        let rest = &rest[..];
        let opts: &[Opt] = match cmd {
            "user-add" => &USER_OPTS,
            "group-add" => &GROUP_OPTS,
            "user-find" | "group-find" => &FIND_OPTS,
            _ => &[],
        };
        if rest.iter().any(|a| a == "-?" || a == "--help") {
            self.out.stdout = self.command_help(cmd, free, opts);
            return Ok(());
        }
        if self.ctx.uid != 0 {
            return self.fail(&format!("'{cmd}' must be run as root\n"));
        }
        match super::sss_cache::expire::configured_domains(self.ctx.paths) {
            Ok(d) => self.domains = d.unwrap_or_default(),
            Err(e) => return self.fail(&format!("Unable to read the configuration: {e}\n")),
        }
        let line = self.parse(cmd, free, opts, rest)?;
        let kind = if cmd.starts_with("user") {
            Kind::User
        } else {
            Kind::Group
        };
        let verb = cmd.split_once('-').map_or("", |(_, v)| v);
        match verb {
            "add" => self.add(kind, &line),
            "del" => self.del(kind, &line.free[0]),
            "find" => self.find(kind, line.get("domain")),
            "show" => self.show(kind, &line.free[0]),
            "import" => self.import(kind, &line.free[0]),
            _ => self.export(kind, &line.free[0]),
        }
    }

    /// popt-like parsing: `-xVAL`, `-x VAL`, `--long=VAL`, `--long VAL`, free arguments.
    fn parse(&mut self, cmd: &str, free: &str, opts: &[Opt], args: &[String]) -> Res<Cmdline> {
        let help = self.command_help(cmd, free, opts);
        let mut line = Cmdline::default();
        let mut i = 0;
        while i < args.len() {
            let a = &args[i];
            i += 1;
            let (opt, inline) = if let Some(l) = a.strip_prefix("--").filter(|l| !l.is_empty()) {
                let (l, v) = match l.split_once('=') {
                    Some((l, v)) => (l, Some(v.to_string())),
                    None => (l, None),
                };
                (opts.iter().find(|o| o.long == l), v)
            } else if let Some(s) = a.strip_prefix('-').filter(|s| !s.is_empty()) {
                let mut ch = s.chars();
                let c = ch.next();
                let v: String = ch.collect();
                (
                    opts.iter().find(|o| Some(o.short) == c),
                    (!v.is_empty()).then_some(v),
                )
            } else {
                line.free.push(a.clone());
                continue;
            };
            let Some(opt) = opt else {
                return self.fail(&format!("Invalid option {a}: unknown option\n\n{help}"));
            };
            let value = match inline {
                Some(v) => v,
                None if i < args.len() => {
                    i += 1;
                    args[i - 1].clone()
                }
                None => {
                    return self.fail(&format!("Invalid option {a}: missing argument\n\n{help}"));
                }
            };
            if opt.numeric && value.parse::<i64>().is_err() {
                return self.fail(&format!(
                    "Invalid option {a}: invalid numeric value\n\n{help}"
                ));
            }
            line.opts.push((opt.long, value));
        }
        if free.is_empty() {
            if let Some(f) = line.free.first() {
                return self.fail(&format!("Unexpected parameter: {f}\n\n{help}"));
            }
        } else {
            if line.free.is_empty() {
                let what = match free {
                    "NAME" => "Specify name.",
                    _ if cmd.ends_with("import") => "File to import the data from.",
                    _ => "File to export the data to.",
                };
                return self.fail(&format!("Missing option: {what}\n\n{help}"));
            }
            if line.free.len() > 1 {
                return self.fail(&format!("Only one free argument is expected!\n\n{help}"));
            }
        }
        if cmd.ends_with("-add") && line.opts.is_empty() {
            return self.fail(&format!("At least one option is required!\n\n{help}"));
        }
        Ok(line)
    }

    /// The original name and the configured domain of `input` (`name` or `name@domain`).
    fn locate(&mut self, kind: Kind, input: &str) -> Res<(String, usize)> {
        let (name, dom) = parse_name(input, &self.domains);
        let name = name.to_string();
        let shown = |t: &Tool<'_>| {
            dom.and_then(|i| t.domains.get(i))
                .map_or("[unknown]".to_string(), |d| d.name.clone())
        };
        // As SSSD: the object must resolve through NSS (the daemon caches it on the way).
        let sysname = match dom.and_then(|i| self.domains.get(i)) {
            Some(d) if d.use_fully_qualified_names => format!("{name}@{}", d.name),
            _ => name.clone(),
        };
        if !nss_knows(kind, &sysname) {
            let d = shown(self);
            return self.fail(&format!("Unable to find {} {name}@{d}.\n", kind.word()));
        }
        let set = self.load()?;
        let candidates: Vec<usize> = match dom {
            Some(i) => vec![i],
            None => (0..self.domains.len()).collect(),
        };
        for i in candidates {
            let d = &self.domains[i];
            let key = d.lookup_key(&name);
            if let Some(orig) = cached_name(self.ctx, d, kind, &key) {
                return Ok((orig, i));
            }
            // The name given may be an override's name.
            let renamed = match kind {
                Kind::User => set
                    .users
                    .iter()
                    .filter(|o| o.domain.eq_ignore_ascii_case(&d.name))
                    .find(|o| o.name.as_deref().map(|n| d.lookup_key(n)) == Some(key.clone()))
                    .map(|o| o.orig.clone()),
                Kind::Group => set
                    .groups
                    .iter()
                    .filter(|o| o.domain.eq_ignore_ascii_case(&d.name))
                    .find(|o| o.name.as_deref().map(|n| d.lookup_key(n)) == Some(key.clone()))
                    .map(|o| o.orig.clone()),
            };
            if let Some(orig) = renamed {
                return Ok((orig, i));
            }
        }
        let d = shown(self);
        self.fail(&format!("Unable to find {} {name}@{d}.\n", kind.word()))
    }

    fn load(&mut self) -> Res<OverrideSet> {
        match OverrideSet::load(self.ctx.paths) {
            Ok(s) => Ok(s),
            Err(e) => self.fail(&format!("Unable to read the local overrides: {e}\n")),
        }
    }

    /// Saves the store and clears the memory cache so that clients ask again.
    fn save(&mut self, set: &OverrideSet) -> Res<()> {
        if let Err(e) = set.save(self.ctx.paths) {
            return self.fail(&format!("Unable to store the local overrides: {e}\n"));
        }
        match memcache::clear_all(self.ctx.paths, self.ctx.proc_root, self.ctx.timing) {
            Ok(memcache::Cleared::NotConfirmed) => {
                self.err(&format!("{}\n", super::sss_cache::MC_NOT_CONFIRMED));
            }
            Ok(memcache::Cleared::Here) => {
                // No map in use (no memory cache kept), so nobody was signalled: a running
                // monitor still relays SIGHUP to sssd_nss, whose negative cache may hold
                // the new name or id.
                if let Ok(pid) = memcache::monitor_pid(&self.ctx.paths.pidfile, self.ctx.proc_root)
                {
                    // SAFETY: kill(2) on a pid checked to be a live sssd monitor.
                    unsafe { libc::kill(pid, libc::SIGHUP) };
                }
            }
            Ok(memcache::Cleared::ByResponder) => {}
            // The store is written; the responders see it on their next lookup.
            Err(e) => self.err(&format!("Failed to clear the memory cache: {e}\n")),
        }
        Ok(())
    }

    /// The override name `-n` gives, without a domain (which may not change).
    fn new_name(&mut self, dom: usize, value: Option<&str>) -> Res<Option<String>> {
        let Some(v) = value else {
            return Ok(None);
        };
        let (n, d) = parse_name(v, &self.domains);
        match d {
            Some(i) if i != dom => self.fail("Changing domain is not allowed!\n"),
            Some(_) => Ok(Some(n.to_string())),
            // As SSSD's default re_expression: `name@x` names a domain x, here unknown.
            None if v.rfind('@').is_some_and(|at| at > 0) => {
                self.fail("Changing domain is not allowed!\n")
            }
            None => Ok(Some(v.to_string())),
        }
    }

    fn add(&mut self, kind: Kind, line: &Cmdline) -> Res<()> {
        let (orig, d) = self.locate(kind, &line.free[0])?;
        let mut set = self.load()?;
        self.put(&mut set, kind, orig, d, line)?;
        self.save(&set)
    }

    fn put(
        &mut self,
        set: &mut OverrideSet,
        kind: Kind,
        orig: String,
        d: usize,
        line: &Cmdline,
    ) -> Res<()> {
        let name = self.new_name(d, line.get("name"))?;
        let domain = self.domains[d].name.clone();
        let s = |l: &str| line.get(l).map(str::to_string);
        match kind {
            Kind::User => set.put_user(UserOverride {
                orig,
                domain,
                name,
                uid: line.num("uid"),
                gid: line.num("gid"),
                gecos: s("gecos"),
                home: s("home"),
                shell: s("shell"),
                cert: s("certificate"),
            }),
            Kind::Group => set.put_group(GroupOverride {
                orig,
                domain,
                name,
                gid: line.num("gid"),
            }),
        }
        Ok(())
    }

    fn del(&mut self, kind: Kind, input: &str) -> Res<()> {
        let (orig, d) = self.locate(kind, input)?;
        let dom = self.domains[d].name.clone();
        let mut set = self.load()?;
        let same = |o: &str, od: &str| o == orig && od.eq_ignore_ascii_case(&dom);
        match kind {
            Kind::User => set.users.retain(|u| !same(&u.orig, &u.domain)),
            Kind::Group => set.groups.retain(|g| !same(&g.orig, &g.domain)),
        }
        self.save(&set)
    }

    /// The export lines of `domains` (in configured order), optionally only `orig`.
    fn lines(&self, set: &OverrideSet, kind: Kind, doms: &[usize], only: Option<&str>) -> String {
        let mut out = String::new();
        for &i in doms {
            let d = &self.domains[i].name;
            let want =
                |o: &str, od: &str| od.eq_ignore_ascii_case(d) && only.is_none_or(|w| w == o);
            match kind {
                Kind::User => {
                    for u in set.users.iter().filter(|u| want(&u.orig, &u.domain)) {
                        out.push_str(
                            &UserOverride {
                                domain: d.clone(),
                                ..u.clone()
                            }
                            .line(),
                        );
                    }
                }
                Kind::Group => {
                    for g in set.groups.iter().filter(|g| want(&g.orig, &g.domain)) {
                        out.push_str(
                            &GroupOverride {
                                domain: d.clone(),
                                ..g.clone()
                            }
                            .line(),
                        );
                    }
                }
            }
        }
        out
    }

    fn find(&mut self, kind: Kind, domain: Option<&str>) -> Res<()> {
        let doms: Vec<usize> = match domain {
            None => (0..self.domains.len()).collect(),
            Some(want) => match self
                .domains
                .iter()
                .position(|d| d.name.eq_ignore_ascii_case(want))
            {
                Some(i) => vec![i],
                None => return self.fail(&format!("Unable to find domain {want}\n")),
            },
        };
        let set = self.load()?;
        self.out.stdout = self.lines(&set, kind, &doms, None);
        Ok(())
    }

    fn show(&mut self, kind: Kind, input: &str) -> Res<()> {
        let (orig, d) = self.locate(kind, input)?;
        let set = self.load()?;
        self.out.stdout = self.lines(&set, kind, &[d], Some(&orig));
        Ok(())
    }

    fn export(&mut self, kind: Kind, file: &str) -> Res<()> {
        let set = self.load()?;
        let all: Vec<usize> = (0..self.domains.len()).collect();
        let text = self.lines(&set, kind, &all, None);
        if std::fs::write(file, text).is_err() {
            return self.fail(&format!("Unable to open {file}.\n"));
        }
        Ok(())
    }

    fn import(&mut self, kind: Kind, file: &str) -> Res<()> {
        let Ok(text) = std::fs::read_to_string(file) else {
            return self.fail(&format!("Unable to open {file}.\n"));
        };
        let mut set = self.load()?;
        let res = self.import_lines(&mut set, kind, &text);
        // As SSSD, the lines before a failing one stay imported.
        let saved = self.save(&set);
        res.and(saved)
    }

    fn import_lines(&mut self, set: &mut OverrideSet, kind: Kind, text: &str) -> Res<()> {
        for (n, l) in text.split_inclusive('\n').enumerate() {
            let parsed = match kind {
                Kind::User => overrides::parse_user_line(l).map(|(input, o)| {
                    let mut line = Cmdline::default();
                    let mut opt = |k: &'static str, v: Option<String>| {
                        if let Some(v) = v {
                            line.opts.push((k, v));
                        }
                    };
                    opt("name", o.name);
                    opt("uid", (o.uid != 0).then(|| o.uid.to_string()));
                    opt("gid", (o.gid != 0).then(|| o.gid.to_string()));
                    opt("gecos", o.gecos);
                    opt("home", o.home);
                    opt("shell", o.shell);
                    opt("certificate", o.cert);
                    (input, line)
                }),
                Kind::Group => overrides::parse_group_line(l).map(|(input, o)| {
                    let mut line = Cmdline::default();
                    if let Some(v) = o.name {
                        line.opts.push(("name", v));
                    }
                    if o.gid != 0 {
                        line.opts.push(("gid", o.gid.to_string()));
                    }
                    (input, line)
                }),
            };
            let Ok((input, line)) = parsed else {
                return self.fail(&format!(
                    "Invalid format on line {}. Use --debug option for more information.\n",
                    n + 1
                ));
            };
            let (orig, d) = self.locate(kind, &input)?;
            self.put(set, kind, orig, d, &line)?;
        }
        Ok(())
    }
}

/// Whether NSS resolves the user or group `name`.
fn nss_knows(kind: Kind, name: &str) -> bool {
    let Ok(c) = CString::new(name) else {
        return false;
    };
    // SAFETY: NUL-terminated name; only the pointer's nullness is used, before any other
    // call could reuse the static buffer.
    unsafe {
        match kind {
            Kind::User => !libc::getpwnam(c.as_ptr()).is_null(),
            Kind::Group => !libc::getgrnam(c.as_ptr()).is_null(),
        }
    }
}

/// The cache name of the user or group `key` in domain `d`'s cache, if cached.
fn cached_name(ctx: &Context<'_>, d: &DomainOptions, kind: Kind, key: &str) -> Option<String> {
    let cache = Cache::open_existing(&ctx.paths.db, &d.name).ok()??;
    match kind {
        Kind::User => cache.user_by_name(key).ok()?.map(|c| c.value.name),
        Kind::Group => cache.group_by_name(key).ok()?.map(|c| c.value.name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::Paths;
    use std::path::Path;

    fn ctx<'a>(paths: &'a Paths, uid: u32) -> Context<'a> {
        Context {
            paths,
            proc_root: Path::new("/proc"),
            uid,
            program: "sss_override",
            systemd_offline: false,
            timing: memcache::Timing::default(),
        }
    }

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn usage_and_option_errors_as_sssd() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        let o = run(&ctx(&paths, 0), &[]);
        assert_eq!(o.code, 1);
        assert!(
            o.stderr
                .starts_with("Usage:\nsss_override COMMAND COMMAND-ARGS")
        );
        let o = run(&ctx(&paths, 1000), &args(&["user-find"]));
        assert_eq!(
            (o.code, o.stderr.as_str()),
            (1, "'user-find' must be run as root\n")
        );
        let o = run(&ctx(&paths, 0), &args(&["user-add", "alice"]));
        assert!(
            o.stderr.starts_with("At least one option is required!"),
            "{o:?}"
        );
        let o = run(&ctx(&paths, 0), &args(&["user-add", "-u", "x", "alice"]));
        assert!(
            o.stderr
                .starts_with("Invalid option -u: invalid numeric value")
        );
        let o = run(&ctx(&paths, 0), &args(&["user-del"]));
        assert!(o.stderr.starts_with("Missing option: Specify name."));
        let o = run(&ctx(&paths, 0), &args(&["user-import"]));
        assert!(
            o.stderr
                .starts_with("Missing option: File to import the data from.")
        );
        let o = run(&ctx(&paths, 0), &args(&["group-find", "-d", "nosuch"]));
        assert_eq!(
            (o.code, o.stderr.as_str()),
            (1, "Unable to find domain nosuch\n")
        );
        let o = run(&ctx(&paths, 0), &args(&["user-find"]));
        assert_eq!((o.code, o.stdout.as_str()), (0, ""));
        let o = run(&ctx(&paths, 0), &args(&["user-find", "--debug", "9"]));
        assert_eq!((o.code, o.stderr.as_str()), (0, ""));
    }

    #[test]
    fn export_writes_the_store_in_domain_order() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        std::fs::create_dir_all(&paths.db).unwrap();
        std::fs::create_dir_all(paths.config_file.parent().unwrap()).unwrap();
        std::fs::write(
            &paths.config_file,
            "[sssd]\ndomains = b, a\n[domain/a]\nid_provider = ldap\n[domain/b]\nid_provider = ldap\n",
        )
        .unwrap();
        std::fs::set_permissions(
            &paths.config_file,
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        let mut set = OverrideSet::default();
        set.put_user(UserOverride {
            orig: "x".into(),
            domain: "a".into(),
            uid: 7,
            ..UserOverride::default()
        });
        set.put_user(UserOverride {
            orig: "y".into(),
            domain: "b".into(),
            name: Some("z".into()),
            ..UserOverride::default()
        });
        set.save(&paths).unwrap();
        let o = run(&ctx(&paths, 0), &args(&["user-find"]));
        assert_eq!(o.stdout, "y@b:z::::::\nx@a::7:::::\n", "{o:?}");
        let o = run(&ctx(&paths, 0), &args(&["user-find", "--domain=a"]));
        assert_eq!(o.stdout, "x@a::7:::::\n");
        let file = dir.path().join("out");
        let o = run(
            &ctx(&paths, 0),
            &args(&["user-export", file.to_str().unwrap()]),
        );
        assert_eq!(o.code, 0, "{o:?}");
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "y@b:z::::::\nx@a::7:::::\n"
        );
        let bad = dir.path().join("bad");
        std::fs::write(&bad, "not a line\n").unwrap();
        let o = run(
            &ctx(&paths, 0),
            &args(&["user-import", bad.to_str().unwrap()]),
        );
        assert_eq!(o.code, 1);
        assert_eq!(
            o.stderr,
            "Invalid format on line 1. Use --debug option for more information.\n"
        );
    }
}
