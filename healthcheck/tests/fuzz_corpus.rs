//! Replays every committed fuzz corpus file (`fuzz/corpus/hc_<target>/*`)
//! through the same entry points the cargo-fuzz targets call, then sweeps
//! seeded mutations of them so the invariants run on stable Rust without
//! cargo-fuzz (see `testkit::corpus`).

use testkit::corpus::{Entry, mutations, replay};

const TARGETS: [(&str, Entry); 4] = [
    ("hc_http", healthcheck::fuzzing::http),
    ("hc_smtp", healthcheck::fuzzing::smtp),
    ("hc_dns", healthcheck::fuzzing::dns),
    ("hc_engine", healthcheck::fuzzing::engine),
];

#[test]
fn hc_corpora() {
    for (target, run) in TARGETS {
        replay(target, run);
    }
}

#[test]
fn hc_mutations() {
    for (target, run) in TARGETS {
        mutations(target, run, 0x5eed, 1500);
    }
}
