//! Fuzz entry `neighbor_cache`: a configuration and a sequence of inputs
//! and clock advances decoded from the bytes, driving a
//! [`NeighborCache`](crate::neighbor::NeighborCache).
//!
//! After every step it checks the cache's own invariants
//! ([`NeighborCache::check_invariants`]) and, from the outputs alone:
//! the `StateChanged` stream replays to exactly the entries the cache
//! reports (so no entry is in two states and none changes silently);
//! every packet given to `Send` comes back exactly once (delivered,
//! unreachable, overflowed) or is still queued; every transmitted frame
//! parses and comes from our MAC; after `handle_timeout(now)` the next
//! deadline is later than `now`, and after `handle(now, …)` it is not earlier.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use super::Bytes;
use crate::MacAddr;
use crate::neighbor::{AcceptPolicy, Config, Input, NeighborCache, NeighborState, Output};
use crate::wire::{ArpOperation, ArpRepr, Frame, NaFlags, NdiscRepr, Payload, parse_frame};

const ME: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x01]);
const V4_OURS: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const V6_OURS: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
const V6_LL_OURS: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);

/// Drives `neighbor_cache` with arbitrary input; `Err` names a violated invariant.
pub fn neighbor_cache(data: &[u8]) -> Result<(), String> {
    let mut b = Bytes::new(data);
    let config = config(&mut b);
    #[allow(
        clippy::disallowed_methods,
        reason = "a base instant; only offsets matter"
    )]
    let t0 = Instant::now();
    let Ok(mut cache) = NeighborCache::new(config, t0) else {
        return Ok(());
    };
    let mut run = Run {
        now: t0,
        shadow: BTreeMap::new(),
        sent: 0,
        returned: 0,
    };
    let mut steps = 0u32;
    while !b.is_empty() && steps < 2000 {
        steps = steps.saturating_add(1);
        let op = b.u8() % 12;
        if op >= 9 {
            run.now = match op {
                9 => run
                    .now
                    .checked_add(Duration::from_millis(u64::from(b.u16())))
                    .unwrap_or(run.now),
                10 => cache.poll_timeout().unwrap_or(run.now).max(run.now),
                _ => run.now,
            };
            cache.handle_timeout(run.now);
            run.drain(&mut cache)?;
            if cache.poll_timeout().is_some_and(|t| t <= run.now) {
                return Err(format!("{op}: poll_timeout not after handle_timeout(now)"));
            }
            continue;
        }
        let frame;
        let input = match op {
            0 => Input::Frame(b.slice(120)),
            1 => {
                frame = arp_frame(&mut b).to_bytes();
                Input::Frame(&frame)
            }
            2 => {
                frame = nd_frame(&mut b).to_bytes();
                Input::Frame(&frame)
            }
            3 => {
                run.sent = run.sent.saturating_add(1);
                let dst = ip(&mut b);
                let len = usize::from(b.u8() % 64);
                let mut packet = vec![b.u8(); len];
                if let (Some(first), IpAddr::V4(_)) = (packet.first_mut(), dst) {
                    *first = 0x45;
                }
                Input::Send { dst, packet }
            }
            4 => Input::Confirm(ip(&mut b)),
            5 => Input::AddStatic(ip(&mut b), mac(&mut b)),
            6 => Input::Remove(ip(&mut b)),
            7 => Input::Flush,
            _ => {
                // A clean reply for a random pool address.
                let peer = ip(&mut b);
                frame = reply_for(peer, mac(&mut b)).to_bytes();
                Input::Frame(&frame)
            }
        };
        cache.handle(run.now, input);
        run.drain(&mut cache)?;
        if cache.poll_timeout().is_some_and(|t| t < run.now) {
            return Err(format!("{op}: poll_timeout in the past after handle"));
        }
    }
    Ok(())
}

/// What the driver knows from outputs alone.
struct Run {
    now: Instant,
    shadow: BTreeMap<IpAddr, NeighborState>,
    sent: usize,
    returned: usize,
}

impl Run {
    fn drain(&mut self, cache: &mut NeighborCache) -> Result<(), String> {
        while let Some(out) = cache.poll_output() {
            match out {
                Output::Transmit(bytes) => {
                    let f = parse_frame(&bytes).map_err(|e| format!("transmitted frame: {e}"))?;
                    if f.eth.src != ME || matches!(f.payload, Payload::Other(_)) {
                        return Err(format!("odd transmitted frame {f:?}"));
                    }
                }
                Output::Deliver { dst, mac, .. } => {
                    self.returned = self.returned.saturating_add(1);
                    if mac == MacAddr::ZERO || mac == ME {
                        return Err(format!("delivery to {dst} at {mac}"));
                    }
                }
                Output::Unreachable { dropped, .. } => {
                    self.returned = self.returned.saturating_add(dropped.len());
                }
                Output::QueueOverflow { .. } => {
                    self.returned = self.returned.saturating_add(1);
                }
                Output::StateChanged { ip, from, to, .. } => {
                    let before = self.shadow.get(&ip).copied();
                    if before != from {
                        return Err(format!("{ip}: change from {from:?}, shadow has {before:?}"));
                    }
                    match to {
                        Some(s) => self.shadow.insert(ip, s),
                        None => self.shadow.remove(&ip),
                    };
                }
                Output::AppProbe { .. } | Output::Dropped { .. } => {}
            }
        }
        cache.check_invariants()?;
        let actual: BTreeMap<IpAddr, NeighborState> =
            cache.entries().map(|e| (e.ip, e.state)).collect();
        if actual != self.shadow {
            return Err(format!(
                "entries {actual:?} but events say {:?}",
                self.shadow
            ));
        }
        let queued: usize = cache.entries().map(|e| e.queued).sum();
        if self.returned.saturating_add(queued) != self.sent {
            return Err(format!(
                "{} packets sent, {} returned, {queued} queued",
                self.sent, self.returned
            ));
        }
        Ok(())
    }
}

fn config(b: &mut Bytes<'_>) -> Config {
    let policy = |v: u8| match v % 3 {
        0 => AcceptPolicy::Never,
        1 => AcceptPolicy::Always,
        _ => AcceptPolicy::SameSubnet,
    };
    let t1 = usize::from(b.u8() % 4);
    let t2 = t1.saturating_add(usize::from(b.u8() % 4));
    let t3 = t2.saturating_add(1).saturating_add(usize::from(b.u8() % 4));
    let flags = b.u8();
    Config {
        mac: ME,
        vlans: Vec::new(),
        ipv4: vec![(V4_OURS, 24), (Ipv4Addr::new(198, 51, 100, 1), 30)],
        ipv6: vec![(V6_OURS, 64), (V6_LL_OURS, 64)],
        seed: u64::from(b.u32()),
        base_reachable_time: Duration::from_millis(u64::from(b.u16()).saturating_add(1)),
        retrans_time: Duration::from_millis(u64::from(b.u8()).saturating_add(1).saturating_mul(10)),
        delay_first_probe_time: Duration::from_millis(u64::from(b.u8()).saturating_mul(50)),
        ucast_solicit: u32::from(b.u8() % 4),
        app_solicit: u32::from(b.u8() % 3),
        mcast_solicit: u32::from(b.u8() % 4),
        mcast_resolicit: u32::from(b.u8() % 3),
        gc_stale_time: Duration::from_millis(u64::from(b.u16())),
        gc_thresh1: t1,
        gc_thresh2: t2,
        gc_thresh3: t3,
        unres_qlen: usize::from(b.u8() % 5),
        unres_qlen_bytes: usize::from(b.u8()),
        locktime: Duration::from_millis(u64::from(b.u16())),
        arp_accept: policy(flags),
        accept_untracked_na: policy(flags >> 2),
        forwarding: flags & 0x80 != 0,
    }
}

fn mac(b: &mut Bytes<'_>) -> MacAddr {
    match b.u8() % 12 {
        0 => MacAddr::BROADCAST,
        1 => MacAddr::ZERO,
        2 => ME,
        3 => MacAddr([0x01, 0x00, 0x5e, 0, 0, 1]),
        n => MacAddr([0x02, 0, 0, 0, 0x01, n]),
    }
}

fn v4(b: &mut Bytes<'_>) -> Ipv4Addr {
    match b.u8() % 16 {
        0 => V4_OURS,
        1 => Ipv4Addr::UNSPECIFIED,
        2 => Ipv4Addr::new(192, 0, 2, 255),
        3 => Ipv4Addr::new(203, 0, 113, 5),
        4 => Ipv4Addr::new(224, 0, 0, 1),
        5 => Ipv4Addr::LOCALHOST,
        6 => Ipv4Addr::BROADCAST,
        7 => Ipv4Addr::new(198, 51, 100, 2),
        n => Ipv4Addr::new(192, 0, 2, n),
    }
}

fn v6(b: &mut Bytes<'_>) -> Ipv6Addr {
    match b.u8() % 16 {
        0 => V6_OURS,
        1 => V6_LL_OURS,
        2 => Ipv6Addr::UNSPECIFIED,
        3 => Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1),
        4 => Ipv6Addr::LOCALHOST,
        5 => Ipv6Addr::new(0x2001, 0xdb9, 0, 0, 0, 0, 0, 5),
        6 => Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2),
        n => Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(n)),
    }
}

fn ip(b: &mut Bytes<'_>) -> IpAddr {
    if b.u8() & 1 == 0 {
        v4(b).into()
    } else {
        v6(b).into()
    }
}

fn eth_dst(b: &mut Bytes<'_>, multicast: MacAddr) -> MacAddr {
    match b.u8() % 4 {
        0 => ME,
        1 => multicast,
        _ => mac(b),
    }
}

fn arp_frame(b: &mut Bytes<'_>) -> Frame {
    let sha = mac(b);
    let arp = ArpRepr {
        operation: if b.u8() & 1 == 0 {
            ArpOperation::Request
        } else {
            ArpOperation::Reply
        },
        sha,
        spa: v4(b),
        tha: match b.u8() % 3 {
            0 => MacAddr::ZERO,
            1 => sha,
            _ => mac(b),
        },
        tpa: v4(b),
    };
    let mut f = Frame::arp_request(sha, arp.spa, arp.tpa);
    f.eth.dst = eth_dst(b, MacAddr::BROADCAST);
    f.payload = Payload::Arp(arp);
    f
}

fn nd_frame(b: &mut Bytes<'_>) -> Frame {
    let src_mac = mac(b);
    let src = v6(b);
    let target = v6(b);
    let lladdr = (b.u8() & 1 == 0).then(|| mac(b));
    let mut f = if b.u8() & 1 == 0 {
        Frame::neighbor_solicit(src_mac, src, target, None)
    } else {
        let flags = NaFlags::from_bits(b.u8());
        Frame::neighbor_advert(src_mac, src, ME, v6(b), target, flags)
    };
    f.eth.dst = eth_dst(
        b,
        MacAddr::ipv6_multicast(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1)),
    );
    let hop_limit = if b.u8().is_multiple_of(8) {
        b.u8()
    } else {
        255
    };
    if let Payload::Ndisc(nd) = &mut f.payload {
        nd.hop_limit = hop_limit;
        if b.u8() & 1 == 0 {
            nd.dst = v6(b);
        }
        nd.repr = match nd.repr {
            NdiscRepr::NeighborSolicit { target, .. } => NdiscRepr::NeighborSolicit {
                target,
                source_lladdr: lladdr,
            },
            NdiscRepr::NeighborAdvert { flags, target, .. } => NdiscRepr::NeighborAdvert {
                flags,
                target,
                target_lladdr: lladdr,
            },
        };
    }
    f
}

/// A well-formed unicast answer from `peer` at `mac`: ARP reply or solicited NA.
fn reply_for(peer: IpAddr, mac: MacAddr) -> Frame {
    match peer {
        IpAddr::V4(a) => Frame::arp_reply(mac, a, ME, V4_OURS),
        IpAddr::V6(a) => Frame::neighbor_advert(
            mac,
            a,
            ME,
            V6_OURS,
            a,
            NaFlags {
                router: false,
                solicited: true,
                override_: true,
            },
        ),
    }
}
