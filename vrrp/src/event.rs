//! Inputs, outputs and their vocabulary (states, reasons), shared by
//! [`crate::Instance`] and [`crate::Router`].

use std::net::IpAddr;

use crate::track::TrackState;

/// Virtual router state (RFC 5798 §6.4) plus keepalived's Fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Waiting for [`Input::Startup`] (RFC 5798 §6.4.1).
    Initialize,
    /// Monitoring the Master (RFC 5798 §6.4.2).
    Backup,
    /// Forwarding for the virtual addresses (RFC 5798 §6.4.3).
    Master,
    /// Link down or a failed track (keepalived FAULT): silent, no addresses.
    Fault,
}

/// What put a router in Fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultCause {
    /// The interface is down.
    LinkDown,
    /// A tracked object failed (weight 0, or a file product below −253).
    Track(u32),
    /// Another member of the sync group is in Fault.
    SyncGroup,
}

/// Why a state changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// [`Input::Startup`] (Initialize → Backup).
    Startup,
    /// Priority 255: Master without waiting (RFC 5798 §6.4.1).
    Owner,
    /// Master_Down_Timer fired (silent Master, priority-0 hand-over or
    /// preemption of a lower priority).
    MasterDown,
    /// An advert with a higher priority (or equal priority and a higher
    /// primary address) arrived while Master (RFC 5798 §6.4.3).
    HigherPriority {
        /// Source of that advert.
        master: IpAddr,
        /// Its priority.
        priority: u8,
    },
    /// Entered Fault.
    Fault(FaultCause),
    /// Every fault cleared (Fault → Backup, or Master for an owner).
    FaultCleared,
    /// [`Input::Shutdown`].
    Shutdown,
    /// A sync group moved the member with another one.
    SyncGroup,
}

/// Why a received packet was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// Not listening (Initialize or Fault).
    NotListening(State),
    /// Another interface or address family.
    NotOurs,
    /// IP TTL / hop limit not 255 (RFC 5798 §7.1).
    Ttl(u8),
    /// Too short, or length and Count disagree.
    Length,
    /// Version not the configured one.
    Version(u8),
    /// Type not ADVERTISEMENT.
    Type(u8),
    /// Checksum wrong under every accepted form.
    Checksum,
    /// VRID not ours.
    Vrid(u8),
    /// Unicast mode: the source is not a configured peer.
    UnknownPeer(IpAddr),
    /// Our own advert looped back.
    OwnAdvert,
    /// VRRPv2 authentication type neither 0 nor 1.
    InvalidAuthType(u8),
    /// VRRPv2 authentication type differs from ours.
    AuthTypeMismatch(u8),
    /// VRRPv2 password differs.
    AuthFailure,
    /// The address list differs from ours and the sender is not the owner.
    AddressList,
    /// VRRPv2 interval differs from ours, or a VRRPv3 interval of 0.
    AdverInterval {
        /// The received field.
        received: u16,
    },
}

/// Events fed to [`crate::Instance::handle`] / [`crate::Router::handle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input<'a> {
    /// RFC 5798 §6.4.1 Startup event.
    Startup,
    /// RFC 5798 Shutdown event: a Master sends priority 0; back to
    /// Initialize.
    Shutdown,
    /// A VRRP packet received on a raw IP socket (protocol 112).
    Packet {
        /// Receiving interface.
        ifindex: u32,
        /// IP source.
        src: IpAddr,
        /// IP destination.
        dst: IpAddr,
        /// IPv4 TTL / IPv6 hop limit.
        ttl: u8,
        /// The IP payload: the VRRP message.
        bytes: &'a [u8],
    },
    /// Link state of the interface (an instance ignores `ifindex`, a
    /// router applies it to the instances on that interface).
    Link {
        /// Interface.
        ifindex: u32,
        /// Whether it is up (carrier and administratively).
        up: bool,
    },
    /// A tracked object changed.
    TrackChanged {
        /// Track id ([`crate::track::TrackConfig::id`]).
        id: u32,
        /// Its new state.
        state: TrackState,
    },
    /// Sync group: another member is (or no longer is) in Fault.
    GroupFault(bool),
    /// Sync group: another member became Master; a Backup follows.
    GroupMaster,
    /// Sync group: another member left Master for Backup; a Master follows.
    GroupBackup,
}

/// Results drained with `poll_output`. Each owns its data.
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send an IP packet, protocol 112; the driver builds the IP header.
    Transmit {
        /// Outgoing interface.
        ifindex: u32,
        /// IP source (primary address).
        src: IpAddr,
        /// IP destination (group or unicast peer).
        dst: IpAddr,
        /// TTL / hop limit (always 255).
        ttl: u8,
        /// The VRRP message.
        bytes: Vec<u8>,
    },
    /// Send an Ethernet frame (gratuitous ARP / unsolicited NA).
    TransmitFrame {
        /// Outgoing interface.
        ifindex: u32,
        /// The complete frame, unpadded.
        frame: Vec<u8>,
    },
    /// Configure a virtual address (on becoming Master).
    AddAddress {
        /// Interface.
        ifindex: u32,
        /// The address.
        address: IpAddr,
        /// Accept_Mode: whether to accept packets addressed to it (always
        /// for an owner); otherwise the driver drops them (RFC 5798 §6.4.3).
        accept: bool,
    },
    /// Remove a virtual address (on leaving Master).
    RemoveAddress {
        /// Interface.
        ifindex: u32,
        /// The address.
        address: IpAddr,
    },
    /// The state changed (notify scripts hang off this).
    StateChanged {
        /// Old state.
        from: State,
        /// New state.
        to: State,
        /// Why.
        reason: Reason,
    },
    /// A received packet was dropped (and counted).
    Dropped {
        /// Why.
        reason: DropReason,
    },
}
