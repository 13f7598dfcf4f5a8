//! MurmurHash3, x86 32-bit variant: the hash of SSSD's memory cache (blocks read
//! little-endian, so every architecture computes the same buckets).

const C1: u32 = 0xcc9e_2d51;
const C2: u32 = 0x1b87_3593;

#[inline]
fn mix_block(k: u32) -> u32 {
    k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2)
}

#[inline]
fn finalize(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

#[inline]
fn round(h: u32, block: &[u8]) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(block);
    let h = h ^ mix_block(u32::from_le_bytes(w));
    h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64)
}

/// MurmurHash3_x86_32 of `key` with `seed`.
#[inline]
pub fn murmurhash3(key: &[u8], seed: u32) -> u32 {
    let mut h = seed;
    let mut blocks = key.chunks_exact(4);
    for b in &mut blocks {
        h = round(h, b);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        let mut k = 0u32;
        for (i, byte) in tail.iter().enumerate() {
            k ^= u32::from(*byte) << (8 * i);
        }
        h ^= mix_block(k);
    }
    // The length is mixed in modulo 2^32, as the reference does with its int length.
    h ^= key.len() as u32;
    finalize(h)
}

/// MurmurHash3_x86_32 of `name` followed by a NUL (how names are hashed), without copying.
#[inline]
pub fn murmurhash3_nul(name: &[u8], seed: u32) -> u32 {
    let mut h = seed;
    let mut blocks = name.chunks_exact(4);
    for b in &mut blocks {
        h = round(h, b);
    }
    // The rest of the name and the NUL: a full block when three bytes are left, else the
    // tail (the NUL adds nothing to it but counts in the length).
    let rest = blocks.remainder();
    if let [a, b, c] = rest {
        h = round(h, &[*a, *b, *c, 0]);
    } else {
        let mut k = 0u32;
        for (i, byte) in rest.iter().enumerate() {
            k ^= u32::from(*byte) << (8 * i);
        }
        h ^= mix_block(k);
    }
    h ^= name.len().wrapping_add(1) as u32;
    finalize(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_terminated_variant_matches_hashing_the_key() {
        for len in 0..40usize {
            let name: Vec<u8> = (0..len).map(|i| b'a' + (i * 7 % 26) as u8).collect();
            let mut key = name.clone();
            key.push(0);
            for seed in [0, 1, 0xdead_beef] {
                assert_eq!(
                    murmurhash3_nul(&name, seed),
                    murmurhash3(&key, seed),
                    "{len}"
                );
            }
        }
    }

    /// Reference vectors of MurmurHash3_x86_32 (SMHasher's published values; also checked
    /// against Python's `mmh3` module).
    #[test]
    fn reference_vectors() {
        let cases: &[(&[u8], u32, u32)] = &[
            (b"", 0, 0),
            (b"", 1, 0x514e_28b7),
            (b"", 0xffff_ffff, 0x81f1_6f39),
            (b"\xff\xff\xff\xff", 0, 0x7629_3b50),
            (b"\x21\x43\x65\x87", 0, 0xf55b_516b),
            (b"\x21\x43\x65\x87", 0x5082_edee, 0x2362_f9de),
            (b"\x21\x43\x65", 0, 0x7e4a_8634),
            (b"\x21\x43", 0, 0xa0f7_b07a),
            (b"\x21", 0, 0x7266_1cf4),
            (b"\x00\x00\x00\x00", 0, 0x2362_f9de),
            (b"Hello, world!", 1234, 0xfaf6_cdb3),
            (
                b"The quick brown fox jumps over the lazy dog",
                0,
                0x2e4f_f723,
            ),
            (b"user1\x00", 0xdead_beef, 0xd89d_e98d),
            (b"1001\x00", 0x1234_5678, 0x6c30_81ba),
            // Tail bytes above 0x7f are unsigned, as in the reference.
            (b"\x80\xfe\xff", 7, 0xfc86_9237),
        ];
        for (key, seed, want) in cases {
            assert_eq!(murmurhash3(key, *seed), *want, "{key:?} seed {seed:#x}");
        }
    }
}
