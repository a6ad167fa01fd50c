//! Fuzz entry `rstp_bridge`: a bridge configuration and a sequence of link
//! events, BPDUs (structured and raw), configuration changes and time steps
//! decoded from the bytes drive a [`Bridge`].
//!
//! Invariants after every input: transmitted frames parse and come from the
//! port's MAC; no port sends more than TxHoldCount BPDUs per tick; only Root
//! and Designated ports learn or forward; disabled ports discard; the last
//! `SetPortState` of each port matches its status; the bridge is root
//! exactly when it has no root port; `poll_timeout` lies after `now`; the
//! machines always settle.

use std::time::{Duration, Instant};

use super::Bytes;
use crate::bpdu::{Bpdu, BpduBody, BpduFrame, BpduTimes, Flags};
use crate::bridge::{Bridge, Input, Output};
use crate::config::{AdminP2p, BridgeConfig, Duplex, PortConfig, ProtocolVersion};
use crate::id::{BridgeId, MacAddr, PortId};
use crate::port::{PortRole, PortState};

const MAC: MacAddr = [0x02, 0, 0, 0, 0, 0x50];
const MAX_STEPS: usize = 512;
const PORTS: u16 = 4;

fn bridge_id(b: &mut Bytes<'_>) -> BridgeId {
    let v = b.u8();
    let mac = match v % 4 {
        0 => MAC,
        _ => [0x02, 0, 0, 0, 0, v >> 2],
    };
    BridgeId::new(u16::from(b.u8() % 16) << 12, mac)
}

fn times(b: &mut Bytes<'_>) -> BpduTimes {
    match b.u8() % 4 {
        0 => BpduTimes {
            message_age: b.u16(),
            max_age: b.u16(),
            hello_time: b.u16(),
            forward_delay: b.u16(),
        },
        sel => BpduTimes::from_secs(u16::from(sel), 20, 2, 15),
    }
}

fn structured_bpdu(b: &mut Bytes<'_>) -> Bpdu {
    let kind = b.u8();
    let body = BpduBody {
        flags: Flags(b.u8()),
        root: bridge_id(b),
        root_path_cost: match b.u8() % 3 {
            0 => 0,
            1 => u32::from(b.u8()).saturating_mul(20_000),
            _ => b.u32(),
        },
        bridge: bridge_id(b),
        port: PortId::new(b.u8() & 0xf0, u16::from(b.u8() % 6)),
        times: times(b),
    };
    match kind % 4 {
        0 => Bpdu::Config { version: 0, body },
        1 => Bpdu::Tcn { version: 0 },
        _ => Bpdu::Rst { version: 2, body },
    }
}

fn port_config(b: &mut Bytes<'_>) -> PortConfig {
    let flags = b.u16();
    let bit = |n: u16| flags & (1 << n) != 0;
    let mut c = PortConfig::new(u16::from(b.u8() % 6));
    c.priority = b.u8() & 0xf0;
    c.path_cost = bit(0).then(|| b.u32() % 200_000_001);
    c.admin_edge = bit(1);
    c.auto_edge = bit(2);
    c.admin_p2p = match (bit(3), bit(4)) {
        (false, _) => AdminP2p::Auto,
        (true, false) => AdminP2p::ForceTrue,
        (true, true) => AdminP2p::ForceFalse,
    };
    c.bpdu_guard = bit(5) && bit(6);
    c.bpdu_filter = bit(7) && bit(8);
    c.restricted_role = bit(9);
    c.restricted_tcn = bit(10);
    c.loop_guard = bit(11);
    c
}

fn config(b: &mut Bytes<'_>) -> BridgeConfig {
    let mut c = BridgeConfig::new(MAC, PORTS);
    c.priority = u16::from(b.u8() % 16) << 12;
    c.tx_hold_count = (b.u8() % 10).saturating_add(1);
    let sel = b.u8();
    if sel & 1 != 0 {
        c.force_protocol_version = ProtocolVersion::Stp;
    }
    if sel & 2 != 0 {
        c.tc_flood_limit = Some(u16::from(b.u8() % 4));
    }
    if sel & 4 != 0 {
        c.hello_time = 1;
        c.max_age = 6;
        c.forward_delay = 4;
    }
    for p in &mut c.ports {
        let mut pc = port_config(b);
        pc.number = p.number;
        *p = pc;
    }
    c
}

/// Runs the bridge on the decoded inputs; see the module docs.
pub fn bridge(data: &[u8]) -> Result<(), String> {
    let mut b = Bytes::new(data);
    let cfg = config(&mut b);
    let hold = usize::from(cfg.tx_hold_count);
    #[allow(
        clippy::disallowed_methods,
        reason = "fuzz harness: only a base instant"
    )]
    let mut now = Instant::now();
    let Ok(mut bridge) = Bridge::new(cfg, now) else {
        return Ok(());
    };
    let mut last_state: [Option<PortState>; 6] = [None; 6];
    drain(&mut bridge, &mut last_state, hold, 1)?;
    for _ in 0..MAX_STEPS {
        if b.is_empty() {
            break;
        }
        let port = u16::from(b.u8() % 6);
        let mut ticks = 1usize;
        match b.u8() % 10 {
            0 | 1 => {
                let speed = [0, 10, 100, 1000, 10_000, u32::MAX]
                    .get(usize::from(b.u8() % 6))
                    .copied()
                    .unwrap_or(0);
                let duplex = if b.u8().is_multiple_of(4) {
                    Duplex::Half
                } else {
                    Duplex::Full
                };
                bridge.handle(
                    now,
                    Input::LinkUp {
                        port,
                        speed_mbps: speed,
                        duplex,
                    },
                );
            }
            2 => bridge.handle(now, Input::LinkDown { port }),
            3 => bridge.handle(now, Input::Mcheck { port }),
            4 | 5 => {
                let frame = BpduFrame {
                    src: [0x02, 0, 0, 0, 1, b.u8()],
                    bpdu: structured_bpdu(&mut b),
                }
                .to_bytes();
                bridge.handle(
                    now,
                    Input::Bpdu {
                        port,
                        bytes: &frame,
                    },
                );
            }
            6 => {
                let raw = b.slice(80);
                bridge.handle(now, Input::Bpdu { port, bytes: raw });
            }
            7 => bridge.handle(now, Input::SetPortConfig(port_config(&mut b))),
            8 => bridge.handle(now, Input::SetBridgePriority(b.u16())),
            _ => {
                let step = Duration::from_millis(u64::from(b.u16() % 4000));
                now = now.checked_add(step).unwrap_or(now);
                ticks = ticks
                    .saturating_add(usize::try_from(step.as_secs()).unwrap_or(0))
                    .saturating_add(1);
                bridge.handle_timeout(now);
            }
        }
        drain(&mut bridge, &mut last_state, hold, ticks)?;
        check_state(&bridge, &last_state, now)?;
    }
    Ok(())
}

fn drain(
    bridge: &mut Bridge,
    last_state: &mut [Option<PortState>; 6],
    hold: usize,
    ticks: usize,
) -> Result<(), String> {
    let mut sent = [0usize; 6];
    while let Some(out) = bridge.poll_output() {
        match out {
            Output::Transmit { port, frame } => {
                let f = BpduFrame::parse(&frame)
                    .map_err(|e| format!("own BPDU does not parse: {e}"))?;
                let mac = bridge
                    .port_status(port)
                    .and_then(|p| p.config.mac)
                    .unwrap_or(MAC);
                if f.src != mac {
                    return Err(format!("port {port} sent from {:?}", f.src));
                }
                let slot = sent
                    .get_mut(usize::from(port))
                    .ok_or("transmit on unknown port")?;
                *slot = slot.saturating_add(1);
                if *slot > hold.saturating_mul(ticks) {
                    return Err(format!(
                        "port {port}: {slot} BPDUs in {ticks} ticks, hold {hold}"
                    ));
                }
            }
            Output::SetPortState { port, state } => {
                *last_state
                    .get_mut(usize::from(port))
                    .ok_or("state of unknown port")? = Some(state);
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_state(
    bridge: &Bridge,
    last_state: &[Option<PortState>; 6],
    now: Instant,
) -> Result<(), String> {
    let st = bridge.status();
    if st.unsettled_runs != 0 {
        return Err("state machines did not settle".into());
    }
    if bridge.poll_timeout().is_none_or(|t| t <= now) {
        return Err("poll_timeout not after now".into());
    }
    if st.is_root != st.root_port.is_none() {
        return Err(format!(
            "is_root {} with root port {:?}",
            st.is_root, st.root_port
        ));
    }
    let mut roots = 0u32;
    for p in bridge.ports_status() {
        if p.role == PortRole::Root {
            roots = roots.saturating_add(1);
        }
        if p.state != PortState::Discarding
            && !matches!(p.role, PortRole::Root | PortRole::Designated)
        {
            return Err(format!("port {} {:?} while {:?}", p.port, p.state, p.role));
        }
        if !p.enabled && (p.state != PortState::Discarding || p.role != PortRole::Disabled) {
            return Err(format!(
                "disabled port {} is {:?} {:?}",
                p.port, p.role, p.state
            ));
        }
        if last_state.get(usize::from(p.port)).copied().flatten() != Some(p.state) {
            return Err(format!(
                "port {} reported {:?}, is {:?}",
                p.port,
                last_state.get(usize::from(p.port)),
                p.state
            ));
        }
    }
    if roots > 1 {
        return Err(format!("{roots} root ports"));
    }
    Ok(())
}
