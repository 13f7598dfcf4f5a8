#![allow(clippy::unwrap_used)]

use super::{IdmapError, Sid};

/// SSSD's conversion test vector (`src/tests/sss_idmap-tests.c`).
const TEXT: &str = "S-1-5-21-2127521184-1604012920-1887927527-72713";
const BIN: [u8; 28] = [
    0x01, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x15, 0x00, 0x00, 0x00, 0xA0, 0x65, 0xCF, 0x7E,
    0x78, 0x4B, 0x9B, 0x5F, 0xE7, 0x7C, 0x87, 0x70, 0x09, 0x1C, 0x01, 0x00,
];

#[test]
fn binary_and_text_forms_agree_with_sssd_vector() {
    let from_bin = Sid::from_bytes(&BIN).unwrap();
    let from_text = Sid::parse(TEXT).unwrap();
    assert_eq!(from_bin, from_text);
    assert_eq!(from_bin.to_string(), TEXT);
    assert_eq!(from_text.to_bytes(), BIN.to_vec());
    assert_eq!(
        from_bin.sub_authorities(),
        &[21, 2127521184, 1604012920, 1887927527, 72713]
    );
    assert_eq!((from_bin.revision(), from_bin.authority()), (1, 5));
}

#[test]
fn text_round_trips() {
    for s in [
        "S-1-5-21-1-2-3-1000",
        "S-1-5-32-544",
        "S-1-1-0",
        "S-1-5",
        "S-1-5-21-1-2-4294967295-1000",
        "S-1-0x123456789ABC-7",
        "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15",
    ] {
        let sid = Sid::parse(s).unwrap();
        assert_eq!(sid.to_string(), s);
        assert_eq!(Sid::from_bytes(&sid.to_bytes()).unwrap(), sid, "{s}");
        assert_eq!(s.parse::<Sid>().unwrap(), sid);
    }
    // Lower-case "s" and leading zeros are read; the canonical form is written.
    assert_eq!(
        Sid::parse("s-1-5-021-01-2-3").unwrap().to_string(),
        "S-1-5-21-1-2-3"
    );
}

#[test]
fn malformed_text_is_rejected() {
    for s in [
        "",
        "S",
        "S-",
        "S-1",
        "X-1-5-21",
        "S-1-5-",
        "S-1-5--1",
        "S-256-5-21",
        "S-1-4294967296-1",
        "S-1-0x12-1",
        "S-1-5-21-1-2-4294967296-1000",
        "S-1-5-21-1+2+3",
        "S-1-5-21-a-b-c",
        "S-1-5- 21",
        "S-1-5-+21",
        "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16",
    ] {
        let err = Sid::parse(s).unwrap_err();
        assert!(matches!(err, IdmapError::InvalidSid(_)), "{s:?}: {err:?}");
    }
}

#[test]
fn hostile_binary_is_rejected_without_panic() {
    assert!(Sid::from_bytes(&[]).is_err(), "empty");
    assert!(Sid::from_bytes(&BIN[..7]).is_err(), "short header");
    assert!(
        Sid::from_bytes(&BIN[..27]).is_err(),
        "truncated sub-authority"
    );
    assert!(
        Sid::from_bytes(&BIN[..24]).is_err(),
        "one sub-authority missing"
    );
    let mut long = BIN.to_vec();
    long.push(0);
    assert!(Sid::from_bytes(&long).is_err(), "trailing byte");
    let mut many = vec![1u8, 16, 0, 0, 0, 0, 0, 5];
    many.extend(std::iter::repeat_n(0u8, 64));
    let err = Sid::from_bytes(&many).unwrap_err();
    assert!(err.to_string().contains("16 sub-authorities"), "{err}");
    // Every length and count byte: no panic, and success only for an exact length.
    for count in 0u8..=255 {
        for len in 0usize..80 {
            let mut b = vec![0u8; len];
            if len > 1 {
                b[0] = 1;
                b[1] = count;
            }
            let ok = Sid::from_bytes(&b).is_ok();
            let exact = len >= 8 && count <= 15 && len == 8 + 4 * usize::from(count);
            assert_eq!(ok, exact, "len {len} count {count}");
        }
    }
    // Fifteen sub-authorities are the most.
    let mut max = vec![1u8, 15, 0, 0, 0, 0, 0, 5];
    max.extend(std::iter::repeat_n(0xffu8, 60));
    let sid = Sid::from_bytes(&max).unwrap();
    assert_eq!(sid.sub_authorities().len(), 15);
    assert_eq!(sid.to_bytes(), max);
}

#[test]
fn parts_domain_and_rid() {
    let sid = Sid::parse("S-1-5-21-1-2-3-500").unwrap();
    assert_eq!(sid.rid(), Some(500));
    let dom = sid.domain().unwrap();
    assert_eq!(dom.to_string(), "S-1-5-21-1-2-3");
    assert!(dom.is_domain_sid());
    assert!(!sid.is_domain_sid());
    assert_eq!(dom.with_rid(500), sid);
    let bare = Sid::parse("S-1-5").unwrap();
    assert_eq!((bare.domain(), bare.rid()), (None, None));
    assert_eq!(bare.with_rid(7).to_string(), "S-1-5-7");
    // SSSD's is_domain_sid() vectors.
    for s in [
        "S-1-2-3-4-5-6",
        "S-1-5-21-1",
        "S-1-5-21-1-2-3-4",
        "S-1-5-32-1-2",
    ] {
        assert!(!Sid::parse(s).unwrap().is_domain_sid(), "{s}");
    }
    assert!(Sid::new(1, 1 << 48, vec![]).is_err());
    assert!(Sid::new(1, 5, vec![0; 16]).is_err());
}

#[test]
fn filter_value_escapes_every_byte() {
    let sid = Sid::parse("S-1-5-21-1-2-3-500").unwrap();
    assert_eq!(
        sid.ldap_filter_value(),
        "\\01\\05\\00\\00\\00\\00\\00\\05\\15\\00\\00\\00\\01\\00\\00\\00\
         \\02\\00\\00\\00\\03\\00\\00\\00\\f4\\01\\00\\00"
    );
}
