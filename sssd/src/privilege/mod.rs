//! Least privilege for the daemon tree: the `[sssd] user` the children run as, and the
//! capabilities each process keeps once it is set up.
//!
//! - The monitor stays root (it hosts the bus, restarts children and owns the pidfile). With
//!   `[sssd] user`, it hands the cache, log, pipes and memory-cache directories to that user
//!   ([`ownership`]) and starts every child with `--uid N --gid N`, as SSSD 2.8 does.
//! - A child reads the configuration as root, then becomes that user for good ([`user`]):
//!   supplementary groups dropped, real, effective and saved ids changed, the bounding set
//!   cut down to what its helpers need first. `sssd_pam` does so only after binding its
//!   sockets, as SSSD 2.8's does: pam_sss trusts only root-owned sockets served by root.
//! - A responder, once its sockets are bound and its caches open, keeps no capability at
//!   all and sets `no_new_privs` ([`drop_responder`]), whatever its user.
//! - A backend keeps only the bounding set its helpers need ([`HELPER_CAPS`]): as root also
//!   in its permitted set (never effective), with `no_new_privs`; as an ordinary user with
//!   nothing permitted and without `no_new_privs`, so the helpers' file capabilities apply
//!   ([`drop_backend`]).

pub mod caps;
pub mod ownership;
pub mod user;

pub use caps::{CapSet, Capability};

use thiserror::Error;

/// What `krb5_child` and `ldap_child` need: read a keytab whatever its owner
/// (`CAP_DAC_READ_SEARCH`), and become the user whose ccache they write (`CAP_SETUID`,
/// `CAP_SETGID`, the latter also for dropping supplementary groups).
pub const HELPER_CAPS: CapSet = CapSet::EMPTY
    .with(Capability::DAC_READ_SEARCH)
    .with(Capability::SETUID)
    .with(Capability::SETGID);

/// Why privileges could not be changed.
#[derive(Debug, Error)]
pub enum PrivilegeError {
    /// A capability call failed.
    #[error("{what}: {source}")]
    Caps {
        /// What was being done.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Becoming the configured user failed.
    #[error("cannot become uid {uid} gid {gid}: {source}")]
    BecomeUser {
        /// Target uid.
        uid: u32,
        /// Target gid.
        gid: u32,
        /// The underlying error.
        source: std::io::Error,
    },
    /// `[sssd] user` names no user.
    #[error("[sssd] user = {0}: no such user")]
    UnknownUser(String),
    /// Handing a file to the configured user failed.
    #[error("cannot give {path} to uid {uid} gid {gid}: {source}")]
    Chown {
        /// The file.
        path: String,
        /// Target uid.
        uid: u32,
        /// Target gid.
        gid: u32,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// The state every thread of this process must reach, once [`drop_responder`] or
/// [`drop_backend`] ran: capabilities are per thread, so a thread that existed before (the
/// watchdog) applies it itself through [`follow`]; threads started later inherit it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Target {
    run_as: Option<user::RunAs>,
    bounding: CapSet,
    permitted: CapSet,
    no_new_privs: bool,
}

static TARGET: std::sync::OnceLock<Target> = std::sync::OnceLock::new();

thread_local! {
    static APPLIED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Long-lived threads started before the drop, woken to [`follow`] it.
static FOLLOWERS: std::sync::Mutex<Vec<std::thread::Thread>> = std::sync::Mutex::new(Vec::new());

fn apply(target: Target) -> Result<(), PrivilegeError> {
    let _ = TARGET.set(target);
    if let Some(who) = target.run_as {
        user::become_user(who, target.bounding)?;
    }
    caps::limit(target.bounding, target.permitted, target.no_new_privs)?;
    APPLIED.with(|a| a.set(true));
    if let Ok(followers) = FOLLOWERS.lock() {
        followers.iter().for_each(std::thread::Thread::unpark);
    }
    Ok(())
}

/// Registers the calling thread as one that parks (`std::thread::park_timeout`) and calls
/// [`follow`] each time it wakes: the drop unparks it.
pub fn register_follower() {
    if let Ok(mut followers) = FOLLOWERS.lock() {
        followers.push(std::thread::current());
    }
}

/// Applies the process's dropped state to the calling thread if it has not yet (a no-op
/// before the process dropped anything). Threads created before the drop call it.
pub fn follow() -> Result<(), PrivilegeError> {
    match TARGET.get() {
        Some(t) if !APPLIED.with(|a| a.get()) => apply(*t),
        _ => Ok(()),
    }
}

/// Runs `f` on a thread of its own that ends with it, and waits for its result without
/// blocking the event loop. For start-up work done before the drop: unlike the runtime's
/// blocking pool, no thread is left behind holding the capabilities the process drops.
pub async fn startup_thread<T, F>(what: &str, f: F) -> std::io::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    let handle = std::thread::Builder::new()
        .name(format!("startup: {what}"))
        .spawn(move || {
            let _ = tx.send(f());
        })?;
    let result = rx
        .await
        .map_err(|_| std::io::Error::other(format!("start-up thread for {what} failed")));
    let _ = handle.join();
    result
}

/// A responder's final state once its sockets are bound and its caches open: `run_as` (if
/// the responder is not that user yet: the PAM responder binds as root), no capability in
/// any set (bounding, permitted, effective, inheritable, ambient) and `no_new_privs`.
/// Works for root (which still holds `CAP_SETPCAP` here) and for a responder that became
/// an ordinary user at start (whose bounding set was emptied before it changed user).
pub fn drop_responder(run_as: Option<user::RunAs>) -> Result<(), PrivilegeError> {
    apply(Target {
        run_as,
        bounding: CapSet::EMPTY,
        permitted: CapSet::EMPTY,
        no_new_privs: true,
    })
}

/// A backend's final state once its cache and sockets are open: the bounding set cut to
/// [`HELPER_CAPS`]. As root, the permitted set keeps them too (the effective set is empty)
/// and `no_new_privs` is set: a helper it starts gets exactly those. As an ordinary user
/// nothing is permitted and `no_new_privs` stays off, because the helpers gain their
/// capabilities from their file capabilities, which `no_new_privs` would ignore.
pub fn drop_backend() -> Result<(), PrivilegeError> {
    let root = caps::current()?.permitted.contains(Capability::SETUID);
    apply(Target {
        run_as: None,
        bounding: HELPER_CAPS,
        permitted: if root { HELPER_CAPS } else { CapSet::EMPTY },
        no_new_privs: root,
    })
}
