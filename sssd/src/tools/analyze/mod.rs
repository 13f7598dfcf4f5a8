//! `sssctl analyze`: SSSD 2.8's log analyzer over the log files.
//!
//! ```text
//! sssctl analyze [--source files] [--logdir DIR] request list [-v|--verbose] [--pam]
//! sssctl analyze [--source files] [--logdir DIR] request show [--merge] [--pam] [--child] CID
//! ```
//!
//! `request list` names the client connections of the NSS (or PAM) responder, `request
//! show` prints the lines of one connection from the responder's log and the backends'
//! lines for its requests (see [`request`]). The journal (`--source journald`) is not read.

pub mod files;
pub mod line;
pub mod request;

use super::sss_cache::{Context, Outcome};
use super::sssctl::fail;
use files::Responder;
use std::path::PathBuf;

/// `sssctl analyze --help`.
const USAGE: &str = "\
Usage: sssctl analyze [-h] [--source {files,journald}] [--logdir LOGDIR] COMMANDS ...

Analyzer tool to assist with SSSD log parsing

Options:
  -h, --help            show this help message and exit
  --source {files,journald}
                        where the logs are read from (only files is supported)
  --logdir LOGDIR       SSSD Log directory to parse log files from

Modules:
  request               Request tracking
";

/// `sssctl analyze request --help`.
const REQUEST_USAGE: &str = "\
Usage: sssctl analyze request [-h] COMMANDS ...

Analyze request tracking module

Operation Modes:
  list         List recent requests
  show         Track individual request ID
";

/// `sssctl analyze request list --help`.
const LIST_USAGE: &str = "\
Usage: sssctl analyze request list [-h] [--verbose] [--pam]

Options:
  -h, --help     show this help message and exit
  --verbose, -v  Verbose output
  --pam          Filter only PAM requests
";

/// `sssctl analyze request show --help`.
const SHOW_USAGE: &str = "\
Usage: sssctl analyze request show [-h] [--child] [--merge] [--pam] cid

Positional arguments:
  cid         Track request with this ID

Options:
  -h, --help  show this help message and exit
  --child     Include child process logs
  --merge     Merge logs together sorted by timestamp
  --pam       Track only PAM requests
";

/// A successful command printing `stdout`.
fn ok(stdout: String) -> Outcome {
    Outcome {
        stdout,
        ..Outcome::default()
    }
}

/// Runs `sssctl analyze ARGS` (the arguments after `analyze`) in `ctx`.
pub fn run(ctx: &Context<'_>, args: &[String]) -> Outcome {
    let mut logdir = ctx.paths.log.clone();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        match flag {
            "-h" | "--help" | "-?" => return ok(USAGE.to_string()),
            "--logdir" | "--source" => {
                let Some(value) = inline.or_else(|| it.next().cloned()) else {
                    return fail(format!("analyze: {flag} needs a value\n\n{USAGE}"));
                };
                if flag == "--logdir" {
                    logdir = PathBuf::from(value);
                } else if value == "journald" {
                    return fail(
                        "analyze: --source journald is not supported: the analyzer reads \
                         the log files (--source files, --logdir DIR)\n"
                            .to_string(),
                    );
                } else if value != "files" {
                    return fail(format!(
                        "analyze: --source: invalid choice: '{value}' (choose from 'files', \
                         'journald')\n"
                    ));
                }
            }
            "request" => {
                let rest: Vec<String> = it.cloned().collect();
                return request_command(&logdir, &rest);
            }
            other if other.starts_with('-') => {
                return fail(format!("analyze: unknown option {a}\n\n{USAGE}"));
            }
            other => return fail(format!("analyze: unknown module {other}\n\n{USAGE}")),
        }
    }
    // As SSSD's: no module prints the help.
    ok(USAGE.to_string())
}

/// `request list ...` or `request show ...`.
fn request_command(logdir: &std::path::Path, args: &[String]) -> Outcome {
    let Some((command, rest)) = args.split_first() else {
        return ok(REQUEST_USAGE.to_string());
    };
    match command.as_str() {
        "-h" | "--help" | "-?" => ok(REQUEST_USAGE.to_string()),
        "list" => list(logdir, rest),
        "show" => show(logdir, rest),
        other => fail(format!(
            "analyze request: unknown command {other}\n\n{REQUEST_USAGE}"
        )),
    }
}

/// `request list [--verbose] [--pam]`.
fn list(logdir: &std::path::Path, args: &[String]) -> Outcome {
    let mut verbose = false;
    let mut responder = Responder::Nss;
    for a in args {
        match a.as_str() {
            "-h" | "--help" | "-?" => return ok(LIST_USAGE.to_string()),
            "-v" | "--verbose" => verbose = true,
            "--pam" => responder = Responder::Pam,
            other => {
                return fail(format!(
                    "analyze request list: unexpected argument {other}\n\n{LIST_USAGE}"
                ));
            }
        }
    }
    let text = match files::responder_file(logdir, responder).and_then(|f| files::read(&f)) {
        Ok(t) => t,
        Err(e) => return fail(format!("{e}\n")),
    };
    ok(request::list(&text, verbose))
}

/// `request show [--child] [--merge] [--pam] CID`.
fn show(logdir: &std::path::Path, args: &[String]) -> Outcome {
    let mut child = false;
    let mut merge = false;
    let mut responder = Responder::Nss;
    let mut cid = None;
    for a in args {
        match a.as_str() {
            "-h" | "--help" | "-?" => return ok(SHOW_USAGE.to_string()),
            "--child" => child = true,
            "--merge" => merge = true,
            "--pam" => responder = Responder::Pam,
            other if other.starts_with('-') => {
                return fail(format!(
                    "analyze request show: unknown option {other}\n\n{SHOW_USAGE}"
                ));
            }
            other if cid.is_none() => match other.parse::<u64>() {
                Ok(n) => cid = Some(n),
                Err(_) => {
                    return fail(format!(
                        "analyze request show: argument cid: invalid int value: '{other}'\n"
                    ));
                }
            },
            other => {
                return fail(format!(
                    "analyze request show: unexpected argument {other}\n\n{SHOW_USAGE}"
                ));
            }
        }
    }
    let Some(cid) = cid else {
        return fail(format!(
            "analyze request show: the following arguments are required: cid\n\n{SHOW_USAGE}"
        ));
    };
    let track = || -> Result<request::Shown, files::LogsError> {
        let text = files::read(&files::responder_file(logdir, responder)?)?;
        let mut tracker = request::Tracker::new(cid, &text);
        for file in files::backend_files(logdir, child)? {
            tracker.add_backend(&files::read(&file)?);
        }
        Ok(tracker.finish())
    };
    let shown = match track() {
        Ok(s) => s,
        Err(e) => return fail(format!("{e}\n")),
    };
    if shown.is_empty() {
        return fail(format!("ID {cid} not found in logs!\n"));
    }
    ok(shown.render(merge))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::Paths;
    use crate::tools::sssctl::{EXIT_FAILURE, EXIT_OK};

    fn run_in(dir: &std::path::Path, args: &[&str]) -> Outcome {
        let paths = Paths::under(dir);
        let ctx = Context {
            paths: &paths,
            proc_root: std::path::Path::new("/proc"),
            uid: 0,
            program: "sssctl",
            systemd_offline: false,
            timing: Default::default(),
        };
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        run(&ctx, &args)
    }

    #[test]
    fn command_line() {
        let tmp = tempfile::tempdir().unwrap();
        let logs = tmp.path().join("logs");
        std::fs::create_dir(&logs).unwrap();
        std::fs::write(
            logs.join("sssd_nss.log"),
            "(2026-12-06 19:55:01): [nss] [c] (0x0400): [CID#1] Client [cmd getent][uid 0][pid 7][fd 3] connected!\n\
             (2026-12-06 19:55:01): [nss] [c] (0x0400): [CID#1] [RID#1] command 0x0011 from uid 0 pid Some(7)\n",
        )
        .unwrap();
        std::fs::write(
            logs.join("sssd_LDAP.log"),
            "(2026-12-06 19:55:01): [be[LDAP]] [i] (0x0400): [RID#1] getAccountInfo\n",
        )
        .unwrap();
        let dir = logs.to_str().unwrap();

        let out = run_in(tmp.path(), &["--logdir", dir, "request", "list"]);
        assert_eq!(out.code, EXIT_OK, "{out:?}");
        assert_eq!(out.stdout, "2026-12-06 19:55:01: [uid 0] CID #1: getent\n");

        let out = run_in(
            tmp.path(),
            &[&format!("--logdir={dir}"), "request", "show", "1"],
        );
        assert_eq!(out.code, EXIT_OK, "{out:?}");
        assert_eq!(out.stdout.lines().count(), 3, "{}", out.stdout);
        assert!(out.stdout.ends_with("[RID#1] getAccountInfo\n"));

        let out = run_in(
            tmp.path(),
            &["--logdir", dir, "request", "show", "--merge", "2"],
        );
        assert_eq!(out.code, EXIT_FAILURE);
        assert_eq!(out.stderr, "ID 2 not found in logs!\n");

        // The PAM responder never ran: nothing to list.
        let out = run_in(tmp.path(), &["--logdir", dir, "request", "list", "--pam"]);
        assert_eq!((out.code, out.stdout.as_str()), (EXIT_OK, ""));

        let out = run_in(
            tmp.path(),
            &["--logdir", "/nonexistent/logs", "request", "list"],
        );
        assert_eq!(out.code, EXIT_FAILURE);
        assert!(out.stderr.contains("/nonexistent/logs"), "{out:?}");

        let out = run_in(tmp.path(), &["--source", "journald", "request", "list"]);
        assert_eq!(out.code, EXIT_FAILURE);
        assert!(out.stderr.contains("journald"), "{out:?}");

        for bad in [
            &["request", "show", "x"][..],
            &["request", "show"],
            &["request", "list", "--nope"],
            &["request", "nope"],
            &["nope"],
        ] {
            assert_eq!(run_in(tmp.path(), bad).code, EXIT_FAILURE, "{bad:?}");
        }
        for help in [
            &[][..],
            &["--help"],
            &["request"],
            &["request", "show", "-h"],
        ] {
            let out = run_in(tmp.path(), help);
            assert_eq!(out.code, EXIT_OK, "{help:?}");
            assert!(out.stdout.starts_with("Usage: sssctl analyze"), "{help:?}");
        }
    }
}
