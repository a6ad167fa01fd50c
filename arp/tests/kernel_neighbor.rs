//! The neighbour cache against a real Linux host (root only; skipped
//! otherwise).
//!
//! Namespace B is a stock kernel with 10.0.0.2/24 and fd00::2/64 on a veth.
//! Namespace A holds the other end with no addresses (IPv6 disabled,
//! `arp_ignore` 8), so A's kernel never answers; the cache owns 10.0.0.1 and
//! fd00::1 and A's MAC, and a small driver runs it over an AF_PACKET socket:
//! received frames go to `handle`, due timers to `handle_timeout`,
//! `Transmit` frames and `Deliver`ed packets (ICMP echo requests, framed to
//! the resolved MAC) go out on the socket, every output is logged.
//!
//! Timers are short (ReachableTime 0.5–1.5 s, DELAY 1 s, RetransTimer
//! 250 ms); tests assert the order of `StateChanged` events, the frames on the
//! wire, the kernel's neighbour table and lower bounds on durations, never
//! tight timings.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic,
    clippy::disallowed_methods,
    clippy::unchecked_time_subtraction,
    reason = "test code"
)]

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use arp::MacAddr;
use arp::neighbor::{Config, Input, NeighborCache, NeighborState, Output};
use arp::wire::checksum::{checksum, ipv6_upper_layer};
use arp::wire::{ArpOperation, ArpRepr, Frame, NdiscRepr, Payload, parse_frame};
use dsas_node::sys::{ETH_P_ALL, PacketSocket, PacketType};
use testkit::exec::Child;
use testkit::netns::Neighbor;
use testkit::{Netns, Veth, require_root, require_tool, wait_for};

use NeighborState::{Delay, Failed, Incomplete, Probe, Reachable, Stale};

const CACHE_V4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B_V4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const CACHE_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);
const B_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2);

const BASE_REACHABLE: Duration = Duration::from_secs(1);
const DELAY_FIRST_PROBE: Duration = Duration::from_secs(1);
const RETRANS: Duration = Duration::from_millis(250);
const UCAST_SOLICIT: u32 = 3;
/// More than Linux's 3, so that a resolution right after the link comes
/// back has time to get through.
const MCAST_SOLICIT: u32 = 5;

/// Generous bound for anything the kernel or the timers must do.
const PATIENCE: Duration = Duration::from_secs(15);

fn config(mac: MacAddr) -> Config {
    Config {
        base_reachable_time: BASE_REACHABLE,
        delay_first_probe_time: DELAY_FIRST_PROBE,
        retrans_time: RETRANS,
        ucast_solicit: UCAST_SOLICIT,
        mcast_solicit: MCAST_SOLICIT,
        seed: 7,
        ..Config::new(mac, vec![(CACHE_V4, 24)], vec![(CACHE_V6, 64)])
    }
}

/// An ICMP echo request from the cache's address to B, identified by `seq`.
fn echo4(seq: u16) -> Vec<u8> {
    let mut icmp = vec![8, 0, 0, 0, 0x4e, 0x42];
    icmp.extend_from_slice(&seq.to_be_bytes());
    icmp.extend_from_slice(b"dsas-nbr");
    let sum = checksum(&icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let total = u16::try_from(20 + icmp.len()).unwrap();
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&[0, 0, 0x40, 0, 64, 1, 0, 0]);
    ip.extend_from_slice(&CACHE_V4.octets());
    ip.extend_from_slice(&B_V4.octets());
    let sum = checksum(&ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    ip.extend_from_slice(&icmp);
    ip
}

/// An ICMPv6 echo request from the cache's address to B.
fn echo6(seq: u16) -> Vec<u8> {
    let mut icmp = vec![128, 0, 0, 0, 0x4e, 0x42];
    icmp.extend_from_slice(&seq.to_be_bytes());
    icmp.extend_from_slice(b"dsas-nbr");
    let sum = ipv6_upper_layer(&CACHE_V6, &B_V6, 58, &icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut ip = vec![0x60, 0, 0, 0];
    ip.extend_from_slice(&u16::try_from(icmp.len()).unwrap().to_be_bytes());
    ip.extend_from_slice(&[58, 64]);
    ip.extend_from_slice(&CACHE_V6.octets());
    ip.extend_from_slice(&B_V6.octets());
    ip.extend_from_slice(&icmp);
    ip
}

/// `(source, ICMP type, sequence)` of an ICMP / ICMPv6 echo in an Ethernet frame.
fn echo_in(frame: &[u8]) -> Option<(IpAddr, u8, u16)> {
    let ethertype = u16::from_be_bytes(frame.get(12..14)?.try_into().ok()?);
    let ip = frame.get(14..)?;
    let (src, icmp): (IpAddr, &[u8]) = match ethertype {
        0x0800 if ip.get(9) == Some(&1) => {
            let src: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
            let ihl = usize::from(ip.first()? & 0x0f) * 4;
            (Ipv4Addr::from(src).into(), ip.get(ihl..)?)
        }
        0x86dd if ip.get(6) == Some(&58) => {
            let src: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            (Ipv6Addr::from(src).into(), ip.get(40..)?)
        }
        _ => return None,
    };
    let kind = *icmp.first()?;
    matches!(kind, 0 | 8 | 128 | 129).then_some(())?;
    let seq = u16::from_be_bytes(icmp.get(6..8)?.try_into().ok()?);
    Some((src, kind, seq))
}

/// The cache in namespace A, driven over an AF_PACKET socket; the kernel
/// host in namespace B.
struct Lab {
    sock: PacketSocket,
    veth: Veth,
    a: Netns,
    b: Netns,
    mac_a: MacAddr,
    mac_b: MacAddr,
    cache: NeighborCache,
    /// Every output, with the time it was drained.
    log: Vec<(Instant, Output)>,
    /// Every received frame.
    rx: Vec<(Instant, Vec<u8>, PacketType)>,
    send_errors: Vec<io::Error>,
}

impl Lab {
    fn new() -> Self {
        let a = Netns::new("nbk-a").unwrap();
        let b = Netns::new("nbk-b").unwrap();
        let veth = Veth::new(&a, "veth0", &b, "veth0").unwrap();
        // A's kernel must stay silent: no addresses, no IPv6, no ARP replies.
        a.sysctl(&format!("net.ipv6.conf.{}.disable_ipv6", veth.a()), "1")
            .unwrap();
        a.sysctl(&format!("net.ipv4.conf.{}.arp_ignore", veth.a()), "8")
            .unwrap();
        b.addr_add(veth.b(), &format!("{B_V4}/24")).unwrap();
        b.ip(&[
            "addr",
            "add",
            &format!("{B_V6}/64"),
            "dev",
            veth.b(),
            "nodad",
        ])
        .unwrap();
        veth.up().unwrap();
        let ready = wait_for(
            || {
                a.link(veth.a()).is_ok_and(|l| l.has_carrier())
                    && b.link(veth.b()).is_ok_and(|l| l.has_carrier())
                    && b.ip(&["-6", "addr", "show", "dev", veth.b(), "tentative"])
                        .is_ok_and(|o| o.stdout.is_empty())
            },
            PATIENCE,
        );
        assert!(ready, "veth never came up");
        let sock = a
            .enter_thread(|| -> io::Result<PacketSocket> {
                let sock = PacketSocket::bind(veth.a(), ETH_P_ALL)?;
                sock.set_ignore_outgoing(true)?;
                sock.set_read_timeout(Some(Duration::from_millis(5)))?;
                Ok(sock)
            })
            .unwrap()
            .unwrap();
        let mac_a = MacAddr(a.mac(veth.a()).unwrap());
        let mac_b = MacAddr(b.mac(veth.b()).unwrap());
        let cache = NeighborCache::new(config(mac_a), Instant::now()).unwrap();
        Self {
            sock,
            veth,
            a,
            b,
            mac_a,
            mac_b,
            cache,
            log: Vec::new(),
            rx: Vec::new(),
            send_errors: Vec::new(),
        }
    }

    /// Drains the cache's outputs: frames go on the wire, everything is logged.
    fn drain(&mut self, now: Instant) {
        while let Some(out) = self.cache.poll_output() {
            let frame = match &out {
                Output::Transmit(bytes) => Some(bytes.clone()),
                Output::Deliver { dst, mac, packet } => {
                    let ethertype: u16 = if dst.is_ipv4() { 0x0800 } else { 0x86dd };
                    let mut f = mac.0.to_vec();
                    f.extend_from_slice(&self.mac_a.0);
                    f.extend_from_slice(&ethertype.to_be_bytes());
                    f.extend_from_slice(packet);
                    Some(f)
                }
                _ => None,
            };
            if let Some(f) = frame
                && let Err(e) = self.sock.send(&f)
            {
                // Expected while the link is down.
                self.send_errors.push(e);
            }
            self.log.push((now, out));
        }
        self.cache.check_invariants().unwrap();
    }

    /// One driver step: a received frame, or (when none arrived within the
    /// read timeout) the due timers. Frames already queued are thus always
    /// processed before a timer that may have expired meanwhile.
    fn step(&mut self) {
        let mut buf = [0_u8; 2048];
        match self.sock.recv_from(&mut buf) {
            Ok((len, kind)) => {
                let now = Instant::now();
                if kind == PacketType::Outgoing {
                    return;
                }
                let frame = buf[..len].to_vec();
                self.cache.handle(now, Input::Frame(&frame));
                self.rx.push((now, frame, kind));
                self.drain(now);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                let now = Instant::now();
                if self.cache.poll_timeout().is_some_and(|t| t <= now) {
                    self.cache.handle_timeout(now);
                    self.drain(now);
                }
            }
            Err(e) => panic!("recv on {}: {e}", self.veth.a()),
        }
    }

    /// Runs the driver until `done` holds (checked every 20 ms) or `timeout`
    /// passes; returns whether it held.
    fn run_until(&mut self, timeout: Duration, mut done: impl FnMut(&Self) -> bool) -> bool {
        let end = Instant::now() + timeout;
        let mut next_check = Instant::now();
        loop {
            let now = Instant::now();
            if now >= next_check {
                if done(self) {
                    return true;
                }
                if now >= end {
                    return false;
                }
                next_check = now + Duration::from_millis(20);
            }
            self.step();
        }
    }

    fn handle(&mut self, input: Input<'_>) {
        let now = Instant::now();
        self.cache.handle(now, input);
        self.drain(now);
    }

    fn send(&mut self, dst: impl Into<IpAddr>, packet: Vec<u8>) {
        self.handle(Input::Send {
            dst: dst.into(),
            packet,
        });
    }

    fn state(&self, ip: impl Into<IpAddr>) -> Option<NeighborState> {
        self.cache.lookup(ip.into()).map(|e| e.state)
    }

    fn mac_of(&self, ip: impl Into<IpAddr>) -> Option<MacAddr> {
        self.cache.lookup(ip.into()).and_then(|e| e.mac)
    }

    /// Runs until the entry for `ip` is in `state`, or fails with the log.
    fn wait_state(&mut self, ip: impl Into<IpAddr>, state: NeighborState) {
        let ip = ip.into();
        if !self.run_until(PATIENCE, |l| l.state(ip) == Some(state)) {
            panic!(
                "{ip} never reached {state:?}: {:?}\nlog: {:#?}",
                self.cache.lookup(ip),
                self.log
            );
        }
    }

    /// Sends `packet` to an unresolved `ip` and waits for REACHABLE.
    fn resolve(&mut self, ip: impl Into<IpAddr>, packet: Vec<u8>) {
        let ip = ip.into();
        self.send(ip, packet);
        assert_eq!(self.state(ip), Some(Incomplete));
        self.wait_state(ip, Reachable);
        assert_eq!(self.mac_of(ip), Some(self.mac_b));
    }

    /// Position in the log, for the `*_since` views.
    fn mark(&self) -> usize {
        self.log.len()
    }

    /// `(time, from, to, mac)` of the state changes of `ip` since `mark`.
    #[allow(clippy::type_complexity, reason = "test helper")]
    fn changes_since(
        &self,
        mark: usize,
        ip: impl Into<IpAddr>,
    ) -> Vec<(
        Instant,
        Option<NeighborState>,
        Option<NeighborState>,
        Option<MacAddr>,
    )> {
        let ip = ip.into();
        self.log[mark..]
            .iter()
            .filter_map(|(t, o)| match o {
                Output::StateChanged {
                    ip: i,
                    from,
                    to,
                    mac,
                } if *i == ip => Some((*t, *from, *to, *mac)),
                _ => None,
            })
            .collect()
    }

    /// `(from, to)` of the state changes of `ip` since `mark`.
    #[allow(clippy::type_complexity, reason = "test helper")]
    fn transitions_since(
        &self,
        mark: usize,
        ip: impl Into<IpAddr>,
    ) -> Vec<(Option<NeighborState>, Option<NeighborState>)> {
        self.changes_since(mark, ip)
            .into_iter()
            .map(|(_, from, to, _)| (from, to))
            .collect()
    }

    /// When `ip` entered `to` (first time since `mark`).
    fn entered(&self, mark: usize, ip: impl Into<IpAddr>, to: NeighborState) -> Instant {
        let ip = ip.into();
        self.changes_since(mark, ip)
            .into_iter()
            .find(|c| c.2 == Some(to))
            .unwrap_or_else(|| panic!("{ip} did not enter {to:?}"))
            .0
    }

    /// Frames transmitted by the cache since `mark`, decoded.
    fn transmitted_since(&self, mark: usize) -> Vec<Frame> {
        self.log[mark..]
            .iter()
            .filter_map(|(_, o)| match o {
                Output::Transmit(bytes) => Some(parse_frame(bytes).unwrap()),
                _ => None,
            })
            .collect()
    }

    /// ARP requests the cache sent since `mark`.
    fn arp_requests_since(&self, mark: usize) -> Vec<Frame> {
        self.transmitted_since(mark)
            .into_iter()
            .filter(
                |f| matches!(&f.payload, Payload::Arp(a) if a.operation == ArpOperation::Request),
            )
            .collect()
    }

    /// Neighbour Solicitations the cache sent since `mark`.
    fn solicitations_since(&self, mark: usize) -> Vec<Frame> {
        self.transmitted_since(mark)
            .into_iter()
            .filter(|f| {
                matches!(&f.payload, Payload::Ndisc(n)
                    if matches!(n.repr, NdiscRepr::NeighborSolicit { .. }))
            })
            .collect()
    }

    /// `(dst, mac, packet)` delivered since `mark`.
    fn delivered_since(&self, mark: usize) -> Vec<(IpAddr, MacAddr, Vec<u8>)> {
        self.log[mark..]
            .iter()
            .filter_map(|(_, o)| match o {
                Output::Deliver { dst, mac, packet } => Some((*dst, *mac, packet.clone())),
                _ => None,
            })
            .collect()
    }

    /// `(dst, dropped)` handed back since `mark`.
    fn unreachable_since(&self, mark: usize) -> Vec<(IpAddr, Vec<Vec<u8>>)> {
        self.log[mark..]
            .iter()
            .filter_map(|(_, o)| match o {
                Output::Unreachable { dst, dropped } => Some((*dst, dropped.clone())),
                _ => None,
            })
            .collect()
    }

    /// Echo messages received from B.
    fn echoes(&self) -> Vec<(IpAddr, u8, u16)> {
        self.rx.iter().filter_map(|(_, f, _)| echo_in(f)).collect()
    }

    /// B's neighbour entry for `ip`.
    fn b_entry(&self, ip: impl Into<IpAddr>) -> Option<Neighbor> {
        self.b.neighbor(self.veth.b(), ip.into()).unwrap()
    }

    /// Starts a ping from B to `dst` (it gets no answer: nothing in A
    /// answers echo requests).
    fn ping_from_b(&self, dst: IpAddr) -> Child {
        let dst = dst.to_string();
        self.b
            .spawn(&["ping", "-c", "3", "-i", "0.5", "-W", "1", &dst])
            .unwrap()
    }

    fn carrier(ns: &Netns, dev: &str) -> bool {
        ns.link(dev).is_ok_and(|l| l.has_carrier())
    }

    /// Waits (driving the cache) until A's end of the veth has or lacks carrier.
    fn wait_carrier(&mut self, on: bool) {
        let ok = self.run_until(PATIENCE, |l| {
            Self::carrier(&l.a, l.veth.a()) == on && (!on || Self::carrier(&l.b, l.veth.b()))
        });
        assert!(ok, "carrier never became {on}");
    }
}

fn count(frames: &[Frame]) -> u32 {
    u32::try_from(frames.len()).unwrap()
}

/// The unicast probe (RFC 1122 §2.3.2.1 / Linux `arp_solicit` with a
/// known address) the cache sends to B.
fn unicast_arp_probe(lab: &Lab) -> Frame {
    let mut f = Frame::arp_request(lab.mac_a, CACHE_V4, B_V4);
    f.eth.dst = lab.mac_b;
    f
}

#[test]
fn ipv4_resolves_kernel_host_and_delivers() {
    require_root!();
    let mut lab = Lab::new();
    let m = lab.mark();
    lab.send(B_V4, echo4(1));
    assert_eq!(lab.state(B_V4), Some(Incomplete));
    assert_eq!(
        lab.transmitted_since(m),
        [Frame::arp_request(lab.mac_a, CACHE_V4, B_V4)],
        "one broadcast request at once"
    );
    assert!(lab.delivered_since(m).is_empty(), "queued, not delivered");
    lab.wait_state(B_V4, Reachable);

    // B's real MAC, learnt from the kernel's unicast reply.
    assert_eq!(lab.mac_of(B_V4), Some(lab.mac_b));
    assert_eq!(
        lab.transmitted_since(m)
            .iter()
            .filter(|f| **f != Frame::arp_request(lab.mac_a, CACHE_V4, B_V4))
            .count(),
        0,
        "only broadcast requests while INCOMPLETE"
    );
    let reply = lab
        .rx
        .iter()
        .find_map(|(_, f, kind)| match parse_frame(f).ok()?.payload {
            Payload::Arp(a) if a.operation == ArpOperation::Reply => Some((a, *kind)),
            _ => None,
        })
        .expect("no ARP reply from B");
    assert_eq!(
        reply,
        (
            ArpRepr::reply(lab.mac_b, B_V4, lab.mac_a, CACHE_V4),
            PacketType::Host
        )
    );
    assert_eq!(
        lab.transitions_since(m, B_V4),
        [
            (None, Some(Incomplete)),
            (Some(Incomplete), Some(Reachable))
        ]
    );
    assert_eq!(
        lab.changes_since(m, B_V4).last().unwrap().3,
        Some(lab.mac_b)
    );
    assert_eq!(
        lab.delivered_since(m),
        [(IpAddr::V4(B_V4), lab.mac_b, echo4(1))]
    );
    // The delivered packet, framed to that MAC, reaches B's IP stack.
    let answered = lab.run_until(PATIENCE, |l| l.echoes().contains(&(IpAddr::V4(B_V4), 0, 1)));
    assert!(answered, "no echo reply from B: {:?}", lab.echoes());

    // B's kernel learnt our address from our request (`neigh_event_ns`).
    let entry = lab.b_entry(CACHE_V4).expect("B has no entry for us");
    assert_eq!(entry.lladdr, Some(lab.mac_a.0), "{entry:?}");
    assert!(lab.send_errors.is_empty(), "{:?}", lab.send_errors);
    assert_eq!(
        lab.cache.counters().mcast_probes,
        lab.arp_requests_since(m).len() as u64
    );
}

#[test]
fn ipv4_stale_delay_probe_reachable_against_kernel() {
    require_root!();
    let mut lab = Lab::new();
    let m = lab.mark();
    lab.resolve(B_V4, echo4(1));
    lab.wait_state(B_V4, Stale);
    let reachable_for = lab.entered(m, B_V4, Stale) - lab.entered(m, B_V4, Reachable);
    assert!(
        reachable_for >= BASE_REACHABLE / 2,
        "REACHABLE for only {reachable_for:?}"
    );
    assert_eq!(lab.mac_of(B_V4), Some(lab.mac_b), "STALE keeps the address");

    // Traffic through a STALE entry: delivered at once, DELAY.
    let m = lab.mark();
    lab.send(B_V4, echo4(2));
    assert_eq!(
        lab.delivered_since(m),
        [(IpAddr::V4(B_V4), lab.mac_b, echo4(2))]
    );
    assert_eq!(lab.state(B_V4), Some(Delay));
    assert!(lab.transmitted_since(m).is_empty(), "no probe in DELAY");

    // No upper-layer confirmation: PROBE, unicast to B, whose kernel
    // answers with a unicast reply: REACHABLE again.
    lab.wait_state(B_V4, Reachable);
    assert_eq!(
        lab.transitions_since(m, B_V4),
        [
            (Some(Stale), Some(Delay)),
            (Some(Delay), Some(Probe)),
            (Some(Probe), Some(Reachable)),
        ]
    );
    let delay = lab.entered(m, B_V4, Probe) - lab.entered(m, B_V4, Delay);
    assert!(delay >= DELAY_FIRST_PROBE, "DELAY lasted {delay:?}");
    let probes = lab.arp_requests_since(m);
    assert!(!probes.is_empty() && count(&probes) <= UCAST_SOLICIT);
    for p in &probes {
        assert_eq!(*p, unicast_arp_probe(&lab));
    }
    assert_eq!(lab.mac_of(B_V4), Some(lab.mac_b));
    assert!(lab.send_errors.is_empty(), "{:?}", lab.send_errors);
}

#[test]
fn ipv4_host_vanishes_then_returns() {
    require_root!();
    let mut lab = Lab::new();
    lab.resolve(B_V4, echo4(1));
    lab.wait_state(B_V4, Stale);

    // The host goes away.
    lab.b.link_down(lab.veth.b()).unwrap();
    lab.wait_carrier(false);
    let m = lab.mark();
    lab.send(B_V4, echo4(2));
    assert_eq!(lab.state(B_V4), Some(Delay));
    lab.wait_state(B_V4, Failed);
    assert_eq!(
        lab.transitions_since(m, B_V4),
        [
            (Some(Stale), Some(Delay)),
            (Some(Delay), Some(Probe)),
            (Some(Probe), Some(Failed)),
        ]
    );
    // Exactly ucast_solicit unicast probes, retrans_time apart at least.
    let probes = lab.arp_requests_since(m);
    assert_eq!(count(&probes), UCAST_SOLICIT, "{probes:?}");
    for p in &probes {
        assert_eq!(*p, unicast_arp_probe(&lab));
    }
    let probing = lab.entered(m, B_V4, Failed) - lab.entered(m, B_V4, Probe);
    assert!(probing >= RETRANS * UCAST_SOLICIT, "{probing:?}");
    // The packet sent in STALE went out (valid entry); nothing was queued.
    assert_eq!(lab.unreachable_since(m), [(IpAddr::V4(B_V4), vec![])]);
    assert_eq!(
        lab.mac_of(B_V4),
        Some(lab.mac_b),
        "FAILED keeps the last MAC"
    );

    // Sending again while the host is away: broadcast resolution, then the
    // queued packet is handed back.
    let m = lab.mark();
    lab.send(B_V4, echo4(3));
    assert_eq!(lab.state(B_V4), Some(Incomplete));
    lab.wait_state(B_V4, Failed);
    assert_eq!(
        lab.transitions_since(m, B_V4),
        [
            (Some(Failed), Some(Incomplete)),
            (Some(Incomplete), Some(Failed))
        ]
    );
    let requests = lab.arp_requests_since(m);
    assert_eq!(count(&requests), MCAST_SOLICIT);
    for r in &requests {
        assert_eq!(*r, Frame::arp_request(lab.mac_a, CACHE_V4, B_V4));
    }
    assert_eq!(
        lab.unreachable_since(m),
        [(IpAddr::V4(B_V4), vec![echo4(3)])]
    );
    assert!(lab.delivered_since(m).is_empty());

    // The host returns: a new send resolves it again.
    lab.b.link_up(lab.veth.b()).unwrap();
    lab.wait_carrier(true);
    let m = lab.mark();
    lab.send(B_V4, echo4(4));
    assert_eq!(lab.state(B_V4), Some(Incomplete));
    lab.wait_state(B_V4, Reachable);
    assert_eq!(
        lab.transitions_since(m, B_V4),
        [
            (Some(Failed), Some(Incomplete)),
            (Some(Incomplete), Some(Reachable))
        ]
    );
    assert_eq!(
        lab.delivered_since(m),
        [(IpAddr::V4(B_V4), lab.mac_b, echo4(4))]
    );
    let answered = lab.run_until(PATIENCE, |l| l.echoes().contains(&(IpAddr::V4(B_V4), 0, 4)));
    assert!(answered, "no echo reply from B: {:?}", lab.echoes());
}

#[test]
fn ipv6_resolves_kernel_host_and_probes() {
    require_root!();
    let mut lab = Lab::new();
    let m = lab.mark();
    lab.send(B_V6, echo6(1));
    assert_eq!(lab.state(B_V6), Some(Incomplete));
    assert_eq!(
        lab.transmitted_since(m),
        [Frame::neighbor_solicit(lab.mac_a, CACHE_V6, B_V6, None)],
        "one multicast NS at once"
    );
    lab.wait_state(B_V6, Reachable);
    assert_eq!(lab.mac_of(B_V6), Some(lab.mac_b));
    assert_eq!(
        lab.transitions_since(m, B_V6),
        [
            (None, Some(Incomplete)),
            (Some(Incomplete), Some(Reachable))
        ]
    );
    assert_eq!(
        lab.delivered_since(m),
        [(IpAddr::V6(B_V6), lab.mac_b, echo6(1))]
    );
    for ns in lab.solicitations_since(m) {
        assert_eq!(ns, Frame::neighbor_solicit(lab.mac_a, CACHE_V6, B_V6, None));
    }
    let answered = lab.run_until(PATIENCE, |l| {
        l.echoes().contains(&(IpAddr::V6(B_V6), 129, 1))
    });
    assert!(answered, "no echo reply from B: {:?}", lab.echoes());
    // B learnt us from the Source LLA option of our NS.
    let entry = lab.b_entry(CACHE_V6).expect("B has no entry for us");
    assert_eq!(entry.lladdr, Some(lab.mac_a.0), "{entry:?}");

    // NUD: STALE, DELAY, PROBE with a unicast NS, B's solicited NA.
    lab.wait_state(B_V6, Stale);
    let m = lab.mark();
    lab.send(B_V6, echo6(2));
    assert_eq!(lab.state(B_V6), Some(Delay));
    lab.wait_state(B_V6, Reachable);
    assert_eq!(
        lab.transitions_since(m, B_V6),
        [
            (Some(Stale), Some(Delay)),
            (Some(Delay), Some(Probe)),
            (Some(Probe), Some(Reachable)),
        ]
    );
    let probes = lab.solicitations_since(m);
    assert!(!probes.is_empty() && count(&probes) <= UCAST_SOLICIT);
    for p in &probes {
        assert_eq!(
            *p,
            Frame::neighbor_solicit(lab.mac_a, CACHE_V6, B_V6, Some((lab.mac_b, B_V6)))
        );
    }
    assert!(lab.send_errors.is_empty(), "{:?}", lab.send_errors);
}

#[test]
fn kernel_resolves_the_cache_addresses() {
    require_root!();
    require_tool!("ping");
    let mut lab = Lab::new();
    for (ours, b_ip) in [
        (IpAddr::V4(CACHE_V4), IpAddr::V4(B_V4)),
        (IpAddr::V6(CACHE_V6), IpAddr::V6(B_V6)),
    ] {
        let m = lab.mark();
        let mut ping = lab.ping_from_b(ours);
        let resolved = lab.run_until(PATIENCE, |l| {
            l.b_entry(ours)
                .is_some_and(|n| n.lladdr == Some(l.mac_a.0) && n.is("REACHABLE"))
        });
        assert!(
            resolved,
            "B never resolved {ours}: {:?}\nlog: {:#?}",
            lab.b_entry(ours),
            lab.log
        );
        // B sends its echo requests to our MAC.
        let seen = lab.run_until(PATIENCE, |l| {
            l.rx.iter().any(|(_, f, kind)| {
                *kind == PacketType::Host
                    && echo_in(f).is_some_and(|(s, t, _)| s == b_ip && (t == 8 || t == 128))
            })
        });
        assert!(seen, "no echo request from B at our MAC");
        let _ = ping.terminate();

        // Our answer, unicast to B.
        let answers: Vec<Frame> = lab
            .transmitted_since(m)
            .into_iter()
            .filter(|f| f.eth.dst == lab.mac_b)
            .collect();
        assert!(!answers.is_empty());
        for a in &answers {
            match (&a.payload, ours) {
                (Payload::Arp(arp), IpAddr::V4(ours)) => {
                    assert_eq!(*arp, ArpRepr::reply(lab.mac_a, ours, lab.mac_b, B_V4));
                }
                (Payload::Ndisc(nd), IpAddr::V6(ours)) => {
                    assert_eq!(nd.src, ours);
                    assert_eq!(nd.dst, B_V6);
                    let NdiscRepr::NeighborAdvert {
                        flags,
                        target,
                        target_lladdr,
                    } = nd.repr
                    else {
                        panic!("not an NA: {nd:?}")
                    };
                    assert_eq!(target, ours);
                    assert_eq!(target_lladdr, Some(lab.mac_a));
                    assert!(flags.solicited && flags.override_ && !flags.router);
                }
                other => panic!("unexpected answer {other:?}"),
            }
        }
        // The solicitation created a STALE entry for B (Linux `neigh_event_ns`
        // / `ndisc_recv_ns`).
        assert_eq!(lab.transitions_since(m, b_ip), [(None, Some(Stale))]);
        assert_eq!(lab.mac_of(b_ip), Some(lab.mac_b));
    }
    assert!(lab.send_errors.is_empty(), "{:?}", lab.send_errors);
}

#[test]
fn kernel_gratuitous_arp_updates_entry_per_arp_accept() {
    require_root!();
    require_tool!("arping");
    let mut lab = Lab::new();
    // Not a valid IPv4 packet: B drops it and sends nothing back, so its
    // entry for us stays STALE and it never probes us (from its new MAC).
    lab.resolve(B_V4, b"opaque".to_vec());

    // B moves to another MAC and announces it (`arping -U`, as keepalived
    // would); Linux does not announce a MAC change by itself.
    let new_mac = MacAddr([0x02, 0x00, 0x5e, 0x00, 0x0b, 0x01]);
    lab.b.set_mac(lab.veth.b(), new_mac.0).unwrap();
    let m = lab.mark();
    let garps_before = lab.cache.counters().garp_ignored;
    let b4 = B_V4.to_string();
    let out = lab
        .b
        .exec_unchecked(&[
            "arping",
            "-U",
            "-c",
            "1",
            "-w",
            "2",
            "-I",
            lab.veth.b(),
            "-s",
            &b4,
            &b4,
        ])
        .unwrap();
    let moved = lab.run_until(PATIENCE, |l| l.mac_of(B_V4) == Some(new_mac));
    assert!(
        moved,
        "GARP did not move the entry: {:?}; arping: {}",
        lab.cache.lookup(B_V4.into()),
        String::from_utf8_lossy(&out.stdout)
    );
    // A gratuitous request overrides the address but does not confirm
    // reachability: STALE (Linux `arp_process`, `arp_is_garp`).
    let last = lab.changes_since(m, B_V4).last().copied().unwrap();
    assert_eq!((last.2, last.3), (Some(Stale), Some(new_mac)));
    assert_eq!(lab.state(B_V4), Some(Stale));

    // A GARP for an address we have no entry for: arp_accept 0 ignores it.
    let other = Ipv4Addr::new(10, 0, 0, 3);
    lab.b
        .addr_add(lab.veth.b(), &format!("{other}/24"))
        .unwrap();
    let other_s = other.to_string();
    lab.b
        .exec_unchecked(&[
            "arping",
            "-U",
            "-c",
            "1",
            "-w",
            "2",
            "-I",
            lab.veth.b(),
            "-s",
            &other_s,
            &other_s,
        ])
        .unwrap();
    let ignored = lab.run_until(PATIENCE, |l| l.cache.counters().garp_ignored > garps_before);
    assert!(ignored, "GARP for {other} not seen");
    assert_eq!(lab.state(other), None);
}
