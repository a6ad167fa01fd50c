#![no_main]
//! Fuzz target `neighbor_cache`: see `arp::fuzzing::neighbor_cache`. Run with
//! `cargo +nightly fuzz run neighbor_cache` from `fuzz/`; the corpus in
//! `fuzz/corpus/neighbor_cache` is replayed by `cargo test -p arp --test fuzz_corpus`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = arp::fuzzing::neighbor_cache(data) {
        panic!("invariant violated: {violation}");
    }
});
