//! Internal consistency checks, for the fuzz target and tests.

use std::collections::BTreeSet;

use super::{NeighborCache, NeighborState};

impl NeighborCache {
    /// Checks the cache's internal invariants; `Err` names the first one
    /// violated. Cost O(n log n); meant for tests and fuzzing.
    #[doc(hidden)]
    pub fn check_invariants(&self) -> Result<(), String> {
        let c = &self.config;
        let mut timers = BTreeSet::new();
        let mut permanent = 0usize;
        for (&ip, e) in &self.entries {
            let at = |what: &str| format!("{ip}: {what} ({:?})", e.state);
            if e.fresh {
                return Err(at("entry left unreported"));
            }
            if c.is_ours(ip) || !matches!(self.classify(ip), super::Destination::Neighbor) {
                return Err(at("entry for an address that is not a neighbour's"));
            }
            if e.state.has_timer() != e.deadline.is_some() {
                return Err(at("timer does not match state"));
            }
            if let Some(d) = e.deadline {
                timers.insert((d, ip));
            }
            if e.state.is_valid() && e.mac.is_none() {
                return Err(at("valid state without link-layer address"));
            }
            if e.state == NeighborState::Incomplete && e.mac.is_some() {
                return Err(at("INCOMPLETE with a link-layer address"));
            }
            if e.mac.is_some_and(|m| !m.is_unicast()) {
                return Err(at("non-unicast link-layer address"));
            }
            if !e.queue.is_empty() && e.state != NeighborState::Incomplete {
                return Err(at("packets queued outside INCOMPLETE"));
            }
            if e.queue.len() > c.unres_qlen.max(1) {
                return Err(at("queue longer than unres_qlen"));
            }
            if e.queue.iter().map(Vec::len).sum::<usize>() != e.queued_bytes {
                return Err(at("queued byte count wrong"));
            }
            if e.updated > self.now
                || e.used > self.now
                || e.confirmed.is_some_and(|t| t > self.now)
            {
                return Err(at("timestamp in the future"));
            }
            if e.state == NeighborState::Permanent {
                permanent = permanent.saturating_add(1);
            }
        }
        if timers != self.timers {
            return Err("timer set out of sync with entries".into());
        }
        if permanent != self.permanent {
            return Err(format!("permanent count {} != {permanent}", self.permanent));
        }
        if self.dynamic_len() > c.gc_thresh3 || self.permanent > c.gc_thresh3 {
            return Err(format!(
                "table over gc_thresh3: {} dynamic, {} permanent",
                self.dynamic_len(),
                self.permanent
            ));
        }
        if self.dynamic_len() >= c.gc_thresh1 && self.gc_deadline.is_none() {
            return Err("periodic GC not armed at gc_thresh1".into());
        }
        let rt = self.reachable_time;
        let base = c.base_reachable_time;
        let half = base.checked_div(2).unwrap_or_default();
        if rt < half || rt >= base.saturating_add(half) {
            return Err(format!(
                "reachable time {rt:?} outside [0.5, 1.5) x {base:?}"
            ));
        }
        Ok(())
    }
}
