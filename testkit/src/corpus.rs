//! Fuzz corpora in `cargo test`: every crate's `tests/fuzz_corpus.rs`
//! replays `fuzz/corpus/<target>/*` through the same entry point the
//! cargo-fuzz target calls (so a crash found once stays fixed), and sweeps
//! seeded mutations and random inputs so the invariants run on stable Rust.
//!
//! These helpers panic on a violated invariant: that is the test failing.
#![allow(
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is the test failure; indices are bounded by the lengths they index"
)]

use std::path::PathBuf;

/// A fuzz entry point: `Err` names the invariant the input violated.
pub type Entry = fn(&[u8]) -> Result<(), String>;

/// The committed corpus of `target`, sorted by file name; panics if empty.
pub fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut files: Vec<(PathBuf, Vec<u8>)> = entries
        .map(|entry| {
            let path = entry
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .path();
            let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path, data)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no corpus files", dir.display());
    files
}

/// Runs `run` on every corpus file of `target`.
pub fn replay(target: &str, run: Entry) {
    for (path, data) in corpus(target) {
        if let Err(violation) = run(&data) {
            panic!("{}: invariant violated: {violation}", path.display());
        }
    }
}

/// `rounds` seeded mutations (byte flips, insertions, truncations) of the
/// corpus of `target`, each run through `run`.
pub fn mutations(target: &str, run: Entry, seed: u64, rounds: usize) {
    let files = corpus(target);
    let mut rng = SplitMix64(seed);
    for round in 0..rounds {
        let (path, base) = &files[rng.below(files.len())];
        let mut data = base.clone();
        for _ in 0..=rng.below(8) {
            let pos = rng.below(data.len() + 1);
            match rng.below(3) {
                0 if pos < data.len() => data[pos] ^= rng.next() as u8,
                1 => data.insert(pos, rng.next() as u8),
                _ => data.truncate(pos.max(1)),
            }
        }
        if let Err(violation) = run(&data) {
            panic!(
                "round {round}, mutation of {}: {violation}\ninput: {data:02x?}",
                path.display()
            );
        }
    }
}

/// `count` seeded random inputs shorter than `max_len`, each run through `run`.
pub fn random_inputs(run: Entry, seed: u64, count: usize, max_len: usize) {
    let mut rng = SplitMix64(seed);
    for _ in 0..count {
        let len = rng.below(max_len.max(1));
        let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if let Err(violation) = run(&data) {
            panic!("random input (seed {seed}): {violation}\ninput: {data:02x?}");
        }
    }
}

/// SplitMix64: reproducible inputs from a seed.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }
}
