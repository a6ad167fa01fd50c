//! ARP and IPv6 neighbour discovery for Ethernet, sans-IO and panic-free.
//!
//! * [`wire`]: checked views and `Repr` parse/emit for Ethernet II (with
//!   802.1Q / 802.1ad tags), ARP for Ethernet/IPv4 (RFC 826, RFC 5227) and
//!   IPv6 Neighbor Solicitation / Advertisement (RFC 4861 §4.3, §4.4).
//! * [`announcer`]: the schedule of gratuitous ARP / unsolicited NA after a
//!   takeover (keepalived `garp_master_*`, bonding `num_grat_arp`).
//! * [`neighbor`]: a neighbour cache with the RFC 4861 §7.3 states and Linux's
//!   defaults, for IPv4 and IPv6.
//! * [`monitor`]: the bonding ARP link monitor (`arp_interval`,
//!   `arp_ip_target`, `arp_validate`, `arp_all_targets`, `arp_missed_max`).
//!
//! Every state machine follows the workspace convention: `new(config, now)`
//! is the only fallible call; `handle(now, input)`, `handle_timeout(now)`,
//! `poll_output()` and `poll_timeout()` never panic. Time and random seeds are
//! passed in; nothing here touches a socket or a clock.
#![forbid(unsafe_code)]
#![cfg_attr(
    test,
    allow(
        clippy::arithmetic_side_effects,
        clippy::disallowed_methods,
        reason = "tests"
    )
)]

pub mod announcer;
pub mod mac;
pub mod monitor;
pub mod neighbor;
mod rng;
mod time;
pub mod wire;

#[doc(hidden)]
pub mod fuzzing;

pub use mac::MacAddr;
