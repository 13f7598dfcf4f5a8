//! The table checked against its own rules and against the man pages.

use super::*;

#[test]
fn every_default_is_accepted_by_its_own_rules() {
    for e in TABLE {
        match e {
            Entry::Number(o) => assert!(
                (o.min..=o.max).contains(&o.default),
                "{}: default {} outside {}..={}",
                o.name,
                o.default,
                o.min,
                o.max
            ),
            Entry::Choice(o) => assert!(o.values.contains(&o.default), "{}", o.name),
            _ => {}
        }
    }
}

#[test]
fn names_are_unique_per_section() {
    for (i, a) in TABLE.iter().enumerate() {
        for b in &TABLE[i + 1..] {
            let shared = a.sections().iter().any(|s| b.sections().contains(s));
            assert!(
                !(a.name() == b.name() && shared),
                "{} twice in one section",
                a.name()
            );
        }
    }
}

#[test]
fn reader_keeps_the_first_refusal_and_gives_defaults() {
    let cfg = Config::parse(
        "[nss]\nenum_cache_timeout = soon\nentry_cache_nowait_percentage = 100\n\
         client_idle_timeout = -5\n",
        "t",
    )
    .unwrap();
    let mut r = Reader::new(&cfg, "nss");
    assert_eq!(r.number(&ENUM_CACHE_TIMEOUT), 120, "the default stands in");
    assert_eq!(r.number(&ENTRY_CACHE_NOWAIT_PERCENTAGE), 50);
    assert_eq!(r.number(&CLIENT_IDLE_TIMEOUT), 10, "raised to the minimum");
    let e = r.finish(()).unwrap_err().to_string();
    assert!(e.contains("enum_cache_timeout"), "{e}");
}

#[test]
fn choices_and_ranges_name_what_is_accepted() {
    let cfg = Config::parse(
        "[domain/D]\nauto_private_groups = maybe\n[nss]\nmemcache_size_sid = 5000\n",
        "t",
    )
    .unwrap();
    let e = AUTO_PRIVATE_GROUPS.read(&cfg, "domain/D").unwrap_err();
    assert!(
        e.to_string().contains("expected true, false or hybrid"),
        "{e}"
    );
    let e = MEMCACHE_SIZE_SID.read(&cfg, "nss").unwrap_err();
    assert!(e.to_string().contains("from 0 to 3713"), "{e}");
    assert!(lookup("domain/D", "AUTO_private_groups").is_some());
    assert!(lookup("nss", "auto_private_groups").is_none());
}

/// The `.TP` paragraph of the man pages that documents `name`: its header line and
/// the text up to the next paragraph.
fn man_paragraphs<'m>(man: &'m str, name: &str) -> Vec<(&'m str, String)> {
    let mut out = Vec::new();
    let lines: Vec<&str> = man.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        let documents = l.starts_with(".BR ")
            && l.split(['"', ' ', ','])
                .any(|w| w == name || w == format!("\\fB{name}\\fR"));
        if documents && i > 0 && lines[i - 1] == ".TP" {
            let body: Vec<&str> = lines[i + 1..]
                .iter()
                .take_while(|b| !b.starts_with(".TP") && !b.starts_with(".SH"))
                .copied()
                .collect();
            out.push((*l, body.join(" ")));
        }
    }
    out
}

#[test]
fn the_man_pages_document_every_option_with_its_type_and_default() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../man/");
    let man: String = ["sssd.conf.5", "sssd-sudo.5", "sssd-autofs.5"]
        .iter()
        .map(|f| std::fs::read_to_string(format!("{dir}{f}")).unwrap())
        .collect();
    let mut wrong = Vec::new();
    for e in TABLE {
        let paragraphs = man_paragraphs(&man, e.name());
        if paragraphs.is_empty() {
            wrong.push(format!("{}: not documented", e.name()));
            continue;
        }
        let typed = paragraphs.iter().any(|(h, _)| {
            h.contains(&format!("({}", e.man_type()))
                || (e.man_type() == "list" && h.contains("list)"))
                || (e.man_type() == "boolean" && h.contains("(bool)"))
                || (matches!(e, Entry::Choice(_)) && h.contains(" or "))
        });
        if !typed {
            wrong.push(format!("{}: type is not {}", e.name(), e.man_type()));
        }
        if let Some(d) = e.man_default() {
            let stated = paragraphs.iter().any(|(_, body)| {
                body.split("Default:")
                    .skip(1)
                    .any(|after| after.replace("\\fB", "").replace("\\fR", "").contains(&d))
            });
            if !stated {
                wrong.push(format!("{}: default {d:?} not stated", e.name()));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
