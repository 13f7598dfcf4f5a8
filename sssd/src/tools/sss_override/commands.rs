//! What each command does: add, del, find, show, export and import, over the store that
//! [`super::store`] reads and writes.

use super::args::Cmdline;
use super::{DEBUG_CRIT, Kind, Res, Tool};
use crate::overrides::{self, GroupOverride, OverrideSet, UserOverride};
use crate::responder::common::names::parse_name;

impl Tool<'_> {
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

    pub(super) fn add(&mut self, kind: Kind, line: &Cmdline) -> Res<()> {
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

    pub(super) fn del(&mut self, kind: Kind, input: &str) -> Res<()> {
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

    pub(super) fn find(&mut self, kind: Kind, domain: Option<&str>) -> Res<()> {
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

    pub(super) fn show(&mut self, kind: Kind, input: &str) -> Res<()> {
        let (orig, d) = self.locate(kind, input)?;
        let set = self.load()?;
        self.out.stdout = self.lines(&set, kind, &[d], Some(&orig));
        Ok(())
    }

    pub(super) fn export(&mut self, kind: Kind, file: &str) -> Res<()> {
        let set = self.load()?;
        let all: Vec<usize> = (0..self.domains.len()).collect();
        let text = self.lines(&set, kind, &all, None);
        if std::fs::write(file, text).is_err() {
            return self.fail(&format!("Unable to open {file}.\n"));
        }
        Ok(())
    }

    pub(super) fn import(&mut self, kind: Kind, file: &str) -> Res<()> {
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
            let (input, line) = match parsed {
                Ok(p) => p,
                Err(overrides::FormatError(why)) => {
                    self.debug(DEBUG_CRIT, "sss_colondb_readline", &why);
                    return self.fail(&format!(
                        "Invalid format on line {}. Use --debug option for more information.\n",
                        n + 1
                    ));
                }
            };
            let (orig, d) = self.locate(kind, &input)?;
            self.put(set, kind, orig, d, &line)?;
        }
        Ok(())
    }
}
