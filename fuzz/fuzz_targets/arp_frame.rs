#![no_main]
//! Fuzz target `arp_frame`: see `arp::fuzzing::arp_frame`. Run with
//! `cargo +nightly fuzz run arp_frame` from `fuzz/`; the corpus in
//! `fuzz/corpus/arp_frame` is replayed by `cargo test -p arp --test fuzz_corpus`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = arp::fuzzing::arp_frame(data) {
        panic!("invariant violated: {violation}");
    }
});
