//! VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798 as updated by RFC 9568) for IPv4
//! and IPv6: packet codec and virtual router state machine, sans-IO and
//! panic-free.
//!
//! * [`packet`], [`checksum`]: advertisement codec; both VRRPv3/IPv4
//!   checksum forms (pseudo-header as keepalived and FRR send, and
//!   RFC 9568's message-only form).
//! * [`Instance`]: one virtual router (Initialize / Backup / Master plus
//!   keepalived's Fault), with Master_Adver_Interval learning, Skew_Time,
//!   preemption, accept mode, unicast mode, tracking ([`track`]) and
//!   gratuitous ARP / NA bursts from [`arp::announcer`].
//! * [`Router`]: many instances demultiplexed by (interface, family, VRID),
//!   with sync groups ([`sync_group`]).
//!
//! The driver owns the sockets: it receives protocol 112 on raw IP sockets
//! and passes the payload with the IP source, destination and TTL; it sends
//! [`Output::Transmit`] payloads with TTL 255, adds and removes addresses,
//! and sends frames on a packet socket.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use vrrp::{Config, Input, Instance, Output, State};
//!
//! let t0 = Instant::now();
//! let cfg = Config::new(
//!     2,                                 // ifindex
//!     51,                                // VRID
//!     "10.0.0.1".parse().unwrap(),       // primary address
//!     vec!["10.0.0.100".parse().unwrap()],
//!     "02:00:00:00:00:01".parse().unwrap(),
//! );
//! let mut vr = Instance::new(cfg, t0).unwrap();
//! vr.handle(t0, Input::Startup);
//! while let Some(_out) = vr.poll_output() {}
//! // No Master heard: Backup → Master after Master_Down_Interval.
//! let t = vr.poll_timeout().unwrap();
//! assert_eq!(t - t0, Duration::from_nanos(3_609_375_000));
//! vr.handle_timeout(t);
//! assert_eq!(vr.state(), State::Master);
//! let adverts = std::iter::from_fn(|| vr.poll_output())
//!     .filter(|o| matches!(o, Output::Transmit { .. }))
//!     .count();
//! assert_eq!(adverts, 1);
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(
    test,
    allow(
        clippy::arithmetic_side_effects,
        clippy::disallowed_methods,
        reason = "tests"
    )
)]

pub mod checksum;
pub mod config;
pub mod counters;
pub mod event;
pub mod instance;
pub mod packet;
pub mod router;
pub mod sync_group;
pub mod timers;
pub mod track;

#[doc(hidden)]
pub mod fuzzing;

pub use checksum::{AcceptChecksum, V3Ipv4Checksum};
pub use config::{Config, ConfigError, Unicast};
pub use counters::{Counters, NewMasterReason, RouterCounters};
pub use event::{DropReason, FaultCause, Input, Output, Reason, State};
pub use instance::Instance;
pub use packet::{Auth, Family, PacketError, Version, VrrpPacket, VrrpRepr};
pub use router::{InstanceKey, Router, RouterConfig, RouterConfigError};
pub use sync_group::SyncGroup;
pub use track::{TrackConfig, TrackKind, TrackState};
