//! An ordered timer set: one pending deadline per key, earliest first, so
//! `poll_timeout` is O(log n) with thousands of targets.

use std::collections::BTreeSet;
use std::time::Instant;

/// What a timer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Key {
    /// A checker's next probe or its probe deadline (flat checker index).
    Checker(usize),
    /// The end of a target's ejection (flat target index).
    Ejection(usize),
}

#[derive(Debug, Default)]
pub(crate) struct Timers {
    set: BTreeSet<(Instant, Key)>,
}

impl Timers {
    /// Moves `key` from `old` (if any) to `new` (if any).
    pub(crate) fn reset(&mut self, key: Key, old: Option<Instant>, new: Option<Instant>) {
        if let Some(o) = old {
            self.set.remove(&(o, key));
        }
        if let Some(n) = new {
            self.set.insert((n, key));
        }
    }

    pub(crate) fn first(&self) -> Option<Instant> {
        self.set.first().map(|(t, _)| *t)
    }

    /// Removes and returns the earliest timer due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<Key> {
        match self.set.first() {
            Some(&(t, _)) if t <= now => self.set.pop_first().map(|(_, k)| k),
            _ => None,
        }
    }

    pub(crate) fn clear(&mut self) {
        self.set.clear();
    }
}
