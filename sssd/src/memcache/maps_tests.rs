//! The set of maps on real files in a temporary directory, read back as clients read them.

use super::*;
use sss_proto::memcache::{
    BytesRegion, Header, McError, STATUS_ALIVE, STATUS_RECYCLED, Table, rec,
};
use std::os::unix::fs::{FileExt, MetadataExt, PermissionsExt};

const NOW: i64 = 1_700_000_000;

fn settings(dir: &Path) -> McSettings {
    McSettings {
        dir: dir.join("mc"),
        timeout: 300,
        passwd_mib: 1,
        group_mib: 1,
        initgroups_mib: 1,
    }
}

fn pw(name: &str, uid: u32) -> PasswdRecord<'_> {
    PasswdRecord {
        name: name.as_bytes(),
        passwd: b"*",
        uid,
        gid: 100,
        gecos: b"",
        dir: b"/home/x",
        shell: b"/bin/sh",
    }
}

fn read(dir: &Path, kind: MapKind) -> BytesRegion {
    BytesRegion::from_bytes(std::fs::read(dir.join(kind.file_name())).unwrap())
}

fn passwd_uid(dir: &Path, name: &str) -> Result<u32, McError> {
    let r = read(dir, MapKind::Passwd);
    let h = Header::read(&r).unwrap();
    let t = Table::new(&r, &h)?;
    let mut buf = [0u8; 256];
    t.passwd_by_name(name.as_bytes(), NOW, &mut buf)
        .map(|h| h.uid)
}

#[test]
fn open_creates_the_enabled_maps_and_the_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let s = settings(tmp.path());
    // Directory missing: created 0775.
    let mc = MemCache::open(s.clone());
    let meta = std::fs::metadata(&s.dir).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o775);
    let geo = Geometry::for_mib(1).unwrap();
    for k in MapKind::ALL {
        let m = std::fs::metadata(s.dir.join(k.file_name())).unwrap();
        assert_eq!(m.len(), u64::from(geo.file_size), "{k:?}");
        assert_eq!(m.permissions().mode() & 0o7777, 0o664);
        let h = Header::read(&read(&s.dir, k)).unwrap();
        assert_eq!(h.status, STATUS_ALIVE);
    }
    drop(mc);
    // A stale flag and a sid map are removed at start.
    std::fs::write(s.dir.join("clear_mc_flag"), b"").unwrap();
    std::fs::write(s.dir.join("sid"), vec![0u8; 56]).unwrap();
    let _mc = MemCache::open(s.clone());
    assert!(!s.dir.join("clear_mc_flag").exists());
    assert!(!s.dir.join("sid").exists());
}

#[test]
fn disabled_maps_are_removed_and_not_created() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = settings(tmp.path());
    let mc = MemCache::open(s.clone());
    drop(mc);
    let old = std::fs::File::open(s.dir.join("group")).unwrap();
    s.group_mib = 0;
    let mc = MemCache::open(s.clone());
    assert!(!s.dir.join("group").exists());
    assert!(s.dir.join("passwd").exists());
    let mut st = [0u8; 4];
    old.read_exact_at(&mut st, 12).unwrap();
    assert_eq!(
        u32::from_ne_bytes(st),
        STATUS_RECYCLED,
        "readers drop the old file"
    );
    // Operations on a disabled map do nothing.
    mc.invalidate_gid(5);
    mc.recreate_all();
    assert!(!s.dir.join("group").exists());
    drop(mc);
    s.timeout = 0;
    let _mc = MemCache::open(s.clone());
    for k in MapKind::ALL {
        assert!(!s.dir.join(k.file_name()).exists(), "{k:?}");
    }
}

#[test]
fn stores_and_invalidations_reach_the_files() {
    let tmp = tempfile::tempdir().unwrap();
    let s = settings(tmp.path());
    let mc = MemCache::open(s.clone());
    mc.store_passwd(&pw("alice", 1001), NOW);
    assert_eq!(passwd_uid(&s.dir, "alice"), Ok(1001));
    mc.invalidate_uid(1001);
    assert_eq!(passwd_uid(&s.dir, "alice"), Err(McError::NotFound));
    mc.store_passwd(&pw("alice", 1001), NOW);
    mc.invalidate_passwd_name("alice");
    assert_eq!(passwd_uid(&s.dir, "alice"), Err(McError::NotFound));
    mc.store_passwd(&pw("alice", 1001), NOW);
    mc.reset(MapKind::Passwd);
    assert_eq!(passwd_uid(&s.dir, "alice"), Err(McError::NotFound));

    let members: Vec<&[u8]> = vec![b"alice"];
    mc.store_group(
        &GroupRecord {
            name: b"staff",
            passwd: b"*",
            gid: 50,
            members: &members,
        },
        NOW,
    );
    let group_found = || {
        let r = read(&s.dir, MapKind::Group);
        let h = Header::read(&r).unwrap();
        let t = Table::new(&r, &h).unwrap();
        let mut buf = [0u8; 256];
        t.group_by_gid(50, NOW, &mut buf).is_ok()
    };
    assert!(group_found());
    mc.invalidate_group_name("staff");
    assert!(!group_found());

    mc.store_initgroups("Alice", "alice@LDAP", &[50, 60], NOW);
    let initgr = |n: &str| {
        let r = read(&s.dir, MapKind::Initgroups);
        let h = Header::read(&r).unwrap();
        let t = Table::new(&r, &h).unwrap();
        let mut g = Vec::new();
        t.initgroups(n.as_bytes(), NOW, &mut g).map(|()| g)
    };
    assert_eq!(initgr("Alice"), Ok(vec![50, 60]));
    mc.invalidate_initgroups_unique("alice@LDAP");
    assert_eq!(initgr("Alice"), Err(McError::NotFound));
    mc.store_initgroups("Alice", "alice@LDAP", &[50], NOW);
    mc.invalidate_initgroups_name("Alice");
    assert_eq!(initgr("Alice"), Err(McError::NotFound));
}

#[test]
fn a_removed_or_truncated_file_is_recreated_before_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let s = settings(tmp.path());
    let mc = MemCache::open(s.clone());
    let path = s.dir.join("passwd");
    std::fs::remove_file(&path).unwrap();
    mc.store_passwd(&pw("alice", 1001), NOW);
    assert_eq!(passwd_uid(&s.dir, "alice"), Ok(1001));
    // Truncated: writing to the old mapping would fault; the map is made again instead.
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(4096)
        .unwrap();
    mc.store_passwd(&pw("bob", 1002), NOW);
    assert_eq!(passwd_uid(&s.dir, "bob"), Ok(1002));
    assert_eq!(passwd_uid(&s.dir, "alice"), Err(McError::NotFound));
    let geo = Geometry::for_mib(1).unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        u64::from(geo.file_size)
    );
}

#[test]
fn a_corrupt_map_is_saved_and_reset() {
    let tmp = tempfile::tempdir().unwrap();
    let s = settings(tmp.path());
    let mc = MemCache::open(s.clone());
    mc.store_passwd(&pw("alice", 1001), NOW);
    // Make alice's record point to itself in its name chain (through the file: the
    // mapping is shared).
    let path = s.dir.join("passwd");
    let r = read(&s.dir, MapKind::Passwd);
    let h = Header::read(&r).unwrap();
    let t = Table::new(&r, &h).unwrap();
    let bucket = t.bucket(b"alice\0");
    let head_off = u64::from(h.hash_table) + u64::from(bucket) * 4;
    let mut w = [0u8; 4];
    let f = std::fs::File::options()
        .write(true)
        .read(true)
        .open(&path)
        .unwrap();
    f.read_exact_at(&mut w, head_off).unwrap();
    let slot = u32::from_ne_bytes(w);
    let next1 = u64::from(h.data_table) + u64::from(slot) * 40 + rec::NEXT1 as u64;
    f.write_all_at(&slot.to_ne_bytes(), next1).unwrap();
    drop(f);
    // A store of another name of that bucket walks the chain and finds the loop.
    let other = (0..1_000_000)
        .map(|i| format!("x{i}"))
        .find(|n| t.bucket(&[n.as_bytes(), b"\0"].concat()) == bucket)
        .unwrap();
    mc.store_passwd(&pw(&other, 1002), NOW);
    let copy = s.dir.join("passwd_corrupted");
    assert!(copy.exists(), "copy saved");
    assert_eq!(
        std::fs::metadata(&copy).unwrap().permissions().mode() & 0o7777,
        0o600
    );
    assert_eq!(
        passwd_uid(&s.dir, "alice"),
        Err(McError::NotFound),
        "map reset"
    );
    let h2 = Header::read(&read(&s.dir, MapKind::Passwd)).unwrap();
    assert_eq!((h2.status, h2.seed), (STATUS_ALIVE, h.seed));
    // And usable again.
    mc.store_passwd(&pw("alice", 1001), NOW);
    assert_eq!(passwd_uid(&s.dir, "alice"), Ok(1001));
}

#[test]
fn clear_recreates_the_maps_only_when_flagged() {
    let tmp = tempfile::tempdir().unwrap();
    let s = settings(tmp.path());
    let mc = MemCache::open(s.clone());
    mc.store_passwd(&pw("alice", 1001), NOW);
    let ino = |k: MapKind| std::fs::metadata(s.dir.join(k.file_name())).unwrap().ino();
    let before: Vec<u64> = MapKind::ALL.iter().map(|k| ino(*k)).collect();
    assert!(!mc.clear_if_flagged());
    let same: Vec<u64> = MapKind::ALL.iter().map(|k| ino(*k)).collect();
    assert_eq!(before, same);
    assert_eq!(passwd_uid(&s.dir, "alice"), Ok(1001));
    let old = std::fs::File::open(s.dir.join("passwd")).unwrap();
    std::fs::write(s.dir.join("clear_mc_flag"), b"").unwrap();
    assert!(mc.clear_if_flagged());
    assert!(!s.dir.join("clear_mc_flag").exists());
    // A new passwd file (the old inode is still held open, so it cannot be reused).
    assert_ne!(ino(MapKind::Passwd), before[0]);
    assert_eq!(passwd_uid(&s.dir, "alice"), Err(McError::NotFound));
    let mut st = [0u8; 4];
    old.read_exact_at(&mut st, 12).unwrap();
    assert_eq!(u32::from_ne_bytes(st), STATUS_RECYCLED);
    let geo = Geometry::for_mib(1).unwrap();
    assert_eq!(
        std::fs::metadata(s.dir.join("initgroups")).unwrap().len(),
        u64::from(geo.file_size),
        "same size"
    );
}

/// Store timings on a real map file (run by hand: `cargo test --release -p sssd --lib
/// store_timings -- --ignored --nocapture`).
#[test]
#[ignore = "timing measurement, run by hand"]
fn store_timings() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = McSettings::new(tmp.path());
    s.dir = tmp.path().join("mc");
    let mc = MemCache::open(s);
    let names: Vec<String> = (0..20_000).map(|i| format!("user{i:05}")).collect();
    let t = std::time::Instant::now();
    for (i, n) in names.iter().enumerate() {
        mc.store_passwd(&pw(n, 10_000 + i as u32), NOW);
    }
    let per_pw = t.elapsed().as_secs_f64() * 1e6 / names.len() as f64;
    let t = std::time::Instant::now();
    for (i, n) in names.iter().enumerate() {
        mc.store_passwd(&pw(n, 10_000 + i as u32), NOW);
    }
    let per_pw_again = t.elapsed().as_secs_f64() * 1e6 / names.len() as f64;
    let members: Vec<String> = (0..5_000).map(|i| format!("member{i:05}")).collect();
    let refs: Vec<&[u8]> = members.iter().map(|m| m.as_bytes()).collect();
    let rounds = 200;
    let t = std::time::Instant::now();
    for r in 0..rounds {
        let name = format!("big{}", r % 10);
        mc.store_group(
            &GroupRecord {
                name: name.as_bytes(),
                passwd: b"*",
                gid: 50_000 + r % 10,
                members: &refs,
            },
            NOW,
        );
    }
    let per_group = t.elapsed().as_secs_f64() * 1e6 / f64::from(rounds);
    // Past capacity (8 MiB = 104,856 two-slot records): every store evicts.
    let more: Vec<String> = (0..150_000).map(|i| format!("more{i:06}")).collect();
    for (i, n) in more.iter().take(110_000).enumerate() {
        mc.store_passwd(&pw(n, 100_000 + i as u32), NOW);
    }
    let t = std::time::Instant::now();
    for (i, n) in more.iter().enumerate().skip(110_000) {
        mc.store_passwd(&pw(n, 100_000 + i as u32), NOW);
    }
    let per_full = t.elapsed().as_secs_f64() * 1e6 / 40_000.0;
    println!(
        "passwd store: {per_pw:.2} µs (new), {per_pw_again:.2} µs (in place), \
         {per_full:.2} µs (map full, evicting); 5,000-member group store: {per_group:.1} µs"
    );
    assert!(per_pw < 1_000.0 && per_full < 1_000.0 && per_group < 20_000.0);
}
