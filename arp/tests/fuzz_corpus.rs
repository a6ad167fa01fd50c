#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::arithmetic_side_effects,
    reason = "test code"
)]

//! Replays every committed fuzz corpus file (`fuzz/corpus/<target>/*`)
//! through the same entry points the cargo-fuzz targets call, so a crash
//! found once stays fixed and the targets keep compiling in spirit.

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
fn arp_frame_corpus() {
    replay("arp_frame", arp::fuzzing::arp_frame);
}

#[test]
fn neighbor_cache_corpus() {
    replay("neighbor_cache", arp::fuzzing::neighbor_cache);
}

#[test]
fn announcer_corpus() {
    replay("announcer", arp::fuzzing::announcer);
}

#[test]
fn arp_monitor_corpus() {
    replay("arp_monitor", arp::fuzzing::arp_monitor);
}
