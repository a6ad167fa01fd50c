//! Real-server health checking after keepalived's checkers, HAProxy's
//! health and agent checks and Envoy's outlier detection, sans-IO and
//! panic-free.
//!
//! * [`Engine`] ([`engine`]): per-checker schedules ([`Schedule`]: interval,
//!   timeout, seeded warm-up jitter, fast and down intervals), keepalived
//!   `retry` / `delay_before_retry` or HAProxy `rise` / `fall`
//!   ([`Thresholds`]), `alpha`, `omega`, `inhibit_on_failure`, dynamic
//!   weights (MISC exit codes, agent replies), passive outlier ejection
//!   (Envoy) and per-service quorum with hysteresis (keepalived) and a
//!   sorry server. It asks the driver to run probes
//!   ([`Output::StartProbe`]) and enforces their timeouts.
//! * Checker protocols as sans-IO [`Conversation`]s: [`tcp`], [`http`]
//!   (also HTTPS, with TLS in the driver), [`smtp`], [`dns`], [`icmp`],
//!   [`udp`], [`misc`], [`agent`].
//!
//! The engine follows the workspace convention: `new(config, now)` is the
//! only fallible call; `handle(now, input)`, `handle_timeout(now)`,
//! `poll_output()` and `poll_timeout()` never panic. Time and the jitter
//! seed are passed in; nothing here touches a socket or a clock.
#![forbid(unsafe_code)]
#![cfg_attr(
    test,
    allow(
        clippy::arithmetic_side_effects,
        clippy::disallowed_methods,
        reason = "tests"
    )
)]

pub mod agent;
pub mod config;
pub mod conversation;
pub mod dns;
pub mod engine;
pub mod http;
pub mod icmp;
pub mod misc;
mod outlier;
mod quorum;
mod rng;
pub mod smtp;
pub mod tcp;
mod threshold;
mod timers;
pub mod udp;
pub mod verdict;

#[doc(hidden)]
pub mod fuzzing;

pub use config::{
    CheckerConfig, Config, ConfigError, Growth, OutlierConfig, ProbeKind, Schedule, ServiceConfig,
    TargetConfig, Thresholds,
};
pub use conversation::Conversation;
pub use engine::{
    AgentState, Counters, DownAction, Engine, Input, Output, Reason, TargetId, TargetStatus,
};
pub use threshold::Progress;
pub use verdict::{FailReason, Verdict};
