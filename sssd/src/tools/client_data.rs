//! `sssctl cache-remove`, `client-data-backup` and `client-data-restore`: the local data
//! (the overrides of `sss_override`) is exported to `/var/lib/sss/backup` before the cache
//! is removed and imported again after, with SSSD's options, prompts and messages.
//!
//! These commands are interactive (they ask before stopping or starting the daemon, and run
//! `sss_override`), so they print as they go rather than into the returned [`Outcome`].

use super::service;
use super::sss_cache::{Context, Outcome};
use super::sssctl::{EXIT_FAILURE, fail};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The backup of the user overrides.
const USER_BACKUP: &str = "sssd_user_overrides.bak";
/// The backup of the group overrides.
const GROUP_BACKUP: &str = "sssd_group_overrides.bak";

/// `/var/lib/sss/backup`, beside the cache directory.
fn backup_dir(ctx: &Context<'_>) -> PathBuf {
    ctx.paths
        .db
        .parent()
        .unwrap_or(Path::new("/var/lib/sss"))
        .join("backup")
}

/// Reads SSSD's flags: each of `known` is `(short, long)`; returns which were given.
fn flags<const N: usize>(
    args: &[String],
    command: &str,
    known: [(&str, &str); N],
) -> Result<[bool; N], Outcome> {
    let mut seen = [false; N];
    for a in args {
        match known.iter().position(|(s, l)| a == s || a == l) {
            Some(i) => seen[i] = true,
            None => {
                let mut usage = format!("Usage: sssctl {command} [OPTIONS]\n");
                for (s, l) in known {
                    usage.push_str(&format!("  {s}, {l}\n"));
                }
                return Err(Outcome {
                    code: EXIT_FAILURE,
                    stdout: String::new(),
                    stderr: format!("{command}: unknown option {a}\n{usage}"),
                });
            }
        }
    }
    Ok(seen)
}

/// Runs `sss_override VERB FILE`, its output going to ours.
fn run_override(verb: &str, file: &Path) -> bool {
    Command::new(service::sibling_binary("sss_override"))
        .arg(verb)
        .arg(file)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// What a backup attempt came to.
enum Backup {
    Written,
    /// A backup exists and the administrator chose to keep it.
    Kept,
    Failed(String),
}

fn backup(ctx: &Context<'_>, replace: bool) -> Backup {
    let dir = backup_dir(ctx);
    if let Err(e) = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
    {
        return Backup::Failed(format!(
            "Unable to create backup directory {}: {e}\n",
            dir.display()
        ));
    }
    let (users, groups) = (dir.join(USER_BACKUP), dir.join(GROUP_BACKUP));
    if (users.exists() || groups.exists())
        && !replace
        && !service::ask("SSSD backup of local data already exists, override?", false)
    {
        return Backup::Kept;
    }
    if !run_override("user-export", &users) {
        return Backup::Failed("Unable to export user overrides\n".into());
    }
    if !run_override("group-export", &groups) {
        return Backup::Failed("Unable to export group overrides\n".into());
    }
    Backup::Written
}

/// `client-data-backup [-o|--override]`.
pub fn client_data_backup(ctx: &Context<'_>, args: &[String]) -> Outcome {
    let [replace] = match flags(args, "client-data-backup", [("-o", "--override")]) {
        Ok(f) => f,
        Err(out) => return out,
    };
    match backup(ctx, replace) {
        Backup::Written | Backup::Kept => Outcome::default(),
        Backup::Failed(why) => fail(why),
    }
}

/// Makes sure the daemon runs, asking first unless `start`; false when it does not.
fn ensure_running(ctx: &Context<'_>, start: bool) -> Result<(), String> {
    if service::running(ctx.paths, ctx.proc_root) {
        return Ok(());
    }
    if !start && !service::ask("SSSD needs to be running. Start SSSD now?", true) {
        return Err("SSSD is not running.\n".into());
    }
    service::start(ctx.paths, ctx.proc_root).map_err(|e| format!("Unable to start SSSD! {e}\n"))
}

fn restore(ctx: &Context<'_>, start: bool, restart: bool) -> Outcome {
    if let Err(why) = ensure_running(ctx, start) {
        return fail(why);
    }
    let dir = backup_dir(ctx);
    for (file, verb, what) in [
        (USER_BACKUP, "user-import", "user"),
        (GROUP_BACKUP, "group-import", "group"),
    ] {
        let path = dir.join(file);
        if path.exists() && !run_override(verb, &path) {
            return fail(format!("Unable to import {what} overrides\n"));
        }
    }
    // Overrides are read by the responders on the next lookup; a restart is only on request,
    // as SSSD asks for one.
    if (restart || service::ask("SSSD needs to be restarted. Restart SSSD now?", true))
        && let Err(e) = service::restart(ctx.paths, ctx.proc_root)
    {
        return fail(format!("Unable to restart SSSD! {e}\n"));
    }
    Outcome::default()
}

/// `client-data-restore [-s|--start] [-r|--restart]`.
pub fn client_data_restore(ctx: &Context<'_>, args: &[String]) -> Outcome {
    match flags(
        args,
        "client-data-restore",
        [("-s", "--start"), ("-r", "--restart")],
    ) {
        Ok([start, restart]) => restore(ctx, start, restart),
        Err(out) => out,
    }
}

/// Removes everything under `dir`, keeping `dir` itself.
fn remove_contents(dir: &Path) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// `cache-remove [-o|--override] [-r|--restore] [-p|--stop] [-s|--start]`: refuses while
/// the daemon runs unless allowed to stop it, backs up the local data, empties the cache
/// directory, then restores the data or only starts the daemon, as asked.
pub fn cache_remove(ctx: &Context<'_>, args: &[String]) -> Outcome {
    let [replace, restore_after, stop, start] = match flags(
        args,
        "cache-remove",
        [
            ("-o", "--override"),
            ("-r", "--restore"),
            ("-p", "--stop"),
            ("-s", "--start"),
        ],
    ) {
        Ok(f) => f,
        Err(out) => return out,
    };
    if service::running(ctx.paths, ctx.proc_root) {
        let stopped = (stop || service::ask("SSSD must not be running. Stop SSSD now?", true))
            && match service::stop(ctx.paths, ctx.proc_root) {
                Ok(()) => true,
                Err(e) => {
                    eprintln!("Unable to stop SSSD! {e}");
                    false
                }
            };
        if !stopped {
            return fail("Unable to remove the cache unless SSSD is stopped.\n".into());
        }
    }
    println!("Creating backup of local data...");
    match backup(ctx, replace) {
        Backup::Written | Backup::Kept => {}
        Backup::Failed(why) => {
            return fail(format!(
                "{why}Unable to create backup of local data, can not remove the cache.\n"
            ));
        }
    }
    println!("Removing cache files...");
    if let Err(e) = remove_contents(&ctx.paths.db) {
        return fail(format!(
            "Unable to remove cache files in {}: {e}\n",
            ctx.paths.db.display()
        ));
    }
    if restore_after {
        println!("Restoring local data...");
        return restore(ctx, start, start);
    }
    if (start || service::ask("SSSD needs to be running. Start SSSD now?", true))
        && let Err(e) = service::start(ctx.paths, ctx.proc_root)
    {
        return fail(format!("Unable to start SSSD! {e}\n"));
    }
    Outcome::default()
}
