//! A private krb5.conf snippet naming the KDCs and kpasswd servers from sssd.conf, put in
//! front of the system configuration through `KRB5_CONFIG`.

use std::ffi::CString;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// The profile path list this process chose for libkrb5 (see [`set_path_list`]).
static PATH_LIST: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Records the profile path list every libkrb5 context of this process is opened with.
/// Passing it explicitly, rather than through `KRB5_CONFIG` alone, is what makes it work
/// in a helper started with file capabilities: libkrb5 ignores the environment there
/// (secure execution), and rightly so, since the parent chose it.
pub fn set_path_list(list: String) {
    let _ = PATH_LIST.set(list);
}

/// The path list recorded by [`set_path_list`], if any.
pub fn path_list() -> Option<&'static str> {
    PATH_LIST.get().map(String::as_str)
}

/// Whether this process runs in secure-execution mode (`AT_SECURE`: setuid, setgid or file
/// capabilities), where the environment comes from a less privileged parent.
pub fn secure_execution() -> bool {
    // SAFETY: getauxval has no preconditions.
    unsafe { libc::getauxval(libc::AT_SECURE) != 0 }
}

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
    if kpasswd.is_empty() {
        // As SSSD: without krb5_kpasswd the KDCs serve kpasswd on its default port.
        for k in kdcs {
            s.push_str(&format!("  kpasswd_server = {}\n", host_part(k)));
        }
    }
    for k in kpasswd {
        s.push_str(&format!("  kpasswd_server = {k}\n"));
    }
    s.push_str(" }\n");
    s
}

/// `host` of `host[:port]` (`[v6]` kept bracketed).
pub fn host_part(server: &str) -> &str {
    if let Some(end) = server.find(']').filter(|_| server.starts_with('[')) {
        return server.get(..=end).unwrap_or(server);
    }
    match server.rsplit_once(':') {
        Some((h, _)) if !h.contains(':') => h,
        _ => server,
    }
}

/// Checks a value written into the profile cannot break its syntax.
pub fn is_safe_value(v: &str) -> bool {
    !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_:[]@/".contains(c))
}

/// The private profile: an anonymous memory file (`/proc/self/fd/N`), which vanishes with
/// the process even when it is killed; a mode-0600 temporary file (removed on drop) where
/// memfd is unavailable.
#[derive(Debug)]
pub struct PrivateProfile {
    path: PathBuf,
    memfd: Option<OwnedFd>,
}

impl PrivateProfile {
    /// Writes the profile to a memfd, else to a new private file under `dir`.
    pub fn create(dir: &Path, text: &str) -> std::io::Result<PrivateProfile> {
        match Self::memfd(text) {
            Ok(p) => Ok(p),
            Err(_) => Self::file(dir, text),
        }
    }

    fn memfd(text: &str) -> std::io::Result<PrivateProfile> {
        // SAFETY: valid NUL-terminated name; the returned descriptor is owned below.
        let fd = unsafe { libc::memfd_create(c"krb5_child_conf".as_ptr(), 0) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: memfd_create returned a fresh descriptor that we now own.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        let mut f = std::fs::File::from(owned.try_clone()?);
        f.write_all(text.as_bytes())?;
        let path = PathBuf::from(format!("/proc/self/fd/{}", owned.as_raw_fd()));
        if std::fs::read(&path)?.as_slice() != text.as_bytes() {
            return Err(std::io::Error::from_raw_os_error(libc::EIO));
        }
        Ok(PrivateProfile {
            path,
            memfd: Some(owned),
        })
    }

    /// Writes the profile to a new private file (mode 0600) under `dir`.
    pub fn file(dir: &Path, text: &str) -> std::io::Result<PrivateProfile> {
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
        let profile = PrivateProfile { path, memfd: None };
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
        if self.memfd.is_none() {
            let _ = std::fs::remove_file(&self.path);
        }
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
    fn kpasswd_defaults_to_the_kdc_hosts() {
        let t = profile_text("R", &["127.0.0.1:88".into(), "[::1]:88".into()], &[]);
        assert!(t.contains("  kpasswd_server = 127.0.0.1\n  kpasswd_server = [::1]\n"));
        assert_eq!(host_part("kdc.example.com"), "kdc.example.com");
        assert_eq!(host_part("::1"), "::1");
    }

    #[test]
    fn unsafe_values_are_refused() {
        assert!(is_safe_value("127.0.0.1:88"));
        assert!(is_safe_value("[::1]:88"));
        assert!(!is_safe_value("a }\n[realms]"));
        assert!(!is_safe_value(""));
    }

    #[test]
    fn memfd_profile_is_readable_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p =
            PrivateProfile::create(dir.path(), "[libdefaults]\n").unwrap_or_else(|e| panic!("{e}"));
        assert!(
            p.path().starts_with("/proc/self/fd"),
            "{}",
            p.path().display()
        );
        assert_eq!(
            std::fs::read_to_string(p.path()).ok().as_deref(),
            Some("[libdefaults]\n")
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).map(|r| r.count()).ok(),
            Some(0)
        );
    }

    #[test]
    fn file_is_private_and_removed() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = PrivateProfile::file(dir.path(), "x").unwrap_or_else(|e| panic!("{e}"));
        let path = p.path().to_path_buf();
        let md = std::fs::metadata(&path).unwrap_or_else(|e| panic!("{e}"));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(md.permissions().mode() & 0o777, 0o600);
        assert_eq!(p.search_path(Some("/a")), format!("{}:/a", path.display()));
        drop(p);
        assert!(!path.exists());
    }
}
