//! Workspace-internal test kit (not published): network namespaces and
//! devices torn down on drop, processes inside namespaces, tshark captures
//! read back as JSON, and the qemu kernel lab.
//!
//! Tests that need root call [`require_root!`] first, which prints a clear
//! skip line and returns when not running as root.
#![forbid(unsafe_code)]

pub mod capture;
pub mod exec;
pub mod lab;
pub mod netns;
pub mod tshark;
