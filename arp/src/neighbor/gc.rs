//! Garbage collection: Linux `neigh_forced_gc` (table bound, `gc_thresh2/3`)
//! and `neigh_periodic_work` (`gc_thresh1`, `gc_stale_time`).
//!
//! Only entries without a timer (STALE, FAILED) are collected: in Linux a
//! pending timer holds a reference, so INCOMPLETE, REACHABLE, DELAY and
//! PROBE entries are never "unreferenced". Permanent entries are never
//! collected and do not count against the thresholds.

use std::net::IpAddr;
use std::time::Duration;

use super::{NeighborCache, NeighborState};
use crate::time::add;

/// Linux runs a forced GC above `gc_thresh2` at most this often.
const FORCED_GC_INTERVAL: Duration = Duration::from_secs(5);

impl NeighborCache {
    /// Room for one more dynamic entry: at `gc_thresh3`, or above
    /// `gc_thresh2` with the last forced GC more than 5 s ago, a forced GC
    /// runs first; the entry is refused if the table is still at `gc_thresh3`.
    pub(super) fn make_room(&mut self) -> bool {
        let n = self.dynamic_len();
        let c = &self.config;
        if n >= c.gc_thresh3
            || (n >= c.gc_thresh2 && self.now > add(self.last_flush, FORCED_GC_INTERVAL))
        {
            self.forced_gc();
        }
        self.dynamic_len() < self.config.gc_thresh3
    }

    /// Removes `max(1, dynamic − gc_thresh2)` collectable entries: FAILED
    /// ones first, then the least recently updated.
    ///
    /// Linux walks its GC list (oldest first) removing FAILED entries and
    /// entries not updated since the previous forced GC; we rank instead, so
    /// that a full table of STALE entries always yields room.
    fn forced_gc(&mut self) {
        self.counters.forced_gc_runs = self.counters.forced_gc_runs.saturating_add(1);
        self.last_flush = self.now;
        let max_clean = self
            .dynamic_len()
            .saturating_sub(self.config.gc_thresh2)
            .max(1);
        let mut victims: Vec<(bool, std::time::Instant, IpAddr)> = self
            .entries
            .iter()
            .filter(|(_, e)| collectable(e.state))
            .map(|(&ip, e)| (e.state != NeighborState::Failed, e.updated, ip))
            .collect();
        victims.sort_unstable();
        for (_, _, ip) in victims.into_iter().take(max_clean) {
            self.collect(ip);
        }
    }

    /// Arms the periodic GC once there are `gc_thresh1` dynamic entries.
    pub(super) fn arm_gc(&mut self) {
        if self.gc_deadline.is_none() && self.dynamic_len() >= self.config.gc_thresh1 {
            self.gc_deadline = Some(add(self.now, self.gc_interval()));
        }
    }

    /// Linux runs `neigh_periodic_work` every `base_reachable_time / 2`.
    fn gc_interval(&self) -> Duration {
        self.config
            .base_reachable_time
            .checked_div(2)
            .unwrap_or(Duration::ZERO)
            .max(Duration::from_millis(1))
    }

    /// Periodic GC: with at least `gc_thresh1` dynamic entries, removes
    /// FAILED entries and STALE ones unused (no send, no confirmation) for
    /// `gc_stale_time`. Re-armed while the table stays at `gc_thresh1`.
    pub(super) fn periodic_gc(&mut self) {
        self.gc_deadline = None;
        if self.dynamic_len() >= self.config.gc_thresh1 {
            let now = self.now;
            let stale_time = self.config.gc_stale_time;
            let doomed: Vec<IpAddr> = self
                .entries
                .iter()
                .filter(|(_, e)| {
                    let used = e.confirmed.map_or(e.used, |c| c.max(e.used));
                    collectable(e.state)
                        && (e.state == NeighborState::Failed || now >= add(used, stale_time))
                })
                .map(|(&ip, _)| ip)
                .collect();
            for ip in doomed {
                self.collect(ip);
            }
        }
        self.arm_gc();
    }

    fn collect(&mut self, ip: IpAddr) {
        self.counters.gc_removed = self.counters.gc_removed.saturating_add(1);
        self.remove(ip);
    }
}

/// Not permanent and no timer running.
fn collectable(state: NeighborState) -> bool {
    matches!(state, NeighborState::Stale | NeighborState::Failed)
}
