//! active-backup bonding (MII/ARP monitor, failover), sans-IO.
//!
//! **Status: not implemented yet.** This crate is an empty shell so that the
//! workspace layout is fixed; see the issue tracker for its plan.
#![forbid(unsafe_code)]
