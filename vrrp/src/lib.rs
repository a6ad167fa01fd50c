//! VRRPv2/v3 (RFC 3768, RFC 5798/9568) state machine and codec, sans-IO.
//!
//! **Status: not implemented yet.** This crate is an empty shell so that the
//! workspace layout is fixed; see the issue tracker for its plan.
#![forbid(unsafe_code)]
