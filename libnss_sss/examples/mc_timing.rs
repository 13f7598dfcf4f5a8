//! Times memory-cache lookups on hand-built cache files. Not a test: it prints figures, in
//! nanoseconds of thread CPU time per call (best of several runs: the machine is shared).
//!
//! ```text
//! cargo run --release -p libnss_sss --example mc_timing
//!     the Rust core (MemCache) on files in a temporary directory: ns per hit (passwd,
//!     group of 20 and of 5,000 members, initgroups of 200 gids) and per miss (file present
//!     and key absent; file absent), plus the cost of the per-call fstat and getenv.
//!
//! sudo target/release/examples/mc_timing --modules OURS.so THEIRS.so
//!     the same files as /var/lib/sss/mc inside a private mount namespace (`unshare`), then
//!     for each module: its exported `_nss_sss_*` functions called directly, and glibc's
//!     getpwnam_r/getpwuid_r/getgrnam_r/getgrouplist through an nsswitch.conf saying `sss`
//!     (the module found through LD_LIBRARY_PATH). No responder socket exists, so misses
//!     measure the cache part plus one failed connect.
//!
//! mc_timing --build-files DIR      only write the files (passwd, group, initgroups) to DIR
//! ```

#[path = "../src/mc/testwriter.rs"]
#[allow(dead_code)]
mod testwriter;

use std::error::Error;
use std::ffi::{CString, c_char, c_int, c_long, c_void};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use nss_sss::MemCache;
use testwriter::McWriter;

type Res<T> = Result<T, Box<dyn Error>>;

/// Counts heap allocations, to show the passwd/group hit paths make none.
struct Counting;

static ALLOCS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged.
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: std::alloc::Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // SAFETY: caller's contract, passed on.
        unsafe { std::alloc::System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: std::alloc::Layout) {
        // SAFETY: caller's contract, passed on.
        unsafe { std::alloc::System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: std::alloc::Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // SAFETY: caller's contract, passed on.
        unsafe { std::alloc::System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Heap allocations made by `n` calls of `f`.
fn allocations(n: u32, mut f: impl FnMut() -> bool) -> usize {
    let before = ALLOCS.load(std::sync::atomic::Ordering::Relaxed);
    for _ in 0..n {
        black_box(f());
    }
    ALLOCS.load(std::sync::atomic::Ordering::Relaxed) - before
}

// The hand-built data.
const USERS: u32 = 1000;
const HIT_USER: &str = "user0500";
const HIT_UID: u32 = 10500;
const SMALL_GROUP: &str = "g20";
const BIG_GROUP: &str = "g5000";
const INITGR_GIDS: u32 = 200;
const MISS_USER: &str = "nosuchuser";

fn far_future() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        + 24 * 3600
}

/// Writes passwd, group and initgroups files into `dir`.
fn build_files(dir: &Path) -> Res<()> {
    let exp = far_future();
    let mut p = McWriter::create(&dir.join("passwd"), 64 * 1024, 0x1234_5678)?;
    for i in 0..USERS {
        let name = format!("user{i:04}");
        p.passwd(
            &name,
            10000 + i,
            10000,
            &format!("User {i:04}"),
            &format!("/home/{name}"),
            "/bin/bash",
            exp,
        )?;
    }
    let mut g = McWriter::create(&dir.join("group"), 64 * 1024, 0x2345_6789)?;
    let members: Vec<String> = (0..5000).map(|i| format!("member{i:05}")).collect();
    let refs: Vec<&str> = members.iter().map(String::as_str).collect();
    g.group(SMALL_GROUP, 30020, refs.get(..20).unwrap_or_default(), exp)?;
    g.group(BIG_GROUP, 35000, &refs, exp)?;
    let mut ig = McWriter::create(&dir.join("initgroups"), 64 * 1024, 0x3456_789a)?;
    let gids: Vec<u32> = (0..INITGR_GIDS).map(|i| 40000 + i).collect();
    ig.initgroups(HIT_USER, &format!("{HIT_USER}@LDAP"), &gids, exp)?;
    Ok(())
}

/// This thread's CPU time in ns (time spent descheduled on a busy machine does not count).
fn cpu_ns() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e9 + ts.tv_nsec as f64
}

/// Best of 5 runs of `n` calls of `f`, in ns of thread CPU time per call.
fn ns_per_call(n: u32, mut f: impl FnMut() -> bool) -> Res<f64> {
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = cpu_ns();
        for _ in 0..n {
            if !black_box(f()) {
                return Err("a timed call failed".into());
            }
        }
        best = best.min((cpu_ns() - t) / f64::from(n));
    }
    Ok(best)
}

/// Times `f` (see [`ns_per_call`]) and prints a row, unless `MC_TIMING_ONLY` is set to text
/// the row name does not contain (for profiling one case).
fn timed(what: &str, n: u32, f: impl FnMut() -> bool) -> Res<()> {
    if let Ok(only) = std::env::var("MC_TIMING_ONLY")
        && !what.contains(&only)
    {
        return Ok(());
    }
    let ns = ns_per_call(n, f)?;
    println!("{what:<48} {ns:>9.0} ns");
    Ok(())
}

fn core_figures() -> Res<()> {
    let dir = tempfile::tempdir()?;
    build_files(dir.path())?;
    let mc = MemCache::in_dir(dir.path(), Duration::from_secs(1));
    let mut buf = vec![0u8; 1 << 20];
    // SAFETY: plain C structs; all-zero is valid.
    let (mut pwd, mut grp): (libc::passwd, libc::group) =
        unsafe { (std::mem::zeroed(), std::mem::zeroed()) };
    println!("Rust core (MemCache), files in {}", dir.path().display());
    timed("passwd hit by name", 200_000, || {
        mc.passwd_by_name(HIT_USER.as_bytes(), &mut pwd, &mut buf)
            .is_ok()
    })?;
    timed("passwd hit by uid", 200_000, || {
        mc.passwd_by_uid(HIT_UID, &mut pwd, &mut buf).is_ok()
    })?;
    timed("group hit, 20 members", 200_000, || {
        mc.group_by_name(SMALL_GROUP.as_bytes(), &mut grp, &mut buf)
            .is_ok()
    })?;
    timed("group hit, 5,000 members", 2_000, || {
        mc.group_by_name(BIG_GROUP.as_bytes(), &mut grp, &mut buf)
            .is_ok()
    })?;
    timed(
        "initgroups hit, 200 gids (array grown each call)",
        100_000,
        || {
            let (mut start, mut size): (c_long, c_long) = (1, 1);
            // SAFETY: a malloc'd one-gid array, freed below.
            let mut groups = unsafe { libc::malloc(4) }.cast::<libc::gid_t>();
            // SAFETY: as above.
            let ok = unsafe {
                groups.write(10000);
                mc.initgroups(HIT_USER.as_bytes(), &mut start, &mut size, &mut groups, -1)
            }
            .is_ok()
                && start == 1 + c_long::from(INITGR_GIDS);
            // SAFETY: malloc'd/realloc'd above.
            unsafe { libc::free(groups.cast()) };
            ok
        },
    )?;
    timed("miss, file present, key absent", 200_000, || {
        mc.passwd_by_name(MISS_USER.as_bytes(), &mut pwd, &mut buf)
            .is_err()
    })?;
    let empty = tempfile::tempdir()?;
    let none = MemCache::in_dir(empty.path(), Duration::from_secs(3600));
    timed(
        "miss, file absent (after the first open attempt)",
        1_000_000,
        || {
            none.passwd_by_name(HIT_USER.as_bytes(), &mut pwd, &mut buf)
                .is_err()
        },
    )?;
    let allocs = allocations(1000, || {
        mc.passwd_by_name(HIT_USER.as_bytes(), &mut pwd, &mut buf)
            .is_ok()
            && mc.passwd_by_uid(HIT_UID, &mut pwd, &mut buf).is_ok()
            && mc
                .group_by_name(SMALL_GROUP.as_bytes(), &mut grp, &mut buf)
                .is_ok()
    });
    println!("heap allocations in 1,000 passwd+uid+group hits: {allocs}");
    println!("per-call parts:");
    let f = std::fs::File::open(dir.path().join("passwd"))?;
    let fd = std::os::fd::AsRawFd::as_raw_fd(&f);
    timed("  fstat of the map fd", 200_000, || {
        let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
        // SAFETY: valid fd and buffer.
        unsafe { libc::fstat(fd, st.as_mut_ptr()) == 0 }
    })?;
    timed(
        "  fstat syscall (SYS_fstat, no empty-path lookup)",
        200_000,
        || {
            let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
            // SAFETY: valid fd and buffer.
            unsafe { libc::syscall(libc::SYS_fstat, fd, st.as_mut_ptr()) == 0 }
        },
    )?;
    timed("  getenv(SSS_NSS_USE_MEMCACHE) (unset)", 1_000_000, || {
        // SAFETY: NUL-terminated name.
        unsafe { libc::getenv(c"SSS_NSS_USE_MEMCACHE".as_ptr()) }.is_null()
    })?;
    timed("  time(NULL)", 1_000_000, || {
        // SAFETY: time(NULL).
        unsafe { libc::time(std::ptr::null_mut()) > 0 }
    })?;
    Ok(())
}

// ---- modules in a private mount namespace ----

type PwByName =
    unsafe extern "C" fn(*const c_char, *mut libc::passwd, *mut c_char, usize, *mut c_int) -> c_int;
type PwById =
    unsafe extern "C" fn(libc::uid_t, *mut libc::passwd, *mut c_char, usize, *mut c_int) -> c_int;
type GrByName =
    unsafe extern "C" fn(*const c_char, *mut libc::group, *mut c_char, usize, *mut c_int) -> c_int;
type InitgroupsDyn = unsafe extern "C" fn(
    *const c_char,
    libc::gid_t,
    *mut c_long,
    *mut c_long,
    *mut *mut libc::gid_t,
    c_long,
    *mut c_int,
) -> c_int;

fn symbol<T: Copy>(h: *mut c_void, name: &str) -> Res<T> {
    let c = CString::new(name)?;
    // SAFETY: a handle from dlopen and a C string.
    let p = unsafe { libc::dlsym(h, c.as_ptr()) };
    if p.is_null() || size_of::<T>() != size_of::<*mut c_void>() {
        return Err(format!("no symbol {name}").into());
    }
    // SAFETY: T is the function pointer type of the symbol (pointer-sized, checked).
    Ok(unsafe { std::mem::transmute_copy::<*mut c_void, T>(&p) })
}

/// Calls the module's entry points directly.
fn module_figures(lib: &str, n: u32) -> Res<()> {
    let c = CString::new(lib)?;
    // SAFETY: dlopen of a path.
    let h = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW) };
    if h.is_null() {
        return Err(format!("cannot load {lib}").into());
    }
    let pwnam: PwByName = symbol(h, "_nss_sss_getpwnam_r")?;
    let pwuid: PwById = symbol(h, "_nss_sss_getpwuid_r")?;
    let grnam: GrByName = symbol(h, "_nss_sss_getgrnam_r")?;
    let initgr: InitgroupsDyn = symbol(h, "_nss_sss_initgroups_dyn")?;
    let mut buf = vec![0 as c_char; 1 << 20];
    let len = buf.len();
    let b = buf.as_mut_ptr();
    // SAFETY: plain C structs.
    let (mut pwd, mut grp): (libc::passwd, libc::group) =
        unsafe { (std::mem::zeroed(), std::mem::zeroed()) };
    let mut err = 0;
    let user = CString::new(HIT_USER)?;
    let miss = CString::new(MISS_USER)?;
    let small = CString::new(SMALL_GROUP)?;
    let big = CString::new(BIG_GROUP)?;
    println!("module {lib}, entry points called directly");
    // SAFETY (all calls below): glibc's NSS calling convention with valid pointers.
    timed("_nss_sss_getpwnam_r hit", n, || unsafe {
        pwnam(user.as_ptr(), &mut pwd, b, len, &mut err) == 1
    })?;
    timed("_nss_sss_getpwuid_r hit", n, || unsafe {
        pwuid(HIT_UID, &mut pwd, b, len, &mut err) == 1
    })?;
    timed("_nss_sss_getgrnam_r hit, 20 members", n, || unsafe {
        grnam(small.as_ptr(), &mut grp, b, len, &mut err) == 1
    })?;
    timed(
        "_nss_sss_getgrnam_r hit, 5,000 members",
        n / 100,
        || unsafe { grnam(big.as_ptr(), &mut grp, b, len, &mut err) == 1 },
    )?;
    timed("_nss_sss_initgroups_dyn hit, 200 gids", n / 2, || unsafe {
        let (mut start, mut size): (c_long, c_long) = (1, 1);
        let mut groups = libc::malloc(4).cast::<libc::gid_t>();
        groups.write(10000);
        let ok = initgr(
            user.as_ptr(),
            10000,
            &mut start,
            &mut size,
            &mut groups,
            -1,
            &mut err,
        ) == 1;
        libc::free(groups.cast());
        ok
    })?;
    timed(
        "_nss_sss_getpwnam_r miss (cache, then no socket)",
        n / 10,
        || unsafe { pwnam(miss.as_ptr(), &mut pwd, b, len, &mut err) != 1 },
    )?;
    Ok(())
}

/// Calls glibc's functions (nsswitch.conf says `sss`; the module comes from
/// LD_LIBRARY_PATH).
fn glibc_figures(n: u32) -> Res<()> {
    let mut buf = vec![0 as c_char; 1 << 20];
    let len = buf.len();
    let b = buf.as_mut_ptr();
    // SAFETY: plain C structs.
    let (mut pwd, mut grp): (libc::passwd, libc::group) =
        unsafe { (std::mem::zeroed(), std::mem::zeroed()) };
    let user = CString::new(HIT_USER)?;
    let small = CString::new(SMALL_GROUP)?;
    let big = CString::new(BIG_GROUP)?;
    let mut gl = vec![0 as libc::gid_t; 1024];
    println!(
        "through glibc, module from LD_LIBRARY_PATH={}",
        std::env::var("LD_LIBRARY_PATH").unwrap_or_default()
    );
    // SAFETY (all calls below): valid pointers for the call.
    timed("getpwnam_r hit", n, || unsafe {
        let mut out = std::ptr::null_mut();
        libc::getpwnam_r(user.as_ptr(), &mut pwd, b, len, &mut out) == 0 && !out.is_null()
    })?;
    timed("getpwuid_r hit", n, || unsafe {
        let mut out = std::ptr::null_mut();
        libc::getpwuid_r(HIT_UID, &mut pwd, b, len, &mut out) == 0 && !out.is_null()
    })?;
    timed("getgrnam_r hit, 20 members", n, || unsafe {
        let mut out = std::ptr::null_mut();
        libc::getgrnam_r(small.as_ptr(), &mut grp, b, len, &mut out) == 0 && !out.is_null()
    })?;
    timed("getgrnam_r hit, 5,000 members", n / 100, || unsafe {
        let mut out = std::ptr::null_mut();
        libc::getgrnam_r(big.as_ptr(), &mut grp, b, len, &mut out) == 0 && !out.is_null()
    })?;
    timed("getgrouplist hit, 200 gids", n / 2, || unsafe {
        let mut ng: c_int = 1024;
        libc::getgrouplist(user.as_ptr(), 10000, gl.as_mut_ptr(), &mut ng) >= 0
            && ng == 1 + INITGR_GIDS as c_int
    })?;
    Ok(())
}

fn mount(src: &str, dst: &str, fstype: &str, flags: libc::c_ulong, data: &str) -> Res<()> {
    let c = |s: &str| CString::new(s);
    let (s, d, t, o) = (c(src)?, c(dst)?, c(fstype)?, c(data)?);
    // SAFETY: valid C strings; we are in our own mount namespace.
    let rc = unsafe {
        libc::mount(
            s.as_ptr(),
            d.as_ptr(),
            if fstype.is_empty() {
                std::ptr::null()
            } else {
                t.as_ptr()
            },
            flags,
            if data.is_empty() {
                std::ptr::null()
            } else {
                o.as_ptr().cast()
            },
        )
    };
    if rc != 0 {
        return Err(format!("mount {src} on {dst}: {}", std::io::Error::last_os_error()).into());
    }
    Ok(())
}

/// Parses the rows a child printed: `(name, ns)`.
fn parse_rows(out: &str) -> Vec<(String, f64)> {
    out.lines()
        .filter_map(|l| {
            let l = l.strip_suffix(" ns")?;
            let (name, ns) = l.trim_end().rsplit_once(' ')?;
            Some((name.trim().to_owned(), ns.parse().ok()?))
        })
        .collect()
}

/// Inside `unshare --mount --propagation private`: stage /var/lib/sss/mc and nsswitch.conf,
/// then time the modules in their own processes, alternating them for `rounds` rounds (the
/// machine is shared: the best of the rounds is kept), and print them side by side.
fn namespace_main(modules: &[String], n: u32, rounds: u32) -> Res<()> {
    let scratch = tempfile::tempdir()?;
    let target = if Path::new("/var/lib/sss").is_dir() {
        "/var/lib/sss"
    } else {
        "/var/lib"
    };
    mount("rsssd-mc-timing", target, "tmpfs", 0, "mode=0755")?;
    let mc = PathBuf::from("/var/lib/sss/mc");
    std::fs::create_dir_all(&mc)?;
    build_files(&mc)?;
    let ns = scratch.path().join("nsswitch.conf");
    std::fs::write(&ns, "passwd: sss\ngroup: sss\nshadow: files\n")?;
    mount(
        &ns.to_string_lossy(),
        "/etc/nsswitch.conf",
        "",
        libc::MS_BIND,
        "",
    )?;
    let me = std::env::current_exe()?;
    let mut libdirs = Vec::new();
    for (i, m) in modules.iter().enumerate() {
        let libdir = scratch.path().join(format!("lib{i}"));
        std::fs::create_dir_all(&libdir)?;
        std::os::unix::fs::symlink(std::fs::canonicalize(m)?, libdir.join("libnss_sss.so.2"))?;
        libdirs.push(libdir);
    }
    // best[figure][module]
    let mut names: Vec<String> = Vec::new();
    let mut best: Vec<Vec<f64>> = Vec::new();
    for _ in 0..rounds {
        for (i, m) in modules.iter().enumerate() {
            for mode in ["--direct", "--glibc"] {
                let out = Command::new(&me)
                    .args([mode, m, &n.to_string()])
                    .env("LD_LIBRARY_PATH", &libdirs[i])
                    .output()?;
                if !out.status.success() {
                    return Err(format!(
                        "{mode} {m}: {} {}",
                        out.status,
                        String::from_utf8_lossy(&out.stderr)
                    )
                    .into());
                }
                for (name, ns) in parse_rows(&String::from_utf8_lossy(&out.stdout)) {
                    let k = match names.iter().position(|x| *x == name) {
                        Some(k) => k,
                        None => {
                            names.push(name);
                            best.push(vec![f64::MAX; modules.len()]);
                            names.len() - 1
                        }
                    };
                    if let Some(v) = best.get_mut(k).and_then(|r| r.get_mut(i)) {
                        *v = v.min(ns);
                    }
                }
            }
        }
    }
    println!("best of {rounds} alternating rounds, ns per call:");
    print!("{:<48}", "");
    for i in 0..modules.len() {
        print!(" {:>10}", format!("module{}", i + 1));
    }
    println!("  module2/module1");
    for (name, row) in names.iter().zip(&best) {
        print!("{name:<48}");
        for v in row {
            print!(" {v:>10.0}");
        }
        match row.as_slice() {
            [a, b, ..] => println!("  {:>6.2}", b / a),
            _ => println!(),
        }
    }
    for (i, m) in modules.iter().enumerate() {
        println!("module{} = {m}", i + 1);
    }
    Ok(())
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n_for = |secs: Option<&String>| -> u32 {
        secs.and_then(|s| s.parse::<u32>().ok()).unwrap_or(200_000)
    };
    match args.first().map(String::as_str) {
        None => core_figures(),
        Some("--build-files") => build_files(Path::new(args.get(1).ok_or("directory")?)),
        Some("--direct") => module_figures(args.get(1).ok_or("module")?, n_for(args.get(2))),
        Some("--glibc") => glibc_figures(n_for(args.get(2))),
        Some("--in-namespace") => {
            namespace_main(args.get(2..).unwrap_or_default(), n_for(args.get(1)), 5)
        }
        Some("--modules") => {
            let mods: Vec<String> = args.get(1..).unwrap_or_default().to_vec();
            if mods.is_empty() {
                return Err("--modules OURS.so [THEIRS.so ...]".into());
            }
            core_figures()?;
            println!();
            let me = std::env::current_exe()?;
            let st = Command::new("unshare")
                .args(["--mount", "--propagation", "private"])
                .arg(&me)
                .arg("--in-namespace")
                .arg("50000")
                .args(&mods)
                .status()?;
            if !st.success() {
                return Err(format!("namespace run failed: {st}").into());
            }
            Ok(())
        }
        Some(other) => Err(format!("unknown argument {other}").into()),
    }
}
