//! Known-answer tests of the format: files built by hand from the layout (not by a writer),
//! then read with [`Table`].

use super::*;
use proptest::prelude::*;

const NOW: i64 = 1_700_000_000;

/// A hand-made file: header ALIVE, data table 0xff, free table 0, hash table 0xff.
fn hand_file(slots: u32, seed: u32) -> (BytesRegion, Geometry) {
    let geo = Geometry::for_slots(slots).unwrap();
    let mut r = BytesRegion::zeroed(geo.file_size as usize);
    let h = Header::alive(&geo, seed, 0xf000_0001);
    let b = r.bytes_mut();
    b[..HEADER_FIELDS_LEN].copy_from_slice(&h.encode());
    b[geo.data_table as usize..(geo.data_table + geo.dt_size) as usize].fill(0xff);
    b[geo.hash_table as usize..(geo.hash_table + geo.ht_size) as usize].fill(0xff);
    (r, geo)
}

fn bucket(seed: u32, geo: &Geometry, key: &[u8]) -> u32 {
    murmurhash3(key, seed) % geo.buckets()
}

fn id_bucket(seed: u32, geo: &Geometry, id: u32) -> u32 {
    bucket(seed, geo, id_key(id).as_bytes())
}

/// Writes a record by hand at `slot`: header fields then payload.
#[allow(clippy::too_many_arguments)]
fn put_record(
    r: &mut BytesRegion,
    geo: &Geometry,
    slot: u32,
    payload: &[u8],
    hashes: (u32, u32),
    nexts: (u32, u32),
    expire: u64,
) {
    let off = (geo.data_table + slot * SLOT_SIZE) as usize;
    let len = RECORD_HEADER_SIZE as usize + payload.len();
    let b = r.bytes_mut();
    let mut put32 = |at: usize, v: u32| b[off + at..off + at + 4].copy_from_slice(&v.to_ne_bytes());
    put32(rec::B1, 0xf000_0007);
    put32(rec::LEN, len as u32);
    put32(rec::NEXT1, nexts.0);
    put32(rec::NEXT2, nexts.1);
    put32(rec::HASH1, hashes.0);
    put32(rec::HASH2, hashes.1);
    put32(rec::PADDING, u32::MAX);
    put32(rec::B2, 0xf000_0007);
    b[off + rec::EXPIRE..off + rec::EXPIRE + 8].copy_from_slice(&expire.to_ne_bytes());
    b[off + 40..off + len].copy_from_slice(payload);
}

fn set_bucket(r: &mut BytesRegion, geo: &Geometry, bucket: u32, slot: u32) {
    let off = (geo.hash_table + bucket * 4) as usize;
    r.bytes_mut()[off..off + 4].copy_from_slice(&slot.to_ne_bytes());
}

fn table(r: &BytesRegion) -> Table<'_, BytesRegion> {
    let h = Header::read(r).unwrap();
    Table::new(r, &h).unwrap()
}

/// Two names whose keys fall in the same bucket of a `slots`-slot file.
fn colliding_names(seed: u32, geo: &Geometry) -> (String, String) {
    let mut seen = std::collections::HashMap::new();
    for i in 0.. {
        let name = format!("user{i}");
        let b = bucket(seed, geo, &name_key(name.as_bytes()));
        if let Some(other) = seen.insert(b, name.clone()) {
            return (other, name);
        }
    }
    unreachable!()
}

#[test]
fn geometry_matches_sssd_28_files() {
    // Read off Debian's sssd 2.8 passwd file (spec section 2.6) and the spec's sizes.
    let p = Geometry::for_mib(8).unwrap();
    assert_eq!(
        (
            p.dt_size,
            p.ft_size,
            p.ht_size,
            p.data_table,
            p.free_table,
            p.hash_table
        ),
        (8_388_480, 26_214, 838_848, 56, 8_388_536, 8_414_752)
    );
    assert_eq!(p.file_size, 9_253_600);
    assert_eq!(Geometry::for_mib(6).unwrap().file_size, 6_940_392);
    assert_eq!(Geometry::for_mib(10).unwrap().file_size, 11_567_160);
    assert_eq!(Geometry::for_mib(0), None);
    assert_eq!(Geometry::for_slots(1).unwrap().slots, 8);
}

#[test]
fn header_round_trip_and_barriers() {
    let geo = Geometry::for_slots(64).unwrap();
    let h = Header::alive(&geo, 0x1234_5678, 0xf000_0001);
    let mut r = BytesRegion::zeroed(geo.file_size as usize);
    r.bytes_mut()[..52].copy_from_slice(&h.encode());
    assert_eq!(Header::read(&r), Some(h));
    assert!(h.usable());
    assert_eq!(r.load_u32(STATUS_OFFSET as usize), Some(STATUS_ALIVE));
    // A torn header (b2 differs) is never returned.
    r.store_u32(48, 0xf000_0002);
    assert_eq!(Header::read(&r), None);
    // Neither is one without a valid barrier.
    let zero = BytesRegion::zeroed(64);
    assert_eq!(Header::read(&zero), None);
    assert_eq!(Header::read(&BytesRegion::zeroed(10)), None);
    let recycled = Header {
        status: STATUS_RECYCLED,
        ..h
    };
    assert!(!recycled.usable());
}

#[test]
fn barriers() {
    assert!(valid_barrier(0xf000_0000));
    assert!(valid_barrier(0xf0ff_ffff));
    assert!(!valid_barrier(INVALID32));
    assert!(!valid_barrier(0));
    assert_eq!(next_barrier(0), 0xf000_0001);
    assert_eq!(next_barrier(0xf0ff_ffff), 0xf000_0000);
    assert_eq!(next_barrier(INVALID32), 0xf000_0000);
}

#[test]
fn two_colliding_names_are_both_found() {
    let seed = 0x5eed_5eed;
    let (mut r, geo) = hand_file(64, seed);
    let (a, b) = colliding_names(seed, &geo);
    let name_bucket = bucket(seed, &geo, &name_key(a.as_bytes()));
    assert_eq!(name_bucket, bucket(seed, &geo, &name_key(b.as_bytes())));
    let pa = encode_passwd(a.as_bytes(), b"*", 1001, 100, b"A", b"/home/a", b"/bin/sh").unwrap();
    let pb = encode_passwd(b.as_bytes(), b"x", 1002, 100, b"B", b"/home/b", b"/bin/sh").unwrap();
    let (ua, ub) = (id_bucket(seed, &geo, 1001), id_bucket(seed, &geo, 1002));
    let slots_a = slots_for(RECORD_HEADER_SIZE + pa.len() as u32);
    // a at slot 0, b right after it; a's name chain continues to b.
    put_record(
        &mut r,
        &geo,
        0,
        &pa,
        (name_bucket, ua),
        (slots_a, u32::MAX),
        2_000_000_000,
    );
    put_record(
        &mut r,
        &geo,
        slots_a,
        &pb,
        (name_bucket, ub),
        (u32::MAX, u32::MAX),
        2_000_000_000,
    );
    set_bucket(&mut r, &geo, name_bucket, 0);
    if ua == ub {
        // The uid chains collide too: a → b by next2 (unless ua is also the name bucket,
        // in which case next1 already links them).
        if ua != name_bucket {
            let off = (geo.data_table + rec::NEXT2 as u32) as usize;
            r.bytes_mut()[off..off + 4].copy_from_slice(&slots_a.to_ne_bytes());
        }
        set_bucket(&mut r, &geo, ua, 0);
    } else {
        if ua != name_bucket {
            set_bucket(&mut r, &geo, ua, 0);
        }
        if ub != name_bucket {
            set_bucket(&mut r, &geo, ub, slots_a);
        }
    }
    let t = table(&r);
    let mut buf = [0u8; 128];
    let hit = t.passwd_by_name(b.as_bytes(), NOW, &mut buf).unwrap();
    assert_eq!((hit.uid, hit.gid), (1002, 100));
    let strs = split_strings(&buf[..hit.strs_len], 5).unwrap();
    assert_eq!(strs, [b.as_bytes(), b"x", b"B", b"/home/b", b"/bin/sh"]);
    let hit = t.passwd_by_name(a.as_bytes(), NOW, &mut buf).unwrap();
    assert_eq!(hit.uid, 1001);
    assert_eq!(&buf[..a.len()], a.as_bytes());
    assert_eq!(t.passwd_by_uid(1002, NOW, &mut buf).unwrap().uid, 1002);
    assert_eq!(t.passwd_by_uid(1001, NOW, &mut buf).unwrap().uid, 1001);
    assert_eq!(
        t.passwd_by_name(b"nobody", NOW, &mut buf),
        Err(McError::NotFound)
    );
    assert_eq!(t.passwd_by_uid(4242, NOW, &mut buf), Err(McError::NotFound));
}

#[test]
fn expiry_range_and_torn_records() {
    let seed = 7;
    let (mut r, geo) = hand_file(64, seed);
    let p = encode_passwd(b"al", b"*", 5, 6, b"Al", b"/h", b"/s").unwrap();
    let nb = bucket(seed, &geo, b"al\0");
    put_record(
        &mut r,
        &geo,
        3,
        &p,
        (nb, id_bucket(seed, &geo, 5)),
        (u32::MAX, u32::MAX),
        NOW as u64,
    );
    set_bucket(&mut r, &geo, nb, 3);
    let mut buf = [0u8; 64];
    // Fresh exactly at its expiry second, expired after it.
    assert!(table(&r).passwd_by_name(b"al", NOW, &mut buf).is_ok());
    assert_eq!(
        table(&r).passwd_by_name(b"al", NOW + 1, &mut buf),
        Err(McError::Expired)
    );
    // The buffer must hold every string.
    let mut small = [0u8; 8];
    assert_eq!(
        table(&r).passwd_by_name(b"al", NOW, &mut small),
        Err(McError::Range)
    );
    // A record whose barriers disagree is retried, then given up.
    let off = (geo.data_table + 3 * SLOT_SIZE) as usize + rec::B2;
    r.bytes_mut()[off..off + 4].copy_from_slice(&0xf000_0008u32.to_ne_bytes());
    assert_eq!(
        table(&r).passwd_by_name(b"al", NOW, &mut buf),
        Err(McError::Busy)
    );
    // An invalidated record's all-ones expiry is in the past.
    let (mut r2, _) = hand_file(64, seed);
    put_record(
        &mut r2,
        &geo,
        3,
        &p,
        (nb, 0),
        (u32::MAX, u32::MAX),
        INVALID64,
    );
    set_bucket(&mut r2, &geo, nb, 3);
    assert_eq!(
        table(&r2).passwd_by_name(b"al", NOW, &mut buf),
        Err(McError::Expired)
    );
}

#[test]
fn loops_and_bad_offsets_are_corruption() {
    let seed = 9;
    let (mut r, geo) = hand_file(64, seed);
    let p = encode_passwd(b"x", b"*", 5, 6, b"", b"", b"").unwrap();
    let nb = bucket(seed, &geo, b"y\0");
    // A record that is not "y" and chains to itself.
    put_record(&mut r, &geo, 2, &p, (nb, nb), (2, 2), NOW as u64);
    set_bucket(&mut r, &geo, nb, 2);
    let mut buf = [0u8; 64];
    assert!(matches!(
        table(&r).passwd_by_name(b"y", NOW, &mut buf),
        Err(McError::Corrupt(_))
    ));
    // A record whose length runs past the data table.
    let (mut r, geo) = hand_file(64, seed);
    let nb = bucket(seed, &geo, b"x\0");
    put_record(
        &mut r,
        &geo,
        63,
        &p[..0],
        (nb, nb),
        (u32::MAX, u32::MAX),
        NOW as u64,
    );
    let off = (geo.data_table + 63 * SLOT_SIZE) as usize + rec::LEN;
    r.bytes_mut()[off..off + 4].copy_from_slice(&200u32.to_ne_bytes());
    set_bucket(&mut r, &geo, nb, 63);
    assert!(matches!(
        table(&r).passwd_by_name(b"x", NOW, &mut buf),
        Err(McError::Corrupt(_))
    ));
    // A bucket pointing past the data table ends the chain (SSSD's rule).
    let (mut r, geo) = hand_file(64, seed);
    set_bucket(&mut r, &geo, nb, 64);
    assert_eq!(
        table(&r).passwd_by_name(b"x", NOW, &mut buf),
        Err(McError::NotFound)
    );
}

#[test]
fn header_tables_must_fit_the_file() {
    let geo = Geometry::for_slots(64).unwrap();
    let h = Header::alive(&geo, 1, 0xf000_0001);
    let mut r = BytesRegion::zeroed(geo.file_size as usize - 1);
    r.bytes_mut()[..52].copy_from_slice(&h.encode());
    assert!(matches!(Table::new(&r, &h), Err(McError::Corrupt(_))));
    let odd = Header { dt_size: 41, ..h };
    let r = BytesRegion::zeroed(geo.file_size as usize);
    assert!(Table::new(&r, &odd).is_err());
}

#[test]
fn groups_and_initgroups() {
    let seed = 11;
    let (mut r, geo) = hand_file(128, seed);
    let g = encode_group(b"devs", b"*", 2001, &[b"al", b"bo"]).unwrap();
    let nb = bucket(seed, &geo, b"devs\0");
    let gb = id_bucket(seed, &geo, 2001);
    put_record(
        &mut r,
        &geo,
        0,
        &g,
        (nb, gb),
        (u32::MAX, u32::MAX),
        NOW as u64,
    );
    set_bucket(&mut r, &geo, nb, 0);
    if gb != nb {
        set_bucket(&mut r, &geo, gb, 0);
    }
    let mut buf = [0u8; 64];
    let t = table(&r);
    let hit = t.group_by_name(b"devs", NOW, &mut buf).unwrap();
    assert_eq!((hit.gid, hit.members), (2001, 2));
    assert_eq!(
        split_strings(&buf[..hit.strs_len], 4).unwrap(),
        [&b"devs"[..], b"*", b"al", b"bo"]
    );
    assert_eq!(t.group_by_gid(2001, NOW, &mut buf).unwrap().gid, 2001);

    let (mut r, geo) = hand_file(128, seed);
    let ig = encode_initgroups(b"Al", b"al@LDAP", &[2001, 2002, 2003]).unwrap();
    let nb = bucket(seed, &geo, b"Al\0");
    let ub = bucket(seed, &geo, b"al@LDAP\0");
    put_record(
        &mut r,
        &geo,
        5,
        &ig,
        (nb, ub),
        (u32::MAX, u32::MAX),
        NOW as u64,
    );
    set_bucket(&mut r, &geo, nb, 5);
    let t = table(&r);
    let mut gids = vec![99];
    t.initgroups(b"Al", NOW, &mut gids).unwrap();
    assert_eq!(gids, [99, 2001, 2002, 2003]);
    // Lookups go by the name the client typed, not the unique name.
    let mut none = vec![1];
    assert_eq!(
        t.initgroups(b"al@LDAP", NOW, &mut none),
        Err(McError::NotFound)
    );
    assert_eq!(none, [1]);
    assert_eq!(
        t.initgroups(b"Al", NOW + 1, &mut none),
        Err(McError::Expired)
    );
    assert_eq!(none, [1]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary bytes after a plausible header, or an arbitrary header: lookups return
    /// some answer and never panic or loop.
    #[test]
    fn hostile_files_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..4096),
        fields in proptest::array::uniform13(any::<u32>()),
        plausible in any::<bool>(),
        name in "[a-z]{1,8}",
        id in any::<u32>(),
    ) {
        let geo = Geometry::for_slots(64).unwrap();
        let h = if plausible {
            Header::alive(&geo, fields[4], 0xf000_0001)
        } else {
            Header::from_fields(fields)
        };
        let mut bytes = h.encode().to_vec();
        bytes.resize(56, 0);
        bytes.extend_from_slice(&body);
        if plausible {
            bytes.resize(geo.file_size as usize, 0xff);
        }
        let r = BytesRegion::from_bytes(bytes);
        if let Some(h) = Header::read(&r)
            && let Ok(t) = Table::new(&r, &h)
        {
            let mut buf = [0u8; 256];
            let _ = t.passwd_by_name(name.as_bytes(), NOW, &mut buf);
            let _ = t.passwd_by_uid(id, NOW, &mut buf);
            let _ = t.group_by_name(name.as_bytes(), NOW, &mut buf);
            let _ = t.group_by_gid(id, NOW, &mut buf);
            let mut gids = Vec::new();
            let _ = t.initgroups(name.as_bytes(), NOW, &mut gids);
        }
    }
}
