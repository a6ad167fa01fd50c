#![no_main]
//! Fuzz target `arp_monitor`: see `arp::fuzzing::arp_monitor`. Run with
//! `cargo +nightly fuzz run arp_monitor` from `fuzz/`; the corpus in
//! `fuzz/corpus/arp_monitor` is replayed by `cargo test -p arp --test fuzz_corpus`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = arp::fuzzing::arp_monitor(data) {
        panic!("invariant violated: {violation}");
    }
});
