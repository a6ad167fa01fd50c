//! What goes into and comes out of the cache, and its counters.

use std::net::IpAddr;

use super::NeighborState;
use crate::MacAddr;
use crate::wire::WireError;

/// Events fed to [`NeighborCache::handle`](super::NeighborCache::handle).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input<'a> {
    /// A received Ethernet frame (without FCS). ARP and IPv6 NS/NA are
    /// processed; anything else is counted in `rx_ignored`.
    Frame(&'a [u8]),
    /// The caller wants to send `packet` (an IPv4/IPv6 packet, opaque
    /// except that its source address is read to pick the solicitation's
    /// source) to the on-link neighbour `dst`. Answered with
    /// [`Output::Deliver`] at once or after resolution, or
    /// [`Output::Unreachable`].
    Send {
        /// The next hop.
        dst: IpAddr,
        /// The packet, handed back in the output.
        packet: Vec<u8>,
    },
    /// Upper-layer reachability confirmation (RFC 4861 §7.3.1, e.g. new TCP
    /// acknowledgements): an entry with a link-layer address becomes REACHABLE.
    Confirm(IpAddr),
    /// Add or replace a permanent entry (`ip neigh replace … nud permanent`).
    AddStatic(IpAddr, MacAddr),
    /// Delete an entry, permanent or not (`ip neigh del`).
    Remove(IpAddr),
    /// Delete every non-permanent entry (`ip neigh flush dev …`).
    Flush,
}

/// Results drained with [`NeighborCache::poll_output`](super::NeighborCache::poll_output).
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send this Ethernet frame (ARP request/reply, NS/NA; no padding).
    Transmit(Vec<u8>),
    /// Send `packet` in a frame to `mac` (the resolved neighbour, or the
    /// mapped group address of a multicast/broadcast `dst`).
    Deliver {
        /// The destination given in [`Input::Send`].
        dst: IpAddr,
        /// Ethernet destination.
        mac: MacAddr,
        /// The packet given in [`Input::Send`].
        packet: Vec<u8>,
    },
    /// `dst` could not be resolved (or the send was refused); the packets
    /// waiting for it are handed back.
    Unreachable {
        /// The destination.
        dst: IpAddr,
        /// Packets discarded, oldest first; may be empty.
        dropped: Vec<Vec<u8>>,
    },
    /// The oldest queued packet for `dst` was dropped to respect
    /// `unres_qlen` / `unres_qlen_bytes`.
    QueueOverflow {
        /// The destination.
        dst: IpAddr,
        /// The discarded packet.
        packet: Vec<u8>,
    },
    /// An entry was created (`from: None`), removed (`to: None`), changed
    /// state, or changed link-layer address (`from == to`).
    StateChanged {
        /// The neighbour.
        ip: IpAddr,
        /// Previous state.
        from: Option<NeighborState>,
        /// New state.
        to: Option<NeighborState>,
        /// Link-layer address after the change.
        mac: Option<MacAddr>,
    },
    /// An `app_solicit` probe: ask a user-space resolver about `ip`
    /// (Linux `neigh_app_ns`, an `RTM_GETNEIGH` notification).
    AppProbe {
        /// The neighbour.
        ip: IpAddr,
        /// Its last known link-layer address.
        mac: Option<MacAddr>,
    },
    /// A received frame or an input was rejected.
    Dropped {
        /// Why.
        reason: DropReason,
    },
}

/// Why a frame or input was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DropReason {
    /// The frame does not parse.
    Malformed(WireError),
    /// An NS/NA with a hop limit other than 255 (RFC 4861 §7.1).
    HopLimit(u8),
    /// A sender or target address no neighbour can have (multicast
    /// sender hardware address, multicast/loopback protocol address, …).
    BadAddress,
    /// Another node claims one of our addresses.
    AddressConflict {
        /// Our address.
        ip: IpAddr,
        /// The other node's MAC.
        mac: MacAddr,
    },
    /// A new entry for `ip` was refused: `gc_thresh3` reached and the
    /// forced GC found nothing to evict.
    TableFull {
        /// The address that got no entry.
        ip: IpAddr,
    },
    /// [`Input::Send`] / [`Input::AddStatic`] / [`Input::Confirm`] for an
    /// address that cannot be a neighbour (unspecified, loopback, ours, …).
    BadDestination(IpAddr),
    /// [`Input::Send`] for a family we have no address of (no solicitation
    /// source).
    NoSourceAddress(IpAddr),
}

/// Event counters (Linux `/proc/net/stat/{arp,ndisc}_cache` analogues).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// Frames given to [`Input::Frame`].
    pub rx_frames: u64,
    /// Frames dropped as malformed or invalid (parse error, hop limit,
    /// bad addresses).
    pub rx_invalid: u64,
    /// Valid frames not for us (other EtherType, other MAC or VLAN, our own
    /// frames, NS for someone else's address).
    pub rx_ignored: u64,
    /// Gratuitous ARPs for an unknown address not accepted by `arp_accept`.
    pub garp_ignored: u64,
    /// Other unsolicited ARPs for unknown addresses not accepted.
    pub arp_unsolicited_ignored: u64,
    /// ARPs ignored because of `locktime`.
    pub locktime_ignored: u64,
    /// NAs ignored: untracked target, or FAILED / permanent entry.
    pub na_ignored: u64,
    /// ARP / ND messages claiming one of our addresses.
    pub address_conflicts: u64,
    /// Entries refused because the table was full (Linux `table_fulls`).
    pub table_full: u64,
    /// Queued packets dropped for the queue limit (Linux `unres_discards`).
    pub queue_dropped: u64,
    /// Packets handed back in [`Output::Unreachable`].
    pub unreachable_dropped: u64,
    /// Inputs rejected ([`DropReason::BadDestination`], [`DropReason::NoSourceAddress`]).
    pub input_invalid: u64,
    /// Broadcast/multicast solicitations sent.
    pub mcast_probes: u64,
    /// Unicast probes sent.
    pub ucast_probes: u64,
    /// App probes emitted.
    pub app_probes: u64,
    /// ARP replies and NAs sent.
    pub replies: u64,
    /// Packets delivered.
    pub delivered: u64,
    /// Entries created (Linux `allocs`).
    pub allocs: u64,
    /// Entries removed by GC, forced or periodic (Linux `forced_gc_runs`
    /// counts runs; this counts entries).
    pub gc_removed: u64,
    /// Forced GC runs.
    pub forced_gc_runs: u64,
}
