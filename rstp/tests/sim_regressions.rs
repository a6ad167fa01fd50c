#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    reason = "test code"
)]
//! Cases found by the `sim_property` property test, rebuilt as named,
//! deterministic scenarios.

use std::time::{Duration, Instant};

use rstp::PortState;
use rstp::sim::{Network, Scenario};

fn lan(e: usize) -> String {
    format!("l{e}")
}

/// The property test's topology: link `e` is LAN `l{e}`, hub `h` is LAN
/// `h{h}`; bridge `i` has address `0x100 + i`.
fn build(
    n: usize,
    edges: &[(usize, usize)],
    hubs: &[(usize, usize, usize)],
    prios: &[u16],
) -> Network {
    let mut ports: Vec<Vec<String>> = vec![Vec::new(); n];
    for (e, &(a, b)) in edges.iter().enumerate() {
        ports[a].push(lan(e));
        ports[b].push(lan(e));
    }
    for (h, &(a, b, c)) in hubs.iter().enumerate() {
        for x in [a, b, c] {
            ports[x].push(format!("h{h}"));
        }
    }
    let mut sc = Scenario::new();
    for (i, p) in ports.iter().enumerate() {
        let specs: Vec<&str> = p.iter().map(String::as_str).collect();
        sc = sc.bridge(0x100 + i as u64, &specs).priority(i, prios[i]);
    }
    sc.build(Instant::now()).unwrap()
}

/// Runs `secs` seconds, checking for a forwarding loop every 20 ms.
fn run(net: &mut Network, secs: u64) -> Result<(), String> {
    for _ in 0..(secs * 50) {
        net.run_for(Duration::from_millis(20));
        if let Some(l) = net.forwarding_loop() {
            return Err(format!("{l} at {:?}", net.elapsed()));
        }
    }
    Ok(())
}

/// Bridges 4, 6 and 18 (18 joined to 4 by the parallel links l17 and l24)
/// are cut off from root 24 when l3 fails. Stale information about bridge
/// 24 then counts to infinity round the parallel links while TxHoldCount
/// holds back the retractions. Bridge 4's port 4 (l24) kept an agreement
/// given by bridge 18 for root 4 through UPDATEs to root 6 and then to the
/// stale root 24 (each "better"), so when bridge 18's port 1 (l17) proposed
/// root 24, bridge 4 counted port 4 synced, agreed, and both parallel links
/// forwarded at both ends (loop at 30.56 s). An agreement now lapses when
/// the designated root changes.
#[test]
fn stale_agreement_on_parallel_links_after_partition() {
    let edges = [
        (1, 0),
        (2, 0),
        (3, 0),
        (4, 0),
        (5, 0),
        (6, 4),
        (7, 0),
        (8, 0),
        (9, 0),
        (10, 0),
        (11, 0),
        (12, 7),
        (13, 0),
        (14, 0),
        (15, 0),
        (16, 0),
        (17, 0),
        (18, 4),
        (19, 0),
        (20, 0),
        (21, 0),
        (22, 0),
        (23, 22),
        (24, 22),
        (18, 4),
        (0, 7),
    ];
    let prios = [
        4096, 4096, 4096, 4096, 16384, 12288, 4096, 32768, 57344, 4096, 8192, 49152, 24576, 40960,
        8192, 61440, 8192, 49152, 24576, 4096, 16384, 4096, 28672, 40960, 0,
    ];
    let failures = [7, 3, 25];
    let mut net = build(25, &edges, &[(22, 12, 0)], &prios);
    assert_eq!(run(&mut net, 30), Ok(()));
    net.check_spanning_tree().unwrap();
    assert!(net.status(24).unwrap().is_root);
    // Before: 18 reaches the root through 4 on l17 (port 1); l24 (port 2)
    // is an Alternate.
    net.check(18, "F:800000 A").unwrap();

    for e in failures {
        net.lan_down(&lan(e));
    }
    assert_eq!(run(&mut net, 60), Ok(()));
    net.check_spanning_tree().unwrap();
    // The island {4, 6, 18} elects 6 (priority 4096); 18 keeps one of the
    // parallel links blocked.
    assert!(net.status(6).unwrap().is_root);
    net.check(18, "F:400000 A").unwrap();
    let fwd = |p| net.port(18, p).unwrap().state == PortState::Forwarding;
    assert!(fwd(1) && !fwd(2));

    for e in failures {
        net.lan_up(&lan(e));
    }
    assert_eq!(run(&mut net, 60), Ok(()));
    net.check_spanning_tree().unwrap();
    assert!(net.status(24).unwrap().is_root);
    net.check(18, "F:800000 A").unwrap();
}

/// Open: found by the random property run after the fix above
/// (`cc 6a79297c…`). Root 1 is cut off (l0 fails) together with l2; stale
/// information about bridge 1 counts to infinity round the ring
/// 0–4–3–6–5–0 for about 5 s (message age up to 17) and a loop through
/// bridge 6 port 2 (l10) appears at 35.42 s.
#[test]
#[ignore = "open: count-to-infinity loop on a ring, not yet fixed"]
fn count_to_infinity_on_ring_after_root_partition() {
    let edges = [
        (1, 0),
        (2, 1),
        (3, 0),
        (4, 0),
        (5, 0),
        (6, 3),
        (7, 0),
        (8, 0),
        (9, 0),
        (10, 4),
        (5, 6),
        (3, 4),
    ];
    let prios = [
        28672, 0, 0, 24576, 28672, 28672, 24576, 28672, 28672, 28672, 0,
    ];
    let failures = [2, 0];
    let mut net = build(11, &edges, &[], &prios);
    assert_eq!(run(&mut net, 30), Ok(()));
    net.check_spanning_tree().unwrap();
    for e in failures {
        net.lan_down(&lan(e));
    }
    assert_eq!(run(&mut net, 60), Ok(()));
    net.check_spanning_tree().unwrap();
    for e in failures {
        net.lan_up(&lan(e));
    }
    assert_eq!(run(&mut net, 60), Ok(()));
    net.check_spanning_tree().unwrap();
}
