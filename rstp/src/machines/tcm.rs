//! Topology Change state machine (17.31), with FDB flushes reported as
//! `FlushFdb` outputs and 802.1Q restrictedTcn.

use super::{Ctx, Fx};
use crate::bridge::Output;
use crate::port::{Port, PortRole};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Inactive,
    Learning,
    Active,
}

/// fdbFlush = TRUE: flushed at once, so fdbFlush is FALSE again on return.
fn flush(p: &mut Port, fx: &mut Fx<'_>) {
    p.counters.fdb_flushes = p.counters.fdb_flushes.saturating_add(1);
    fx.out.push_back(Output::FlushFdb { port: p.number() });
    p.fdb_flush = false;
}

pub(crate) fn enter_inactive(p: &mut Port, fx: &mut Fx<'_>) {
    p.tcm = State::Inactive;
    p.fdb_flush = true;
    flush(p, fx);
    p.tc_while = 0;
    p.tc_ack = false;
}

fn enter_learning(p: &mut Port) {
    p.tcm = State::Learning;
    p.rcvd_tc = false;
    p.rcvd_tcn = false;
    p.rcvd_tc_ack = false;
    p.tc_prop = false;
}

/// newTcWhile() (17.21.7).
fn new_tc_while(p: &mut Port, ctx: &Ctx) {
    if p.tc_while == 0 {
        if p.send_rstp {
            p.tc_while = p.hello_time().saturating_add(1);
            p.new_info = true;
        } else {
            p.tc_while = ctx
                .root_times
                .max_age
                .saturating_add(ctx.root_times.forward_delay);
        }
    }
}

fn root_or_designated(p: &Port) -> bool {
    matches!(p.role, PortRole::Root | PortRole::Designated)
}

pub(crate) fn step(p: &mut Port, ctx: &Ctx, fx: &mut Fx<'_>) -> bool {
    let any_rcvd = p.rcvd_tc || p.rcvd_tcn || p.rcvd_tc_ack || p.tc_prop;
    match p.tcm {
        State::Inactive => {
            if p.learn && !p.fdb_flush {
                enter_learning(p);
                return true;
            }
            false
        }
        State::Learning => {
            if root_or_designated(p) && p.forward && !p.oper_edge {
                // DETECTED
                new_tc_while(p, ctx);
                fx.tc_prop_tree = true;
                p.new_info = true;
                p.tcm = State::Active;
            } else if any_rcvd {
                enter_learning(p);
            } else if !(root_or_designated(p) || p.learn || p.learning) {
                enter_inactive(p, fx);
            } else {
                return false;
            }
            true
        }
        State::Active => {
            if !root_or_designated(p) || p.oper_edge {
                enter_learning(p);
            } else if p.rcvd_tcn || p.rcvd_tc {
                if p.rcvd_tcn {
                    // NOTIFIED_TCN
                    new_tc_while(p, ctx);
                }
                // NOTIFIED_TC
                p.rcvd_tcn = false;
                p.rcvd_tc = false;
                if p.role == PortRole::Designated {
                    p.tc_ack = true;
                }
                if !p.cfg.restricted_tcn {
                    fx.tc_prop_tree = true;
                }
            } else if p.tc_prop && !p.oper_edge {
                // PROPAGATING
                new_tc_while(p, ctx);
                p.fdb_flush = true;
                flush(p, fx);
                p.tc_prop = false;
            } else if p.rcvd_tc_ack {
                // ACKNOWLEDGED
                p.tc_while = 0;
                p.rcvd_tc_ack = false;
            } else {
                return false;
            }
            true
        }
    }
}
