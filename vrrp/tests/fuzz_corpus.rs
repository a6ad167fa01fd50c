#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    reason = "test code"
)]

//! Replays every committed fuzz corpus file (`fuzz/corpus/vrrp_*/*`)
//! through the same entry points the cargo-fuzz targets call, so a crash
//! found once stays fixed, then sweeps seeded random mutations of them.

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let path = e.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            (path, data)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no corpus files", dir.display());
    files
}

fn replay(target: &str, run: fn(&[u8]) -> Result<(), String>) {
    for (path, data) in corpus(target) {
        if let Err(violation) = run(&data) {
            panic!("{}: invariant violated: {violation}", path.display());
        }
    }
}

/// SplitMix64-driven byte flips, insertions and truncations of the corpus.
fn sweep(target: &str, run: fn(&[u8]) -> Result<(), String>, rounds: usize) {
    let files = corpus(target);
    let mut state: u64 = 0x5eed;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    for round in 0..rounds {
        let (path, base) = &files[(next() as usize) % files.len()];
        let mut data = base.clone();
        for _ in 0..(1 + next() % 8) {
            let pos = (next() as usize) % (data.len() + 1);
            match next() % 3 {
                0 if pos < data.len() => data[pos] ^= next() as u8,
                1 => data.insert(pos, next() as u8),
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

#[test]
fn vrrp_packet_corpus() {
    replay("vrrp_packet", vrrp::fuzzing::packet);
}

#[test]
fn vrrp_router_corpus() {
    replay("vrrp_router", vrrp::fuzzing::router);
}

#[test]
fn vrrp_packet_mutations() {
    sweep("vrrp_packet", vrrp::fuzzing::packet, 20_000);
}

#[test]
fn vrrp_router_mutations() {
    sweep("vrrp_router", vrrp::fuzzing::router, 3_000);
}
