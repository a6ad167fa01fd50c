#![no_main]
//! Fuzz target `rstp_bridge`: see `rstp::fuzzing::bridge`. Run with
//! `cargo +nightly fuzz run rstp_bridge` from `fuzz/`; the corpus in
//! `fuzz/corpus/rstp_bridge` is replayed by `cargo test -p rstp --test fuzz_corpus`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = rstp::fuzzing::bridge(data) {
        panic!("invariant violated: {violation}");
    }
});
