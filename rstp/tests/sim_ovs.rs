#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic,
    clippy::disallowed_methods,
    reason = "test code"
)]
//! Open vSwitch `tests/rstp.at` and `tests/stp.at` scenarios (reference
//! rstp.md §6 items 1–9), including the 802.1D-2004 figures 17.4–17.7, run
//! on the simulator. `stp.at` costs (10 per hop) become 200 000 here and its
//! `B` (blocking) becomes `Di`.

use std::time::{Duration, Instant};

use rstp::sim::{Network, Scenario};
use rstp::{Input, PortConfig, PortRole};

/// OVS `run 1000`: 180 simulated seconds.
const RUN: Duration = Duration::from_secs(180);

#[track_caller]
fn check(net: &Network, b: usize, expect: &str) {
    if let Err(e) = net.check(b, expect) {
        panic!("{e}");
    }
}

fn run(net: &mut Network) {
    net.run_for(RUN);
    net.check_spanning_tree().unwrap();
}

fn set_port(net: &mut Network, b: usize, port: u16, f: impl FnOnce(&mut PortConfig)) {
    let mut cfg = net.port(b, port).unwrap().config;
    f(&mut cfg);
    net.handle(b, Input::SetPortConfig(cfg));
}

#[test]
fn rstp_num1_single_bridge() {
    let mut net = Scenario::new()
        .bridge(0x111, &["a", "b"])
        .build(Instant::now())
        .unwrap();
    run(&mut net);
    check(&net, 0, "root");
    // Nothing else on a and b: designated, edge after EdgeDelay, forwarding.
    check(&net, 0, "F F");
    assert!(net.port(0, 1).unwrap().oper_edge);
}

#[test]
fn rstp_num2_link_failure() {
    let mut net = Scenario::new()
        .bridge(0x111, &["a", "b"])
        .bridge(0x222, &["a", "c"])
        .bridge(0x333, &["b", "c"])
        .build(Instant::now())
        .unwrap();
    run(&mut net);
    check(&net, 0, "root");
    check(&net, 1, "F:200000 F");
    check(&net, 2, "F:200000 Di");
    assert_eq!(net.port(2, 2).unwrap().role, PortRole::Alternate);
    // bridge 2 = X c
    net.port_down(2, 1);
    run(&mut net);
    check(&net, 1, "F:200000 F");
    check(&net, 2, "D F:400000");
}

#[test]
fn rstp_num3_double_link_failure() {
    let mut net = Scenario::new()
        .bridge(0x111, &["a", "b"])
        .bridge(0x222, &["a", "c", "d"])
        .bridge(0x333, &["b", "c", "e"])
        .bridge(0x444, &["d", "f"])
        .bridge(0x555, &["e", "f"])
        .build(Instant::now())
        .unwrap();
    run(&mut net);
    check(&net, 0, "root");
    check(&net, 1, "F:200000 F F");
    check(&net, 2, "F:200000 Di F");
    check(&net, 3, "F:400000 F");
    check(&net, 4, "F:400000 Di");
    // Link b goes down.
    net.port_down(2, 1);
    run(&mut net);
    check(&net, 0, "root");
    check(&net, 1, "F:200000 F F");
    check(&net, 2, "D F:400000 F");
    check(&net, 3, "F:400000 F");
    check(&net, 4, "F:600000 Di");
    // Link e goes down.
    net.port_down(4, 1);
    run(&mut net);
    check(&net, 2, "D F:400000 F");
    check(&net, 4, "D F:600000");
    // Link f cost changes.
    set_port(&mut net, 4, 2, |c| c.path_cost = Some(100_000));
    run(&mut net);
    check(&net, 4, "D F:500000");
    // Bridge 4 becomes root (31000 rounds down to 28672).
    net.handle(4, Input::SetBridgePriority(31000));
    run(&mut net);
    check(&net, 4, "root");
    assert_eq!(net.status(4).unwrap().bridge_id.priority(), 0x7000);
}

#[test]
fn ieee_fig_17_4_and_17_5() {
    let sc = |b7: &[&str]| {
        Scenario::new()
            .bridge(0x111, &["a", "b", "e", "c"])
            .bridge(0x222, &["a", "b", "d", "f"])
            .bridge(0x333, &["c", "d", "l", "j", "h", "g"])
            .bridge(0x444, &["e", "f", "n", "m", "k", "i"])
            .bridge(0x555, &["g", "i", "0", "0"])
            .bridge(0x666, &["h", "k", "0", "0"])
            .bridge(0x777, &["j", "m", "0", "0"])
            .bridge(0x888, b7)
            .build(Instant::now())
            .unwrap()
    };
    let common = |net: &Network| {
        check(net, 0, "root");
        check(net, 1, "F:200000 Di F F");
        check(net, 2, "F:200000 Di F F F F");
        check(net, 3, "F:200000 Di F F F F");
        check(net, 4, "F:400000 Di F F");
        check(net, 5, "F:400000 Di F F");
        check(net, 6, "F:400000 Di F F");
    };
    let mut net = sc(&["l", "n", "0", "0"]);
    run(&mut net);
    common(&net);
    check(&net, 7, "F:400000 Di F F");
    // Two ports of bridge 7 on the same LAN o: the second is a Backup port.
    let mut net = sc(&["l", "n", "o", "o"]);
    run(&mut net);
    common(&net);
    check(&net, 7, "F:400000 Di F B");
}

#[test]
fn ieee_fig_17_6_ring() {
    let mut net = Scenario::new()
        .bridge(0x111, &["a", "b", "l"])
        .bridge(0x222, &["b", "c", "d"])
        .bridge(0x333, &["d", "e", "f"])
        .bridge(0x444, &["f", "g", "h"])
        .bridge(0x555, &["j", "h", "i"])
        .bridge(0x666, &["l", "j", "k"])
        .build(Instant::now())
        .unwrap();
    run(&mut net);
    check(&net, 0, "root");
    check(&net, 1, "F:200000 F F");
    check(&net, 2, "F:400000 F F");
    check(&net, 3, "F:600000 F A");
    check(&net, 4, "F:400000 F F");
    check(&net, 5, "F:200000 F F");
    let alternates: usize = (0..6)
        .map(|b| {
            net.bridge(b)
                .unwrap()
                .ports_status()
                .filter(|p| p.role == PortRole::Alternate)
                .count()
        })
        .sum();
    assert_eq!(alternates, 1);
}

#[test]
fn ieee_fig_17_7_parallel_links() {
    let mut net = Scenario::new()
        .bridge(0x000, &["b"])
        .bridge(0x111, &["a", "b", "d", "f", "h", "g", "e", "c"])
        .bridge(0x222, &["g", "h", "j", "l", "n", "m", "k", "i"])
        .build(Instant::now())
        .unwrap();
    run(&mut net);
    check(&net, 0, "root");
    check(&net, 1, "F F:200000 F F F F F F");
    // Root port: the link whose designated port ID is lower (h, B1 port 5).
    check(&net, 2, "Di F:400000 F F F F F F");
    // g^112 on B1: g's designated port ID 0x7006 now wins.
    set_port(&mut net, 1, 6, |c| c.priority = 112);
    run(&mut net);
    check(&net, 1, "F F:200000 F F F F F F");
    check(&net, 2, "F:400000 Di F F F F F F");
}

#[test]
fn stp_io_1_2_repeated_network() {
    let mut net = Scenario::new()
        .bridge(0x111, &["a", "a"])
        .bridge(0x222, &["a", "a"])
        .build(Instant::now())
        .unwrap();
    run(&mut net);
    check(&net, 0, "F B");
    check(&net, 1, "F:200000 A");
    assert!(
        !net.port(0, 1).unwrap().oper_p2p,
        "four ports on one LAN: shared"
    );
    // a^0x90 on bridge 1 port 1: port 2 (0x8002) now wins the tie.
    set_port(&mut net, 1, 1, |c| c.priority = 0x90);
    run(&mut net);
    check(&net, 0, "F B");
    check(&net, 1, "A F:200000");
}

#[test]
fn stp_io_1_5_topology_change() {
    let mut net = Scenario::new()
        .bridge(0x111, &["a", "b", "d", "c"])
        .bridge(0x222, &["a", "b", "f", "e"])
        .bridge(0x333, &["c", "d", "g", "h"])
        .bridge(0x444, &["e", "f", "g", "h"])
        .build(Instant::now())
        .unwrap();
    run(&mut net);
    check(&net, 0, "root");
    check(&net, 1, "F:200000 Di F F");
    check(&net, 2, "Di F:200000 F F");
    check(&net, 3, "Di F:400000 Di Di");
    net.handle(1, Input::SetBridgePriority(0x7000));
    run(&mut net);
    check(&net, 0, "F:200000 Di F F");
    check(&net, 1, "root");
    check(&net, 2, "Di F:400000 Di Di");
    check(&net, 3, "Di F:200000 F F");
    net.handle(2, Input::SetBridgePriority(0x6000));
    run(&mut net);
    check(&net, 0, "F F Di F:200000");
    check(&net, 1, "F:400000 Di Di Di");
    check(&net, 2, "root");
    check(&net, 3, "F F F:200000 Di");
    net.handle(3, Input::SetBridgePriority(0x5000));
    run(&mut net);
    check(&net, 0, "Di Di Di F:400000");
    check(&net, 1, "F F Di F:200000");
    check(&net, 2, "F F F:200000 Di");
    check(&net, 3, "root");
    // 0x4000..0x4003 all round down to 0x4000: the MAC decides again.
    for (b, p) in [(0, 0x4000), (1, 0x4001), (2, 0x4002), (3, 0x4003)] {
        net.handle(b, Input::SetBridgePriority(p));
    }
    run(&mut net);
    check(&net, 0, "root");
    check(&net, 1, "F:200000 Di F F");
    check(&net, 2, "Di F:200000 F F");
    check(&net, 3, "Di F:400000 Di Di");
}

#[test]
fn stp_op_3_3_bridge_id_values() {
    let mut net = Scenario::new()
        .bridge(0x333, &["a"])
        .priority(0, 0x6000)
        .bridge(0x222, &["b"])
        .priority(1, 0x7000)
        .bridge(0x111, &["a", "b"])
        .build(Instant::now())
        .unwrap();
    run(&mut net);
    check(&net, 0, "root");
    check(&net, 1, "F:400000");
    check(&net, 2, "F:200000 F");
    let root = net.status(0).unwrap().bridge_id;
    assert_eq!(root.to_string(), "6000.000000000333");
    for b in 1..3 {
        assert_eq!(net.status(b).unwrap().root, root);
    }
}

#[test]
fn stp_example_802_1d_1998() {
    // test-stp-ieee802.1d-1998 with costs 5 and 10 scaled to 100000/200000.
    let mut net = Scenario::new()
        .bridge(0x42, &["a", "b"])
        .bridge(0x97, &["c:100000", "a", "d:100000"])
        .bridge(0x45, &["b", "e"])
        .bridge(0x57, &["b:100000", "e:100000"])
        .bridge(0x83, &["a:100000", "e:100000"])
        .build(Instant::now())
        .unwrap();
    run(&mut net);
    check(&net, 0, "root");
    check(&net, 1, "F F:200000 F");
    check(&net, 2, "F:200000 _");
    check(&net, 3, "F:100000 F");
    check(&net, 4, "F:100000 _");
    // LAN e: bridge 3 is designated, 2 and 4 are alternates.
    assert_eq!(net.port(2, 2).unwrap().role, PortRole::Alternate);
    assert_eq!(net.port(4, 2).unwrap().role, PortRole::Alternate);
}
