//! The reference DSAS node: drives the sans-IO crates with real sockets.
//!
//! All `unsafe` of the node lives in [`sys`].

pub mod sys;
