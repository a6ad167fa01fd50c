//! Port Transmit state machine (17.26) with TxHoldCount; builds the BPDUs of
//! txConfig(), txTcn() and txRstp() (17.21.19–17.21.21).

use super::{Ctx, Fx};
use crate::bpdu::{Bpdu, BpduBody, BpduFrame, BpduRole, Flags};
use crate::bridge::Output;
use crate::port::{Port, PortRole};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    TransmitInit,
    Idle,
}

pub(crate) fn enter_transmit_init(p: &mut Port) {
    p.ptx = State::TransmitInit;
    p.new_info = true;
    p.tx_count = 0;
}

fn enter_idle(p: &mut Port) {
    p.ptx = State::Idle;
    p.hello_when = p.hello_time();
}

fn body(p: &Port, flags: Flags) -> BpduBody {
    let d = p.designated_priority;
    BpduBody {
        flags,
        root: d.root,
        root_path_cost: d.root_path_cost,
        bridge: d.designated_bridge,
        port: d.designated_port,
        times: p.designated_times.to_bpdu(),
    }
}

fn tc_flag(p: &Port) -> u8 {
    if p.tc_while != 0 { Flags::TC } else { 0 }
}

fn send(p: &mut Port, bpdu: Bpdu, fx: &mut Fx<'_>) {
    p.tx_count = p.tx_count.saturating_add(1);
    if p.cfg.bpdu_filter {
        return;
    }
    p.counters.tx_bpdu = p.counters.tx_bpdu.saturating_add(1);
    let frame = BpduFrame { src: p.mac, bpdu }.to_bytes();
    fx.out.push_back(Output::Transmit {
        port: p.number(),
        frame,
    });
}

/// txRstp() (17.21.20).
fn tx_rstp(p: &mut Port, fx: &mut Fx<'_>) {
    let role = match p.role {
        PortRole::Root => BpduRole::Root,
        PortRole::Designated => BpduRole::Designated,
        PortRole::Alternate | PortRole::Backup => BpduRole::AlternateOrBackup,
        PortRole::Disabled => BpduRole::Unknown,
    };
    let mut bits = tc_flag(p);
    for (on, bit) in [
        (p.proposing, Flags::PROPOSAL),
        (p.learning, Flags::LEARNING),
        (p.forwarding, Flags::FORWARDING),
        (p.agree, Flags::AGREEMENT),
    ] {
        if on {
            bits |= bit;
        }
    }
    if role == BpduRole::Designated {
        p.offered = true;
    }
    let b = body(p, Flags(bits).with_role(role));
    send(
        p,
        Bpdu::Rst {
            version: 2,
            body: b,
        },
        fx,
    );
}

/// txConfig() (17.21.19).
fn tx_config(p: &mut Port, fx: &mut Fx<'_>) {
    let mut bits = tc_flag(p);
    if p.tc_ack {
        bits |= Flags::TCA;
    }
    let b = body(p, Flags(bits));
    send(
        p,
        Bpdu::Config {
            version: 0,
            body: b,
        },
        fx,
    );
}

pub(crate) fn step(p: &mut Port, ctx: &Ctx, fx: &mut Fx<'_>) -> bool {
    if !p.port_enabled {
        if p.ptx == State::TransmitInit {
            return false;
        }
        enter_transmit_init(p);
        return true;
    }
    if p.ptx == State::TransmitInit {
        enter_idle(p);
        return true;
    }
    if !p.selected || p.updt_info {
        return false;
    }
    let can_send = p.tx_count < ctx.tx_hold_count && p.hello_when != 0 && p.new_info;
    if p.hello_when == 0 {
        // TRANSMIT_PERIODIC
        p.new_info = p.new_info
            || p.role == PortRole::Designated
            || (p.role == PortRole::Root && p.tc_while != 0);
    } else if can_send && p.send_rstp {
        // TRANSMIT_RSTP
        p.new_info = false;
        tx_rstp(p, fx);
        p.tc_ack = false;
    } else if can_send && p.role == PortRole::Root {
        if p.tc_while != 0 {
            // TRANSMIT_TCN
            p.new_info = false;
            send(p, Bpdu::Tcn { version: 0 }, fx);
        } else {
            // Nothing to notify: 802.1D-1998 root ports send TCNs only while
            // a topology change is in progress (deviation from the 2004
            // figure, which would send one after ROOT_AGREED).
            p.new_info = false;
            return true;
        }
    } else if can_send && p.role == PortRole::Designated {
        // TRANSMIT_CONFIG
        p.new_info = false;
        tx_config(p, fx);
        p.tc_ack = false;
    } else {
        return false;
    }
    enter_idle(p);
    true
}
