//! Passive outlier ejection fed by the data plane, after Envoy's outlier
//! detection (`envoy.config.cluster.v3.OutlierDetection`): consecutive
//! errors eject a target for a time growing with its ejection count,
//! capped, and never more than `max_ejection_percent` of a service's
//! targets at once. Differences from Envoy: a target returns exactly when
//! its ejection time ends (no 10 s sweep), and the ejection count never
//! decays.

use std::time::{Duration, Instant};

use crate::config::{Growth, OutlierConfig};

/// Per-target outlier state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Outlier {
    /// Consecutive data-plane errors since the last success or ejection.
    pub(crate) consecutive: u32,
    /// Ejections so far.
    pub(crate) ejections: u32,
    /// End of the current ejection.
    pub(crate) ejected_until: Option<Instant>,
}

/// Ejection time of the `n`-th ejection (1-based), capped.
pub(crate) fn ejection_time(cfg: &OutlierConfig, n: u32) -> Duration {
    let k = n.saturating_sub(1);
    let t = match cfg.growth {
        Growth::Linear => cfg.base_ejection_time.checked_mul(n.max(1)),
        Growth::Exponential => 2u32
            .checked_pow(k)
            .and_then(|m| cfg.base_ejection_time.checked_mul(m)),
    };
    t.unwrap_or(cfg.max_ejection_time)
        .min(cfg.max_ejection_time.max(cfg.base_ejection_time))
}

/// Whether one more ejection keeps the ejected share within the cap:
/// `(ejected + 1) × 100 ≤ percent × targets`.
pub(crate) fn may_eject(cfg: &OutlierConfig, ejected: usize, targets: usize) -> bool {
    let lhs = u128::try_from(ejected)
        .unwrap_or(u128::MAX)
        .saturating_add(1)
        .saturating_mul(100);
    let rhs = u128::from(cfg.max_ejection_percent)
        .saturating_mul(u128::try_from(targets).unwrap_or(u128::MAX));
    lhs <= rhs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_and_cap() {
        let mut cfg = OutlierConfig::default();
        let secs: Vec<u64> = (1..=12).map(|n| ejection_time(&cfg, n).as_secs()).collect();
        assert_eq!(
            secs,
            [30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 300, 300]
        );
        cfg.growth = Growth::Exponential;
        let secs: Vec<u64> = (1..=6).map(|n| ejection_time(&cfg, n).as_secs()).collect();
        assert_eq!(secs, [30, 60, 120, 240, 300, 300]);
        assert_eq!(
            ejection_time(&cfg, 200).as_secs(),
            300,
            "overflow saturates at the cap"
        );
    }

    #[test]
    fn share_cap() {
        let cfg = OutlierConfig::default();
        assert!(may_eject(&cfg, 0, 10));
        assert!(!may_eject(&cfg, 1, 10));
        assert!(!may_eject(&cfg, 0, 9), "10 % of 9 is under one host");
        assert!(may_eject(&cfg, 1, 20));
        assert!(!may_eject(&cfg, 2, 20));
    }
}
