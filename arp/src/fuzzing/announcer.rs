//! Fuzz entry `announcer`: a configuration and a sequence of inputs and
//! time steps decoded from the bytes drive an [`Announcer`].
//!
//! Invariants: every transmitted frame parses back with `parse_frame` and
//! announces its address from the configured MAC; the number of frames
//! between two drains is bounded; `poll_timeout` after a call is later than
//! that call's `now` (or `None` when stopped); nothing is transmitted after
//! `Stop` until the next start.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use super::Bytes;
use crate::MacAddr;
use crate::announcer::{Announcer, Config, GarpForm, Input, MAX_PENDING_BURSTS, Output};
use crate::wire::ndisc::NdiscRepr;
use crate::wire::{Payload, parse_frame};

const MAC: MacAddr = MacAddr([0x00, 0x00, 0x5e, 0x00, 0x01, 0x33]);
const MAX_STEPS: usize = 256;

fn address(b: &mut Bytes<'_>) -> IpAddr {
    let kind = b.u8();
    let low = b.u16();
    match kind % 4 {
        0 => IpAddr::V4(Ipv4Addr::new(10, 0, 0, u8::try_from(low % 8).unwrap_or(0))),
        1 => IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, low & 0x7)),
        2 => IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, low)),
        // Mostly valid, sometimes 0.0.0.0 or a multicast address.
        _ => IpAddr::V4(Ipv4Addr::from(u32::from(low).wrapping_mul(0x0101_0101))),
    }
}

fn ms(b: &mut Bytes<'_>) -> Duration {
    Duration::from_millis(u64::from(b.u8() % 16).saturating_mul(10))
}

fn check(ann: &mut Announcer, now: Instant, bound: usize, stopped: bool) -> Result<(), String> {
    let mut frames = 0usize;
    while let Some(out) = ann.poll_output() {
        let Output::Transmit { address, frame } = out else {
            continue;
        };
        if stopped {
            return Err(format!("transmit of {address} after Stop"));
        }
        frames = frames.saturating_add(1);
        let parsed = parse_frame(&frame).map_err(|e| format!("own frame does not parse: {e}"))?;
        if parsed.eth.src != MAC {
            return Err("wrong source MAC".into());
        }
        match (address, parsed.payload) {
            (IpAddr::V4(ip), Payload::Arp(arp)) => {
                if arp.spa != ip || arp.tpa != ip || arp.sha != MAC || !arp.is_gratuitous() {
                    return Err(format!("bad GARP for {ip}: {arp:?}"));
                }
            }
            (IpAddr::V6(ip), Payload::Ndisc(nd)) => match nd.repr {
                NdiscRepr::NeighborAdvert { target, .. } if target == ip && nd.src == ip => {}
                other => return Err(format!("bad NA for {ip}: {other:?}")),
            },
            (a, p) => return Err(format!("payload {p:?} for {a}")),
        }
    }
    if frames > bound {
        return Err(format!("{frames} frames in one step, bound {bound}"));
    }
    match ann.poll_timeout() {
        Some(t) if t <= now => Err("poll_timeout not after now".into()),
        Some(_) if !ann.is_running() => Err("timeout while stopped".into()),
        _ => Ok(()),
    }
}

/// Drives `announcer` with arbitrary input; `Err` names a violated invariant.
pub fn announcer(data: &[u8]) -> Result<(), String> {
    let mut b = Bytes::new(data);
    let mut cfg = Config::keepalived(MAC);
    cfg.garp_form = match b.u8() % 3 {
        0 => GarpForm::Request,
        1 => GarpForm::Reply,
        _ => GarpForm::Kernel,
    };
    cfg.na_router = b.u8() & 1 == 1;
    cfg.initial_delay = ms(&mut b);
    cfg.repeat = u32::from(b.u8() % 6);
    cfg.repeat_interval = ms(&mut b);
    cfg.garp_interval = ms(&mut b);
    cfg.gna_interval = ms(&mut b);
    cfg.min_gap = ms(&mut b);
    cfg.second_burst_delay = ms(&mut b);
    cfg.refresh = ms(&mut b);
    cfg.refresh_repeat = u32::from(b.u8() % 4);
    cfg.lower_prio_repeat = u32::from(b.u8() % 4);
    cfg.lower_prio_delay = ms(&mut b);
    for _ in 0..(b.u8() % 4) {
        cfg.addresses.push(address(&mut b));
    }
    #[allow(
        clippy::disallowed_methods,
        reason = "fuzz harness: only a base instant"
    )]
    let mut now = Instant::now();
    let Ok(mut ann) = Announcer::new(cfg.clone(), now) else {
        return Ok(());
    };
    let max_repeat = cfg
        .repeat
        .max(cfg.refresh_repeat)
        .max(cfg.lower_prio_repeat);
    let per_address = MAX_PENDING_BURSTS
        .saturating_add(1)
        .saturating_mul(usize::try_from(max_repeat).unwrap_or(usize::MAX));
    let mut max_addresses = ann.addresses().len();
    let mut stopped = true;
    let mut steps = 0;
    while !b.is_empty() && steps < MAX_STEPS {
        steps = steps.saturating_add(1);
        match b.u8() % 9 {
            0 => {
                ann.handle(now, Input::Start);
                stopped = false;
            }
            1 => {
                let list: Vec<IpAddr> = (0..(b.u8() % 5)).map(|_| address(&mut b)).collect();
                ann.handle(now, Input::StartWith(&list));
                stopped = false;
            }
            2 => {
                ann.handle(now, Input::Stop);
                stopped = true;
            }
            3 => ann.handle(now, Input::AddAddress(address(&mut b))),
            4 => ann.handle(now, Input::RemoveAddress(address(&mut b))),
            5 => ann.handle(now, Input::LowerPriorityHeard),
            6 => ann.handle(now, Input::RefreshNow),
            7 => {
                // Any step, including spurious early timeouts.
                now = now
                    .checked_add(Duration::from_millis(u64::from(b.u8())))
                    .unwrap_or(now);
                ann.handle_timeout(now);
            }
            _ => {
                if let Some(t) = ann.poll_timeout() {
                    now = now.max(t);
                }
                ann.handle_timeout(now);
            }
        }
        max_addresses = max_addresses.max(ann.addresses().len());
        if max_addresses > MAX_STEPS.saturating_mul(5) {
            return Err("address list grew faster than the inputs".into());
        }
        check(
            &mut ann,
            now,
            per_address.saturating_mul(max_addresses),
            stopped,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::announcer;
    use crate::rng::SplitMix64;

    #[test]
    fn random_inputs_keep_the_invariants() {
        let mut rng = SplitMix64::new(0x05ee_da11);
        for _ in 0..3000 {
            let len = usize::try_from(rng.below(200)).unwrap();
            let data: Vec<u8> = (0..len).map(|_| rng.next_u64().to_le_bytes()[0]).collect();
            announcer(&data).unwrap_or_else(|e| panic!("{e} for {data:?}"));
        }
    }
}
