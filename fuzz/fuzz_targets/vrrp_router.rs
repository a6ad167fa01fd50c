#![no_main]
//! Fuzz target `vrrp_router`: see `vrrp::fuzzing::router`. Run with
//! `cargo +nightly fuzz run vrrp_router` from `fuzz/`; the corpus in
//! `fuzz/corpus/vrrp_router` is replayed by `cargo test -p vrrp --test fuzz_corpus`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = vrrp::fuzzing::router(data) {
        panic!("invariant violated: {violation}");
    }
});
