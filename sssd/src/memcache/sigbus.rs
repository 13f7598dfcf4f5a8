//! Surviving a map file shrunk under `sssd_nss`.
//!
//! Root can truncate `/var/lib/sss/mc/passwd` at any moment; the next access of the
//! responder to a page past the new end of its mapping raises SIGBUS, which would kill the
//! responder (and a few such restarts stop the whole daemon). The health check before each
//! batch of writes narrows the window but cannot close it. So `sssd_nss` installs a SIGBUS
//! handler ([`install`]): a fault inside a registered mapping replaces that mapping with
//! anonymous memory at the same address (the faulting access then completes, harmlessly, on
//! a private zero page) and marks it; the map's next health check sees the mark and
//! recreates the file. A SIGBUS anywhere else gets the default action back and kills the
//! process as it would have without us.

use std::io;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// How many mappings can be guarded at once (three maps, recreated one at a time).
const SLOTS: usize = 8;

struct Slot {
    base: AtomicUsize,
    len: AtomicUsize,
    faulted: AtomicBool,
}

#[allow(clippy::declare_interior_mutable_const)] // only used to initialise the array
const EMPTY: Slot = Slot {
    base: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
    faulted: AtomicBool::new(false),
};

static SLOTS_IN_USE: [Slot; SLOTS] = [EMPTY; SLOTS];

extern "C" fn on_sigbus(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // Only async-signal-safe work here: atomics and mmap/sigaction system calls.
    // SAFETY: the kernel passes a valid siginfo_t for an SA_SIGINFO handler.
    let addr = unsafe { info.as_ref() }.map_or(0, |i| unsafe { i.si_addr() } as usize);
    for s in &SLOTS_IN_USE {
        let base = s.base.load(Ordering::SeqCst);
        let len = s.len.load(Ordering::SeqCst);
        if base != 0 && addr >= base && addr - base < len {
            // SAFETY: replaces our own mapping [base, base + len) in place; nothing else
            // lives there while the slot is registered.
            let p = unsafe {
                libc::mmap(
                    base as *mut libc::c_void,
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_FIXED | libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            if p != libc::MAP_FAILED {
                s.faulted.store(true, Ordering::SeqCst);
                return;
            }
        }
    }
    // Not one of ours (or it could not be replaced): the default action on return, when the
    // access faults again.
    // SAFETY: resetting a signal disposition is async-signal-safe.
    unsafe { libc::signal(libc::SIGBUS, libc::SIG_DFL) };
}

/// Installs the SIGBUS handler (once per process; `sssd_nss` calls it at start).
pub fn install() -> io::Result<()> {
    static ONCE: Once = Once::new();
    let mut res = Ok(());
    ONCE.call_once(|| {
        // SAFETY: a zeroed sigaction is valid; the handler and flags are set below.
        let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
        sa.sa_sigaction = on_sigbus as *const () as libc::sighandler_t;
        sa.sa_flags = libc::SA_SIGINFO;
        // SAFETY: an empty mask for a valid sigaction; installing a handler for SIGBUS.
        let rc = unsafe {
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(libc::SIGBUS, &sa, std::ptr::null_mut())
        };
        if rc != 0 {
            res = Err(io::Error::last_os_error());
        }
    });
    res
}

/// A mapping registered with the handler; unregistered on drop (before it is unmapped).
#[derive(Debug)]
pub struct Guard {
    slot: Option<usize>,
}

impl Guard {
    /// Registers `[base, base + len)`. With every slot taken the mapping is simply not
    /// guarded (a fault then kills the process, as without the handler).
    pub fn register(base: *mut u8, len: usize) -> Guard {
        for (i, s) in SLOTS_IN_USE.iter().enumerate() {
            if s.len
                .compare_exchange(0, len, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                s.faulted.store(false, Ordering::SeqCst);
                s.base.store(base as usize, Ordering::SeqCst);
                return Guard { slot: Some(i) };
            }
        }
        tracing::warn!("no SIGBUS guard slot left for a memory-cache mapping");
        Guard { slot: None }
    }

    /// Whether an access faulted and the mapping was replaced by anonymous memory (what is
    /// written to it no longer reaches the file).
    pub fn faulted(&self) -> bool {
        self.slot
            .and_then(|i| SLOTS_IN_USE.get(i))
            .is_some_and(|s| s.faulted.load(Ordering::SeqCst))
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(s) = self.slot.and_then(|i| SLOTS_IN_USE.get(i)) {
            s.base.store(0, Ordering::SeqCst);
            s.faulted.store(false, Ordering::SeqCst);
            s.len.store(0, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    /// A write past the end of a shrunk file's mapping does not kill the process: the
    /// mapping is swapped for anonymous memory and the guard reports it.
    #[test]
    fn a_fault_in_a_guarded_mapping_is_survived() {
        install().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(dir.path().join("map"))
            .unwrap();
        let len = 4 * 4096;
        f.set_len(len as u64).unwrap();
        // SAFETY: a shared mapping of a file sized to `len`.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                f.as_raw_fd(),
                0,
            )
        }
        .cast::<u8>();
        assert_ne!(base.cast(), libc::MAP_FAILED);
        let guard = Guard::register(base, len);
        // SAFETY: within the mapping.
        unsafe { base.add(len - 1).write_volatile(1) };
        assert!(!guard.faulted());
        f.set_len(4096).unwrap();
        // SAFETY: within the mapping; the page is past the file's end now (SIGBUS).
        unsafe { base.add(len - 1).write_volatile(2) };
        assert!(guard.faulted());
        // SAFETY: now anonymous memory, still ours.
        assert_eq!(unsafe { base.add(len - 1).read_volatile() }, 2);
        drop(guard);
        // SAFETY: unmapping our own mapping.
        unsafe { libc::munmap(base.cast(), len) };
    }
}
