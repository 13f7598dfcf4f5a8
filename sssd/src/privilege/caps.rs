//! Linux capability sets through the raw system calls (`capget`, `capset`, `prctl`): no
//! libcap needed at run time.

use super::PrivilegeError;

/// One capability, by its kernel number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capability(pub u8);

impl Capability {
    /// `CAP_CHOWN`.
    pub const CHOWN: Capability = Capability(0);
    /// `CAP_DAC_OVERRIDE`.
    pub const DAC_OVERRIDE: Capability = Capability(1);
    /// `CAP_DAC_READ_SEARCH`.
    pub const DAC_READ_SEARCH: Capability = Capability(2);
    /// `CAP_SETGID`.
    pub const SETGID: Capability = Capability(6);
    /// `CAP_SETUID`.
    pub const SETUID: Capability = Capability(7);
    /// `CAP_SETPCAP`.
    pub const SETPCAP: Capability = Capability(8);
}

/// A set of capabilities as the kernel's 64-bit mask (bit N = capability N), the form
/// `/proc/PID/status` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CapSet(pub u64);

impl CapSet {
    /// No capability.
    pub const EMPTY: CapSet = CapSet(0);

    /// This set plus `cap`.
    pub const fn with(self, cap: Capability) -> CapSet {
        CapSet(self.0 | (1u64 << cap.0))
    }

    /// Whether `cap` is in the set.
    pub const fn contains(self, cap: Capability) -> bool {
        self.0 & (1u64 << cap.0) != 0
    }

    /// The capabilities in both sets.
    pub const fn intersect(self, other: CapSet) -> CapSet {
        CapSet(self.0 & other.0)
    }
}

/// A thread's effective, permitted and inheritable sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProcessCaps {
    /// What the kernel checks.
    pub effective: CapSet,
    /// What the thread may make effective.
    pub permitted: CapSet,
    /// What survives exec (with matching file inheritable bits).
    pub inheritable: CapSet,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

fn caps_err(what: impl Into<String>) -> PrivilegeError {
    PrivilegeError::Caps {
        what: what.into(),
        source: std::io::Error::last_os_error(),
    }
}

fn join(lo: u32, hi: u32) -> CapSet {
    CapSet(u64::from(lo) | (u64::from(hi) << 32))
}

fn split(set: CapSet) -> (u32, u32) {
    // Truncation is the point: the low and the high word.
    (set.0 as u32, (set.0 >> 32) as u32)
}

/// The calling thread's effective, permitted and inheritable sets.
pub fn current() -> Result<ProcessCaps, PrivilegeError> {
    let mut header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: header and two data words, as _LINUX_CAPABILITY_VERSION_3 requires.
    let rc = unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) };
    if rc != 0 {
        return Err(caps_err("capget"));
    }
    Ok(ProcessCaps {
        effective: join(data[0].effective, data[1].effective),
        permitted: join(data[0].permitted, data[1].permitted),
        inheritable: join(data[0].inheritable, data[1].inheritable),
    })
}

/// Sets the calling thread's three sets (all threads must be changed: call this while the
/// process has one thread, or from every thread).
pub fn set(caps: ProcessCaps) -> Result<(), PrivilegeError> {
    let mut header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let (e0, e1) = split(caps.effective);
    let (p0, p1) = split(caps.permitted);
    let (i0, i1) = split(caps.inheritable);
    let data = [
        CapData {
            effective: e0,
            permitted: p0,
            inheritable: i0,
        },
        CapData {
            effective: e1,
            permitted: p1,
            inheritable: i1,
        },
    ];
    // SAFETY: header and two data words, as _LINUX_CAPABILITY_VERSION_3 requires.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) };
    if rc != 0 {
        return Err(caps_err(format!("capset({caps:?})")));
    }
    Ok(())
}

/// The capabilities still in the calling thread's bounding set (probing every number the
/// kernel knows).
pub fn bounding() -> CapSet {
    let mut set = CapSet::EMPTY;
    for n in 0..64u8 {
        // SAFETY: PR_CAPBSET_READ takes an integer and touches no memory.
        let rc = unsafe { libc::prctl(libc::PR_CAPBSET_READ, libc::c_ulong::from(n), 0, 0, 0) };
        if rc < 0 {
            break; // EINVAL: past the kernel's last capability
        }
        if rc == 1 {
            set = set.with(Capability(n));
        }
    }
    set
}

/// Removes every capability but `keep` from the bounding set. Needs `CAP_SETPCAP` unless
/// nothing is left to remove.
pub fn limit_bounding(keep: CapSet) -> Result<(), PrivilegeError> {
    let present = bounding();
    for n in 0..64u8 {
        let cap = Capability(n);
        if present.contains(cap) && !keep.contains(cap) {
            // SAFETY: PR_CAPBSET_DROP takes an integer and touches no memory.
            let rc = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(n), 0, 0, 0) };
            if rc != 0 {
                return Err(caps_err(format!(
                    "dropping capability {n} from the bounding set"
                )));
            }
        }
    }
    Ok(())
}

/// Empties the ambient set (a kernel without ambient capabilities has none to clear).
pub fn clear_ambient() -> Result<(), PrivilegeError> {
    // SAFETY: integers only.
    let rc = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    if rc != 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINVAL) {
        return Err(caps_err("clearing the ambient set"));
    }
    Ok(())
}

/// Sets `no_new_privs`: no exec from now on gains privileges (setuid bits and file
/// capabilities are ignored). It cannot be unset.
pub fn set_no_new_privs() -> Result<(), PrivilegeError> {
    // SAFETY: integers only.
    let rc = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    if rc != 0 {
        return Err(caps_err("setting no_new_privs"));
    }
    Ok(())
}

/// Cuts the bounding set to `bounding`, the permitted set to `permitted` (what it already
/// holds of it), empties the effective, inheritable and ambient sets, and sets
/// `no_new_privs` when asked. Then checks the result.
pub fn limit(
    bounding_keep: CapSet,
    permitted: CapSet,
    no_new_privs: bool,
) -> Result<(), PrivilegeError> {
    limit_bounding(bounding_keep)?;
    clear_ambient()?;
    let now = current()?;
    let wanted = ProcessCaps {
        effective: CapSet::EMPTY,
        permitted: now.permitted.intersect(permitted),
        inheritable: CapSet::EMPTY,
    };
    set(wanted)?;
    if no_new_privs {
        set_no_new_privs()?;
    }
    let after = current()?;
    let bset = bounding();
    if after != wanted || bset.0 & !bounding_keep.0 != 0 {
        return Err(PrivilegeError::Caps {
            what: format!(
                "capabilities after dropping: {after:?}, bounding {bset:?} (wanted {wanted:?}, \
                 bounding within {bounding_keep:?})"
            ),
            source: std::io::Error::from_raw_os_error(libc::EPERM),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_and_words() {
        let s = CapSet::EMPTY
            .with(Capability::DAC_READ_SEARCH)
            .with(Capability::SETUID)
            .with(Capability(40));
        assert!(s.contains(Capability::SETUID));
        assert!(!s.contains(Capability::SETGID));
        assert_eq!(split(s), (0x84, 1 << 8));
        assert_eq!(join(0x84, 1 << 8), s);
        assert_eq!(super::super::HELPER_CAPS, CapSet(0xc4));
    }

    #[test]
    fn reads_own_sets() {
        let now = current().unwrap();
        // Whatever we run as, the effective set is within the permitted set and both within
        // the bounding set.
        assert_eq!(now.effective.0 & !now.permitted.0, 0);
        assert_eq!(now.permitted.0 & !bounding().0, 0);
        assert!(bounding().0 != 0 || now.permitted.0 == 0);
    }
}
