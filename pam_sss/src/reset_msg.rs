//! The message shown when root tries to reset a password the backend will not reset:
//! an admin-provided text from `<conf_dir>/customize/<domain>/pam_sss_pw_reset_message.<suffix>`
//! (suffix = the LC_MESSAGES locale, then `txt`), else a fixed sentence.

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Largest message file read.
const MAX_SIZE: u64 = 4096;

/// The fallback when no message file applies.
pub const DEFAULT: &str = "Password reset by root is not supported.";

/// Reads one message file if it is a regular file owned by root:root with mode 0644 and at
/// most 4 KiB; `None` otherwise.
fn read_one(conf_dir: &Path, domain: &str, suffix: &str) -> Option<String> {
    if domain.is_empty() || domain.contains('/') || suffix.contains('/') || suffix.is_empty() {
        return None;
    }
    let path = conf_dir
        .join("customize")
        .join(domain)
        .join(format!("pam_sss_pw_reset_message.{suffix}"));
    let f = std::fs::File::open(&path).ok()?;
    let md = f.metadata().ok()?;
    if !md.is_file() || md.uid() != 0 || md.gid() != 0 || md.mode() & 0o7777 != 0o644 {
        return None;
    }
    if md.len() > MAX_SIZE {
        return None;
    }
    let mut s = String::new();
    f.take(MAX_SIZE).read_to_string(&mut s).ok()?;
    Some(s)
}

/// The current LC_MESSAGES locale name, if any.
fn messages_locale() -> Option<String> {
    // SAFETY: querying (NULL) does not modify the locale; the result is copied at once.
    let p = unsafe { libc::setlocale(libc::LC_MESSAGES, std::ptr::null()) };
    if p.is_null() {
        return None;
    }
    // SAFETY: non-NULL setlocale result is a NUL-terminated string.
    let s = unsafe { std::ffi::CStr::from_ptr(p) };
    Some(s.to_string_lossy().into_owned())
}

/// The message for `domain` (None when the domain is unknown).
pub fn message(conf_dir: &Path, domain: Option<&str>) -> String {
    let Some(domain) = domain else {
        return DEFAULT.to_string();
    };
    messages_locale()
        .and_then(|l| read_one(conf_dir, domain, &l))
        .or_else(|| read_one(conf_dir, domain, "txt"))
        .unwrap_or_else(|| DEFAULT.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn message_file_rules() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(message(dir.path(), None), DEFAULT);
        assert_eq!(message(dir.path(), Some("LDAP")), DEFAULT);
        assert_eq!(message(dir.path(), Some("../x")), DEFAULT);
        let d = dir.path().join("customize/LDAP");
        std::fs::create_dir_all(&d).unwrap();
        let f = d.join("pam_sss_pw_reset_message.txt");
        std::fs::write(&f, "Call the helpdesk.\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o666)).unwrap();
        // Wrong mode: ignored.
        assert_eq!(message(dir.path(), Some("LDAP")), DEFAULT);
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        // SAFETY: no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            assert_eq!(message(dir.path(), Some("LDAP")), "Call the helpdesk.\n");
        }
    }
}
