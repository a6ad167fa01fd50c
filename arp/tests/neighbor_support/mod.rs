//! Shared fixtures for the `neighbor_*` tests: addresses and a virtual-clock
//! driver around `NeighborCache`.
#![allow(dead_code, reason = "each test file uses a subset")]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use arp::MacAddr;
use arp::neighbor::{Config, Input, NeighborCache, NeighborState, Output};

pub const ME: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x01]);
pub const PEER: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x02]);
pub const OTHER: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x03]);
pub const MY4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
pub const PEER4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
pub const MY6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
pub const PEER6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);

pub fn config() -> Config {
    Config::new(ME, vec![(MY4, 24)], vec![(MY6, 64)])
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

/// An IPv4 packet from `MY4` with a payload byte, to tell packets apart.
pub fn packet(tag: u8) -> Vec<u8> {
    let mut p = vec![0x45, 0, 0, 21, 0, 0, 0, 0, 64, 17, 0, 0];
    p.extend_from_slice(&MY4.octets());
    p.extend_from_slice(&PEER4.octets());
    p.push(tag);
    p
}

/// A cache on a virtual clock starting at `t0`.
pub struct Sim {
    pub cache: NeighborCache,
    pub t0: Instant,
    pub now: Instant,
}

impl Sim {
    pub fn new(config: Config) -> Self {
        let t0 = Instant::now();
        Sim {
            cache: NeighborCache::new(config, t0).unwrap(),
            t0,
            now: t0,
        }
    }

    pub fn default() -> Self {
        Self::new(config())
    }

    /// Moves the clock to `t0 + at` without firing timers.
    pub fn at(&mut self, at: Duration) -> &mut Self {
        self.now = self.t0 + at;
        self
    }

    /// Feeds `input` at the current time and drains the outputs.
    pub fn input(&mut self, input: Input<'_>) -> Vec<Output> {
        self.cache.handle(self.now, input);
        self.drain()
    }

    pub fn frame(&mut self, bytes: &[u8]) -> Vec<Output> {
        self.input(Input::Frame(bytes))
    }

    pub fn send(&mut self, dst: impl Into<IpAddr>, packet: Vec<u8>) -> Vec<Output> {
        self.input(Input::Send {
            dst: dst.into(),
            packet,
        })
    }

    pub fn drain(&mut self) -> Vec<Output> {
        let outs: Vec<Output> = std::iter::from_fn(|| self.cache.poll_output()).collect();
        self.cache.check_invariants().unwrap();
        outs
    }

    /// Fires every timer up to and including `t0 + until`, each at its own
    /// deadline; returns the outputs with their time offsets.
    pub fn run_until(&mut self, until: Duration) -> Vec<(Duration, Output)> {
        let end = self.t0 + until;
        let mut log = Vec::new();
        while let Some(at) = self.cache.poll_timeout() {
            if at > end {
                break;
            }
            assert!(at >= self.now, "deadline {:?} before now", at - self.t0);
            self.now = at;
            self.cache.handle_timeout(at);
            for out in self.drain() {
                log.push((at - self.t0, out));
            }
            let next = self.cache.poll_timeout();
            assert!(next.is_none_or(|n| n > at), "timer not advanced");
        }
        self.now = end;
        log
    }

    pub fn state(&self, ip: impl Into<IpAddr>) -> Option<NeighborState> {
        self.cache.lookup(ip.into()).map(|e| e.state)
    }

    pub fn deadline(&self, ip: impl Into<IpAddr>) -> Option<Duration> {
        self.cache
            .lookup(ip.into())
            .and_then(|e| e.deadline)
            .map(|d| d - self.t0)
    }
}

pub fn transmits(outs: &[Output]) -> Vec<Vec<u8>> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Transmit(f) => Some(f.clone()),
            _ => None,
        })
        .collect()
}

/// `(time, frame)` of each transmission in a `run_until` log.
pub fn timed_transmits(log: &[(Duration, Output)]) -> Vec<(Duration, Vec<u8>)> {
    log.iter()
        .filter_map(|(t, o)| match o {
            Output::Transmit(f) => Some((*t, f.clone())),
            _ => None,
        })
        .collect()
}

/// `(time, from, to)` of each state change in a log.
pub fn changes(
    log: &[(Duration, Output)],
) -> Vec<(Duration, Option<NeighborState>, Option<NeighborState>)> {
    log.iter()
        .filter_map(|(t, o)| match o {
            Output::StateChanged { from, to, .. } => Some((*t, *from, *to)),
            _ => None,
        })
        .collect()
}

pub fn delivered(outs: &[Output]) -> Vec<(IpAddr, MacAddr, Vec<u8>)> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Deliver { dst, mac, packet } => Some((*dst, *mac, packet.clone())),
            _ => None,
        })
        .collect()
}
