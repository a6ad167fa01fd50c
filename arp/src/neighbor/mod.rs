//! Neighbour cache for one Ethernet interface, IPv4 (ARP, RFC 826) and IPv6
//! (Neighbor Discovery, RFC 4861 §7.2–7.3), sans-IO.
//!
//! The states and transitions are RFC 4861 §7.3 / Appendix C; timers,
//! limits, garbage collection and ARP policy follow Linux's neighbour
//! subsystem (net/core/neighbour.c, net/ipv4/arp.c `arp_process`,
//! net/ipv6/ndisc.c) with the defaults of ip-sysctl.rst `neigh/default/*`
//! (see [`Config`]).
//!
//! * [`Input::Send`] is the whole job for a caller: it returns
//!   [`Output::Deliver`] with the neighbour's MAC at once, or queues the
//!   packet, solicits (3 broadcast ARP requests / multicast NSs, 1 s apart)
//!   and delivers on resolution, or hands the packets back in
//!   [`Output::Unreachable`] when the entry reaches FAILED.
//! * Received ARP and NS/NA frames ([`Input::Frame`]) update entries; ARP
//!   requests and NSs for our addresses are answered ([`Output::Transmit`]).
//! * Sending through a STALE entry starts Neighbor Unreachability Detection:
//!   DELAY (5 s), then PROBE (3 unicast probes, 1 s apart), then FAILED,
//!   unless a solicited NA / unicast ARP reply or [`Input::Confirm`] makes
//!   it REACHABLE again.
//!
//! Time only moves forward: an `Instant` older than one seen before is
//! treated as that one.
//!
//! # Example
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use std::time::{Duration, Instant};
//! use arp::MacAddr;
//! use arp::neighbor::{Config, Input, NeighborCache, NeighborState, Output};
//! use arp::wire::Frame;
//!
//! let me = MacAddr([0x02, 0, 0, 0, 0, 0x01]);
//! let peer = MacAddr([0x02, 0, 0, 0, 0, 0x02]);
//! let (my_ip, peer_ip) = (Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2));
//! let t0 = Instant::now(); // the caller's clock; the cache never reads one
//! let mut cache = NeighborCache::new(Config::new(me, vec![(my_ip, 24)], vec![]), t0)?;
//!
//! // Sending to an unresolved neighbour queues the packet and broadcasts
//! // an ARP request, which the caller writes to its (AF_PACKET) socket.
//! cache.handle(t0, Input::Send { dst: peer_ip.into(), packet: b"ipv4 packet".to_vec() });
//! let mut request = None;
//! while let Some(out) = cache.poll_output() {
//!     if let Output::Transmit(frame) = out {
//!         request = Some(frame);
//!     }
//! }
//! assert_eq!(request, Some(Frame::arp_request(me, my_ip, peer_ip).to_bytes()));
//!
//! // The reply resolves the entry and releases the packet.
//! let reply = Frame::arp_reply(peer, peer_ip, me, my_ip).to_bytes();
//! cache.handle(t0 + Duration::from_millis(2), Input::Frame(&reply));
//! let delivered: Vec<_> = std::iter::from_fn(|| cache.poll_output())
//!     .filter(|o| matches!(o, Output::Deliver { .. }))
//!     .collect();
//! assert_eq!(
//!     delivered,
//!     [Output::Deliver { dst: peer_ip.into(), mac: peer, packet: b"ipv4 packet".to_vec() }]
//! );
//! assert_eq!(cache.lookup(peer_ip.into()).map(|e| e.state), Some(NeighborState::Reachable));
//!
//! // Sleep until `poll_timeout()`, then call `handle_timeout`.
//! if let Some(at) = cache.poll_timeout() {
//!     cache.handle_timeout(at);
//! }
//! assert_eq!(cache.lookup(peer_ip.into()).map(|e| e.state), Some(NeighborState::Stale));
//! # Ok::<(), arp::neighbor::ConfigError>(())
//! ```

mod arp_input;
mod config;
mod entry;
mod event;
mod gc;
mod invariants;
mod ndisc_input;
mod probe;
mod transition;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

pub use config::{AcceptPolicy, Config, ConfigError, MAX_ADDRESSES};
pub use entry::{EntryView, NeighborState};
pub use event::{Counters, DropReason, Input, Output};

use crate::MacAddr;
use crate::rng::SplitMix64;
use crate::time::{add, earliest};
use crate::wire::{Frame, Payload, parse_frame};
use entry::Entry;

/// How often the reachable time is re-drawn (Linux `neigh_periodic_work`).
const REACHABLE_REDRAW: Duration = Duration::from_secs(300);

/// A neighbour cache for one interface. See the [module docs](self).
#[derive(Debug)]
pub struct NeighborCache {
    config: Config,
    /// Latest time seen.
    now: Instant,
    entries: BTreeMap<IpAddr, Entry>,
    /// `(deadline, ip)` of every entry whose `deadline` is set, exactly.
    timers: BTreeSet<(Instant, IpAddr)>,
    /// Entries in [`NeighborState::Permanent`].
    permanent: usize,
    rng: SplitMix64,
    reachable_time: Duration,
    last_rand: Instant,
    /// Last forced GC (Linux `tbl->last_flush`).
    last_flush: Instant,
    /// Next periodic GC run; armed while there are `gc_thresh1` dynamic entries.
    gc_deadline: Option<Instant>,
    outputs: VecDeque<Output>,
    counters: Counters,
}

/// Where a [`Input::Send`] destination goes.
enum Destination {
    /// Needs resolution.
    Neighbor,
    /// Multicast / broadcast: a fixed group MAC.
    Group(MacAddr),
    /// Cannot be sent to.
    Invalid,
}

impl NeighborCache {
    /// A cache with no entries; fails only on an invalid configuration.
    pub fn new(config: Config, now: Instant) -> Result<Self, ConfigError> {
        config.validate()?;
        let mut rng = SplitMix64::new(config.seed);
        let reachable_time = random_reachable_time(&mut rng, config.base_reachable_time);
        let mut cache = NeighborCache {
            config,
            now,
            entries: BTreeMap::new(),
            timers: BTreeSet::new(),
            permanent: 0,
            rng,
            reachable_time,
            last_rand: now,
            last_flush: now,
            gc_deadline: None,
            outputs: VecDeque::new(),
            counters: Counters::default(),
        };
        cache.arm_gc();
        Ok(cache)
    }

    /// Processes one input; results are drained with [`Self::poll_output`].
    pub fn handle(&mut self, now: Instant, input: Input<'_>) {
        self.tick(now);
        match input {
            Input::Frame(bytes) => self.receive(bytes),
            Input::Send { dst, packet } => self.send(dst, packet),
            Input::Confirm(ip) => self.confirm(ip),
            Input::AddStatic(ip, mac) => self.add_static(ip, mac),
            Input::Remove(ip) => self.remove(ip),
            Input::Flush => self.flush(),
        }
    }

    /// Fires every timer due at `now`; a call before any is due does nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.tick(now);
        while let Some(&(deadline, ip)) = self.timers.first() {
            if deadline > now {
                break;
            }
            self.timers.pop_first();
            if let Some(e) = self.entries.get_mut(&ip) {
                e.deadline = None;
                self.expire(ip);
            }
        }
        if self.gc_deadline.is_some_and(|d| d <= now) {
            self.periodic_gc();
        }
    }

    /// The next result, oldest first.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When [`Self::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        earliest(self.timers.first().map(|&(d, _)| d), self.gc_deadline)
    }

    /// The entry for `ip`.
    pub fn lookup(&self, ip: IpAddr) -> Option<EntryView> {
        self.entries.get(&ip).map(|e| e.view(ip))
    }

    /// Every entry, ordered by address.
    pub fn entries(&self) -> impl Iterator<Item = EntryView> + '_ {
        self.entries.iter().map(|(&ip, e)| e.view(ip))
    }

    /// Number of entries (dynamic and permanent).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries other than permanent ones (the figure `gc_thresh*` apply to).
    pub fn dynamic_len(&self) -> usize {
        self.entries.len().saturating_sub(self.permanent)
    }

    /// Event counters.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// The current randomised ReachableTime (RFC 4861 §6.3.2).
    pub fn reachable_time(&self) -> Duration {
        self.reachable_time
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Advances the clock monotonically.
    fn tick(&mut self, now: Instant) -> Instant {
        self.now = self.now.max(now);
        self.now
    }

    /// ReachableTime, re-drawn when more than 300 s passed since the last draw.
    fn current_reachable_time(&mut self) -> Duration {
        if self.now > add(self.last_rand, REACHABLE_REDRAW) {
            self.reachable_time =
                random_reachable_time(&mut self.rng, self.config.base_reachable_time);
            self.last_rand = self.now;
        }
        self.reachable_time
    }

    fn emit(&mut self, output: Output) {
        self.outputs.push_back(output);
    }

    /// Counts and reports a rejected frame.
    fn invalid(&mut self, reason: DropReason) {
        self.counters.rx_invalid = self.counters.rx_invalid.saturating_add(1);
        self.emit(Output::Dropped { reason });
    }

    fn ignored(&mut self) {
        self.counters.rx_ignored = self.counters.rx_ignored.saturating_add(1);
    }

    /// Queues `frame` for transmission with our VLAN tags.
    fn transmit(&mut self, mut frame: Frame) {
        frame.eth.vlans.clone_from(&self.config.vlans);
        self.emit(Output::Transmit(frame.to_bytes()));
    }

    /// Link-layer filtering (Linux drops `PACKET_OTHERHOST` and our own
    /// frames), then ARP or ND processing.
    fn receive(&mut self, bytes: &[u8]) {
        self.counters.rx_frames = self.counters.rx_frames.saturating_add(1);
        let frame = match parse_frame(bytes) {
            Ok(f) => f,
            Err(e) => return self.invalid(DropReason::Malformed(e)),
        };
        let vlan_match = frame.eth.vlans.iter().map(|t| t.vid).eq(self
            .config
            .vlans
            .iter()
            .map(|t| t.vid));
        let to_host = frame.eth.dst == self.config.mac;
        if frame.eth.src == self.config.mac
            || !vlan_match
            || !(to_host || frame.eth.dst.is_multicast())
        {
            return self.ignored();
        }
        match frame.payload {
            Payload::Arp(arp) => self.arp_process(&arp, to_host),
            Payload::Ndisc(nd) => self.ndisc_process(&nd, frame.eth.src),
            Payload::Other(_) => self.ignored(),
        }
    }

    fn classify(&self, dst: IpAddr) -> Destination {
        if self.config.is_ours(dst) {
            return Destination::Invalid;
        }
        match dst {
            IpAddr::V4(a) if a.is_broadcast() || self.config.is_subnet_broadcast(a) => {
                Destination::Group(MacAddr::BROADCAST)
            }
            IpAddr::V4(a) if a.is_multicast() => Destination::Group(MacAddr::ipv4_multicast(a)),
            IpAddr::V4(a) if config::usable_v4(a) => Destination::Neighbor,
            IpAddr::V6(a) if a.is_multicast() => Destination::Group(MacAddr::ipv6_multicast(a)),
            IpAddr::V6(a) if usable_v6(a) => Destination::Neighbor,
            _ => Destination::Invalid,
        }
    }

    /// [`Input::Send`]: RFC 4861 §7.2.2 and §7.3.3 (Linux `__neigh_event_send`).
    fn send(&mut self, dst: IpAddr, packet: Vec<u8>) {
        match self.classify(dst) {
            Destination::Group(mac) => return self.deliver(dst, mac, packet),
            Destination::Invalid => {
                return self.refuse(dst, packet, DropReason::BadDestination(dst));
            }
            Destination::Neighbor => {}
        }
        let now = self.now;
        let state = self.entries.get(&dst).map(|e| e.state);
        if let Some(e) = self.entries.get_mut(&dst) {
            e.used = now;
        }
        match state {
            None | Some(NeighborState::Failed) => {
                let has_source = match dst {
                    IpAddr::V4(_) => !self.config.ipv4.is_empty(),
                    IpAddr::V6(_) => !self.config.ipv6.is_empty(),
                };
                if !has_source {
                    return self.refuse(dst, packet, DropReason::NoSourceAddress(dst));
                }
                if state.is_none() && !self.insert(dst, false) {
                    return self.unreachable(dst, vec![packet]);
                }
                self.enqueue(dst, packet);
                let probes = self
                    .config
                    .mcast_solicit
                    .saturating_add(self.config.app_solicit);
                let to = if probes == 0 {
                    NeighborState::Failed
                } else {
                    NeighborState::Incomplete
                };
                self.enter(dst, to, None);
            }
            Some(NeighborState::Incomplete) => self.enqueue(dst, packet),
            Some(state) => {
                let mac = self.entries.get(&dst).and_then(|e| e.mac);
                if let Some(mac) = mac {
                    self.deliver(dst, mac, packet);
                }
                if state == NeighborState::Stale {
                    self.enter(dst, NeighborState::Delay, None);
                }
            }
        }
    }

    fn deliver(&mut self, dst: IpAddr, mac: MacAddr, packet: Vec<u8>) {
        self.counters.delivered = self.counters.delivered.saturating_add(1);
        self.emit(Output::Deliver { dst, mac, packet });
    }

    fn unreachable(&mut self, dst: IpAddr, dropped: Vec<Vec<u8>>) {
        let n = u64::try_from(dropped.len()).unwrap_or(u64::MAX);
        self.counters.unreachable_dropped = self.counters.unreachable_dropped.saturating_add(n);
        self.emit(Output::Unreachable { dst, dropped });
    }

    /// Rejects an input, handing `packet` back.
    fn refuse(&mut self, dst: IpAddr, packet: Vec<u8>, reason: DropReason) {
        self.counters.input_invalid = self.counters.input_invalid.saturating_add(1);
        self.emit(Output::Dropped { reason });
        self.unreachable(dst, vec![packet]);
    }

    /// Queues a packet for an INCOMPLETE entry, dropping the oldest ones
    /// beyond `unres_qlen` packets / `unres_qlen_bytes` bytes (the newest
    /// is always kept, as in Linux `__neigh_event_send`).
    fn enqueue(&mut self, dst: IpAddr, packet: Vec<u8>) {
        let Some(e) = self.entries.get_mut(&dst) else {
            return self.unreachable(dst, vec![packet]);
        };
        let mut overflow = Vec::new();
        while e.queue.len() >= self.config.unres_qlen
            || e.queued_bytes.saturating_add(packet.len()) > self.config.unres_qlen_bytes
        {
            let Some(old) = e.queue.pop_front() else {
                break;
            };
            e.queued_bytes = e.queued_bytes.saturating_sub(old.len());
            overflow.push(old);
        }
        e.queued_bytes = e.queued_bytes.saturating_add(packet.len());
        e.queue.push_back(packet);
        for packet in overflow {
            self.counters.queue_dropped = self.counters.queue_dropped.saturating_add(1);
            self.emit(Output::QueueOverflow { dst, packet });
        }
    }

    /// [`Input::Confirm`]: RFC 4861 §7.3.1, any entry with a link-layer
    /// address becomes REACHABLE.
    fn confirm(&mut self, ip: IpAddr) {
        let state = self.entries.get(&ip).map(|e| e.state);
        if let Some(
            NeighborState::Reachable
            | NeighborState::Stale
            | NeighborState::Delay
            | NeighborState::Probe,
        ) = state
        {
            self.enter(ip, NeighborState::Reachable, None);
        }
    }

    /// [`Input::AddStatic`].
    fn add_static(&mut self, ip: IpAddr, mac: MacAddr) {
        if !matches!(self.classify(ip), Destination::Neighbor)
            || !mac.is_unicast()
            || mac == self.config.mac
        {
            self.counters.input_invalid = self.counters.input_invalid.saturating_add(1);
            return self.emit(Output::Dropped {
                reason: DropReason::BadDestination(ip),
            });
        }
        match self.entries.get(&ip).map(|e| e.state) {
            None => {
                if !self.insert(ip, true) {
                    return;
                }
            }
            Some(NeighborState::Permanent) => {}
            Some(_) => {
                if self.permanent >= self.config.gc_thresh3 {
                    return self.table_full(ip);
                }
                self.permanent = self.permanent.saturating_add(1);
            }
        }
        self.enter(ip, NeighborState::Permanent, Some(mac));
    }

    /// [`Input::Remove`].
    fn remove(&mut self, ip: IpAddr) {
        let Some(mut e) = self.entries.remove(&ip) else {
            return;
        };
        if let Some(d) = e.deadline.take() {
            self.timers.remove(&(d, ip));
        }
        if e.state == NeighborState::Permanent {
            self.permanent = self.permanent.saturating_sub(1);
        }
        self.emit(Output::StateChanged {
            ip,
            from: Some(e.state),
            to: None,
            mac: e.mac,
        });
        if !e.queue.is_empty() {
            let dropped = e.take_queue();
            self.unreachable(ip, dropped);
        }
        if self.dynamic_len() < self.config.gc_thresh1 {
            self.gc_deadline = None;
        }
    }

    /// [`Input::Flush`]: every non-permanent entry.
    fn flush(&mut self) {
        let doomed: Vec<IpAddr> = self
            .entries
            .iter()
            .filter(|(_, e)| e.state != NeighborState::Permanent)
            .map(|(&ip, _)| ip)
            .collect();
        for ip in doomed {
            self.remove(ip);
        }
    }
}

/// Linux `neigh_rand_reach_time`: uniform in `[base/2, 3·base/2)`.
fn random_reachable_time(rng: &mut SplitMix64, base: Duration) -> Duration {
    let base = u64::try_from(base.as_nanos()).unwrap_or(u64::MAX);
    let half = base.checked_div(2).unwrap_or(0);
    Duration::from_nanos(half.saturating_add(rng.below(base)))
}

/// A unicast IPv6 address a neighbour can have.
fn usable_v6(a: Ipv6Addr) -> bool {
    !a.is_unspecified() && !a.is_loopback() && !a.is_multicast()
}

/// The source address of an IPv4 / IPv6 packet (Linux picks the
/// solicitation source from the packet that triggered it).
fn packet_source(packet: &[u8]) -> Option<IpAddr> {
    match packet.first()? & 0xf0 {
        0x40 => {
            let o: [u8; 4] = packet.get(12..16)?.try_into().ok()?;
            Some(Ipv4Addr::from(o).into())
        }
        0x60 => {
            let o: [u8; 16] = packet.get(8..24)?.try_into().ok()?;
            Some(Ipv6Addr::from(o).into())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reachable_time_is_in_range_and_deterministic() {
        for seed in 0..200 {
            let a = random_reachable_time(&mut SplitMix64::new(seed), Duration::from_secs(30));
            let b = random_reachable_time(&mut SplitMix64::new(seed), Duration::from_secs(30));
            assert_eq!(a, b);
            assert!(
                a >= Duration::from_secs(15) && a < Duration::from_secs(45),
                "{a:?}"
            );
        }
    }

    #[test]
    fn packet_source_reads_v4_and_v6() {
        let mut v4 = vec![0x45u8; 20];
        v4[12..16].copy_from_slice(&[192, 0, 2, 7]);
        assert_eq!(packet_source(&v4), Some(Ipv4Addr::new(192, 0, 2, 7).into()));
        let mut v6 = vec![0u8; 40];
        v6[0] = 0x60;
        v6[23] = 1;
        assert_eq!(packet_source(&v6), Some(Ipv6Addr::LOCALHOST.into()));
        assert_eq!(packet_source(&[0x45, 0]), None);
        assert_eq!(packet_source(b"hello"), None);
    }
}
