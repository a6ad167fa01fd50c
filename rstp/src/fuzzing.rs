//! Entry points shared by the cargo-fuzz targets (`fuzz/fuzz_targets/rstp_*.rs`)
//! and the corpus replay test (`rstp/tests/fuzz_corpus.rs`).
//!
//! Each function takes arbitrary bytes, drives the codec or a bridge with
//! them, checks the invariants that must hold for any input and returns
//! `Err(description)` when one is violated. A panic anywhere inside is a bug
//! the fuzzer reports as a crash.

mod bpdu;
mod bridge;

pub use bpdu::bpdu;
pub use bridge::bridge;

/// Splits fuzz input into small integers without ever failing.
#[derive(Debug)]
pub(crate) struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Bytes { data }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub(crate) fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    pub(crate) fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    pub(crate) fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    /// Up to `max` bytes, length taken from the input.
    pub(crate) fn slice(&mut self, max: usize) -> &'a [u8] {
        let want = usize::from(self.u8()).min(max).min(self.data.len());
        let (head, rest) = self.data.split_at_checked(want).unwrap_or((self.data, &[]));
        self.data = rest;
        head
    }
}
