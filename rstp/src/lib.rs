//! RSTP (IEEE 802.1D-2004 clause 17), sans-IO and panic-free, with a
//! deterministic network simulator.
//!
//! * [`bpdu`]: Config, TCN and RST BPDUs (clause 9) in their 802.3/LLC frame.
//! * [`Bridge`]: one bridge and its ports running the clause 17 machines
//!   (port receive, protocol migration, bridge detection, port information,
//!   role selection, role transitions, state transition, topology change,
//!   transmit, timers), STP compatibility, and the protections operators
//!   ask for: BPDU guard, root guard, restricted TCN, BPDU filter, loop
//!   guard and a TC flood limit.
//! * [`sim`]: bridges joined by LANs under a fake clock, with link
//!   failures, one-way loss, delays and partitions, and a scenario builder in
//!   the spirit of Open vSwitch's `test-rstp`.
//!
//! [`Bridge`] follows the workspace convention: `new(config, now)` is the
//! only fallible call; `handle(now, input)`, `handle_timeout(now)`,
//! `poll_output()` and `poll_timeout()` never panic. Timers tick once a
//! second (17.22); nothing here reads a clock or touches a socket.
//!
//! Choices where 802.1D-2004 is ambiguous or was later corrected, following
//! 802.1Q and Open vSwitch's `lib/rstp-state-machines.c`:
//! * ALTERNATE_PORT clears rrWhile and loads fdWhile with FwdDelay;
//!   allSynced exempts the Root Port and requires updtInfo clear.
//! * Transient states are tested in Open vSwitch's order; the machines run
//!   to a fixed point after every event and Port Transmit runs last, so a
//!   BPDU never carries a role or state that is about to change.
//! * Beyond 802.1D and 802.1Q: UPDATE (17.27) keeps `agreed` only while
//!   the designated root is unchanged (and the vector better or the same).
//!   Otherwise an agreement given for one root, kept through "better"
//!   stale root information during count to infinity (Elmeleegy, Cox, Ng,
//!   "Supplemental note on count-to-infinity induced forwarding loops"),
//!   lets a bridge agree to a proposal and close a forwarding loop.
//!   Likewise recordAgreement (17.21.9) counts a received agreement, and
//!   RECEIVE keeps `agree`, only when the message names the root of the
//!   port priority vector. Without this, during count to infinity after
//!   the root is cut off from a ring (regression test
//!   `count_to_infinity_on_ring_after_root_partition`), an agreement given
//!   for one root reached the proposer after it had moved to another
//!   (802.1D accepts any Root Port vector worse than the port's) and made
//!   its Designated Port forward, closing the ring.
//! * Beyond 802.1D: recordAgreement counts an agreement only once the port
//!   has sent an RST BPDU in its present Designated role for its present
//!   root (`offered`). An agreement that arrives earlier answers an offer
//!   made before the port changed role: after a root is cut off, two
//!   bridges on one link each briefly made it their Root Port and sent
//!   crossed agreements; both then moved their Root Ports elsewhere, made
//!   the link Designated at both ends, and, with TxHoldCount holding back
//!   the BPDUs that would have settled it, each forwarded on the other's
//!   stale agreement, closing a loop (regression test
//!   `loop_right_after_link_failure_with_hub`).
//! * Beyond 802.1D: a Root, Alternate or Backup BPDU from the designated
//!   bridge address and port number whose information a port holds
//!   (InferiorRootAlternateInfo, 17.21.8) ages that information out at
//!   once (rcvdInfoWhile = 0): the sender is no longer designated there.
//!   802.1D keeps it for up to 3 × HelloTime; during count to infinity on
//!   a shared LAN a bridge then held a Root Port on withdrawn information
//!   and a Designated Port on the same LAN, both forwarding on timers
//!   (regression test
//!   `count_to_infinity_through_shared_lan_after_root_partition`).
//! * A Root Port in STP compatibility sends TCNs only while tcWhile runs.
//! * restrictedTcn suppresses propagation of received TCs only.
//! * Received times are truncated to whole seconds (as mstpd and OVS do);
//!   BPDUs with Max Age outside 6–40 s, Forward Delay outside 4–30 s or
//!   Hello Time outside 1–2 s are dropped (as FreeBSD does).
//! * RST BPDUs of Unknown role are processed as Config BPDUs (role
//!   Designated, no proposal or agreement), yet count as RST for protocol
//!   migration.
#![forbid(unsafe_code)]
#![cfg_attr(
    test,
    allow(
        clippy::arithmetic_side_effects,
        clippy::disallowed_methods,
        reason = "tests"
    )
)]

pub mod bpdu;
mod bridge;
pub mod config;
pub mod id;
mod machines;
mod port;
pub mod priority;
pub mod sim;
mod status;
mod time;

#[doc(hidden)]
pub mod fuzzing;

pub use bpdu::{Bpdu, BpduFrame};
pub use bridge::{Bridge, DropReason, Input, Output, ProtectionEvent, TICK};
pub use config::{AdminP2p, BridgeConfig, ConfigError, Duplex, PortConfig, ProtocolVersion};
pub use id::{BridgeId, MacAddr, PortId};
pub use port::{PortCounters, PortRole, PortState};
pub use status::{BridgeStatus, PortStatus};
