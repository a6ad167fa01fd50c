//! The health-check role (monitor only): runs the `[health]` checkers of
//! the node's configuration with a [`healthcheck::Engine`], logs every
//! transition, runs keepalived's `notify_up` / `notify_down` (per real
//! server) and `quorum_up` / `quorum_down` (per virtual server) scripts,
//! answers `dsas-node status`, and publishes the results as a typed stream
//! of [`HealthEvent`]s for a load-balancer role to consume. It programs
//! nothing itself.
//!
//! Driver loop (see [`crate::roles`]): each probe the engine starts
//! (`StartProbe`) takes a slot (`max_concurrent_probes`, a semaphore) and
//! runs on one of two drivers:
//!
//! * the [`reactor`] (TCP_CHECK, HTTP_GET, SMTP_CHECK, agent): a
//!   non-blocking socket in the role's own epoll set, advanced by the loop
//!   itself. A probe that finds no free slot waits in a queue, started as
//!   slots free up.
//! * a task (SSL_GET, DNS, UDP, ICMP, MISC; [`probe::run`]) that waits for
//!   its slot, runs the probe and sends its verdict back.
//!
//! `ProbeTimedOut` drops the reactor's socket or aborts the task (a
//! MISC_CHECK's process group is killed).
//!
//! The loop wakes on a `TICK` (4 ms) grid: engine deadlines are rounded up to
//! it, and a verdict wakes the loop only when no tick is due in the
//! present grid step and none has run in it (else it waits for the next
//! tick, which takes every verdict in by then), so the loop runs at most
//! about 1 / `TICK` times a second however many checks run, and handles a
//! lone verdict at once (issue 6: 10,000 checks a second; detection
//! within `interval × fall + timeout + 10 ms`, of which the grid takes
//! ≤ 4 ms).

pub mod plan;
pub mod probe;
pub mod reactor;
pub mod tls;

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher as _;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use healthcheck::{DownAction, Engine, FailReason, Input, Output, Reason, TargetId, Verdict};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, broadcast, mpsc};
use tokio::task::AbortHandle;

use crate::config::Config;
use crate::config::health::HealthConfig;
use crate::control::status_channel;
use crate::roles::{Role, RoleContext, RoleFuture};

use plan::Plan;
use reactor::{Reactor, StreamProbe};

/// Role name (status key, logs).
pub const NAME: &str = "health";
/// Capacity of the event stream (a lagging subscriber loses the oldest).
pub const EVENT_CAPACITY: usize = 4096;
/// Transitions kept per target for `status`.
const HISTORY: usize = 8;

/// One change of a real server's membership, as a load balancer needs it.
///
/// Passive outlier ejection (issue 6) closes the loop through the same
/// stream, once the load-balancer role of a later issue exists: that role
/// will report each request or connection outcome for a target it learnt
/// from here as [`healthcheck::Input::DataPlane`] `{ target: id, success }`
/// (Envoy: a 5xx or a gateway failure is an error) over a channel this role
/// will own and feed to its engine, as it feeds probe verdicts. The
/// engine's outlier detection (consecutive errors, ejection time growing
/// per ejection up to a cap, at most `max_ejection_percent` of a service
/// ejected) then takes the target out and back in, and those changes come
/// out here as events with `up` false / true like any other (reason
/// `Ejected` / `EjectionEnded` in the log and status). Until then no input
/// of that kind exists in the node; nothing here stands in for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthEvent {
    /// Virtual server name (`name`, else `IP:PORT`).
    pub service: String,
    /// Real server `IP:PORT` (the sorry server for `sorry`).
    pub target: SocketAddr,
    /// In the pool (with `weight`) or out of it.
    pub up: bool,
    /// Effective weight; 0 when down.
    pub weight: u32,
    /// When down: keep it with weight 0 (`inhibit_on_failure`) instead of
    /// removing it.
    pub inhibit: bool,
    /// This is the virtual server's `sorry_server` going in (quorum lost)
    /// or out (quorum regained). While it is in, the other targets are
    /// withdrawn (keepalived).
    pub sorry: bool,
    /// Engine indices of the target (`target` is `usize::MAX` for the
    /// sorry server).
    pub id: TargetId,
}

/// A random 64-bit value without reading the clock (std's per-process
/// random hasher keys).
fn random_u64() -> u64 {
    std::collections::hash_map::RandomState::new().hash_one(0x6473_6173_u64)
}

/// Mixes a probe id into an unpredictable value (DNS IDs, ICMP idents).
fn mix(v: u64) -> u64 {
    static KEY: OnceLock<std::collections::hash_map::RandomState> = OnceLock::new();
    KEY.get_or_init(std::collections::hash_map::RandomState::new)
        .hash_one(v)
}

/// The node's clock: read right before each `handle*` call.
#[allow(
    clippy::disallowed_methods,
    reason = "the role is where the node reads the clock"
)]
fn now() -> Instant {
    Instant::now()
}

/// Wake-up grid of the driver loop (see the module doc).
const TICK: Duration = Duration::from_millis(4);

/// `t` rounded down to the [`TICK`] grid that starts at `origin` (`t`
/// itself where the grid point is not representable).
fn grid_floor(origin: Instant, t: Instant) -> Instant {
    let tick = TICK.as_nanos();
    t.saturating_duration_since(origin)
        .as_nanos()
        .checked_div(tick)
        .and_then(|n| n.checked_mul(tick))
        .and_then(|ns| u64::try_from(ns).ok())
        .and_then(|ns| origin.checked_add(Duration::from_nanos(ns)))
        .map_or(t, |g| g.min(t))
}

/// `t` rounded up to the [`TICK`] grid that starts at `origin`.
fn on_grid(origin: Instant, t: Instant) -> Instant {
    if t <= origin {
        return origin;
    }
    let floor = grid_floor(origin, t);
    if floor == t {
        return t;
    }
    floor.checked_add(TICK).map_or(t, |g| g.max(t))
}

/// The time a tick is handled at: now, rounded down to the [`TICK`] grid.
/// A tick runs for the grid point it was due at, whatever the wake-up's
/// latency: a probe it starts times out on the grid too, not one grid step
/// after it (issue 6's detection bound), and no deadline it was due for is
/// later than this (they are on the grid and past).
fn tick_now(origin: Instant) -> Instant {
    grid_floor(origin, now())
}

/// The monitor-only health-check role.
#[derive(Debug)]
pub struct HealthRole {
    config: HealthConfig,
    events: broadcast::Sender<HealthEvent>,
}

impl HealthRole {
    /// A role for `config` (not started).
    #[must_use]
    pub fn new(config: HealthConfig) -> Self {
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        Self { config, events }
    }

    /// The role for the node's configuration, if it defines virtual servers.
    #[must_use]
    pub fn from_config(config: &Config) -> Option<Self> {
        (!config.health.virtual_server.is_empty()).then(|| Self::new(config.health.clone()))
    }

    /// Subscribes to the event stream. Subscribe before the role starts to
    /// see the initial state (`up` events for targets that start serving).
    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<HealthEvent> {
        self.events.subscribe()
    }

    /// Runs the role with its own shutdown signal (for embedding and tests);
    /// `status` requests are answered on `status_rx`.
    ///
    /// # Errors
    /// A configuration the engine rejects, or an unreadable `ca_file`.
    pub async fn run_with(
        self,
        mut shutdown: crate::roles::Shutdown,
        mut status_rx: mpsc::Receiver<crate::control::StatusRequest>,
    ) -> io::Result<()> {
        let plan = plan::build(&self.config, random_u64())?;
        let start = now();
        let engine = Engine::new(plan.engine.clone(), start)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("health: {e}")))?;
        let (results_tx, mut results) = mpsc::unbounded_channel::<ProbeDone>();
        let notify_timeout = self
            .config
            .notify_timeout
            .unwrap_or(crate::notify::DEFAULT_TIMEOUT);
        let mut st = State {
            state: plan
                .services
                .iter()
                .map(|s| s.targets.iter().map(|_| TargetState::new(start)).collect())
                .collect(),
            quorum: vec![None; plan.services.len()],
            sorry_in: vec![false; plan.services.len()],
            plan,
            engine,
            events: self.events,
            in_flight: IdMap::default(),
            waiting: VecDeque::new(),
            reactor: Reactor::new()?,
            ready: Vec::new(),
            semaphore: Arc::new(Semaphore::new(self.config.max_concurrent_probes)),
            max_concurrent: self.config.max_concurrent_probes,
            results_tx,
            notify: spawn_notifier(notify_timeout),
            start,
            last_tick: start,
        };
        tracing::info!(
            services = st.plan.services.len(),
            targets = st.state.iter().map(Vec::len).sum::<usize>(),
            "health checks starting"
        );
        st.drain();
        let origin = start;
        loop {
            let t = now();
            let next_tick = on_grid(origin, t);
            let mut deadline = st.engine.poll_timeout().map(|d| on_grid(origin, d));
            if st.reactor.has_fresh() || !st.ready.is_empty() {
                // Fresh connections and verdicts reached without I/O are
                // taken on the next tick.
                deadline = Some(deadline.map_or(next_tick, |d| d.min(next_tick)));
            }
            // A tick due no later than any that a verdict could bring:
            // verdicts wait for it (under load the loop then wakes once
            // per tick, on its timer alone).
            let idle = deadline.is_none_or(|d| d > next_tick);
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = st.reactor.ready(), if idle => {
                    st.tick_soon(origin, None, &mut results).await;
                }
                Some(first) = results.recv(), if idle => {
                    st.tick_soon(origin, Some(first), &mut results).await;
                }
                () = sleep => st.tick(tick_now(origin), None, &mut results),
                Some(reply) = status_rx.recv() => {
                    let _ = reply.send(st.status(now()));
                }
                () = shutdown.wait() => {
                    st.engine.handle(now(), Input::Shutdown);
                    st.drain();
                    for (_, (_, runner)) in st.in_flight.drain() {
                        if let Runner::Task(task) = runner {
                            task.abort();
                        }
                    }
                    tracing::info!("health checks stopped");
                    return Ok(());
                }
            }
            st.drain();
        }
    }
}

impl Role for HealthRole {
    fn name(&self) -> &'static str {
        NAME
    }

    fn run(self: Box<Self>, ctx: RoleContext) -> RoleFuture {
        Box::pin(async move {
            let (handle, status_rx) = status_channel();
            ctx.registry.register(NAME, handle);
            self.run_with(ctx.shutdown, status_rx).await
        })
    }
}

/// Runs notify scripts one after the other (in transition order), each
/// bounded by the timeout; the loop only enqueues.
fn spawn_notifier(timeout: Duration) -> mpsc::Sender<Vec<String>> {
    let (tx, mut rx) = mpsc::channel::<Vec<String>>(crate::notify::QUEUE);
    tokio::spawn(async move {
        while let Some(argv) = rx.recv().await {
            let outcome = crate::notify::run_script(&argv, timeout).await;
            if outcome.success() {
                tracing::debug!(?argv, "notify script done");
            } else {
                tracing::warn!(?argv, ?outcome, "notify script failed");
            }
        }
    });
    tx
}

#[derive(Debug, Clone)]
struct LastCheck {
    checker: usize,
    result: Verdict,
    at: Instant,
    took: Duration,
}

#[derive(Debug, Clone)]
struct TargetState {
    up: bool,
    weight: u32,
    since: Instant,
    last: Option<LastCheck>,
    checks: u64,
    passes: u64,
    failures: u64,
    timeouts: u64,
    history: VecDeque<(Instant, bool, u32, String)>,
}

impl TargetState {
    fn new(now: Instant) -> Self {
        Self {
            up: false,
            weight: 0,
            since: now,
            last: None,
            checks: 0,
            passes: 0,
            failures: 0,
            timeouts: 0,
            history: VecDeque::new(),
        }
    }
}

/// What the role keeps of an in-flight probe, for its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeRef {
    /// The target probed.
    pub target: TargetId,
    /// Its checker index.
    pub checker: usize,
    /// When the engine started it.
    pub started: Instant,
}

/// A probe that is not a [`Reactor`] connection (those carry their
/// [`ProbeRef`] themselves).
#[derive(Debug)]
enum Runner {
    /// A task ([`probe::run`]).
    Task(AbortHandle),
    /// Queued for the reactor until a slot frees up.
    Waiting,
}

/// A probe's id, verdict and end time, sent back by its task.
type ProbeDone = (u64, Verdict, Instant);

/// Hashes the engine's probe ids (unique integers it issues, never chosen
/// by a peer) with one multiplication (Fibonacci hashing) instead of
/// SipHash: three lookups per probe, 10,000 probes a second.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(self.0.rotate_left(8) ^ u64::from(b));
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// A map keyed by probe id.
pub(crate) type IdMap<V> = HashMap<u64, V, std::hash::BuildHasherDefault<IdHasher>>;

struct State {
    plan: Plan,
    engine: Engine,
    state: Vec<Vec<TargetState>>,
    quorum: Vec<Option<bool>>,
    sorry_in: Vec<bool>,
    events: broadcast::Sender<HealthEvent>,
    /// Probes on tasks or waiting for a slot.
    in_flight: IdMap<(ProbeRef, Runner)>,
    /// Reactor probes waiting for a slot, oldest first (ids no longer in
    /// `in_flight` timed out while waiting and are skipped).
    waiting: VecDeque<u64>,
    reactor: Reactor,
    /// Verdicts for the next tick: the reactor's, and those reached
    /// without I/O.
    ready: Vec<(u64, ProbeRef, Verdict)>,
    semaphore: Arc<Semaphore>,
    max_concurrent: usize,
    results_tx: mpsc::UnboundedSender<ProbeDone>,
    notify: mpsc::Sender<Vec<String>>,
    start: Instant,
    /// The grid time of the last tick.
    last_tick: Instant,
}

fn verdict_text(v: &Verdict) -> String {
    match v {
        Verdict::Pass { weight: None } => "pass".to_owned(),
        Verdict::Pass { weight: Some(w) } => format!("pass (weight {w})"),
        Verdict::Fail(r) => format!("fail: {r:?}"),
        Verdict::FailNow(r) => format!("fail now: {r:?}"),
        Verdict::Agent(r) => format!("agent: {r:?}"),
    }
}

fn reason_text(r: &Reason) -> String {
    match r {
        Reason::Initial => "initial".to_owned(),
        Reason::CheckPassed { checker } => format!("checker {checker} passed"),
        Reason::CheckFailed { checker, reason } => format!("checker {checker} failed: {reason:?}"),
        other => format!("{other:?}"),
    }
}

fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

impl State {
    fn target_mut(&mut self, id: TargetId) -> Option<&mut TargetState> {
        self.state.get_mut(id.service)?.get_mut(id.target)
    }

    /// Records a probe's verdict (reached at `at`) in its target's status.
    fn record(&mut self, probe: ProbeRef, verdict: &Verdict, at: Instant) {
        let Some(t) = self.target_mut(probe.target) else {
            return;
        };
        t.checks = t.checks.saturating_add(1);
        if verdict.is_pass() {
            t.passes = t.passes.saturating_add(1);
        } else if !matches!(verdict, Verdict::Agent(_)) {
            t.failures = t.failures.saturating_add(1);
        }
        if matches!(verdict, Verdict::Fail(FailReason::Timeout)) {
            t.timeouts = t.timeouts.saturating_add(1);
        }
        t.last = Some(LastCheck {
            checker: probe.checker,
            result: verdict.clone(),
            at,
            took: at.saturating_duration_since(probe.started),
        });
    }

    /// A verdict handled at `now` for a probe that ended at `at`; `probe`
    /// is unknown for a task's verdict that came after its timeout (the
    /// engine counts it as late).
    fn result(
        &mut self,
        now: Instant,
        at: Instant,
        probe_id: u64,
        probe: Option<ProbeRef>,
        verdict: Verdict,
    ) {
        if let Some(p) = probe {
            self.record(p, &verdict, at);
        }
        self.engine
            .handle(now, Input::ProbeResult { probe_id, verdict });
    }

    /// A task's verdict.
    fn task_result(&mut self, now: Instant, (id, verdict, at): ProbeDone) {
        let probe = self.in_flight.remove(&id).map(|(p, _)| p);
        self.result(now, at, id, probe, verdict);
    }

    /// A verdict woke the loop: a tick now, or at the next grid point if
    /// one already ran in this grid step (see the module doc).
    async fn tick_soon(
        &mut self,
        origin: Instant,
        first: Option<ProbeDone>,
        results: &mut mpsc::UnboundedReceiver<ProbeDone>,
    ) {
        if tick_now(origin) <= self.last_tick {
            tokio::time::sleep_until(on_grid(origin, now()).into()).await;
        }
        self.tick(tick_now(origin), first, results);
    }

    /// One wake-up: verdicts first (a probe that answered before its
    /// deadline is not timed out because the tick came later), then the
    /// engine's timers.
    fn tick(
        &mut self,
        t: Instant,
        first: Option<ProbeDone>,
        results: &mut mpsc::UnboundedReceiver<ProbeDone>,
    ) {
        self.last_tick = t;
        if let Some(done) = first {
            self.task_result(t, done);
        }
        while let Ok(done) = results.try_recv() {
            self.task_result(t, done);
        }
        let mut ready = std::mem::take(&mut self.ready);
        self.reactor.poll(&mut ready);
        for (id, probe, verdict) in ready.drain(..) {
            self.result(t, t, id, Some(probe), verdict);
        }
        self.ready = ready;
        self.start_waiting();
        self.engine.handle_timeout(t);
    }

    /// Starts the queued reactor probes that now find a slot.
    fn start_waiting(&mut self) {
        while let Some(&id) = self.waiting.front() {
            let Some(&(probe, _)) = self.in_flight.get(&id) else {
                self.waiting.pop_front();
                continue;
            };
            let Ok(permit) = Arc::clone(&self.semaphore).try_acquire_owned() else {
                return;
            };
            self.waiting.pop_front();
            self.in_flight.remove(&id);
            match self
                .plan
                .probe(probe.target, probe.checker)
                .and_then(StreamProbe::from_spec)
            {
                Some(Ok(stream)) => self.start_on_reactor(id, probe, stream, permit),
                Some(Err(v)) => self.ready.push((id, probe, v)),
                None => self
                    .ready
                    .push((id, probe, Verdict::Fail(FailReason::Driver))),
            }
        }
    }

    /// Hands probe `id` to the reactor; a verdict it reaches at once is
    /// taken on the next tick.
    fn start_on_reactor(
        &mut self,
        id: u64,
        probe: ProbeRef,
        stream: StreamProbe,
        permit: tokio::sync::OwnedSemaphorePermit,
    ) {
        if let Some(v) = self.reactor.start(id, probe, stream, permit) {
            self.ready.push((id, probe, v));
        }
    }

    /// The probe timed out in the engine: drop its connection or abort its
    /// task, and record the timeout.
    fn timed_out(&mut self, probe_id: u64) {
        let probe = match self.reactor.cancel(probe_id) {
            Some(p) => Some(p),
            None => self.in_flight.remove(&probe_id).map(|(p, runner)| {
                if let Runner::Task(task) = runner {
                    task.abort();
                }
                p
            }),
        };
        if let Some(p) = probe {
            self.record(p, &Verdict::Fail(FailReason::Timeout), now());
        }
    }

    fn start_probe(&mut self, target: TargetId, checker: usize, probe_id: u64) {
        let probe = ProbeRef {
            target,
            checker,
            started: now(),
        };
        let Some(spec) = self.plan.probe(target, checker) else {
            // Cannot happen (the plan mirrors the engine); fail the probe.
            self.ready
                .push((probe_id, probe, Verdict::Fail(FailReason::Driver)));
            return;
        };
        if let Some(stream) = StreamProbe::from_spec(spec) {
            match stream {
                Err(v) => self.ready.push((probe_id, probe, v)),
                Ok(stream) => match Arc::clone(&self.semaphore).try_acquire_owned() {
                    Ok(permit) if self.waiting.is_empty() => {
                        self.start_on_reactor(probe_id, probe, stream, permit);
                    }
                    // No slot (or others wait for one): queue it.
                    _ => {
                        self.in_flight.insert(probe_id, (probe, Runner::Waiting));
                        self.waiting.push_back(probe_id);
                    }
                },
            }
            return;
        }
        let spec = spec.clone();
        let timeout = self
            .plan
            .engine
            .services
            .get(target.service)
            .and_then(|s| s.targets.get(target.target))
            .and_then(|t| t.checkers.get(checker))
            .map_or(plan::DEFAULT_CONNECT_TIMEOUT, |c| c.schedule.timeout);
        let semaphore = Arc::clone(&self.semaphore);
        let tx = self.results_tx.clone();
        let task = tokio::spawn(async move {
            let Ok(permit) = semaphore.acquire_owned().await else {
                return;
            };
            let verdict = probe::run(&spec, probe_id, timeout).await;
            // Free the slot before the verdict wakes the loop, which may
            // start a waiting reactor probe in it.
            drop(permit);
            let _ = tx.send((probe_id, verdict, now()));
        });
        self.in_flight
            .insert(probe_id, (probe, Runner::Task(task.abort_handle())));
    }

    fn notify(&self, argv: Option<&Vec<String>>) {
        if let Some(argv) = argv
            && self.notify.try_send(argv.clone()).is_err()
        {
            tracing::warn!(?argv, "notify queue full, dropped");
        }
    }

    fn transition(&mut self, id: TargetId, up: bool, weight: u32, inhibit: bool, why: String) {
        let t_now = now();
        let (service, address, script) = match self.plan.target(id) {
            Some(t) => (
                self.plan
                    .services
                    .get(id.service)
                    .map(|s| s.name.clone())
                    .unwrap_or_default(),
                t.address,
                if up {
                    t.notify_up.clone()
                } else {
                    t.notify_down.clone()
                },
            ),
            None => return,
        };
        if let Some(t) = self.target_mut(id) {
            let changed = t.up != up;
            t.up = up;
            t.weight = weight;
            if changed {
                t.since = t_now;
            }
            t.history.push_back((t_now, up, weight, why.clone()));
            if t.history.len() > HISTORY {
                t.history.pop_front();
            }
        }
        if up {
            tracing::info!(service, target = %address, weight, reason = why, "real server UP");
        } else {
            tracing::info!(service, target = %address, inhibit, reason = why, "real server DOWN");
        }
        if why != "initial" {
            self.notify(script.as_ref());
        }
        let _ = self.events.send(HealthEvent {
            service,
            target: address,
            up,
            weight,
            inhibit,
            sorry: false,
            id,
        });
    }

    fn drain(&mut self) {
        while let Some(out) = self.engine.poll_output() {
            match out {
                Output::StartProbe {
                    target,
                    checker,
                    probe_id,
                    ..
                } => self.start_probe(target, checker, probe_id),
                Output::ProbeTimedOut { probe_id, .. } => self.timed_out(probe_id),
                Output::TargetUp {
                    target,
                    weight,
                    reason,
                } => self.transition(target, true, weight, false, reason_text(&reason)),
                Output::TargetDown {
                    target,
                    action,
                    reason,
                } => self.transition(
                    target,
                    false,
                    0,
                    action == DownAction::Inhibit,
                    reason_text(&reason),
                ),
                Output::WeightChanged { target, old, new } => {
                    let up = self
                        .state
                        .get(target.service)
                        .and_then(|s| s.get(target.target))
                        .is_some_and(|t| t.up);
                    if let Some(t) = self.target_mut(target) {
                        t.weight = new;
                    }
                    tracing::info!(?target, old, new, "real server weight changed");
                    if up {
                        self.transition(target, true, new, false, format!("weight {old} -> {new}"));
                    }
                }
                Output::Ejected {
                    target,
                    duration,
                    ejections,
                } => {
                    tracing::info!(?target, ?duration, ejections, "real server ejected");
                }
                Output::QuorumLost {
                    service,
                    live_weight,
                } => self.quorum(service, false, live_weight),
                Output::QuorumGained {
                    service,
                    live_weight,
                } => self.quorum(service, true, live_weight),
                Output::SorryServerIn { service } => self.sorry(service, true),
                Output::SorryServerOut { service } => self.sorry(service, false),
            }
        }
    }

    fn quorum(&mut self, service: usize, up: bool, live_weight: u64) {
        let Some(svc) = self.plan.services.get(service) else {
            return;
        };
        let initial = self.quorum.get(service).copied().flatten().is_none();
        if up {
            tracing::info!(service = svc.name, live_weight, "quorum gained");
        } else {
            tracing::warn!(service = svc.name, live_weight, "quorum lost");
        }
        let script = if up {
            svc.quorum_up.clone()
        } else {
            svc.quorum_down.clone()
        };
        // keepalived runs quorum_down at start-up when the quorum is not
        // met, but not quorum_up.
        if !(initial && up) {
            self.notify(script.as_ref());
        }
        if let Some(q) = self.quorum.get_mut(service) {
            *q = Some(up);
        }
    }

    fn sorry(&mut self, service: usize, active: bool) {
        let Some(svc) = self.plan.services.get(service) else {
            return;
        };
        if let Some(s) = self.sorry_in.get_mut(service) {
            *s = active;
        }
        let Some(addr) = svc.sorry_server else {
            return;
        };
        tracing::info!(service = svc.name, sorry_server = %addr, active, "sorry server");
        let _ = self.events.send(HealthEvent {
            service: svc.name.clone(),
            target: addr,
            up: active,
            weight: u32::from(active),
            inhibit: false,
            sorry: true,
            id: TargetId {
                service,
                target: usize::MAX,
            },
        });
    }

    fn status(&self, now: Instant) -> Value {
        let ago = |t: Instant| secs(now.saturating_duration_since(t));
        let services: Vec<Value> = self
            .plan
            .services
            .iter()
            .enumerate()
            .map(|(s, svc)| {
                let targets: Vec<Value> = svc
                    .targets
                    .iter()
                    .enumerate()
                    .map(|(t, tp)| {
                        let st = self.state.get(s).and_then(|v| v.get(t));
                        let ejected = self
                            .engine
                            .target_status(tp.id)
                            .is_some_and(|x| x.ejected);
                        json!({
                            "address": tp.address.to_string(),
                            "state": if st.is_some_and(|x| x.up) { "UP" } else { "DOWN" },
                            "weight": st.map_or(0, |x| x.weight),
                            "ejected": ejected,
                            "since_s": st.map(|x| ago(x.since)),
                            "checkers": tp.probes.iter().map(plan::ProbeSpec::describe).collect::<Vec<_>>(),
                            // Per checker, HAProxy's "UP 2/3" / keepalived's retries.
                            "progress": self.engine.progress(tp.id).iter().map(ToString::to_string).collect::<Vec<_>>(),
                            "last_check": st.and_then(|x| x.last.as_ref()).map(|l| json!({
                                "checker": tp.probes.get(l.checker).map(plan::ProbeSpec::describe),
                                "result": verdict_text(&l.result),
                                "ago_s": ago(l.at),
                                "took_ms": u64::try_from(l.took.as_micros()).unwrap_or(u64::MAX).checked_div(1000),
                            })),
                            "counters": st.map(|x| json!({
                                "checks": x.checks,
                                "passes": x.passes,
                                "failures": x.failures,
                                "timeouts": x.timeouts,
                            })),
                            "transitions": st.map(|x| x.history.iter().map(|(at, up, w, why)| json!({
                                "state": if *up { "UP" } else { "DOWN" },
                                "weight": w,
                                "ago_s": ago(*at),
                                "reason": why,
                            })).collect::<Vec<_>>()),
                        })
                    })
                    .collect();
                json!({
                    "name": svc.name,
                    "quorum": match self.engine.quorum_up(s) {
                        Some(true) => "UP",
                        Some(false) => "DOWN",
                        None => "-",
                    },
                    "sorry_server": svc.sorry_server.map(|a| a.to_string()),
                    "sorry_server_active": self.sorry_in.get(s).copied().unwrap_or(false),
                    "targets": targets,
                })
            })
            .collect();
        let c = self.engine.counters();
        json!({
            "uptime_s": ago(self.start),
            "in_flight": self.in_flight.len().saturating_add(self.reactor.len()),
            "max_concurrent_probes": self.max_concurrent,
            "services": services,
            "counters": {
                "probes_started": c.probes_started,
                "passes": c.passes,
                "failures": c.failures,
                "timeouts": c.timeouts,
                "late_results": c.late_results,
                "transitions_up": c.transitions_up,
                "transitions_down": c.transitions_down,
                "weight_changes": c.weight_changes,
                "quorum_changes": c.quorum_changes,
                "agent_replies": c.agent_replies,
                "agent_failures": c.agent_failures,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_rounding() {
        let o = now();
        let ms = Duration::from_millis;
        let at = |d: Duration| o + d;
        assert_eq!(on_grid(o, o), o);
        assert_eq!(on_grid(o, at(ms(4))), at(ms(4)), "on the grid stays");
        assert_eq!(on_grid(o, at(Duration::from_nanos(1))), at(ms(4)));
        assert_eq!(on_grid(o, at(ms(5))), at(ms(8)));
        assert_eq!(grid_floor(o, at(ms(5))), at(ms(4)));
        assert_eq!(grid_floor(o, at(ms(8))), at(ms(8)));
        assert_eq!(grid_floor(o, at(ms(3))), o);
        let before = o.checked_sub(ms(1)).unwrap();
        assert_eq!(on_grid(o, before), o, "before the origin: the origin");
        assert_eq!(grid_floor(o, before), before);
    }
}
