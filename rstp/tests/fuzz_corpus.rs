//! Replays every committed fuzz corpus file (`fuzz/corpus/rstp_*/*`)
//! through the same entry points the cargo-fuzz targets call, so a crash
//! found once stays fixed, and feeds seeded pseudo-random inputs through
//! them as a smoke fuzz run on stable (see `testkit::corpus`).

use testkit::corpus::{random_inputs, replay};

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
    random_inputs(rstp::fuzzing::bpdu, 1, 2000, 80);
}

#[test]
fn rstp_bridge_smoke() {
    random_inputs(rstp::fuzzing::bridge, 2, 300, 1500);
}
