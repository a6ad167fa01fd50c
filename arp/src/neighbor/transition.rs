//! State changes of one entry: entering a state with its timer (RFC 4861
//! §7.3.3), creating entries, and Linux `neigh_update` (the RFC 4861
//! §7.2.5 / Appendix C rules for received link-layer addresses).

use std::net::IpAddr;

use super::{DropReason, Entry, NeighborCache, NeighborState, Output};
use crate::MacAddr;
use crate::time::add;

/// How a received link-layer address may change a valid entry (Linux
/// `NEIGH_UPDATE_F_*`).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct UpdateFlags {
    /// `OVERRIDE`: a different address replaces the cached one.
    pub(super) override_: bool,
    /// `WEAK_OVERRIDE`: without `override_`, a different address turns a
    /// REACHABLE entry STALE, keeping the cached address (NA with O = 0).
    pub(super) weak_override: bool,
    /// New IsRouter flag (NA R flag), applied unless the update is refused.
    pub(super) router: Option<bool>,
}

/// Whether [`NeighborCache::update`] changed anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Update {
    Applied,
    /// A different address without override, or a permanent entry, or no
    /// address for an entry that has none.
    Ignored,
}

impl NeighborCache {
    /// Creates an entry (reported by the following [`Self::enter`]) if the
    /// table has room, running the forced GC when needed.
    pub(super) fn insert(&mut self, ip: IpAddr, permanent: bool) -> bool {
        let room = if permanent {
            self.permanent < self.config.gc_thresh3
        } else {
            self.make_room()
        };
        if !room {
            self.table_full(ip);
            return false;
        }
        let mut e = Entry::new(NeighborState::Failed, self.now);
        e.fresh = true;
        self.entries.insert(ip, e);
        if permanent {
            self.permanent = self.permanent.saturating_add(1);
        }
        self.counters.allocs = self.counters.allocs.saturating_add(1);
        self.arm_gc();
        true
    }

    pub(super) fn table_full(&mut self, ip: IpAddr) {
        self.counters.table_full = self.counters.table_full.saturating_add(1);
        self.emit(Output::Dropped {
            reason: DropReason::TableFull { ip },
        });
    }

    /// Puts entry `ip` into `to` (with `mac` if given) and arms the state's
    /// timer: REACHABLE for ReachableTime, DELAY for `delay_first_probe_time`,
    /// INCOMPLETE / PROBE for `retrans_time` after sending the first
    /// solicitation at once. Queued packets are delivered when the entry
    /// becomes valid and handed back when it fails.
    pub(super) fn enter(&mut self, ip: IpAddr, to: NeighborState, mac: Option<MacAddr>) {
        let now = self.now;
        let deadline = match to {
            NeighborState::Reachable => Some(add(now, self.current_reachable_time())),
            NeighborState::Delay => Some(add(now, self.config.delay_first_probe_time)),
            NeighborState::Incomplete | NeighborState::Probe => {
                Some(add(now, self.config.retrans_time))
            }
            NeighborState::Stale | NeighborState::Failed | NeighborState::Permanent => None,
        };
        let ucast_solicit = self.config.ucast_solicit;
        let Some(e) = self.entries.get_mut(&ip) else {
            return;
        };
        let from = e.state;
        let old_mac = e.mac;
        if mac.is_some() {
            e.mac = mac;
        }
        match to {
            NeighborState::Reachable => e.confirmed = Some(now),
            // Linux starts INCOMPLETE at `ucast_solicit` so that only
            // broadcast / multicast solicitations are sent.
            NeighborState::Incomplete => {
                e.mac = None;
                e.probes = ucast_solicit;
                e.sent = 0;
            }
            NeighborState::Probe => {
                e.probes = 0;
                e.sent = 0;
            }
            _ => {}
        }
        let changed = e.fresh || from != to || e.mac != old_mac;
        if changed {
            e.updated = now;
        }
        e.state = to;
        if let Some(old) = e.deadline.take() {
            self.timers.remove(&(old, ip));
        }
        if let Some(d) = deadline {
            self.timers.insert((d, ip));
        }
        e.deadline = deadline;
        let reported_from = if e.fresh { None } else { Some(from) };
        e.fresh = false;
        let new_mac = e.mac;
        let released = if to.is_valid() && !from.is_valid() {
            Some(e.take_queue())
        } else {
            None
        };
        let failed = (to == NeighborState::Failed).then(|| e.take_queue());
        if changed {
            self.emit(Output::StateChanged {
                ip,
                from: reported_from,
                to: Some(to),
                mac: new_mac,
            });
        }
        if let (Some(packets), Some(mac)) = (released, new_mac) {
            for packet in packets {
                self.deliver(ip, mac, packet);
            }
        }
        if let Some(dropped) = failed
            && (from != NeighborState::Failed || !dropped.is_empty())
        {
            self.unreachable(ip, dropped);
        }
        if matches!(to, NeighborState::Incomplete | NeighborState::Probe) {
            self.solicit(ip);
        }
    }

    /// Linux `neigh_update` for a link-layer address learnt from a frame;
    /// `new` is REACHABLE or STALE.
    pub(super) fn update(
        &mut self,
        ip: IpAddr,
        lladdr: Option<MacAddr>,
        new: NeighborState,
        flags: UpdateFlags,
    ) -> Update {
        let Some(e) = self.entries.get_mut(&ip) else {
            return Update::Ignored;
        };
        let old = e.state;
        match old {
            NeighborState::Permanent => Update::Ignored,
            NeighborState::Incomplete | NeighborState::Failed => {
                let Some(mac) = lladdr else {
                    return Update::Ignored;
                };
                if let Some(r) = flags.router {
                    e.router = r;
                }
                self.enter(ip, new, Some(mac));
                Update::Applied
            }
            NeighborState::Reachable
            | NeighborState::Stale
            | NeighborState::Delay
            | NeighborState::Probe => {
                let Some(cur) = e.mac else {
                    return Update::Ignored;
                };
                let mut mac = lladdr.unwrap_or(cur);
                let mut new = new;
                let mut router = flags.router;
                if mac != cur && !flags.override_ {
                    if flags.weak_override && old == NeighborState::Reachable {
                        mac = cur;
                        new = NeighborState::Stale;
                        router = None;
                    } else {
                        return Update::Ignored;
                    }
                } else if mac == cur && new == NeighborState::Stale {
                    // "If entry was valid and address is not changed, do
                    // not change entry state, if new one is STALE."
                    new = old;
                }
                if let Some(r) = router {
                    e.router = r;
                }
                if new != old || mac != cur || new == NeighborState::Reachable {
                    self.enter(ip, new, Some(mac));
                }
                Update::Applied
            }
        }
    }
}
