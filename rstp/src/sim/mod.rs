//! A deterministic, sans-IO network of [`Bridge`](crate::Bridge)s joined by LANs, under a
//! fake clock.
//!
//! A LAN is a shared segment; one with exactly two ports is point-to-point
//! (full duplex, so `AdminP2p::Auto` makes it point-to-point). Frames sent on
//! a port reach every other port of its LAN after the LAN's delay, unless the
//! LAN or a port is down, the sending or receiving direction is marked lossy,
//! or the two bridges are in different partitions. Bridges tick at staggered
//! sub-second offsets so that their timers do not fire in lockstep.
//!
//! [`Scenario`] builds a network from a small port-spec language in the
//! spirit of Open vSwitch's `tests/test-rstp.c`; [`run_script`] runs that
//! tool's scripts as they are.

mod network;
mod scenario;
mod script;

pub use network::{Event, Network};
pub use scenario::{Scenario, ScenarioError};
pub use script::{RUN_TIME, run_script};
