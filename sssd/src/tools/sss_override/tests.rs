//! Unit tests of `sss_override`.

use super::*;
use crate::overrides::{OverrideSet, UserOverride};
use crate::paths::Paths;
use crate::tools::sss_cache::memcache;
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

#[test]
fn ids_are_unsigned_32_bit_and_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::under(dir.path());
    let err = |a: &[&str]| {
        let o = run(&ctx(&paths, 0), &args(a));
        assert_eq!(o.code, 1, "{a:?}: {o:?}");
        o.stderr.lines().next().unwrap_or_default().to_string()
    };
    assert_eq!(
        err(&["user-add", "-u", "0", "alice"]),
        "Invalid option -u: invalid numeric value"
    );
    assert_eq!(
        err(&["user-add", "--gid=4294967296", "alice"]),
        "Invalid option --gid=4294967296: number too large or too small"
    );
    assert_eq!(
        err(&["group-add", "-g", "-1", "g"]),
        "Invalid option -g: number too large or too small"
    );
    // The largest id passes the option check (the lookup fails: no domain knows alice).
    assert_eq!(
        err(&["user-add", "-u", "4294967295", "nosuchuser_x"]),
        "Unable to find user nosuchuser_x@[unknown]."
    );
}

#[test]
fn usage_prints_the_brief_popt_usage() {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::under(dir.path());
    let o = run(&ctx(&paths, 1000), &args(&["group-add", "--usage"]));
    assert_eq!(o.code, 0, "{o:?}");
    assert_eq!(
        o.stdout,
        "Usage: [-?] [-n|--name=STRING] [-g|--gid=INT] [-?|--help] [--usage]\n        \
         sss_override group-add NAME [OPTIONS...]\n"
    );
    let o = run(&ctx(&paths, 1000), &args(&["user-find", "--help"]));
    assert_eq!(o.code, 0);
    assert!(
        o.stdout
            .contains("      --usage    Display brief usage message\n")
    );
}

#[test]
fn debug_level_shows_the_diagnostics_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::under(dir.path());
    std::fs::create_dir_all(&paths.db).unwrap();
    let bad = dir.path().join("bad");
    std::fs::write(&bad, "x@a:y\n").unwrap();
    let import = |extra: &[&str]| {
        let mut a = args(&["user-import", bad.to_str().unwrap()]);
        a.extend(args(extra));
        run(&ctx(&paths, 0), &a)
    };
    let quiet = import(&[]);
    assert_eq!(
        quiet.stderr,
        "Invalid format on line 1. Use --debug option for more information.\n"
    );
    let loud = import(&["--debug", "2"]);
    assert_eq!(loud.code, 1);
    let first = loud.stderr.lines().next().unwrap();
    assert!(
        first.starts_with("[sss_override] [sss_colondb_readline] (0x0020): "),
        "{loud:?}"
    );
    assert!(loud.stderr.ends_with(&quiet.stderr));
    let o = run(&ctx(&paths, 0), &args(&["user-find", "--debug=x"]));
    assert!(
        o.stderr
            .starts_with("Invalid option --debug=x: invalid numeric value\n"),
        "{o:?}"
    );
}
