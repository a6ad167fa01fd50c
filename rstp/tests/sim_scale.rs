#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    clippy::print_stdout,
    clippy::cast_possible_truncation,
    reason = "test code"
)]
//! Scale run: a 1000-bridge random mesh converges to a spanning tree.
//! Ignored by default (about a second in release, longer in debug):
//! `cargo test --release -p rstp --test sim_scale -- --ignored --nocapture`.

use std::time::{Duration, Instant};

use rstp::sim::Scenario;

#[test]
#[ignore = "scale run; use --release"]
fn thousand_bridges_converge() {
    let n = 1000;
    let mut state: u64 = 1;
    let mut rnd = move |m: usize| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 33) as usize) % m
    };
    let mut ports: Vec<Vec<String>> = vec![Vec::new(); n];
    let mut e = 0;
    let mut link = |a: usize, b: usize, ports: &mut Vec<Vec<String>>| {
        ports[a].push(format!("l{e}"));
        ports[b].push(format!("l{e}"));
        e += 1;
    };
    for i in 1..n {
        let p = rnd(i);
        link(i, p, &mut ports);
    }
    for _ in 0..n / 2 {
        let (a, b) = (rnd(n), rnd(n));
        if a != b {
            link(a, b, &mut ports);
        }
    }
    let mut sc = Scenario::new();
    for (i, p) in ports.iter().enumerate() {
        let specs: Vec<&str> = p.iter().map(String::as_str).collect();
        sc = sc.bridge(0x1000 + i as u64, &specs);
    }
    let cpu = Instant::now();
    let mut net = sc.build(Instant::now()).unwrap();
    net.run_for(Duration::from_secs(30));
    let elapsed = cpu.elapsed();
    net.check_spanning_tree().unwrap();
    println!(
        "{n} bridges, 30 simulated s: {elapsed:?} wall, {} BPDUs delivered",
        net.delivered()
    );
}
