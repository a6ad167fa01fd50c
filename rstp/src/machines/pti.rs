//! Port Timers state machine (17.22): on each one-second tick every
//! running timer counts down by one and txCount decays by one (17.19.44).

use crate::port::Port;

/// TICK → ONE_SECOND: decrement the timers of one port.
pub(crate) fn tick(p: &mut Port) {
    for t in [
        &mut p.edge_delay_while,
        &mut p.fd_while,
        &mut p.hello_when,
        &mut p.mdelay_while,
        &mut p.rb_while,
        &mut p.rcvd_info_while,
        &mut p.rr_while,
        &mut p.tc_while,
    ] {
        *t = t.saturating_sub(1);
    }
    p.tx_count = p.tx_count.saturating_sub(1);
    // The TC flood limit counts per second.
    p.tc_this_tick = 0;
}
