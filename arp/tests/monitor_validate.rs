#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    clippy::unchecked_time_subtraction,
    reason = "test code"
)]
//! What counts as proof of life under each `arp_validate` mode, for the
//! active and a backup port, and `arp_all_targets` any / all
//! (bonding.rst; bond_main.c `bond_rcv_validate`, `bond_arp_rcv`).

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use arp::MacAddr;
use arp::monitor::{
    AllTargets, ArpMonitor, ArpValidate, Config, Input, Output, PortConfig, PortId,
};
use arp::wire::ethernet::{ETHERTYPE_IPV4, EthernetRepr};
use arp::wire::{Frame, Payload};

const A: PortId = PortId(1);
const B: PortId = PortId(2);
const MAC_A: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x0a]);
const MAC_B: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x0b]);
const PEER: MacAddr = MacAddr([0x02, 0xee, 0, 0, 0, 1]);
const SRC: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 10);
const T1: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 1);
const T2: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 2);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Traffic {
    /// A non-ARP frame (IPv4) addressed to the port.
    Other,
    /// ARP reply from target T1 to our source IP.
    Reply,
    /// Our own broadcast probe (what a backup sees through the switch).
    OwnRequest,
    /// ARP between two unrelated hosts.
    ForeignArp,
}

const ALL_TRAFFIC: [Traffic; 4] = [
    Traffic::Other,
    Traffic::Reply,
    Traffic::OwnRequest,
    Traffic::ForeignArp,
];

fn bytes(t: Traffic, port_mac: MacAddr, active_mac: MacAddr) -> Vec<u8> {
    match t {
        Traffic::Other => Frame {
            eth: EthernetRepr::new(port_mac, PEER, ETHERTYPE_IPV4),
            payload: Payload::Other(vec![0x45; 28]),
        }
        .to_bytes(),
        Traffic::Reply => Frame::arp_reply(PEER, T1, port_mac, SRC).to_bytes(),
        Traffic::OwnRequest => Frame::arp_request(active_mac, SRC, T1).to_bytes(),
        Traffic::ForeignArp => Frame::arp_request(
            PEER,
            Ipv4Addr::new(192, 168, 1, 50),
            Ipv4Addr::new(192, 168, 1, 51),
        )
        .to_bytes(),
    }
}

fn monitor(
    validate: ArpValidate,
    all: AllTargets,
    targets: Vec<Ipv4Addr>,
) -> (ArpMonitor, Instant) {
    let t0 = Instant::now();
    let ports = [(A, MAC_A), (B, MAC_B)]
        .map(|(id, mac)| PortConfig {
            id,
            mac,
            carrier: true,
        })
        .to_vec();
    let mut cfg = Config::new(ms(100), targets, ports);
    cfg.source_ip = Some(SRC);
    cfg.validate = validate;
    cfg.all_targets = all;
    cfg.active = Some(A);
    (ArpMonitor::new(cfg, t0).unwrap(), t0)
}

/// Runs ticks 0..=600 ms, calling `feed` 10 ms after each tick, and returns
/// the time of the first `LinkDown` of `port`.
fn first_down(
    m: &mut ArpMonitor,
    t0: Instant,
    port: PortId,
    mut feed: impl FnMut(&mut ArpMonitor, Instant),
) -> Option<Duration> {
    let mut down = None;
    while let Some(t) = m.poll_timeout() {
        if t > t0 + ms(600) {
            break;
        }
        m.handle_timeout(t);
        while let Some(o) = m.poll_output() {
            if o == (Output::LinkDown { port }) && down.is_none() {
                down = Some(t - t0);
            }
        }
        feed(m, t + ms(10));
    }
    down
}

/// Does `traffic` keep the active port alive under `mode`?
fn active_counts(mode: ArpValidate, traffic: Traffic) -> bool {
    let (mut m, t0) = monitor(mode, AllTargets::Any, vec![T1]);
    let frame = bytes(traffic, MAC_A, MAC_A);
    let down = first_down(&mut m, t0, A, |m, t| {
        m.handle(
            t,
            Input::Frame {
                port: A,
                bytes: &frame,
            },
        );
    });
    match down {
        None => true,
        Some(t) => {
            assert_eq!(
                t,
                ms(300),
                "{mode:?}/{traffic:?}: down right after the grace"
            );
            false
        }
    }
}

/// Does `traffic` keep a backup port alive under `mode`, while the active
/// port gets valid replies?
fn backup_counts(mode: ArpValidate, traffic: Traffic) -> bool {
    let (mut m, t0) = monitor(mode, AllTargets::Any, vec![T1]);
    let frame = bytes(traffic, MAC_B, MAC_A);
    let reply = bytes(Traffic::Reply, MAC_A, MAC_A);
    let down = first_down(&mut m, t0, B, |m, t| {
        m.handle(
            t,
            Input::Frame {
                port: A,
                bytes: &reply,
            },
        );
        m.handle(
            t,
            Input::Frame {
                port: B,
                bytes: &frame,
            },
        );
    });
    match down {
        None => true,
        Some(t) => {
            assert_eq!(
                t,
                ms(300),
                "{mode:?}/{traffic:?}: down right after the grace"
            );
            false
        }
    }
}

fn table(f: fn(ArpValidate, Traffic) -> bool, mode: ArpValidate) -> [bool; 4] {
    ALL_TRAFFIC.map(|t| f(mode, t))
}

//                       Other  Reply OwnReq Foreign
const ANY: [bool; 4] = [true, true, true, true];
const ARP_ONLY: [bool; 4] = [false, true, true, true];
const REPLY_ONLY: [bool; 4] = [false, true, false, false];
const OWN_REQUEST_ONLY: [bool; 4] = [false, false, true, false];

#[test]
fn active_port_proof_of_life_per_mode() {
    use ArpValidate::*;
    assert_eq!(table(active_counts, None), ANY);
    assert_eq!(table(active_counts, Active), REPLY_ONLY);
    assert_eq!(table(active_counts, Backup), ANY);
    assert_eq!(table(active_counts, All), REPLY_ONLY);
    assert_eq!(table(active_counts, Filter), ARP_ONLY);
    assert_eq!(table(active_counts, FilterActive), REPLY_ONLY);
    assert_eq!(table(active_counts, FilterBackup), ARP_ONLY);
}

#[test]
fn backup_port_proof_of_life_per_mode() {
    use ArpValidate::*;
    assert_eq!(table(backup_counts, None), ANY);
    assert_eq!(table(backup_counts, Active), ANY);
    assert_eq!(table(backup_counts, Backup), OWN_REQUEST_ONLY);
    assert_eq!(table(backup_counts, All), OWN_REQUEST_ONLY);
    assert_eq!(table(backup_counts, Filter), ARP_ONLY);
    assert_eq!(table(backup_counts, FilterActive), ARP_ONLY);
    assert_eq!(table(backup_counts, FilterBackup), OWN_REQUEST_ONLY);
}

#[test]
fn backup_validation_waits_for_the_active_port_to_be_heard() {
    // Kernel case (b): a backup trusts the active's request only once the
    // active port has had proof of life since it became active.
    let (mut m, t0) = monitor(ArpValidate::All, AllTargets::Any, vec![T1]);
    let own = bytes(Traffic::OwnRequest, MAC_B, MAC_A);
    let down = first_down(&mut m, t0, B, |m, t| {
        m.handle(
            t,
            Input::Frame {
                port: B,
                bytes: &own,
            },
        );
    });
    assert_eq!(down, Some(ms(300)));
    assert_eq!(m.counters().arp_validated, 0);
}

#[test]
fn validated_reply_must_target_our_address_and_come_from_a_target() {
    let (mut m, t0) = monitor(ArpValidate::Active, AllTargets::Any, vec![T1]);
    let wrong_tip = Frame::arp_reply(PEER, T1, MAC_A, Ipv4Addr::new(192, 168, 1, 99)).to_bytes();
    let wrong_sip = Frame::arp_reply(PEER, T2, MAC_A, SRC).to_bytes();
    let other_host = Frame::arp_reply(PEER, T1, PEER, SRC).to_bytes();
    let down = first_down(&mut m, t0, A, |m, t| {
        for b in [&wrong_tip, &wrong_sip, &other_host] {
            m.handle(t, Input::Frame { port: A, bytes: b });
        }
    });
    assert_eq!(down, Some(ms(300)));
    let c = m.counters();
    assert_eq!(c.arp_received, c.frames_received);
    assert_eq!(c.arp_validated, 0);
}

#[test]
fn filter_ignores_malformed_frames_none_counts_them() {
    for (mode, survives) in [(ArpValidate::None, true), (ArpValidate::Filter, false)] {
        let (mut m, t0) = monitor(mode, AllTargets::Any, vec![T1]);
        let down = first_down(&mut m, t0, A, |m, t| {
            m.handle(
                t,
                Input::Frame {
                    port: A,
                    bytes: &[0xab; 9],
                },
            );
        });
        assert_eq!(down.is_none(), survives, "{mode:?}");
        assert!(m.counters().invalid_frames > 0);
    }
}

/// Active port validated, targets T1 and T2; `answer(tick offset)` lists
/// which targets reply after that tick. Returns the first down time.
fn all_targets_case(all: AllTargets, answer: fn(Duration) -> Vec<Ipv4Addr>) -> Option<Duration> {
    let (mut m, t0) = monitor(ArpValidate::Active, all, vec![T1, T2]);
    first_down(&mut m, t0, A, |m, t| {
        for target in answer(t - t0 - ms(10)) {
            let reply = Frame::arp_reply(PEER, target, MAC_A, SRC).to_bytes();
            m.handle(
                t,
                Input::Frame {
                    port: A,
                    bytes: &reply,
                },
            );
        }
    })
}

#[test]
fn all_targets_any_vs_all() {
    let only_t1 = |_| vec![T1];
    assert_eq!(all_targets_case(AllTargets::Any, only_t1), None);
    assert_eq!(all_targets_case(AllTargets::All, only_t1), Some(ms(300)));

    let both = |_| vec![T1, T2];
    assert_eq!(all_targets_case(AllTargets::All, both), None);

    // T2 stops answering after 200 ms: its last answer is at 210, so with
    // `all` the port is down at the first tick after 210 + 250.
    let t2_stops = |off: Duration| {
        if off <= ms(200) {
            vec![T1, T2]
        } else {
            vec![T1]
        }
    };
    assert_eq!(all_targets_case(AllTargets::All, t2_stops), Some(ms(500)));
    assert_eq!(all_targets_case(AllTargets::Any, t2_stops), None);
}

#[test]
fn all_targets_applies_only_to_validated_ports() {
    // Backup not validated under `active`: any traffic keeps it up even with
    // `all` (the kernel would use never-updated per-target times here).
    let (mut m, t0) = monitor(ArpValidate::Active, AllTargets::All, vec![T1, T2]);
    let other = bytes(Traffic::Other, MAC_B, MAC_A);
    let down = first_down(&mut m, t0, B, |m, t| {
        m.handle(
            t,
            Input::Frame {
                port: B,
                bytes: &other,
            },
        );
    });
    assert_eq!(down, None);
}

#[test]
fn added_target_counts_as_just_heard() {
    // bond_option_arp_ip_target_add sets the new target's receive time to now.
    let (mut m, t0) = monitor(ArpValidate::Active, AllTargets::All, vec![T1]);
    let down = first_down(&mut m, t0, A, |m, t| {
        let reply = Frame::arp_reply(PEER, T1, MAC_A, SRC).to_bytes();
        m.handle(
            t,
            Input::Frame {
                port: A,
                bytes: &reply,
            },
        );
        if t - t0 == ms(210) {
            m.handle(t, Input::AddTarget(T2));
        }
    });
    // T2 never answers; its time is 210 ms, so down after 210 + 250.
    assert_eq!(down, Some(ms(500)));
}
