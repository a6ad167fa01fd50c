//! Scenario builder: bridges described by port specs as in Open vSwitch's
//! `tests/test-rstp.c` (`bridge N 0x111 = a b:100000 c^112 0 X`).

use std::time::{Duration, Instant};

use super::network::{Lan, Network, SimPort};
use crate::bridge::Bridge;
use crate::config::{BridgeConfig, ConfigError};
use crate::port::PortState;

/// Default LAN speed: 100 Mb/s, path cost 200 000 as in `test-rstp`.
const DEFAULT_SPEED_MBPS: u32 = 100;
/// Default one-way LAN delay.
const DEFAULT_DELAY: Duration = Duration::from_millis(1);

/// Why a scenario could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    /// A port spec did not parse.
    #[error("bad port spec {0:?}")]
    BadPortSpec(String),
    /// A bridge index that was never declared.
    #[error("no bridge {0}")]
    UnknownBridge(usize),
    /// A LAN has more than 16 ports (the `test-rstp` limit).
    #[error("LAN {0} has more than 16 ports")]
    LanFull(String),
    /// A bridge configuration was rejected.
    #[error("bridge {0}: {1}")]
    Config(usize, ConfigError),
}

#[derive(Debug, Clone)]
struct BridgeSpec {
    id: u64,
    ports: Vec<String>,
    tweak: Option<fn(&mut BridgeConfig)>,
}

/// Builds a [`Network`].
///
/// Port specs: `lan` (a LAN name), optionally `:cost` and `^priority`
/// (decimal or `0x` hex); `0` for a port with no LAN (it becomes an edge
/// port); `X` for a port whose link is down. Bridge `id` gives the bridge
/// address (its low 48 bits); bridges are numbered in declaration order.
#[derive(Debug, Clone, Default)]
pub struct Scenario {
    bridges: Vec<BridgeSpec>,
    priorities: Vec<(usize, u16)>,
    delays: Vec<(String, Duration)>,
    p2p: Vec<(String, bool)>,
    speeds: Vec<(String, u32)>,
    capture: bool,
    legacy: Vec<usize>,
}

pub(crate) fn parse_num(s: &str) -> Option<u32> {
    match s.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

pub(crate) struct PortSpec {
    pub lan: Option<String>,
    pub up: bool,
    pub cost: Option<u32>,
    pub priority: Option<u8>,
}

pub(crate) fn parse_port(spec: &str) -> Result<PortSpec, ScenarioError> {
    let bad = || ScenarioError::BadPortSpec(spec.to_owned());
    match spec {
        "0" => {
            return Ok(PortSpec {
                lan: None,
                up: true,
                cost: None,
                priority: None,
            });
        }
        "X" => {
            return Ok(PortSpec {
                lan: None,
                up: false,
                cost: None,
                priority: None,
            });
        }
        _ => {}
    }
    let (rest, priority) = match spec.split_once('^') {
        Some((r, p)) => (
            r,
            Some(
                parse_num(p)
                    .and_then(|v| u8::try_from(v).ok())
                    .ok_or_else(bad)?,
            ),
        ),
        None => (spec, None),
    };
    let (lan, cost) = match rest.split_once(':') {
        Some((l, c)) => (l, Some(parse_num(c).ok_or_else(bad)?)),
        None => (rest, None),
    };
    if lan.is_empty() || !lan.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(bad());
    }
    Ok(PortSpec {
        lan: Some(lan.to_owned()),
        up: true,
        cost,
        priority,
    })
}

impl Scenario {
    /// An empty scenario.
    #[must_use]
    pub fn new() -> Self {
        Scenario::default()
    }

    /// Declares the next bridge (`bridge N ID = ports...`).
    #[must_use]
    pub fn bridge(mut self, id: u64, ports: &[&str]) -> Self {
        self.bridges.push(BridgeSpec {
            id,
            ports: ports.iter().map(|s| (*s).to_owned()).collect(),
            tweak: None,
        });
        self
    }

    /// Sets bridge `b`'s priority (`bridge N ^ PRIO`).
    #[must_use]
    pub fn priority(mut self, b: usize, priority: u16) -> Self {
        self.priorities.push((b, priority));
        self
    }

    /// Adjusts bridge `b`'s configuration before it starts.
    #[must_use]
    pub fn configure(mut self, b: usize, f: fn(&mut BridgeConfig)) -> Self {
        if let Some(s) = self.bridges.get_mut(b) {
            s.tweak = Some(f);
        }
        self
    }

    /// Sets a LAN's one-way delay (default 1 ms).
    #[must_use]
    pub fn delay(mut self, lan: &str, d: Duration) -> Self {
        self.delays.push((lan.to_owned(), d));
        self
    }

    /// Forces a LAN to be (or not be) point-to-point, overriding the
    /// two-ports rule.
    #[must_use]
    pub fn point_to_point(mut self, lan: &str, p2p: bool) -> Self {
        self.p2p.push((lan.to_owned(), p2p));
        self
    }

    /// Sets a LAN's speed in Mb/s (default 100).
    #[must_use]
    pub fn speed(mut self, lan: &str, mbps: u32) -> Self {
        self.speeds.push((lan.to_owned(), mbps));
        self
    }

    /// Makes bridge `b` behave like an 802.1D-1998 bridge on receive: RST
    /// BPDUs sent to it are dropped, as the Linux kernel's STP does (combine
    /// with `ForceProtocolVersion::Stp` through [`Scenario::configure`]).
    #[must_use]
    pub fn legacy_stp(mut self, b: usize) -> Self {
        self.legacy.push(b);
        self
    }

    /// Records every output in [`Network::events`].
    #[must_use]
    pub fn capture(mut self) -> Self {
        self.capture = true;
        self
    }

    /// Builds the network at time `start` and brings the links up.
    pub fn build(self, start: Instant) -> Result<Network, ScenarioError> {
        let mut net = Network::new(start, self.capture);
        for (b, spec) in self.bridges.iter().enumerate() {
            let [_, _, m0, m1, m2, m3, m4, m5] = spec.id.to_be_bytes();
            let n = u16::try_from(spec.ports.len())
                .map_err(|_| ScenarioError::BadPortSpec(format!("{} ports", spec.ports.len())))?;
            let mut cfg = BridgeConfig::new([m0, m1, m2, m3, m4, m5], n);
            for &(_, prio) in self.priorities.iter().filter(|(x, _)| *x == b) {
                cfg.priority = prio;
            }
            let mut ports = Vec::new();
            for (i, (text, pc)) in spec.ports.iter().zip(cfg.ports.iter_mut()).enumerate() {
                let ps = parse_port(text)?;
                if let Some(c) = ps.cost {
                    pc.path_cost = Some(c);
                }
                if let Some(p) = ps.priority {
                    pc.priority = p;
                }
                let lan = match &ps.lan {
                    Some(name) => Some(lan_slot(&mut net, name, &self)?),
                    None => None,
                };
                let number = u16::try_from(i.saturating_add(1)).unwrap_or(u16::MAX);
                if let Some(l) = lan.and_then(|l| net.lans.get_mut(l)) {
                    if l.members.len() >= 16 {
                        return Err(ScenarioError::LanFull(l.name.clone()));
                    }
                    l.members.push((b, number));
                }
                ports.push(SimPort {
                    number,
                    lan,
                    admin_up: ps.up,
                    tx_lossy: false,
                    rx_lossy: false,
                    carrier: false,
                    state: PortState::Discarding,
                });
            }
            if let Some(f) = spec.tweak {
                f(&mut cfg);
            }
            let offset =
                Duration::from_millis(u64::try_from(b).unwrap_or(0).wrapping_mul(137) % 1000);
            let bridge = Bridge::new(cfg, start.checked_add(offset).unwrap_or(start))
                .map_err(|e| ScenarioError::Config(b, e))?;
            let i = net.push_bridge(bridge, ports);
            if self.legacy.contains(&b) {
                net.set_legacy(i);
            }
        }
        for &(b, _) in &self.priorities {
            if b >= net.len() {
                return Err(ScenarioError::UnknownBridge(b));
            }
        }
        net.refresh_carriers();
        Ok(net)
    }
}

fn lan_slot(net: &mut Network, name: &str, sc: &Scenario) -> Result<usize, ScenarioError> {
    if let Some(i) = net.lans.iter().position(|l| l.name == name) {
        return Ok(i);
    }
    net.lans.push(Lan {
        name: name.to_owned(),
        members: Vec::new(),
        up: true,
        delay: pick(&sc.delays, name).unwrap_or(DEFAULT_DELAY),
        speed_mbps: pick(&sc.speeds, name).unwrap_or(DEFAULT_SPEED_MBPS),
        p2p: pick(&sc.p2p, name),
    });
    Ok(net.lans.len().saturating_sub(1))
}

fn pick<T: Copy>(v: &[(String, T)], name: &str) -> Option<T> {
    v.iter().rev().find(|(n, _)| n == name).map(|(_, x)| *x)
}
