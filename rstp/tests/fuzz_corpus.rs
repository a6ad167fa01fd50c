#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    reason = "test code"
)]

//! Replays every committed fuzz corpus file (`fuzz/corpus/rstp_*/*`)
//! through the same entry points the cargo-fuzz targets call, so a crash
//! found once stays fixed, and feeds a few hundred seeded pseudo-random
//! inputs through them as a smoke fuzz run on stable.

use std::path::PathBuf;

fn replay(target: &str, run: fn(&[u8]) -> Result<(), String>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        if let Err(violation) = run(&data) {
            panic!("{}: invariant violated: {violation}", path.display());
        }
        n += 1;
    }
    assert!(n > 0, "{} holds no corpus files", dir.display());
}

/// SplitMix64, for reproducible pseudo-random inputs.
fn inputs(seed: u64, count: usize, max_len: usize) -> Vec<Vec<u8>> {
    let mut s = seed;
    let mut next = move || {
        s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    (0..count)
        .map(|_| {
            let len = (next() as usize) % max_len;
            (0..len).map(|_| next() as u8).collect()
        })
        .collect()
}

#[test]
fn rstp_bpdu_corpus() {
    replay("rstp_bpdu", rstp::fuzzing::bpdu);
}

#[test]
fn rstp_bridge_corpus() {
    replay("rstp_bridge", rstp::fuzzing::bridge);
}

#[test]
fn rstp_bpdu_smoke() {
    for data in inputs(1, 2000, 80) {
        if let Err(v) = rstp::fuzzing::bpdu(&data) {
            panic!("{data:02x?}: {v}");
        }
    }
}

#[test]
fn rstp_bridge_smoke() {
    for data in inputs(2, 300, 1500) {
        if let Err(v) = rstp::fuzzing::bridge(&data) {
            panic!("{data:02x?}: {v}");
        }
    }
}
