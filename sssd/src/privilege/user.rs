//! The `[sssd] user` the children run as: looking it up (monitor) and becoming it for good
//! (children).

use super::{CapSet, PrivilegeError, caps};

/// The user and group a child runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunAs {
    /// The uid.
    pub uid: u32,
    /// The user's primary gid.
    pub gid: u32,
}

impl RunAs {
    /// Root: the children stay root (and still drop their capabilities).
    pub const ROOT: RunAs = RunAs { uid: 0, gid: 0 };

    /// Looks `user` up (a name, or a number as SSSD accepts) through NSS.
    pub fn lookup(user: &str) -> Result<RunAs, PrivilegeError> {
        let unknown = || PrivilegeError::UnknownUser(user.to_string());
        let found = match user.parse::<u32>() {
            Ok(uid) => nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)),
            Err(_) => nix::unistd::User::from_name(user),
        };
        let u = found.ok().flatten().ok_or_else(unknown)?;
        Ok(RunAs {
            uid: u.uid.as_raw(),
            gid: u.gid.as_raw(),
        })
    }

    /// Whether this is root.
    pub fn is_root(&self) -> bool {
        self.uid == 0
    }
}

/// Makes the calling thread `who` for good: the bounding set is first cut to
/// `keep_bounding` (while the thread still holds `CAP_SETPCAP`), then supplementary groups
/// are dropped and the real, effective and saved gid and uid set. Changing from uid 0 to
/// another uid empties the permitted and effective sets; this checks that they are empty
/// and that root cannot be regained. Nothing happens for root (its capabilities are
/// dropped later, once it is set up) nor for a thread that already is `who`.
///
/// The system calls are made directly, for this thread only (glibc's wrappers would change
/// every thread at once, before the others could cut their own bounding sets): call it
/// while the process has one thread, or through [`super::drop_responder`], which has every
/// thread do it.
pub fn become_user(who: RunAs, keep_bounding: CapSet) -> Result<(), PrivilegeError> {
    if who.is_root() {
        return Ok(());
    }
    let err = |source| PrivilegeError::BecomeUser {
        uid: who.uid,
        gid: who.gid,
        source,
    };
    // SAFETY: getuid/geteuid have no preconditions.
    if unsafe { (libc::getuid(), libc::geteuid()) } == (who.uid, who.uid) {
        return Ok(());
    }
    caps::limit_bounding(keep_bounding)?;
    let (uid, gid) = (libc::c_long::from(who.uid), libc::c_long::from(who.gid));
    // SAFETY: raw system calls on this thread; setgroups gets a NULL list with a count of 0.
    unsafe {
        if libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()) != 0
            || libc::syscall(libc::SYS_setresgid, gid, gid, gid) != 0
            || libc::syscall(libc::SYS_setresuid, uid, uid, uid) != 0
        {
            return Err(err(std::io::Error::last_os_error()));
        }
        if libc::syscall(libc::SYS_setresuid, 0, 0, 0) == 0 || libc::geteuid() != who.uid {
            return Err(err(std::io::Error::from_raw_os_error(libc::EPERM)));
        }
    }
    caps::clear_ambient()?;
    let after = caps::current()?;
    if after.permitted != CapSet::EMPTY || after.effective != CapSet::EMPTY {
        return Err(err(std::io::Error::other(format!(
            "capabilities left after the change: {after:?}"
        ))));
    }
    Ok(())
}
