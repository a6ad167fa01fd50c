//! IPVS virtual-service model, schedulers and generic-netlink codec, sans-IO.
//!
//! **Status: not implemented yet.** This crate is an empty shell so that the
//! workspace layout is fixed; see the issue tracker for its plan.
#![forbid(unsafe_code)]
