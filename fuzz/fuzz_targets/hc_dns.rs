#![no_main]
//! Fuzz target `hc_dns`: see `healthcheck::fuzzing::dns`. Run with
//! `cargo +nightly fuzz run hc_dns` from `fuzz/`; the corpus in
//! `fuzz/corpus/hc_dns` is replayed by `cargo test -p healthcheck --test fuzz_corpus`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = healthcheck::fuzzing::dns(data) {
        panic!("invariant violated: {violation}");
    }
});
