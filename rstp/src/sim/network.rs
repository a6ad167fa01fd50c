//! The simulated network and its event loop.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use crate::bpdu::{Bpdu, BpduFrame};
use crate::bridge::{Bridge, Input, Output};
use crate::config::Duplex;
use crate::port::{PortRole, PortState};
use crate::status::{BridgeStatus, PortStatus};
use crate::time::add;

/// Hard cap on deliveries and timeouts processed by one `run_for`, so a
/// bug cannot hang a test.
const MAX_EVENTS_PER_RUN: u64 = 5_000_000;

#[derive(Debug, Clone)]
pub(crate) struct SimPort {
    pub number: u16,
    pub lan: Option<usize>,
    pub admin_up: bool,
    pub tx_lossy: bool,
    pub rx_lossy: bool,
    pub carrier: bool,
    pub state: PortState,
}

#[derive(Debug, Clone)]
pub(crate) struct SimBridge {
    pub bridge: Bridge,
    pub ports: Vec<SimPort>,
    pub group: u32,
    pub legacy: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Lan {
    pub name: String,
    pub members: Vec<(usize, u16)>,
    pub up: bool,
    pub delay: Duration,
    pub speed_mbps: u32,
    pub p2p: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Pending {
    at: Instant,
    seq: u64,
    bridge: usize,
    port: u16,
    frame: Vec<u8>,
}

/// One recorded output (when capture is on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// When.
    pub at: Instant,
    /// Bridge index.
    pub bridge: usize,
    /// The output; transmissions are recorded parsed in `bpdu`.
    pub output: Output,
    /// The BPDU of a `Transmit`, parsed.
    pub bpdu: Option<Bpdu>,
}

/// The network: bridges, LANs, frames in flight and the clock.
#[derive(Debug, Clone)]
pub struct Network {
    start: Instant,
    now: Instant,
    pub(crate) bridges: Vec<SimBridge>,
    pub(crate) lans: Vec<Lan>,
    queue: BinaryHeap<Reverse<Pending>>,
    seq: u64,
    capture: bool,
    events: Vec<Event>,
    delivered: u64,
}

impl Network {
    pub(crate) fn new(start: Instant, capture: bool) -> Self {
        Network {
            start,
            now: start,
            bridges: Vec::new(),
            lans: Vec::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            capture,
            events: Vec::new(),
            delivered: 0,
        }
    }

    pub(crate) fn push_bridge(&mut self, bridge: Bridge, ports: Vec<SimPort>) -> usize {
        self.bridges.push(SimBridge {
            bridge,
            ports,
            group: 0,
            legacy: false,
        });
        let i = self.bridges.len().saturating_sub(1);
        self.pump(i);
        i
    }

    pub(crate) fn set_legacy(&mut self, b: usize) {
        if let Some(s) = self.bridges.get_mut(b) {
            s.legacy = true;
        }
    }

    /// Current simulated time.
    #[must_use]
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Time since the network was built.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.now.saturating_duration_since(self.start)
    }

    /// Number of bridges.
    #[must_use]
    pub fn len(&self) -> usize {
        self.bridges.len()
    }

    /// Whether there are no bridges.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.bridges.is_empty()
    }

    /// Frames delivered so far.
    #[must_use]
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// The bridge with index `b`.
    #[must_use]
    pub fn bridge(&self, b: usize) -> Option<&Bridge> {
        self.bridges.get(b).map(|s| &s.bridge)
    }

    /// Bridge status.
    #[must_use]
    pub fn status(&self, b: usize) -> Option<BridgeStatus> {
        self.bridge(b).map(Bridge::status)
    }

    /// Port status.
    #[must_use]
    pub fn port(&self, b: usize, port: u16) -> Option<PortStatus> {
        self.bridge(b).and_then(|x| x.port_status(port))
    }

    /// Recorded outputs (empty unless built with capture).
    #[must_use]
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Forgets recorded outputs.
    pub fn clear_events(&mut self) {
        self.events.clear();
    }

    /// Feeds `input` to bridge `b` now.
    pub fn handle(&mut self, b: usize, input: Input<'_>) {
        let now = self.now;
        if let Some(s) = self.bridges.get_mut(b) {
            s.bridge.handle(now, input);
            self.pump(b);
        }
    }

    fn lan_index(&self, lan: &str) -> Option<usize> {
        self.lans.iter().position(|l| l.name == lan)
    }

    /// Takes a whole LAN (link) down: every port on it loses carrier.
    pub fn lan_down(&mut self, lan: &str) {
        self.set_lan(lan, false);
    }

    /// Brings a LAN back up.
    pub fn lan_up(&mut self, lan: &str) {
        self.set_lan(lan, true);
    }

    fn set_lan(&mut self, lan: &str, up: bool) {
        if let Some(l) = self.lan_index(lan).and_then(|i| self.lans.get_mut(i)) {
            l.up = up;
            self.refresh_carriers();
        }
    }

    /// Administratively takes a bridge port down (OVS `X`).
    pub fn port_down(&mut self, b: usize, port: u16) {
        self.set_port(b, port, |p| p.admin_up = false);
    }

    /// Brings a bridge port back up.
    pub fn port_up(&mut self, b: usize, port: u16) {
        self.set_port(b, port, |p| p.admin_up = true);
    }

    /// Moves a port to LAN `lan` (created if new, 1 ms delay, 100 Mb/s), or
    /// leaves it unconnected with `None`; the port sees its carrier drop and
    /// return, so speed and duplex are renegotiated.
    pub fn attach(&mut self, b: usize, port: u16, lan: Option<&str>) {
        let Some(old) = self
            .bridges
            .get(b)
            .and_then(|s| s.ports.iter().find(|p| p.number == port))
            .map(|p| p.lan)
        else {
            return;
        };
        let new = match lan {
            Some(name) => Some(match self.lan_index(name) {
                Some(i) => i,
                None => {
                    self.lans.push(Lan {
                        name: name.to_owned(),
                        members: Vec::new(),
                        up: true,
                        delay: Duration::from_millis(1),
                        speed_mbps: 100,
                        p2p: None,
                    });
                    self.lans.len().saturating_sub(1)
                }
            }),
            None => None,
        };
        if old == new {
            return;
        }
        self.set_port(b, port, |p| p.admin_up = false);
        for l in &mut self.lans {
            l.members.retain(|m| *m != (b, port));
        }
        if let Some(l) = new.and_then(|i| self.lans.get_mut(i)) {
            l.members.push((b, port));
        }
        self.set_port(b, port, |p| {
            p.lan = new;
            p.admin_up = true;
        });
    }

    /// One-way loss: frames sent by (`b`, `port`) are lost while `lossy`.
    pub fn set_tx_loss(&mut self, b: usize, port: u16, lossy: bool) {
        self.set_port(b, port, |p| p.tx_lossy = lossy);
    }

    /// One-way loss: frames arriving at (`b`, `port`) are lost while `lossy`.
    pub fn set_rx_loss(&mut self, b: usize, port: u16, lossy: bool) {
        self.set_port(b, port, |p| p.rx_lossy = lossy);
    }

    /// Sets a LAN's one-way delay.
    pub fn set_lan_delay(&mut self, lan: &str, delay: Duration) {
        if let Some(l) = self.lan_index(lan).and_then(|i| self.lans.get_mut(i)) {
            l.delay = delay;
        }
    }

    /// Splits the bridges into groups; frames only flow within a group.
    /// Bridges not listed form one more group. Carrier stays up.
    pub fn partition(&mut self, groups: &[&[usize]]) {
        let rest = u32::try_from(groups.len()).unwrap_or(u32::MAX);
        for s in &mut self.bridges {
            s.group = rest;
        }
        for (g, members) in groups.iter().enumerate() {
            let g = u32::try_from(g).unwrap_or(u32::MAX);
            for &b in *members {
                if let Some(s) = self.bridges.get_mut(b) {
                    s.group = g;
                }
            }
        }
    }

    /// Removes any partition.
    pub fn heal(&mut self) {
        for s in &mut self.bridges {
            s.group = 0;
        }
    }

    fn set_port(&mut self, b: usize, port: u16, f: impl FnOnce(&mut SimPort)) {
        if let Some(p) = self
            .bridges
            .get_mut(b)
            .and_then(|s| s.ports.iter_mut().find(|p| p.number == port))
        {
            f(p);
            self.refresh_carriers();
        }
    }

    /// Recomputes carrier for every port and sends LinkUp/LinkDown on change.
    pub(crate) fn refresh_carriers(&mut self) {
        let now = self.now;
        for b in 0..self.bridges.len() {
            let mut inputs = Vec::new();
            if let Some(s) = self.bridges.get_mut(b) {
                for p in &mut s.ports {
                    let lan = p.lan.and_then(|l| self.lans.get(l));
                    let carrier = p.admin_up && lan.is_none_or(|l| l.up);
                    if carrier != p.carrier {
                        p.carrier = carrier;
                        inputs.push(if carrier {
                            let full = lan.is_none_or(|l| l.p2p.unwrap_or(l.members.len() <= 2));
                            Input::LinkUp {
                                port: p.number,
                                speed_mbps: lan.map_or(100, |l| l.speed_mbps),
                                duplex: if full { Duplex::Full } else { Duplex::Half },
                            }
                        } else {
                            Input::LinkDown { port: p.number }
                        });
                    }
                }
                for input in inputs {
                    s.bridge.handle(now, input);
                }
            }
            self.pump(b);
        }
    }

    /// Drains bridge `b`'s outputs: transmissions are queued for delivery.
    fn pump(&mut self, b: usize) {
        while let Some(out) = self.bridges.get_mut(b).and_then(|s| s.bridge.poll_output()) {
            let mut bpdu = None;
            match &out {
                Output::Transmit { port, frame } => {
                    bpdu = BpduFrame::parse(frame).ok().map(|f| f.bpdu);
                    self.send(b, *port, frame);
                }
                Output::SetPortState { port, state } => {
                    if let Some(p) = self
                        .bridges
                        .get_mut(b)
                        .and_then(|s| s.ports.iter_mut().find(|p| p.number == *port))
                    {
                        p.state = *state;
                    }
                }
                _ => {}
            }
            if self.capture {
                self.events.push(Event {
                    at: self.now,
                    bridge: b,
                    output: out,
                    bpdu,
                });
            }
        }
    }

    fn send(&mut self, b: usize, port: u16, frame: &[u8]) {
        let Some(s) = self.bridges.get(b) else {
            return;
        };
        let group = s.group;
        let Some(sp) = s.ports.iter().find(|p| p.number == port) else {
            return;
        };
        if !sp.carrier || sp.tx_lossy {
            return;
        }
        let Some(lan) = sp.lan.and_then(|l| self.lans.get(l)) else {
            return;
        };
        let at = add(self.now, lan.delay);
        for &(rb, rp) in &lan.members {
            if (rb, rp) == (b, port) || self.bridges.get(rb).is_none_or(|r| r.group != group) {
                continue;
            }
            self.seq = self.seq.wrapping_add(1);
            self.queue.push(Reverse(Pending {
                at,
                seq: self.seq,
                bridge: rb,
                port: rp,
                frame: frame.to_vec(),
            }));
        }
    }

    fn deliver(&mut self, p: Pending) {
        let now = self.now;
        let Some(s) = self.bridges.get_mut(p.bridge) else {
            return;
        };
        let rst = matches!(
            BpduFrame::parse(&p.frame),
            Ok(BpduFrame {
                bpdu: Bpdu::Rst { .. },
                ..
            })
        );
        let ok = !(s.legacy && rst)
            && s.ports
                .iter()
                .find(|x| x.number == p.port)
                .is_some_and(|x| x.carrier && !x.rx_lossy);
        if ok {
            s.bridge.handle(
                now,
                Input::Bpdu {
                    port: p.port,
                    bytes: &p.frame,
                },
            );
            self.delivered = self.delivered.saturating_add(1);
            self.pump(p.bridge);
        }
    }

    /// Advances the clock by `d`, delivering frames and running timers in
    /// time order (bridges in index order at equal times).
    pub fn run_for(&mut self, d: Duration) {
        let end = add(self.now, d);
        let mut events = 0u64;
        while events < MAX_EVENTS_PER_RUN {
            let next_frame = self.queue.peek().map(|Reverse(p)| p.at);
            let next_timer = self
                .bridges
                .iter()
                .filter_map(|s| s.bridge.poll_timeout())
                .min();
            let next = match (next_frame, next_timer) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(t) => t,
                    None => break,
                },
            };
            if next > end {
                break;
            }
            self.now = self.now.max(next);
            while self.queue.peek().is_some_and(|Reverse(p)| p.at <= self.now) {
                if let Some(Reverse(p)) = self.queue.pop() {
                    self.deliver(p);
                    events = events.saturating_add(1);
                }
            }
            for b in 0..self.bridges.len() {
                let now = self.now;
                if let Some(s) = self.bridges.get_mut(b)
                    && s.bridge.poll_timeout().is_some_and(|t| t <= now)
                {
                    s.bridge.handle_timeout(now);
                    events = events.saturating_add(1);
                    self.pump(b);
                }
            }
        }
        self.now = self.now.max(end);
    }

    /// Runs until `cond` holds or `limit` elapses, in steps of `step`;
    /// returns the time it took, or `None` if it never held.
    pub fn run_until(
        &mut self,
        limit: Duration,
        step: Duration,
        mut cond: impl FnMut(&Network) -> bool,
    ) -> Option<Duration> {
        let start = self.now;
        let end = add(start, limit);
        loop {
            if cond(self) {
                return Some(self.now.saturating_duration_since(start));
            }
            if self.now >= end {
                return None;
            }
            self.run_for(step);
        }
    }

    /// Checks the OVS `test-rstp` style expectation for bridge `b`:
    /// optionally `rootid:ID[^PRIO]` first, then `"root"`, or one word per
    /// port in order: `F:cost` (Root Port,
    /// forwarding, bridge root path cost `cost`), `F` (forwarding, not root
    /// port), `Di` (discarding, enabled), `Le` (learning), `D` (disabled),
    /// `A` (Alternate), `B` (Backup), `_` (anything).
    pub fn check(&self, b: usize, expect: &str) -> Result<(), String> {
        let s = self.bridge(b).ok_or_else(|| format!("no bridge {b}"))?;
        let st = s.status();
        if expect.trim() == "root" {
            return if st.is_root {
                Ok(())
            } else {
                Err(format!("bridge {b} is not root: {st:?}"))
            };
        }
        let ports: Vec<PortStatus> = s.ports_status().collect();
        let mut words: Vec<&str> = expect.split_whitespace().collect();
        if let Some(id) = words.first().and_then(|w| w.strip_prefix("rootid:")) {
            let want = parse_bridge_id(id).ok_or_else(|| format!("bad rootid {id}"))?;
            if st.root != want {
                return Err(format!("bridge {b}: root {} is not {want}", st.root));
            }
            words.remove(0);
            if words == ["root"] {
                return self.check(b, "root");
            }
        }
        if words.len() != ports.len() {
            return Err(format!(
                "bridge {b}: {} expectations for {} ports",
                words.len(),
                ports.len()
            ));
        }
        for (w, p) in words.iter().zip(&ports) {
            let fail = |what: &str| {
                Err(format!(
                    "bridge {b} port {}: expected {w} ({what}), got {:?} {:?} cost {}",
                    p.port, p.role, p.state, st.root_path_cost
                ))
            };
            let fwd = p.state == PortState::Forwarding;
            match *w {
                "_" => {}
                "F" if !fwd || p.role == PortRole::Root => {
                    return fail("forwarding, not root port");
                }
                "Di" if p.state != PortState::Discarding || !p.enabled => {
                    return fail("discarding");
                }
                "Le" if p.state != PortState::Learning => return fail("learning"),
                "D" if p.role != PortRole::Disabled => return fail("disabled"),
                "A" if p.role != PortRole::Alternate || fwd => return fail("alternate"),
                "B" if p.role != PortRole::Backup || fwd => return fail("backup"),
                "F" | "Di" | "Le" | "D" | "A" | "B" => {}
                other => {
                    let Some(cost) = other.strip_prefix("F:") else {
                        return Err(format!("bad expectation {other}"));
                    };
                    let cost: u32 = cost.parse().map_err(|_| format!("bad cost in {other}"))?;
                    if !fwd || p.role != PortRole::Root || st.root_path_cost != cost {
                        return fail("root port");
                    }
                }
            }
        }
        Ok(())
    }

    /// A forwarding loop, if any: bridges and LANs as nodes, attachments of
    /// forwarding ports with carrier as edges; a cycle is a loop.
    #[must_use]
    pub fn forwarding_loop(&self) -> Option<String> {
        self.forest().err()
    }

    /// Checks that the forwarding ports form a spanning forest: no loop
    /// (see [`Network::forwarding_loop`]), and any two bridges joined by
    /// working links are joined by forwarding ones. Partitions and one-way
    /// loss are not considered.
    pub fn check_spanning_tree(&self) -> Result<(), String> {
        let (mut fwd, mut phys) = self.forest()?;
        let nb = self.bridges.len();
        for a in 0..nb {
            for b in a.saturating_add(1)..nb {
                if phys.find(a) == phys.find(b) && fwd.find(a) != fwd.find(b) {
                    return Err(format!(
                        "bridges {a} and {b} are connected but not by forwarding ports"
                    ));
                }
            }
        }
        Ok(())
    }

    fn forest(&self) -> Result<(UnionFind, UnionFind), String> {
        let nb = self.bridges.len();
        let n = nb.saturating_add(self.lans.len());
        let mut fwd = UnionFind::new(n);
        let mut phys = UnionFind::new(n);
        for (b, s) in self.bridges.iter().enumerate() {
            for p in &s.ports {
                let Some(l) = p.lan else { continue };
                let node = nb.saturating_add(l);
                if p.carrier {
                    phys.union(b, node);
                }
                let state = s.bridge.port_status(p.number).map(|x| x.state);
                if p.carrier && state == Some(PortState::Forwarding) && !fwd.union(b, node) {
                    let lan = self.lans.get(l).map_or("?", |x| x.name.as_str());
                    return Err(format!(
                        "loop through bridge {b} port {} (LAN {lan})",
                        p.number
                    ));
                }
            }
        }
        Ok((fwd, phys))
    }
}

/// `0x111` or `0x111^0x6000` (address, then priority; default 32768).
pub(crate) fn parse_bridge_id(s: &str) -> Option<crate::id::BridgeId> {
    let (id, prio) = match s.split_once('^') {
        Some((i, p)) => (i, super::scenario::parse_num(p)?),
        None => (s, 32768),
    };
    let id = u64::from_str_radix(id.strip_prefix("0x").unwrap_or(id), 16).ok()?;
    let [_, _, m0, m1, m2, m3, m4, m5] = id.to_be_bytes();
    Some(crate::id::BridgeId::new(
        u16::try_from(prio).ok()?,
        [m0, m1, m2, m3, m4, m5],
    ))
}

#[derive(Debug)]
struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n).collect(),
        }
    }

    fn find(&mut self, mut x: usize) -> usize {
        while let Some(&p) = self.parent.get(x) {
            if p == x {
                break;
            }
            x = p;
        }
        x
    }

    /// False when `a` and `b` were already joined (a cycle).
    fn union(&mut self, a: usize, b: usize) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        if let Some(slot) = self.parent.get_mut(ra) {
            *slot = rb;
        }
        true
    }
}
