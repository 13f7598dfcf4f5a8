//! Writer tests on a plain buffer, read back with the client-side [`Table`] lookups and by
//! inspecting bytes.

use super::*;
use sss_proto::memcache::{BytesRegion, Header, McError, STATUS_ALIVE, Table};
use std::result::Result;

const NOW: i64 = 1_700_000_000;
const SEED: u32 = 0x1234_5678;

fn map(kind: MapKind, slots: u32) -> MapWriter<BytesRegion> {
    let geo = Geometry::for_slots(slots).unwrap();
    let r = BytesRegion::zeroed(geo.file_size as usize);
    MapWriter::init(r, kind, geo, SEED, 300).unwrap()
}

fn pw(name: &str, uid: u32) -> PasswdRecord<'_> {
    PasswdRecord {
        name: name.as_bytes(),
        passwd: b"*",
        uid,
        gid: uid + 100,
        gecos: b"G",
        dir: b"/h",
        shell: b"/s",
    }
}

fn table(w: &MapWriter<BytesRegion>) -> (Header, &BytesRegion) {
    let h = Header::read(w.region()).unwrap();
    (h, w.region())
}

/// The uid of passwd entry `name`, or the lookup error.
fn by_name(w: &MapWriter<BytesRegion>, name: &str) -> Result<u32, McError> {
    let (h, r) = table(w);
    let t = Table::new(r, &h)?;
    let mut buf = vec![0u8; 4096];
    let hit = t.passwd_by_name(name.as_bytes(), NOW, &mut buf)?;
    Ok(hit.uid)
}

/// The name of passwd entry `uid`, or the lookup error.
fn by_uid(w: &MapWriter<BytesRegion>, uid: u32) -> Result<String, McError> {
    let (h, r) = table(w);
    let t = Table::new(r, &h)?;
    let mut buf = vec![0u8; 4096];
    let hit = t.passwd_by_uid(uid, NOW, &mut buf)?;
    let end = buf.iter().position(|b| *b == 0).unwrap();
    assert!(hit.strs_len > end);
    Ok(String::from_utf8(buf[..end].to_vec()).unwrap())
}

fn used_bits(w: &MapWriter<BytesRegion>) -> u32 {
    let g = w.geometry();
    let ft = &w.region().bytes()[g.free_table as usize..(g.free_table + g.ft_size) as usize];
    ft.iter().map(|b| b.count_ones()).sum()
}

fn bucket_of(w: &MapWriter<BytesRegion>, key: &str) -> u32 {
    murmurhash3(&name_key(key.as_bytes()), SEED) % w.geometry().buckets()
}

#[test]
fn init_writes_an_alive_header_and_empty_tables() {
    let w = map(MapKind::Passwd, 8 * 26214);
    let h = Header::read(w.region()).unwrap();
    let g = *w.geometry();
    assert_eq!(h.b1, 0xf000_0001);
    assert_eq!(h.b2, h.b1);
    assert_eq!((h.major_vno, h.minor_vno, h.status), (1, 1, STATUS_ALIVE));
    assert_eq!(h.seed, SEED);
    // The figures Debian's sssd 2.8.2 writes for memcache_size_passwd = 8.
    assert_eq!(
        (h.dt_size, h.ft_size, h.ht_size),
        (8_388_480, 26_214, 838_848)
    );
    assert_eq!(
        (h.data_table, h.free_table, h.hash_table, h.reserved),
        (56, 8_388_536, 8_414_752, 0)
    );
    assert_eq!(g.file_size, 9_253_600);
    let b = w.region().bytes();
    assert!(b[56..(56 + g.dt_size) as usize].iter().all(|x| *x == 0xff));
    let ft = g.free_table as usize;
    assert!(b[ft..ft + g.ft_size as usize].iter().all(|x| *x == 0));
    let ht = g.hash_table as usize;
    assert!(b[ht..ht + g.ht_size as usize].iter().all(|x| *x == 0xff));
}

#[test]
fn a_region_too_small_is_refused() {
    let geo = Geometry::for_slots(64).unwrap();
    let r = BytesRegion::zeroed(geo.file_size as usize - 1);
    let e = MapWriter::init(r, MapKind::Passwd, geo, 1, 300).unwrap_err();
    assert!(matches!(e, TableError::Region { .. }), "{e}");
}

#[test]
fn a_stored_user_is_found_by_name_and_by_uid() {
    let mut w = map(MapKind::Passwd, 256);
    w.store_passwd(&pw("alice", 1001), NOW).unwrap();
    assert_eq!(by_name(&w, "alice"), Ok(1001));
    assert_eq!(by_uid(&w, 1001).as_deref(), Ok("alice"));
    assert_eq!(by_name(&w, "bob"), Err(McError::NotFound));
    // Expiry is now + memcache_timeout.
    let (h, r) = table(&w);
    let t = Table::new(r, &h).unwrap();
    let mut buf = [0u8; 256];
    assert!(t.passwd_by_name(b"alice", NOW + 300, &mut buf).is_ok());
    assert_eq!(
        t.passwd_by_name(b"alice", NOW + 301, &mut buf),
        Err(McError::Expired)
    );
    // The record bytes: barriers agree, len, hashes, strings.
    let slot = w.slot_of_name(b"alice").unwrap().unwrap();
    let off = 56 + slot as usize * 40;
    let rh = RecordHeader::load(w.region(), off).unwrap();
    assert!(valid_barrier(rh.b1) && rh.b1 == rh.b2);
    assert_eq!(rh.len, 40 + 16 + 16); // "alice\0*\0G\0/h\0/s\0"
    assert_eq!(rh.expire, (NOW + 300) as u64);
    assert_eq!(rh.hash1, bucket_of(&w, "alice"));
    assert_eq!(rh.hash2, bucket_of(&w, "1001"));
    assert_eq!(
        &w.region().bytes()[off + 56..off + 72],
        b"alice\0*\0G\0/h\0/s\0"
    );
    assert_eq!(used_bits(&w), 2);
}

#[test]
fn groups_are_stored_with_their_members() {
    let mut w = map(MapKind::Group, 256);
    let members: Vec<&[u8]> = vec![b"u1", b"u2", b"u3"];
    w.store_group(
        &GroupRecord {
            name: b"staff",
            passwd: b"*",
            gid: 50,
            members: &members,
        },
        NOW,
    )
    .unwrap();
    let (h, r) = table(&w);
    let t = Table::new(r, &h).unwrap();
    let mut buf = [0u8; 256];
    let hit = t.group_by_gid(50, NOW, &mut buf).unwrap();
    assert_eq!(hit.members, 3);
    assert_eq!(&buf[..hit.strs_len], b"staff\0*\0u1\0u2\0u3\0");
    assert!(t.group_by_name(b"staff", NOW, &mut buf).is_ok());
    // Wrong map operations are refused.
    assert!(matches!(
        w.store_passwd(&pw("x", 1), NOW),
        Err(TableError::WrongMap(_))
    ));
}

/// Names whose `hash1` buckets collide in a map of `slots` slots.
fn colliding(w: &MapWriter<BytesRegion>, count: usize) -> Vec<String> {
    let mut by_bucket: std::collections::HashMap<u32, Vec<String>> = Default::default();
    for i in 0..100_000 {
        let n = format!("user{i}");
        let v = by_bucket.entry(bucket_of(w, &n)).or_default();
        v.push(n);
        if v.len() == count {
            return v.clone();
        }
    }
    panic!("no collision found");
}

#[test]
fn colliding_names_are_both_found_and_invalidated_separately() {
    let mut w = map(MapKind::Passwd, 64);
    let names = colliding(&w, 3);
    for (i, n) in names.iter().enumerate() {
        w.store_passwd(&pw(n, 2000 + i as u32), NOW).unwrap();
    }
    for (i, n) in names.iter().enumerate() {
        assert_eq!(by_name(&w, n), Ok(2000 + i as u32), "{n}");
    }
    // Remove the middle of the chain, then the head.
    assert!(w.invalidate_name(names[1].as_bytes()).unwrap());
    assert_eq!(by_name(&w, &names[1]), Err(McError::NotFound));
    assert_eq!(by_name(&w, &names[0]), Ok(2000));
    assert_eq!(by_name(&w, &names[2]), Ok(2002));
    assert!(w.invalidate_name(names[0].as_bytes()).unwrap());
    assert_eq!(by_name(&w, &names[2]), Ok(2002));
    assert_eq!(by_uid(&w, 2002).as_deref(), Ok(names[2].as_str()));
    assert!(!w.invalidate_name(names[0].as_bytes()).unwrap());
}

#[test]
fn a_rewrite_of_the_same_size_stays_in_place() {
    let mut w = map(MapKind::Passwd, 256);
    w.store_passwd(&pw("alice", 1001), NOW).unwrap();
    let slot = w.slot_of_name(b"alice").unwrap();
    let mut p = pw("alice", 1001);
    p.gecos = b"Alice"; // 4 more bytes, still 2 slots
    w.store_passwd(&p, NOW + 10).unwrap();
    assert_eq!(w.slot_of_name(b"alice").unwrap(), slot);
    let (h, r) = table(&w);
    let t = Table::new(r, &h).unwrap();
    let mut buf = [0u8; 256];
    let hit = t.passwd_by_name(b"alice", NOW + 305, &mut buf).unwrap();
    assert_eq!(&buf[..hit.strs_len], b"alice\0*\0Alice\0/h\0/s\0");
    assert_eq!(used_bits(&w), 2);
    // The barrier moved on.
    let off = 56 + slot.unwrap() as usize * 40;
    assert_eq!(RecordHeader::load(w.region(), off).unwrap().b1, 0xf000_0001);
}

#[test]
fn a_bigger_record_moves() {
    let mut w = map(MapKind::Passwd, 256);
    w.store_passwd(&pw("alice", 1001), NOW).unwrap();
    w.store_passwd(&pw("bob", 1002), NOW).unwrap();
    assert_eq!(w.slot_of_name(b"alice").unwrap(), Some(0));
    let mut p = pw("alice", 1001);
    p.gecos = &[b'x'; 100];
    w.store_passwd(&p, NOW).unwrap();
    // Slots 0..1 are free again but too few: the record moves after bob.
    assert_eq!(w.slot_of_name(b"alice").unwrap(), Some(4));
    assert_eq!(by_uid(&w, 1001).as_deref(), Ok("alice"));
    assert_eq!(by_name(&w, "bob"), Ok(1002));
    assert_eq!(used_bits(&w), 7);
}

#[test]
fn a_changed_uid_moves_the_record() {
    let mut w = map(MapKind::Passwd, 256);
    w.store_passwd(&pw("alice", 1001), NOW).unwrap();
    let slot = w.slot_of_name(b"alice").unwrap().unwrap();
    w.store_passwd(&pw("alice", 1002), NOW).unwrap();
    // Invalidated and written afresh (the freed slots are the first free ones): a fresh
    // record's barrier, and chained under the new uid's bucket.
    assert_eq!(w.slot_of_name(b"alice").unwrap(), Some(slot));
    let h = RecordHeader::load(w.region(), 56 + slot as usize * 40).unwrap();
    assert_eq!(h.b1, 0xf000_0000);
    assert_eq!(h.hash2, bucket_of(&w, "1002"));
    assert_eq!(by_uid(&w, 1001), Err(McError::NotFound));
    assert_eq!(by_uid(&w, 1002).as_deref(), Ok("alice"));
    assert_eq!(by_name(&w, "alice"), Ok(1002));
    assert_eq!(used_bits(&w), 2);
}

#[test]
fn a_renamed_user_leaves_no_stale_name_for_its_uid() {
    let mut w = map(MapKind::Passwd, 256);
    w.store_passwd(&pw("alice", 1001), NOW).unwrap();
    w.store_passwd(&pw("alicia", 1001), NOW).unwrap();
    assert_eq!(by_uid(&w, 1001).as_deref(), Ok("alicia"));
    assert_eq!(by_name(&w, "alice"), Err(McError::NotFound));
    assert!(w.invalidate_id(1001).unwrap());
    assert_eq!(by_name(&w, "alicia"), Err(McError::NotFound));
    assert_eq!(used_bits(&w), 0);
}

#[test]
fn invalidation_leaves_all_ones_and_frees_the_slots() {
    let mut w = map(MapKind::Passwd, 64);
    w.store_passwd(&pw("alice", 1001), NOW).unwrap();
    let slot = w.slot_of_name(b"alice").unwrap().unwrap() as usize;
    assert!(w.invalidate_id(1001).unwrap());
    let b = w.region().bytes();
    let off = 56 + slot * 40;
    assert!(
        b[off..off + 80].iter().all(|x| *x == 0xff),
        "{:?}",
        &b[off..off + 80]
    );
    assert_eq!(used_bits(&w), 0);
    let g = *w.geometry();
    let ht = &b[g.hash_table as usize..(g.hash_table + g.ht_size) as usize];
    assert!(ht.iter().all(|x| *x == 0xff), "buckets emptied");
    assert!(!w.invalidate_id(1001).unwrap());
}

#[test]
fn fifo_eviction_drops_the_oldest_and_reports_full_once_per_wrap() {
    // 64 slots; each record takes 2 slots: 32 records fill the map.
    let mut w = map(MapKind::Passwd, 64);
    let name = |i: u32| format!("u{i:03}");
    for i in 0..32 {
        w.store_passwd(&pw(&name(i), 5000 + i), NOW).unwrap();
    }
    assert_eq!(w.full_events(), 0);
    assert_eq!(used_bits(&w), 64);
    for i in 32..48 {
        w.store_passwd(&pw(&name(i), 5000 + i), NOW).unwrap();
    }
    assert_eq!(w.full_events(), 1, "one message for the first wrap");
    for i in 0..16 {
        assert_eq!(by_name(&w, &name(i)), Err(McError::NotFound), "{i} evicted");
    }
    for i in 16..48 {
        assert_eq!(by_name(&w, &name(i)), Ok(5000 + i), "{i} present");
    }
    for i in 48..96 {
        w.store_passwd(&pw(&name(i), 5000 + i), NOW).unwrap();
    }
    assert_eq!(w.full_events(), 2, "one more for the second wrap");
    for i in 64..96 {
        assert_eq!(by_name(&w, &name(i)), Ok(5000 + i), "{i} present");
    }
    assert_eq!(by_name(&w, &name(63)), Err(McError::NotFound));
    assert_eq!(used_bits(&w), 64);
}

#[test]
fn a_record_that_does_not_fit_before_the_end_wraps_to_slot_0() {
    // 64 slots: 31 records of 2 slots leave slots 62..63 free; then fill them and evict.
    let mut w = map(MapKind::Passwd, 64);
    for i in 0..32 {
        w.store_passwd(&pw(&format!("u{i:03}"), 5000 + i), NOW)
            .unwrap();
    }
    // Evict two 2-slot records: next_slot = 4.
    w.store_passwd(&pw("n1", 7001), NOW).unwrap();
    w.store_passwd(&pw("n2", 7002), NOW).unwrap();
    assert_eq!(w.slot_of_name(b"n1").unwrap(), Some(0));
    assert_eq!(w.slot_of_name(b"n2").unwrap(), Some(2));
    // Free two records near the end (slots 60..63), then store a 3-slot record: the free
    // run fits there, so it goes there.
    assert!(w.invalidate_id(5030).unwrap());
    assert!(w.invalidate_id(5031).unwrap());
    let mut big = pw("big", 7003);
    big.gecos = b"0123456789012345678901234567890";
    w.store_passwd(&big, NOW).unwrap();
    assert_eq!(w.slot_of_name(b"big").unwrap(), Some(60));
    // Now a 3-slot record with no free run evicts at next_slot (4) onwards.
    let mut big2 = pw("big2", 7004);
    big2.gecos = b"0123456789012345678901234567890";
    w.store_passwd(&big2, NOW).unwrap();
    assert_eq!(w.slot_of_name(b"big2").unwrap(), Some(4));
    // Drive next_slot close to the end: evict in 2-slot steps up to slot 62.
    let mut i = 0;
    while w.run_start(2) < 58 {
        w.store_passwd(&pw(&format!("f{i}"), 8000 + i), NOW)
            .unwrap();
        i += 1;
    }
    let before = w.full_events();
    // next_slot = 58: a 7-slot record would pass the end, so it goes to slot 0.
    let mut huge = pw("huge", 9000);
    let gecos = [b'g'; 200];
    huge.gecos = &gecos;
    w.store_passwd(&huge, NOW).unwrap();
    assert_eq!(w.slot_of_name(b"huge").unwrap(), Some(0));
    assert_eq!(w.full_events(), before + 1);
    assert_eq!(by_name(&w, "huge"), Ok(9000));
    assert_eq!(by_name(&w, "n1"), Err(McError::NotFound));
}

#[test]
fn eviction_of_a_record_that_starts_before_next_slot() {
    let mut w = map(MapKind::Passwd, 64);
    for i in 0..32 {
        w.store_passwd(&pw(&format!("u{i:03}"), 5000 + i), NOW)
            .unwrap();
    }
    let three = |n: &'static str, uid| {
        let mut p = pw(n, uid);
        p.gecos = b"0123456789012345678901234567890";
        p
    };
    // A 3-slot record evicts u000 and u001: next_slot = 3, slot 3 free.
    w.store_passwd(&three("a", 7000), NOW).unwrap();
    assert_eq!(w.slot_of_name(b"a").unwrap(), Some(0));
    assert!(w.invalidate_id(7000).unwrap());
    // Slots 0..3 free; the free search starts at 3 (blocked at 4), wraps, fills 0 then 2.
    w.store_passwd(&pw("c", 7001), NOW).unwrap();
    w.store_passwd(&pw("d", 7002), NOW).unwrap();
    assert_eq!(w.slot_of_name(b"c").unwrap(), Some(0));
    assert_eq!(w.slot_of_name(b"d").unwrap(), Some(2));
    // No free run: eviction at slot 3, the middle of "d".
    w.store_passwd(&pw("e", 7003), NOW).unwrap();
    assert_eq!(w.slot_of_name(b"e").unwrap(), Some(3));
    assert_eq!(by_name(&w, "d"), Err(McError::NotFound));
    assert_eq!(by_name(&w, "u002"), Err(McError::NotFound));
    assert_eq!(by_name(&w, "c"), Ok(7001));
    assert_eq!(by_name(&w, "e"), Ok(7003));
    assert_eq!(by_name(&w, "u003"), Ok(5003));
    assert_eq!(used_bits(&w), 62);
}

#[test]
fn initgroups_are_found_by_client_name_and_replaced_by_unique_name() {
    let mut w = map(MapKind::Initgroups, 256);
    w.store_initgroups(b"Alice", b"alice@LDAP", &[10, 20], NOW)
        .unwrap();
    let read = |w: &MapWriter<BytesRegion>, n: &str| {
        let (h, r) = table(w);
        let t = Table::new(r, &h).unwrap();
        let mut g = Vec::new();
        t.initgroups(n.as_bytes(), NOW, &mut g).map(|()| g)
    };
    assert_eq!(read(&w, "Alice"), Ok(vec![10, 20]));
    // Same user, other spelling: one record per unique name.
    w.store_initgroups(b"alice", b"alice@LDAP", &[10, 20, 30], NOW)
        .unwrap();
    assert_eq!(read(&w, "alice"), Ok(vec![10, 20, 30]));
    assert_eq!(read(&w, "Alice"), Err(McError::NotFound));
    // Another user under the same client name replaces the first.
    w.store_initgroups(b"alice", b"alice@OTHER", &[7], NOW)
        .unwrap();
    assert_eq!(read(&w, "alice"), Ok(vec![7]));
    assert_eq!(w.slot_of_unique(b"alice@LDAP").unwrap(), None);
    assert!(w.invalidate_initgr_unique(b"alice@OTHER").unwrap());
    assert_eq!(read(&w, "alice"), Err(McError::NotFound));
    w.store_initgroups(b"bob", b"bob@LDAP", &[], NOW).unwrap();
    assert_eq!(read(&w, "bob"), Ok(vec![]));
    assert!(w.invalidate_initgr_name(b"bob").unwrap());
    assert_eq!(read(&w, "bob"), Err(McError::NotFound));
    assert_eq!(used_bits(&w), 0);
}

#[test]
fn a_record_larger_than_the_table_is_refused() {
    let mut w = map(MapKind::Group, 8);
    let members: Vec<Vec<u8>> = (0..100)
        .map(|i| format!("member{i}").into_bytes())
        .collect();
    let refs: Vec<&[u8]> = members.iter().map(|m| m.as_slice()).collect();
    let g = GroupRecord {
        name: b"big",
        passwd: b"*",
        gid: 1,
        members: &refs,
    };
    assert!(matches!(
        w.store_group(&g, NOW),
        Err(TableError::TooLarge { .. })
    ));
    let mut p = pw("a", 1);
    p.name = b"a\0b";
    let mut w = map(MapKind::Passwd, 8);
    assert_eq!(w.store_passwd(&p, NOW), Err(TableError::Encoding));
}

#[test]
fn a_looped_chain_is_corruption_not_a_hang() {
    let mut w = map(MapKind::Passwd, 64);
    let names = colliding(&w, 3);
    w.store_passwd(&pw(&names[0], 1), NOW).unwrap();
    w.store_passwd(&pw(&names[1], 2), NOW).unwrap();
    let s0 = w.slot_of_name(names[0].as_bytes()).unwrap().unwrap();
    let s1 = w.slot_of_name(names[1].as_bytes()).unwrap().unwrap();
    // Link the second record back to the first.
    let off = 56 + s1 as usize * 40 + rec::NEXT1;
    assert!(w.region_mut().store_u32(off, s0));
    let e = w.store_passwd(&pw(&names[2], 3), NOW).unwrap_err();
    assert!(matches!(e, TableError::Corrupt(_)), "{e}");
    assert!(matches!(
        w.invalidate_name(names[2].as_bytes()),
        Err(TableError::Corrupt(_))
    ));
    // Readers see the same.
    assert!(matches!(by_name(&w, &names[2]), Err(McError::Corrupt(_))));
    // A reset makes the map usable again.
    w.reset().unwrap();
    let h = Header::read(w.region()).unwrap();
    assert_eq!((h.status, h.seed), (STATUS_ALIVE, SEED));
    assert_eq!(
        h.b1, 0xf000_0003,
        "UNINIT then ALIVE, each with the barriers"
    );
    w.store_passwd(&pw(&names[2], 3), NOW).unwrap();
    assert_eq!(by_name(&w, &names[2]), Ok(3));
    assert_eq!(used_bits(&w), 2);
}

#[test]
fn hostile_links_are_corruption() {
    // A bucket pointing outside the table.
    let mut w = map(MapKind::Passwd, 64);
    let b = bucket_of(&w, "alice");
    let off = w.geometry().hash_table as usize + b as usize * 4;
    assert!(w.region_mut().store_u32(off, 10_000));
    assert!(matches!(
        w.store_passwd(&pw("alice", 1), NOW),
        Err(TableError::Corrupt(_))
    ));
    // A bucket pointing into the middle of a record.
    let mut w = map(MapKind::Passwd, 64);
    w.store_passwd(&pw("bob", 2), NOW).unwrap();
    let s = w.slot_of_name(b"bob").unwrap().unwrap();
    let b = bucket_of(&w, "alice");
    let off = w.geometry().hash_table as usize + b as usize * 4;
    assert!(w.region_mut().store_u32(off, s + 1));
    assert!(matches!(
        w.invalidate_name(b"alice"),
        Err(TableError::Corrupt(_))
    ));
    // A record whose length was enlarged past the table.
    let mut w = map(MapKind::Passwd, 64);
    w.store_passwd(&pw("carol", 3), NOW).unwrap();
    let s = w.slot_of_name(b"carol").unwrap().unwrap();
    let off = 56 + s as usize * 40 + rec::LEN;
    assert!(w.region_mut().store_u32(off, 65 * 40));
    assert!(matches!(w.invalidate_id(3), Err(TableError::Corrupt(_))));
    // Or inside it but not the payload's length.
    assert!(w.region_mut().store_u32(off, 64 * 40));
    assert!(matches!(w.invalidate_id(3), Err(TableError::Corrupt(_))));
}

#[test]
fn a_name_and_id_in_the_same_bucket_chain_once() {
    // Find a user whose name and uid hash to the same bucket.
    let w0 = map(MapKind::Passwd, 8);
    let buckets = w0.geometry().buckets();
    let (name, uid) = (0..10_000u32)
        .map(|i| (format!("s{i}"), 100 + i))
        .find(|(n, u)| {
            murmurhash3(&name_key(n.as_bytes()), SEED) % buckets
                == murmurhash3(id_key(*u).as_bytes(), SEED) % buckets
        })
        .unwrap();
    let mut w = map(MapKind::Passwd, 8);
    w.store_passwd(&pw(&name, uid), NOW).unwrap();
    let s = w.slot_of_name(name.as_bytes()).unwrap().unwrap();
    let h = RecordHeader::load(w.region(), 56 + s as usize * 40).unwrap();
    assert_eq!(h.hash1, h.hash2);
    assert_eq!((h.next1, h.next2), (INVALID32, INVALID32), "no self-link");
    assert_eq!(by_uid(&w, uid).as_deref(), Ok(name.as_str()));
    assert!(w.invalidate_name(name.as_bytes()).unwrap());
    assert_eq!(by_uid(&w, uid), Err(McError::NotFound));
}

#[test]
fn bits_find_the_last_start() {
    let mut b = alloc::Bits::new(200);
    assert_eq!(b.last_at_or_below(150), None);
    b.set(3, true);
    b.set(64, true);
    b.set(127, true);
    assert_eq!(b.last_at_or_below(2), None);
    assert_eq!(b.last_at_or_below(3), Some(3));
    assert_eq!(b.last_at_or_below(63), Some(3));
    assert_eq!(b.last_at_or_below(64), Some(64));
    assert_eq!(b.last_at_or_below(126), Some(64));
    assert_eq!(b.last_at_or_below(199), Some(127));
    b.set(64, false);
    assert_eq!(b.last_at_or_below(100), Some(3));
}
