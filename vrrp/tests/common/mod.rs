//! Conformance harness: a virtual clock, scripted inputs at exact times and
//! the outputs collected with their times (holo's conformance tests,
//! without files), plus a small network of instances for election tests.
#![allow(dead_code, reason = "each test file uses a subset")]

use std::net::IpAddr;
use std::time::{Duration, Instant};

use arp::MacAddr;
use arp::wire::Frame;
use vrrp::packet::IPV4_GROUP;
use vrrp::{
    AcceptChecksum, Auth, Config, Input, Instance, Output, State, V3Ipv4Checksum, Version, VrrpRepr,
};

pub const IF: u32 = 2;
pub const VRID: u8 = 51;
pub const MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 1]);

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub fn ns(n: u64) -> Duration {
    Duration::from_nanos(n)
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub fn group() -> IpAddr {
    IpAddr::V4(IPV4_GROUP)
}

/// The local router: 10.0.0.1, VIP 10.0.0.100, VRID 51, v3, 1 s, prio 100.
pub fn config() -> Config {
    Config::new(IF, VRID, ip("10.0.0.1"), vec![ip("10.0.0.100")], MAC)
}

/// A well-formed advert as a peer would send it.
pub fn advert(version: Version, priority: u8, adver_int: u16) -> Vec<u8> {
    advert_from(version, priority, adver_int, ip("10.0.0.2"), group())
}

pub fn advert_from(
    version: Version,
    priority: u8,
    adver_int: u16,
    src: IpAddr,
    dst: IpAddr,
) -> Vec<u8> {
    VrrpRepr {
        version,
        vrid: VRID,
        priority,
        adver_int,
        addresses: vec![ip("10.0.0.100")],
        auth: Auth::None,
    }
    .to_bytes(src, dst, V3Ipv4Checksum::PseudoHeader)
    .unwrap()
}

pub fn garp(vip: &str) -> Vec<u8> {
    match ip(vip) {
        IpAddr::V4(a) => Frame::gratuitous_arp(MAC, a).to_bytes(),
        IpAddr::V6(a) => Frame::unsolicited_na(MAC, a, false).to_bytes(),
    }
}

/// One instance on a virtual clock.
pub struct Sim {
    pub t0: Instant,
    pub now: Instant,
    pub vr: Instance,
    pub log: Vec<(Duration, Output)>,
}

impl Sim {
    pub fn new(cfg: Config) -> Self {
        let t0 = Instant::now();
        Sim {
            t0,
            now: t0,
            vr: Instance::new(cfg, t0).unwrap(),
            log: Vec::new(),
        }
    }

    /// Starts the router at time 0.
    pub fn started(cfg: Config) -> Self {
        let mut s = Sim::new(cfg);
        s.input(Duration::ZERO, Input::Startup);
        s
    }

    pub fn elapsed(&self) -> Duration {
        self.now.duration_since(self.t0)
    }

    fn drain(&mut self) {
        let at = self.elapsed();
        while let Some(o) = self.vr.poll_output() {
            self.log.push((at, o));
        }
    }

    /// Fires every timer due up to `until` (at its exact deadline), then
    /// moves the clock to `until`.
    pub fn run_until(&mut self, until: Duration) {
        let end = self.t0 + until;
        let mut guard = 0;
        while let Some(t) = self.vr.poll_timeout() {
            if t > end {
                break;
            }
            guard += 1;
            assert!(guard < 1_000_000, "timer loop");
            self.now = t.max(self.now);
            self.vr.handle_timeout(self.now);
            self.drain();
        }
        self.now = end.max(self.now);
    }

    /// Runs to `at`, then feeds `input`.
    pub fn input(&mut self, at: Duration, input: Input<'_>) {
        self.run_until(at);
        self.vr.handle(self.now, input);
        self.drain();
    }

    /// A packet from `src` to the group with TTL 255.
    pub fn recv(&mut self, at: Duration, src: &str, bytes: &[u8]) {
        self.recv_full(at, src, group(), 255, bytes);
    }

    pub fn recv_full(&mut self, at: Duration, src: &str, dst: IpAddr, ttl: u8, bytes: &[u8]) {
        self.input(
            at,
            Input::Packet {
                ifindex: IF,
                src: ip(src),
                dst,
                ttl,
                bytes,
            },
        );
    }

    /// Removes and returns the log.
    pub fn take(&mut self) -> Vec<(Duration, Output)> {
        std::mem::take(&mut self.log)
    }

    pub fn states(&self) -> Vec<(Duration, State, State)> {
        states(&self.log)
    }

    pub fn adverts(&self) -> Vec<(Duration, IpAddr, VrrpRepr)> {
        adverts(&self.log)
    }
}

pub fn states(log: &[(Duration, Output)]) -> Vec<(Duration, State, State)> {
    log.iter()
        .filter_map(|(t, o)| match o {
            Output::StateChanged { from, to, .. } => Some((*t, *from, *to)),
            _ => None,
        })
        .collect()
}

/// Sent adverts, parsed (checksum verified for their destination).
pub fn adverts(log: &[(Duration, Output)]) -> Vec<(Duration, IpAddr, VrrpRepr)> {
    log.iter()
        .filter_map(|(t, o)| match o {
            Output::Transmit {
                src,
                dst,
                ttl,
                bytes,
                ..
            } => {
                assert_eq!(*ttl, 255);
                let p = VrrpRepr::parse(bytes, *src, *dst, AcceptChecksum::Either).unwrap();
                Some((*t, *dst, p.repr))
            }
            _ => None,
        })
        .collect()
}

pub fn advert_times(log: &[(Duration, Output)]) -> Vec<Duration> {
    adverts(log).into_iter().map(|(t, _, _)| t).collect()
}

pub fn frames(log: &[(Duration, Output)]) -> Vec<(Duration, Vec<u8>)> {
    log.iter()
        .filter_map(|(t, o)| match o {
            Output::TransmitFrame { frame, .. } => Some((*t, frame.clone())),
            _ => None,
        })
        .collect()
}

pub fn drops(log: &[(Duration, Output)]) -> Vec<(Duration, vrrp::DropReason)> {
    log.iter()
        .filter_map(|(t, o)| match o {
            Output::Dropped { reason } => Some((*t, *reason)),
            _ => None,
        })
        .collect()
}

/// Several instances on one segment: every advert reaches every other
/// running node at the same instant (zero latency). A frozen node
/// (SIGSTOP) runs no timers and queues what it receives until thawed.
pub struct Net {
    pub t0: Instant,
    pub now: Instant,
    pub nodes: Vec<Node>,
    pub log: Vec<(Duration, usize, Output)>,
}

pub struct Node {
    pub vr: Instance,
    pub frozen: bool,
    pub queue: Vec<(IpAddr, IpAddr, Vec<u8>)>,
    /// Receives nothing (e.g. a different checksum camp is simulated by
    /// the instance itself; this is for partitions).
    pub isolated: bool,
}

impl Net {
    pub fn new(cfgs: Vec<Config>) -> Self {
        let t0 = Instant::now();
        let nodes = cfgs
            .into_iter()
            .map(|c| Node {
                vr: Instance::new(c, t0).unwrap(),
                frozen: false,
                queue: Vec::new(),
                isolated: false,
            })
            .collect();
        Net {
            t0,
            now: t0,
            nodes,
            log: Vec::new(),
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.now.duration_since(self.t0)
    }

    /// Feeds `input` to node `i` now and delivers what follows.
    pub fn input(&mut self, i: usize, input: Input<'_>) {
        self.nodes[i].vr.handle(self.now, input);
        self.settle();
    }

    /// Drains outputs, delivering adverts, until quiet.
    fn settle(&mut self) {
        let at = self.elapsed();
        for _ in 0..1000 {
            let mut sent = Vec::new();
            for (i, n) in self.nodes.iter_mut().enumerate() {
                while let Some(o) = n.vr.poll_output() {
                    if let Output::Transmit {
                        src, dst, bytes, ..
                    } = &o
                    {
                        sent.push((i, *src, *dst, bytes.clone()));
                    }
                    self.log.push((at, i, o));
                }
            }
            if sent.is_empty() {
                return;
            }
            for (from, src, dst, bytes) in sent {
                for (j, n) in self.nodes.iter_mut().enumerate() {
                    if j == from || n.isolated {
                        continue;
                    }
                    if n.frozen {
                        n.queue.push((src, dst, bytes.clone()));
                        continue;
                    }
                    n.vr.handle(
                        self.now,
                        Input::Packet {
                            ifindex: IF,
                            src,
                            dst,
                            ttl: 255,
                            bytes: &bytes,
                        },
                    );
                }
            }
        }
        panic!("network did not settle");
    }

    pub fn run_until(&mut self, until: Duration) {
        let end = self.t0 + until;
        let mut guard = 0;
        loop {
            let next = self
                .nodes
                .iter()
                .filter(|n| !n.frozen)
                .filter_map(|n| n.vr.poll_timeout())
                .min();
            let Some(t) = next.filter(|t| *t <= end) else {
                break;
            };
            guard += 1;
            assert!(guard < 1_000_000, "timer loop");
            self.now = t.max(self.now);
            for n in self.nodes.iter_mut().filter(|n| !n.frozen) {
                if n.vr.poll_timeout().is_some_and(|d| d <= self.now) {
                    n.vr.handle_timeout(self.now);
                }
            }
            self.settle();
        }
        self.now = end.max(self.now);
    }

    pub fn freeze(&mut self, i: usize) {
        self.nodes[i].frozen = true;
    }

    /// SIGCONT: queued packets first, then overdue timers.
    pub fn thaw(&mut self, i: usize) {
        self.nodes[i].frozen = false;
        let queue = std::mem::take(&mut self.nodes[i].queue);
        for (src, dst, bytes) in queue {
            self.nodes[i].vr.handle(
                self.now,
                Input::Packet {
                    ifindex: IF,
                    src,
                    dst,
                    ttl: 255,
                    bytes: &bytes,
                },
            );
            self.settle();
        }
        if self.nodes[i]
            .vr
            .poll_timeout()
            .is_some_and(|d| d <= self.now)
        {
            self.nodes[i].vr.handle_timeout(self.now);
        }
        self.settle();
    }

    pub fn state(&self, i: usize) -> State {
        self.nodes[i].vr.state()
    }

    pub fn masters(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|i| self.nodes[*i].vr.state() == State::Master)
            .collect()
    }

    /// (time, node, from, to) of every state change.
    pub fn transitions(&self) -> Vec<(Duration, usize, State, State)> {
        self.log
            .iter()
            .filter_map(|(t, i, o)| match o {
                Output::StateChanged { from, to, .. } => Some((*t, *i, *from, *to)),
                _ => None,
            })
            .collect()
    }

    pub fn node_log(&self, i: usize) -> Vec<(Duration, Output)> {
        self.log
            .iter()
            .filter(|(_, n, _)| *n == i)
            .map(|(t, _, o)| (*t, o.clone()))
            .collect()
    }
}
