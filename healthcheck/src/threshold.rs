//! Per-checker counting: keepalived `retry` / `delay_before_retry`
//! (`check_tcp.c` `tcp_epilog`) and the HAProxy health counter
//! (`src/check.c` `set_server_check_status`).

use crate::config::Thresholds;

/// Where a checker stands, which picks the next interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Good and settled: `interval`.
    Steady,
    /// keepalived retrying: `delay_before_retry`.
    Retrying,
    /// HAProxy counter between its bounds: `fast_interval`.
    Changing,
    /// Failed: `down_interval`.
    Down,
}

/// The counting state of one checker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counter {
    /// keepalived: `ok` and the retries used so far (`retry_it`).
    Keepalived { ok: bool, retry_it: u32 },
    /// HAProxy `health`.
    Haproxy { health: u32 },
}

impl Counter {
    /// Initial state: good (keepalived adds the RS; HAProxy starts at
    /// `health = rise`, "up, but will fall down at first failure"), or
    /// failed with `alpha`.
    pub(crate) fn new(th: Thresholds, alpha: bool) -> Self {
        match th {
            Thresholds::Keepalived { .. } => Counter::Keepalived {
                ok: !alpha,
                retry_it: 0,
            },
            Thresholds::Haproxy { rise, .. } => Counter::Haproxy {
                health: if alpha { 0 } else { rise },
            },
        }
    }

    /// True while the checker counts as good.
    pub(crate) fn ok(&self, th: Thresholds) -> bool {
        match (*self, th) {
            (Counter::Keepalived { ok, .. }, _) => ok,
            (Counter::Haproxy { health }, Thresholds::Haproxy { rise, .. }) => health >= rise,
            (Counter::Haproxy { health }, _) => health > 0,
        }
    }

    pub(crate) fn phase(&self, th: Thresholds) -> Phase {
        match (*self, th) {
            (Counter::Keepalived { ok: false, .. }, _) => Phase::Down,
            (Counter::Keepalived { retry_it, .. }, _) if retry_it > 0 => Phase::Retrying,
            (Counter::Haproxy { health: 0 }, _) => Phase::Down,
            (Counter::Haproxy { health }, Thresholds::Haproxy { rise, fall })
                if health < max_health(rise, fall) =>
            {
                Phase::Changing
            }
            _ => Phase::Steady,
        }
    }

    /// A passing probe.
    pub(crate) fn pass(&mut self, th: Thresholds) {
        match (self, th) {
            (Counter::Keepalived { ok, retry_it }, _) => {
                *ok = true;
                *retry_it = 0;
            }
            (Counter::Haproxy { health }, Thresholds::Haproxy { rise, fall }) => {
                let max = max_health(rise, fall);
                if *health < max {
                    *health = health.saturating_add(1);
                    if *health >= rise {
                        *health = max;
                    }
                }
            }
            (Counter::Haproxy { .. }, _) => {}
        }
    }

    /// A failing probe; `now`: mark failed at once (Envoy-style).
    pub(crate) fn fail(&mut self, th: Thresholds, now: bool) {
        match (self, th) {
            (Counter::Keepalived { ok, retry_it }, Thresholds::Keepalived { retry, .. }) => {
                if *ok && !now && *retry_it < retry {
                    *retry_it = retry_it.saturating_add(1);
                } else {
                    *ok = false;
                    *retry_it = 0;
                }
            }
            (Counter::Haproxy { health }, Thresholds::Haproxy { rise, .. }) => {
                *health = health.saturating_sub(1);
                if now || *health < rise {
                    *health = 0;
                }
            }
            (Counter::Keepalived { ok, retry_it }, _) => {
                *ok = false;
                *retry_it = 0;
            }
            (Counter::Haproxy { health }, _) => *health = 0,
        }
    }
}

/// Where one checker stands between its thresholds, as operators read it:
/// HAProxy's stats ("UP 2/3": two more failures to go down; "DOWN 1/2":
/// one of the two passes needed to come up) and keepalived's retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// HAProxy counter (`rise` / `fall`).
    Health {
        /// The checker counts as good.
        up: bool,
        /// Up: failures still needed to go down (`fall` when settled).
        /// Down: passes so far towards `rise`.
        step: u32,
        /// Up: `fall`; down: `rise`.
        of: u32,
    },
    /// keepalived `retry` / `delay_before_retry`.
    Retry {
        /// The checker counts as good.
        up: bool,
        /// Retries used since the last pass.
        used: u32,
        /// `retry`.
        retry: u32,
    },
}

impl Counter {
    /// The counter as [`Progress`].
    pub(crate) fn progress(&self, th: Thresholds) -> Progress {
        match (*self, th) {
            (Counter::Keepalived { ok, retry_it }, Thresholds::Keepalived { retry, .. }) => {
                Progress::Retry {
                    up: ok,
                    used: retry_it,
                    retry,
                }
            }
            (Counter::Haproxy { health }, Thresholds::Haproxy { rise, fall }) => {
                if health >= rise {
                    Progress::Health {
                        up: true,
                        step: health.saturating_sub(rise).saturating_add(1),
                        of: fall,
                    }
                } else {
                    Progress::Health {
                        up: false,
                        step: health,
                        of: rise,
                    }
                }
            }
            (c, _) => Progress::Retry {
                up: c.ok(th),
                used: 0,
                retry: 0,
            },
        }
    }
}

impl core::fmt::Display for Progress {
    /// `UP 3/3`, `UP 1/3`, `DOWN 1/2` (HAProxy); `UP`, `UP retry 1/2`,
    /// `DOWN` (keepalived).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let word = |up: bool| if up { "UP" } else { "DOWN" };
        match *self {
            Progress::Health { up, step, of } => write!(f, "{} {step}/{of}", word(up)),
            Progress::Retry {
                up: true, used: 0, ..
            } => f.write_str("UP"),
            Progress::Retry {
                up: true,
                used,
                retry,
            } => write!(f, "UP retry {used}/{retry}"),
            Progress::Retry { up: false, .. } => f.write_str("DOWN"),
        }
    }
}

/// `rise + fall − 1` (validated not to overflow).
fn max_health(rise: u32, fall: u32) -> u32 {
    rise.saturating_add(fall).saturating_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const HA: Thresholds = Thresholds::HAPROXY;

    fn health(c: Counter) -> u32 {
        match c {
            Counter::Haproxy { health } => health,
            Counter::Keepalived { .. } => u32::MAX,
        }
    }

    #[test]
    fn haproxy_counter_scenarios() {
        // §7.1: fully up, fail fail → up (health 2), third fail → down.
        let mut c = Counter::Haproxy { health: 4 };
        c.fail(HA, false);
        c.fail(HA, false);
        assert!(c.ok(HA));
        assert_eq!(health(c), 2);
        c.fail(HA, false);
        assert!(!c.ok(HA));
        assert_eq!(health(c), 0);
        // §7.3: down, pass fail pass fail → down; pass pass → up at 4.
        for _ in 0..3 {
            c.pass(HA);
            assert_eq!(health(c), 1);
            assert_eq!(c.phase(HA), Phase::Changing);
            c.fail(HA, false);
            assert!(!c.ok(HA));
            assert_eq!(c.phase(HA), Phase::Down);
        }
        c.pass(HA);
        c.pass(HA);
        assert_eq!(health(c), 4);
        assert_eq!(c.phase(HA), Phase::Steady);
        // §7.2: fully up, fail pass fail pass … stays up at 4.
        for _ in 0..5 {
            c.fail(HA, false);
            assert!(c.ok(HA));
            c.pass(HA);
            assert_eq!(health(c), 4);
        }
        // §7.4: a new server falls at the first failure.
        let mut c = Counter::new(HA, false);
        assert!(c.ok(HA));
        assert_eq!(c.phase(HA), Phase::Changing);
        c.fail(HA, false);
        assert!(!c.ok(HA));
        // Alpha starts at 0; FailNow drops to 0 from anywhere.
        assert_eq!(health(Counter::new(HA, true)), 0);
        let mut c = Counter::Haproxy { health: 4 };
        c.fail(HA, true);
        assert_eq!(health(c), 0);
    }

    #[test]
    fn keepalived_retry() {
        let th = Thresholds::Keepalived {
            retry: 2,
            delay_before_retry: Duration::from_secs(1),
        };
        let mut c = Counter::new(th, false);
        c.fail(th, false);
        assert!(c.ok(th));
        assert_eq!(c.phase(th), Phase::Retrying);
        c.fail(th, false);
        assert!(c.ok(th));
        c.fail(th, false);
        assert!(!c.ok(th));
        assert_eq!(c.phase(th), Phase::Down);
        // No retries while failed.
        c.fail(th, false);
        assert_eq!(
            c,
            Counter::Keepalived {
                ok: false,
                retry_it: 0
            }
        );
        c.pass(th);
        assert!(c.ok(th));
        assert_eq!(c.phase(th), Phase::Steady);
        // A pass between failures resets the retries.
        c.fail(th, false);
        c.pass(th);
        c.fail(th, false);
        c.fail(th, false);
        assert!(c.ok(th));
        // Fail-now skips retries.
        let mut c = Counter::new(th, false);
        c.fail(th, true);
        assert!(!c.ok(th));
        assert!(!Counter::new(th, true).ok(th));
    }
}
