#![no_main]
//! Fuzz target `hc_engine`: see `healthcheck::fuzzing::engine`. Run with
//! `cargo +nightly fuzz run hc_engine` from `fuzz/`; the corpus in
//! `fuzz/corpus/hc_engine` is replayed by `cargo test -p healthcheck --test fuzz_corpus`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = healthcheck::fuzzing::engine(data) {
        panic!("invariant violated: {violation}");
    }
});
