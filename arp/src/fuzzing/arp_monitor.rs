//! Fuzz entry `arp_monitor`: a configuration and a sequence of received
//! frames (raw or crafted ARP), role and carrier changes, target changes and
//! time steps decoded from the bytes drive an [`ArpMonitor`].
//!
//! Invariants: every probe parses back as an ARP request from the port's MAC
//! to a current target; per tick at most one probe per target and port and
//! one verdict per port; verdicts alternate per port and match
//! `link_state`; `poll_timeout` after a tick is later than the tick.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use super::Bytes;
use crate::MacAddr;
use crate::monitor::{
    AllTargets, ArpMonitor, ArpValidate, Config, Input, LinkState, MAX_TARGETS, Output, PortConfig,
    PortId,
};
use crate::wire::arp::{ArpOperation, ArpRepr};
use crate::wire::{Frame, Payload, parse_frame};

const MAX_STEPS: usize = 256;
const SOURCE: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn mac(i: u8) -> MacAddr {
    MacAddr([0x02, 0, 0, 0, 0, i.saturating_add(1)])
}

fn target(b: &mut Bytes<'_>) -> Ipv4Addr {
    match b.u8() % 8 {
        // Sometimes an invalid one.
        7 => Ipv4Addr::UNSPECIFIED,
        n => Ipv4Addr::new(10, 0, 0, n.saturating_add(10)),
    }
}

/// An ARP frame as a target or our own active port would send it.
fn crafted(b: &mut Bytes<'_>, port_mac: MacAddr) -> Vec<u8> {
    let t = target(b);
    let peer = MacAddr([0x02, 0xee, 0, 0, 0, 1]);
    let repr = match b.u8() % 4 {
        0 => ArpRepr::reply(peer, t, port_mac, SOURCE),
        1 => ArpRepr::request(port_mac, SOURCE, t),
        2 => ArpRepr::request(peer, t, SOURCE),
        _ => ArpRepr::gratuitous_request(peer, t),
    };
    let dst = if repr.operation == ArpOperation::Reply && b.u8() & 1 == 0 {
        port_mac
    } else {
        MacAddr::BROADCAST
    };
    Frame {
        eth: crate::wire::ethernet::EthernetRepr::new(
            dst,
            repr.sha,
            crate::wire::ethernet::ETHERTYPE_ARP,
        ),
        payload: Payload::Arp(repr),
    }
    .to_bytes()
}

/// Drains outputs and checks them; `reported` tracks the last verdict per port.
fn check(
    mon: &mut ArpMonitor,
    ports: &[PortConfig],
    reported: &mut [bool],
    source: Ipv4Addr,
) -> Result<(), String> {
    let mut probes = 0usize;
    let mut verdicts = 0usize;
    while let Some(out) = mon.poll_output() {
        match out {
            Output::Transmit { port, frame } => {
                probes = probes.saturating_add(1);
                let pc = ports
                    .iter()
                    .find(|p| p.id == port)
                    .ok_or("probe on unknown port")?;
                let f = parse_frame(&frame).map_err(|e| format!("probe does not parse: {e}"))?;
                let Payload::Arp(arp) = f.payload else {
                    return Err("probe is not ARP".into());
                };
                if arp.operation != ArpOperation::Request
                    || arp.sha != pc.mac
                    || f.eth.src != pc.mac
                    || !f.eth.dst.is_broadcast()
                    || arp.spa != source
                    || !mon.targets().contains(&arp.tpa)
                {
                    return Err(format!("bad probe {arp:?}"));
                }
            }
            Output::LinkUp { port } | Output::LinkDown { port } => {
                verdicts = verdicts.saturating_add(1);
                let up = matches!(out, Output::LinkUp { .. });
                let i = ports
                    .iter()
                    .position(|p| p.id == port)
                    .ok_or("verdict on unknown port")?;
                let slot = reported.get_mut(i).ok_or("port index")?;
                if *slot == up {
                    return Err(format!("repeated verdict {out:?}"));
                }
                *slot = up;
            }
        }
    }
    if probes > ports.len().saturating_mul(MAX_TARGETS) {
        return Err(format!("{probes} probes in one step"));
    }
    if verdicts > ports.len().saturating_mul(2) {
        return Err(format!("{verdicts} verdicts in one step"));
    }
    for (p, &up) in ports.iter().zip(reported.iter()) {
        if (mon.link_state(p.id) == Some(LinkState::Up)) != up {
            return Err(format!("port {:?} state differs from its verdicts", p.id));
        }
    }
    Ok(())
}

/// Drives `arp_monitor` with arbitrary input; `Err` names a violated invariant.
pub fn arp_monitor(data: &[u8]) -> Result<(), String> {
    let mut b = Bytes::new(data);
    let interval = Duration::from_millis(u64::from(b.u8()).saturating_add(1));
    let targets: Vec<Ipv4Addr> = (0..(b.u8() % 5)).map(|_| target(&mut b)).collect();
    let ports: Vec<PortConfig> = (0..(b.u8() % 4))
        .map(|i| PortConfig {
            id: PortId(u32::from(i)),
            mac: mac(i),
            carrier: !b.u8().is_multiple_of(4),
        })
        .collect();
    let mut cfg = Config::new(interval, targets, ports.clone());
    cfg.source_ip = (!b.u8().is_multiple_of(4)).then_some(SOURCE);
    cfg.validate = ArpValidate::from_kernel(b.u8() % 7).unwrap_or_default();
    cfg.all_targets = if b.u8() & 1 == 0 {
        AllTargets::Any
    } else {
        AllTargets::All
    };
    cfg.missed_max = b.u8() % 4;
    cfg.active = match b.u8() % 5 {
        4 => None,
        n => Some(PortId(u32::from(n))),
    };
    let source = cfg.source_ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
    #[allow(
        clippy::disallowed_methods,
        reason = "fuzz harness: only a base instant"
    )]
    let mut now = Instant::now();
    let Ok(mut mon) = ArpMonitor::new(cfg, now) else {
        return Ok(());
    };
    let mut reported: Vec<bool> = ports.iter().map(|p| p.carrier).collect();
    let pick = |b: &mut Bytes<'_>| PortId(u32::from(b.u8() % 4));
    let mut steps = 0;
    while !b.is_empty() && steps < MAX_STEPS {
        steps = steps.saturating_add(1);
        let mut ticked = false;
        match b.u8() % 9 {
            0 => {
                let port = pick(&mut b);
                let bytes = b.slice(128);
                mon.handle(now, Input::Frame { port, bytes });
            }
            1 | 2 => {
                let port = pick(&mut b);
                let m = ports
                    .iter()
                    .find(|p| p.id == port)
                    .map_or(mac(9), |p| p.mac);
                let frame = crafted(&mut b, m);
                mon.handle(
                    now,
                    Input::Frame {
                        port,
                        bytes: &frame,
                    },
                );
            }
            3 => {
                let port = (b.u8() % 5 != 4).then(|| pick(&mut b));
                mon.handle(now, Input::SetActive(port));
            }
            4 => {
                let port = pick(&mut b);
                let up = b.u8() & 1 == 1;
                mon.handle(now, Input::CarrierChanged { port, up });
            }
            5 => mon.handle(now, Input::AddTarget(target(&mut b))),
            6 => mon.handle(now, Input::RemoveTarget(target(&mut b))),
            7 => {
                // Up to one second, in microseconds.
                let step = Duration::from_micros(u64::from(b.u32() % 1_000_000));
                now = now.checked_add(step).unwrap_or(now);
                mon.handle_timeout(now);
                ticked = true;
            }
            _ => {
                if let Some(t) = mon.poll_timeout() {
                    now = now.max(t);
                }
                mon.handle_timeout(now);
                ticked = true;
            }
        }
        if ticked && mon.poll_timeout().is_none_or(|t| t <= now) {
            return Err("poll_timeout not after the tick".into());
        }
        if mon.targets().len() > MAX_TARGETS {
            return Err("more than MAX_TARGETS targets".into());
        }
        check(&mut mon, &ports, &mut reported, source)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::arp_monitor;
    use crate::rng::SplitMix64;

    #[test]
    fn random_inputs_keep_the_invariants() {
        let mut rng = SplitMix64::new(0xa2b_0001);
        for _ in 0..3000 {
            let len = usize::try_from(rng.below(300)).unwrap();
            let data: Vec<u8> = (0..len).map(|_| rng.next_u64().to_le_bytes()[0]).collect();
            arp_monitor(&data).unwrap_or_else(|e| panic!("{e} for {data:?}"));
        }
    }
}
