//! One map's file, created as SSSD's `sssd_nss` creates it: the old file recycled, a new
//! one created exclusively (mode 0664), locked on byte 0 for as long as it is ours,
//! preallocated, mapped shared, and initialised by [`MapWriter`].

use super::files::{self, Lock};
use super::sigbus;
use super::table::MapWriter;
use sss_proto::memcache::{Geometry, MapKind, Region, SharedRegion};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

/// Why a map file could not be created.
#[derive(Debug, Error)]
pub enum MapFileError {
    /// A system call on the file failed.
    #[error("{path}: {what}: {source}")]
    Io {
        /// The map file.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// The error.
        source: io::Error,
    },
    /// Another process holds the new file's byte-0 lock.
    #[error("{0}: locked by another process")]
    Locked(PathBuf),
    /// The mapping could not be initialised.
    #[error("{path}: {source}")]
    Table {
        /// The map file.
        path: PathBuf,
        /// The error.
        source: super::table::TableError,
    },
}

/// Whether the file behind a mapping is still the one clients open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Ours, in place, full size.
    Ok,
    /// Unlinked (nlink 0) or replaced by another file at the path.
    Gone,
    /// Its size changed (writing to the mapping could fault).
    Resized,
}

/// A map file, mapped and locked; unmapped and closed (which drops the lock) on drop.
///
/// The process must not open the map's path elsewhere while it holds the file: closing any
/// descriptor of a file drops every `fcntl` lock the process has on it.
#[derive(Debug)]
pub struct MapFile {
    path: PathBuf,
    file: File,
    dev: u64,
    ino: u64,
    len: usize,
    writer: MapWriter<SharedRegion>,
    /// Survives a SIGBUS in the mapping (the file shrunk under us); dropped before unmap.
    sigbus: Option<sigbus::Guard>,
}

fn io_err<'a>(path: &'a Path, what: &'static str) -> impl FnOnce(io::Error) -> MapFileError + 'a {
    move |source| MapFileError::Io {
        path: path.to_path_buf(),
        what,
        source,
    }
}

/// A random 32-bit hash seed from the kernel's CSPRNG.
pub fn random_seed() -> io::Result<u32> {
    let mut buf = [0u8; 4];
    let mut got = 0;
    while got < buf.len() {
        let rest = &mut buf[got..];
        // SAFETY: writes at most rest.len() bytes into the live buffer.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        got += n as usize;
    }
    Ok(u32::from_ne_bytes(buf))
}

/// Preallocates `len` bytes (retrying on EINTR); filesystems that cannot preallocate get
/// the size with `ftruncate` instead.
fn preallocate(file: &File, len: u64) -> io::Result<()> {
    let off = libc::off_t::try_from(len).map_err(|_| io::Error::from_raw_os_error(libc::EFBIG))?;
    for _ in 0..100 {
        // SAFETY: plain call on an open descriptor.
        let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, off) };
        match rc {
            0 => return Ok(()),
            libc::EINTR => continue,
            libc::EOPNOTSUPP | libc::ENOSYS | libc::EINVAL => return file.set_len(len),
            e => return Err(io::Error::from_raw_os_error(e)),
        }
    }
    Err(io::Error::from_raw_os_error(libc::EINTR))
}

impl MapFile {
    /// Replaces the map `kind` under `dir` with a fresh one of `geo` whose records live
    /// `timeout` seconds: the current file (if any) is marked RECYCLED and unlinked, then a
    /// new file is created, locked, preallocated, mapped and initialised.
    pub fn create(
        dir: &Path,
        kind: MapKind,
        geo: Geometry,
        timeout: u32,
    ) -> Result<MapFile, MapFileError> {
        let path = files::map_path(dir, kind);
        files::recycle(&path).map_err(io_err(&path, "recycling the old file"))?;
        let seed = random_seed().map_err(io_err(&path, "getrandom"))?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o664)
            .custom_flags(libc::O_CLOEXEC)
            .open(&path)
            .map_err(io_err(&path, "creating"))?;
        match Self::set_up(file, &path, kind, geo, seed, timeout) {
            Ok(m) => Ok(m),
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                Err(e)
            }
        }
    }

    fn set_up(
        file: File,
        path: &Path,
        kind: MapKind,
        geo: Geometry,
        seed: u32,
        timeout: u32,
    ) -> Result<MapFile, MapFileError> {
        // Whatever the umask: readable by everyone, writable by owner and group, as SSSD.
        file.set_permissions(std::fs::Permissions::from_mode(0o664))
            .map_err(io_err(path, "fchmod"))?;
        let lock = files::lock_byte0(&file, 3, Duration::from_millis(50))
            .map_err(io_err(path, "locking byte 0"))?;
        if lock == Lock::Busy {
            return Err(MapFileError::Locked(path.to_path_buf()));
        }
        let len = geo.file_size as usize;
        preallocate(&file, u64::from(geo.file_size)).map_err(io_err(path, "posix_fallocate"))?;
        let meta = file.metadata().map_err(io_err(path, "fstat"))?;
        // SAFETY: maps `len` bytes of a file we just sized to at least `len`; the result is
        // checked before use.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io_err(path, "mmap")(io::Error::last_os_error()));
        }
        // Guarded before anything touches it: a concurrent truncation faults even here.
        let guard = sigbus::Guard::register(base.cast(), len);
        // SAFETY: the mapping is `len` bytes, page-aligned, readable and writable, and stays
        // mapped until MapFile's drop (or the error path right below) unmaps it.
        let region = unsafe { SharedRegion::new(base.cast(), len) };
        let writer = match MapWriter::init(region, kind, geo, seed, timeout) {
            Ok(w) => w,
            Err(source) => {
                drop(guard);
                // SAFETY: unmapping the mapping made above, not used afterwards.
                unsafe { libc::munmap(base, len) };
                return Err(MapFileError::Table {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        Ok(MapFile {
            path: path.to_path_buf(),
            file,
            dev: meta.dev(),
            ino: meta.ino(),
            len,
            writer,
            sigbus: Some(guard),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The map's writer.
    pub fn writer(&mut self) -> &mut MapWriter<SharedRegion> {
        &mut self.writer
    }

    /// Whether the file is still ours at its path and of its size (checked before every
    /// batch of writes: writing to a truncated mapping would kill the process with SIGBUS).
    pub fn health(&self) -> Health {
        if self.sigbus.as_ref().is_some_and(sigbus::Guard::faulted) {
            // The file shrank under an access: the mapping is anonymous memory now.
            return Health::Resized;
        }
        let Ok(meta) = self.file.metadata() else {
            return Health::Gone;
        };
        if meta.nlink() == 0 {
            return Health::Gone;
        }
        if meta.size() != self.len as u64 {
            return Health::Resized;
        }
        match std::fs::symlink_metadata(&self.path) {
            Ok(m) if m.dev() == self.dev && m.ino() == self.ino => Health::Ok,
            _ => Health::Gone,
        }
    }

    /// Writes a copy of the mapping to `<file>_corrupted` (mode 0600, replacing an older
    /// copy) for later analysis; returns its path.
    pub fn save_corrupted(&self) -> io::Result<PathBuf> {
        let mut name = self.path.clone().into_os_string();
        name.push("_corrupted");
        let out = PathBuf::from(name);
        let mut bytes = vec![0u8; self.len];
        if !self.writer.region().copy_out(0, &mut bytes) {
            return Err(io::Error::from_raw_os_error(libc::EFAULT));
        }
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
            .open(&out)?;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        if let Err(e) = f.write_all(&bytes) {
            drop(f);
            let _ = std::fs::remove_file(&out);
            return Err(e);
        }
        Ok(out)
    }
}

impl Drop for MapFile {
    fn drop(&mut self) {
        // Unregistered first: once unmapped, the address range may be reused by anything.
        self.sigbus = None;
        // SAFETY: the mapping made in `set_up`, of `len` bytes; the writer that used it is
        // dropped with us and nothing else holds its address.
        unsafe { libc::munmap(self.writer.region().base().cast(), self.len) };
        // `file` closes after this, releasing the byte-0 lock.
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memcache::table::PasswdRecord;
    use sss_proto::memcache::{BytesRegion, Header, STATUS_ALIVE, STATUS_RECYCLED, Table};
    use std::os::unix::fs::FileExt;

    fn read_file(path: &Path) -> BytesRegion {
        BytesRegion::from_bytes(std::fs::read(path).unwrap())
    }

    #[test]
    fn create_writes_a_locked_0664_map_and_recycles_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let geo = Geometry::for_mib(1).unwrap();
        let mut m = MapFile::create(dir.path(), MapKind::Passwd, geo, 300).unwrap();
        let path = dir.path().join("passwd");
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o7777, 0o664);
        assert_eq!(meta.len(), u64::from(geo.file_size));
        assert_eq!(m.health(), Health::Ok);
        let pw = PasswdRecord {
            name: b"alice",
            passwd: b"*",
            uid: 1,
            gid: 2,
            gecos: b"",
            dir: b"/",
            shell: b"/bin/sh",
        };
        m.writer().store_passwd(&pw, 1000).unwrap();
        // The lock is held (checked first: closing any descriptor of the file in this
        // process, as reading it does, drops the process's locks on it): sss_cache's step sees the file in use (from another process).
        let f = File::options().read(true).write(true).open(&path).unwrap();
        // SAFETY: the child only probes the lock and exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let busy = files::lock_byte0(&f, 1, Duration::ZERO).ok() == Some(Lock::Busy);
            // SAFETY: leave the forked test process without running destructors.
            unsafe { libc::_exit(if busy { 0 } else { 1 }) };
        }
        let mut st = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(pid, &mut st, 0) };
        assert!(
            libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0,
            "lock held"
        );
        // What another process sees through the file.
        let r = read_file(&path);
        let h = Header::read(&r).unwrap();
        assert_eq!(h.status, STATUS_ALIVE);
        let t = Table::new(&r, &h).unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(t.passwd_by_name(b"alice", 1000, &mut buf).unwrap().uid, 1);
        // Recreating marks the old file RECYCLED for readers that still hold it.
        drop(f);
        let old = File::open(&path).unwrap();
        drop(m);
        let m2 = MapFile::create(dir.path(), MapKind::Passwd, geo, 300).unwrap();
        let mut st = [0u8; 4];
        old.read_exact_at(&mut st, 12).unwrap();
        assert_eq!(u32::from_ne_bytes(st), STATUS_RECYCLED);
        let h2 = Header::read(&read_file(&path)).unwrap();
        assert_eq!(h2.status, STATUS_ALIVE);
        assert_eq!(m2.health(), Health::Ok);
    }

    #[test]
    fn health_notices_unlink_replace_and_truncate() {
        let dir = tempfile::tempdir().unwrap();
        let geo = Geometry::for_slots(64).unwrap();
        let path = dir.path().join("group");
        let m = MapFile::create(dir.path(), MapKind::Group, geo, 300).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(m.health(), Health::Gone);
        let m = MapFile::create(dir.path(), MapKind::Group, geo, 300).unwrap();
        std::fs::rename(&path, dir.path().join("x")).unwrap();
        std::fs::write(&path, b"other").unwrap();
        assert_eq!(m.health(), Health::Gone);
        std::fs::remove_file(&path).unwrap();
        let m = MapFile::create(dir.path(), MapKind::Group, geo, 300).unwrap();
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(100)
            .unwrap();
        assert_eq!(m.health(), Health::Resized);
    }

    #[test]
    fn a_corrupt_copy_is_saved_0600() {
        let dir = tempfile::tempdir().unwrap();
        let geo = Geometry::for_slots(64).unwrap();
        let m = MapFile::create(dir.path(), MapKind::Initgroups, geo, 300).unwrap();
        let out = m.save_corrupted().unwrap();
        assert_eq!(out, dir.path().join("initgroups_corrupted"));
        let meta = std::fs::metadata(&out).unwrap();
        assert_eq!(meta.permissions().mode() & 0o7777, 0o600);
        assert_eq!(
            std::fs::read(&out).unwrap(),
            std::fs::read(dir.path().join("initgroups")).unwrap()
        );
    }

    #[test]
    fn seeds_differ() {
        let a = random_seed().unwrap();
        let b = random_seed().unwrap();
        let c = random_seed().unwrap();
        assert!(a != b || b != c);
    }
}
