//! `fd_limit`: the descriptor limit a responder raises itself to at start, as SSSD does
//! (8192 by default). With `CAP_SYS_RESOURCE` the value is absolute (soft and hard);
//! without, the soft limit goes as high as the hard limit allows.

use nix::sys::resource::{Resource, getrlimit, setrlimit};

/// SSSD's default `fd_limit`.
pub const DEFAULT_FD_LIMIT: u64 = 8192;

/// What [`apply`] ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// The soft limit now in force.
    pub soft: u64,
    /// The hard limit now in force.
    pub hard: u64,
    /// True when the hard limit kept the soft one below what was asked.
    pub capped: bool,
}

/// Sets `RLIMIT_NOFILE` to `wanted` (soft and hard) when allowed, else the soft limit to
/// the lower of `wanted` and the hard limit.
pub fn apply(wanted: u64) -> std::io::Result<Applied> {
    let wanted = wanted.max(1);
    if setrlimit(Resource::RLIMIT_NOFILE, wanted, wanted).is_ok() {
        return Ok(Applied {
            soft: wanted,
            hard: wanted,
            capped: false,
        });
    }
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).map_err(std::io::Error::from)?;
    let soft = wanted.min(hard);
    setrlimit(Resource::RLIMIT_NOFILE, soft, hard).map_err(std::io::Error::from)?;
    Ok(Applied {
        soft,
        hard,
        capped: soft < wanted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_follows_the_setting_within_the_hard_limit() {
        // Run in a child so the test process keeps its own limits.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            let ok = (|| {
                let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
                let a = apply(512).ok()?;
                let (soft_now, _) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
                if a.soft != 512 || soft_now != 512 {
                    return None;
                }
                // Drop the hard limit, then ask for more than it: capped, not an error.
                setrlimit(Resource::RLIMIT_NOFILE, 256, 256).ok()?;
                // With CAP_SYS_RESOURCE the value is absolute, else capped at the hard limit.
                let want = hard.max(1024);
                let b = apply(want).ok()?;
                let (soft_now, _) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
                let absolute = b.soft == want && b.hard == want && !b.capped;
                let capped = b.soft == 256 && b.capped;
                ((absolute || capped) && soft_now == b.soft).then_some(())
            })()
            .is_some();
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        let mut status = 0;
        unsafe { libc::waitpid(pid, &mut status, 0) };
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    }
}
