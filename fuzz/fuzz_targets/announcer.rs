#![no_main]
//! Fuzz target `announcer`: see `arp::fuzzing::announcer`. Run with
//! `cargo +nightly fuzz run announcer` from `fuzz/`; the corpus in
//! `fuzz/corpus/announcer` is replayed by `cargo test -p arp --test fuzz_corpus`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = arp::fuzzing::announcer(data) {
        panic!("invariant violated: {violation}");
    }
});
