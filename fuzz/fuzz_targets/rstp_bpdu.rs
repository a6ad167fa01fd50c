#![no_main]
//! Fuzz target `rstp_bpdu`: see `rstp::fuzzing::bpdu`. Run with
//! `cargo +nightly fuzz run rstp_bpdu` from `fuzz/`; the corpus in
//! `fuzz/corpus/rstp_bpdu` is replayed by `cargo test -p rstp --test fuzz_corpus`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = rstp::fuzzing::bpdu(data) {
        panic!("invariant violated: {violation}");
    }
});
