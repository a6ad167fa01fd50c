//! The reference DSAS node: drives the sans-IO crates with real sockets.
//!
//! * [`config`]: the TOML node configuration (`/etc/dsas/node.toml`).
//! * [`control`]: the root-only control socket behind `dsas-node status`.
//! * [`roles`]: the role trait and life cycle (how a role drives a machine).
//! * [`netlink`]: addresses, VMAC macvlans, link events (rtnetlink).
//! * [`vrrp_io`]: raw IP protocol-112 sockets (IPv4 and IPv6).
//! * [`notify`]: keepalived-compatible notify scripts.
//! * [`sysctl`]: interface settings changed for VMACs, put back on exit.
//! * [`sys`]: AF_PACKET sockets, tokio registration and TCP socket reuse;
//!   all `unsafe` of the node lives there.

pub mod config;
pub mod control;
pub mod health_role;
pub mod netlink;
pub mod notify;
pub mod roles;
pub mod rstp_role;
pub mod sys;
pub mod sysctl;
pub mod vrrp_io;
pub mod vrrp_role;
