#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::disallowed_methods,
    reason = "test code"
)]
//! Property: for random connected graphs of up to 50 bridges joined by
//! point-to-point links and a few shared segments, after convergence the forwarding ports form a
//! spanning tree (no loop, every bridge reachable); again after random link
//! failures (a spanning forest of what remains connected) and after the
//! links are restored; and no forwarding loop appears at any sampled
//! instant (every 20 ms) in between.
//!
//! The default test runs a fixed number of cases from a fixed seed, after
//! the saved cases in `sim_property.proptest-regressions`, so CI is
//! deterministic. The ignored `forwarding_ports_form_a_spanning_tree_random`
//! explores: `cargo test --release -p rstp --test sim_property -- --ignored`,
//! with `RSTP_PROPTEST_CASES` (default 300) and `RSTP_PROPTEST_SEED`
//! (a u64; default random) to steer it, e.g.
//! `RSTP_PROPTEST_SEED=3 RSTP_PROPTEST_CASES=300`. A failure is saved to
//! `sim_property.proptest-regressions` and replayed first by both tests
//! (later seeds then fail on it too): once minimised and understood, move
//! it to `sim_regressions.rs` as a named case and drop the saved line.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{RngSeed, TestCaseError};
use rstp::sim::Scenario;

#[derive(Debug, Clone)]
struct Graph {
    n: usize,
    edges: Vec<(usize, usize)>,
    hubs: Vec<(usize, usize, usize)>,
    priorities: Vec<u16>,
    failures: Vec<usize>,
}

fn graph() -> impl Strategy<Value = Graph> {
    (2usize..=50)
        .prop_flat_map(|n| {
            let parents: Vec<_> = (1..n).map(|i| 0..i).collect();
            let extra = prop::collection::vec((0..n, 0..n), 0..=n / 2);
            let prios = prop::collection::vec(0u16..16, n);
            let failures = prop::collection::vec(any::<prop::sample::Index>(), 1..=4);
            let hubs = prop::collection::vec((0..n, 0..n, 0..n), 0..=n / 10);
            (Just(n), parents, extra, prios, failures, hubs)
        })
        .prop_map(|(n, parents, extra, prios, failures, hubs)| {
            let mut edges: Vec<(usize, usize)> = parents
                .into_iter()
                .enumerate()
                .map(|(i, p)| (i + 1, p))
                .collect();
            edges.extend(extra.into_iter().filter(|(a, b)| a != b));
            let failures = failures.iter().map(|ix| ix.index(edges.len())).collect();
            Graph {
                n,
                edges,
                hubs,
                priorities: prios.into_iter().map(|p| p << 12).collect(),
                failures,
            }
        })
}

fn lan(e: usize) -> String {
    format!("l{e}")
}

/// Cases of the deterministic test.
const CI_CASES: u32 = 24;
/// Seed of the deterministic test.
const CI_SEED: u64 = 0x5254_5350_2d73_696d;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

fn random_config() -> ProptestConfig {
    let cases = env_u64("RSTP_PROPTEST_CASES")
        .and_then(|c| u32::try_from(c).ok())
        .unwrap_or(300);
    let rng_seed = env_u64("RSTP_PROPTEST_SEED").map_or(RngSeed::Random, RngSeed::Fixed);
    ProptestConfig {
        cases,
        rng_seed,
        ..ProptestConfig::default()
    }
}

fn no_loop_and_spanning_tree(g: &Graph) -> Result<(), TestCaseError> {
    let mut ports: Vec<Vec<String>> = vec![Vec::new(); g.n];
    for (e, &(a, b)) in g.edges.iter().enumerate() {
        ports[a].push(lan(e));
        ports[b].push(lan(e));
    }
    // Shared segments (hubs) joining three ports, possibly of the same
    // bridge (Backup ports).
    for (h, &(a, b, c)) in g.hubs.iter().enumerate() {
        for x in [a, b, c] {
            ports[x].push(format!("h{h}"));
        }
    }
    let mut sc = Scenario::new();
    for (i, p) in ports.iter().enumerate() {
        let specs: Vec<&str> = p.iter().map(String::as_str).collect();
        sc = sc
            .bridge(0x100 + i as u64, &specs)
            .priority(i, g.priorities[i]);
    }
    let mut net = sc.build(Instant::now()).unwrap();
    // No loop, ever: sampled every 20 ms while the tree forms and
    // re-forms, then checked once more after each settling period.
    let run = |net: &mut rstp::sim::Network, secs: u64| -> Result<(), String> {
        for _ in 0..(secs * 50) {
            net.run_for(Duration::from_millis(20));
            if let Some(l) = net.forwarding_loop() {
                return Err(format!("{l} at {:?}", net.elapsed()));
            }
        }
        Ok(())
    };
    prop_assert_eq!(run(&mut net, 30), Ok(()));
    prop_assert_eq!(net.check_spanning_tree(), Ok(()));
    let roots = (0..g.n).filter(|&b| net.status(b).unwrap().is_root).count();
    prop_assert_eq!(roots, 1);
    for b in 0..g.n {
        prop_assert_eq!(net.status(b).unwrap().unsettled_runs, 0);
    }

    for &e in &g.failures {
        net.lan_down(&lan(e));
    }
    prop_assert_eq!(run(&mut net, 60), Ok(()));
    prop_assert_eq!(
        net.check_spanning_tree(),
        Ok(()),
        "after failing {:?}",
        g.failures
    );

    for &e in &g.failures {
        net.lan_up(&lan(e));
    }
    prop_assert_eq!(run(&mut net, 60), Ok(()));
    prop_assert_eq!(
        net.check_spanning_tree(),
        Ok(()),
        "after restoring {:?}",
        g.failures
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: CI_CASES,
        rng_seed: RngSeed::Fixed(CI_SEED),
        ..ProptestConfig::default()
    })]

    #[test]
    fn forwarding_ports_form_a_spanning_tree(g in graph()) {
        no_loop_and_spanning_tree(&g)?;
    }
}

proptest! {
    #![proptest_config(random_config())]

    #[test]
    #[ignore = "many random cases; run in release mode"]
    fn forwarding_ports_form_a_spanning_tree_random(g in graph()) {
        no_loop_and_spanning_tree(&g)?;
    }
}
