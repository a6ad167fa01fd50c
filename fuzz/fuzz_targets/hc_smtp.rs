#![no_main]
//! Fuzz target `hc_smtp`: see `healthcheck::fuzzing::smtp`. Run with
//! `cargo +nightly fuzz run hc_smtp` from `fuzz/`; the corpus in
//! `fuzz/corpus/hc_smtp` is replayed by `cargo test -p healthcheck --test fuzz_corpus`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = healthcheck::fuzzing::smtp(data) {
        panic!("invariant violated: {violation}");
    }
});
