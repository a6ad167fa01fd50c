//! Port State Transition state machine (17.30).

use super::{Ctx, Fx};
use crate::bridge::Output;
use crate::port::Port;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Discarding,
    Learning,
    Forwarding,
}

/// disableLearning/disableForwarding/enableLearning/enableForwarding
/// (17.21.1–17.21.4): reported as `SetPortState`, done at once.
fn report(p: &mut Port, fx: &mut Fx<'_>) {
    let state = p.state();
    if p.last_state != Some(state) {
        p.last_state = Some(state);
        fx.out.push_back(Output::SetPortState {
            port: p.number(),
            state,
        });
    }
}

pub(crate) fn enter_discarding(p: &mut Port, fx: &mut Fx<'_>) {
    p.pst = State::Discarding;
    p.learning = false;
    p.forwarding = false;
    report(p, fx);
}

pub(crate) fn step(p: &mut Port, _ctx: &Ctx, fx: &mut Fx<'_>) -> bool {
    match p.pst {
        State::Discarding if p.learn => {
            p.pst = State::Learning;
            p.learning = true;
        }
        State::Learning if !p.learn => enter_discarding(p, fx),
        State::Learning if p.forward => {
            p.pst = State::Forwarding;
            p.forwarding = true;
        }
        State::Forwarding if !p.forward => enter_discarding(p, fx),
        _ => return false,
    }
    report(p, fx);
    true
}
