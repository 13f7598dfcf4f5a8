//! This host's names for the `host` access rule: the name `gethostname` returns and the
//! canonical name `getaddrinfo(AI_CANONNAME)` gives for it, as SSSD compares them.
//! Blocking (the resolver may ask DNS): call it off the event loop.

use super::ldap::HostNames;
use std::ffi::{CStr, CString};

/// This host's names; `None` when `gethostname` fails.
pub fn this_host() -> Option<HostNames> {
    let mut buf = [0u8; 256];
    // SAFETY: buf is writable for its length minus one; the last byte stays NUL.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len() - 1) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    let hostname = String::from_utf8_lossy(buf.get(..end).unwrap_or_default()).into_owned();
    let canonical = canonical_name(&hostname);
    Some(HostNames {
        hostname,
        canonical,
    })
}

/// The canonical name of `host` (`AI_CANONNAME`, datagram hints as SSSD uses).
fn canonical_name(host: &str) -> Option<String> {
    let c_host = CString::new(host).ok()?;
    // SAFETY: an all-zero addrinfo is the documented "no hints" value; fields set below.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_socktype = libc::SOCK_DGRAM;
    hints.ai_flags = libc::AI_CANONNAME;
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: the host string is NUL-terminated and lives across the call; `res` receives
    // a list owned by libc that is freed below with freeaddrinfo.
    let rc = unsafe { libc::getaddrinfo(c_host.as_ptr(), std::ptr::null(), &hints, &mut res) };
    if rc != 0 || res.is_null() {
        return None;
    }
    // SAFETY: `res` is the first node of the list getaddrinfo returned, not yet freed.
    let ai = unsafe { &*res };
    let canonical = (!ai.ai_canonname.is_null()).then(|| {
        // SAFETY: ai_canonname, when set, is a NUL-terminated string in the list.
        unsafe { CStr::from_ptr(ai.ai_canonname) }
            .to_string_lossy()
            .into_owned()
    });
    // SAFETY: `res` came from a successful getaddrinfo and is freed exactly once.
    unsafe { libc::freeaddrinfo(res) };
    canonical
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_host_has_a_name() {
        let h = this_host().expect("gethostname");
        assert!(!h.hostname.is_empty());
        assert_eq!(canonical_name("localhost").as_deref(), Some("localhost"));
    }
}
