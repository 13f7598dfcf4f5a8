//! Loading MIT libkrb5's pre-authentication plugins ahead of a request, so a `krb5_child`
//! started ahead of time (see the backend's spare helper) does not pay for loading them
//! (and the libraries they pull in, such as libcrypto) while a user waits.

use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::krb5::ffi;

/// The directory libkrb5 loads pre-authentication plugins from: `krb5/plugins/preauth`
/// beside the libkrb5 this program is linked with.
pub fn preauth_plugin_dir() -> Option<PathBuf> {
    let mut info = libc::Dl_info {
        dli_fname: std::ptr::null(),
        dli_fbase: std::ptr::null_mut(),
        dli_sname: std::ptr::null(),
        dli_saddr: std::ptr::null_mut(),
    };
    let symbol = ffi::krb5_init_context as *const libc::c_void;
    // SAFETY: `symbol` is a function in a loaded library; `info` is a valid out-pointer.
    if unsafe { libc::dladdr(symbol, &mut info) } == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: dladdr set dli_fname to a NUL-terminated path owned by the loader.
    let lib = unsafe { CStr::from_ptr(info.dli_fname) };
    let lib = Path::new(std::ffi::OsStr::from_bytes(lib.to_bytes()));
    Some(lib.parent()?.join("krb5/plugins/preauth"))
}

/// Loads every `*.so` in `dir` and keeps it loaded for the life of the process; returns
/// how many were loaded. A missing directory loads nothing; a plugin that fails to load
/// is skipped (libkrb5 reports it itself if it needs it).
pub fn load_plugins(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut loaded = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "so") {
            continue;
        }
        let Ok(c_path) = CString::new(path.as_os_str().as_bytes()) else {
            continue;
        };
        // SAFETY: a NUL-terminated path; the handle is deliberately never closed, so the
        // library stays loaded and libkrb5's own dlopen of it finds it already there.
        let handle = unsafe { libc::dlopen(c_path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        if !handle.is_null() {
            loaded += 1;
        }
    }
    loaded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_dir_is_beside_libkrb5() {
        let dir = preauth_plugin_dir().expect("libkrb5 is linked");
        assert!(dir.ends_with("krb5/plugins/preauth"), "{}", dir.display());
    }

    #[test]
    fn missing_dir_loads_nothing() {
        assert_eq!(load_plugins(Path::new("/nonexistent/preauth")), 0);
    }

    #[test]
    fn non_plugins_are_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("notes.txt"), b"x").expect("write");
        std::fs::write(dir.path().join("broken.so"), b"not an ELF").expect("write");
        assert_eq!(load_plugins(dir.path()), 0);
    }
}
