//! Port Protocol Migration state machine (17.24).

use super::{Ctx, Fx};
use crate::config::MIGRATE_TIME;
use crate::port::Port;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    CheckingRstp,
    SelectingStp,
    Sensing,
}

pub(crate) fn enter_checking_rstp(p: &mut Port, ctx: &Ctx) {
    p.ppm = State::CheckingRstp;
    p.mcheck = false;
    p.send_rstp = ctx.rstp_version;
    p.mdelay_while = MIGRATE_TIME;
}

fn enter_selecting_stp(p: &mut Port) {
    p.ppm = State::SelectingStp;
    p.send_rstp = false;
    p.mdelay_while = MIGRATE_TIME;
}

fn enter_sensing(p: &mut Port) {
    p.ppm = State::Sensing;
    p.rcvd_rstp = false;
    p.rcvd_stp = false;
}

pub(crate) fn step(p: &mut Port, ctx: &Ctx, _fx: &mut Fx<'_>) -> bool {
    match p.ppm {
        State::CheckingRstp => {
            if p.mdelay_while != MIGRATE_TIME && !p.port_enabled {
                enter_checking_rstp(p, ctx);
            } else if p.mdelay_while == 0 {
                enter_sensing(p);
            } else {
                return false;
            }
        }
        State::SelectingStp => {
            if p.mdelay_while == 0 || !p.port_enabled || p.mcheck {
                enter_sensing(p);
            } else {
                return false;
            }
        }
        State::Sensing => {
            if !p.port_enabled || p.mcheck || (ctx.rstp_version && !p.send_rstp && p.rcvd_rstp) {
                enter_checking_rstp(p, ctx);
            } else if p.send_rstp && p.rcvd_stp {
                enter_selecting_stp(p);
            } else {
                return false;
            }
        }
    }
    true
}
