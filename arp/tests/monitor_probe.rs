#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    clippy::unchecked_time_subtraction,
    reason = "test code"
)]
//! ARP monitor on a virtual clock: probes, missed_max, recovery, rotation,
//! role changes, targets and configuration errors.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use arp::MacAddr;
use arp::monitor::{
    ArpMonitor, ArpValidate, Config, ConfigError, Input, LinkState, MAX_TARGETS, Output,
    PortConfig, PortId,
};
use arp::wire::Frame;
use arp::wire::ethernet::VlanTag;

const A: PortId = PortId(1);
const B: PortId = PortId(2);
const C: PortId = PortId(3);
const MAC_A: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x0a]);
const MAC_B: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x0b]);
const MAC_C: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x0c]);
const PEER: MacAddr = MacAddr([0x02, 0xee, 0, 0, 0, 1]);
const SRC: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 10);
const T1: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 1);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn port(id: PortId, mac: MacAddr) -> PortConfig {
    PortConfig {
        id,
        mac,
        carrier: true,
    }
}

/// Interval 100 ms, target T1, source SRC, ports A (active) and B.
fn base() -> Config {
    let mut cfg = Config::new(ms(100), vec![T1], vec![port(A, MAC_A), port(B, MAC_B)]);
    cfg.source_ip = Some(SRC);
    cfg.active = Some(A);
    cfg
}

#[derive(Debug, Clone, PartialEq)]
enum Ev {
    Tx(PortId, Vec<u8>),
    Up(PortId),
    Down(PortId),
}

fn drain(m: &mut ArpMonitor) -> Vec<Ev> {
    let mut v = Vec::new();
    while let Some(o) = m.poll_output() {
        v.push(match o {
            Output::Transmit { port, frame } => Ev::Tx(port, frame),
            Output::LinkUp { port } => Ev::Up(port),
            Output::LinkDown { port } => Ev::Down(port),
        });
    }
    v
}

/// Steps from tick to tick until `end`; after each tick `feed` runs with
/// the tick's offset. Returns `(offset, events)` of every tick with events.
fn run(
    m: &mut ArpMonitor,
    t0: Instant,
    end: Duration,
    mut feed: impl FnMut(&mut ArpMonitor, Instant, Duration),
) -> Vec<(Duration, Vec<Ev>)> {
    let mut log = Vec::new();
    while let Some(t) = m.poll_timeout() {
        if t > t0 + end {
            break;
        }
        m.handle_timeout(t);
        let mut ev = drain(m);
        feed(m, t, t - t0);
        ev.extend(drain(m));
        if !ev.is_empty() {
            log.push((t - t0, ev));
        }
    }
    log
}

/// Only the link verdicts of a log.
fn verdicts(log: &[(Duration, Vec<Ev>)]) -> Vec<(Duration, Ev)> {
    log.iter()
        .flat_map(|(t, ev)| {
            ev.iter()
                .filter(|e| !matches!(e, Ev::Tx(..)))
                .map(move |e| (*t, e.clone()))
        })
        .collect()
}

fn probe(mac: MacAddr, spa: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    Frame::arp_request(mac, spa, target).to_bytes()
}

fn reply_to(mac: MacAddr, from: Ipv4Addr) -> Vec<u8> {
    Frame::arp_reply(PEER, from, mac, SRC).to_bytes()
}

#[test]
fn probes_sixteen_targets_every_interval_with_exact_bytes() {
    let t0 = Instant::now();
    let targets: Vec<Ipv4Addr> = (1..=16).map(|i| Ipv4Addr::new(192, 168, 1, i)).collect();
    let mut cfg = base();
    cfg.targets = targets.clone();
    let mut m = ArpMonitor::new(cfg, t0).unwrap();
    assert_eq!(m.poll_timeout(), Some(t0), "first tick at once");
    m.handle_timeout(t0);
    let expected: Vec<Ev> = targets
        .iter()
        .map(|&t| Ev::Tx(A, probe(MAC_A, SRC, t)))
        .collect();
    assert_eq!(drain(&mut m), expected);
    assert_eq!(m.poll_timeout(), Some(t0 + ms(100)));

    // RFC 826 request, broadcast, tha zero (kernel arp_create): 42 bytes.
    let first: Vec<u8> = [
        &[0xff; 6][..],
        &MAC_A.0,
        &[0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01],
        &MAC_A.0,
        &SRC.octets(),
        &[0; 6],
        &T1.octets(),
    ]
    .concat();
    assert_eq!(probe(MAC_A, SRC, T1), first);

    // Spurious timeouts: early, and twice at the same instant.
    m.handle_timeout(t0 + ms(50));
    assert!(drain(&mut m).is_empty());
    m.handle_timeout(t0 + ms(100));
    assert_eq!(drain(&mut m), expected);
    m.handle_timeout(t0 + ms(100));
    assert!(drain(&mut m).is_empty());
    assert_eq!(m.counters().probes_sent, 32);
    assert_eq!(m.counters().ticks, 2);
}

#[test]
fn probes_carry_vlan_tags_and_zero_source_without_ip() {
    let t0 = Instant::now();
    let mut cfg = base();
    cfg.source_ip = None;
    cfg.vlans = vec![VlanTag::dot1q(7)];
    let mut m = ArpMonitor::new(cfg, t0).unwrap();
    m.handle_timeout(t0);
    let mut f = Frame::arp_request(MAC_A, Ipv4Addr::UNSPECIFIED, T1);
    f.eth.vlans = vec![VlanTag::dot1q(7)];
    let bytes = f.to_bytes();
    assert_eq!(&bytes[12..18], &[0x81, 0x00, 0x00, 0x07, 0x08, 0x06]);
    assert_eq!(&bytes[32..36], &[0, 0, 0, 0], "spa 0.0.0.0");
    assert_eq!(drain(&mut m), vec![Ev::Tx(A, bytes)]);
}

#[test]
fn seventeenth_target_is_rejected() {
    let t0 = Instant::now();
    let mut cfg = base();
    cfg.targets = (1..=17).map(|i| Ipv4Addr::new(10, 0, 0, i)).collect();
    assert_eq!(
        ArpMonitor::new(cfg.clone(), t0).unwrap_err(),
        ConfigError::TooManyTargets
    );
    cfg.targets.pop();
    let mut m = ArpMonitor::new(cfg, t0).unwrap();
    assert_eq!(m.targets().len(), MAX_TARGETS);
    m.handle(t0, Input::AddTarget(Ipv4Addr::new(10, 0, 0, 17)));
    assert_eq!(m.targets().len(), MAX_TARGETS);
    assert_eq!(m.counters().targets_rejected, 1);
}

#[test]
fn add_and_remove_targets_change_the_probes() {
    let t0 = Instant::now();
    let t2 = Ipv4Addr::new(192, 168, 1, 2);
    let mut m = ArpMonitor::new(base(), t0).unwrap();
    m.handle(t0, Input::AddTarget(t2));
    m.handle(t0, Input::AddTarget(t2)); // duplicate
    m.handle(t0, Input::AddTarget(Ipv4Addr::new(0, 1, 2, 3))); // 0.0.0.0/8
    m.handle(t0, Input::AddTarget(Ipv4Addr::BROADCAST));
    m.handle(t0, Input::RemoveTarget(Ipv4Addr::new(1, 1, 1, 1))); // unknown
    assert_eq!(m.counters().targets_rejected, 4);
    m.handle_timeout(t0);
    assert_eq!(
        drain(&mut m),
        vec![
            Ev::Tx(A, probe(MAC_A, SRC, T1)),
            Ev::Tx(A, probe(MAC_A, SRC, t2))
        ]
    );
    m.handle(t0 + ms(10), Input::RemoveTarget(T1));
    m.handle_timeout(t0 + ms(100));
    assert_eq!(drain(&mut m), vec![Ev::Tx(A, probe(MAC_A, SRC, t2))]);
}

/// Single active port answered 10 ms after every probe until `last_tick`.
fn down_time(missed_max: u8, last_tick: Duration) -> Vec<(Duration, Ev)> {
    let t0 = Instant::now();
    let mut cfg = base();
    cfg.ports = vec![port(A, MAC_A)];
    cfg.missed_max = missed_max;
    let mut m = ArpMonitor::new(cfg, t0).unwrap();
    let log = run(&mut m, t0, ms(1000), |m, t, off| {
        if off <= last_tick {
            m.handle(
                t + ms(10),
                Input::Frame {
                    port: A,
                    bytes: &reply_to(MAC_A, T1),
                },
            );
        }
    });
    verdicts(&log)
}

#[test]
fn link_down_after_missed_max_intervals() {
    // Last answer at 510 ms; down at the first tick after 510 + k·100 + 50.
    assert_eq!(down_time(2, ms(500))[0], (ms(800), Ev::Down(A)));
    assert_eq!(down_time(1, ms(500))[0], (ms(700), Ev::Down(A)));
    assert_eq!(down_time(3, ms(500))[0], (ms(900), Ev::Down(A)));
    // Answered once at 10 ms: down right after the 2.5-interval grace.
    assert_eq!(down_time(2, ms(0)).first(), Some(&(ms(300), Ev::Down(A))));
}

#[test]
fn down_then_up_again_on_a_reply() {
    let t0 = Instant::now();
    let mut cfg = base();
    cfg.ports = vec![port(A, MAC_A)];
    let mut m = ArpMonitor::new(cfg, t0).unwrap();
    let log = run(&mut m, t0, ms(1000), |m, t, off| {
        if off == ms(900) {
            m.handle(
                t + ms(10),
                Input::Frame {
                    port: A,
                    bytes: &reply_to(MAC_A, T1),
                },
            );
        }
    });
    assert_eq!(
        verdicts(&log),
        vec![(ms(300), Ev::Down(A)), (ms(1000), Ev::Up(A))]
    );
    assert_eq!(m.link_state(A), Some(LinkState::Up));
    assert_eq!(m.link_failures(A), Some(1));
    assert_eq!(m.active(), None, "the caller picks the new active port");
    // With no active port the lone port keeps probing as the candidate.
    let ticks_with_probes = log
        .iter()
        .filter(|(_, ev)| ev.iter().any(|e| matches!(e, Ev::Tx(A, _))))
        .count();
    assert_eq!(ticks_with_probes, 11);
}

#[test]
fn rotation_without_active_port_follows_bond_ab_arp_probe() {
    let t0 = Instant::now();
    let cfg = Config::new(
        ms(100),
        vec![T1],
        vec![port(A, MAC_A), port(B, MAC_B), port(C, MAC_C)],
    );
    let mut m = ArpMonitor::new(cfg, t0).unwrap();
    let mut senders = Vec::new();
    for k in 0..5 {
        m.handle_timeout(t0 + ms(100 * k));
        for e in drain(&mut m) {
            if let Ev::Tx(p, _) = e {
                senders.push(p);
            }
        }
        senders.push(PortId(0)); // tick separator
    }
    // The kernel starts after the first slave when there is no candidate.
    let s = PortId(0);
    assert_eq!(senders, vec![B, s, C, s, A, s, B, s, C, s]);

    // A port without carrier is skipped and, being up, reported down.
    m.handle(t0 + ms(450), Input::CarrierChanged { port: A, up: false });
    m.handle_timeout(t0 + ms(500));
    let ev = drain(&mut m);
    assert!(ev.contains(&Ev::Down(A)));
    let tx: Vec<PortId> = ev
        .iter()
        .filter_map(|e| if let Ev::Tx(p, _) = e { Some(*p) } else { None })
        .collect();
    assert_eq!(tx, vec![B], "after C comes B, A has no carrier");
}

#[test]
fn candidate_reply_on_another_port_brings_it_up() {
    // All ports share the bond MAC (fail_over_mac none), all start down.
    let t0 = Instant::now();
    let mac = MAC_A;
    let down = |id| PortConfig {
        id,
        mac,
        carrier: false,
    };
    let mut cfg = Config::new(ms(100), vec![T1], vec![down(A), down(B), down(C)]);
    cfg.source_ip = Some(SRC);
    cfg.validate = ArpValidate::All;
    let mut m = ArpMonitor::new(cfg, t0).unwrap();
    for p in [A, B, C] {
        assert_eq!(m.link_state(p), Some(LinkState::Down));
        m.handle(t0, Input::CarrierChanged { port: p, up: true });
    }
    m.handle_timeout(t0);
    assert_eq!(drain(&mut m), vec![Ev::Tx(B, probe(mac, SRC, T1))]);
    assert_eq!(m.candidate(), Some(B));
    assert_eq!(m.link_state(B), Some(LinkState::Back));
    // The switch delivers the reply to C (kernel case (c): a reply while the
    // candidate probed within the last interval).
    m.handle(
        t0 + ms(10),
        Input::Frame {
            port: C,
            bytes: &reply_to(mac, T1),
        },
    );
    assert_eq!(m.counters().arp_validated, 1);
    m.handle_timeout(t0 + ms(100));
    let ev = drain(&mut m);
    assert_eq!(ev[0], Ev::Up(C));
    assert_eq!(m.link_state(C), Some(LinkState::Up));
    // Until the caller picks C, the rotation goes on: B failed and is the
    // next candidate again.
    assert_eq!(ev[1..], [Ev::Tx(B, probe(mac, SRC, T1))]);
    assert_eq!(m.link_state(B), Some(LinkState::Back));

    // The caller makes C active: probes move to C.
    m.handle(t0 + ms(110), Input::SetActive(Some(C)));
    assert!(drain(&mut m).is_empty());
    assert_eq!(m.candidate(), None);
    m.handle_timeout(t0 + ms(200));
    assert_eq!(drain(&mut m), vec![Ev::Tx(C, probe(mac, SRC, T1))]);
}

#[test]
fn set_active_on_the_candidate_brings_it_up() {
    let t0 = Instant::now();
    let mut cfg = base();
    cfg.ports = vec![PortConfig {
        id: A,
        mac: MAC_A,
        carrier: false,
    }];
    cfg.active = None;
    let mut m = ArpMonitor::new(cfg, t0).unwrap();
    m.handle(t0, Input::CarrierChanged { port: A, up: true });
    m.handle_timeout(t0);
    drain(&mut m);
    assert_eq!(m.link_state(A), Some(LinkState::Back));
    m.handle(t0 + ms(1), Input::SetActive(Some(A)));
    assert_eq!(drain(&mut m), vec![Ev::Up(A)]);
    assert_eq!(m.active(), Some(A));
}

#[test]
fn set_active_moves_probes_and_grants_grace() {
    let t0 = Instant::now();
    let mut m = ArpMonitor::new(base(), t0).unwrap();
    // B hears A's probes (flooded by the switch), A gets answers, until 300.
    let log = run(&mut m, t0, ms(600), |m, t, off| {
        if off == ms(200) {
            m.handle(t + ms(5), Input::SetActive(Some(B)));
        }
        if off < ms(200) {
            m.handle(
                t + ms(10),
                Input::Frame {
                    port: A,
                    bytes: &reply_to(MAC_A, T1),
                },
            );
        }
    });
    let senders: Vec<(Duration, PortId)> = log
        .iter()
        .flat_map(|(t, ev)| {
            ev.iter().filter_map(move |e| match e {
                Ev::Tx(p, _) => Some((*t, *p)),
                _ => None,
            })
        })
        .collect();
    assert_eq!(
        senders,
        vec![
            (ms(0), A),
            (ms(100), A),
            (ms(200), A),
            (ms(300), B),
            (ms(400), B),
            (ms(500), B),
            (ms(600), A)
        ]
    );
    // B became active at 205 ms: grace until 455, then down at 500 (never
    // answered). A, now backup, last heard at 110: down once past 110 + 350.
    // With no active port left the rotation probes from B, then from A.
    assert_eq!(
        verdicts(&log),
        vec![(ms(500), Ev::Down(A)), (ms(500), Ev::Down(B))]
    );
}

#[test]
fn frames_on_unknown_ports_and_garbage_are_counted() {
    let t0 = Instant::now();
    let mut m = ArpMonitor::new(base(), t0).unwrap();
    m.handle(
        t0,
        Input::Frame {
            port: PortId(99),
            bytes: &[1, 2, 3],
        },
    );
    m.handle(t0, Input::SetActive(Some(PortId(99))));
    m.handle(
        t0,
        Input::CarrierChanged {
            port: PortId(99),
            up: false,
        },
    );
    m.handle(
        t0,
        Input::Frame {
            port: A,
            bytes: &[0xff; 7],
        },
    );
    let c = m.counters();
    assert_eq!(c.unknown_port, 3);
    assert_eq!(c.frames_received, 1);
    assert_eq!(c.invalid_frames, 1);
    assert_eq!(m.active(), Some(A));
}

#[test]
fn config_errors() {
    let t0 = Instant::now();
    let bad = |f: &dyn Fn(&mut Config)| {
        let mut cfg = base();
        f(&mut cfg);
        ArpMonitor::new(cfg, t0).unwrap_err()
    };
    assert_eq!(
        bad(&|c| c.arp_interval = Duration::ZERO),
        ConfigError::ZeroInterval
    );
    assert_eq!(bad(&|c| c.targets.clear()), ConfigError::NoTargets);
    assert_eq!(
        bad(&|c| c.targets = vec![T1, T1]),
        ConfigError::DuplicateTarget(T1)
    );
    let zero_net = Ipv4Addr::new(0, 0, 0, 9);
    assert_eq!(
        bad(&|c| c.targets = vec![zero_net]),
        ConfigError::BadTarget(zero_net)
    );
    assert_eq!(
        bad(&|c| c.targets = vec![Ipv4Addr::BROADCAST]),
        ConfigError::BadTarget(Ipv4Addr::BROADCAST)
    );
    assert_eq!(bad(&|c| c.missed_max = 0), ConfigError::ZeroMissedMax);
    assert_eq!(bad(&|c| c.ports.clear()), ConfigError::PortCount);
    assert_eq!(bad(&|c| c.ports[1].id = A), ConfigError::DuplicatePort(A));
    assert_eq!(
        bad(&|c| c.ports[0].mac = MacAddr::BROADCAST),
        ConfigError::PortMacNotUnicast(A)
    );
    assert_eq!(bad(&|c| c.active = Some(C)), ConfigError::UnknownActive(C));
    assert_eq!(
        bad(&|c| {
            c.source_ip = None;
            c.validate = ArpValidate::Backup;
        }),
        ConfigError::ValidateWithoutSourceIp
    );
    assert_eq!(
        bad(&|c| c.vlans = vec![VlanTag::dot1q(1); 3]),
        ConfigError::TooManyVlans
    );
    // Filter alone needs no source IP.
    let mut cfg = base();
    cfg.source_ip = None;
    cfg.validate = ArpValidate::Filter;
    assert!(ArpMonitor::new(cfg, t0).is_ok());
}
