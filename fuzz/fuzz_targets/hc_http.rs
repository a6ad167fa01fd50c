#![no_main]
//! Fuzz target `hc_http`: see `healthcheck::fuzzing::http`. Run with
//! `cargo +nightly fuzz run hc_http` from `fuzz/`; the corpus in
//! `fuzz/corpus/hc_http` is replayed by `cargo test -p healthcheck --test fuzz_corpus`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = healthcheck::fuzzing::http(data) {
        panic!("invariant violated: {violation}");
    }
});
