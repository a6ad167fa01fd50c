#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic,
    clippy::disallowed_methods,
    reason = "test code"
)]

//! Two (or three) instances wired together on a virtual clock: elections,
//! failover, split brain, checksum camps (vrrp-arp.md §9.3, 5, 6, 8, 9,
//! 13, 14 end to end).

mod common;

use std::time::Duration;

use common::*;
use vrrp::{AcceptChecksum, Config, Input, Output, State, V3Ipv4Checksum, Version};

fn node(addr: &str, priority: u8) -> Config {
    let mut c = config();
    c.primary_address = ip(addr);
    c.priority = priority;
    c
}

const MDI_100: u64 = 3_609_375_000;
const MDI_150: u64 = 3_414_062_500;

fn start_all(net: &mut Net) {
    for i in 0..net.nodes.len() {
        net.input(i, Input::Startup);
    }
}

#[test]
fn higher_priority_wins_cold_start() {
    let mut net = Net::new(vec![node("10.0.0.1", 150), node("10.0.0.2", 100)]);
    start_all(&mut net);
    net.run_until(secs(30));
    assert_eq!(net.masters(), vec![0]);
    let tr = net.transitions();
    assert_eq!(
        tr,
        vec![
            (Duration::ZERO, 0, State::Initialize, State::Backup),
            (Duration::ZERO, 1, State::Initialize, State::Backup),
            (ns(MDI_150), 0, State::Backup, State::Master),
        ]
    );
    assert_eq!(
        net.nodes[1].vr.master(),
        Some((ip("10.0.0.1"), 150)),
        "backup knows the master"
    );
}

#[test]
fn every_priority_ordering_elects_the_highest() {
    for prios in [
        [100, 150, 200],
        [200, 150, 100],
        [150, 200, 100],
        [1, 254, 2],
    ] {
        let mut net = Net::new(vec![
            node("10.0.0.1", prios[0]),
            node("10.0.0.2", prios[1]),
            node("10.0.0.3", prios[2]),
        ]);
        start_all(&mut net);
        net.run_until(secs(20));
        let best = (0..3).max_by_key(|i| prios[*i]).unwrap();
        assert_eq!(net.masters(), vec![best], "{prios:?}");
        assert_eq!(
            net.transitions().len(),
            4,
            "{prios:?}: three startups, one takeover"
        );
    }
}

#[test]
fn equal_priority_higher_address_wins() {
    let mut net = Net::new(vec![node("10.0.0.1", 100), node("10.0.0.2", 100)]);
    start_all(&mut net);
    net.run_until(secs(10));
    assert_eq!(net.masters(), vec![1]);
    let t = ns(MDI_100);
    let tr = net.transitions();
    assert_eq!(
        tr[2..],
        [
            (t, 0, State::Backup, State::Master),
            (t, 1, State::Backup, State::Master),
            (t, 0, State::Master, State::Backup),
        ]
    );
}

#[test]
fn preemption_when_higher_joins_later() {
    let mut net = Net::new(vec![node("10.0.0.1", 100), node("10.0.0.2", 150)]);
    net.input(0, Input::Startup);
    net.run_until(secs(10));
    assert_eq!(net.masters(), vec![0]);
    net.input(1, Input::Startup);
    net.run_until(secs(20));
    assert_eq!(net.masters(), vec![1]);
    let tr = net.transitions();
    let take = secs(10) + ns(MDI_150);
    assert!(tr.contains(&(take, 1, State::Backup, State::Master)));
    assert!(tr.contains(&(take, 0, State::Master, State::Backup)));
    // The loser sent no priority-0 advert.
    assert!(
        adverts(&net.node_log(0))
            .iter()
            .all(|(_, _, r)| r.priority == 100)
    );
}

#[test]
fn graceful_shutdown_hands_over_after_skew() {
    let mut net = Net::new(vec![node("10.0.0.1", 150), node("10.0.0.2", 100)]);
    start_all(&mut net);
    net.run_until(secs(10));
    net.input(0, Input::Shutdown);
    net.run_until(secs(15));
    assert_eq!(net.masters(), vec![1]);
    assert!(net.transitions().contains(&(
        secs(10) + ns(609_375_000),
        1,
        State::Backup,
        State::Master
    )));
}

#[test]
fn link_down_on_master_hands_over_after_skew() {
    let mut net = Net::new(vec![node("10.0.0.1", 150), node("10.0.0.2", 100)]);
    start_all(&mut net);
    net.run_until(secs(10));
    net.input(
        0,
        Input::Link {
            ifindex: IF,
            up: false,
        },
    );
    net.run_until(secs(15));
    assert_eq!(net.state(0), State::Fault);
    assert!(net.transitions().contains(&(
        secs(10) + ns(609_375_000),
        1,
        State::Backup,
        State::Master
    )));
    // Link back: the higher priority preempts again.
    net.input(
        0,
        Input::Link {
            ifindex: IF,
            up: true,
        },
    );
    net.run_until(secs(25));
    assert_eq!(net.masters(), vec![0]);
}

/// SIGSTOP the Master: takeover MDI after its last advert; SIGCONT: the
/// higher priority answers the queued lower adverts, the loser yields at
/// once, and no GARP leaves the loser afterwards (keepalived#166).
#[test]
fn frozen_master_and_split_brain_heal() {
    let mut net = Net::new(vec![node("10.0.0.1", 150), node("10.0.0.2", 100)]);
    start_all(&mut net);
    net.run_until(ms(10_500));
    net.freeze(0);
    let last = advert_times(&net.node_log(0)).into_iter().max().unwrap();
    assert_eq!(last, ns(MDI_150) + secs(7));
    net.run_until(secs(20));
    assert_eq!(
        net.masters(),
        vec![0, 1],
        "split brain: the frozen one still thinks so"
    );
    assert!(
        net.transitions()
            .contains(&(last + ns(MDI_100), 1, State::Backup, State::Master))
    );
    net.thaw(0);
    assert_eq!(net.masters(), vec![0]);
    assert!(
        net.transitions()
            .contains(&(secs(20), 1, State::Master, State::Backup))
    );
    net.run_until(secs(40));
    assert_eq!(net.masters(), vec![0]);
    let loser_frames_after: usize = frames(&net.node_log(1))
        .iter()
        .filter(|(t, _)| *t >= secs(20))
        .count();
    assert_eq!(loser_frames_after, 0);
    let winner_frames_after = frames(&net.node_log(0))
        .iter()
        .filter(|(t, _)| *t >= secs(20))
        .count();
    assert!(winner_frames_after >= 5, "winner re-announces");
}

/// §9.13 (frr#9951): pseudo-header-only and RFC 9568-only routers do not
/// hear each other (two Masters); one accepting either form hears both.
#[test]
fn checksum_camps() {
    let mut a = node("10.0.0.1", 150);
    a.checksum_send = V3Ipv4Checksum::PseudoHeader;
    a.checksum_accept = AcceptChecksum::PseudoHeader;
    let mut b = node("10.0.0.2", 100);
    b.checksum_send = V3Ipv4Checksum::Rfc9568;
    b.checksum_accept = AcceptChecksum::Rfc9568;
    let mut net = Net::new(vec![a.clone(), b.clone()]);
    start_all(&mut net);
    net.run_until(secs(10));
    assert_eq!(net.masters(), vec![0, 1], "dual master");
    assert!(net.nodes[1].vr.counters().checksum_errors > 0);

    b.checksum_accept = AcceptChecksum::Either;
    let mut net = Net::new(vec![a, b]);
    start_all(&mut net);
    net.run_until(secs(10));
    assert_eq!(net.masters(), vec![0]);
    assert_eq!(net.nodes[1].vr.counters().checksum_errors, 0);
}

#[test]
fn subsecond_failover() {
    let mut a = node("10.0.0.1", 150);
    a.advert_interval = ms(10);
    let mut b = node("10.0.0.2", 100);
    b.advert_interval = ms(10);
    let mut net = Net::new(vec![a, b]);
    start_all(&mut net);
    net.run_until(secs(1));
    net.freeze(0);
    let last = advert_times(&net.node_log(0)).into_iter().max().unwrap();
    net.run_until(secs(2));
    // 1 cs: MDI = 30 ms + 156·10/256 ms = 36.09375 ms.
    assert!(
        net.transitions()
            .contains(&(last + ns(36_093_750), 1, State::Backup, State::Master))
    );
}

#[test]
fn v2_pair_with_password() {
    let mk = |addr: &str, p: u8| {
        let mut c = node(addr, p);
        c.version = Version::V2;
        c.auth = vrrp::Auth::password(b"pw");
        c
    };
    let mut net = Net::new(vec![mk("10.0.0.1", 100), mk("10.0.0.2", 101)]);
    start_all(&mut net);
    net.run_until(secs(10));
    assert_eq!(net.masters(), vec![1]);
    // v2 skew: 101 fires 1/256 s before 100.
    assert!(net.transitions().contains(&(
        ns(MDI_100 - 3_906_250),
        1,
        State::Backup,
        State::Master
    )));
    assert!(
        net.log
            .iter()
            .all(|(_, _, o)| !matches!(o, Output::Dropped { .. }))
    );
}
