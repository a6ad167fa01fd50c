#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic,
    clippy::disallowed_methods,
    reason = "test code"
)]

//! Engine semantics on a virtual clock, with exact times.

use std::time::{Duration, Instant};

use healthcheck::agent::parse_reply;
use healthcheck::{
    AgentState, CheckerConfig, Config, DownAction, Engine, FailReason, Growth, Input,
    OutlierConfig, Output, ProbeKind, Reason, Schedule, ServiceConfig, TargetConfig, TargetId,
    Thresholds, Verdict,
};

const S: fn(u64) -> Duration = Duration::from_secs;
const MS: fn(u64) -> Duration = Duration::from_millis;

fn tid(service: usize, target: usize) -> TargetId {
    TargetId { service, target }
}

fn checker(kind: ProbeKind, schedule: Schedule, thresholds: Thresholds) -> CheckerConfig {
    CheckerConfig {
        kind,
        schedule,
        thresholds,
    }
}

fn target(weight: u32, checkers: Vec<CheckerConfig>) -> TargetConfig {
    TargetConfig {
        weight,
        alpha: false,
        inhibit_on_failure: false,
        checkers,
    }
}

fn one(svc: ServiceConfig) -> Config {
    Config {
        seed: 1,
        services: vec![svc],
    }
}

fn drain(e: &mut Engine) -> Vec<Output> {
    std::iter::from_fn(|| e.poll_output()).collect()
}

/// An engine with one service of one weight-1 target with one checker,
/// its initial outputs drained.
fn single(t0: Instant, kind: ProbeKind, schedule: Schedule, thresholds: Thresholds) -> Engine {
    let mut e = Engine::new(
        one(ServiceConfig {
            targets: vec![target(1, vec![checker(kind, schedule, thresholds)])],
            ..ServiceConfig::default()
        }),
        t0,
    )
    .unwrap();
    drain(&mut e);
    e
}

/// Advances to `at` (firing timers) and returns the outputs.
fn at(e: &mut Engine, t: Instant) -> Vec<Output> {
    e.handle_timeout(t);
    drain(e)
}

fn started(out: &[Output]) -> Vec<u64> {
    out.iter()
        .filter_map(|o| match o {
            Output::StartProbe { probe_id, .. } => Some(*probe_id),
            _ => None,
        })
        .collect()
}

fn answer(e: &mut Engine, t: Instant, probe_id: u64, verdict: Verdict) -> Vec<Output> {
    e.handle(t, Input::ProbeResult { probe_id, verdict });
    drain(e)
}

fn fail() -> Verdict {
    Verdict::Fail(FailReason::ConnectFailed)
}

/// Runs the single checker of target (0, 0): the probe due at `t` gets
/// `verdict` at once; returns the outputs other than StartProbe and quorum
/// changes (single-target services lose quorum with their target).
fn probe(e: &mut Engine, t: Instant, verdict: Verdict) -> Vec<Output> {
    assert_eq!(e.poll_timeout(), Some(t), "probe expected at {t:?}");
    let out = at(e, t);
    let ids = started(&out);
    assert_eq!(ids.len(), 1, "{out:?}");
    answer(e, t, ids[0], verdict)
        .into_iter()
        .filter(|o| !matches!(o, Output::QuorumLost { .. } | Output::QuorumGained { .. }))
        .collect()
}

/// Target (0, 0)'s checkers as operators read them ("UP 2/3").
fn progress(e: &Engine) -> String {
    let p: Vec<String> = e
        .progress(tid(0, 0))
        .iter()
        .map(ToString::to_string)
        .collect();
    p.join(",")
}

fn down(target: TargetId, action: DownAction, reason: Reason) -> Output {
    Output::TargetDown {
        target,
        action,
        reason,
    }
}

fn failed(checker: usize) -> Reason {
    Reason::CheckFailed {
        checker,
        reason: FailReason::ConnectFailed,
    }
}

#[test]
fn haproxy_rise_fall_with_fast_and_down_intervals() {
    let t0 = Instant::now();
    let sched = Schedule {
        interval: S(2),
        timeout: S(1),
        warmup: None,
        fast_interval: Some(MS(500)),
        down_interval: Some(S(5)),
    };
    let cfg = one(ServiceConfig {
        targets: vec![target(
            1,
            vec![checker(ProbeKind::Tcp, sched, Thresholds::HAPROXY)],
        )],
        ..ServiceConfig::default()
    });
    let mut e = Engine::new(cfg, t0).unwrap();
    let init = drain(&mut e);
    assert_eq!(
        init[0],
        Output::TargetUp {
            target: tid(0, 0),
            weight: 1,
            reason: Reason::Initial
        }
    );
    // Fresh server (health = rise = 2): one pass makes it fully up (4);
    // it was "changing", so the pass came at t0 and the next is 2 s later.
    assert_eq!(progress(&e), "UP 1/3");
    assert!(probe(&mut e, t0, Verdict::PASS).is_empty());
    assert_eq!(progress(&e), "UP 3/3");
    // Fully up: fail, fail → still up; each at the fast interval.
    assert!(probe(&mut e, t0 + S(2), fail()).is_empty());
    assert_eq!(progress(&e), "UP 2/3");
    assert!(probe(&mut e, t0 + S(2) + MS(500), fail()).is_empty());
    assert_eq!(progress(&e), "UP 1/3");
    // Third failure → down.
    assert_eq!(
        probe(&mut e, t0 + S(3), fail()),
        [down(tid(0, 0), DownAction::Remove, failed(0))]
    );
    assert_eq!(progress(&e), "DOWN 0/2");
    // Down: next at down_interval; pass, fail → still down (3.3).
    assert!(probe(&mut e, t0 + S(8), Verdict::PASS).is_empty());
    assert_eq!(progress(&e), "DOWN 1/2");
    assert!(probe(&mut e, t0 + S(8) + MS(500), fail()).is_empty());
    assert_eq!(progress(&e), "DOWN 0/2");
    // pass, pass → up.
    assert!(probe(&mut e, t0 + S(13) + MS(500), Verdict::PASS).is_empty());
    assert_eq!(
        probe(&mut e, t0 + S(14), Verdict::PASS),
        [Output::TargetUp {
            target: tid(0, 0),
            weight: 1,
            reason: Reason::CheckPassed { checker: 0 }
        }]
    );
    assert_eq!(progress(&e), "UP 3/3");
    assert!(e.progress(tid(0, 1)).is_empty(), "unknown target");
    assert_eq!(e.poll_timeout(), Some(t0 + S(16)));
    assert_eq!(e.counters().transitions_down, 1);
    assert_eq!(e.counters().transitions_up, 2);
}

#[test]
fn haproxy_new_server_falls_at_first_failure_and_fail_now() {
    let t0 = Instant::now();
    let new = || single(t0, ProbeKind::Http, Schedule::HAPROXY, Thresholds::HAPROXY);
    let mut e = new();
    assert_eq!(probe(&mut e, t0, fail()).len(), 1);
    // Envoy: an unexpected status marks even a fully-up server down at once.
    let mut e = new();
    probe(&mut e, t0, Verdict::PASS);
    let st = FailReason::HttpStatus(503);
    assert_eq!(
        probe(&mut e, t0 + S(2), Verdict::FailNow(st)),
        [down(
            tid(0, 0),
            DownAction::Remove,
            Reason::CheckFailed {
                checker: 0,
                reason: st
            }
        )]
    );
}

#[test]
fn keepalived_retry_timing_and_inhibit() {
    let t0 = Instant::now();
    let c = checker(ProbeKind::Tcp, Schedule::KEEPALIVED, Thresholds::KEEPALIVED);
    let mut t = target(3, vec![c]);
    t.inhibit_on_failure = true;
    let mut e = Engine::new(
        one(ServiceConfig {
            targets: vec![t],
            ..ServiceConfig::default()
        }),
        t0,
    )
    .unwrap();
    drain(&mut e);
    // §7.5: one failure → still alive, retried after delay_before_retry.
    assert_eq!(progress(&e), "UP");
    assert!(probe(&mut e, t0, fail()).is_empty());
    assert_eq!(progress(&e), "UP retry 1/1");
    assert_eq!(
        probe(&mut e, t0 + S(1), fail()),
        [down(tid(0, 0), DownAction::Inhibit, failed(0))]
    );
    assert_eq!(progress(&e), "DOWN");
    // Failed: no retries, back to delay_loop; next pass re-adds with weight.
    assert_eq!(
        probe(&mut e, t0 + S(61), Verdict::PASS),
        [Output::TargetUp {
            target: tid(0, 0),
            weight: 3,
            reason: Reason::CheckPassed { checker: 0 }
        }]
    );
    assert_eq!(e.poll_timeout(), Some(t0 + S(121)));
    // A pass between failures resets the retry budget.
    assert!(probe(&mut e, t0 + S(121), fail()).is_empty());
    assert!(probe(&mut e, t0 + S(122), Verdict::PASS).is_empty());
    assert!(probe(&mut e, t0 + S(182), fail()).is_empty());
}

#[test]
fn seesaw_retries_zero() {
    let t0 = Instant::now();
    let th = Thresholds::Keepalived {
        retry: 0,
        delay_before_retry: S(1),
    };
    let sched = Schedule {
        interval: S(10),
        timeout: S(5),
        ..Schedule::KEEPALIVED
    };
    let mut e = single(t0, ProbeKind::Tcp, sched, th);
    assert_eq!(probe(&mut e, t0, fail()).len(), 1);
    assert_eq!(probe(&mut e, t0 + S(10), Verdict::PASS).len(), 1);
}

#[test]
fn timeout_then_late_result_ignored() {
    let t0 = Instant::now();
    let mut e = single(
        t0,
        ProbeKind::Tcp,
        Schedule::KEEPALIVED,
        Thresholds::KEEPALIVED,
    );
    let id = started(&at(&mut e, t0))[0];
    assert_eq!(e.poll_timeout(), Some(t0 + S(5)));
    assert!(
        at(&mut e, t0 + S(4) + MS(999)).is_empty(),
        "spurious timeout is a no-op"
    );
    // The retry was due delay_before_retry (1 s) after the first probe
    // started, but a probe never overlaps the one in flight: it starts as
    // the first one times out (connect_timeout 5 s > 1 s).
    let out = at(&mut e, t0 + S(5));
    let id2 = id + 1;
    assert_eq!(
        out,
        [
            Output::ProbeTimedOut {
                target: tid(0, 0),
                checker: 0,
                probe_id: id
            },
            Output::StartProbe {
                target: tid(0, 0),
                checker: 0,
                probe_id: id2,
                kind: ProbeKind::Tcp
            }
        ]
    );
    assert_eq!(e.counters().timeouts, 1);
    assert_eq!(e.poll_timeout(), Some(t0 + S(10)));
    assert!(answer(&mut e, t0 + S(5) + MS(10), id, Verdict::PASS).is_empty());
    assert_eq!(e.counters().late_results, 1);
    assert!(answer(&mut e, t0, 999, Verdict::PASS).is_empty());
    assert_eq!(e.counters().unknown_results, 1);
    assert_eq!(e.in_flight(), 1);
    let out = at(&mut e, t0 + S(10));
    assert_eq!(
        out,
        [
            Output::ProbeTimedOut {
                target: tid(0, 0),
                checker: 0,
                probe_id: id2
            },
            down(
                tid(0, 0),
                DownAction::Remove,
                Reason::CheckFailed {
                    checker: 0,
                    reason: FailReason::Timeout
                }
            ),
            Output::QuorumLost {
                service: 0,
                live_weight: 0
            },
        ]
    );
    // Down: delay_loop (60 s) after the retry was due (t0 + 5 s).
    assert_eq!(e.poll_timeout(), Some(t0 + S(65)));
}

#[test]
fn alpha_starts_down_and_two_checkers_must_pass() {
    let t0 = Instant::now();
    let c = checker(ProbeKind::Tcp, Schedule::KEEPALIVED, Thresholds::KEEPALIVED);
    let mut t = target(1, vec![c, c]);
    t.alpha = true;
    let cfg = one(ServiceConfig {
        targets: vec![t],
        ..ServiceConfig::default()
    });
    let mut e = Engine::new(cfg, t0).unwrap();
    assert_eq!(
        drain(&mut e),
        [Output::QuorumLost {
            service: 0,
            live_weight: 0
        }]
    );
    let ids = started(&at(&mut e, t0));
    assert_eq!(ids.len(), 2);
    assert!(
        answer(&mut e, t0, ids[0], Verdict::PASS).is_empty(),
        "one of two checkers"
    );
    let out = answer(&mut e, t0, ids[1], Verdict::PASS);
    assert_eq!(
        out,
        [
            Output::TargetUp {
                target: tid(0, 0),
                weight: 1,
                reason: Reason::CheckPassed { checker: 1 }
            },
            Output::QuorumGained {
                service: 0,
                live_weight: 1
            },
        ]
    );
    // §7.6: one checker failing (alpha off now, retry 1) → down after retry.
    let ids = started(&at(&mut e, t0 + S(60)));
    answer(&mut e, t0 + S(60), ids[0], Verdict::PASS);
    assert!(answer(&mut e, t0 + S(60), ids[1], fail()).is_empty());
    let ids = started(&at(&mut e, t0 + S(61)));
    assert_eq!(ids.len(), 1);
    assert_eq!(
        answer(&mut e, t0 + S(61), ids[0], fail())[0],
        down(tid(0, 0), DownAction::Remove, failed(1))
    );
}

#[test]
fn quorum_hysteresis_and_sorry_server() {
    // §7.10: quorum 3, hysteresis 1, four RS of weight 1, retry 0.
    let t0 = Instant::now();
    let th = Thresholds::Keepalived {
        retry: 0,
        delay_before_retry: S(1),
    };
    let sched = Schedule {
        interval: S(10),
        timeout: S(1),
        ..Schedule::KEEPALIVED
    };
    let c = checker(ProbeKind::Tcp, sched, th);
    let cfg = one(ServiceConfig {
        quorum: 3,
        hysteresis: 1,
        sorry_server: true,
        targets: (0..4).map(|_| target(1, vec![c])).collect(),
        ..ServiceConfig::default()
    });
    let mut e = Engine::new(cfg, t0).unwrap();
    assert_eq!(drain(&mut e).len(), 4);
    let ids = started(&at(&mut e, t0));
    assert_eq!(ids, [0, 1, 2, 3]);
    assert_eq!(answer(&mut e, t0, ids[0], fail()).len(), 1);
    assert_eq!(
        answer(&mut e, t0, ids[1], fail()).len(),
        1,
        "sum 2 is not < 2"
    );
    assert_eq!(e.quorum_up(0), Some(true));
    let out = answer(&mut e, t0, ids[2], fail());
    assert_eq!(
        out[1..],
        [
            Output::QuorumLost {
                service: 0,
                live_weight: 1
            },
            Output::SorryServerIn { service: 0 }
        ]
    );
    answer(&mut e, t0, ids[3], Verdict::PASS);
    let ids = started(&at(&mut e, t0 + S(10)));
    assert_eq!(
        answer(&mut e, t0 + S(10), ids[0], Verdict::PASS).len(),
        1,
        "sum 2: still lost"
    );
    assert_eq!(
        answer(&mut e, t0 + S(10), ids[1], Verdict::PASS).len(),
        1,
        "sum 3 < 4: still lost"
    );
    assert_eq!(e.quorum_up(0), Some(false));
    let out = answer(&mut e, t0 + S(10), ids[2], Verdict::PASS);
    assert_eq!(
        out[1..],
        [
            Output::QuorumGained {
                service: 0,
                live_weight: 4
            },
            Output::SorryServerOut { service: 0 }
        ]
    );
    assert_eq!(e.counters().quorum_changes, 2);
}

#[test]
fn misc_dynamic_weight() {
    // §7.9 through the engine: exit 5 → weight 3; exit 0 keeps it.
    let t0 = Instant::now();
    let th = Thresholds::Keepalived {
        retry: 0,
        delay_before_retry: S(1),
    };
    let c = checker(ProbeKind::Misc, Schedule::KEEPALIVED, th);
    let cfg = one(ServiceConfig {
        targets: vec![target(1, vec![c])],
        ..ServiceConfig::default()
    });
    let mut e = Engine::new(cfg, t0).unwrap();
    drain(&mut e);
    use healthcheck::misc::{MiscExit, verdict};
    assert_eq!(
        probe(&mut e, t0, verdict(MiscExit::Code(5), true)),
        [Output::WeightChanged {
            target: tid(0, 0),
            old: 1,
            new: 3
        }]
    );
    assert!(probe(&mut e, t0 + S(60), verdict(MiscExit::Code(0), true)).is_empty());
    assert_eq!(
        probe(&mut e, t0 + S(120), verdict(MiscExit::Code(1), true)).len(),
        1
    );
    assert_eq!(
        probe(&mut e, t0 + S(180), verdict(MiscExit::Code(2), true)),
        [Output::TargetUp {
            target: tid(0, 0),
            weight: 0,
            reason: Reason::CheckPassed { checker: 0 }
        }]
    );
}

#[test]
fn agent_weights_and_states() {
    let t0 = Instant::now();
    let sched = Schedule {
        interval: S(1),
        timeout: S(1),
        ..Schedule::HAPROXY
    };
    let c = checker(ProbeKind::Agent, sched, Thresholds::HAPROXY);
    let cfg = one(ServiceConfig {
        targets: vec![target(10, vec![c])],
        ..ServiceConfig::default()
    });
    let mut e = Engine::new(cfg, t0).unwrap();
    drain(&mut e);
    let agent = |s: &str| Verdict::Agent(parse_reply(s.as_bytes()).unwrap());
    let id = tid(0, 0);
    assert_eq!(
        probe(&mut e, t0, agent("50%")),
        [Output::WeightChanged {
            target: id,
            old: 10,
            new: 5
        }]
    );
    assert_eq!(
        probe(&mut e, t0 + S(1), agent("drain")),
        [Output::WeightChanged {
            target: id,
            old: 5,
            new: 0
        }]
    );
    let st = e.target_status(id).unwrap();
    assert!(
        st.serving && st.weight == 0,
        "drain keeps the server up, weight 0"
    );
    assert_eq!(
        e.quorum_up(0),
        Some(false),
        "a live weight sum of 0 loses quorum"
    );
    assert_eq!(
        probe(&mut e, t0 + S(2), agent("ready 75%")),
        [Output::WeightChanged {
            target: id,
            old: 0,
            new: 7
        }]
    );
    assert_eq!(
        probe(&mut e, t0 + S(3), agent("down#disk")),
        [down(
            id,
            DownAction::Remove,
            Reason::Agent(AgentState::Down)
        )]
    );
    // Agent connection failures change nothing (HAProxy).
    assert!(probe(&mut e, t0 + S(4), fail()).is_empty());
    assert_eq!(e.counters().agent_failures, 1);
    assert_eq!(
        probe(&mut e, t0 + S(5), agent("up weight:4"))[0],
        Output::TargetUp {
            target: id,
            weight: 4,
            reason: Reason::Agent(AgentState::Up)
        }
    );
    assert_eq!(
        probe(&mut e, t0 + S(6), agent("maint"))[0],
        down(id, DownAction::Remove, Reason::Agent(AgentState::Maint))
    );
    assert_eq!(
        probe(&mut e, t0 + S(7), agent("ready"))[0],
        Output::TargetUp {
            target: id,
            weight: 4,
            reason: Reason::Agent(AgentState::Ready)
        }
    );
    // A health verdict to an agent probe is counted, not applied.
    assert!(probe(&mut e, t0 + S(8), Verdict::PASS).is_empty());
    assert_eq!(e.counters().mismatched_verdicts, 1);
}

fn outlier_engine(t0: Instant, n: usize, growth: Growth) -> Engine {
    let cfg = one(ServiceConfig {
        outlier: Some(OutlierConfig {
            growth,
            ..OutlierConfig::default()
        }),
        targets: (0..n).map(|_| target(1, vec![])).collect(),
        ..ServiceConfig::default()
    });
    let mut e = Engine::new(cfg, t0).unwrap();
    assert_eq!(drain(&mut e).len(), n);
    e
}

fn errors(e: &mut Engine, t: Instant, target: TargetId, n: usize) -> Vec<Output> {
    for _ in 0..n {
        e.handle(
            t,
            Input::DataPlane {
                target,
                success: false,
            },
        );
    }
    drain(e)
}

#[test]
fn outlier_ejection_growth_and_share_cap() {
    // §7.12: 5 consecutive errors → 30 s, then 60 s; ≤ 10 % ejected.
    let t0 = Instant::now();
    let mut e = outlier_engine(t0, 10, Growth::Linear);
    let a = tid(0, 3);
    assert!(errors(&mut e, t0, a, 4).is_empty());
    e.handle(
        t0,
        Input::DataPlane {
            target: a,
            success: true,
        },
    );
    assert!(
        errors(&mut e, t0, a, 4).is_empty(),
        "a success resets the count"
    );
    assert_eq!(
        errors(&mut e, t0, a, 1),
        [
            Output::Ejected {
                target: a,
                duration: S(30),
                ejections: 1
            },
            down(a, DownAction::Remove, Reason::Ejected)
        ]
    );
    // A second host cannot be ejected while one of ten is.
    assert!(errors(&mut e, t0, tid(0, 4), 5).is_empty());
    assert_eq!(e.counters().ejections_refused, 1);
    assert!(e.target_status(a).unwrap().ejected);
    assert_eq!(e.poll_timeout(), Some(t0 + S(30)));
    assert_eq!(
        at(&mut e, t0 + S(30)),
        [Output::TargetUp {
            target: a,
            weight: 1,
            reason: Reason::EjectionEnded
        }]
    );
    assert_eq!(
        errors(&mut e, t0 + S(40), a, 5)[0],
        Output::Ejected {
            target: a,
            duration: S(60),
            ejections: 2
        }
    );
    assert_eq!(at(&mut e, t0 + S(100)).len(), 1);
    for n in 3..=12u32 {
        let out = errors(&mut e, t0 + S(1000 * u64::from(n)), a, 5);
        let want = S(30 * u64::from(n)).min(S(300));
        assert_eq!(
            out[0],
            Output::Ejected {
                target: a,
                duration: want,
                ejections: n
            }
        );
        assert_eq!(at(&mut e, t0 + S(1000 * u64::from(n)) + want).len(), 1);
    }
}

#[test]
fn outlier_exponential_growth() {
    let t0 = Instant::now();
    let mut e = outlier_engine(t0, 10, Growth::Exponential);
    let a = tid(0, 0);
    let mut got = Vec::new();
    for k in 0..6u64 {
        let t = t0 + S(1000 * k);
        if let Output::Ejected { duration, .. } = errors(&mut e, t, a, 5)[0] {
            got.push(duration.as_secs());
            at(&mut e, t + duration);
        }
    }
    assert_eq!(got, [30, 60, 120, 240, 300, 300]);
}

#[test]
fn warmup_jitter_is_seeded() {
    let t0 = Instant::now();
    let sched = Schedule {
        warmup: Some(S(10)),
        ..Schedule::KEEPALIVED
    };
    let c = checker(ProbeKind::Tcp, sched, Thresholds::KEEPALIVED);
    let mk = |seed| {
        let mut cfg = one(ServiceConfig {
            targets: (0..20).map(|_| target(1, vec![c])).collect(),
            ..ServiceConfig::default()
        });
        cfg.seed = seed;
        let mut e = Engine::new(cfg, t0).unwrap();
        drain(&mut e);
        let mut times = Vec::new();
        while let Some(t) = e.poll_timeout() {
            if t > t0 + S(10) {
                break;
            }
            for id in started(&at(&mut e, t)) {
                times.push(t);
                answer(&mut e, t, id, Verdict::PASS);
            }
        }
        times
    };
    let a = mk(7);
    assert_eq!(a.len(), 20, "every first probe within the warm-up");
    assert!(a.iter().all(|t| *t >= t0 && *t < t0 + S(10)));
    assert_eq!(a, mk(7));
    assert_ne!(a, mk(8));
}

#[test]
fn omega_shutdown() {
    let t0 = Instant::now();
    let c = checker(ProbeKind::Tcp, Schedule::KEEPALIVED, Thresholds::KEEPALIVED);
    let cfg = Config {
        seed: 0,
        services: vec![
            ServiceConfig {
                omega: true,
                sorry_server: true,
                targets: vec![target(1, vec![c])],
                ..ServiceConfig::default()
            },
            ServiceConfig {
                targets: vec![target(1, vec![c])],
                ..ServiceConfig::default()
            },
        ],
    };
    let mut e = Engine::new(cfg, t0).unwrap();
    drain(&mut e);
    e.handle(t0, Input::Shutdown);
    assert_eq!(
        drain(&mut e),
        [
            down(tid(0, 0), DownAction::Remove, Reason::Shutdown),
            Output::QuorumLost {
                service: 0,
                live_weight: 0
            }
        ]
    );
    assert_eq!(e.poll_timeout(), None);
    e.handle(t0, Input::Shutdown);
    assert_eq!(e.counters().after_shutdown, 1);
}

#[test]
fn config_errors() {
    let t0 = Instant::now();
    let bad = |c: CheckerConfig| {
        Engine::new(
            one(ServiceConfig {
                targets: vec![target(1, vec![c])],
                ..ServiceConfig::default()
            }),
            t0,
        )
        .err()
    };
    let ok = checker(ProbeKind::Tcp, Schedule::KEEPALIVED, Thresholds::KEEPALIVED);
    assert!(bad(ok).is_none());
    assert!(
        bad(CheckerConfig {
            schedule: Schedule {
                interval: Duration::ZERO,
                ..Schedule::KEEPALIVED
            },
            ..ok
        })
        .is_some()
    );
    assert!(
        bad(CheckerConfig {
            thresholds: Thresholds::Haproxy { rise: 0, fall: 3 },
            ..ok
        })
        .is_some()
    );
    assert!(
        bad(CheckerConfig {
            thresholds: Thresholds::Haproxy {
                rise: u32::MAX,
                fall: 3
            },
            ..ok
        })
        .is_some()
    );
    let o = Some(OutlierConfig {
        max_ejection_percent: 101,
        ..OutlierConfig::default()
    });
    assert!(
        Engine::new(
            one(ServiceConfig {
                outlier: o,
                ..ServiceConfig::default()
            }),
            t0
        )
        .is_err()
    );
}

/// Runs the single checker of target (0, 0) due at `t`; its probe times
/// out (no answer), the engine's own timer ends it at `t + timeout`.
fn time_out(e: &mut Engine, t: Instant, timeout: Duration) -> Vec<Output> {
    assert_eq!(e.poll_timeout(), Some(t), "probe expected at {t:?}");
    assert_eq!(started(&at(e, t)).len(), 1);
    assert_eq!(e.poll_timeout(), Some(t + timeout));
    at(e, t + timeout)
        .into_iter()
        .filter(|o| {
            !matches!(
                o,
                Output::QuorumLost { .. }
                    | Output::QuorumGained { .. }
                    | Output::ProbeTimedOut { .. }
            )
        })
        .collect()
}

/// Fixed rate, both semantic sets: each probe is due the current delay
/// after the previous one was due (not after it ended), and never
/// overlaps the one in flight. A target that stops answering (every probe
/// times out) at `d` is down by `d + interval · fall + timeout`.
#[test]
fn fixed_rate_detection_haproxy() {
    let t0 = Instant::now();
    let timeout = MS(400);
    let sched = Schedule {
        interval: S(1),
        timeout,
        ..Schedule::HAPROXY
    };
    let th = Thresholds::Haproxy { rise: 2, fall: 3 };
    let mut e = single(t0, ProbeKind::Tcp, sched, th);
    // A pass that takes 300 ms: the next probe is still due at t0 + 1 s.
    let id = started(&at(&mut e, t0))[0];
    assert_eq!(e.poll_timeout(), Some(t0 + timeout));
    assert!(answer(&mut e, t0 + MS(300), id, Verdict::PASS).is_empty());
    assert_eq!(e.poll_timeout(), Some(t0 + S(1)));
    // Dies just after t0 + 300 ms: probes at 1, 2, 3 s each time out.
    assert!(time_out(&mut e, t0 + S(1), timeout).is_empty());
    assert!(time_out(&mut e, t0 + S(2), timeout).is_empty());
    let out = time_out(&mut e, t0 + S(3), timeout);
    assert_eq!(
        out,
        [down(
            tid(0, 0),
            DownAction::Remove,
            Reason::CheckFailed {
                checker: 0,
                reason: FailReason::Timeout
            }
        )]
    );
    // Down at 3.4 s, 3.1 s after death: ≤ inter · fall + timeout = 3.4 s.
    // Still the 1 s rhythm (no downinter configured).
    assert_eq!(e.poll_timeout(), Some(t0 + S(4)));

    // fastinter while changing, downinter while down, both from when the
    // previous probe was due.
    let sched = Schedule {
        interval: S(2),
        timeout,
        warmup: None,
        fast_interval: Some(MS(500)),
        down_interval: Some(S(5)),
    };
    let mut e = single(t0, ProbeKind::Tcp, sched, th);
    assert!(probe(&mut e, t0, Verdict::PASS).is_empty());
    // First failure at 2 s (times out at 2.4 s); the next is due at
    // 2 s + fastinter = 2.5 s, the next at 3 s, then down at 3.4 s.
    assert!(time_out(&mut e, t0 + S(2), timeout).is_empty());
    assert!(time_out(&mut e, t0 + MS(2500), timeout).is_empty());
    assert_eq!(time_out(&mut e, t0 + S(3), timeout).len(), 1);
    // Down: downinter 5 s after the last probe was due.
    assert_eq!(e.poll_timeout(), Some(t0 + S(8)));
    // Rising: fastinter.
    assert!(probe(&mut e, t0 + S(8), Verdict::PASS).is_empty());
    assert_eq!(probe(&mut e, t0 + MS(8500), Verdict::PASS).len(), 1);
    assert_eq!(e.poll_timeout(), Some(t0 + MS(10_500)));

    // A probe that takes longer than the interval is followed at once.
    let slow = Schedule {
        interval: MS(300),
        timeout: MS(500),
        ..Schedule::HAPROXY
    };
    let mut e = single(t0, ProbeKind::Tcp, slow, th);
    let out = time_out(&mut e, t0, MS(500));
    assert_eq!(started(&out).len(), 1, "next starts as the last times out");
    assert_eq!(e.poll_timeout(), Some(t0 + MS(1000)));
    // That one was due at 0.3 s but started at 0.5 s when the first timed
    // out; the next is due at 0.6 s, so again it starts as this one ends.
    let out = at(&mut e, t0 + MS(1000));
    assert_eq!(started(&out).len(), 1);
    assert_eq!(e.poll_timeout(), Some(t0 + MS(1500)));
}

/// keepalived semantics on the fixed-rate schedule: `retry` retries,
/// `delay_before_retry` after the failed probe was due (not after it
/// timed out), then `delay_loop`.
#[test]
fn fixed_rate_detection_keepalived() {
    let t0 = Instant::now();
    let timeout = MS(400);
    let sched = Schedule {
        interval: S(1),
        timeout,
        ..Schedule::KEEPALIVED
    };
    let th = Thresholds::Keepalived {
        retry: 2,
        delay_before_retry: MS(500),
    };
    let mut e = single(t0, ProbeKind::Tcp, sched, th);
    let id = started(&at(&mut e, t0))[0];
    assert!(answer(&mut e, t0 + MS(200), id, Verdict::PASS).is_empty());
    // delay_loop from when the passing probe was due.
    assert_eq!(e.poll_timeout(), Some(t0 + S(1)));
    // Dead: probe at 1 s times out at 1.4 s; retries at 1.5 s and 2 s
    // (delay_before_retry after each was due); the third failure
    // (retry + 1) at 2.4 s marks it down.
    assert!(time_out(&mut e, t0 + S(1), timeout).is_empty());
    assert!(time_out(&mut e, t0 + MS(1500), timeout).is_empty());
    assert_eq!(
        time_out(&mut e, t0 + S(2), timeout),
        [down(
            tid(0, 0),
            DownAction::Remove,
            Reason::CheckFailed {
                checker: 0,
                reason: FailReason::Timeout
            }
        )]
    );
    // Down: back to delay_loop; a pass re-adds it, and a pass between
    // failures resets the retry budget.
    assert_eq!(e.poll_timeout(), Some(t0 + S(3)));
    assert_eq!(probe(&mut e, t0 + S(3), Verdict::PASS).len(), 1);
    assert!(probe(&mut e, t0 + S(4), fail()).is_empty());
    assert!(probe(&mut e, t0 + MS(4500), Verdict::PASS).is_empty());
    assert!(probe(&mut e, t0 + MS(5500), fail()).is_empty());
    assert_eq!(e.poll_timeout(), Some(t0 + S(6)));

    // keepalived defaults (connect_timeout 5 s > delay_before_retry 1 s):
    // the retry starts as the first probe times out, never overlapping it.
    let mut e = single(
        t0,
        ProbeKind::Tcp,
        Schedule::KEEPALIVED,
        Thresholds::KEEPALIVED,
    );
    let out = time_out(&mut e, t0, S(5));
    assert_eq!(started(&out).len(), 1);
    assert_eq!(e.poll_timeout(), Some(t0 + S(10)));
    let out = at(&mut e, t0 + S(10));
    assert!(
        out.iter().any(|o| matches!(o, Output::TargetDown { .. })),
        "{out:?}"
    );
    // Down at 10 s; next probe delay_loop (60 s) after the retry was due.
    assert_eq!(e.poll_timeout(), Some(t0 + S(65)));
}
