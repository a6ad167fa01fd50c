//! RSTP (IEEE 802.1D-2004 clause 17) state machines and BPDU codec, sans-IO.
//!
//! **Status: not implemented yet.** This crate is an empty shell so that the
//! workspace layout is fixed; see the issue tracker for its plan.
#![forbid(unsafe_code)]
