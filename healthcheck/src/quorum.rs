//! Service quorum with hysteresis, as keepalived `update_quorum_state`
//! (`check/ipwrapper.c`): lost when the live weight sum is 0 or below
//! `quorum − hysteresis`, regained at `quorum + hysteresis` or more.

/// Quorum state of one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Quorum {
    quorum: u64,
    hysteresis: u64,
    up: bool,
}

impl Quorum {
    /// Starts with quorum held; the first [`Quorum::update`] may drop it.
    pub(crate) fn new(quorum: u64, hysteresis: u64) -> Self {
        Quorum {
            quorum,
            hysteresis,
            up: true,
        }
    }

    pub(crate) fn is_up(&self) -> bool {
        self.up
    }

    /// Feeds the live weight sum; returns the new state when it changed.
    pub(crate) fn update(&mut self, live: u64) -> Option<bool> {
        let high = self.quorum.saturating_add(self.hysteresis);
        let low = self.quorum.saturating_sub(self.hysteresis);
        // keepalived: `weight_sum >= threshold || (!threshold && weight_sum)`.
        if !self.up && live > 0 && live >= high {
            self.up = true;
            return Some(true);
        }
        if self.up && (live == 0 || live < low) {
            self.up = false;
            return Some(false);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalived_scenario_10() {
        // quorum 3, hysteresis 1, four RS of weight 1.
        let mut q = Quorum::new(3, 1);
        assert_eq!(q.update(4), None);
        assert_eq!(q.update(3), None);
        assert_eq!(q.update(2), None, "2 is not < 2");
        assert_eq!(q.update(1), Some(false));
        assert_eq!(q.update(2), None);
        assert_eq!(q.update(3), None, "3 < quorum + hysteresis");
        assert_eq!(q.update(4), Some(true));
        assert!(q.is_up());
    }

    #[test]
    fn zero_sum_always_loses() {
        let mut q = Quorum::new(0, 0);
        assert_eq!(q.update(0), Some(false));
        assert_eq!(q.update(0), None);
        assert_eq!(q.update(1), Some(true));
        let mut q = Quorum::new(1, 5);
        assert_eq!(q.update(0), Some(false));
        assert_eq!(q.update(5), None);
        assert_eq!(q.update(6), Some(true));
        assert_eq!(q.update(1), None, "low threshold saturates at 0");
    }
}
