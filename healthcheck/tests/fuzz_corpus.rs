#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::type_complexity,
    reason = "test code"
)]

//! Replays every committed fuzz corpus file (`fuzz/corpus/hc_<target>/*`)
//! through the same entry points the cargo-fuzz targets call.

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

#[test]
fn hc_http_corpus() {
    replay("hc_http", healthcheck::fuzzing::http);
}

#[test]
fn hc_smtp_corpus() {
    replay("hc_smtp", healthcheck::fuzzing::smtp);
}

#[test]
fn hc_dns_corpus() {
    replay("hc_dns", healthcheck::fuzzing::dns);
}

#[test]
fn hc_engine_corpus() {
    replay("hc_engine", healthcheck::fuzzing::engine);
}

/// A deterministic sweep of pseudo-random inputs, mutated from the corpus,
/// so the invariants get exercised on stable Rust without cargo-fuzz.
#[test]
fn random_sweep() {
    let mut state = 0x5eed_u64;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let targets: [(&str, fn(&[u8]) -> Result<(), String>); 4] = [
        ("hc_http", healthcheck::fuzzing::http),
        ("hc_smtp", healthcheck::fuzzing::smtp),
        ("hc_dns", healthcheck::fuzzing::dns),
        ("hc_engine", healthcheck::fuzzing::engine),
    ];
    for (target, run) in targets {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../fuzz/corpus")
            .join(target);
        let seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| std::fs::read(e.unwrap().path()).unwrap())
            .collect();
        for i in 0..1500 {
            let mut data = seeds[i % seeds.len()].clone();
            for _ in 0..(next() % 8) {
                let r = next();
                match r % 3 {
                    0 if !data.is_empty() => {
                        let at = (r >> 8) as usize % data.len();
                        data[at] = (r >> 32) as u8;
                    }
                    1 => data.push((r >> 8) as u8),
                    _ => data.truncate(data.len().saturating_sub((r >> 8) as usize % 4)),
                }
            }
            if let Err(v) = run(&data) {
                panic!("{target}: {v} on {data:?}");
            }
        }
    }
}
