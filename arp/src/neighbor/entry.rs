//! Neighbour cache entries and their states (RFC 4861 §7.3.2, Linux `NUD_*`).

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::Instant;

use crate::MacAddr;

/// Reachability state of an entry (RFC 4861 §7.3.2, plus Linux's
/// `NUD_FAILED` and `NUD_PERMANENT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NeighborState {
    /// Address resolution in progress; packets are queued.
    Incomplete,
    /// Reachable within the last ReachableTime.
    Reachable,
    /// Link-layer address known, reachability unknown; no traffic.
    Stale,
    /// Traffic sent to a STALE entry; waiting `delay_first_probe_time`
    /// for an upper-layer confirmation before probing.
    Delay,
    /// Sending unicast probes every `retrans_time`.
    Probe,
    /// Resolution or probing failed (Linux `NUD_FAILED`); kept until GC.
    Failed,
    /// Static entry (`ip neigh add … nud permanent`): never probed, never
    /// changed by received frames, never collected.
    Permanent,
}

impl NeighborState {
    /// Has a usable link-layer address (Linux `NUD_VALID`).
    pub const fn is_valid(self) -> bool {
        matches!(
            self,
            Self::Reachable | Self::Stale | Self::Delay | Self::Probe | Self::Permanent
        )
    }

    /// Runs a timer (Linux `NUD_IN_TIMER`).
    pub const fn has_timer(self) -> bool {
        matches!(
            self,
            Self::Incomplete | Self::Reachable | Self::Delay | Self::Probe
        )
    }
}

/// A read-only snapshot of one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryView {
    /// The neighbour's address.
    pub ip: IpAddr,
    /// Current state.
    pub state: NeighborState,
    /// Link-layer address: always `Some` in valid states, `None` in
    /// INCOMPLETE, the last known one (if any) in FAILED.
    pub mac: Option<MacAddr>,
    /// IsRouter flag (RFC 4861 §7.2.5, from the R flag of NAs).
    pub router: bool,
    /// When this entry's timer fires next.
    pub deadline: Option<Instant>,
    /// Last change of state or link-layer address (Linux `updated`).
    pub updated: Instant,
    /// Last reachability confirmation (Linux `confirmed`).
    pub confirmed: Option<Instant>,
    /// Last time traffic was sent through it (Linux `used`).
    pub used: Instant,
    /// Probes sent in the current INCOMPLETE / PROBE episode.
    pub probes: u32,
    /// Packets waiting for resolution.
    pub queued: usize,
}

/// The mutable state behind an [`EntryView`].
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) state: NeighborState,
    pub(super) mac: Option<MacAddr>,
    pub(super) router: bool,
    pub(super) deadline: Option<Instant>,
    pub(super) updated: Instant,
    pub(super) confirmed: Option<Instant>,
    pub(super) used: Instant,
    /// Linux `neigh->probes`: INCOMPLETE starts at `ucast_solicit`, PROBE at 0.
    pub(super) probes: u32,
    /// Probes sent in this episode (for the view).
    pub(super) sent: u32,
    pub(super) queue: VecDeque<Vec<u8>>,
    pub(super) queued_bytes: usize,
    /// Created in this call and not yet reported (`StateChanged` `from: None`).
    pub(super) fresh: bool,
}

impl Entry {
    pub(super) fn new(state: NeighborState, now: Instant) -> Self {
        Entry {
            state,
            mac: None,
            router: false,
            deadline: None,
            updated: now,
            confirmed: None,
            used: now,
            probes: 0,
            sent: 0,
            queue: VecDeque::new(),
            queued_bytes: 0,
            fresh: false,
        }
    }

    pub(super) fn view(&self, ip: IpAddr) -> EntryView {
        EntryView {
            ip,
            state: self.state,
            mac: self.mac,
            router: self.router,
            deadline: self.deadline,
            updated: self.updated,
            confirmed: self.confirmed,
            used: self.used,
            probes: self.sent,
            queued: self.queue.len(),
        }
    }

    /// Takes every queued packet.
    pub(super) fn take_queue(&mut self) -> Vec<Vec<u8>> {
        self.queued_bytes = 0;
        self.queue.drain(..).collect()
    }
}
