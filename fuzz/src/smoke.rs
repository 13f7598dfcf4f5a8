//! The smoke run: a target over its committed seed corpus and a fixed number of
//! deterministic mutations of it, in-process, on the stable toolchain.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::Target;
use crate::mutate::{Rng, mutate};
use crate::seeds::corpus_dir;

/// Reads `corpus-seed/<target>/*` in file-name order.
pub fn load_seeds(target: &str) -> std::io::Result<Vec<Vec<u8>>> {
    let dir = corpus_dir().join(target);
    let mut paths: Vec<_> = std::fs::read_dir(&dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    paths.sort();
    paths.iter().map(std::fs::read).collect()
}

/// Runs `t` on every seed, then on `mutations` mutants (each of a seed, or of the previous
/// mutant half of the time), all from `rng_seed`. Panics, naming the input in hex, when
/// the target panics; returns the number of inputs run.
pub fn run(t: &Target, seeds: &[Vec<u8>], mutations: usize, rng_seed: u64) -> usize {
    let mut rng = Rng::new(rng_seed);
    let mut ran = 0;
    let mut last: Vec<u8> = Vec::new();
    for s in seeds {
        one(t, s, "seed");
        ran += 1;
    }
    for i in 0..mutations {
        let mut input = if !last.is_empty() && rng.below(2) == 0 {
            last.clone()
        } else if seeds.is_empty() {
            Vec::new()
        } else {
            seeds[rng.below(seeds.len())].clone()
        };
        mutate(&mut rng, &mut input, seeds);
        one(t, &input, &format!("mutation {i}"));
        ran += 1;
        last = input;
    }
    ran
}

fn one(t: &Target, input: &[u8], what: &str) {
    if catch_unwind(AssertUnwindSafe(|| (t.run)(input))).is_err() {
        let hex: String = input.iter().map(|b| format!("{b:02x}")).collect();
        panic!("target {} panicked on {what}, input (hex): {hex}", t.name);
    }
}
