#![no_main]
//! Fuzz target `vrrp_packet`: see `vrrp::fuzzing::packet`. Run with
//! `cargo +nightly fuzz run vrrp_packet` from `fuzz/`; the corpus in
//! `fuzz/corpus/vrrp_packet` is replayed by `cargo test -p vrrp --test fuzz_corpus`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = vrrp::fuzzing::packet(data) {
        panic!("invariant violated: {violation}");
    }
});
