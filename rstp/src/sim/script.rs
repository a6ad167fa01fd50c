//! Runs Open vSwitch `tests/test-rstp.c` scripts (the `AT_DATA` blocks of
//! `tests/rstp.at`) on the simulator.
//!
//! Commands, one per line (`#` starts a comment):
//! * `bridge N ID = SPEC...` declares bridge N (in order) with address ID
//!   (`0x111`, optionally `^PRIO`) and one port spec per port (see
//!   [`Scenario`]);
//! * `bridge N = SPEC...` reconfigures its ports: `_` unchanged, `X` link
//!   down, `0` unconnected, `lan[:cost][^prio]` (re)connected;
//! * `bridge N ^ PRIO` sets the bridge priority;
//! * `run N` runs 180 simulated seconds (as `test-rstp` runs 180 ticks; the
//!   delivery-round count N has no meaning in a timed simulator);
//! * `check N = EXPECT` (see [`Network::check`]);
//! * `dump` and `tree` are accepted and ignored.

use std::time::{Duration, Instant};

use super::network::{Network, parse_bridge_id};
use super::scenario::{Scenario, parse_num, parse_port};
use crate::bridge::Input;

/// Simulated time of one `run`.
pub const RUN_TIME: Duration = Duration::from_secs(180);

enum Stage {
    Building(Scenario, usize),
    Running(Network),
}

/// Runs `script` from `start`; returns the network at the end, or the first
/// failing line with its reason.
pub fn run_script(script: &str, start: Instant) -> Result<Network, String> {
    let mut stage = Stage::Building(Scenario::new(), 0);
    for (n, raw) in script.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let lineno = n.saturating_add(1);
        stage = step(stage, line, start).map_err(|e| format!("line {lineno} `{line}`: {e}"))?;
    }
    match stage {
        Stage::Running(net) => Ok(net),
        Stage::Building(sc, _) => sc.build(start).map_err(|e| e.to_string()),
    }
}

fn built(stage: Stage, start: Instant) -> Result<Network, String> {
    match stage {
        Stage::Running(net) => Ok(net),
        Stage::Building(sc, _) => sc.build(start).map_err(|e| e.to_string()),
    }
}

fn bridge_index(word: &str) -> Result<usize, String> {
    word.parse()
        .map_err(|_| format!("bad bridge number {word}"))
}

fn step(stage: Stage, line: &str, start: Instant) -> Result<Stage, String> {
    // `bridge 1^0x7000` is `bridge 1 ^ 0x7000`.
    let spaced = line.replace('^', " ^ ");
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["run", ..] => {
            let mut net = built(stage, start)?;
            net.run_for(RUN_TIME);
            Ok(Stage::Running(net))
        }
        ["check", b, "=", expect @ ..] => {
            let net = built(stage, start)?;
            net.check(bridge_index(b)?, &expect.join(" "))?;
            Ok(Stage::Running(net))
        }
        ["dump" | "tree", ..] => Ok(stage),
        ["bridge", ..] => bridge(stage, line, &spaced, start),
        _ => Err("unknown command".into()),
    }
}

fn bridge(stage: Stage, line: &str, spaced: &str, start: Instant) -> Result<Stage, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let spaced_words: Vec<&str> = spaced.split_whitespace().collect();
    // bridge N ^ PRIO
    if let ["bridge", b, "^", prio] = spaced_words.as_slice() {
        let b = bridge_index(b)?;
        let prio = parse_num(prio)
            .and_then(|p| u16::try_from(p).ok())
            .ok_or("bad priority")?;
        return Ok(match stage {
            Stage::Building(sc, n) => Stage::Building(sc.priority(b, prio & 0xf000), n),
            Stage::Running(mut net) => {
                net.handle(b, Input::SetBridgePriority(prio));
                Stage::Running(net)
            }
        });
    }
    match words.as_slice() {
        ["bridge", b, "=", specs @ ..] => {
            let mut net = built(stage, start)?;
            reconfigure(&mut net, bridge_index(b)?, specs)?;
            Ok(Stage::Running(net))
        }
        ["bridge", b, id, "=", specs @ ..] => {
            let Stage::Building(mut sc, count) = stage else {
                return Err("bridges must be declared before the first run".into());
            };
            if bridge_index(b)? != count {
                return Err(format!("expected bridge {count}"));
            }
            let bid = parse_bridge_id(id).ok_or("bad bridge id")?;
            let [_, _, m0, m1, m2, m3, m4, m5] = bid.0.to_be_bytes();
            let mac = u64::from_be_bytes([0, 0, m0, m1, m2, m3, m4, m5]);
            sc = sc.bridge(mac, specs);
            if id.contains('^') {
                sc = sc.priority(count, bid.priority() & 0xf000);
            }
            Ok(Stage::Building(sc, count.saturating_add(1)))
        }
        _ => Err("bad bridge command".into()),
    }
}

fn reconfigure(net: &mut Network, b: usize, specs: &[&str]) -> Result<(), String> {
    let bridge = net.bridge(b).ok_or_else(|| format!("no bridge {b}"))?;
    let ports: Vec<_> = bridge.ports_status().collect();
    if ports.len() != specs.len() {
        return Err(format!("{} specs for {} ports", specs.len(), ports.len()));
    }
    for (st, spec) in ports.iter().zip(specs) {
        match *spec {
            "_" => {}
            "X" => net.port_down(b, st.port),
            "0" => {
                net.attach(b, st.port, None);
                net.port_up(b, st.port);
            }
            _ => {
                let ps = parse_port(spec).map_err(|e| e.to_string())?;
                net.attach(b, st.port, ps.lan.as_deref());
                net.port_up(b, st.port);
                let mut cfg = st.config;
                cfg.path_cost = ps.cost;
                cfg.priority = ps.priority.unwrap_or(128);
                if cfg != st.config {
                    net.handle(b, Input::SetPortConfig(cfg));
                }
            }
        }
    }
    Ok(())
}
