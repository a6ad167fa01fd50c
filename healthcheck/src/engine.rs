//! The health-check engine: schedules probes for every checker of every
//! target, enforces probe timeouts, counts verdicts into target states,
//! applies dynamic weights and agent states, ejects outliers, tracks each
//! service's quorum, and reports what changed.
//!
//! Driver contract: run each [`Output::StartProbe`] (see
//! [`crate::conversation`]) and answer with [`Input::ProbeResult`] carrying
//! the same `probe_id`. A result arriving after the probe's timeout (which
//! the engine reports as [`Output::ProbeTimedOut`] and counts as a failure)
//! is ignored and counted in [`Counters::late_results`].
//!
//! Probe ids are unique and name their checker: the `n`-th probe of the
//! engine's checker `c` (of `C` checkers in all) is `n × C + c`, so a
//! result finds its checker without a lookup table.

use std::time::{Duration, Instant};

use crate::agent::{AdminState, AgentReply, AgentWeight, OperState};
use crate::config::{Config, ConfigError, OutlierConfig, ProbeKind, Schedule, Thresholds};
use crate::outlier::{self, Outlier};
use crate::quorum::Quorum;
use crate::rng::SplitMix64;
use crate::threshold::{Counter, Phase, Progress};
use crate::timers::{Key, Timers};
use crate::verdict::{FailReason, Verdict};

/// A target: its service's index and its index within the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TargetId {
    /// Index into [`Config::services`].
    pub service: usize,
    /// Index into [`crate::ServiceConfig::targets`].
    pub target: usize,
}

/// Inputs from the driver and the data plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The verdict of a probe started by [`Output::StartProbe`].
    ProbeResult {
        /// The id from `StartProbe`.
        probe_id: u64,
        /// Its verdict.
        verdict: Verdict,
    },
    /// One data-plane request outcome for outlier detection (Envoy: a 5xx
    /// or a gateway failure is an error).
    DataPlane {
        /// The target that served the request.
        target: TargetId,
        /// False for an error.
        success: bool,
    },
    /// The checker is shutting down: stop probing; with `omega`, report
    /// every serving target down and quorum lost (keepalived `omega`).
    Shutdown,
}

/// What to do with a target that is no longer serving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownAction {
    /// Remove it from the pool (keepalived `DEL_DEST`).
    Remove,
    /// Keep it with weight 0 (keepalived `inhibit_on_failure`): established
    /// connections keep flowing.
    Inhibit,
}

/// Why a target changed state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Initial state at construction.
    Initial,
    /// A checker passed.
    CheckPassed {
        /// Checker index within the target.
        checker: usize,
    },
    /// A checker failed.
    CheckFailed {
        /// Checker index within the target.
        checker: usize,
        /// The failure.
        reason: FailReason,
    },
    /// The agent reported an operational or administrative state.
    Agent(AgentState),
    /// Outlier ejection began.
    Ejected,
    /// Outlier ejection ended.
    EjectionEnded,
    /// Shutdown with `omega`.
    Shutdown,
}

/// Agent-reported states that change a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentState {
    /// `up`.
    Up,
    /// `down` / `fail` / `stopped`.
    Down,
    /// `ready`.
    Ready,
    /// `drain`.
    Drain,
    /// `maint`.
    Maint,
    /// A weight.
    Weight,
}

/// Engine outputs, drained with [`Engine::poll_output`].
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Run a probe now; answer with [`Input::ProbeResult`].
    StartProbe {
        /// The target.
        target: TargetId,
        /// Checker index within the target.
        checker: usize,
        /// Id to answer with.
        probe_id: u64,
        /// Protocol.
        kind: ProbeKind,
    },
    /// The probe's timeout expired: abandon it (counted as a failure).
    ProbeTimedOut {
        /// The target.
        target: TargetId,
        /// Checker index within the target.
        checker: usize,
        /// The abandoned probe.
        probe_id: u64,
    },
    /// The target entered the pool (or got its weight back).
    TargetUp {
        /// The target.
        target: TargetId,
        /// Its effective weight.
        weight: u32,
        /// Why.
        reason: Reason,
    },
    /// The target left the pool.
    TargetDown {
        /// The target.
        target: TargetId,
        /// Remove or set weight 0.
        action: DownAction,
        /// Why.
        reason: Reason,
    },
    /// A serving target's effective weight changed.
    WeightChanged {
        /// The target.
        target: TargetId,
        /// Previous effective weight.
        old: u32,
        /// New effective weight.
        new: u32,
    },
    /// Outlier ejection (followed by `TargetDown` if it was serving).
    Ejected {
        /// The target.
        target: TargetId,
        /// How long.
        duration: Duration,
        /// Its ejection count, this one included.
        ejections: u32,
    },
    /// Quorum lost (live weight sum 0 or below `quorum − hysteresis`).
    QuorumLost {
        /// Service index.
        service: usize,
        /// Live weight sum.
        live_weight: u64,
    },
    /// Quorum regained (live weight sum ≥ `quorum + hysteresis`).
    QuorumGained {
        /// Service index.
        service: usize,
        /// Live weight sum.
        live_weight: u64,
    },
    /// Add the sorry server and withdraw the remaining live targets.
    SorryServerIn {
        /// Service index.
        service: usize,
    },
    /// Remove the sorry server and restore the live targets.
    SorryServerOut {
        /// Service index.
        service: usize,
    },
}

/// Event counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// Probes started.
    pub probes_started: u64,
    /// Health verdicts that passed.
    pub passes: u64,
    /// Health verdicts that failed (timeouts included).
    pub failures: u64,
    /// Probes timed out by the engine.
    pub timeouts: u64,
    /// Results for probes already timed out (ignored).
    pub late_results: u64,
    /// Results for ids never issued (ignored).
    pub unknown_results: u64,
    /// Verdicts of the wrong shape (agent reply to a health check or a
    /// health verdict to an agent check).
    pub mismatched_verdicts: u64,
    /// Agent replies applied.
    pub agent_replies: u64,
    /// Agent probes that failed (no effect on state, as HAProxy).
    pub agent_failures: u64,
    /// Target up transitions.
    pub transitions_up: u64,
    /// Target down transitions.
    pub transitions_down: u64,
    /// Weight changes of serving targets.
    pub weight_changes: u64,
    /// Data-plane errors seen.
    pub data_plane_errors: u64,
    /// Data-plane reports for unknown targets or services without outlier
    /// detection.
    pub data_plane_ignored: u64,
    /// Outlier ejections.
    pub ejections: u64,
    /// Ejections refused by `max_ejection_percent`.
    pub ejections_refused: u64,
    /// Quorum changes.
    pub quorum_changes: u64,
    /// Inputs after shutdown (ignored).
    pub after_shutdown: u64,
}

/// Public view of a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetStatus {
    /// In the pool with its weight.
    pub serving: bool,
    /// Effective weight (0 while draining).
    pub weight: u32,
    /// Currently ejected by outlier detection.
    pub ejected: bool,
}

#[derive(Debug)]
struct Checker {
    target: usize,
    index: usize,
    kind: ProbeKind,
    schedule: Schedule,
    thresholds: Thresholds,
    counter: Counter,
    /// Next probe time, when idle.
    next_due: Option<Instant>,
    /// In-flight probe id and its deadline.
    in_flight: Option<(u64, Instant)>,
    /// Probes started: the next one's id is `started × C + c`.
    started: u64,
    /// When the last probe was due: the schedule is fixed-rate.
    last_due: Option<Instant>,
}

impl Checker {
    fn timer(&self) -> Option<Instant> {
        match self.in_flight {
            Some((_, deadline)) => Some(deadline),
            None => self.next_due,
        }
    }

    fn is_agent(&self) -> bool {
        self.kind == ProbeKind::Agent
    }

    /// The next probe after one that ended at `now`: fixed-rate, the
    /// current delay (interval, `delay_before_retry`, `fastinter`,
    /// `downinter`) after the previous probe was due, never before it
    /// ended (probes of one checker never overlap). A target that stops
    /// answering is therefore seen down within `interval · fall + timeout`
    /// of its death whenever the retry/fast delays do not exceed the
    /// interval. (keepalived and HAProxy 2.6 both measure the delay from
    /// the end of the previous check, which adds a timeout per retry.)
    fn next_due(&self, now: Instant) -> Option<Instant> {
        let delay = self.delay();
        match self.last_due.and_then(|due| due.checked_add(delay)) {
            Some(next) => Some(next.max(now)),
            None => now.checked_add(delay),
        }
    }

    fn delay(&self) -> Duration {
        let s = &self.schedule;
        if self.is_agent() {
            return s.interval;
        }
        match self.counter.phase(self.thresholds) {
            Phase::Steady => s.interval,
            Phase::Retrying => match self.thresholds {
                Thresholds::Keepalived {
                    delay_before_retry, ..
                } => delay_before_retry,
                Thresholds::Haproxy { .. } => s.interval,
            },
            Phase::Changing => s.fast_interval.unwrap_or(s.interval),
            Phase::Down => s.down_interval.unwrap_or(s.interval),
        }
    }
}

#[derive(Debug)]
struct Target {
    id: TargetId,
    weight: u32,
    inhibit: bool,
    checkers: Vec<usize>,
    agent_down: bool,
    maint: bool,
    drain: bool,
    dynamic_weight: Option<u32>,
    outlier: Outlier,
    /// Last reported state.
    serving: bool,
    reported_weight: u32,
}

impl Target {
    fn effective_weight(&self) -> u32 {
        if self.drain {
            0
        } else {
            self.dynamic_weight.unwrap_or(self.weight)
        }
    }
}

#[derive(Debug)]
struct Service {
    first: usize,
    len: usize,
    quorum: Quorum,
    sorry_server: bool,
    omega: bool,
    outlier: Option<OutlierConfig>,
}

/// The engine. See the module documentation.
#[derive(Debug)]
pub struct Engine {
    services: Vec<Service>,
    targets: Vec<Target>,
    checkers: Vec<Checker>,
    /// Probes in flight (checkers with `in_flight` set).
    in_flight: usize,
    timers: Timers,
    outputs: std::collections::VecDeque<Output>,
    counters: Counters,
    shut_down: bool,
}

impl Engine {
    /// Builds the engine; initial `TargetUp` (non-`alpha` targets) and
    /// quorum outputs are queued for [`Engine::poll_output`].
    pub fn new(config: Config, now: Instant) -> Result<Self, ConfigError> {
        let mut rng = SplitMix64::new(config.seed);
        let mut engine = Engine {
            services: Vec::new(),
            targets: Vec::new(),
            checkers: Vec::new(),
            in_flight: 0,
            timers: Timers::default(),
            outputs: std::collections::VecDeque::new(),
            counters: Counters::default(),
            shut_down: false,
        };
        for (s, svc) in config.services.into_iter().enumerate() {
            if let Some(o) = &svc.outlier {
                o.validate()?;
            }
            let first = engine.targets.len();
            for (t, tc) in svc.targets.into_iter().enumerate() {
                let flat = engine.targets.len();
                let mut checkers = Vec::new();
                for (c, cc) in tc.checkers.into_iter().enumerate() {
                    cc.validate()?;
                    let jitter = cc.schedule.warmup.map_or(Duration::ZERO, |w| {
                        let nanos = u64::try_from(w.as_nanos()).unwrap_or(u64::MAX);
                        Duration::from_nanos(rng.below(nanos))
                    });
                    let ci = engine.checkers.len();
                    let next_due = now.checked_add(jitter);
                    engine.timers.reset(Key::Checker(ci), None, next_due);
                    engine.checkers.push(Checker {
                        target: flat,
                        index: c,
                        kind: cc.kind,
                        schedule: cc.schedule,
                        thresholds: cc.thresholds,
                        counter: Counter::new(cc.thresholds, tc.alpha),
                        next_due,
                        in_flight: None,
                        started: 0,
                        last_due: None,
                    });
                    checkers.push(ci);
                }
                engine.targets.push(Target {
                    id: TargetId {
                        service: s,
                        target: t,
                    },
                    weight: tc.weight,
                    inhibit: tc.inhibit_on_failure,
                    checkers,
                    agent_down: false,
                    maint: false,
                    drain: false,
                    dynamic_weight: None,
                    outlier: Outlier::default(),
                    serving: false,
                    reported_weight: 0,
                });
                engine.update_target(flat, Reason::Initial, false);
            }
            engine.services.push(Service {
                first,
                len: engine.targets.len().saturating_sub(first),
                quorum: Quorum::new(svc.quorum, svc.hysteresis),
                sorry_server: svc.sorry_server,
                omega: svc.omega,
                outlier: svc.outlier,
            });
            engine.update_quorum(s);
        }
        Ok(engine)
    }

    /// Next output, if any. Drain until `None` after every call.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When [`Engine::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.first()
    }

    /// Counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// A target's current state, `None` for an unknown id.
    pub fn target_status(&self, id: TargetId) -> Option<TargetStatus> {
        let t = self.targets.get(self.flat(id)?)?;
        Some(TargetStatus {
            serving: t.serving,
            weight: t.effective_weight(),
            ejected: t.outlier.ejected_until.is_some(),
        })
    }

    /// Where each of a target's checkers stands between its thresholds
    /// (HAProxy's "UP 2/3"), in checker order; empty for an unknown id.
    pub fn progress(&self, id: TargetId) -> Vec<Progress> {
        let Some(t) = self.flat(id).and_then(|i| self.targets.get(i)) else {
            return Vec::new();
        };
        t.checkers
            .iter()
            .filter_map(|&c| self.checkers.get(c))
            .map(|ch| ch.counter.progress(ch.thresholds))
            .collect()
    }

    /// Whether a service holds its quorum, `None` for an unknown index.
    pub fn quorum_up(&self, service: usize) -> Option<bool> {
        self.services.get(service).map(|s| s.quorum.is_up())
    }

    /// Probes in flight.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// The checker count as a probe-id stride (at least 1).
    fn stride(&self) -> u64 {
        u64::try_from(self.checkers.len())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    fn flat(&self, id: TargetId) -> Option<usize> {
        let s = self.services.get(id.service)?;
        if id.target < s.len {
            s.first.checked_add(id.target)
        } else {
            None
        }
    }

    /// Runs due probes, probe timeouts and ejection ends. Spurious calls
    /// are no-ops.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(key) = self.timers.pop_due(now) {
            match key {
                Key::Checker(c) => self.checker_timer(c, now),
                Key::Ejection(t) => self.ejection_end(t),
            }
        }
    }

    /// Handles one input. Never panics; bad input is counted.
    pub fn handle(&mut self, now: Instant, input: Input) {
        if self.shut_down {
            self.counters.after_shutdown = self.counters.after_shutdown.saturating_add(1);
            return;
        }
        match input {
            Input::ProbeResult { probe_id, verdict } => self.probe_result(now, probe_id, verdict),
            Input::DataPlane { target, success } => self.data_plane(now, target, success),
            Input::Shutdown => self.shutdown(),
        }
    }

    fn checker_timer(&mut self, c: usize, now: Instant) {
        let stride = self.stride();
        let Some(ch) = self.checkers.get_mut(c) else {
            return;
        };
        match ch.in_flight {
            Some((probe_id, deadline)) if deadline <= now => {
                let (target, index) = (ch.target, ch.index);
                self.in_flight = self.in_flight.saturating_sub(1);
                ch.in_flight = None;
                self.counters.timeouts = self.counters.timeouts.saturating_add(1);
                if let Some(t) = self.targets.get(target) {
                    self.outputs.push_back(Output::ProbeTimedOut {
                        target: t.id,
                        checker: index,
                        probe_id,
                    });
                }
                // The timer was popped; `apply` schedules the next one.
                self.apply(c, now, Verdict::Fail(FailReason::Timeout));
            }
            Some(_) => {
                let t = ch.timer();
                self.timers.reset(Key::Checker(c), None, t);
            }
            None => match ch.next_due {
                Some(due) if due <= now => {
                    let probe_id = ch
                        .started
                        .wrapping_mul(stride)
                        .wrapping_add(u64::try_from(c).unwrap_or(0));
                    ch.started = ch.started.wrapping_add(1);
                    ch.next_due = None;
                    ch.last_due = Some(due);
                    let deadline = now.checked_add(ch.schedule.timeout);
                    if let Some(d) = deadline {
                        ch.in_flight = Some((probe_id, d));
                        self.in_flight = self.in_flight.saturating_add(1);
                        self.timers.reset(Key::Checker(c), None, Some(d));
                    }
                    self.counters.probes_started = self.counters.probes_started.saturating_add(1);
                    let (kind, index, target) = (ch.kind, ch.index, ch.target);
                    if let Some(t) = self.targets.get(target) {
                        self.outputs.push_back(Output::StartProbe {
                            target: t.id,
                            checker: index,
                            probe_id,
                            kind,
                        });
                    }
                }
                other => self.timers.reset(Key::Checker(c), None, other),
            },
        }
    }

    fn probe_result(&mut self, now: Instant, probe_id: u64, verdict: Verdict) {
        let stride = self.stride();
        let c = usize::try_from(probe_id.checked_rem(stride).unwrap_or(0)).unwrap_or(usize::MAX);
        let Some(ch) = self
            .checkers
            .get_mut(c)
            .filter(|ch| ch.in_flight.is_some_and(|(id, _)| id == probe_id))
        else {
            let started = self.checkers.get(c).map_or(0, |ch| ch.started);
            if probe_id.checked_div(stride).unwrap_or(u64::MAX) < started {
                self.counters.late_results = self.counters.late_results.saturating_add(1);
            } else {
                self.counters.unknown_results = self.counters.unknown_results.saturating_add(1);
            }
            return;
        };
        let old = ch.timer();
        ch.in_flight = None;
        self.in_flight = self.in_flight.saturating_sub(1);
        self.timers.reset(Key::Checker(c), old, None);
        self.apply(c, now, verdict);
    }

    /// Applies a verdict to checker `c` (whose timer is already removed)
    /// and schedules its next probe.
    fn apply(&mut self, c: usize, now: Instant, verdict: Verdict) {
        let Some(ch) = self.checkers.get_mut(c) else {
            return;
        };
        let (target, index) = (ch.target, ch.index);
        let mut reason = None;
        let mut agent = None;
        let mut weight = None;
        if ch.is_agent() {
            match verdict {
                Verdict::Agent(r) => agent = Some(r),
                Verdict::Fail(_) | Verdict::FailNow(_) => {
                    self.counters.agent_failures = self.counters.agent_failures.saturating_add(1);
                }
                Verdict::Pass { .. } => {
                    self.counters.mismatched_verdicts =
                        self.counters.mismatched_verdicts.saturating_add(1);
                }
            }
        } else {
            let verdict = match verdict {
                Verdict::Agent(_) => {
                    self.counters.mismatched_verdicts =
                        self.counters.mismatched_verdicts.saturating_add(1);
                    Verdict::Fail(FailReason::Malformed("agent reply to a health check"))
                }
                v => v,
            };
            match verdict {
                Verdict::Pass { weight: w } => {
                    self.counters.passes = self.counters.passes.saturating_add(1);
                    ch.counter.pass(ch.thresholds);
                    weight = w;
                    reason = Some(Reason::CheckPassed { checker: index });
                }
                Verdict::Fail(r) | Verdict::FailNow(r) => {
                    self.counters.failures = self.counters.failures.saturating_add(1);
                    ch.counter
                        .fail(ch.thresholds, matches!(verdict, Verdict::FailNow(_)));
                    reason = Some(Reason::CheckFailed {
                        checker: index,
                        reason: r,
                    });
                }
                Verdict::Agent(_) => {}
            }
        }
        ch.next_due = ch.next_due(now);
        let next = ch.next_due;
        self.timers.reset(Key::Checker(c), None, next);
        if let Some(r) = agent {
            self.apply_agent(target, r);
        }
        if let (Some(w), Some(t)) = (weight, self.targets.get_mut(target)) {
            t.dynamic_weight = Some(w);
        }
        if let Some(r) = reason {
            self.update_target(target, r, true);
        }
    }

    fn apply_agent(&mut self, target: usize, r: AgentReply) {
        self.counters.agent_replies = self.counters.agent_replies.saturating_add(1);
        let Some(t) = self.targets.get_mut(target) else {
            return;
        };
        let mut why = AgentState::Weight;
        match r.weight {
            Some(AgentWeight::Percent(p)) => {
                let w = u64::from(t.weight)
                    .saturating_mul(u64::from(p))
                    .checked_div(100)
                    .unwrap_or(0);
                t.dynamic_weight = Some(u32::try_from(w).unwrap_or(u32::MAX));
            }
            Some(AgentWeight::Absolute(w)) => t.dynamic_weight = Some(w),
            None => {}
        }
        match r.admin {
            Some(AdminState::Ready) => {
                t.drain = false;
                t.maint = false;
                why = AgentState::Ready;
            }
            Some(AdminState::Drain) => {
                t.drain = true;
                t.maint = false;
                why = AgentState::Drain;
            }
            Some(AdminState::Maint) => {
                t.maint = true;
                why = AgentState::Maint;
            }
            None => {}
        }
        match r.oper {
            Some(OperState::Up) => {
                t.agent_down = false;
                why = AgentState::Up;
            }
            Some(OperState::Down) => {
                t.agent_down = true;
                why = AgentState::Down;
            }
            None => {}
        }
        self.update_target(target, Reason::Agent(why), true);
    }

    fn data_plane(&mut self, now: Instant, id: TargetId, success: bool) {
        let (Some(flat), Some(cfg)) = (
            self.flat(id),
            self.services.get(id.service).and_then(|s| s.outlier),
        ) else {
            self.counters.data_plane_ignored = self.counters.data_plane_ignored.saturating_add(1);
            return;
        };
        if !success {
            self.counters.data_plane_errors = self.counters.data_plane_errors.saturating_add(1);
        }
        let ejected_now = self.ejected_in_service(id.service);
        let len = self.services.get(id.service).map_or(0, |s| s.len);
        let Some(t) = self.targets.get_mut(flat) else {
            return;
        };
        if t.outlier.ejected_until.is_some() {
            return;
        }
        if success {
            t.outlier.consecutive = 0;
            return;
        }
        t.outlier.consecutive = t.outlier.consecutive.saturating_add(1);
        if t.outlier.consecutive < cfg.consecutive_errors {
            return;
        }
        if !outlier::may_eject(&cfg, ejected_now, len) {
            self.counters.ejections_refused = self.counters.ejections_refused.saturating_add(1);
            return;
        }
        t.outlier.ejections = t.outlier.ejections.saturating_add(1);
        t.outlier.consecutive = 0;
        let duration = outlier::ejection_time(&cfg, t.outlier.ejections);
        let until = now.checked_add(duration);
        t.outlier.ejected_until = Some(until.unwrap_or(now));
        self.timers.reset(Key::Ejection(flat), None, until);
        self.counters.ejections = self.counters.ejections.saturating_add(1);
        self.outputs.push_back(Output::Ejected {
            target: id,
            duration,
            ejections: t.outlier.ejections,
        });
        self.update_target(flat, Reason::Ejected, true);
    }

    fn ejected_in_service(&self, service: usize) -> usize {
        self.services.get(service).map_or(0, |s| {
            self.targets
                .iter()
                .skip(s.first)
                .take(s.len)
                .filter(|t| t.outlier.ejected_until.is_some())
                .count()
        })
    }

    fn ejection_end(&mut self, flat: usize) {
        if let Some(t) = self.targets.get_mut(flat) {
            t.outlier.ejected_until = None;
            t.outlier.consecutive = 0;
            self.update_target(flat, Reason::EjectionEnded, true);
        }
    }

    fn shutdown(&mut self) {
        self.shut_down = true;
        self.timers.clear();
        self.in_flight = 0;
        for ch in &mut self.checkers {
            ch.in_flight = None;
            ch.next_due = None;
        }
        for s in 0..self.services.len() {
            let Some(svc) = self.services.get(s) else {
                continue;
            };
            if !svc.omega {
                continue;
            }
            let (first, len) = (svc.first, svc.len);
            for flat in first..first.saturating_add(len) {
                if let Some(t) = self.targets.get_mut(flat)
                    && t.serving
                {
                    {
                        t.serving = false;
                        let action = if t.inhibit {
                            DownAction::Inhibit
                        } else {
                            DownAction::Remove
                        };
                        self.counters.transitions_down =
                            self.counters.transitions_down.saturating_add(1);
                        self.outputs.push_back(Output::TargetDown {
                            target: t.id,
                            action,
                            reason: Reason::Shutdown,
                        });
                    }
                }
            }
            self.update_quorum(s);
        }
    }

    /// Recomputes a target's serving state and weight; reports changes and
    /// re-evaluates its service's quorum when `quorum` is set.
    fn update_target(&mut self, flat: usize, reason: Reason, quorum: bool) {
        let healthy = {
            let Some(t) = self.targets.get(flat) else {
                return;
            };
            t.checkers.iter().all(|&c| {
                self.checkers
                    .get(c)
                    .is_none_or(|ch| ch.is_agent() || ch.counter.ok(ch.thresholds))
            })
        };
        let Some(t) = self.targets.get_mut(flat) else {
            return;
        };
        let serving = healthy && !t.agent_down && !t.maint && t.outlier.ejected_until.is_none();
        let weight = t.effective_weight();
        let service = t.id.service;
        let changed = serving != t.serving || (serving && weight != t.reported_weight);
        if serving && !t.serving {
            self.counters.transitions_up = self.counters.transitions_up.saturating_add(1);
            self.outputs.push_back(Output::TargetUp {
                target: t.id,
                weight,
                reason,
            });
        } else if !serving && t.serving {
            self.counters.transitions_down = self.counters.transitions_down.saturating_add(1);
            self.outputs.push_back(Output::TargetDown {
                target: t.id,
                action: if t.inhibit {
                    DownAction::Inhibit
                } else {
                    DownAction::Remove
                },
                reason,
            });
        } else if serving && weight != t.reported_weight {
            self.counters.weight_changes = self.counters.weight_changes.saturating_add(1);
            self.outputs.push_back(Output::WeightChanged {
                target: t.id,
                old: t.reported_weight,
                new: weight,
            });
        }
        t.serving = serving;
        if serving {
            t.reported_weight = weight;
        }
        if quorum && changed {
            self.update_quorum(service);
        }
    }

    fn update_quorum(&mut self, s: usize) {
        let Some(svc) = self.services.get(s) else {
            return;
        };
        let live = self
            .targets
            .iter()
            .skip(svc.first)
            .take(svc.len)
            .filter(|t| t.serving)
            .fold(0u64, |acc, t| {
                acc.saturating_add(u64::from(t.reported_weight))
            });
        let Some(svc) = self.services.get_mut(s) else {
            return;
        };
        match svc.quorum.update(live) {
            Some(true) => {
                self.counters.quorum_changes = self.counters.quorum_changes.saturating_add(1);
                self.outputs.push_back(Output::QuorumGained {
                    service: s,
                    live_weight: live,
                });
                if svc.sorry_server {
                    self.outputs
                        .push_back(Output::SorryServerOut { service: s });
                }
            }
            Some(false) => {
                self.counters.quorum_changes = self.counters.quorum_changes.saturating_add(1);
                self.outputs.push_back(Output::QuorumLost {
                    service: s,
                    live_weight: live,
                });
                if svc.sorry_server && !self.shut_down {
                    self.outputs.push_back(Output::SorryServerIn { service: s });
                }
            }
            None => {}
        }
    }
}
