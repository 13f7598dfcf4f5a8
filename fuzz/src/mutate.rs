//! A tiny deterministic mutator for the smoke run: libFuzzer's kinds of byte edits, driven
//! by a fixed-seed xorshift generator so that every run tries exactly the same inputs.

/// xorshift64* pseudo-random numbers; the same seed gives the same sequence everywhere.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator started from `seed` (0 is replaced by a fixed non-zero value).
    pub fn new(seed: u64) -> Rng {
        Rng(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// A random byte.
    pub fn byte(&mut self) -> u8 {
        self.next_u64() as u8
    }
}

/// Inputs never grow past this many bytes.
pub const MAX_LEN: usize = 64 * 1024;

/// Byte values that often sit on a decoder's edges.
const BYTES: [u8; 10] = [0, 1, 0x7f, 0x80, 0xff, b'@', b'=', b'\n', b'[', b'%'];

/// 32-bit values that often sit on a decoder's edges (lengths, counts, markers).
const WORDS: [u32; 12] = [
    0,
    1,
    2,
    4,
    8,
    16,
    255,
    256,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x4950_414d,
];

/// Applies one to four random edits to `data`; `others` are inputs to splice from.
pub fn mutate(rng: &mut Rng, data: &mut Vec<u8>, others: &[Vec<u8>]) {
    let edits = 1 + rng.below(4);
    for _ in 0..edits {
        edit(rng, data, others);
    }
    data.truncate(MAX_LEN);
}

fn edit(rng: &mut Rng, data: &mut Vec<u8>, others: &[Vec<u8>]) {
    let len = data.len();
    match rng.below(10) {
        // Flip one bit.
        0 if len > 0 => {
            let i = rng.below(len);
            data[i] ^= 1 << rng.below(8);
        }
        // Any byte.
        1 if len > 0 => {
            let i = rng.below(len);
            data[i] = rng.byte();
        }
        // An edge byte.
        2 if len > 0 => {
            let i = rng.below(len);
            data[i] = BYTES[rng.below(BYTES.len())];
        }
        // Insert a few random bytes.
        3 => {
            let at = rng.below(len + 1);
            let n = 1 + rng.below(8);
            let bytes: Vec<u8> = (0..n).map(|_| rng.byte()).collect();
            data.splice(at..at, bytes);
        }
        // Delete a range.
        4 if len > 0 => {
            let at = rng.below(len);
            let n = 1 + rng.below((len - at).min(16));
            data.drain(at..at + n);
        }
        // An edge word (host-endian, like the wire), aligned or not.
        5 if len >= 4 => {
            let at = rng.below(len - 3);
            let w = WORDS[rng.below(WORDS.len())];
            let w = if rng.below(4) == 0 {
                w.wrapping_add(len as u32)
            } else {
                w
            };
            data[at..at + 4].copy_from_slice(&w.to_ne_bytes());
        }
        // Duplicate a chunk in place.
        6 if len > 0 => {
            let at = rng.below(len);
            let n = 1 + rng.below((len - at).min(32));
            let chunk = data[at..at + n].to_vec();
            let to = rng.below(len + 1);
            data.splice(to..to, chunk);
        }
        // Cut the tail.
        7 if len > 0 => {
            data.truncate(rng.below(len));
        }
        // Splice in part of another input.
        8 if !others.is_empty() => {
            let other = &others[rng.below(others.len())];
            if !other.is_empty() {
                let from = rng.below(other.len());
                let n = 1 + rng.below((other.len() - from).min(64));
                let at = rng.below(len + 1);
                let end = (at + n).min(len);
                data.splice(at..end, other[from..from + n].iter().copied());
            }
        }
        // Insert an edge byte.
        _ => {
            let at = rng.below(len + 1);
            data.insert(at, BYTES[rng.below(BYTES.len())]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_mutations() {
        let seeds = vec![b"alice\0".to_vec(), vec![1, 2, 3, 4, 5, 6, 7, 8]];
        let run = || {
            let mut rng = Rng::new(7);
            let mut out = Vec::new();
            for i in 0..200 {
                let mut d = seeds[i % 2].clone();
                mutate(&mut rng, &mut d, &seeds);
                out.push(d);
            }
            out
        };
        let a = run();
        assert_eq!(a, run());
        assert!(a.iter().any(|d| !seeds.contains(d)), "nothing was mutated");
    }

    #[test]
    fn empty_input_grows() {
        let mut rng = Rng::new(1);
        let mut d = Vec::new();
        for _ in 0..50 {
            mutate(&mut rng, &mut d, &[]);
        }
        assert!(d.len() <= MAX_LEN);
    }
}
