//! The configuration checker behind `sssctl config-check` and the monitor's start-up
//! warnings: every finding names the file and line it is about, unknown sections and
//! options get a "did you mean" for near misses, values are validated by the same code the
//! daemons use, and conf.d files that are not read are listed with the reason.

use super::{Config, ConfigError, DOMAIN_PREFIX, known, schema};
use std::path::{Path, PathBuf};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The configuration does not do what it says (a domain is disabled, an option is
    /// ignored or misspelt).
    Error,
    /// Worth knowing, harmless (a file in conf.d that is not read, for example).
    Warning,
}

/// One thing the checker found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// `file:line`, or the file alone, when known.
    pub place: Option<String>,
    /// What is wrong, naming the section and option.
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match &self.place {
            Some(p) => write!(f, "{p}: {level}: {}", self.message),
            None => write!(f, "{level}: {}", self.message),
        }
    }
}

/// The outcome of checking one configuration.
#[derive(Debug, Default)]
pub struct Report {
    /// Problems in what is read, in file order as far as known.
    pub findings: Vec<Finding>,
    /// Files in the snippet directory that are not read, with the reason.
    pub ignored_files: Vec<Finding>,
    /// The snippet files that are read, in merge order.
    pub used_snippets: Vec<String>,
}

impl Report {
    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.findings
            .iter()
            .chain(&self.ignored_files)
            .any(|f| f.severity == Severity::Error)
    }
}

/// The responders this implementation runs (`[sssd] services`).
const RESPONDERS: &[&str] = &["nss", "pam", "sudo", "ssh", "autofs"];

fn place(cfg: &Config, section: &str, option: Option<&str>) -> Option<String> {
    cfg.location(section, option)
        .or_else(|| cfg.location(section, None))
        .map(|l| format!("{}:{}", l.file, l.line))
}

fn error(place: Option<String>, message: String) -> Finding {
    Finding {
        severity: Severity::Error,
        place,
        message,
    }
}

/// A finding for a value the daemons refuse, placed at the option it names.
fn refused(cfg: &Config, e: &ConfigError, what: &str) -> Finding {
    let at = match e {
        ConfigError::BadValue {
            section, option, ..
        } => place(cfg, section, Some(option)),
        ConfigError::Syntax { path, line, .. } => Some(format!("{path}:{line}")),
        ConfigError::Io { path, .. } | ConfigError::Permission { path, .. } => Some(path.clone()),
        // What is missing is in a domain section it names, or in the domain list.
        ConfigError::Missing(m) => match m
            .split_once("[domain/")
            .and_then(|(_, rest)| rest.split_once(']'))
        {
            Some((name, _)) => place(cfg, &format!("{DOMAIN_PREFIX}{name}"), None),
            None => place(cfg, "sssd", Some("domains")),
        },
    };
    error(at, format!("{what}: {e}"))
}

/// Checks a loaded configuration (no file access).
pub fn check_config(cfg: &Config) -> Vec<Finding> {
    let mut out = Vec::new();
    for section in cfg.unknown_sections() {
        let hint = known::suggest_section(&section)
            .map(|s| format!("; did you mean [{s}]?"))
            .unwrap_or_default();
        out.push(error(
            place(cfg, &section, None),
            format!("unknown section [{section}]: its options are never read{hint}"),
        ));
    }
    for (section, option) in cfg.unknown_options() {
        let hint = match elsewhere(&option) {
            Some(sections) => format!("; it is an option of {sections}"),
            None => known::suggest_option(&section, &option)
                .map(|s| format!("; did you mean {s}?"))
                .unwrap_or_default(),
        };
        out.push(error(
            place(cfg, &section, Some(&option)),
            format!("[{section}]: unknown option {option}: it has no effect{hint}"),
        ));
    }
    for service in cfg.services() {
        if !RESPONDERS.contains(&service.as_str()) {
            out.push(error(
                place(cfg, "sssd", Some("services")),
                format!(
                    "[sssd] services: the {service} responder is not implemented here \
                     (implemented: {}); it is not started",
                    RESPONDERS.join(", ")
                ),
            ));
        }
    }
    let global: [(&str, Result<(), ConfigError>); 5] = [
        ("[sssd]", super::SssdOptions::from_config(cfg).map(drop)),
        ("[nss]", super::NssOptions::from_config(cfg).map(drop)),
        ("[pam]", super::PamOptions::from_config(cfg).map(drop)),
        (
            "[sudo]",
            crate::responder::sudo::SudoSettings::from_config(cfg).map(drop),
        ),
        (
            "[ssh]",
            crate::responder::ssh::settings::SshSettings::from_config(cfg).map(drop),
        ),
    ];
    // Several sections read the domain list (and domains' options): each problem once,
    // for the domain when it is a domain's.
    let plan = crate::domains::plan(cfg);
    let mut seen: Vec<String> = match &plan {
        Ok(p) => p.disabled.iter().map(|d| d.error.to_string()).collect(),
        Err(_) => Vec::new(),
    };
    for (what, result) in global {
        // A responder that reads a domain's options reports that domain's bad value; the
        // domain check below reports it once, for the domain.
        if let Err(ConfigError::BadValue { section, .. }) = &result
            && section.starts_with(DOMAIN_PREFIX)
        {
            continue;
        }
        if let Err(e) = result {
            let text = e.to_string();
            if !seen.contains(&text) {
                out.push(refused(cfg, &e, &format!("{what} is refused at start")));
                seen.push(text);
            }
        }
    }
    match plan {
        Err(e) if seen.contains(&e.to_string()) => {}
        Err(e) => out.push(refused(cfg, &e, "no domain can be served")),
        Ok(plan) => {
            for d in plan.disabled {
                seen.push(d.error.to_string());
                let section = format!("{DOMAIN_PREFIX}{}", d.name);
                let f = match &d.error {
                    crate::domains::DomainError::Config(e) => {
                        refused(cfg, e, &format!("domain {} is disabled at start", d.name))
                    }
                    crate::domains::DomainError::Sasl(e) => error(
                        place(cfg, &section, None),
                        format!("domain {} is disabled at start: {e}", d.name),
                    ),
                };
                out.push(f);
            }
        }
    }
    out.extend(
        refused_by_the_table(cfg)
            .into_iter()
            .filter(|(e, _)| !seen.contains(&e.to_string()))
            .map(|(_, f)| f),
    );
    out.extend(not_implemented(cfg));
    out
}

/// The sections the option table places `option` in, as `[nss]`, `[nss] and [domain/*]`.
fn elsewhere(option: &str) -> Option<String> {
    let mut sections: Vec<String> = Vec::new();
    for e in schema::TABLE
        .iter()
        .filter(|e| e.name().eq_ignore_ascii_case(option))
    {
        for s in e.sections() {
            let s = if *s == "domain" {
                "[domain/*]".to_string()
            } else {
                format!("[{s}]")
            };
            if !sections.contains(&s) {
                sections.push(s);
            }
        }
    }
    match sections.split_last() {
        None => None,
        Some((last, [])) => Some(last.clone()),
        Some((last, rest)) => Some(format!("{} or {last}", rest.join(", "))),
    }
}

/// Every value the option table refuses, in any section (the checks above stop at the
/// first refusal of each section; this finds the others).
fn refused_by_the_table(cfg: &Config) -> Vec<(ConfigError, Finding)> {
    let mut out = Vec::new();
    for section in cfg.sections() {
        for (option, _) in cfg.options(section) {
            if let Some(entry) = schema::lookup(section, option)
                && let Err(e) = entry.validate(cfg, section)
            {
                let f = refused(cfg, &e, "refused at start");
                out.push((e, f));
            }
        }
    }
    out
}

/// Options read in every section we serve, outside the option table: logging, the
/// watchdog, process limits and comments.
const READ_EVERYWHERE: &[&str] = &[
    "debug",
    "debug_level",
    "debug_timestamps",
    "debug_microseconds",
    "timeout",
    "fd_limit",
    "responder_idle_timeout",
    "description",
];

/// `[sssd]` options read outside the option table.
const READ_IN_SSSD: &[&str] = &[
    "domains",
    "services",
    "user",
    "config_file_version",
    "enable_files_domain",
];

/// Options SSSD knows in `[sssd]` and the responder sections we serve that nothing here
/// reads: set, they would silently do nothing, so each is an error naming it.
fn not_implemented(cfg: &Config) -> Vec<Finding> {
    let mut out = Vec::new();
    for section in cfg.sections() {
        if section != "sssd" && !RESPONDERS.contains(&section) {
            continue;
        }
        for (option, _) in cfg.options(section) {
            let option = option.to_ascii_lowercase();
            let read = schema::lookup(section, &option).is_some()
                || READ_EVERYWHERE.contains(&option.as_str())
                || (section == "sssd" && READ_IN_SSSD.contains(&option.as_str()));
            if !read && known::is_known(section, &option) == Some(true) {
                out.push(error(
                    place(cfg, section, Some(&option)),
                    format!(
                        "[{section}] {option}: an SSSD option this implementation does not \
                         support; it has no effect"
                    ),
                ));
            }
        }
    }
    out
}

/// The conf.d snippets the load left out because of their owner or mode, as warnings.
pub fn skipped_snippets(cfg: &Config) -> Vec<Finding> {
    cfg.skipped_snippets()
        .iter()
        .map(|(path, why)| Finding {
            severity: Severity::Warning,
            place: Some(path.clone()),
            message: format!("not read: {why}"),
        })
        .collect()
}

/// Why the snippet directory entry `path` is not read, if it is not.
fn ignored_because(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_string_lossy().into_owned();
    if name.starts_with('.') {
        return Some("its name starts with '.'".into());
    }
    if !super::load::is_snippet_name(&name) {
        return Some("its name does not end in \".conf\"".into());
    }
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => None,
        Ok(_) => Some("it is not a regular file".into()),
        Err(e) => Some(format!("it cannot be read: {e}")),
    }
}

/// Loads `main` and the snippets of `snippets`, as the daemon does, and checks them. A file
/// that cannot be loaded at all (syntax, ownership, mode) is the one finding.
pub fn check_files(main: &Path, snippets: &Path) -> Report {
    let mut report = Report::default();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(snippets)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    entries.sort();
    for p in entries {
        match ignored_because(&p) {
            Some(why) => report.ignored_files.push(Finding {
                severity: Severity::Warning,
                place: Some(p.display().to_string()),
                message: format!("not read: {why}"),
            }),
            None => report.used_snippets.push(p.display().to_string()),
        }
    }
    match Config::load(main, Some(snippets)) {
        Ok(cfg) => {
            report.findings = check_config(&cfg);
            let skipped = skipped_snippets(&cfg);
            report.used_snippets.retain(|u| {
                !skipped
                    .iter()
                    .any(|f| f.place.as_deref() == Some(u.as_str()))
            });
            report.ignored_files.extend(skipped);
        }
        Err(e) => {
            report.used_snippets.clear();
            report.findings.push(refused(
                &Config::default(),
                &e,
                "the configuration cannot be loaded (sssd does not start)",
            ));
        }
    }
    report
}

/// The report as `sssctl config-check` prints it (SSSD's three parts, then our
/// findings' places).
pub fn render(report: &Report) -> String {
    let mut out = format!(
        "Issues identified by validators: {}\n",
        report.findings.len()
    );
    for f in &report.findings {
        out.push_str(&format!("{f}\n"));
    }
    out.push_str(&format!(
        "\nMessages generated during configuration merging: {}\n",
        report.ignored_files.len()
    ));
    for f in &report.ignored_files {
        out.push_str(&format!("{f}\n"));
    }
    out.push_str(&format!(
        "\nUsed configuration snippet files: {}\n",
        report.used_snippets.len()
    ));
    for s in &report.used_snippets {
        out.push_str(&format!("{s}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn findings(text: &str) -> Vec<String> {
        let cfg = Config::parse(text, "sssd.conf").unwrap();
        check_config(&cfg).iter().map(ToString::to_string).collect()
    }

    const GOOD: &str = "[sssd]\nservices = nss, pam\ndomains = LDAP\n\n\
        [domain/LDAP]\nid_provider = ldap\nldap_uri = ldap://127.0.0.1\n";

    #[test]
    fn a_good_configuration_has_no_findings() {
        assert_eq!(findings(GOOD), Vec::<String>::new());
    }

    #[test]
    fn a_files_domain_is_checked_like_the_daemons_do() {
        let text = "[sssd]\nservices = nss\ndomains = F, G\n\n\
            [domain/F]\nid_provider = files\npasswd_files = /etc/passwd, /srv/passwd\n\
            group_files = /etc/group\nfallback_to_nss = false\n\n\
            [domain/G]\nid_provider = files\nauth_provider = krb5\n";
        let f = findings(text);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(
            f[0].contains("domain G is disabled at start") && f[0].contains("auth_provider"),
            "{f:?}"
        );
    }

    #[test]
    fn name_options_are_checked_not_reported_as_unsupported() {
        let good = GOOD.replace(
            "domains = LDAP\n",
            "domains = LDAP\ndefault_domain_suffix = LDAP\n\
             re_expression = ^(?P<domain>[^+]+)\\+(?P<name>.+)$|^(?P<name>[^+]+)$\n",
        );
        assert_eq!(findings(&good), Vec::<String>::new());
        let bad = format!("{GOOD}re_expression = ^(?P<user>.+)$\n");
        let f = findings(&bad);
        assert!(
            f.iter()
                .any(|x| x.contains("re_expression") && x.contains("domain LDAP")),
            "{f:?}"
        );
    }

    #[test]
    fn misspellings_are_placed_and_get_suggestions() {
        let text = format!("{GOOD}ldap_search_bsae = dc=x\n\n[nsss]\nfilter_users = root\n");
        let f = findings(&text);
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(
            f.iter().any(
                |l| l.starts_with("sssd.conf:10: error: unknown section [nsss]")
                    && l.ends_with("did you mean [nss]?")
            ),
            "{f:?}"
        );
        assert!(
            f.iter().any(|l| l
                .starts_with("sssd.conf:8: error: [domain/LDAP]: unknown option ldap_search_bsae")
                && l.ends_with("did you mean ldap_search_base?")),
            "{f:?}"
        );
    }

    #[test]
    fn refused_values_and_unsupported_providers_name_the_option() {
        let text = "[sssd]\nservices = nss, ifp\ndomains = LDAP, F\n\n\
            [domain/LDAP]\nid_provider = ldap\nldap_uri = ldap://127.0.0.1\n\
            entry_cache_timeout = soon\n\n[domain/F]\nid_provider = ipa\n";
        let f = findings(text);
        assert_eq!(f.len(), 3, "{f:?}");
        assert!(f[0].starts_with("sssd.conf:2: error: [sssd] services: the ifp responder"));
        assert!(
            f[1].starts_with("sssd.conf:8: error: domain LDAP is disabled at start")
                && f[1].contains("entry_cache_timeout"),
            "{f:?}"
        );
        assert!(
            f[2].starts_with("sssd.conf:11: error: domain F is disabled at start")
                && f[2].contains("id_provider"),
            "{f:?}"
        );
    }

    #[test]
    fn options_sssd_knows_but_nothing_reads_are_named() {
        let text = format!(
            "{GOOD}\n[nss]\nuser_attributes = +mail\nallowed_uids = 0\ncache_first = true\n\
             [pam]\npam_cert_auth = true\npam_verbosity = 2\n"
        );
        let f = findings(&text);
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(f[0].starts_with("sssd.conf:10: error: [nss] user_attributes: an SSSD option"));
        assert!(f[1].starts_with("sssd.conf:14: error: [pam] pam_cert_auth: an SSSD option"));
    }

    #[test]
    fn an_option_in_the_wrong_section_names_its_section() {
        let f = findings(&format!(
            "{GOOD}\n[pam]\nentry_cache_nowait_percentage = 5\n"
        ));
        assert_eq!(
            f,
            vec![
                "sssd.conf:10: error: [pam]: unknown option entry_cache_nowait_percentage: it \
                 has no effect; it is an option of [nss]"
            ]
        );
    }

    #[test]
    fn every_refused_value_is_reported_not_only_the_first() {
        let text =
            format!("{GOOD}enumerate = maybe\nmin_id = -1\n\n[nss]\nmemcache_size_passwd = 9999\n");
        let f = findings(&text);
        assert_eq!(f.len(), 3, "{f:?}");
        assert!(
            f.iter()
                .any(|l| l.starts_with("sssd.conf:8:") && l.contains("enumerate"))
        );
        assert!(
            f.iter()
                .any(|l| l.starts_with("sssd.conf:9:") && l.contains("min_id"))
        );
        assert!(
            f.iter()
                .any(|l| l.starts_with("sssd.conf:12:") && l.contains("memcache_size"))
        );
    }
}
