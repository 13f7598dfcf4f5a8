//! Tests for the parser, the loader (snippets, permissions) and the raw accessors.

use super::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, "test.conf")
}

fn syntax_line(err: ConfigError) -> (usize, String) {
    match err {
        ConfigError::Syntax {
            path,
            line,
            message,
        } => {
            assert_eq!(path, "test.conf");
            (line, message)
        }
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

const BASIC: &str = "\
# comment
; another comment
[sssd]
services = nss, pam
domains = LDAP

[domain/LDAP]
id_provider = ldap
ldap_uri = ldap://127.0.0.1:3890
";

#[test]
fn parses_sections_and_options() {
    let cfg = parse(BASIC).unwrap();
    assert_eq!(cfg.sections(), vec!["sssd", "domain/LDAP"]);
    assert_eq!(cfg.get("sssd", "services"), Some("nss, pam"));
    assert_eq!(
        cfg.get("domain/LDAP", "ldap_uri"),
        Some("ldap://127.0.0.1:3890")
    );
    assert_eq!(cfg.get("domain/LDAP", "missing"), None);
    assert_eq!(cfg.get("nosuch", "id_provider"), None);
    assert_eq!(cfg.services(), vec!["nss", "pam"]);
    assert_eq!(cfg.domains().unwrap(), vec!["LDAP"]);
}

#[test]
fn indented_comment_is_rejected_with_line_number() {
    let text = "[sssd]\ndomains = LDAP\n  # indented comment\n[domain/LDAP]\nid_provider = ldap\n";
    let (line, msg) = syntax_line(parse(text).unwrap_err());
    assert_eq!(line, 3);
    assert!(msg.contains("indented comment"), "{msg}");
    assert!(msg.contains("equal sign is missing"), "{msg}");
}

#[test]
fn indented_section_header_is_rejected_with_line_number() {
    let (line, msg) = syntax_line(parse("[sssd]\ndomains = A\n  [domain/A]\n").unwrap_err());
    assert_eq!(line, 3);
    assert!(msg.contains("indented section header"), "{msg}");
}

#[test]
fn indented_option_is_accepted_like_ding_libs() {
    let cfg = parse("[sssd]\n\tdomains = LDAP\n   services = nss\n").unwrap();
    assert_eq!(cfg.get("sssd", "domains"), Some("LDAP"));
    assert_eq!(cfg.get("sssd", "services"), Some("nss"));
    // Indented but without '=' is still an error.
    assert_eq!(syntax_line(parse("[sssd]\n  domains\n").unwrap_err()).0, 2);
}

#[test]
fn error_display_names_file_and_line() {
    let err = parse("[sssd]\nfoo\n").unwrap_err();
    assert_eq!(err.to_string().split(": ").next(), Some("test.conf:2"));
}

#[test]
fn missing_equal_sign_is_an_error() {
    let (line, msg) = syntax_line(parse("[sssd]\n\n\ndomains LDAP\n").unwrap_err());
    assert_eq!(line, 4);
    assert!(msg.contains("equal sign is missing"), "{msg}");
}

#[test]
fn bad_line_does_not_echo_a_secret_value() {
    let err = parse("[domain/X]\n  ; ldap_default_authtok = s3cret\n").unwrap_err();
    assert!(!err.to_string().contains("s3cret"), "{err}");
    let err = parse("[domain/X]\nldap_default_authtok s3cret\n").unwrap_err();
    assert!(!err.to_string().contains("s3cret"), "{err}");
}

#[test]
fn option_before_section_is_an_error() {
    let (line, msg) = syntax_line(parse("# hi\ndomains = LDAP\n[sssd]\n").unwrap_err());
    assert_eq!(line, 2);
    assert!(msg.contains("before any [section]"), "{msg}");
}

#[test]
fn bad_section_headers_are_errors() {
    assert_eq!(syntax_line(parse("[sssd\n").unwrap_err()).0, 1);
    assert_eq!(syntax_line(parse("[sssd]\n[]\n").unwrap_err()).0, 2);
    assert_eq!(syntax_line(parse("[sssd] x\n").unwrap_err()).0, 1);
    assert_eq!(syntax_line(parse("[sssd] # c\n").unwrap_err()).0, 1);
    let cfg = parse("[ a]b ]   \nk = v\n").unwrap();
    assert_eq!(cfg.get("a]b", "k"), Some("v"));
    assert_eq!(syntax_line(parse("[sssd]\n= value\n").unwrap_err()).0, 2);
}

#[test]
fn inline_comment_characters_and_backslashes_are_literal() {
    let text = "[domain/D]\nldap_default_authtok = p@ss;word#1 # not a comment\n\
                re_expression = ^(?P<name>[^\\\\]+)\\\\(?P<domain>.+)$\n";
    let cfg = parse(text).unwrap();
    assert_eq!(
        cfg.get("domain/D", "ldap_default_authtok"),
        Some("p@ss;word#1 # not a comment")
    );
    assert_eq!(
        cfg.get("domain/D", "re_expression"),
        Some(r"^(?P<name>[^\\]+)\\(?P<domain>.+)$")
    );
}

#[test]
fn quotes_are_literal_and_values_trimmed() {
    let cfg = parse("[nss]\npwfield =   \"x\"   \nempty =\nk=v=w\n").unwrap();
    assert_eq!(cfg.get("nss", "pwfield"), Some("\"x\""));
    assert_eq!(cfg.get("nss", "empty"), None, "SSSD drops empty values");
    assert_eq!(cfg.options("nss")[1], ("empty", ""));
    assert_eq!(cfg.get("nss", "k"), Some("v=w"));
}

#[test]
fn keys_and_sections_are_case_insensitive_like_ding_libs() {
    let cfg = parse("[nss]\nPwfield = x\n[NSS]\npwfield = y\nfilter_users = a\n").unwrap();
    assert_eq!(cfg.sections(), vec!["nss"]);
    assert_eq!(cfg.get("nss", "pwfield"), Some("y"));
    assert_eq!(cfg.get("Nss", "PWFIELD"), Some("y"));
    assert_eq!(
        cfg.options("nss"),
        vec![("Pwfield", "y"), ("filter_users", "a")]
    );
}

#[test]
fn duplicate_keys_and_sections_later_wins() {
    let cfg = parse("[nss]\na = 1\nb = 2\n[pam]\n[nss]\na = 3\nc = 4\na = 5\n").unwrap();
    assert_eq!(cfg.sections(), vec!["nss", "pam"]);
    assert_eq!(cfg.get("nss", "a"), Some("5"));
    assert_eq!(cfg.get("nss", "b"), Some("2"));
    assert_eq!(cfg.options("nss"), vec![("a", "5"), ("b", "2"), ("c", "4")]);
}

#[test]
fn crlf_bom_and_whitespace_only_lines() {
    let cfg = parse("\u{feff}[nss]\r\npwfield = x\r\n   \r\n").unwrap();
    assert_eq!(cfg.get("nss", "pwfield"), Some("x"));
}

#[test]
fn typed_getters() {
    let cfg = parse("[s]\nt = TRUE\nf = False\nn = -42\nbad = yes\nl = a, ,b ,, c\nbadn = 12x\n")
        .unwrap();
    assert!(cfg.get_bool("s", "t", false).unwrap());
    assert!(!cfg.get_bool("s", "f", true).unwrap());
    assert!(cfg.get_bool("s", "absent", true).unwrap());
    match cfg.get_bool("s", "bad", false).unwrap_err() {
        ConfigError::BadValue {
            section,
            option,
            value,
            ..
        } => {
            assert_eq!(
                (section.as_str(), option.as_str(), value.as_str()),
                ("s", "bad", "yes")
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(cfg.get_int("s", "n", 0).unwrap(), -42);
    for (text, want) in [
        ("0x1F", Some(31)),
        ("010", Some(8)),
        ("+7", Some(7)),
        ("0", Some(0)),
    ] {
        assert_eq!(parse_int(text), want, "{text}");
    }
    for text in [
        "",
        "-",
        "0x",
        "08",
        "1 2",
        " 1",
        "1e3",
        "99999999999999999999",
    ] {
        assert_eq!(parse_int(text), None, "{text}");
    }
    assert_eq!(cfg.get_int("s", "absent", 7).unwrap(), 7);
    let err = cfg.get_int("s", "badn", 0).unwrap_err().to_string();
    assert!(err.contains("[s] badn") && err.contains("12x"), "{err}");
    assert_eq!(cfg.get_list("s", "l"), vec!["a", "b", "c"]);
    assert!(cfg.get_list("s", "absent").is_empty());
}

#[test]
fn domains_listed_plus_enabled_minus_disabled() {
    let text = "[sssd]\ndomains = B, A\n[domain/A]\nid_provider = ldap\n[domain/B]\n\
                id_provider = ldap\nenabled = false\n[domain/C]\nenabled = true\n\
                [domain/D]\nenabled = TRUE\n";
    assert_eq!(parse(text).unwrap().domains().unwrap(), vec!["A", "C", "D"]);
}

#[test]
fn no_domain_is_an_error() {
    let err = parse("[sssd]\nservices = nss\n")
        .unwrap()
        .domains()
        .unwrap_err();
    assert!(matches!(err, ConfigError::Missing(_)), "{err:?}");
    let err = parse("[sssd]\ndomains = X\n")
        .unwrap()
        .domains()
        .unwrap_err();
    assert!(err.to_string().contains("[domain/X]"), "{err}");
}

#[test]
fn unknown_options_are_reported() {
    let text = "[sssd]\ndomains = D\nconfig_file_version = 2\ndomian = x\n[nss]\n\
                Debug_Level = 3\nfilter_user = a\n[domain/D]\nid_provider = ldap\n\
                ldap_uri = ldap://x\nldap_serach_base = dc=x\n[custom]\nwhatever = 1\n";
    let unknown = parse(text).unwrap().unknown_options();
    let expected = [
        ("sssd", "domian"),
        ("nss", "filter_user"),
        ("domain/D", "ldap_serach_base"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(s, o)| (s.to_string(), o.to_string()))
        .collect();
    assert_eq!(unknown, expected);
}

#[test]
fn unknown_sections_are_reported() {
    let text = "[sssd]\n[NSS]\n[domain/A]\n[domain/A/sub.example]\n[application/app]\n\
                [certmap/A/rule]\n[prompting/password]\n[prompting/2fa/sshd]\n\
                [domian/B]\n[domain/]\n[domain/a@b]\n[certmap/A]\n[prompting/x]\n[custom]\n";
    assert_eq!(
        parse(text).unwrap().unknown_sections(),
        vec![
            "domian/B",
            "domain/",
            "domain/a@b",
            "certmap/A",
            "prompting/x",
            "custom"
        ]
    );
}

#[test]
fn debug_output_redacts_secrets() {
    let cfg = parse("[domain/D]\nldap_default_authtok = hunter2\nldap_uri = ldap://x\n").unwrap();
    let shown = format!("{cfg:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("ldap://x"), "{shown}");
}

// ---- loading from disk ----

fn write(path: &std::path::Path, text: &str, mode: u32) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

struct Dir {
    _tmp: tempfile::TempDir,
    main: PathBuf,
    snippets: PathBuf,
}

fn dir() -> Dir {
    let tmp = tempfile::tempdir().unwrap();
    let main = tmp.path().join("sssd.conf");
    let snippets = tmp.path().join("conf.d");
    fs::create_dir(&snippets).unwrap();
    Dir {
        _tmp: tmp,
        main,
        snippets,
    }
}

#[test]
fn load_merges_snippets_in_name_order_ignoring_dot_files() {
    let d = dir();
    write(
        &d.main,
        "[sssd]\ndomains = A\n[domain/A]\nid_provider = ldap\nx = main\n",
        0o600,
    );
    write(
        &d.snippets.join("20-b.conf"),
        "[domain/A]\nx = b\ny = b\n",
        0o600,
    );
    write(
        &d.snippets.join("10-a.conf"),
        "[domain/A]\nx = a\ny = a\nz = a\n",
        0o640,
    );
    write(
        &d.snippets.join(".hidden.conf"),
        "[domain/A]\nx = hidden\n",
        0o600,
    );
    write(
        &d.snippets.join("30-c.conf.bak"),
        "[domain/A]\nx = bak\n",
        0o600,
    );
    write(&d.snippets.join("notes.txt"), "garbage", 0o644);
    fs::create_dir(d.snippets.join("dir.conf")).unwrap();
    let cfg = Config::load(&d.main, Some(&d.snippets)).unwrap();
    assert_eq!(cfg.get("domain/A", "x"), Some("b"));
    assert_eq!(cfg.get("domain/A", "y"), Some("b"));
    assert_eq!(cfg.get("domain/A", "z"), Some("a"));
    let names: Vec<String> = cfg
        .files()
        .iter()
        .map(|f| f.rsplit('/').next().unwrap().to_string())
        .collect();
    assert_eq!(names, vec!["sssd.conf", "10-a.conf", "20-b.conf"]);
    // Without a snippet directory only the main file counts.
    let cfg = Config::load(&d.main, None).unwrap();
    assert_eq!(cfg.get("domain/A", "x"), Some("main"));
}

#[test]
fn load_reports_syntax_errors_in_snippets_with_their_path() {
    let d = dir();
    write(
        &d.main,
        "[sssd]\ndomains = A\n[domain/A]\nid_provider = ldap\n",
        0o600,
    );
    let bad = d.snippets.join("bad.conf");
    write(&bad, "[nss]\n  ; indented\n", 0o600);
    match Config::load(&d.main, Some(&d.snippets)).unwrap_err() {
        ConfigError::Syntax { path, line, .. } => {
            assert_eq!(path, bad.display().to_string());
            assert_eq!(line, 2);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn load_rejects_world_readable_file() {
    let d = dir();
    write(
        &d.main,
        "[sssd]\ndomains = A\n[domain/A]\nid_provider = ldap\n",
        0o644,
    );
    let err = Config::load(&d.main, None).unwrap_err();
    assert!(matches!(err, ConfigError::Permission { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&d.main.display().to_string()), "{text}");
    assert!(text.contains("0644"), "{text}");
}

#[test]
fn load_skips_a_world_readable_snippet_and_says_why() {
    let d = dir();
    write(
        &d.main,
        "[sssd]\ndomains = A\n[domain/A]\nid_provider = ldap\n",
        0o600,
    );
    let snip = d.snippets.join("a.conf");
    write(&snip, "[nss]\nfilter_users = alice\n", 0o604);
    write(
        &d.snippets.join("b.conf"),
        "[nss]\nfilter_groups = staff\n",
        0o600,
    );
    let cfg = Config::load(&d.main, Some(&d.snippets)).unwrap();
    assert_eq!(cfg.get("nss", "filter_users"), None);
    assert_eq!(cfg.get("nss", "filter_groups"), Some("staff"));
    let skipped = cfg.skipped_snippets();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(skipped[0].0, snip.display().to_string());
    assert!(skipped[0].1.contains("0604"), "{skipped:?}");
    // The main file is not skipped: it stops the load.
    write(&d.main, "[sssd]\ndomains = A\n", 0o604);
    let text = Config::load(&d.main, Some(&d.snippets))
        .unwrap_err()
        .to_string();
    assert!(
        text.contains(&d.main.display().to_string()) && text.contains("0604"),
        "{text}"
    );
}

#[test]
fn load_rejects_non_root_owner() {
    let d = dir();
    write(
        &d.main,
        "[sssd]\ndomains = A\n[domain/A]\nid_provider = ldap\n",
        0o600,
    );
    if nix::unistd::geteuid().is_root() {
        std::os::unix::fs::chown(&d.main, Some(1234), Some(0)).unwrap();
        let text = Config::load(&d.main, None).unwrap_err().to_string();
        assert!(text.contains("uid 1234") && text.contains("0600"), "{text}");
        std::os::unix::fs::chown(&d.main, Some(0), Some(4321)).unwrap();
        let text = Config::load(&d.main, None).unwrap_err().to_string();
        assert!(text.contains("gid 4321"), "{text}");
    } else {
        // Not root: the file is owned by us, which is not root either.
        assert!(matches!(
            Config::load(&d.main, None).unwrap_err(),
            ConfigError::Permission { .. }
        ));
    }
}

#[test]
fn missing_main_file_is_an_error_unless_snippets_configure_a_domain() {
    let d = dir();
    let err = Config::load(&d.main, Some(&d.snippets)).unwrap_err();
    assert!(
        err.to_string().contains(&d.main.display().to_string()),
        "{err}"
    );
    assert!(matches!(err, ConfigError::Io { .. }));
    write(
        &d.snippets.join("a.conf"),
        "[domain/A]\nid_provider = ldap\nenabled = true\n",
        0o600,
    );
    let cfg = Config::load(&d.main, Some(&d.snippets)).unwrap();
    assert_eq!(cfg.domains().unwrap(), vec!["A"]);
    assert!(Config::load(&d.main, None).is_err());
}

#[test]
fn missing_snippet_directory_is_fine() {
    let d = dir();
    write(
        &d.main,
        "[sssd]\ndomains = A\n[domain/A]\nid_provider = ldap\n",
        0o640,
    );
    let cfg = Config::load(&d.main, Some(&d.snippets.join("nope"))).unwrap();
    assert_eq!(cfg.domains().unwrap(), vec!["A"]);
}

#[test]
fn snippet_name_rule() {
    use super::load::is_snippet_name;
    assert!(is_snippet_name("a.conf"));
    assert!(is_snippet_name("01-ldap.conf"));
    assert!(!is_snippet_name(".conf"));
    assert!(!is_snippet_name(".a.conf"));
    assert!(!is_snippet_name("a.conf~"));
    assert!(!is_snippet_name("a.CONF"));
}
