#![allow(clippy::unwrap_used)]

use super::table::{IdRange, Lookup, SliceParams, Table};
use super::{IdMapper, IdmapError, IdmapOptions, SLICE_HASH_SEED, Sid};
use crate::config::Config;
use sss_proto::memcache::murmurhash3;

fn sid(s: &str) -> Sid {
    Sid::parse(s).unwrap()
}

fn defaults() -> SliceParams {
    SliceParams {
        lower: 200_000,
        upper: 2_000_200_000,
        range_size: 200_000,
        autorid: false,
        helpers: 10,
    }
}

fn id(t: &mut Table, s: &str) -> Result<Lookup, IdmapError> {
    t.sid_to_id(&sid(s))
}

fn ids(min: u32, max: u32) -> IdRange {
    IdRange { min, max }
}

#[test]
fn murmurhash3_vectors() {
    // SSSD's own (src/tests/pysss_murmur-test.py).
    let dom = b"S-1-5-21-2153326666-2176343378-3404031434";
    assert_eq!(murmurhash3(dom, 0xdead_beef), 93_103_853);
    assert_eq!(murmurhash3(b"", 0xdead_beef), 233_162_409);
    assert_eq!(murmurhash3(b"test_user1\0", 0xbeef_dead), 1_198_610_880);
    assert_eq!(
        murmurhash3(b"test_user1\0\0\0\0\0", 0xbeef_dead),
        2_917_868_047
    );
    // Published MurmurHash3_x86_32 vectors.
    assert_eq!(murmurhash3(b"", 0), 0);
    assert_eq!(murmurhash3(b"", 1), 0x514e_28b7);
    assert_eq!(murmurhash3(b"\x21\x43\x65\x87", 0x5082_edee), 0x2362_f9de);
    assert_eq!(murmurhash3(b"\x21\x43\x65", 0), 0x7e4a_8634);
    assert_eq!(murmurhash3(b"Hello, world!", 1234), 0xfaf6_cdb3);
    assert_eq!(SLICE_HASH_SEED, 0xdead_beef);
}

/// End to end with the defaults: the domain's slice is its SID's hash (93103853, SSSD's
/// own vector) modulo 10000 slices = 3853, so ids start at 200000 + 3853 * 200000.
#[test]
fn administrator_of_sssd_test_domain() {
    let mut m = IdMapper::new(IdmapOptions::defaults());
    let admin = sid("S-1-5-21-2153326666-2176343378-3404031434-500");
    assert_eq!(m.sid_to_id(&admin).unwrap(), 770_800_500);
    assert_eq!(m.id_to_sid(770_800_500), Some(admin.clone()));
    let from_ldap = Sid::from_bytes(&admin.to_bytes()).unwrap();
    assert_eq!(m.sid_to_id(&from_ldap).unwrap(), 770_800_500);
    let stored = m.primary_slices();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].slice, 3853);
    assert_eq!(stored[0].name, "S-1-5-21-2153326666-2176343378-3404031434");
}

/// SSSD's ticket 2922 test (src/tests/cmocka/test_sss_idmap.c): slice 9212 for
/// S-1-5-21-123-456-789, and the slice's first and last ids.
#[test]
fn sssd_2922_slice_and_bounds() {
    let t = Table::new(defaults());
    let (slice, r) = t.choose_slice("S-1-5-21-123-456-789", None).unwrap();
    assert_eq!((slice, r.min, r.max), (9212, 1_842_600_000, 1_842_799_999));

    let opts = IdmapOptions {
        helper_table_size: 0,
        ..IdmapOptions::defaults()
    };
    let mut m = IdMapper::new(opts);
    let d = "S-1-5-21-123-456-789";
    assert_eq!(m.sid_to_id(&sid(&format!("{d}-0"))).unwrap(), 1_842_600_000);
    assert_eq!(
        m.sid_to_id(&sid(&format!("{d}-199999"))).unwrap(),
        1_842_799_999
    );
    assert_eq!(m.id_to_sid(1_842_600_000), Some(sid(&format!("{d}-0"))));
    assert_eq!(
        m.id_to_sid(1_842_799_999),
        Some(sid(&format!("{d}-199999")))
    );
    assert_eq!(m.id_to_sid(1_842_800_000), None);
    let err = m.sid_to_id(&sid(&format!("{d}-200000"))).unwrap_err();
    assert!(matches!(err, IdmapError::NoRange { .. }), "{err:?}");
}

/// src/tests/cmocka/test_sss_idmap.c, test_map_id_sec_slices: two ranges of one domain,
/// RID 4000000 lands in a new secondary slice at 575600000.
#[test]
fn sssd_cmocka_secondary_slice() {
    let mut t = Table::new(defaults());
    let d = sid("S-1-5-21-123-456-789");
    t.add_primary("test.dom", &d, ids(200_000, 399_999), 0, None)
        .unwrap();
    t.add_primary("test.dom", &d, ids(1_200_000, 1_399_999), 1_000_000, None)
        .unwrap();
    assert_eq!(
        id(&mut t, "S-1-5-21-123-456-7891-1").unwrap(),
        Lookup::NoDomain
    );
    assert_eq!(
        id(&mut t, "S-1-5-21-123-456-789-4000000").unwrap(),
        Lookup::Id(575_600_000)
    );
    assert_eq!(
        id(&mut t, "S-1-5-21-123-456-789-0").unwrap(),
        Lookup::Id(200_000)
    );
    assert_eq!(
        id(&mut t, "S-1-5-21-123-456-789-1000000").unwrap(),
        Lookup::Id(1_200_000)
    );
    assert_eq!(t.id_to_sid(1_200_000), Some(d.with_rid(1_000_000)));
    assert_eq!(t.id_to_sid(575_600_000), Some(d.with_rid(4_000_000)));
    assert_eq!(t.id_to_sid(999_999), None);
}

/// src/tests/sss_idmap-tests.c: a domain whose first range starts at 1234, with the
/// default ten helper slices.
fn sec_slice_table() -> Table {
    let mut t = Table::new(defaults());
    t.add_primary(
        "test.dom",
        &sid("S-1-5-21-1-2-3"),
        ids(1234, 201_233),
        0,
        None,
    )
    .unwrap();
    t
}

#[test]
fn sssd_check_secondary_slices() {
    let mut t = sec_slice_table();
    assert_eq!(
        id(&mut t, "S-1-5-21-1-2-3333-1000").unwrap(),
        Lookup::NoDomain
    );
    // Beyond the precomputed helpers: a slice chosen on demand.
    assert_eq!(
        id(&mut t, "S-1-5-21-1-2-3-4000000").unwrap(),
        Lookup::Id(351_800_000)
    );
    assert_eq!(id(&mut t, "S-1-5-21-1-2-3-1000").unwrap(), Lookup::Id(2234));
    // In the first helper slice.
    assert_eq!(
        id(&mut t, "S-1-5-21-1-2-3-210000").unwrap(),
        Lookup::Id(832_610_000)
    );

    // Reverse: a helper slice not used yet is found and put into use.
    let mut t = sec_slice_table();
    assert_eq!(t.id_to_sid(1234 + 200_000 + 1), None);
    assert_eq!(t.id_to_sid(2234), Some(sid("S-1-5-21-1-2-3-1000")));
    assert_eq!(t.id_to_sid(313_800_000), Some(sid("S-1-5-21-1-2-3-400000")));
    assert_eq!(
        id(&mut t, "S-1-5-21-1-2-3-400000").unwrap(),
        Lookup::Id(313_800_000)
    );

    // A slice chosen on demand is known to the reverse mapping only once used.
    let mut t = sec_slice_table();
    assert_eq!(t.id_to_sid(351_800_000), None);
    assert_eq!(
        id(&mut t, "S-1-5-21-1-2-3-4000000").unwrap(),
        Lookup::Id(351_800_000)
    );
    assert_eq!(
        t.id_to_sid(351_800_000),
        Some(sid("S-1-5-21-1-2-3-4000000"))
    );
}

/// sss_idmap-tests.c with slices of 10 ids and 5 helpers: RIDs 0..=80 all map and map back.
#[test]
fn sssd_additional_secondary_slices() {
    let mut t = Table::new(SliceParams {
        range_size: 10,
        helpers: 5,
        ..defaults()
    });
    t.add_primary("test.dom", &sid("S-1-5-21-1-2-3"), ids(1234, 1243), 0, None)
        .unwrap();
    let mut got = Vec::new();
    for rid in 0..=80u32 {
        let s = sid(&format!("S-1-5-21-1-2-3-{rid}"));
        let Lookup::Id(n) = t.sid_to_id(&s).unwrap() else {
            panic!("{s} not mapped");
        };
        got.push((s, n));
    }
    for (s, n) in got {
        assert_eq!(t.id_to_sid(n), Some(s));
    }
}

/// sss_idmap-tests.c idmap_test_add_domain_collisions and idmap_test_sid2uid.
#[test]
fn sssd_domain_collisions_and_plain_ranges() {
    let mut t = Table::new(defaults());
    let (r1, r2) = (ids(1234, 9876), ids(11234, 19876));
    let (s3, s4) = (sid("S-1-5-21-1-2-3"), sid("S-1-5-21-1-2-4"));
    t.add_fixed("test.dom", &s3, r1, 0).unwrap();
    let e = t.add_fixed("test.dom", &s4, r2, 0).unwrap_err();
    assert!(matches!(e, IdmapError::NameSidMismatch { .. }), "same name");
    let e = t.add_fixed("test.dom2", &s3, r2, 0).unwrap_err();
    assert!(matches!(e, IdmapError::NameSidMismatch { .. }), "same SID");
    let e = t.add_fixed("test.dom2", &s4, r1, 0).unwrap_err();
    assert!(matches!(e, IdmapError::RangeCollision { .. }), "same range");
    t.add_fixed("TEST.DOM2", &s4, r2, 0).unwrap();

    assert_eq!(
        id(&mut t, "S-1-5-21-1-2-3333-1000").unwrap(),
        Lookup::NoDomain
    );
    let e = id(&mut t, "S-1-5-21-1-2-3-10000").unwrap_err();
    assert!(matches!(e, IdmapError::NoRange { .. }), "{e:?}");
    assert_eq!(id(&mut t, "S-1-5-21-1-2-3-1000").unwrap(), Lookup::Id(2234));
    assert_eq!(t.id_to_sid(2234), Some(sid("S-1-5-21-1-2-3-1000")));
    assert_eq!(t.id_to_sid(0), None);
    let e = t
        .add_fixed("x", &sid("S-1-5-21-1-2"), ids(50_000, 50_010), 0)
        .unwrap_err();
    assert!(matches!(e, IdmapError::NotDomainSid(_)));
}

/// test_sss_idmap.c test_sss_idmap_calculate_range_slice_collision.
#[test]
fn explicit_slice_collides_once_used() {
    let mut t = Table::new(defaults());
    let (slice, r) = t.choose_slice("", Some(123)).unwrap();
    assert_eq!((slice, r.min), (123, 200_000 + 123 * 200_000));
    t.add_primary("test.dom", &sid("S-1-5-21-123-456-789"), r, 0, Some(123))
        .unwrap();
    assert_eq!(
        t.choose_slice("", Some(123)).unwrap_err(),
        IdmapError::SliceInUse { slice: 123 }
    );
    assert_eq!(t.choose_slice("", Some(124)).unwrap().0, 124);
}

/// With three slices every hash collides soon: probing goes up from the hashed slice,
/// wraps to 0, and fails when all are used.
#[test]
fn collisions_probe_upwards_and_wrap() {
    let opts = IdmapOptions {
        range_min: 1000,
        range_max: 1030,
        range_size: 10,
        helper_table_size: 0,
        ..IdmapOptions::defaults()
    };
    let mut m = IdMapper::new(opts);
    let mut used = Vec::new();
    for n in 1..=3u32 {
        let d = sid(&format!("S-1-5-21-7-7-{n}"));
        let mut want = murmurhash3(d.to_string().as_bytes(), 0xdead_beef) % 3;
        while used.contains(&want) {
            want = (want + 1) % 3;
        }
        used.push(want);
        assert_eq!(m.sid_to_id(&d.with_rid(4)).unwrap(), 1000 + want * 10 + 4);
    }
    let e = m.sid_to_id(&sid("S-1-5-21-7-7-4-4")).unwrap_err();
    assert_eq!(e, IdmapError::OutOfSlices);
}

#[test]
fn default_domain_sid_takes_slice_zero() {
    let d = "S-1-5-21-2153326666-2176343378-3404031434";
    for autorid in [false, true] {
        let opts = IdmapOptions {
            default_domain_sid: Some(d.to_string()),
            autorid_compat: autorid,
            ..IdmapOptions::defaults()
        };
        let mut m = IdMapper::new(opts);
        assert_eq!(m.sid_to_id(&sid(&format!("{d}-500"))).unwrap(), 200_500);
        assert_eq!(m.primary_slices()[0].slice, 0);
        assert_eq!(m.primary_slices()[0].name, d);
        // The next domain: first free slice with autorid, else its hash (slice 9212).
        let other = m.sid_to_id(&sid("S-1-5-21-123-456-789-7")).unwrap();
        let want = if autorid { 400_007 } else { 1_842_600_007 };
        assert_eq!(other, want, "autorid {autorid}");
    }
    let named = IdmapOptions {
        default_domain_sid: Some(d.to_string()),
        default_domain: Some("AD".into()),
        ..IdmapOptions::defaults()
    };
    let mut m = IdMapper::start(named, "sssd-domain", &[]).unwrap();
    assert_eq!(m.primary_slices()[0].name, "AD");
    // The name stands for that SID only.
    let e = m.add_domain("ad", &sid("S-1-5-21-1-2-3")).unwrap_err();
    assert!(matches!(e, IdmapError::NameSidMismatch { .. }), "{e:?}");
}

/// In autorid mode the helper slices of a domain are all chosen against the same table,
/// so they all pick the first free slice; SSSD then maps only the first of them.
#[test]
fn autorid_helpers_share_a_slice_as_in_sssd() {
    let opts = IdmapOptions {
        autorid_compat: true,
        ..IdmapOptions::defaults()
    };
    let mut m = IdMapper::new(opts);
    let d = "S-1-5-21-1-2-3";
    assert_eq!(m.sid_to_id(&sid(&format!("{d}-5"))).unwrap(), 200_005);
    assert_eq!(m.sid_to_id(&sid(&format!("{d}-200005"))).unwrap(), 400_005);
    let e = m.sid_to_id(&sid(&format!("{d}-400005"))).unwrap_err();
    assert!(matches!(e, IdmapError::RangeCollision { .. }), "{e:?}");
}

#[test]
fn restart_restores_recorded_slices() {
    let mut m = IdMapper::new(IdmapOptions::defaults());
    let a = sid("S-1-5-21-1-2-3-1000");
    let b = sid("S-1-5-21-4-5-6-1000");
    let (ia, ib) = (m.sid_to_id(&a).unwrap(), m.sid_to_id(&b).unwrap());
    let big = m.sid_to_id(&sid("S-1-5-21-1-2-3-300000")).unwrap();
    let stored = m.primary_slices();
    assert_eq!(stored.len(), 2, "secondary slices are not recorded");
    let opts = IdmapOptions {
        default_domain_sid: Some("S-1-5-21-9-9-9".into()),
        ..IdmapOptions::defaults()
    };
    let mut again = IdMapper::start(opts, "dom", &stored).unwrap();
    // Recorded slices win over the default domain, whatever order SIDs come in.
    assert_eq!(again.sid_to_id(&b).unwrap(), ib);
    assert_eq!(again.sid_to_id(&a).unwrap(), ia);
    assert_eq!(again.id_to_sid(big), Some(sid("S-1-5-21-1-2-3-300000")));
    let mut twice = stored.clone();
    twice.push(stored[0].clone());
    let e = IdMapper::start(IdmapOptions::defaults(), "dom", &twice).unwrap_err();
    assert!(matches!(e, IdmapError::SliceInUse { .. }), "{e:?}");
}

#[test]
fn builtin_and_non_domain_sids_are_refused() {
    let mut m = IdMapper::new(IdmapOptions::defaults());
    let admins = sid("S-1-5-32-544");
    assert!(IdMapper::is_builtin(&admins));
    assert_eq!(
        m.sid_to_id(&admins).unwrap_err(),
        IdmapError::Builtin("S-1-5-32-544".into())
    );
    for s in [
        "S-1-5-18",
        "S-1-1-0",
        "S-1-5-21-1-2-3",
        "S-1-5-20-1-2-3-4",
        "S-1-5-32",
    ] {
        let x = sid(s);
        assert!(!IdMapper::is_builtin(&x), "{s}");
        let e = m.sid_to_id(&x).unwrap_err();
        assert!(matches!(e, IdmapError::NotDomainSid(_)), "{s}: {e:?}");
    }
    assert!(m.primary_slices().is_empty());
    // A SID with more sub-authorities than domain + RID: the domain is added (as SSSD
    // does) but the SID is refused.
    let e = m.sid_to_id(&sid("S-1-5-21-1-2-3-4-5")).unwrap_err();
    assert!(matches!(e, IdmapError::NotDomainSid(_)), "{e:?}");
    assert_eq!(m.primary_slices().len(), 1);
    assert!(m.add_domain("x", &sid("S-1-5-21-1-2-3-4")).is_err());
}

#[test]
fn rid_edges() {
    let mut m = IdMapper::new(IdmapOptions::defaults());
    let d = "S-1-5-21-1-2-3";
    let base = m.sid_to_id(&sid(&format!("{d}-0"))).unwrap();
    assert_eq!(base, 200_000 + 3430 * 200_000);
    let top = m.sid_to_id(&sid(&format!("{d}-4294967295"))).unwrap();
    assert_eq!(m.id_to_sid(top), Some(sid(&format!("{d}-4294967295"))));
}

fn cfg(extra: &str) -> Config {
    let text = format!("[sssd]\ndomains = AD\n[domain/AD]\nid_provider = ldap\n{extra}");
    Config::parse(&text, "sssd.conf").unwrap()
}

#[test]
fn options_read_and_checked() {
    let o = IdmapOptions::from_config(&cfg(""), "AD").unwrap();
    assert_eq!(o, IdmapOptions::defaults());
    assert_eq!(IdmapOptions::from_config(&cfg(""), "domain/AD").unwrap(), o);
    let o = IdmapOptions::from_config(
        &cfg(
            "ldap_idmap_range_min = 100000\nldap_idmap_range_max = 300000\n\
             ldap_idmap_range_size = 50000\nldap_idmap_autorid_compat = true\n\
             ldap_idmap_default_domain = AD\n\
             ldap_idmap_default_domain_sid = S-1-5-21-1-2-3\n\
             ldap_idmap_helper_table_size = -1\n",
        ),
        "AD",
    )
    .unwrap();
    assert_eq!(
        (o.range_min, o.range_max, o.range_size, o.autorid_compat),
        (100_000, 300_000, 50_000, true)
    );
    assert_eq!(o.default_domain.as_deref(), Some("AD"));
    assert_eq!(o.default_domain_sid.as_deref(), Some("S-1-5-21-1-2-3"));
    assert_eq!(o.helper_table_size, -1);
    for (extra, option) in [
        ("ldap_idmap_range_size = 0\n", "ldap_idmap_range_size"),
        (
            "ldap_idmap_range_min = 2000200000\n",
            "ldap_idmap_range_max",
        ),
        (
            "ldap_idmap_range_min = 10\nldap_idmap_range_max = 20\n",
            "ldap_idmap_range_size",
        ),
        (
            "ldap_idmap_range_max = 3000000000\n",
            "ldap_idmap_range_max",
        ),
        ("ldap_idmap_range_min = -1\n", "ldap_idmap_range_min"),
        (
            "ldap_idmap_default_domain_sid = S-1-5-32\n",
            "ldap_idmap_default_domain_sid",
        ),
        (
            "ldap_idmap_autorid_compat = maybe\n",
            "ldap_idmap_autorid_compat",
        ),
    ] {
        let e = IdmapOptions::from_config(&cfg(extra), "AD").unwrap_err();
        assert!(e.to_string().contains(option), "{extra}: {e}");
    }
}

/// A negative helper table size computes no helpers but still adds slices on demand;
/// zero disables them.
#[test]
fn helper_table_size_signs() {
    let big = sid("S-1-5-21-1-2-3-300000");
    let mut neg = IdMapper::new(IdmapOptions {
        helper_table_size: -1,
        ..IdmapOptions::defaults()
    });
    let n = neg.sid_to_id(&big).unwrap();
    let mut ten = IdMapper::new(IdmapOptions::defaults());
    assert_eq!(
        ten.sid_to_id(&big).unwrap(),
        n,
        "same hashed slice either way"
    );
    let mut zero = IdMapper::new(IdmapOptions {
        helper_table_size: 0,
        ..IdmapOptions::defaults()
    });
    assert!(matches!(
        zero.sid_to_id(&big).unwrap_err(),
        IdmapError::NoRange { .. }
    ));
}
