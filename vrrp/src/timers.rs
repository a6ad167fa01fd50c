//! Protocol timer values (RFC 5798 §6.1 as updated by RFC 9568, RFC 3768
//! §6.1) and saturating `Instant` helpers.

use std::time::{Duration, Instant};

use crate::packet::Version;

/// Default number of missed adverts before the Master is declared down
/// (keepalived `down_timer_adverts`, FRR `vrrp_recalculate_timers`).
pub const DEFAULT_DOWN_TIMER_ADVERTS: u8 = 3;

/// One centisecond, the VRRPv3 interval unit.
pub const CENTISECOND: Duration = Duration::from_millis(10);

/// Skew_Time: VRRPv2 `(256 − Priority) / 256` s (RFC 3768 §6.1), VRRPv3
/// `((256 − Priority) · Master_Adver_Interval) / 256` (RFC 5798 §6.1),
/// truncated to whole nanoseconds.
pub fn skew_time(version: Version, priority: u8, master_adver_interval: Duration) -> Duration {
    let base = match version {
        Version::V2 => Duration::from_secs(1),
        Version::V3 => master_adver_interval,
    };
    let factor = 256u32.saturating_sub(u32::from(priority));
    base.checked_mul(factor)
        .and_then(|d| d.checked_div(256))
        .unwrap_or(Duration::MAX)
}

/// Master_Down_Interval: `n · Master_Adver_Interval + Skew_Time` (RFC 5798
/// §6.1 with n = 3; keepalived makes n configurable).
pub fn master_down_interval(
    version: Version,
    priority: u8,
    master_adver_interval: Duration,
    down_timer_adverts: u8,
) -> Duration {
    master_adver_interval
        .checked_mul(u32::from(down_timer_adverts))
        .and_then(|d| d.checked_add(skew_time(version, priority, master_adver_interval)))
        .unwrap_or(Duration::MAX)
}

/// An advertisement interval field as a duration: VRRPv2 seconds,
/// VRRPv3 centiseconds.
pub fn interval_from_field(version: Version, field: u16) -> Duration {
    match version {
        Version::V2 => Duration::from_secs(u64::from(field)),
        Version::V3 => CENTISECOND.saturating_mul(u32::from(field)),
    }
}

/// The field value for `interval` (whole seconds or whole centiseconds,
/// truncated; saturating at `u16::MAX`).
pub fn interval_to_field(version: Version, interval: Duration) -> u16 {
    let units = match version {
        Version::V2 => u128::from(interval.as_secs()),
        Version::V3 => interval.as_millis().checked_div(10).unwrap_or(0),
    };
    u16::try_from(units).unwrap_or(u16::MAX)
}

/// `now + d`, saturating at `now` on overflow (never in practice).
pub(crate) fn add(now: Instant, d: Duration) -> Instant {
    now.checked_add(d).unwrap_or(now)
}

/// The earlier of two optional deadlines.
pub(crate) fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn reference_values() {
        // vrrp-arp.md §4.
        let mdi = |p, mai| master_down_interval(Version::V3, p, mai, 3);
        assert_eq!(mdi(100, S), Duration::from_nanos(3_609_375_000));
        assert_eq!(mdi(150, S), Duration::from_nanos(3_414_062_500));
        assert_eq!(mdi(128, S), Duration::from_millis(3500));
        assert_eq!(
            skew_time(Version::V3, 100, S),
            Duration::from_nanos(609_375_000)
        );
        assert_eq!(
            mdi(100, CENTISECOND * 10),
            Duration::from_nanos(360_937_500)
        );
        // v2 skew ignores the interval: 100 and 101 differ by 1/256 s.
        let v2 = |p| master_down_interval(Version::V2, p, S * 5, 3);
        assert_eq!(
            v2(100).checked_sub(v2(101)).unwrap(),
            Duration::from_nanos(3_906_250)
        );
        assert_eq!(v2(100), Duration::from_nanos(15_609_375_000));
    }

    #[test]
    fn interval_fields() {
        assert_eq!(interval_to_field(Version::V3, S), 100);
        assert_eq!(interval_to_field(Version::V2, S * 3), 3);
        assert_eq!(
            interval_from_field(Version::V3, 4095),
            Duration::from_millis(40950)
        );
        assert_eq!(interval_from_field(Version::V2, 255), S * 255);
    }
}
