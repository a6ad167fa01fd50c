//! Engine configuration: services (keepalived `virtual_server`), their
//! targets (`real_server`) and each target's checkers, with the defaults of
//! keepalived.conf(5) and HAProxy configuration.txt §5.2.

use std::time::Duration;

/// What kind of probe the driver must run; the driver looks the protocol
/// details up by `(target, checker)` in its own configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProbeKind {
    /// TCP connect ([`crate::tcp`]).
    Tcp,
    /// HTTP/1.1 GET ([`crate::http`]).
    Http,
    /// HTTP/1.1 GET over TLS done by the driver ([`crate::http`]).
    Https,
    /// SMTP greeting / HELO / QUIT ([`crate::smtp`]).
    Smtp,
    /// DNS query over UDP ([`crate::dns`]).
    Dns,
    /// ICMP / ICMPv6 echo ([`crate::icmp`]).
    Icmp,
    /// UDP send / expect ([`crate::udp`]).
    Udp,
    /// External command ([`crate::misc`]).
    Misc,
    /// HAProxy agent-check ([`crate::agent`]): weights and admin states,
    /// never a health verdict.
    Agent,
}

/// Counting rule that turns probe verdicts into a checker state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Thresholds {
    /// keepalived: while up, a failure is retried `retry` times spaced by
    /// `delay_before_retry`; the `retry + 1`-th consecutive failure marks the
    /// checker failed. One pass marks it good. No retries while failed.
    Keepalived {
        /// keepalived `retry` (TCP/HTTP default 1, DNS 3, MISC 0).
        retry: u32,
        /// keepalived `delay_before_retry` (default 1 s, HTTP 3 s).
        delay_before_retry: Duration,
    },
    /// HAProxy health counter (`src/check.c`): up iff `health ≥ rise`,
    /// `health ∈ [0, rise + fall − 1]`.
    Haproxy {
        /// `rise` (default 2).
        rise: u32,
        /// `fall` (default 3).
        fall: u32,
    },
}

impl Thresholds {
    /// keepalived TCP_CHECK defaults: retry 1, delay_before_retry 1 s.
    pub const KEEPALIVED: Thresholds = Thresholds::Keepalived {
        retry: 1,
        delay_before_retry: Duration::from_secs(1),
    };
    /// HAProxy defaults: rise 2, fall 3.
    pub const HAPROXY: Thresholds = Thresholds::Haproxy { rise: 2, fall: 3 };
}

/// When probes run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Normal interval (keepalived `delay_loop`, HAProxy `inter`). Probes
    /// run at a fixed rate: each delay (this, `delay_before_retry`,
    /// `fast_interval`, `down_interval`) counts from when the previous
    /// probe was due, and a probe never starts before the previous one
    /// ended (its verdict or its timeout).
    pub interval: Duration,
    /// Probe timeout (keepalived `connect_timeout`, HAProxy `timeout check`).
    pub timeout: Duration,
    /// First probe at a uniformly random offset in `[0, warmup)` drawn from
    /// the engine seed (keepalived `warmup`); `None`: at once.
    pub warmup: Option<Duration>,
    /// HAProxy `fastinter`: interval while the health counter is between
    /// its bounds (changing state). Unused by keepalived thresholds, whose
    /// retries use `delay_before_retry`.
    pub fast_interval: Option<Duration>,
    /// HAProxy `downinter`: interval while the checker is failed.
    pub down_interval: Option<Duration>,
}

impl Schedule {
    /// keepalived defaults: `delay_loop` 60 s, `connect_timeout` 5 s.
    pub const KEEPALIVED: Schedule = Schedule {
        interval: Duration::from_secs(60),
        timeout: Duration::from_secs(5),
        warmup: None,
        fast_interval: None,
        down_interval: None,
    };
    /// HAProxy defaults: `inter` 2 s, timeout = `inter`.
    pub const HAPROXY: Schedule = Schedule {
        interval: Duration::from_secs(2),
        timeout: Duration::from_secs(2),
        warmup: None,
        fast_interval: None,
        down_interval: None,
    };
}

/// One checker of a target (keepalived allows several; the target is
/// alive iff every health checker is good, `ipwrapper.c`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckerConfig {
    /// Protocol the driver runs.
    pub kind: ProbeKind,
    /// Timing.
    pub schedule: Schedule,
    /// Counting rule (ignored for [`ProbeKind::Agent`]).
    pub thresholds: Thresholds,
}

/// One real server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetConfig {
    /// Configured weight (keepalived `weight`, default 1).
    pub weight: u32,
    /// keepalived `alpha`: start failed, out of the pool until a first pass
    /// (HAProxy mode: health 0 instead of `rise`).
    pub alpha: bool,
    /// keepalived `inhibit_on_failure`: on failure set weight 0 instead of
    /// removing the target (see [`crate::DownAction`]).
    pub inhibit_on_failure: bool,
    /// Checkers; none means always alive.
    pub checkers: Vec<CheckerConfig>,
}

/// Envoy outlier detection (`consecutive_5xx` / `consecutive_gateway_failure`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutlierConfig {
    /// Consecutive data-plane errors that eject (Envoy default 5).
    pub consecutive_errors: u32,
    /// Ejection time of the first ejection (Envoy default 30 s).
    pub base_ejection_time: Duration,
    /// Cap on one ejection (Envoy `max_ejection_time`, default 300 s).
    pub max_ejection_time: Duration,
    /// At most this share of the service's targets ejected at once (Envoy
    /// default 10 %): an ejection is refused when it would exceed it.
    pub max_ejection_percent: u8,
    /// How the ejection time grows with the number of ejections.
    pub growth: Growth,
}

/// Ejection-time growth with the target's ejection count `n` (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Growth {
    /// Envoy: `base × n`.
    Linear,
    /// `base × 2^(n−1)`.
    Exponential,
}

impl Default for OutlierConfig {
    fn default() -> Self {
        OutlierConfig {
            consecutive_errors: 5,
            base_ejection_time: Duration::from_secs(30),
            max_ejection_time: Duration::from_secs(300),
            max_ejection_percent: 10,
            growth: Growth::Linear,
        }
    }
}

/// One service (keepalived `virtual_server`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceConfig {
    /// keepalived `quorum` (default 1): minimum live weight sum.
    pub quorum: u64,
    /// keepalived `hysteresis` (default 0).
    pub hysteresis: u64,
    /// A `sorry_server` is configured: it goes in on quorum loss and out
    /// on quorum gain.
    pub sorry_server: bool,
    /// keepalived `omega`: on shutdown, report targets down and quorum lost.
    pub omega: bool,
    /// Passive outlier ejection from data-plane results.
    pub outlier: Option<OutlierConfig>,
    /// Real servers.
    pub targets: Vec<TargetConfig>,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            quorum: 1,
            hysteresis: 0,
            sorry_server: false,
            omega: false,
            outlier: None,
            targets: Vec::new(),
        }
    }
}

/// The whole engine.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    /// Seed of the warm-up jitter.
    pub seed: u64,
    /// Services.
    pub services: Vec<ServiceConfig>,
}

/// Rejected configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// `interval`, `timeout` or a retry delay is zero.
    ZeroDuration,
    /// `rise` or `fall` is zero, or `rise + fall − 1` overflows.
    BadRiseFall,
    /// `consecutive_errors` zero, `base_ejection_time` zero, or percent > 100.
    BadOutlier,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ConfigError::ZeroDuration => "interval, timeout and delays must be non-zero",
            ConfigError::BadRiseFall => "rise and fall must be at least 1",
            ConfigError::BadOutlier => "bad outlier detection parameters",
        })
    }
}

impl std::error::Error for ConfigError {}

impl CheckerConfig {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let s = &self.schedule;
        let zero = |d: Option<Duration>| d.is_some_and(|d| d.is_zero());
        if s.interval.is_zero()
            || s.timeout.is_zero()
            || zero(s.fast_interval)
            || zero(s.down_interval)
        {
            return Err(ConfigError::ZeroDuration);
        }
        match self.thresholds {
            Thresholds::Keepalived {
                delay_before_retry, ..
            } if delay_before_retry.is_zero() => Err(ConfigError::ZeroDuration),
            Thresholds::Haproxy { rise, fall }
                if rise == 0 || fall == 0 || rise.checked_add(fall).is_none() =>
            {
                Err(ConfigError::BadRiseFall)
            }
            _ => Ok(()),
        }
    }
}

impl OutlierConfig {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.consecutive_errors == 0
            || self.base_ejection_time.is_zero()
            || self.max_ejection_percent > 100
        {
            return Err(ConfigError::BadOutlier);
        }
        Ok(())
    }
}
