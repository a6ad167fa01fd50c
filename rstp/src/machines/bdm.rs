//! Bridge Detection state machine (17.25): operEdge.

use super::{Ctx, Fx};
use crate::port::Port;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Edge,
    NotEdge,
}

pub(crate) fn begin(p: &mut Port) {
    if p.cfg.admin_edge {
        p.bdm = State::Edge;
        p.oper_edge = true;
    } else {
        p.bdm = State::NotEdge;
        p.oper_edge = false;
    }
}

pub(crate) fn step(p: &mut Port, _ctx: &Ctx, _fx: &mut Fx<'_>) -> bool {
    match p.bdm {
        State::Edge if (!p.port_enabled && !p.cfg.admin_edge) || !p.oper_edge => {
            p.bdm = State::NotEdge;
            p.oper_edge = false;
            true
        }
        State::NotEdge
            if (!p.port_enabled && p.cfg.admin_edge)
                || (p.edge_delay_while == 0 && p.cfg.auto_edge && p.send_rstp && p.proposing) =>
        {
            p.bdm = State::Edge;
            p.oper_edge = true;
            true
        }
        _ => false,
    }
}
