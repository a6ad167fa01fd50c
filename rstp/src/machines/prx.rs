//! Port Receive state machine (17.23).

use super::{Ctx, Fx};
use crate::bpdu::Bpdu;
use crate::config::MIGRATE_TIME;
use crate::port::Port;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Discard,
    Receive,
}

pub(crate) fn enter_discard(p: &mut Port) {
    p.prx = State::Discard;
    p.rcvd_bpdu = false;
    p.rcvd_rstp = false;
    p.rcvd_stp = false;
    p.rcvd_msg = false;
    p.rx = None;
    p.edge_delay_while = MIGRATE_TIME;
}

fn enter_receive(p: &mut Port) {
    p.prx = State::Receive;
    updt_bpdu_version(p);
    p.oper_edge = false;
    p.rcvd_bpdu = false;
    p.rcvd_msg = true;
    p.edge_delay_while = MIGRATE_TIME;
}

/// updtBPDUVersion (17.21.22); TCN BPDUs also set rcvdTcn here because
/// they carry no information for the Port Information machine (setTcFlags,
/// 17.21.17).
fn updt_bpdu_version(p: &mut Port) {
    match p.rx.map(|r| r.bpdu) {
        Some(Bpdu::Rst { .. }) => p.rcvd_rstp = true,
        Some(Bpdu::Tcn { .. }) => {
            p.rcvd_stp = true;
            p.rcvd_tcn = true;
        }
        Some(Bpdu::Config { .. }) => p.rcvd_stp = true,
        None => {}
    }
}

pub(crate) fn step(p: &mut Port, _ctx: &Ctx, _fx: &mut Fx<'_>) -> bool {
    if (p.rcvd_bpdu || p.edge_delay_while != MIGRATE_TIME) && !p.port_enabled {
        enter_discard(p);
        return true;
    }
    match p.prx {
        State::Discard if p.rcvd_bpdu && p.port_enabled => {
            enter_receive(p);
            true
        }
        State::Receive if p.rcvd_bpdu && p.port_enabled && !p.rcvd_msg => {
            enter_receive(p);
            true
        }
        _ => false,
    }
}
