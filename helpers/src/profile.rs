//! A private krb5.conf snippet naming the KDCs and kpasswd servers from sssd.conf, put in
//! front of the system configuration through `KRB5_CONFIG`.

use std::ffi::CString;
use std::io::Write;
use std::os::fd::FromRawFd;
use std::path::{Path, PathBuf};

/// The environment variable libkrb5 reads its profile path list from.
pub const KRB5_CONFIG: &str = "KRB5_CONFIG";

/// The profile text for `realm` with `kdcs` and `kpasswd` servers (`host[:port]`).
pub fn profile_text(realm: &str, kdcs: &[String], kpasswd: &[String]) -> String {
    let mut s = format!(
        "[libdefaults]\n default_realm = {realm}\n dns_lookup_kdc = false\n \
         dns_lookup_realm = false\n udp_preference_limit = 1\n\n[realms]\n {realm} = {{\n"
    );
    for k in kdcs {
        s.push_str(&format!("  kdc = {k}\n"));
    }
    for k in kpasswd {
        s.push_str(&format!("  kpasswd_server = {k}\n"));
    }
    s.push_str(" }\n");
    s
}

/// Checks a value written into the profile cannot break its syntax.
pub fn is_safe_value(v: &str) -> bool {
    !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_:[]@/".contains(c))
}

/// The private profile file; removed on drop.
#[derive(Debug)]
pub struct PrivateProfile {
    path: PathBuf,
}

impl PrivateProfile {
    /// Writes the profile to a new private file (mode 0600) under `dir`.
    pub fn create(dir: &Path, text: &str) -> std::io::Result<PrivateProfile> {
        let template = dir.join("krb5_child_conf_XXXXXX");
        let c = CString::new(template.as_os_str().as_encoded_bytes())
            .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
        let mut bytes = c.into_bytes_with_nul();
        // SAFETY: NUL-terminated writable template as mkstemp requires.
        let fd = unsafe { libc::mkstemp(bytes.as_mut_ptr().cast()) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        bytes.pop();
        let path = PathBuf::from(String::from_utf8_lossy(&bytes).into_owned());
        let profile = PrivateProfile { path };
        // SAFETY: mkstemp returned a fresh descriptor that we now own.
        let mut f = unsafe { std::fs::File::from_raw_fd(fd) };
        f.write_all(text.as_bytes())?;
        Ok(profile)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The `KRB5_CONFIG` value: this file, then `previous` (or /etc/krb5.conf).
    pub fn search_path(&self, previous: Option<&str>) -> String {
        let rest = previous
            .filter(|p| !p.is_empty())
            .unwrap_or("/etc/krb5.conf");
        format!("{}:{rest}", self.path.display())
    }
}

impl Drop for PrivateProfile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_names_kdcs_and_kpasswd() {
        let t = profile_text(
            "EXAMPLE.COM",
            &["127.0.0.1:88".into(), "kdc2".into()],
            &["127.0.0.1:464".into()],
        );
        assert!(t.contains("default_realm = EXAMPLE.COM"));
        assert!(t.contains("  kdc = 127.0.0.1:88\n  kdc = kdc2\n"));
        assert!(t.contains("kpasswd_server = 127.0.0.1:464"));
        assert!(t.contains("dns_lookup_kdc = false"));
    }

    #[test]
    fn unsafe_values_are_refused() {
        assert!(is_safe_value("127.0.0.1:88"));
        assert!(is_safe_value("[::1]:88"));
        assert!(!is_safe_value("a }\n[realms]"));
        assert!(!is_safe_value(""));
    }

    #[test]
    fn file_is_private_and_removed() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = PrivateProfile::create(dir.path(), "x").unwrap_or_else(|e| panic!("{e}"));
        let path = p.path().to_path_buf();
        let md = std::fs::metadata(&path).unwrap_or_else(|e| panic!("{e}"));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(md.permissions().mode() & 0o777, 0o600);
        assert_eq!(p.search_path(Some("/a")), format!("{}:/a", path.display()));
        drop(p);
        assert!(!path.exists());
    }
}
